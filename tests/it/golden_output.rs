//! Golden tests of `check`'s text output (SPEC §14): the table and summary as a user sees
//! them, with and without colour, for a small fleet of every state and type (narrow) and
//! for names too long for 100 columns (wide). The rules and recordings are in
//! tests/it/testdata/output/; `UPDATE_GOLDEN=1` rewrites the expected files.

use std::process::Output;

use crate::support::golden::{assert_golden, testdata};
use crate::support::{AT, command, stderr};

/// `check --replay` of a fixture pair, as a dry run at [`AT`], with `args` and `env`.
fn check(fixture: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = testdata().join("output");
    let out = command()
        .args(["check", "--at", AT, "--rules"])
        .arg(dir.join(format!("{fixture}.rules.yaml")))
        .arg("--replay")
        .arg(dir.join(format!("{fixture}.recording.json")))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    out
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// The table and summary: everything before the dry run's alert bodies.
fn table_and_summary(text: &str) -> &str {
    text.split("\nThe ").next().unwrap_or(text)
}

const ESC: char = '\u{1b}';

#[test]
fn a_fleet_with_every_state_lists_what_needs_attention_in_its_units() {
    let out = check("narrow", &["--color", "never"], &[]);
    let text = text(&out);
    assert!(!text.contains(ESC), "{text}");
    assert_golden("output/narrow.txt", &text);
}

#[test]
fn all_lists_the_ok_results_after_the_others() {
    let out = check("narrow", &["--color", "never", "--all"], &[]);
    assert_golden("output/narrow.all.txt", table_and_summary(&text(&out)));
}

#[test]
fn colour_marks_states_severities_and_headings() {
    let out = check("narrow", &["--color", "always"], &[]);
    let text = text(&out);
    assert!(text.contains("\u{1b}[1m\u{1b}[31mALARM"), "{text}");
    assert_golden("output/narrow.color.txt", table_and_summary(&text));
}

#[test]
fn long_names_are_shortened_so_every_line_fits_100_columns() {
    let out = check("wide", &["--color", "never"], &[]);
    let text = text(&out);
    let table = table_and_summary(&text);
    for line in table.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.len()
        );
    }
    // Both ends of a shortened name are kept, so the two servers stay apart.
    assert!(table.contains("…mber-017"), "{table}");
    assert!(table.contains("…mber-019"), "{table}");
    assert_golden("output/wide.txt", table);
    let coloured = check("wide", &["--color", "always"], &[]);
    assert_golden(
        "output/wide.color.txt",
        table_and_summary(&self::text(&coloured)),
    );
}

#[test]
fn auto_colour_follows_no_color_clicolor_force_and_the_terminal() {
    // The tests' stdout is a pipe: no colour.
    let piped = check("narrow", &[], &[]);
    assert!(!text(&piped).contains(ESC));
    // CLICOLOR_FORCE asks for colour on a pipe ...
    let forced = check("narrow", &[], &[("CLICOLOR_FORCE", "1")]);
    assert!(text(&forced).contains(ESC));
    // ... unless NO_COLOR says no ...
    let no_color = check(
        "narrow",
        &["--color", "auto"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(!text(&no_color).contains(ESC));
    // ... and the flag beats both.
    let always = check("narrow", &["--color", "always"], &[("NO_COLOR", "1")]);
    assert!(text(&always).contains(ESC));
    let never = check("narrow", &["--color", "never"], &[("CLICOLOR_FORCE", "1")]);
    assert!(!text(&never).contains(ESC));
    // JSON is never coloured.
    let json = check("narrow", &["--color", "always", "--output", "json"], &[]);
    assert!(!text(&json).contains(ESC));
}
