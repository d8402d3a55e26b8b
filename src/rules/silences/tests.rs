use crate::rules::parse;
use crate::rules::test_support::{SOURCE, TOPIC, error_lines, fallbacks};

/// A document of two rules (cpu-high, disk-full) and `silences`, as YAML lines.
fn with_silences(silences: &str) -> String {
    format!(
        "version: 1\nrules:\n\
         - {{name: cpu-high, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 80}}\n\
         - {{name: disk-full, instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 90}}\n\
         silences:\n{silences}"
    )
}

fn env() -> crate::rules::Fallbacks {
    fallbacks("us-east-1", TOPIC)
}

#[test]
fn silences_parse_with_their_defaults_filled_in() {
    let doc = with_silences(
        "  - name: nightly-backups\n    match: {rule: \"cpu-*\", resource: \"web-?\", tags: {env: prod}}\n    \
         schedule: {cron: \"0 2 * * *\", duration: 90m}\n    comment: backups saturate the CPU\n\
         \x20 - name: migration\n    match: {region: us-east-1}\n    \
         schedule: {start: 2026-11-24T22:00:00Z, end: \"2026-11-25T02:00:00+01:00\"}\n",
    );
    let rules = parse(&doc, SOURCE, &env()).unwrap();
    assert_eq!(rules.silences.len(), 2);
    let shown = serde_json::to_value(&rules.silences).unwrap();
    assert_eq!(
        shown,
        serde_json::json!([
            {
                "name": "nightly-backups",
                "match": {"rule": "cpu-*", "resource": "web-?", "tags": {"env": "prod"}},
                "schedule": {"cron": "0 2 * * *", "duration": "PT1H30M", "timezone": "UTC"},
                "comment": "backups saturate the CPU",
            },
            {
                "name": "migration",
                "match": {"region": "us-east-1"},
                "schedule": {"start": "2026-11-24T22:00:00Z", "end": "2026-11-25T01:00:00Z"},
            },
        ])
    );
    // A document without silences shows none.
    let plain = parse(&with_silences("  []\n"), SOURCE, &env()).unwrap();
    assert!(!serde_json::to_string(&plain).unwrap().contains("silences"));
}

#[test]
fn each_silence_error_is_named_and_placed() {
    let cases: &[(&str, &str)] = &[
        (
            "  - {name: a, match: {rule: cpu-hgh}, schedule: {cron: '0 2 * * *', duration: 2h}}\n",
            "6:29: silences[0] (a): match.rule: no rule is named `cpu-hgh`; did you mean `cpu-high`?; the silence would never apply",
        ),
        (
            "  - {name: a, match: {rule: 'mem-*'}, schedule: {cron: '0 2 * * *', duration: 2h}}\n",
            "6:29: silences[0] (a): match.rule: `mem-*` matches no rule of the document; the silence would never apply",
        ),
        (
            "  - {name: a, match: {rule: cpu-high}, schedule: {cron: '0 2 * *', duration: 2h}}\n",
            "6:57: silences[0] (a): schedule.cron: `0 2 * *` has 4 field(s); expected five fields: minute hour day-of-month month day-of-week, such as \"0 2 * * *\" (02:00 every day) or \"30 22 * * SAT\" (22:30 on Saturdays)",
        ),
        (
            "  - {name: a, match: {rule: cpu-high}, schedule: {cron: '0 2 * * *', duration: 2hours}}\n",
            "6:80: silences[0] (a): schedule.duration: `2hours` is not a duration; expected a duration from 1 minute to 15 days such as 90m, 2h, 1h30m, 2d, or ISO 8601 such as PT2H",
        ),
        (
            "  - {name: a, match: {rule: cpu-high}, schedule: {cron: '0 2 * * *', duration: 2h, timezone: Europe/Pari}}\n",
            "6:94: silences[0] (a): schedule.timezone: `Europe/Pari` is not an IANA time zone name; expected one such as UTC, Europe/Paris or America/New_York; did you mean `Europe/Paris`?",
        ),
        (
            "  - {name: a, match: {rule: cpu-high}, schedule: {cron: '0 2 * * *'}}\n",
            "6:50: silences[0] (a): schedule.duration: required with `cron`; a duration from 1 minute to 15 days such as 90m, 2h, 1h30m, 2d, or ISO 8601 such as PT2H",
        ),
        (
            "  - {name: a, match: {rule: cpu-high}, schedule: {start: 2026-11-24T22:00:00Z, end: 2026-11-24T21:00:00Z}}\n",
            "6:85: silences[0] (a): schedule.end: `2026-11-24T21:00:00Z` is not after start (2026-11-24T22:00:00Z); a window ends after it starts",
        ),
        (
            "  - {name: a, match: {rule: cpu-high}, schedule: {start: tomorrow, end: 2026-11-24T21:00:00Z}}\n",
            "6:58: silences[0] (a): schedule.start: `tomorrow` is not an RFC 3339 time (premature end of input); expected one such as 2026-11-24T22:00:00Z",
        ),
        (
            "  - {name: a, match: {rule: cpu-high}, schedule: {cron: '0 2 * * *', duration: 2h, end: 2026-11-24T21:00:00Z}}\n",
            "6:89: silences[0] (a): schedule.end: `cron` and `end` are both set; a schedule is either {cron: \"0 2 * * *\", duration: 2h, timezone: Europe/Paris} (every time the cron expression matches, for the duration) or {start: 2026-11-24T22:00:00Z, end: 2026-11-25T02:00:00Z} (once)",
        ),
        (
            "  - {name: a, match: {rule: cpu-high}, schedule: {crn: '0 2 * * *', duration: 2h}}\n",
            "6:51: silences[0] (a): schedule.crn: unknown field `crn` (did you mean `cron`?); allowed: cron, duration, timezone, start, end",
        ),
        (
            "  - {name: a, match: {rules: cpu-high}, schedule: {cron: '0 2 * * *', duration: 2h}}\n",
            "6:23: silences[0] (a): match.rules: unknown field `rules` (did you mean `rule`?); allowed: rule, resource, region, tags",
        ),
        (
            "  - {name: a, match: {}, schedule: {cron: '0 2 * * *', duration: 2h}}\n",
            "6:22: silences[0] (a): match: must say which results it covers: at least one of rule, resource, region, tags (rule: \"*\" silences every rule)",
        ),
        (
            "  - {name: a, match: {region: useast1}, schedule: {cron: '0 2 * * *', duration: 2h}}\n",
            "6:31: silences[0] (a): match.region: `useast1` is not an AWS region name; expected one like us-east-1 or eu-west-2",
        ),
        (
            "  - {name: a, match: {resource: 'web-['}, schedule: {cron: '0 2 * * *', duration: 2h}}\n",
            "6:33: silences[0] (a): match.resource: `web-[` is not a valid glob (invalid range pattern); use * for any characters, ? for one, [abc] or [a-z] for one of a set, [!abc] for one not in it",
        ),
        (
            "  - {name: a, match: {rule: cpu-high}, schedule: {cron: '0 2 * * *', duration: 2h}, commnt: x}\n",
            "6:85: silences[0] (a): commnt: unknown field `commnt` (did you mean `comment`?); allowed: name, match, schedule, comment",
        ),
        (
            "  - {match: {rule: cpu-high}, schedule: {cron: '0 2 * * *', duration: 2h}}\n",
            "6:5: silences[0]: name: required; a unique name of 1 to 64 characters from A-Z a-z \
             0-9 _ . -",
        ),
        (
            "  - {name: 'a b', match: {rule: cpu-high}, schedule: {cron: '0 2 * * *', duration: 2h}}\n",
            "6:12: silences[0]: name: `a b` is not a valid silence name (' ' is not allowed); allowed: 1 to 64 characters from A-Z a-z 0-9 _ . -",
        ),
        (
            "  - {name: a, schedule: {cron: '0 2 * * *', duration: 2h}}\n",
            "6:5: silences[0] (a): match: required; a mapping of rule, resource, region (each a \
             name or glob) and tags ({key: glob}), e.g. {rule: \"cpu-*\", resource: web-1}",
        ),
        (
            "  - web-1\n",
            "6:5: silences[0]: expected a mapping of name, match, schedule and comment, got the \
             string \"web-1\"",
        ),
    ];
    let mut wrong = Vec::new();
    for (silences, expected) in cases {
        let doc = with_silences(silences);
        let lines = error_lines(&doc, &env());
        if lines != [format!("{SOURCE}:{expected}")] {
            wrong.push(format!("{silences}=> {lines:#?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let twice = with_silences(
        "  - {name: a, match: {rule: cpu-high}, schedule: {cron: '0 2 * * *', duration: 2h}}\n  \
         - {name: a, match: {rule: cpu-high}, schedule: {cron: '0 3 * * *', duration: 2h}}\n",
    );
    assert_eq!(
        error_lines(&twice, &env()),
        [
            "rules.yaml:7:12: silences[1] (a): name: `a` is already the name of silences[0]; \
          names must be unique"
        ]
    );
    assert_eq!(
        error_lines(&with_silences("  web-1\n"), &env()),
        [
            "rules.yaml:6:3: silences: expected a list of silences (each {name, match, schedule, \
          comment}), got the string \"web-1\""
        ]
    );
}
