//! The command line: `check` runs one evaluation exactly as the Lambda does, with the
//! local AWS credentials or a recording; `validate` checks a rules document.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use crate::aws::{self, DynamoStore, LightsailSource, SnsSink};
use crate::domain::plan::{MetricDatapoint, Query};
use crate::domain::select::Instance;
use crate::offline::Recording;
use crate::ports::{FetchError, InstanceSource, ListError, MetricSource};
use crate::rules::{self, RuleSet};
use crate::run::{self, Deadline, Report, RunOptions};
use crate::settings::{InputError, RulesFile, Settings};

/// The example rules and recording, built in so that `check` with nothing configured
/// shows the whole job without an AWS account.
const EXAMPLE_RULES: &str = include_str!("../../examples/rules.yaml");
const EXAMPLE_RULES_NAME: &str = "examples/rules.yaml (built in)";
const EXAMPLE_RECORDING: &str = include_str!("../../examples/datapoints.json");
const EXAMPLE_RECORDING_NAME: &str = "examples/datapoints.json (built in)";

/// Exit statuses (SPEC §7).
const EXIT_RUN_ERROR: u8 = 1;
const EXIT_INVALID_INPUT: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "lightsail-alerts",
    version,
    about = "Threshold alerts for Amazon Lightsail instances, evaluated like CloudWatch alarms and published to SNS",
    after_help = "Run `lightsail-alerts check` with nothing configured to see the built-in example: \
                  examples/rules.yaml replayed against examples/datapoints.json, nothing published."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one evaluation: fetch datapoints, evaluate every rule, publish the alerts.
    ///
    /// Rules come from --rules, else ALERT_RULES_FILE, else ALERT_RULES; with none of
    /// them, the built-in example runs against its recording as a dry run.
    /// Exit status: 0 the run completed (alarms or not), 1 a run error (an alert could
    /// not be published, every fetch failed, or S3 failed after retries reading the
    /// rules), 2 invalid input (including rules that cannot be read: a missing file, an
    /// S3 object that is missing or denied).
    Check(CheckArgs),
    /// Check a rules document: print it with every default filled in (exit 0), or every
    /// error on stderr (exit 2).
    Validate {
        /// The rules document (YAML or JSON): a file or s3://BUCKET/KEY; else
        /// ALERT_RULES_FILE, else ALERT_RULES.
        #[arg(long, value_name = "FILE")]
        rules: Option<RulesFile>,
    },
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The rules document (YAML or JSON): a file or s3://BUCKET/KEY.
    #[arg(long, value_name = "FILE")]
    rules: Option<RulesFile>,
    /// The evaluation time (RFC 3339, e.g. 2026-11-24T13:05:00Z). Default: the
    /// recording's time with --replay, else now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    at: Option<DateTime<Utc>>,
    /// Publish nothing; show each alert that would have been published.
    #[arg(long)]
    dry_run: bool,
    /// `text` for people; `json` prints the run report, and nothing else, on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Take datapoints from a recording instead of Lightsail (format: examples/README.md).
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Stop fetching after this many seconds (e.g. 30 or 2.5): what was not evaluated by
    /// then is an ERROR result with stage `deadline`; the alerts of what was evaluated
    /// are still published, for at most 2 s more. Default: no limit.
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => Ok(Duration::from_secs_f64(seconds)),
        _ => Err(
            "expected a number of seconds greater than 0 and at most 86400, e.g. 30 or 2.5"
                .to_owned(),
        ),
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; expected RFC 3339 such as 2026-11-24T13:05:00Z"))
}

/// Where a `check` takes its datapoints from.
enum Source {
    Lightsail(Box<LightsailSource>),
    Replay(Recording),
}

impl MetricSource for Source {
    async fn fetch(&self, query: &Query) -> Result<Vec<MetricDatapoint>, FetchError> {
        match self {
            Source::Lightsail(source) => source.fetch(query).await,
            Source::Replay(recording) => recording.fetch(query).await,
        }
    }
}

impl InstanceSource for Source {
    async fn instances(&self, region: &str) -> Result<Vec<Instance>, ListError> {
        match self {
            Source::Lightsail(source) => source.instances(region).await,
            Source::Replay(recording) => recording.instances(region).await,
        }
    }
}

/// Parses the arguments and runs the command on a fresh tokio runtime.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_RUN_ERROR);
        }
    };
    let outcome = match cli.command {
        Command::Check(args) => runtime.block_on(check(args)),
        Command::Validate { rules } => runtime.block_on(validate(rules.as_ref())),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            // S3 failing after retries is worth another try later, like a run error; a
            // missing or denied object is to be fixed, like a missing file.
            match &err {
                InputError::RulesUnavailable(e) if e.is_transient() => {
                    ExitCode::from(EXIT_RUN_ERROR)
                }
                _ => ExitCode::from(EXIT_INVALID_INPUT),
            }
        }
    }
}

/// The configured rules, read once. The SDK config is loaded only for rules in S3, and
/// returned so the run does not load it a second time.
async fn read_rules(
    settings: &Settings,
    file: Option<&RulesFile>,
) -> Result<(RuleSet, Option<aws_config::SdkConfig>), InputError> {
    let config = match settings.rules_file(file)? {
        Some(RulesFile::S3(_)) => Some(aws::sdk_config().await),
        _ => None,
    };
    let s3 = config
        .as_ref()
        .and_then(|config| settings.s3_rules(file, config));
    let rules = settings.load_rules(None, file, s3.as_ref()).await?;
    Ok((rules, config))
}

async fn validate(file: Option<&RulesFile>) -> Result<ExitCode, InputError> {
    let settings = Settings::from_env()?;
    let (rules, _) = read_rules(&settings, file).await?;
    let yaml = serde_yaml_ng::to_string(&rules).map_err(|e| InputError::Other(e.to_string()))?;
    print!("{yaml}");
    eprintln!("{} rule(s) are valid.", rules.rules.len());
    Ok(ExitCode::SUCCESS)
}

async fn check(args: CheckArgs) -> Result<ExitCode, InputError> {
    let settings = Settings::from_env()?;
    let nothing_configured =
        args.rules.is_none() && settings.rules_file.is_none() && settings.rules_inline.is_none();
    let mut rules_config = None;
    let (rules, recording, dry_run) = if nothing_configured {
        eprintln!(
            "No rules given (--rules, ALERT_RULES_FILE or ALERT_RULES): running the built-in example, \
             {EXAMPLE_RULES_NAME} replayed against {}, as a dry run.",
            args.replay
                .as_ref()
                .map_or(EXAMPLE_RECORDING_NAME.to_owned(), |p| p
                    .display()
                    .to_string())
        );
        let rules = rules::parse(EXAMPLE_RULES, EXAMPLE_RULES_NAME, &settings.fallbacks)?;
        let recording = match &args.replay {
            Some(path) => read_recording(path)?,
            None => Recording::parse(EXAMPLE_RECORDING, EXAMPLE_RECORDING_NAME)
                .map_err(|e| InputError::Other(e.to_string()))?,
        };
        (rules, Some(recording), true)
    } else {
        let (rules, config) = read_rules(&settings, args.rules.as_ref()).await?;
        rules_config = config;
        let recording = args.replay.as_deref().map(read_recording).transpose()?;
        (rules, recording, args.dry_run)
    };

    let at = args
        .at
        .or(recording.as_ref().map(|r| r.recorded_at))
        .unwrap_or_else(Utc::now);

    // The SDK is loaded only when something talks to AWS: a replayed dry run without a
    // state table needs no account, no region and no network.
    let state_table = settings
        .state_table
        .as_deref()
        .filter(|_| !nothing_configured);
    let config = if recording.is_none() || !dry_run || state_table.is_some() {
        Some(match rules_config {
            Some(config) => config,
            None => aws::sdk_config().await,
        })
    } else {
        None
    };
    let store = match (state_table, &config) {
        (Some(table), Some(config)) => Some(DynamoStore::from_config(config, table)),
        _ => None,
    };
    let source = match recording {
        Some(recording) => Source::Replay(recording),
        None => Source::Lightsail(Box::new(LightsailSource::new(
            config
                .clone()
                .expect("the SDK config is loaded when there is no recording"),
        ))),
    };
    let sink = config.filter(|_| !dry_run).map(SnsSink::new);
    let options = RunOptions {
        at,
        concurrency: settings.max_concurrency,
        deadline: args.timeout.map(Deadline::after),
    };
    let report = run::run(&rules, &source, sink.as_ref(), store.as_ref(), options).await;

    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| InputError::Other(e.to_string()))?
        ),
        Output::Text => print!("{}", render_text(&rules, &report)),
    }
    Ok(match report.failure() {
        Some(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(EXIT_RUN_ERROR)
        }
        None => ExitCode::SUCCESS,
    })
}

fn read_recording(path: &Path) -> Result<Recording, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::Other(format!("cannot read the recording {}: {e}", path.display()))
    })?;
    Recording::parse(&text, &path.display().to_string())
        .map_err(|e| InputError::Other(e.to_string()))
}

/// The report for people: one line per result, then the alerts.
fn render_text(rules: &RuleSet, report: &Report) -> String {
    let mut out = String::new();
    let at = report
        .evaluated_at
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let mode = if report.dry_run {
        " (dry run: nothing published)"
    } else {
        ""
    };
    let _ = writeln!(out, "Evaluated {} rule(s) at {at}{mode}", rules.rules.len());
    let _ = writeln!(out);
    let width = |f: fn(&run::RuleResult) -> usize, min: usize| {
        report.results.iter().map(f).max().unwrap_or(0).max(min)
    };
    let (rw, gw, iw, sw) = (
        width(|r| r.rule.len(), 4),
        width(|r| r.region.len(), 6),
        width(|r| r.instance.chars().count(), 8),
        width(|r| r.state.as_str().len(), 5),
    );
    let _ = writeln!(
        out,
        "{:rw$}  {:gw$}  {:iw$}  {:sw$}  REASON",
        "RULE", "REGION", "INSTANCE", "STATE"
    );
    for r in &report.results {
        let detail = r.error.as_deref().unwrap_or(&r.reason);
        let sent = if r.notified { "  [published]" } else { "" };
        let _ = writeln!(
            out,
            "{:rw$}  {:gw$}  {:iw$}  {:sw$}  {detail}{sent}",
            r.rule,
            r.region,
            r.instance,
            r.state.as_str()
        );
    }
    // Errors that have no result line: a region that could not be listed, the store.
    let unplaced: Vec<&run::RunError> = report
        .errors
        .iter()
        .filter(|e| e.instance.is_none())
        .collect();
    if !unplaced.is_empty() {
        let _ = writeln!(out);
        for error in unplaced {
            let rule = error
                .rule
                .as_deref()
                .map(|r| format!(" {r}:"))
                .unwrap_or_default();
            let _ = writeln!(out, "Error:{rule} {}", error.message);
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out);
        for warning in &report.warnings {
            let _ = writeln!(out, "Warning: {}: {}", warning.rule, warning.message);
        }
    }
    if let Some(alerts) = &report.alerts {
        let _ = writeln!(out);
        let _ = writeln!(out, "{} alert(s) would be published:", alerts.len());
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
    let _ = writeln!(out);
    let counts: Vec<String> = report
        .counts()
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let _ = writeln!(
        out,
        "{} result(s): {}; {} alert(s) published; {} error(s); {} warning(s).",
        report.results.len(),
        counts.join(", "),
        report.published,
        report.errors.len(),
        report.warnings.len()
    );
    out
}
