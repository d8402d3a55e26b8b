//! The report for people (SPEC §14): a table of the results that need attention, in
//! 100 columns, the errors and warnings that have no row, the alerts of a dry run, and a
//! summary line.
//!
//! The table: RULE, RESOURCE, REGION, STATE, VALUE (the latest datapoint, in its unit),
//! THRESHOLD (with its operator), SEVERITY, and ALERT (sent, would send, FAILED) when any
//! row has one. ALARM rows first, then ERROR, then INSUFFICIENT_DATA; OK rows are counted,
//! and listed last with `--all`. Long rule and resource names are shortened in the middle
//! (`web-prod…-017`) so each line fits; why a row is ERROR, or why its publish failed,
//! follows it on indented lines.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::units;
use crate::domain::alert::Alert;
use crate::domain::catalog::ResourceType;
use crate::domain::time;
use crate::domain::transition::Why;
use crate::rules::RuleSet;
use crate::run::{Report, RuleResult, RunError, Stage};

/// The width every line of the table and the summary fits in.
pub(super) const WIDTH: usize = 100;
/// Rule and resource names are never shortened below this.
const MIN_NAME: usize = 10;
const GAP: &str = "  ";
/// Where the lines under a row (its error) start.
const NOTE_INDENT: &str = "    ";

/// How to render: which rows, and whether with colour (ANSI escapes).
#[derive(Debug, Clone, Copy)]
pub(super) struct Options {
    pub(super) all: bool,
    pub(super) color: bool,
}

/// The order rows are listed in: what needs attention first.
fn urgency(state: &str) -> u8 {
    match state {
        "ALARM" => 0,
        "ERROR" => 1,
        "INSUFFICIENT_DATA" => 2,
        _ => 3,
    }
}

/// The whole text report.
pub(super) fn render(rules: &RuleSet, report: &Report, options: Options) -> String {
    let paint = Paint(options.color);
    let mut out = String::new();
    let mode = if report.dry_run {
        " (dry run: nothing published)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "Evaluated {} rule(s) at {}{mode}",
        rules.rules.len(),
        time::rfc3339(report.evaluated_at)
    );
    let _ = writeln!(out);
    let mut shown: Vec<&RuleResult> = report
        .results
        .iter()
        .filter(|r| options.all || r.state.as_str() != "OK")
        .collect();
    // Stable: within a state, the report's order (rule, region, selection).
    shown.sort_by_key(|r| urgency(r.state.as_str()));
    if shown.is_empty() {
        let _ = writeln!(out, "Nothing needs attention.");
    } else {
        table(&mut out, &shown, report, paint);
    }
    let hidden = report.results.len() - shown.len();
    if hidden > 0 {
        let _ = writeln!(
            out,
            "{} not listed (--all lists them).",
            plural(hidden, "OK result")
        );
    }
    unplaced_errors(&mut out, &report.errors, paint);
    if !report.warnings.is_empty() {
        let _ = writeln!(out);
        for warning in &report.warnings {
            let line = match warning.rule.as_str() {
                "" => format!("warning: {}", warning.message),
                rule => format!("warning: {rule}: {}", warning.message),
            };
            wrapped(&mut out, &line, "", WIDTH);
        }
    }
    let _ = writeln!(out);
    wrapped(&mut out, &summary(report), "", WIDTH);
    // The bodies are shown as they would be sent: not wrapped, not coloured.
    if let Some(alerts) = &report.alerts {
        dry_run_alerts(&mut out, alerts);
    }
    out
}

/// `14 results: 5 ALARM, 1 ERROR, 8 OK; 5 alerts would be published; 1 error.`
fn summary(report: &Report) -> String {
    let mut counts = report.counts();
    counts.sort_by_key(|(state, _)| urgency(state));
    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let counts = match counts.is_empty() {
        true => String::new(),
        false => format!(": {}", counts.join(", ")),
    };
    let alerts = match &report.alerts {
        Some(alerts) => format!("{} would be published", plural(alerts.len(), "alert")),
        None => format!("{} published", plural(report.published, "alert")),
    };
    // Errors and warnings only when there are some: the line stays within 100 columns.
    let problems: String = [
        (report.errors.len(), "error"),
        (report.warnings.len(), "warning"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|&(n, noun)| format!("; {}", plural(n, noun)))
    .collect();
    format!(
        "{}{counts}; {alerts}{problems}.",
        plural(report.results.len(), "result")
    )
}

/// `1 alert`, `2 alerts`, `0 alerts`.
fn plural(count: usize, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        _ => format!("{count} {noun}s"),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Rule,
    Resource,
    Region,
    State,
    Value,
    Threshold,
    Severity,
    Alert,
}

impl Column {
    const ALL: [Column; 8] = [
        Column::Rule,
        Column::Resource,
        Column::Region,
        Column::State,
        Column::Value,
        Column::Threshold,
        Column::Severity,
        Column::Alert,
    ];

    fn heading(self) -> &'static str {
        match self {
            Column::Rule => "RULE",
            Column::Resource => "RESOURCE",
            Column::Region => "REGION",
            Column::State => "STATE",
            Column::Value => "VALUE",
            Column::Threshold => "THRESHOLD",
            Column::Severity => "SEVERITY",
            Column::Alert => "ALERT",
        }
    }

    /// Numbers line up on the right.
    fn right_aligned(self) -> bool {
        matches!(self, Column::Value)
    }

    /// Shortened, in the middle, when the line would not fit.
    fn shortened(self) -> bool {
        matches!(self, Column::Rule | Column::Resource)
    }
}

/// One result's row: its cells in [`Column::ALL`] order, and the lines under it.
struct Row {
    cells: [String; 8],
    styles: [Style; 8],
    notes: Vec<String>,
}

/// `dry_run`: nothing was published, so a notified result (in a `--state-file`
/// simulation, recorded as notified) would have been sent.
fn row(result: &RuleResult, errors: &[RunError], kinds: bool, dry_run: bool) -> Row {
    let publish_errors: Vec<&RunError> = errors
        .iter()
        .filter(|e| {
            e.stage == Stage::Publish
                && e.rule.as_deref() == Some(result.rule.as_str())
                && e.region.as_deref() == Some(result.region.as_str())
                && e.resource.as_deref() == Some(result.resource.as_str())
        })
        .collect();
    let alert = match (publish_errors.is_empty(), result.notified) {
        (false, true) => "partly FAILED",
        (false, false) => "FAILED",
        (true, true) if dry_run => "would send",
        (true, true) => "sent",
        (true, false) if result.why == Why::DryRun => "would send",
        (true, false) if result.why == Why::Silenced => "silenced",
        (true, false) if result.why == Why::Inhibited => "inhibited",
        (true, false) => "",
    };
    let value = match (result.state.as_str(), result.datapoints.last()) {
        ("ERROR", _) | (_, None) => "-".to_owned(),
        (_, Some(latest)) => units::humanize(latest.value, result.unit),
    };
    let resource = match kind(result.resource_type) {
        Some(kind) if kinds => format!("{kind}/{}", result.resource),
        _ => result.resource.clone(),
    };
    let mut notes: Vec<String> = result.error.iter().map(|e| format!("error: {e}")).collect();
    notes.extend(
        publish_errors
            .iter()
            .map(|e| format!("publish failed: {}", e.message)),
    );
    if let Some(held_by) = &result.held_by {
        notes.push(format!("held: {}", held_by.describe()));
    }
    let plain = Style::new();
    Row {
        cells: [
            result.rule.clone(),
            resource,
            result.region.clone(),
            result.state.as_str().to_owned(),
            value,
            units::threshold(result.comparison, result.threshold, result.unit),
            result.severity.as_str().to_owned(),
            alert.to_owned(),
        ],
        styles: [
            plain,
            plain,
            plain,
            state_style(result.state.as_str()),
            plain,
            plain,
            match result.severity.as_str() {
                "critical" => AnsiColor::Red.on_default(),
                "warning" => AnsiColor::Yellow.on_default(),
                _ => plain,
            },
            if alert.contains("FAILED") {
                AnsiColor::Red.on_default().bold()
            } else {
                plain
            },
        ],
        notes,
    }
}

fn state_style(state: &str) -> Style {
    match state {
        "ALARM" => AnsiColor::Red.on_default().bold(),
        "ERROR" => AnsiColor::Magenta.on_default().bold(),
        "INSUFFICIENT_DATA" => AnsiColor::Yellow.on_default(),
        _ => AnsiColor::Green.on_default(),
    }
}

/// The short name of a resource type in the RESOURCE column (`db/orders-db`), shown
/// once results of several types are listed; instances, the default type, have none.
fn kind(kind: ResourceType) -> Option<&'static str> {
    match kind {
        ResourceType::Instance => None,
        ResourceType::RelationalDatabase => Some("db"),
        ResourceType::LoadBalancer => Some("lb"),
        ResourceType::Distribution => Some("cdn"),
        ResourceType::ContainerService => Some("container"),
        ResourceType::Bucket => Some("bucket"),
    }
}

fn table(out: &mut String, results: &[&RuleResult], report: &Report, paint: Paint) {
    let kinds = results
        .iter()
        .any(|r| r.resource_type != results[0].resource_type);
    let rows: Vec<Row> = results
        .iter()
        .map(|r| row(r, &report.errors, kinds, report.dry_run))
        .collect();
    // The ALERT column only when a row has something to say in it.
    let columns: Vec<usize> = (0..Column::ALL.len())
        .filter(|&i| Column::ALL[i] != Column::Alert || rows.iter().any(|r| !r.cells[i].is_empty()))
        .collect();
    let widths = fit(&columns, &rows);

    let headings: Vec<String> = columns
        .iter()
        .map(|&i| pad(Column::ALL[i].heading(), widths[i], Column::ALL[i]))
        .collect();
    let _ = writeln!(
        out,
        "{}",
        paint.apply(Style::new().bold(), headings.join(GAP).trim_end())
    );
    for row in &rows {
        let mut line = String::new();
        for (n, &i) in columns.iter().enumerate() {
            let column = Column::ALL[i];
            let text = if column.shortened() {
                shorten(&row.cells[i], widths[i])
            } else {
                row.cells[i].clone()
            };
            if n > 0 {
                line.push_str(GAP);
            }
            // The padding stays outside the escapes.
            let padding = " ".repeat(widths[i].saturating_sub(text.chars().count()));
            let painted = paint.apply(row.styles[i], &text);
            if column.right_aligned() {
                line.push_str(&padding);
                line.push_str(&painted);
            } else {
                line.push_str(&painted);
                line.push_str(&padding);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
        for note in &row.notes {
            wrapped(out, note, NOTE_INDENT, WIDTH);
        }
    }
}

/// Each shown column's width: its widest cell or heading; then RULE and RESOURCE, the
/// wider first, give up characters until the line fits [`WIDTH`] (not below
/// [`MIN_NAME`]).
fn fit(columns: &[usize], rows: &[Row]) -> [usize; 8] {
    let mut widths = [0; 8];
    for &i in columns {
        widths[i] = rows
            .iter()
            .map(|r| r.cells[i].chars().count())
            .chain([Column::ALL[i].heading().len()])
            .max()
            .unwrap_or(0);
    }
    // A column not shown has width 0.
    narrow_names(&mut widths, GAP.len() * (columns.len() - 1), MIN_NAME);
    widths
}

/// Takes characters from the first two columns (RULE and RESOURCE), the wider first,
/// until the widths and `gaps` fit [`WIDTH`], not below `min` each.
pub(super) fn narrow_names(widths: &mut [usize], gaps: usize, min: usize) {
    let (rule, resource) = (0, 1);
    while widths.iter().sum::<usize>() + gaps > WIDTH {
        let wider = if widths[rule] >= widths[resource] {
            rule
        } else {
            resource
        };
        if widths[wider] <= min {
            break;
        }
        widths[wider] -= 1;
    }
}

fn pad(text: &str, width: usize, column: Column) -> String {
    if column.right_aligned() {
        format!("{text:>width$}")
    } else {
        format!("{text:<width$}")
    }
}

/// `text` in at most `width` characters, the middle replaced by `…` when it is longer:
/// the start and the end (`web-prod…-017`) are what tell names apart.
pub(super) fn shorten(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    let kept = width.saturating_sub(1);
    let head = kept.div_ceil(2);
    let tail = kept - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// `text` wrapped at spaces into lines of at most `width` characters (a word longer than
/// a line gets a line of its own), each line starting with `indent`, later lines with two
/// more spaces.
pub(super) fn wrapped(out: &mut String, text: &str, indent: &str, width: usize) {
    let mut line = String::from(indent);
    let mut empty = true;
    let continuation = format!("{indent}  ");
    for word in text.split(' ') {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if !empty && !fits {
            let _ = writeln!(out, "{}", line.trim_end());
            line = continuation.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    let _ = writeln!(out, "{}", line.trim_end());
}

/// Errors that have no result row: a region that could not be listed, the store.
fn unplaced_errors(out: &mut String, errors: &[RunError], paint: Paint) {
    let unplaced: Vec<&RunError> = errors.iter().filter(|e| e.resource.is_none()).collect();
    if unplaced.is_empty() {
        return;
    }
    let _ = writeln!(out);
    for error in unplaced {
        let rule = error
            .rule
            .as_deref()
            .map(|r| format!(" {r}:"))
            .unwrap_or_default();
        let mut line = String::new();
        wrapped(
            &mut line,
            &format!("error:{rule} {}", error.message),
            "",
            WIDTH,
        );
        // Only the word `error:` is coloured, so the wrapping above stays exact.
        let _ = write!(
            out,
            "{}{}",
            paint.apply(AnsiColor::Red.on_default().bold(), "error:"),
            &line["error:".len()..]
        );
    }
}

/// What a dry run would have published, alert by alert.
fn dry_run_alerts(out: &mut String, alerts: &[Alert]) {
    if alerts.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "The {} a run with --publish would send:",
        plural(alerts.len(), "alert")
    );
    for alert in alerts {
        let _ = writeln!(out);
        let _ = writeln!(out, "--- to {} (format {})", alert.topic_arn, alert.format);
        let _ = writeln!(out, "Subject: {}", alert.subject);
        let attributes: Vec<String> = alert
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(out, "Attributes: {}", attributes.join(" "));
        if let Some(group) = &alert.message_group_id {
            let _ = writeln!(out, "MessageGroupId: {group}");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", alert.message);
    }
}

/// Styles text with ANSI escapes, or leaves it as it is.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn apply(self, style: Style, text: &str) -> String {
        if self.0 && style != Style::new() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_lose_their_middle_and_keep_both_ends() {
        assert_eq!(shorten("web-production-017", 10), "web-p…-017");
        assert_eq!(shorten("web-1", 10), "web-1");
        assert_eq!(shorten("abcdefghijk", 10).chars().count(), 10);
    }

    #[test]
    fn wrapped_lines_fit_and_keep_every_word() {
        let text = "a publish failed: the topic arn:aws:sns:us-east-1:123456789012:alerts does not \
                    exist (NotFound) and a word longer than a line follows: "
            .to_owned() + &"x".repeat(120);
        let mut out = String::new();
        wrapped(&mut out, &text, NOTE_INDENT, 50);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 3, "{out}");
        for line in &lines[..lines.len() - 1] {
            assert!(line.chars().count() <= 50, "{line:?}");
        }
        assert!(lines[0].starts_with("    a publish"), "{out}");
        assert!(lines[1].starts_with("      "), "{out}");
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
    }

    #[test]
    fn colour_wraps_a_cell_in_escapes_and_is_nothing_without() {
        let red = AnsiColor::Red.on_default();
        assert_eq!(Paint(true).apply(red, "ALARM"), "\u{1b}[31mALARM\u{1b}[0m");
        assert_eq!(Paint(false).apply(red, "ALARM"), "ALARM");
        assert_eq!(Paint(true).apply(Style::new(), "web-1"), "web-1");
    }
}
