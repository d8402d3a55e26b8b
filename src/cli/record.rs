//! `record`: a `check`'s selection and fetching against AWS, as a dry run, with the live
//! sources wrapped in a [`Recorder`]; what Lightsail answered is written as a recording
//! that `check --replay` evaluates the same way (SPEC §15).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, SubsecRound, Utc};

use super::output::{self, WholeFile};
use super::{
    AwsArgs, EXIT_RUN_ERROR, credentials_refused, every_call_refused, parse_time, read_rules,
};
use crate::aws::{self, DynamoStore, LightsailSource, SnsSink};
use crate::domain::time::{self, not_in_future};
use crate::offline::{Recorded, Recorder};
use crate::run::{self, RunOptions};
use crate::settings::{InputError, RulesFile, Settings};

/// The environment `record` reads, for `--help`.
pub(super) const ENVIRONMENT: &str = "\
Environment:
  ALERT_TOPIC_ARN        the SNS topic of rules that name none (nothing is published)
  ALERT_MAX_CONCURRENCY  Lightsail calls in flight at once, 1-256 [default: 8]
  AWS_REGION             the region of rules that name none, and of the SDK (--region wins)
                         [default: AWS_DEFAULT_REGION, else the profile's region]
  AWS_PROFILE            the ~/.aws profile whose credentials are used (--profile wins)
                         [default: default]
  AWS_MAX_ATTEMPTS       attempts per AWS call, 1-100 [default: 5]
  AWS_RETRY_MODE         standard or adaptive [default: standard]
  AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_LIGHTSAIL, _S3
                         endpoint overrides (local fakes)
  RUST_LOG               the log filter on stderr, e.g. warn, info or debug [default: error]

Exit status: 0 the recording was written, 1 a run error, 2 invalid input.";

#[derive(Debug, clap::Args)]
pub(super) struct RecordArgs {
    /// The rules document (YAML or JSON): a file or s3://BUCKET/KEY. Its selections and
    /// queries are what is recorded.
    #[arg(long, value_name = "FILE")]
    rules: RulesFile,
    /// The evaluation time (RFC 3339, e.g. 2026-11-24T13:05:00Z), written as the
    /// recording's `recordedAt`. Default: now, in whole seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    at: Option<DateTime<Utc>>,
    /// Where to write the recording: a file, replaced whole (or left as it was when the
    /// run fails), or `-` for stdout.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    aws: AwsArgs,
}

/// Where the recording goes.
enum Out {
    Stdout,
    File(PathBuf, WholeFile),
}

pub(super) async fn record(args: RecordArgs) -> Result<ExitCode, InputError> {
    let mut settings = Settings::from_env()?;
    let chosen = args.aws.chosen();
    settings.fallbacks.region = chosen.region_or(settings.fallbacks.region.take()).await;
    let at = match args.at {
        Some(at) => {
            not_in_future(at, Utc::now(), "--at")?;
            at
        }
        // Whole seconds, as `recordedAt` is written: the replay then evaluates at the
        // very time the run did.
        None => Utc::now().trunc_subsecs(0),
    };
    // Before any call: a path that cannot be written is invalid input, found now rather
    // than after the whole fleet was fetched.
    let out = if args.out.as_os_str() == "-" {
        Out::Stdout
    } else {
        let file = WholeFile::create(&args.out).map_err(|e| {
            InputError::Other(format!(
                "cannot write the recording to {}: {e}",
                args.out.display()
            ))
        })?;
        Out::File(args.out.clone(), file)
    };

    let (rules, config) = read_rules(&settings, Some(&args.rules), &chosen).await?;
    let config = match config {
        Some(config) => config,
        None => aws::clients::sdk_config_for(settings.retries, &chosen).await,
    };
    if let Some(refused) = credentials_refused(&config, &chosen).await {
        return Ok(refused);
    }

    // A dry run without a state store: the run lists and fetches exactly as `check`
    // does, and publishes and stores nothing.
    let recorder = Recorder::new(LightsailSource::new(config));
    let options = RunOptions {
        at,
        concurrency: settings.max_concurrency,
        deadline: None,
    };
    let no_sink: Option<&SnsSink> = None;
    let no_store: Option<&DynamoStore> = None;
    let report = run::run(&rules, &recorder, no_sink, no_store, options).await;
    if let Some(line) = every_call_refused(&report, &chosen) {
        output::stderr(&format!("error: {line}; nothing was recorded"));
        return Ok(ExitCode::from(EXIT_RUN_ERROR));
    }
    if let Some(failure) = report.failure() {
        output::stderr(&format!("error: {failure}; nothing was recorded"));
        return Ok(ExitCode::from(EXIT_RUN_ERROR));
    }

    let Recorded {
        recording,
        resources,
        series,
        failed,
    } = recorder.into_recording(
        at,
        Some(format!("lightsail-alerts record --rules {}", args.rules)),
    );
    let json = recording
        .to_json()
        .map_err(|e| InputError::Other(format!("cannot write the recording: {e}")))?;
    let (written, place) = match out {
        Out::Stdout => (output::stdout(&json), "stdout".to_owned()),
        Out::File(path, file) => (
            file.commit(&json).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot write the recording to {}: {e}", path.display()),
                )
            }),
            path.display().to_string(),
        ),
    };
    if let Err(err) = written {
        output::stderr(&format!("error: {err}"));
        return Ok(ExitCode::from(EXIT_RUN_ERROR));
    }
    output::stderr(&format!(
        "Recorded {resources} resource(s) and {series} series at {}, written to {place}.",
        time::rfc3339(at)
    ));
    if failed > 0 {
        output::stderr(&format!(
            "warning: {failed} call(s) failed (RUST_LOG=warn shows them); the recording has \
             no answer for them, so `check --replay` reports those resources differently"
        ));
    }
    Ok(ExitCode::SUCCESS)
}
