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
/// spaces, or a few edits away (fewer for short names, where any two edits match); else
/// the shortest candidate that `value` (4 characters or more) begins, such as `breach`
/// for `breaching` or `GreaterThan` for `GreaterThanThreshold`.
pub(crate) fn closest<'c>(
    value: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let candidates: Vec<&'c str> = candidates.into_iter().collect();
    typo_of(value, &candidates).or_else(|| completed_by(value, &candidates))
}

/// The candidate `value` begins, when one is; when several are, the shortest, if every
/// other one only adds words before its ending (`GreaterThan`: `...Threshold`, not
/// `...OrEqualToThreshold`); `Disk` begins `DiskReadOps` and `DiskWriteOps` alike.
fn completed_by<'c>(value: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let value = normalise(value);
    if value.len() < 4 {
        return None;
    }
    let mut completions: Vec<(Vec<char>, &'c str)> = candidates
        .iter()
        .map(|candidate| (normalise(candidate), *candidate))
        .filter(|(normalised, _)| normalised.starts_with(&value))
        .map(|(normalised, candidate)| (normalised[value.len()..].to_vec(), candidate))
        .collect();
    completions.sort_by_key(|(rest, _)| rest.len());
    let ((ending, shortest), others) = completions.split_first()?;
    others
        .iter()
        .all(|(rest, _)| rest.len() > ending.len() && rest.ends_with(ending))
        .then_some(*shortest)
}

fn normalise(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

fn typo_of<'c>(value: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let value = normalise(value);
    candidates
        .iter()
        .copied()
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
    #[cfg(test)]
    tests::DISTANCES.with(|n| n.set(n.get() + 1));
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

    thread_local! {
        /// Edit distances computed on this thread.
        pub(super) static DISTANCES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    #[test]
    fn a_beginning_of_one_name_suggests_the_shortest_it_begins() {
        use crate::domain::catalog::{Comparison, TreatMissingData};
        let missing = TreatMissingData::allowed();
        assert_eq!(closest("breach", missing.split(", ")), Some("breaching"));
        let comparisons = Comparison::allowed();
        assert_eq!(
            closest("GreaterThan", comparisons.split(", ")),
            Some("GreaterThanThreshold")
        );
        assert_eq!(
            closest("LessThanOrEqual", comparisons.split(", ")),
            Some("LessThanOrEqualToThreshold")
        );
        // Too short to mean one name, or equally the beginning of two.
        assert_eq!(closest("not", missing.split(", ")), None);
        assert_eq!(closest("Disk", ["DiskReadOps", "DiskWriteOps"]), None);
    }

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
        DISTANCES.with(|n| n.set(0));
        assert_eq!(closest(&long, RULE_FIELDS.iter().copied()), None);
        assert_eq!(DISTANCES.with(std::cell::Cell::get), 0);
        assert_eq!(
            closest("treshold", RULE_FIELDS.iter().copied()),
            Some("threshold")
        );
        assert!(
            DISTANCES.with(std::cell::Cell::get) > 0,
            "the counter counts"
        );
    }
}
