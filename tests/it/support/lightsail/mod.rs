//! A fake Amazon Lightsail endpoint: awsJson1.1 metric data and listings of every resource type the product monitors (instances, databases, load balancers, distributions, container services, buckets) in several regions, with the real service's quirks, plus injectable faults.
//!
//! Point the binary at it with `AWS_ENDPOINT_URL_LIGHTSAIL=<url()>` (see [`FakeLightsail::env`]).
//!
//! - Operations per type (a table in [`resources`] drives them all):
//!
//!   | `ResourceType` | metrics (name member) | listing (list member, item name) |
//!   |---|---|---|
//!   | `Instance` | `GetInstanceMetricData` (`instanceName`) | `GetInstances` (`instances`, `name`) |
//!   | `RelationalDatabase` | `GetRelationalDatabaseMetricData` (`relationalDatabaseName`) | `GetRelationalDatabases` (`relationalDatabases`, `name`) |
//!   | `LoadBalancer` | `GetLoadBalancerMetricData` (`loadBalancerName`) | `GetLoadBalancers` (`loadBalancers`, `name`) |
//!   | `Distribution` | `GetDistributionMetricData` (`distributionName`) | `GetDistributions` (`distributions`, `name`) |
//!   | `ContainerService` | `GetContainerServiceMetricData` (`serviceName`, no `unit`) | `GetContainerServices` (`containerServices`, `containerServiceName`; not paged) |
//!   | `Bucket` | `GetBucketMetricData` (`bucketName`) | `GetBuckets` (`buckets`, `name`) |
//!
//! - Every resource lives in one region and is of one type (an instance and a database may
//!   share a name), and a request sees only the resources of its region, of its
//!   operation's type: the region is the SigV4 credential scope's
//!   (`Credential=AKID/date/REGION/lightsail/...`), or `us-east-1` when the request is
//!   unsigned. Methods that name no region (`add_instance`, `add_points`,
//!   `add_datapoints`, the faults by name) mean `us-east-1`, the region of the tests'
//!   hermetic environment; `calls_for` counts in every region.
//! - Distributions are global: they are stored in `us-east-1`, and their operations
//!   answer only there; elsewhere they are HTTP 400 `InvalidInputException`.
//! - A resource has a state in its type's terms (`running`, `available`, `active`,
//!   `Deployed`, `RUNNING`, `OK`, …) and tags (a key and an optional value); one created
//!   implicitly by storing data is in its type's healthy state, without tags.
//!
//! One file per concern:
//! - [`protocol`]: the wire: targets, credential scopes, error shapes and headers.
//! - [`resources`]: the table of resource types and what differs between them.
//! - [`fleet`]: resources and the listings' paging.
//! - [`metrics`]: stored datapoints and the metric operations' semantics.
//! - [`faults`]: injected throttles, errors and region failures.
//! - [`timing`]: when answers come: latency, delays and hangs, the rate limit.
//! - [`record`]: the requests as the fake saw them, and counts over them.

mod faults;
mod fleet;
mod metrics;
mod protocol;
mod record;
mod resources;
mod timing;

// The public face of the fake, whatever file holds each part; a suite uses only some of it
// (as `#![allow(dead_code)]` in `support` says for items).
#[allow(unused_imports)]
pub use {
    fleet::DEFAULT_PAGE_SIZE,
    metrics::{Datapoint, MAX_DATAPOINTS},
    protocol::{
        GET_BUCKET_METRIC_DATA, GET_BUCKETS, GET_CONTAINER_SERVICE_METRIC_DATA,
        GET_CONTAINER_SERVICES, GET_DISTRIBUTION_METRIC_DATA, GET_DISTRIBUTIONS,
        GET_INSTANCE_METRIC_DATA, GET_INSTANCES, GET_LOAD_BALANCER_METRIC_DATA, GET_LOAD_BALANCERS,
        GET_RELATIONAL_DATABASE_METRIC_DATA, GET_RELATIONAL_DATABASES, java_double,
    },
    record::RecordedRequest,
};

/// Every `ResourceType` the fake serves, the names [`FakeLightsail::put_resource`] and
/// the other per-type methods take.
pub const RESOURCE_TYPES: &[&str] = &[
    "Instance",
    "RelationalDatabase",
    "LoadBalancer",
    "Distribution",
    "ContainerService",
    "Bucket",
];

use super::http::{Background, Request, respond};
use faults::Faults;
use fleet::Resource;
use protocol::Incoming;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use timing::TokenBucket;

/// The region of a request without a SigV4 credential scope, and of every method that
/// names no region (the tests' hermetic environment sets `AWS_REGION=us-east-1`).
pub const DEFAULT_REGION: &str = "us-east-1";

/// (region, resource name): what keys faults, which are set by name whatever the type.
type Key = (String, String);

fn key(region: &str, name: &str) -> Key {
    (region.to_owned(), name.to_owned())
}

#[derive(Default)]
struct State {
    /// Every resource of every type and region, in creation order (the order listings page in).
    resources: Vec<Resource>,
    /// Resources created so far (the last serial handed out).
    created: u64,
    faults: HashMap<Key, Faults>,
    /// region -> the status every call in it fails with.
    region_faults: HashMap<String, u16>,
    /// Resources per listing page.
    page_size: usize,
    /// Every page token handed out -> (type and region of the listing that issued it,
    /// offset it continues at).
    page_tokens: HashMap<String, (&'static str, String, usize)>,
    requests: Vec<RecordedRequest>,
    error_type_header: bool,
    /// Seed of the shuffle and of request ids, advanced per call.
    calls: u64,
    in_flight: usize,
    max_in_flight: usize,
    /// How long every answer is held after its request arrived.
    latency: Duration,
    /// The rate limit across all calls, if any.
    limit: Option<TokenBucket>,
    /// Requests the rate limit refused.
    throttled: usize,
    /// The fake was dropped: nothing is held any more.
    closed: bool,
}

/// The state, and a signal for the answers held on it (see [`timing`]).
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide every later answer behind a poisoned lock.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A fake Lightsail on `127.0.0.1:<free port>`, serving until dropped.
pub struct FakeLightsail {
    shared: Arc<Shared>,
    server: Background,
}

impl FakeLightsail {
    pub fn start() -> FakeLightsail {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                error_type_header: true,
                page_size: DEFAULT_PAGE_SIZE,
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let server = {
            let shared = shared.clone();
            Background::start("fake-lightsail", move |request| handle(&shared, request))
        };
        FakeLightsail { shared, server }
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL_LIGHTSAIL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// `[("AWS_ENDPOINT_URL_LIGHTSAIL", url)]`, for `Command::envs`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("AWS_ENDPOINT_URL_LIGHTSAIL".to_owned(), self.url())]
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }
}

impl Drop for FakeLightsail {
    /// Lets every held answer go, so that no client and no handler thread is left waiting
    /// on a fake that is gone (the server then stops accepting).
    fn drop(&mut self) {
        self.lock().closed = true;
        self.shared.changed.notify_all();
    }
}

/// One request from arrival to answer: counted, admitted by the rate limit, answered and
/// recorded under the lock; held (latency, delay, hang) outside it, then sent.
fn handle(shared: &Shared, mut request: Request) {
    let arrived = Instant::now();
    let incoming = Incoming::read(&mut request);

    let (reply, hold, call, with_header) = {
        let mut state = shared.lock();
        state.calls += 1;
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        let call = state.calls;
        let region = incoming.served_region();
        let (reply, hold) = if state.admit() {
            let reply = protocol::answer(&mut state, request.url(), &incoming, call);
            (
                reply,
                state.hold(arrived, region, incoming.metric_resource()),
            )
        } else {
            (protocol::rate_exceeded(), state.hold(arrived, region, None))
        };
        state
            .requests
            .push(RecordedRequest::new(incoming, &reply, arrived));
        (reply, hold, call, state.error_type_header)
    };

    shared.wait(&hold);
    let headers = reply.headers(call, with_header);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    // Done before the answer leaves: once the client has it, it may send its next call
    // at once, which must not be counted as one more in flight.
    {
        let mut state = shared.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
    }
    respond(request, reply.status, &headers, reply.body);
}

/// The next number of splitmix64's sequence from state `x`: small, seedable, well mixed.
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
