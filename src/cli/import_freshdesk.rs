//! `helpdesk-slo import-freshdesk-policies`: reads a Freshdesk account's SLA
//! policies and business hours (with holidays) and prints the equivalent
//! config YAML, commented where Freshdesk and helpdesk-slo differ. The
//! conversion is in [`crate::import::freshdesk`].

use std::path::PathBuf;

use clap::Args;

use super::Failure;
use crate::import::freshdesk::{import, ImportError, ImportOptions};

/// The variable the API key is read from when neither --api-key-env nor
/// --api-key-file is given.
const DEFAULT_KEY_ENV: &str = "FRESHDESK_API_KEY";

#[derive(Debug, Args)]
pub(crate) struct ImportFreshdeskArgs {
    /// The Freshdesk account: https://acme.freshdesk.com (or acme.freshdesk.com, or acme).
    #[arg(long, value_name = "URL")]
    url: String,
    /// The environment variable that holds an admin's API key [default: FRESHDESK_API_KEY].
    #[arg(long, value_name = "VARIABLE", conflicts_with = "api_key_file")]
    api_key_env: Option<String>,
    /// A file that holds the API key (trailing whitespace ignored).
    #[arg(long, value_name = "FILE")]
    api_key_file: Option<PathBuf>,
    /// Write the config here instead of to stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: ImportFreshdeskArgs) -> Result<(), Failure> {
    let api_key = super::import::secret(args.api_key_env, args.api_key_file, DEFAULT_KEY_ENV);
    let options = ImportOptions {
        url: args.url,
        api_key,
    };
    let runtime = super::import::runtime()?;
    let imported = runtime.block_on(import(&options)).map_err(|e| match e {
        ImportError::Setup(m) => Failure::Usage(m),
        other => Failure::Runtime(other.to_string()),
    })?;
    super::import::write_config(args.out.as_deref(), &imported.yaml)?;
    eprintln!(
        "imported {} SLA policies and {} business hours ({} holiday dates){}; {} approximation(s) marked APPROXIMATION in the comments",
        imported.policies,
        imported.calendars,
        imported.holidays,
        args.out.as_ref().map_or_else(String::new, |p| format!(" into {}", p.display())),
        imported.approximations
    );
    Ok(())
}
