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
//!
//! Each invocation's deadline (`Lambda-Runtime-Deadline-Ms`) is the moment it is handed
//! out plus its timeout: [`TIMEOUT`] unless [`FakeRuntime::with_timeout`] or
//! [`FakeRuntime::push_with_timeout`] chose another. Each [`Outcome`] carries that
//! deadline and the instant the answer came, so a test can tell whether the function
//! answered in time.

use super::http::{Background, Request, header, read_body, respond};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const FUNCTION_NAME: &str = "lightsail-alerts";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:lightsail-alerts";
/// How long an invocation may run unless told otherwise, as in `Lambda-Runtime-Deadline-Ms`.
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Lambda's limit on a buffered response payload.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function answered for one invocation, and when.
///
/// `posted` is when the fake received the answer; `deadline` is the invocation's
/// `Lambda-Runtime-Deadline-Ms` as an [`Instant`] on the same clock.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response`; `body` is the JSON answered (a string
    /// holding the raw text if it was not JSON).
    Response {
        request_id: String,
        body: Value,
        posted: Instant,
        deadline: Instant,
    },
    /// `POST /runtime/invocation/{id}/error`, with the `Lambda-Runtime-Function-Error-Type`
    /// header and the body (`{"errorType": .., "errorMessage": ..}`).
    Error {
        request_id: String,
        error_type: Option<String>,
        body: Value,
        posted: Instant,
        deadline: Instant,
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

    /// When the answer reached the fake: with [`deadline`](Self::deadline), whether the
    /// function answered in time, and with other fakes' records, what it did before.
    pub fn posted(&self) -> Instant {
        match self {
            Outcome::Response { posted, .. } | Outcome::Error { posted, .. } => *posted,
        }
    }

    /// The invocation's deadline, as the function was told it in `Lambda-Runtime-Deadline-Ms`.
    pub fn deadline(&self) -> Instant {
        match self {
            Outcome::Response { deadline, .. } | Outcome::Error { deadline, .. } => *deadline,
        }
    }

    /// How long before its deadline the answer came; `None` if it came at or after it,
    /// when real Lambda would already have stopped the function and reported a timeout.
    pub fn margin(&self) -> Option<Duration> {
        self.deadline()
            .checked_duration_since(self.posted())
            .filter(|margin| !margin.is_zero())
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

/// An event waiting for a `/next` poll.
struct Pending {
    request_id: String,
    event: Value,
    /// Its own timeout, or `None` for the fake's.
    timeout: Option<Duration>,
}

#[derive(Default)]
struct State {
    pending: VecDeque<Pending>,
    /// The timeout of an invocation handed out without one of its own.
    timeout: Duration,
    /// Request ids handed out and not answered yet -> their deadlines.
    open: HashMap<String, Instant>,
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
    /// Serves `events` in order, one per `/next`, each with [`TIMEOUT`] to run.
    pub fn start(events: Vec<Value>) -> FakeRuntime {
        FakeRuntime::with_timeout(events, TIMEOUT)
    }

    /// Serves `events` as [`start`](Self::start) does, for a function configured with
    /// `timeout`: each invocation's deadline is `timeout` after it is handed out, short
    /// enough that a test can watch the function stop in time and answer with what it has.
    pub fn with_timeout(events: Vec<Value>, timeout: Duration) -> FakeRuntime {
        let request_ids: Vec<String> = (1..=events.len()).map(request_id).collect();
        let pending = request_ids
            .iter()
            .cloned()
            .zip(events)
            .map(|(request_id, event)| Pending {
                request_id,
                event,
                timeout: None,
            })
            .collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending,
                timeout,
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

    /// Starts the function (`lambda`, given this runtime's environment) for the one event
    /// this runtime holds, and returns its response, which must arrive before the
    /// invocation's deadline (else the test fails showing the function's log).
    pub fn answer_in_time(&self, lambda: &mut Command) -> Value {
        let lambda = super::Spawned::start(lambda.envs(self.lambda_env()));
        let outcomes = self.wait_outcomes(1, Duration::from_secs(60));
        let logs = lambda.stop();
        let outcome = &outcomes[0];
        assert!(
            outcome.margin().is_some(),
            "the function answered after its deadline\n{}",
            logs.stderr
        );
        outcome.response().clone()
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
        self.queue(event, None)
    }

    /// Queues one more event as [`push`](Self::push) does, with its own `timeout`: one
    /// invocation of a warm process that gets less time than the others, as when a
    /// schedule's run must finish before the next one starts.
    pub fn push_with_timeout(&mut self, event: Value, timeout: Duration) -> String {
        self.queue(event, Some(timeout))
    }

    fn queue(&mut self, event: Value, timeout: Option<Duration>) -> String {
        let request_id = request_id(self.request_ids.len() + 1);
        self.request_ids.push(request_id.clone());
        let pending = Pending {
            request_id: request_id.clone(),
            event,
            timeout,
        };
        let handed_out = {
            let mut state = self.shared.lock();
            match state.parked.pop() {
                Some(request) => Some((request, open(&mut state, &pending))),
                None => {
                    state.pending.push_back(pending);
                    None
                }
            }
        };
        self.shared.changed.notify_all();
        if let Some((request, invocation)) = handed_out {
            hand_out(request, invocation);
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

/// The request id of the `n`th event (from 1).
fn request_id(n: usize) -> String {
    format!("c0ffee00-0000-4000-8000-{n:012}")
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
    let invocation = {
        let mut state = shared.lock();
        state.next_calls += 1;
        match state.pending.pop_front() {
            Some(pending) => open(&mut state, &pending),
            None => {
                state.parked.push(request);
                shared.changed.notify_all();
                return;
            }
        }
    };
    shared.changed.notify_all();
    hand_out(request, invocation);
}

/// An event being handed out, with its deadline as the function is told it.
struct Invocation {
    request_id: String,
    event: Value,
    /// `Lambda-Runtime-Deadline-Ms`: epoch milliseconds.
    deadline_ms: u128,
}

/// Starts the invocation of `pending` now: its deadline is set and it awaits an answer.
fn open(state: &mut State, pending: &Pending) -> Invocation {
    let timeout = pending.timeout.unwrap_or(state.timeout);
    // Both clocks read together, so the wall-clock deadline the function gets and the
    // Instant an outcome is compared with name the same moment.
    let deadline = Instant::now() + timeout;
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    state.open.insert(pending.request_id.clone(), deadline);
    Invocation {
        request_id: pending.request_id.clone(),
        event: pending.event.clone(),
        deadline_ms: (since_epoch + timeout).as_millis(),
    }
}

/// Answers a `/next` poll with an event, as Lambda does.
fn hand_out(request: Request, invocation: Invocation) {
    let Invocation {
        request_id,
        event,
        deadline_ms,
    } = invocation;
    let deadline = deadline_ms.to_string();
    let tail = &request_id[request_id.len().saturating_sub(12)..];
    let trace = format!("Root=1-6743a1b0-000000000000{tail};Parent=53995c3f42cd8ad8;Sampled=0");
    let headers = [
        ("Content-Type", "application/json"),
        ("Lambda-Runtime-Aws-Request-Id", request_id.as_str()),
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
    let posted = Instant::now();
    let refusal = {
        let mut state = shared.lock();
        let refusal = match state.open.remove(request_id) {
            None => {
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
            }
            Some(_) if kind == "response" && text.len() > MAX_RESPONSE_BYTES => Some((
                413,
                "RequestEntityTooLarge",
                format!("a {} byte response for {request_id}", text.len()),
            )),
            Some(deadline) => {
                let request_id = request_id.to_owned();
                let body = json_or_text(text);
                state.outcomes.push(match kind {
                    "response" => Outcome::Response {
                        request_id,
                        body,
                        posted,
                        deadline,
                    },
                    _ => Outcome::Error {
                        request_id,
                        error_type,
                        body,
                        posted,
                        deadline,
                    },
                });
                None
            }
        };
        if let Some((_, _, why)) = &refusal {
            state.protocol_errors.push(why.clone());
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
