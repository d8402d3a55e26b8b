//! When the fake answers: latency for every call, delays and hangs per resource name, and a token-bucket rate limit across all calls.
//!
//! A request's answer is computed when it arrives, then held: for the fake's latency and
//! the delay of the resource it names, counted from arrival, and for as long as that name
//! is hung.
//! Every request waits on its own thread, so held calls overlap as they would against
//! the real service. Dropping the fake lets every held answer go at once, so no client
//! and no handler thread outlives a test waiting on it.
//!
//! The rate limit stands in front of every operation, as AWS's front door does: a request
//! arriving when the bucket is empty is refused at once (after the latency, which is the
//! network's) with HTTP 400 `ThrottlingException`, the answer the SDK's retry classifies
//! as throttling, and never reaches its resource's faults, delays or hangs.

use super::{FakeLightsail, Key, Shared, State, key};
use std::sync::PoisonError;
use std::time::{Duration, Instant};

impl FakeLightsail {
    /// Every request, of every operation and resource, is answered `latency` after it
    /// arrived: a whole run then takes measurable time, so a test can see which calls a
    /// deadline cut off and that concurrent calls overlap rather than queue.
    pub fn latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Every metric answer for `name` (in `us-east-1`, of any type) is held back for `delay` on
    /// top of the [`latency`](Self::latency): one slow resource among fast ones
    /// (concurrency, timeouts).
    pub fn delay(&self, name: &str, delay: Duration) {
        self.lock().faults(name).delay = delay;
    }

    /// A metric call naming `name` (in `us-east-1`, of any type) is not answered, including
    /// calls already waiting, until [`release`](Self::release) or
    /// [`clear_faults`](Self::clear_faults), or until the fake is dropped: the resource
    /// that never answers, which a run with a deadline must give up on rather than wait for.
    pub fn hang(&self, name: &str) {
        self.lock().faults(name).hung = true;
        self.shared.changed.notify_all();
    }

    /// Ends [`hang`](Self::hang): the held calls for `name` answer now (after what is
    /// left of their latency and delay), so a test can show what a late answer does.
    pub fn release(&self, name: &str) {
        self.lock().faults(name).hung = false;
        self.shared.changed.notify_all();
    }

    /// Admits at most `calls_per_second` requests a second across all operations, with
    /// bursts of up to `burst` (a token bucket, full at first); a request beyond that is
    /// throttled as Lightsail throttles. For the client that must slow down when
    /// throttled: compare [`attempts`](Self::attempts) with [`throttled`](Self::throttled).
    pub fn rate_limit(&self, calls_per_second: f64, burst: u32) {
        assert!(
            calls_per_second.is_finite() && calls_per_second > 0.0,
            "rate_limit: {calls_per_second} calls per second"
        );
        assert!(burst > 0, "rate_limit: a burst of at least one call");
        self.lock().limit = Some(TokenBucket::full(calls_per_second, burst));
    }

    /// How many requests the [`rate_limit`](Self::rate_limit) refused (not those of
    /// [`throttle`](Self::throttle)): the cost of a client's pace.
    pub fn throttled(&self) -> usize {
        self.lock().throttled
    }
}

/// A token bucket: `burst` tokens at most, refilled at `rate` a second, one per request.
pub(super) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    fn full(rate: f64, burst: u32) -> TokenBucket {
        TokenBucket {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            refilled: Instant::now(),
        }
    }

    /// Takes a token if there is one, after adding those earned since the last look.
    fn take(&mut self, now: Instant) -> bool {
        let earned = now.saturating_duration_since(self.refilled).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.refilled = self.refilled.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How long one answer is held: until an instant, and while a resource is hung.
pub(super) struct Hold {
    until: Instant,
    hung: Option<Key>,
}

impl State {
    /// Whether the rate limit lets a request arriving now through; counts the refusals.
    pub(super) fn admit(&mut self) -> bool {
        let admitted = match &mut self.limit {
            Some(bucket) => bucket.take(Instant::now()),
            None => true,
        };
        if !admitted {
            self.throttled += 1;
        }
        admitted
    }

    /// The hold of an answer to a request that arrived at `arrived`: the latency for every
    /// request; for a metric call that got past the rate limit (`resource` is then the
    /// name it names), that name's delay and hang as well.
    pub(super) fn hold(&self, arrived: Instant, region: &str, resource: Option<&str>) -> Hold {
        let delay = resource
            .and_then(|i| self.faults.get(&key(region, i)))
            .map(|f| f.delay)
            .unwrap_or_default();
        Hold {
            until: arrived + self.latency + delay,
            hung: resource.map(|r| key(region, r)),
        }
    }

    fn is_hung(&self, key: &Key) -> bool {
        self.faults.get(key).is_some_and(|f| f.hung)
    }
}

impl Shared {
    /// Blocks until `hold` is over or the fake is dropped.
    pub(super) fn wait(&self, hold: &Hold) {
        let mut state = self.lock();
        loop {
            let hung = hold.hung.as_ref().is_some_and(|k| state.is_hung(k));
            let now = Instant::now();
            if state.closed || (!hung && now >= hold.until) {
                return;
            }
            state = if hung {
                self.changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner)
            } else {
                self.changed
                    .wait_timeout(state, hold.until - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            };
        }
    }
}
