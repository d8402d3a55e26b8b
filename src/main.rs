//! Entry point: set up logging, then run as a Lambda function (when the Lambda Runtime
//! API is there) or as the command line.

use std::process::ExitCode;

use lightsail_alerts::{cli, lambda, panics};

use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    init_tracing(in_lambda);
    panics::install_hook();
    if !in_lambda {
        return cli::main();
    }
    let outcome = tokio::runtime::Runtime::new()
        .map_err(lambda_runtime::Error::from)
        .and_then(|runtime| runtime.block_on(lambda::serve()));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A failed start was logged and posted as an init error already.
            tracing::error!(error = %err, "the function stopped");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout is the command line's output). JSON when Lambda's
/// `AWS_LAMBDA_LOG_FORMAT=JSON` asks for it; the level from `RUST_LOG`, else
/// `AWS_LAMBDA_LOG_LEVEL`, else info in Lambda and error on the command line: there,
/// every warning (a failed fetch, a region that could not be listed) is in the report
/// already, on its row or under the table, and the SDK's own credential warnings (Debug
/// dumps of each provider it tried) are left out: the command says what is wrong with
/// the credentials once, in one line.
fn init_tracing(in_lambda: bool) {
    let default_level = if in_lambda { "info" } else { "error" };
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| {
            let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .unwrap_or_default()
                .to_lowercase();
            EnvFilter::try_new(if level.is_empty() {
                default_level
            } else {
                &level
            })
        })
        .unwrap_or_else(|_| EnvFilter::new(default_level));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init` fails only when a subscriber is already set, which nothing here does;
    // the logs are not worth a panic either way.
    let _ = if json {
        builder
            .json()
            .with_current_span(false)
            .flatten_event(true)
            .with_target(false)
            .try_init()
    } else {
        builder.with_ansi(false).without_time().try_init()
    };
}
