//! Numbers as people read them: in their unit, scaled, three significant digits
//! (`1.4 GB`, `93.1 %`, `0.3 s`, `12.5 k`).
//!
//! Bytes scale by 1000 (kB, MB, GB), as CloudWatch's and Lightsail's graphs label them,
//! not by 1024.

use crate::domain::catalog::{Comparison, Unit};

/// `value` in `unit`, scaled and rounded for a table cell.
pub(super) fn humanize(value: f64, unit: Unit) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    match unit {
        Unit::Percent => format!("{} %", significant(value)),
        Unit::Bytes => scaled(value, &["B", "kB", "MB", "GB", "TB", "PB"]),
        Unit::BytesPerSecond => scaled(value, &["B/s", "kB/s", "MB/s", "GB/s", "TB/s"]),
        Unit::Seconds => seconds(value),
        Unit::Count | Unit::None if value.abs() < 10_000.0 => significant(value),
        Unit::Count | Unit::None => scaled(value, &["", "k", "M", "G", "T"]),
    }
}

/// The threshold with its operator: `> 80 %`, `<= 1 GB`.
pub(super) fn threshold(comparison: Comparison, value: f64, unit: Unit) -> String {
    let operator = match comparison {
        Comparison::GreaterThanOrEqualToThreshold => ">=",
        Comparison::GreaterThanThreshold => ">",
        Comparison::LessThanThreshold => "<",
        Comparison::LessThanOrEqualToThreshold => "<=",
    };
    format!("{operator} {}", humanize(value, unit))
}

/// Seconds below 0.01 as milliseconds, from two minutes as minutes, from two hours as
/// hours: a burst-capacity time of 43200 s reads `12 h`.
fn seconds(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && magnitude < 0.01 {
        format!("{} ms", significant(value * 1000.0))
    } else if magnitude >= 7200.0 {
        format!("{} h", significant(value / 3600.0))
    } else if magnitude >= 120.0 {
        format!("{} min", significant(value / 60.0))
    } else {
        format!("{} s", significant(value))
    }
}

/// Divided by 1000 while it rounds to 1000 or more and a larger unit is left.
fn scaled(value: f64, units: &[&str]) -> String {
    let mut value = value;
    let mut unit = 0;
    while unit + 1 < units.len() && round_significant(value).abs() >= 1000.0 {
        value /= 1000.0;
        unit += 1;
    }
    match units[unit] {
        "" => significant(value),
        name => format!("{} {name}", significant(value)),
    }
}

/// `value` rounded to three significant digits (whole numbers keep every digit),
/// without trailing zeros: 93.06 → `93.1`, 12.0 → `12`, 0.30 → `0.3`, 1234 → `1234`.
fn significant(value: f64) -> String {
    let decimals = decimals(value);
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    // -0.0001 rounds to "-0".
    match text {
        "-0" => "0".to_owned(),
        text => text.to_owned(),
    }
}

fn round_significant(value: f64) -> f64 {
    significant(value).parse().unwrap_or(value)
}

/// The decimals that leave three significant digits (none for 100 and more), at most
/// 12: smaller values than that read as 0.
fn decimals(value: f64) -> usize {
    if value == 0.0 {
        return 0;
    }
    // Finite and not zero, so the logarithm is finite (about -324 to 309).
    let magnitude = value.abs().log10().floor() as i64;
    usize::try_from(2 - magnitude).unwrap_or(0).min(12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_reads_in_its_own_terms() {
        let cases: &[(f64, Unit, &str)] = &[
            (12.0, Unit::Percent, "12 %"),
            (93.0625, Unit::Percent, "93.1 %"),
            (0.0, Unit::Percent, "0 %"),
            (1.4e9, Unit::Bytes, "1.4 GB"),
            (512.0, Unit::Bytes, "512 B"),
            (999_600.0, Unit::Bytes, "1 MB"),
            (2.5e15, Unit::Bytes, "2.5 PB"),
            (2.5e18, Unit::Bytes, "2500 PB"),
            (1_250_000.0, Unit::BytesPerSecond, "1.25 MB/s"),
            (0.3, Unit::Seconds, "0.3 s"),
            (0.0042, Unit::Seconds, "4.2 ms"),
            (90.0, Unit::Seconds, "90 s"),
            (600.0, Unit::Seconds, "10 min"),
            (43_200.0, Unit::Seconds, "12 h"),
            (1.0, Unit::Count, "1"),
            (0.5, Unit::Count, "0.5"),
            (9_999.0, Unit::Count, "9999"),
            (12_500.0, Unit::Count, "12.5 k"),
            (3_400_000.0, Unit::None, "3.4 M"),
            (-12.345, Unit::None, "-12.3"),
            (-0.0001, Unit::None, "-0.0001"),
        ];
        for &(value, unit, expected) in cases {
            assert_eq!(humanize(value, unit), expected, "{value} {unit}");
        }
    }

    #[test]
    fn thresholds_read_with_their_operator() {
        assert_eq!(
            threshold(Comparison::GreaterThanThreshold, 80.0, Unit::Percent),
            "> 80 %"
        );
        assert_eq!(
            threshold(Comparison::LessThanOrEqualToThreshold, 1e9, Unit::Bytes),
            "<= 1 GB"
        );
        assert_eq!(
            threshold(Comparison::GreaterThanOrEqualToThreshold, 1.0, Unit::Count),
            ">= 1"
        );
        assert_eq!(
            threshold(Comparison::LessThanThreshold, 20.0, Unit::Percent),
            "< 20 %"
        );
    }

    #[test]
    fn three_significant_digits_without_trailing_zeros() {
        assert_eq!(significant(0.000_123_456), "0.000123");
        assert_eq!(significant(123_456.7), "123457");
        assert_eq!(significant(1.0), "1");
        assert_eq!(significant(f64::MIN_POSITIVE), "0");
    }
}
