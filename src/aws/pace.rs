//! A request rate that adapts to throttling (SPEC §12), for the calls of one Lightsail
//! client: unlimited until the service first throttles, then paced, and raised again
//! while calls go through.
//!
//! The SDK's own adaptive retry mode does this too, but charges each retry 5 tokens of a
//! bucket that may refill at 0.5 a second: at a low request rate one throttle holds a
//! retry back for 10 s and two of them outlast the call's timeout. Here a throttle
//! costs a call nothing but its backoff, and the pace follows the rate the service
//! admits:
//!
//! - the first throttle starts pacing at [`INITIAL_RATE`] in *slow start*: each call
//!   admitted raises the rate by [`SLOW_START_GAIN`] calls a second, so it doubles
//!   about every 0.35 s until the service throttles again;
//! - a throttle after that cuts the rate to [`BETA`] of what it was (once per
//!   [`HOLD`], however many throttles one burst brings) and remembers the rate it cut
//!   as the *ceiling*; below the ceiling the rate climbs back to it quickly (the gap
//!   halves in about [`RECOVERY`]), above it by one call a second, every second,
//!   probing for more;
//! - ten minutes without a throttle, and calls go unpaced again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Calls per second once the service first throttles.
pub const INITIAL_RATE: f64 = 10.0;
/// Calls a second added per call admitted in slow start.
pub const SLOW_START_GAIN: f64 = 2.0;
/// Below the ceiling, the time in which the rate closes half the gap to it.
pub const RECOVERY: Duration = Duration::from_secs(1);
/// The lowest pace: one call every two seconds.
const MIN_RATE: f64 = 0.5;
/// What a throttle leaves of the rate.
pub const BETA: f64 = 0.9;
/// Throttles this soon after a cut belong to the same burst: they were sent before the
/// cut took effect.
pub const HOLD: Duration = Duration::from_millis(300);
/// A pace learned this long ago is forgotten: the service's limits, or the load on
/// them, have changed since (a warm function keeps its clients between invocations).
pub const FORGET: Duration = Duration::from_secs(600);
/// How long a call waiting for its turn sleeps before it looks again (the rate may have
/// risen meanwhile).
const RECHECK: Duration = Duration::from_millis(50);

/// The pace of one client's calls.
#[derive(Debug, Default)]
pub struct Pace {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Calls a second; `None` until the service first throttles.
    rate: Option<f64>,
    /// Raising the rate by one call per call admitted, until the next throttle.
    slow_start: bool,
    /// When the last call started.
    last_start: Option<Instant>,
    /// When the rate was last cut.
    cut_at: Option<Instant>,
    /// The rate the last cut started from.
    ceiling: f64,
}

impl Pace {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current pace in calls a second; `None` while unlimited.
    #[cfg(test)]
    pub fn rate(&self) -> Option<f64> {
        self.state().rate
    }

    /// Waits for this call's turn: at once while the service has not throttled.
    pub async fn turn(&self) {
        loop {
            let wait = self.try_start(Instant::now());
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait.min(RECHECK)).await;
        }
    }

    /// Starts a call now if its turn has come (zero), else says how long until it does.
    fn try_start(&self, now: Instant) -> Duration {
        let mut state = self.state();
        if state.cut_at.is_some_and(|cut| now > cut + FORGET) {
            *state = State::default();
        }
        let (Some(rate), Some(last)) = (state.rate, state.last_start) else {
            state.last_start = Some(now);
            return Duration::ZERO;
        };
        let next = last + Duration::from_secs_f64(1.0 / rate);
        if now >= next {
            state.last_start = Some(now);
            Duration::ZERO
        } else {
            next - now
        }
    }

    /// An attempt the service throttled.
    pub fn throttled(&self, now: Instant) {
        let mut state = self.state();
        if state.cut_at.is_some_and(|cut| now < cut + HOLD) {
            return;
        }
        state.cut_at = Some(now);
        match state.rate {
            None => {
                state.rate = Some(INITIAL_RATE);
                state.slow_start = true;
            }
            Some(rate) => {
                state.rate = Some((rate * BETA).max(MIN_RATE));
                state.ceiling = rate;
                state.slow_start = false;
            }
        }
        tracing::debug!(rate = state.rate, "Lightsail throttled: pacing the calls");
    }

    /// An attempt the service answered.
    pub fn admitted(&self) {
        let mut state = self.state();
        let (slow_start, ceiling) = (state.slow_start, state.ceiling);
        if let Some(rate) = state.rate.as_mut() {
            // Each call admitted adds its share of a second's climb: `rate` calls a
            // second make the rate grow by `per_second` every second.
            let per_second = if slow_start {
                SLOW_START_GAIN * *rate
            } else if *rate < ceiling {
                (ceiling - *rate) * std::f64::consts::LN_2 / RECOVERY.as_secs_f64()
            } else {
                0.0
            };
            *rate += per_second.max(1.0) / *rate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_go_at_once_until_the_service_throttles() {
        let pace = Pace::new();
        let start = Instant::now();
        for _ in 0..1_000 {
            pace.turn().await;
        }
        assert_eq!(Instant::now(), start, "no call waited");
        assert_eq!(pace.rate(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_paces_the_calls_at_the_initial_rate() {
        let pace = Pace::new();
        pace.turn().await;
        pace.throttled(Instant::now());
        let start = Instant::now();
        for _ in 0..10 {
            pace.turn().await;
        }
        // Ten calls at ten a second, the first of them one interval after the call
        // before the throttle.
        let took = Instant::now() - start;
        assert!(
            took >= Duration::from_millis(990) && took <= Duration::from_millis(1_060),
            "{took:?}"
        );
    }

    /// Admits calls at the current rate for `seconds` (of simulated time).
    fn admit_for(pace: &Pace, seconds: f64) {
        let mut t = 0.0;
        while t < seconds {
            t += 1.0 / pace.rate().unwrap();
            pace.admitted();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_throttles_cuts_once() {
        let pace = Pace::new();
        let now = Instant::now();
        pace.throttled(now);
        for _ in 0..20 {
            pace.admitted();
        }
        assert_eq!(
            pace.rate(),
            Some(INITIAL_RATE + 20.0 * SLOW_START_GAIN),
            "slow start: +{SLOW_START_GAIN} a call"
        );
        let before = pace.rate().unwrap();
        for _ in 0..30 {
            pace.throttled(now + HOLD / 2);
        }
        assert_eq!(pace.rate(), Some(before), "the same burst");
        pace.throttled(now + HOLD);
        assert_eq!(pace.rate(), Some(before * BETA));
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_cut_the_rate_climbs_back_fast_then_probes_slowly() {
        let pace = Pace::new();
        let now = Instant::now();
        pace.throttled(now);
        for _ in 0..45 {
            pace.admitted();
        }
        let ceiling = pace.rate().unwrap();
        assert_eq!(ceiling, 100.0);
        pace.throttled(now + HOLD);
        let gap = ceiling * (1.0 - BETA);
        // The gap to the ceiling halves in about RECOVERY.
        admit_for(&pace, RECOVERY.as_secs_f64());
        let left = ceiling - pace.rate().unwrap();
        assert!(left > 0.4 * gap && left < 0.6 * gap, "{left} of {gap} left");
        // Past the ceiling: about one call a second more every second.
        admit_for(&pace, 10.0);
        let above = pace.rate().unwrap();
        admit_for(&pace, 5.0);
        let climbed = pace.rate().unwrap() - above;
        assert!(above > ceiling, "{above}");
        assert!(climbed > 4.5 && climbed < 5.5, "{climbed} in 5 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pace_is_forgotten_after_a_quiet_while() {
        let pace = Pace::new();
        pace.turn().await;
        pace.throttled(Instant::now());
        assert_eq!(pace.rate(), Some(INITIAL_RATE));
        tokio::time::advance(FORGET + Duration::from_secs(1)).await;
        let start = Instant::now();
        for _ in 0..100 {
            pace.turn().await;
        }
        assert_eq!(Instant::now(), start);
        assert_eq!(pace.rate(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_never_falls_below_its_floor() {
        let pace = Pace::new();
        let mut now = Instant::now();
        for _ in 0..200 {
            pace.throttled(now);
            now += HOLD;
        }
        assert_eq!(pace.rate(), Some(MIN_RATE));
    }
}
