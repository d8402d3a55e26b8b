//! Grouping in the deliver stage (SPEC §16): per target (topic and format), whether a
//! run's notices go out one by one or together as digests.
//!
//! A run streams, so it cannot know at a target's first notice whether more than
//! `groupAbove` will follow. The [`Grouper`] holds a target's notices for a short wait
//! ([`GROUP_WAIT`], Alertmanager's `group_wait` for one run). A target that stays at
//! `groupAbove` or fewer through the wait gets its notices one by one from then on, as
//! they come, until it passes `groupAbove`. A target past `groupAbove` has what comes
//! held for digests: the first goes when the wait ends (a storm pages at once), the next
//! once the storm has passed (no notice for the target for [`GROUP_WAIT`]), at the
//! latest [`MAX_HOLD`] after its first notice, and whatever is held goes when no notice
//! can come any more (every query answered and decided) or fetching stops at the
//! deadline. So a target never receives more than `groupAbove` single messages from one
//! run, a storm that comes at once goes as one digest, and a hung instance does not hold
//! the others' alerts until the deadline.
//!
//! State stays per key: each notice is claimed before it is handed over here, and its
//! outcome (the digest's, when it went in one) goes back to its key to be confirmed or
//! released (`deliver`).

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::deadline;
use super::deliver::Sent;
use crate::domain::alert::{self, Alert};
use crate::domain::catalog::Format;
use crate::ports::{AlertSink, PublishError};

/// How long a target's first notices are held to see whether more than `groupAbove`
/// follow; and how long a target past `groupAbove` goes without a notice before what is
/// held goes as a digest (the storm has passed).
pub(super) const GROUP_WAIT: Duration = Duration::from_secs(1);

/// The longest a notice waits for a digest while more keep coming, after a storm's first
/// digest (Alertmanager's `group_interval`, for one run).
pub(super) const MAX_HOLD: Duration = Duration::from_secs(10);

/// One alert handed over to be published, and where its outcome goes.
pub(super) struct Queued {
    pub alert: Alert,
    pub reply: oneshot::Sender<Sent>,
}

/// One SNS publish: an alert alone, or a digest of several.
pub(super) struct Job {
    pub alert: Alert,
    members: Vec<oneshot::Sender<Sent>>,
}

impl Job {
    fn alone(queued: Queued) -> Job {
        Job {
            alert: queued.alert,
            members: vec![queued.reply],
        }
    }

    /// How many alerts it carries.
    pub fn count(&self) -> usize {
        self.members.len()
    }

    /// Publishes it, giving up at `until`, and tells each alert it carries what became of
    /// it. Returns whether a digest was published.
    pub async fn publish<K: AlertSink>(self, sink: &K, until: Option<Instant>) -> bool {
        let outcome = deadline::within(until, sink.publish(&self.alert))
            .await
            .unwrap_or_else(|| {
                Err(PublishError {
                    topic_arn: self.alert.topic_arn.to_string(),
                    message: "abandoned at the run's deadline".to_owned(),
                })
            });
        let digest = self.count() > 1;
        if let (Ok(message_id), true) = (&outcome, digest) {
            tracing::info!(%message_id, subject = %self.alert.subject, topic = %self.alert.topic_arn, count = self.count(), "digest published");
        }
        let published = digest && outcome.is_ok();
        self.reply(outcome);
        published
    }

    /// Tells each alert it carries what became of it.
    fn reply(self, outcome: Result<String, PublishError>) {
        let count = self.members.len();
        let digest_of = (count > 1).then_some(count);
        for member in self.members {
            // A key that stopped waiting (the deadline) has recorded that already.
            let _ = member.send(Sent {
                outcome: outcome.clone(),
                digest_of,
            });
        }
    }
}

/// Where a target stands in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Its first notices are held until then.
    Collecting { until: Instant },
    /// At `groupAbove` or fewer after the wait: each notice goes as it comes.
    Streaming,
    /// Past `groupAbove`: what comes is held for a digest, which goes at `due_by` (the
    /// end of the first wait for the first digest, [`MAX_HOLD`] after its first notice
    /// for the next), or earlier when no notice came since `last` for the wait, or at
    /// the end.
    Grouping { due_by: Instant, last: Instant },
}

struct Target {
    topic: String,
    format: Format,
    mode: Mode,
    /// Notices this run for the target, sent or held.
    count: usize,
    held: Vec<Queued>,
}

/// The targets of one publishing run and the notices held for them.
pub(super) struct Grouper {
    above: usize,
    wait: Duration,
    /// When fetching stops (the deadline): whatever is held goes then.
    close_at: Option<Instant>,
    closed: bool,
    targets: Vec<Target>,
}

impl Grouper {
    /// More than `above` notices for one target go as digests.
    pub fn new(above: usize, wait: Duration, close_at: Option<Instant>) -> Self {
        Grouper {
            above,
            wait,
            close_at,
            closed: false,
            targets: Vec::new(),
        }
    }

    /// Takes a notice's alert; returns what is to be published now.
    pub fn push(&mut self, queued: Queued, now: Instant) -> Vec<Job> {
        if self.closed {
            return vec![Job::alone(queued)];
        }
        let (topic, format) = (queued.alert.topic_arn.as_str(), queued.alert.format);
        let at = match self
            .targets
            .iter()
            .position(|t| t.topic == topic && t.format == format)
        {
            Some(at) => at,
            None => {
                self.targets.push(Target {
                    topic: topic.to_owned(),
                    format,
                    mode: Mode::Collecting {
                        until: now + self.wait,
                    },
                    count: 0,
                    held: Vec::new(),
                });
                self.targets.len() - 1
            }
        };
        let above = self.above;
        let target = &mut self.targets[at];
        target.count += 1;
        let past = target.count > above;
        match target.mode {
            Mode::Streaming if !past => return vec![Job::alone(queued)],
            Mode::Streaming | Mode::Collecting { .. } if past => {
                // A storm's first digest goes when the first wait ends.
                let due_by = match target.mode {
                    Mode::Collecting { until } => until,
                    _ => now + MAX_HOLD,
                };
                target.mode = Mode::Grouping { due_by, last: now };
            }
            Mode::Grouping { due_by, .. } => {
                let due_by = if target.held.is_empty() {
                    now + MAX_HOLD
                } else {
                    due_by
                };
                target.mode = Mode::Grouping { due_by, last: now };
            }
            _ => {}
        }
        target.held.push(queued);
        Vec::new()
    }

    /// When a target's held notices are due: the end of its first wait, or (past
    /// `groupAbove`) the wait after its last notice, or its digest's `due_by` if sooner.
    fn due(&self, target: &Target) -> Option<Instant> {
        if target.held.is_empty() {
            return None;
        }
        match target.mode {
            Mode::Collecting { until } => Some(until),
            Mode::Streaming => None,
            Mode::Grouping { due_by, last } => Some((last + self.wait).min(due_by)),
        }
    }

    /// When [`Grouper::wake`] has something to do, if ever.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let due = self.targets.iter().filter_map(|t| self.due(t));
        let holding = self.targets.iter().any(|t| !t.held.is_empty());
        let close = self.close_at.filter(|_| holding && !self.closed);
        due.chain(close).min()
    }

    /// What is due at `now`: everything held once fetching has stopped; else the notices
    /// of targets whose wait is over and that stayed at `groupAbove` or fewer (alone),
    /// and the digests of targets past it that are due.
    pub fn wake(&mut self, now: Instant) -> Vec<Job> {
        if self.close_at.is_some_and(|close| close <= now) {
            return self.flush();
        }
        let due: Vec<bool> = self
            .targets
            .iter()
            .map(|t| self.due(t).is_some_and(|due| due <= now))
            .collect();
        let mut jobs = Vec::new();
        for (target, due) in self.targets.iter_mut().zip(due) {
            if !due {
                continue;
            }
            let held = std::mem::take(&mut target.held);
            match target.mode {
                Mode::Collecting { .. } => {
                    target.mode = Mode::Streaming;
                    jobs.extend(held.into_iter().map(Job::alone));
                }
                Mode::Grouping { .. } => jobs.extend(digests(held)),
                Mode::Streaming => {}
            }
        }
        jobs
    }

    /// No notice can come any more (or fetching has stopped): what is held goes, as
    /// digests for the targets past `groupAbove`, alone for the others. What comes after
    /// this goes alone, at once.
    pub fn flush(&mut self) -> Vec<Job> {
        self.closed = true;
        let mut jobs = Vec::new();
        for target in &mut self.targets {
            let held = std::mem::take(&mut target.held);
            if let Mode::Grouping { .. } = target.mode {
                jobs.extend(digests(held));
            } else {
                jobs.extend(held.into_iter().map(Job::alone));
            }
        }
        jobs
    }
}

/// The held alerts of one target as digests (split where SNS's size limit requires).
fn digests(held: Vec<Queued>) -> Vec<Job> {
    let alerts: Vec<&Alert> = held.iter().map(|q| &q.alert).collect();
    let digests = alert::digests(&alerts);
    let mut replies: Vec<Option<oneshot::Sender<Sent>>> =
        held.into_iter().map(|q| Some(q.reply)).collect();
    digests
        .into_iter()
        .map(|digest| Job {
            alert: digest.alert,
            members: digest
                .covers
                .iter()
                .filter_map(|&i| replies.get_mut(i).and_then(Option::take))
                .collect(),
        })
        .collect()
}

/// The alerts a dry run shows, as a publishing run would send them: per target, more
/// than `above` as digests (where the target's first alert was), the others as they are.
pub(super) fn group_shown(alerts: Vec<Alert>, above: Option<usize>) -> Vec<Alert> {
    let Some(above) = above else {
        return alerts;
    };
    let target = |alert: &Alert| (alert.topic_arn.as_str().to_owned(), alert.format);
    let mut counts: Vec<((String, Format), usize)> = Vec::new();
    for alert in &alerts {
        let key = target(alert);
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    let grouped: Vec<&(String, Format)> = counts
        .iter()
        .filter(|(_, n)| *n > above)
        .map(|(key, _)| key)
        .collect();
    if grouped.is_empty() {
        return alerts;
    }
    let mut shown = Vec::with_capacity(alerts.len());
    let mut done: Vec<&(String, Format)> = Vec::new();
    for alert in &alerts {
        let key = target(alert);
        let Some(&group) = grouped.iter().find(|k| ***k == key) else {
            shown.push(alert.clone());
            continue;
        };
        if done.contains(&group) {
            continue;
        }
        done.push(group);
        let members: Vec<&Alert> = alerts.iter().filter(|a| target(a) == key).collect();
        shown.extend(alert::digests(&members).into_iter().map(|d| d.alert));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluate::{AlarmState, Evaluation};
    use crate::domain::transition::Notice;
    use crate::rules::{self, Fallbacks};

    const RULES: &str = r#"
version: 1
rules:
  - name: cpu-high
    instances: ["*"]
    metric: CPUUtilization
    comparison: ">"
    threshold: 80
    region: us-east-1
    notify:
      - {topicArn: "arn:aws:sns:us-east-1:123456789012:mail"}
      - {topicArn: "arn:aws:sns:us-east-1:123456789012:machines", format: json}
"#;

    /// The alerts (mail, then machines) of web-`i` in ALARM.
    fn alerts(i: usize) -> Vec<Alert> {
        let rules = rules::parse(RULES, "test", &Fallbacks::default()).unwrap();
        let at = "2026-11-24T13:05:00Z".parse().unwrap();
        let evaluation = Evaluation {
            state: AlarmState::Alarm,
            reason: "Threshold Crossed".to_owned(),
            datapoints: Vec::new(),
            range_end: at,
        };
        alert::render(
            &rules.rules[0],
            "us-east-1",
            &format!("web-{i}"),
            &evaluation,
            at,
            Notice::first(AlarmState::Alarm),
            None,
        )
    }

    fn queued(alert: Alert) -> (Queued, oneshot::Receiver<Sent>) {
        let (reply, receiver) = oneshot::channel();
        (Queued { alert, reply }, receiver)
    }

    /// A wait of two seconds, whatever [`GROUP_WAIT`] is.
    const WAIT: Duration = Duration::from_secs(2);

    fn counts(jobs: &[Job]) -> Vec<usize> {
        jobs.iter().map(Job::count).collect()
    }

    #[test]
    fn a_storm_within_the_wait_goes_as_one_digest_per_target_when_nothing_more_can_come() {
        let now = Instant::now();
        let mut grouper = Grouper::new(10, WAIT, None);
        let mut receivers = Vec::new();
        for i in 0..25 {
            for alert in alerts(i) {
                let (q, r) = queued(alert);
                assert!(grouper.push(q, now).is_empty(), "held");
                receivers.push(r);
            }
        }
        assert!(
            grouper.wake(now + Duration::from_secs(1)).is_empty(),
            "past 10: held for a digest"
        );
        let jobs = grouper.flush();
        assert_eq!(counts(&jobs), [25, 25]);
        assert_eq!(jobs[0].alert.attributes["digest"], "true");
        assert_eq!(jobs[1].alert.format, Format::Json);
        for job in jobs {
            job.reply(Ok("m-1".to_owned()));
        }
        for mut r in receivers {
            let sent = r.try_recv().unwrap();
            assert_eq!(sent.digest_of, Some(25));
            assert!(sent.outcome.is_ok());
        }
        // Closed: a late notice goes at once.
        let (q, _r) = queued(alerts(99).remove(0));
        assert_eq!(counts(&grouper.push(q, now)), [1]);
    }

    #[test]
    fn a_quiet_target_goes_alone_after_the_wait_and_at_most_group_above_singles_go_in_all() {
        let start = Instant::now();
        let mut grouper = Grouper::new(3, GROUP_WAIT, None);
        let mail = |i: usize| queued(alerts(i).remove(0)).0;
        assert!(grouper.push(mail(0), start).is_empty());
        assert!(grouper.push(mail(1), start).is_empty());
        assert_eq!(grouper.next_wakeup(), Some(start + GROUP_WAIT));
        let later = start + GROUP_WAIT;
        let jobs = grouper.wake(later);
        assert_eq!(counts(&jobs), [1, 1], "the wait is over: alone");
        assert_eq!(grouper.next_wakeup(), None);
        assert_eq!(
            counts(&grouper.push(mail(2), later)),
            [1],
            "the third goes at once"
        );
        assert!(
            grouper.push(mail(3), later).is_empty(),
            "the fourth is past groupAbove"
        );
        assert!(grouper.push(mail(4), later).is_empty());
        let jobs = grouper.flush();
        assert_eq!(counts(&jobs), [2], "one digest of the rest");
    }

    #[test]
    fn a_storms_first_digest_goes_when_the_wait_ends_and_the_next_once_it_has_passed() {
        let start = Instant::now();
        let mut grouper = Grouper::new(3, WAIT, None);
        let mail = |i: usize| queued(alerts(i).remove(0)).0;
        let second = Duration::from_secs(1);
        for i in 0..5 {
            assert!(grouper.push(mail(i), start).is_empty(), "held");
        }
        assert_eq!(grouper.next_wakeup(), Some(start + WAIT));
        assert!(grouper.wake(start + second).is_empty());
        let jobs = grouper.wake(start + WAIT);
        assert_eq!(counts(&jobs), [5], "the storm pages when the wait ends");
        assert_eq!(grouper.next_wakeup(), None, "nothing held");
        // Two more: held until two seconds pass without another.
        assert!(grouper.push(mail(5), start + second * 3).is_empty());
        assert!(grouper.push(mail(6), start + second * 4).is_empty());
        assert_eq!(grouper.next_wakeup(), Some(start + second * 6));
        assert!(grouper.wake(start + second * 5).is_empty());
        assert_eq!(counts(&grouper.wake(start + second * 6)), [2]);
        // A straggler alone goes as itself.
        let late = start + second * 40;
        assert!(grouper.push(mail(7), late).is_empty());
        let jobs = grouper.wake(late + WAIT);
        assert_eq!(counts(&jobs), [1]);
        assert_eq!(jobs[0].alert.attributes.get("digest"), None, "itself");
    }

    #[test]
    fn a_storm_that_keeps_coming_goes_in_digests_at_most_max_hold_apart() {
        let start = Instant::now();
        let mut grouper = Grouper::new(3, WAIT, None);
        let mail = |i: usize| queued(alerts(i).remove(0)).0;
        let step = Duration::from_millis(500);
        let mut jobs = Vec::new();
        // A notice every half second for 15 s: never two seconds of quiet.
        for i in 0..30 {
            let at = start + step * u32::try_from(i).unwrap();
            jobs.extend(grouper.wake(at));
            jobs.extend(grouper.push(mail(i), at));
        }
        // The first four when the wait ends (2 s); the twenty of the next ten seconds at
        // 12 s; the last six at the end.
        assert_eq!(counts(&jobs), [4, 20]);
        assert_eq!(counts(&grouper.flush()), [6]);
    }

    #[test]
    fn at_the_deadline_everything_held_goes() {
        let start = Instant::now();
        let close = start + Duration::from_secs(1);
        let mut grouper = Grouper::new(1, Duration::from_secs(60), Some(close));
        for i in 0..3 {
            let (q, _) = queued(alerts(i).remove(0));
            assert!(grouper.push(q, start).is_empty());
        }
        assert_eq!(grouper.next_wakeup(), Some(close));
        assert!(grouper.wake(start).is_empty());
        assert_eq!(counts(&grouper.wake(close)), [3]);
        assert_eq!(grouper.next_wakeup(), None);
    }

    #[test]
    fn a_dry_run_shows_digests_where_a_publishing_run_would_send_them() {
        let shown: Vec<Alert> = (0..12).flat_map(alerts).collect();
        let mut few: Vec<Alert> = (0..2).flat_map(alerts).collect();
        assert_eq!(
            group_shown(few.clone(), Some(10)),
            few,
            "two per target: alone"
        );
        let grouped = group_shown(shown.clone(), Some(10));
        assert_eq!(grouped.len(), 2);
        assert!(grouped.iter().all(|a| a.attributes["count"] == "12"));
        assert_eq!(grouped[0].format, Format::Text);
        assert_eq!(group_shown(shown.clone(), None), shown, "groupAbove: none");
        // Only the target past groupAbove is grouped, where its first alert was.
        few.extend((2..12).map(|i| alerts(i).remove(0)));
        let mixed = group_shown(few, Some(10));
        let formats: Vec<(Format, &str)> = mixed
            .iter()
            .map(|a| {
                (
                    a.format,
                    a.attributes.get("count").map_or("-", String::as_str),
                )
            })
            .collect();
        assert_eq!(
            formats,
            [
                (Format::Text, "12"),
                (Format::Json, "-"),
                (Format::Json, "-")
            ]
        );
    }
}
