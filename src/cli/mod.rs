//! The command line: `check` runs one evaluation exactly as the Lambda does, with the
//! local AWS credentials or a recording; `record` runs its selection and fetching
//! against AWS and writes a recording; `validate` checks a rules document; `test` runs
//! rule unit tests (`test.rs`); `test-alert` sends a test notice to every target
//! (`test_alert.rs`); `silence` manages ad hoc silences and `status` lists the state
//! table (`silence.rs`, `status.rs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

mod explain;
mod output;
mod record;
mod refused;
mod schema;
mod silence;
mod status;
mod store;
pub mod template;
mod test;
mod test_alert;
mod text;
mod units;

use crate::aws::{self, DynamoStore, LightsailSource, SnsSink};
use crate::domain::catalog::ResourceType;
use crate::domain::plan::{MetricDatapoint, Query};
use crate::domain::select::Resource;
use crate::domain::time::not_in_future;
use crate::offline::Recording;
use crate::ports::{FetchError, ListError, MetricSource, ResourceSource};
use crate::rules::{self, RuleSet};
use crate::run::{self, Deadline, RunOptions};
use crate::settings::{InputError, RulesFile, Settings};

/// The example rules and recording, built in so that `check` with nothing configured
/// shows the whole job without an AWS account.
const EXAMPLE_RULES: &str = include_str!("../../examples/rules.yaml");
const EXAMPLE_RULES_NAME: &str = "examples/rules.yaml (built in)";
const EXAMPLE_RECORDING: &str = include_str!("../../examples/datapoints.json");
const EXAMPLE_RECORDING_NAME: &str = "examples/datapoints.json (built in)";

/// The environment `check` reads, for `--help` (the README's table has every detail).
const CHECK_ENVIRONMENT: &str = "\
Environment:
  ALERT_RULES_FILE       the rules when --rules is not given: a file or s3://BUCKET/KEY
  ALERT_RULES            the rules document itself (not with ALERT_RULES_FILE)
  ALERT_TOPIC_ARN        the SNS topic of rules that name none
  ALERT_STATE_TABLE      the DynamoDB table of alarm states [default: none, stateless]
  ALERT_MAX_CONCURRENCY  Lightsail calls in flight at once, 1-256 [default: 8]
  AWS_REGION             the region of rules that name none, and of the SDK (--region wins)
                         [default: AWS_DEFAULT_REGION, else the profile's region]
  AWS_PROFILE            the ~/.aws profile whose credentials are used (--profile wins)
                         [default: default]
  AWS_MAX_ATTEMPTS       attempts per AWS call, 1-100 [default: 5]
  AWS_RETRY_MODE         standard or adaptive [default: standard]
  AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_LIGHTSAIL, _SNS, _DYNAMODB, _S3
                         endpoint overrides (local fakes)
  RUST_LOG               the log filter on stderr, e.g. warn, info or debug [default: error]
  NO_COLOR               set and not empty: no colour with --color auto (also
                         CLICOLOR=0, TERM=dumb; CLICOLOR_FORCE=1 forces colour)

Exit status: 0 the run completed (alarms or not), 1 a run error, 2 invalid input.";

/// The environment `validate` reads, for `--help`.
const VALIDATE_ENVIRONMENT: &str = "\
Environment:
  ALERT_RULES_FILE  the rules when --rules is not given: a file or s3://BUCKET/KEY
  ALERT_RULES       the rules document itself (not with ALERT_RULES_FILE)
  ALERT_TOPIC_ARN   the SNS topic of rules that name none
  AWS_REGION        the region of rules that name none (--region wins)
                    [default: AWS_DEFAULT_REGION, else the profile's region]
  AWS_PROFILE       the ~/.aws profile used to read rules from S3 (--profile wins)
                    [default: default]

Exit status: 0 the rules are valid, 2 they are not (every error on stderr).";

/// Exit statuses (SPEC §7).
const EXIT_RUN_ERROR: u8 = 1;
const EXIT_INVALID_INPUT: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "lightsail-alerts",
    version,
    max_term_width = 100,
    about = "Threshold alerts for Amazon Lightsail instances, databases, load balancers, distributions, container services and buckets, evaluated like CloudWatch alarms and published to SNS",
    after_help = "Run `lightsail-alerts check` with nothing configured to see the built-in example: \
                  examples/rules.yaml replayed against examples/datapoints.json, nothing published."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which AWS account and region, as the AWS CLI's own flags say it.
#[derive(Debug, Clone, Default, clap::Args)]
struct AwsArgs {
    /// The profile of ~/.aws/config and ~/.aws/credentials to use (access keys, IAM
    /// Identity Center, credential_process, an assumed role) [default: AWS_PROFILE, else
    /// default]
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// The region of rules that name none, and of the SDK [default: AWS_REGION, else
    /// AWS_DEFAULT_REGION, else the profile's region]
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    region: Option<String>,
}

impl AwsArgs {
    fn chosen(&self) -> aws::clients::Chosen {
        aws::clients::Chosen {
            profile: self.profile.clone(),
            region: self.region.clone(),
        }
    }
}

fn parse_region(s: &str) -> Result<String, String> {
    rules::check_region_name(s)
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one evaluation: fetch datapoints, evaluate every rule, and show the alerts it
    /// would publish; with --publish, publish them.
    ///
    /// A dry run unless --publish is given, like `terraform plan` before `apply`: running
    /// rules against production from a laptop must not page anyone by accident.
    /// Rules come from --rules, else ALERT_RULES_FILE, else ALERT_RULES; with none of
    /// them, the built-in example runs against its recording as a dry run.
    /// Exit status: 0 the run completed (alarms or not), 1 a run error (an alert could
    /// not be published, every fetch failed, or S3 failed after retries reading the
    /// rules), 2 invalid input (including rules that cannot be read: a missing file, an
    /// S3 object that is missing or denied).
    #[command(after_help = CHECK_ENVIRONMENT)]
    Check(CheckArgs),
    /// Run the selection and fetching of a `check` against AWS, and write what Lightsail
    /// answered as a recording (examples/README.md) that `check --replay` evaluates the
    /// same way.
    ///
    /// Every resource each listing returned (its region, state and tags) and every series
    /// fetched (its datapoints with every statistic Lightsail gave) go into the file.
    /// Nothing is published and no state table is read. The file is replaced whole or not
    /// at all. Exit status: 0 written, 1 a run error (nothing could be fetched, the
    /// credentials were refused, the file could not be written), 2 invalid input.
    #[command(after_help = record::ENVIRONMENT)]
    Record(record::RecordArgs),
    /// Check a rules document: print it with every default filled in (exit 0), or every
    /// error on stderr (exit 2).
    #[command(after_help = VALIDATE_ENVIRONMENT)]
    Validate {
        /// The rules document (YAML or JSON): a file or s3://BUCKET/KEY; else
        /// ALERT_RULES_FILE, else ALERT_RULES.
        #[arg(long, value_name = "FILE")]
        rules: Option<RulesFile>,
        /// Check the rules a SAM or CloudFormation template embeds in its functions'
        /// ALERT_RULES (every branch of an !If), as the deployed function reads them: the
        /// stack's region, and ALERT_TOPIC_ARN when the template sets it, count as given.
        #[arg(long, value_name = "FILE", conflicts_with = "rules")]
        template: Option<PathBuf>,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Show which resources each rule selects, and why the others are not selected
    ///
    /// Per rule and region, every listed resource of the rule's type and why it is
    /// selected or not (names and globs, exclude, tags, states), from the listings alone:
    /// no metric is fetched. Lists Lightsail with your credentials, or the fleet of a
    /// recording with --replay. Exit status: 0 explained, 1 a region could not be listed,
    /// 2 invalid input.
    Explain(explain::ExplainArgs),
    /// Print the JSON Schema of the rules document, for editors
    ///
    /// The JSON Schema (draft 2020-12) of the rules document: `lightsail-alerts schema >
    /// rules.schema.json`, then `# yaml-language-server: $schema=rules.schema.json` at the
    /// top of a rules file.
    Schema,
    /// Run rule unit tests: series of values in promtool's notation, steps that say which
    /// results and alerts the rules must give at given times.
    #[command(after_help = test::TEST_HELP)]
    Test(test::TestArgs),
    /// Publish a test notice to every configured target, in its format, to check
    /// subscriptions and filter policies end to end
    ///
    /// One notice per target (topic and format), marked as a test: subject `[TEST] ...`,
    /// attribute state=TEST. One line per target says its message id or why it failed.
    #[command(after_help = test_alert::ENVIRONMENT)]
    TestAlert(test_alert::TestAlertArgs),
    /// Silence results for a while (add), list the silences, end one (expire)
    ///
    /// Ad hoc silences, kept in the state table (ALERT_STATE_TABLE, or --state-file):
    /// the results they match are still evaluated and their state kept; their notices are
    /// held until the silence ends, then sent if still news. Exit status: 0 done, 1 the
    /// table failed, 2 invalid input.
    #[command(subcommand)]
    Silence(silence::SilenceCommand),
    /// List the alarm states in the state table: ALARM first, since when, the last
    /// notice, held notices, and the silences in force now
    ///
    /// Reads the whole table (ALERT_STATE_TABLE, with your credentials: a Scan) or the
    /// local --state-file. Exit status: 0 listed, 1 the table could not be read, 2 invalid
    /// input.
    Status(status::StatusArgs),
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
    /// Publish the alerts to SNS (and, with ALERT_STATE_TABLE, record the notices in the
    /// state table). Without it, a dry run: nothing is published or stored, and each alert
    /// that would have been published is shown.
    #[arg(long, conflicts_with = "dry_run")]
    publish: bool,
    /// Publish nothing (the default; accepted so older scripts keep working).
    #[arg(long)]
    dry_run: bool,
    /// List the OK results too (the text output lists only the ones that need attention,
    /// and counts the others).
    #[arg(long)]
    all: bool,
    /// `text` for people; `json` prints the run report, and nothing else, on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Colour in the text output: `auto` on a terminal unless NO_COLOR is set (or
    /// TERM=dumb; CLICOLOR_FORCE=1 forces it), `always`, or `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
    /// Take datapoints from a recording instead of Lightsail (format: examples/README.md).
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Keep alarm state in this local JSON file (created when missing), with the same
    /// semantics as ALERT_STATE_TABLE (not with it): only transitions and reminders are
    /// notified. A simulation: a dry run records its decisions in it too, so successive
    /// runs over a recording (--replay, --at) show transitions and recoveries.
    #[arg(long, value_name = "PATH")]
    state_file: Option<PathBuf>,
    /// Stop fetching after this many seconds (e.g. 30 or 2.5): what was not evaluated by
    /// then is an ERROR result with stage `deadline`; the alerts of what was evaluated
    /// are still published, for at most 2 s more. Default: no limit.
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<Duration>,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Whether stdout gets colour. `auto` asks anstream, which follows NO_COLOR,
    /// CLICOLOR, CLICOLOR_FORCE and TERM, and whether stdout is a terminal.
    fn on_stdout(self) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
            }
        }
    }
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

impl ResourceSource for Source {
    async fn resources(
        &self,
        kind: ResourceType,
        region: &str,
    ) -> Result<Vec<Resource>, ListError> {
        match self {
            Source::Lightsail(source) => source.resources(kind, region).await,
            Source::Replay(recording) => recording.resources(kind, region).await,
        }
    }
}

/// Parses the arguments and runs the command on a fresh tokio runtime.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            output::stderr(&format!("error: cannot start the async runtime: {err}"));
            return ExitCode::from(EXIT_RUN_ERROR);
        }
    };
    let outcome = match cli.command {
        Command::Check(args) => runtime.block_on(check(args)),
        Command::Record(args) => runtime.block_on(record::record(args)),
        Command::Validate {
            template: Some(template),
            ..
        } => validate_template(&template),
        Command::Validate { rules, aws, .. } => {
            runtime.block_on(validate(rules.as_ref(), &aws.chosen()))
        }
        Command::Explain(args) => runtime.block_on(explain::explain(args)),
        Command::Schema => return schema::print(),
        Command::Test(args) => Ok(runtime.block_on(test::test(args))),
        Command::TestAlert(args) => runtime.block_on(test_alert::test_alert(args)),
        Command::Silence(command) => runtime.block_on(silence::silence(command)),
        Command::Status(args) => runtime.block_on(status::status(args)),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            output::stderr(&format!("error: {err}"));
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
    chosen: &aws::clients::Chosen,
) -> Result<(RuleSet, Option<aws_config::SdkConfig>), InputError> {
    let config = match settings.rules_file(file)? {
        Some(RulesFile::S3(_)) => {
            Some(aws::clients::sdk_config_for(settings.retries, chosen).await)
        }
        _ => None,
    };
    let s3 = config
        .as_ref()
        .and_then(|config| settings.s3_rules(file, config));
    let rules = settings.load_rules(None, file, s3.as_ref()).await?;
    Ok((rules, config))
}

async fn validate(
    file: Option<&RulesFile>,
    chosen: &aws::clients::Chosen,
) -> Result<ExitCode, InputError> {
    let mut settings = Settings::from_env()?;
    settings.fallbacks.region = chosen.region_or(settings.fallbacks.region.take()).await;
    let (rules, _) = read_rules(&settings, file, chosen).await?;
    let yaml = serde_yaml_ng::to_string(&rules).map_err(|e| InputError::Other(e.to_string()))?;
    let written = output::stdout(&yaml);
    output::stderr(&format!("{} rule(s) are valid.", rules.rules.len()));
    Ok(exit_status(ExitCode::SUCCESS, written))
}

/// `validate --template`: every embedded document checked, each printed with its
/// defaults filled in; every error of every document on stderr.
fn validate_template(path: &Path) -> Result<ExitCode, InputError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::Other(format!("cannot read the template {name}: {e}")))?;
    let documents = template::embedded(&text, &name).map_err(InputError::Other)?;
    let mut shown = String::new();
    let mut errors = Vec::new();
    let mut valid = 0;
    for document in &documents {
        match template::validate(document) {
            Ok(rules) => {
                valid += rules.rules.len();
                let yaml = template::show(&rules).map_err(InputError::Other)?;
                shown.push_str(&format!(
                    "# {}
{yaml}",
                    document.source
                ));
            }
            Err(invalid) => errors.push(invalid.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(InputError::Other(errors.join("\n")));
    }
    let written = output::stdout(&shown);
    output::stderr(&format!(
        "{valid} rule(s) in {} document(s) of {name} are valid.",
        documents.len()
    ));
    Ok(exit_status(ExitCode::SUCCESS, written))
}

/// What a `check` runs: the rules, where the datapoints come from, whether it
/// publishes, and the SDK config when something talks to AWS.
struct Job {
    rules: RuleSet,
    recording: Option<Recording>,
    dry_run: bool,
    /// Set when the built-in example runs: it never touches a state table.
    example: bool,
    config: Option<aws_config::SdkConfig>,
}

async fn check(args: CheckArgs) -> Result<ExitCode, InputError> {
    let mut settings = Settings::from_env()?;
    let chosen = args.aws.chosen();
    settings.fallbacks.region = chosen.region_or(settings.fallbacks.region.take()).await;
    if let Some(at) = args.at {
        // Before the rules are read: nothing is fetched, published or stored.
        not_in_future(at, Utc::now(), "--at")?;
    }
    let mut job = job(&args, &settings).await?;
    let state_file = args
        .state_file
        .as_deref()
        .map(|path| store::state_file(path, settings.state_table.as_deref()))
        .transpose()?;
    let at = match (args.at, &job.recording) {
        (Some(at), _) => at,
        (None, Some(recording)) => {
            not_in_future(recording.recorded_at, Utc::now(), "the recording's time")?;
            recording.recorded_at
        }
        (None, None) => Utc::now(),
    };

    // The SDK is loaded only when something talks to AWS: a replayed dry run without a
    // state table needs no account, no region and no network.
    let state_table = settings.state_table.as_deref().filter(|_| !job.example);
    if job.config.is_none() && (job.recording.is_none() || !job.dry_run || state_table.is_some()) {
        job.config = Some(aws::clients::sdk_config_for(settings.retries, &chosen).await);
    }
    let config = job.config;
    if let Some(config) = &config
        && let Some(refused) = credentials_refused(config, &chosen).await
    {
        return Ok(refused);
    }
    let store = match (state_table, &config) {
        (Some(table), Some(config)) => {
            Some(store::Store::Table(DynamoStore::from_config(config, table)))
        }
        _ => state_file,
    };
    let source = match (job.recording, &config) {
        (Some(recording), _) => Source::Replay(recording),
        (None, Some(config)) => Source::Lightsail(Box::new(LightsailSource::new(config.clone()))),
        // Loaded above whenever there is no recording.
        (None, None) => return Err(InputError::Other("no SDK config for Lightsail".to_owned())),
    };
    let sink = config.filter(|_| !job.dry_run).map(SnsSink::new);
    let options = RunOptions {
        at,
        concurrency: settings.max_concurrency,
        deadline: args.timeout.map(Deadline::after),
    };
    let rules = job.rules;
    let report = match &store {
        Some(store::Store::File(file)) if job.dry_run => {
            run::simulate(&rules, &source, file, options).await
        }
        _ => run::run(&rules, &source, sink.as_ref(), store.as_ref(), options).await,
    };
    if let Some(line) = every_call_refused(&report, &chosen) {
        // Every call refused for its credentials: one line instead of a table of the
        // same error on every row (the JSON report is still printed for scripts).
        let written = match args.output {
            Output::Json => output::stdout(&json_report(&report)?),
            Output::Text => Ok(()),
        };
        output::stderr(&format!("error: {line}"));
        return Ok(exit_status(ExitCode::from(EXIT_RUN_ERROR), written));
    }

    let written = match args.output {
        Output::Json => output::stdout(&json_report(&report)?),
        Output::Text => output::stdout(&text::render(
            &rules,
            &report,
            text::Options {
                all: args.all,
                color: args.color.on_stdout(),
            },
        )),
    };
    let status = match report.failure() {
        Some(failure) => {
            output::stderr(&format!("error: {failure}"));
            ExitCode::from(EXIT_RUN_ERROR)
        }
        None => ExitCode::SUCCESS,
    };
    Ok(exit_status(status, written))
}

/// The credential preflight of a run against AWS: missing, expired or broken credentials
/// are said once, before anything else, rather than as an error on every call. The exit
/// status to end with when they are.
async fn credentials_refused(
    config: &aws_config::SdkConfig,
    chosen: &aws::clients::Chosen,
) -> Option<ExitCode> {
    let problem = aws::clients::check_credentials(config, chosen.profile.as_deref())
        .await
        .err()?;
    output::stderr(&format!("error: {problem}"));
    Some(ExitCode::from(EXIT_RUN_ERROR))
}

/// The one line that says AWS refused every call of the run for its credentials
/// ([`refused::refused`]), naming the profile in use.
fn every_call_refused(report: &run::Report, chosen: &aws::clients::Chosen) -> Option<String> {
    let profile = chosen
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    refused::refused(report, profile.as_deref())
}

/// The run report as `--output json` prints it.
fn json_report(report: &run::Report) -> Result<String, InputError> {
    serde_json::to_string_pretty(report)
        .map(|json| json + "\n")
        .map_err(|e| InputError::Other(e.to_string()))
}

/// The run's exit status, or a run error when its output could not be written (a closed
/// stdout is not such a failure: see [`output::stdout`]).
fn exit_status(status: ExitCode, written: std::io::Result<()>) -> ExitCode {
    match written {
        Ok(()) => status,
        Err(err) => {
            output::stderr(&format!("error: cannot write the output to stdout: {err}"));
            ExitCode::from(EXIT_RUN_ERROR)
        }
    }
}

/// The configured rules and recording, or with nothing configured the built-in example
/// as a dry run.
async fn job(args: &CheckArgs, settings: &Settings) -> Result<Job, InputError> {
    let nothing_configured =
        args.rules.is_none() && settings.rules_file.is_none() && settings.rules_inline.is_none();
    if !nothing_configured {
        let (rules, config) = read_rules(settings, args.rules.as_ref(), &args.aws.chosen()).await?;
        let recording = args.replay.as_deref().map(read_recording).transpose()?;
        return Ok(Job {
            rules,
            recording,
            dry_run: !args.publish,
            example: false,
            config,
        });
    }
    let ignored = if args.publish {
        " (--publish is ignored: the example's topic is not yours)"
    } else {
        ""
    };
    output::stderr(&format!(
        "No rules given (--rules, ALERT_RULES_FILE or ALERT_RULES): running the built-in example, \
         {EXAMPLE_RULES_NAME} replayed against {}, as a dry run{ignored}.",
        args.replay
            .as_ref()
            .map_or(EXAMPLE_RECORDING_NAME.to_owned(), |p| p
                .display()
                .to_string())
    ));
    let rules = rules::parse(EXAMPLE_RULES, EXAMPLE_RULES_NAME, &settings.fallbacks)?;
    let recording = match &args.replay {
        Some(path) => read_recording(path)?,
        None => Recording::parse(EXAMPLE_RECORDING, EXAMPLE_RECORDING_NAME)
            .map_err(|e| InputError::Other(e.to_string()))?,
    };
    Ok(Job {
        rules,
        recording: Some(recording),
        dry_run: true,
        example: true,
        config: None,
    })
}

fn read_recording(path: &Path) -> Result<Recording, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::Other(format!("cannot read the recording {}: {e}", path.display()))
    })?;
    Recording::parse(&text, &path.display().to_string())
        .map_err(|e| InputError::Other(e.to_string()))
}
