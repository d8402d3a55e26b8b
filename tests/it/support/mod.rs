//! Shared test support: the binary under test in a hermetic environment, and the fakes it talks to.
//!
//! - [`lightsail::FakeLightsail`]: Lightsail's awsJson1.1 metric and listing operations of
//!   every resource type (`GetInstanceMetricData`/`GetInstances`, the databases', load
//!   balancers', distributions' (us-east-1 only), container services' and buckets'; paged
//!   fleets per region, with tags and states), with faults per resource and region,
//!   latency, slow and hung resources, a rate limit, and every request timed.
//! - [`runtime::FakeRuntime`]: the AWS Lambda Runtime API, so the binary runs as a Lambda,
//!   with a deadline per invocation and the time of every answer.
//! - [`moto::Moto`]: moto's server for SNS, SQS, DynamoDB and S3.
//!
//! The suites of tests/it/ and the pipeline bench each use only some of these helpers.
#![allow(dead_code)]

pub mod golden;
pub mod http;
pub mod lightsail;
pub mod moto;
pub mod runtime;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The evaluation time the suites run at (`--at`), a boundary of five-minute periods.
pub const AT: &str = "2026-11-24T13:05:00Z";
/// [`AT`] in epoch seconds, for placing datapoints before it.
pub const T: i64 = 1_795_525_500;

/// The evaluation time of the `run`-th five-minute run after [`AT`] (run 0 is `AT`), for
/// suites that run the binary several times against one state table.
pub fn at(run: i64) -> String {
    chrono::DateTime::from_timestamp(T + run * 300, 0)
        .expect("a time in range")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Variables of the parent environment that the binary still gets: what a shell
/// needs to find programs and a home, and what coverage or backtrace tooling reads.
const KEPT_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "RUST_BACKTRACE",
    "LLVM_PROFILE_FILE",
];

/// The compiled `lightsail-alerts` binary that Cargo built for these integration tests,
/// or the one `LIGHTSAIL_ALERTS_BIN` names: where several work trees share one
/// `CARGO_TARGET_DIR`, each build links its own binary to the same path, so a copy of
/// one's own is the binary under test.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LIGHTSAIL_ALERTS_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    // `option_env!` rather than `env!` so this file also compiles in a crate without that
    // binary (the fakes' own self-tests); there, calling this is the error.
    match option_env!("CARGO_BIN_EXE_lightsail-alerts") {
        Some(path) => PathBuf::from(path),
        None => panic!(
            "CARGO_BIN_EXE_lightsail-alerts is not set: this crate does not build the lightsail-alerts binary"
        ),
    }
}

/// A `Command` for the binary with a clean, hermetic environment.
///
/// Nothing of the parent's environment leaks in but [`KEPT_VARS`]: no `AWS_*` (profile,
/// region, endpoints, credentials, Lambda variables) and no `ALERT_*`. The SDK gets dummy
/// static credentials, `us-east-1`, no IMDS and no shared config or credentials files, so
/// it never reaches for a real account. Add endpoints with `.envs(fake.env())`.
pub fn command() -> Command {
    hermetic(Command::new(binary()))
}

/// `check --output json --at AT --rules <rules>`: add `--dry-run`, arguments and the
/// fakes' endpoints, then read it with [`report`].
pub fn check_json(rules: &std::path::Path) -> Command {
    let mut cmd = command();
    cmd.args(["check", "--output", "json", "--at", AT, "--rules"])
        .arg(rules);
    cmd
}

/// `check --publish --output json --at AT --rules RULES` against `fake` and `moto`,
/// with the alarm state in `ALERT_STATE_TABLE=table`: one scheduled run of a sequence.
pub fn publishing_check(
    rules: &std::path::Path,
    at: &str,
    table: &str,
    fake: &lightsail::FakeLightsail,
    moto: &moto::Moto,
) -> Command {
    let mut cmd = command();
    cmd.args([
        "check",
        "--publish",
        "--output",
        "json",
        "--at",
        at,
        "--rules",
    ])
    .arg(rules)
    .env("ALERT_STATE_TABLE", table)
    .envs(fake.env())
    .envs(moto.env());
    cmd
}

/// Runs `cmd`, which must exit with `code` (the test fails showing `what` and standard
/// error otherwise), and returns its JSON report.
pub fn report_of(cmd: &mut Command, code: i32, what: &str) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{what}: {}", stderr(&out));
    report(&out)
}

/// Points `cmd`'s SNS at a closed port, one attempt only: every publish fails at once.
pub fn sns_unreachable(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
}

/// A finished command's standard error, for assertion messages.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A finished command's standard output as the JSON run report; the test fails with both
/// streams shown when it is anything else.
pub fn report(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not only the JSON report ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

/// Validates `document` against the JSON Schema `schema` (a path in the repository) with
/// the dev tools' `jsonschema` (draft 2020-12); `Err` lists every violation. `None`
/// where moto's Python is missing and skipping is allowed.
pub fn schema_violations(schema: &str, document: &serde_json::Value) -> Option<Result<(), String>> {
    let python = moto::python()?;
    let check = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
errors = sorted(Draft202012Validator(schema).iter_errors(json.load(sys.stdin)), key=str)
for e in errors:
    print("/".join(map(str, e.absolute_path)) or "(root)", ":", e.message)
sys.exit(1 if errors else 0)
"#;
    let mut child = Command::new(python)
        .args(["-c", check])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(schema))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin
            .write_all(document.to_string().as_bytes())
            .expect("the document is written to python");
    }
    let out = child.wait_with_output().expect("python finishes");
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

/// Gives any command the environment [`command`] gives the binary.
pub fn hermetic(mut cmd: Command) -> Command {
    cmd.env_clear();
    for name in KEPT_VARS {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    let missing = std::env::temp_dir().join("lightsail-alerts-tests-no-such-aws-file");
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &missing)
        .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
        .env("RUST_LOG", "info");
    cmd
}

/// A child process that is killed (and reaped) when dropped, with its output drained on
/// background threads so a chatty child never blocks on a full pipe.
///
/// For the Lambda mode, where the binary polls the runtime API forever:
/// `let lambda = Spawned::start(command().envs(runtime.lambda_env()));` then
/// `runtime.wait_outcomes(..)`, then `lambda.stop()` for its logs.
pub struct Spawned {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// What a [`Spawned`] child printed, and how it ended (`None`: it was killed by us).
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Spawned {
    /// Spawns `cmd` with stdin closed and stdout/stderr captured.
    pub fn start(cmd: &mut Command) -> Spawned {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Spawned {
            child,
            stdout,
            stderr,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child has exited by itself (without consuming it).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits up to `timeout` for the child to exit by itself; kills it if it did not.
    pub fn wait(mut self, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.finish()
    }

    /// Kills the child (if still running) and returns what it printed.
    pub fn stop(mut self) -> Finished {
        self.finish()
    }

    fn finish(&mut self) -> Finished {
        let code = match self.child.try_wait() {
            Ok(Some(status)) => status.code(),
            _ => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                None
            }
        };
        let join = |h: Option<JoinHandle<String>>| {
            h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        Finished {
            code,
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
