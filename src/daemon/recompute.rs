//! Recomputation: reads tickets from the store, evaluates their clocks on
//! every core, saves them and puts them in the live index, chunk by chunk,
//! without losing a change a poll commits meanwhile. A recompute compares
//! the clocks with the helpdesk's own SLA record too (the reconciliation
//! metrics), unless it reads the timelines alone (a backfill's early
//! recompute); and a ticket whose record alone changed is reconciled
//! without a recompute ([`Recompute::reconciliations`]): read with its
//! record, its clocks evaluated again and not saved.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tracing::{info, warn};

use super::counting::apply_saved;
use super::store_access::{blocking, open_readers, SharedStore};
use super::DaemonError;
use crate::clock::now_unix;
use crate::engine::crosscheck::{disagreements, Disagreement, CROSSCHECK_GRACE};
use crate::engine::{evaluate, Ticket};
use crate::exposition::Live;
use crate::policy::Config;
use crate::reconcile::{self, Outcome};
use crate::sources::{Reconciler, TheirSide};
use crate::state::ConfigTurn;
use crate::store::{encode_counted_clocks, CountedAs};

/// Tickets evaluated per store round trip of a recompute.
pub(super) const RECOMPUTE_CHUNK: usize = 2_000;

/// Clocks to save: `(ticket id, config hash, encoded clocks)`.
type ClockRows = Vec<(String, String, Vec<u8>)>;

/// Where a ticket's events disagree with its ticket record (nothing for a
/// deleted or unknown ticket), and how its clocks compare with the
/// helpdesk's own SLA record.
type EvaluatedTicket = (String, Vec<Disagreement>, Reconciliation);

/// What a recompute found of how a ticket's clocks compare with the
/// helpdesk's own SLA record.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Reconciliation {
    /// Not compared: the recompute did not read the record (the live index
    /// keeps what it has).
    Unread,
    /// Compared (`None`: the source reads no record, or the ticket has none,
    /// or is gone).
    Compared(Option<Reconciled>),
}

/// Whether a recompute reads the helpdesk's own SLA record of its tickets
/// and compares their clocks with it (see [`Reconciliation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reconciling {
    Yes,
    /// The timelines alone ([`crate::store::Store::timelines`]): the
    /// tickets are reconciled later.
    No,
}

/// One chunk's evaluation: the clocks rows to save (which go into the live
/// index as they are saved), and each ticket's disagreements.
pub(super) type Evaluated = (ClockRows, Vec<EvaluatedTicket>);

/// A ticket's clock instances reconciled: each one's metric and outcome.
type Reconciled = Vec<(String, Outcome)>;

/// Evaluated chunks waiting for the store before evaluation waits too.
const SAVE_QUEUE_CHUNKS: usize = 16;

/// Chunks read and evaluated at once by a recompute of many tickets, each
/// on a reading connection of its own.
const RECOMPUTE_WORKERS: usize = 2;

/// A recompute of one source's tickets under one config, into one live
/// index (the daemon's, or a reload's side index).
pub(super) struct Recompute<'a> {
    pub(super) store: &'a SharedStore,
    pub(super) live: &'a Arc<Mutex<Live>>,
    pub(super) source: &'a str,
    pub(super) config: &'a Arc<Config>,
    /// The config's turn: once a reload supersedes it, nothing of this
    /// recompute is saved or published any more.
    pub(super) turn: &'a ConfigTurn,
}

impl Recompute<'_> {
    /// Recomputes tickets whose clocks were computed under another config:
    /// a changed target or calendar re-evaluates past tickets too.
    pub(super) async fn computed_under_other_config(&self) -> Result<u64, DaemonError> {
        let (src, hash) = (self.source.to_string(), self.config.clocks_hash.clone());
        let ids = blocking(self.store, move |s| {
            Ok(s.ticket_ids_computed_under_other_config(&src, &hash)?)
        })
        .await?;
        if !ids.is_empty() {
            info!(tickets = ids.len(), config = %self.config.hash, "the config or the engine changed: recomputing these tickets' clocks");
        }
        Ok(self.tickets(ids).await?.saved)
    }

    /// Recomputes tickets whose clocks are missing or stale, plus `also`
    /// (ids that changed, including deleted ones, which leave the
    /// exposition).
    pub(super) async fn stale(&self, also: &[String]) -> Result<u64, DaemonError> {
        let src = self.source.to_string();
        let mut ids = blocking(self.store, move |s| Ok(s.stale_ticket_ids(&src)?)).await?;
        if !ids.is_empty() {
            info!(tickets = ids.len(), "recomputing clocks of changed tickets");
        }
        // Rows stored before they said what they were counted under: saved
        // again, they do (and the index forgets what it kept for them).
        let legacy = match self.live.lock() {
            Ok(live) => live.legacy_ids(self.source),
            Err(_) => Vec::new(),
        };
        if !legacy.is_empty() {
            info!(
                tickets = legacy.len(),
                "saving clocks stored in an older form again"
            );
        }
        let also: Vec<String> = also.iter().cloned().chain(legacy).collect();
        let also = &also;
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
        Ok(self.tickets(ids).await?.saved)
    }

    /// Evaluates the given tickets now, stores their clocks and puts them
    /// in the live index; ids the store no longer has (deleted) leave it.
    ///
    /// Chunks flow through stages so both cores share the work: with more
    /// than one chunk, [`RECOMPUTE_WORKERS`] reading connections of their
    /// own (SQLite's WAL lets them read committed state while the store
    /// writes) each read and evaluate a chunk, while the store saves the
    /// chunks before. A store in memory has no second connection: it reads
    /// and saves, and evaluation runs beside it. The live index takes
    /// chunks in order once they are evaluated; a failed save stops the
    /// recompute with its error, and the tickets stay marked stale in the
    /// store, so nothing is lost. Pages may be applied meanwhile: a ticket
    /// they change after its snapshot keeps its stale mark (and is returned
    /// as overtaken).
    pub(super) async fn tickets(&self, ids: Vec<String>) -> Result<Recomputed, DaemonError> {
        let (src, cfg) = (self.source.to_string(), self.config.clone());
        let mut chunks = InChunks::start(self.store, ids, Readers::Own, move |reader, chunk| {
            read_and_evaluate(reader, &src, &cfg, chunk, Reconciling::Yes)
        })
        .await?;
        let saver = Saver::start(
            self.store,
            self.source,
            self.turn.clone(),
            self.live.clone(),
            self.config.clone(),
        );
        while let Some(result) = chunks.next().await {
            let ((rows, evaluated), generation) = result?;
            if !saver.push(rows, generation).await {
                break;
            }
            publish(self.live, self.source, &evaluated, self.turn);
        }
        saver.finish().await
    }
}

/// Which connections [`InChunks`] reads on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readers {
    /// Reading connections of their own.
    Own,
    /// The store's own connection.
    None,
}

/// The work on a chunk of ticket ids, given the connection to read on.
type ChunkWork<T> = dyn Fn(&SharedStore, &[String]) -> Result<T, DaemonError> + Send + Sync;

/// Ticket ids worked on a chunk at a time ([`RECOMPUTE_CHUNK`]) by
/// blocking tasks, and the results handed back in the chunks' order. With
/// more than one chunk, on [`RECOMPUTE_WORKERS`] reading connections of
/// their own (SQLite's WAL lets them read committed state while the store
/// writes), one chunk each at a time; else, or on a store without them
/// (one in memory), or when asked, on the store itself, two chunks at a
/// time (one is read while the other is worked on).
struct InChunks<T> {
    readers: Vec<SharedStore>,
    chunks: std::iter::Enumerate<std::vec::IntoIter<Vec<String>>>,
    running: VecDeque<tokio::task::JoinHandle<Result<T, DaemonError>>>,
    work: Arc<ChunkWork<T>>,
    span: tracing::Span,
}

impl<T: Send + 'static> InChunks<T> {
    /// On `readers` reading connections of their own, or the store itself
    /// (with [`Readers::None`], or when there is a chunk only).
    async fn start(
        store: &SharedStore,
        ids: Vec<String>,
        readers: Readers,
        work: impl Fn(&SharedStore, &[String]) -> Result<T, DaemonError> + Send + Sync + 'static,
    ) -> Result<InChunks<T>, DaemonError> {
        let mut readers = if ids.len() > RECOMPUTE_CHUNK && readers == Readers::Own {
            open_readers(store, RECOMPUTE_WORKERS).await?
        } else {
            Vec::new()
        };
        if readers.is_empty() {
            readers.push(store.clone());
        }
        let chunks: Vec<Vec<String>> = ids
            .chunks(RECOMPUTE_CHUNK)
            .map(<[String]>::to_vec)
            .collect();
        let mut this = InChunks {
            readers,
            chunks: chunks.into_iter().enumerate(),
            running: VecDeque::new(),
            work: Arc::new(work),
            span: tracing::Span::current(),
        };
        for _ in 0..RECOMPUTE_WORKERS.max(this.readers.len()) {
            this.spawn_next();
        }
        Ok(this)
    }

    fn spawn_next(&mut self) {
        let Some((n, chunk)) = self.chunks.next() else {
            return;
        };
        let (reader, work, span) = (
            self.readers[n % self.readers.len()].clone(),
            self.work.clone(),
            self.span.clone(),
        );
        self.running.push_back(tokio::task::spawn_blocking(move || {
            let _in_source = span.enter();
            work(&reader, &chunk)
        }));
    }

    /// The next chunk's result, in order; `None` once all are handed back.
    /// The chunk after the next ones starts meanwhile.
    async fn next(&mut self) -> Option<Result<T, DaemonError>> {
        let task = self.running.pop_front()?;
        let result = match task.await {
            Ok(result) => result,
            Err(e) => Err(DaemonError::task("a recompute task")(e)),
        };
        self.spawn_next();
        Some(result)
    }
}

/// Evaluates the tickets of a chunk at `now` (no store access), and
/// reconciles each with the helpdesk's record read by `theirs` (with
/// `Some`; `None`: not compared).
fn evaluate_chunk(
    config: &Config,
    chunk: &[String],
    tickets: &[Ticket],
    now: i64,
    theirs: Option<Option<&TheirSide>>,
) -> Evaluated {
    let mut rows = Vec::with_capacity(tickets.len());
    let mut evaluated = Vec::with_capacity(chunk.len());
    let mut found: HashSet<&str> = HashSet::with_capacity(tickets.len());
    for t in tickets {
        let clocks = evaluate(&config.policy, t, now);
        let views: Vec<_> = clocks.iter().map(|c| c.view(&config.policy)).collect();
        let counted = CountedAs {
            created_at: t.created_at,
            organization: t.organization.as_ref().map(|o| o.id.as_str()),
        };
        rows.push((
            t.id.clone(),
            config.clocks_hash.clone(),
            encode_counted_clocks(counted, &views),
        ));
        found.insert(t.id.as_str());
        let reconciled = match theirs {
            None => Reconciliation::Unread,
            Some(theirs) => Reconciliation::Compared(
                theirs.and_then(|theirs| reconciled(config, t, &clocks, now, theirs)),
            ),
        };
        evaluated.push((
            t.id.clone(),
            disagreements(t, now, CROSSCHECK_GRACE),
            reconciled,
        ));
    }
    for id in chunk {
        if !found.contains(id.as_str()) {
            evaluated.push((id.clone(), Vec::new(), Reconciliation::Compared(None)));
        }
    }
    (rows, evaluated)
}

/// A ticket's clocks at `now` reconciled with the helpdesk's record read by
/// `theirs` (`None`: the ticket has none).
fn reconciled(
    config: &Config,
    ticket: &Ticket,
    clocks: &[crate::engine::Clock],
    now: i64,
    theirs: &TheirSide,
) -> Option<Reconciled> {
    let side = theirs(ticket, now);
    if side.recorded.is_empty() {
        return None;
    }
    let (_, compared) = reconcile::with_clocks(
        &config.policy,
        ticket,
        clocks,
        now,
        side,
        reconcile::DEFAULT_TOLERANCE_SECONDS,
    );
    Some(
        compared
            .into_iter()
            .map(|c| (c.metric, c.outcome))
            .collect(),
    )
}

/// Reads a chunk's tickets from `reader` and reconciles each with the
/// helpdesk's record (its clocks evaluated again at `now`, not saved):
/// each id with its comparison, `None` for a ticket without a record or
/// no longer stored.
fn read_and_reconcile(
    reader: &SharedStore,
    source: &str,
    config: &Config,
    theirs: &TheirSide,
    chunk: &[String],
) -> Result<Vec<(String, Option<Reconciled>)>, DaemonError> {
    let tickets = reader
        .lock()
        .map_err(|_| DaemonError::Poisoned("store"))?
        .tickets(source, chunk)?;
    let now = now_unix();
    let mut out: Vec<(String, Option<Reconciled>)> = Vec::with_capacity(chunk.len());
    let mut found: HashSet<String> = HashSet::with_capacity(tickets.len());
    for t in &tickets {
        let clocks = evaluate(&config.policy, t, now);
        out.push((t.id.clone(), reconciled(config, t, &clocks, now, theirs)));
        found.insert(t.id.clone());
    }
    out.extend(
        chunk
            .iter()
            .filter(|id| !found.contains(*id))
            .map(|id| (id.clone(), None)),
    );
    Ok(out)
}

/// Reads a chunk's tickets from `reader` (whole, or their timelines
/// alone when not `reconciling`), then evaluates them with the lock
/// released (when `reader` is the store itself, it can save the previous
/// chunk meanwhile). Also returns the store generation the snapshot holds
/// (see [`crate::store::Store::generation`]).
pub(super) fn read_and_evaluate(
    reader: &SharedStore,
    source: &str,
    config: &Config,
    chunk: &[String],
    reconciling: Reconciling,
) -> Result<(Evaluated, u64), DaemonError> {
    let (tickets, generation) = {
        let guard = reader.lock().map_err(|_| DaemonError::Poisoned("store"))?;
        let generation = guard.generation();
        let tickets = match reconciling {
            Reconciling::Yes => guard.tickets(source, chunk)?,
            Reconciling::No => guard.timelines(source, chunk)?,
        };
        (tickets, generation)
    };
    let theirs = (reconciling == Reconciling::Yes).then(|| {
        Reconciler::of(config, source).and_then(|(r, spec)| (r.theirs)(spec, &config.policy).ok())
    });
    Ok((
        evaluate_chunk(
            config,
            chunk,
            &tickets,
            now_unix(),
            theirs.as_ref().map(Option::as_ref),
        ),
        generation,
    ))
}

impl Recompute<'_> {
    /// Brings the reconciliation of the given tickets with the helpdesk's
    /// own SLA record up to date in the live index, for tickets whose
    /// record changed and whose clocks did not: each is read with its
    /// record and its clocks evaluated again, not saved. Chunks are read
    /// on the store's own connection and compared beside it, and published
    /// in order while the config's turn is current. Returns how many
    /// tickets were reconciled (none when the source reads no record).
    pub(super) async fn reconciliations(&self, ids: Vec<String>) -> Result<u64, DaemonError> {
        let Some(theirs) = Reconciler::of(self.config, self.source)
            .and_then(|(r, spec)| (r.theirs)(spec, &self.config.policy).ok())
        else {
            return Ok(0);
        };
        if ids.is_empty() {
            return Ok(0);
        }
        info!(
            tickets = ids.len(),
            "reconciling tickets whose SLA record in the helpdesk changed"
        );
        let (src, cfg) = (self.source.to_string(), self.config.clone());
        // On the store's own connection: nothing is written meanwhile (it
        // runs once the poll has caught up), its page cache holds what the
        // poll just wrote, and reading connections map the file (a
        // backfill's pass reads all of it, which counted as half a GB more
        // resident memory on 97,000 tickets).
        let mut chunks = InChunks::start(self.store, ids, Readers::None, move |reader, chunk| {
            read_and_reconcile(reader, &src, &cfg, &theirs, chunk)
        })
        .await?;
        let mut done = 0;
        while let Some(result) = chunks.next().await {
            let compared = result?;
            let mut live = self
                .live
                .lock()
                .map_err(|_| DaemonError::Poisoned("clock index"))?;
            // Checked holding the index: a reload swaps its own in later.
            if !self.turn.is_current() {
                break;
            }
            for (id, reconciled) in &compared {
                live.set_reconciled(self.source, id, reconciled.as_deref());
            }
            done += compared.len() as u64;
        }
        Ok(done)
    }
}

/// What a recompute did: clocks saved, and the tickets whose clocks were
/// not saved because a commit changed them after they were read (they stay
/// stale in the store).
#[derive(Debug, Default)]
pub(super) struct Recomputed {
    pub(super) saved: u64,
    pub(super) overtaken: Vec<String>,
}

/// Saves evaluated chunks in order on the store's connection: what has
/// queued up goes in one transaction whenever the store is free, so when
/// pages are being applied meanwhile, evaluation does not wait for each
/// chunk's turn at the store.
pub(super) struct Saver {
    queue: mpsc::Sender<(ClockRows, u64)>,
    task: tokio::task::JoinHandle<Result<Recomputed, DaemonError>>,
}

impl Saver {
    /// Saves on `store` while `turn` is current; once a reload supersedes
    /// it, each chunk is refused whole (its tickets count as overtaken and
    /// keep their stale marks, for a recompute under the new config).
    ///
    /// Each saved row goes into `live` over the row it replaced, while the
    /// store is still held: the index counts exactly the rows stored.
    pub(super) fn start(
        store: &SharedStore,
        source: &str,
        turn: ConfigTurn,
        live: Arc<Mutex<Live>>,
        config: Arc<Config>,
    ) -> Saver {
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
                let turn = turn.clone();
                let (live, config) = (live.clone(), config.clone());
                let (saved, overtaken) = blocking(&store, move |s| {
                    // Checked holding the store: a reload that supersedes
                    // the config after this saves its own clocks later.
                    if !turn.is_current() {
                        return Ok((0, rows.into_iter().map(|(id, _, _)| id).collect()));
                    }
                    let done = s.save_clocks_as_of(&src, &rows, generation)?;
                    let mut live = live
                        .lock()
                        .map_err(|_| DaemonError::Poisoned("clock index"))?;
                    apply_saved(&mut live, &config, &src, &rows, &done.saved);
                    Ok((done.saved.len() as u64, done.overtaken))
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
    pub(super) async fn push(&self, rows: ClockRows, generation: u64) -> bool {
        self.queue.send((rows, generation)).await.is_ok()
    }

    pub(super) async fn finish(self) -> Result<Recomputed, DaemonError> {
        drop(self.queue);
        self.task
            .await
            .map_err(DaemonError::task("a recompute task"))?
    }
}

/// Records in `live` which of a chunk's tickets disagree with their
/// ticket record (their clocks go in as they are saved).
pub(super) fn publish(
    live: &Mutex<Live>,
    source: &str,
    evaluated: &[EvaluatedTicket],
    turn: &ConfigTurn,
) {
    let mut found: Vec<(&str, &[Disagreement])> = Vec::new();
    if let Ok(mut live) = live.lock() {
        // Checked holding the index: a reload swaps its own in later.
        if !turn.is_current() {
            return;
        }
        for (id, disagree, reconciled) in evaluated {
            if live.mark_inconsistent(source, id, !disagree.is_empty()) {
                found.push((id, disagree));
            }
            if let Reconciliation::Compared(reconciled) = reconciled {
                live.set_reconciled(source, id, reconciled.as_deref());
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
            tickets = found.len(),
            first = %id,
            disagreement = %what.join("; "),
            "tickets whose events disagree with the helpdesk's ticket record (events missing from the export?); counted in helpdesk_slo_source_inconsistent_tickets and listed in the report"
        );
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::sources::{Page, Record, TicketHeader};
    use crate::state::DaemonState;
    use crate::store::{SqliteStore, Store};

    /// One plan, a first response of 4h for priority high.
    pub(in crate::daemon) const CONFIG: &str = "calendars:\n  c: { timezone: UTC, hours: 24x7 }\nseverities:\n  - { name: high, priorities: [high] }\nmetrics:\n  first_response: { kind: first_response }\nplans:\n  p:\n    default: true\n    calendar: c\n    objective: 95%\n    targets:\n      high: { first_response: 4h }\n";

    /// A store in memory with ticket 7 of source `s` (priority high,
    /// created at 1_790_000_000), and `more` records beside it.
    pub(in crate::daemon) fn store_with_a_ticket(more: Vec<Record>) -> SharedStore {
        let mut store = SqliteStore::in_memory().unwrap();
        let header = TicketHeader {
            id: "7".into(),
            created_at: 1_790_000_000,
            updated_at: 1_790_000_000,
            url: None,
            organization_id: None,
            requester_id: None,
            tags: Vec::new(),
            fields: Default::default(),
            deleted: false,
            status: None,
            priority: Some("high".into()),
            group: None,
        };
        let page = Page {
            stream: "tickets".into(),
            records: std::iter::once(Record::Ticket(header))
                .chain(more)
                .collect(),
            cursor: "c1".into(),
            caught_up: true,
        };
        store.apply_page("s", &page).unwrap();
        Arc::new(Mutex::new(Box::new(store)))
    }

    /// A recompute of source `s` of `store` into `state`'s live index.
    pub(in crate::daemon) fn recompute_of<'a>(
        store: &'a SharedStore,
        state: &'a DaemonState,
        config: &'a Arc<Config>,
        turn: &'a ConfigTurn,
    ) -> Recompute<'a> {
        Recompute {
            store,
            live: &state.live,
            source: "s",
            config,
            turn,
        }
    }

    /// A recompute whose config a reload has superseded saves and
    /// publishes nothing: its tickets stay stale, for the new config.
    #[tokio::test]
    async fn a_superseded_recompute_saves_and_publishes_nothing() {
        let config = Arc::new(crate::policy::Config::from_yaml(CONFIG, "c.yaml".as_ref()).unwrap());
        let state = DaemonState::detached(config.clone());
        let store = store_with_a_ticket(Vec::new());
        let (config, turn) = state.config_and_turn();
        let recompute = recompute_of(&store, &state, &config, &turn);
        // Current: saved and published.
        let done = recompute.tickets(vec!["7".into()]).await.unwrap();
        assert_eq!(done.saved, 1);
        assert!(state.live.lock().unwrap().ticket_count() > 0);
        // Superseded (a reload started): refused whole.
        *state.live.lock().unwrap() = Live::new();
        let _new = state.supersede_config();
        assert!(!turn.is_current());
        let done = recompute.tickets(vec!["7".into()]).await.unwrap();
        assert_eq!(done.saved, 0);
        assert_eq!(done.overtaken, vec!["7".to_string()]);
        assert_eq!(state.live.lock().unwrap().ticket_count(), 0);
        // A failed reload gives the turn back.
        state.keep_config_in_force();
        assert!(turn.is_current());
    }
}
