//! `helpdesk-slo import-zendesk-policies`: reads a Zendesk account's SLA
//! policies, schedules and holidays through the Zendesk API ("List SLA
//! Policies", "List Schedules", "List Holidays for a Schedule") and prints
//! the equivalent config YAML, commented where Zendesk and helpdesk-slo
//! differ. The conversion is in [`crate::import::zendesk`].

use std::path::PathBuf;

use clap::Args;

use super::Failure;
use crate::import::zendesk::{import, ImportError, ImportOptions};
use crate::policy::spec::SecretSpec;

/// The variable the token is read from when neither --token-env nor
/// --token-file is given.
pub(crate) const DEFAULT_TOKEN_ENV: &str = "ZENDESK_API_TOKEN";

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The Zendesk account: https://acme.zendesk.com (or acme.zendesk.com, or acme).
    #[arg(long, value_name = "URL")]
    url: String,
    /// The agent (an admin) whose API token this is; leave it out when the
    /// token is an OAuth access token.
    #[arg(long, value_name = "EMAIL")]
    email: Option<String>,
    /// The environment variable that holds the token [default: ZENDESK_API_TOKEN].
    #[arg(long, value_name = "VARIABLE", conflicts_with = "token_file")]
    token_env: Option<String>,
    /// A file that holds the token (trailing whitespace ignored).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// The schedule (id or name) plans run on when their policy names none
    /// [default: the first schedule, Zendesk's account default].
    #[arg(long, value_name = "ID|NAME")]
    default_schedule: Option<String>,
    /// Write the config here instead of to stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: ImportArgs) -> Result<(), Failure> {
    let token = secret(args.token_env, args.token_file, DEFAULT_TOKEN_ENV);
    let options = ImportOptions {
        url: args.url,
        email: args.email,
        token,
        default_schedule: args.default_schedule,
    };
    let runtime = runtime()?;
    let imported = runtime.block_on(import(&options)).map_err(|e| match e {
        ImportError::Setup(m) => Failure::Usage(m),
        other => Failure::Runtime(other.to_string()),
    })?;
    write_config(args.out.as_deref(), &imported.yaml)?;
    eprintln!(
        "imported {} SLA policies and {} schedules ({} holiday dates){}; {} approximation(s) marked APPROXIMATION in the comments",
        imported.policies,
        imported.schedules,
        imported.holidays,
        args.out
            .as_ref()
            .map_or_else(String::new, |p| format!(" into {}", p.display())),
        imported.approximations
    );
    Ok(())
}

/// The secret an importer reads: the file when given, else the variable
/// (`default_env` when none is named).
pub(super) fn secret(env: Option<String>, file: Option<PathBuf>, default_env: &str) -> SecretSpec {
    match (env, file) {
        (_, Some(file)) => SecretSpec {
            env: None,
            file: Some(file),
        },
        (env, None) => SecretSpec {
            env: Some(env.unwrap_or_else(|| default_env.to_string())),
            file: None,
        },
    }
}

/// The single-threaded runtime an importer's requests run on.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the runtime: {e}")))
}

/// Writes an imported config to `out`, or to stdout.
pub(super) fn write_config(out: Option<&std::path::Path>, yaml: &str) -> Result<(), Failure> {
    match out {
        Some(path) => std::fs::write(path, yaml)
            .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", path.display()))),
        None => {
            print!("{yaml}");
            Ok(())
        }
    }
}
