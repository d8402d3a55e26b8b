//! The Lambda edge: decoding the invoking event, and the handler, which sends the
//! heartbeat after a completed run. Config and clients are built once per execution
//! environment, outside the handler.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::Value;

use crate::aws::s3::S3Rules;
use crate::aws::{self, DynamoStore, LightsailSource, SnsSink};
use crate::domain::time::not_in_future;
use crate::heartbeat::{self, Heartbeat};
use crate::panics;
use crate::run::{self, Deadline, MAX_RESPONSE_BYTES, Report, RunOptions};
use crate::settings::{InputError, Settings};

mod init_error;

/// The errors of a failed invocation logged one line each, at most.
const MAX_LOGGED_ERRORS: usize = 1000;

/// Time kept after the heartbeat for returning the report before the invocation's
/// deadline.
const RESPONSE_TIME: Duration = Duration::from_millis(250);

/// What the function was invoked with.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The evaluation time: the schedule's time, never the clock, when there is one.
    pub at: Option<DateTime<Utc>>,
    pub rules: Option<Value>,
    pub dry_run: bool,
}

/// An EventBridge Scheduler input: only the `Input` arrives, no envelope.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SchedulerInput {
    #[serde(default)]
    rules: Option<Value>,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    #[serde(default)]
    dry_run: bool,
}

const ACCEPTED: &str = "accepted: an EventBridge scheduled event (\"detail-type\": \"Scheduled Event\") or an EventBridge Scheduler input ({} or {\"rules\": {...}, \"at\": \"<RFC 3339 time>\", \"dryRun\": true})";

/// Decodes the invoking event, or says what was received and what is accepted.
pub fn decode(event: Value) -> Result<Invocation, InputError> {
    let unsupported =
        |what: String| InputError::Other(format!("unsupported event: {what}; {ACCEPTED}"));
    let Value::Object(fields) = &event else {
        return Err(unsupported(format!("received {}", kind(&event))));
    };
    if let Some(detail_type) = fields.get("detail-type") {
        let source = fields.get("source").and_then(Value::as_str).unwrap_or("?");
        if detail_type != "Scheduled Event" {
            return Err(unsupported(format!(
                "received an EventBridge event with detail-type {detail_type} from source {source}"
            )));
        }
        let event: EventBridgeEvent = serde_json::from_value(event).map_err(|e| {
            unsupported(format!(
                "received a malformed EventBridge scheduled event ({e})"
            ))
        })?;
        let at = event.time.ok_or_else(|| {
            unsupported("received an EventBridge scheduled event without a `time`".to_owned())
        })?;
        return Ok(Invocation {
            at: Some(at),
            rules: None,
            dry_run: false,
        });
    }
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    let input: SchedulerInput = serde_json::from_value(event.clone()).map_err(|e| {
        unsupported(format!(
            "received an object with keys [{}] that is not a Scheduler input ({e})",
            keys.join(", ")
        ))
    })?;
    Ok(Invocation {
        at: input.at,
        rules: input.rules,
        dry_run: input.dry_run,
    })
}

/// What kind of JSON value `value` is, for a message.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Built once per execution environment and shared by every invocation.
struct App {
    settings: Settings,
    /// With `ALERT_RULES_FILE=s3://...`: the object's reader, which keeps the document
    /// between invocations and only revalidates it (read on the first invocation).
    s3_rules: Option<S3Rules>,
    lightsail: LightsailSource,
    sns: SnsSink,
    state: Option<DynamoStore>,
    /// With `ALERT_HEARTBEAT_URL`: requested after each completed run.
    heartbeat: Option<Heartbeat>,
}

/// Why an invocation failed, as the Lambda service records it.
#[derive(Debug, thiserror::Error)]
enum HandlerError {
    #[error("{0}")]
    Input(#[from] InputError),
    #[error("{0}")]
    Run(String),
}

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Self {
        let error_type = match &err {
            HandlerError::Input(InputError::Rules(_)) => "InvalidRules",
            // The configured rules could not be read: not the caller's fault, and
            // invalid input would send the operator looking at the event.
            HandlerError::Input(InputError::RulesUnavailable(_) | InputError::ReadRules { .. }) => {
                "RulesUnavailable"
            }
            HandlerError::Input(InputError::Settings(_)) => "InvalidSettings",
            HandlerError::Input(_) => "InvalidInput",
            HandlerError::Run(_) => "RunFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Runs the function under the Lambda Runtime API until the environment is shut down.
/// A failed start (invalid settings, or a panic while building the clients) is posted to
/// `/runtime/init/error` and returned, so that the process exits non-zero.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    let app = match AssertUnwindSafe(App::init()).catch_unwind().await {
        Ok(Ok(app)) => app,
        Ok(Err(err)) => {
            let diagnostic = Diagnostic::from(HandlerError::from(err));
            return Err(init_failed(diagnostic).await);
        }
        Err(panic) => {
            let diagnostic = Diagnostic {
                error_type: "InitPanicked".to_owned(),
                error_message: format!(
                    "the function panicked at start: {}",
                    panics::message(&*panic)
                ),
            };
            return Err(init_failed(diagnostic).await);
        }
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| handle(&app, event))).await
}

/// Logs and reports a failed start; returns it as the error the process ends with.
async fn init_failed(diagnostic: Diagnostic) -> lambda_runtime::Error {
    tracing::error!(error_type = %diagnostic.error_type, error = %diagnostic.error_message, "the function cannot start");
    init_error::report(&diagnostic).await;
    format!("{}: {}", diagnostic.error_type, diagnostic.error_message).into()
}

impl App {
    /// The settings, checked before any SDK config is loaded, then the config and clients.
    async fn init() -> Result<App, InputError> {
        let settings = Settings::from_lambda_env()?;
        let config = aws::sdk_config(settings.retries).await;
        let state = settings
            .state_table
            .as_deref()
            .map(|table| DynamoStore::from_config(&config, table));
        let s3_rules = settings.s3_rules(None, &config);
        let heartbeat = settings.heartbeat_url.clone().map(Heartbeat::new);
        Ok(App {
            settings,
            s3_rules,
            lightsail: LightsailSource::new(config.clone()),
            sns: SnsSink::new(config),
            state,
            heartbeat,
        })
    }
}

async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Report, HandlerError> {
    // u64 milliseconds always fit a SystemTime where Lambda runs (64-bit seconds); a
    // deadline that far off is handled by `Deadline`.
    let invocation_deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
    let deadline = Deadline::lambda(invocation_deadline, app.settings.deadline_margin);
    let result = invoke(app, event.payload, deadline).await;
    match (&result, &app.heartbeat) {
        // The runtime does not log a handler error; without this it is lost from the logs.
        (Err(err), _) => tracing::error!(error = %err, "invocation failed"),
        // A completed run, dry or not: the outside service hears that runs happen. Before
        // the response, since Lambda freezes the environment once it is posted.
        (Ok(_), Some(heartbeat)) => heartbeat.beat(heartbeat_time(invocation_deadline)).await,
        (Ok(_), None) => {}
    }
    result
}

/// How long the heartbeat may take: [`heartbeat::TIMEOUT`], or less so that the report
/// is still returned before the invocation's deadline.
fn heartbeat_time(invocation_deadline: SystemTime) -> Duration {
    invocation_deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(RESPONSE_TIME)
        .min(heartbeat::TIMEOUT)
}

async fn invoke(app: &App, payload: Value, deadline: Deadline) -> Result<Report, HandlerError> {
    let invocation = decode(payload)?;
    if let Some(at) = invocation.at {
        // Before the rules are read: nothing is fetched, published or stored.
        not_in_future(
            at,
            Utc::now(),
            "the event's evaluation time (`at` or `time`)",
        )
        .map_err(InputError::from)?;
    }
    let rules = app
        .settings
        .load_rules(invocation.rules, None, app.s3_rules.as_ref())
        .await?;
    let at = invocation.at.unwrap_or_else(|| {
        tracing::warn!("the event carries no evaluation time; using the clock (pass \"at\" so retries evaluate the same range)");
        Utc::now()
    });
    let options = RunOptions {
        at,
        concurrency: app.settings.max_concurrency,
        deadline: Some(deadline),
    };
    let sink = (!invocation.dry_run).then_some(&app.sns);
    let report = run::run(&rules, &app.lightsail, sink, app.state.as_ref(), options).await;
    // The run logged its summary ("run finished").
    match report.failure() {
        Some(failure) => {
            // The failed invocation returns no body: its errors go into the log, one line
            // each (every unpublished alert was logged whole as it failed).
            tracing::error!(error = %failure, errors = report.errors.len(), "run failed");
            for error in report.errors.iter().take(MAX_LOGGED_ERRORS) {
                tracing::error!(
                    stage = error.stage.as_str(),
                    rule = error.rule.as_deref(),
                    region = error.region.as_deref(),
                    resource_type = error.resource_type.map(|t| t.as_str()),
                    resource = error.resource.as_deref(),
                    error = %error.message,
                    "run error"
                );
            }
            if let Some(more) = report
                .errors
                .len()
                .checked_sub(MAX_LOGGED_ERRORS)
                .filter(|&more| more > 0)
            {
                tracing::error!(more, "run errors left out of the log");
            }
            Err(HandlerError::Run(failure))
        }
        None => Ok(report.bounded(MAX_RESPONSE_BYTES)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scheduled_events_carry_the_evaluation_time() {
        let event = json!({
            "version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-24T13:05:00Z", "region": "us-east-1",
            "resources": [], "detail": {}
        });
        let invocation = decode(event).unwrap();
        assert_eq!(invocation.at, Some("2026-11-24T13:05:00Z".parse().unwrap()));
        assert!(!invocation.dry_run && invocation.rules.is_none());
    }

    #[test]
    fn scheduler_inputs_may_be_empty_or_carry_rules_time_and_dry_run() {
        assert_eq!(
            decode(json!({})).unwrap(),
            Invocation {
                at: None,
                rules: None,
                dry_run: false
            }
        );
        let invocation =
            decode(json!({"at": "2026-11-24T13:05:00Z", "dryRun": true, "rules": {"version": 1}}))
                .unwrap();
        assert_eq!(invocation.at, Some("2026-11-24T13:05:00Z".parse().unwrap()));
        assert!(invocation.dry_run);
        assert_eq!(invocation.rules, Some(json!({"version": 1})));
    }

    #[test]
    fn anything_else_is_named_in_the_error() {
        let err =
            decode(json!({"detail-type": "Object Created", "source": "aws.s3", "detail": {}}))
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("detail-type \"Object Created\" from source aws.s3"),
            "{err}"
        );
        let err = decode(json!({"Records": []})).unwrap_err();
        assert!(err.to_string().contains("keys [Records]"), "{err}");
        let err = decode(json!("hello")).unwrap_err();
        assert!(err.to_string().contains("received a string"), "{err}");
        let err = decode(json!({"at": "yesterday"})).unwrap_err();
        assert!(err.to_string().contains("not a Scheduler input"), "{err}");
    }
}
