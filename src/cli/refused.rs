//! When AWS refuses the credentials themselves, every call of a run fails the same way:
//! that is said once, in one line with the fix, instead of a table of identical ERROR
//! rows (SPEC §14). A refusal of some calls only (one region's SCP, one resource's
//! policy) stays on the rows it concerns.

use crate::run::{Report, ResultState, Stage};

/// How AWS refused a call, by its error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Signed by credentials that may not call this operation.
    Denied,
    /// Credentials AWS does not know or whose signature is wrong.
    Rejected,
    /// Temporary credentials past their expiry.
    Expired,
    /// The request's time is too far from AWS's: the computer's clock.
    Clock,
}

fn refusal(code: &str) -> Option<Refusal> {
    Some(match code {
        "AccessDeniedException" | "AccessDenied" => Refusal::Denied,
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "UnauthenticatedException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken" => Refusal::Rejected,
        "ExpiredTokenException" | "ExpiredToken" => Refusal::Expired,
        "RequestExpired" | "RequestTimeTooSkewed" => Refusal::Clock,
        _ => return None,
    })
}

/// The one line to say instead of the report, when every call of the run was refused
/// for its credentials and nothing was evaluated; `None` otherwise.
pub(super) fn refused(report: &Report, profile: Option<&str>) -> Option<String> {
    if report.errors.is_empty() || report.results.iter().any(|r| r.state != ResultState::Error) {
        return None;
    }
    let mut kinds = report.errors.iter().map(|e| match e.stage {
        Stage::Select | Stage::Fetch => e.code.as_deref().and_then(refusal),
        _ => None,
    });
    let first = kinds.next().flatten()?;
    if !kinds.all(|kind| kind.is_some()) {
        return None;
    }
    let error = &report.errors[0];
    let others = match report.errors.len() - 1 {
        0 => String::new(),
        1 => " (and the run's other call)".to_owned(),
        n => format!(" (and the run's {n} other calls)"),
    };
    let whose = profile.map_or("the credentials".to_owned(), |p| {
        format!("the credentials of profile `{p}`")
    });
    let login = profile.map_or("aws sso login".to_owned(), |p| {
        format!("aws sso login --profile {p}")
    });
    let configure = profile.map_or("aws configure".to_owned(), |p| {
        format!("aws configure --profile {p}")
    });
    let fix = match first {
        Refusal::Denied => format!(
            "{whose} may not read Lightsail: allow the read actions the rules use \
             (template.yaml's policy lists them: lightsail:Get*MetricData and the listings, \
             lightsail:GetInstances, ...), or choose another profile with --profile"
        ),
        Refusal::Rejected => format!(
            "AWS does not accept {whose}: check the access key and secret (`{configure}`), \
             or sign in again (`{login}`)"
        ),
        Refusal::Expired => format!(
            "{whose} have expired: sign in again (`{login}`), or get new session credentials"
        ),
        Refusal::Clock => {
            "AWS refused the requests' time: set this computer's clock right (NTP)".to_owned()
        }
    };
    Some(format!("{}{others}; {fix}", error.message))
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::domain::catalog::ResourceType;
    use crate::run::RunError;

    fn report(errors: &[(Stage, Option<&str>)]) -> Report {
        let mut report = Report::new(DateTime::UNIX_EPOCH, true);
        for (n, &(stage, code)) in errors.iter().enumerate() {
            report.errors.push(
                RunError::about(
                    stage,
                    "cpu",
                    "us-east-1",
                    ResourceType::Instance,
                    &format!("web-{n}"),
                    format!("GetInstanceMetricData failed for `web-{n}` in us-east-1: denied"),
                )
                .with_code(code),
            );
        }
        report
    }

    #[test]
    fn every_call_refused_is_one_line_naming_the_first_and_the_fix() {
        let denied = Some("AccessDeniedException");
        let line = refused(
            &report(&[(Stage::Fetch, denied), (Stage::Select, denied)]),
            Some("ops"),
        )
        .unwrap();
        assert!(
            line.starts_with(
                "GetInstanceMetricData failed for `web-0` in us-east-1: denied (and the run's \
                 other call); the credentials of profile `ops` may not read Lightsail"
            ),
            "{line}"
        );
        let expired = refused(
            &report(&[(Stage::Fetch, Some("ExpiredTokenException"))]),
            None,
        )
        .unwrap();
        assert!(expired.contains("`aws sso login`"), "{expired}");
        let rejected = refused(
            &report(&[(Stage::Fetch, Some("UnrecognizedClientException"))]),
            Some("dev"),
        )
        .unwrap();
        assert!(
            rejected.contains("`aws configure --profile dev`"),
            "{rejected}"
        );
    }

    #[test]
    fn a_refusal_of_some_calls_or_another_error_stays_in_the_report() {
        let denied = Some("AccessDeniedException");
        assert_eq!(
            refused(
                &report(&[
                    (Stage::Fetch, denied),
                    (Stage::Fetch, Some("ThrottlingException"))
                ]),
                None
            ),
            None
        );
        assert_eq!(
            refused(
                &report(&[(Stage::Fetch, denied), (Stage::Fetch, None)]),
                None
            ),
            None
        );
        assert_eq!(refused(&report(&[(Stage::Publish, denied)]), None), None);
        assert_eq!(refused(&report(&[]), None), None);
    }
}
