//! `helpdesk-slo simulate`: serve a synthetic Zendesk (or, with `--kind
//! freshdesk`, a synthetic Freshdesk; with `--kind jsm`, a synthetic Jira
//! Service Management site) until interrupted.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::{load, Failure};
use crate::simulator::generator::{generate, GeneratorOptions};
use crate::simulator::zendesk::{serve, ServerOptions, SimState, DEMO_TOKEN, TOKEN_ENV};

/// Which helpdesk to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SimKind {
    Zendesk,
    Freshdesk,
    /// Jira Service Management (Cloud).
    #[value(alias = "jira-service-management")]
    Jsm,
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// The helpdesk to emulate.
    #[arg(long, value_enum, default_value_t = SimKind::Zendesk)]
    kind: SimKind,
    /// The config file (YAML): its plans, severities and calendars shape the data.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8089")]
    listen: SocketAddr,
    /// Seed of the synthetic dataset (the same seed gives the same data).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Days of history, ending now.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Average tickets created per day.
    #[arg(long, default_value_t = 40)]
    tickets_per_day: u32,
    /// Number of customer organizations.
    #[arg(long, default_value_t = 40)]
    organizations: usize,
    /// The API token (Freshdesk: API key) clients must send (default: $HELPDESK_SLO_SIM_TOKEN,
    /// else a fixed demo token).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
}

pub(crate) fn run(args: SimulateArgs) -> Result<(), Failure> {
    let config = load(&args.config)?;
    let (token, source) = match (args.token.clone(), std::env::var(TOKEN_ENV).ok()) {
        (Some(t), _) => (t, "from --token".to_string()),
        (None, Some(t)) if !t.is_empty() => (t, format!("from ${TOKEN_ENV}")),
        _ => (
            DEMO_TOKEN.to_string(),
            format!("the demo token {DEMO_TOKEN} (set --token or ${TOKEN_ENV})"),
        ),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Failure::Runtime(format!("system clock: {e}")))?
        .as_secs() as i64;
    if args.kind == SimKind::Freshdesk {
        return freshdesk(&args, token, &source, now);
    }
    if args.kind == SimKind::Jsm {
        return jsm(&args, token, &source, now);
    }
    let options = GeneratorOptions {
        seed: args.seed,
        organizations: args.organizations,
        days: args.days,
        tickets_per_day: args.tickets_per_day,
        start: (now - i64::from(args.days) * 86_400) / 86_400 * 86_400,
        now: Some(now - 60),
        ..GeneratorOptions::default()
    };
    let dataset = generate(&config, &options);
    let summary = dataset.summary();
    let state = SimState::new(
        &config,
        dataset,
        ServerOptions {
            token,
            ..ServerOptions::default()
        },
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Failure::Runtime(format!("cannot listen on {}: {e}", args.listen)))?;
        let server = serve(listener, state)
            .await
            .map_err(|e| Failure::Runtime(format!("cannot serve: {e}")))?;
        println!("Zendesk simulator at {}", server.base_url());
        println!("token: {source}");
        println!(
            "{} organizations, {} users, {} tickets ({} audits); Ctrl-C stops",
            summary.organizations,
            summary.agents + summary.end_users,
            summary.tickets,
            summary.audits
        );
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        Ok(())
    })
}

/// Serves a synthetic Freshdesk account (its API key is the token).
fn freshdesk(args: &SimulateArgs, api_key: String, source: &str, now: i64) -> Result<(), Failure> {
    use crate::simulator::freshdesk::{
        serve as serve_fd, synthetic, FdState, ServerOptions as FdOptions,
    };
    let span = i64::from(args.days) * 86_400;
    let account = synthetic::account(&synthetic::Options {
        seed: args.seed,
        tickets: (u64::from(args.days) * u64::from(args.tickets_per_day)) as usize,
        start: now - span,
        span,
        now: now - 60,
        late_reply_rate: None,
        sla: None,
    });
    let tickets = account.tickets.len();
    let state = FdState::new(
        account,
        FdOptions {
            api_key,
            ..FdOptions::default()
        },
    );
    let listen = args.listen;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Failure::Runtime(format!("cannot listen on {listen}: {e}")))?;
        let server = serve_fd(listener, state)
            .await
            .map_err(|e| Failure::Runtime(format!("cannot serve: {e}")))?;
        println!("Freshdesk simulator at {}", server.base_url());
        println!("export files at {}", server.files_url());
        println!("API key: {source}");
        println!("{tickets} tickets; Ctrl-C stops");
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        Ok(())
    })
}

/// Serves a synthetic JSM site (project `SUP`; Basic auth with the demo
/// email and the token).
fn jsm(args: &SimulateArgs, token: String, source: &str, now: i64) -> Result<(), Failure> {
    use crate::simulator::jsm::{
        serve as serve_jsm, synthetic, JsmState, ServerOptions, DEMO_EMAIL,
    };
    let span = i64::from(args.days) * 86_400;
    let timezone = chrono_tz::America::Los_Angeles;
    let site = synthetic::site(&synthetic::Options {
        seed: args.seed,
        issues: (u64::from(args.days) * u64::from(args.tickets_per_day)) as usize,
        start: now - span,
        span,
        now: now - 60,
        project: "SUP".into(),
        timezone,
        late_reply_rate: None,
    });
    let issues = site.issues.len();
    let state = JsmState::new(
        site,
        ServerOptions {
            token,
            user_timezone: timezone,
            ..ServerOptions::default()
        },
    );
    let listen = args.listen;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Failure::Runtime(format!("cannot listen on {listen}: {e}")))?;
        let server = serve_jsm(listener, state)
            .await
            .map_err(|e| Failure::Runtime(format!("cannot serve: {e}")))?;
        println!("Jira Service Management simulator at {}", server.base_url());
        println!("project SUP, API user {DEMO_EMAIL} (time zone America/Los_Angeles)");
        println!("API token: {source}");
        println!("{issues} requests; Ctrl-C stops");
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        Ok(())
    })
}
