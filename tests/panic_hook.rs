//! The panic hook (its own test binary: the hook and the log subscriber are global).
//! A panic is logged through `tracing`, one JSON line with its message and location.

use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_panic_is_logged_as_one_json_line_with_its_message_and_location() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || writer.clone())
        .init();
    lightsail_alerts::panics::install_hook();
    let line = line!() + 1;
    let result = std::panic::catch_unwind(|| panic!("boom\nsecond line"));
    assert!(result.is_err());
    let _ = std::panic::take_hook();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let logged: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(logged["level"], "ERROR");
    assert_eq!(logged["panic"], "boom\\nsecond line");
    let location = logged["location"].as_str().unwrap();
    assert!(
        location.starts_with(&format!("tests/panic_hook.rs:{line}:")),
        "{location}"
    );
    assert!(
        logged["message"].as_str().unwrap().contains("panicked"),
        "{logged}"
    );
}
