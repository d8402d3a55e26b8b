//! `status`: the alarm states in the state table (SPEC §16), what needs attention first
//! (ALARM, then INSUFFICIENT_DATA, then OK), each with since when, its last notice and
//! the notice a silence or an inhibition holds; then the silences in force now. Reads
//! the whole table (a Scan, with the credentials of the person at the keyboard; the
//! function has no such permission), or the local state file.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{AwsArgs, EXIT_RUN_ERROR, Output, exit_status, output, read_rules};
use super::{store, text};
use crate::domain::evaluate::AlarmState;
use crate::domain::silence::{Active, Matcher, Origin, SILENCE_UNTIL_TAG};
use crate::domain::time::{self, rfc3339};
use crate::domain::transition::Stored;
use crate::ports::Loaded;
use crate::settings::{InputError, RulesFile, Settings};

#[derive(Debug, clap::Args)]
pub(super) struct StatusArgs {
    /// The rules document, for the silences it defines: a file or s3://BUCKET/KEY; else
    /// ALERT_RULES_FILE, else ALERT_RULES; without any, only ad hoc silences are shown.
    #[arg(long, value_name = "FILE")]
    rules: Option<RulesFile>,
    /// Read this local state file (as `check --state-file`) instead of the table of
    /// ALERT_STATE_TABLE.
    #[arg(long, value_name = "PATH")]
    state_file: Option<PathBuf>,
    /// `text` for people; `json` for scripts.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    aws: AwsArgs,
}

/// What `status --output json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(serialize_with = "time::serialize")]
    at: DateTime<Utc>,
    /// `table NAME` or `state file PATH`.
    store: String,
    /// ALARM first, then INSUFFICIENT_DATA, then OK; by key within each.
    alarms: Vec<AlarmStatus>,
    /// Items that could not be decoded.
    unreadable: Vec<UnreadableItem>,
    /// The silences in force now: the rules' (when rules were given) and ad hoc ones.
    silences: Vec<SilenceStatus>,
    /// What this cannot show, and why.
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AlarmStatus {
    key: String,
    rule: String,
    region: String,
    resource: String,
    state: AlarmState,
    /// When the state last changed (evaluation time).
    #[serde(serialize_with = "time::serialize")]
    since: DateTime<Utc>,
    /// When the last notice was sent (evaluation time), if ever.
    #[serde(serialize_with = "time::serialize_option")]
    last_notice: Option<DateTime<Utc>>,
    /// An ALARM was notified and no recovery since.
    alarm_open: bool,
    reason: String,
    /// The notice a silence or an inhibition holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    held: Option<HeldStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HeldStatus {
    /// The state it announces.
    notice: AlarmState,
    from: Option<AlarmState>,
    #[serde(serialize_with = "time::serialize")]
    since: DateTime<Utc>,
    by: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UnreadableItem {
    key: String,
    problem: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SilenceStatus {
    name: String,
    origin: Origin,
    #[serde(rename = "match")]
    matcher: Matcher,
    #[serde(serialize_with = "time::serialize")]
    until: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

pub(super) async fn status(args: StatusArgs) -> Result<ExitCode, InputError> {
    let mut settings = Settings::from_env()?;
    let chosen = args.aws.chosen();
    settings.fallbacks.region = chosen.region_or(settings.fallbacks.region.take()).await;
    let now = Utc::now();
    let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let configured =
        args.rules.is_some() || settings.rules_file.is_some() || settings.rules_inline.is_some();
    let rules = match configured {
        true => Some(read_rules(&settings, args.rules.as_ref(), &chosen).await?.0),
        false => None,
    };
    let store = match store::open(args.state_file.as_deref(), &settings, &chosen).await? {
        Ok(store) => store,
        Err(refused) => return Ok(refused),
    };
    let loaded = match store.load_all().await {
        Ok(loaded) => loaded,
        Err(err) => {
            output::stderr(&format!("error: {err}"));
            return Ok(ExitCode::from(EXIT_RUN_ERROR));
        }
    };
    let mut silences: Vec<Active> = rules
        .as_ref()
        .map(|rules| Active::of_rules(&rules.silences, now))
        .unwrap_or_default();
    silences.extend(loaded.silences.active_at(now));
    let mut notes = Vec::new();
    if rules.is_none() {
        notes.push(
            "The rules' own silences are not shown: no rules given (--rules FILE, \
             ALERT_RULES_FILE or ALERT_RULES)."
                .to_owned(),
        );
    }
    notes.push(format!(
        "Silences by the {SILENCE_UNTIL_TAG} tag are not shown: resources' tags are known only \
         from listing them (`explain`, or heldBy in a run's report)."
    ));
    let status = Status {
        at: now,
        store: store.describe(),
        alarms: alarms(&loaded),
        unreadable: loaded
            .unreadable
            .iter()
            .map(|(key, u)| UnreadableItem {
                key: key.clone(),
                problem: u.problem.clone(),
            })
            .collect(),
        silences: silences
            .into_iter()
            .map(|a| SilenceStatus {
                name: a.name,
                origin: a.origin,
                matcher: a.matcher,
                until: a.until,
                comment: a.comment,
            })
            .collect(),
        notes,
    };
    let text = match args.output {
        Output::Json => serde_json::to_string_pretty(&status)
            .map(|json| json + "\n")
            .map_err(|e| InputError::Other(e.to_string()))?,
        Output::Text => render(&status),
    };
    Ok(exit_status(ExitCode::SUCCESS, output::stdout(&text)))
}

/// The order of attention: ALARM, INSUFFICIENT_DATA, OK.
fn urgency(state: AlarmState) -> u8 {
    match state {
        AlarmState::Alarm => 0,
        AlarmState::InsufficientData => 1,
        AlarmState::Ok => 2,
    }
}

fn alarms(loaded: &Loaded) -> Vec<AlarmStatus> {
    let mut alarms: Vec<AlarmStatus> = loaded
        .states
        .iter()
        .map(|(key, stored)| alarm(key, stored))
        .collect();
    alarms.sort_by(|a, b| (urgency(a.state), &a.key).cmp(&(urgency(b.state), &b.key)));
    alarms
}

fn alarm(key: &str, stored: &Stored) -> AlarmStatus {
    // `<rule>#<region>#<resource>`: rule names and regions have no `#`.
    let mut parts = key.splitn(3, '#');
    let mut part = || parts.next().unwrap_or_default().to_owned();
    let (rule, region, resource) = (part(), part(), part());
    AlarmStatus {
        key: key.to_owned(),
        rule,
        region,
        resource,
        state: stored.state,
        since: stored.changed_at,
        last_notice: stored.notified_at,
        alarm_open: stored.alarm_open,
        reason: stored.reason.clone(),
        held: stored.held.as_ref().map(|h| HeldStatus {
            notice: h.to,
            from: h.from,
            since: h.since,
            by: h.by.clone(),
        }),
    }
}

fn render(status: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Alarm states in the {} at {}",
        status.store,
        rfc3339(status.at)
    );
    let _ = writeln!(out);
    if status.alarms.is_empty() {
        let _ = writeln!(out, "No alarm states yet.");
    } else {
        table(&mut out, &status.alarms);
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", summary(&status.alarms));
    }
    for item in &status.unreadable {
        let _ = writeln!(out, "unreadable item {}: {}", item.key, item.problem);
    }
    let _ = writeln!(out);
    if status.silences.is_empty() {
        let _ = writeln!(out, "No silences in force now.");
    } else {
        let _ = writeln!(out, "Silences in force now:");
        for s in &status.silences {
            let origin = match s.origin {
                Origin::Rules => "rules",
                Origin::AdHoc => "ad hoc",
                Origin::Tag => "tag",
            };
            let comment = s
                .comment
                .as_deref()
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            let line = format!(
                "{} ({origin}): {} until {}{comment}",
                s.name,
                s.matcher.describe(),
                rfc3339(s.until)
            );
            text::wrapped(&mut out, &line, "  ", text::WIDTH);
        }
    }
    for note in &status.notes {
        text::wrapped(&mut out, note, "", text::WIDTH);
    }
    out
}

/// The narrowest RULE and RESOURCE get: the other columns take up to 81 characters with
/// their gaps (`ap-southeast-2`, `INSUFFICIENT_DATA`, two times), which leaves 19.
const MIN_NAME: usize = 9;

/// The alarm states, one row each in [`text::WIDTH`] columns (RULE and RESOURCE, the
/// wider first, shortened in the middle when a row would not fit), and a held notice on a
/// line under its row: what it announces, what holds it, since when.
fn table(out: &mut String, alarms: &[AlarmStatus]) {
    const HEADINGS: [&str; 6] = [
        "RULE",
        "RESOURCE",
        "REGION",
        "STATE",
        "SINCE",
        "LAST NOTICE",
    ];
    let rows: Vec<[String; 6]> = alarms
        .iter()
        .map(|a| {
            [
                a.rule.clone(),
                a.resource.clone(),
                a.region.clone(),
                a.state.as_str().to_owned(),
                rfc3339(a.since),
                a.last_notice.map_or("-".to_owned(), rfc3339),
            ]
        })
        .collect();
    let mut widths: [usize; 6] = std::array::from_fn(|i| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([HEADINGS[i].len()])
            .max()
            .unwrap_or(0)
    });
    let gaps = 2 * (widths.len() - 1);
    text::narrow_names(&mut widths, gaps, MIN_NAME);
    let line = |cells: [&str; 6]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{:<width$}", text::shorten(cell, width)))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(HEADINGS));
    for (row, alarm) in rows.iter().zip(alarms) {
        let _ = writeln!(out, "{}", line(std::array::from_fn(|i| row[i].as_str())));
        if let Some(held) = &alarm.held {
            let what = format!(
                "held: the {} notice, by {} since {}",
                held.notice.as_str(),
                held.by,
                rfc3339(held.since)
            );
            text::wrapped(out, &what, "  ", text::WIDTH);
        }
    }
}

/// `3 alarm states: 1 ALARM, 2 OK; 1 notice held.`
fn summary(alarms: &[AlarmStatus]) -> String {
    let mut counts: Vec<(AlarmState, usize)> = Vec::new();
    for a in alarms {
        match counts.iter_mut().find(|(s, _)| *s == a.state) {
            Some((_, n)) => *n += 1,
            None => counts.push((a.state, 1)),
        }
    }
    let counts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let held = alarms.iter().filter(|a| a.held.is_some()).count();
    let held = match held {
        0 => String::new(),
        1 => "; 1 notice held".to_owned(),
        n => format!("; {n} notices held"),
    };
    let noun = if alarms.len() == 1 { "state" } else { "states" };
    format!(
        "{} alarm {noun}: {}{held}.",
        alarms.len(),
        counts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(rule: &str, resource: &str, state: AlarmState, held: bool) -> AlarmStatus {
        let at = "2026-11-24T13:10:00Z".parse().unwrap();
        AlarmStatus {
            key: format!("{rule}#us-east-1#{resource}"),
            rule: rule.to_owned(),
            region: "ap-southeast-2".to_owned(),
            resource: resource.to_owned(),
            state,
            since: at,
            last_notice: Some(at),
            alarm_open: false,
            reason: String::new(),
            held: held.then(|| HeldStatus {
                notice: AlarmState::Alarm,
                from: Some(AlarmState::Ok),
                since: at,
                by: "silence deploys".to_owned(),
            }),
        }
    }

    #[test]
    fn long_names_are_shortened_to_fit_and_a_held_notice_has_its_own_line() {
        let long = "x".repeat(60);
        let alarms = [
            alarm(
                &format!("rule-{long}"),
                &format!("web-{long}-017"),
                AlarmState::InsufficientData,
                false,
            ),
            alarm("burst-low", "web-1", AlarmState::Alarm, true),
        ];
        let mut out = String::new();
        table(&mut out, &alarms);
        let lines: Vec<&str> = out.lines().collect();
        for line in &lines {
            assert!(line.chars().count() <= text::WIDTH, "{line}");
        }
        assert!(lines[0].starts_with("RULE "), "{out}");
        // The end of a name tells it apart: it is kept.
        assert!(lines[1].contains("…"), "{out}");
        assert!(lines[1].contains("-017 "), "{out}");
        assert!(
            lines[1].contains("INSUFFICIENT_DATA  2026-11-24T13:10:00Z  2026-11-24T13:10:00Z"),
            "{out}"
        );
        assert!(lines[2].starts_with("burst-low "), "{out}");
        assert_eq!(
            lines[3],
            "  held: the ALARM notice, by silence deploys since 2026-11-24T13:10:00Z"
        );
        assert_eq!(lines.len(), 4, "{out}");
    }

    #[test]
    fn short_names_are_shown_whole() {
        let mut out = String::new();
        table(
            &mut out,
            &[alarm("cpu-high", "web-1", AlarmState::Ok, false)],
        );
        assert_eq!(
            out.lines().nth(1),
            Some(
                "cpu-high  web-1     ap-southeast-2  OK     2026-11-24T13:10:00Z  2026-11-24T13:10:00Z"
            )
        );
    }
}
