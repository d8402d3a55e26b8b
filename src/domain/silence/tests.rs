use super::*;
use crate::domain::rule::Rule;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn durations_read_compact_and_iso_8601() {
    let cases: &[(&str, i64)] = &[
        ("90m", 90 * 60),
        ("2h", 7_200),
        ("1h30m", 5_400),
        ("1d", 86_400),
        ("1d12h", 129_600),
        (" 45m ", 2_700),
        ("PT2H", 7_200),
        ("PT1H30M", 5_400),
        ("P2DT12H", 216_000),
        ("P7D", 604_800),
        ("P1W", 604_800),
        ("PT90S", 90),
        ("pt15m", 900),
        ("1m", 60),
        ("15d", 15 * 86_400),
    ];
    for (text, seconds) in cases {
        let duration: Duration = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(duration.as_delta().num_seconds(), *seconds, "{text}");
    }
    for bad in [
        "", "2", "h", "2x", "30m2h", "2h2h", "PT", "P", "P2H", "PT2D", "-2h", "2 h", "1.5h",
        "P1DT", "9999999h",
    ] {
        let err = bad.parse::<Duration>().unwrap_err();
        assert!(
            err.contains("expected a duration from 1 minute to 15 days"),
            "{bad}: {err}"
        );
    }
    for out in ["30s", "PT59S", "16d", "P3W"] {
        let err = out.parse::<Duration>().unwrap_err();
        assert!(err.starts_with(&format!("`{out}` ")), "{out}: {err}");
    }
}

#[test]
fn durations_are_shown_compact_and_serialised_as_iso_8601() {
    for (text, compact, iso) in [
        ("90m", "1h30m", "PT1H30M"),
        ("P2DT12H", "2d12h", "P2DT12H"),
        ("1d", "1d", "P1D"),
        ("PT90S", "1m30s", "PT1M30S"),
    ] {
        let duration: Duration = text.parse().unwrap();
        assert_eq!(
            (duration.compact(), duration.iso8601()),
            (compact.into(), iso.into())
        );
        assert_eq!(serde_json::to_value(duration).unwrap(), iso);
    }
}

fn recurring(cron: &str, duration: &str, timezone: Tz) -> Schedule {
    Schedule::Recurring {
        cron: cron.parse().unwrap(),
        duration: duration.parse().unwrap(),
        timezone,
    }
}

#[test]
fn a_cron_window_starts_at_each_match_and_lasts_its_duration() {
    // Every night 02:00-04:00 UTC.
    let nightly = recurring("0 2 * * *", "2h", Tz::UTC);
    let window = |t: &str| nightly.window_at(utc(t));
    assert_eq!(window("2026-11-24T01:59:59Z"), None);
    let tonight = Some((utc("2026-11-24T02:00:00Z"), utc("2026-11-24T04:00:00Z")));
    assert_eq!(
        window("2026-11-24T02:00:00Z"),
        tonight,
        "the start is in it"
    );
    assert_eq!(window("2026-11-24T03:59:59Z"), tonight);
    assert_eq!(window("2026-11-24T04:00:00Z"), None, "the end is not");
    assert_eq!(
        window("2026-11-25T02:30:00Z"),
        Some((utc("2026-11-25T02:00:00Z"), utc("2026-11-25T04:00:00Z")))
    );
    // Saturdays 22:30 for 1h30m: across midnight.
    let weekly = recurring("30 22 * * SAT", "1h30m", Tz::UTC);
    // 2026-11-28 is a Saturday.
    assert_eq!(
        weekly.window_at(utc("2026-11-28T23:59:00Z")),
        Some((utc("2026-11-28T22:30:00Z"), utc("2026-11-29T00:00:00Z")))
    );
    assert_eq!(weekly.window_at(utc("2026-11-29T00:00:00Z")), None);
    assert_eq!(
        weekly.window_at(utc("2026-11-27T22:45:00Z")),
        None,
        "a Friday"
    );
}

#[test]
fn a_cron_window_is_in_its_time_zone() {
    // 02:00 in Paris is 01:00 UTC in winter and 00:00 UTC in summer.
    let paris = recurring("0 2 * * *", "1h", chrono_tz::Europe::Paris);
    assert_eq!(
        paris.window_at(utc("2026-11-24T01:30:00Z")),
        Some((utc("2026-11-24T01:00:00Z"), utc("2026-11-24T02:00:00Z")))
    );
    assert_eq!(paris.window_at(utc("2026-11-24T02:30:00Z")), None);
    assert_eq!(
        paris.window_at(utc("2026-07-01T00:15:00Z")),
        Some((utc("2026-07-01T00:00:00Z"), utc("2026-07-01T01:00:00Z")))
    );
}

#[test]
fn a_window_once_is_from_start_to_end() {
    let once = Schedule::Once {
        start: utc("2026-11-24T10:00:00Z"),
        end: utc("2026-11-24T12:00:00Z"),
    };
    assert_eq!(once.window_at(utc("2026-11-24T09:59:59Z")), None);
    assert!(once.window_at(utc("2026-11-24T10:00:00Z")).is_some());
    assert!(once.window_at(utc("2026-11-24T11:59:59Z")).is_some());
    assert_eq!(once.window_at(utc("2026-11-24T12:00:00Z")), None);
}

#[test]
fn cron_expressions_have_five_fields() {
    for good in [
        "0 2 * * *",
        "*/15 * * * MON-FRI",
        "0 0 1 * *",
        " 0  2 * * * ",
    ] {
        let cron: CronExpression = good.parse().unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(
            cron.as_str(),
            good.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    let err = "0 0 2 * * *".parse::<CronExpression>().unwrap_err();
    assert!(
        err.starts_with("`0 0 2 * * *` has 6 field(s); expected five fields"),
        "{err}"
    );
    let err = "61 2 * * *".parse::<CronExpression>().unwrap_err();
    assert!(
        err.starts_with("`61 2 * * *` is not a valid cron expression"),
        "{err}"
    );
}

fn rules() -> Vec<Rule> {
    crate::rules::parse(
        "version: 1\nrules:\n- {name: cpu-high, instances: [web-1], metric: CPUUtilization, \
         comparison: '>', threshold: 80, region: us-east-1, \
         topicArn: 'arn:aws:sns:us-east-1:123456789012:t'}\n",
        "test",
        &crate::rules::Fallbacks::default(),
    )
    .unwrap()
    .rules
}

fn glob(text: &str) -> Option<Selector> {
    Some(Selector::parse(text).unwrap())
}

#[test]
fn a_matcher_needs_every_field_it_has() {
    let rules = rules();
    let alarm = Alarm {
        rule: &rules[0],
        region: "us-east-1",
        resource: "web-1".into(),
    };
    let tags = vec![
        ("env".to_owned(), Some("prod".to_owned())),
        ("backup".to_owned(), None),
    ];
    let tagged = |pairs: &[(&str, &str)]| Matcher {
        tags: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Selector::parse(v).unwrap()))
            .collect(),
        ..Matcher::default()
    };
    let cases: Vec<(Matcher, bool)> = vec![
        (Matcher::default(), true),
        (
            Matcher {
                rule: glob("cpu-*"),
                ..Matcher::default()
            },
            true,
        ),
        (
            Matcher {
                rule: glob("disk-*"),
                ..Matcher::default()
            },
            false,
        ),
        (
            Matcher {
                resource: glob("web-?"),
                region: glob("us-*"),
                ..Matcher::default()
            },
            true,
        ),
        (
            Matcher {
                resource: glob("web-1"),
                region: glob("eu-*"),
                ..Matcher::default()
            },
            false,
        ),
        (tagged(&[("env", "prod")]), true),
        (tagged(&[("env", "p*")]), true),
        (tagged(&[("env", "dev")]), false),
        (tagged(&[("backup", "*")]), true),
        (tagged(&[("owner", "*")]), false),
        (tagged(&[("env", "prod"), ("backup", "")]), true),
    ];
    for (matcher, expected) in cases {
        assert_eq!(
            matcher.matches(&alarm, Some(&tags)),
            expected,
            "{}",
            matcher.describe()
        );
    }
    // Without a listing the tags are unknown: a matcher with tags covers nothing.
    assert!(!tagged(&[("env", "*")]).matches(&alarm, None));
    assert!(Matcher::default().matches(&alarm, None));
}

#[test]
fn the_silence_until_tag_silences_until_its_time() {
    let t = utc("2026-11-24T13:05:00Z");
    let tag = |value: Option<&str>| vec![(SILENCE_UNTIL_TAG.to_owned(), value.map(str::to_owned))];
    let active = silence_until_tag(&tag(Some("2026-11-24T18:00:00Z")), t)
        .unwrap()
        .unwrap();
    assert_eq!(
        (active.origin, active.until),
        (Origin::Tag, utc("2026-11-24T18:00:00Z"))
    );
    assert!(
        silence_until_tag(&tag(Some("2026-11-24T14:05:00+01:00")), t).is_none(),
        "passed"
    );
    assert!(silence_until_tag(&[], t).is_none());
    for bad in [Some("tomorrow"), None, Some("2026-11-24")] {
        let err = silence_until_tag(&tag(bad), t).unwrap().unwrap_err();
        assert!(err.contains("not an RFC 3339 time"), "{bad:?}: {err}");
    }
}

fn ad_hoc(id: &str, start: &str, end: &str) -> AdHoc {
    AdHoc {
        id: id.into(),
        matcher: Matcher {
            resource: glob("web-*"),
            ..Matcher::default()
        },
        start: utc(start),
        end: utc(end),
        comment: "disk swap".into(),
        created_at: utc(start),
        expired_at: None,
    }
}

#[test]
fn ad_hoc_silences_are_in_force_from_start_to_end_until_expired() {
    let mut book = Book::default();
    let silence = ad_hoc("a1", "2026-11-24T10:00:00Z", "2026-11-24T12:00:00Z");
    book.silences.insert("a1".into(), silence.clone());
    let active = |book: &Book, t: &str| book.active_at(utc(t)).len();
    assert_eq!(active(&book, "2026-11-24T09:59:00Z"), 0);
    assert_eq!(active(&book, "2026-11-24T10:00:00Z"), 1);
    assert_eq!(active(&book, "2026-11-24T12:00:00Z"), 0);
    let found = &book.active_at(utc("2026-11-24T11:00:00Z"))[0];
    assert_eq!(
        (found.name.as_str(), found.origin, found.until),
        ("a1", Origin::AdHoc, utc("2026-11-24T12:00:00Z"))
    );
    assert_eq!(silence.status(utc("2026-11-24T09:00:00Z")), "pending");
    assert_eq!(silence.status(utc("2026-11-24T11:00:00Z")), "active");
    assert_eq!(silence.status(utc("2026-11-24T12:00:00Z")), "expired");
    // Expired by hand: nothing, whatever the evaluation time.
    book.silences.get_mut("a1").unwrap().expired_at = Some(utc("2026-11-24T10:30:00Z"));
    assert_eq!(active(&book, "2026-11-24T10:15:00Z"), 0);
    assert_eq!(
        book.silences["a1"].status(utc("2026-11-24T10:15:00Z")),
        "expired"
    );
}

#[test]
fn ended_silences_are_pruned_after_five_days() {
    let mut book = Book::default();
    book.silences.insert(
        "old".into(),
        ad_hoc("old", "2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z"),
    );
    let mut expired = ad_hoc("cut", "2026-11-20T10:00:00Z", "2026-12-20T10:00:00Z");
    expired.expired_at = Some(utc("2026-11-20T11:00:00Z"));
    book.silences.insert("cut".into(), expired);
    book.silences.insert(
        "recent".into(),
        ad_hoc("recent", "2026-11-22T10:00:00Z", "2026-11-22T12:00:00Z"),
    );
    book.prune(utc("2026-11-26T00:00:00Z"));
    let kept: Vec<&str> = book.silences.keys().map(String::as_str).collect();
    assert_eq!(
        kept,
        ["recent"],
        "ended more than 5 days ago, by time or by hand"
    );
}

#[test]
fn new_ids_are_eight_hex_digits_not_taken() {
    let mut book = Book::default();
    let first = book.new_id("seed");
    assert!(
        first.len() == 8 && first.chars().all(|c| c.is_ascii_hexdigit()),
        "{first}"
    );
    assert_eq!(book.new_id("seed"), first, "a function of the seed");
    book.silences.insert(
        first.clone(),
        ad_hoc(&first, "2026-11-24T10:00:00Z", "2026-11-24T12:00:00Z"),
    );
    let second = book.new_id("seed");
    assert_ne!(second, first);
}
