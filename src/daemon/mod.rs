//! The daemon: poll loops per source, the store, recomputation of the
//! tickets that changed.
//!
//! Guarantees:
//! * A page's records and the cursor after them are committed in one store
//!   transaction before the next page is requested, so a crash at any point
//!   resumes from the last committed cursor and loses nothing; re-reading a
//!   page stores nothing twice.
//! * A page that fails (rate limit, 5xx, timeout, malformed JSON) is retried
//!   from the same cursor, never skipped: `Retry-After` is honoured, other
//!   failures back off exponentially with jitter up to a minute.
//! * Only tickets whose timeline changed are recomputed; their clocks are
//!   marked stale in the same transaction as the change, so clocks lost to a
//!   crash between the two are recomputed at the next start. A backfill
//!   recomputes when a stream catches up, not after every page.
//! * Shutdown (SIGTERM/SIGINT) lets the page in flight finish or be
//!   abandoned before its commit; either way nothing is lost.
//! * Secrets never reach the logs: adapters hold them, errors name paths and
//!   statuses only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::engine::evaluate;
use crate::policy::spec::SourceSpec;
use crate::policy::Config;
use crate::sources::zendesk::Zendesk;
use crate::sources::{Page, Source, SourceError};
use crate::store::{SqliteStore, Store};

/// Consecutive failed attempts at one page after which `--once` gives up.
const ONCE_MAX_FAILURES: u32 = 12;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub config: PathBuf,
    pub store: PathBuf,
    /// Poll every source until it is caught up once, then return (backfills,
    /// tests, benchmarks).
    pub once: bool,
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
    pub retries: u64,
}

type SharedStore = Arc<Mutex<SqliteStore>>;

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Builds the adapter a source config names.
pub fn build_source(name: &str, spec: &SourceSpec) -> Result<Box<dyn Source>, String> {
    match spec.kind.as_str() {
        "zendesk" => Zendesk::new(spec)
            .map(|z| Box::new(z) as Box<dyn Source>)
            .map_err(|e| format!("source {name}: {e}")),
        other => Err(format!(
            "source {name}: unknown kind \"{other}\"; this build knows: {}",
            crate::sources::registry().join(", ")
        )),
    }
}

/// Runs the daemon until `shutdown` turns true (or, with `once`, until every
/// source is caught up).
pub async fn run(opts: Options, shutdown: watch::Receiver<bool>) -> Result<Summary, String> {
    let config = Arc::new(Config::load(&opts.config).map_err(|e| e.to_string())?);
    let store = SqliteStore::open(&opts.store).map_err(|e| e.to_string())?;
    let store: SharedStore = Arc::new(Mutex::new(store));
    info!(config = %opts.config.display(), hash = %config.hash, store = %opts.store.display(), sources = config.sources.len(), "starting");

    let mut tasks = Vec::new();
    for (name, spec) in &config.sources {
        let source = build_source(name, spec)?;
        // Clocks lost to a crash, or computed under another config, first.
        recompute_stale(&store, name, &config).await?;
        recompute_other_config(&store, name, &config).await?;
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
            config.clone(),
            interval,
            min_gap,
            opts.once,
            shutdown.clone(),
        );
        tasks.push(tokio::spawn(task));
    }
    let mut summary = Summary::default();
    for t in tasks {
        let (name, s) = t
            .await
            .map_err(|e| format!("a poll loop panicked: {e}"))??;
        summary.sources.insert(name, s);
    }
    info!("stopped");
    Ok(summary)
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
    recompute(store, source, config, ids).await
}

/// Recomputes tickets whose clocks are missing or stale.
async fn recompute_stale(
    store: &SharedStore,
    source: &str,
    config: &Arc<Config>,
) -> Result<u64, String> {
    let src = source.to_string();
    let ids = blocking(store, move |s| {
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
    recompute(store, source, config, ids).await
}

/// Evaluates the given tickets now and stores their clocks.
async fn recompute(
    store: &SharedStore,
    source: &str,
    config: &Arc<Config>,
    ids: Vec<String>,
) -> Result<u64, String> {
    let mut done = 0u64;
    for chunk in ids.chunks(2_000) {
        let chunk = chunk.to_vec();
        let src = source.to_string();
        let cfg = config.clone();
        done += blocking(store, move |s| {
            let tickets = s.tickets(&src, &chunk).map_err(|e| e.to_string())?;
            let now = now_unix();
            let mut rows = Vec::with_capacity(tickets.len());
            for t in &tickets {
                let clocks = evaluate(&cfg.policy, t, now);
                let views: Vec<_> = clocks.iter().map(|c| c.view(&cfg.policy)).collect();
                let json =
                    serde_json::to_string(&views).map_err(|e| format!("ticket {}: {e}", t.id))?;
                rows.push((t.id.clone(), cfg.hash.clone(), json));
            }
            s.save_clocks_batch(&src, &rows)
                .map_err(|e| e.to_string())?;
            Ok(rows.len() as u64)
        })
        .await?;
    }
    Ok(done)
}

/// A small deterministic jitter (no RNG dependency): 0..=max_ms from the
/// clock's sub-second nanos.
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

#[allow(clippy::too_many_arguments)]
async fn poll_source(
    name: String,
    source: Box<dyn Source>,
    store: SharedStore,
    config: Arc<Config>,
    interval: Duration,
    min_gap: Duration,
    once: bool,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(String, SourceSummary), String> {
    let mut summary = SourceSummary::default();
    let started = Instant::now();
    let mut last_request: Option<Instant> = None;
    let mut last_log = Instant::now();
    let mut pending = 0usize;
    let mut failures = 0u32;
    'outer: loop {
        for &stream in source.streams() {
            let mut backoff = Duration::from_secs(1);
            loop {
                if *shutdown.borrow() {
                    break 'outer;
                }
                let (src, st) = (name.clone(), stream.to_string());
                let cursor = blocking(&store, move |s| {
                    s.cursor(&src, &st).map_err(|e| e.to_string())
                })
                .await?;
                if let Some(last) = last_request {
                    let wait = min_gap.saturating_sub(last.elapsed());
                    if !wait.is_zero() && sleep_or_stop(wait, &mut shutdown).await {
                        break 'outer;
                    }
                }
                last_request = Some(Instant::now());
                let page: Page = match source.poll(stream, cursor.as_deref()).await {
                    Ok(p) => p,
                    Err(SourceError::RateLimited(secs)) => {
                        summary.retries += 1;
                        warn!(source = %name, stream, retry_after = secs, "rate limited");
                        if sleep_or_stop(Duration::from_secs(secs) + jitter(250), &mut shutdown)
                            .await
                        {
                            break 'outer;
                        }
                        continue;
                    }
                    Err(e @ (SourceError::Transient(_) | SourceError::Malformed { .. })) => {
                        summary.retries += 1;
                        failures += 1;
                        // A backfill (--once) gives up on a page that keeps
                        // failing instead of waiting forever; the daemon
                        // keeps trying.
                        if once && failures >= ONCE_MAX_FAILURES {
                            return Err(format!(
                                "source {name}: stream {stream}: {failures} attempts failed, the last: {e}"
                            ));
                        }
                        warn!(source = %name, stream, error = %e, backoff_ms = backoff.as_millis() as u64, "poll failed; retrying the same page");
                        if sleep_or_stop(
                            backoff + jitter(backoff.as_millis() as u64 / 2),
                            &mut shutdown,
                        )
                        .await
                        {
                            break 'outer;
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(60));
                        continue;
                    }
                    Err(SourceError::Fatal(msg)) => {
                        error!(source = %name, stream, error = %msg, "poll failed and needs attention");
                        if once {
                            return Err(format!("source {name}: {msg}"));
                        }
                        if sleep_or_stop(Duration::from_secs(300), &mut shutdown).await {
                            break 'outer;
                        }
                        continue;
                    }
                };
                backoff = Duration::from_secs(1);
                failures = 0;
                let caught_up = page.caught_up;
                let records = page.records.len() as u64;
                let src = name.clone();
                let changed = blocking(&store, move |s| {
                    s.apply_page(&src, &page).map_err(|e| e.to_string())
                })
                .await?;
                summary.pages += 1;
                summary.records += records;
                // The changed tickets are marked stale in the store with the
                // page; during a backfill they are recomputed once the stream
                // catches up (or every 50,000), not once per page.
                pending += changed.len();
                if caught_up || pending >= 50_000 {
                    summary.recomputed += recompute_stale(&store, &name, &config).await?;
                    pending = 0;
                }
                if last_log.elapsed() >= Duration::from_secs(2) || caught_up {
                    let secs = started.elapsed().as_secs_f64().max(0.001);
                    info!(
                        source = %name,
                        stream,
                        pages = summary.pages,
                        records = summary.records,
                        tickets_recomputed = summary.recomputed,
                        records_per_s = (summary.records as f64 / secs).round() as u64,
                        caught_up,
                        "poll progress"
                    );
                    last_log = Instant::now();
                }
                if caught_up {
                    break;
                }
            }
        }
        // Every stream caught up: a completed poll, which reports use to
        // show gaps in the data's freshness.
        let src = name.clone();
        blocking(&store, move |s| {
            s.record_poll(&src, now_unix()).map_err(|e| e.to_string())
        })
        .await?;
        if once || sleep_or_stop(interval + jitter(1000), &mut shutdown).await {
            break;
        }
    }
    Ok((name, summary))
}
