//! The heartbeat (SPEC §16): after each completed run the function requests
//! `ALERT_HEARTBEAT_URL`, a ping URL of a healthchecks.io-style service, so that a service
//! outside AWS notices when runs stop. The URL carries a secret token: it is never
//! logged, shown or reported; messages name the host at most.

use std::fmt;
use std::time::Duration;

/// The variable that holds the URL.
pub const VARIABLE: &str = "ALERT_HEARTBEAT_URL";

/// The longest a heartbeat may take (less when the invocation's deadline is nearer).
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// What `ALERT_HEARTBEAT_URL` may be, for messages.
pub const ALLOWED: &str = "an absolute https:// or http:// URL with a host, such as \
                           https://hc-ping.com/<uuid>";

/// A checked heartbeat URL. `Debug` shows its scheme and host alone.
#[derive(Clone, PartialEq, Eq)]
pub struct HeartbeatUrl(reqwest::Url);

impl HeartbeatUrl {
    /// The URL, or what is wrong with it, in words that never quote it: the value holds
    /// a secret.
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(value.trim())
            .map_err(|e| format!("it is not an absolute URL ({e})"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(format!("its scheme is {}, not https or http", url.scheme()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("it has no host".to_owned());
        }
        Ok(Self(url))
    }

    /// The host, which messages may show.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// Whether `text` shows a secret part of the URL: the URL itself, its path, query or
    /// credentials.
    fn shown_in(&self, text: &str) -> bool {
        let url = &self.0;
        let path = Some(url.path()).filter(|path| path.len() > 1);
        let secrets = [
            Some(url.as_str()),
            path,
            url.query(),
            Some(url.username()),
            url.password(),
        ];
        secrets
            .into_iter()
            .flatten()
            .any(|secret| !secret.is_empty() && text.contains(secret))
    }
}

impl fmt::Debug for HeartbeatUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeartbeatUrl({}://{}/…)", self.0.scheme(), self.host())
    }
}

/// Why a heartbeat failed, without the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The invocation's deadline is too near for a request.
    #[error("no time was left before the invocation's deadline")]
    NoTime,
    /// The service answered, after any redirects, with a status that is not 2xx.
    #[error("HTTP {0}")]
    Status(u16),
    #[error("no answer within {0} ms")]
    Timeout(u128),
    /// The kind of failure and its causes (a connection refused, a name not found, a
    /// certificate refused), never the URL.
    #[error("{0}")]
    Request(String),
}

impl Failure {
    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Status(status) => Some(*status),
            _ => None,
        }
    }
}

/// The HTTP client and the URL it requests, built once per execution environment.
pub struct Heartbeat {
    url: HeartbeatUrl,
    /// The client, or why it could not be built (then every heartbeat fails with that).
    client: Result<reqwest::Client, String>,
}

impl Heartbeat {
    pub fn new(url: HeartbeatUrl) -> Self {
        // Redirects are followed (reqwest's default policy: at most 10).
        let client = reqwest::Client::builder()
            .user_agent(concat!("lightsail-alerts/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client could not be built: {}", one_line(&e)));
        Self { url, client }
    }

    pub fn host(&self) -> &str {
        self.url.host()
    }

    /// GETs the URL once, for at most `timeout`: the final status when it is 2xx.
    pub async fn send(&self, timeout: Duration) -> Result<u16, Failure> {
        if timeout.is_zero() {
            return Err(Failure::NoTime);
        }
        let client = self
            .client
            .as_ref()
            .map_err(|e| Failure::Request(e.clone()))?;
        let response = client
            .get(self.url.0.clone())
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| self.failure(&e, timeout))?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            Err(Failure::Status(status.as_u16()))
        }
    }

    /// [`send`](Self::send), logged: `heartbeat sent`, or a `heartbeat failed` warning
    /// with the host and the status or error. A failed heartbeat fails nothing else.
    pub async fn beat(&self, timeout: Duration) {
        let host = self.host();
        match self.send(timeout).await {
            Ok(status) => tracing::info!(host, status, "heartbeat sent"),
            Err(failure) => tracing::warn!(
                host,
                status = failure.status(),
                error = %failure,
                "heartbeat failed"
            ),
        }
    }

    /// What went wrong, in words that never show the URL: reqwest's own message names
    /// it, so only its kind and its causes are kept, and a cause that shows a secret part
    /// of the URL is left out.
    fn failure(&self, err: &reqwest::Error, timeout: Duration) -> Failure {
        if err.is_timeout() {
            return Failure::Timeout(timeout.as_millis());
        }
        let mut text = if err.is_connect() {
            "connection failed"
        } else if err.is_redirect() {
            "redirect failed"
        } else {
            "request failed"
        }
        .to_owned();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            let cause_text = one_line(cause);
            if !cause_text.is_empty()
                && !text.contains(&cause_text)
                && !self.url.shown_in(&cause_text)
            {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        Failure::Request(text)
    }
}

fn one_line(err: &dyn std::error::Error) -> String {
    err.to_string()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "https://hc-ping.com/0f8e-secret-uuid?token=abc";

    #[test]
    fn an_absolute_http_or_https_url_with_a_host_is_accepted() {
        for ok in [
            SECRET,
            "http://127.0.0.1:8080/ping/abc",
            "https://user:pw@example.com",
            " https://hc-ping.com/x ",
            "HTTPS://HC-PING.COM/x",
            "http://[::1]:9/x",
        ] {
            let url = HeartbeatUrl::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(!url.host().is_empty(), "{ok}");
        }
        assert_eq!(HeartbeatUrl::parse(SECRET).unwrap().host(), "hc-ping.com");
    }

    #[test]
    fn anything_else_is_refused_without_quoting_it() {
        for (bad, why) in [
            ("hc-ping.com/0f8e-secret", "not an absolute URL"),
            ("ftp://hc-ping.com/0f8e-secret", "its scheme is ftp"),
            ("https://", "not an absolute URL"),
            ("http://a b/0f8e-secret", "not an absolute URL"),
            (
                "https://hc-ping.com:99999/0f8e-secret",
                "not an absolute URL",
            ),
            ("mailto:0f8e-secret@example.com", "its scheme is mailto"),
            ("file:///0f8e-secret", "its scheme is file"),
        ] {
            let err = HeartbeatUrl::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(!err.contains("0f8e-secret"), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_shows_the_host_alone() {
        let url = HeartbeatUrl::parse(SECRET).unwrap();
        let shown = format!("{url:?}");
        assert_eq!(shown, "HeartbeatUrl(https://hc-ping.com/…)");
        assert!(url.shown_in("GET https://hc-ping.com/0f8e-secret-uuid?token=abc failed"));
        assert!(url.shown_in("at /0f8e-secret-uuid"));
        assert!(url.shown_in("token=abc"));
        assert!(!url.shown_in("connection refused by hc-ping.com"));
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_failure_that_names_no_url() {
        // A port that nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/ping/0f8e-secret?x=1");
        let heartbeat = Heartbeat::new(HeartbeatUrl::parse(&url).unwrap());
        let failure = heartbeat.send(Duration::from_secs(5)).await.unwrap_err();
        let text = failure.to_string();
        assert!(text.starts_with("connection failed"), "{text}");
        assert!(
            !text.contains("0f8e-secret") && !text.contains("x=1"),
            "{text}"
        );
        assert_eq!(failure.status(), None);
        assert_eq!(
            heartbeat.send(Duration::ZERO).await.unwrap_err(),
            Failure::NoTime
        );
    }
}
