//! A source's poll loop: reads its streams (group by group, the streams of
//! a group at the same time), commits their pages in batches, and
//! recomputes what changed once every stream has caught up; then
//! reconciles the tickets whose helpdesk SLA record alone changed (or
//! whose clocks a backfill computed without it) with that record, once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::{info, warn, Instrument};

use super::counting::uncount_dropped;
use super::early::{EarlyRecompute, EARLY_RECOMPUTE_MIN};
use super::health::{count_recomputed, update_stored_counts, with_health};
use super::pace::{jitter, sleep_or_stop, RequestGate};
use super::pending::Pending;
use super::progress::Progress;
use super::recompute::Recompute;
use super::store_access::{blocking, open_readers, SharedStore};
use super::stream::{Fetched, SourceShared, StreamReader};
use super::{DaemonError, SourceSummary};
use crate::clock::now_unix;
use crate::policy::Config;
use crate::sources::{Page, Source, APPROXIMATED_HISTORY};
use crate::state::{ConfigTurn, DaemonState};
use crate::store::Applied;

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

/// Pages a stream's reader may fetch ahead of the poll loop while the loop
/// waits for the store.
pub(super) const PAGES_AHEAD: usize = 4;

/// How often a long poll logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// How a source is polled: from its config and the run's options.
#[derive(Debug, Clone, Copy)]
pub(super) struct PollSettings {
    /// The pause between polls once every stream has caught up.
    pub(super) interval: Duration,
    /// The least time between two requests (`requests_per_minute`).
    pub(super) min_gap: Duration,
    /// Stop once every stream has caught up (a backfill).
    pub(super) once: bool,
    /// Run a backfill's early recompute on idle CPU only.
    pub(super) early_on_idle_cpu: bool,
    /// The first wait before a stopped poll loop is started again (see
    /// [`supervise`]).
    pub(super) restart_after: Duration,
}

/// A batch of pages handed to the store and not awaited yet.
struct Applying {
    task: tokio::task::JoinHandle<Result<Applied, DaemonError>>,
    pages: u64,
    records: u64,
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

/// When the loop started and last logged its progress.
struct Timing {
    started: Instant,
    last_log: Instant,
}

/// One source's poll loop and what it holds between pages.
pub(super) struct PollLoop {
    shared: Arc<SourceShared>,
    store: SharedStore,
    settings: PollSettings,
    shutdown: watch::Receiver<bool>,
    summary: SourceSummary,
    pending: Pending,
    /// At most one batch is being committed while the next pages are
    /// fetched, and one early recompute runs; every way out of the loop
    /// waits for both first.
    applying: Option<Applying>,
    early: Option<EarlyRecompute>,
    /// Whether an early recompute can run: not on a store in memory, which
    /// has no second connection to read on (it recomputes at the end only).
    early_possible: bool,
}

impl PollLoop {
    pub(super) fn new(
        name: &str,
        source: Box<dyn Source>,
        store: SharedStore,
        state: Arc<DaemonState>,
        settings: PollSettings,
        shutdown: watch::Receiver<bool>,
    ) -> PollLoop {
        PollLoop {
            shared: Arc::new(SourceShared {
                name: name.to_string(),
                source: Arc::from(source),
                state,
                gate: RequestGate::new(settings.min_gap),
                retries: AtomicU64::new(0),
                once: settings.once,
            }),
            store,
            settings,
            shutdown,
            summary: SourceSummary::default(),
            pending: Pending::default(),
            applying: None,
            early: None,
            early_possible: true,
        }
    }

    /// Polls until shutdown (or, with `once`, until every stream has caught
    /// up once); returns the source's name and what it did.
    pub(super) async fn run(mut self) -> Result<(String, SourceSummary), DaemonError> {
        let outcome = self.cycles().await;
        self.count_retries();
        // Shutdown, an error or the end of a backfill: a batch still in
        // flight is committed (or fails) before the loop returns, so a
        // shutdown never leaves a commit running behind it. Pages fetched
        // but not handed over are dropped; their cursor was not committed,
        // so they are fetched again at the next start. Tickets changed by
        // that last batch stay marked stale in the store and are
        // recomputed at the next start.
        let finished = self.finish_apply().await;
        let computed = self.finish_early().await;
        outcome?;
        finished?;
        computed?;
        Ok((self.shared.name.clone(), self.summary))
    }

    fn name(&self) -> &str {
        &self.shared.name
    }

    fn state(&self) -> &Arc<DaemonState> {
        &self.shared.state
    }

    fn count_retries(&mut self) {
        self.summary.retries += self.shared.retries.swap(0, Ordering::Relaxed);
    }

    /// Poll after poll: every group of streams until each has caught up,
    /// then the recompute of what changed.
    async fn cycles(&mut self) -> Result<(), DaemonError> {
        let groups = stream_groups(self.name(), self.shared.source.as_ref())?;
        let mut timing = Timing {
            started: Instant::now(),
            last_log: Instant::now(),
        };
        let mut backfilling = true;
        loop {
            let cycle = Instant::now();
            let mut cursors = self.read_cursors().await?;
            for group in &groups {
                if self
                    .read_group(group, &mut cursors, backfilling, &mut timing)
                    .await?
                {
                    return Ok(());
                }
                self.count_retries();
            }
            self.all_caught_up(backfilling, timing.started).await?;
            backfilling = false;
            self.record_poll(cycle).await?;
            if self.settings.once
                || sleep_or_stop(self.settings.interval + jitter(1000), &mut self.shutdown).await
            {
                return Ok(());
            }
        }
    }

    /// Every stream's stored cursor, read once as the cycle starts: a
    /// stream's batches move only its own cursor, so a stream reads on from
    /// the last page it fetched, committed or not, while the store commits.
    async fn read_cursors(&self) -> Result<HashMap<&'static str, Option<String>>, DaemonError> {
        let (src, streams) = (
            self.name().to_string(),
            self.shared.source.streams().to_vec(),
        );
        let values = blocking(&self.store, move |s| {
            streams
                .iter()
                .map(|st| Ok(s.cursor(&src, st)?))
                .collect::<Result<Vec<_>, DaemonError>>()
        })
        .await?;
        Ok(self
            .shared
            .source
            .streams()
            .iter()
            .copied()
            .zip(values)
            .collect())
    }

    /// Reads a group's streams at the same time, each by a reader task of
    /// its own, until each has caught up; their pages meet here and are
    /// committed in batches, in the order they came. True when shutting
    /// down.
    async fn read_group(
        &mut self,
        group: &[&'static str],
        cursors: &mut HashMap<&'static str, Option<String>>,
        backfilling: bool,
        timing: &mut Timing,
    ) -> Result<bool, DaemonError> {
        let (out, mut fetched) = mpsc::channel::<Fetched>(PAGES_AHEAD * group.len());
        // Dropping the set stops the readers.
        let mut readers = tokio::task::JoinSet::new();
        let mut streams: Vec<StreamInLoop> = Vec::new();
        for &stream in group {
            let reader = StreamReader {
                shared: self.shared.clone(),
                stream,
                out: out.clone(),
                shutdown: self.shutdown.clone(),
            };
            readers.spawn(
                reader
                    .run(cursors.remove(stream).flatten())
                    .in_current_span(),
            );
            streams.push(StreamInLoop::new(stream));
        }
        drop(out);
        let group_started = Instant::now();
        let mut open = group.len();
        while open > 0 {
            let received = tokio::select! {
                received = fetched.recv() => received,
                Some(Err(e)) = readers.join_next(), if !readers.is_empty() => {
                    // A reader that panicked polls nothing more: the loop
                    // stops, and its supervisor marks the source down and
                    // starts it again.
                    return Err(self.failed(format!("a stream's reader failed: {}", task_failure(e))));
                }
            };
            let page = match received {
                Some(Fetched::Page(page)) => page,
                Some(Fetched::Failed(message)) => return Err(self.failed(message)),
                // Every reader is gone without catching up: they stop on
                // shutdown only.
                None if *self.shutdown.borrow() => return Ok(true),
                None => {
                    // Every reader is gone: say why, if one failed (its
                    // channel may close before its failure is joined).
                    let mut why = "a stream's reader stopped".to_string();
                    while let Some(joined) = readers.join_next().await {
                        if let Err(e) = joined {
                            why = format!("a stream's reader failed: {}", task_failure(e));
                            break;
                        }
                    }
                    return Err(self.failed(why));
                }
            };
            if *self.shutdown.borrow() {
                return Ok(true);
            }
            let caught_up = page.caught_up;
            let Some(at) = streams.iter().position(|s| s.stream == page.stream) else {
                let message = format!(
                    "a page of stream {} came from the reader of another",
                    page.stream
                );
                return Err(self.failed(message));
            };
            let this = &mut streams[at];
            if backfilling {
                this.progress.see(&page);
            }
            this.caught_up = caught_up;
            if caught_up {
                open -= 1;
            }
            // Full pages wait in memory and are committed several at a
            // time, in one transaction with the last one's cursor: a
            // backfill pays for far fewer commits. A crash loses only
            // uncommitted pages, which are fetched again. Each stream fills
            // batches of its own: a batch of a ticket's events is then as
            // long as it was when streams were read one after another, and
            // so is the chunk of events it stores per ticket.
            this.records += page.records.len();
            this.pages.push(page);
            if !self.batch_is_due(this, backfilling) {
                continue;
            }
            let batch = std::mem::take(&mut this.pages);
            this.records = 0;
            self.hand_over(batch, backfilling).await?;
            // A routine poll takes a moment and says nothing at info: only
            // a backfill, or a poll that has run for a while, reports.
            let long = backfilling || group_started.elapsed() >= PROGRESS_EVERY;
            if long && (timing.last_log.elapsed() >= PROGRESS_EVERY || (caught_up && backfilling)) {
                self.log_progress(&mut streams, backfilling, timing, group_started);
                timing.last_log = Instant::now();
            }
        }
        Ok(false)
    }

    fn failed(&self, message: String) -> DaemonError {
        DaemonError::Source {
            name: self.name().to_string(),
            message,
        }
    }

    /// Whether a stream's pages in memory are handed to the store now. A
    /// backfill lets a batch grow up to `BACKFILL_BATCH_*` while the store
    /// is still busy with the previous one (bigger transactions write each
    /// hot B-tree page once for more pages), and hands it over at
    /// `BATCH_*` as soon as the store is idle (so the store never waits for
    /// a big batch to fill). Steady state keeps `BATCH_*`.
    fn batch_is_due(&self, stream: &StreamInLoop, backfilling: bool) -> bool {
        let (pages, records) = (stream.pages.len(), stream.records);
        let (max_pages, max_records) = if backfilling {
            (BACKFILL_BATCH_PAGES, BACKFILL_BATCH_RECORDS)
        } else {
            (BATCH_PAGES, BATCH_RECORDS)
        };
        let full = pages >= max_pages || records >= max_records;
        let enough = pages >= BATCH_PAGES || records >= BATCH_RECORDS;
        let store_idle = self.applying.as_ref().is_none_or(|a| a.task.is_finished());
        stream.caught_up || full || (enough && store_idle)
    }

    /// Hands a batch to the store. At most one batch is in flight: the
    /// previous one is committed (or has failed, which stops the loop)
    /// before this one is handed over, so batches commit in order and
    /// memory stays bounded by two batches (and the few pages the readers
    /// fetch meanwhile).
    async fn hand_over(&mut self, batch: Vec<Page>, backfilling: bool) -> Result<(), DaemonError> {
        self.finish_apply().await?;
        // The changed tickets are marked stale in the store with the pages;
        // they are recomputed once every stream has caught up (or every
        // RECOMPUTE_PENDING_MAX), not once per page. In a backfill, those
        // that look complete are computed meanwhile, a few thousand at a
        // time.
        if backfilling && self.early_possible && self.pending.complete.len() >= EARLY_RECOMPUTE_MIN
        {
            self.feed_early().await?;
        }
        if self.pending.changed.len() >= RECOMPUTE_PENDING_MAX {
            self.finish_early().await?;
            self.recompute_pending().await?;
        }
        self.applying = Some(self.spawn_apply(batch));
        Ok(())
    }

    /// Hands the complete tickets to the early recompute, starting it on a
    /// reading connection of its own the first time.
    async fn feed_early(&mut self) -> Result<(), DaemonError> {
        if self.early.is_none() {
            match open_readers(&self.store, 1).await?.pop() {
                Some(reader) => {
                    self.early = Some(EarlyRecompute::start(
                        &self.store,
                        reader,
                        self.state(),
                        self.name(),
                        self.settings.early_on_idle_cpu,
                    )?);
                }
                None => self.early_possible = false,
            }
        }
        if let Some(e) = &self.early {
            e.feed(&mut self.pending);
        }
        Ok(())
    }

    /// Hands `pages` to the store on a blocking task and returns at once:
    /// the loop fetches and parses the next pages while the store commits
    /// these (with the last one's cursor, in one transaction).
    fn spawn_apply(&self, pages: Vec<Page>) -> Applying {
        let count = pages.len() as u64;
        let records = pages.iter().map(|p| p.records.len() as u64).sum();
        let (store, src) = (self.store.clone(), self.name().to_string());
        let state = self.state().clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().map_err(|_| DaemonError::Poisoned("store"))?;
            let applied = guard.apply_batch(&src, &pages).map_err(DaemonError::from);
            if let Ok(a) = &applied {
                // Still holding the store: the figures never count a row
                // it no longer has.
                uncount_dropped(&state, &src, &a.dropped_clocks);
            }
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

    /// Waits for the batch in flight, if any: its pages count as committed
    /// only now, and the tickets it changed become pending. An error of the
    /// apply is returned (and stops the poll loop).
    async fn finish_apply(&mut self) -> Result<(), DaemonError> {
        let Some(a) = self.applying.take() else {
            return Ok(());
        };
        let applied = a.task.await.map_err(DaemonError::task("a store task"))??;
        self.summary.pages += a.pages;
        self.summary.records += a.records;
        with_health(self.state(), self.name(), |h| h.records += a.records);
        self.pending.add(applied);
        Ok(())
    }

    /// Finishes the early recompute, if one runs.
    async fn finish_early(&mut self) -> Result<(), DaemonError> {
        match self.early.take() {
            Some(e) => e.finish(&mut self.summary, &mut self.pending).await,
            None => Ok(()),
        }
    }

    /// A recompute of the source's tickets under `config` (whose turn is
    /// `turn`) into the daemon's live index.
    fn recompute<'a>(&'a self, config: &'a Arc<Config>, turn: &'a ConfigTurn) -> Recompute<'a> {
        Recompute {
            store: &self.store,
            live: &self.state().live,
            source: self.name(),
            config,
            turn,
        }
    }

    /// Recomputes every pending ticket (and whatever else the store has
    /// marked stale).
    async fn recompute_pending(&mut self) -> Result<(), DaemonError> {
        let (config, turn) = self.state().config_and_turn();
        let ids = self.pending.take_all();
        let n = self.recompute(&config, &turn).stale(&ids).await?;
        // No batch is being committed meanwhile: they were reconciled with
        // every record stored.
        self.pending.settle_recorded(&ids);
        self.summary.recomputed += n;
        count_recomputed(self.state(), self.name(), n);
        Ok(())
    }

    /// Reconciles the tickets whose record of the helpdesk's own SLA
    /// changed and whose clocks did not (see [`Pending::recorded`]).
    async fn reconcile_recorded(&mut self) -> Result<(), DaemonError> {
        let ids = self.pending.take_recorded();
        if ids.is_empty() {
            return Ok(());
        }
        let (config, turn) = self.state().config_and_turn();
        let n = self.recompute(&config, &turn).reconciliations(ids).await?;
        self.summary.reconciled += n;
        // Into the health the exporter serves.
        update_stored_counts(self.state());
        self.state().dirty.notify_one();
        Ok(())
    }

    /// Every stream caught up: the last batch is committed, then what
    /// changed is recomputed once, with every stream's records in (a
    /// ticket's header and its events arrive on different streams).
    async fn all_caught_up(
        &mut self,
        backfilling: bool,
        started: Instant,
    ) -> Result<(), DaemonError> {
        self.finish_apply().await?;
        if backfilling {
            self.summary.stored_after = Some(started.elapsed());
        }
        if let Some(e) = self.early.take() {
            e.finish_with_the_rest(&mut self.summary, &mut self.pending)
                .await?;
            update_stored_counts(self.state());
        }
        if !self.pending.changed.is_empty() {
            self.recompute_pending().await?;
        }
        // Once per poll, with every stream caught up: a ticket's record
        // arrives over several pages.
        self.reconcile_recorded().await?;
        if backfilling {
            let s = &self.summary;
            info!(
                pages = s.pages,
                records = s.records,
                tickets_recomputed = s.recomputed,
                recomputed_during_backfill = s.recomputed_early,
                tickets_reconciled = s.reconciled,
                stored_secs = s
                    .stored_after
                    .map_or(0.0, |d| (d.as_secs_f64() * 10.0).round() / 10.0),
                secs = started.elapsed().as_secs(),
                "caught up with every stream"
            );
            // The backfill's write-ahead log back into the file: a store
            // that keeps a log as large as its data wastes the disk.
            if let Err(e) = blocking(&self.store, |s| Ok(s.checkpoint()?)).await {
                warn!(error = %e, "could not checkpoint the store after the backfill");
            }
        }
        Ok(())
    }

    /// Notes a completed poll (every stream caught up), which reports use
    /// to show gaps in the data's freshness.
    async fn record_poll(&self, cycle: Instant) -> Result<(), DaemonError> {
        let at = now_unix();
        let src = self.name().to_string();
        let approximated = blocking(&self.store, move |s| {
            s.record_poll(&src, at)?;
            Ok(s.count_notes(&src, APPROXIMATED_HISTORY)?)
        })
        .await?;
        let took = cycle.elapsed().as_secs_f64();
        with_health(self.state(), self.name(), |h| {
            h.last_success = at;
            h.poll_duration_seconds = took;
            h.approximated_tickets = approximated;
        });
        self.state().dirty.notify_one();
        Ok(())
    }

    /// One progress line per stream not yet reported caught up.
    fn log_progress(
        &self,
        streams: &mut [StreamInLoop],
        backfilling: bool,
        timing: &Timing,
        group_started: Instant,
    ) {
        let s = &self.summary;
        let secs = timing.started.elapsed().as_secs_f64().max(0.001);
        for stream in streams.iter_mut().filter(|s| !s.reported) {
            let estimate = if backfilling {
                stream
                    .progress
                    .estimate(group_started.elapsed(), now_unix())
            } else {
                None
            };
            info!(
                stream = stream.stream,
                pages = s.pages,
                records = s.records,
                tickets_recomputed = s.recomputed,
                records_per_s = (s.records as f64 / secs).round() as u64,
                done_pct = estimate.map(|(d, _)| (d * 1000.0).round() / 10.0),
                eta_s = estimate.map(|(_, eta)| eta.as_secs()),
                caught_up = stream.caught_up,
                "{}",
                if backfilling {
                    "backfill progress"
                } else {
                    "poll progress"
                }
            );
            // A stream that caught up is not reported again.
            stream.reported = stream.caught_up;
        }
    }
}

/// Why a task ended without returning: its panic message, or that it was
/// cancelled.
fn task_failure(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return e.to_string();
    }
    let panic = e.into_panic();
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    format!("panicked: {text}")
}

/// The first wait before a stopped poll loop starts again; it doubles with
/// each stop, up to [`RESTART_MAX`], and starts over once a loop ran for
/// [`RESTART_MAX`] without stopping.
pub(super) const RESTART_FIRST: Duration = Duration::from_secs(5);
const RESTART_MAX: Duration = Duration::from_secs(300);

/// Runs a source's poll loop and, unless it is a backfill, starts it again
/// (with a fresh adapter from `build`) whenever it stops before shutdown:
/// an error, or a panic in it or one of its readers. Meanwhile the source
/// is down (`up` false, `stopped` says why, so `/-/ready` answers 503),
/// never silently polling nothing. A backfill (`once`) fails instead.
pub(super) async fn supervise<B>(
    name: String,
    build: B,
    store: SharedStore,
    state: Arc<DaemonState>,
    settings: PollSettings,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(String, SourceSummary), DaemonError>
where
    B: Fn() -> Result<Box<dyn Source>, DaemonError> + Send,
{
    let name = name.as_str();
    let mut wait = settings.restart_after;
    loop {
        let started = Instant::now();
        // An adapter that cannot be built again (a token file gone, say)
        // is a stop like any other: retried, and the source down meanwhile.
        let outcome = match build() {
            Ok(source) => {
                let poll = PollLoop::new(
                    name,
                    source,
                    store.clone(),
                    state.clone(),
                    settings,
                    shutdown.clone(),
                );
                tokio::spawn(poll.run().in_current_span())
                    .await
                    .map_err(|e| DaemonError::Source {
                        name: name.to_string(),
                        message: format!("the poll loop failed: {}", task_failure(e)),
                    })
                    .and_then(|r| r)
            }
            Err(e) => Err(e),
        };
        let e = match outcome {
            Ok(done) => return Ok(done),
            // Under a lease that was lost, restarting would be refused too.
            Err(e) if settings.once || *shutdown.borrow() || e.is_lease_lost() => return Err(e),
            Err(e) => e,
        };
        if started.elapsed() >= RESTART_MAX {
            wait = settings.restart_after;
        }
        tracing::error!(error = %e, restart_in_s = wait.as_secs_f64(), "the source's poll loop stopped; the source is down until it restarts");
        with_health(&state, name, |h| {
            h.up = false;
            h.retries += 1;
            h.stopped = Some(e.to_string());
        });
        state.dirty.notify_one();
        let stopping = sleep_or_stop(wait, &mut shutdown).await;
        with_health(&state, name, |h| h.stopped = None);
        if stopping {
            return Ok((name.to_string(), SourceSummary::default()));
        }
        info!("restarting the source's poll loop");
        wait = (wait * 2).min(RESTART_MAX);
    }
}

/// The source's stream groups (see [`Source::stream_groups`]), checked to
/// name each of its streams once.
fn stream_groups(name: &str, source: &dyn Source) -> Result<Vec<Vec<&'static str>>, DaemonError> {
    let groups = source.stream_groups();
    let mut named: Vec<&str> = groups.iter().flatten().copied().collect();
    let mut streams = source.streams().to_vec();
    named.sort_unstable();
    streams.sort_unstable();
    if named != streams {
        return Err(DaemonError::Source {
            name: name.to_string(),
            message: format!(
                "the {} adapter groups the streams {named:?}, but has {streams:?}",
                source.kind()
            ),
        });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{PollFuture, Record, TicketHeader};
    use crate::store::SqliteStore;
    use std::collections::BTreeMap;
    use std::sync::mpsc as std_mpsc;
    use std::sync::Mutex;

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

    /// A reader that panics (as one did on a `Retry-After` near 2^64)
    /// stops the loop; the source is then down and not ready, saying why,
    /// and its loop is started again with a fresh adapter (retried when
    /// that cannot be built), which polls on from the stored cursor.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reader_that_panics_marks_the_source_down_and_is_restarted() {
        let config = Arc::new(
            crate::config_files::load(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
            )
            .unwrap(),
        );
        let state = Arc::new(DaemonState::detached(config));
        let store: SharedStore = Arc::new(Mutex::new(Box::new(SqliteStore::in_memory().unwrap())));
        let (stop_tx, stop_rx) = watch::channel(false);
        let builds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = builds.clone();
        let build = move || -> Result<Box<dyn Source>, DaemonError> {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            if n == 1 {
                // The first restart cannot build the adapter: retried too.
                return Err(DaemonError::BuildSource("injected build failure".into()));
            }
            let first = n == 0;
            let hook = move |n: usize| {
                if first && n == 3 {
                    panic!("injected reader failure");
                }
            };
            Ok(Box::new(Pages {
                last: 5,
                hook: Box::new(hook),
            }))
        };
        let settings = PollSettings {
            interval: Duration::from_secs(60),
            min_gap: Duration::ZERO,
            once: false,
            early_on_idle_cpu: true,
            restart_after: Duration::from_millis(300),
        };
        let task = tokio::spawn(supervise(
            "s".to_string(),
            build,
            store.clone(),
            state.clone(),
            settings,
            stop_rx,
        ));
        let deadline = Instant::now() + Duration::from_secs(5);
        let stopped = loop {
            let h = state.health.lock().unwrap().sources.get("s").cloned();
            if let Some(h) = h.filter(|h| h.stopped.is_some()) {
                break h;
            }
            assert!(
                Instant::now() < deadline,
                "the source was never marked down"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(!stopped.up);
        let why = state
            .not_ready()
            .expect("not ready while the source is down");
        assert!(
            why.contains("source s") && why.contains("injected reader failure"),
            "{why}"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let cursor = store.lock().unwrap().cursor("s", "tickets").unwrap();
            if cursor.as_deref() == Some("5") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the source was never restarted: cursor {cursor:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(builds.load(Ordering::SeqCst), 3);
        assert_eq!(state.not_ready(), None);
        assert!(state.health.lock().unwrap().sources["s"].up);
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
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
        let store: SharedStore = Arc::new(Mutex::new(Box::new(SqliteStore::in_memory().unwrap())));
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
        let settings = PollSettings {
            interval: Duration::from_secs(60),
            min_gap: Duration::ZERO,
            once: false,
            early_on_idle_cpu: true,
            restart_after: RESTART_FIRST,
        };
        let poll = PollLoop::new(
            "s",
            Box::new(source),
            store.clone(),
            state,
            settings,
            stop_rx,
        );
        let task = tokio::spawn(poll.run());
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
