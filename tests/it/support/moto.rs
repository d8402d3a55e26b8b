//! moto's server (SNS, SQS, DynamoDB and S3) as a child process, with blocking helpers on the real AWS SDK.
//!
//! moto is a Python package, found at `$MOTO_SERVER` or `<crate>/.venv/bin/moto_server`
//! (`./scripts/test.sh` creates that venv). A test that needs it never skips silently: see
//! [`Moto::start`].
//!
//! moto behaviours the tests can rely on (moto 5.x):
//! - SNS keeps topics per region and resolves a `Publish`'s TopicArn in the *client's*
//!   region: publishing to a `us-west-2` topic through a `us-east-1` client fails with
//!   `NotFound`, as AWS refuses it. So the binary must publish in the topic ARN's region.
//! - SNS -> SQS delivery happens inside the `Publish` call, so a queue can be read right
//!   after; without raw delivery the queue receives the JSON envelope (`Type`,
//!   `TopicArn`, `Subject`, `Message`, `MessageAttributes: {name: {Type, Value}}`).
//! - FIFO topic -> FIFO queue: the publish's MessageGroupId and MessageDeduplicationId are
//!   passed on to the queue (visible as SQS system attributes). Deduplication happens in
//!   the queue, only against messages still in it: publish the duplicate before draining
//!   the queue with [`Moto::receive_all`] (which deletes what it reads), unlike AWS, which
//!   deduplicates for 5 minutes regardless.
//! - A subject over 100 characters is refused (AWS: 99); moto does not check ASCII or
//!   control characters in subjects.
//! - S3 is reached path-style (`http://127.0.0.1:PORT/bucket/key`); a `GetObject` with
//!   `If-None-Match` holding the object's ETag answers 304 Not Modified, a missing key
//!   `NoSuchKey` and a missing bucket `NoSuchBucket` (404 both). moto enforces no IAM, so
//!   it never answers `AccessDenied`.
//!
//! Own a `Moto` in the test (not in a `static`): dropping it kills the server.

use aws_sdk_sns::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The region the helpers use unless told otherwise.
pub const REGION: &str = "us-east-1";
/// moto's default account id, which appears in every ARN it makes.
pub const ACCOUNT: &str = "123456789012";
/// How long moto may take to answer after it is started.
const STARTUP: Duration = Duration::from_secs(20);
const START_ATTEMPTS: usize = 5;

/// One SNS notification as a subscribed SQS queue received it (raw delivery off).
#[derive(Clone, Debug)]
pub struct Delivered {
    pub subject: Option<String>,
    pub message: String,
    /// `MessageAttributes` of the publish: name -> value.
    pub attributes: BTreeMap<String, String>,
    pub topic_arn: String,
    /// FIFO only: the publish's MessageGroupId, from the SQS message's system attributes.
    pub message_group_id: Option<String>,
    /// FIFO only: the publish's MessageDeduplicationId.
    pub message_deduplication_id: Option<String>,
    /// The whole SNS envelope.
    pub raw: Value,
}

/// A running moto server on `127.0.0.1:<free port>`, killed when dropped.
pub struct Moto {
    child: Child,
    url: String,
    log: tempfile::NamedTempFile,
    runtime: tokio::runtime::Runtime,
    /// Queue URL -> region it was created in (moto's SQS is per region, its URLs do not say).
    queue_regions: Mutex<HashMap<String, String>>,
}

/// The absolute interpreter a script's `#!` line names.
fn interpreter(script: &PathBuf) -> Option<PathBuf> {
    let bytes = std::fs::read(script).ok()?;
    let first = bytes.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?;
    Some(PathBuf::from(line.strip_prefix("#!")?.trim())).filter(|p| p.is_absolute())
}

/// The dev tools' Python, the one `moto_server` runs on (the venv's), for checks made
/// with its packages (JSON Schema validation). Missing, it is handled as moto is: a
/// loud failure, or a loud skip (`None`) with `LIGHTSAIL_ALERTS_SKIP_MOTO=1` outside CI.
pub fn python() -> Option<PathBuf> {
    let executable = match executable() {
        Ok(path) => path,
        Err(why) => return missing(&why).map(|_| PathBuf::new()),
    };
    match interpreter(&executable) {
        Some(python) => Some(python),
        None => missing(&format!(
            "{} is not a Python script, so there is no Python to validate with",
            executable.display()
        ))
        .map(|_| PathBuf::new()),
    }
}

/// `moto_server` run through `moto_server.py` (next to this file), which gives moto
/// DynamoDB's serialisation of the writes to an item: the interpreter is the one the
/// `moto_server` script names in its `#!` line (the venv's). An executable that is not
/// such a script is run as it is.
fn serialised(executable: &PathBuf) -> Command {
    match interpreter(executable) {
        Some(python) => {
            let mut command = Command::new(python);
            command.arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/it/support/moto_server.py"
            ));
            command
        }
        _ => Command::new(executable),
    }
}

impl Moto {
    /// Starts moto, or says loudly why not.
    ///
    /// Without the executable: panics with how to get it, unless
    /// `LIGHTSAIL_ALERTS_SKIP_MOTO=1` is set, in which case it warns on stderr and returns
    /// `None` (the test then returns early). Under `CI=true` it always panics.
    pub fn start() -> Option<Moto> {
        let executable = match executable() {
            Ok(path) => path,
            Err(why) => return missing(&why),
        };
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match Moto::spawn(&executable) {
                Ok(moto) => return Some(moto),
                // Another process may take the port between our probe and moto's bind.
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "moto_server ({}) did not start:\n{}",
            executable.display(),
            failures.join("\n---\n")
        );
    }

    fn spawn(executable: &PathBuf) -> Result<Moto, String> {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("a temporary file for moto's log");
        let output =
            |log: &tempfile::NamedTempFile| Stdio::from(log.reopen().expect("reopen moto's log"));
        let mut child = serialised(executable)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(output(&log))
            .stderr(output(&log))
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", executable.display()))?;
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "moto_server exited with {status}:\n{}",
                    read_log(&log)
                ));
            }
            if answers_http(port) {
                break;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "moto_server did not answer on port {port} within {STARTUP:?}:\n{}",
                    read_log(&log)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the SDK clients");
        Ok(Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            runtime,
            queue_regions: Mutex::new(HashMap::new()),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The endpoint variables that send the binary's SNS, SQS, DynamoDB and S3 calls to moto.
    pub fn env(&self) -> Vec<(String, String)> {
        ["SNS", "SQS", "DYNAMODB", "S3"]
            .iter()
            .map(|service| (format!("AWS_ENDPOINT_URL_{service}"), self.url()))
            .collect()
    }

    /// What moto printed so far (requests and tracebacks), for failure messages.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// Forgets every topic, queue and message (moto's `/moto-api/reset`).
    pub fn reset(&self) {
        let port = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("moto's port");
        let answer = http_request(port, "POST", "/moto-api/reset").unwrap_or_default();
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "moto reset failed: {answer}"
        );
        self.queue_regions().clear();
    }

    /// Runs a future of the SDK clients below to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// An SNS client for moto in `region`, with moto's dummy credentials.
    pub fn sns(&self, region: &str) -> aws_sdk_sns::Client {
        let config = aws_sdk_sns::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(credentials())
            .endpoint_url(&self.url)
            .build();
        aws_sdk_sns::Client::from_conf(config)
    }

    /// An SQS client for moto in `region`, with moto's dummy credentials.
    pub fn sqs(&self, region: &str) -> aws_sdk_sqs::Client {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(credentials())
            .endpoint_url(&self.url)
            .build();
        aws_sdk_sqs::Client::from_conf(config)
    }

    /// A DynamoDB client for moto in us-east-1, with moto's dummy credentials.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(credentials())
            .endpoint_url(&self.url)
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// An S3 client for moto in us-east-1, path-style: virtual-hosted names such as
    /// `bucket.127.0.0.1` do not resolve.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(credentials())
            .endpoint_url(&self.url)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Creates a bucket in us-east-1.
    pub fn create_bucket(&self, name: &str) {
        self.block_on(self.s3().create_bucket().bucket(name).send())
            .unwrap_or_else(|e| panic!("CreateBucket {name}: {}", DisplayErrorContext(&e)));
    }

    /// Puts `body` at `bucket`/`key` and returns the new object's ETag, quoted as S3
    /// sends it (`"9a0364b9e99bb480dd25e1f0284c8555"`).
    pub fn put_object(&self, bucket: &str, key: &str, body: &str) -> String {
        let request = self
            .s3()
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into());
        self.block_on(request.send())
            .unwrap_or_else(|e| panic!("PutObject {bucket}/{key}: {}", DisplayErrorContext(&e)))
            .e_tag
            .expect("PutObject returns the object's ETag")
    }

    /// Deletes `bucket`/`key`.
    pub fn delete_object(&self, bucket: &str, key: &str) {
        let request = self.s3().delete_object().bucket(bucket).key(key);
        self.block_on(request.send())
            .unwrap_or_else(|e| panic!("DeleteObject {bucket}/{key}: {}", DisplayErrorContext(&e)));
    }

    /// Creates an alarm state table as template.yaml does: key `pk` (S), on-demand.
    pub fn create_state_table(&self, name: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let request = self
            .dynamodb()
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("a complete attribute definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("a complete key schema"),
            )
            .billing_mode(BillingMode::PayPerRequest);
        self.block_on(request.send())
            .unwrap_or_else(|e| panic!("CreateTable {name}: {}", DisplayErrorContext(&e)));
    }

    /// Creates a topic in us-east-1 and returns its ARN; a `.fifo` name makes a FIFO
    /// topic without content-based deduplication (publishers give the dedup id).
    pub fn create_topic(&self, name: &str) -> String {
        self.create_topic_in(REGION, name)
    }

    pub fn create_topic_in(&self, region: &str, name: &str) -> String {
        let mut request = self.sns(region).create_topic().name(name);
        if name.ends_with(".fifo") {
            request = request
                .attributes("FifoTopic", "true")
                .attributes("ContentBasedDeduplication", "false");
        }
        let output = self.block_on(request.send()).unwrap_or_else(|e| {
            panic!(
                "CreateTopic {name} in {region}: {}",
                DisplayErrorContext(&e)
            )
        });
        output
            .topic_arn
            .expect("CreateTopic returns the topic's ARN")
    }

    /// Creates a queue in us-east-1 and returns (queue URL, queue ARN); a `.fifo` name
    /// makes a FIFO queue without content-based deduplication.
    pub fn create_queue(&self, name: &str) -> (String, String) {
        self.create_queue_in(REGION, name)
    }

    pub fn create_queue_in(&self, region: &str, name: &str) -> (String, String) {
        let sqs = self.sqs(region);
        let mut request = sqs.create_queue().queue_name(name);
        if name.ends_with(".fifo") {
            request = request
                .attributes(QueueAttributeName::FifoQueue, "true")
                .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
        }
        let url = self
            .block_on(request.send())
            .unwrap_or_else(|e| {
                panic!(
                    "CreateQueue {name} in {region}: {}",
                    DisplayErrorContext(&e)
                )
            })
            .queue_url
            .expect("CreateQueue returns the queue's URL");
        let attributes = self
            .block_on(
                sqs.get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(QueueAttributeName::QueueArn)
                    .send(),
            )
            .unwrap_or_else(|e| panic!("GetQueueAttributes {url}: {}", DisplayErrorContext(&e)));
        let arn = attributes
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .expect("GetQueueAttributes returns QueueArn");
        self.queue_regions().insert(url.clone(), region.to_owned());
        (url, arn)
    }

    /// Subscribes the queue to the topic (protocol `sqs`, raw delivery off, so the queue
    /// receives SNS's JSON envelope), in the topic's region. Returns the subscription ARN.
    pub fn subscribe_queue(&self, topic_arn: &str, queue_arn: &str) -> String {
        // RawMessageDelivery is left unset on purpose: moto takes any set value, even
        // "false", as on.
        let request = self
            .sns(arn_region(topic_arn))
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .return_subscription_arn(true);
        let output = self.block_on(request.send()).unwrap_or_else(|e| {
            panic!(
                "Subscribe {queue_arn} to {topic_arn}: {}",
                DisplayErrorContext(&e)
            )
        });
        output
            .subscription_arn
            .expect("Subscribe returns the subscription's ARN")
    }

    /// A topic and a queue of the same name in us-east-1, the queue subscribed:
    /// (topic ARN, queue URL). FIFO when the name ends in `.fifo`.
    pub fn topic_with_queue(&self, name: &str) -> (String, String) {
        self.topic_with_queue_in(REGION, name)
    }

    pub fn topic_with_queue_in(&self, region: &str, name: &str) -> (String, String) {
        let topic_arn = self.create_topic_in(region, name);
        let (queue_url, queue_arn) = self.create_queue_in(region, name);
        self.subscribe_queue(&topic_arn, &queue_arn);
        (topic_arn, queue_url)
    }

    /// Drains the queue: receives until a receive comes back empty, deleting each message,
    /// and parses each SNS envelope. In arrival order (per batch, as SQS returns them).
    pub fn receive_all(&self, queue_url: &str) -> Vec<Delivered> {
        let region = self
            .queue_regions()
            .get(queue_url)
            .cloned()
            .unwrap_or_else(|| REGION.to_owned());
        let sqs = self.sqs(&region);
        let mut delivered = Vec::new();
        loop {
            let request = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .visibility_timeout(30)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All");
            let output = self.block_on(request.send()).unwrap_or_else(|e| {
                panic!("ReceiveMessage {queue_url}: {}", DisplayErrorContext(&e))
            });
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                return delivered;
            }
            for message in messages {
                let body = message.body().unwrap_or_default();
                let system = message.attributes();
                let system =
                    |name: MessageSystemAttributeName| system.and_then(|a| a.get(&name)).cloned();
                delivered.push(parse_envelope(
                    body,
                    system(MessageSystemAttributeName::MessageGroupId),
                    system(MessageSystemAttributeName::MessageDeduplicationId),
                ));
                if let Some(receipt) = message.receipt_handle() {
                    self.block_on(
                        sqs.delete_message()
                            .queue_url(queue_url)
                            .receipt_handle(receipt)
                            .send(),
                    )
                    .unwrap_or_else(|e| {
                        panic!("DeleteMessage {queue_url}: {}", DisplayErrorContext(&e))
                    });
                }
            }
        }
    }

    fn queue_regions(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.queue_regions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "moto")
}

/// The region field of an ARN (`arn:aws:sns:REGION:account:name`), else us-east-1.
pub fn arn_region(arn: &str) -> &str {
    arn.split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or(REGION)
}

fn parse_envelope(
    body: &str,
    message_group_id: Option<String>,
    message_deduplication_id: Option<String>,
) -> Delivered {
    let raw: Value = serde_json::from_str(body).unwrap_or_else(|e| {
        panic!("an SQS message that is not an SNS envelope ({e}); was raw delivery on? {body}")
    });
    assert_eq!(
        raw["Type"], "Notification",
        "not an SNS notification envelope: {body}"
    );
    let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_owned);
    let attributes = raw
        .get("MessageAttributes")
        .and_then(Value::as_object)
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, attribute)| {
                    let value = match &attribute["Value"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (name.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default();
    Delivered {
        subject: text("Subject"),
        message: text("Message").unwrap_or_default(),
        attributes,
        topic_arn: text("TopicArn").unwrap_or_default(),
        message_group_id,
        message_deduplication_id,
        raw,
    }
}

/// `$MOTO_SERVER`, else `<crate>/.venv/bin/moto_server`, if that file exists.
fn executable() -> Result<PathBuf, String> {
    let (path, from) = match std::env::var_os("MOTO_SERVER") {
        Some(path) => (PathBuf::from(path), "MOTO_SERVER"),
        None => (
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"),
            "the default location",
        ),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} ({from}) does not exist", path.display()))
    }
}

fn missing(why: &str) -> Option<Moto> {
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let skip = std::env::var("LIGHTSAIL_ALERTS_SKIP_MOTO").is_ok_and(|v| v == "1");
    let how = "Run ./scripts/test.sh, which creates .venv with moto[server] \
               (python3 -m venv .venv && .venv/bin/pip install 'moto[server]'), \
               or set MOTO_SERVER to a moto_server executable.";
    if skip && !ci {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! WARNING: SKIPPING A TEST THAT NEEDS MOTO (LIGHTSAIL_ALERTS_SKIP_MOTO=1)\n\
             !!! {why}\n!!! {how}\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return None;
    }
    let skip_note = if ci {
        "CI=true: moto tests cannot be skipped in CI."
    } else {
        "To skip the moto tests deliberately, set LIGHTSAIL_ALERTS_SKIP_MOTO=1."
    };
    panic!("moto is required for this test: {why}. {how} {skip_note}");
}

/// A port that was free a moment ago (bind :0, read it, release it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

fn answers_http(port: u16) -> bool {
    http_request(port, "GET", "/moto-api/").is_some_and(|answer| answer.starts_with("HTTP/1."))
}

/// A minimal HTTP/1.1 exchange with a body-less request; the raw answer.
fn http_request(port: u16, method: &str, path: &str) -> Option<String> {
    let timeout = Some(Duration::from_secs(2));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(timeout).ok()?;
    stream.set_write_timeout(timeout).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (!answer.is_empty()).then(|| String::from_utf8_lossy(&answer).into_owned())
}

fn read_log(log: &tempfile::NamedTempFile) -> String {
    std::fs::read_to_string(log.path()).unwrap_or_default()
}
