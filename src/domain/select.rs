//! Which resources a rule covers (SPEC §10, §11): names, globs and `"*"` in `resources`
//! (`instances`), `exclude`, `tags` and `states`, matched against each region's listing
//! of the rule's resource type (`GetInstances`, `GetRelationalDatabases`, ...).
//!
//! The matching is pure: [`Selection::explain`] gives each listed resource its
//! [`Verdict`] (selected by which entry, or the first step that leaves it out), and
//! [`Selection::select`] is that explanation read for what it selects, so `explain`
//! (the command) and a run cannot disagree. Listing the fleet is an
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

/// Why one listed resource is selected or not: the first step of the selection that
/// leaves it out, or the entry that selects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Selected: `by` is the first entry of `resources` that matches it.
    Selected { by: &'a Selector },
    /// No entry of `resources` (`of`) matches its name.
    Unmatched { of: &'a [Selector] },
    /// The same name again in the listing; the first one decides.
    Duplicate,
    /// `by`, an entry of `exclude`, matches it.
    Excluded { by: &'a Selector },
    /// It lacks the tag `key` with a value `wanted` allows; `found` holds the values it
    /// has for `key` (`None`: the tag without a value), empty when it has no such tag.
    Tag {
        key: &'a str,
        wanted: &'a TagMatch,
        found: Vec<Option<&'a str>>,
    },
    /// Its state is not one of `states`.
    State {
        state: &'a str,
        wanted: &'a BTreeSet<String>,
    },
}

impl Verdict<'_> {
    pub fn is_selected(&self) -> bool {
        matches!(self, Verdict::Selected { .. })
    }
}

impl fmt::Display for Verdict<'_> {
    /// `selected: matched web-*`, `not selected: excluded by web-test-*`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |values: &mut dyn Iterator<Item = &str>| values.collect::<Vec<_>>().join(" or ");
        match self {
            Verdict::Selected { by } => write!(f, "selected: matched {by}"),
            Verdict::Unmatched { of } => {
                let of: Vec<&str> = of.iter().map(Selector::as_str).collect();
                write!(f, "not selected: matches none of {}", of.join(", "))
            }
            Verdict::Duplicate => f.write_str("not selected: listed again, the first one decides"),
            Verdict::Excluded { by } => write!(f, "not selected: excluded by {by}"),
            Verdict::Tag { key, wanted, found } => {
                let (wanted, wanted_any) = match wanted {
                    TagMatch::Present => ("any value".to_owned(), true),
                    TagMatch::AnyOf(values) => (or(&mut values.iter().map(String::as_str)), false),
                };
                let has: Vec<&str> = found
                    .iter()
                    .flatten()
                    .map(|v| if v.is_empty() { "\"\"" } else { v })
                    .collect();
                match (found.is_empty(), has.is_empty()) {
                    (true, _) if wanted_any => write!(f, "not selected: no tag {key}"),
                    (true, _) => write!(f, "not selected: no tag {key} (wanted {wanted})"),
                    (false, true) => {
                        write!(f, "not selected: tag {key} has no value, not {wanted}")
                    }
                    (false, false) => write!(
                        f,
                        "not selected: tag {key} is {}, not {wanted}",
                        or(&mut has.into_iter())
                    ),
                }
            }
            Verdict::State { state, wanted } => {
                let state = if state.is_empty() { "(none)" } else { state };
                write!(
                    f,
                    "not selected: state {state}, not {}",
                    or(&mut wanted.iter().map(String::as_str))
                )
            }
        }
    }
}

/// One listed resource and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained<'a> {
    pub resource: &'a Resource,
    /// The position in `resources` of the first entry that matches it: selected
    /// resources come in that order.
    pub first_match: Option<usize>,
    pub verdict: Verdict<'a>,
}

/// What a rule's selection makes of one region's listing, resource by resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation<'a> {
    /// Every listed resource, in the listing's order.
    pub resources: Vec<Explained<'a>>,
    /// Names listed explicitly that the listing does not have (ERROR results in a run).
    pub missing: Vec<&'a str>,
    /// Selectors that match nothing, as the run reports them.
    pub warnings: Vec<String>,
}

impl Explanation<'_> {
    /// What a run selects: the selected resources in the order of the entries that
    /// match them (each entry's matches in listing order).
    pub fn selected(&self) -> Selected {
        let mut chosen: Vec<&Explained<'_>> = self
            .resources
            .iter()
            .filter(|e| e.verdict.is_selected())
            .collect();
        chosen.sort_by_key(|e| e.first_match);
        Selected {
            resources: chosen.iter().map(|e| e.resource.name.clone()).collect(),
            missing: self.missing.iter().map(|&name| name.to_owned()).collect(),
            warnings: self.warnings.clone(),
        }
    }
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

    /// Selects from `listing`, the region's resources of type `kind` in name order (as
    /// the run's list stage returns them), or without one (a selection of names only, in
    /// a region nobody listed) takes the names as they are. With a listing it is
    /// [`Selection::explain`] read for what it selects, so `explain` and the run cannot
    /// disagree.
    pub fn select(
        &self,
        kind: ResourceType,
        region: &str,
        listing: Option<&[Resource]>,
    ) -> Selected {
        match listing {
            Some(listing) => self.explain(kind, region, listing).selected(),
            None => Selected {
                resources: self
                    .resources
                    .iter()
                    .map(Selector::as_str)
                    .filter(|name| !self.excluded(name))
                    .map(str::to_owned)
                    .collect(),
                ..Selected::default()
            },
        }
    }

    /// Why each resource of `listing` (the region's resources of type `kind`) is
    /// selected or not, at the first step that leaves it out: names and globs, then
    /// `exclude`, then `tags`, then `states`; and the names the listing does not have and
    /// what matched nothing.
    pub fn explain<'a>(
        &'a self,
        kind: ResourceType,
        region: &str,
        listing: &'a [Resource],
    ) -> Explanation<'a> {
        let noun = kind.noun();
        let mut matched_any = vec![false; self.resources.len()];
        let mut seen = HashSet::new();
        let resources: Vec<Explained<'a>> = listing
            .iter()
            .map(|resource| {
                let mut first = None;
                for (index, selector) in self.resources.iter().enumerate() {
                    if selector.matches(&resource.name) {
                        matched_any[index] = true;
                        first.get_or_insert(index);
                    }
                }
                let verdict = match first {
                    None => Verdict::Unmatched {
                        of: &self.resources,
                    },
                    // Lightsail names are unique in a region; a recording may still list
                    // one twice, and then the first decides.
                    Some(_) if !seen.insert(resource.name.as_str()) => Verdict::Duplicate,
                    Some(index) => self.verdict(resource, &self.resources[index]),
                };
                Explained {
                    resource,
                    first_match: first,
                    verdict,
                }
            })
            .collect();

        let mut missing = Vec::new();
        let mut unmatched = Vec::new();
        for (selector, matched) in self.resources.iter().zip(&matched_any) {
            match (selector, matched) {
                (Selector::Name(name), false) => missing.push(name.as_str()),
                (Selector::Glob(_), false) => unmatched.push(selector.as_str()),
                _ => {}
            }
        }
        let count =
            |keep: fn(&Verdict<'_>) -> bool| resources.iter().filter(|e| keep(&e.verdict)).count();
        let selected = count(|v| matches!(v, Verdict::Selected { .. }));
        let warnings = if selected == 0 && missing.is_empty() {
            let matched = count(|v| !matches!(v, Verdict::Unmatched { .. } | Verdict::Duplicate));
            let kept = matched - count(|v| matches!(v, Verdict::Excluded { .. }));
            let tagged = kept - count(|v| matches!(v, Verdict::Tag { .. }));
            vec![self.why_empty(noun, region, listing.len(), [matched, kept, tagged])]
        } else {
            unmatched
                .into_iter()
                .map(|glob| format!("`{glob}` matches no {noun} in {region}"))
                .collect()
        };
        Explanation {
            resources,
            missing,
            warnings,
        }
    }

    /// The verdict on a resource that `by` (its first entry in `resources`) matches.
    fn verdict<'a>(&'a self, resource: &'a Resource, by: &'a Selector) -> Verdict<'a> {
        if let Some(excluded) = self.exclude.iter().find(|s| s.matches(&resource.name)) {
            return Verdict::Excluded { by: excluded };
        }
        for (key, wanted) in &self.tags {
            let found: Vec<Option<&str>> = resource
                .tags
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, value)| value.as_deref())
                .collect();
            let fits = |value: &Option<&str>| match wanted {
                TagMatch::Present => true,
                TagMatch::AnyOf(values) => values.contains(value.unwrap_or("")),
            };
            if !found.iter().any(fits) {
                return Verdict::Tag { key, wanted, found };
            }
        }
        match &self.states {
            Some(states) if !states.contains(&resource.state) => Verdict::State {
                state: &resource.state,
                wanted: states,
            },
            _ => Verdict::Selected { by },
        }
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

    #[test]
    fn explain_says_why_each_listed_resource_is_selected_or_not() {
        let mut web = selection(&["web-*", "db-1", "web-9"]);
        web.exclude = vec![Selector::parse("web-1?").unwrap()];
        web.tags = tags(&[("env", any_of(&["prod"]))]);
        web.states = Some(BTreeSet::from(["running".to_owned()]));
        let mut fleet = fleet();
        fleet.push(instance("web-3", "running", &[("env", None)]));
        fleet.push(instance("web-4", "running", &[]));
        fleet.sort_by(|a, b| a.name.cmp(&b.name));
        let explanation = web.explain(ResourceType::Instance, "us-east-1", &fleet);
        let lines: Vec<String> = explanation
            .resources
            .iter()
            .map(|e| format!("{}: {}", e.resource.name, e.verdict))
            .collect();
        assert_eq!(
            lines,
            [
                "bastion: not selected: matches none of web-*, db-1, web-9",
                "db-1: selected: matched db-1",
                "web-1: not selected: state stopped, not running",
                "web-10: not selected: excluded by web-1?",
                "web-2: selected: matched web-*",
                "web-3: not selected: tag env has no value, not prod",
                "web-4: not selected: no tag env (wanted prod)",
            ]
        );
        assert_eq!(explanation.missing, ["web-9"]);
        assert!(explanation.warnings.is_empty());
        // The run's order: the entries' order, then the listing's.
        assert_eq!(explanation.selected().resources, ["web-2", "db-1"]);

        let mut staging = selection(&["web-1?", "cache-*"]);
        staging.tags = tags(&[
            ("env", any_of(&["dev", "test"])),
            ("role", TagMatch::Present),
        ]);
        let explanation = staging.explain(ResourceType::Instance, "eu-west-1", &fleet);
        let web_10 = &explanation.resources[3];
        assert_eq!(web_10.resource.name, "web-10");
        assert_eq!(
            web_10.verdict.to_string(),
            "not selected: tag env is staging, not dev or test"
        );
        assert_eq!(
            explanation.warnings,
            [
                "selects no instance in eu-west-1: none of the 1 instance(s) matching [web-1?, cache-*] has the tags env=dev|test, role=*"
            ]
        );
        staging.tags = tags(&[("role", TagMatch::Present)]);
        let explanation = staging.explain(ResourceType::Instance, "eu-west-1", &fleet);
        assert_eq!(
            explanation.resources[3].verdict.to_string(),
            "not selected: no tag role"
        );
    }

    #[test]
    fn a_name_listed_twice_is_selected_once() {
        let twice = vec![instance("a", "stopped", &[]), instance("a", "running", &[])];
        let mut running = selection(&["*"]);
        running.states = Some(BTreeSet::from(["running".to_owned()]));
        let explanation = running.explain(ResourceType::Instance, "r", &twice);
        assert_eq!(explanation.resources[1].verdict, Verdict::Duplicate);
        assert!(explanation.selected().resources.is_empty());
        assert_eq!(
            selection(&["*"])
                .select(ResourceType::Instance, "r", Some(&twice))
                .resources,
            ["a"]
        );
    }

    /// Selection as it was written before `explain`: each step a filter over what the
    /// one before kept. The property below holds `select` (built on `explain`) to it.
    fn reference_select(selection: &Selection, region: &str, listing: &[Resource]) -> Selected {
        let noun = ResourceType::Instance.noun();
        let mut selected = Selected::default();
        let mut seen = HashSet::new();
        let mut candidates: Vec<&Resource> = Vec::new();
        let mut unmatched = Vec::new();
        for selector in &selection.resources {
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
            .filter(|i| !selection.excluded(&i.name))
            .collect();
        let not_excluded = kept.len();
        let tagged: Vec<&Resource> = kept
            .into_iter()
            .filter(|i| {
                selection.tags.iter().all(|(key, wanted)| {
                    i.tags
                        .iter()
                        .filter(|(k, _)| k == key)
                        .any(|(_, value)| match wanted {
                            TagMatch::Present => true,
                            TagMatch::AnyOf(values) => {
                                values.contains(value.as_deref().unwrap_or(""))
                            }
                        })
                })
            })
            .collect();
        let tagged_count = tagged.len();
        selected.resources = tagged
            .into_iter()
            .filter(|i| {
                selection
                    .states
                    .as_ref()
                    .is_none_or(|s| s.contains(&i.state))
            })
            .map(|i| i.name.clone())
            .collect();
        if selected.resources.is_empty() && selected.missing.is_empty() {
            selected.warnings.push(selection.why_empty(
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

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const NAMES: &[&str] = &["web-1", "web-2", "web-10", "db-1", "db-2", "bastion", "api"];
        const SELECTORS: &[&str] = &[
            "*",
            "web-*",
            "web-?",
            "db-[12]",
            "web-[!1]*",
            "cache-*",
            "web-1",
            "db-2",
            "ghost",
            "api",
        ];
        const STATES: &[&str] = &["running", "stopped", "pending"];

        fn resource() -> impl Strategy<Value = Resource> {
            (
                prop::sample::select(NAMES),
                prop::sample::select(STATES),
                prop::collection::vec(
                    (
                        prop::sample::select(&["env", "role"][..]),
                        prop::option::of(prop::sample::select(&["prod", "dev", ""][..])),
                    ),
                    0..3,
                ),
            )
                .prop_map(|(name, state, tags)| instance(name, state, &tags))
        }

        fn tag_match() -> impl Strategy<Value = TagMatch> {
            prop_oneof![
                Just(TagMatch::Present),
                prop::collection::btree_set(
                    prop::sample::select(&["prod", "dev", ""][..]).prop_map(str::to_owned),
                    1..3
                )
                .prop_map(TagMatch::AnyOf),
            ]
        }

        fn chosen() -> impl Strategy<Value = Selection> {
            (
                prop::sample::subsequence(SELECTORS, 1..4),
                prop::sample::subsequence(&SELECTORS[1..], 0..3),
                prop::collection::btree_map(
                    prop::sample::select(&["env", "role"][..]).prop_map(str::to_owned),
                    tag_match(),
                    0..3,
                ),
                prop::option::of(prop::sample::subsequence(STATES, 1..3)),
            )
                .prop_map(|(resources, exclude, tags, states)| Selection {
                    resources: resources
                        .iter()
                        .map(|s| Selector::parse(s).unwrap())
                        .collect(),
                    exclude: exclude
                        .iter()
                        .map(|s| Selector::parse(s).unwrap())
                        .collect(),
                    tags,
                    states: states.map(|s| s.iter().map(|s| (*s).to_owned()).collect()),
                })
        }

        proptest! {
            /// `explain` says "selected" of exactly what `select` selects, and `select`
            /// is what selection was before `explain` existed: the same resources in the
            /// same order, the same missing names and the same warnings.
            #[test]
            fn explain_and_select_agree(
                selection in chosen(),
                mut listing in prop::collection::vec(resource(), 0..8),
            ) {
                listing.sort_by(|a, b| a.name.cmp(&b.name));
                let selected = selection.select(ResourceType::Instance, "r", Some(&listing));
                prop_assert_eq!(&selected, &reference_select(&selection, "r", &listing));
                let explanation = selection.explain(ResourceType::Instance, "r", &listing);
                prop_assert_eq!(explanation.resources.len(), listing.len());
                let said: BTreeSet<&str> = explanation
                    .resources
                    .iter()
                    .filter(|e| e.verdict.is_selected())
                    .map(|e| e.resource.name.as_str())
                    .collect();
                let picked: BTreeSet<&str> = selected.resources.iter().map(String::as_str).collect();
                prop_assert_eq!(said, picked);
                prop_assert_eq!(selected.resources.len(), explanation.resources.iter().filter(|e| e.verdict.is_selected()).count());
                for explained in &explanation.resources {
                    let line = explained.verdict.to_string();
                    prop_assert_eq!(line.starts_with("selected: "), explained.verdict.is_selected(), "{}", line);
                }
            }
        }
    }
}
