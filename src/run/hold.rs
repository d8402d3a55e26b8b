//! What holds an alarm's notices in a run (SPEC §16): a silence in force at the
//! evaluation time — its resource's `lightsail-alerts:silence-until` tag, one of the
//! document's `silences`, an ad hoc one — or a rule it is `inhibitedBy` in ALARM for
//! the same resource. The transition rules (`domain::transition`) decide what holding
//! means; this finds what holds.

use chrono::{DateTime, Utc};

use super::decide::States;
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

/// What a run knows, when an alarm settles, of what may hold it.
pub(super) struct Known<'a> {
    /// The document's silences in force at `t`.
    pub silences: &'a [Active],
    /// Its inhibitors' states as this run evaluated them (in the order of
    /// `Planned::inhibitors`), where it did.
    pub inhibitors: Vec<Option<ResultState>>,
}

/// What holds `planned` at `t`: a silence (its resource's tag, the document's, an ad hoc
/// one), else an inhibiting rule in ALARM; and a warning when its tag holds no time.
pub(super) fn find(
    planned: &Planned<'_>,
    known: &Known<'_>,
    states: &States,
    t: DateTime<Utc>,
) -> (Option<Holding>, Option<RunWarning>) {
    let ad_hoc = states.ad_hoc_silences(t);
    let (holding, warning) = silence(planned, known.silences, &ad_hoc, t);
    let holding = holding.or_else(|| {
        inhibition(planned, &known.inhibitors, |key| {
            states.get(key).map(|stored| stored.state)
        })
    });
    (holding, warning)
}

/// The silence that covers `planned` at `t`, if any: its resource's tag (first: it is
/// the most specific), else one of the document's in force (`rules`), else an ad hoc one
/// in force (`ad_hoc`); and a warning when its tag holds no time.
fn silence(
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
fn inhibition(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::select::{Alarm, Selector};
    use crate::domain::silence::{AdHoc, Book, Matcher, Origin, SILENCE_UNTIL_TAG};
    use crate::domain::transition::Stored;
    use crate::ports::Loaded;
    use crate::rules::{Fallbacks, Rule};
    use crate::run::plan::Inhibitor;

    fn t() -> DateTime<Utc> {
        "2026-11-24T13:05:00Z".parse().unwrap()
    }

    fn rule() -> Rule {
        crate::rules::parse(
            "version: 1\nrules:\n- {name: cpu, instances: [web-1], metric: CPUUtilization, \
             comparison: '>', threshold: 80, region: us-east-1, \
             topicArn: 'arn:aws:sns:us-east-1:123456789012:t'}\n",
            "test",
            &Fallbacks::default(),
        )
        .unwrap()
        .rules
        .remove(0)
    }

    fn planned<'r>(rule: &'r Rule, tags: Option<Vec<(String, Option<String>)>>) -> Planned<'r> {
        Planned {
            alarm: Alarm {
                rule,
                region: "us-east-1",
                resource: "web-1".into(),
            },
            key: "cpu#us-east-1#web-1".into(),
            listed: true,
            tags,
            inhibitors: vec![Inhibitor {
                rule: "status".into(),
                key: "status#us-east-1#web-1".into(),
                alarm: Some(1),
            }],
        }
    }

    fn active(name: &str, origin: Origin) -> Active {
        Active {
            name: name.into(),
            origin,
            matcher: Matcher {
                resource: Some(Selector::parse("web-*").unwrap()),
                ..Matcher::default()
            },
            until: t() + chrono::TimeDelta::hours(1),
            comment: None,
        }
    }

    /// Stored states with `status` in `state`, and an ad hoc silence when `ad_hoc`.
    fn states(status: AlarmState, ad_hoc: bool) -> States {
        let mut loaded = Loaded::default();
        let mut stored = crate::ports::conformance::state(status, 0, 1);
        stored.range_end = t();
        loaded
            .states
            .insert("status#us-east-1#web-1".into(), stored as Stored);
        if ad_hoc {
            let mut book = Book::default();
            book.silences.insert(
                "a1".into(),
                AdHoc {
                    id: "a1".into(),
                    matcher: active("a1", Origin::AdHoc).matcher,
                    start: t(),
                    end: t() + chrono::TimeDelta::hours(1),
                    comment: "swap".into(),
                    created_at: t(),
                    expired_at: None,
                },
            );
            loaded.silences = book;
        }
        States::Loaded(loaded)
    }

    fn held_by(found: (Option<Holding>, Option<RunWarning>)) -> Option<(HoldKind, String)> {
        found.0.map(|h| (h.held_by.kind, h.held_by.name))
    }

    #[test]
    fn the_tag_comes_first_then_the_rules_then_ad_hoc_then_inhibition() {
        let rule = rule();
        let tag = vec![(
            SILENCE_UNTIL_TAG.to_owned(),
            Some("2026-11-24T18:00:00Z".to_owned()),
        )];
        let rules_silence = [active("deploys", Origin::Rules)];
        let known = |silences| Known {
            silences,
            inhibitors: vec![Some(ResultState::Alarm(AlarmState::Alarm))],
        };
        let silence = |name: &str| Some((HoldKind::Silence, name.to_owned()));
        let all = states(AlarmState::Ok, true);
        assert_eq!(
            held_by(find(
                &planned(&rule, Some(tag)),
                &known(&rules_silence),
                &all,
                t()
            )),
            silence(SILENCE_UNTIL_TAG)
        );
        assert_eq!(
            held_by(find(
                &planned(&rule, None),
                &known(&rules_silence),
                &all,
                t()
            )),
            silence("deploys")
        );
        assert_eq!(
            held_by(find(&planned(&rule, None), &known(&[]), &all, t())),
            silence("a1")
        );
        let inhibited = Some((HoldKind::Inhibition, "status".to_owned()));
        let none = states(AlarmState::Ok, false);
        assert_eq!(
            held_by(find(&planned(&rule, None), &known(&[]), &none, t())),
            inhibited
        );
    }

    #[test]
    fn an_inhibitor_counts_as_evaluated_in_this_run_else_as_stored() {
        let rule = rule();
        let planned = planned(&rule, None);
        let with = |now: Option<ResultState>, stored: AlarmState| {
            let known = Known {
                silences: &[],
                inhibitors: vec![now],
            };
            held_by(find(&planned, &known, &states(stored, false), t())).is_some()
        };
        let alarm = Some(ResultState::Alarm(AlarmState::Alarm));
        let ok = Some(ResultState::Alarm(AlarmState::Ok));
        assert!(with(alarm, AlarmState::Ok), "this run's ALARM");
        assert!(
            !with(ok, AlarmState::Alarm),
            "this run's OK over the stored ALARM"
        );
        assert!(with(None, AlarmState::Alarm), "not evaluated: as stored");
        assert!(
            with(Some(ResultState::Error), AlarmState::Alarm),
            "no data: as stored"
        );
        assert!(!with(None, AlarmState::Ok));
    }
}
