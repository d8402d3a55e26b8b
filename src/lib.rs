//! lightsail-alerts: threshold rules over Lightsail instance metrics, evaluated with
//! CloudWatch alarm semantics and published to SNS. Data flows one way:
//! rules -> queries -> datapoints -> results -> alerts -> report.

pub mod catalog;
pub mod cli;
pub mod evaluate;
pub mod fetch;
pub mod format;
pub mod lambda;
pub mod notify;
pub mod replay;
pub mod rules;
pub mod run;
pub mod s3_rules;
pub mod select;
pub mod settings;
pub mod state;
pub mod transition;
