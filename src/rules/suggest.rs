//! "Did you mean": the allowed name a wrong one is an obvious typo of.

pub(super) fn with_suggestion<'c>(
    message: String,
    value: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> String {
    match closest(value, candidates) {
        Some(candidate) => format!("{message}; did you mean `{candidate}`?"),
        None => message,
    }
}

/// The candidate `value` is an obvious typo of: the same but for case, `_`, `-` and
/// spaces, or a few edits away (fewer for short names, where any two edits match).
pub(super) fn closest<'c>(
    value: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let normalise = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let value = normalise(value);
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let limit = match candidate.len() {
                0..=3 => 0,
                4..=5 => 1,
                _ => 2,
            };
            let normalised = normalise(candidate);
            // The distance is at least the difference in length: a value far longer than
            // every name (a pasted paragraph as a key) costs no table of its size.
            if value.len().abs_diff(normalised.len()) > limit {
                return None;
            }
            let distance = edit_distance(&value, &normalised);
            (distance <= limit).then_some((distance, candidate))
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions
/// (`unti` -> `unit` is one edit). A dozen lines do not warrant a dependency.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::scope::RULE_FIELDS;

    #[test]
    fn typos_are_suggested_only_when_obvious() {
        assert_eq!(
            closest("treshold", RULE_FIELDS.iter().copied()),
            Some("threshold")
        );
        assert_eq!(closest("unti", RULE_FIELDS.iter().copied()), Some("unit"));
        assert_eq!(
            closest("TopicARN", RULE_FIELDS.iter().copied()),
            Some("topicArn")
        );
        assert_eq!(
            closest("datapoints_to_alarm", RULE_FIELDS.iter().copied()),
            Some("datapointsToAlarm")
        );
        assert_eq!(closest("owner", RULE_FIELDS.iter().copied()), None);
        assert_eq!(closest("colour", RULE_FIELDS.iter().copied()), None);
        assert_eq!(closest("x", [">", "<"]), None);
    }

    #[test]
    fn a_value_far_longer_than_every_name_is_not_compared_cell_by_cell() {
        // A megabyte key against the 23 rule fields: 23 tables of 20 million cells
        // (and as many allocations) before the length check, seconds in a debug build.
        let long = "threshold".repeat(120_000);
        let started = std::time::Instant::now();
        assert_eq!(closest(&long, RULE_FIELDS.iter().copied()), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
