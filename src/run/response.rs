//! The Lambda response: the report cut to a bounded size (SPEC §12). A synchronous
//! invocation's response may not exceed 6 MB and a fleet of thousands of instances
//! reports more than that, so the response keeps what a reader acts on and counts the
//! rest. `check --output json` prints the full report.

use serde::Serialize;

use super::report::{Report, ResultState};
use crate::domain::evaluate::AlarmState;

/// The most a Lambda response holds: 1 MiB of JSON.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Room kept for the `omitted` object itself and the separators around it.
const OMITTED_ROOM: usize = 512;

/// What a bounded report left out, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Omitted {
    /// OK results, replaced by this count first.
    pub ok_results: usize,
    /// Datapoints dropped from the results that remain.
    pub datapoints: usize,
    /// Other results (INSUFFICIENT_DATA first, then ERROR, then ALARM) left out.
    pub results: usize,
    /// Errors, dry-run alerts and warnings left out.
    pub errors: usize,
    pub alerts: usize,
    pub warnings: usize,
}

impl Report {
    /// The report in at most `limit` bytes of JSON. When the whole report is larger, OK
    /// results are replaced by their count first, then datapoints are dropped from the
    /// rest, then the least urgent entries go: warnings, then dry-run alerts, then errors
    /// (an ERROR result carries its own), then results (INSUFFICIENT_DATA before ERROR
    /// before ALARM). Everything left out is counted in `omitted`.
    pub fn bounded(mut self, limit: usize) -> Report {
        if json_len(&self) <= limit {
            return self;
        }
        let mut omitted = Omitted::default();
        let before = self.results.len();
        self.results
            .retain(|r| r.state != ResultState::Alarm(AlarmState::Ok));
        omitted.ok_results = before - self.results.len();
        self.omitted = Some(omitted.clone());
        if json_len(&self) <= limit {
            return self;
        }
        for result in &mut self.results {
            omitted.datapoints += result.datapoints.len();
            result.datapoints = Vec::new();
        }
        self.omitted = Some(omitted.clone());
        if json_len(&self) <= limit {
            return self;
        }
        self.keep_the_most_urgent(limit, omitted);
        self
    }

    /// Keeps, in order of urgency, the entries that fit in `limit` with the rest of the
    /// report, and counts what is left out.
    fn keep_the_most_urgent(&mut self, limit: usize, mut omitted: Omitted) {
        // ALARM, then ERROR, then INSUFFICIENT_DATA; the report's order within each.
        self.results.sort_by_key(|r| match r.state {
            ResultState::Alarm(AlarmState::Alarm) => 0,
            ResultState::Error => 1,
            _ => 2,
        });
        let mut results = std::mem::take(&mut self.results);
        let mut errors = std::mem::take(&mut self.errors);
        let mut alerts = self.alerts.as_mut().map(std::mem::take);
        let mut warnings = std::mem::take(&mut self.warnings);
        self.omitted = Some(omitted.clone());
        let mut budget = limit.saturating_sub(json_len(self) + OMITTED_ROOM);
        omitted.results = keep_prefix(&mut results, &mut budget);
        omitted.errors = keep_prefix(&mut errors, &mut budget);
        if let Some(alerts) = alerts.as_mut() {
            omitted.alerts = keep_prefix(alerts, &mut budget);
        }
        omitted.warnings = keep_prefix(&mut warnings, &mut budget);
        self.results = results;
        self.errors = errors;
        self.alerts = alerts;
        self.warnings = warnings;
        self.omitted = Some(omitted);
    }
}

/// Keeps the longest prefix of `items` whose JSON fits in `budget` (less what it takes);
/// returns how many were dropped.
fn keep_prefix<T: Serialize>(items: &mut Vec<T>, budget: &mut usize) -> usize {
    let mut kept = 0;
    for item in items.iter() {
        // The item and the comma after it.
        let size = json_len(item) + 1;
        if size > *budget {
            break;
        }
        *budget -= size;
        kept += 1;
    }
    let dropped = items.len() - kept;
    items.truncate(kept);
    dropped
}

fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = Counter(0);
    // Serialising our own types into a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// Counts bytes instead of keeping them: the size of a report is known without a copy
/// of it.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::{Comparison, ResourceType, Severity, Statistic, Unit};
    use crate::domain::transition::Why;
    use crate::run::report::ReportDatapoint;
    use crate::run::{RuleResult, RunError, Stage};
    use chrono::{DateTime, Utc};

    fn at() -> DateTime<Utc> {
        "2026-11-24T13:05:00Z".parse().unwrap()
    }

    fn result(i: usize, state: ResultState) -> RuleResult {
        RuleResult {
            rule: "cpu-high".into(),
            severity: Severity::Warning,
            region: "us-east-1".into(),
            resource_type: ResourceType::Instance,
            resource: format!("web-{i}"),
            instance: Some(format!("web-{i}")),
            metric: "CPUUtilization".into(),
            statistic: Statistic::Average,
            unit: Unit::Percent,
            period: 300,
            comparison: Comparison::GreaterThanThreshold,
            threshold: 80.0,
            state,
            reason: "Threshold Crossed: 3 out of the last 3 datapoints were greater than the threshold (80.0).".into(),
            datapoints: (0..5)
                .map(|k| ReportDatapoint {
                    timestamp: at() - chrono::TimeDelta::minutes(5 * k),
                    value: 90.5,
                    breaching: true,
                })
                .collect(),
            range_end: at(),
            previous_state: None,
            notified: false,
            why: Why::Stateless,
            held_by: None,
            error: None,
        }
    }

    fn report(ok: usize, alarm: usize, error: usize) -> Report {
        let mut results = Vec::new();
        results.extend((0..ok).map(|i| result(i, ResultState::Alarm(AlarmState::Ok))));
        results.extend((0..alarm).map(|i| result(ok + i, ResultState::Alarm(AlarmState::Alarm))));
        results.extend((0..error).map(|i| result(ok + alarm + i, ResultState::Error)));
        let errors = (0..error)
            .map(|i| {
                RunError::about(
                    Stage::Fetch,
                    "cpu-high",
                    "us-east-1",
                    ResourceType::Instance,
                    &format!("web-{}", ok + alarm + i),
                    "GetInstanceMetricData failed: InternalFailure".into(),
                )
            })
            .collect();
        Report {
            evaluated_at: at(),
            dry_run: false,
            results,
            published: alarm,
            errors,
            warnings: Vec::new(),
            alerts: None,
            omitted: None,
        }
    }

    #[test]
    fn a_report_that_fits_is_whole_and_says_nothing_was_omitted() {
        let small = report(3, 1, 1);
        let bounded = small.clone().bounded(MAX_RESPONSE_BYTES);
        assert_eq!(bounded.results.len(), 5);
        assert!(bounded.omitted.is_none());
        let json = serde_json::to_value(&bounded).unwrap();
        assert!(json.get("omitted").is_none(), "{json}");
    }

    #[test]
    fn ok_results_go_first_then_datapoints() {
        let full = report(2_000, 10, 0);
        let full_len = json_len(&full);
        // Room for the ALARM results with their datapoints, not for the OK ones.
        let bounded = full.clone().bounded(full_len / 20);
        assert!(json_len(&bounded) <= full_len / 20);
        assert_eq!(bounded.results.len(), 10);
        let omitted = bounded.omitted.clone().unwrap();
        assert_eq!(omitted.ok_results, 2_000);
        assert_eq!(omitted.datapoints, 0);
        assert!(bounded.results.iter().all(|r| r.datapoints.len() == 5));

        // Room for ten ALARM results without datapoints only.
        let ten_without = report(0, 10, 0);
        let mut stripped = ten_without.clone();
        stripped
            .results
            .iter_mut()
            .for_each(|r| r.datapoints.clear());
        let limit = json_len(&stripped) + 200;
        let bounded = full.bounded(limit);
        assert!(json_len(&bounded) <= limit);
        assert_eq!(bounded.results.len(), 10);
        let omitted = bounded.omitted.unwrap();
        assert_eq!((omitted.ok_results, omitted.datapoints), (2_000, 50));
    }

    #[test]
    fn a_huge_fleet_keeps_alarms_before_errors_and_counts_the_rest() {
        let huge = report(20_000, 6_000, 6_000);
        let bounded = huge.bounded(MAX_RESPONSE_BYTES);
        let len = json_len(&bounded);
        assert!(len <= MAX_RESPONSE_BYTES, "{len}");
        let omitted = bounded.omitted.clone().unwrap();
        assert_eq!(omitted.ok_results, 20_000);
        assert_eq!(omitted.datapoints, 12_000 * 5);
        assert_eq!(
            bounded.results.len() + omitted.results,
            12_000,
            "every non-OK result is either kept or counted"
        );
        assert_eq!(bounded.errors.len() + omitted.errors, 6_000);
        // The most urgent come first: every ALARM kept precedes every ERROR kept, and an
        // ERROR is only dropped once no ALARM is.
        let first_error = bounded
            .results
            .iter()
            .position(|r| r.state == ResultState::Error)
            .unwrap_or(bounded.results.len());
        assert!(
            bounded.results[first_error..]
                .iter()
                .all(|r| r.state == ResultState::Error)
        );
        assert!(omitted.results > 0 && bounded.results.len() > 1_000);
    }
}
