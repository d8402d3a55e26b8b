//! Where a value is in the document's text (SPEC §14, "Errors point at the place"): a
//! `Path` from the document's root (`rules` → 2 → `period`) to the 1-based line and
//! column of the value, or of its key, found by walking the YAML parser's events of the
//! same text once.
//!
//! `serde_yaml_ng` gives values without their places, so the places come from a second,
//! event-level parse (`saphyr-parser`), and only for the paths that errors name: a
//! document is walked for positions only when it has errors. The walk builds no values
//! and treats an alias (`*name`) as a leaf, so it never expands what `document` bounds.
//! What it cannot find (a field that came from a `<<: *common` merge, a place after
//! something this parser refuses and `serde_yaml_ng` accepted) is placed at the nearest
//! ancestor that it found.

use std::collections::{HashMap, HashSet};
use std::fmt;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle};

/// A place in the text: line and column from 1, the column counted in characters (as
/// an editor shows it), not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    fn of(marker: Marker) -> Self {
        // The parser counts lines from 1 and columns from 0.
        Position {
            line: marker.line(),
            column: marker.col() + 1,
        }
    }
}

/// One step into a value: a mapping's key, or a list's index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A value's place in the document, from the root: `rules[2].period`,
/// `notify[0].topicArn`, `defaults.region`; empty for the document itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Path(Vec<Segment>);

impl Path {
    /// The document itself.
    pub(crate) fn root() -> Self {
        Path::default()
    }

    /// This path, then `key`.
    pub(crate) fn key(&self, key: impl Into<String>) -> Self {
        self.then(Segment::Key(key.into()))
    }

    /// This path, then the list's `index`.
    pub(crate) fn index(&self, index: usize) -> Self {
        self.then(Segment::Index(index))
    }

    /// This path, then `more`.
    pub(super) fn join(&self, more: &Path) -> Self {
        let mut joined = self.clone();
        joined.0.extend(more.0.iter().cloned());
        joined
    }

    fn then(&self, segment: Segment) -> Self {
        let mut longer = self.clone();
        longer.0.push(segment);
        longer
    }

    fn segments(&self) -> &[Segment] {
        &self.0
    }
}

/// A field of a mapping: `Path::from("period")`; `""` is the mapping itself.
impl From<&str> for Path {
    fn from(field: &str) -> Self {
        if field.is_empty() {
            Path::root()
        } else {
            Path::root().key(field)
        }
    }
}

/// As errors name a field: `notify[0].topicArn`.
impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// What an error points at: the value at its path (what was wrong with it), or the key
/// (an unknown field: the key itself is the mistake).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Value,
    Key,
}

/// Where a value and its key start.
#[derive(Debug, Clone, Copy)]
struct Found {
    value: Position,
    key: Option<Position>,
}

/// The positions of some paths of one text, and of their ancestors.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    found: HashMap<Vec<Segment>, Found>,
}

impl Positions {
    /// Walks `text`'s parse events once, keeping the positions of `paths` and of every
    /// ancestor of them. Text the parser refuses keeps what was found before the refusal
    /// (nothing, if it refuses at once).
    pub(crate) fn find<'p>(text: &str, paths: impl IntoIterator<Item = &'p Path>) -> Self {
        let mut wanted: HashSet<&[Segment]> = HashSet::new();
        for path in paths {
            for len in 0..=path.0.len() {
                wanted.insert(&path.0[..len]);
            }
        }
        let mut walk = Walk {
            wanted,
            found: HashMap::new(),
            frames: Vec::new(),
            path: Vec::new(),
            skip: 0,
        };
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else { break };
            if !walk.event(event, Position::of(span.start)) {
                break;
            }
        }
        Positions { found: walk.found }
    }

    /// Where the error about `path` should point: the value at it or its key, else the
    /// nearest ancestor's value (the mapping a missing field belongs in, the rule a
    /// merged field came from); `None` if not even the document was found.
    pub(crate) fn locate(&self, path: &Path, target: Target) -> Option<Position> {
        let own = self.found.get(path.segments());
        if let (Target::Key, Some(Found { key: Some(key), .. })) = (target, own) {
            return Some(*key);
        }
        (0..=path.0.len())
            .rev()
            .find_map(|len| self.found.get(&path.0[..len]))
            .map(|found| found.value)
    }
}

/// A mapping or list being walked.
enum Frame {
    List { next: usize },
    Mapping { key: Key },
}

/// Where a mapping is between its keys and values.
enum Key {
    /// The next node is a key.
    Expected,
    /// The next node is the value of this key, which starts here.
    Named(String, Position),
    /// The next node is the value of a key that is not a plain string (`[a, b]: 1`, or an
    /// alias), which no error names.
    Unnamed,
}

/// The walk over the events: the path to the current node, and what is found so far.
struct Walk<'w> {
    wanted: HashSet<&'w [Segment]>,
    found: HashMap<Vec<Segment>, Found>,
    frames: Vec<Frame>,
    /// The path of the innermost open mapping or list (one segment fewer than `frames`).
    path: Vec<Segment>,
    /// Open mappings and lists inside a node that is not wanted, so not walked.
    skip: usize,
}

/// What a node is to the mapping or list it is in.
enum Role {
    Key,
    Value {
        segment: Option<Segment>,
        key: Option<Position>,
    },
    Ignored,
}

impl Walk<'_> {
    /// Takes one event; `false` once the first document has ended.
    fn event(&mut self, event: Event<'_>, at: Position) -> bool {
        let opens = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
        if self.skip > 0 {
            match event {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skip += 1,
                Event::SequenceEnd | Event::MappingEnd => self.skip -= 1,
                _ => {}
            }
            return true;
        }
        match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => true,
            // `serde_yaml_ng` reads one document: so do the positions.
            Event::DocumentEnd | Event::StreamEnd => false,
            Event::SequenceEnd | Event::MappingEnd => {
                self.frames.pop();
                if !self.frames.is_empty() {
                    self.path.pop();
                }
                true
            }
            node => {
                self.node(&node, opens, at);
                true
            }
        }
    }

    /// A scalar, an alias, or the start of a mapping or list.
    fn node(&mut self, event: &Event<'_>, opens: bool, at: Position) {
        match self.role() {
            Role::Key => {
                self.set_key(match event {
                    Event::Scalar(text, ..) => Key::Named(text.to_string(), at),
                    _ => Key::Unnamed,
                });
                if opens {
                    self.skip = 1;
                }
            }
            Role::Ignored => {
                if opens {
                    self.skip = 1;
                }
            }
            Role::Value { segment, key } => {
                let root = segment.is_none();
                self.path.extend(segment);
                if !self.wanted.contains(self.path.as_slice()) {
                    if opens {
                        self.skip = 1;
                    }
                } else {
                    // `key:` with nothing after it: the parser places the empty value
                    // after the key; the key is where a reader looks.
                    let empty = matches!(event, Event::Scalar(text, ScalarStyle::Plain, ..) if text.is_empty());
                    let value = if empty { key.unwrap_or(at) } else { at };
                    self.found
                        .entry(self.path.clone())
                        .or_insert(Found { value, key });
                    if opens {
                        // Its path stays until its end event.
                        self.frames.push(match event {
                            Event::SequenceStart(..) => Frame::List { next: 0 },
                            _ => Frame::Mapping { key: Key::Expected },
                        });
                        return;
                    }
                }
                if !root {
                    self.path.pop();
                }
            }
        }
    }

    /// What the node that starts now is, moving the enclosing mapping or list on.
    fn role(&mut self) -> Role {
        match self.frames.last_mut() {
            None => Role::Value {
                segment: None,
                key: None,
            },
            Some(Frame::List { next }) => {
                let index = *next;
                *next += 1;
                Role::Value {
                    segment: Some(Segment::Index(index)),
                    key: None,
                }
            }
            Some(Frame::Mapping { key }) => match std::mem::replace(key, Key::Expected) {
                Key::Expected => Role::Key,
                Key::Named(name, at) => Role::Value {
                    segment: Some(Segment::Key(name)),
                    key: Some(at),
                },
                Key::Unnamed => Role::Ignored,
            },
        }
    }

    fn set_key(&mut self, next: Key) {
        if let Some(Frame::Mapping { key }) = self.frames.last_mut() {
            *key = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse;
    use crate::rules::test_support::{SOURCE, TOPIC, error_lines, none};

    /// `rules[2].period` from `rules`, `2`, `period`: numbers are indexes.
    fn path(steps: &[&str]) -> Path {
        steps
            .iter()
            .fold(Path::root(), |path, step| match step.parse() {
                Ok(index) => path.index(index),
                Err(_) => path.key(*step),
            })
    }

    /// Where `steps` points in `text`, as `line:column`.
    fn at(text: &str, steps: &[&str], target: Target) -> Option<String> {
        let path = path(steps);
        Positions::find(text, [&path])
            .locate(&path, target)
            .map(|p| format!("{}:{}", p.line, p.column))
    }

    fn value(text: &str, steps: &[&str]) -> String {
        at(text, steps, Target::Value).expect("a position")
    }

    const BLOCK: &str = "\
version: 1
rules:
  - name: cpu-high
    instances:
      - web-1
      - \"web-*\"
    states: [running, stopped]
    period: 61
    threshold:
    notify:
      - topicArn: arn:aws:sns:us-east-1:123456789012:ops
        format: html
";

    #[test]
    fn a_present_field_is_placed_at_its_value_and_an_unknown_one_at_its_key() {
        assert_eq!(value(BLOCK, &["version"]), "1:10");
        assert_eq!(value(BLOCK, &["rules", "0", "period"]), "8:13");
        assert_eq!(
            at(BLOCK, &["rules", "0", "period"], Target::Key).unwrap(),
            "8:5"
        );
        // A block list is where its first `-` is.
        assert_eq!(value(BLOCK, &["rules", "0", "instances"]), "5:7");
        // A quoted value starts at its quote.
        assert_eq!(value(BLOCK, &["rules", "0", "instances", "1"]), "6:9");
        // `threshold:` with nothing after it: the key, not the empty space after it.
        assert_eq!(value(BLOCK, &["rules", "0", "threshold"]), "9:5");
    }

    #[test]
    fn list_elements_and_the_fields_of_list_entries_are_placed() {
        assert_eq!(value(BLOCK, &["rules", "0", "states", "1"]), "7:23");
        assert_eq!(value(BLOCK, &["rules", "0", "notify", "0"]), "11:9");
        assert_eq!(
            value(BLOCK, &["rules", "0", "notify", "0", "topicArn"]),
            "11:19"
        );
        assert_eq!(
            value(BLOCK, &["rules", "0", "notify", "0", "format"]),
            "12:17"
        );
    }

    #[test]
    fn what_is_absent_is_placed_at_the_nearest_ancestor() {
        // A rule's missing field: the rule, whose first key is on its `- name:` line.
        assert_eq!(value(BLOCK, &["rules", "0", "comparison"]), "3:5");
        assert_eq!(
            at(BLOCK, &["rules", "0", "comparison"], Target::Key).unwrap(),
            "3:5"
        );
        assert_eq!(value(BLOCK, &["rules", "0", "instances", "7"]), "5:7");
        // The document's: its first key.
        assert_eq!(value(BLOCK, &["defaults", "region"]), "1:1");
        assert_eq!(value(BLOCK, &[]), "1:1");
    }

    #[test]
    fn flow_yaml_and_json_are_placed_alike() {
        let flow = "version: 1\nrules: [{name: a, instances: [web-1, 2], period: '60'}]\n";
        assert_eq!(value(flow, &["rules", "0"]), "2:9");
        assert_eq!(value(flow, &["rules", "0", "instances", "1"]), "2:38");
        assert_eq!(value(flow, &["rules", "0", "period"]), "2:50");
        assert_eq!(
            at(flow, &["rules", "0", "period"], Target::Key).unwrap(),
            "2:42"
        );

        let json =
            "{\n  \"version\": 1,\n  \"rules\": [\n    {\"name\": \"a\", \"period\": 61}\n  ]\n}\n";
        assert_eq!(value(json, &["rules", "0"]), "4:5");
        assert_eq!(value(json, &["rules", "0", "period"]), "4:29");
        assert_eq!(
            at(json, &["rules", "0", "period"], Target::Key).unwrap(),
            "4:19"
        );
        assert_eq!(value(json, &["rules", "0", "threshold"]), "4:5");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // `é` is two bytes, `雪` three, `🦀` four: one column each.
        let text = "description: é雪🦀\nrules: [{name: é雪🦀, period: 61}]\n";
        assert_eq!(value(text, &["rules", "0", "period"]), "2:29");
        assert_eq!(value(text, &["rules", "0", "name"]), "2:16");
    }

    #[test]
    fn lines_end_with_lf_or_crlf() {
        let crlf = BLOCK.replace('\n', "\r\n");
        assert_eq!(value(&crlf, &["rules", "0", "period"]), "8:13");
        assert_eq!(
            value(&crlf, &["rules", "0", "notify", "0", "format"]),
            "12:17"
        );
    }

    #[test]
    fn an_alias_is_a_leaf_and_a_merged_field_is_placed_at_its_rule() {
        let text = "\
common: &common {metric: CPUUtilization, period: 61}
web: &web [web-1, web-2]
rules:
  - <<: *common
    name: a
    instances: *web
";
        assert_eq!(value(text, &["rules", "0", "instances"]), "6:16");
        // What the alias stands for has no place of its own in the rule.
        assert_eq!(value(text, &["rules", "0", "instances", "1"]), "6:16");
        assert_eq!(value(text, &["rules", "0", "period"]), "4:5");
        assert_eq!(value(text, &["rules", "0", "<<"]), "4:9");
    }

    #[test]
    fn aliases_are_not_expanded_while_positions_are_found() {
        // Ten levels of ten aliases: 10^10 values if expanded.
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let list = vec![format!("*a{}", level - 1); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{list}]\n"));
        }
        // The last alias of the last list, not anything it stands for (expanded, the
        // walk would never end).
        assert_eq!(value(&text, &["a9", "9", "9", "9"]), "10:55");
    }

    #[test]
    fn text_the_parser_refuses_has_no_position_or_the_one_found_before() {
        // Never a panic: nothing to find, or what was found before the refusal.
        let period = path(&["rules", "0", "period"]);
        for (text, found) in [
            ("", None),
            ("\t", None),
            ("{", Some("1:1")),
            ("a: b: c", Some("1:1")),
        ] {
            assert_eq!(
                at(text, &["rules", "0", "period"], Target::Value).as_deref(),
                found,
                "{text:?}"
            );
        }
        assert_eq!(
            Positions::find("", [&period]).locate(&period, Target::Key),
            None
        );
        assert_eq!(
            value("version: 1\nrules: [a, : : ]\n", &["version"]),
            "1:10"
        );
        // One document, as `serde_yaml_ng` reads.
        let two = "version: 1\n---\nrules: [a]\n";
        assert_eq!(value(two, &["rules", "0"]), "1:1");
    }

    #[test]
    fn paths_read_as_errors_name_fields() {
        assert_eq!(
            path(&["notify", "0", "topicArn"]).to_string(),
            "notify[0].topicArn"
        );
        assert_eq!(path(&["defaults", "region"]).to_string(), "defaults.region");
        assert_eq!(Path::from("").to_string(), "");
    }

    #[test]
    fn validation_errors_carry_the_line_and_column_of_the_place() {
        let doc = format!(
            "version: 1\n\
             defaults: {{region: us-east-1, topicArn: {TOPIC}}}\n\
             common: &common\n  period: 61\n\
             rules:\n\
             - <<: *common\n  name: merged\n  instances: [web-1]\n  metric: CPUUtilization\n  \
             comparison: '>'\n  threshold: 80\n"
        );
        let lines = error_lines(&doc, &none());
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("rules.yaml:6:3: rules[0] (merged): period: `61`"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("rules.yaml:3:1: common: unknown field"),
            "{lines:?}"
        );

        let json = "{\"version\": 1, \"rules\": [{\"name\": \"x\", \"instances\": [\"web-1\"],\n \
                    \"metric\": \"CPUUtilization\", \"comparison\": \">\", \"threshold\": 80, \
                    \"period\": 90}]}";
        let errors = parse(json, SOURCE, &none()).unwrap_err();
        let at: Vec<_> = errors.0.iter().map(|e| e.at).collect();
        assert_eq!(
            at,
            [
                Some(Position {
                    line: 2,
                    column: 76
                }),
                Some(Position {
                    line: 1,
                    column: 26
                }),
                Some(Position {
                    line: 1,
                    column: 26
                }),
            ],
            "{errors}"
        );
    }
}
