//! Everything the command line prints goes through here: the output to stdout, messages
//! to stderr. A reader that stops reading (`| head`) ends the output quietly, and the
//! exit status stays the run's (`print!` would panic, after the alerts were sent).

use std::io::{self, ErrorKind, Write};

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

#[cfg(test)]
mod tests {
    use super::*;

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
