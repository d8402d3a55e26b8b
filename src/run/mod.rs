//! One run as a pipeline of stages (SPEC §12):
//! list → plan → fetch → evaluate and decide → deliver → report.
//!
//! The run streams: each query's datapoints flow on as soon as they arrive — evaluated,
//! decided against the state store, claimed, published and confirmed — without waiting
//! for the other queries, so a slow or hung instance delays nothing but itself. With a
//! [`Deadline`], no fetch starts near it, fetches in flight are abandoned at it, and
//! every alarm not evaluated by then is an `ERROR` result with stage `deadline`; what was
//! evaluated is still delivered. More than `groupAbove` notices for one target go as
//! digests (SPEC §16, `group`), their claims still per key. The Lambda handler and the
//! `check` command both call [`run`]; only their sources, sinks and state stores differ.
//! [`simulate`] is a dry run that records its decisions (`check --state-file`).

mod deadline;
mod decide;
mod deliver;
mod fetch;
mod group;
mod hold;
mod list;
mod plan;
pub mod report;
mod response;

pub use deadline::Deadline;
pub(crate) use list::{Listings, list_all};
pub use report::{HeldBy, HoldKind, Report, ResultState, RuleResult, RunError, RunWarning, Stage};
pub use response::{MAX_RESPONSE_BYTES, Omitted};

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::future::{FutureExt, Shared};
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::domain::alert::Alert;
use crate::domain::plan::MetricDatapoint;
use crate::domain::silence::Active;
use crate::domain::time;
use crate::domain::transition::Why;
use crate::ports::{
    AlertSink, FetchError, Loaded, MetricSource, ResourceSource, SILENCES_KEY, StateStore,
    Unreadable,
};
use crate::rules::RuleSet;
use decide::States;
use group::{GROUP_WAIT, Grouper, Job, Queued};
use plan::Plan;

/// How a run is made.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// The evaluation time `t`: the scheduled time, `--at`, or now.
    pub at: DateTime<Utc>,
    /// Calls in flight at once (`ALERT_MAX_CONCURRENCY`), for each of fetching and
    /// delivering.
    pub concurrency: usize,
    /// When to stop; none on the command line without `--timeout`.
    pub deadline: Option<Deadline>,
}

/// What one alarm came to: its result, its error, what was published or (in a dry run)
/// would have been.
struct Settled {
    index: usize,
    result: RuleResult,
    errors: Vec<RunError>,
    warnings: Vec<RunWarning>,
    published: usize,
    shown: Vec<Alert>,
}

/// A claimed notification whose alerts the grouper is to publish: the alarm is settled
/// once they are out.
struct Handover {
    alerts: Vec<Alert>,
    claim: deliver::Claim,
}

type Fetched = Arc<Result<Vec<MetricDatapoint>, FetchError>>;

/// How a run delivers what it decides.
enum Delivery<'k, K> {
    /// Publish to the sink; with a state store, claim, publish, confirm.
    Publish(&'k K),
    /// Publish nothing and store nothing: the alerts go into the report.
    DryRun,
    /// Publish nothing, but record every decision in the state store as if its alerts
    /// had been published (a local state file, SPEC §15): the alerts go into the report.
    Simulate,
    /// Within [`stream`], with grouping: claim, and hand the alerts over to the grouper,
    /// which publishes them alone or in digests; confirm or release once they are out.
    Grouped,
}

impl<K> Clone for Delivery<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for Delivery<'_, K> {}

/// Runs every rule at `options.at`: lists, plans, fetches, evaluates, decides against the
/// state store (when there is one) and publishes to `sink` — or, without a sink (a dry
/// run), puts the alerts into the report.
pub async fn run<S, K, D>(
    rules: &RuleSet,
    source: &S,
    sink: Option<&K>,
    store: Option<&D>,
    options: RunOptions,
) -> Report
where
    S: MetricSource + ResourceSource,
    K: AlertSink,
    D: StateStore,
{
    let delivery = sink.map_or(Delivery::DryRun, Delivery::Publish);
    execute(rules, source, delivery, store, options).await
}

/// A dry run that still records its decisions in `store` (`check --state-file` without
/// `--publish`): each notice is claimed and confirmed as if it had been published, so
/// the next run sees the transition, the open alarm and the time of the last notice. The
/// report is a dry run's, its notified results marked `notified`, their alerts in
/// `alerts`.
pub async fn simulate<S, D>(rules: &RuleSet, source: &S, store: &D, options: RunOptions) -> Report
where
    S: MetricSource + ResourceSource,
    D: StateStore,
{
    execute::<S, deliver::Simulated, D>(rules, source, Delivery::Simulate, Some(store), options)
        .await
}

async fn execute<S, K, D>(
    rules: &RuleSet,
    source: &S,
    delivery: Delivery<'_, K>,
    store: Option<&D>,
    options: RunOptions,
) -> Report
where
    S: MetricSource + ResourceSource,
    K: AlertSink,
    D: StateStore,
{
    let started = std::time::Instant::now();
    let dry_run = matches!(delivery, Delivery::DryRun | Delivery::Simulate);
    let mut report = Report::new(options.at, dry_run);
    let needed = plan::listings_needed(rules);
    let listing_calls = needed.len();
    if !needed.is_empty() {
        // One line per listing: fields are values, not a list in a string.
        for (kind, region) in &needed {
            tracing::info!(resource_type = kind.as_str(), %region, "listing resources");
        }
    }
    let listings = list::list_all(source, needed, options.concurrency, options.deadline).await;
    let plan = Plan::new(&rules.rules, &listings, options.at, &mut report);
    drop(listings);
    // The document's silences in force at `t`, found once for every alarm.
    let silences = Active::of_rules(&rules.silences, options.at);
    let queries = plan.queries.len();
    tracing::info!(alarms = plan.alarms.len(), queries, at = %time::rfc3339(options.at), "fetching datapoints");

    let states = load_states(store, plan.keys(), options.deadline)
        .boxed()
        .shared();
    // The states are read while the first fetches are in flight; polling them here too
    // keeps the read going when no alarm is waiting for it yet.
    let grouping = rules.group_above.map(|n| n as usize);
    let (states, (settled, digests)) = tokio::join!(
        states.clone(),
        stream(
            &plan,
            source,
            delivery,
            store,
            states.clone(),
            Noise {
                silences: &silences,
                grouping,
            },
            &options,
        )
    );
    warn_unreadable(&plan, &states, &mut report);
    if let States::Unavailable(message) = states.as_ref() {
        report
            .errors
            .push(RunError::general(Stage::State, None, None, message.clone()));
    }
    report.absorb(settled);
    report.published += digests;
    // A dry run shows what a publishing run would send: digests where it would group.
    if let Some(alerts) = report.alerts.take() {
        report.alerts = Some(group::group_shown(alerts, grouping));
    }
    summarise(&report, started.elapsed(), listing_calls, queries);
    report
}

/// The run's one summary line: its counts, how long it took and the calls it planned,
/// each a number of its own (a JSON number in the Lambda's JSON logs).
fn summarise(report: &Report, took: std::time::Duration, listings: usize, queries: usize) {
    let count = |state: &str| {
        report
            .counts()
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n)
    };
    tracing::info!(
        at = %time::rfc3339(report.evaluated_at),
        dry_run = report.dry_run,
        results = report.results.len(),
        alarm = count("ALARM"),
        ok = count("OK"),
        insufficient_data = count("INSUFFICIENT_DATA"),
        error = count("ERROR"),
        published = report.published,
        errors = report.errors.len(),
        warnings = report.warnings.len(),
        listings,
        metric_queries = queries,
        duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        "run finished"
    );
}

/// The stored states of `keys`, read while the run starts fetching.
async fn load_states<D: StateStore>(
    store: Option<&D>,
    keys: Vec<String>,
    deadline: Option<Deadline>,
) -> Arc<States> {
    let Some(store) = store else {
        return Arc::new(States::Stateless);
    };
    // The ad hoc silences come with the alarms' items, in the same calls.
    let mut keys = keys;
    keys.push(SILENCES_KEY.to_owned());
    let until = deadline.map(|d| d.fetch_by());
    let states = match deadline::within(until, store.load(&keys)).await {
        Some(Ok(mut loaded)) => {
            set_aside_the_future(&mut loaded, Utc::now());
            States::Loaded(loaded)
        }
        Some(Err(err)) => {
            tracing::error!(error = %err, "the alarm state could not be read");
            States::Unavailable(err.to_string())
        }
        None => States::Unavailable(format!(
            "{} passed before the alarm state was read",
            deadline.map(|d| d.describe()).unwrap_or_default()
        )),
    };
    Arc::new(states)
}

/// How far past the clock a stored range end may lie (clocks differ a little).
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// An item evaluated for a range that ends in the future was written by a run given a
/// future evaluation time (now refused): left as it is, it would make every real
/// evaluation stale, silently, for good. It is treated like an unreadable item: absent
/// for its key, replaced by the next write.
fn set_aside_the_future(loaded: &mut Loaded, now: DateTime<Utc>) {
    let future: Vec<String> = loaded
        .states
        .iter()
        .filter(|(_, stored)| stored.range_end > now + CLOCK_SKEW)
        .map(|(key, _)| key.clone())
        .collect();
    for key in future {
        if let Some(stored) = loaded.states.remove(&key) {
            let problem = format!(
                "its range end {} is in the future (the clock says {}): it was written by a run with a future evaluation time",
                crate::domain::time::rfc3339(stored.range_end),
                crate::domain::time::rfc3339(now)
            );
            let version = Some(stored.version);
            loaded
                .unreadable
                .insert(key, Unreadable { version, problem });
        }
    }
}

/// A warning for each alarm whose state item could not be used, and for the ad hoc
/// silences' item.
fn warn_unreadable(plan: &Plan<'_>, states: &States, report: &mut Report) {
    let States::Loaded(loaded) = states else {
        return;
    };
    if let Some(unreadable) = loaded.unreadable.get(SILENCES_KEY) {
        let message = format!(
            "the ad hoc silences' item `{SILENCES_KEY}` is unreadable ({}): no ad hoc silence \
             applies; delete the item to start afresh (`silence add` will not write over it)",
            unreadable.problem
        );
        tracing::warn!("{message}");
        report.warnings.push(RunWarning {
            rule: String::new(),
            region: String::new(),
            message,
        });
    }
    for planned in &plan.alarms {
        let Some(unreadable) = loaded.unreadable.get(&planned.key) else {
            continue;
        };
        let message = format!(
            "state item {} is unreadable ({}): evaluated as if it were absent (a first evaluation); the next write replaces it",
            planned.key, unreadable.problem
        );
        tracing::warn!(key = %planned.key, "{message}");
        report.warnings.push(RunWarning {
            rule: planned.alarm.rule.name.to_string(),
            region: planned.alarm.region.to_owned(),
            message,
        });
    }
}

/// What the rules document says about noise, for every alarm of the run (SPEC §16).
#[derive(Clone, Copy)]
struct Noise<'a> {
    /// The silences in force now.
    silences: &'a [Active],
    /// `groupAbove`: more notices than this for one target go as digests.
    grouping: Option<usize>,
}

/// The streaming part of a run: queries are fetched, at most `concurrency` at once, and
/// each answer's alarms are settled (decided and delivered, at most `concurrency` at
/// once) while the other queries are still in flight. Returns the settled alarms and the
/// digests published.
///
/// A call that takes far longer than the run's calls do (see [`Slots`]) stops holding
/// its slot, so that hung instances cannot take every slot and starve the healthy rest.
///
/// The document's `silences` in force hold notices (SPEC §16). With `grouping`
/// (`groupAbove`), a publishing run hands each claimed notice's alerts to
/// a [`Grouper`], which publishes them alone or in digests (at most `concurrency` at
/// once); each key waits for its alerts' outcomes without holding a slot, then is
/// confirmed or released.
async fn stream<'p, S, K, D>(
    plan: &'p Plan<'p>,
    source: &S,
    delivery: Delivery<'_, K>,
    store: Option<&D>,
    states: Shared<futures_util::future::BoxFuture<'_, Arc<States>>>,
    noise: Noise<'_>,
    options: &RunOptions,
) -> (Vec<Settled>, usize)
where
    S: MetricSource,
    K: AlertSink,
    D: StateStore,
{
    let concurrency = options.concurrency.max(1);
    let until = options.deadline.map(|d| d.finish_by());
    // Only what is published is grouped as it streams; a dry run's alerts are grouped
    // in the report.
    let Noise { silences, grouping } = noise;
    let (delivery, sink, mut grouper) = match (delivery, grouping) {
        (Delivery::Publish(sink), Some(above)) => (
            Delivery::Grouped,
            Some(sink),
            Some(Grouper::new(
                above,
                GROUP_WAIT,
                options.deadline.map(|d| d.fetch_by()),
            )),
        ),
        _ => (delivery, None, None),
    };
    let mut queries = plan.queries.iter();
    let mut slots = Slots::new(concurrency);
    let mut fetching = FuturesUnordered::new();
    let mut timers = FuturesUnordered::new();
    // Names the listing does not have are settled without a call.
    let mut ready: VecDeque<(usize, Fetched)> = plan
        .alarms
        .iter()
        .enumerate()
        .filter(|(_, planned)| !planned.listed)
        .map(|(index, planned)| (index, Arc::new(Err(decide::not_listed(planned)))))
        .collect();
    let mut settling = FuturesUnordered::new();
    let mut waiting = FuturesUnordered::new();
    let mut jobs: VecDeque<Job> = VecDeque::new();
    let mut publishing = FuturesUnordered::new();
    let mut settled = Vec::with_capacity(plan.alarms.len());
    // Each alarm's state once settled in this run: an inhibited alarm waits for its
    // inhibitors' (SPEC §16), unless nothing else is left to wait for.
    let mut evaluated: Vec<Option<ResultState>> = vec![None; plan.alarms.len()];
    let mut inhibited: Vec<(usize, Fetched)> = Vec::new();
    let mut no_more_waits = false;
    let mut digests = 0;
    loop {
        while slots.free() {
            let Some((query, alarms)) = queries.next() else {
                break;
            };
            let (call, slow_after) = slots.take();
            fetching.push(async move {
                let started = Instant::now();
                let fetched = fetch::fetch(source, query, options.deadline).await;
                (call, alarms, started.elapsed(), Arc::new(fetched))
            });
            timers.push(async move {
                tokio::time::sleep(slow_after).await;
                call
            });
        }
        while settling.len() < concurrency {
            let Some((index, fetched)) = ready.pop_front() else {
                break;
            };
            let inhibitors = &plan.alarms[index].inhibitors;
            let unsettled = inhibitors.iter().any(|i| {
                i.alarm
                    .is_some_and(|j| j != index && evaluated[j].is_none())
            });
            if unsettled && !no_more_waits {
                inhibited.push((index, fetched));
                continue;
            }
            let known = hold::Known {
                silences,
                inhibitors: inhibitors
                    .iter()
                    .map(|i| i.alarm.and_then(|j| evaluated[j]))
                    .collect(),
            };
            let states = states.clone();
            settling.push(settle(
                plan, index, fetched, delivery, store, states, known, options,
            ));
        }
        if fetching.is_empty() && settling.is_empty() && ready.is_empty() && !inhibited.is_empty() {
            // Only waits are left (an inhibitor that cannot settle first): the stored
            // states decide.
            no_more_waits = true;
            ready.extend(inhibited.drain(..));
            continue;
        }
        if let Some(grouper) = grouper.as_mut()
            && queries.as_slice().is_empty()
            && fetching.is_empty()
            && ready.is_empty()
            && settling.is_empty()
            && inhibited.is_empty()
        {
            // No notice can come any more: what is held goes now.
            jobs.extend(grouper.flush());
        }
        if let Some(sink) = sink {
            while publishing.len() < concurrency {
                let Some(job) = jobs.pop_front() else {
                    break;
                };
                publishing.push(job.publish(sink, until));
            }
        }
        let wakeup = grouper.as_ref().and_then(Grouper::next_wakeup);
        tokio::select! {
            Some((call, alarms, took, fetched)) = fetching.next() => {
                slots.answered(call, took, fetched.is_ok());
                ready.extend(alarms.iter().map(|&index| (index, fetched.clone())));
            }
            Some(call) = timers.next(), if slots.any_in_flight() => slots.slow(call),
            Some((done, handover)) = settling.next() => {
                evaluated[done.index] = Some(done.result.state);
                let (free, still): (Vec<_>, Vec<_>) = inhibited.drain(..).partition(|(index, _)| {
                    plan.alarms[*index]
                        .inhibitors
                        .iter()
                        .all(|i| i.alarm.is_none_or(|j| evaluated[j].is_some()))
                });
                inhibited = still;
                ready.extend(free);
                match handover {
                    None => settled.push(done),
                    Some(handover) => {
                        let mut replies = Vec::with_capacity(handover.alerts.len());
                        for alert in handover.alerts {
                            let (reply, receiver) = tokio::sync::oneshot::channel();
                            replies.push((alert.clone(), receiver));
                            if let Some(grouper) = grouper.as_mut() {
                                jobs.extend(grouper.push(Queued { alert, reply }, Instant::now()));
                            }
                        }
                        waiting.push(await_grouped(
                            done,
                            handover.claim,
                            replies,
                            store,
                            options,
                        ));
                    }
                }
            }
            Some(done) = waiting.next() => settled.push(done),
            Some(digest) = publishing.next() => digests += usize::from(digest),
            () = tokio::time::sleep_until(wakeup.unwrap_or_else(Instant::now)), if wakeup.is_some() => {
                if let Some(grouper) = grouper.as_mut() {
                    jobs.extend(grouper.wake(Instant::now()));
                }
            }
            else => break,
        }
    }
    (settled, digests)
}

/// A key whose alerts the grouper publishes: waits for their outcomes, confirms or
/// releases it, and records what happened.
async fn await_grouped<D: StateStore>(
    mut settled: Settled,
    claim: deliver::Claim,
    replies: Vec<(Alert, tokio::sync::oneshot::Receiver<deliver::Sent>)>,
    store: Option<&D>,
    options: &RunOptions,
) -> Settled {
    let until = options.deadline.map(|d| d.finish_by());
    let done = deliver::await_sent(claim, replies, store, options.at, until).await;
    settled.published = deliver::record(done, &mut settled.result, &mut settled.errors);
    settled
}

/// The fetch slots of a run. A call holds its slot until it is answered, or until it
/// has taken four times the run's typical latency (at least [`SLOW_CALL`]; before any
/// call has answered, [`FIRST_SLOW_CALL`]): then it goes on without a slot. Calls that answer at the service's normal pace are
/// never more than `ALERT_MAX_CONCURRENCY` at once; a hung one delays only itself.
struct Slots {
    limit: usize,
    busy: usize,
    next_call: usize,
    /// Calls in flight; `true` once slow (their slot given back).
    in_flight: std::collections::HashMap<usize, bool>,
    /// A moving average of the answered calls' latency, in seconds.
    typical: Option<f64>,
}

/// The least a call may take before it gives its slot back.
const SLOW_CALL: Duration = Duration::from_millis(250);
/// How long a call holds its slot while the run knows no typical latency yet.
const FIRST_SLOW_CALL: Duration = Duration::from_secs(2);

impl Slots {
    fn new(limit: usize) -> Self {
        Slots {
            limit,
            busy: 0,
            next_call: 0,
            in_flight: std::collections::HashMap::new(),
            typical: None,
        }
    }

    fn free(&self) -> bool {
        self.busy < self.limit
    }

    fn any_in_flight(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Takes a slot for a new call: its id, and when it counts as slow.
    fn take(&mut self) -> (usize, Duration) {
        let call = self.next_call;
        self.next_call += 1;
        self.busy += 1;
        self.in_flight.insert(call, false);
        let slow_after = match self.typical {
            Some(typical) => Duration::from_secs_f64(typical * 4.0).max(SLOW_CALL),
            None => FIRST_SLOW_CALL,
        };
        (call, slow_after)
    }

    /// `call` has taken long: it gives its slot back and goes on.
    fn slow(&mut self, call: usize) {
        if let Some(slow) = self.in_flight.get_mut(&call).filter(|slow| !**slow) {
            *slow = true;
            self.busy -= 1;
            tracing::debug!(call, "a slow call gave its slot back");
        }
    }

    /// `call` was answered after `took`.
    fn answered(&mut self, call: usize, took: Duration, ok: bool) {
        if self.in_flight.remove(&call) == Some(false) {
            self.busy -= 1;
        }
        if ok {
            let took = took.as_secs_f64();
            self.typical = Some(match self.typical {
                None => took,
                Some(typical) => typical * 0.9 + took * 0.1,
            });
        }
    }
}

/// Decides one alarm and delivers its notification (or, in a dry run, shows it); with
/// grouping, a notification to publish is claimed and handed over for the grouper, and
/// the alarm is settled once its alerts are out.
#[allow(clippy::too_many_arguments)] // one per stage input; bundling them would only rename
async fn settle<K: AlertSink, D: StateStore>(
    plan: &Plan<'_>,
    index: usize,
    fetched: Fetched,
    delivery: Delivery<'_, K>,
    store: Option<&D>,
    states: Shared<futures_util::future::BoxFuture<'_, Arc<States>>>,
    known: hold::Known<'_>,
    options: &RunOptions,
) -> (Settled, Option<Handover>) {
    let states = states.await;
    let planned = &plan.alarms[index];
    let (holding, warning) = hold::find(planned, &known, &states, options.at);
    let decision = decide::decide(planned, &fetched, &states, options.at, holding);
    let mut settled = Settled {
        index,
        result: decision.result,
        errors: decision.error.into_iter().collect(),
        warnings: warning.into_iter().collect(),
        published: 0,
        shown: Vec::new(),
    };
    let pending = decision.pending;
    let until = options.deadline.map(|d| d.finish_by());
    match delivery {
        Delivery::DryRun => {
            // A dry run stores nothing and shows what it would have sent.
            if !pending.alerts.is_empty() {
                settled.result.why = Why::DryRun;
            }
            settled.shown = pending.alerts;
        }
        _ if pending.alerts.is_empty() && pending.write.is_none() => {}
        Delivery::Simulate => {
            let sink = &deliver::Simulated;
            let done = deliver::deliver(pending, sink, store, options.at, until).await;
            settled.shown = deliver::simulated(done, &mut settled.result, &mut settled.errors);
        }
        Delivery::Grouped => {
            let (claimed, done) = deliver::claim(pending, store, until).await;
            if let Some((alerts, claim)) = claimed
                && !alerts.is_empty()
            {
                return (settled, Some(Handover { alerts, claim }));
            }
            settled.published = deliver::record(done, &mut settled.result, &mut settled.errors);
        }
        Delivery::Publish(sink) => {
            let done = deliver::deliver(pending, sink, store, options.at, until).await;
            settled.published = deliver::record(done, &mut settled.result, &mut settled.errors);
        }
    }
    (settled, None)
}

impl Report {
    pub(crate) fn new(at: DateTime<Utc>, dry_run: bool) -> Self {
        Report {
            evaluated_at: at,
            dry_run,
            results: Vec::new(),
            published: 0,
            errors: Vec::new(),
            warnings: Vec::new(),
            alerts: dry_run.then(Vec::new),
            omitted: None,
        }
    }

    /// Adds the settled alarms, in the plan's order whatever order they settled in.
    fn absorb(&mut self, mut settled: Vec<Settled>) {
        settled.sort_by_key(|s| s.index);
        self.results.reserve(settled.len());
        for one in settled {
            self.results.push(one.result);
            self.errors.extend(one.errors);
            // A resource's tag is said once, whichever rules watch it.
            for warning in one.warnings {
                let known = self
                    .warnings
                    .iter()
                    .any(|w| w.region == warning.region && w.message == warning.message);
                if !known {
                    tracing::warn!(rule = %warning.rule, region = %warning.region, "{}", warning.message);
                    self.warnings.push(warning);
                }
            }
            self.published += one.published;
            if let Some(alerts) = self.alerts.as_mut() {
                alerts.extend(one.shown);
            }
        }
    }
}
