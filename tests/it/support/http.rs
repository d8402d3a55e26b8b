//! The HTTP/1.1 server under the fakes: hyper on a loopback port, stopped on drop.
//!
//! hyper serves every connection as its own task on a runtime that lives on the server's
//! background thread, so a burst of connections is read as it arrives and kept-alive
//! connections (the AWS SDK reuses them) never hold up new ones. (tiny_http, used before,
//! handed connections to a thread pool where a connection of a burst could wait behind
//! threads busy with kept-alive connections until hyper's client closed one after 90 s.)
//!
//! Handlers block (latency, held or hung calls, long-polled `/next`), so each request's
//! handler runs on a blocking thread of its own, and its answer comes back to hyper
//! through a oneshot channel: a request is answered with [`respond`], possibly later and
//! from another thread; one dropped unanswered is answered HTTP 500.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::oneshot;

type Handler = dyn Fn(Request) + Send + Sync;

/// How long a stopping server lets answers being made go out before it closes every
/// connection (the fakes release held calls when dropped, before their server stops).
const WIND_DOWN: Duration = Duration::from_secs(2);

/// Blocking threads for handlers: one per request being handled, so hundreds of held
/// calls never queue a new request behind them.
const MAX_HANDLER_THREADS: usize = 4096;

/// A server on `127.0.0.1:<free port>` whose handler runs on a blocking thread per
/// request. Dropping it stops accepting and ends every connection once its answer being
/// made has gone out (at most [`WIND_DOWN`] later); a connection takes no further request.
pub struct Background {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    pub fn start(name: &str, handler: impl Fn(Request) + Send + Sync + 'static) -> Background {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("{name}: cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{name}: no local address: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{name}: cannot make the listener non-blocking: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(MAX_HANDLER_THREADS)
            .thread_name(format!("{name}-handler"))
            .build()
            .unwrap_or_else(|e| panic!("{name}: cannot build a tokio runtime: {e}"));
        let handler: Arc<Handler> = Arc::new(handler);
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-server"))
            .spawn(move || {
                runtime.block_on(serve(listener, handler, stopped));
                // Handlers still running (a hung call nobody released) are left to end on
                // their own; their answers go nowhere.
                runtime.shutdown_background();
            })
            .expect("spawn the server thread");
        Background {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One request, to be answered once with [`respond`].
pub struct Request {
    method: String,
    url: String,
    /// Headers as received: names in lower case (as hyper gives them), in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Where the answer goes: the connection's task sends it.
    answer: Option<oneshot::Sender<Answer>>,
}

impl Request {
    /// `GET`, `POST`, …
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target, e.g. `/` or `/2018-06-01/runtime/invocation/next`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every header as received (name, value).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

impl Drop for Request {
    /// A request nobody answered (a held poll when its fake goes, a handler that
    /// panicked) gets HTTP 500, so its client is not left waiting.
    fn drop(&mut self) {
        if let Some(answer) = self.answer.take() {
            let _ = answer.send(Answer::empty(500));
        }
    }
}

/// The request body as text (lossy UTF-8); empty if read before.
pub fn read_body(request: &mut Request) -> String {
    let bytes = std::mem::take(&mut request.body);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A request header's value, by case-insensitive name.
pub fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// Sends `body` with `status` and the given headers (and its `Content-Length`); a client
/// that hung up is not an error here.
pub fn respond(mut request: Request, status: u16, headers: &[(&str, &str)], body: String) {
    if let Some(answer) = request.answer.take() {
        let _ = answer.send(Answer {
            status,
            headers: headers
                .iter()
                .map(|&(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            body: body.into_bytes(),
        });
    }
}

/// What a handler answered, handed from its thread to the connection's task.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn empty(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The hyper response; an answer hyper cannot send (a bad status or header) is a
    /// 500 that says why.
    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            response = response.header(name.as_str(), value.as_str());
        }
        response
            .body(Full::new(Bytes::from(self.body)))
            .unwrap_or_else(|e| {
                let mut response = Response::new(Full::new(Bytes::from(format!(
                    "the fake's answer cannot be sent: {e}"
                ))));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            })
    }
}

/// Accepts connections until told to stop, each served by hyper as a task of its own;
/// then lets answers being made go out (for at most [`WIND_DOWN`]).
async fn serve(
    listener: std::net::TcpListener,
    handler: Arc<Handler>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener =
        tokio::net::TcpListener::from_std(listener).expect("register the listener with tokio");
    let graceful = GracefulShutdown::new();
    let http = http1::Builder::new();
    loop {
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // An accept error (say, out of file descriptors) must not end the fake.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = service_fn(move |request| answer(request, handler.clone()));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(connection);
    }
    drop(listener);
    let _ = tokio::time::timeout(WIND_DOWN, graceful.shutdown()).await;
}

/// One request: its body read, its handler run on a blocking thread, its answer awaited.
async fn answer(
    request: hyper::Request<Incoming>,
    handler: Arc<Handler>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes().to_vec();
    let url = parts.uri.path_and_query().map_or_else(
        || parts.uri.to_string(),
        |target| target.as_str().to_owned(),
    );
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let (sender, answered) = oneshot::channel();
    let request = Request {
        method: parts.method.as_str().to_owned(),
        url,
        headers,
        body,
        answer: Some(sender),
    };
    // Not awaited: a handler may return long before the answer (a parked poll) or after.
    drop(tokio::task::spawn_blocking(move || handler(request)));
    let answer = answered.await.unwrap_or_else(|_| Answer::empty(500));
    Ok(answer.into_response())
}
