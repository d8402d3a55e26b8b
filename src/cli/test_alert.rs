//! `test-alert`: a test notice to every configured target, in its format, so that
//! subscriptions and filter policies can be checked end to end (SPEC §16).

use std::process::ExitCode;

use chrono::Utc;

use super::output;
use super::{AwsArgs, EXIT_RUN_ERROR, credentials_refused, exit_status, read_rules};
use crate::aws::{self, SnsSink};
use crate::domain::alert::{self, Alert};
use crate::domain::catalog::Severity;
use crate::domain::rule::{Destination, TopicArn};
use crate::ports::AlertSink;
use crate::rules::RuleSet;
use crate::settings::{InputError, RulesFile, Settings};

/// For `--help`.
pub(super) const ENVIRONMENT: &str = "\
Targets: without --topic, every distinct topic and format of the rules (--rules, else
ALERT_RULES_FILE, else ALERT_RULES; ALERT_TOPIC_ARN for rules that name no topic); with
no rules configured, ALERT_TOPIC_ARN in text. --topic alone: that topic, in text; with
--rules: in each format those rules use for it (text when they do not name it).

Each notice has the subject `[TEST] test-alert: a test notice from lightsail-alerts` and
the attributes state=TEST, rule=test-alert, severity (--severity), region (the topic's)
and format; FIFO topics get a message group id and a deduplication id of its own.

Environment:
  ALERT_RULES_FILE  the rules when --rules is not given: a file or s3://BUCKET/KEY
  ALERT_RULES       the rules document itself (not with ALERT_RULES_FILE)
  ALERT_TOPIC_ARN   the SNS topic of rules that name none, and the target without rules
  AWS_REGION        the region of rules that name none, and of the SDK (--region wins)
                    [default: AWS_DEFAULT_REGION, else the profile's region]
  AWS_PROFILE       the ~/.aws profile whose credentials are used (--profile wins)
                    [default: default]
  AWS_MAX_ATTEMPTS  attempts per AWS call, 1-100 [default: 5]
  AWS_RETRY_MODE    standard or adaptive [default: standard]
  AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SNS, _S3
                    endpoint overrides (local fakes)

Exit status: 0 every notice was published, 1 one could not be (each failure on its line),
2 invalid input (no target, invalid rules or arguments).";

#[derive(Debug, clap::Args)]
pub(super) struct TestAlertArgs {
    /// The rules document (YAML or JSON) whose targets get a test notice: a file or
    /// s3://BUCKET/KEY; else ALERT_RULES_FILE, else ALERT_RULES (not read with --topic
    /// alone).
    #[arg(long, value_name = "FILE")]
    rules: Option<RulesFile>,
    /// Only this SNS topic: in text, or with --rules in each format they use for it.
    #[arg(long, value_name = "ARN", value_parser = parse_topic)]
    topic: Option<TopicArn>,
    /// The `severity` of the notice (its attribute and its body), to check a filter
    /// policy on it: critical, warning or info.
    #[arg(long, value_name = "SEVERITY", default_value = "info", value_parser = parse_severity)]
    severity: Severity,
    #[command(flatten)]
    aws: AwsArgs,
}

fn parse_topic(s: &str) -> Result<TopicArn, String> {
    s.parse()
        .map_err(|e: crate::domain::rule::InvalidValue| e.to_string())
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
        .map_err(|e: crate::domain::catalog::UnknownName| e.to_string())
}

pub(super) async fn test_alert(args: TestAlertArgs) -> Result<ExitCode, InputError> {
    let mut settings = Settings::from_env()?;
    let chosen = args.aws.chosen();
    settings.fallbacks.region = chosen.region_or(settings.fallbacks.region.take()).await;

    // The rules are read when they choose the targets: always without --topic, and with
    // it only when --rules names them.
    let rules_configured = args.rules.is_some()
        || (args.topic.is_none()
            && (settings.rules_file.is_some() || settings.rules_inline.is_some()));
    let (rules, config) = if rules_configured {
        let (rules, config) = read_rules(&settings, args.rules.as_ref(), &chosen).await?;
        (Some(rules), config)
    } else {
        (None, None)
    };
    let fallback = settings.fallbacks.topic_arn.as_deref();
    let chosen_targets =
        targets(rules.as_ref(), args.topic.as_ref(), fallback).map_err(InputError::Other)?;
    if let Some(note) = &chosen_targets.note {
        output::stderr(&format!("note: {note}"));
    }

    let config = match config {
        Some(config) => config,
        None => aws::clients::sdk_config_for(settings.retries, &chosen).await,
    };
    if let Some(refused) = credentials_refused(&config, &chosen).await {
        return Ok(refused);
    }
    let sink = SnsSink::new(config);
    let alerts = alert::test_notices(&chosen_targets.targets, args.severity, Utc::now());
    let mut sent = Vec::with_capacity(alerts.len());
    for alert in &alerts {
        sent.push(sink.publish(alert).await.map_err(|e| e.message));
    }
    let lines = report(&alerts, &sent);
    let written = output::stdout(&lines);
    let failed = sent.iter().filter(|outcome| outcome.is_err()).count();
    let status = if failed == 0 {
        output::stderr(&format!(
            "Sent {} test notice(s): check that each subscriber received its own.",
            alerts.len()
        ));
        ExitCode::SUCCESS
    } else {
        output::stderr(&format!(
            "error: {failed} of {} test notice(s) could not be published",
            alerts.len()
        ));
        ExitCode::from(EXIT_RUN_ERROR)
    };
    Ok(exit_status(status, written))
}

/// Who gets a test notice, and a note for the person at the keyboard.
#[derive(Debug, PartialEq)]
struct Targets {
    targets: Vec<Destination>,
    note: Option<String>,
}

/// The targets of a test: `topic` in each format `rules` use for it (text when they name
/// it nowhere, or there are none); without `topic`, every distinct target of `rules`,
/// in order; without rules, `fallback` (`ALERT_TOPIC_ARN`) in text.
fn targets(
    rules: Option<&RuleSet>,
    topic: Option<&TopicArn>,
    fallback: Option<&str>,
) -> Result<Targets, String> {
    let mut all: Vec<Destination> = Vec::new();
    for destination in rules
        .into_iter()
        .flat_map(|rules| &rules.rules)
        .flat_map(|rule| &rule.destinations)
    {
        if !all.contains(destination) {
            all.push(destination.clone());
        }
    }
    match (topic, rules) {
        (Some(topic), rules) => {
            let for_topic: Vec<Destination> = all
                .into_iter()
                .filter(|destination| &destination.topic_arn == topic)
                .collect();
            if for_topic.is_empty() {
                let note =
                    rules.map(|_| format!("the rules send nothing to {topic}: testing it in text"));
                return Ok(Targets {
                    targets: vec![Destination::text(topic.clone())],
                    note,
                });
            }
            Ok(Targets {
                targets: for_topic,
                note: None,
            })
        }
        (None, Some(_)) => Ok(Targets {
            targets: all,
            note: None,
        }),
        (None, None) => match fallback {
            Some(arn) => Ok(Targets {
                targets: vec![Destination::text(
                    arn.parse().map_err(|e| format!("ALERT_TOPIC_ARN: {e}"))?,
                )],
                note: None,
            }),
            None => Err(
                "no target: pass --topic ARN or --rules FILE, or set ALERT_RULES_FILE, \
                 ALERT_RULES or ALERT_TOPIC_ARN"
                    .to_owned(),
            ),
        },
    }
}

/// One line per target: its topic, its format, and the message id or why it failed,
/// topics aligned.
fn report(alerts: &[Alert], sent: &[Result<String, String>]) -> String {
    let width = alerts
        .iter()
        .map(|alert| alert.topic_arn.as_str().len())
        .max()
        .unwrap_or_default();
    alerts
        .iter()
        .zip(sent)
        .map(|(alert, outcome)| {
            let what = match outcome {
                Ok(id) => format!("sent, message id {id}"),
                Err(error) => format!("FAILED: {error}"),
            };
            format!(
                "{:width$}  {:4}  {what}\n",
                alert.topic_arn.as_str(),
                alert.format.as_str()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::Format;
    use crate::rules::{self, Fallbacks};

    const RULES: &str = r#"
version: 1
defaults: {region: us-east-1}
rules:
  - name: a
    instances: [web-1]
    metric: CPUUtilization
    comparison: ">"
    threshold: 80
    notify:
      - {topicArn: "arn:aws:sns:us-east-1:123456789012:mail"}
      - {topicArn: "arn:aws:sns:us-east-1:123456789012:bus", format: json}
  - name: b
    instances: [web-1]
    metric: CPUUtilization
    comparison: ">"
    threshold: 90
    notify:
      - {topicArn: "arn:aws:sns:us-east-1:123456789012:bus", format: json}
  - name: c
    instances: [web-1]
    metric: CPUUtilization
    comparison: ">"
    threshold: 90
    notify:
      - {topicArn: "arn:aws:sns:us-east-1:123456789012:bus", format: chat}
  - name: d
    instances: [web-1]
    metric: CPUUtilization
    comparison: ">"
    threshold: 95
"#;

    fn topic(name: &str) -> TopicArn {
        format!("arn:aws:sns:us-east-1:123456789012:{name}")
            .parse()
            .unwrap()
    }

    fn rules() -> RuleSet {
        let fallbacks = Fallbacks {
            region: None,
            topic_arn: Some(topic("default").to_string()),
        };
        rules::parse(RULES, "rules.yaml", &fallbacks).unwrap()
    }

    fn shown(targets: &Targets) -> Vec<(&str, Format)> {
        targets
            .targets
            .iter()
            .map(|d| (d.topic_arn.name(), d.format))
            .collect()
    }

    #[test]
    fn the_rules_give_every_distinct_topic_and_format_once_in_order() {
        let rules = rules();
        let targets = targets(Some(&rules), None, Some("not used")).unwrap();
        assert_eq!(
            shown(&targets),
            [
                ("mail", Format::Text),
                ("bus", Format::Json),
                ("bus", Format::Chat),
                ("default", Format::Text)
            ]
        );
        assert_eq!(targets.note, None);
    }

    #[test]
    fn a_topic_is_tested_in_the_formats_the_rules_use_for_it_else_in_text() {
        let rules = rules();
        let bus = targets(Some(&rules), Some(&topic("bus")), None).unwrap();
        assert_eq!(shown(&bus), [("bus", Format::Json), ("bus", Format::Chat)]);
        let other = targets(Some(&rules), Some(&topic("other")), None).unwrap();
        assert_eq!(shown(&other), [("other", Format::Text)]);
        assert!(other.note.unwrap().contains("the rules send nothing to"));
        let alone = targets(None, Some(&topic("other")), Some("not used")).unwrap();
        assert_eq!(shown(&alone), [("other", Format::Text)]);
        assert_eq!(alone.note, None);
    }

    #[test]
    fn without_rules_the_fallback_topic_is_the_target_and_without_it_nothing_is() {
        let arn = topic("default").to_string();
        let fallback = targets(None, None, Some(&arn)).unwrap();
        assert_eq!(shown(&fallback), [("default", Format::Text)]);
        let err = targets(None, None, Some("arn:aws:sns:nowhere")).unwrap_err();
        assert!(err.starts_with("ALERT_TOPIC_ARN: "), "{err}");
        let err = targets(None, None, None).unwrap_err();
        assert!(err.starts_with("no target: pass --topic ARN"), "{err}");
    }
}
