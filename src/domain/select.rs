//! Which instances a rule covers (SPEC §10): names, globs and `"*"` in `instances`,
//! `exclude`, `tags` and `states`, matched against each region's `GetInstances` listing.
//!
//! The matching is pure ([`Selection::select`]); listing the fleet is an
//! `InstanceSource` (Lightsail through the SDK, or a recording), called at most once per
//! region per run and only for regions where some rule needs it (the run's list stage).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use glob::{MatchOptions, Pattern};
use serde::{Serialize, Serializer};

use crate::domain::rule::Rule;

/// Instance states `states:` accepts: what Lightsail reports in `state.name`.
pub const INSTANCE_STATES: &[&str] = &[
    "pending",
    "running",
    "starting",
    "rebooting",
    "stopping",
    "stopped",
    "shutting-down",
    "terminated",
];

/// Instance names are case-sensitive in Lightsail, and have no `/` or leading dots.
const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

/// One entry of `instances` or `exclude`: a name, or a glob (`*`, `?`, `[a-z]`, `[!0-9]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Name(String),
    Glob(Pattern),
}

impl Selector {
    /// A name unless it has a glob character; a glob must compile. Runs of `*` are one
    /// `*` (names have no `/`, so `**` means nothing more).
    pub fn parse(text: &str) -> Result<Selector, String> {
        if !text.contains(['*', '?', '[']) {
            return Ok(Selector::Name(text.to_owned()));
        }
        let mut collapsed = String::with_capacity(text.len());
        for c in text.chars() {
            if !(c == '*' && collapsed.ends_with('*')) {
                collapsed.push(c);
            }
        }
        Pattern::new(&collapsed).map(Selector::Glob).map_err(|e| {
            format!(
                "`{text}` is not a valid glob ({}); use * for any characters, ? for one, \
                 [abc] or [a-z] for one of a set, [!abc] for one not in it",
                e.msg
            )
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        match self {
            Selector::Name(own) => own == name,
            Selector::Glob(pattern) => pattern.matches_with(name, MATCH),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Selector::Name(name) => name,
            Selector::Glob(pattern) => pattern.as_str(),
        }
    }

    pub fn is_glob(&self) -> bool {
        matches!(self, Selector::Glob(_))
    }

    /// `*`: every instance.
    pub fn is_everything(&self) -> bool {
        self.as_str() == "*"
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What one tag key must carry: any value (`"*"`), or one of some values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagMatch {
    Present,
    AnyOf(BTreeSet<String>),
}

impl Serialize for TagMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TagMatch::Present => s.serialize_str("*"),
            TagMatch::AnyOf(values) if values.len() == 1 => {
                s.serialize_str(values.first().map_or("", String::as_str))
            }
            TagMatch::AnyOf(values) => values.serialize(s),
        }
    }
}

/// A rule's selection, validated: `instances` is never empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    pub instances: Vec<Selector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Selector>,
    /// Every key must match (AND); a key's values are alternatives (OR).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, TagMatch>,
    /// Instance states to cover; `None` covers every state (stopped instances too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub states: Option<BTreeSet<String>>,
}

/// An instance as `GetInstances` lists it, reduced to what selection reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub name: String,
    /// `state.name`: running, stopped, ...
    pub state: String,
    /// Lightsail tags: a key, and a value that may be absent.
    pub tags: Vec<(String, Option<String>)>,
}

/// One rule applied to one instance in one region: what CloudWatch calls an alarm (one
/// metric of one resource, with its own state), and what each result, state item and
/// notification is about. Its state is an [`AlarmState`](crate::domain::evaluate::AlarmState).
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm<'r> {
    pub rule: &'r Rule,
    pub region: &'r str,
    pub instance: String,
}

/// What a rule selects in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected {
    /// The instances to evaluate, in the order of the selectors (glob matches by name).
    pub instances: Vec<String>,
    /// Names listed explicitly that the region's listing does not have.
    pub missing: Vec<String>,
    /// Selectors that match nothing, said for the report and the log.
    pub warnings: Vec<String>,
}

impl Selection {
    /// A selection of names only, every state, no tags.
    #[cfg(test)]
    pub fn names<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Self {
        Selection {
            instances: names
                .into_iter()
                .map(|n| Selector::Name(n.into()))
                .collect(),
            exclude: Vec::new(),
            tags: BTreeMap::new(),
            states: None,
        }
    }

    /// Whether selecting needs the region's listing: a glob, a tag or a state filter.
    /// Names alone do not: an unknown name is found out by its metric call.
    pub fn needs_listing(&self) -> bool {
        self.instances.iter().any(Selector::is_glob)
            || !self.tags.is_empty()
            || self.states.is_some()
    }

    fn excluded(&self, name: &str) -> bool {
        self.exclude.iter().any(|s| s.matches(name))
    }

    fn tags_match(&self, instance: &Instance) -> bool {
        self.tags.iter().all(|(key, wanted)| {
            instance
                .tags
                .iter()
                .filter(|(k, _)| k == key)
                .any(|(_, value)| match wanted {
                    TagMatch::Present => true,
                    TagMatch::AnyOf(values) => values.contains(value.as_deref().unwrap_or("")),
                })
        })
    }

    fn state_matches(&self, instance: &Instance) -> bool {
        self.states
            .as_ref()
            .is_none_or(|states| states.contains(&instance.state))
    }

    /// Selects from `listing`, the region's instances in name order (as [`list_all`]
    /// returns them), or without one (a selection of names only, in a region nobody
    /// listed) takes the names as they are.
    pub fn select(&self, region: &str, listing: Option<&[Instance]>) -> Selected {
        let Some(listing) = listing else {
            return Selected {
                instances: self
                    .instances
                    .iter()
                    .map(Selector::as_str)
                    .filter(|name| !self.excluded(name))
                    .map(str::to_owned)
                    .collect(),
                ..Selected::default()
            };
        };
        let mut selected = Selected::default();
        let mut seen = HashSet::new();
        let mut candidates: Vec<&Instance> = Vec::new();
        let mut unmatched = Vec::new();
        for selector in &self.instances {
            let matched: Vec<&Instance> = listing
                .iter()
                .filter(|i| selector.matches(&i.name))
                .collect();
            match (selector, matched.is_empty()) {
                (Selector::Name(name), true) => selected.missing.push(name.clone()),
                (Selector::Glob(_), true) => unmatched.push(selector.as_str()),
                _ => {}
            }
            for instance in matched {
                if seen.insert(instance.name.as_str()) {
                    candidates.push(instance);
                }
            }
        }
        let matched = candidates.len();
        let kept: Vec<&Instance> = candidates
            .into_iter()
            .filter(|i| !self.excluded(&i.name))
            .collect();
        let not_excluded = kept.len();
        let tagged: Vec<&Instance> = kept.into_iter().filter(|i| self.tags_match(i)).collect();
        let tagged_count = tagged.len();
        selected.instances = tagged
            .into_iter()
            .filter(|i| self.state_matches(i))
            .map(|i| i.name.clone())
            .collect();

        if selected.instances.is_empty() && selected.missing.is_empty() {
            selected.warnings.push(self.why_empty(
                region,
                listing.len(),
                [matched, not_excluded, tagged_count],
            ));
        } else {
            selected.warnings.extend(
                unmatched
                    .into_iter()
                    .map(|glob| format!("`{glob}` matches no instance in {region}")),
            );
        }
        selected
    }

    /// Says at which step an empty selection lost its last instance.
    fn why_empty(
        &self,
        region: &str,
        listed: usize,
        [matched, kept, tagged]: [usize; 3],
    ) -> String {
        let names = self
            .instances
            .iter()
            .map(Selector::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let step = if listed == 0 {
            format!("{region} has no instances")
        } else if matched == 0 {
            format!("none of the {listed} instance(s) in {region} matches [{names}]")
        } else if kept == 0 {
            format!("all {matched} instance(s) matching [{names}] are excluded")
        } else if tagged == 0 {
            format!(
                "none of the {kept} instance(s) matching [{names}] has the tags {}",
                self.tags_text()
            )
        } else {
            let states = self
                .states
                .iter()
                .flatten()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            format!("none of the {tagged} matching instance(s) is in a state of [{states}]")
        };
        format!("selects no instance in {region}: {step}")
    }

    fn tags_text(&self) -> String {
        let parts: Vec<String> = self
            .tags
            .iter()
            .map(|(key, wanted)| match wanted {
                TagMatch::Present => format!("{key}=*"),
                TagMatch::AnyOf(values) => {
                    format!(
                        "{key}={}",
                        values.iter().cloned().collect::<Vec<_>>().join("|")
                    )
                }
            })
            .collect();
        parts.join(", ")
    }
}

/// Every rule's selection in every one of its regions; `E` is why a listing failed.
#[derive(Debug)]
pub struct Resolution<'r, E> {
    /// What to evaluate, in rule order, then region order, then selection order.
    pub alarms: Vec<Alarm<'r>>,
    /// Names listed explicitly that their region's listing does not have: ERROR results.
    pub missing: Vec<Alarm<'r>>,
    /// Rules that needed a listing that failed: not evaluated in that region.
    pub failed: Vec<(&'r Rule, &'r str, E)>,
    /// Globs and selections that matched nothing.
    pub warnings: Vec<(&'r Rule, &'r str, String)>,
}

/// Selects every rule's instances in each of its regions from `listings`. A rule of names
/// only is taken as it is where nobody listed its region, and also where the listing
/// failed: its metric calls find out for themselves.
pub fn resolve<'r, E: Clone>(
    rules: &'r [Rule],
    listings: &HashMap<String, Result<Vec<Instance>, E>>,
) -> Resolution<'r, E> {
    let mut resolution = Resolution {
        alarms: Vec::new(),
        missing: Vec::new(),
        failed: Vec::new(),
        warnings: Vec::new(),
    };
    for rule in rules {
        for region in &rule.regions {
            let region = region.as_str();
            let listing = match listings.get(region) {
                Some(Ok(listing)) => Some(listing.as_slice()),
                Some(Err(err)) if rule.selection.needs_listing() => {
                    resolution.failed.push((rule, region, err.clone()));
                    continue;
                }
                Some(Err(_)) | None => None,
            };
            debug_assert!(listing.is_some() || !rule.selection.needs_listing());
            let selected = rule.selection.select(region, listing);
            let alarm = |instance: String| Alarm {
                rule,
                region,
                instance,
            };
            resolution
                .alarms
                .extend(selected.instances.into_iter().map(alarm));
            resolution
                .missing
                .extend(selected.missing.into_iter().map(alarm));
            resolution.warnings.extend(
                selected
                    .warnings
                    .into_iter()
                    .map(|warning| (rule, region, warning)),
            );
        }
    }
    resolution
}

/// Why a region's instances could not be listed.
/// The regions whose listing some rule needs.
pub fn regions_to_list<'r>(
    rules: impl IntoIterator<Item = (&'r Selection, &'r [String])>,
) -> BTreeSet<&'r str> {
    rules
        .into_iter()
        .filter(|(selection, _)| selection.needs_listing())
        .flat_map(|(_, regions)| regions.iter().map(String::as_str))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str, state: &str, tags: &[(&str, Option<&str>)]) -> Instance {
        Instance {
            name: name.to_owned(),
            state: state.to_owned(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
                .collect(),
        }
    }

    fn fleet() -> Vec<Instance> {
        let mut fleet = vec![
            instance(
                "web-2",
                "running",
                &[("env", Some("prod")), ("role", Some("web"))],
            ),
            instance("web-1", "stopped", &[("env", Some("prod"))]),
            instance("web-10", "running", &[("env", Some("staging"))]),
            instance(
                "db-1",
                "running",
                &[("env", Some("prod")), ("backup", None)],
            ),
            instance("bastion", "running", &[("env", Some("prod"))]),
        ];
        // In name order, as `list_all` hands listings on.
        fleet.sort_by(|a, b| a.name.cmp(&b.name));
        fleet
    }

    fn selection(instances: &[&str]) -> Selection {
        Selection {
            instances: instances
                .iter()
                .map(|s| Selector::parse(s).unwrap())
                .collect(),
            exclude: Vec::new(),
            tags: BTreeMap::new(),
            states: None,
        }
    }

    fn tags(pairs: &[(&str, TagMatch)]) -> BTreeMap<String, TagMatch> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn any_of(values: &[&str]) -> TagMatch {
        TagMatch::AnyOf(values.iter().map(|v| (*v).to_owned()).collect())
    }

    #[test]
    fn names_are_names_and_anything_with_a_glob_character_is_a_glob() {
        assert_eq!(
            Selector::parse("web-1").unwrap(),
            Selector::Name("web-1".into())
        );
        assert!(Selector::parse("web-*").unwrap().is_glob());
        assert!(Selector::parse("db-?").unwrap().is_glob());
        assert!(Selector::parse("web-[0-9]").unwrap().is_glob());
        let err = Selector::parse("web-[").unwrap_err();
        assert!(err.contains("`web-[` is not a valid glob"), "{err}");
        // `**` is `*` for names.
        let double = Selector::parse("web-**").unwrap();
        assert!(double.matches("web-1") && !double.matches("db-1"));
    }

    #[test]
    fn globs_match_whole_names_case_sensitively() {
        let glob = Selector::parse("web-?").unwrap();
        assert!(glob.matches("web-1"));
        assert!(!glob.matches("web-10"));
        assert!(!glob.matches("Web-1"));
        assert!(!glob.matches("x-web-1"));
        let set = Selector::parse("web-[!1]").unwrap();
        assert!(set.matches("web-2") && !set.matches("web-1"));
    }

    #[test]
    fn globs_select_by_name_in_order_and_explicit_names_keep_their_place() {
        let picked = selection(&["db-1", "web-*"]).select("us-east-1", Some(&fleet()));
        assert_eq!(picked.instances, ["db-1", "web-1", "web-10", "web-2"]);
        assert!(picked.missing.is_empty() && picked.warnings.is_empty());
    }

    #[test]
    fn everything_minus_excluded_names_and_globs() {
        let mut all = selection(&["*"]);
        all.exclude = vec![
            Selector::parse("bastion").unwrap(),
            Selector::parse("web-1?").unwrap(),
        ];
        let picked = all.select("us-east-1", Some(&fleet()));
        assert_eq!(picked.instances, ["db-1", "web-1", "web-2"]);
    }

    #[test]
    fn tags_narrow_by_value_list_of_values_or_presence() {
        let mut prod = selection(&["*"]);
        prod.tags = tags(&[("env", any_of(&["prod"]))]);
        assert_eq!(
            prod.select("r", Some(&fleet())).instances,
            ["bastion", "db-1", "web-1", "web-2"]
        );
        prod.tags = tags(&[
            ("env", any_of(&["prod", "staging"])),
            ("role", TagMatch::Present),
        ]);
        assert_eq!(prod.select("r", Some(&fleet())).instances, ["web-2"]);
        // A tag without a value is present, and equals the empty value.
        prod.tags = tags(&[("backup", TagMatch::Present)]);
        assert_eq!(prod.select("r", Some(&fleet())).instances, ["db-1"]);
        prod.tags = tags(&[("backup", any_of(&[""]))]);
        assert_eq!(prod.select("r", Some(&fleet())).instances, ["db-1"]);
    }

    #[test]
    fn stopped_instances_are_covered_unless_states_says_otherwise() {
        let mut web = selection(&["web-*"]);
        assert!(
            web.select("r", Some(&fleet()))
                .instances
                .contains(&"web-1".to_owned())
        );
        web.states = Some(BTreeSet::from(["running".to_owned()]));
        assert_eq!(
            web.select("r", Some(&fleet())).instances,
            ["web-10", "web-2"]
        );
    }

    #[test]
    fn explicit_names_missing_from_the_listing_are_reported_as_missing() {
        let picked = selection(&["web-1", "web-9", "db-*"]).select("r", Some(&fleet()));
        assert_eq!(picked.instances, ["web-1", "db-1"]);
        assert_eq!(picked.missing, ["web-9"]);
        assert!(picked.warnings.is_empty());
    }

    #[test]
    fn a_glob_matching_nothing_is_a_warning_not_an_error() {
        let picked = selection(&["web-*", "cache-*"]).select("eu-west-1", Some(&fleet()));
        assert_eq!(picked.instances.len(), 3);
        assert_eq!(
            picked.warnings,
            ["`cache-*` matches no instance in eu-west-1"]
        );

        let nothing = selection(&["cache-*"]).select("eu-west-1", Some(&fleet()));
        assert!(nothing.instances.is_empty() && nothing.missing.is_empty());
        assert_eq!(
            nothing.warnings,
            [
                "selects no instance in eu-west-1: none of the 5 instance(s) in eu-west-1 matches [cache-*]"
            ]
        );
        let empty = selection(&["*"]).select("eu-west-1", Some(&[]));
        assert_eq!(
            empty.warnings,
            ["selects no instance in eu-west-1: eu-west-1 has no instances"]
        );
    }

    #[test]
    fn an_empty_selection_says_which_step_emptied_it() {
        let mut web = selection(&["web-*"]);
        web.tags = tags(&[("env", any_of(&["dev"]))]);
        let warning = &web.select("r", Some(&fleet())).warnings[0];
        assert!(
            warning.ends_with("none of the 3 instance(s) matching [web-*] has the tags env=dev"),
            "{warning}"
        );
        web.tags.clear();
        web.exclude = vec![Selector::parse("web-*").unwrap()];
        let warning = &web.select("r", Some(&fleet())).warnings[0];
        assert!(
            warning.ends_with("all 3 instance(s) matching [web-*] are excluded"),
            "{warning}"
        );
        web.exclude.clear();
        web.states = Some(BTreeSet::from(["pending".to_owned()]));
        let warning = &web.select("r", Some(&fleet())).warnings[0];
        assert!(
            warning.ends_with("none of the 3 matching instance(s) is in a state of [pending]"),
            "{warning}"
        );
    }

    #[test]
    fn names_alone_need_no_listing_and_are_taken_as_they_are() {
        let names = selection(&["web-1", "web-9"]);
        assert!(!names.needs_listing());
        assert_eq!(names.select("r", None).instances, ["web-1", "web-9"]);
        assert!(selection(&["web-*"]).needs_listing());
        let mut tagged = selection(&["web-1"]);
        tagged.tags = tags(&[("env", TagMatch::Present)]);
        assert!(tagged.needs_listing());
        let mut running = selection(&["web-1"]);
        running.states = Some(BTreeSet::from(["running".to_owned()]));
        assert!(running.needs_listing());
    }

    #[test]
    fn only_regions_of_rules_that_need_a_listing_are_listed() {
        let globs = selection(&["web-*"]);
        let names = selection(&["web-1"]);
        let two = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
        let other = vec!["ap-south-1".to_owned()];
        let regions = regions_to_list([(&globs, two.as_slice()), (&names, other.as_slice())]);
        assert_eq!(regions, BTreeSet::from(["eu-west-1", "us-east-1"]));
    }
}
