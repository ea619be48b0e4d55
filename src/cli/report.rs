//! `helpdesk-slo report`: write a month's markdown report from the store.

use std::path::PathBuf;

use clap::Args;

use super::Failure;
use crate::report::{write_month, Month, ReportError, ReportOptions};

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The config file (YAML) the daemon runs with.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The store the daemon writes (`run --store`): a file path or
    /// sqlite:PATH [default: the config's `store:`, else
    /// helpdesk-slo.sqlite].
    #[arg(long, value_name = "STORE")]
    store: Option<String>,
    /// The month to report on; default: the last full month in the config's
    /// `reports.timezone` (UTC if not set).
    #[arg(long, value_name = "YYYY-MM")]
    month: Option<Month>,
    /// Only this plan.
    #[arg(long, value_name = "PLAN")]
    plan: Option<String>,
    /// Only this customer: an organization id or name.
    #[arg(long, value_name = "ORG")]
    customer: Option<String>,
    /// The folder to write into; default: the config's `reports.out`, else
    /// the current folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A source of the store to read (repeatable); default: the config's
    /// `sources:`.
    #[arg(long = "source", value_name = "NAME")]
    sources: Vec<String>,
    /// Print the report instead of writing a file.
    #[arg(long)]
    stdout: bool,
}

pub(crate) fn run(args: ReportArgs) -> Result<(), Failure> {
    let config = super::load(&args.config)?;
    let options = ReportOptions {
        plan: args.plan,
        customer: args.customer,
        out: args.out,
        sources: args.sources,
        ..ReportOptions::default()
    };
    if let Some(p) = &options.plan {
        if config.policy.plan_id(p).is_none() {
            return Err(Failure::Usage(
                ReportError::UnknownPlan {
                    plan: p.clone(),
                    known: config.policy.plans.iter().map(|p| p.name.clone()).collect(),
                }
                .to_string(),
            ));
        }
    }
    let month = match args.month {
        Some(m) => m,
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            Month::last_full(now, options.timezone(&config)).ok_or_else(|| {
                Failure::Usage(
                    "cannot tell the last full month from the system clock; give --month YYYY-MM"
                        .to_string(),
                )
            })?
        }
    };
    let store = super::open_store_to_read(crate::store::location(args.store.as_deref(), &config))?;
    let fail = |e: ReportError| match e {
        ReportError::Store(_) | ReportError::Io { .. } => Failure::Runtime(e.to_string()),
        _ => Failure::Usage(e.to_string()),
    };
    if args.stdout {
        let text = crate::report::month_report(&*store, &config, month, &options).map_err(fail)?;
        print!("{text}");
    } else {
        let path = write_month(&*store, &config, month, &options).map_err(fail)?;
        println!("{}", path.display());
    }
    Ok(())
}
