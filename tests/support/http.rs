//! The small HTTP/1.1 server under the fakes: a loopback port, a thread per connection, stopped on drop.
//!
//! Written for the fakes rather than taken from a crate: tiny_http, used before, hands
//! connections to a thread pool that can leave a connection of a burst queued behind
//! threads busy with kept-alive connections, where it waits until one of those closes
//! (hyper closes idle ones after 90 s). Here every connection has its own thread from
//! the moment it is accepted, so a burst of calls arrives when it is sent.
//!
//! What the fakes' clients (the AWS SDK, the Lambda runtime client, raw test sockets)
//! send is all it reads: a request line, headers, and a body by `Content-Length` or
//! chunked, with `Expect: 100-continue` honoured; connections are kept alive unless the
//! client says `Connection: close`. A request is answered with [`respond`], possibly
//! later and from another thread; one dropped unanswered is answered HTTP 500.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

type Handler = dyn Fn(Request) + Send + Sync;

/// A server on `127.0.0.1:<free port>` whose handler runs on each connection's thread.
/// Dropping it stops accepting and joins the accept loop; a connection then takes no
/// further request, though an answer already being made still goes out.
pub struct Background {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Background {
    pub fn start(name: &str, handler: impl Fn(Request) + Send + Sync + 'static) -> Background {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("{name}: cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{name}: no local address: {e}"));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let accept = {
            let stop = stop.clone();
            let name = name.to_owned();
            std::thread::Builder::new()
                .name(format!("{name}-accept"))
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        // An accept error on one connection must not end the fake.
                        let Ok(stream) = stream else { continue };
                        let (handler, stop) = (handler.clone(), stop.clone());
                        let _ = std::thread::Builder::new()
                            .name(format!("{name}-connection"))
                            .spawn(move || serve(stream, &*handler, &stop));
                    }
                })
                .expect("spawn the accept thread")
        };
        Background {
            addr,
            stop,
            accept: Some(accept),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop, blocked until a connection comes.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// One request, to be answered once with [`respond`].
pub struct Request {
    method: String,
    url: String,
    /// Headers as sent: names in the client's case, in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Where the encoded answer goes: the connection's thread writes it.
    answer: Option<Sender<Vec<u8>>>,
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

    /// Every header as sent (name, value).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

impl Drop for Request {
    /// A request nobody answered (a held poll when its fake goes) gets HTTP 500, so its
    /// client is not left waiting.
    fn drop(&mut self) {
        if let Some(answer) = self.answer.take() {
            let _ = answer.send(encode(500, &[], b""));
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
    find(&request.headers, name).map(str::to_owned)
}

/// Sends `body` with `status` and the given headers (and its `Content-Length`); a client
/// that hung up is not an error here.
pub fn respond(mut request: Request, status: u16, headers: &[(&str, &str)], body: String) {
    if let Some(answer) = request.answer.take() {
        let _ = answer.send(encode(status, headers, body.as_bytes()));
    }
}

fn find<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Serves one connection: a request, its answer (whenever and from wherever it comes),
/// the next request, until the client closes, asks to close, or the server stops.
fn serve(stream: TcpStream, handler: &Handler, stop: &AtomicBool) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((mut request, close)) = read_request(&mut reader, &mut writer) {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let (answer, answered) = channel();
        request.answer = Some(answer);
        handler(request);
        let Ok(bytes) = answered.recv() else { return };
        if writer
            .write_all(&bytes)
            .and_then(|()| writer.flush())
            .is_err()
            || close
        {
            return;
        }
    }
}

/// The next request on the connection and whether the client wants it closed after the
/// answer; `None` at the end of the connection or on anything this server does not read.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> Option<(Request, bool)> {
    let mut line = String::new();
    // Blank lines before a request line are allowed (RFC 9112, 2.2).
    while line.trim_end().is_empty() {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, url, version) = (parts.next()?, parts.next()?, parts.next()?);
    let (method, url, http_10) = (method.to_owned(), url.to_owned(), version == "HTTP/1.0");

    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let (name, value) = text.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }

    if find(&headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }
    let chunked = find(&headers, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let length: usize = match find(&headers, "content-length") {
            Some(value) => value.parse().ok()?,
            None => 0,
        };
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };

    let connection = find(&headers, "connection").map(str::to_ascii_lowercase);
    let close = match connection {
        Some(value) => value.contains("close") || (http_10 && !value.contains("keep-alive")),
        None => http_10,
    };
    let request = Request {
        method,
        url,
        headers,
        body,
        answer: None,
    };
    Some((request, close))
}

/// A chunked body: hex size lines, each chunk and its CRLF, up to the zero chunk and the
/// (ignored) trailers.
fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let size = line.trim().split(';').next()?;
        let size = usize::from_str_radix(size, 16).ok()?;
        if size == 0 {
            break;
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).ok()?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf).ok()?;
    }
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 || line.trim().is_empty() {
            return Some(body);
        }
    }
}

/// An HTTP/1.1 response with the given headers, its `Content-Length` and its body.
fn encode(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The reason phrase of the statuses the fakes answer (clients ignore it).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}
