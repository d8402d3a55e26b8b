//! A panic is a bug, never the way an error is reported; when one happens anyway it is
//! logged through `tracing` like every other error (one line, JSON in Lambda), with its
//! message and where it happened, before the process or the invocation ends.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};

/// Replaces the default hook, which prints several lines of plain text to stderr that a
/// JSON log parser cannot read. Install it once logging is set up.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        // One line in the text format too: a message may hold line breaks.
        let message = message(info.payload()).replace('\n', "\\n");
        let backtrace = Backtrace::capture();
        let backtrace =
            (backtrace.status() == BacktraceStatus::Captured).then(|| backtrace.to_string());
        tracing::error!(
            panic = %message,
            location,
            thread,
            backtrace,
            "the program panicked (a bug; please report it with this line)"
        );
    }));
}

/// The message a panic was raised with (`panic!("...")`, `expect("...")`), from its
/// payload; a placeholder for a payload that is not text.
pub fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_read_from_either_kind_of_payload() {
        let literal = std::panic::catch_unwind(|| panic!("a literal")).unwrap_err();
        assert_eq!(message(&*literal), "a literal");
        let formatted = std::panic::catch_unwind(|| panic!("formatted {}", 42)).unwrap_err();
        assert_eq!(message(&*formatted), "formatted 42");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(message(&*other), "a panic without a message");
    }
}
