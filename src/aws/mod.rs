//! The AWS adapters of the ports, one per service, all built from one SDK config.

pub mod clients;
mod dynamodb;
mod lightsail;
pub mod pace;
pub mod s3;
mod sns;

pub use clients::{RegionalClients, sdk_config};
pub use dynamodb::DynamoStore;
pub use lightsail::LightsailSource;
pub use sns::SnsSink;

/// An error and its sources on one line, `: `-separated, each by its `Display`: the SDK's
/// own messages are terse ("dispatch failure"), the cause is in the chain. Never the
/// `Debug` dump the SDK's `DisplayErrorContext` appends. A cause that repeats its
/// error's text is left out; a message of several lines (a credential provider chain
/// listing its attempts) is joined with `; `.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = one_line(&err.to_string());
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = one_line(&cause.to_string());
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.trim().trim_end_matches(':'))
        .filter(|line| !line.is_empty())
        .collect();
    lines.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("dispatch failure")]
    struct Outer(#[source] Middle);
    #[derive(Debug, thiserror::Error)]
    #[error(
        "other: no credentials found in chain. Attempted:\n  Environment: not set\n  Profile: not enabled"
    )]
    struct Middle(#[source] Inner);
    #[derive(Debug, thiserror::Error)]
    #[error("Profile: not enabled")]
    struct Inner;

    #[test]
    fn an_error_chain_is_one_line_of_displays_without_debug_or_repeats() {
        assert_eq!(
            error_chain(&Outer(Middle(Inner))),
            "dispatch failure: other: no credentials found in chain. Attempted; Environment: not \
             set; Profile: not enabled"
        );
    }
}
