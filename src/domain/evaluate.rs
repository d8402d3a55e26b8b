//! CloudWatch alarm evaluation (SPEC §4): pure functions over datapoints, no async, no
//! AWS types, so every rule of the CloudWatch user guide is a plain table test.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::catalog::{Comparison, TreatMissingData};
use crate::domain::time;

/// The state of an alarm, spelled as CloudWatch spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AlarmState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

/// One value of the rule's statistic for one period; `timestamp` is the period's start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Datapoint {
    #[serde(serialize_with = "crate::domain::time::serialize")]
    pub timestamp: DateTime<Utc>,
    pub value: f64,
}

/// What a rule asks of its datapoints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Criteria {
    pub comparison: Comparison,
    pub threshold: f64,
    /// Period length in seconds.
    pub period: u32,
    /// N
    pub evaluation_periods: u32,
    /// M, 1..=N
    pub datapoints_to_alarm: u32,
    pub treat_missing_data: TreatMissingData,
}

/// The outcome of the decision table, before a kept state is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    State(AlarmState),
    KeepPrevious,
}

/// The result of evaluating one rule for one instance at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub state: AlarmState,
    /// CloudWatch-style explanation of the state.
    pub reason: String,
    /// The datapoints the decision was made on, oldest first.
    pub datapoints: Vec<Datapoint>,
    /// End of the age-1 period (the most recent complete period).
    pub range_end: DateTime<Utc>,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// End of the most recent complete period at `t`: periods are aligned to multiples of
/// `period` seconds since the Unix epoch, and a period is complete when its end is at or
/// before `t`, so this is `floor(t / period) * period`.
///
/// # Panics
/// When `period` is 0 (rules never allow it).
pub fn range_end(t: DateTime<Utc>, period: u32) -> DateTime<Utc> {
    let period = i64::from(period);
    // `timestamp()` floors away the sub-second part, so a period ending exactly at `t`,
    // or a moment before it, counts as complete.
    let end = t.timestamp().div_euclid(period) * period;
    DateTime::from_timestamp(end, 0).expect("a period boundary at or before a valid time")
}

/// The half-open range `[start, end)` covering ages `1..=periods` at time `t`.
pub fn range(t: DateTime<Utc>, period: u32, periods: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let end = range_end(t, period);
    let length = TimeDelta::seconds(i64::from(periods) * i64::from(period));
    (end - length, end)
}

/// The age of the period containing `timestamp`: 1 for `[end - period, end)`, 2 for the
/// one before, and so on; 0 or negative at or after `range_end` (incomplete periods).
///
/// # Panics
/// When `period` is 0.
pub fn age(range_end: DateTime<Utc>, period: u32, timestamp: DateTime<Utc>) -> i64 {
    // Whole nanoseconds, so a timestamp a hair before a boundary lands in the right period.
    let nanos = |t: DateTime<Utc>| {
        i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
    };
    let period = i128::from(period) * 1_000_000_000;
    let periods_after_end = (nanos(timestamp) - nanos(range_end)).div_euclid(period);
    i64::try_from(-periods_after_end).expect("chrono's whole range in periods fits in i64")
}

/// The decision table of SPEC §4. `real` holds one `(age, breaching)` per real datapoint
/// in the evaluation range (ages `1..=n + 2`, each age at most once), in any order;
/// `n` is `evaluationPeriods` and `m` is `datapointsToAlarm`.
pub fn decide(real: &[(u32, bool)], n: u32, m: u32, treat: TreatMissingData) -> Decision {
    let mut recent_first = real.to_vec();
    recent_first.sort_unstable_by_key(|&(age, _)| age);
    outcome(&recent_first, n, m, treat).decision
}

/// Evaluates one rule for one instance at time `t`. Only datapoints of ages `1..=N + 2`
/// count, one per period (of two in the same period, the later in the slice wins);
/// `datapoints` may be in any order. A kept state resolves to `previous`, or to
/// INSUFFICIENT_DATA when there is none.
pub fn evaluate(
    criteria: &Criteria,
    datapoints: &[Datapoint],
    t: DateTime<Utc>,
    previous: Option<AlarmState>,
) -> Evaluation {
    let end = range_end(t, criteria.period);
    let periods = criteria.evaluation_periods.saturating_add(2);
    let mut by_age = BTreeMap::new();
    for datapoint in datapoints {
        let age = age(end, criteria.period, datapoint.timestamp);
        if let Ok(age) = u32::try_from(age)
            && (1..=periods).contains(&age)
        {
            by_age.insert(age, *datapoint);
        }
    }
    let real: Vec<(u32, bool)> = by_age
        .iter()
        .map(|(&age, point)| (age, breaches(criteria, point)))
        .collect();
    let recent_first: Vec<Datapoint> = by_age.into_values().collect();

    let outcome = outcome(
        &real,
        criteria.evaluation_periods,
        criteria.datapoints_to_alarm,
        criteria.treat_missing_data,
    );
    let state = match outcome.decision {
        Decision::State(state) => state,
        Decision::KeepPrevious => previous.unwrap_or(AlarmState::InsufficientData),
    };
    let used = &recent_first[..outcome.used];
    let reason = reason(criteria, &outcome, used, periods, previous);
    Evaluation {
        state,
        reason,
        datapoints: used.iter().rev().copied().collect(),
        range_end: end,
    }
}

fn breaches(criteria: &Criteria, datapoint: &Datapoint) -> bool {
    criteria
        .comparison
        .breaches(datapoint.value, criteria.threshold)
}

/// What `decide` found, with what the reason has to explain.
struct Outcome {
    decision: Decision,
    /// How many of the real datapoints (most recent first) were evaluated.
    used: usize,
    /// Breaching datapoints among the N evaluated, counting filled ones.
    breaching: u32,
    /// Missing datapoints that `treatMissingData` stood in for.
    filled: u32,
    /// The oldest real datapoint's age, when the premature-alarm rule alone decided.
    premature: Option<u32>,
}

/// The decision table over real datapoints sorted most recent first.
fn outcome(recent_first: &[(u32, bool)], n: u32, m: u32, treat: TreatMissingData) -> Outcome {
    use TreatMissingData::{Breaching, Ignore, Missing, NotBreaching};
    let state = |alarm: bool| {
        Decision::State(if alarm {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        })
    };
    let count_breaching =
        |points: &[(u32, bool)]| saturating_u32(points.iter().filter(|p| p.1).count());
    let real = saturating_u32(recent_first.len());

    if real >= n {
        let used = &recent_first[..n as usize];
        let breaching = count_breaching(used);
        return Outcome {
            decision: state(breaching >= m),
            used: used.len(),
            breaching,
            filled: 0,
            premature: None,
        };
    }

    let filled = n - real;
    if real == 0 {
        let decision = match treat {
            Missing => Decision::State(AlarmState::InsufficientData),
            Ignore => Decision::KeepPrevious,
            Breaching => Decision::State(AlarmState::Alarm),
            NotBreaching => Decision::State(AlarmState::Ok),
        };
        let breaching = if treat == Breaching { filled } else { 0 };
        return Outcome {
            decision,
            used: 0,
            breaching,
            filled,
            premature: None,
        };
    }

    let breaching_real = count_breaching(recent_first);
    let oldest = recent_first.last().map_or(0, |&(age, _)| age);
    // CloudWatch does not wait for periods that cannot clear the alarm: when everything
    // present breaches and reaches back M periods, it alarms on fewer than M datapoints.
    let premature = (matches!(treat, Missing | Ignore)
        && breaching_real < m
        && breaching_real == real
        && oldest >= m)
        .then_some(oldest);
    let (decision, breaching) = match treat {
        Breaching => (state(breaching_real + filled >= m), breaching_real + filled),
        NotBreaching => (state(breaching_real >= m), breaching_real),
        Missing => (
            state(breaching_real >= m || premature.is_some()),
            breaching_real,
        ),
        Ignore if premature.is_some() => (Decision::KeepPrevious, breaching_real),
        Ignore => (state(breaching_real >= m), breaching_real),
    };
    Outcome {
        decision,
        used: recent_first.len(),
        breaching,
        filled,
        premature,
    }
}

/// A CloudWatch-style state reason; `recent_first` are the real datapoints evaluated.
fn reason(
    criteria: &Criteria,
    outcome: &Outcome,
    recent_first: &[Datapoint],
    periods: u32,
    previous: Option<AlarmState>,
) -> String {
    use TreatMissingData::{Breaching, Ignore, Missing, NotBreaching};
    let treat = criteria.treat_missing_data;
    let treated = format!(
        "{} {} treated as [{}]",
        counted(outcome.filled, "missing datapoint"),
        was_were(outcome.filled),
        match treat {
            Missing => "Missing",
            Ignore => "Ignore",
            Breaching => "Breaching",
            NotBreaching => "NotBreaching",
        }
    );
    let kept = match previous {
        Some(state) => format!("so the previous state ({state}) is kept"),
        None => format!(
            "and with no previous state the state is {}",
            AlarmState::InsufficientData
        ),
    };

    if recent_first.is_empty() && outcome.filled > 0 {
        let none = format!(
            "no datapoints were received for {}",
            counted(periods, "period")
        );
        return match treat {
            Missing => format!("Insufficient Data: {none} and {treated}."),
            Ignore => format!("Insufficient Data: {none}; missing data is ignored, {kept}."),
            Breaching | NotBreaching => format!("Threshold Crossed: {none} and {treated}."),
        };
    }

    let listed: Vec<String> = recent_first
        .iter()
        .map(|point| format!("{:?} ({})", point.value, time::rfc3339(point.timestamp)))
        .collect();
    let mut reason = format!(
        "Threshold Crossed: {} out of the last {} [{}] {} {} the threshold ({:?}) (minimum {} for ALARM).",
        outcome.breaching,
        counted(criteria.evaluation_periods, "datapoint"),
        listed.join(", "),
        was_were(outcome.breaching),
        criteria.comparison.words(),
        criteria.threshold,
        counted(criteria.datapoints_to_alarm, "datapoint"),
    );
    if outcome.filled > 0 {
        reason.push_str(&format!(" {treated}."));
    }
    if let Some(oldest) = outcome.premature {
        let why = format!(
            "Every datapoint present breaches and the oldest is {} old (not less than the minimum of {})",
            counted(oldest, "period"),
            criteria.datapoints_to_alarm,
        );
        match outcome.decision {
            Decision::KeepPrevious => reason.push_str(&format!(
                " {why}, which would alarm early under [Missing]; missing data is ignored, {kept}."
            )),
            Decision::State(_) => reason.push_str(&format!(
                " {why}, so CloudWatch alarms early without waiting for the missing ones."
            )),
        }
    }
    reason
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn counted(n: u32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn was_were(n: u32) -> &'static str {
    if n == 1 { "was" } else { "were" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TreatMissingData::{Breaching, Ignore, Missing, NotBreaching};
    use proptest::prelude::*;

    const TREATMENTS: [TreatMissingData; 4] = [Missing, Ignore, Breaching, NotBreaching];
    const PREVIOUS: [Option<AlarmState>; 3] = [Some(AlarmState::Ok), Some(AlarmState::Alarm), None];

    #[derive(Debug, Clone, Copy)]
    enum Expect {
        Is(AlarmState),
        KeepPrevious,
    }
    const OK: Expect = Expect::Is(AlarmState::Ok);
    const ALARM: Expect = Expect::Is(AlarmState::Alarm);
    const INSUFFICIENT: Expect = Expect::Is(AlarmState::InsufficientData);
    const KEEP: Expect = Expect::KeepPrevious;

    /// Both tables of the CloudWatch user guide's "Configuring how CloudWatch alarms
    /// treat missing data": M, N, the datapoints oldest first, then the state under
    /// missing, ignore, breaching and notBreaching.
    const GUIDE: [(u32, u32, &str, [Expect; 4]); 10] = [
        (3, 3, "0 - X - X", [OK, OK, OK, OK]),
        (3, 3, "0 - - - -", [OK, OK, OK, OK]),
        (3, 3, "- - - - -", [INSUFFICIENT, KEEP, ALARM, OK]),
        (3, 3, "0 X X - X", [ALARM, ALARM, ALARM, ALARM]),
        (3, 3, "- - X - -", [ALARM, KEEP, ALARM, OK]),
        (2, 3, "0 - X - X", [ALARM, ALARM, ALARM, ALARM]),
        (2, 3, "0 0 X 0 X", [ALARM, ALARM, ALARM, ALARM]),
        (2, 3, "0 - X - -", [OK, OK, ALARM, OK]),
        (2, 3, "- - - - 0", [OK, OK, ALARM, OK]),
        (2, 3, "- - - X -", [ALARM, KEEP, ALARM, OK]),
    ];

    const THRESHOLD: f64 = 20.0;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn criteria(n: u32, m: u32, treat: TreatMissingData, period: u32) -> Criteria {
        Criteria {
            comparison: Comparison::LessThanThreshold,
            threshold: THRESHOLD,
            period,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            treat_missing_data: treat,
        }
    }

    /// A guide pattern, oldest first, as cells indexed by age - 1 (most recent first).
    fn cells(pattern: &str) -> Vec<Option<bool>> {
        let mut cells: Vec<Option<bool>> = pattern
            .split_whitespace()
            .map(|cell| match cell {
                "X" => Some(true),
                "0" => Some(false),
                "-" => None,
                other => panic!("bad cell {other}"),
            })
            .collect();
        cells.reverse();
        cells
    }

    fn real(cells: &[Option<bool>]) -> Vec<(u32, bool)> {
        (1..)
            .zip(cells)
            .filter_map(|(age, cell)| cell.map(|breaching| (age, breaching)))
            .collect()
    }

    /// One datapoint per present cell, at the start of its period, on the side of the
    /// threshold the cell says; `unit` in [0, 1) picks where on that side.
    fn datapoints(
        cells: &[Option<bool>],
        units: &[f64],
        t: DateTime<Utc>,
        period: u32,
    ) -> Vec<Datapoint> {
        let end = range_end(t, period);
        (1i64..)
            .zip(cells)
            .zip(units.iter().chain(std::iter::repeat(&0.5)))
            .filter_map(|((age, cell), unit)| {
                cell.map(|breaching| Datapoint {
                    timestamp: end - TimeDelta::seconds(age * i64::from(period)),
                    value: if breaching {
                        THRESHOLD * unit
                    } else {
                        THRESHOLD + 80.0 * unit
                    },
                })
            })
            .collect()
    }

    #[test]
    fn the_cloudwatch_guide_tables_hold_for_every_row_under_every_treatment() {
        let t = at("2026-11-24T13:07:12Z");
        let mut cases = 0;
        for (m, n, pattern, expected) in GUIDE {
            let cells = cells(pattern);
            assert_eq!(cells.len(), 5, "{pattern}");
            let points = datapoints(&cells, &[0.6, 0.25], t, 300);
            for (treat, want) in TREATMENTS.into_iter().zip(expected) {
                let context = format!("M={m} N={n} `{pattern}` {treat}");
                let decision = decide(&real(&cells), n, m, treat);
                let rule = criteria(n, m, treat, 300);
                for previous in PREVIOUS {
                    let state = evaluate(&rule, &points, t, previous).state;
                    match want {
                        Expect::Is(want) => {
                            assert_eq!(decision, Decision::State(want), "{context}");
                            assert_eq!(state, want, "{context}, previous {previous:?}");
                        }
                        Expect::KeepPrevious => {
                            assert_eq!(decision, Decision::KeepPrevious, "{context}");
                            let kept = previous.unwrap_or(AlarmState::InsufficientData);
                            assert_eq!(state, kept, "{context}, previous {previous:?}");
                        }
                    }
                }
                cases += 1;
            }
        }
        assert_eq!(cases, 40);
    }

    /// SPEC §4 restated period by period, independently of `outcome`.
    fn reference(cells: &[Option<bool>], n: u32, m: u32, treat: TreatMissingData) -> Decision {
        let (n, m) = (n as usize, m as usize);
        let alarm_if = |alarm: bool| {
            Decision::State(if alarm {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            })
        };
        let present: Vec<bool> = cells.iter().flatten().copied().collect();
        let breaching = |values: &[bool]| values.iter().filter(|&&b| b).count();
        if present.len() >= n {
            return alarm_if(breaching(&present[..n]) >= m);
        }
        if present.is_empty() {
            return match treat {
                Missing => Decision::State(AlarmState::InsufficientData),
                Ignore => Decision::KeepPrevious,
                Breaching => Decision::State(AlarmState::Alarm),
                NotBreaching => Decision::State(AlarmState::Ok),
            };
        }
        if let Some(fill) = match treat {
            Breaching => Some(true),
            NotBreaching => Some(false),
            _ => None,
        } {
            let mut evaluated = present.clone();
            evaluated.resize(n, fill);
            return alarm_if(breaching(&evaluated) >= m);
        }
        let oldest_age = cells.iter().rposition(Option::is_some).unwrap() + 1;
        let premature = present.iter().all(|&b| b) && oldest_age >= m;
        match (breaching(&present) >= m, premature, treat) {
            (true, _, _) => alarm_if(true),
            (false, true, Missing) => alarm_if(true),
            (false, true, _) => Decision::KeepPrevious,
            (false, false, _) => alarm_if(false),
        }
    }

    fn resolve(decision: Decision, previous: Option<AlarmState>) -> AlarmState {
        match decision {
            Decision::State(state) => state,
            Decision::KeepPrevious => previous.unwrap_or(AlarmState::InsufficientData),
        }
    }

    /// N, M, and N + 2 cells (most recent first): missing, not breaching or breaching.
    fn scenario() -> impl Strategy<Value = (u32, u32, Vec<Option<bool>>)> {
        (1u32..=5).prop_flat_map(|n| {
            let cell = prop_oneof![Just(None), Just(Some(false)), Just(Some(true))];
            (
                Just(n),
                1..=n,
                proptest::collection::vec(cell, n as usize + 2),
            )
        })
    }

    /// An evaluation time somewhere inside a period of one of the allowed lengths.
    fn moment() -> impl Strategy<Value = (u32, DateTime<Utc>)> {
        (
            prop::sample::select(&[60u32, 300, 3600, 86_400][..]),
            0u32..86_400,
            0u32..1_000_000_000,
        )
            .prop_map(|(period, offset, nanos)| {
                let t = at("2026-11-24T00:00:00Z")
                    + TimeDelta::seconds(i64::from(offset % period))
                    + TimeDelta::nanoseconds(i64::from(nanos));
                (period, t)
            })
    }

    fn treatment() -> impl Strategy<Value = TreatMissingData> {
        prop::sample::select(&TREATMENTS[..])
    }

    fn previous() -> impl Strategy<Value = Option<AlarmState>> {
        prop::sample::select(&PREVIOUS[..])
    }

    proptest! {
        #[test]
        fn with_n_real_datapoints_the_treatment_does_not_matter((n, m, cells) in scenario()) {
            prop_assume!(cells.iter().flatten().count() >= n as usize);
            let real = real(&cells);
            let decisions = TREATMENTS.map(|treat| decide(&real, n, m, treat));
            prop_assert!(decisions.iter().all(|d| *d == decisions[0]), "{decisions:?}");
        }

        #[test]
        fn breaching_alarms_whenever_not_breaching_does((n, m, cells) in scenario()) {
            let real = real(&cells);
            let breaching = decide(&real, n, m, Breaching);
            let not_breaching = decide(&real, n, m, NotBreaching);
            if not_breaching == Decision::State(AlarmState::Alarm) {
                prop_assert_eq!(breaching, Decision::State(AlarmState::Alarm));
            }
            prop_assert_ne!(breaching, Decision::KeepPrevious);
            prop_assert_ne!(not_breaching, Decision::KeepPrevious);
        }

        #[test]
        fn decide_agrees_with_the_spec_restated(
            (n, m, cells) in scenario(),
            treat in treatment(),
            shuffle in any::<u64>(),
        ) {
            let mut real = real(&cells);
            real.sort_by_key(|&(age, _)| (u64::from(age) ^ shuffle).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            prop_assert_eq!(decide(&real, n, m, treat), reference(&cells, n, m, treat));
        }

        #[test]
        fn datapoint_order_does_not_matter(
            (n, m, cells) in scenario(),
            treat in treatment(),
            (period, t) in moment(),
            units in proptest::collection::vec(0.0f64..1.0, 7),
            keys in proptest::collection::vec(any::<u32>(), 7),
            previous in previous(),
        ) {
            let rule = criteria(n, m, treat, period);
            let ordered = datapoints(&cells, &units, t, period);
            let mut shuffled: Vec<(u32, Datapoint)> = keys.iter().copied().zip(ordered.iter().copied()).collect();
            shuffled.sort_by_key(|&(key, _)| key);
            let shuffled: Vec<Datapoint> = shuffled.into_iter().map(|(_, point)| point).collect();

            let evaluation = evaluate(&rule, &ordered, t, previous);
            prop_assert_eq!(&evaluate(&rule, &shuffled, t, previous), &evaluation);
            prop_assert_eq!(evaluation.state, resolve(reference(&cells, n, m, treat), previous));
            prop_assert!(evaluation.reason.is_ascii(), "{}", evaluation.reason);
            let present = cells.iter().flatten().count();
            prop_assert_eq!(evaluation.datapoints.len(), present.min(n as usize));
            prop_assert!(evaluation.datapoints.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
        }

        #[test]
        fn datapoints_outside_the_range_do_not_matter(
            (n, m, cells) in scenario(),
            treat in treatment(),
            (period, t) in moment(),
            values in proptest::collection::vec(-100.0f64..100.0, 5),
            previous in previous(),
        ) {
            let rule = criteria(n, m, treat, period);
            let inside = datapoints(&cells, &[], t, period);
            let end = range_end(t, period);
            let period_start = |age: i64| end - TimeDelta::seconds(age * i64::from(period));
            // The incomplete period (at or before t), a future one, and two too old to count.
            let ages = [0, -1, i64::from(n) + 3, i64::from(n) + 4];
            let mut outside: Vec<Datapoint> = ages
                .iter()
                .zip(&values)
                .map(|(&age, &value)| Datapoint { timestamp: period_start(age), value })
                .collect();
            outside.push(Datapoint { timestamp: t, value: values[4] });
            let mixed: Vec<Datapoint> = outside.iter().chain(&inside).copied().collect();
            prop_assert_eq!(evaluate(&rule, &mixed, t, previous), evaluate(&rule, &inside, t, previous));
        }
    }

    #[test]
    fn a_period_ending_exactly_at_t_is_complete() {
        assert_eq!(
            range_end(at("2026-11-24T13:05:00Z"), 300),
            at("2026-11-24T13:05:00Z")
        );
        assert_eq!(
            range_end(at("2026-11-24T13:04:59.999999999Z"), 300),
            at("2026-11-24T13:00:00Z")
        );
        assert_eq!(
            range_end(at("2026-11-24T13:07:12Z"), 300),
            at("2026-11-24T13:05:00Z")
        );
    }

    #[test]
    fn periods_align_to_the_epoch() {
        let t = at("2026-11-24T13:07:12Z");
        assert_eq!(range_end(t, 60), at("2026-11-24T13:07:00Z"));
        assert_eq!(range_end(t, 3600), at("2026-11-24T13:00:00Z"));
        assert_eq!(range_end(t, 86_400), at("2026-11-24T00:00:00Z"));
        // Aligned to the epoch, not to the day: 4,500 s periods do not divide a day.
        assert_eq!(range_end(t, 4500), at("2026-11-24T12:15:00Z"));
        assert_eq!(
            range_end(at("1969-12-31T23:59:59Z"), 60),
            at("1969-12-31T23:59:00Z")
        );
    }

    #[test]
    fn range_covers_ages_one_to_periods() {
        let (start, end) = range(at("2026-11-24T13:07:12Z"), 300, 5);
        assert_eq!(start, at("2026-11-24T12:40:00Z"));
        assert_eq!(end, at("2026-11-24T13:05:00Z"));
        assert_eq!(age(end, 300, start), 5);
        assert_eq!(range(end, 300, 5), (start, end));
    }

    #[test]
    fn age_counts_back_from_the_range_end() {
        let end = at("2026-11-24T13:05:00Z");
        let cases = [
            ("2026-11-24T13:00:00Z", 1),
            ("2026-11-24T13:04:59.999999999Z", 1),
            ("2026-11-24T12:59:59Z", 2),
            ("2026-11-24T12:55:00Z", 2),
            ("2026-11-24T12:40:00Z", 5),
            ("2026-11-24T13:05:00Z", 0),
            ("2026-11-24T13:09:59Z", 0),
            ("2026-11-24T13:10:00Z", -1),
        ];
        for (timestamp, want) in cases {
            assert_eq!(age(end, 300, at(timestamp)), want, "{timestamp}");
        }
    }

    fn point(timestamp: &str, value: f64) -> Datapoint {
        Datapoint {
            timestamp: at(timestamp),
            value,
        }
    }

    #[test]
    fn of_two_datapoints_in_one_period_the_later_in_the_input_wins() {
        let rule = criteria(1, 1, Missing, 300);
        let t = at("2026-11-24T13:05:00Z");
        let same = [
            point("2026-11-24T13:00:00Z", 12.0),
            point("2026-11-24T13:00:00Z", 25.0),
        ];
        let evaluation = evaluate(&rule, &same, t, None);
        assert_eq!(evaluation.state, AlarmState::Ok);
        assert_eq!(evaluation.datapoints, [same[1]]);

        let reversed = [same[1], same[0]];
        assert_eq!(evaluate(&rule, &reversed, t, None).state, AlarmState::Alarm);

        let within = [
            point("2026-11-24T13:03:00Z", 25.0),
            point("2026-11-24T13:00:00Z", 12.0),
        ];
        let evaluation = evaluate(&rule, &within, t, None);
        assert_eq!(evaluation.state, AlarmState::Alarm);
        assert_eq!(evaluation.datapoints, [within[1]]);
    }

    #[test]
    fn unordered_input_is_evaluated_by_age_and_returned_oldest_first() {
        let rule = criteria(3, 2, Missing, 300);
        let points = [
            point("2026-11-24T12:50:00Z", 25.0),
            point("2026-11-24T12:40:00Z", 1.0),
            point("2026-11-24T13:00:00Z", 12.0),
            point("2026-11-24T12:45:00Z", 2.0),
            point("2026-11-24T12:55:00Z", 30.0),
        ];
        let evaluation = evaluate(&rule, &points, at("2026-11-24T13:05:00Z"), None);
        // The three most recent are 12.0, 30.0, 25.0: one breach, so the older breaches do not count.
        assert_eq!(evaluation.state, AlarmState::Ok);
        assert_eq!(evaluation.datapoints, [points[0], points[4], points[2]]);
        assert_eq!(evaluation.range_end, at("2026-11-24T13:05:00Z"));
    }

    #[test]
    fn alarm_reason_lists_the_datapoints_newest_first() {
        let points = [
            point("2026-11-24T12:50:00Z", 25.0),
            point("2026-11-24T13:00:00Z", 12.0),
            point("2026-11-24T12:55:00Z", 15.5),
        ];
        let evaluation = evaluate(
            &criteria(3, 2, Missing, 300),
            &points,
            at("2026-11-24T13:05:00Z"),
            None,
        );
        assert_eq!(evaluation.state, AlarmState::Alarm);
        assert_eq!(
            evaluation.reason,
            "Threshold Crossed: 2 out of the last 3 datapoints [12.0 (2026-11-24T13:00:00Z), \
             15.5 (2026-11-24T12:55:00Z), 25.0 (2026-11-24T12:50:00Z)] were less than the \
             threshold (20.0) (minimum 2 datapoints for ALARM)."
        );
    }

    #[test]
    fn ok_reason_says_how_many_breached_and_how_many_were_needed() {
        let points = [
            point("2026-11-24T12:50:00Z", 25.0),
            point("2026-11-24T13:00:00Z", 12.0),
            point("2026-11-24T12:55:00Z", 30.0),
        ];
        let evaluation = evaluate(
            &criteria(3, 2, Ignore, 300),
            &points,
            at("2026-11-24T13:05:00Z"),
            Some(AlarmState::Alarm),
        );
        assert_eq!(evaluation.state, AlarmState::Ok);
        assert_eq!(
            evaluation.reason,
            "Threshold Crossed: 1 out of the last 3 datapoints [12.0 (2026-11-24T13:00:00Z), \
             30.0 (2026-11-24T12:55:00Z), 25.0 (2026-11-24T12:50:00Z)] was less than the \
             threshold (20.0) (minimum 2 datapoints for ALARM)."
        );
    }

    #[test]
    fn no_data_reasons_name_the_treatment() {
        let t = at("2026-11-24T13:05:00Z");
        let reason = |treat, previous| evaluate(&criteria(3, 2, treat, 300), &[], t, previous);
        let missing = reason(Missing, Some(AlarmState::Ok));
        assert_eq!(missing.state, AlarmState::InsufficientData);
        assert_eq!(
            missing.reason,
            "Insufficient Data: no datapoints were received for 5 periods and 3 missing \
             datapoints were treated as [Missing]."
        );
        assert!(missing.datapoints.is_empty());
        assert_eq!(
            reason(Breaching, None).reason,
            "Threshold Crossed: no datapoints were received for 5 periods and 3 missing \
             datapoints were treated as [Breaching]."
        );
        assert_eq!(
            reason(NotBreaching, None).reason,
            "Threshold Crossed: no datapoints were received for 5 periods and 3 missing \
             datapoints were treated as [NotBreaching]."
        );
        let ignored = reason(Ignore, Some(AlarmState::Ok));
        assert_eq!(ignored.state, AlarmState::Ok);
        assert_eq!(
            ignored.reason,
            "Insufficient Data: no datapoints were received for 5 periods; missing data is \
             ignored, so the previous state (OK) is kept."
        );
        assert_eq!(
            reason(Ignore, None).reason,
            "Insufficient Data: no datapoints were received for 5 periods; missing data is \
             ignored, and with no previous state the state is INSUFFICIENT_DATA."
        );
    }

    #[test]
    fn partial_data_reasons_say_what_stood_in_for_the_missing_datapoints() {
        let t = at("2026-11-24T13:05:00Z");
        let points = [point("2026-11-24T12:55:00Z", 12.0)];
        let filled = evaluate(&criteria(3, 3, Breaching, 300), &points, t, None);
        assert_eq!(filled.state, AlarmState::Alarm);
        assert_eq!(
            filled.reason,
            "Threshold Crossed: 3 out of the last 3 datapoints [12.0 (2026-11-24T12:55:00Z)] \
             were less than the threshold (20.0) (minimum 3 datapoints for ALARM). 2 missing \
             datapoints were treated as [Breaching]."
        );

        let points = [point("2026-11-24T12:50:00Z", 12.0)];
        let premature = evaluate(&criteria(3, 3, Missing, 300), &points, t, None);
        assert_eq!(premature.state, AlarmState::Alarm);
        assert_eq!(
            premature.reason,
            "Threshold Crossed: 1 out of the last 3 datapoints [12.0 (2026-11-24T12:50:00Z)] \
             was less than the threshold (20.0) (minimum 3 datapoints for ALARM). 2 missing \
             datapoints were treated as [Missing]. Every datapoint present breaches and the \
             oldest is 3 periods old (not less than the minimum of 3), so CloudWatch alarms \
             early without waiting for the missing ones."
        );

        let kept = evaluate(
            &criteria(3, 3, Ignore, 300),
            &points,
            t,
            Some(AlarmState::Ok),
        );
        assert_eq!(kept.state, AlarmState::Ok);
        assert_eq!(kept.datapoints, points);
        assert_eq!(
            kept.reason,
            "Threshold Crossed: 1 out of the last 3 datapoints [12.0 (2026-11-24T12:50:00Z)] \
             was less than the threshold (20.0) (minimum 3 datapoints for ALARM). 2 missing \
             datapoints were treated as [Ignore]. Every datapoint present breaches and the \
             oldest is 3 periods old (not less than the minimum of 3), which would alarm early \
             under [Missing]; missing data is ignored, so the previous state (OK) is kept."
        );
    }

    #[test]
    fn timestamps_serialize_as_rfc3339_whole_seconds_in_utc() {
        let point = point("2026-11-24T14:00:00.75+01:00", 12.5);
        assert_eq!(
            serde_json::to_string(&point).unwrap(),
            r#"{"timestamp":"2026-11-24T13:00:00Z","value":12.5}"#
        );
    }

    #[test]
    fn alarm_states_are_spelled_as_cloudwatch_spells_them() {
        for (state, name) in [
            (AlarmState::Ok, "OK"),
            (AlarmState::Alarm, "ALARM"),
            (AlarmState::InsufficientData, "INSUFFICIENT_DATA"),
        ] {
            assert_eq!(state.as_str(), name);
            assert_eq!(state.to_string(), name);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{name}\"")
            );
        }
    }
}
