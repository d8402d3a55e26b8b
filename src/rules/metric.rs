//! What a rule measures and when it alarms: `unit`, `period`, `evaluationPeriods`,
//! `datapointsToAlarm` and `recoveryThreshold`, each checked against what it depends on
//! (the metric's catalog entry, the period, the comparison and threshold).

use serde_yaml_ng::Value;

use crate::domain::catalog::{
    COUNTS_ONLY_WHY, Comparison, MAX_EVALUATION_SECONDS, MAX_PERIOD, MIN_PERIOD, MetricInfo,
    MetricName, ResourceType, Statistic, Unit,
};
use crate::domain::transition::recovery_threshold_is_safe;

use super::suggest::with_suggestion;
use super::values::{parse_name, string, whole_number};

/// `metric`: a metric `kind` publishes. A metric of another type says which type has it;
/// the distribution error rates' prose spelling (`4xxErrorRate`) gets the API's.
pub(super) fn check_metric(
    value: &Value,
    kind: Option<ResourceType>,
) -> Result<MetricName, String> {
    let name = string(value)?;
    let Some(kind) = kind else {
        return parse_name(value);
    };
    let own: Vec<&str> = kind.metrics().map(MetricName::as_str).collect();
    match name.parse::<MetricName>() {
        Ok(metric) if kind.metric(metric).is_some() => Ok(metric),
        Ok(metric) => {
            let types: Vec<&str> = ResourceType::publishing(metric)
                .map(ResourceType::as_str)
                .collect();
            Err(format!(
                "`{metric}` is not a metric of {kind} (it is one of {}: set `resourceType` to \
                 watch that type); allowed for {kind}: {}",
                types.join(", "),
                own.join(", ")
            ))
        }
        Err(_) => {
            let message = format!(
                "`{name}` is not a metric of {kind}; allowed: {}",
                own.join(", ")
            );
            let api_spelling = format!("Http{name}");
            if kind == ResourceType::Distribution && own.contains(&api_spelling.as_str()) {
                return Err(format!(
                    "{message}; did you mean `{api_spelling}`? (the API spells it so, though \
                     the Lightsail guide writes `{name}`)"
                ));
            }
            Err(with_suggestion(message, name, own.iter().copied()))
        }
    }
}

/// `statistic`: one the metric supports (the load balancer's counts: Sum, SampleCount).
pub(super) fn check_statistic(
    value: &Value,
    metric: Option<(ResourceType, MetricName, MetricInfo)>,
) -> Result<Statistic, String> {
    let statistic: Statistic = parse_name(value)?;
    match metric {
        Some((kind, metric, info)) if !info.statistics.contains(&statistic) => {
            let allowed: Vec<&str> = info.statistics.iter().map(|s| s.as_str()).collect();
            Err(format!(
                "`{statistic}` is not useful for {kind} {metric}: {COUNTS_ONLY_WHY}; allowed: {}",
                allowed.join(", ")
            ))
        }
        _ => Ok(statistic),
    }
}

pub(super) fn check_unit(
    value: &Value,
    metric: Option<(MetricName, MetricInfo)>,
) -> Result<Unit, String> {
    let Some((metric, info)) = metric else {
        return parse_name(value);
    };
    let unit = string(value)?;
    let published = info.unit;
    if unit == published.as_str() {
        return Ok(published);
    }
    Err(with_suggestion(
        format!(
            "`{unit}` is not published for {metric} (Lightsail returns no data for any other \
             unit); allowed: {published}"
        ),
        unit,
        [published.as_str()],
    ))
}

pub(super) fn check_period(
    value: &Value,
    metric: Option<(MetricName, MetricInfo)>,
) -> Result<u32, String> {
    let period = whole_number(value, "a whole number of seconds")?;
    // Without a known metric, 60 still divides every native period in the catalog.
    let step = metric.map_or(MIN_PERIOD, |(_, info)| info.native_period);
    let metric = metric.map(|(m, _)| m);
    match u32::try_from(period) {
        Ok(p) if (MIN_PERIOD..=MAX_PERIOD).contains(&p) && p % step == 0 => Ok(p),
        _ => Err(match metric {
            Some(metric) => {
                let lowest = step.max(MIN_PERIOD);
                format!(
                    "`{period}` is not a valid period for {metric}, which Lightsail stores every \
                     {step} seconds; allowed: a multiple of {step} from {lowest} to {MAX_PERIOD} \
                     ({lowest}, {}, {}, ..., {MAX_PERIOD})",
                    lowest + step,
                    lowest + 2 * step,
                )
            }
            None => format!(
                "`{period}` is not a valid period; allowed: a multiple of {MIN_PERIOD} from \
                 {MIN_PERIOD} to {MAX_PERIOD} seconds"
            ),
        }),
    }
}

pub(super) fn check_evaluation_periods(value: &Value, period: Option<u32>) -> Result<u32, String> {
    let n = whole_number(value, "a whole number >= 1")?;
    let n = u32::try_from(n).ok().filter(|&n| n >= 1).ok_or_else(|| {
        format!(
            "`{n}` is not allowed; allowed: a whole number >= 1 with evaluationPeriods * period \
             <= {MAX_EVALUATION_SECONDS}"
        )
    })?;
    if let Some(period) = period {
        let span = u64::from(n) * u64::from(period);
        if span > u64::from(MAX_EVALUATION_SECONDS) {
            return Err(format!(
                "`{n}` periods of {period} s span {span} s, more than evaluationPeriods * period \
                 <= {MAX_EVALUATION_SECONDS} s allows; allowed: 1 to {}",
                MAX_EVALUATION_SECONDS / period
            ));
        }
    }
    Ok(n)
}

pub(super) fn check_datapoints_to_alarm(
    value: &Value,
    evaluation_periods: Option<u32>,
) -> Result<u32, String> {
    let m = whole_number(value, "a whole number >= 1")?;
    let max = evaluation_periods.unwrap_or(u32::MAX);
    match u32::try_from(m) {
        Ok(m) if (1..=max).contains(&m) => Ok(m),
        _ => Err(match evaluation_periods {
            Some(n) if m > i128::from(n) => {
                format!("`{m}` is more than evaluationPeriods ({n}); allowed: 1 to {n}")
            }
            Some(n) => format!("`{m}` is not allowed; allowed: 1 to {n}"),
            None => format!("`{m}` is not allowed; allowed: 1 to evaluationPeriods"),
        }),
    }
}

/// `recoveryThreshold` must make returning to OK harder, never easier: strictly on the
/// non-breaching side of `threshold`.
pub(super) fn check_recovery_threshold(
    comparison: Comparison,
    threshold: f64,
    recovery: f64,
) -> Result<(), String> {
    if recovery_threshold_is_safe(comparison, threshold, recovery) {
        return Ok(());
    }
    // A round step of the threshold's own magnitude: 20 -> 30, 80 -> 70, 0.5 -> 0.6.
    let step = if threshold == 0.0 {
        1.0
    } else {
        10f64.powf(threshold.abs().log10().floor())
    };
    let (side, example) = match comparison {
        Comparison::GreaterThanOrEqualToThreshold | Comparison::GreaterThanThreshold => {
            ("below", threshold - step)
        }
        Comparison::LessThanThreshold | Comparison::LessThanOrEqualToThreshold => {
            ("above", threshold + step)
        }
    };
    let problem = if recovery == threshold {
        format!("`{recovery}` is threshold {threshold} itself, so it would change nothing")
    } else {
        format!(
            "`{recovery}` is on the breaching side of threshold {threshold} (values {} {threshold} \
             breach)",
            comparison.symbol()
        )
    };
    Err(format!(
        "{problem}; use a value {side} {threshold}, e.g. {example}"
    ))
}
