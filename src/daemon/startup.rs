//! The daemon's start: reads the config, opens the store, serves the last
//! stored state before the first poll, then starts the server, the timers,
//! the reload listener and one poll loop per source.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, info_span, Instrument};

use super::counting::load_live;
use super::health::{update_stored_counts, with_health};
use super::lease::{
    default_instance, take_at_start, LeaseSettings, Leased, RenewWhileStarting, DEFAULT_LEASE,
};
use super::poll::{supervise, PollSettings, RESTART_FIRST};
use super::recompute::Recompute;
use super::reload::{read_config, serve_reloads};
use super::store_access::{self, blocking};
use super::timers::{refresher, report_schedule};
use super::{DaemonError, Options, Started, Summary};
use crate::clock::now_unix;
use crate::policy::spec::SourceSpec;
use crate::sources::APPROXIMATED_HISTORY;
use crate::state::{DaemonState, ReloadRequest};

/// See [`super::run_with`].
pub(super) async fn run_with(
    opts: Options,
    shutdown: watch::Receiver<bool>,
    started: Option<oneshot::Sender<Started>>,
) -> Result<Summary, DaemonError> {
    let (config, text) = read_config(&opts.config)?;
    let config = Arc::new(config);
    let store = store_access::open(crate::store::location(opts.store.as_deref(), &config))?;
    let location = store
        .lock()
        .map_err(|_| DaemonError::Poisoned("store"))?
        .location();
    info!(config = %opts.config.display(), hash = %config.hash, store = %location, sources = config.sources.len(), "starting");

    let (reload_tx, reload_rx) = mpsc::channel::<ReloadRequest>(4);
    // Reports are served from --reports-dir, else the config's
    // `reports.out`.
    let reports_dir = opts
        .reports_dir
        .clone()
        .or_else(|| config.reports.as_ref().and_then(|r| r.out.clone()));
    let state = Arc::new(DaemonState::new(
        config.clone(),
        text,
        &opts.config,
        reload_tx,
        reports_dir,
    ));
    if let Ok(mut h) = state.health.lock() {
        h.config_ok = true;
        h.config_loaded_at = now_unix();
        for name in config.sources.keys() {
            h.sources.entry(name.clone()).or_default();
        }
    }
    // A store several daemons can share: every source under a lease.
    let leases = blocking(&store, |s| Ok(s.leases()?)).await?;
    let leases = leases.map(|l| {
        let settings = LeaseSettings {
            instance: opts.instance.clone().unwrap_or_else(default_instance),
            duration: opts.lease.unwrap_or(DEFAULT_LEASE),
        };
        (Arc::new(std::sync::Mutex::new(l)), settings)
    });
    // Under leases, the sources whose lease is free now are this
    // instance's from the start; nothing is written for the others.
    let mut taken = Vec::new();
    if let Some((shared, lease)) = &leases {
        info!(instance = %lease.instance, lease_s = lease.duration.as_secs_f64(), "the store is shared: each source is polled under a lease");
        if let Ok(mut h) = state.health.lock() {
            h.instance = Some(lease.instance.clone());
            for source in h.sources.values_mut() {
                source.owner = Some(false);
            }
        }
        let names: Vec<String> = config.sources.keys().cloned().collect();
        taken = take_at_start(&store, shared, lease, &state, names).await?;
    }
    let mut background = Vec::new();
    let bound = serve(&opts, &state, &shutdown, &mut background).await?;

    // The last state at once: stored clocks go into the exposition before
    // anything is polled or recomputed (under leases, a source's when its
    // lease is taken).
    let served: Vec<String> = match leases {
        Some(_) => taken.iter().map(|(n, _)| n.clone()).collect(),
        None => config.sources.keys().cloned().collect(),
    };
    let renewing = leases
        .as_ref()
        .map(|(shared, lease)| RenewWhileStarting::start(shared, lease, &taken));
    let loaded = load_live(&store, &config, served).await?;
    if let Ok(mut live) = state.live.lock() {
        *live = loaded;
    }
    update_stored_counts(&state);
    let names: Vec<String> = config.sources.keys().cloned().collect();
    let approximated = blocking(&store, move |s| {
        names
            .into_iter()
            .map(|n| {
                let count = s.count_notes(&n, APPROXIMATED_HISTORY)?;
                Ok((n, count))
            })
            .collect::<Result<Vec<_>, DaemonError>>()
    })
    .await?;
    for (name, count) in approximated {
        with_health(&state, &name, |h| h.approximated_tickets = count);
    }
    state.refresh(now_unix());
    state.set_ready();
    if let Some(tx) = started {
        let _ = tx.send((bound, state.clone()));
    }

    background.push(tokio::spawn(refresher(state.clone(), shutdown.clone())));
    background.push(tokio::spawn(serve_reloads(
        state.clone(),
        store.clone(),
        reload_rx,
        shutdown.clone(),
    )));
    if !opts.once {
        background.push(tokio::spawn(report_schedule(
            state.clone(),
            store.clone(),
            leases.as_ref().map(|(_, l)| l.instance.clone()),
            shutdown.clone(),
        )));
    }

    let mut tasks = Vec::new();
    for (name, spec) in &config.sources {
        let source = crate::sources::build(name, spec).map_err(DaemonError::BuildSource)?;
        // Every line a source's tasks log carries its name.
        let span = info_span!("source", source = %name);
        let settings = poll_settings(spec, &opts);
        if let Some((shared, lease)) = &leases {
            let (name2, spec2) = (name.clone(), spec.clone());
            let first = std::sync::Mutex::new(Some(source));
            let build = move || {
                if let Some(s) = first.lock().ok().and_then(|mut f| f.take()) {
                    return Ok(s);
                }
                crate::sources::build(&name2, &spec2).map_err(DaemonError::BuildSource)
            };
            let leased = Leased {
                name: name.clone(),
                build: Arc::new(build),
                store: store.clone(),
                state: state.clone(),
                settings,
                leases: shared.clone(),
                lease: lease.clone(),
                taken: taken
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, f)| f.clone()),
            };
            tasks.push(tokio::spawn(leased.run(shutdown.clone()).instrument(span)));
            continue;
        }
        // Clocks lost to a crash, or computed under another config, first.
        let (_, turn) = state.config_and_turn();
        let recompute = Recompute {
            store: &store,
            live: &state.live,
            source: name,
            config: &config,
            turn: &turn,
        };
        async {
            recompute.stale(&[]).await?;
            recompute.computed_under_other_config().await
        }
        .instrument(span.clone())
        .await?;
        // The first adapter was built above, so a bad source fails the
        // start; a restart builds a fresh one.
        let first = std::sync::Mutex::new(Some(source));
        let (name2, spec2) = (name.clone(), spec.clone());
        let build = move || {
            if let Some(s) = first.lock().ok().and_then(|mut f| f.take()) {
                return Ok(s);
            }
            crate::sources::build(&name2, &spec2).map_err(DaemonError::BuildSource)
        };
        tasks.push(tokio::spawn(
            supervise(
                name.clone(),
                build,
                store.clone(),
                state.clone(),
                settings,
                shutdown.clone(),
            )
            .instrument(span),
        ));
    }
    // The sources' own loops renew their leases from here on.
    drop(renewing);
    state.dirty.notify_one();
    let mut summary = Summary::default();
    let mut failed = None;
    for t in tasks {
        match t.await.map_err(DaemonError::task("a poll loop")) {
            Ok(Ok((name, s))) => {
                summary.sources.insert(name, s);
            }
            Ok(Err(e)) | Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    if opts.once {
        // A backfill ends when its sources are caught up; a server it
        // started ends with it.
        for b in &background {
            b.abort();
        }
    } else {
        // Serve until shutdown even if no source is configured.
        let mut sd = shutdown.clone();
        while !*sd.borrow() {
            if sd.changed().await.is_err() {
                break;
            }
        }
    }
    for b in background {
        let _ = b.await;
    }
    if let Some(e) = failed {
        return Err(e);
    }
    state.refresh(now_unix());
    info!("stopped");
    Ok(summary)
}

/// How a source is polled, from its config and the run's options.
fn poll_settings(spec: &SourceSpec, opts: &Options) -> PollSettings {
    PollSettings {
        interval: spec.poll_interval.map_or(Duration::from_secs(60), |d| {
            Duration::from_secs(d.seconds_with_day(86_400).max(1) as u64)
        }),
        min_gap: spec
            .requests_per_minute
            .filter(|&r| r > 0)
            .map_or(Duration::ZERO, |r| {
                Duration::from_secs_f64(60.0 / f64::from(r))
            }),
        once: opts.once,
        early_on_idle_cpu: !opts.early_recompute_at_normal_priority,
        restart_after: RESTART_FIRST,
    }
}

/// Starts the HTTP server when the options say where; returns the address
/// it is bound to.
async fn serve(
    opts: &Options,
    state: &Arc<DaemonState>,
    shutdown: &watch::Receiver<bool>,
    background: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<Option<std::net::SocketAddr>, DaemonError> {
    let web = opts
        .web_config
        .as_deref()
        .map(crate::server::WebConfig::load)
        .transpose()
        .map_err(DaemonError::WebConfig)?;
    let Some(addr) = opts.listen else {
        return Ok(None);
    };
    let (listener, bound) = crate::server::bind(addr)
        .await
        .map_err(|source| DaemonError::Listen { addr, source })?;
    if let Some(w) = &web {
        info!(
            tls = w.tls.is_some(),
            basic_auth = w.requires_auth(),
            "web config loaded"
        );
    }
    info!(
        addr = %bound,
        lifecycle = opts.enable_lifecycle,
        external_url = opts.external_url.as_ref().map(|u| u.as_str()),
        max_connections = opts.http_limits.max_connections,
        "serving /metrics, /api/v1/clocks, /-/ready{}",
        if opts.enable_lifecycle { ", /-/reload" } else { "" }
    );
    let options = crate::server::ServeOptions {
        web,
        enable_lifecycle: opts.enable_lifecycle,
        external_url: opts.external_url.clone(),
        limits: opts.http_limits,
    };
    background.push(tokio::spawn(crate::server::serve_with(
        listener,
        state.clone(),
        options,
        shutdown.clone(),
    )));
    Ok(Some(bound))
}
