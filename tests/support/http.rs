//! The small HTTP server under the fakes: tiny_http on a loopback port, one thread per request, stopped on drop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tiny_http::{Header, Request, Response, Server};

/// How often the accept loop looks at its stop flag.
const POLL: Duration = Duration::from_millis(50);

/// A tiny_http server on `127.0.0.1:<free port>` whose handler runs on a thread per request.
/// Dropping it stops accepting and joins the accept loop; a handler may still be finishing.
pub struct Background {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Background {
    pub fn start(name: &str, handler: impl Fn(Request) + Send + Sync + 'static) -> Background {
        let server = Server::http("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("{name}: cannot bind 127.0.0.1:0: {e}"));
        let addr = server
            .server_addr()
            .to_ip()
            .unwrap_or_else(|| panic!("{name}: not listening on an IP address"));
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let accept = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("{name}-accept"))
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        match server.recv_timeout(POLL) {
                            Ok(Some(request)) => {
                                let handler = handler.clone();
                                std::thread::spawn(move || handler(request));
                            }
                            Ok(None) => {}
                            // An accept error on one connection must not end the fake.
                            Err(_) => std::thread::sleep(POLL),
                        }
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
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// The request body as text (lossy UTF-8), read to the end.
pub fn read_body(request: &mut Request) -> String {
    let mut bytes = Vec::new();
    let _ = request.as_reader().read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A request header's value, by case-insensitive name.
pub fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_owned())
}

/// Sends `body` with `status` and the given headers; a client that hung up is not an error here.
pub fn respond(request: Request, status: u16, headers: &[(&str, &str)], body: String) {
    // `from_data` adds no Content-Type of its own, so the caller's is the only one.
    let mut response = Response::from_data(body.into_bytes()).with_status_code(status);
    for (name, value) in headers {
        let header = Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header");
        response.add_header(header);
    }
    let _ = request.respond(response);
}
