//! Injected faults: throttles, server errors and permanent failures per resource name, and failures of a whole region.
//!
//! Faults per region fail every operation before the input is read. Faults per name are
//! set for a name in `us-east-1` and apply to the metric calls naming it, of any type
//! (`GetInstanceMetricData`, `GetBucketMetricData`, …), never to listings. What is held
//! rather than failed (delays, hangs) is [`super::timing`]'s, though stored here with the
//! name's other faults.

use super::protocol::{Reply, lightsail_error, rate_exceeded};
use super::{DEFAULT_REGION, FakeLightsail, State, key};
use serde_json::Value;
use std::time::Duration;

/// What is injected for one name.
#[derive(Default)]
pub(super) struct Faults {
    /// Answer the next n calls with a throttling error.
    throttle: usize,
    /// Answer the next n calls with HTTP 500.
    server_error: usize,
    /// Answer every call with this status (and a matching error), until cleared.
    always: Option<u16>,
    /// Hold every answer this long (for concurrency and timeout tests).
    pub delay: Duration,
    /// Hold every answer until this is cleared.
    pub hung: bool,
}

impl FakeLightsail {
    /// The next `n` metric calls naming `name` (in `us-east-1`, of any type) answer HTTP 400 `ThrottlingException`.
    pub fn throttle(&self, name: &str, n: usize) {
        self.lock().faults(name).throttle += n;
    }

    /// The next `n` metric calls naming `name` (in `us-east-1`, of any type) answer HTTP 500 `ServiceException`.
    pub fn server_error(&self, name: &str, n: usize) {
        self.lock().faults(name).server_error += n;
    }

    /// Every metric call naming `name` (in `us-east-1`, of any type) fails with `status` until
    /// [`clear_faults`](Self::clear_faults): 400 `InvalidInputException`, 401
    /// `UnauthenticatedException`, 403 `AccessDeniedException`, 404 `NotFoundException`
    /// (sent as HTTP 400, as Lightsail does), 429 or any other 4xx `ThrottlingException`
    /// (HTTP 400), 5xx `ServiceException`.
    pub fn always_fail(&self, name: &str, status: u16) {
        self.lock().faults(name).always = Some(status);
    }

    /// Removes every fault, delay and hang set for `name`; calls it holds answer now.
    pub fn clear_faults(&self, name: &str) {
        self.lock().faults.remove(&key(DEFAULT_REGION, name));
        self.shared.changed.notify_all();
    }

    /// Every call (of every operation: listings and metrics) whose request region is
    /// `region` fails with `status` until [`clear_region`](Self::clear_region), mapped to
    /// an error as [`always_fail`](Self::always_fail) maps it. It comes before any look at
    /// the input, as a denial by policy or a region that is not enabled would.
    pub fn fail_region(&self, region: &str, status: u16) {
        self.lock().region_faults.insert(region.to_owned(), status);
    }

    /// Ends [`fail_region`](Self::fail_region) for `region`.
    pub fn clear_region(&self, region: &str) {
        self.lock().region_faults.remove(region);
    }
}

impl State {
    /// The faults of `name` in the default region, made empty if there were none.
    pub(super) fn faults(&mut self, name: &str) -> &mut Faults {
        self.faults.entry(key(DEFAULT_REGION, name)).or_default()
    }

    /// The error every call in `region` fails with, if the region is failed.
    pub(super) fn region_fault(&self, region: &str) -> Option<Reply> {
        self.region_faults.get(region).map(|&status| fault(status))
    }

    /// The error injected for the metric call naming `name` (of any type), if any,
    /// counting down the faults that are for the next n calls.
    pub(super) fn resource_fault(&mut self, region: &str, name: Option<&Value>) -> Option<Reply> {
        let name = name?.as_str()?;
        let faults = self.faults.get_mut(&key(region, name))?;
        if let Some(status) = faults.always {
            return Some(fault(status));
        }
        if faults.throttle > 0 {
            faults.throttle -= 1;
            return Some(fault(429));
        }
        if faults.server_error > 0 {
            faults.server_error -= 1;
            return Some(fault(500));
        }
        None
    }
}

/// The error an injected fault answers with; 429 stands for "throttled", which Lightsail
/// sends as HTTP 400.
pub(super) fn fault(status: u16) -> Reply {
    match status {
        400 => lightsail_error(
            400,
            "InvalidInputException",
            "InvalidInput",
            "Injected invalid input",
        ),
        401 => lightsail_error(
            401,
            "UnauthenticatedException",
            "Unauthenticated",
            "Injected: not authenticated",
        ),
        403 => lightsail_error(
            403,
            "AccessDeniedException",
            "AccessDenied",
            "Injected: access denied",
        ),
        404 => lightsail_error(
            400,
            "NotFoundException",
            "NotFound",
            "Injected: the Instance does not exist",
        ),
        500..=599 => lightsail_error(
            status,
            "ServiceException",
            "InternalFailure",
            "Request processing has failed due to some unknown error, exception or failure.",
        ),
        _ => rate_exceeded(),
    }
}
