//! A failed start reported to the Lambda Runtime API (`POST /runtime/init/error`), which
//! `lambda_runtime` has no public call for: without it Lambda sees only an exit, and the
//! reason is nowhere but in the logs.

use lambda_runtime::Diagnostic;
use lambda_runtime_api_client::{PooledClient, body::Body, build_request};

const PATH: &str = "/2018-06-01/runtime/init/error";

/// Posts `diagnostic` as the init error; a failure to post is logged, since the caller
/// exits non-zero either way.
pub(super) async fn report(diagnostic: &Diagnostic) {
    if let Err(err) = post(diagnostic).await {
        tracing::error!(error = %err, "cannot report the init error to the Lambda Runtime API");
    }
}

async fn post(diagnostic: &Diagnostic) -> Result<(), lambda_runtime::Error> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
    // With a scheme, a URI that parses has the authority the client needs.
    let base = format!("http://{api}").parse()?;
    let client = PooledClient::builder().with_endpoint(base).build();
    let request = build_request()
        .method("POST")
        .uri(PATH)
        .header("Lambda-Runtime-Function-Error-Type", &diagnostic.error_type)
        .header("Content-Type", "application/json")
        .body(Body::from(serde_json::to_vec(diagnostic)?))?;
    let response = client.call(request).await?;
    match response.status() {
        status if status.is_success() => Ok(()),
        status => Err(format!("the Runtime API answered {status}").into()),
    }
}
