//! The run's deadline (SPEC §12): when fetching stops, and when the last deliveries are
//! abandoned so that the report goes out before Lambda ends the invocation.
//!
//! A Lambda invocation that runs out of time is killed with nothing sent and nothing
//! reported, so the run stops itself first. Fetching stops `ALERT_DEADLINE_MARGIN_MS`
//! (default 3 s) before the invocation's deadline; what was evaluated by then is still
//! delivered (claimed, published, confirmed) during the first two thirds of the margin;
//! the last third is left for returning the report.

use std::future::Future;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::domain::time;

/// No fetch starts with less than this left: it could not answer before the deadline,
/// and every call started then is a call abandoned.
const MIN_FETCH_TIME: Duration = Duration::from_millis(100);

/// A deadline too far off to be represented: a century, longer than any run.
const FAR_OFF: Duration = Duration::from_secs(100 * 365 * 86_400);

/// On the command line, how long deliveries of what was evaluated may go on after
/// `--timeout` stopped the fetching.
const CLI_DELIVERY_GRACE: Duration = Duration::from_secs(2);

/// When a run stops fetching, and when it stops delivering.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// No fetch starts after this; fetches still in flight are abandoned at it.
    fetch_by: Instant,
    /// Deliveries still in flight are abandoned at this.
    finish_by: Instant,
    /// `fetch_by` on the wall clock, for messages.
    wall: DateTime<Utc>,
    /// Where the deadline comes from, for messages.
    origin: &'static str,
}

impl Deadline {
    /// In Lambda: the invocation's deadline less `margin`.
    pub fn lambda(invocation_deadline: SystemTime, margin: Duration) -> Self {
        let left = invocation_deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Self::new(
            left.saturating_sub(margin),
            left.saturating_sub(margin / 3),
            "the Lambda invocation's deadline less ALERT_DEADLINE_MARGIN_MS",
        )
    }

    /// On the command line: `--timeout`, from now.
    pub fn after(timeout: Duration) -> Self {
        Self::new(timeout, timeout + CLI_DELIVERY_GRACE, "--timeout")
    }

    fn new(fetch_in: Duration, finish_in: Duration, origin: &'static str) -> Self {
        let now = Instant::now();
        // The Lambda deadline comes from the Runtime API: a far-off one must not overflow
        // (it is then as good as none).
        let later = |by: Duration| now.checked_add(by).unwrap_or(now + FAR_OFF);
        let wall = chrono::TimeDelta::from_std(fetch_in)
            .ok()
            .and_then(|by| Utc::now().checked_add_signed(by))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Self {
            fetch_by: later(fetch_in),
            finish_by: later(finish_in.max(fetch_in)),
            wall,
            origin,
        }
    }

    /// Whether a fetch may still start: not once the deadline is near.
    pub fn may_fetch(&self) -> bool {
        Instant::now() + MIN_FETCH_TIME < self.fetch_by
    }

    /// Whether fetching has stopped.
    #[cfg(test)]
    pub fn fetching_over(&self) -> bool {
        Instant::now() >= self.fetch_by
    }

    /// When fetching stops.
    pub fn fetch_by(&self) -> Instant {
        self.fetch_by
    }

    /// When deliveries are abandoned.
    pub fn finish_by(&self) -> Instant {
        self.finish_by
    }

    /// `the run's deadline (2026-11-28T07:40:01Z, --timeout)`.
    pub fn describe(&self) -> String {
        format!(
            "the run's deadline ({}, {})",
            time::rfc3339(self.wall),
            self.origin
        )
    }
}

/// Runs `work` until `until` (when there is a deadline): `None` if it was abandoned.
pub async fn within<F: Future>(until: Option<Instant>, work: F) -> Option<F::Output> {
    match until {
        Some(until) => tokio::time::timeout_at(until, work).await.ok(),
        None => Some(work.await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fetching_stops_at_the_deadline_and_delivering_a_little_later() {
        let deadline = Deadline::after(Duration::from_secs(5));
        assert!(deadline.may_fetch() && !deadline.fetching_over());
        tokio::time::advance(Duration::from_millis(4_950)).await;
        assert!(
            !deadline.may_fetch(),
            "no fetch starts 50 ms before the deadline"
        );
        assert!(!deadline.fetching_over());
        tokio::time::advance(Duration::from_millis(50)).await;
        assert!(deadline.fetching_over());
        assert_eq!(
            deadline.finish_by() - deadline.fetch_by(),
            CLI_DELIVERY_GRACE
        );
        assert!(
            deadline.describe().contains("--timeout"),
            "{}",
            deadline.describe()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn in_lambda_the_margin_is_kept_free_of_fetching_and_a_third_of_it_for_the_report() {
        let invocation = SystemTime::now() + Duration::from_secs(10);
        let deadline = Deadline::lambda(invocation, Duration::from_secs(3));
        let now = Instant::now();
        let fetch_in = deadline.fetch_by() - now;
        let finish_in = deadline.finish_by() - now;
        // SystemTime moves on between the two readings: allow a few milliseconds.
        assert!(fetch_in <= Duration::from_secs(7) && fetch_in > Duration::from_millis(6_900));
        assert!(finish_in <= Duration::from_secs(9) && finish_in > Duration::from_millis(8_900));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_too_far_off_to_represent_is_as_good_as_none() {
        // 31 million years: a TimeDelta, but past the last DateTime.
        let far = std::time::UNIX_EPOCH + Duration::from_millis(1_000_000_000_000_000_000);
        let deadline = Deadline::lambda(far, Duration::from_secs(3));
        assert!(deadline.may_fetch() && !deadline.fetching_over());
        assert!(deadline.finish_by() >= deadline.fetch_by());
        assert!(
            deadline.describe().contains("+262142-12-31T23:59:59Z"),
            "{}",
            deadline.describe()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_already_past_allows_no_fetch() {
        let deadline = Deadline::lambda(SystemTime::now(), Duration::from_secs(3));
        assert!(!deadline.may_fetch() && deadline.fetching_over());
    }

    #[tokio::test(start_paused = true)]
    async fn work_is_abandoned_at_its_time_and_runs_to_the_end_without_one() {
        let until = Some(Instant::now() + Duration::from_secs(1));
        let slow = tokio::time::sleep(Duration::from_secs(2));
        assert_eq!(within(until, slow).await, None);
        let quick = async { 7 };
        assert_eq!(within(until, quick).await, Some(7));
        let unbounded = tokio::time::sleep(Duration::from_secs(60));
        assert_eq!(within(None, unbounded).await, Some(()));
    }
}
