//! `helpdesk-slo rules`: write the Prometheus rule file of a config (or the
//! exporter's health rules) and its `promtool test rules` file.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{load, Failure};
use crate::alerts::{config_rules, exporter_rules, parse_duration, Generated, Options};

#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    /// The config file (YAML) whose plans, severities and objectives the
    /// rules are for.
    #[arg(long, value_name = "FILE", required_unless_present = "exporter")]
    config: Option<PathBuf>,
    /// Write the exporter's health rules (exporter.rules.yaml) instead; they
    /// depend on no config.
    #[arg(long, conflicts_with = "config")]
    exporter: bool,
    /// The folder to write NAME.rules.yaml into (and tests/NAME.test.yaml).
    #[arg(long, value_name = "DIR", default_value = "alerts")]
    out: PathBuf,
    /// The runbooks, for each alert's runbook_url: a path in the repository
    /// or an absolute URL of docs/runbooks.md.
    #[arg(long, value_name = "URL", default_value = "docs/runbooks.md")]
    runbook_url: String,
    /// Grafana's base URL, for each alert's dashboard_url.
    #[arg(long, value_name = "URL", default_value = "http://localhost:3000")]
    grafana_url: String,
    /// Where people reach the daemon (its --web.external-url, e.g.
    /// https://slo.example.com): the alerts' links to its API start with
    /// it [default: http:// and the scraped instance's address].
    #[arg(long = "web.external-url", value_name = "URL")]
    web_external_url: Option<crate::server::ExternalUrl>,
    /// Fewest decided clocks in a burn-rate alert's long window (so one late
    /// ticket among few does not page).
    #[arg(long, value_name = "N", default_value_t = 10)]
    min_clocks: u32,
    /// The Prometheus job that scrapes the daemon (exporter rules).
    #[arg(long, value_name = "NAME", default_value = "helpdesk-slo")]
    job: String,
    /// How long a source may go without a completed poll (exporter rules);
    /// ten poll intervals is a good value.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    stale_after: String,
}

pub(crate) fn run(args: RulesArgs) -> Result<(), Failure> {
    let opts = Options {
        runbook_url: args.runbook_url.trim_end_matches('/').to_string(),
        grafana_url: args.grafana_url.trim_end_matches('/').to_string(),
        min_clocks: args.min_clocks,
        job: args.job,
        stale_after: parse_duration(&args.stale_after)
            .map_err(|e| Failure::Usage(format!("--stale-after: {e}")))?,
        external_url: args.web_external_url.map(|u| u.to_string()),
    };
    let (name, generated) = match &args.config {
        Some(path) => {
            let config = load(path)?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .ok_or_else(|| Failure::Usage(format!("{}: not a file", path.display())))?;
            let generated = config_rules(&config, &name, &opts).map_err(Failure::Usage)?;
            (name, generated)
        }
        None => ("exporter".to_string(), exporter_rules(&opts)),
    };
    write(&args.out, &name, &generated)
}

fn write(out: &Path, name: &str, g: &Generated) -> Result<(), Failure> {
    let tests_dir = out.join("tests");
    std::fs::create_dir_all(&tests_dir)
        .map_err(|e| Failure::Runtime(format!("cannot create {}: {e}", tests_dir.display())))?;
    for (path, text) in [
        (out.join(format!("{name}.rules.yaml")), &g.rules),
        (tests_dir.join(format!("{name}.test.yaml")), &g.tests),
    ] {
        std::fs::write(&path, text)
            .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", path.display())))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
