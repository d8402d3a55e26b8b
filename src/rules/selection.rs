//! Which resources a rule covers and where: `resources` (or `instances`), `exclude`,
//! `tags`, `states`, and `region` or `regions`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_yaml_ng::{Mapping, Value};

use crate::domain::catalog::ResourceType;
use crate::domain::select::{Selection, Selector, TagMatch};

use super::positions::Path;
use super::scope::{Field, Scope};
use super::suggest::with_suggestion;
use super::values::{describe, key_text, string};
use crate::domain::rule::is_region;

/// `an instance`, `a database`.
fn a(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

fn resources_allowed(noun: &str) -> String {
    format!(
        "expected a list of {noun} names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every \
         {noun}"
    )
}
fn exclude_allowed(noun: &str) -> String {
    format!("expected a list of {noun} names and globs, e.g. [bastion, \"test-*\"]")
}
/// Entries `instances` and `exclude` may list each. Every name is checked against every
/// exclusion, so two lists of 100,000 (a megabyte of YAML) would take minutes; a fleet
/// larger than this is selected with globs or tags.
pub(super) const MAX_SELECTORS: usize = 1_000;
const TAGS_ALLOWED: &str = "expected a mapping of tag key to a value, a list of values, or \"*\" \
     (any value), e.g. {env: prod, role: [web, api], backup: \"*\"}";

/// The field a rule selects with: `resources`, or `instances` (its synonym on `Instance`
/// rules, and the only name before other types); one of the two, not both.
fn selecting_field(
    scope: &mut Scope<'_>,
    map: &Mapping,
    kind: Option<ResourceType>,
) -> Option<&'static str> {
    let has = |key: &str| map.contains_key(key);
    match (has("resources"), has("instances")) {
        (true, true) => {
            scope.error(
                "instances",
                "`instances` and `resources` are both set; use one of them (`resources` works for \
                 every type)",
            );
            None
        }
        (false, true) => match kind {
            Some(kind) if kind != ResourceType::Instance => {
                scope.error(
                    "instances",
                    format!(
                        "`instances` selects instances, but this rule watches {kind} resources; \
                         name them in `resources`"
                    ),
                );
                None
            }
            _ => Some("instances"),
        },
        (true, false) => Some("resources"),
        // Neither: the error names the field a reader of this type's rules knows.
        (false, false) => Some(match kind {
            Some(ResourceType::Instance) => "instances",
            _ => "resources",
        }),
    }
}

/// `resources` or `instances` (required), `exclude`, `tags` and `states`: every entry
/// checked, and the combinations certain to select nothing refused, since such a rule
/// would never alert.
pub(super) fn check_selection(
    scope: &mut Scope<'_>,
    map: &Mapping,
    kind: Option<ResourceType>,
) -> Option<Selection> {
    let noun = kind.map_or("resource", ResourceType::noun);
    let field = selecting_field(scope, map, kind);
    let allowed = resources_allowed(noun);
    let resources = match field {
        Some(field) => {
            let list = scope.field(map, field, |v| match v {
                Value::Sequence(list) if list.is_empty() => {
                    Err(format!("must name at least one {noun}; {allowed}"))
                }
                Value::Sequence(list) => at_most_max(list),
                // `resources: "*"`, the one scalar that cannot be a typo of a list.
                Value::String(all) if all == "*" => Ok(std::slice::from_ref(v)),
                other => Err(format!("{allowed}, got {}", describe(other))),
            });
            let list = scope.required(
                list,
                field,
                &format!(
                    "a list of {noun} names and globs, e.g. [web-1, \"web-*\"], or \"*\" for every \
                     {noun}"
                ),
            );
            list.and_then(|list| check_selectors(scope, field, list, noun))
        }
        None => None,
    };
    let exclude = scope
        .field(map, "exclude", |v| match v {
            Value::Sequence(list) => at_most_max(list),
            other => Err(format!(
                "{}, got {}",
                exclude_allowed(noun),
                describe(other)
            )),
        })
        .or_else(|| Some(&[]))
        .and_then(|list| check_selectors(scope, "exclude", list, noun));
    let tags = check_tags(scope, map);
    let states = check_states(scope, map, kind);
    let field = field.unwrap_or("resources");
    let (instances, exclude) = (resources?, exclude?);

    let mut certain_to_miss = false;
    for (j, excluded) in exclude.iter().enumerate() {
        if excluded.is_everything() {
            scope.error(
                Path::from("exclude").index(j),
                format!("`*` excludes every {noun}, so the rule could never select one"),
            );
            certain_to_miss = true;
        }
    }
    for (i, selector) in instances.iter().enumerate() {
        let clash = exclude
            .iter()
            .enumerate()
            .find(|(_, excluded)| match selector {
                Selector::Name(name) => excluded.matches(name),
                Selector::Glob(_) => *excluded == selector,
            });
        if let Some((j, excluded)) = clash
            && !excluded.is_everything()
        {
            let how = if excluded == selector {
                "is also in"
            } else {
                "is also excluded by"
            };
            scope.error(
                Path::from(field).index(i),
                format!(
                    "`{selector}` {how} exclude[{j}] (`{excluded}`), so it can never be \
                     selected; remove it from one of the lists"
                ),
            );
            certain_to_miss = true;
        }
    }
    if certain_to_miss {
        return None;
    }
    Some(Selection {
        resources: instances,
        exclude,
        tags: tags?,
        states: states?,
    })
}

fn at_most_max(list: &[Value]) -> Result<&[Value], String> {
    if list.len() > MAX_SELECTORS {
        return Err(format!(
            "lists {} entries; allowed: at most {MAX_SELECTORS} names and globs (select a larger \
             fleet with globs such as \"web-*\", or with tags)",
            list.len()
        ));
    }
    Ok(list)
}

/// The names and globs of `instances` or `exclude`: strings, valid globs, none twice.
fn check_selectors(
    scope: &mut Scope<'_>,
    field: &str,
    list: &[Value],
    noun: &str,
) -> Option<Vec<Selector>> {
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    let mut selectors = Vec::with_capacity(list.len());
    let mut valid = true;
    for (index, item) in list.iter().enumerate() {
        let at = Path::from(field).index(index);
        let checked = match item {
            Value::String(text) if text.trim().is_empty() => {
                Err(format!("is empty; expected {} name or a glob", a(noun)))
            }
            Value::String(text) => match first_seen.insert(text, index) {
                Some(first) => Err(format!("`{text}` is listed twice (also {field}[{first}])")),
                None => Selector::parse(text),
            },
            other => Err(format!(
                "expected {} name or a glob (a string; quote globs, e.g. \"web-*\"), got {}",
                a(noun),
                describe(other)
            )),
        };
        match checked {
            Ok(selector) => selectors.push(selector),
            Err(message) => {
                scope.error(at, message);
                valid = false;
            }
        }
    }
    valid.then_some(selectors)
}

/// `tags: {key: value | [values] | "*"}`. Values are compared as text, so `tier: 1`
/// matches the tag value `1`.
fn check_tags(scope: &mut Scope<'_>, map: &Mapping) -> Option<BTreeMap<String, TagMatch>> {
    let tags = match scope.field(map, "tags", |v| match v {
        Value::Mapping(tags) if tags.is_empty() => {
            Err(format!("must name at least one tag; {TAGS_ALLOWED}"))
        }
        Value::Mapping(tags) => Ok(tags),
        other => Err(format!("{TAGS_ALLOWED}, got {}", describe(other))),
    }) {
        Field::Valid(tags) => tags,
        Field::Absent => return Some(BTreeMap::new()),
        Field::Invalid => return None,
    };
    let mut checked = BTreeMap::new();
    let mut valid = true;
    for (key, value) in tags {
        let at = Path::from("tags").key(key_text(key));
        let key = match key {
            Value::String(key) if !key.trim().is_empty() => key.clone(),
            _ => {
                scope.key_error(at, "a tag key must be a non-empty string");
                valid = false;
                continue;
            }
        };
        match check_tag_match(value) {
            Ok(wanted) => {
                checked.insert(key, wanted);
            }
            Err(message) => {
                scope.error(at, message);
                valid = false;
            }
        }
    }
    valid.then_some(checked)
}

fn check_tag_match(value: &Value) -> Result<TagMatch, String> {
    let text = |value: &Value| match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "expected a tag value, a list of values, or \"*\" (any value), got {}",
            describe(other)
        )),
    };
    match value {
        Value::String(any) if any == "*" => Ok(TagMatch::Present),
        Value::Sequence(list) if list.is_empty() => Err(
            "an empty list matches no instance; list at least one value, or \"*\" for any"
                .to_owned(),
        ),
        Value::Sequence(list) => {
            let mut values = BTreeSet::new();
            for item in list {
                let value = text(item)?;
                if value == "*" {
                    return Err(
                        "`*` means any value; write it alone (key: \"*\"), not in a list"
                            .to_owned(),
                    );
                }
                if !values.insert(value.clone()) {
                    return Err(format!("`{value}` is listed twice"));
                }
            }
            Ok(TagMatch::AnyOf(values))
        }
        other => Ok(TagMatch::AnyOf(BTreeSet::from([text(other)?]))),
    }
}

/// `states: [running, ...]`, the states to cover, from the type's own (SPEC §11);
/// absent covers all. Distributions and buckets have none.
fn check_states(
    scope: &mut Scope<'_>,
    map: &Mapping,
    kind: Option<ResourceType>,
) -> Option<Option<BTreeSet<String>>> {
    let Some(kind) = kind else {
        // The type is wrong and said so; its states cannot be checked.
        return None;
    };
    let noun = kind.noun();
    let Some(known) = kind.states() else {
        if map.contains_key("states") {
            scope.error(
                "states",
                format!("{kind} resources have no state to select by; remove `states`"),
            );
            return None;
        }
        return Some(None);
    };
    let allowed = known.join(", ");
    let list = scope.field(map, "states", |v| match v {
        Value::Sequence(list) if list.is_empty() => Err(format!(
            "an empty list matches no {noun}; list states from {allowed}, or leave `states` \
             out to cover every state"
        )),
        Value::Sequence(list) => Ok(list),
        other => Err(format!(
            "expected a list of {noun} states, e.g. [{}], got {}; allowed: {allowed}",
            known[0],
            describe(other)
        )),
    });
    let list = match list {
        Field::Valid(list) => list,
        Field::Absent => return Some(None),
        Field::Invalid => return None,
    };
    let mut states = BTreeSet::new();
    let mut valid = true;
    for (index, item) in list.iter().enumerate() {
        let checked = string(item).and_then(|state| {
            if !known.contains(&state) {
                Err(with_suggestion(
                    format!("`{state}` is not {} state; allowed: {allowed}", a(noun)),
                    state,
                    known.iter().copied(),
                ))
            } else if !states.insert(state.to_owned()) {
                Err(format!("`{state}` is listed twice"))
            } else {
                Ok(())
            }
        });
        if let Err(message) = checked {
            scope.error(Path::from("states").index(index), message);
            valid = false;
        }
    }
    valid.then_some(Some(states))
}

/// `region: us-east-1` or `regions: [us-east-1, eu-west-1]`, not both.
pub(super) fn check_regions(scope: &mut Scope<'_>, map: &Mapping) -> Field<Vec<String>> {
    let one = scope.field(map, "region", |v| check_region(string(v)?));
    let many = scope.field(map, "regions", |v| match v {
        Value::Sequence(list) if list.is_empty() => {
            Err("must list at least one region, e.g. [us-east-1, eu-west-1]".to_owned())
        }
        Value::Sequence(list) => {
            let mut regions: Vec<String> = Vec::with_capacity(list.len());
            // A set, not `regions.contains`: a long list costs no time squared.
            let mut seen = HashSet::with_capacity(list.len());
            let mut problems = Vec::new();
            for (index, item) in list.iter().enumerate() {
                match string(item).and_then(check_region) {
                    Ok(region) if !seen.insert(region.clone()) => {
                        problems.push(format!("[{index}]: `{region}` is listed twice"))
                    }
                    Ok(region) => regions.push(region),
                    Err(message) => problems.push(format!("[{index}]: {message}")),
                }
            }
            if problems.is_empty() {
                Ok(regions)
            } else {
                Err(problems.join("; "))
            }
        }
        other => Err(format!(
            "expected a list of regions, e.g. [us-east-1, eu-west-1], got {}",
            describe(other)
        )),
    });
    match (one, many) {
        (Field::Absent, many) => many,
        (one, Field::Absent) => match one {
            Field::Valid(region) => Field::Valid(vec![region]),
            Field::Invalid => Field::Invalid,
            Field::Absent => Field::Absent,
        },
        (_, _) => {
            scope.error(
                "regions",
                "`region` and `regions` are both set; use `regions` alone (list every region there)",
            );
            Field::Invalid
        }
    }
}

pub(super) fn check_region(region: &str) -> Result<String, String> {
    if is_region(region) {
        Ok(region.to_owned())
    } else {
        Err(format!(
            "`{region}` is not an AWS region name; expected one like us-east-1 or eu-west-2"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse;
    use crate::rules::test_support::{SOURCE, TOPIC, error_lines, fallbacks, none, one_rule, set};

    /// `[prefix0, prefix1, ...]`, `count` entries.
    fn list(prefix: &str, count: usize) -> String {
        let entries: Vec<String> = (0..count).map(|i| format!("\"{prefix}{i}\"")).collect();
        format!("[{}]", entries.join(", "))
    }

    #[test]
    fn instances_and_exclude_list_at_most_a_thousand_entries_each() {
        // The largest lists allowed, every name checked against every glob (how long
        // that takes is measured by `cargo bench --bench run`, not asserted here).
        let doc = one_rule(&set(&[
            ("instances", &list("web-", MAX_SELECTORS)),
            ("exclude", &list("db-*", MAX_SELECTORS)),
        ]));
        assert!(parse(&doc, SOURCE, &none()).is_ok());

        let doc = one_rule(&set(&[
            ("instances", &list("web-", 1_001)),
            ("exclude", &list("db-*", 1_001)),
        ]));
        let allowed = "allowed: at most 1000 names and globs (select a larger fleet with globs \
                       such as \"web-*\", or with tags)";
        assert_eq!(
            error_lines(&doc, &none()),
            [
                format!(
                    "rules.yaml:8:16: rules[0] (cpu-high): instances: lists 1001 entries; {allowed}"
                ),
                format!(
                    "rules.yaml:12:14: rules[0] (cpu-high): exclude: lists 1001 entries; {allowed}"
                ),
            ]
        );
    }

    #[test]
    fn a_long_list_of_regions_is_checked_for_repeats_in_linear_time() {
        // 50,000 distinct region names: `Vec::contains` took over a billion comparisons
        // (minutes); a set takes 50,000.
        let regions: Vec<String> = (0..50_000).map(|i| format!("xx-test-{i}")).collect();
        let doc = one_rule(&set(&[(
            "regions",
            &format!("[{}, xx-test-7]", regions.join(", ")),
        )]));
        let lines = error_lines(&doc, &none());
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].ends_with("[50000]: `xx-test-7` is listed twice"),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn selections_read_names_globs_everything_exclude_tags_states_and_regions() {
        let doc = one_rule(&set(&[
            ("instances", "[db-1, \"web-*\", \"cache-[0-9]\"]"),
            ("exclude", "[\"web-test-*\", web-old]"),
            (
                "tags",
                "{env: prod, role: [web, api], tier: 1, backup: \"*\"}",
            ),
            ("states", "[running, stopping]"),
            ("regions", "[eu-west-1, us-east-1]"),
        ]));
        let rules = parse(&doc, SOURCE, &none()).unwrap();
        let rule = &rules.rules[0];
        let texts = |list: &[Selector]| {
            list.iter()
                .map(|s| s.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            texts(&rule.selection.resources),
            ["db-1", "web-*", "cache-[0-9]"]
        );
        assert!(!rule.selection.resources[0].is_glob() && rule.selection.resources[1].is_glob());
        assert_eq!(texts(&rule.selection.exclude), ["web-test-*", "web-old"]);
        let values = |v: &[&str]| TagMatch::AnyOf(v.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(
            rule.selection.tags,
            BTreeMap::from([
                ("backup".to_owned(), TagMatch::Present),
                ("env".to_owned(), values(&["prod"])),
                ("role".to_owned(), values(&["api", "web"])),
                ("tier".to_owned(), values(&["1"])),
            ])
        );
        assert_eq!(
            rule.selection.states,
            Some(BTreeSet::from([
                "running".to_owned(),
                "stopping".to_owned()
            ]))
        );
        assert_eq!(rule.regions, ["eu-west-1", "us-east-1"]);
        // Serialised with the document's field names, as `validate` prints them.
        let value = serde_json::to_value(rule).unwrap();
        assert_eq!(
            value["resources"],
            serde_json::json!(["db-1", "web-*", "cache-[0-9]"])
        );
        assert_eq!(value["tags"]["role"], serde_json::json!(["api", "web"]));
        assert_eq!(value["tags"]["env"], serde_json::json!("prod"));
        assert_eq!(value["tags"]["backup"], serde_json::json!("*"));
        assert_eq!(
            value["regions"],
            serde_json::json!(["eu-west-1", "us-east-1"])
        );

        let everything =
            parse(&one_rule(&set(&[("instances", "\"*\"")])), SOURCE, &none()).unwrap();
        assert!(everything.rules[0].selection.resources[0].is_everything());
        assert_eq!(
            everything.rules[0].regions,
            ["us-east-1"],
            "from defaults.region"
        );
        let doc = "version: 1\ndefaults: {regions: [us-east-1, eu-west-1]}\nrules:\n  - {name: a, \
                   instances: [web-1], metric: CPUUtilization, comparison: '>', threshold: 1, \
                   topicArn: 'arn:aws:sns:us-east-1:123456789012:a'}\n";
        assert_eq!(
            parse(doc, SOURCE, &none()).unwrap().rules[0].regions,
            ["us-east-1", "eu-west-1"]
        );
        let fallback = fallbacks("ap-south-1", TOPIC);
        let doc = "version: 1\nrules:\n  - {name: a, instances: [web-1], metric: CPUUtilization, \
                   comparison: '>', threshold: 1}\n";
        assert_eq!(
            parse(doc, SOURCE, &fallback).unwrap().rules[0].regions,
            ["ap-south-1"]
        );
    }

    #[test]
    fn each_selection_error_names_the_entry_and_what_is_allowed() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: &[Case] = &[
            (
                &[("instances", "[\"web-[\"]")],
                &[
                    "8:17: instances[0]: `web-[` is not a valid glob (invalid range pattern); use * for any \
                   characters, ? for one, [abc] or [a-z] for one of a set, [!abc] for one not in it",
                ],
            ),
            (
                &[("instances", "all")],
                &[
                    "8:16: instances: expected a list of instance names and globs, e.g. [web-1, \"web-*\"], \
                   or \"*\" for every instance, got the string \"all\"",
                ],
            ),
            (
                &[("instances", "[\"web-*\", \"web-*\"]")],
                &["8:26: instances[1]: `web-*` is listed twice (also instances[0])"],
            ),
            (
                &[("exclude", "web-1")],
                &[
                    "12:14: exclude: expected a list of instance names and globs, e.g. [bastion, \"test-*\"], \
                   got the string \"web-1\"",
                ],
            ),
            (
                &[("exclude", "[\"*\"]")],
                &[
                    "12:15: exclude[0]: `*` excludes every instance, so the rule could never select one",
                ],
            ),
            (
                &[("instances", "[web-1, db-1]"), ("exclude", "[\"web-?\"]")],
                &[
                    "8:17: instances[0]: `web-1` is also excluded by exclude[0] (`web-?`), so it can never be \
                   selected; remove it from one of the lists",
                ],
            ),
            (
                &[
                    ("instances", "[\"web-*\", db-1]"),
                    ("exclude", "[\"web-*\"]"),
                ],
                &[
                    "8:17: instances[0]: `web-*` is also in exclude[0] (`web-*`), so it can never be \
                   selected; remove it from one of the lists",
                ],
            ),
            (
                &[("tags", "{}")],
                &[
                    "12:11: tags: must name at least one tag; expected a mapping of tag key to a value, a list \
                   of values, or \"*\" (any value), e.g. {env: prod, role: [web, api], backup: \"*\"}",
                ],
            ),
            (
                &[("tags", "[env]")],
                &[
                    "12:11: tags: expected a mapping of tag key to a value, a list of values, or \"*\" (any \
                   value), e.g. {env: prod, role: [web, api], backup: \"*\"}, got a list",
                ],
            ),
            (
                &[(
                    "tags",
                    "{env: [], role: [web, \"*\"], owner: ~, team: [a, a]}",
                )],
                &[
                    "12:17: tags.env: an empty list matches no instance; list at least one value, or \"*\" \
                     for any",
                    "12:27: tags.role: `*` means any value; write it alone (key: \"*\"), not in a list",
                    "12:46: tags.owner: expected a tag value, a list of values, or \"*\" (any value), got \
                     nothing",
                    "12:55: tags.team: `a` is listed twice",
                ],
            ),
            (
                &[("states", "[runing, stopped, stopped]")],
                &[
                    "12:14: states[0]: `runing` is not an instance state; allowed: pending, running, starting, \
                     rebooting, stopping, stopped, shutting-down, terminated; did you mean `running`?",
                    "12:31: states[2]: `stopped` is listed twice",
                ],
            ),
            (
                &[("states", "[]")],
                &[
                    "12:13: states: an empty list matches no instance; list states from pending, running, \
                   starting, rebooting, stopping, stopped, shutting-down, terminated, or leave \
                   `states` out to cover every state",
                ],
            ),
            (
                &[("regions", "[]")],
                &["12:14: regions: must list at least one region, e.g. [us-east-1, eu-west-1]"],
            ),
            (
                &[("regions", "[us-east-1, mars-1, us-east-1]")],
                &[
                    "12:14: regions: [1]: `mars-1` is not an AWS region name; expected one like us-east-1 or \
                   eu-west-2; [2]: `us-east-1` is listed twice",
                ],
            ),
            (
                &[("regions", "[eu-west-1]"), ("region", "us-east-1")],
                &[
                    "12:14: regions: `region` and `regions` are both set; use `regions` alone (list every \
                   region there)",
                ],
            ),
        ];
        for (changes, expected) in cases {
            let doc = one_rule(&set(changes));
            let expected: Vec<String> = expected
                .iter()
                .map(|e| {
                    let (at, e) = e.split_once(' ').unwrap();
                    format!("{SOURCE}:{at} rules[0] (cpu-high): {e}")
                })
                .collect();
            assert_eq!(error_lines(&doc, &none()), expected, "document:\n{doc}");
        }
    }
}
