//! Rules from S3 (`ALERT_RULES_FILE=s3://bucket/key`): the object is read on first use
//! and kept; every later read is a conditional `GetObject` (`If-None-Match` with the
//! cached ETag), so an unchanged document costs a 304 and no download, and a new version
//! is used by the very next run.
//!
//! What happens when S3 fails is chosen for alerting: with nothing cached (a cold start)
//! or a permanent error (the object, the bucket or the permission is gone), the read
//! fails; a transient error (timeout, network, throttling, 5xx after retries) with a
//! copy cached keeps that copy and warns, so alerting does not stop because S3 blipped.

use std::fmt;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};

use crate::aws::clients;
use crate::rules;

/// The largest rules document read from S3. A wrong key pointing at a log archive must
/// not exhaust a 128 MB function; a real document is a few KB (10,000 rules fit in 1 MiB).
pub const MAX_RULES_BYTES: usize = 1024 * 1024;

/// `s3://bucket/key`: where a rules document lives in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    bucket: String,
    key: String,
}

impl S3Uri {
    /// `Ok(None)` when `value` is not an `s3://` URI (it is then a file path); an error
    /// saying what is missing when it is one without a bucket or a key.
    pub fn parse(value: &str) -> Result<Option<S3Uri>, String> {
        const EXPECTED: &str = "expected s3://BUCKET/KEY";
        let Some(rest) = value.strip_prefix("s3://") else {
            return Ok(None);
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("the S3 URI has no bucket; {EXPECTED}"));
        }
        let bucket_name = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_name {
            return Err(format!(
                "`{bucket}` is not an S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-'); {EXPECTED}"
            ));
        }
        if key.is_empty() {
            return Err(format!(
                "the S3 URI has no key; {EXPECTED}, the key of the rules object"
            ));
        }
        if key.ends_with('/') {
            return Err(format!(
                "the key `{key}` names a folder, not an object; {EXPECTED}"
            ));
        }
        Ok(Some(S3Uri {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }))
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// The rules object could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot read the rules from {uri}: {problem}")]
pub struct S3ReadError {
    uri: S3Uri,
    /// S3's error code (`AccessDenied`, `NoSuchKey`, `NoSuchBucket`, ...), when S3 answered.
    code: Option<String>,
    problem: String,
    transient: bool,
}

impl S3ReadError {
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether trying again later may work (no answer, throttling, a 5xx), as opposed to
    /// an object, bucket or permission that is not there.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    fn new(uri: &S3Uri, problem: String, transient: bool) -> Self {
        S3ReadError {
            uri: uri.clone(),
            code: None,
            problem,
            transient,
        }
    }

    /// S3 answered with an error: its code, HTTP status and message, and what it usually
    /// means for a rules object.
    fn answered(
        uri: &S3Uri,
        region: &str,
        status: u16,
        code: Option<&str>,
        message: Option<&str>,
    ) -> Self {
        let mut problem = format!(
            "{} (HTTP {status})",
            code.unwrap_or("an error without a code")
        );
        if let Some(message) = message.filter(|m| !m.is_empty()) {
            problem.push_str(": ");
            problem.push_str(message.trim_end_matches('.'));
        }
        let (bucket, key) = (uri.bucket(), uri.key());
        let hint = match code {
            Some("AccessDenied") => Some(format!(
                "the function's role (or your credentials) needs s3:GetObject on {bucket}/{key}; \
                 without s3:ListBucket on the bucket S3 also answers AccessDenied for a key that \
                 does not exist, so check the key too; an object encrypted with a KMS key also \
                 needs kms:Decrypt on that key"
            )),
            Some("NoSuchKey") => Some(format!(
                "bucket {bucket} has no object with the key {key} (keys are case-sensitive)"
            )),
            Some("NoSuchBucket") => Some(format!("there is no bucket named {bucket}")),
            Some(
                "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException",
            ) => Some(format!(
                "the bucket is in another region: the rules bucket must be in the function's region ({region})"
            )),
            Some("InvalidObjectState") => Some(
                "the object is archived; restore it, or keep the rules in a storage class that is read directly"
                    .to_owned(),
            ),
            _ => None,
        };
        if let Some(hint) = hint {
            problem.push_str("; ");
            problem.push_str(&hint);
        }
        S3ReadError {
            uri: uri.clone(),
            code: code.map(str::to_owned),
            problem,
            transient: is_transient(status, code),
        }
    }
}

/// Errors worth waiting out: S3's throttling and server-side codes, 408, 429 and 5xx.
fn is_transient(status: u16, code: Option<&str>) -> bool {
    let transient_code = matches!(
        code,
        Some(
            "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "RequestTimeout"
                | "InternalError"
                | "ServiceUnavailable"
        )
    );
    transient_code || status >= 500 || status == 408 || status == 429
}

/// The copy of the document kept between runs.
#[derive(Debug, Clone)]
struct Cached {
    etag: String,
    text: Arc<str>,
}

/// Reads one rules object, keeping the last version read. Build it once per process (per
/// Lambda execution environment) so the copy outlives each invocation.
#[derive(Debug)]
pub struct S3Rules {
    client: aws_sdk_s3::Client,
    uri: S3Uri,
    cache: Mutex<Option<Cached>>,
}

impl S3Rules {
    pub fn new(client: aws_sdk_s3::Client, uri: S3Uri) -> Self {
        S3Rules {
            client,
            uri,
            cache: Mutex::new(None),
        }
    }

    /// A reader with a client from the shared config: the function's region, its retries
    /// and timeouts. `path_style` when a custom endpoint is configured (moto, MinIO,
    /// LocalStack): virtual-hosted names such as `bucket.127.0.0.1` do not resolve.
    pub fn from_config(config: &aws_config::SdkConfig, uri: S3Uri, path_style: bool) -> Self {
        let region = config.region().map_or("default", |r| r.as_ref());
        let config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .retry_partition(clients::retry_partition("s3", region))
            .build();
        Self::new(aws_sdk_s3::Client::from_conf(config), uri)
    }

    pub fn uri(&self) -> &S3Uri {
        &self.uri
    }

    /// The document's text: read on the first call; on later calls only if its ETag
    /// changed, else the cached copy. A transient failure with a copy cached returns that
    /// copy (and warns); any other failure is an error.
    pub async fn text(&self) -> Result<Arc<str>, S3ReadError> {
        let cached = self.cached();
        let request = self
            .client
            .get_object()
            .bucket(self.uri.bucket())
            .key(self.uri.key())
            .set_if_none_match(cached.as_ref().map(|c| c.etag.clone()));
        let read = match request.send().await {
            Ok(output) => self.download(output).await,
            Err(err) => match (&cached, not_modified(&err)) {
                (Some(cached), true) => {
                    tracing::info!(uri = %self.uri, etag = %cached.etag, "the rules are unchanged (304 Not Modified); using the cached copy");
                    return Ok(cached.text.clone());
                }
                _ => Err(self.error(err)),
            },
        };
        match (read, cached) {
            (Ok((etag, text)), previous) => {
                let new_etag = etag.as_deref().unwrap_or_default();
                match &previous {
                    None => {
                        tracing::info!(uri = %self.uri, etag = %new_etag, bytes = text.len(), "read the rules")
                    }
                    Some(previous) => {
                        tracing::info!(uri = %self.uri, previous_etag = %previous.etag, etag = %new_etag, bytes = text.len(), "the rules changed; using the new version")
                    }
                }
                // Without an ETag (some S3-compatible stores) there is nothing to
                // revalidate against: every run downloads the object.
                *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = etag.map(|etag| Cached {
                    etag,
                    text: text.clone(),
                });
                Ok(text)
            }
            (Err(err), Some(cached)) if err.is_transient() => {
                tracing::warn!(uri = %self.uri, etag = %cached.etag, error = %err, "cannot check the rules for changes; using the cached copy");
                Ok(cached.text)
            }
            (Err(err), _) => Err(err),
        }
    }

    fn cached(&self) -> Option<Cached> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The object's ETag and text.
    async fn download(
        &self,
        output: GetObjectOutput,
    ) -> Result<(Option<String>, Arc<str>), S3ReadError> {
        let too_large = |bytes: u64| {
            S3ReadError::new(
                &self.uri,
                format!(
                    "the object is {bytes} bytes; a rules document may be at most {MAX_RULES_BYTES} bytes"
                ),
                false,
            )
        };
        let length = output.content_length().and_then(|n| u64::try_from(n).ok());
        if let Some(length) = length.filter(|n| *n > MAX_RULES_BYTES as u64) {
            return Err(too_large(length));
        }
        let etag = output.e_tag().map(str::to_owned);
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| {
                S3ReadError::new(
                    &self.uri,
                    format!("the download broke off: {}", super::error_chain(&e)),
                    true,
                )
            })?
            .to_vec();
        if bytes.len() > MAX_RULES_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
        // The one check of every rules source: UTF-8, its byte-order mark dropped.
        let text = rules::document_text(&bytes)
            .map_err(|e| S3ReadError::new(&self.uri, e.to_string(), false))?;
        Ok((etag, text.into()))
    }

    fn error(&self, err: SdkError<GetObjectError>) -> S3ReadError {
        match &err {
            SdkError::ServiceError(service) => S3ReadError::answered(
                &self.uri,
                self.region(),
                service.raw().status().as_u16(),
                service.err().code(),
                service.err().message(),
            ),
            SdkError::TimeoutError(_) => S3ReadError::new(
                &self.uri,
                "S3 did not answer in time (after retries)".to_owned(),
                true,
            ),
            SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
                S3ReadError::new(
                    &self.uri,
                    format!("S3 could not be reached: {}", super::error_chain(&err)),
                    true,
                )
            }
            SdkError::ResponseError(_) => S3ReadError::new(
                &self.uri,
                format!("S3's answer broke off: {}", super::error_chain(&err)),
                true,
            ),
            // The request could not be made (no region, no credentials, an endpoint that
            // cannot be resolved): configuration, which waiting does not fix.
            _ => S3ReadError::new(&self.uri, super::error_chain(&err), false),
        }
    }

    fn region(&self) -> &str {
        self.client
            .config()
            .region()
            .map_or("AWS_REGION, which is not set", |r| r.as_ref())
    }
}

/// S3 answers a matching `If-None-Match` with 304 Not Modified, which the SDK reports
/// as an error.
fn not_modified(err: &SdkError<GetObjectError>) -> bool {
    err.raw_response()
        .is_some_and(|response| response.status().as_u16() == 304)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_uri_needs_a_bucket_and_the_key_of_an_object() {
        let uri = S3Uri::parse("s3://ops-config/alerts/rules.yaml")
            .unwrap()
            .unwrap();
        assert_eq!(
            (uri.bucket(), uri.key()),
            ("ops-config", "alerts/rules.yaml")
        );
        assert_eq!(uri.to_string(), "s3://ops-config/alerts/rules.yaml");
        assert_eq!(S3Uri::parse("rules.yaml").unwrap(), None);
        assert_eq!(S3Uri::parse("/etc/s3://x/y").unwrap(), None);
        for (value, why) in [
            ("s3://", "no bucket"),
            ("s3:///rules.yaml", "no bucket"),
            ("s3://ops-config", "no key"),
            ("s3://ops-config/", "no key"),
            ("s3://ops-config/alerts/", "names a folder"),
            ("s3://Ops_Config/rules.yaml", "not an S3 bucket name"),
            (
                "s3://arn:aws:s3:us-east-1:123456789012:accesspoint/ap/rules.yaml",
                "not an S3 bucket name",
            ),
        ] {
            let err = S3Uri::parse(value).unwrap_err();
            assert!(err.contains(why), "{value}: {err}");
            assert!(err.contains("s3://BUCKET/KEY"), "{value}: {err}");
        }
    }

    #[test]
    fn errors_name_the_uri_and_the_code_and_say_what_it_usually_means() {
        let uri = S3Uri::parse("s3://ops-config/rules.yaml").unwrap().unwrap();
        let answered = |status, code| {
            S3ReadError::answered(&uri, "eu-west-1", status, Some(code), Some("Some message."))
        };
        let denied = answered(403, "AccessDenied");
        assert_eq!(denied.code(), Some("AccessDenied"));
        assert!(!denied.is_transient());
        let text = denied.to_string();
        assert!(
            text.starts_with(
                "cannot read the rules from s3://ops-config/rules.yaml: AccessDenied (HTTP 403): Some message; "
            ),
            "{text}"
        );
        assert!(
            text.contains("s3:GetObject on ops-config/rules.yaml"),
            "{text}"
        );
        assert!(text.contains("s3:ListBucket"), "{text}");
        let missing = answered(404, "NoSuchKey").to_string();
        assert!(
            missing.contains("no object with the key rules.yaml"),
            "{missing}"
        );
        let bucket = answered(404, "NoSuchBucket").to_string();
        assert!(bucket.contains("no bucket named ops-config"), "{bucket}");
        let region = answered(301, "PermanentRedirect").to_string();
        assert!(
            region.contains("the function's region (eu-west-1)"),
            "{region}"
        );
        for (status, code, transient) in [
            (503, "SlowDown", true),
            (500, "InternalError", true),
            (400, "RequestTimeout", true),
            (429, "TooManyRequests", true),
            (400, "InvalidArgument", false),
            (400, "ExpiredToken", false),
        ] {
            assert_eq!(
                answered(status, code).is_transient(),
                transient,
                "{status} {code}"
            );
        }
        let uncoded = S3ReadError::answered(&uri, "eu-west-1", 502, None, None);
        assert!(uncoded.is_transient());
        assert!(
            uncoded
                .to_string()
                .ends_with("an error without a code (HTTP 502)"),
            "{uncoded}"
        );
    }
}
