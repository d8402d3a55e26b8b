//! `silence add | list | expire`: ad hoc silences (SPEC §16), kept in the state table
//! (`ALERT_STATE_TABLE`, or `--state-file`) in one item that every run reads with the
//! alarms' items. Each change reads the item, prunes the silences that ended long ago,
//! and writes it back on condition that nobody wrote in between (else it reads again).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde::Serialize;

use super::store::{self, Store};
use super::{
    AwsArgs, EXIT_INVALID_INPUT, EXIT_RUN_ERROR, Output, exit_status, output, parse_time,
    read_rules,
};
use crate::domain::select::Selector;
use crate::domain::silence::{AdHoc, Book, Duration, Matcher};
use crate::domain::time::rfc3339;
use crate::ports::{SILENCES_KEY, StateStore};
use crate::rules;
use crate::settings::{InputError, RulesFile, Settings};

/// Attempts at a change when other writers keep getting there first.
const ATTEMPTS: usize = 5;

#[derive(Debug, Subcommand)]
pub(super) enum SilenceCommand {
    /// Silence the results that match, for a while: prints the new silence's ID alone on
    /// its first line.
    Add(AddArgs),
    /// List the ad hoc silences in force or to come (with --all, also those that ended).
    List(ListArgs),
    /// End an ad hoc silence now: from then on it silences nothing.
    Expire(ExpireArgs),
}

/// Where the silences are kept, and the AWS account and region of the table.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct Where {
    /// Keep them in this local state file (as `check --state-file`) instead of the
    /// table of ALERT_STATE_TABLE.
    #[arg(long, value_name = "PATH")]
    state_file: Option<PathBuf>,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, clap::Args)]
pub(super) struct AddArgs {
    /// What it covers, FIELD=GLOB with FIELD one of rule, resource, region, or tag:KEY
    /// (the resource's tag KEY); repeat it: a result must match every one. Globs as in
    /// selections (`web-*`, `db-?`).
    #[arg(long = "match", value_name = "FIELD=GLOB", required = true, value_parser = parse_match)]
    matches: Vec<Match>,
    /// How long: 90m, 2h, 1h30m, 2d or ISO 8601 (PT2H), 1 minute to 15 days.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration,
          required_unless_present = "until", conflicts_with = "until")]
    duration: Option<Duration>,
    /// Until when (RFC 3339), instead of --for.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<DateTime<Utc>>,
    /// When it starts (RFC 3339) [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    start: Option<DateTime<Utc>>,
    /// Why: shown in reports and by `silence list` and `status`.
    #[arg(long, value_name = "TEXT")]
    comment: String,
    /// The rules document a `rule=` match is checked against (a file or
    /// s3://BUCKET/KEY); else ALERT_RULES_FILE, else ALERT_RULES; with none of them it is
    /// not checked.
    #[arg(long, value_name = "FILE")]
    rules: Option<RulesFile>,
    #[command(flatten)]
    at: Where,
}

#[derive(Debug, clap::Args)]
pub(super) struct ListArgs {
    /// Also those that ended (kept for 5 days after).
    #[arg(long)]
    all: bool,
    /// `text` for people; `json` for scripts.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    at: Where,
}

#[derive(Debug, clap::Args)]
pub(super) struct ExpireArgs {
    /// The silence's ID, as `silence add` printed it.
    id: String,
    #[command(flatten)]
    at: Where,
}

/// One `--match`.
#[derive(Debug, Clone)]
pub(super) enum Match {
    Rule(Selector),
    Resource(Selector),
    Region(Selector),
    Tag(String, Selector),
}

fn parse_match(text: &str) -> Result<Match, String> {
    let allowed = "expected FIELD=GLOB with FIELD one of rule, resource, region, tag:KEY, \
                   e.g. rule=cpu-high, resource=\"web-*\", tag:env=prod";
    let (field, glob) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` has no `=`; {allowed}"))?;
    let glob = Selector::parse(glob.trim())?;
    match field.trim() {
        "rule" => Ok(Match::Rule(glob)),
        "resource" => Ok(Match::Resource(glob)),
        "region" => {
            if let Selector::Name(name) = &glob {
                rules::check_region_name(name)?;
            }
            Ok(Match::Region(glob))
        }
        tag => match tag.strip_prefix("tag:").map(str::trim) {
            Some(key) if !key.is_empty() => Ok(Match::Tag(key.to_owned(), glob)),
            _ => Err(format!("`{tag}` is not a field to match; {allowed}")),
        },
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse()
}

/// The matcher of the `--match`es, or what is wrong with them.
fn matcher(matches: &[Match]) -> Result<Matcher, String> {
    let mut matcher = Matcher::default();
    let twice = |field: &str| format!("--match {field}=... is given twice; give each field once");
    for m in matches {
        let slot = match m {
            Match::Rule(glob) => (&mut matcher.rule, "rule", glob),
            Match::Resource(glob) => (&mut matcher.resource, "resource", glob),
            Match::Region(glob) => (&mut matcher.region, "region", glob),
            Match::Tag(key, glob) => {
                if matcher.tags.insert(key.clone(), glob.clone()).is_some() {
                    return Err(twice(&format!("tag:{key}")));
                }
                continue;
            }
        };
        let (field, name, glob) = slot;
        if field.replace(glob.clone()).is_some() {
            return Err(twice(name));
        }
    }
    Ok(matcher)
}

pub(super) async fn silence(command: SilenceCommand) -> Result<ExitCode, InputError> {
    let at = match &command {
        SilenceCommand::Add(args) => &args.at,
        SilenceCommand::List(args) => &args.at,
        SilenceCommand::Expire(args) => &args.at,
    };
    let mut settings = Settings::from_env()?;
    if let SilenceCommand::Add(args) = &command {
        check_rule(args, &mut settings).await?;
    }
    let store = match store::open(at.state_file.as_deref(), &settings, &at.aws.chosen()).await? {
        Ok(store) => store,
        Err(refused) => return Ok(refused),
    };
    // Whole seconds, as every time is shown.
    let now = Utc::now();
    let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    match command {
        SilenceCommand::Add(args) => add(&store, args, now).await,
        SilenceCommand::List(args) => list(&store, &args, now).await,
        SilenceCommand::Expire(args) => expire(&store, &args.id, now).await,
    }
}

/// A `rule=` match that covers none of the configured rules is refused, before anything
/// is written: it would never silence anything, and whoever added it would think the
/// rule quiet. Without rules configured there is nothing to check it against.
async fn check_rule(args: &AddArgs, settings: &mut Settings) -> Result<(), InputError> {
    let Some(rule) = args.matches.iter().find_map(|m| match m {
        Match::Rule(glob) => Some(glob),
        _ => None,
    }) else {
        return Ok(());
    };
    let configured =
        args.rules.is_some() || settings.rules_file.is_some() || settings.rules_inline.is_some();
    if !configured {
        return Ok(());
    }
    let chosen = args.at.aws.chosen();
    settings.fallbacks.region = chosen.region_or(settings.fallbacks.region.take()).await;
    let (rules, _) = read_rules(settings, args.rules.as_ref(), &chosen).await?;
    let names: Vec<&str> = rules.rules.iter().map(|r| r.name.as_str()).collect();
    match rules::silences::matches_no_rule(rule, &names) {
        None => Ok(()),
        Some(problem) => Err(InputError::Other(format!(
            "--match rule={rule} would never apply: {problem}{} The rules: {}. To silence \
             a rule that is not deployed yet, leave out --rules, ALERT_RULES_FILE and \
             ALERT_RULES",
            if problem.ends_with('?') { "" } else { "." },
            listed(&names)
        ))),
    }
}

/// At most ten names, and how many more.
fn listed(names: &[&str]) -> String {
    const SHOWN: usize = 10;
    let shown = names[..names.len().min(SHOWN)].join(", ");
    match names.len().saturating_sub(SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

async fn add(store: &Store, args: AddArgs, now: DateTime<Utc>) -> Result<ExitCode, InputError> {
    let matcher = matcher(&args.matches).map_err(InputError::Other)?;
    let start = args.start.unwrap_or(now);
    let end = match (args.duration, args.until) {
        (Some(duration), _) => start + duration.as_delta(),
        (None, Some(until)) => until,
        (None, None) => return Err(InputError::Other("give --for or --until".into())),
    };
    if end <= start {
        return Err(InputError::Other(format!(
            "--until {} is not after the start ({}); a silence ends after it starts",
            rfc3339(end),
            rfc3339(start)
        )));
    }
    if end - start > crate::domain::silence::MAX_DURATION {
        return Err(InputError::Other(format!(
            "a silence lasts at most 15 days; {} to {} is longer: change the rules instead",
            rfc3339(start),
            rfc3339(end)
        )));
    }
    let seed = format!(
        "{}:{}:{}",
        std::process::id(),
        now.timestamp_nanos_opt().unwrap_or_default(),
        matcher.describe()
    );
    let mut id = String::new();
    let written = change(store, now, |book| {
        id = book.new_id(&seed);
        let silence = AdHoc {
            id: id.clone(),
            matcher: matcher.clone(),
            start,
            end,
            comment: args.comment.clone(),
            created_at: now,
            expired_at: None,
        };
        book.silences.insert(id.clone(), silence);
        Ok(())
    })
    .await;
    if let Some(code) = failed(written) {
        return Ok(code);
    }
    let text = format!(
        "{id}\nSilenced {} from {} until {}: {}\n",
        matcher.describe(),
        rfc3339(start),
        rfc3339(end),
        args.comment
    );
    Ok(exit_status(ExitCode::SUCCESS, output::stdout(&text)))
}

async fn expire(store: &Store, id: &str, now: DateTime<Utc>) -> Result<ExitCode, InputError> {
    let written = change(store, now, |book| match book.silences.get_mut(id) {
        Some(silence) => {
            silence.expired_at.get_or_insert(now);
            Ok(())
        }
        None => Err(format!(
            "no ad hoc silence has the ID `{id}`; `silence list --all` lists them"
        )),
    })
    .await;
    if let Some(code) = failed(written) {
        return Ok(code);
    }
    Ok(exit_status(
        ExitCode::SUCCESS,
        output::stdout(&format!("Expired {id}.\n")),
    ))
}

/// What `silence list --output json` prints.
#[derive(Serialize)]
struct Listed<'a> {
    silences: Vec<ListedSilence<'a>>,
}

#[derive(Serialize)]
struct ListedSilence<'a> {
    #[serde(flatten)]
    silence: &'a AdHoc,
    /// `active`, `pending` or `expired`.
    status: &'static str,
}

async fn list(store: &Store, args: &ListArgs, now: DateTime<Utc>) -> Result<ExitCode, InputError> {
    let book = match read(store).await {
        Ok(book) => book,
        Err(message) => {
            output::stderr(&format!("error: {message}"));
            return Ok(ExitCode::from(EXIT_RUN_ERROR));
        }
    };
    let silences: Vec<ListedSilence<'_>> = book
        .silences
        .values()
        .map(|silence| ListedSilence {
            silence,
            status: silence.status(now),
        })
        .filter(|s| args.all || s.status != "expired")
        .collect();
    let text = match args.output {
        Output::Json => serde_json::to_string_pretty(&Listed { silences })
            .map(|json| json + "\n")
            .map_err(|e| InputError::Other(e.to_string()))?,
        Output::Text => table(&silences, args.all),
    };
    Ok(exit_status(ExitCode::SUCCESS, output::stdout(&text)))
}

fn table(silences: &[ListedSilence<'_>], all: bool) -> String {
    if silences.is_empty() {
        let which = if all { "" } else { " in force or to come" };
        return format!("No ad hoc silences{which}.\n");
    }
    let rows: Vec<[String; 5]> = silences
        .iter()
        .map(|s| {
            [
                s.silence.id.clone(),
                s.status.to_owned(),
                rfc3339(s.silence.start),
                rfc3339(s.silence.end),
                s.silence.matcher.describe(),
            ]
        })
        .collect();
    let headings = ["ID", "STATUS", "START", "END", "MATCH"];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([headings[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", line(&headings));
    for (row, s) in rows.iter().zip(silences) {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{}", line(&cells));
        let _ = writeln!(out, "    {}", s.silence.comment);
    }
    out
}

/// The ad hoc silences as stored.
async fn read(store: &Store) -> Result<Book, String> {
    let loaded = store
        .load(&[SILENCES_KEY.to_owned()])
        .await
        .map_err(|e| e.to_string())?;
    if let Some(unreadable) = loaded.unreadable.get(SILENCES_KEY) {
        return Err(format!(
            "the ad hoc silences' item `{SILENCES_KEY}` is unreadable ({}); delete it to start \
             afresh",
            unreadable.problem
        ));
    }
    Ok(loaded.silences)
}

/// Why a change was not made: the store failed (a run error) or the change is refused
/// (invalid input).
enum Refused {
    Store(String),
    Input(String),
}

/// Reads the silences, prunes those that ended long ago, applies `edit`, and writes them
/// back if nobody wrote in between; else again, a few times.
async fn change(
    store: &Store,
    now: DateTime<Utc>,
    mut edit: impl FnMut(&mut Book) -> Result<(), String>,
) -> Result<(), Refused> {
    for _ in 0..ATTEMPTS {
        let mut book = read(store).await.map_err(Refused::Store)?;
        book.prune(now);
        edit(&mut book).map_err(Refused::Input)?;
        match store.write_silences(&book).await {
            Ok(true) => return Ok(()),
            Ok(false) => continue,
            Err(e) => return Err(Refused::Store(e.to_string())),
        }
    }
    Err(Refused::Store(format!(
        "the ad hoc silences kept changing under this command ({ATTEMPTS} attempts); try again"
    )))
}

/// The exit status of a change that failed, said on stderr.
fn failed(result: Result<(), Refused>) -> Option<ExitCode> {
    let (message, code) = match result.err()? {
        Refused::Store(message) => (message, EXIT_RUN_ERROR),
        Refused::Input(message) => (message, EXIT_INVALID_INPUT),
    };
    output::stderr(&format!("error: {message}"));
    Some(ExitCode::from(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_read_field_equals_glob() {
        let parsed: Vec<Match> = [
            "rule=cpu-*",
            "resource=web-1",
            "region=eu-*",
            "tag:env=prod",
        ]
        .iter()
        .map(|m| parse_match(m).unwrap())
        .collect();
        let matcher = matcher(&parsed).unwrap();
        assert_eq!(
            matcher.describe(),
            "rule=cpu-* resource=web-1 region=eu-* tag:env=prod"
        );
        for (bad, says) in [
            ("rule", "has no `=`"),
            ("colour=red", "`colour` is not a field to match"),
            ("tag:=x", "`tag:` is not a field to match"),
            ("region=useast1", "`useast1` is not an AWS region name"),
            ("resource=web-[", "is not a valid glob"),
        ] {
            let err = parse_match(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let twice = [
            parse_match("rule=a").unwrap(),
            parse_match("rule=b").unwrap(),
        ];
        assert!(matcher_err(&twice).contains("--match rule=... is given twice"));
    }

    fn matcher_err(matches: &[Match]) -> String {
        matcher(matches).unwrap_err()
    }
}
