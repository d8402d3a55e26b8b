//! A fake AWS Lambda Runtime API: hands the binary its events on `/next` and records what it answers.
//!
//! ```ignore
//! let runtime = FakeRuntime::start(vec![event]);          // declared first: dropped last
//! let lambda = Spawned::start(command().envs(runtime.lambda_env()));
//! let outcomes = runtime.wait_outcomes(1, Duration::from_secs(30));
//! let logs = lambda.stop();                               // stop the binary before the fake
//! ```
//!
//! Once every event is handed out, `/next` is held open (a long poll, as Lambda does
//! between invocations) until [`FakeRuntime::push`] brings another or the fake is
//! dropped. Stop the binary first: a held poll is answered 500 when the fake goes, which
//! the runtime client does not expect.

use super::http::{Background, Request, header, read_body, respond};
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const FUNCTION_NAME: &str = "lightsail-alerts";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:lightsail-alerts";
/// How long an invocation may run, as in `Lambda-Runtime-Deadline-Ms`.
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Lambda's limit on a buffered response payload.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function answered for one invocation.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response`; `body` is the JSON answered (a string
    /// holding the raw text if it was not JSON).
    Response { request_id: String, body: Value },
    /// `POST /runtime/invocation/{id}/error`, with the `Lambda-Runtime-Function-Error-Type`
    /// header and the body (`{"errorType": .., "errorMessage": ..}`).
    Error {
        request_id: String,
        error_type: Option<String>,
        body: Value,
    },
}

impl Outcome {
    pub fn request_id(&self) -> &str {
        match self {
            Outcome::Response { request_id, .. } | Outcome::Error { request_id, .. } => request_id,
        }
    }

    pub fn body(&self) -> &Value {
        match self {
            Outcome::Response { body, .. } | Outcome::Error { body, .. } => body,
        }
    }

    /// The response body; panics (with the error) if the invocation failed.
    pub fn response(&self) -> &Value {
        match self {
            Outcome::Response { body, .. } => body,
            Outcome::Error { .. } => panic!("expected a response, the invocation failed: {self:?}"),
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Outcome::Error { .. })
    }

    /// The error type and message of a failed invocation; panics (with the response) if
    /// it succeeded.
    pub fn failure(&self) -> (String, String) {
        match self {
            Outcome::Error {
                body, error_type, ..
            } => (
                body["errorType"]
                    .as_str()
                    .or(error_type.as_deref())
                    .unwrap_or_default()
                    .to_owned(),
                body["errorMessage"].as_str().unwrap_or_default().to_owned(),
            ),
            Outcome::Response { body, .. } => {
                panic!("expected the invocation to fail, it answered {body:#}")
            }
        }
    }
}

/// `POST /runtime/init/error`: the function failed before asking for an event.
#[derive(Clone, Debug, PartialEq)]
pub struct InitError {
    pub error_type: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    pending: VecDeque<(String, Value)>,
    /// Request ids handed out and not answered yet.
    open: HashSet<String>,
    outcomes: Vec<Outcome>,
    init_errors: Vec<InitError>,
    /// Calls the real API would have refused (unknown id, second answer, too large).
    protocol_errors: Vec<String>,
    /// `/next` polls waiting for an event that will not come.
    parked: Vec<Request>,
    next_calls: usize,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A fake Runtime API on `127.0.0.1:<free port>`, serving until dropped.
pub struct FakeRuntime {
    server: Background,
    shared: Arc<Shared>,
    request_ids: Vec<String>,
}

impl FakeRuntime {
    /// Serves `events` in order, one per `/next`.
    pub fn start(events: Vec<Value>) -> FakeRuntime {
        let request_ids: Vec<String> = (1..=events.len())
            .map(|i| format!("c0ffee00-0000-4000-8000-{i:012}"))
            .collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending: request_ids.iter().cloned().zip(events).collect(),
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let server = {
            let shared = shared.clone();
            Background::start("fake-lambda-runtime", move |request| {
                handle(&shared, request)
            })
        };
        FakeRuntime {
            server,
            shared,
            request_ids,
        }
    }

    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> String {
        self.server.addr().to_string()
    }

    /// The request ids of the events, in the order they are handed out.
    pub fn request_ids(&self) -> &[String] {
        &self.request_ids
    }

    /// The environment Lambda gives a `provided.al2023` function (128 MB, JSON logs), on
    /// top of [`super::command`]'s. `lambda_runtime` 1.x requires AWS_LAMBDA_RUNTIME_API,
    /// AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE (an i32) and
    /// AWS_LAMBDA_FUNCTION_VERSION, and panics without them.
    pub fn lambda_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.addr()),
            ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME.to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{FUNCTION_NAME}"),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef".to_owned(),
            ),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
            ("AWS_SESSION_TOKEN", "testing".to_owned()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Blocks until at least `n` invocations were answered, and returns every outcome so
    /// far in arrival order. Panics on timeout, or as soon as the function reports an init
    /// error, with everything that did arrive.
    pub fn wait_outcomes(&self, n: usize, timeout: Duration) -> Vec<Outcome> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if !state.init_errors.is_empty() {
                panic!(
                    "the function reported an init error: {:?}\n{}",
                    state.init_errors,
                    describe(&state)
                );
            }
            if state.outcomes.len() >= n {
                return state.outcomes.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {n} invocation outcome(s)\n{}",
                    describe(&state)
                );
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Blocks until the function reports an init error; panics on timeout.
    pub fn wait_init_error(&self, timeout: Duration) -> InitError {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(error) = state.init_errors.first() {
                return error.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for an init error\n{}",
                    describe(&state)
                );
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// The outcomes so far, without waiting.
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.shared.lock().outcomes.clone()
    }

    /// Init errors reported so far.
    pub fn init_errors(&self) -> Vec<InitError> {
        self.shared.lock().init_errors.clone()
    }

    /// Calls the real Runtime API would have refused: an answer for an unknown request id,
    /// a second answer for one id, a response over 6 MB.
    pub fn protocol_errors(&self) -> Vec<String> {
        self.shared.lock().protocol_errors.clone()
    }

    /// How many times the function asked for an event (the held poll included).
    pub fn next_calls(&self) -> usize {
        self.shared.lock().next_calls
    }

    /// Queues one more event after those given to [`FakeRuntime::start`], and returns its
    /// request id. A poll already held gets it at once. For tests that change the world
    /// between invocations of one warm process: wait for the outcomes so far, change
    /// something, push the next event.
    pub fn push(&mut self, event: Value) -> String {
        let request_id = format!("c0ffee00-0000-4000-8000-{:012}", self.request_ids.len() + 1);
        self.request_ids.push(request_id.clone());
        let parked = {
            let mut state = self.shared.lock();
            match state.parked.pop() {
                Some(request) => {
                    state.open.insert(request_id.clone());
                    Some(request)
                }
                None => {
                    state.pending.push_back((request_id.clone(), event.clone()));
                    None
                }
            }
        };
        self.shared.changed.notify_all();
        if let Some(request) = parked {
            hand_out(request, &request_id, &event);
        }
        request_id
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        // Answer held polls now rather than whenever the last handle goes.
        let parked = std::mem::take(&mut self.shared.lock().parked);
        drop(parked);
    }
}

fn describe(state: &State) -> String {
    format!(
        "outcomes: {:#?}\ninit errors: {:?}\nprotocol errors: {:?}\n/next calls: {}, events not handed out: {}",
        state.outcomes,
        state.init_errors,
        state.protocol_errors,
        state.next_calls,
        state.pending.len()
    )
}

fn json_or_text(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

fn handle(shared: &Shared, mut request: Request) {
    let url = request.url().to_owned();
    let path = url.strip_prefix(PREFIX).unwrap_or("");
    match (request.method(), path) {
        ("GET", "/invocation/next") => next(shared, request),
        ("POST", "/init/error") => {
            let error_type = header(&request, "lambda-runtime-function-error-type");
            let body = json_or_text(read_body(&mut request));
            shared
                .lock()
                .init_errors
                .push(InitError { error_type, body });
            shared.changed.notify_all();
            accepted(request);
        }
        ("POST", _) if path.starts_with("/invocation/") => answer(shared, request, path),
        _ => {
            let body =
                format!(r#"{{"errorMessage":"Unknown path {url}","errorType":"InvalidRequest"}}"#);
            respond(request, 404, &[("Content-Type", "application/json")], body);
        }
    }
}

fn next(shared: &Shared, request: Request) {
    let event = {
        let mut state = shared.lock();
        state.next_calls += 1;
        match state.pending.pop_front() {
            Some((id, event)) => {
                state.open.insert(id.clone());
                Some((id, event))
            }
            None => {
                state.parked.push(request);
                shared.changed.notify_all();
                return;
            }
        }
    };
    shared.changed.notify_all();
    if let Some((request_id, event)) = event {
        hand_out(request, &request_id, &event);
    }
}

/// Answers a `/next` poll with an event, as Lambda does.
fn hand_out(request: Request, request_id: &str, event: &Value) {
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        + TIMEOUT;
    let deadline = deadline.as_millis().to_string();
    let tail = &request_id[request_id.len().saturating_sub(12)..];
    let trace = format!("Root=1-6743a1b0-000000000000{tail};Parent=53995c3f42cd8ad8;Sampled=0");
    let headers = [
        ("Content-Type", "application/json"),
        ("Lambda-Runtime-Aws-Request-Id", request_id),
        ("Lambda-Runtime-Deadline-Ms", deadline.as_str()),
        ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN),
        ("Lambda-Runtime-Trace-Id", trace.as_str()),
    ];
    respond(request, 200, &headers, event.to_string());
}

/// `/invocation/{id}/response` or `/invocation/{id}/error`.
fn answer(shared: &Shared, mut request: Request, path: &str) {
    let rest = &path["/invocation/".len()..];
    let (request_id, kind) = rest.rsplit_once('/').unwrap_or((rest, ""));
    if kind != "response" && kind != "error" {
        let body =
            format!(r#"{{"errorMessage":"Unknown path {path}","errorType":"InvalidRequest"}}"#);
        return respond(request, 404, &[("Content-Type", "application/json")], body);
    }
    let error_type = header(&request, "lambda-runtime-function-error-type");
    let text = read_body(&mut request);
    let refusal = {
        let mut state = shared.lock();
        let known = state.open.remove(request_id);
        let refusal = if !known {
            let answered = state.outcomes.iter().any(|o| o.request_id() == request_id);
            let why = if answered {
                "a second answer"
            } else {
                "an unknown request id"
            };
            Some((
                400,
                "InvalidRequestID",
                format!("{kind} for {why}: {request_id}"),
            ))
        } else if kind == "response" && text.len() > MAX_RESPONSE_BYTES {
            Some((
                413,
                "RequestEntityTooLarge",
                format!("a {} byte response for {request_id}", text.len()),
            ))
        } else {
            None
        };
        match (&refusal, kind) {
            (Some((_, _, why)), _) => state.protocol_errors.push(why.clone()),
            (None, "response") => state.outcomes.push(Outcome::Response {
                request_id: request_id.to_owned(),
                body: json_or_text(text),
            }),
            (None, _) => state.outcomes.push(Outcome::Error {
                request_id: request_id.to_owned(),
                error_type,
                body: json_or_text(text),
            }),
        }
        refusal
    };
    shared.changed.notify_all();
    match refusal {
        Some((status, error_type, why)) => {
            let body =
                serde_json::json!({ "errorMessage": why, "errorType": error_type }).to_string();
            respond(
                request,
                status,
                &[("Content-Type", "application/json")],
                body,
            );
        }
        None => accepted(request),
    }
}

fn accepted(request: Request) {
    respond(
        request,
        202,
        &[("Content-Type", "application/json")],
        r#"{"status":"OK"}"#.to_owned(),
    );
}
