//! The panic hook: a panic is logged through `tracing`, one JSON line with its message
//! and location. The hook and the log subscriber are global, so the test runs itself
//! again as a child process that does nothing else (the other suites of this binary run
//! in parallel threads and must not have their failures routed through it).

use std::process::Command;

/// Set in the child: install the hook and panic.
const CHILD: &str = "LIGHTSAIL_ALERTS_PANIC_HOOK_CHILD";
const TEST: &str = "panic_hook::a_panic_is_logged_as_one_json_line_with_its_message_and_location";

/// The child's part: the Lambda's JSON logs on stderr, the hook, one caught panic.
/// Returns the line the panic is on.
fn panic_once() -> u32 {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(std::io::stderr)
        .init();
    lightsail_alerts::panics::install_hook();
    let line = line!() + 1;
    let result = std::panic::catch_unwind(|| panic!("boom\nsecond line"));
    assert!(result.is_err());
    line
}

#[test]
fn a_panic_is_logged_as_one_json_line_with_its_message_and_location() {
    if std::env::var_os(CHILD).is_some() {
        println!("panicked on line {}", panic_once());
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{text}");
    let line: u32 = stdout
        .split("panicked on line ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the child did not run the test: {stdout}"));

    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let logged: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(logged["level"], "ERROR");
    assert_eq!(logged["panic"], "boom\\nsecond line");
    let location = logged["location"].as_str().unwrap();
    assert!(
        location.starts_with(&format!("tests/it/panic_hook.rs:{line}:")),
        "{location}"
    );
    assert!(
        logged["message"].as_str().unwrap().contains("panicked"),
        "{logged}"
    );
}
