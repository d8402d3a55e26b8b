//! The series notation of a rule test's `values`, as `promtool test rules` writes it:
//! `50 40 _ 12x2 10+5x3 _x4`, one token per value or run of values, separated by spaces.
//!
//! - `a`: one value; `_`: one period without a datapoint;
//! - `a+bxN` / `a-bxN`: N+1 values, a, a±b, ..., a±N·b;
//! - `axN`: `a+0xN`, N+1 values of a;
//! - `_xN`: N periods without a datapoint (N, not N+1: promtool's asymmetry, kept).
//!
//! And the spacing of the values, `interval`: seconds, or a duration such as `5m`.

use std::fmt;

/// The most values one series may expand to: a year of 5-minute periods, far more than
/// any evaluation range needs, and a bound on what `_x1000000000` may allocate.
pub const MAX_VALUES: usize = 110_000;

/// What is wrong with a `values` string, and where: `at` counts characters from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotationError {
    pub at: usize,
    pub message: String,
}

impl fmt::Display for NotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "character {}: {}", self.at + 1, self.message)
    }
}

/// The values `text` stands for, oldest first; `None` is a period without a datapoint.
pub fn expand(text: &str) -> Result<Vec<Option<f64>>, NotationError> {
    let mut values = Vec::new();
    for (at, token) in tokens(text) {
        let error = |message: String| NotationError { at, message };
        let run = parse_token(token).map_err(error)?;
        let count = run.len();
        if values.len().saturating_add(count) > MAX_VALUES {
            return Err(error(format!(
                "`{token}` makes the series longer than {MAX_VALUES} values; allowed: at most \
                 {MAX_VALUES} (a year of 5-minute periods)"
            )));
        }
        values.extend(run.values());
    }
    if values.is_empty() {
        return Err(NotationError {
            at: 0,
            message: "no values; expected values separated by spaces, e.g. \"50 40 _ 12x2\""
                .to_owned(),
        });
    }
    Ok(values)
}

/// The tokens of `text` with the character offset each starts at.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offsets = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    for (chars, (byte, c)) in text.char_indices().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some((byte, chars)),
            (true, Some((from, at))) => {
                offsets.push((at, &text[from..byte]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some((from, at)) = start {
        offsets.push((at, &text[from..]));
    }
    offsets.into_iter()
}

/// One token: a run of values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Run {
    /// `count` periods without a datapoint.
    Missing { count: usize },
    /// `first`, `first + step`, ..., `count` values in all.
    Values { first: f64, step: f64, count: usize },
}

impl Run {
    fn len(self) -> usize {
        match self {
            Run::Missing { count } | Run::Values { count, .. } => count,
        }
    }

    fn values(self) -> impl Iterator<Item = Option<f64>> {
        let count = self.len();
        (0..count).map(move |k| match self {
            Run::Missing { .. } => None,
            // Each value from the first, not by adding up steps: no drift in long runs.
            Run::Values { first, step, .. } => Some(first + step * k as f64),
        })
    }
}

const FORMS: &str = "allowed: a number, `_`, `a+bxN`, `a-bxN`, `axN` or `_xN`";

fn parse_token(token: &str) -> Result<Run, String> {
    let (base, times) = match token.rsplit_once('x') {
        Some((base, times)) => (base, Some(times)),
        None => (token, None),
    };
    let times = times
        .map(|times| {
            times.parse::<u64>().map_err(|_| {
                format!(
                    "`{token}`: expected a whole number of repetitions after `x`, got `{times}`; \
                     {FORMS}"
                )
            })
        })
        .transpose()?;
    // More than the series may hold is refused by the caller; here it only must not
    // overflow.
    let repeated = |times: u64| usize::try_from(times).unwrap_or(usize::MAX);
    if base == "_" {
        return match times {
            None => Ok(Run::Missing { count: 1 }),
            Some(0) => Err(format!(
                "`{token}` stands for no value at all; `_xN` is N periods without data, N >= 1"
            )),
            Some(times) => Ok(Run::Missing {
                count: repeated(times),
            }),
        };
    }
    let (first, step) = match split_step(base) {
        Some((first, sign, step)) => (number(first, token)?, sign * number(step, token)?),
        None => (number(base, token)?, 0.0),
    };
    if split_step(base).is_some() && times.is_none() {
        return Err(format!(
            "`{token}`: a step needs a count, e.g. `{base}x3` (4 values); {FORMS}"
        ));
    }
    let count = times.map_or(1, |times| repeated(times).saturating_add(1));
    let last = first + step * (count.saturating_sub(1)) as f64;
    if !last.is_finite() {
        return Err(format!(
            "`{token}` reaches beyond the numbers a datapoint can hold"
        ));
    }
    Ok(Run::Values { first, step, count })
}

/// `a+b` or `a-b` as (a, sign, b); a sign that starts the number or its exponent
/// (`-5`, `1e-3`) is not a step.
fn split_step(base: &str) -> Option<(&str, f64, &str)> {
    let bytes = base.as_bytes();
    (1..bytes.len())
        .find(|&i| matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E'))
        .map(|i| {
            let sign = if bytes[i] == b'-' { -1.0 } else { 1.0 };
            (&base[..i], sign, &base[i + 1..])
        })
}

fn number(text: &str, token: &str) -> Result<f64, String> {
    // Only plain decimal numbers: `inf`, `NaN` and `infinity` parse as f64 but no
    // datapoint holds them.
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    match text.parse::<f64>() {
        Ok(value) if plain && value.is_finite() => Ok(value),
        _ => Err(format!("`{token}`: `{text}` is not a number; {FORMS}")),
    }
}

/// The `interval` of a series: a whole number of seconds (`300`) or a duration with a
/// unit, `s`, `m`, `h` or `d` (`90s`, `5m`, `1h`, `1d`); 60 to 86400 seconds, whole
/// minutes, as a rule's `period`.
pub fn interval_seconds(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let scale = match unit {
        "" | "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3_600),
        "d" => Some(86_400),
        _ => None,
    };
    let seconds = digits
        .parse::<u64>()
        .ok()
        .zip(scale)
        .and_then(|(n, scale)| n.checked_mul(scale));
    match seconds {
        Some(s) if (60..=86_400).contains(&s) && s % 60 == 0 => Ok(s as u32),
        Some(_) => Err(format!(
            "`{text}` is not a period Lightsail stores; allowed: 60 to 86400 seconds in whole \
             minutes, e.g. 300 or 5m"
        )),
        None => Err(format!(
            "`{text}` is not a duration; allowed: seconds (300) or a number with s, m, h or d \
             (5m, 1h, 1d)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<Option<f64>> {
        expand(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn some(values: &[f64]) -> Vec<Option<f64>> {
        values.iter().copied().map(Some).collect()
    }

    #[test]
    fn every_form_expands_as_promtool_does() {
        assert_eq!(values("50 40.5 -3 1e3"), some(&[50.0, 40.5, -3.0, 1000.0]));
        assert_eq!(values("_"), [None]);
        assert_eq!(values("1+2x3"), some(&[1.0, 3.0, 5.0, 7.0]));
        assert_eq!(values("10-2.5x2"), some(&[10.0, 7.5, 5.0]));
        assert_eq!(values("-2+4x3"), some(&[-2.0, 2.0, 6.0, 10.0]));
        assert_eq!(values(" 1-2x4"), some(&[1.0, -1.0, -3.0, -5.0, -7.0]));
        assert_eq!(values("1e-3+1e-3x1"), some(&[0.001, 0.002]));
        assert_eq!(values("12x1"), some(&[12.0, 12.0]));
        assert_eq!(values("7x0"), some(&[7.0]));
        assert_eq!(values("_x3"), [None, None, None]);
        assert_eq!(
            values("5 _x2\t6+1x1\n_"),
            [Some(5.0), None, None, Some(6.0), Some(7.0), None]
        );
    }

    #[test]
    fn the_spec_example_expands_to_eight_values() {
        assert_eq!(
            values("50 40 30 15 12x1 35 40"),
            some(&[50.0, 40.0, 30.0, 15.0, 12.0, 12.0, 35.0, 40.0])
        );
    }

    #[test]
    fn long_runs_do_not_drift() {
        let run = values("0+0.1x1000");
        assert_eq!(run.len(), 1001);
        assert_eq!(run[1000], Some(100.0));
    }

    fn error(text: &str) -> (usize, String) {
        let err = expand(text).unwrap_err();
        (err.at, err.message)
    }

    #[test]
    fn errors_name_the_token_and_its_character() {
        let (at, message) = error("50 40 12x 30");
        assert_eq!(at, 6);
        assert_eq!(
            message,
            "`12x`: expected a whole number of repetitions after `x`, got ``; allowed: a \
             number, `_`, `a+bxN`, `a-bxN`, `axN` or `_xN`"
        );
        assert_eq!(
            expand("50 40 12x").unwrap_err().to_string(),
            format!("character 7: {message}")
        );
        let (at, message) = error("1 high");
        assert_eq!(at, 2);
        assert!(
            message.starts_with("`high`: `high` is not a number"),
            "{message}"
        );
        assert_eq!(
            error("1+x3").1.split(';').next(),
            Some("`1+x3`: `` is not a number")
        );
        assert_eq!(error("1+2").0, 0);
        assert!(
            error("1+2").1.contains("a step needs a count"),
            "{}",
            error("1+2").1
        );
        assert!(error("_x0").1.contains("no value at all"));
        assert!(error("_+1x2").1.contains("`_` is not a number"));
        assert!(error("inf").1.contains("is not a number"));
        assert!(error("NaN x2").1.contains("is not a number"));
        assert!(error("3x-1").1.contains("got `-1`"));
        assert!(error("3x1.5").1.contains("got `1.5`"));
        // Offsets count characters, not bytes.
        assert_eq!(error("1\u{3000}zz").0, 2);
    }

    #[test]
    fn nothing_and_too_much_are_refused() {
        assert!(error("").1.starts_with("no values"));
        assert!(error("  \n ").1.starts_with("no values"));
        let (at, message) = error("1 _x200000");
        assert_eq!(at, 2);
        assert!(message.contains("longer than 110000 values"), "{message}");
        assert!(error("1x18446744073709551615").1.contains("longer than"));
        assert!(error("1e308+1e308x10").1.contains("beyond the numbers"));
    }

    #[test]
    fn intervals_are_seconds_or_durations_of_whole_minutes() {
        assert_eq!(interval_seconds("300"), Ok(300));
        assert_eq!(interval_seconds("5m"), Ok(300));
        assert_eq!(interval_seconds("60s"), Ok(60));
        assert_eq!(interval_seconds("1h"), Ok(3600));
        assert_eq!(interval_seconds("1d"), Ok(86_400));
        assert!(
            interval_seconds("90s")
                .unwrap_err()
                .contains("whole minutes")
        );
        assert!(interval_seconds("2d").unwrap_err().contains("60 to 86400"));
        assert!(interval_seconds("0").is_err());
        assert!(
            interval_seconds("5 min")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(
            interval_seconds("m")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(interval_seconds("99999999999999999999h").is_err());
    }
}
