//! The plan stage: every rule's selection resolved against the listings into alarms, the
//! queries that serve them, and the state keys to read.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::report::{Report, RunError, RunWarning, Stage};
use crate::domain::catalog::ResourceType;
use crate::domain::plan::{self, Query};
use crate::domain::select::{self, Alarm, Resource};
use crate::ports::{self, ListError};
use crate::rules::{Rule, RuleSet};

/// One alarm of the run, with its state key and whether its resource is there to fetch.
#[derive(Debug)]
pub(super) struct Planned<'r> {
    pub alarm: Alarm<'r>,
    /// The state store key, `<rule>#<region>#<resource>`.
    pub key: String,
    /// `false` for a name the region's listing does not have: an ERROR without a call.
    pub listed: bool,
    /// The resource's tags, when its region's listing was read this run (silences by
    /// tag, and the `lightsail-alerts:silence-until` tag, need them).
    pub tags: Option<Vec<(String, Option<String>)>>,
    /// The rules of its `inhibitedBy`, for the same resource.
    pub inhibitors: Vec<Inhibitor>,
}

/// A rule that inhibits an alarm, for the same region and resource.
#[derive(Debug, Clone)]
pub(super) struct Inhibitor {
    pub rule: String,
    /// Its state key, whose stored state counts when it is not evaluated in this run.
    pub key: String,
    /// Its alarm in this run's plan, when it has one: that evaluation counts.
    pub alarm: Option<usize>,
}

/// A resource's tags as its listing gives them: a key and an optional value.
type Tags = [(String, Option<String>)];

/// What a run will do, in the report's order.
#[derive(Debug)]
pub(super) struct Plan<'r> {
    /// Listed alarms first, in rule, region and selection order; then the unlisted.
    pub alarms: Vec<Planned<'r>>,
    /// Each query with the alarms (indices into `alarms`) it serves.
    pub queries: Vec<(Query, Vec<usize>)>,
}

/// The (type, region) listings some rule needs: for its selection, or for the tags a
/// silence matches by (a silence by tag covers the resources of a rule of names too).
pub(super) fn listings_needed(rules: &RuleSet) -> BTreeSet<(ResourceType, &str)> {
    let mut needed = select::listings_needed(
        rules
            .rules
            .iter()
            .map(|rule| (rule.resource_type, &rule.selection, rule.regions.as_slice())),
    );
    for silence in rules.silences.iter().filter(|s| !s.matcher.tags.is_empty()) {
        let matcher = &silence.matcher;
        for rule in &rules.rules {
            if matcher
                .rule
                .as_ref()
                .is_some_and(|r| !r.matches(rule.name.as_str()))
            {
                continue;
            }
            needed.extend(
                rule.regions
                    .iter()
                    .filter(|region| matcher.region.as_ref().is_none_or(|r| r.matches(region)))
                    .map(|region| (rule.resource_type, region.as_str())),
            );
        }
    }
    needed
}

impl<'r> Plan<'r> {
    /// Resolves the selections against `listings` and plans the queries at `t`. Rules a
    /// failed listing could not place, and selections that matched nothing, go into the
    /// report's errors and warnings.
    pub fn new(
        rules: &'r [Rule],
        listings: &HashMap<(ResourceType, String), Result<Vec<Resource>, ListError>>,
        t: DateTime<Utc>,
        report: &mut Report,
    ) -> Self {
        let resolution = select::resolve(rules, listings);
        for (rule, region, err) in &resolution.failed {
            tracing::error!(rule = %rule.name, %region, error = %err, "rule not evaluated in this region");
            report.errors.push(
                RunError::general(
                    if err.past_deadline {
                        Stage::Deadline
                    } else {
                        Stage::Select
                    },
                    Some(rule.name.to_string()),
                    Some((*region).to_owned()),
                    err.to_string(),
                )
                .with_code(err.code.as_deref()),
            );
        }
        for (rule, region, message) in &resolution.warnings {
            tracing::warn!(rule = %rule.name, %region, "{message}");
            report.warnings.push(RunWarning {
                rule: rule.name.to_string(),
                region: (*region).to_owned(),
                message: message.clone(),
            });
        }
        // Each listed resource's tags, found by type, region and name.
        let tagged: HashMap<(ResourceType, &str, &str), &Tags> = listings
            .iter()
            .filter_map(|((kind, region), listing)| Some((kind, region, listing.as_ref().ok()?)))
            .flat_map(|(kind, region, listing)| {
                listing
                    .iter()
                    .map(move |r| ((*kind, region.as_str(), r.name.as_str()), r.tags.as_slice()))
            })
            .collect();
        let planned = |listed: bool| {
            let tagged = &tagged;
            move |alarm: Alarm<'r>| Planned {
                key: ports::key(alarm.rule.name.as_str(), alarm.region, &alarm.resource),
                tags: tagged
                    .get(&(
                        alarm.rule.resource_type,
                        alarm.region,
                        alarm.resource.as_str(),
                    ))
                    .map(|tags| tags.to_vec()),
                alarm,
                listed,
                inhibitors: Vec::new(),
            }
        };
        let queries = plan::plan(&resolution.alarms, t);
        let mut alarms: Vec<Planned<'r>> = resolution
            .alarms
            .into_iter()
            .map(planned(true))
            .chain(resolution.missing.into_iter().map(planned(false)))
            .collect();
        let by_key: HashMap<String, usize> = alarms
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key.clone(), i))
            .collect();
        for planned in &mut alarms {
            let alarm = &planned.alarm;
            planned.inhibitors = alarm
                .rule
                .inhibited_by
                .iter()
                .map(|rule| {
                    let key = ports::key(rule.as_str(), alarm.region, &alarm.resource);
                    Inhibitor {
                        rule: rule.to_string(),
                        alarm: by_key.get(&key).copied(),
                        key,
                    }
                })
                .collect();
        }
        let position: HashMap<_, usize> = queries
            .iter()
            .enumerate()
            .map(|(i, query)| (query.key.clone(), i))
            .collect();
        let mut served: Vec<Vec<usize>> = vec![Vec::new(); queries.len()];
        for (index, planned) in alarms.iter().enumerate().filter(|(_, p)| p.listed) {
            served[position[&plan::key_of(&planned.alarm)]].push(index);
        }
        Plan {
            alarms,
            queries: queries.into_iter().zip(served).collect(),
        }
    }

    /// Every alarm's state key, in the plan's order, and the keys of the inhibiting rules
    /// this run does not evaluate for the same resources (their stored state counts).
    pub fn keys(&self) -> Vec<String> {
        let inhibitors = self
            .alarms
            .iter()
            .flat_map(|p| &p.inhibitors)
            .filter(|i| i.alarm.is_none())
            .map(|i| i.key.clone());
        self.alarms
            .iter()
            .map(|p| p.key.clone())
            .chain(inhibitors)
            .collect()
    }
}
