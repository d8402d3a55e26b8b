//! A test file read and checked: its YAML (as the rules are read: UTF-8, aliases
//! bounded), its shape (`file`), then what needs the rules or several fields: the rules
//! document itself (parsed by the rules validator), rule names, metrics of the series'
//! resource type, the values' notation, the steps' times. Every error is placed at
//! `file:line:column`.

use std::fmt;
use std::path::{Component, Path as FsPath, PathBuf};

use chrono::{DateTime, Datelike, TimeDelta, Utc};

use super::expect::Expected;
use super::file::{self, RawEntry, RawFile, RawSeries, RawTest};
use super::notation;
use super::{Step, Test, TestFile};
use crate::domain::catalog::ResourceType;
use crate::domain::time::{self, not_in_future};
use crate::offline::{RecordedDatapoint, RecordedResource, Recording, Series};
use crate::rules::{self, Fallbacks, Path, Position, Positions, RuleSet, Target};
use crate::run::ResultState;

/// What rules that name no region or topic get: a test must not depend on the shell's
/// `AWS_REGION` or `ALERT_TOPIC_ARN`, nor fail for want of them.
pub const PLACEHOLDER_REGION: &str = "us-east-1";
pub const PLACEHOLDER_TOPIC: &str = "arn:aws:sns:us-east-1:000000000000:lightsail-alerts-test";

/// The most entries a step's `results` or `alerts` may list.
pub const MAX_ENTRIES: usize = 1_000;

/// One thing wrong with a test file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub source: String,
    pub at: Option<Position>,
    pub message: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if let Some(Position { line, column }) = self.at {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Reads and checks the test file at `path`; `now` is the clock (a step's time may not
/// be after it, as an evaluation time may not). Every error, when there are some.
pub fn load(path: &FsPath, now: DateTime<Utc>) -> Result<TestFile, Vec<Invalid>> {
    let source = path.display().to_string();
    let whole = |at: Option<Position>, message: String| {
        vec![Invalid {
            source: source.clone(),
            at,
            message,
        }]
    };
    let bytes =
        std::fs::read(path).map_err(|e| whole(None, format!("cannot read the test file: {e}")))?;
    let text = rules::document_text(&bytes).map_err(|e| whole(None, e.to_string()))?;
    rules::load_document(text).map_err(|e| whole(e.at, e.message))?;
    let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| {
        let (at, message) = file::serde_error(&e);
        whole(at, message)
    })?;
    let mut check = Check {
        problems: Vec::new(),
        now,
    };
    let rules = check.rules(&raw.rules, path);
    let tests = check.tests(&raw, rules.as_ref());
    let places = paths_of_steps(&raw);
    let wanted = check.problems.iter().map(|p| &p.path).chain(&places);
    let positions = Positions::find(text, wanted);
    if !check.problems.is_empty() {
        return Err(check
            .problems
            .into_iter()
            .map(|problem| problem.placed(&source, text, &positions))
            .collect());
    }
    let (Some(rules), Some(mut tests)) = (rules, tests) else {
        // Every `None` left a problem behind.
        return Err(whole(None, "the test file could not be read".to_owned()));
    };
    let mut places = places.iter();
    for step in tests.iter_mut().flat_map(|t| t.steps.iter_mut()) {
        step.place = places
            .next()
            .and_then(|p| positions.locate(p, Target::Value));
    }
    Ok(TestFile {
        source,
        rules,
        tests,
    })
}

/// The path of every step's `at`, in order.
fn paths_of_steps(raw: &RawFile) -> Vec<Path> {
    raw.tests
        .iter()
        .enumerate()
        .flat_map(|(t, test)| {
            (0..test.expect.len()).map(move |s| {
                Path::root()
                    .key("tests")
                    .index(t)
                    .key("expect")
                    .index(s)
                    .key("at")
            })
        })
        .collect()
}

/// `examples/../rules.yaml` as `rules.yaml`, for messages: `..` after a name cancels
/// it (the file is read by the path as joined).
fn tidy(path: &FsPath) -> PathBuf {
    let mut tidy = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(tidy.components().next_back(), Some(Component::Normal(_))) =>
            {
                tidy.pop();
            }
            other => tidy.push(other),
        }
    }
    tidy
}

/// One mistake, before it is placed.
struct Problem {
    path: Path,
    target: Target,
    message: String,
    /// For a mistake inside a scalar (the values' notation): the scalar's text and the
    /// character the mistake is at.
    inside: Option<(String, usize)>,
}

impl Problem {
    fn placed(self, source: &str, text: &str, positions: &Positions) -> Invalid {
        let at = positions
            .locate(&self.path, self.target)
            .map(|at| match &self.inside {
                Some((scalar, offset)) => within(text, at, scalar, *offset),
                None => at,
            });
        Invalid {
            source: source.to_owned(),
            at,
            message: format!("{}: {}", self.path, self.message),
        }
    }
}

/// The place of character `offset` of `scalar`, which starts at `at` in `text`: exact
/// when the scalar is written on one line as it reads (plain or quoted, no escapes),
/// else the scalar's start.
fn within(text: &str, at: Position, scalar: &str, offset: usize) -> Position {
    let Some(line) = text.lines().nth(at.line.saturating_sub(1)) else {
        return at;
    };
    let rest: String = line.chars().skip(at.column.saturating_sub(1)).collect();
    let quote = usize::from(rest.starts_with(['"', '\'']));
    let written = rest.chars().skip(quote).collect::<String>();
    if scalar.contains('\n') || !written.starts_with(scalar) {
        return at;
    }
    Position {
        line: at.line,
        column: at.column + quote + offset,
    }
}

struct Check {
    problems: Vec<Problem>,
    now: DateTime<Utc>,
}

impl Check {
    fn problem(&mut self, path: Path, message: impl Into<String>) {
        self.problems.push(Problem {
            path,
            target: Target::Value,
            message: message.into(),
            inside: None,
        });
    }

    /// The rules document `rules` names, relative to the test file, parsed and validated
    /// as `validate` does, with placeholders for a region and topic it leaves to the
    /// environment.
    fn rules(&mut self, rules: &str, test_file: &FsPath) -> Option<RuleSet> {
        let at = Path::root().key("rules");
        let path = test_file
            .parent()
            .unwrap_or_else(|| FsPath::new(""))
            .join(rules);
        let name = tidy(&path).display().to_string();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) => {
                self.problem(
                    at,
                    format!("cannot read {name} (`{rules}`, relative to the test file): {err}"),
                );
                return None;
            }
        };
        let fallbacks = Fallbacks {
            region: Some(PLACEHOLDER_REGION.to_owned()),
            topic_arn: Some(PLACEHOLDER_TOPIC.to_owned()),
        };
        match rules::parse_bytes(&bytes, &name, &fallbacks) {
            Ok(rules) => Some(rules),
            Err(errors) => {
                let count = errors.0.len();
                let lines: String = errors.0.iter().map(|e| format!("\n    {e}")).collect();
                let noun = if count == 1 { "error" } else { "errors" };
                self.problem(at, format!("{name} has {count} {noun}:{lines}"));
                None
            }
        }
    }

    fn tests(&mut self, raw: &RawFile, rules: Option<&RuleSet>) -> Option<Vec<Test>> {
        let at = Path::root().key("tests");
        if raw.tests.is_empty() {
            self.problem(at.clone(), "expected at least one test");
        }
        let tests: Vec<Option<Test>> = raw
            .tests
            .iter()
            .enumerate()
            .map(|(i, test)| self.test(at.index(i), test, rules))
            .collect();
        tests.into_iter().collect()
    }

    fn test(&mut self, at: Path, raw: &RawTest, rules: Option<&RuleSet>) -> Option<Test> {
        let errors_before = self.problems.len();
        if raw.name.trim().is_empty() {
            self.problem(at.key("name"), "expected a name saying what the test shows");
        }
        let start = raw.start.0;
        if !(1970..=9999).contains(&start.year()) {
            self.problem(
                at.key("start"),
                format!(
                    "`{}` is out of range; allowed: a time from 1970 to 9999",
                    time::rfc3339(start)
                ),
            );
        }
        let series: Vec<Series> = raw
            .series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.series(at.key("series").index(i), s, start))
            .collect();
        let steps = self.steps(&at, raw, rules);
        if self.problems.len() > errors_before {
            return None;
        }
        let resources = raw.resources.as_ref().map(|resources| {
            resources
                .iter()
                .map(|r| RecordedResource {
                    resource_type: r.resource_type.map_or(ResourceType::Instance, |t| t.0),
                    name: r.name.clone(),
                    region: r.region.clone(),
                    state: r.state.clone(),
                    tags: r.tags.clone(),
                })
                .collect()
        });
        Some(Test {
            name: raw.name.clone(),
            recording: Recording::new(start, None, resources, series),
            steps,
        })
    }

    /// A series as a recording holds it: one datapoint per value that is not `_`, every
    /// statistic of it the value (so it is what the rule's statistic reads, whichever).
    fn series(&mut self, at: Path, raw: &RawSeries, start: DateTime<Utc>) -> Option<Series> {
        let kind = raw.resource_type.map_or(ResourceType::Instance, |t| t.0);
        let metric = raw.metric.0;
        let Some(info) = kind.metric(metric) else {
            let publishing: Vec<&str> = ResourceType::publishing(metric)
                .map(ResourceType::as_str)
                .collect();
            let hint = match publishing.as_slice() {
                [] => String::new(),
                types => format!(
                    " ({metric} is a metric of {}: set resourceType)",
                    types.join(", ")
                ),
            };
            let allowed: Vec<&str> = kind.metrics().map(|m| m.as_str()).collect();
            self.problem(
                at.key("metric"),
                format!(
                    "`{metric}` is not a metric of {kind} resources{hint}; allowed: {}",
                    allowed.join(", ")
                ),
            );
            return None;
        };
        let interval = raw.interval.map_or(info.default_period, |i| i.0);
        let values = match notation::expand(&raw.values) {
            Ok(values) => values,
            Err(err) => {
                self.problems.push(Problem {
                    path: at.key("values"),
                    target: Target::Value,
                    message: err.to_string(),
                    inside: Some((raw.values.clone(), err.at)),
                });
                return None;
            }
        };
        let mut metric_data = Vec::new();
        for (k, value) in values.into_iter().enumerate() {
            let timestamp = i64::try_from(k)
                .ok()
                .and_then(|k| k.checked_mul(i64::from(interval)))
                .and_then(|seconds| start.checked_add_signed(TimeDelta::seconds(seconds)));
            let Some(timestamp) = timestamp.filter(|t| t.year() <= 9999) else {
                self.problem(
                    at.key("values"),
                    format!("value {} falls after the year 9999", k + 1),
                );
                return None;
            };
            if let Some(value) = value {
                metric_data.push(RecordedDatapoint {
                    timestamp,
                    unit: None,
                    average: Some(value),
                    sum: Some(value),
                    maximum: Some(value),
                    minimum: Some(value),
                    sample_count: Some(value),
                });
            }
        }
        Some(Series {
            resource_type: kind,
            resource: raw.resource.clone(),
            metric,
            region: raw.region.clone(),
            unit: None,
            // Answers a rule of any period (each value stands for the rule's statistic).
            period: None,
            metric_data,
        })
    }

    fn steps(&mut self, at: &Path, raw: &RawTest, rules: Option<&RuleSet>) -> Vec<Step> {
        let at = at.key("expect");
        if raw.expect.is_empty() {
            self.problem(
                at.clone(),
                "expected at least one step: `- at: TIME` with `results` or `alerts`",
            );
        }
        let mut previous: Option<DateTime<Utc>> = None;
        let mut steps = Vec::with_capacity(raw.expect.len());
        for (i, step) in raw.expect.iter().enumerate() {
            let here = at.index(i);
            let time = step.at.0;
            if not_in_future(time, self.now, "the step's time").is_err() {
                self.problem(
                    here.key("at"),
                    format!(
                        "{} is after the clock ({}); allowed: a time in the past, as for \
                         `check --at` (alarm state written for a future time is set aside, so \
                         the steps after it would not see it)",
                        time::rfc3339(time),
                        time::rfc3339(self.now)
                    ),
                );
            }
            if let Some(previous) = previous.filter(|p| time < *p) {
                self.problem(
                    here.key("at"),
                    format!(
                        "{} is before the step above it ({}); steps run in time order",
                        time::rfc3339(time),
                        time::rfc3339(previous)
                    ),
                );
            }
            previous = Some(time);
            let results = step
                .results
                .as_ref()
                .map(|list| self.entries(here.key("results"), list, rules, false));
            let alerts = step
                .alerts
                .as_ref()
                .map(|list| self.entries(here.key("alerts"), list, rules, true));
            steps.push(Step {
                at: time,
                place: None,
                results,
                alerts,
            });
        }
        steps
    }

    fn entries(
        &mut self,
        at: Path,
        raw: &[RawEntry],
        rules: Option<&RuleSet>,
        alerts: bool,
    ) -> Vec<Expected> {
        if raw.len() > MAX_ENTRIES {
            self.problem(
                at.clone(),
                format!("{} entries; allowed: at most {MAX_ENTRIES}", raw.len()),
            );
            return Vec::new();
        }
        let mut entries = Vec::with_capacity(raw.len());
        for (i, entry) in raw.iter().enumerate() {
            let here = at.index(i);
            if let Some(rules) = rules {
                let names = || rules.rules.iter().map(|r| r.name.as_str());
                if !names().any(|name| name == entry.rule) {
                    let hint = rules::closest(&entry.rule, names())
                        .map(|name| format!(" (did you mean `{name}`?)"))
                        .unwrap_or_default();
                    let allowed: Vec<&str> = names().collect();
                    self.problem(
                        here.key("rule"),
                        format!(
                            "`{}` is not a rule of the rules file{hint}; allowed: {}",
                            entry.rule,
                            allowed.join(", ")
                        ),
                    );
                }
            }
            let state = entry.state.0.0;
            if alerts && state == ResultState::Error {
                self.problem(
                    here.key("state"),
                    "an ERROR is not notified; allowed in alerts: ALARM, OK, INSUFFICIENT_DATA",
                );
            }
            if !alerts && entry.reminder.is_some() {
                self.problems.push(Problem {
                    path: here.key("reminder"),
                    target: Target::Key,
                    message: "only alerts are reminders; allowed in results: rule, resource, \
                              state, region, resourceType"
                        .to_owned(),
                    inside: None,
                });
            }
            entries.push(Expected {
                rule: entry.rule.clone(),
                resource: entry.resource.clone(),
                state,
                region: entry.region.clone(),
                resource_type: entry.resource_type.map(|t| t.0),
                reminder: entry.reminder,
            });
        }
        entries
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The README's `burst-capacity-low`, with no region or topic: the placeholders
    /// stand in for `AWS_REGION` and `ALERT_TOPIC_ARN`.
    pub(crate) const RULES: &str = "\
version: 1
rules:
  - name: burst-capacity-low
    instances: [\"web-*\"]
    states: [running]
    metric: BurstCapacityPercentage
    comparison: LessThanThreshold
    threshold: 20
    recoveryThreshold: 30
    evaluationPeriods: 3
    datapointsToAlarm: 2
";

    /// Writes `rules.yaml` and `tests/t.yaml` in a new directory and loads the test.
    pub(crate) fn load_text(test: &str) -> (tempfile::TempDir, Result<TestFile, Vec<Invalid>>) {
        load_with(RULES, test)
    }

    /// The same with other rules.
    pub(crate) fn load_with(
        rules: &str,
        test: &str,
    ) -> (tempfile::TempDir, Result<TestFile, Vec<Invalid>>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yaml"), rules).unwrap();
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        let path = dir.path().join("tests/t.yaml");
        std::fs::write(&path, test).unwrap();
        let now = "2026-11-28T12:00:00Z".parse().unwrap();
        let loaded = load(&path, now);
        (dir, loaded)
    }

    fn errors(test: &str) -> Vec<String> {
        let (dir, loaded) = load_text(test);
        let prefix = format!("{}/", dir.path().display());
        loaded
            .unwrap_err()
            .iter()
            .map(|e| e.to_string().replace(&prefix, ""))
            .collect()
    }

    const HEAD: &str = "\
rules: ../rules.yaml
tests:
  - name: t
    start: 2026-11-24T12:00:00Z
";

    #[test]
    fn rules_relying_on_the_environment_get_placeholders_and_series_their_periods() {
        let (_dir, loaded) = load_text(&format!(
            "{HEAD}    series:
      - {{resource: web-1, metric: BurstCapacityPercentage, values: \"1 _ 3\"}}
      - {{resource: web-1, metric: StatusCheckFailed, values: \"0 1\"}}
      - {{resource: web-1, metric: CPUUtilization, interval: 1h, values: \"5 6\"}}
    expect:
      - at: 2026-11-24T12:25:00Z
"
        ));
        let file = loaded.unwrap();
        let rule = &file.rules.rules[0];
        assert_eq!(rule.regions, [PLACEHOLDER_REGION]);
        assert_eq!(
            rule.destinations[0].topic_arn.to_string(),
            PLACEHOLDER_TOPIC
        );
        let series = &file.tests[0].recording.series;
        let times = |i: usize| -> Vec<String> {
            series[i]
                .metric_data
                .iter()
                .map(|p| time::rfc3339(p.timestamp))
                .collect()
        };
        // 5-minute points, the `_` left out; 1-minute points; an hour apart.
        assert_eq!(times(0), ["2026-11-24T12:00:00Z", "2026-11-24T12:10:00Z"]);
        assert_eq!(times(1), ["2026-11-24T12:00:00Z", "2026-11-24T12:01:00Z"]);
        assert_eq!(times(2), ["2026-11-24T12:00:00Z", "2026-11-24T13:00:00Z"]);
        let step = &file.tests[0].steps[0];
        assert_eq!(
            step.place,
            Some(Position {
                line: 10,
                column: 13
            })
        );
        assert_eq!((step.results.as_ref(), step.alerts.as_ref()), (None, None));
    }

    #[test]
    fn a_mistake_in_the_values_is_placed_at_its_character() {
        let errors = errors(&format!(
            "{HEAD}    series:
      - resource: web-1
        metric: CPUUtilization
        values: 1 2 3x 4
      - resource: web-2
        metric: CPUUtilization
        values: \"1 2 three\"
      - resource: web-3
        metric: CPUUtilization
        values: >-
          1 2
          x
    expect:
      - at: 2026-11-24T12:25:00Z
"
        ));
        assert_eq!(
            errors[..2],
            [
                "tests/t.yaml:8:21: tests[0].series[0].values: character 5: `3x`: expected a \
                 whole number of repetitions after `x`, got ``; allowed: a number, `_`, \
                 `a+bxN`, `a-bxN`, `axN` or `_xN`",
                "tests/t.yaml:11:22: tests[0].series[1].values: character 5: `three`: `three` \
                 is not a number; allowed: a number, `_`, `a+bxN`, `a-bxN`, `axN` or `_xN`",
            ]
        );
        // Folded over lines, the value does not read as written: the character is named,
        // the place is the value's.
        assert!(
            errors[2].contains(": tests[0].series[2].values: character 5: `x`: "),
            "{}",
            errors[2]
        );
    }

    #[test]
    fn what_needs_the_rules_or_several_fields_is_checked_and_placed() {
        let errors = errors(&format!(
            "{HEAD}    series:
      - {{resource: db, metric: FreeStorageSpace, values: \"1\"}}
    expect:
      - at: 2026-11-24T12:25:00Z
        results: [{{rule: burst-capacity-lo, resource: web-1, state: OK, reminder: true}}]
      - at: 2026-11-24T12:20:00Z
        alerts: [{{rule: burst-capacity-low, resource: web-1, state: ERROR}}]
      - at: 2027-01-01T00:00:00Z
  - name: \" \"
    start: 1960-01-01T00:00:00Z
    expect: []
"
        ));
        assert_eq!(
            errors,
            [
                "tests/t.yaml:6:32: tests[0].series[0].metric: `FreeStorageSpace` is not a \
                 metric of Instance resources (FreeStorageSpace is a metric of \
                 RelationalDatabase: set resourceType); allowed: CPUUtilization, \
                 BurstCapacityPercentage, BurstCapacityTime, NetworkIn, NetworkOut, \
                 StatusCheckFailed, StatusCheckFailed_Instance, StatusCheckFailed_System, \
                 MetadataNoToken, DiskReadOps, DiskWriteOps, DiskReadBytes, DiskWriteBytes, \
                 DiskTotalReadTime, DiskTotalWriteTime, DiskQueueLength",
                "tests/t.yaml:9:26: tests[0].expect[0].results[0].rule: `burst-capacity-lo` is \
                 not a rule of the rules file (did you mean `burst-capacity-low`?); allowed: \
                 burst-capacity-low",
                "tests/t.yaml:9:73: tests[0].expect[0].results[0].reminder: only alerts are \
                 reminders; allowed in results: rule, resource, state, region, resourceType",
                "tests/t.yaml:10:13: tests[0].expect[1].at: 2026-11-24T12:20:00Z is before the \
                 step above it (2026-11-24T12:25:00Z); steps run in time order",
                "tests/t.yaml:11:69: tests[0].expect[1].alerts[0].state: an ERROR is not \
                 notified; allowed in alerts: ALARM, OK, INSUFFICIENT_DATA",
                "tests/t.yaml:12:13: tests[0].expect[2].at: 2027-01-01T00:00:00Z is after the \
                 clock (2026-11-28T12:00:00Z); allowed: a time in the past, as for `check \
                 --at` (alarm state written for a future time is set aside, so the steps after \
                 it would not see it)",
                "tests/t.yaml:13:11: tests[1].name: expected a name saying what the test shows",
                "tests/t.yaml:14:12: tests[1].start: `1960-01-01T00:00:00Z` is out of range; \
                 allowed: a time from 1970 to 9999",
                "tests/t.yaml:15:13: tests[1].expect: expected at least one step: `- at: TIME` \
                 with `results` or `alerts`",
            ]
        );
    }

    #[test]
    fn invalid_rules_are_the_test_files_error_with_their_own_places() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rules.yaml"), "version: 1\nrules: []\n").unwrap();
        let path = dir.path().join("t.yaml");
        std::fs::write(&path, "rules: rules.yaml\ntests: []\n").unwrap();
        let errors = load(&path, Utc::now()).unwrap_err();
        let rules = dir.path().join("rules.yaml").display().to_string();
        assert_eq!(
            errors[0].message,
            format!(
                "rules: {rules} has 1 error:\n    {rules}:2:8: rules: must contain at least one rule"
            )
        );
        assert_eq!(errors[0].at, Some(Position { line: 1, column: 8 }));
        assert_eq!(errors[1].message, "tests: expected at least one test");

        std::fs::write(&path, "rules: missing.yaml\ntests: [}\n").unwrap();
        let errors = load(&path, Utc::now()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .message
                .starts_with("not a valid YAML or JSON document"),
            "{}",
            errors[0]
        );
        std::fs::write(&path, "rules: missing.yaml\ntests: []\n").unwrap();
        let message = load(&path, Utc::now()).unwrap_err()[0].message.clone();
        assert!(
            message.starts_with(&format!(
                "rules: cannot read {}/missing.yaml (`missing.yaml`, relative to the test file): ",
                dir.path().display()
            )),
            "{message}"
        );
    }

    #[test]
    fn paths_in_messages_lose_their_detours() {
        assert_eq!(
            tidy(FsPath::new("examples/../rules.yaml")),
            FsPath::new("rules.yaml")
        );
        assert_eq!(tidy(FsPath::new("./a/./b.yaml")), FsPath::new("a/b.yaml"));
        assert_eq!(
            tidy(FsPath::new("../../r.yaml")),
            FsPath::new("../../r.yaml")
        );
        assert_eq!(tidy(FsPath::new("/a/../r.yaml")), FsPath::new("/r.yaml"));
    }
}
