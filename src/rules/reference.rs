//! The rules reference of README.md ("Rules reference": the tables of the document's,
//! the `defaults`-only, a rule's, a `notify` entry's and a silence's fields), read at build
//! time. It is the one text that
//! describes each field: the README's readers see it as it is, and editors see it in the
//! JSON Schema (`schema`), whose descriptions are made from it here.

/// The README, built in: editing its tables changes the schema `schema` prints, and the
/// test of `schemas/rules-v1.schema.json` then says to regenerate it.
const README: &str = include_str!("../../README.md");

const SECTION: &str = "## Rules reference";
const HEADER: &str = "| field | required | default | allowed |";

/// One row of a reference table, for one field (a row naming two fields, such as
/// `` `region` / `regions` ``, gives both the same text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldDoc {
    pub field: &'static str,
    /// `yes`, `no`, empty, or when (`in the end`).
    pub required: &'static str,
    /// Empty when there is none to say.
    pub default: &'static str,
    pub allowed: &'static str,
}

/// The four tables of the rules reference, in the README's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub document: Vec<FieldDoc>,
    /// The fields of `defaults` that no rule has.
    pub defaults: Vec<FieldDoc>,
    pub rule: Vec<FieldDoc>,
    pub notify: Vec<FieldDoc>,
    /// A silence, with the fields of its `match` and `schedule`.
    pub silence: Vec<FieldDoc>,
}

impl Reference {
    /// The README's tables; `Err` says what in them is not as expected (a unit test
    /// keeps them readable, so this never fails in a built binary).
    pub(crate) fn from_readme() -> Result<Self, String> {
        Self::parse(README)
    }

    fn parse(text: &'static str) -> Result<Self, String> {
        let start = text
            .find(&format!("\n{SECTION}\n"))
            .ok_or_else(|| format!("README.md has no section `{SECTION}`"))?;
        let section = &text[start + 1..];
        // The next heading of level 2 or 3 (a YAML comment in an example, `# ...`, is
        // not one).
        let end = section[SECTION.len()..]
            .find("\n##")
            .map_or(section.len(), |end| end + SECTION.len());
        let mut tables = tables(&section[..end])?.into_iter();
        let mut next = || tables.next();
        match (next(), next(), next(), next(), next(), next()) {
            (Some(document), Some(defaults), Some(rule), Some(notify), Some(silence), None) => {
                Ok(Reference {
                    document,
                    defaults,
                    rule,
                    notify,
                    silence,
                })
            }
            _ => Err(format!(
                "README.md's `{SECTION}` should hold five tables headed `{HEADER}` (the \
                 document, the `defaults`-only fields, a rule, a notify entry, a silence)"
            )),
        }
    }
}

/// Every table headed [`HEADER`] in `section`.
fn tables(section: &'static str) -> Result<Vec<Vec<FieldDoc>>, String> {
    let mut tables = Vec::new();
    let mut lines = section.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() != HEADER {
            continue;
        }
        lines.next(); // |---|---|---|---|
        let mut table = Vec::new();
        while let Some(row) = lines.next_if(|l| l.trim_start().starts_with('|')) {
            let cells = cells(row);
            let [names, required, default, allowed] = cells.as_slice() else {
                return Err(format!("a reference row has not four cells: {row}"));
            };
            let fields = backticked(names);
            if fields.is_empty() {
                return Err(format!("a reference row names no `field`: {row}"));
            }
            table.extend(fields.into_iter().map(|field| FieldDoc {
                field,
                required,
                default,
                allowed,
            }));
        }
        tables.push(table);
    }
    Ok(tables)
}

/// The cells of a table row, trimmed; a `|` inside backticks is text.
fn cells(row: &'static str) -> Vec<&'static str> {
    let inner = row.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = Vec::new();
    let mut code = false;
    let mut from = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '`' => code = !code,
            '|' if !code => {
                cells.push(inner[from..i].trim());
                from = i + 1;
            }
            _ => {}
        }
    }
    cells.push(inner[from..].trim());
    cells
}

/// The `code` spans of a cell.
fn backticked(cell: &'static str) -> Vec<&'static str> {
    cell.split('`').skip(1).step_by(2).collect()
}

impl FieldDoc {
    /// The row as one text, Markdown as in the README but for its links (which point
    /// into the README), which keep only their text: `Required.`, `Default: ...`.
    pub(crate) fn markdown(&self) -> String {
        let mut text = capitalised(&unlinked(self.allowed));
        end_sentence(&mut text);
        match self.required {
            "" | "no" => {}
            "yes" => text.push_str(" Required."),
            when => text.push_str(&format!(" Required {when}.")),
        }
        if !self.default.is_empty() {
            text.push_str(&format!(" Default: {}.", unlinked(self.default)));
        }
        text
    }

    /// [`FieldDoc::markdown`] as plain text: without the backticks.
    pub(crate) fn plain(&self) -> String {
        self.markdown().replace('`', "")
    }
}

/// `[text](target)` becomes `text`.
fn unlinked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|c| c + open) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|e| e + close) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn end_sentence(text: &mut String) {
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::notify::NOTIFY_FIELDS;
    use crate::rules::scope::{DEFAULTS_FIELDS, DOCUMENT_FIELDS, RULE_FIELDS};
    use crate::rules::silences::{MATCH_FIELDS, SCHEDULE_FIELDS, SILENCE_FIELDS};

    fn fields(table: &[FieldDoc]) -> Vec<&str> {
        table.iter().map(|doc| doc.field).collect()
    }

    /// The README's tables describe exactly the fields the validator accepts, in its
    /// order: a field added to one and not the other fails here.
    #[test]
    fn the_readme_tables_name_every_field_the_validator_accepts() {
        let reference = Reference::from_readme().unwrap();
        assert_eq!(fields(&reference.document), DOCUMENT_FIELDS);
        let mut rule = fields(&reference.rule);
        let mut accepted = RULE_FIELDS.to_vec();
        rule.sort_unstable();
        accepted.sort_unstable();
        assert_eq!(rule, accepted);
        assert_eq!(fields(&reference.notify), NOTIFY_FIELDS);
        let silence: Vec<&str> = [SILENCE_FIELDS, MATCH_FIELDS, SCHEDULE_FIELDS].concat();
        assert_eq!(fields(&reference.silence), silence);
        for field in DEFAULTS_FIELDS {
            let of_a_rule = reference.rule.iter().any(|doc| doc.field == *field);
            let of_defaults = reference.defaults.iter().any(|doc| doc.field == *field);
            assert!(of_a_rule != of_defaults, "{field}: in one table of the two");
        }
        for doc in &reference.defaults {
            assert!(DEFAULTS_FIELDS.contains(&doc.field), "{}", doc.field);
            assert!(!RULE_FIELDS.contains(&doc.field), "{}", doc.field);
        }
    }

    #[test]
    fn a_row_becomes_one_text() {
        let reference = Reference::from_readme().unwrap();
        let find = |field: &str| *reference.rule.iter().find(|d| d.field == field).unwrap();
        let threshold = find("threshold");
        assert_eq!(threshold.plain(), "A number. Required.");
        let resource_type = find("resourceType");
        assert!(
            resource_type.markdown().starts_with(
                "`Instance`, `RelationalDatabase`, `LoadBalancer`, `Distribution`, \
                 `ContainerService`, `Bucket` (Lightsail's own spelling); see Resource types."
            ),
            "{}",
            resource_type.markdown()
        );
        assert!(resource_type.markdown().ends_with(" Default: `Instance`."));
        assert!(resource_type.plain().ends_with(" Default: Instance."));
        let (region, regions) = (find("region"), find("regions"));
        assert_eq!(region.allowed, regions.allowed);
        assert!(
            region.plain().contains("Required in the end."),
            "{}",
            region.plain()
        );
    }

    #[test]
    fn cells_split_on_bars_outside_code() {
        assert_eq!(cells("| `a|b` | yes | | x |"), ["`a|b`", "yes", "", "x"]);
        assert_eq!(backticked("`region` / `regions`"), ["region", "regions"]);
        assert_eq!(
            unlinked("see [Alarm state](#alarm-state) and [x](y)."),
            "see Alarm state and x."
        );
        assert!(Reference::parse("# t\n\n## Rules reference\n\nnone\n").is_err());
    }
}
