//! `explain`: per rule and region, every listed resource of the rule's type and why it
//! is selected or not (SPEC §15), from the listings alone (live, or a recording's
//! fleet): no metric is fetched. The reasons are the selection's own
//! ([`Selection::explain`](crate::domain::select::Selection::explain)), so they are
//! what a run does.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use super::{
    AwsArgs, EXIT_RUN_ERROR, Output, Source, exit_status, output, read_recording, read_rules,
};
use crate::aws::{self, LightsailSource};
use crate::domain::catalog::ResourceType;
use crate::domain::select::{Explanation, Verdict};
use crate::rules::{Rule, RuleSet};
use crate::run::{self, Listings};
use crate::settings::{InputError, RulesFile, Settings};

#[derive(Debug, clap::Args)]
pub(super) struct ExplainArgs {
    /// The rules document (YAML or JSON): a file or s3://BUCKET/KEY; else
    /// ALERT_RULES_FILE, else ALERT_RULES.
    #[arg(long, value_name = "FILE")]
    rules: Option<RulesFile>,
    /// Take the fleet from a recording (its `resources`) instead of listing it in
    /// Lightsail.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Explain only the rule of this name.
    #[arg(long, value_name = "NAME")]
    rule: Option<String>,
    /// `text` for people; `json` for scripts.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    #[command(flatten)]
    aws: AwsArgs,
}

/// What `--output json` prints.
#[derive(Debug, Serialize)]
struct Explanations<'a> {
    explanations: &'a [Explained],
}

/// One rule in one region, as `--output json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Explained {
    rule: String,
    resource_type: ResourceType,
    region: String,
    /// What a run selects, in its order.
    selected: Vec<String>,
    /// Every listed resource, by name.
    resources: Vec<Listed>,
    /// Names in `resources` that the listing does not have: ERROR results in a run.
    missing: Vec<String>,
    warnings: Vec<String>,
    /// Why the region could not be listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed {
    name: String,
    state: String,
    selected: bool,
    why: String,
}

pub(super) async fn explain(args: ExplainArgs) -> Result<ExitCode, InputError> {
    let mut settings = Settings::from_env()?;
    let chosen = args.aws.chosen();
    settings.fallbacks.region = chosen.region_or(settings.fallbacks.region.take()).await;
    let (rules, config) = read_rules(&settings, args.rules.as_ref(), &chosen).await?;
    let chosen_rules = chosen_rules(&rules, args.rule.as_deref())?;
    let source = match &args.replay {
        Some(path) => Source::Replay(read_recording(path)?),
        None => {
            let config = match config {
                Some(config) => config,
                None => aws::clients::sdk_config_for(settings.retries, &chosen).await,
            };
            // As `check` does: said once, before any call.
            if let Some(refused) = super::credentials_refused(&config, &chosen).await {
                return Ok(refused);
            }
            Source::Lightsail(Box::new(LightsailSource::new(config)))
        }
    };
    // Every region of every rule is listed, names-only rules too: the point is to see
    // the fleet beside the selection.
    let needed: BTreeSet<(ResourceType, &str)> = chosen_rules
        .iter()
        .flat_map(|rule| {
            rule.regions
                .iter()
                .map(|region| (rule.resource_type, region.as_str()))
        })
        .collect();
    let listings = run::list_all(&source, needed, settings.max_concurrency, None).await;
    let explained: Vec<Explained> = chosen_rules
        .iter()
        .flat_map(|rule| {
            rule.regions
                .iter()
                .map(|region| explained(rule, region, &listings))
        })
        .collect();
    let failed = explained.iter().any(|e| e.error.is_some());
    let text = match args.output {
        Output::Json => serde_json::to_string_pretty(&Explanations {
            explanations: &explained,
        })
        .map(|json| json + "\n")
        .map_err(|e| InputError::Other(e.to_string()))?,
        Output::Text => render(&explained),
    };
    let written = output::stdout(&text);
    let status = if failed {
        output::stderr("error: some regions could not be listed (see above)");
        ExitCode::from(EXIT_RUN_ERROR)
    } else {
        ExitCode::SUCCESS
    };
    Ok(exit_status(status, written))
}

/// The rules to explain: all, or the one `--rule` names.
fn chosen_rules<'r>(rules: &'r RuleSet, name: Option<&str>) -> Result<Vec<&'r Rule>, InputError> {
    let Some(name) = name else {
        return Ok(rules.rules.iter().collect());
    };
    match rules.rules.iter().find(|rule| rule.name.as_str() == name) {
        Some(rule) => Ok(vec![rule]),
        None => {
            let names: Vec<&str> = rules.rules.iter().map(|r| r.name.as_str()).collect();
            Err(InputError::Other(format!(
                "--rule {name}: the rules have no rule of that name; they are: {}",
                names.join(", ")
            )))
        }
    }
}

fn explained(rule: &Rule, region: &str, listings: &Listings) -> Explained {
    let mut explained = Explained {
        rule: rule.name.to_string(),
        resource_type: rule.resource_type,
        region: region.to_owned(),
        selected: Vec::new(),
        resources: Vec::new(),
        missing: Vec::new(),
        warnings: Vec::new(),
        error: None,
    };
    let listing = match listings.get(&(rule.resource_type, region.to_owned())) {
        Some(Ok(listing)) => listing,
        Some(Err(err)) => {
            explained.error = Some(err.to_string());
            return explained;
        }
        // Every (type, region) was listed.
        None => return explained,
    };
    let explanation: Explanation<'_> =
        rule.selection
            .explain(rule.resource_type, region, listing.as_slice());
    let selected = explanation.selected();
    explained.selected = selected.resources;
    explained.missing = selected.missing;
    explained.warnings = selected.warnings;
    explained.resources = explanation
        .resources
        .iter()
        .map(|e| Listed {
            name: e.resource.name.clone(),
            state: e.resource.state.clone(),
            selected: matches!(e.verdict, Verdict::Selected { .. }),
            why: e.verdict.to_string(),
        })
        .collect();
    explained
}

/// Widest name column before names are left to overflow it.
const NAME_WIDTH: usize = 40;

fn render(explained: &[Explained]) -> String {
    let mut out = String::new();
    for (i, one) in explained.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out);
        }
        let noun = one.resource_type.noun();
        let operation = one.resource_type.listing_operation();
        let _ = match &one.error {
            Some(_) => writeln!(out, "{} in {}:", one.rule, one.region),
            None => writeln!(
                out,
                "{} in {}: {} of {} {noun}(s) selected",
                one.rule,
                one.region,
                one.selected.len(),
                one.resources.len()
            ),
        };
        let width = one
            .resources
            .iter()
            .map(|r| r.name.chars().count())
            .chain(one.missing.iter().map(|m| m.chars().count()))
            .max()
            .unwrap_or(0)
            .min(NAME_WIDTH);
        for resource in &one.resources {
            let _ = writeln!(out, "  {:width$}  {}", resource.name, resource.why);
        }
        for name in &one.missing {
            let _ = writeln!(
                out,
                "  {name:width$}  not listed: {operation} in {} has no {noun} of that name (an \
                 ERROR result in a run)",
                one.region
            );
        }
        for warning in &one.warnings {
            let _ = writeln!(out, "  warning: {warning}");
        }
        if let Some(error) = &one.error {
            let _ = writeln!(out, "  error: {error}");
        }
    }
    out
}
