//! The daemon: poll loops per source, the store, recomputation of the
//! tickets that changed.
//!
//! Guarantees:
//! * A page's records and the cursor after them are committed in one store
//!   transaction (a batch of pages with the last one's cursor), so a crash
//!   at any point resumes from the last committed cursor and loses nothing;
//!   re-reading a page stores nothing twice. The next pages are fetched
//!   while a batch commits, with at most one batch committing at a time.
//!   Streams that only meet in the store (Zendesk's tickets and their
//!   events) are read at the same time, each by a task of its own, after
//!   the reference data they refer to ([`Source::stream_groups`]); the
//!   source's request budget and its `Retry-After` hold them all.
//! * A page that fails (rate limit, 5xx, timeout, malformed JSON) is retried
//!   from the same cursor, never skipped: `Retry-After` is honoured, other
//!   failures back off exponentially with jitter up to a minute.
//! * Only tickets whose timeline changed are recomputed; their clocks are
//!   marked stale in the same transaction as the change, so clocks lost to a
//!   crash between the two are recomputed at the next start. A backfill
//!   recomputes when every stream has caught up, not after every page;
//!   meanwhile, tickets that look complete (their events reach their last
//!   update) are computed on a thread of the lowest priority, on the CPU
//!   the fetching and the store's writer leave idle. When every stream has
//!   caught up, what that thread was not handed or had not started on is
//!   computed on every core while it finishes its chunk in hand. Clocks
//!   read from a snapshot that a later commit overtook are not saved (the
//!   ticket stays stale), so computing while pages are applied loses no
//!   change.
//! * Shutdown (SIGTERM/SIGINT) waits for the batch being committed;
//!   pages fetched but not yet handed to the store are abandoned before
//!   their commit and fetched again at the next start. Either way nothing
//!   is lost.
//! * Secrets never reach the logs: adapters hold them, errors name paths and
//!   statuses only.
//! * The last state is served at once: on start the stored clocks are loaded
//!   into the exposition before the first poll; `/-/ready` turns 200 then.
//! * A config reload (SIGHUP, `POST /-/reload`) that fails validation is
//!   logged and answered with the error, and the running config stays; a
//!   valid one recomputes every ticket's clocks off to the side and swaps
//!   them in at once. Changes to `sources:` need a restart (logged).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info, warn};

use crate::engine::crosscheck::{disagreements, Disagreement, CROSSCHECK_GRACE};
use crate::engine::{clocks_from_views, evaluate, Clock, Ticket};
use crate::exposition::Live;
use crate::policy::spec::SourceSpec;
use crate::policy::Config;
use crate::sources::{Page, Source, SourceError};
use crate::store::{decode_clocks, encode_clocks, Applied, SqliteStore, Store};

pub use crate::state::{DaemonState, ReloadRequest};

/// How often the figures are recomputed when nothing changed: clocks cross
/// their due and calendars open and close as time passes.
const REFRESH_EVERY: Duration = Duration::from_secs(15);

/// Pages (or records) fetched before they are committed together.
const BATCH_PAGES: usize = 8;
const BATCH_RECORDS: usize = 8_000;

/// During a backfill, a batch keeps growing up to this many pages (or
/// records) while the store is still committing the previous one: fewer,
/// bigger transactions, and a ticket whose events span a batch gets one
/// chunk of events instead of several. Two such batches (one committing,
/// one filling) are roughly 40 MB each at most.
const BACKFILL_BATCH_PAGES: usize = 128;
const BACKFILL_BATCH_RECORDS: usize = 200_000;

/// Changed tickets held before a recompute mid-poll. Recomputing before
/// every stream has caught up evaluates tickets whose events have not
/// arrived yet, so this only bounds memory (ids of a million tickets are a
/// few tens of MB); the stale marks in the store cover a crash.
const RECOMPUTE_PENDING_MAX: usize = 2_000_000;

/// Consecutive failed attempts at one page after which `--once` gives up.
const ONCE_MAX_FAILURES: u32 = 12;

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub config: PathBuf,
    pub store: PathBuf,
    /// Poll every source until it is caught up once, then return (backfills,
    /// tests, benchmarks).
    pub once: bool,
    /// Serve `/metrics`, health, reload and the JSON API here.
    pub listen: Option<SocketAddr>,
    /// Where monthly reports are written (served by the JSON API).
    pub reports_dir: Option<PathBuf>,
    /// TLS and basic auth for the HTTP server, in Prometheus' web config
    /// file format.
    pub web_config: Option<PathBuf>,
    /// Run a backfill's early recompute (see [`EARLY_RECOMPUTE_MIN`]) at
    /// normal priority instead of on idle CPU only: for tests, which must
    /// see it run however busy the machine is.
    pub early_recompute_at_normal_priority: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Per source: pages committed, records stored, tickets recomputed.
    pub sources: BTreeMap<String, SourceSummary>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSummary {
    pub pages: u64,
    pub records: u64,
    pub recomputed: u64,
    /// Of those, computed during a backfill while pages were still being
    /// fetched (tickets that looked complete).
    pub recomputed_early: u64,
    pub retries: u64,
    /// For a backfill: how long from the start until every stream's
    /// records were committed to the store, before the clocks still to
    /// compute were.
    pub stored_after: Option<Duration>,
}

type SharedStore = Arc<Mutex<SqliteStore>>;

pub use crate::clock::now_unix;

/// Builds the adapter a source config names.
pub fn build_source(name: &str, spec: &SourceSpec) -> Result<Box<dyn Source>, String> {
    crate::sources::build(name, spec)
}

/// Runs the daemon until `shutdown` turns true (or, with `once`, until every
/// source is caught up).
pub async fn run(opts: Options, shutdown: watch::Receiver<bool>) -> Result<Summary, String> {
    run_with(opts, shutdown, None).await
}

/// What [`run_with`] hands out once it serves: the bound address (when
/// listening) and the shared state.
pub type Started = (Option<SocketAddr>, Arc<DaemonState>);

/// [`run`], telling `started` where it listens once the stored state is
/// loaded and served.
pub async fn run_with(
    opts: Options,
    shutdown: watch::Receiver<bool>,
    started: Option<oneshot::Sender<Started>>,
) -> Result<Summary, String> {
    // One read: the text served at /config is the text that was loaded.
    let text = std::fs::read_to_string(&opts.config)
        .map_err(|e| format!("cannot read config {}: {e}", opts.config.display()))?;
    let config =
        Arc::new(crate::sources::config_from_yaml(&text, &opts.config).map_err(|e| e.to_string())?);
    let store = SqliteStore::open(&opts.store).map_err(|e| e.to_string())?;
    let store: SharedStore = Arc::new(Mutex::new(store));
    info!(config = %opts.config.display(), hash = %config.hash, store = %opts.store.display(), sources = config.sources.len(), "starting");

    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
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
    let mut bound = None;
    let mut background = Vec::new();
    let web = opts
        .web_config
        .as_deref()
        .map(crate::server::WebConfig::load)
        .transpose()?;
    if let Some(addr) = opts.listen {
        let (listener, addr) = crate::server::bind(addr).await?;
        if let Some(w) = &web {
            info!(
                tls = w.tls.is_some(),
                basic_auth = w.requires_auth(),
                "web config loaded"
            );
        }
        info!(%addr, "serving /metrics, /api/v1/clocks, /-/ready, /-/reload");
        bound = Some(addr);
        background.push(tokio::spawn(crate::server::serve(
            listener,
            state.clone(),
            web.clone(),
            shutdown.clone(),
        )));
    }

    // The last state at once: stored clocks go into the exposition before
    // anything is polled or recomputed.
    let loaded = load_live(&store, &config).await?;
    if let Ok(mut live) = state.live.lock() {
        *live = loaded;
    }
    update_stored_counts(&state);
    state.refresh(now_unix());
    state.set_ready();
    if let Some(tx) = started {
        let _ = tx.send((bound, state.clone()));
    }

    background.push(tokio::spawn(refresher(state.clone(), shutdown.clone())));
    {
        let (state, store, mut shutdown) = (state.clone(), store.clone(), shutdown.clone());
        background.push(tokio::spawn(async move {
            #[cfg(unix)]
            let mut hup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hup.as_mut() {
                        Some(h) => {
                            h.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<()>();
                let answer = tokio::select! {
                    _ = shutdown.changed() => {
                        if *shutdown.borrow() { break; }
                        continue;
                    }
                    _ = hangup => None,
                    req = reload_rx.recv() => match req {
                        Some(r) => Some(r),
                        None => break,
                    },
                };
                let result = reload(&state, &store).await;
                if let Some(tx) = answer {
                    let _ = tx.send(result);
                }
            }
        }));
    }

    if !opts.once {
        background.push(tokio::spawn(report_schedule(
            state.clone(),
            store.clone(),
            shutdown.clone(),
        )));
    }

    let mut tasks = Vec::new();
    for (name, spec) in &config.sources {
        let source = build_source(name, spec)?;
        // Clocks lost to a crash, or computed under another config, first.
        recompute_stale(&store, &state, name, &config, &[]).await?;
        recompute_other_config(&store, &state, name, &config).await?;
        let interval = spec.poll_interval.map_or(Duration::from_secs(60), |d| {
            Duration::from_secs(d.seconds_with_day(86_400).max(1) as u64)
        });
        let min_gap = spec
            .requests_per_minute
            .filter(|&r| r > 0)
            .map_or(Duration::ZERO, |r| {
                Duration::from_secs_f64(60.0 / f64::from(r))
            });
        let task = poll_source(
            name.clone(),
            source,
            store.clone(),
            state.clone(),
            interval,
            min_gap,
            opts.once,
            opts.early_recompute_at_normal_priority,
            shutdown.clone(),
        );
        tasks.push(tokio::spawn(task));
    }
    state.dirty.notify_one();
    let mut summary = Summary::default();
    let mut failed = None;
    for t in tasks {
        match t.await.map_err(|e| format!("a poll loop panicked: {e}")) {
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

/// Writes the monthly reports when the config's `reports.schedule` says
/// (a cron expression in `reports.timezone`). The schedule is read again
/// after each run and every minute, so a reload that changes it applies.
async fn report_schedule(
    state: Arc<DaemonState>,
    store: SharedStore,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let config = state.config();
        let next = config
            .reports
            .as_ref()
            .and_then(|r| r.schedule.as_ref())
            .and_then(|s| s.next_run(now_unix()));
        let wait = next.map_or(Duration::from_secs(60), |at| {
            Duration::from_secs((at - now_unix()).clamp(0, 60) as u64)
        });
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { return; }
                continue;
            }
            _ = tokio::time::sleep(wait) => {}
        }
        let Some(at) = next else { continue };
        if now_unix() < at {
            continue;
        }
        let cfg = config.clone();
        let written = blocking(&store, move |s| {
            crate::report::write_scheduled(&*s, &cfg, at).map_err(|e| e.to_string())
        })
        .await;
        match written {
            Ok(paths) => {
                for p in paths {
                    info!(report = %p.display(), "monthly report written");
                }
            }
            Err(e) => error!(error = %e, "the scheduled report failed"),
        }
        // Past this run's minute before asking for the next.
        if sleep_or_stop(Duration::from_secs(61), &mut shutdown).await {
            return;
        }
    }
}

/// Recomputes the figures every [`REFRESH_EVERY`], and soon after a
/// recompute.
async fn refresher(state: Arc<DaemonState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { return; }
            }
            _ = tokio::time::sleep(REFRESH_EVERY) => {}
            _ = state.dirty.notified() => {}
        }
        let st = state.clone();
        let _ = tokio::task::spawn_blocking(move || st.refresh(now_unix())).await;
    }
}

/// The stored clocks of every source, as a fresh [`Live`]. Tickets whose
/// clocks name what the config no longer defines are left out (they are
/// recomputed right after).
async fn load_live(store: &SharedStore, config: &Arc<Config>) -> Result<Live, String> {
    let cfg = config.clone();
    blocking(store, move |s| {
        let started = Instant::now();
        let mut live = Live::with_organizations(&cfg.exposition_organizations);
        for name in cfg.sources.keys() {
            let metas = s.ticket_metas(name).map_err(|e| e.to_string())?;
            let mut metas = metas.into_iter().peekable();
            let mut skipped = 0u64;
            // Both are sorted by ticket id; rows are streamed, not collected.
            s.for_each_clocks(name, &mut |row| {
                while metas.peek().is_some_and(|m| m.id < row.ticket_id) {
                    metas.next();
                }
                let Some(meta) = metas.peek().filter(|m| m.id == row.ticket_id) else {
                    return;
                };
                let decoded = decode_clocks(&row.clocks).map_err(|e| e.to_string());
                match decoded.and_then(|views| {
                    clocks_from_views(&cfg.policy, &views).map_err(|e| e.to_string())
                }) {
                    Ok(clocks) => live.replace(
                        &cfg.policy,
                        name,
                        &meta.id,
                        meta.created_at,
                        meta.organization.as_deref(),
                        &clocks,
                    ),
                    Err(_) => skipped += 1,
                }
            })
            .map_err(|e| e.to_string())?;
            info!(source = %name, tickets = live.source_tickets(name), skipped, ms = started.elapsed().as_millis() as u64, "stored clocks loaded");
        }
        Ok(live)
    })
    .await
}

fn update_stored_counts(state: &DaemonState) {
    let counts: Vec<(String, usize, usize)> = match state.live.lock() {
        Ok(live) => state
            .config()
            .sources
            .keys()
            .map(|k| (k.clone(), live.source_tickets(k), live.inconsistent(k)))
            .collect(),
        Err(_) => return,
    };
    if let Ok(mut h) = state.health.lock() {
        for (k, n, inconsistent) in counts {
            let source = h.sources.entry(k).or_default();
            source.stored_tickets = n as u64;
            source.inconsistent_tickets = inconsistent as u64;
        }
    }
}

/// Reloads the config file: a rejected config changes nothing; an accepted
/// one is recomputed into a new [`Live`] and swapped in.
async fn reload(state: &Arc<DaemonState>, store: &SharedStore) -> Result<String, String> {
    let path = state.config_path().to_path_buf();
    let loaded = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read config {}: {e}", path.display()))
        .and_then(|text| {
            crate::sources::config_from_yaml(&text, &path)
                .map(|c| (c, text))
                .map_err(|e| e.to_string())
        });
    let (config, text) = match loaded {
        Ok(x) => x,
        Err(e) => {
            error!(config = %path.display(), error = %e, "config reload rejected; the previous config keeps running");
            if let Ok(mut h) = state.health.lock() {
                h.config_ok = false;
            }
            state.dirty.notify_one();
            return Err(e);
        }
    };
    let old = state.config();
    let mark_ok = |state: &DaemonState| {
        if let Ok(mut h) = state.health.lock() {
            h.config_ok = true;
            h.config_loaded_at = now_unix();
        }
        state.dirty.notify_one();
    };
    if config.hash == old.hash {
        mark_ok(state);
        info!(config = %path.display(), hash = %config.hash, "config reloaded: unchanged");
        return Ok(format!("config {} unchanged", config.hash));
    }
    if config.sources != old.sources {
        warn!("the sources changed; they apply at the next restart (the policy applies now)");
    }
    let config = Arc::new(config);
    // Recompute into a side index, then swap: scrapes never see a half.
    let side = Mutex::new(Live::with_organizations(&config.exposition_organizations));
    let started = Instant::now();
    let mut tickets = 0;
    for name in old.sources.keys() {
        let src = name.clone();
        let ids = blocking(store, move |s| {
            s.ticket_ids(&src).map_err(|e| e.to_string())
        })
        .await?;
        // A ticket a poll changes meanwhile stays stale: the poll loop
        // recomputes it.
        tickets += recompute_into(store, &side, name, &config, ids)
            .await?
            .saved;
    }
    let side = side
        .into_inner()
        .map_err(|_| "the clock index is poisoned".to_string())?;
    if let Ok(mut live) = state.live.lock() {
        *live = side;
    }
    state.set_config(config.clone(), text);
    mark_ok(state);
    info!(config = %path.display(), old = %old.hash, new = %config.hash, tickets, ms = started.elapsed().as_millis() as u64, "config reloaded: clocks recomputed");
    Ok(format!(
        "config {} loaded (was {}); {tickets} tickets recomputed",
        config.hash, old.hash
    ))
}

async fn blocking<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&mut SqliteStore) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = store
            .lock()
            .map_err(|_| "the store lock is poisoned".to_string())?;
        f(&mut guard)
    })
    .await
    .map_err(|e| format!("a store task failed: {e}"))?
}

/// Recomputes tickets whose clocks were computed under another config: a
/// changed target or calendar re-evaluates past tickets too.
async fn recompute_other_config(
    store: &SharedStore,
    state: &DaemonState,
    source: &str,
    config: &Arc<Config>,
) -> Result<u64, String> {
    let (src, hash) = (source.to_string(), config.hash.clone());
    let ids = blocking(store, move |s| {
        s.ticket_ids_computed_under_other_config(&src, &hash)
            .map_err(|e| e.to_string())
    })
    .await?;
    if !ids.is_empty() {
        info!(source, tickets = ids.len(), config = %config.hash, "the config changed: recomputing these tickets' clocks");
    }
    Ok(recompute_into(store, &state.live, source, config, ids)
        .await?
        .saved)
}

/// Recomputes tickets whose clocks are missing or stale, plus `also` (ids
/// that changed, including deleted ones, which leave the exposition).
async fn recompute_stale(
    store: &SharedStore,
    state: &DaemonState,
    source: &str,
    config: &Arc<Config>,
    also: &[String],
) -> Result<u64, String> {
    let src = source.to_string();
    let mut ids = blocking(store, move |s| {
        s.stale_ticket_ids(&src).map_err(|e| e.to_string())
    })
    .await?;
    if !ids.is_empty() {
        info!(
            source,
            tickets = ids.len(),
            "recomputing clocks of changed tickets"
        );
    }
    // The store's order first (the cheapest to read and save in), then
    // what else changed.
    let known: HashSet<&String> = ids.iter().collect();
    let extra: Vec<String> = also
        .iter()
        .filter(|id| !known.contains(id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .cloned()
        .collect();
    drop(known);
    ids.extend(extra);
    Ok(recompute_into(store, &state.live, source, config, ids)
        .await?
        .saved)
}

/// Tickets evaluated per store round trip of a recompute.
const RECOMPUTE_CHUNK: usize = 2_000;

/// Clocks to save: `(ticket id, config hash, encoded clocks)`.
type ClockRows = Vec<(String, String, Vec<u8>)>;

/// What goes into the live index for one ticket: id, creation,
/// organization, clocks (none for a deleted or unknown ticket, which
/// leaves it) and where its events disagree with its ticket record.
type EvaluatedTicket = (String, i64, Option<String>, Vec<Clock>, Vec<Disagreement>);

/// One chunk's evaluation: the clocks rows to save, and what goes into the
/// live index.
type Evaluated = (ClockRows, Vec<EvaluatedTicket>);

/// Evaluated chunks waiting for the store before evaluation waits too.
const SAVE_QUEUE_CHUNKS: usize = 16;

/// Evaluates the tickets of a chunk at `now` (no store access).
fn evaluate_chunk(
    config: &Config,
    chunk: &[String],
    tickets: &[Ticket],
    now: i64,
) -> Result<Evaluated, String> {
    let mut rows = Vec::with_capacity(tickets.len());
    let mut evaluated = Vec::with_capacity(chunk.len());
    let mut found: HashSet<&str> = HashSet::with_capacity(tickets.len());
    for t in tickets {
        let clocks = evaluate(&config.policy, t, now);
        let views: Vec<_> = clocks.iter().map(|c| c.view(&config.policy)).collect();
        rows.push((t.id.clone(), config.hash.clone(), encode_clocks(&views)));
        found.insert(t.id.as_str());
        evaluated.push((
            t.id.clone(),
            t.created_at,
            t.organization.as_ref().map(|o| o.id.clone()),
            clocks,
            disagreements(t, now, CROSSCHECK_GRACE),
        ));
    }
    for id in chunk {
        if !found.contains(id.as_str()) {
            evaluated.push((id.clone(), 0, None, Vec::new(), Vec::new()));
        }
    }
    Ok((rows, evaluated))
}

/// Chunks read and evaluated at once by a recompute of many tickets, each
/// on a reading connection of its own.
const RECOMPUTE_WORKERS: usize = 2;

/// Reads a chunk's tickets from `reader`, then evaluates them with the
/// lock released (when `reader` is the store itself, it can save the
/// previous chunk meanwhile). Also returns the store generation the
/// snapshot holds (see [`Store::generation`]).
fn read_and_evaluate(
    reader: &SharedStore,
    source: &str,
    config: &Config,
    chunk: &[String],
) -> Result<(Evaluated, u64), String> {
    let (tickets, generation) = {
        let guard = reader
            .lock()
            .map_err(|_| "the store lock is poisoned".to_string())?;
        let generation = guard.generation();
        let tickets = guard.tickets(source, chunk).map_err(|e| e.to_string())?;
        (tickets, generation)
    };
    Ok((
        evaluate_chunk(config, chunk, &tickets, now_unix())?,
        generation,
    ))
}

/// What a recompute did: clocks saved, and the tickets whose clocks were
/// not saved because a commit changed them after they were read (they stay
/// stale in the store).
#[derive(Debug, Default)]
struct Recomputed {
    saved: u64,
    overtaken: Vec<String>,
}

/// Saves evaluated chunks in order on the store's connection: what has
/// queued up goes in one transaction whenever the store is free, so when
/// pages are being applied meanwhile, evaluation does not wait for each
/// chunk's turn at the store.
struct Saver {
    queue: mpsc::Sender<(ClockRows, u64)>,
    task: tokio::task::JoinHandle<Result<Recomputed, String>>,
}

impl Saver {
    fn start(store: &SharedStore, source: &str) -> Saver {
        let (queue, mut queued) = mpsc::channel::<(ClockRows, u64)>(SAVE_QUEUE_CHUNKS);
        let (store, src) = (store.clone(), source.to_string());
        let task = tokio::spawn(async move {
            let mut done = Recomputed::default();
            while let Some((mut rows, mut generation)) = queued.recv().await {
                while let Ok((more, g)) = queued.try_recv() {
                    rows.extend(more);
                    // The oldest snapshot of them all: a ticket changed
                    // after it is only recomputed once more.
                    generation = generation.min(g);
                }
                let src = src.clone();
                let (saved, overtaken) = blocking(&store, move |s| {
                    let overtaken = s
                        .save_clocks_as_of(&src, &rows, generation)
                        .map_err(|e| e.to_string())?;
                    Ok(((rows.len() - overtaken.len()) as u64, overtaken))
                })
                .await?;
                done.saved += saved;
                done.overtaken.extend(overtaken);
            }
            Ok(done)
        });
        Saver { queue, task }
    }

    /// Queues a chunk's clocks, read at store generation `generation`;
    /// false if the saver has stopped (on an error, which
    /// [`Saver::finish`] returns).
    async fn push(&self, rows: ClockRows, generation: u64) -> bool {
        self.queue.send((rows, generation)).await.is_ok()
    }

    async fn finish(self) -> Result<Recomputed, String> {
        drop(self.queue);
        self.task
            .await
            .map_err(|e| format!("a recompute task failed: {e}"))?
    }
}

/// Puts a chunk's evaluated tickets into `live`.
fn publish(live: &Mutex<Live>, config: &Config, source: &str, evaluated: &[EvaluatedTicket]) {
    let mut found: Vec<(&str, &[Disagreement])> = Vec::new();
    if let Ok(mut live) = live.lock() {
        for (id, created_at, org, clocks, disagree) in evaluated {
            live.replace(
                &config.policy,
                source,
                id,
                *created_at,
                org.as_deref(),
                clocks,
            );
            if live.mark_inconsistent(source, id, !disagree.is_empty()) {
                found.push((id, disagree));
            }
        }
    }
    // Logged once per ticket (until it agrees again), one line per chunk.
    if let Some((id, first)) = found.first() {
        let what: Vec<String> = first
            .iter()
            .map(|d| {
                format!(
                    "{}: {} in events, {} in the record",
                    d.field,
                    d.events.as_deref().unwrap_or("none"),
                    d.record.as_deref().unwrap_or("none")
                )
            })
            .collect();
        warn!(
            source,
            tickets = found.len(),
            first = %id,
            disagreement = %what.join("; "),
            "tickets whose events disagree with the helpdesk's ticket record (events missing from the export?); counted in helpdesk_slo_source_inconsistent_tickets and listed in the report"
        );
    }
}

/// Evaluates the given tickets now, stores their clocks and puts them in
/// `live`; ids the store no longer has (deleted) leave `live`.
///
/// Chunks flow through stages so both cores share the work: with more than
/// one chunk, [`RECOMPUTE_WORKERS`] reading connections of their own
/// (SQLite's WAL lets them read committed state while the store writes)
/// each read and evaluate a chunk, while the store saves the chunks before.
/// A store in memory has no second connection: it reads and saves, and
/// evaluation runs beside it. The live index takes chunks in order once
/// they are evaluated; a failed save stops the recompute with its error,
/// and the tickets stay marked stale in the store, so nothing is lost.
/// Pages may be applied meanwhile: a ticket they change after its snapshot
/// keeps its stale mark (and is returned as overtaken).
async fn recompute_into(
    store: &SharedStore,
    live: &Mutex<Live>,
    source: &str,
    config: &Arc<Config>,
    ids: Vec<String>,
) -> Result<Recomputed, String> {
    let mut readers: Vec<SharedStore> = Vec::new();
    if ids.len() > RECOMPUTE_CHUNK {
        let opened = blocking(store, |s| {
            let mut opened = Vec::new();
            for _ in 0..RECOMPUTE_WORKERS {
                match s.open_reader().map_err(|e| e.to_string())? {
                    Some(reader) => opened.push(reader),
                    None => break,
                }
            }
            Ok(opened)
        })
        .await?;
        readers.extend(opened.into_iter().map(|r| Arc::new(Mutex::new(r))));
    }
    if readers.is_empty() {
        readers.push(store.clone());
    }
    let joined = |e: tokio::task::JoinError| format!("a recompute task failed: {e}");
    let spawn = |n: usize, chunk: Vec<String>| {
        let (reader, src, cfg) = (
            readers[n % readers.len()].clone(),
            source.to_string(),
            config.clone(),
        );
        tokio::task::spawn_blocking(move || read_and_evaluate(&reader, &src, &cfg, &chunk))
    };
    let mut chunks = ids
        .chunks(RECOMPUTE_CHUNK)
        .map(<[String]>::to_vec)
        .enumerate();
    let mut evaluating = VecDeque::new();
    // Two chunks in flight even on one connection: one is read while the
    // other is evaluated.
    for (n, chunk) in chunks.by_ref().take(RECOMPUTE_WORKERS.max(readers.len())) {
        evaluating.push_back(spawn(n, chunk));
    }
    let saver = Saver::start(store, source);
    while let Some(task) = evaluating.pop_front() {
        let ((rows, evaluated), generation) = task.await.map_err(joined)??;
        if let Some((n, chunk)) = chunks.next() {
            evaluating.push_back(spawn(n, chunk));
        }
        if !saver.push(rows, generation).await {
            break;
        }
        publish(live, config, source, &evaluated);
    }
    saver.finish().await
}

/// Lowers the calling thread's scheduling priority as far as it goes, so
/// that it runs on what CPU the other threads leave idle. Linux only (a
/// thread there has a nice value of its own); elsewhere nothing changes.
fn run_on_idle_cpu() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take plain integers and touch no
    // memory of ours; a failure (reported as -1) only leaves the priority
    // as it was.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}

/// A small deterministic jitter (no RNG dependency): 0..=max_ms from the
/// clock's sub-second nanos.
/// The longest a `Retry-After` holds a source: the helpdesk's word comes
/// from outside, and a huge one (or one a proxy mangled) must not stop a
/// source for days or overflow a timer.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(15 * 60);

/// How long to hold a source the helpdesk rate limited for `secs`.
fn rate_limit_wait(secs: u64) -> Duration {
    Duration::from_secs(secs).min(MAX_RATE_LIMIT_WAIT)
}

fn jitter(max_ms: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    Duration::from_millis(nanos % (max_ms + 1))
}

/// Sleeps unless shutdown comes first; true when shutting down.
async fn sleep_or_stop(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

/// Where a backfill stands: the newest record time seen against the time
/// it started from, for progress and ETA.
#[derive(Debug, Default)]
struct Progress {
    first: Option<i64>,
    latest: Option<i64>,
}

impl Progress {
    fn see(&mut self, page: &Page) {
        use crate::sources::Record;
        let newest = page
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Ticket(t) => Some(t.updated_at),
                Record::Event(e) => Some(e.at),
                _ => None,
            })
            .max();
        if let Some(t) = newest {
            self.first.get_or_insert(t);
            self.latest = Some(self.latest.map_or(t, |l| l.max(t)));
        }
    }

    /// Share of the way from the first record to now, and the time left at
    /// the rate so far.
    fn estimate(&self, elapsed: Duration, now: i64) -> Option<(f64, Duration)> {
        let (first, latest) = (self.first?, self.latest?);
        let span = (now - first) as f64;
        if span <= 0.0 {
            return None;
        }
        let done = ((latest - first) as f64 / span).clamp(0.0, 1.0);
        if done <= 0.0 {
            return None;
        }
        let left = elapsed.as_secs_f64() * (1.0 - done) / done;
        Some((done, Duration::from_secs_f64(left.min(1e7))))
    }
}

fn with_health(
    state: &DaemonState,
    source: &str,
    f: impl FnOnce(&mut crate::exposition::SourceHealth),
) {
    if let Ok(mut h) = state.health.lock() {
        f(h.sources.entry(source.to_string()).or_default());
    }
}

/// A batch of pages handed to the store and not awaited yet.
struct Applying {
    task: tokio::task::JoinHandle<Result<Applied, String>>,
    pages: u64,
    records: u64,
}

/// Hands `pages` to the store on a blocking task and returns at once: the
/// poll loop fetches and parses the next pages while the store commits
/// these (with the last one's cursor, in one transaction).
fn spawn_apply(store: &SharedStore, source: &str, pages: Vec<Page>) -> Applying {
    let count = pages.len() as u64;
    let records = pages.iter().map(|p| p.records.len() as u64).sum();
    let (store, src) = (store.clone(), source.to_string());
    let task = tokio::task::spawn_blocking(move || {
        let mut guard = store
            .lock()
            .map_err(|_| "the store lock is poisoned".to_string())?;
        let applied = guard.apply_batch(&src, &pages).map_err(|e| e.to_string());
        drop(guard);
        // Freeing a batch's records (millions of small allocations in a
        // backfill) is left to another thread: the next batch waits for
        // this task, not for that.
        tokio::task::spawn_blocking(move || drop(pages));
        applied
    });
    Applying {
        task,
        pages: count,
        records,
    }
}

/// Waits for the batch in flight, if any: its pages count as committed only
/// now, and the tickets it changed join `pending`. An error of the apply is
/// returned (and stops the poll loop, as a failed commit always did).
async fn finish_apply(
    applying: &mut Option<Applying>,
    name: &str,
    state: &DaemonState,
    summary: &mut SourceSummary,
    pending: &mut Pending,
) -> Result<(), String> {
    let Some(a) = applying.take() else {
        return Ok(());
    };
    let applied = a
        .task
        .await
        .map_err(|e| format!("a store task failed: {e}"))??;
    summary.pages += a.pages;
    summary.records += a.records;
    with_health(state, name, |h| h.records += a.records);
    pending.add(applied);
    Ok(())
}

/// Tickets changed by committed batches whose clocks are not computed yet
/// (the store's stale marks hold the same, durably).
#[derive(Default)]
struct Pending {
    /// Batches committed so far by this poll loop.
    batches: u64,
    /// Changed tickets, with the number of the batch that last changed
    /// them, and whether they were handed to an early recompute since.
    changed: HashMap<String, (u64, bool)>,
    /// Changed tickets that looked complete, not yet handed to an early
    /// recompute.
    complete: Vec<String>,
}

impl Pending {
    fn add(&mut self, applied: Applied) {
        self.batches += 1;
        for id in applied.changed {
            self.changed.insert(id, (self.batches, false));
        }
        self.complete.extend(applied.complete);
    }

    /// Every pending ticket, sorted; none is pending after.
    fn take_all(&mut self) -> Vec<String> {
        self.complete.clear();
        let mut ids: Vec<String> = self.changed.drain().map(|(id, _)| id).collect();
        ids.sort_unstable();
        ids
    }

    /// The complete tickets not handed over yet, now marked handed.
    fn hand_over(&mut self) -> Vec<String> {
        let ids = std::mem::take(&mut self.complete);
        for id in &ids {
            if let Some(entry) = self.changed.get_mut(id) {
                entry.1 = true;
            }
        }
        ids
    }

    /// Pending tickets never handed to an early recompute, sorted.
    fn not_handed(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .changed
            .iter()
            .filter(|(_, &(_, handed))| !handed)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// A recompute of `ids`, started after batch `as_of` was committed,
    /// saved the clocks of all but `overtaken`: those of the others no
    /// later batch changed are done.
    fn settle(&mut self, ids: &[String], as_of: u64, overtaken: &[String]) {
        let overtaken: HashSet<&str> = overtaken.iter().map(String::as_str).collect();
        for id in ids {
            if !overtaken.contains(id.as_str())
                && self
                    .changed
                    .get(id)
                    .is_some_and(|&(batch, _)| batch <= as_of)
            {
                self.changed.remove(id);
            }
        }
    }
}

/// During a backfill, tickets that look complete have their clocks
/// computed while later pages are still being fetched and committed, on
/// what CPU the fetching and the store's writer leave idle; they are handed
/// over once at least this many are waiting. The rest are computed when
/// every stream has caught up.
const EARLY_RECOMPUTE_MIN: usize = RECOMPUTE_CHUNK;

/// What an early recompute did: the ids it computed (a chunk at a time)
/// with the batch count when they were handed over, and its saves.
type EarlyDone = (Vec<(Vec<String>, u64)>, Recomputed);

/// Chunks of ids handed to an early recompute and not started yet, each
/// with the batch count when it was handed over; `None` once stopped.
type EarlyQueue = Arc<(
    Mutex<Option<VecDeque<(Vec<String>, u64)>>>,
    std::sync::Condvar,
)>;

/// Computes clocks during a backfill (see [`EARLY_RECOMPUTE_MIN`]): one
/// thread of the lowest priority reads and evaluates the tickets it is
/// handed, a chunk at a time, on a reading connection of its own, so the
/// fetching and the store's writer keep their pace; a task saves the
/// clocks at normal priority (a save holds the store) and puts them in the
/// live index.
struct EarlyRecompute {
    queue: EarlyQueue,
    task: tokio::task::JoinHandle<Result<EarlyDone, String>>,
}

impl EarlyRecompute {
    fn start(
        store: &SharedStore,
        reader: SharedStore,
        state: &Arc<DaemonState>,
        source: &str,
        on_idle_cpu: bool,
    ) -> Result<EarlyRecompute, String> {
        let queue: EarlyQueue =
            Arc::new((Mutex::new(Some(VecDeque::new())), std::sync::Condvar::new()));
        let (out, mut evaluated) = mpsc::channel(2);
        // One config for the thread's evaluation and the task's publishing,
        // even if a reload swaps the daemon's config meanwhile.
        let config = state.config();
        let (src, evaluating_config) = (source.to_string(), config.clone());
        let work = queue.clone();
        std::thread::Builder::new()
            .name("early-recompute".into())
            .spawn(move || {
                if on_idle_cpu {
                    run_on_idle_cpu();
                }
                let (lock, wake) = &*work;
                loop {
                    let next = {
                        let Ok(mut guard) = lock.lock() else { return };
                        loop {
                            match guard.as_mut() {
                                None => return,
                                Some(q) => match q.pop_front() {
                                    Some(chunk) => break chunk,
                                    None => match wake.wait(guard) {
                                        Ok(g) => guard = g,
                                        Err(_) => return,
                                    },
                                },
                            }
                        }
                    };
                    let (chunk, as_of) = next;
                    let result = read_and_evaluate(&reader, &src, &evaluating_config, &chunk);
                    let failed = result.is_err();
                    let sent = out.blocking_send((chunk, as_of, result));
                    if sent.is_err() || failed {
                        return;
                    }
                }
            })
            .map_err(|e| format!("starting a recompute thread: {e}"))?;
        let (store, state, src) = (store.clone(), state.clone(), source.to_string());
        let task = tokio::spawn(async move {
            let saver = Saver::start(&store, &src);
            let mut handed = Vec::new();
            while let Some((ids, as_of, result)) = evaluated.recv().await {
                let ((rows, tickets), generation) = result?;
                if !saver.push(rows, generation).await {
                    break;
                }
                publish(&state.live, &config, &src, &tickets);
                handed.push((ids, as_of));
            }
            Ok((handed, saver.finish().await?))
        });
        Ok(EarlyRecompute { queue, task })
    }

    /// Hands over the complete tickets `pending` holds.
    fn feed(&self, pending: &mut Pending) {
        let ids = pending.hand_over();
        let (lock, wake) = &*self.queue;
        if let Ok(mut guard) = lock.lock() {
            if let Some(q) = guard.as_mut() {
                for chunk in ids.chunks(RECOMPUTE_CHUNK) {
                    q.push_back((chunk.to_vec(), pending.batches));
                }
            }
        }
        wake.notify_one();
    }

    /// Stops the thread after its chunk in hand and returns the ids it had
    /// not started on.
    fn stop(&self) -> Vec<String> {
        let (lock, wake) = &*self.queue;
        let left = lock
            .lock()
            .ok()
            .and_then(|mut guard| guard.take())
            .unwrap_or_default();
        wake.notify_one();
        left.into_iter().flat_map(|(ids, _)| ids).collect()
    }

    /// Stops the thread (see [`EarlyRecompute::stop`]), waits for what it
    /// computed to be saved, and settles that in `pending`.
    async fn finish(
        self,
        name: &str,
        state: &DaemonState,
        summary: &mut SourceSummary,
        pending: &mut Pending,
    ) -> Result<(), String> {
        self.stop();
        let (handed, done) = self
            .task
            .await
            .map_err(|e| format!("a recompute task failed: {e}"))??;
        for (ids, as_of) in &handed {
            pending.settle(ids, *as_of, &done.overtaken);
        }
        summary.recomputed += done.saved;
        summary.recomputed_early += done.saved;
        with_health(state, name, |h| h.tickets_changed += done.saved);
        if done.saved > 0 {
            update_stored_counts(state);
            state.dirty.notify_one();
        }
        Ok(())
    }
}

/// Finishes the early recompute, if one runs.
async fn finish_early(
    early: &mut Option<EarlyRecompute>,
    name: &str,
    state: &DaemonState,
    summary: &mut SourceSummary,
    pending: &mut Pending,
) -> Result<(), String> {
    match early.take() {
        Some(e) => e.finish(name, state, summary, pending).await,
        None => Ok(()),
    }
}

/// Ends a backfill's early recompute: the tickets it was never handed, and
/// those it had not started on, are computed on every core while it
/// finishes its chunk in hand and saves what it computed. What is still
/// pending after both is left in `pending`.
async fn finish_early_with_the_rest(
    early: EarlyRecompute,
    store: &SharedStore,
    name: &str,
    state: &DaemonState,
    summary: &mut SourceSummary,
    pending: &mut Pending,
) -> Result<(), String> {
    let mut rest = early.stop();
    rest.extend(pending.not_handed());
    rest.sort_unstable();
    rest.dedup();
    if !rest.is_empty() {
        info!(
            source = name,
            tickets = rest.len(),
            "recomputing clocks the backfill did not reach"
        );
    }
    let config = state.config();
    let (first, finished) = tokio::join!(
        recompute_into(store, &state.live, name, &config, rest.clone()),
        early.finish(name, state, summary, pending)
    );
    finished?;
    let first = first?;
    // No batch was committed meanwhile: all but the overtaken are done.
    pending.settle(&rest, pending.batches, &first.overtaken);
    summary.recomputed += first.saved;
    with_health(state, name, |h| h.tickets_changed += first.saved);
    Ok(())
}

/// Spaces a source's requests (`requests_per_minute`) and holds every
/// stream back while the helpdesk says to wait (`429` with `Retry-After`):
/// the request budget and the rate limit are the account's, not a
/// stream's, and streams are read at the same time.
struct RequestGate {
    min_gap: Duration,
    /// The earliest time of the next request.
    next: tokio::sync::Mutex<Option<Instant>>,
}

impl RequestGate {
    fn new(min_gap: Duration) -> RequestGate {
        RequestGate {
            min_gap,
            next: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits for a request's turn, one request at a time; true when
    /// shutting down first.
    async fn turn(&self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let mut next = self.next.lock().await;
        if let Some(at) = *next {
            let wait = at.saturating_duration_since(Instant::now());
            if !wait.is_zero() && sleep_or_stop(wait, shutdown).await {
                return true;
            }
        }
        *next = Some(Instant::now() + self.min_gap);
        *shutdown.borrow()
    }

    /// No request goes out before `wait` from now.
    async fn hold(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut next = self.next.lock().await;
        *next = Some(next.map_or(until, |n| n.max(until)));
    }
}

/// What a stream's reader hands the poll loop.
enum Fetched {
    Page(Page),
    /// The reader gave up (a backfill whose page keeps failing, or an
    /// error that needs a person in a backfill); the poll loop stops.
    Failed(String),
}

/// Reads one stream of a source from `cursor` until it has caught up,
/// sending each page to the poll loop, which commits them. A page that
/// fails is retried from the same cursor (see the module docs). Returns
/// when the stream has caught up, on shutdown, when the poll loop is gone,
/// or after sending [`Fetched::Failed`].
#[allow(clippy::too_many_arguments)]
async fn read_stream(
    source: Arc<dyn Source>,
    name: String,
    stream: &'static str,
    mut cursor: Option<String>,
    gate: Arc<RequestGate>,
    state: Arc<DaemonState>,
    once: bool,
    retries: Arc<std::sync::atomic::AtomicU64>,
    out: mpsc::Sender<Fetched>,
    mut shutdown: watch::Receiver<bool>,
) {
    let stats = source.request_stats();
    let mut backoff = Duration::from_secs(1);
    let mut failures = 0u32;
    let retried = || retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    loop {
        if *shutdown.borrow() || gate.turn(&mut shutdown).await {
            return;
        }
        let result = source.poll(stream, cursor.as_deref()).await;
        let ok = result.is_ok();
        let limited = matches!(result, Err(SourceError::RateLimited(_)));
        let counts = stats.as_ref().map(|s| s.snapshot());
        with_health(&state, &name, |h| {
            h.up = ok || limited;
            if let Some(c) = counts {
                h.requests = c;
            }
            if !ok {
                h.retries += 1;
            }
            if limited {
                h.rate_limited += 1;
            }
        });
        let page: Page = match result {
            Ok(p) => p,
            Err(SourceError::RateLimited(secs)) => {
                retried();
                let wait = rate_limit_wait(secs);
                warn!(source = %name, stream, retry_after = secs, wait_s = wait.as_secs(), "rate limited");
                gate.hold(wait + jitter(250)).await;
                continue;
            }
            Err(e @ (SourceError::Transient(_) | SourceError::Malformed { .. })) => {
                retried();
                failures += 1;
                // A backfill (--once) gives up on a page that keeps
                // failing instead of waiting forever; the daemon keeps
                // trying.
                if once && failures >= ONCE_MAX_FAILURES {
                    let msg = format!(
                        "source {name}: stream {stream}: {failures} attempts failed, the last: {e}"
                    );
                    let _ = out.send(Fetched::Failed(msg)).await;
                    return;
                }
                warn!(source = %name, stream, error = %e, backoff_ms = backoff.as_millis() as u64, "poll failed; retrying the same page");
                if sleep_or_stop(
                    backoff + jitter(backoff.as_millis() as u64 / 2),
                    &mut shutdown,
                )
                .await
                {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
                continue;
            }
            Err(SourceError::Fatal(msg)) => {
                error!(source = %name, stream, error = %msg, "poll failed and needs attention");
                if once {
                    let _ = out
                        .send(Fetched::Failed(format!("source {name}: {msg}")))
                        .await;
                    return;
                }
                if sleep_or_stop(Duration::from_secs(300), &mut shutdown).await {
                    return;
                }
                continue;
            }
        };
        backoff = Duration::from_secs(1);
        failures = 0;
        let caught_up = page.caught_up;
        cursor = Some(page.cursor.clone());
        if out.send(Fetched::Page(page)).await.is_err() || caught_up {
            return;
        }
    }
}

/// What the poll loop holds of a stream being read: its pages not yet
/// handed to the store, and where it stands.
struct StreamInLoop {
    stream: &'static str,
    pages: Vec<Page>,
    records: usize,
    /// Progress and ETA are per stream: each reads from the start time to
    /// now at its own pace.
    progress: Progress,
    caught_up: bool,
    /// Caught up, and logged so.
    reported: bool,
}

impl StreamInLoop {
    fn new(stream: &'static str) -> StreamInLoop {
        StreamInLoop {
            stream,
            pages: Vec::new(),
            records: 0,
            progress: Progress::default(),
            caught_up: false,
            reported: false,
        }
    }
}

/// Pages a stream's reader may fetch ahead of the poll loop while the loop
/// waits for the store.
const PAGES_AHEAD: usize = 4;

/// The source's stream groups (see [`Source::stream_groups`]), checked to
/// name each of its streams once.
fn stream_groups(name: &str, source: &dyn Source) -> Result<Vec<Vec<&'static str>>, String> {
    let groups = source.stream_groups();
    let mut named: Vec<&str> = groups.iter().flatten().copied().collect();
    let mut streams = source.streams().to_vec();
    named.sort_unstable();
    streams.sort_unstable();
    if named != streams {
        return Err(format!(
            "source {name}: the {} adapter groups the streams {named:?}, but has {streams:?}",
            source.kind()
        ));
    }
    Ok(groups)
}

#[allow(clippy::too_many_arguments)]
async fn poll_source(
    name: String,
    source: Box<dyn Source>,
    store: SharedStore,
    state: Arc<DaemonState>,
    interval: Duration,
    min_gap: Duration,
    once: bool,
    early_at_normal_priority: bool,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(String, SourceSummary), String> {
    let source: Arc<dyn Source> = Arc::from(source);
    let mut summary = SourceSummary::default();
    let mut pending = Pending::default();
    // At most one batch is being committed while the next pages are
    // fetched, and one early recompute runs; every way out of the loop
    // below waits for both first.
    let mut applying: Option<Applying> = None;
    let mut early: Option<EarlyRecompute> = None;
    // Whether an early recompute can run: not on a store in memory, which
    // has no second connection to read on (it recomputes at the end only).
    let mut early_possible = true;
    let gate = Arc::new(RequestGate::new(min_gap));
    let retries = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let outcome: Result<(), String> = async {
        let groups = stream_groups(&name, source.as_ref())?;
        let started = Instant::now();
        let mut last_log = Instant::now();
        let mut backfilling = true;
        'outer: loop {
            let cycle = Instant::now();
            // Every stream's stored cursor, read once as the cycle starts:
            // a stream's batches move only its own cursor, so a stream
            // reads on from the last page it fetched, committed or not,
            // while the store commits.
            let mut cursors: HashMap<&'static str, Option<String>> = {
                let (src, streams) = (name.clone(), source.streams().to_vec());
                let values = blocking(&store, move |s| {
                    streams
                        .iter()
                        .map(|st| s.cursor(&src, st).map_err(|e| e.to_string()))
                        .collect::<Result<Vec<_>, String>>()
                })
                .await?;
                source.streams().iter().copied().zip(values).collect()
            };
            for group in &groups {
                // The group's streams are read at the same time, each by a
                // reader task of its own; their pages meet here and are
                // committed in batches, in the order they came. Dropping
                // the set stops the readers.
                let (out, mut fetched) = mpsc::channel::<Fetched>(PAGES_AHEAD * group.len());
                let mut readers = tokio::task::JoinSet::new();
                let mut streams: Vec<StreamInLoop> = Vec::new();
                for &stream in group {
                    readers.spawn(read_stream(
                        source.clone(),
                        name.clone(),
                        stream,
                        cursors.remove(stream).flatten(),
                        gate.clone(),
                        state.clone(),
                        once,
                        retries.clone(),
                        out.clone(),
                        shutdown.clone(),
                    ));
                    streams.push(StreamInLoop::new(stream));
                }
                drop(out);
                let group_started = Instant::now();
                let mut open = group.len();
                while open > 0 {
                    let page = match fetched.recv().await {
                        Some(Fetched::Page(page)) => page,
                        Some(Fetched::Failed(e)) => return Err(e),
                        // Every reader is gone without catching up: they
                        // stop on shutdown only.
                        None if *shutdown.borrow() => break 'outer,
                        None => return Err(format!("source {name}: a stream's reader stopped")),
                    };
                    if *shutdown.borrow() {
                        break 'outer;
                    }
                    let caught_up = page.caught_up;
                    let Some(at) = streams.iter().position(|s| s.stream == page.stream) else {
                        return Err(format!(
                            "source {name}: a page of stream {} came from the reader of another",
                            page.stream
                        ));
                    };
                    let this = &mut streams[at];
                    if backfilling {
                        this.progress.see(&page);
                    }
                    this.caught_up = caught_up;
                    if caught_up {
                        open -= 1;
                    }
                    // Full pages wait in memory and are committed several
                    // at a time, in one transaction with the last one's
                    // cursor: a backfill pays for far fewer commits. A
                    // crash loses only uncommitted pages, which are fetched
                    // again. Each stream fills batches of its own: a batch
                    // of a ticket's events is then as long as it was when
                    // streams were read one after another, and so is the
                    // chunk of events it stores per ticket.
                    this.records += page.records.len();
                    this.pages.push(page);
                    let (pages, records) = (this.pages.len(), this.records);
                    // A backfill lets a batch grow up to BACKFILL_BATCH_*
                    // while the store is still busy with the previous one
                    // (bigger transactions write each hot B-tree page once
                    // for more pages), and hands it over at BATCH_* as soon
                    // as the store is idle (so the store never waits for a
                    // big batch to fill). Steady state keeps BATCH_*.
                    let (max_pages, max_records) = if backfilling {
                        (BACKFILL_BATCH_PAGES, BACKFILL_BATCH_RECORDS)
                    } else {
                        (BATCH_PAGES, BATCH_RECORDS)
                    };
                    let full = pages >= max_pages || records >= max_records;
                    let enough = pages >= BATCH_PAGES || records >= BATCH_RECORDS;
                    let store_idle = applying.as_ref().is_none_or(|a| a.task.is_finished());
                    let hand_over = caught_up || full || (enough && store_idle);
                    if !hand_over {
                        continue;
                    }
                    // At most one batch in flight: the previous one is
                    // committed (or has failed, which stops the loop)
                    // before this one is handed over, so batches commit in
                    // order and memory stays bounded by two batches (and
                    // the few pages the readers fetch meanwhile).
                    finish_apply(&mut applying, &name, &state, &mut summary, &mut pending)
                        .await?;
                    // The changed tickets are marked stale in the store
                    // with the pages; they are recomputed once every stream
                    // has caught up (or every RECOMPUTE_PENDING_MAX), not
                    // once per page. In a backfill, those that look
                    // complete are computed meanwhile, a few thousand at a
                    // time.
                    if backfilling
                        && early_possible
                        && pending.complete.len() >= EARLY_RECOMPUTE_MIN
                    {
                        if early.is_none() {
                            let reader = blocking(&store, |s| {
                                s.open_reader().map_err(|e| e.to_string())
                            })
                            .await?;
                            match reader {
                                Some(r) => {
                                    let r = Arc::new(Mutex::new(r));
                                    early = Some(EarlyRecompute::start(
                                        &store,
                                        r,
                                        &state,
                                        &name,
                                        !early_at_normal_priority,
                                    )?);
                                }
                                None => early_possible = false,
                            }
                        }
                        if let Some(e) = &early {
                            e.feed(&mut pending);
                        }
                    }
                    if pending.changed.len() >= RECOMPUTE_PENDING_MAX {
                        finish_early(&mut early, &name, &state, &mut summary, &mut pending)
                            .await?;
                        let config = state.config();
                        let ids = pending.take_all();
                        let n = recompute_stale(&store, &state, &name, &config, &ids).await?;
                        summary.recomputed += n;
                        with_health(&state, &name, |h| h.tickets_changed += n);
                        if n > 0 {
                            update_stored_counts(&state);
                            state.dirty.notify_one();
                        }
                    }
                    let batch = std::mem::take(&mut streams[at].pages);
                    streams[at].records = 0;
                    applying = Some(spawn_apply(&store, &name, batch));
                    if last_log.elapsed() >= Duration::from_secs(5) || (caught_up && backfilling) {
                        let secs = started.elapsed().as_secs_f64().max(0.001);
                        for s in streams.iter_mut().filter(|s| !s.reported) {
                            let estimate = if backfilling {
                                s.progress.estimate(group_started.elapsed(), now_unix())
                            } else {
                                None
                            };
                            info!(
                                source = %name,
                                stream = s.stream,
                                pages = summary.pages,
                                records = summary.records,
                                tickets_recomputed = summary.recomputed,
                                records_per_s = (summary.records as f64 / secs).round() as u64,
                                done_pct = estimate.map(|(d, _)| (d * 1000.0).round() / 10.0),
                                eta_s = estimate.map(|(_, eta)| eta.as_secs()),
                                caught_up = s.caught_up,
                                "{}", if backfilling { "backfill progress" } else { "poll progress" }
                            );
                            // A stream that caught up is not reported again.
                            s.reported = s.caught_up;
                        }
                        last_log = Instant::now();
                    }
                }
                summary.retries += retries.swap(0, std::sync::atomic::Ordering::Relaxed);
            }
            // Every stream caught up: the last batch is committed, then what
            // changed is recomputed once, with every stream's records in (a
            // ticket's header and its events arrive on different streams).
            finish_apply(&mut applying, &name, &state, &mut summary, &mut pending).await?;
            if backfilling {
                summary.stored_after = Some(started.elapsed());
            }
            if let Some(e) = early.take() {
                finish_early_with_the_rest(e, &store, &name, &state, &mut summary, &mut pending)
                    .await?;
                update_stored_counts(&state);
            }
            if !pending.changed.is_empty() {
                let config = state.config();
                let ids = pending.take_all();
                let n = recompute_stale(&store, &state, &name, &config, &ids).await?;
                summary.recomputed += n;
                with_health(&state, &name, |h| h.tickets_changed += n);
                update_stored_counts(&state);
            }
            if backfilling {
                info!(source = %name, pages = summary.pages, records = summary.records, tickets_recomputed = summary.recomputed, recomputed_during_backfill = summary.recomputed_early, stored_secs = summary.stored_after.map_or(0.0, |d| (d.as_secs_f64() * 10.0).round() / 10.0), secs = started.elapsed().as_secs(), "caught up with every stream");
            }
            backfilling = false;
            // Every stream caught up: a completed poll, which reports use to
            // show gaps in the data's freshness.
            let at = now_unix();
            let src = name.clone();
            blocking(&store, move |s| {
                s.record_poll(&src, at).map_err(|e| e.to_string())
            })
            .await?;
            let took = cycle.elapsed().as_secs_f64();
            with_health(&state, &name, |h| {
                h.last_success = at;
                h.poll_duration_seconds = took;
            });
            state.dirty.notify_one();
            if once || sleep_or_stop(interval + jitter(1000), &mut shutdown).await {
                break;
            }
        }
        Ok(())
    }
    .await;
    summary.retries += retries.swap(0, std::sync::atomic::Ordering::Relaxed);
    // Shutdown, an error or the end of a backfill: a batch still in flight
    // is committed (or fails) before the loop returns, so a shutdown never
    // leaves a commit running behind it. Pages fetched but not handed over
    // are dropped; their cursor was not committed, so they are fetched again
    // at the next start. Tickets changed by that last batch stay marked
    // stale in the store and are recomputed at the next start.
    let finished = finish_apply(&mut applying, &name, &state, &mut summary, &mut pending).await;
    let computed = finish_early(&mut early, &name, &state, &mut summary, &mut pending).await;
    outcome?;
    finished?;
    computed?;
    Ok((name, summary))
}

#[cfg(test)]
mod rate_limit_tests {
    use super::*;

    #[test]
    fn a_retry_after_of_any_size_is_held_at_most_fifteen_minutes() {
        assert_eq!(rate_limit_wait(49), Duration::from_secs(49));
        assert_eq!(rate_limit_wait(0), Duration::ZERO);
        assert_eq!(rate_limit_wait(86_400), MAX_RATE_LIMIT_WAIT);
        // The largest value a header can give: no overflow with the jitter.
        assert!(rate_limit_wait(u64::MAX) + jitter(250) >= MAX_RATE_LIMIT_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{PollFuture, Record, TicketHeader};
    use std::sync::mpsc as std_mpsc;

    /// One stream of one-ticket pages, cursors "1", "2", …; `hook(n)` runs
    /// as page `n` is requested.
    struct Pages {
        last: usize,
        hook: Box<dyn Fn(usize) + Send + Sync>,
    }

    impl Source for Pages {
        fn kind(&self) -> &'static str {
            "pages"
        }

        fn streams(&self) -> &[&'static str] {
            &["tickets"]
        }

        fn poll<'a>(&'a self, stream: &'a str, cursor: Option<&'a str>) -> PollFuture<'a> {
            let n = cursor.and_then(|c| c.parse::<usize>().ok()).unwrap_or(0) + 1;
            (self.hook)(n);
            let page = Page {
                stream: stream.to_string(),
                records: vec![Record::Ticket(TicketHeader {
                    id: n.to_string(),
                    created_at: 1_790_000_000,
                    updated_at: 1_790_000_000 + n as i64,
                    url: None,
                    organization_id: None,
                    requester_id: None,
                    tags: Vec::new(),
                    fields: BTreeMap::new(),
                    deleted: false,
                    status: None,
                    priority: None,
                    group: None,
                })],
                cursor: n.to_string(),
                caught_up: n >= self.last,
            };
            Box::pin(async move { Ok(page) })
        }
    }

    fn applied(changed: &[&str], complete: &[&str]) -> Applied {
        let own = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect();
        Applied {
            changed: own(changed),
            complete: own(complete),
        }
    }

    /// What an early recompute was handed, what it settled and what it
    /// never got: a ticket changed again after it was handed over is not
    /// settled by the old hand-over, and counts as not handed again.
    #[test]
    fn pending_tells_what_was_handed_over_and_what_is_done() {
        let mut pending = Pending::default();
        pending.add(applied(&["1", "2", "3"], &["1", "2"]));
        let handed = pending.hand_over();
        assert_eq!(handed, ["1", "2"]);
        assert!(pending.complete.is_empty());
        assert_eq!(pending.not_handed(), ["3"]);
        // Ticket 2 changes again in batch 2, after the hand-over of batch 1.
        pending.add(applied(&["2", "4"], &[]));
        assert_eq!(pending.not_handed(), ["2", "3", "4"]);
        pending.settle(&handed, 1, &[]);
        let mut left: Vec<_> = pending.changed.keys().cloned().collect();
        left.sort();
        assert_eq!(left, ["2", "3", "4"]);
        // Overtaken clocks settle nothing.
        pending.settle(&["3".to_string(), "4".to_string()], 2, &["4".to_string()]);
        assert_eq!(pending.take_all(), ["2", "4"]);
    }

    /// A shutdown while a batch is being committed waits for that commit:
    /// the loop returns only once the store is done, with the batch counted,
    /// and the pages fetched after it are not committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_waits_for_the_batch_in_flight() {
        let config = Arc::new(
            crate::config_files::load(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
            )
            .unwrap(),
        );
        let state = Arc::new(DaemonState::detached(config));
        let store: SharedStore = Arc::new(Mutex::new(SqliteStore::in_memory().unwrap()));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (release_tx, release_rx) = std_mpsc::channel::<()>();
        let release_rx = Mutex::new(Some(release_rx));
        let holder = store.clone();
        let hook = move |n: usize| {
            if n == 6 {
                // Someone else holds the store from page 6 on, so the batch
                // handed over at page 8 waits in the store.
                let (locked_tx, locked_rx) = std_mpsc::channel();
                let (store, release) = (holder.clone(), release_rx.lock().unwrap().take());
                std::thread::spawn(move || {
                    let _guard = store.lock().unwrap();
                    locked_tx.send(()).unwrap();
                    if let Some(r) = release {
                        let _ = r.recv();
                    }
                });
                locked_rx.recv().unwrap();
            }
            // The reader fetches at most PAGES_AHEAD pages ahead of the
            // loop: once it asks for page 14, the loop has taken page 9,
            // so the batch of pages 1-8 was handed over.
            if n == 9 + PAGES_AHEAD + 1 {
                stop_tx.send(true).unwrap();
            }
        };
        let source = Pages {
            last: 100,
            hook: Box::new(hook),
        };
        let task = tokio::spawn(poll_source(
            "s".to_string(),
            Box::new(source),
            store.clone(),
            state,
            Duration::from_secs(60),
            Duration::ZERO,
            false,
            false,
            stop_rx,
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !task.is_finished(),
            "the loop returned while its batch was still being committed"
        );
        release_tx.send(()).unwrap();
        let (_, summary) = task.await.unwrap().unwrap();
        assert_eq!((summary.pages, summary.records), (8, 8));
        let s = store.lock().unwrap();
        assert_eq!(s.cursor("s", "tickets").unwrap().as_deref(), Some("8"));
        assert_eq!(s.ticket_ids("s").unwrap().len(), 8);
    }
}
