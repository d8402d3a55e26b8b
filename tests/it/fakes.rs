//! Self-tests of the test fakes, so the other suites can trust them: the real AWS SDK against FakeLightsail, raw HTTP against FakeRuntime, the SDK against moto.

use crate::support::lightsail::{
    Datapoint, FakeLightsail, GET_BUCKET_METRIC_DATA, GET_BUCKETS,
    GET_CONTAINER_SERVICE_METRIC_DATA, GET_CONTAINER_SERVICES, GET_DISTRIBUTION_METRIC_DATA,
    GET_DISTRIBUTIONS, GET_INSTANCE_METRIC_DATA, GET_INSTANCES, GET_LOAD_BALANCER_METRIC_DATA,
    GET_LOAD_BALANCERS, GET_RELATIONAL_DATABASE_METRIC_DATA, GET_RELATIONAL_DATABASES,
    RESOURCE_TYPES, java_double,
};
use crate::support::moto::Moto;
use crate::support::runtime::{FakeRuntime, Outcome, TIMEOUT};
use crate::support::{Spawned, hermetic};
use aws_sdk_lightsail::config::retry::RetryConfig;
use aws_sdk_lightsail::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lightsail::operation::get_instance_metric_data::GetInstanceMetricDataError;
use aws_sdk_lightsail::operation::get_instances::GetInstancesError;
use aws_sdk_lightsail::primitives::DateTime;
use aws_sdk_lightsail::types::{
    BucketMetricName, ContainerServiceMetricName, DistributionMetricName, Instance,
    InstanceMetricName, LoadBalancerMetricName, MetricStatistic, MetricUnit, RegionName,
    RelationalDatabaseMetricName, ResourceLocation, ResourceType, Tag,
};
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

const T0: i64 = 1_764_000_000; // 2025-11-24T16:00:00Z, a multiple of 300

fn lightsail_client(url: &str, region: &str) -> aws_sdk_lightsail::Client {
    let config = aws_sdk_lightsail::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(url)
        .build();
    aws_sdk_lightsail::Client::from_conf(config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The SDK's answer, its error boxed (SDK errors are large) and reduced to the service error.
type MetricResult = Result<
    aws_sdk_lightsail::operation::get_instance_metric_data::GetInstanceMetricDataOutput,
    Box<GetInstanceMetricDataError>,
>;

fn get_cpu(
    client: &aws_sdk_lightsail::Client,
    instance: &str,
    start: i64,
    end: i64,
    period: i32,
) -> MetricResult {
    runtime()
        .block_on(
            client
                .get_instance_metric_data()
                .instance_name(instance)
                .metric_name(InstanceMetricName::CpuUtilization)
                .period(period)
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .unit(MetricUnit::Percent)
                .statistics(MetricStatistic::Average)
                .statistics(MetricStatistic::Maximum)
                .send(),
        )
        .map_err(|e| Box::new(e.into_service_error()))
}

/// A raw HTTP/1.1 exchange: (status, headers and body as text).
fn raw(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    (status, answer)
}

fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("")
}

fn lightsail_raw(fake: &FakeLightsail, body: &Value) -> (u16, String) {
    let addr = fake.url().trim_start_matches("http://").to_owned();
    raw(
        &addr,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "Lightsail_20161128.GetInstanceMetricData"),
        ],
        &body.to_string(),
    )
}

fn valid_input() -> Value {
    json!({
        "instanceName": "web-1", "metricName": "CPUUtilization", "period": 300,
        "startTime": T0, "endTime": T0 + 1500, "unit": "Percent", "statistics": ["Average"]
    })
}

#[test]
fn java_double_matches_java() {
    assert_eq!(java_double(1_764_000_300.0), "1.7640003E9");
    assert_eq!(java_double(1_764_000_000.0), "1.764E9");
    assert_eq!(java_double(1_000_000_000.0), "1.0E9");
    assert_eq!(java_double(1_764_012_345.0), "1.764012345E9");
}

#[test]
fn sdk_reads_shuffled_exponent_form_datapoints() {
    let fake = FakeLightsail::start();
    let points: Vec<(i64, f64)> = (0..5).map(|i| (T0 + 300 * i, 10.0 + i as f64)).collect();
    fake.add_points_in("eu-west-3", "web-1", "CPUUtilization", "Percent", &points);
    // The raw call below is unsigned, so it is served in us-east-1.
    fake.add_points("web-1", "CPUUtilization", "Percent", &points);

    let client = lightsail_client(&fake.url(), "eu-west-3");
    let output = get_cpu(&client, "web-1", T0, T0 + 1500, 300).expect("datapoints");
    assert_eq!(
        output.metric_name(),
        Some(&InstanceMetricName::CpuUtilization)
    );
    let data = output.metric_data();
    assert_eq!(data.len(), 5);
    let mut seen: Vec<(i64, f64)> = data
        .iter()
        .map(|d| {
            assert_eq!(d.maximum(), d.average());
            assert_eq!(d.sum(), None, "only the requested statistics");
            assert_eq!(d.unit(), Some(&MetricUnit::Percent));
            (d.timestamp().unwrap().secs(), d.average().unwrap())
        })
        .collect();
    let order: Vec<i64> = seen.iter().map(|p| p.0).collect();
    assert!(
        !order.windows(2).all(|w| w[0] <= w[1]),
        "not in ascending order: {order:?}"
    );
    seen.sort_by_key(|p| p.0);
    assert_eq!(seen, points);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].region.as_deref(), Some("eu-west-3"));
    assert_eq!(requests[0].service.as_deref(), Some("lightsail"));
    assert_eq!(
        requests[0].target.as_deref(),
        Some("Lightsail_20161128.GetInstanceMetricData")
    );
    assert_eq!(requests[0].instance(), Some("web-1"));
    assert_eq!(requests[0].body["startTime"], json!(T0));
    assert_eq!(requests[0].attempt(), Some(1));
    assert_eq!(fake.calls_for("web-1"), 1);

    // The wire form: exponent timestamps that serde_json reads too.
    let (status, answer) = lightsail_raw(&fake, &valid_input());
    assert_eq!(status, 200, "{answer}");
    let body = body_of(&answer);
    assert!(body.contains("\"timestamp\":1.7640003E9"), "{body}");
    let parsed: Value = serde_json::from_str(body).unwrap();
    assert_eq!(parsed["metricData"].as_array().unwrap().len(), 5);
    assert_eq!(
        parsed["metricData"][0].as_object().unwrap().len(),
        3,
        "timestamp, average, unit: {body}"
    );
}

#[test]
fn range_unit_and_period_semantics() {
    let fake = FakeLightsail::start();
    let points: Vec<(i64, f64)> = (0..6).map(|i| (T0 + 300 * i, i as f64)).collect();
    fake.add_points("web-1", "CPUUtilization", "Percent", &points);
    let client = lightsail_client(&fake.url(), "us-east-1");
    let stamps = |r: MetricResult| {
        let mut t: Vec<i64> = r
            .unwrap()
            .metric_data()
            .iter()
            .map(|d| d.timestamp().unwrap().secs())
            .collect();
        t.sort();
        t
    };

    // start inclusive, end exclusive
    assert_eq!(
        stamps(get_cpu(&client, "web-1", T0 + 300, T0 + 900, 300)),
        vec![T0 + 300, T0 + 600]
    );
    // 600 s buckets combine two native points: average 0.5, maximum 1
    let output = get_cpu(&client, "web-1", T0, T0 + 1800, 600).unwrap();
    let mut buckets: Vec<(i64, f64, f64)> = output
        .metric_data()
        .iter()
        .map(|d| {
            (
                d.timestamp().unwrap().secs(),
                d.average().unwrap(),
                d.maximum().unwrap(),
            )
        })
        .collect();
    buckets.sort_by_key(|b| b.0);
    assert_eq!(
        buckets,
        vec![(T0, 0.5, 1.0), (T0 + 600, 2.5, 3.0), (T0 + 1200, 4.5, 5.0)]
    );
    // below the native period: the native points come back
    assert_eq!(
        stamps(get_cpu(&client, "web-1", T0, T0 + 600, 60)),
        vec![T0, T0 + 300]
    );

    // a unit that is not the published one: 200 and no data
    let mut other_unit = valid_input();
    other_unit["unit"] = json!("Count");
    let (status, answer) = lightsail_raw(&fake, &other_unit);
    assert_eq!(
        (status, body_of(&answer)),
        (200, r#"{"metricName":"CPUUtilization","metricData":[]}"#)
    );

    // a known instance without that metric: no data either
    let mut other_metric = valid_input();
    other_metric["metricName"] = json!("NetworkIn");
    other_metric["unit"] = json!("Bytes");
    let (status, answer) = lightsail_raw(&fake, &other_metric);
    assert_eq!(
        (status, body_of(&answer)),
        (200, r#"{"metricName":"NetworkIn","metricData":[]}"#)
    );

    // richer datapoints keep their statistics
    fake.add_datapoints(
        "db-1",
        "NetworkIn",
        "Bytes",
        &[Datapoint {
            timestamp: T0,
            average: 2.0,
            sum: 10.0,
            maximum: 4.0,
            minimum: 1.0,
            sample_count: 5.0,
        }],
    );
    let mut network = other_metric.clone();
    network["instanceName"] = json!("db-1");
    network["statistics"] = json!(["Sum", "SampleCount", "Minimum"]);
    let (_, answer) = lightsail_raw(&fake, &network);
    assert_eq!(
        body_of(&answer),
        r#"{"metricName":"NetworkIn","metricData":[{"timestamp":1.764E9,"sum":10.0,"sampleCount":5.0,"minimum":1.0,"unit":"Bytes"}]}"#
    );
}

#[test]
fn validation_errors_are_invalid_input() {
    let fake = FakeLightsail::start();
    fake.add_instance("web-1");
    let check = |mutate: &dyn Fn(&mut Value), expect: &str| {
        let mut input = valid_input();
        mutate(&mut input);
        let (status, answer) = lightsail_raw(&fake, &input);
        assert_eq!(status, 400, "{answer}");
        // Header names are case-insensitive (hyper sends them in lower case).
        assert!(
            answer.lines().any(
                |line| line.to_ascii_lowercase().starts_with("x-amzn-errortype: ")
                    && line.contains(": InvalidInputException:")
            ),
            "{answer}"
        );
        let body: Value = serde_json::from_str(body_of(&answer)).unwrap();
        assert_eq!(body["__type"], "InvalidInputException");
        assert!(body["message"].as_str().unwrap().contains(expect), "{body}");
    };
    for field in [
        "instanceName",
        "metricName",
        "period",
        "startTime",
        "endTime",
        "unit",
        "statistics",
    ] {
        check(&|v| drop(v.as_object_mut().unwrap().remove(field)), field);
    }
    check(&|v| v["period"] = json!(30), "period 30");
    check(&|v| v["period"] = json!(86460), "period 86460");
    check(&|v| v["period"] = json!(90), "period 90");
    check(&|v| v["endTime"] = json!(T0), "less than");
    check(
        &|v| {
            v["period"] = json!(60);
            v["endTime"] = json!(T0 + 60 * 1441);
        },
        "1441 datapoints",
    );
    check(&|v| v["unit"] = json!("Percents"), "unit");
    check(&|v| v["statistics"] = json!(["p99"]), "statistics");
    check(
        &|v| v["metricName"] = json!("MemoryUtilization"),
        "metricName",
    );

    // exactly 1440 periods, and fractional epoch seconds, are fine
    let mut input = valid_input();
    input["period"] = json!(60);
    input["startTime"] = json!(T0 as f64 + 0.5);
    input["endTime"] = json!(T0 as f64 + 0.5 + 86400.0);
    assert_eq!(lightsail_raw(&fake, &input).0, 200);

    // an operation the fake does not serve
    let addr = fake.url().trim_start_matches("http://").to_owned();
    let (status, answer) = raw(
        &addr,
        "POST",
        "/",
        &[("X-Amz-Target", "Lightsail_20161128.GetBundles")],
        "{}",
    );
    assert_eq!(status, 404, "{answer}");
    assert!(answer.contains("UnknownOperationException"), "{answer}");
}

#[test]
fn unknown_instance_is_a_typed_not_found() {
    let fake = FakeLightsail::start();
    let client = lightsail_client(&fake.url(), "us-east-1");
    let service = get_cpu(&client, "ghost-1", T0, T0 + 1500, 300).unwrap_err();
    assert!(service.is_not_found_exception(), "{service:?}");
    let GetInstanceMetricDataError::NotFoundException(not_found) = &*service else {
        unreachable!()
    };
    assert_eq!(
        not_found.message(),
        Some("The Instance does not exist: ghost-1")
    );
    assert_eq!(not_found.code(), Some("NotFound"));
    assert_eq!(fake.calls_for("ghost-1"), 1, "not retried");

    // Without x-amzn-ErrorType the SDK takes the body's `code`: an unmodeled "NotFound".
    fake.without_error_type_header();
    let service = get_cpu(&client, "ghost-1", T0, T0 + 1500, 300).unwrap_err();
    assert!(!service.is_not_found_exception());
    use aws_sdk_lightsail::error::ProvideErrorMetadata;
    assert_eq!(service.code(), Some("NotFound"), "{service:?}");
}

#[test]
fn throttled_and_failed_calls_are_retried_by_the_sdk() {
    let fake = FakeLightsail::start();
    fake.add_points("web-1", "CPUUtilization", "Percent", &[(T0, 1.0)]);
    fake.add_points("web-2", "CPUUtilization", "Percent", &[(T0, 2.0)]);
    fake.throttle("web-1", 2);
    fake.server_error("web-2", 2);
    let client = lightsail_client(&fake.url(), "us-east-1");

    let started = Instant::now();
    let output = get_cpu(&client, "web-1", T0, T0 + 300, 300).expect("the third attempt succeeds");
    assert_eq!(output.metric_data()[0].average(), Some(1.0));
    let output = get_cpu(&client, "web-2", T0, T0 + 300, 300).expect("the third attempt succeeds");
    assert_eq!(output.metric_data()[0].average(), Some(2.0));
    eprintln!("4 retries took {:?}", started.elapsed());

    let requests = fake.requests();
    let web1: Vec<_> = requests
        .iter()
        .filter(|r| r.instance() == Some("web-1"))
        .collect();
    assert_eq!(
        web1.iter().map(|r| r.status).collect::<Vec<_>>(),
        [400, 400, 200]
    );
    assert_eq!(
        web1.iter().map(|r| r.attempt()).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3)]
    );
    assert_eq!(web1[0].error.as_deref(), Some("ThrottlingException"));
    let web2: Vec<u16> = requests
        .iter()
        .filter(|r| r.instance() == Some("web-2"))
        .map(|r| r.status)
        .collect();
    assert_eq!(web2, [500, 500, 200]);

    // 3 throttles exhaust the default 3 attempts: the SDK's error is the throttling one.
    fake.throttle("web-1", 3);
    let error = get_cpu(&client, "web-1", T0, T0 + 300, 300).unwrap_err();
    use aws_sdk_lightsail::error::ProvideErrorMetadata;
    assert_eq!(error.code(), Some("ThrottlingException"));
    assert_eq!(error.message(), Some("Rate exceeded"));

    // A permanent 403 is not retried.
    fake.always_fail("web-2", 403);
    let error = get_cpu(&client, "web-2", T0, T0 + 300, 300).unwrap_err();
    assert!(error.is_access_denied_exception(), "{error:?}");
    assert_eq!(fake.calls_for("web-2"), 4);
    fake.clear_faults("web-2");
    assert!(get_cpu(&client, "web-2", T0, T0 + 300, 300).is_ok());
    // A permanent 500 is retried until attempts run out, and stays a ServiceException.
    fake.always_fail("web-2", 500);
    let error = get_cpu(&client, "web-2", T0, T0 + 300, 300).unwrap_err();
    assert!(error.is_service_exception(), "{error:?}");
    assert_eq!(fake.calls_for("web-2"), 8);
}

#[test]
fn delays_show_concurrency() {
    let fake = FakeLightsail::start();
    for name in ["a-1", "a-2", "a-3"] {
        fake.add_points(name, "CPUUtilization", "Percent", &[(T0, 1.0)]);
        fake.delay(name, Duration::from_millis(300));
    }
    let client = lightsail_client(&fake.url(), "us-east-1");
    let started = Instant::now();
    runtime().block_on(async {
        let calls = ["a-1", "a-2", "a-3"].map(|name| {
            client
                .get_instance_metric_data()
                .instance_name(name)
                .metric_name(InstanceMetricName::CpuUtilization)
                .period(300)
                .start_time(DateTime::from_secs(T0))
                .end_time(DateTime::from_secs(T0 + 300))
                .unit(MetricUnit::Percent)
                .statistics(MetricStatistic::Average)
                .send()
        });
        let [a, b, c] = calls;
        let (a, b, c) = tokio::join!(a, b, c);
        a.unwrap();
        b.unwrap();
        c.unwrap();
    });
    // Overlapping, not one after another (the fake counts calls in flight).
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(fake.max_in_flight(), 3);
}

/// A metric call as a `'static` future, for tests that spawn calls or run many at once.
fn cpu_call(
    client: &aws_sdk_lightsail::Client,
    instance: &str,
) -> impl std::future::Future<Output = MetricResult> + 'static {
    let call = client
        .get_instance_metric_data()
        .instance_name(instance)
        .metric_name(InstanceMetricName::CpuUtilization)
        .period(300)
        .start_time(DateTime::from_secs(T0))
        .end_time(DateTime::from_secs(T0 + 300))
        .unit(MetricUnit::Percent)
        .statistics(MetricStatistic::Average)
        .send();
    async move { call.await.map_err(|e| Box::new(e.into_service_error())) }
}

#[test]
fn latency_holds_every_call_and_requests_record_when_they_came() {
    let fake = FakeLightsail::start();
    for name in ["a-1", "a-2", "a-3"] {
        fake.add_points(name, "CPUUtilization", "Percent", &[(T0, 1.0)]);
    }
    let latency = Duration::from_millis(300);
    fake.latency(latency);
    let client = lightsail_client(&fake.url(), "us-east-1");

    // Both operations, all at once: each waits its latency, and they overlap.
    let started = Instant::now();
    runtime().block_on(async {
        let (a, b, c, listing) = tokio::join!(
            cpu_call(&client, "a-1"),
            cpu_call(&client, "a-2"),
            cpu_call(&client, "a-3"),
            client.get_instances().send(),
        );
        a.unwrap();
        b.unwrap();
        c.unwrap();
        assert_eq!(listing.unwrap().instances().len(), 3);
    });
    // Each waited its latency, all four at once.
    let elapsed = started.elapsed();
    assert!(elapsed >= latency, "{elapsed:?}");
    assert_eq!(fake.max_in_flight(), 4);

    // A call sent after those were answered arrived after each of them.
    let error = get_cpu(&client, "nobody", T0, T0 + 300, 300).unwrap_err();
    assert!(error.is_not_found_exception(), "{error:?}");
    let finished = Instant::now();
    let requests = fake.requests();
    assert_eq!(requests.len(), 5);
    let (first, last) = requests.split_at(4);
    for request in first {
        assert!(started <= request.arrived && request.arrived + latency <= last[0].arrived);
    }
    assert!(last[0].arrived + latency <= finished, "errors wait too");
}

#[test]
fn a_hung_instance_answers_when_released_and_when_the_fake_goes() {
    let fake = FakeLightsail::start();
    for name in ["web-1", "web-2"] {
        fake.add_points(name, "CPUUtilization", "Percent", &[(T0, 1.0)]);
    }
    fake.hang("web-1");
    let client = lightsail_client(&fake.url(), "us-east-1");

    runtime().block_on(async {
        let hung = tokio::spawn(cpu_call(&client, "web-1"));
        // Others are not held, nor is the listing.
        cpu_call(&client, "web-2").await.unwrap();
        client.get_instances().send().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!hung.is_finished(), "a hung instance answered");
        assert_eq!(fake.calls_for("web-1"), 1, "the hung call arrived");

        fake.release("web-1");
        let output = tokio::time::timeout(Duration::from_secs(5), hung)
            .await
            .expect("a released call answers")
            .unwrap()
            .unwrap();
        assert_eq!(output.metric_data()[0].average(), Some(1.0));
        // Released means released: the next call is not held.
        cpu_call(&client, "web-1").await.unwrap();
    });

    // Dropping the fake lets a call that is still hung go, promptly.
    fake.hang("web-2");
    let rt = runtime();
    let hung = rt.spawn(cpu_call(&client, "web-2"));
    rt.block_on(async {
        while fake.calls_for("web-2") < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    // Dropping the fake does not wait for the hung call (it would wait forever).
    drop(fake);
    let answered = rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), hung).await });
    assert!(answered.is_ok(), "a hung call outlived the fake");
}

/// A client that gives up at the first error, so that every throttle shows.
fn lightsail_client_without_retries(url: &str) -> aws_sdk_lightsail::Client {
    let config = lightsail_client(url, "us-east-1")
        .config()
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_lightsail::Client::from_conf(config)
}

#[test]
fn rate_limit_throttles_a_burst_and_spares_a_paced_client() {
    let fake = FakeLightsail::start();
    fake.add_points("web-1", "CPUUtilization", "Percent", &[(T0, 1.0)]);
    let client = lightsail_client_without_retries(&fake.url());
    // Before the limit starts, so that every token the bucket earns is counted.
    let started = Instant::now();
    fake.rate_limit(20.0, 5);

    // 40 at once: the burst and what trickles in meanwhile pass, the rest are throttled.
    let results = runtime().block_on(futures_util::future::join_all(
        (0..40).map(|_| cpu_call(&client, "web-1")),
    ));
    let elapsed = started.elapsed();
    use aws_sdk_lightsail::error::ProvideErrorMetadata;
    let passed = results.iter().filter(|r| r.is_ok()).count();
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(error.code(), Some("ThrottlingException"), "{error:?}");
        assert_eq!(error.message(), Some("Rate exceeded"));
    }
    assert_eq!(fake.attempts(), 40);
    assert_eq!(fake.throttled(), 40 - passed);
    let earned = (20.0 * elapsed.as_secs_f64()).floor() as usize;
    assert!(
        (5..=5 + earned).contains(&passed),
        "{passed} of 40 passed in {elapsed:?}"
    );
    assert!(fake.throttled() > 0);
    let requests = fake.requests();
    let refused: Vec<_> = requests.iter().filter(|r| r.status == 400).collect();
    assert_eq!(refused.len(), fake.throttled());
    assert!(
        refused
            .iter()
            .all(|r| r.error.as_deref() == Some("ThrottlingException"))
    );

    // The answer is the one the SDK's standard retry takes for throttling: it backs off
    // and tries again until the bucket has a token.
    let fake = FakeLightsail::start();
    fake.add_points("web-1", "CPUUtilization", "Percent", &[(T0, 1.0)]);
    fake.rate_limit(2.0, 1);
    let client = lightsail_client(&fake.url(), "us-east-1");
    get_cpu(&client, "web-1", T0, T0 + 300, 300).unwrap();
    let second = get_cpu(&client, "web-1", T0, T0 + 300, 300);
    let attempts: Vec<Option<u32>> = fake.requests()[1..].iter().map(|r| r.attempt()).collect();
    assert!(fake.throttled() >= 1 && attempts.len() >= 2, "{attempts:?}");
    assert_eq!(
        attempts[..2],
        [Some(1), Some(2)],
        "the SDK retried: {second:?}"
    );

    // A client pacing itself below the limit is never throttled.
    let fake = FakeLightsail::start();
    fake.add_points("web-1", "CPUUtilization", "Percent", &[(T0, 1.0)]);
    fake.rate_limit(20.0, 5);
    let client = lightsail_client_without_retries(&fake.url());
    runtime().block_on(async {
        let mut pace = tokio::time::interval(Duration::from_millis(55));
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut calls = Vec::new();
        for _ in 0..25 {
            pace.tick().await;
            calls.push(tokio::spawn(cpu_call(&client, "web-1")));
        }
        for call in calls {
            call.await.unwrap().unwrap();
        }
    });
    assert_eq!((fake.attempts(), fake.throttled()), (25, 0));
}

#[test]
fn runtime_serves_events_and_records_outcomes() {
    let events = vec![
        json!({"detail-type": "Scheduled Event", "time": "2026-11-24T13:05:00Z"}),
        json!({}),
    ];
    let runtime = FakeRuntime::start(events.clone());
    let addr = runtime.addr();
    let ids = runtime.request_ids().to_vec();

    let (status, answer) = raw(&addr, "GET", "/2018-06-01/runtime/invocation/next", &[], "");
    assert_eq!(status, 200, "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains(&format!("lambda-runtime-aws-request-id: {}", ids[0])),
        "{answer}"
    );
    assert!(lower.contains("lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:lightsail-alerts"));
    assert!(lower.contains("lambda-runtime-trace-id: root=1-"));
    let deadline: u128 = lower
        .lines()
        .find_map(|l| l.strip_prefix("lambda-runtime-deadline-ms: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(
        deadline > now + 50_000 && deadline <= now + 60_000,
        "{deadline} vs {now}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(body_of(&answer)).unwrap(),
        events[0]
    );

    let path = format!("/2018-06-01/runtime/invocation/{}/response", ids[0]);
    let (status, answer) = raw(
        &addr,
        "POST",
        &path,
        &[("Content-Type", "application/json")],
        r#"{"published":1}"#,
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(body_of(&answer), r#"{"status":"OK"}"#);

    // the second event fails
    let (_, answer) = raw(&addr, "GET", "/2018-06-01/runtime/invocation/next", &[], "");
    assert!(answer.contains(&ids[1]));
    let path = format!("/2018-06-01/runtime/invocation/{}/error", ids[1]);
    let error = r#"{"errorType":"RulesError","errorMessage":"bad rules"}"#;
    let (status, _) = raw(
        &addr,
        "POST",
        &path,
        &[("Lambda-Runtime-Function-Error-Type", "unhandled")],
        error,
    );
    assert_eq!(status, 202);

    let outcomes = runtime.wait_outcomes(2, Duration::from_secs(5));
    // What came first; when it came, below.
    let [(posted_0, deadline_0), (posted_1, deadline_1)] =
        [0, 1].map(|i| (outcomes[i].posted(), outcomes[i].deadline()));
    assert_eq!(
        outcomes,
        vec![
            Outcome::Response {
                request_id: ids[0].clone(),
                body: json!({"published": 1}),
                posted: posted_0,
                deadline: deadline_0,
            },
            Outcome::Error {
                request_id: ids[1].clone(),
                error_type: Some("unhandled".to_owned()),
                body: json!({"errorType": "RulesError", "errorMessage": "bad rules"}),
                posted: posted_1,
                deadline: deadline_1,
            },
        ]
    );
    // Invocations without a timeout of their own get TIMEOUT: both answered well in time.
    assert!(posted_0 < posted_1);
    for outcome in &outcomes {
        let margin = outcome.margin().expect("answered before the deadline");
        assert!(margin > TIMEOUT - Duration::from_secs(10) && margin <= TIMEOUT);
    }

    // a second answer is refused and noted
    let path = format!("/2018-06-01/runtime/invocation/{}/response", ids[0]);
    assert_eq!(raw(&addr, "POST", &path, &[], "{}").0, 400);
    assert_eq!(runtime.protocol_errors().len(), 1);

    // no event left: /next is held open
    let poll_addr = addr.clone();
    let poll = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&poll_addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let request = format!(
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {poll_addr}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut buf = [0u8; 64];
        stream.read(&mut buf).map(|n| n > 0).unwrap_or(false)
    });
    assert!(
        !poll.join().unwrap(),
        "a poll with no event left must not be answered"
    );
    assert_eq!(runtime.next_calls(), 3);

    let env = runtime.lambda_env();
    for key in [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "_HANDLER",
        "AWS_LAMBDA_LOG_FORMAT",
    ] {
        assert!(env.iter().any(|(k, _)| k == key), "{key}");
    }
    assert!(env.contains(&("AWS_LAMBDA_RUNTIME_API".to_owned(), addr)));
}

#[test]
fn runtime_wait_reports_what_arrived_on_timeout() {
    let runtime = FakeRuntime::start(vec![json!({})]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.wait_outcomes(1, Duration::from_millis(200))
    }));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("timed out") && message.contains("events not handed out: 1"),
        "{message}"
    );

    let (status, _) = raw(
        &runtime.addr(),
        "POST",
        "/2018-06-01/runtime/init/error",
        &[("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")],
        r#"{"errorMessage":"no rules"}"#,
    );
    assert_eq!(status, 202);
    let init = runtime.wait_init_error(Duration::from_secs(1));
    assert_eq!(init.error_type.as_deref(), Some("Runtime.InitError"));
}

/// `Lambda-Runtime-Deadline-Ms` of a `/next` answer.
fn deadline_ms(answer: &str) -> u128 {
    answer
        .to_ascii_lowercase()
        .lines()
        .find_map(|l| l.strip_prefix("lambda-runtime-deadline-ms: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn epoch_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[test]
fn runtime_gives_each_invocation_its_deadline_and_times_each_answer() {
    let mut runtime = FakeRuntime::with_timeout(vec![json!({"n": 1})], Duration::from_secs(2));
    let short = runtime.push_with_timeout(json!({"n": 2}), Duration::from_millis(300));
    let addr = runtime.addr();
    let ids = runtime.request_ids().to_vec();
    assert_eq!(ids[1], short);
    let next = "/2018-06-01/runtime/invocation/next";
    let answer_path = |id: &str, kind: &str| format!("/2018-06-01/runtime/invocation/{id}/{kind}");

    // The fake's timeout, counted from the hand-out; answered in time.
    let before = epoch_ms();
    let (_, answer) = raw(&addr, "GET", next, &[], "");
    let after = epoch_ms();
    assert!(
        (before + 2000..=after + 2000).contains(&deadline_ms(&answer)),
        "{answer}"
    );
    let (status, _) = raw(&addr, "POST", &answer_path(&ids[0], "response"), &[], "{}");
    assert_eq!(status, 202);

    // The event's own timeout; answered after it.
    let before = epoch_ms();
    let (_, answer) = raw(&addr, "GET", next, &[], "");
    let after = epoch_ms();
    assert!(
        (before + 300..=after + 300).contains(&deadline_ms(&answer)),
        "{answer}"
    );
    std::thread::sleep(Duration::from_millis(400));
    let error = r#"{"errorType":"Timeout","errorMessage":"late"}"#;
    let (status, _) = raw(&addr, "POST", &answer_path(&ids[1], "error"), &[], error);
    assert_eq!(
        status, 202,
        "a late answer is still taken, and shows as late"
    );

    let outcomes = runtime.wait_outcomes(2, Duration::from_secs(5));
    let margin = outcomes[0].margin().expect("the first answered in time");
    assert!(margin > Duration::from_millis(1500) && margin < Duration::from_secs(2));
    assert!(outcomes[0].posted() < outcomes[0].deadline());
    assert_eq!(outcomes[1].margin(), None, "the second was late");
    assert!(outcomes[1].posted() >= outcomes[1].deadline() + Duration::from_millis(50));
    assert!(outcomes[1].is_error());
    // Deadlines are on the same clock as the answers: the second was handed out after the
    // first was answered, with less time.
    assert!(outcomes[0].posted() < outcomes[1].deadline());
    assert!(outcomes[1].deadline() < outcomes[0].deadline());
    assert!(runtime.protocol_errors().is_empty());
}

#[test]
fn hermetic_env_and_spawned_child() {
    let finished = Spawned::start(
        hermetic(Command::new("env"))
            .env("AWS_ENDPOINT_URL_SNS", "http://x")
            .env("EXTRA", "1"),
    )
    .wait(Duration::from_secs(10));
    assert_eq!(finished.code, Some(0));
    let mut vars: Vec<&str> = finished
        .stdout
        .lines()
        .map(|l| l.split('=').next().unwrap())
        .collect();
    vars.sort();
    for expected in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "RUST_LOG",
        "PATH",
        "AWS_ENDPOINT_URL_SNS",
        "EXTRA",
    ] {
        assert!(vars.contains(&expected), "{expected} missing from {vars:?}");
    }
    assert!(
        !vars
            .iter()
            .any(|v| v.starts_with("ALERT_") || *v == "AWS_PROFILE" || *v == "CARGO"),
        "{vars:?}"
    );

    let running =
        Spawned::start(Command::new("sh").args(["-c", "echo out; echo err >&2; exec sleep 30"]));
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let finished = running.stop();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        (
            finished.code,
            finished.stdout.as_str(),
            finished.stderr.as_str()
        ),
        (None, "out\n", "err\n")
    );
}

#[test]
fn moto_delivers_sns_to_sqs_with_attributes() {
    let Some(moto) = Moto::start() else { return };
    let (topic_arn, queue_url) = moto.topic_with_queue("alerts");
    assert_eq!(topic_arn, "arn:aws:sns:us-east-1:123456789012:alerts");
    let sns = moto.sns("us-east-1");
    let attribute = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    moto.block_on(
        sns.publish()
            .topic_arn(&topic_arn)
            .subject("[ALARM] cpu-high: web-1 CPUUtilization > 80")
            .message("CPU is high")
            .message_attributes("severity", attribute("critical"))
            .message_attributes("instance", attribute("web-1"))
            .send(),
    )
    .unwrap();
    let delivered = moto.receive_all(&queue_url);
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let d = &delivered[0];
    assert_eq!(
        d.subject.as_deref(),
        Some("[ALARM] cpu-high: web-1 CPUUtilization > 80")
    );
    assert_eq!(d.message, "CPU is high");
    assert_eq!(d.topic_arn, topic_arn);
    assert_eq!(
        d.attributes.get("severity").map(String::as_str),
        Some("critical")
    );
    assert_eq!(
        d.attributes.get("instance").map(String::as_str),
        Some("web-1")
    );
    assert_eq!(d.message_group_id, None);
    assert!(moto.receive_all(&queue_url).is_empty(), "drained");

    let env = moto.env();
    assert!(env.contains(&("AWS_ENDPOINT_URL_SNS".to_owned(), moto.url())));
    assert_eq!(env.len(), 4);

    // a subject of 101 characters is refused, 100 accepted
    let long = "x".repeat(101);
    let refused = moto.block_on(
        sns.publish()
            .topic_arn(&topic_arn)
            .subject(&long)
            .message("m")
            .send(),
    );
    eprintln!(
        "101-char subject: {:?}",
        refused
            .as_ref()
            .map(|_| ())
            .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(e).to_string())
    );
    assert!(refused.is_err());
    moto.block_on(
        sns.publish()
            .topic_arn(&topic_arn)
            .subject("x".repeat(100))
            .message("m")
            .send(),
    )
    .unwrap();
    let control = moto.block_on(
        sns.publish()
            .topic_arn(&topic_arn)
            .subject("a\nb é")
            .message("m")
            .send(),
    );
    eprintln!(
        "subject with a newline and non-ASCII accepted by moto: {}",
        control.is_ok()
    );
}

#[test]
fn moto_fifo_passes_group_and_dedups_in_the_queue() {
    let Some(moto) = Moto::start() else { return };
    let (topic_arn, queue_url) = moto.topic_with_queue("alerts.fifo");
    let sns = moto.sns("us-east-1");
    let publish = |group: &str, dedup: &str, message: &str| {
        moto.block_on(
            sns.publish()
                .topic_arn(&topic_arn)
                .subject("[ALARM] s")
                .message(message)
                .message_group_id(group)
                .message_deduplication_id(dedup)
                .send(),
        )
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sns::error::DisplayErrorContext(e)));
    };
    publish("cpu-high#web-1", "d1", "first");
    publish("cpu-high#web-1", "d1", "duplicate");
    publish("cpu-high#web-2", "d2", "other");
    // FIFO topics require both ids
    let missing_group = moto.block_on(
        sns.publish()
            .topic_arn(&topic_arn)
            .message("m")
            .message_deduplication_id("x")
            .send(),
    );
    assert!(missing_group.is_err());
    let missing_dedup = moto.block_on(
        sns.publish()
            .topic_arn(&topic_arn)
            .message("m")
            .message_group_id("g")
            .send(),
    );
    assert!(missing_dedup.is_err());

    let mut delivered = moto.receive_all(&queue_url);
    delivered.sort_by(|a, b| a.message.cmp(&b.message));
    let summary: Vec<(&str, Option<&str>, Option<&str>)> = delivered
        .iter()
        .map(|d| {
            (
                d.message.as_str(),
                d.message_group_id.as_deref(),
                d.message_deduplication_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("first", Some("cpu-high#web-1"), Some("d1")),
            ("other", Some("cpu-high#web-2"), Some("d2"))
        ]
    );

    // moto deduplicates only against messages still queued: after draining, d1 comes again.
    publish("cpu-high#web-1", "d1", "again");
    let again = moto.receive_all(&queue_url);
    eprintln!("republished d1 after draining: {} delivered", again.len());
    assert_eq!(again.len(), 1);
}

#[test]
fn moto_publish_uses_the_region_of_the_client() {
    let Some(moto) = Moto::start() else { return };
    let (topic_arn, queue_url) = moto.topic_with_queue_in("us-west-2", "west");
    assert_eq!(topic_arn, "arn:aws:sns:us-west-2:123456789012:west");

    let wrong = moto.block_on(
        moto.sns("us-east-1")
            .publish()
            .topic_arn(&topic_arn)
            .message("from east")
            .send(),
    );
    let error = wrong.expect_err("a us-east-1 client cannot publish to a us-west-2 topic");
    eprintln!(
        "cross-region publish: {}",
        aws_sdk_sns::error::DisplayErrorContext(&error)
    );
    use aws_sdk_sns::error::ProvideErrorMetadata;
    eprintln!("code: {:?}, message: {:?}", error.code(), error.message());

    moto.block_on(
        moto.sns("us-west-2")
            .publish()
            .topic_arn(&topic_arn)
            .message("from west")
            .send(),
    )
    .unwrap();
    let delivered = moto.receive_all(&queue_url);
    assert_eq!(
        delivered
            .iter()
            .map(|d| d.message.as_str())
            .collect::<Vec<_>>(),
        ["from west"]
    );

    moto.reset();
    let gone = moto.block_on(
        moto.sns("us-west-2")
            .publish()
            .topic_arn(&topic_arn)
            .message("m")
            .send(),
    );
    assert!(gone.is_err(), "reset forgets topics");
}

type InstancesResult =
    Result<aws_sdk_lightsail::operation::get_instances::GetInstancesOutput, Box<GetInstancesError>>;

fn get_instances(client: &aws_sdk_lightsail::Client, token: Option<&str>) -> InstancesResult {
    runtime()
        .block_on(
            client
                .get_instances()
                .set_page_token(token.map(str::to_owned))
                .send(),
        )
        .map_err(|e| Box::new(e.into_service_error()))
}

/// Every instance of the client's region, following `nextPageToken`; and the pages' sizes.
fn list_all(client: &aws_sdk_lightsail::Client) -> (Vec<Instance>, Vec<usize>) {
    let mut instances = Vec::new();
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = get_instances(client, token.as_deref()).expect("a page");
        pages.push(page.instances().len());
        instances.extend(page.instances().iter().cloned());
        match page.next_page_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return (instances, pages),
        }
    }
}

fn names(instances: &[Instance]) -> Vec<&str> {
    instances.iter().map(|i| i.name().unwrap()).collect()
}

/// Lightsail tags: a key and an optional value.
type Tags<'a> = Vec<(&'a str, Option<&'a str>)>;

/// (name, state, tags) of each instance: what fleet selection reads.
fn summary(instances: &[Instance]) -> Vec<(&str, &str, Tags<'_>)> {
    instances
        .iter()
        .map(|i| {
            let tags = i
                .tags()
                .iter()
                .map(|t| (t.key().unwrap(), t.value()))
                .collect();
            (i.name().unwrap(), i.state().unwrap().name().unwrap(), tags)
        })
        .collect()
}

#[test]
fn get_instances_pages_a_fleet_in_creation_order_with_every_field() {
    let fake = FakeLightsail::start();
    // Creation order on purpose not by name.
    let fleet: [(&str, &str, Tags); 8] = [
        (
            "web-3",
            "running",
            vec![("env", Some("prod")), ("team", Some("web"))],
        ),
        (
            "db-1",
            "stopped",
            vec![("env", Some("prod")), ("backup", None)],
        ),
        ("web-1", "running", vec![("env", Some("staging"))]),
        ("batch-7", "pending", vec![]),
        ("web-2", "stopping", vec![("env", Some("prod"))]),
        ("old-1", "terminated", vec![("env", Some(""))]),
        ("db-2", "shutting-down", vec![]),
        ("odd-1", "rebooting", vec![("x", None)]),
    ];
    for (name, state, tags) in &fleet {
        fake.put_instance("us-east-1", name, state, tags);
    }
    let client = lightsail_client(&fake.url(), "us-east-1");

    let (instances, pages) = list_all(&client);
    assert_eq!(pages, [3, 3, 2], "default page size 3");
    assert_eq!(summary(&instances), fleet);
    assert_eq!(fake.calls("GetInstances", "us-east-1"), 3);

    let codes: Vec<Option<i32>> = instances
        .iter()
        .map(|i| i.state().unwrap().code())
        .collect();
    assert_eq!(
        codes,
        [16, 80, 16, 0, 64, 48, 32, 0].map(Some),
        "Lightsail's state codes, 0 for a state without one"
    );
    let mut created = Vec::new();
    for instance in &instances {
        let name = instance.name().unwrap();
        let arn = instance.arn().unwrap();
        let id = arn
            .strip_prefix("arn:aws:lightsail:us-east-1:123456789012:Instance/")
            .unwrap_or_else(|| panic!("{arn}"));
        assert_eq!(
            id.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "{id}"
        );
        assert!(
            instance
                .support_code()
                .unwrap()
                .starts_with("123456789012/i-0"),
            "{instance:?}"
        );
        created.push(instance.created_at().expect("createdAt").as_secs_f64());
        let location = instance.location().unwrap();
        assert_eq!(location.availability_zone(), Some("us-east-1a"));
        assert_eq!(location.region_name(), Some(&RegionName::UsEast1));
        assert_eq!(instance.resource_type(), Some(&ResourceType::Instance));
        assert_eq!(instance.blueprint_id(), Some("ubuntu_22_04"));
        assert_eq!(instance.blueprint_name(), Some("Ubuntu"));
        assert_eq!(instance.bundle_id(), Some("nano_3_0"));
        assert_eq!(instance.is_static_ip(), Some(false));
        assert!(
            instance
                .private_ip_address()
                .unwrap()
                .starts_with("172.26.")
        );
        let public = matches!(name, "web-3" | "web-1" | "batch-7");
        assert_eq!(
            instance.public_ip_address().is_some(),
            public,
            "a public address only while pending or running: {name}"
        );
        let hardware = instance.hardware().unwrap();
        assert_eq!(
            (
                hardware.cpu_count(),
                hardware.ram_size_in_gb(),
                hardware.disks().len()
            ),
            (Some(2), Some(0.5), 0)
        );
        assert_eq!(instance.username(), Some("ubuntu"));
        assert_eq!(instance.ssh_key_name(), Some("LightsailDefaultKeyPair"));
    }
    assert!(
        created.windows(2).all(|w| w[0] < w[1]) && created[0] > 1.6e9,
        "{created:?}"
    );
    assert_eq!(created[0].fract(), 0.25, "fractional seconds survive");
    let arns: std::collections::HashSet<&str> =
        instances.iter().map(|i| i.arn().unwrap()).collect();
    assert_eq!(arns.len(), 8, "distinct ARNs");

    // The wire form: createdAt as Java writes doubles, no value member for a bare key,
    // an opaque token.
    let addr = fake.url().trim_start_matches("http://").to_owned();
    let (status, answer) = raw(
        &addr,
        "POST",
        "/",
        &[("X-Amz-Target", "Lightsail_20161128.GetInstances")],
        "{}",
    );
    assert_eq!(status, 200, "{answer}");
    let body = body_of(&answer);
    assert!(body.contains("\"createdAt\":1.70008640025E9"), "{body}");
    let parsed: Value = serde_json::from_str(body).unwrap();
    assert_eq!(parsed["instances"][1]["tags"][1], json!({"key": "backup"}));
    let token = parsed["nextPageToken"].as_str().unwrap();
    assert!(token.parse::<u64>().is_err(), "not a plain offset: {token}");

    // Page boundaries: exactly full pages end without a token; one page holds the fleet.
    fake.page_size(4);
    assert_eq!(list_all(&client).1, [4, 4]);
    fake.page_size(8);
    let page = get_instances(&client, None).unwrap();
    assert_eq!((page.instances().len(), page.next_page_token()), (8, None));
    fake.page_size(100);
    assert_eq!(list_all(&client).1, [8]);

    // put_instance on an existing instance replaces state and tags, keeps its place, ARN
    // and metrics; remove_instance takes it out of the listing.
    fake.add_points("db-1", "CPUUtilization", "Percent", &[(T0, 7.0)]);
    fake.put_instance("us-east-1", "db-1", "running", &[("env", Some("dev"))]);
    let (after, _) = list_all(&client);
    assert_eq!(names(&after), names(&instances));
    assert_eq!(
        summary(&after)[1],
        ("db-1", "running", vec![("env", Some("dev"))])
    );
    assert_eq!(after[1].arn(), instances[1].arn());
    let output = get_cpu(&client, "db-1", T0, T0 + 300, 300).unwrap();
    assert_eq!(output.metric_data()[0].average(), Some(7.0));
    fake.remove_instance("us-east-1", "web-1");
    let (after, _) = list_all(&client);
    assert_eq!(
        names(&after),
        [
            "web-3", "db-1", "batch-7", "web-2", "old-1", "db-2", "odd-1"
        ]
    );
    // Implicitly created instances are running, untagged, and come last.
    fake.add_instance("new-1");
    let (after, _) = list_all(&client);
    assert_eq!(summary(&after)[7], ("new-1", "running", vec![]));
}

#[test]
fn get_instances_sees_the_region_and_takes_only_its_own_tokens() {
    let fake = FakeLightsail::start();
    for i in 1..=5 {
        fake.put_instance("us-east-1", &format!("east-{i}"), "running", &[]);
    }
    for i in 1..=4 {
        fake.put_instance(
            "eu-west-1",
            &format!("west-{i}"),
            "running",
            &[("env", Some("eu"))],
        );
    }
    // The same name in two regions is two instances.
    fake.put_instance("eu-west-1", "east-1", "stopped", &[]);
    let east = lightsail_client(&fake.url(), "us-east-1");
    let west = lightsail_client(&fake.url(), "eu-west-1");
    let south = lightsail_client(&fake.url(), "ap-south-1");

    let (instances, pages) = list_all(&east);
    assert_eq!(
        names(&instances),
        ["east-1", "east-2", "east-3", "east-4", "east-5"]
    );
    assert_eq!(pages, [3, 2]);
    assert_eq!(instances[0].state().unwrap().name(), Some("running"));
    let (instances, _) = list_all(&west);
    assert_eq!(
        names(&instances),
        ["west-1", "west-2", "west-3", "west-4", "east-1"]
    );
    assert_eq!(instances[4].state().unwrap().name(), Some("stopped"));
    let location = instances[0].location().unwrap();
    assert_eq!(location.region_name(), Some(&RegionName::EuWest1));
    assert_eq!(location.availability_zone(), Some("eu-west-1a"));
    assert!(
        instances[0]
            .arn()
            .unwrap()
            .starts_with("arn:aws:lightsail:eu-west-1:")
    );
    let page = get_instances(&south, None).unwrap();
    assert!(page.instances().is_empty() && page.next_page_token().is_none());

    // A token is good only in the region that handed it out.
    let east_token = get_instances(&east, None)
        .unwrap()
        .next_page_token()
        .unwrap()
        .to_owned();
    let west_token = get_instances(&west, None)
        .unwrap()
        .next_page_token()
        .unwrap()
        .to_owned();
    assert_ne!(east_token, west_token);
    assert_eq!(
        names(get_instances(&east, Some(&east_token)).unwrap().instances()),
        ["east-4", "east-5"]
    );
    for (client, token) in [
        (&west, east_token.as_str()),
        (&east, west_token.as_str()),
        (&east, "garbage"),
        (&east, "3"),
        (&east, ""),
    ] {
        let error = get_instances(client, Some(token)).unwrap_err();
        assert!(error.is_invalid_input_exception(), "{token:?}: {error:?}");
        let GetInstancesError::InvalidInputException(invalid) = &*error else {
            unreachable!()
        };
        assert_eq!(invalid.code(), Some("InvalidInput"));
    }
    // A token of the wrong type, and a body that is not an object.
    let addr = fake.url().trim_start_matches("http://").to_owned();
    let target = [("X-Amz-Target", "Lightsail_20161128.GetInstances")];
    let (status, answer) = raw(&addr, "POST", "/", &target, r#"{"pageToken":3}"#);
    assert_eq!(status, 400);
    assert!(answer.contains("InvalidInputException"), "{answer}");
    let (status, answer) = raw(&addr, "POST", "/", &target, "[]");
    assert_eq!(status, 400);
    assert!(answer.contains("SerializationException"), "{answer}");

    // A fleet that changes between pages is continued by offset: removing an instance
    // already listed shifts one that was not listed yet onto the page already read.
    fake.remove_instance("us-east-1", "east-1");
    let page = get_instances(&east, Some(&east_token)).unwrap();
    assert_eq!(names(page.instances()), ["east-5"]);
    // Shrunk below the offset: an empty last page.
    fake.remove_instance("us-east-1", "east-2");
    fake.remove_instance("us-east-1", "east-3");
    let page = get_instances(&east, Some(&east_token)).unwrap();
    assert!(page.instances().is_empty() && page.next_page_token().is_none());

    assert_eq!(fake.calls("GetInstances", "us-east-1"), 12);
    assert_eq!(fake.calls("GetInstances", "eu-west-1"), 4);
    assert_eq!(fake.calls("GetInstances", "ap-south-1"), 1);
    assert_eq!(fake.calls("GetInstanceMetricData", "us-east-1"), 0);
}

#[test]
fn metric_data_is_served_in_the_instance_region_only() {
    let fake = FakeLightsail::start();
    fake.add_points_in(
        "eu-west-1",
        "web-eu",
        "CPUUtilization",
        "Percent",
        &[(T0, 3.0)],
    );
    fake.add_points("web-us", "CPUUtilization", "Percent", &[(T0, 4.0)]);
    fake.add_datapoints_in(
        "eu-west-1",
        "web-eu",
        "CPUUtilization",
        "Percent",
        &[Datapoint::single(T0 + 300, 5.0)],
    );
    let east = lightsail_client(&fake.url(), "us-east-1");
    let west = lightsail_client(&fake.url(), "eu-west-1");

    let output = get_cpu(&west, "web-eu", T0, T0 + 600, 300).unwrap();
    assert_eq!(output.metric_data().len(), 2);
    let output = get_cpu(&east, "web-us", T0, T0 + 300, 300).unwrap();
    assert_eq!(output.metric_data()[0].average(), Some(4.0));
    for (client, name) in [(&east, "web-eu"), (&west, "web-us")] {
        let error = get_cpu(client, name, T0, T0 + 300, 300).unwrap_err();
        assert!(error.is_not_found_exception(), "{name}: {error:?}");
    }
    // Implicit creation: running, untagged, listed in its region.
    let (instances, _) = list_all(&west);
    assert_eq!(summary(&instances), [("web-eu", "running", vec![])]);

    // put_instance keeps the metrics; remove_instance drops the instance and its metrics.
    fake.put_instance("eu-west-1", "web-eu", "stopped", &[("env", Some("prod"))]);
    assert_eq!(
        get_cpu(&west, "web-eu", T0, T0 + 600, 300)
            .unwrap()
            .metric_data()
            .len(),
        2
    );
    fake.remove_instance("eu-west-1", "web-eu");
    let error = get_cpu(&west, "web-eu", T0, T0 + 600, 300).unwrap_err();
    assert!(error.is_not_found_exception(), "{error:?}");
    assert!(list_all(&west).0.is_empty());
    // Created again, it starts without the old metrics.
    fake.add_points_in(
        "eu-west-1",
        "web-eu",
        "CPUUtilization",
        "Percent",
        &[(T0 + 600, 9.0)],
    );
    let output = get_cpu(&west, "web-eu", T0, T0 + 900, 300).unwrap();
    assert_eq!(output.metric_data().len(), 1);

    assert_eq!(fake.calls("GetInstanceMetricData", "eu-west-1"), 5);
    assert_eq!(fake.calls("GetInstanceMetricData", "us-east-1"), 2);
    assert_eq!(
        fake.calls_for("web-eu"),
        5,
        "calls_for counts in every region"
    );
}

#[test]
fn fail_region_fails_both_operations_in_that_region_only() {
    let fake = FakeLightsail::start();
    fake.add_points("web-us", "CPUUtilization", "Percent", &[(T0, 1.0)]);
    fake.add_points_in(
        "eu-west-1",
        "web-eu",
        "CPUUtilization",
        "Percent",
        &[(T0, 2.0)],
    );
    let east = lightsail_client(&fake.url(), "us-east-1");
    let west = lightsail_client(&fake.url(), "eu-west-1");

    fake.fail_region("eu-west-1", 403);
    let error = get_instances(&west, None).unwrap_err();
    assert!(error.is_access_denied_exception(), "{error:?}");
    let error = get_cpu(&west, "web-eu", T0, T0 + 300, 300).unwrap_err();
    assert!(error.is_access_denied_exception(), "{error:?}");
    // Before the input is looked at: an unknown instance is denied, not NotFound.
    let error = get_cpu(&west, "ghost-1", T0, T0 + 300, 300).unwrap_err();
    assert!(error.is_access_denied_exception(), "{error:?}");
    assert_eq!(names(&list_all(&east).0), ["web-us"]);
    assert!(get_cpu(&east, "web-us", T0, T0 + 300, 300).is_ok());
    assert_eq!(
        fake.calls("GetInstances", "eu-west-1"),
        1,
        "403 is not retried"
    );
    assert_eq!(fake.calls("GetInstanceMetricData", "eu-west-1"), 2);

    // A 500 is retried (3 attempts) and counted with its retries.
    fake.fail_region("eu-west-1", 500);
    let error = get_instances(&west, None).unwrap_err();
    assert!(error.is_service_exception(), "{error:?}");
    assert_eq!(fake.calls("GetInstances", "eu-west-1"), 4);

    fake.clear_region("eu-west-1");
    assert_eq!(names(&list_all(&west).0), ["web-eu"]);
    assert!(get_cpu(&west, "web-eu", T0, T0 + 300, 300).is_ok());

    // Per-instance faults apply to metric data only (and to us-east-1's instance).
    fake.always_fail("web-us", 403);
    assert_eq!(names(&list_all(&east).0), ["web-us"]);
    assert!(get_cpu(&east, "web-us", T0, T0 + 300, 300).is_err());
    fake.add_points_in(
        "eu-west-1",
        "web-us",
        "CPUUtilization",
        "Percent",
        &[(T0, 3.0)],
    );
    assert!(get_cpu(&west, "web-us", T0, T0 + 300, 300).is_ok());

    assert_eq!(fake.calls("GetInstances", "eu-west-1"), 5);
    assert_eq!(fake.calls("GetInstances", "us-east-1"), 2);
    assert_eq!(fake.calls("GetInstanceMetricData", "eu-west-1"), 4);
    assert_eq!(fake.calls("GetInstanceMetricData", "us-east-1"), 2);
    assert_eq!(fake.calls("GetBuckets", "us-east-1"), 0);
    let requests = fake.requests();
    assert_eq!(requests[0].operation(), Some("GetInstances"));
    assert_eq!(requests[0].error.as_deref(), Some("AccessDeniedException"));
    assert_eq!(requests[1].operation(), Some("GetInstanceMetricData"));

    // An unsigned request counts as us-east-1.
    let addr = fake.url().trim_start_matches("http://").to_owned();
    let target = [("X-Amz-Target", "Lightsail_20161128.GetInstances")];
    assert_eq!(raw(&addr, "POST", "/", &target, "{}").0, 200);
    assert_eq!(fake.calls("GetInstances", "us-east-1"), 3);
    fake.fail_region("us-east-1", 401);
    let (status, answer) = raw(&addr, "POST", "/", &target, "{}");
    assert_eq!(status, 401);
    assert!(answer.contains("UnauthenticatedException"), "{answer}");
}

// Every resource type: the behaviours above, through each type's own operations.

/// A listing item as the self-tests read it, whatever its type's shape.
#[derive(Clone, Debug, PartialEq)]
struct Item {
    name: String,
    /// The state in the type's terms: `state.name`, `state`, `status` or `state.code`.
    state: String,
    tags: Vec<(String, Option<String>)>,
    arn: String,
    resource_type: String,
    region: Option<RegionName>,
    zone: String,
    created: f64,
}

impl Item {
    fn new(
        name: Option<&str>,
        state: Option<&str>,
        tags: &[Tag],
        arn: Option<&str>,
        resource_type: Option<&str>,
        location: Option<&ResourceLocation>,
        created: Option<&DateTime>,
    ) -> Item {
        Item {
            name: name.expect("a name").to_owned(),
            state: state.expect("a state").to_owned(),
            tags: tags
                .iter()
                .map(|t| (t.key().unwrap().to_owned(), t.value().map(str::to_owned)))
                .collect(),
            arn: arn.expect("an ARN").to_owned(),
            resource_type: resource_type.expect("a resource type").to_owned(),
            region: location.and_then(|l| l.region_name()).cloned(),
            zone: location
                .and_then(|l| l.availability_zone())
                .expect("a zone")
                .to_owned(),
            created: created.expect("createdAt").as_secs_f64(),
        }
    }
}

/// A failed call as the self-tests read it: the SDK's variant of the operation's error
/// (`NotFoundException`, `Unhandled`, …), its code and message.
#[derive(Debug)]
struct Failure {
    variant: String,
    code: Option<String>,
    message: Option<String>,
}

fn failure<E: aws_sdk_lightsail::error::ProvideErrorMetadata + std::fmt::Debug>(
    error: E,
) -> Failure {
    let debug = format!("{error:?}");
    Failure {
        variant: debug.split('(').next().unwrap_or_default().to_owned(),
        code: error.code().map(str::to_owned),
        message: error.message().map(str::to_owned),
    }
}

/// A datapoint as the self-tests read it: (timestamp, average, maximum, unit).
type Point = (i64, Option<f64>, Option<f64>, Option<String>);

/// A metric answer as the self-tests read it: the metric named back, and each datapoint
/// in the order received.
#[derive(Debug)]
struct Metrics {
    metric: Option<String>,
    points: Vec<Point>,
}

/// One metric call: client, resource name, metric, unit (`None`: not sent), [start, end);
/// period 300, statistics Average and Maximum.
type MetricCall = fn(
    &aws_sdk_lightsail::Client,
    &str,
    &str,
    Option<&str>,
    (i64, i64),
) -> Result<Metrics, Failure>;

/// One listing call: client, page token; the page's items and next token.
type ListCall =
    fn(&aws_sdk_lightsail::Client, Option<&str>) -> Result<(Vec<Item>, Option<String>), Failure>;

/// A [`MetricCall`] through the SDK's `$op` builder, whose resource setter is `$name`,
/// metric enum `$metric`, and unit setter `$unit` (absent for an input without a unit).
macro_rules! metric_call {
    ($op:ident, $name:ident, $metric:ty $(, $unit:ident)?) => {
        |client: &aws_sdk_lightsail::Client,
         name: &str,
         metric: &str,
         unit: Option<&str>,
         (start, end): (i64, i64)|
         -> Result<Metrics, Failure> {
            let call = client
                .$op()
                .$name(name)
                .metric_name(<$metric>::from(metric))
                .period(300)
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .statistics(MetricStatistic::Average)
                .statistics(MetricStatistic::Maximum);
            $(let call = match unit {
                Some(unit) => call.$unit(MetricUnit::from(unit)),
                None => call,
            };)?
            let _ = unit;
            let output = runtime()
                .block_on(call.send())
                .map_err(|e| failure(e.into_service_error()))?;
            Ok(Metrics {
                metric: output.metric_name().map(|m| m.as_str().to_owned()),
                points: output
                    .metric_data()
                    .iter()
                    .map(|d| {
                        (
                            d.timestamp().unwrap().secs(),
                            d.average(),
                            d.maximum(),
                            d.unit().map(|u| u.as_str().to_owned()),
                        )
                    })
                    .collect(),
            })
        }
    };
}

fn list_instances(
    client: &aws_sdk_lightsail::Client,
    token: Option<&str>,
) -> Result<(Vec<Item>, Option<String>), Failure> {
    let call = client
        .get_instances()
        .set_page_token(token.map(str::to_owned));
    let output = runtime()
        .block_on(call.send())
        .map_err(|e| failure(e.into_service_error()))?;
    let items = output.instances().iter().map(|i| {
        let state = i.state().and_then(|s| s.name());
        let kind = i.resource_type().map(ResourceType::as_str);
        Item::new(
            i.name(),
            state,
            i.tags(),
            i.arn(),
            kind,
            i.location(),
            i.created_at(),
        )
    });
    Ok((items.collect(), output.next_page_token().map(str::to_owned)))
}

fn list_databases(
    client: &aws_sdk_lightsail::Client,
    token: Option<&str>,
) -> Result<(Vec<Item>, Option<String>), Failure> {
    let call = client
        .get_relational_databases()
        .set_page_token(token.map(str::to_owned));
    let output = runtime()
        .block_on(call.send())
        .map_err(|e| failure(e.into_service_error()))?;
    let items = output.relational_databases().iter().map(|d| {
        let kind = d.resource_type().map(ResourceType::as_str);
        Item::new(
            d.name(),
            d.state(),
            d.tags(),
            d.arn(),
            kind,
            d.location(),
            d.created_at(),
        )
    });
    Ok((items.collect(), output.next_page_token().map(str::to_owned)))
}

fn list_load_balancers(
    client: &aws_sdk_lightsail::Client,
    token: Option<&str>,
) -> Result<(Vec<Item>, Option<String>), Failure> {
    let call = client
        .get_load_balancers()
        .set_page_token(token.map(str::to_owned));
    let output = runtime()
        .block_on(call.send())
        .map_err(|e| failure(e.into_service_error()))?;
    let items = output.load_balancers().iter().map(|b| {
        let state = b.state().map(|s| s.as_str());
        let kind = b.resource_type().map(ResourceType::as_str);
        Item::new(
            b.name(),
            state,
            b.tags(),
            b.arn(),
            kind,
            b.location(),
            b.created_at(),
        )
    });
    Ok((items.collect(), output.next_page_token().map(str::to_owned)))
}

fn list_distributions(
    client: &aws_sdk_lightsail::Client,
    token: Option<&str>,
) -> Result<(Vec<Item>, Option<String>), Failure> {
    let call = client
        .get_distributions()
        .set_page_token(token.map(str::to_owned));
    let output = runtime()
        .block_on(call.send())
        .map_err(|e| failure(e.into_service_error()))?;
    let items = output.distributions().iter().map(|d| {
        assert_eq!(d.is_enabled(), Some(true), "{d:?}");
        let kind = d.resource_type().map(ResourceType::as_str);
        Item::new(
            d.name(),
            d.status(),
            d.tags(),
            d.arn(),
            kind,
            d.location(),
            d.created_at(),
        )
    });
    Ok((items.collect(), output.next_page_token().map(str::to_owned)))
}

/// Container services come in one answer: the token is never needed, nor sent.
fn list_container_services(
    client: &aws_sdk_lightsail::Client,
    token: Option<&str>,
) -> Result<(Vec<Item>, Option<String>), Failure> {
    assert_eq!(token, None, "GetContainerServices has no paging");
    let output = runtime()
        .block_on(client.get_container_services().send())
        .map_err(|e| failure(e.into_service_error()))?;
    let items = output.container_services().iter().map(|c| {
        let state = c.state().map(|s| s.as_str());
        assert_eq!(c.is_disabled(), Some(state == Some("DISABLED")), "{c:?}");
        let kind = c.resource_type().map(ResourceType::as_str);
        let name = c.container_service_name();
        Item::new(
            name,
            state,
            c.tags(),
            c.arn(),
            kind,
            c.location(),
            c.created_at(),
        )
    });
    Ok((items.collect(), None))
}

fn list_buckets(
    client: &aws_sdk_lightsail::Client,
    token: Option<&str>,
) -> Result<(Vec<Item>, Option<String>), Failure> {
    let call = client
        .get_buckets()
        .set_page_token(token.map(str::to_owned));
    let output = runtime()
        .block_on(call.send())
        .map_err(|e| failure(e.into_service_error()))?;
    let items = output.buckets().iter().map(|b| {
        let state = b.state().and_then(|s| s.code());
        // Bucket.resourceType is a plain string in the model, not the ResourceType enum.
        Item::new(
            b.name(),
            state,
            b.tags(),
            b.arn(),
            b.resource_type(),
            b.location(),
            b.created_at(),
        )
    });
    Ok((items.collect(), output.next_page_token().map(str::to_owned)))
}

/// One resource type as the SDK reaches it: what the table-driven self-tests run per type.
struct Sdk {
    resource_type: &'static str,
    metric_op: &'static str,
    listing_op: &'static str,
    /// The fake's constants for the two operations' `X-Amz-Target`.
    metric_target: &'static str,
    listing_target: &'static str,
    /// The metric input's member naming the resource.
    name_field: &'static str,
    /// A metric of the type, and the unit it is published in.
    metric: &'static str,
    unit: &'static str,
    /// Whether the metric input has a `unit` member.
    has_unit: bool,
    /// The state of a resource created without one, and two others of the type's.
    healthy: &'static str,
    states: [&'static str; 2],
    /// The zone its items are in (`None`: `<region>a`).
    zone: Option<&'static str>,
    paged: bool,
    /// The only region it is served in, if any.
    home: Option<&'static str>,
    metrics: MetricCall,
    list: ListCall,
}

fn sdks() -> Vec<Sdk> {
    vec![
        Sdk {
            resource_type: "Instance",
            metric_op: "GetInstanceMetricData",
            listing_op: "GetInstances",
            metric_target: GET_INSTANCE_METRIC_DATA,
            listing_target: GET_INSTANCES,
            name_field: "instanceName",
            metric: "CPUUtilization",
            unit: "Percent",
            has_unit: true,
            healthy: "running",
            states: ["stopped", "pending"],
            zone: None,
            paged: true,
            home: None,
            metrics: metric_call!(
                get_instance_metric_data,
                instance_name,
                InstanceMetricName,
                unit
            ),
            list: list_instances,
        },
        Sdk {
            resource_type: "RelationalDatabase",
            metric_op: "GetRelationalDatabaseMetricData",
            listing_op: "GetRelationalDatabases",
            metric_target: GET_RELATIONAL_DATABASE_METRIC_DATA,
            listing_target: GET_RELATIONAL_DATABASES,
            name_field: "relationalDatabaseName",
            metric: "FreeStorageSpace",
            unit: "Bytes",
            has_unit: true,
            healthy: "available",
            states: ["stopped", "backing-up"],
            zone: None,
            paged: true,
            home: None,
            metrics: metric_call!(
                get_relational_database_metric_data,
                relational_database_name,
                RelationalDatabaseMetricName,
                unit
            ),
            list: list_databases,
        },
        Sdk {
            resource_type: "LoadBalancer",
            metric_op: "GetLoadBalancerMetricData",
            listing_op: "GetLoadBalancers",
            metric_target: GET_LOAD_BALANCER_METRIC_DATA,
            listing_target: GET_LOAD_BALANCERS,
            name_field: "loadBalancerName",
            metric: "UnhealthyHostCount",
            unit: "Count",
            has_unit: true,
            healthy: "active",
            states: ["active_impaired", "provisioning"],
            zone: Some("all"),
            paged: true,
            home: None,
            metrics: metric_call!(
                get_load_balancer_metric_data,
                load_balancer_name,
                LoadBalancerMetricName,
                unit
            ),
            list: list_load_balancers,
        },
        Sdk {
            resource_type: "Distribution",
            metric_op: "GetDistributionMetricData",
            listing_op: "GetDistributions",
            metric_target: GET_DISTRIBUTION_METRIC_DATA,
            listing_target: GET_DISTRIBUTIONS,
            name_field: "distributionName",
            metric: "Http5xxErrorRate",
            unit: "Percent",
            has_unit: true,
            healthy: "Deployed",
            states: ["InProgress", "Failed"],
            zone: Some("all"),
            paged: true,
            home: Some("us-east-1"),
            metrics: metric_call!(
                get_distribution_metric_data,
                distribution_name,
                DistributionMetricName,
                unit
            ),
            list: list_distributions,
        },
        Sdk {
            resource_type: "ContainerService",
            metric_op: "GetContainerServiceMetricData",
            listing_op: "GetContainerServices",
            metric_target: GET_CONTAINER_SERVICE_METRIC_DATA,
            listing_target: GET_CONTAINER_SERVICES,
            name_field: "serviceName",
            metric: "MemoryUtilization",
            unit: "Percent",
            has_unit: false,
            healthy: "RUNNING",
            states: ["DISABLED", "DEPLOYING"],
            zone: Some("all"),
            paged: false,
            home: None,
            metrics: metric_call!(
                get_container_service_metric_data,
                service_name,
                ContainerServiceMetricName
            ),
            list: list_container_services,
        },
        Sdk {
            resource_type: "Bucket",
            metric_op: "GetBucketMetricData",
            listing_op: "GetBuckets",
            metric_target: GET_BUCKET_METRIC_DATA,
            listing_target: GET_BUCKETS,
            name_field: "bucketName",
            metric: "BucketSizeBytes",
            unit: "Bytes",
            has_unit: true,
            healthy: "OK",
            states: ["Unknown", "OK"],
            zone: Some("all"),
            paged: true,
            home: None,
            metrics: metric_call!(get_bucket_metric_data, bucket_name, BucketMetricName, unit),
            list: list_buckets,
        },
    ]
}

impl Sdk {
    /// Every item of the client's region, following `nextPageToken`; and the pages' sizes.
    fn list_all(&self, client: &aws_sdk_lightsail::Client) -> (Vec<Item>, Vec<usize>) {
        let mut items = Vec::new();
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (page, next) = (self.list)(client, token.as_deref())
                .unwrap_or_else(|f| panic!("{}: a page: {f:?}", self.resource_type));
            pages.push(page.len());
            items.extend(page);
            match next {
                Some(next) => token = Some(next),
                None => return (items, pages),
            }
        }
    }

    /// The metric call for `name` over five periods from T0, with the published unit if
    /// the input has one.
    fn get(&self, client: &aws_sdk_lightsail::Client, name: &str) -> Result<Metrics, Failure> {
        let unit = self.has_unit.then_some(self.unit);
        (self.metrics)(client, name, self.metric, unit, (T0, T0 + 1500))
    }

    /// Another type, for resources that share a name with this type's.
    fn other_type(&self) -> &'static str {
        if self.resource_type == "Instance" {
            "Bucket"
        } else {
            "Instance"
        }
    }
}

/// (name, state, tags) of each item.
fn item_summary(items: &[Item]) -> Vec<(&str, &str, Tags<'_>)> {
    items
        .iter()
        .map(|i| {
            let tags = i
                .tags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            (i.name.as_str(), i.state.as_str(), tags)
        })
        .collect()
}

#[test]
fn every_type_lists_its_region_and_serves_its_metrics() {
    let types: Vec<&str> = sdks().iter().map(|s| s.resource_type).collect();
    assert_eq!(types, RESOURCE_TYPES);
    for sdk in sdks() {
        for (op, target) in [
            (sdk.metric_op, sdk.metric_target),
            (sdk.listing_op, sdk.listing_target),
        ] {
            assert_eq!(format!("Lightsail_20161128.{op}"), target);
        }
        let kind = sdk.resource_type;
        let fake = FakeLightsail::start();
        let region = sdk.home.unwrap_or("eu-west-1");
        // Created out of name order, with states (None: the type's default) and tags.
        let fleet: [(&str, Option<&str>, Tags); 5] = [
            (
                "res-3",
                Some(sdk.states[0]),
                vec![("env", Some("prod")), ("backup", None)],
            ),
            ("res-1", None, vec![]),
            ("res-5", Some(sdk.states[1]), vec![("team", Some("web"))]),
            ("res-2", None, vec![("env", Some(""))]),
            ("res-4", Some(sdk.states[0]), vec![]),
        ];
        for (name, state, tags) in &fleet {
            fake.put_resource(kind, region, name, *state, tags);
        }
        // Another type's resource of the same name, in the same region, and one of its
        // own type in another region (distributions have no other region).
        let other = sdk.other_type();
        fake.add_resource_points(
            other,
            region,
            "res-1",
            "CPUUtilization",
            "Percent",
            &[(T0, 99.0)],
        );
        fake.put_resource(other, region, "other-1", None, &[]);
        if sdk.home.is_none() {
            fake.put_resource(kind, "ap-south-1", "far-1", None, &[("far", None)]);
        }
        let client = lightsail_client(&fake.url(), region);

        // The listing: this type and region only, in creation order, paged (or not).
        let (items, pages) = sdk.list_all(&client);
        let expected_pages: &[usize] = if sdk.paged { &[3, 2] } else { &[5] };
        assert_eq!(pages, expected_pages, "{kind}");
        assert_eq!(fake.calls(sdk.listing_op, region), pages.len(), "{kind}");
        let expected: Vec<(&str, &str, Tags)> = fleet
            .iter()
            .map(|(name, state, tags)| (*name, state.unwrap_or(sdk.healthy), tags.clone()))
            .collect();
        assert_eq!(item_summary(&items), expected, "{kind}");
        let zone = sdk.zone.map_or_else(|| format!("{region}a"), str::to_owned);
        for item in &items {
            let prefix = format!("arn:aws:lightsail:{region}:123456789012:{kind}/");
            assert!(item.arn.starts_with(&prefix), "{kind}: {item:?}");
            assert_eq!(item.resource_type, kind);
            assert_eq!(item.region, Some(RegionName::from(region)), "{kind}");
            assert_eq!(item.zone, zone, "{kind}");
        }
        assert!(
            items.windows(2).all(|w| w[0].created < w[1].created),
            "{kind}: {items:?}"
        );

        // Metrics: the stored points, shuffled, with the requested statistics.
        let points: Vec<(i64, f64)> = (0..5).map(|i| (T0 + 300 * i, 10.0 + i as f64)).collect();
        fake.add_resource_points(kind, region, "res-1", sdk.metric, sdk.unit, &points);
        let output = sdk
            .get(&client, "res-1")
            .unwrap_or_else(|f| panic!("{kind}: {f:?}"));
        assert_eq!(output.metric.as_deref(), Some(sdk.metric), "{kind}");
        let order: Vec<i64> = output.points.iter().map(|p| p.0).collect();
        assert!(
            !order.windows(2).all(|w| w[0] <= w[1]),
            "{kind}: ascending {order:?}"
        );
        let mut seen: Vec<(i64, f64)> = output
            .points
            .iter()
            .map(|(t, average, maximum, unit)| {
                assert_eq!(average, maximum, "{kind}");
                assert_eq!(unit.as_deref(), Some(sdk.unit), "{kind}");
                (*t, average.unwrap())
            })
            .collect();
        seen.sort_by_key(|p| p.0);
        assert_eq!(seen, points, "{kind}");
        let request = fake.requests().pop().unwrap();
        assert_eq!(request.operation(), Some(sdk.metric_op));
        assert_eq!(request.resource(), Some("res-1"), "{kind}");
        assert_eq!(request.instance(), Some("res-1"), "{kind}");
        assert_eq!(request.body[sdk.name_field], json!("res-1"), "{kind}");
        assert_eq!(request.body.get("unit").is_some(), sdk.has_unit, "{kind}");

        // Another unit than the published one: no data.
        if sdk.has_unit {
            let output = (sdk.metrics)(
                &client,
                "res-1",
                sdk.metric,
                Some("Kilobits"),
                (T0, T0 + 1500),
            )
            .unwrap_or_else(|f| panic!("{kind}: {f:?}"));
            assert!(output.points.is_empty(), "{kind}: {output:?}");
        }

        // Unknown here: a name nobody has, a name only another type has here, and a name
        // this type has only in another region.
        let mut unknown = vec!["ghost-1", "other-1"];
        if sdk.home.is_none() {
            unknown.push("far-1");
        }
        for name in unknown {
            let error = sdk.get(&client, name).unwrap_err();
            assert_eq!(
                error.variant, "NotFoundException",
                "{kind} {name}: {error:?}"
            );
            let message = format!("The {kind} does not exist: {name}");
            assert_eq!(error.message.as_deref(), Some(message.as_str()));
        }
        // The other region sees its own resources only.
        if sdk.home.is_none() {
            let south = lightsail_client(&fake.url(), "ap-south-1");
            let (items, _) = sdk.list_all(&south);
            assert_eq!(
                item_summary(&items),
                [("far-1", sdk.healthy, vec![("far", None)])]
            );
            assert_eq!(fake.calls(sdk.listing_op, "ap-south-1"), 1, "{kind}");
        }

        // put_resource again: new state and tags, same place, ARN and metrics;
        // remove_resource: gone, and the other type's namesake stays.
        fake.put_resource(kind, region, "res-1", Some(sdk.states[0]), &[("k", None)]);
        let (after, _) = sdk.list_all(&client);
        assert_eq!(after[1].name, "res-1", "{kind}");
        assert_eq!(
            (after[1].state.as_str(), &after[1].tags),
            (sdk.states[0], &vec![("k".to_owned(), None)]),
            "{kind}"
        );
        assert_eq!(after[1].arn, items[1].arn, "{kind}");
        assert_eq!(sdk.get(&client, "res-1").unwrap().points.len(), 5, "{kind}");
        fake.remove_resource(kind, region, "res-1");
        let error = sdk.get(&client, "res-1").unwrap_err();
        assert_eq!(error.variant, "NotFoundException", "{kind}: {error:?}");
        let names: Vec<String> = sdk
            .list_all(&client)
            .0
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, ["res-3", "res-5", "res-2", "res-4"], "{kind}");
        let others = if other == "Instance" {
            names_of(list_all(&client).0)
        } else {
            sdks()[5]
                .list_all(&client)
                .0
                .into_iter()
                .map(|i| i.name)
                .collect()
        };
        assert_eq!(others, ["res-1", "other-1"], "{kind}");

        // Every metric call of the type was recorded under its operation and region.
        let metric_calls = fake.calls(sdk.metric_op, region);
        let expected = 5 + usize::from(sdk.has_unit) + usize::from(sdk.home.is_none());
        assert_eq!(metric_calls, expected, "{kind}");
        assert_eq!(
            fake.calls_for("res-1"),
            3 + usize::from(sdk.has_unit),
            "{kind}"
        );
    }
}

fn names_of(instances: Vec<Instance>) -> Vec<String> {
    instances
        .into_iter()
        .map(|i| i.name().unwrap().to_owned())
        .collect()
}

#[test]
fn every_metric_operation_validates_its_input() {
    let fake = FakeLightsail::start();
    let addr = fake.url().trim_start_matches("http://").to_owned();
    for sdk in sdks() {
        let kind = sdk.resource_type;
        fake.add_resource_points(
            kind,
            "us-east-1",
            "res-1",
            sdk.metric,
            sdk.unit,
            &[(T0, 1.0)],
        );
        let target = sdk.metric_target;
        let mut valid = json!({
            (sdk.name_field): "res-1", "metricName": sdk.metric, "period": 300,
            "startTime": T0, "endTime": T0 + 300, "statistics": ["Sum"]
        });
        if sdk.has_unit {
            valid["unit"] = json!(sdk.unit);
        }
        let call = |body: &Value| {
            let headers = [("X-Amz-Target", target)];
            raw(&addr, "POST", "/", &headers, &body.to_string())
        };
        let (status, answer) = call(&valid);
        assert_eq!(status, 200, "{kind}: {answer}");
        let body: Value = serde_json::from_str(body_of(&answer)).unwrap();
        assert_eq!(
            body,
            json!({"metricName": sdk.metric, "metricData": [{"timestamp": T0 as f64, "sum": 1.0, "unit": sdk.unit}]}),
            "{kind}"
        );

        let invalid = |mutate: &dyn Fn(&mut Value), expect: &str| {
            let mut input = valid.clone();
            mutate(&mut input);
            let (status, answer) = call(&input);
            assert_eq!(status, 400, "{kind}: {answer}");
            let body: Value = serde_json::from_str(body_of(&answer)).unwrap();
            assert_eq!(body["__type"], "InvalidInputException", "{kind}: {body}");
            assert!(
                body["message"].as_str().unwrap().contains(expect),
                "{kind}: {body}"
            );
        };
        invalid(
            &|v| drop(v.as_object_mut().unwrap().remove(sdk.name_field)),
            sdk.name_field,
        );
        invalid(&|v| v[sdk.name_field] = json!("-x"), sdk.name_field);
        // Another type's metric is not this type's.
        let foreign = if kind == "Bucket" {
            "CPUUtilization"
        } else {
            "NumberOfObjects"
        };
        invalid(&|v| v["metricName"] = json!(foreign), "metricName");
        invalid(&|v| v["period"] = json!(90), "period 90");
        invalid(&|v| v["endTime"] = json!(T0), "less than");
        invalid(&|v| v["statistics"] = json!(["p99"]), "statistics");
        if sdk.has_unit {
            invalid(&|v| drop(v.as_object_mut().unwrap().remove("unit")), "unit");
        } else {
            // A unit where the input has none: the front door cannot read the body.
            let mut input = valid.clone();
            input["unit"] = json!(sdk.unit);
            let (status, answer) = call(&input);
            assert_eq!(status, 400, "{kind}: {answer}");
            let body: Value = serde_json::from_str(body_of(&answer)).unwrap();
            assert_eq!(body["__type"], "SerializationException", "{kind}: {body}");
            assert!(body["message"].as_str().unwrap().contains("unit"), "{body}");
        }
        // A name member of another type names nothing here.
        let mut input = valid.clone();
        let field = if kind == "Instance" {
            "bucketName"
        } else {
            "instanceName"
        };
        let object = input.as_object_mut().unwrap();
        object.remove(sdk.name_field);
        object.insert(field.to_owned(), json!("res-1"));
        let (status, answer) = call(&input);
        assert_eq!(status, 400, "{kind}: {answer}");
        assert!(
            answer.contains("Missing required parameter(s)"),
            "{kind}: {answer}"
        );
    }
}

#[test]
fn faults_by_name_and_region_reach_every_operation() {
    for sdk in sdks() {
        let kind = sdk.resource_type;
        let fake = FakeLightsail::start();
        fake.add_resource_points(
            kind,
            "us-east-1",
            "res-1",
            sdk.metric,
            sdk.unit,
            &[(T0, 1.0)],
        );
        let client = lightsail_client(&fake.url(), "us-east-1");

        // Retried server errors, seen per resource in the record.
        fake.server_error("res-1", 2);
        sdk.get(&client, "res-1")
            .unwrap_or_else(|f| panic!("{kind}: {f:?}"));
        let statuses: Vec<u16> = fake
            .requests()
            .iter()
            .filter(|r| r.resource() == Some("res-1"))
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, [500, 500, 200], "{kind}");
        assert_eq!(fake.calls_for("res-1"), 3, "{kind}");

        // A permanent failure hits the metric call, not the listing.
        fake.always_fail("res-1", 403);
        let error = sdk.get(&client, "res-1").unwrap_err();
        assert_eq!(error.variant, "AccessDeniedException", "{kind}: {error:?}");
        assert_eq!(sdk.list_all(&client).0.len(), 1, "{kind}");
        fake.clear_faults("res-1");

        // A delay holds the metric answer.
        fake.delay("res-1", Duration::from_millis(200));
        let started = Instant::now();
        sdk.get(&client, "res-1").unwrap();
        assert!(started.elapsed() >= Duration::from_millis(200), "{kind}");
        fake.clear_faults("res-1");

        // A failed region fails both operations before anything else.
        fake.fail_region("us-east-1", 401);
        let error = sdk.get(&client, "ghost-1").unwrap_err();
        assert_eq!(
            error.variant, "UnauthenticatedException",
            "{kind}: {error:?}"
        );
        let error = (sdk.list)(&client, None).unwrap_err();
        assert_eq!(
            error.variant, "UnauthenticatedException",
            "{kind}: {error:?}"
        );
        assert_eq!(fake.calls(sdk.listing_op, "us-east-1"), 2, "{kind}");
        assert_eq!(fake.calls(sdk.metric_op, "us-east-1"), 6, "{kind}");
    }
}

#[test]
fn distributions_answer_in_us_east_1_only() {
    let fake = FakeLightsail::start();
    let sdk = sdks().remove(3);
    assert_eq!(sdk.resource_type, "Distribution");
    fake.add_resource_points(
        "Distribution",
        "us-east-1",
        "cdn-1",
        "Requests",
        "None",
        &[(T0, 5.0)],
    );
    for region in ["eu-west-1", "us-east-2"] {
        let client = lightsail_client(&fake.url(), region);
        let error = (sdk.list)(&client, None).unwrap_err();
        assert_eq!(error.variant, "InvalidInputException", "{error:?}");
        assert_eq!(error.code.as_deref(), Some("InvalidInputException"));
        let message = error.message.unwrap();
        assert!(
            message.contains("only available in the us-east-1 Region"),
            "{message}"
        );
        // Known or not, a distribution is not looked for outside us-east-1.
        for name in ["cdn-1", "ghost-1"] {
            let error =
                (sdk.metrics)(&client, name, "Requests", Some("None"), (T0, T0 + 300)).unwrap_err();
            assert_eq!(error.variant, "InvalidInputException", "{error:?}");
        }
        assert_eq!(fake.calls("GetDistributions", region), 1);
        assert_eq!(fake.calls("GetDistributionMetricData", region), 2);
    }
    let east = lightsail_client(&fake.url(), "us-east-1");
    let output = (sdk.metrics)(&east, "cdn-1", "Requests", Some("None"), (T0, T0 + 300)).unwrap();
    assert_eq!(
        output.points,
        [(T0, Some(5.0), Some(5.0), Some("None".to_owned()))]
    );

    // The wire: Lightsail's members, the code it gives for region-bound APIs.
    let addr = fake.url().trim_start_matches("http://").to_owned();
    let west_scope = "AWS4-HMAC-SHA256 Credential=AKID/20251124/eu-west-1/lightsail/aws4_request, SignedHeaders=host, Signature=0";
    let (status, answer) = raw(
        &addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "Lightsail_20161128.GetDistributions"),
            ("Authorization", west_scope),
        ],
        "{}",
    );
    assert_eq!(status, 400, "{answer}");
    let body: Value = serde_json::from_str(body_of(&answer)).unwrap();
    assert_eq!(body["__type"], "InvalidInputException");
    assert_eq!(body["code"], "UnsupportedOperation");

    // Stored in us-east-1 only; isEnabled is the fake's to turn off, status stays.
    let elsewhere = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fake.put_resource("Distribution", "eu-west-1", "cdn-2", None, &[]);
    }));
    assert!(elsewhere.is_err(), "a distribution outside us-east-1");
    fake.set_distribution_enabled("cdn-1", false);
    let (status, answer) = raw(
        &addr,
        "POST",
        "/",
        &[("X-Amz-Target", "Lightsail_20161128.GetDistributions")],
        "{}",
    );
    assert_eq!(status, 200, "{answer}");
    let body: Value = serde_json::from_str(body_of(&answer)).unwrap();
    assert_eq!(body["distributions"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["distributions"][0]["isEnabled"], json!(false));
    assert_eq!(body["distributions"][0]["status"], json!("Deployed"));
}

#[test]
fn container_service_metrics_come_in_any_stored_unit_without_a_unit_asked() {
    let fake = FakeLightsail::start();
    fake.page_size(2);
    let sdk = sdks().remove(4);
    assert_eq!(sdk.resource_type, "ContainerService");
    let points = [(T0, 40.0), (T0 + 300, 60.0)];
    fake.add_resource_points(
        "ContainerService",
        "us-east-1",
        "app-1",
        "CPUUtilization",
        "Percent",
        &points,
    );
    // A unit no other metric has: whatever the unit, it is the one answered.
    fake.add_resource_points(
        "ContainerService",
        "us-east-1",
        "app-1",
        "MemoryUtilization",
        "Megabytes",
        &points,
    );
    for i in 2..=5 {
        fake.put_resource(
            "ContainerService",
            "us-east-1",
            &format!("app-{i}"),
            None,
            &[],
        );
    }
    let client = lightsail_client(&fake.url(), "us-east-1");
    for (metric, unit) in [
        ("CPUUtilization", "Percent"),
        ("MemoryUtilization", "Megabytes"),
    ] {
        let output = (sdk.metrics)(&client, "app-1", metric, None, (T0, T0 + 600)).unwrap();
        let mut seen: Vec<(i64, Option<f64>, Option<&str>)> = output
            .points
            .iter()
            .map(|(t, average, _, u)| (*t, *average, u.as_deref()))
            .collect();
        seen.sort_by_key(|p| p.0);
        assert_eq!(
            seen,
            [
                (T0, Some(40.0), Some(unit)),
                (T0 + 300, Some(60.0), Some(unit))
            ]
        );
    }
    assert!(fake.requests().iter().all(|r| r.body.get("unit").is_none()));

    // One answer holds every service, whatever the page size.
    let addr = fake.url().trim_start_matches("http://").to_owned();
    let (status, answer) = raw(
        &addr,
        "POST",
        "/",
        &[("X-Amz-Target", "Lightsail_20161128.GetContainerServices")],
        "{}",
    );
    assert_eq!(status, 200, "{answer}");
    let body: Value = serde_json::from_str(body_of(&answer)).unwrap();
    assert_eq!(
        body["containerServices"].as_array().unwrap().len(),
        5,
        "{body}"
    );
    assert_eq!(body.get("nextPageToken"), None, "{body}");
    assert_eq!(
        body["containerServices"][0]["containerServiceName"],
        "app-1"
    );
    assert_eq!(body["containerServices"][0].get("name"), None);
}

#[test]
fn listings_name_one_resource_and_take_only_their_own_tokens() {
    let fake = FakeLightsail::start();
    let addr = fake.url().trim_start_matches("http://").to_owned();
    for kind in [
        "Instance",
        "RelationalDatabase",
        "LoadBalancer",
        "Distribution",
        "ContainerService",
        "Bucket",
    ] {
        for i in 1..=4 {
            fake.put_resource(kind, "us-east-1", &format!("res-{i}"), None, &[]);
        }
    }
    let list = |op: &str, body: Value| {
        let target = format!("Lightsail_20161128.{op}");
        let headers = [("X-Amz-Target", target.as_str())];
        let (status, answer) = raw(&addr, "POST", "/", &headers, &body.to_string());
        (
            status,
            serde_json::from_str::<Value>(body_of(&answer)).unwrap(),
        )
    };
    // The listings that can name one resource.
    for (op, field, list_field, item_name) in [
        ("GetBuckets", "bucketName", "buckets", "name"),
        (
            "GetDistributions",
            "distributionName",
            "distributions",
            "name",
        ),
        (
            "GetContainerServices",
            "serviceName",
            "containerServices",
            "containerServiceName",
        ),
    ] {
        let (status, body) = list(op, json!({ (field): "res-3" }));
        assert_eq!(status, 200, "{op}: {body}");
        let items = body[list_field].as_array().unwrap();
        assert_eq!(items.len(), 1, "{op}: {body}");
        assert_eq!(items[0][item_name], "res-3");
        assert_eq!(body.get("nextPageToken"), None);
        let (status, body) = list(op, json!({ (field): "ghost-1" }));
        assert_eq!(
            (status, &body["__type"]),
            (400, &json!("NotFoundException")),
            "{op}"
        );
    }
    // A token is good only for the listing that handed it out.
    let (_, first) = list("GetBuckets", json!({}));
    let token = first["nextPageToken"].as_str().unwrap().to_owned();
    let (status, body) = list("GetBuckets", json!({ "pageToken": token }));
    assert_eq!(status, 200);
    assert_eq!(body["buckets"][0]["name"], "res-4");
    for op in [
        "GetInstances",
        "GetRelationalDatabases",
        "GetLoadBalancers",
        "GetDistributions",
    ] {
        let (status, body) = list(op, json!({ "pageToken": token }));
        assert_eq!(
            (status, &body["__type"]),
            (400, &json!("InvalidInputException")),
            "{op}: {body}"
        );
    }
    assert_eq!(fake.calls("GetBuckets", "us-east-1"), 4);
}
