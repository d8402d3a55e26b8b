//! Runs one test: each step a real run at its time, in order, over the test's recording,
//! against one state store in memory, publishing into a sink that keeps the alerts.

use super::expect::{self, Actual, Difference};
use super::{Step, Test};
use crate::offline::{CaptureSink, MemoryStore};
use crate::rules::RuleSet;
use crate::run::{self, RunOptions};

/// Calls in flight at once: the recording answers at once, so this only orders work.
const CONCURRENCY: usize = 8;

/// What one step's run did, and how that differs from what the step expected.
#[derive(Debug)]
pub struct StepOutcome<'t> {
    pub step: &'t Step,
    /// From 0, in the test's order.
    pub index: usize,
    pub actual: Actual,
    pub differences: Vec<Difference>,
}

impl StepOutcome<'_> {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Runs every step of `test` in order. The store and the sink live as long as the
/// test, so each step sees the state the steps before it left, as a deployed function
/// sees the runs before it.
pub async fn run_test<'t>(rules: &RuleSet, test: &'t Test) -> Vec<StepOutcome<'t>> {
    // A test lists the notices sent, one per key: it sees them one by one, whatever
    // `groupAbove` would make of them on a topic.
    let rules = &RuleSet {
        group_above: None,
        ..rules.clone()
    };
    let store = MemoryStore::new();
    let sink = CaptureSink::new();
    let mut outcomes = Vec::with_capacity(test.steps.len());
    for (index, step) in test.steps.iter().enumerate() {
        let options = RunOptions {
            at: step.at,
            concurrency: CONCURRENCY,
            deadline: None,
        };
        let report = run::run(rules, &test.recording, Some(&sink), Some(&store), options).await;
        let actual = Actual::of(&report, &sink.take());
        let differences = expect::compare(step, &actual);
        outcomes.push(StepOutcome {
            step,
            index,
            actual,
            differences,
        });
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruletest::load::tests::{RULES, load_text, load_with};

    fn run(test: &Test, rules: &RuleSet) -> Vec<(Vec<String>, usize)> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(run_test(rules, test))
            .iter()
            .map(|o| {
                let alerts = o
                    .actual
                    .alerts
                    .iter()
                    .map(|a| format!("{} {} {}", a.rule, a.resource, a.state))
                    .collect();
                (alerts, o.differences.len())
            })
            .collect()
    }

    /// SPEC §15's example, verbatim, against the README's rule: 5-minute points from
    /// 12:00; at 12:25 the last three are 30, 15, 12 (ALARM), at 12:40 12, 35, 40 (one
    /// below the recovery threshold: OK).
    #[test]
    fn the_spec_example_alarms_at_12_25_and_recovers_at_12_40() {
        let (_dir, loaded) = load_text(
            r#"
rules: ../rules.yaml            # relative to the test file
tests:
  - name: burst capacity runs out, then recovers
    start: 2026-11-24T12:00:00Z # time of each series' first point
    resources:                  # the fleet, for selection (optional)
      - {name: web-1, tags: {env: prod}, state: running}
    series:
      - resource: web-1
        metric: BurstCapacityPercentage
        values: "50 40 30 15 12x1 35 40"   # one per period, as in promtool: _ missing;
                                           # a+bxN is a, a+b, ..., a+N*b (N+1 values);
                                           # axN is a+0xN; _xN is N missing
    expect:
      - at: 2026-11-24T12:25:00Z
        results: [{rule: burst-capacity-low, resource: web-1, state: ALARM}]
        alerts: [{rule: burst-capacity-low, resource: web-1, state: ALARM}]
      - at: 2026-11-24T12:40:00Z
        alerts: [{rule: burst-capacity-low, resource: web-1, state: OK}]
"#,
        );
        let file = loaded.unwrap();
        assert_eq!(
            run(&file.tests[0], &file.rules),
            [
                (vec!["burst-capacity-low web-1 ALARM".to_owned()], 0),
                (vec!["burst-capacity-low web-1 OK".to_owned()], 0),
            ]
        );
    }

    #[test]
    fn a_notice_to_several_topics_is_one_alert() {
        let rules = RULES.replace(
            "    datapointsToAlarm: 2\n",
            "    datapointsToAlarm: 2
    notify:
      - {topicArn: \"arn:aws:sns:us-east-1:123456789012:ops\"}
      - {topicArn: \"arn:aws:sns:eu-west-1:123456789012:bots\", format: json}
",
        );
        let (_dir, loaded) = load_with(
            &rules,
            r#"
rules: ../rules.yaml
tests:
  - name: two topics
    start: 2026-11-24T12:00:00Z
    series: [{resource: web-1, metric: BurstCapacityPercentage, values: "10x3"}]
    expect:
      - {at: 2026-11-24T12:15:00Z, alerts: [{rule: burst-capacity-low, resource: web-1, state: ALARM}]}
"#,
        );
        let file = loaded.unwrap();
        assert_eq!(file.rules.rules[0].destinations.len(), 2);
        assert_eq!(
            run(&file.tests[0], &file.rules),
            [(vec!["burst-capacity-low web-1 ALARM".to_owned()], 0)]
        );
    }

    #[test]
    fn each_test_has_a_store_of_its_own_and_its_steps_share_it() {
        let test = r#"
    start: 2026-11-24T12:00:00Z
    series: [{resource: web-1, metric: BurstCapacityPercentage, values: "10x10"}]
    expect:
      - {at: 2026-11-24T12:15:00Z, alerts: [{rule: burst-capacity-low, resource: web-1, state: ALARM}]}
      - {at: 2026-11-24T12:20:00Z, alerts: []}
"#;
        let (_dir, loaded) = load_text(&format!(
            "rules: ../rules.yaml\ntests:\n  - name: a{test}  - name: b{test}"
        ));
        let file = loaded.unwrap();
        for test in &file.tests {
            // The second step finds the ALARM the first stored: nothing to send.
            let outcomes = run(test, &file.rules);
            assert_eq!(
                outcomes[0],
                (vec!["burst-capacity-low web-1 ALARM".to_owned()], 0)
            );
            assert_eq!(outcomes[1], (vec![], 0));
        }
    }
}
