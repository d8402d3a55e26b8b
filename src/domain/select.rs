//! Which resources a rule covers (SPEC §10, §11): names, globs and `"*"` in `resources`
//! (`instances`), `exclude`, `tags` and `states`, matched against each region's listing
//! of the rule's resource type (`GetInstances`, `GetRelationalDatabases`, ...).
//!
//! The matching is pure ([`Selection::select`]); listing the fleet is an
//! `ResourceSource` (Lightsail through the SDK, or a recording), called at most once per
//! type and region per run and only for regions where some rule needs it (the run's list stage).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use glob::{MatchOptions, Pattern};
use serde::{Serialize, Serializer};

use crate::domain::catalog::ResourceType;
use crate::domain::rule::Rule;

/// Resource names are case-sensitive in Lightsail, and have no `/` or leading dots.
const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

/// One entry of `resources` or `exclude`: a name, or a glob (`*`, `?`, `[a-z]`, `[!0-9]`).
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

    /// `*`: every resource.
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

/// A rule's selection, validated: `resources` is never empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    pub resources: Vec<Selector>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Selector>,
    /// Every key must match (AND); a key's values are alternatives (OR).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, TagMatch>,
    /// States to cover; `None` covers every state (stopped instances too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub states: Option<BTreeSet<String>>,
}

/// A resource as its type's listing gives it, reduced to what selection reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub name: String,
    /// The type's state (`running`, `available`, `active`, `RUNNING`, ...); empty for the
    /// types without one.
    pub state: String,
    /// Lightsail tags: a key, and a value that may be absent.
    pub tags: Vec<(String, Option<String>)>,
}

/// One rule applied to one resource in one region: what CloudWatch calls an alarm (one
/// metric of one resource, with its own state), and what each result, state item and
/// notification is about. Its state is an [`AlarmState`](crate::domain::evaluate::AlarmState).
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm<'r> {
    pub rule: &'r Rule,
    pub region: &'r str,
    /// The resource's name; its type is the rule's.
    pub resource: String,
}

/// What a rule selects in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected {
    /// The resources to evaluate, in the order of the selectors (glob matches by name).
    pub resources: Vec<String>,
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
            resources: names
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
        self.resources.iter().any(Selector::is_glob)
            || !self.tags.is_empty()
            || self.states.is_some()
    }

    fn excluded(&self, name: &str) -> bool {
        self.exclude.iter().any(|s| s.matches(name))
    }

    fn tags_match(&self, resource: &Resource) -> bool {
        self.tags.iter().all(|(key, wanted)| {
            resource
                .tags
                .iter()
                .filter(|(k, _)| k == key)
                .any(|(_, value)| match wanted {
                    TagMatch::Present => true,
                    TagMatch::AnyOf(values) => values.contains(value.as_deref().unwrap_or("")),
                })
        })
    }

    fn state_matches(&self, resource: &Resource) -> bool {
        self.states
            .as_ref()
            .is_none_or(|states| states.contains(&resource.state))
    }

    /// Selects from `listing`, the region's resources of type `kind` in name order (as
    /// the run's list stage returns them), or without one (a selection of names only, in
    /// a region nobody listed) takes the names as they are.
    pub fn select(
        &self,
        kind: ResourceType,
        region: &str,
        listing: Option<&[Resource]>,
    ) -> Selected {
        let noun = kind.noun();
        let Some(listing) = listing else {
            return Selected {
                resources: self
                    .resources
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
        let mut candidates: Vec<&Resource> = Vec::new();
        let mut unmatched = Vec::new();
        for selector in &self.resources {
            let matched: Vec<&Resource> = listing
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
        let kept: Vec<&Resource> = candidates
            .into_iter()
            .filter(|i| !self.excluded(&i.name))
            .collect();
        let not_excluded = kept.len();
        let tagged: Vec<&Resource> = kept.into_iter().filter(|i| self.tags_match(i)).collect();
        let tagged_count = tagged.len();
        selected.resources = tagged
            .into_iter()
            .filter(|i| self.state_matches(i))
            .map(|i| i.name.clone())
            .collect();

        if selected.resources.is_empty() && selected.missing.is_empty() {
            selected.warnings.push(self.why_empty(
                noun,
                region,
                listing.len(),
                [matched, not_excluded, tagged_count],
            ));
        } else {
            selected.warnings.extend(
                unmatched
                    .into_iter()
                    .map(|glob| format!("`{glob}` matches no {noun} in {region}")),
            );
        }
        selected
    }

    /// Says at which step an empty selection lost its last instance.
    fn why_empty(
        &self,
        noun: &str,
        region: &str,
        listed: usize,
        [matched, kept, tagged]: [usize; 3],
    ) -> String {
        let names = self
            .resources
            .iter()
            .map(Selector::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let step = if listed == 0 {
            format!("{region} has no {noun}s")
        } else if matched == 0 {
            format!("none of the {listed} {noun}(s) in {region} matches [{names}]")
        } else if kept == 0 {
            format!("all {matched} {noun}(s) matching [{names}] are excluded")
        } else if tagged == 0 {
            format!(
                "none of the {kept} {noun}(s) matching [{names}] has the tags {}",
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
            format!("none of the {tagged} matching {noun}(s) is in a state of [{states}]")
        };
        format!("selects no {noun} in {region}: {step}")
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

/// Selects every rule's resources in each of its regions from `listings`, keyed by
/// resource type and region. A rule of names
/// only is taken as it is where nobody listed its region, and also where the listing
/// failed: its metric calls find out for themselves.
pub fn resolve<'r, E: Clone>(
    rules: &'r [Rule],
    listings: &HashMap<(ResourceType, String), Result<Vec<Resource>, E>>,
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
            let listing = match listings.get(&(rule.resource_type, region.to_owned())) {
                Some(Ok(listing)) => Some(listing.as_slice()),
                Some(Err(err)) if rule.selection.needs_listing() => {
                    resolution.failed.push((rule, region, err.clone()));
                    continue;
                }
                Some(Err(_)) | None => None,
            };
            debug_assert!(listing.is_some() || !rule.selection.needs_listing());
            let selected = rule.selection.select(rule.resource_type, region, listing);
            let alarm = |resource: String| Alarm {
                rule,
                region,
                resource,
            };
            resolution
                .alarms
                .extend(selected.resources.into_iter().map(alarm));
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

/// The (type, region) listings some rule needs: a listing serves every rule of its type
/// in its region.
pub fn listings_needed<'r>(
    rules: impl IntoIterator<Item = (ResourceType, &'r Selection, &'r [String])>,
) -> BTreeSet<(ResourceType, &'r str)> {
    rules
        .into_iter()
        .filter(|(_, selection, _)| selection.needs_listing())
        .flat_map(|(kind, _, regions)| regions.iter().map(move |r| (kind, r.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(name: &str, state: &str, tags: &[(&str, Option<&str>)]) -> Resource {
        Resource {
            name: name.to_owned(),
            state: state.to_owned(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
                .collect(),
        }
    }

    fn fleet() -> Vec<Resource> {
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
            resources: instances
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
        let picked = selection(&["db-1", "web-*"]).select(
            ResourceType::Instance,
            "us-east-1",
            Some(&fleet()),
        );
        assert_eq!(picked.resources, ["db-1", "web-1", "web-10", "web-2"]);
        assert!(picked.missing.is_empty() && picked.warnings.is_empty());
    }

    #[test]
    fn everything_minus_excluded_names_and_globs() {
        let mut all = selection(&["*"]);
        all.exclude = vec![
            Selector::parse("bastion").unwrap(),
            Selector::parse("web-1?").unwrap(),
        ];
        let picked = all.select(ResourceType::Instance, "us-east-1", Some(&fleet()));
        assert_eq!(picked.resources, ["db-1", "web-1", "web-2"]);
    }

    #[test]
    fn tags_narrow_by_value_list_of_values_or_presence() {
        let mut prod = selection(&["*"]);
        prod.tags = tags(&[("env", any_of(&["prod"]))]);
        assert_eq!(
            prod.select(ResourceType::Instance, "r", Some(&fleet()))
                .resources,
            ["bastion", "db-1", "web-1", "web-2"]
        );
        prod.tags = tags(&[
            ("env", any_of(&["prod", "staging"])),
            ("role", TagMatch::Present),
        ]);
        assert_eq!(
            prod.select(ResourceType::Instance, "r", Some(&fleet()))
                .resources,
            ["web-2"]
        );
        // A tag without a value is present, and equals the empty value.
        prod.tags = tags(&[("backup", TagMatch::Present)]);
        assert_eq!(
            prod.select(ResourceType::Instance, "r", Some(&fleet()))
                .resources,
            ["db-1"]
        );
        prod.tags = tags(&[("backup", any_of(&[""]))]);
        assert_eq!(
            prod.select(ResourceType::Instance, "r", Some(&fleet()))
                .resources,
            ["db-1"]
        );
    }

    #[test]
    fn stopped_instances_are_covered_unless_states_says_otherwise() {
        let mut web = selection(&["web-*"]);
        assert!(
            web.select(ResourceType::Instance, "r", Some(&fleet()))
                .resources
                .contains(&"web-1".to_owned())
        );
        web.states = Some(BTreeSet::from(["running".to_owned()]));
        assert_eq!(
            web.select(ResourceType::Instance, "r", Some(&fleet()))
                .resources,
            ["web-10", "web-2"]
        );
    }

    #[test]
    fn explicit_names_missing_from_the_listing_are_reported_as_missing() {
        let picked = selection(&["web-1", "web-9", "db-*"]).select(
            ResourceType::Instance,
            "r",
            Some(&fleet()),
        );
        assert_eq!(picked.resources, ["web-1", "db-1"]);
        assert_eq!(picked.missing, ["web-9"]);
        assert!(picked.warnings.is_empty());
    }

    #[test]
    fn a_glob_matching_nothing_is_a_warning_not_an_error() {
        let picked = selection(&["web-*", "cache-*"]).select(
            ResourceType::Instance,
            "eu-west-1",
            Some(&fleet()),
        );
        assert_eq!(picked.resources.len(), 3);
        assert_eq!(
            picked.warnings,
            ["`cache-*` matches no instance in eu-west-1"]
        );

        let nothing =
            selection(&["cache-*"]).select(ResourceType::Instance, "eu-west-1", Some(&fleet()));
        assert!(nothing.resources.is_empty() && nothing.missing.is_empty());
        assert_eq!(
            nothing.warnings,
            [
                "selects no instance in eu-west-1: none of the 5 instance(s) in eu-west-1 matches [cache-*]"
            ]
        );
        let empty = selection(&["*"]).select(ResourceType::Instance, "eu-west-1", Some(&[]));
        assert_eq!(
            empty.warnings,
            ["selects no instance in eu-west-1: eu-west-1 has no instances"]
        );
    }

    #[test]
    fn an_empty_selection_says_which_step_emptied_it() {
        let mut web = selection(&["web-*"]);
        web.tags = tags(&[("env", any_of(&["dev"]))]);
        let warning = &web
            .select(ResourceType::Instance, "r", Some(&fleet()))
            .warnings[0];
        assert!(
            warning.ends_with("none of the 3 instance(s) matching [web-*] has the tags env=dev"),
            "{warning}"
        );
        web.tags.clear();
        web.exclude = vec![Selector::parse("web-*").unwrap()];
        let warning = &web
            .select(ResourceType::Instance, "r", Some(&fleet()))
            .warnings[0];
        assert!(
            warning.ends_with("all 3 instance(s) matching [web-*] are excluded"),
            "{warning}"
        );
        web.exclude.clear();
        web.states = Some(BTreeSet::from(["pending".to_owned()]));
        let warning = &web
            .select(ResourceType::Instance, "r", Some(&fleet()))
            .warnings[0];
        assert!(
            warning.ends_with("none of the 3 matching instance(s) is in a state of [pending]"),
            "{warning}"
        );
    }

    #[test]
    fn names_alone_need_no_listing_and_are_taken_as_they_are() {
        let names = selection(&["web-1", "web-9"]);
        assert!(!names.needs_listing());
        assert_eq!(
            names.select(ResourceType::Instance, "r", None).resources,
            ["web-1", "web-9"]
        );
        assert!(selection(&["web-*"]).needs_listing());
        let mut tagged = selection(&["web-1"]);
        tagged.tags = tags(&[("env", TagMatch::Present)]);
        assert!(tagged.needs_listing());
        let mut running = selection(&["web-1"]);
        running.states = Some(BTreeSet::from(["running".to_owned()]));
        assert!(running.needs_listing());
    }

    #[test]
    fn only_regions_of_rules_that_need_a_listing_are_listed_once_per_type() {
        let globs = selection(&["web-*"]);
        let names = selection(&["web-1"]);
        let two = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
        let other = vec!["ap-south-1".to_owned()];
        let needed = listings_needed([
            (ResourceType::Instance, &globs, two.as_slice()),
            (ResourceType::Instance, &globs, two.as_slice()),
            (ResourceType::Bucket, &globs, other.as_slice()),
            (ResourceType::LoadBalancer, &names, other.as_slice()),
        ]);
        assert_eq!(
            needed,
            BTreeSet::from([
                (ResourceType::Instance, "eu-west-1"),
                (ResourceType::Instance, "us-east-1"),
                (ResourceType::Bucket, "ap-south-1"),
            ])
        );
    }
}
