//! `helpdesk-slo run`: the daemon, with logs and signals.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tokio::sync::watch;
use tracing::{info, warn};

use super::Failure;
use crate::daemon::{run, Options};

/// Where the daemon serves by default: loopback, so nothing is exposed
/// until the operator says so.
pub(crate) const DEFAULT_LISTEN: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9887);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The config file (YAML) with calendars, the policy and `sources:`.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Where the daemon keeps its state, created if missing: a file path or
    /// sqlite:PATH [default: the config's `store:`, else
    /// helpdesk-slo.sqlite].
    #[arg(long, value_name = "STORE")]
    store: Option<String>,
    /// Poll every source until caught up once, then exit (a backfill).
    #[arg(long)]
    once: bool,
    /// Serve /metrics, /-/ready, /-/reload and the JSON API on this address
    /// [default: 127.0.0.1:9887; none with --once].
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// TLS and basic auth for the HTTP endpoints, in Prometheus' web config
    /// file format (tls_server_config, basic_auth_users).
    #[arg(long = "web.config.file", value_name = "FILE")]
    web_config_file: Option<PathBuf>,
    /// Allow POST /-/reload over HTTP (as Prometheus' flag); without it the
    /// endpoint answers 403 and SIGHUP reloads the config.
    #[arg(long = "web.enable-lifecycle")]
    web_enable_lifecycle: bool,
    /// The URL users reach the daemon at (behind a proxy or ingress, e.g.
    /// https://slo.example.com): links the API hands out start with it.
    #[arg(long = "web.external-url", value_name = "URL")]
    web_external_url: Option<crate::server::ExternalUrl>,
    /// The most HTTP connections served at once; more wait until one closes.
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    web_max_connections: u32,
    /// Folder of monthly reports to serve at /api/v1/reports.
    #[arg(long, value_name = "DIR")]
    reports_dir: Option<PathBuf>,
    /// This instance's name among the daemons sharing a PostgreSQL store
    /// (leases, `helpdesk_slo_source_owner`); unique per instance
    /// [default: the host name and the process id].
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
    /// On a shared (PostgreSQL) store, how long a source's lease lasts
    /// without renewal: a standby takes a dead instance's sources over
    /// within about 1.2 times this (90s, 1m, ...; 3s to 10m).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_lease)]
    lease_duration: std::time::Duration,
    /// Log lines for people (text) or for log pipelines (json).
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// A lease duration: a duration between 3 s and 10 min.
fn parse_lease(text: &str) -> Result<std::time::Duration, String> {
    let secs = crate::alerts::parse_duration(text)?;
    if !(3..=600).contains(&secs) {
        return Err(format!(
            "a lease of {secs} s is out of range; write one from 3s to 10m"
        ));
    }
    Ok(std::time::Duration::from_secs(u64::from(secs)))
}

/// Installs the log subscriber: `RUST_LOG` filters (default `info`).
pub(crate) fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second init (tests) is harmless: keep the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub(crate) fn run_daemon(args: RunArgs) -> Result<(), Failure> {
    init_logs(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_stop().await;
            info!("shutting down: finishing the page in flight");
            let _ = tx.send(true);
        });
        let opts = Options {
            config: args.config,
            store: args.store,
            once: args.once,
            listen: args.listen.or(if args.once {
                None
            } else {
                Some(DEFAULT_LISTEN)
            }),
            reports_dir: args.reports_dir,
            web_config: args.web_config_file,
            early_recompute_at_normal_priority: false,
            instance: args.instance,
            lease: Some(args.lease_duration),
            enable_lifecycle: args.web_enable_lifecycle,
            external_url: args.web_external_url,
            http_limits: crate::server::Limits {
                max_connections: args.web_max_connections as usize,
                ..crate::server::Limits::default()
            },
        };
        let summary = run(opts, rx).await?;
        for (name, s) in &summary.sources {
            info!(source = %name, pages = s.pages, records = s.records, tickets_recomputed = s.recomputed, tickets_reconciled = s.reconciled, retries = s.retries, "done");
        }
        Ok(())
    })
}

/// SIGTERM or SIGINT (Ctrl-C).
pub(crate) async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                warn!("cannot listen for signals; stop with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
