//! What holds an alarm's notices in a run (SPEC §16): a silence in force at the
//! evaluation time — its resource's `lightsail-alerts:silence-until` tag, one of the
//! document's `silences`, an ad hoc one — or a rule it is `inhibitedBy` in ALARM for
//! the same resource. The transition rules (`domain::transition`) decide what holding
//! means; this finds what holds.

use chrono::{DateTime, Utc};

use super::plan::Planned;
use super::report::{HeldBy, HoldKind, ResultState, RunWarning};
use crate::domain::evaluate::AlarmState;
use crate::domain::silence::{self, Active};
use crate::domain::transition::Hold;

/// A hold, as the transition rules and the report each name it.
#[derive(Debug, Clone)]
pub(super) struct Holding {
    pub hold: Hold,
    pub held_by: HeldBy,
}

impl Holding {
    fn inhibition(rule: &str) -> Self {
        Holding {
            hold: Hold::Inhibited {
                by: rule.to_owned(),
            },
            held_by: HeldBy {
                kind: HoldKind::Inhibition,
                name: rule.to_owned(),
                origin: None,
                until: None,
                comment: None,
            },
        }
    }

    fn silence(active: &Active) -> Self {
        Holding {
            hold: Hold::Silenced {
                by: active.name.clone(),
            },
            held_by: HeldBy {
                kind: HoldKind::Silence,
                name: active.name.clone(),
                origin: Some(active.origin),
                until: Some(active.until),
                comment: active.comment.clone(),
            },
        }
    }
}

/// The silence that covers `planned` at `t`, if any: its resource's tag (first: it is
/// the most specific), else one of the document's in force (`rules`), else an ad hoc one
/// in force (`ad_hoc`); and a warning when its tag holds no time.
pub(super) fn silence(
    planned: &Planned<'_>,
    rules: &[Active],
    ad_hoc: &[Active],
    t: DateTime<Utc>,
) -> (Option<Holding>, Option<RunWarning>) {
    let alarm = &planned.alarm;
    let tags = planned.tags.as_deref();
    let mut warning = None;
    if let Some(tagged) = tags.and_then(|tags| silence::silence_until_tag(tags, t)) {
        match tagged {
            Ok(active) => return (Some(Holding::silence(&active)), None),
            Err(problem) => {
                warning = Some(RunWarning {
                    rule: alarm.rule.name.to_string(),
                    region: alarm.region.to_owned(),
                    message: format!(
                        "{} `{}` in {}: {problem}",
                        alarm.rule.resource_type.noun(),
                        alarm.resource,
                        alarm.region
                    ),
                });
            }
        }
    }
    let holding = Active::covering(rules, alarm, tags)
        .or_else(|| Active::covering(ad_hoc, alarm, tags))
        .map(Holding::silence);
    (holding, warning)
}

/// The first rule of `planned`'s `inhibitedBy` in ALARM for the same resource: as this
/// run evaluated it (`now`, in the order of `planned.inhibitors`), else as stored
/// (`stored`, by key). An inhibitor whose datapoints could not be had counts as stored.
pub(super) fn inhibition(
    planned: &Planned<'_>,
    now: &[Option<ResultState>],
    stored: impl Fn(&str) -> Option<AlarmState>,
) -> Option<Holding> {
    planned
        .inhibitors
        .iter()
        .enumerate()
        .find(|(i, inhibitor)| {
            let state = match now.get(*i).copied().flatten() {
                Some(ResultState::Alarm(state)) => Some(state),
                Some(ResultState::Error) | None => stored(&inhibitor.key),
            };
            state == Some(AlarmState::Alarm)
        })
        .map(|(_, inhibitor)| Holding::inhibition(&inhibitor.rule))
}
