//! Everything the command line prints goes through here: the output to stdout, messages
//! to stderr, a file written whole. A reader that stops reading (`| head`) ends the
//! output quietly, and the exit status stays the run's (`print!` would panic, after the
//! alerts were sent).

use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

/// Writes `text` to stdout. A closed stdout is not an error: whoever reads it has what
/// they wanted. Any other failure (a full disk) is returned.
pub(super) fn stdout(text: &str) -> io::Result<()> {
    quiet_when_closed(io::stdout().lock(), text)
}

/// Writes a message line to stderr. If stderr is gone too, nothing is left to tell.
pub(super) fn stderr(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

fn quiet_when_closed(mut out: impl Write, text: &str) -> io::Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() == ErrorKind::BrokenPipe => Ok(()),
        result => result,
    }
}

/// A file replaced whole or not at all: the text goes to a temporary file beside it,
/// renamed over it once complete, so that a run that fails (or is killed) midway never
/// leaves half a file where a whole one was. Made before the work whose result it holds,
/// so that a path that cannot be written is said before anything is done; dropped
/// without [`commit`](Self::commit), it removes its temporary file.
pub(super) struct WholeFile {
    target: PathBuf,
    temp: PathBuf,
    file: File,
    committed: bool,
}

impl WholeFile {
    pub(super) fn create(target: &Path) -> io::Result<Self> {
        let Some(name) = target.file_name() else {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "the path names no file",
            ));
        };
        if target.is_dir() {
            return Err(io::Error::new(ErrorKind::InvalidInput, "it is a directory"));
        }
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.tmp", std::process::id()));
        let temp = target.with_file_name(temp_name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        Ok(WholeFile {
            target: target.to_owned(),
            temp,
            file,
            committed: false,
        })
    }

    /// Writes `text` and puts the file in place.
    pub(super) fn commit(mut self, text: &str) -> io::Result<()> {
        self.file.write_all(text.as_bytes())?;
        self.file.sync_all()?;
        std::fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for WholeFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_file_replaces_the_old_one_only_when_committed() {
        let dir = std::env::temp_dir().join(format!("whole-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("rec.json");
        std::fs::write(&target, "old").unwrap();

        drop(WholeFile::create(&target).unwrap());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        WholeFile::create(&target).unwrap().commit("new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        // Nothing is left beside it.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

        assert!(WholeFile::create(&dir).is_err());
        assert!(WholeFile::create(&dir.join("no-such-dir/rec.json")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    struct Failing(ErrorKind);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_reader_ends_the_output_quietly_and_other_failures_are_errors() {
        assert!(quiet_when_closed(Failing(ErrorKind::BrokenPipe), "text").is_ok());
        let err = quiet_when_closed(Failing(ErrorKind::StorageFull), "text").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StorageFull);
        let mut buffer = Vec::new();
        quiet_when_closed(&mut buffer, "text").unwrap();
        assert_eq!(buffer, b"text");
    }
}
