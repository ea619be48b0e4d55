//! A backfill's early recompute: clocks of tickets that look complete are
//! computed while later pages are still fetched and committed, on the CPU
//! the fetching and the store's writer leave idle. It reads their
//! timelines alone, not the helpdesk's own SLA record of them (still
//! arriving on a stream of its own): the tickets it computes are
//! reconciled with that record once every stream has caught up.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tracing::{info, Instrument};

use super::health::{count_recomputed, with_health};
use super::pending::Pending;
use super::recompute::{
    publish, read_and_evaluate, Recompute, Recomputed, Reconciling, Saver, RECOMPUTE_CHUNK,
};
use super::store_access::SharedStore;
use super::{DaemonError, SourceSummary};
use crate::sources::Reconciler;
use crate::state::DaemonState;

/// During a backfill, tickets that look complete have their clocks
/// computed while later pages are still being fetched and committed, on
/// what CPU the fetching and the store's writer leave idle; they are handed
/// over once at least this many are waiting. The rest are computed when
/// every stream has caught up.
pub(super) const EARLY_RECOMPUTE_MIN: usize = RECOMPUTE_CHUNK;

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
pub(super) struct EarlyRecompute {
    queue: EarlyQueue,
    task: tokio::task::JoinHandle<Result<EarlyDone, DaemonError>>,
    store: SharedStore,
    state: Arc<DaemonState>,
    source: String,
    /// The source reads the helpdesk's own SLA record (under the config the
    /// thread evaluates with), which the thread does not read.
    reconciles: bool,
}

impl EarlyRecompute {
    /// Starts the thread, reading on `reader`, and the task that saves on
    /// `store`.
    pub(super) fn start(
        store: &SharedStore,
        reader: SharedStore,
        state: &Arc<DaemonState>,
        source: &str,
        on_idle_cpu: bool,
    ) -> Result<EarlyRecompute, DaemonError> {
        let queue: EarlyQueue =
            Arc::new((Mutex::new(Some(VecDeque::new())), std::sync::Condvar::new()));
        let (out, mut evaluated) = mpsc::channel(2);
        // One config for the thread's evaluation and the task's publishing,
        // even if a reload swaps the daemon's config meanwhile.
        let (config, turn) = state.config_and_turn();
        let reconciles = Reconciler::of(&config, source).is_some();
        let (src, evaluating_config) = (source.to_string(), config.clone());
        let work = queue.clone();
        let span = tracing::Span::current();
        std::thread::Builder::new()
            .name("early-recompute".into())
            .spawn(move || {
                let _in_source = span.enter();
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
                    // A backfill reads a ticket's record over many pages
                    // of its own stream: compared once it has caught up.
                    let result = read_and_evaluate(
                        &reader,
                        &src,
                        &evaluating_config,
                        &chunk,
                        Reconciling::No,
                    );
                    let failed = result.is_err();
                    let sent = out.blocking_send((chunk, as_of, result));
                    if sent.is_err() || failed {
                        return;
                    }
                }
            })
            .map_err(|source| DaemonError::Thread {
                what: "early recompute",
                source,
            })?;
        let (saving_store, saving_state, src) = (store.clone(), state.clone(), source.to_string());
        let task = tokio::spawn(
            async move {
                let saver = Saver::start(
                    &saving_store,
                    &src,
                    turn.clone(),
                    saving_state.live.clone(),
                    config.clone(),
                );
                let mut handed = Vec::new();
                while let Some((ids, as_of, result)) = evaluated.recv().await {
                    let ((rows, tickets), generation) = result?;
                    if !saver.push(rows, generation).await {
                        break;
                    }
                    publish(&saving_state.live, &src, &tickets, &turn);
                    handed.push((ids, as_of));
                }
                Ok((handed, saver.finish().await?))
            }
            .in_current_span(),
        );
        Ok(EarlyRecompute {
            queue,
            task,
            store: store.clone(),
            state: state.clone(),
            source: source.to_string(),
            reconciles,
        })
    }

    /// Hands over the complete tickets `pending` holds.
    pub(super) fn feed(&self, pending: &mut Pending) {
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
    pub(super) async fn finish(
        self,
        summary: &mut SourceSummary,
        pending: &mut Pending,
    ) -> Result<(), DaemonError> {
        self.stop();
        let (handed, done) = self
            .task
            .await
            .map_err(DaemonError::task("a recompute task"))??;
        for (ids, as_of) in &handed {
            pending.settle(ids, *as_of, &done.overtaken);
            // Computed without their record: reconciled later.
            if self.reconciles {
                pending.recorded.extend(ids.iter().cloned());
            }
        }
        summary.recomputed += done.saved;
        summary.recomputed_early += done.saved;
        if done.saved > 0 {
            count_recomputed(&self.state, &self.source, done.saved);
        }
        Ok(())
    }

    /// Ends a backfill's early recompute: the tickets it was never handed,
    /// and those it had not started on, are computed on every core while it
    /// finishes its chunk in hand and saves what it computed. What is still
    /// pending after both is left in `pending`.
    pub(super) async fn finish_with_the_rest(
        self,
        summary: &mut SourceSummary,
        pending: &mut Pending,
    ) -> Result<(), DaemonError> {
        let mut rest = self.stop();
        rest.extend(pending.not_handed());
        rest.sort_unstable();
        rest.dedup();
        if !rest.is_empty() {
            info!(
                tickets = rest.len(),
                "recomputing clocks the backfill did not reach"
            );
        }
        let (store, state, source) = (self.store.clone(), self.state.clone(), self.source.clone());
        let (config, turn) = state.config_and_turn();
        let recompute = Recompute {
            store: &store,
            live: &state.live,
            source: &source,
            config: &config,
            turn: &turn,
        };
        let mut early_summary = SourceSummary::default();
        let (first, finished) = tokio::join!(
            recompute.tickets(rest.clone()),
            self.finish(&mut early_summary, pending)
        );
        finished?;
        let first = first?;
        summary.recomputed += early_summary.recomputed;
        summary.recomputed_early += early_summary.recomputed_early;
        // No batch was committed meanwhile: all but the overtaken are done.
        pending.settle(&rest, pending.batches, &first.overtaken);
        pending.settle_recorded(&rest);
        summary.recomputed += first.saved;
        with_health(&state, &source, |h| h.tickets_changed += first.saved);
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::recompute::tests::{recompute_of, store_with_a_ticket, CONFIG};
    use crate::sources::{ChangeRecord, EventRecord, Record};
    use crate::store::Applied;

    /// The recompute tests' config, with a Zendesk source reading its
    /// record.
    fn config() -> String {
        format!("{CONFIG}sources:\n  s:\n    kind: zendesk\n    url: https://acme.zendesk.com\n    auth: {{ email: ops@acme.example, token: {{ env: HELPDESK_SLO_EARLY_TEST_TOKEN }} }}\n    start_time: \"2026-09-01T00:00:00Z\"\n    ticket_metric_events: true\n")
    }

    /// Ticket 7 with Zendesk's record of its first reply, all stored.
    fn store_with_a_recorded_ticket() -> SharedStore {
        let t = 1_790_000_000;
        let record = |n: u64, value: serde_json::Value| {
            Record::Event(EventRecord {
                ticket_id: "7".into(),
                id: format!("metric_event.{n}"),
                at: t,
                change: ChangeRecord::Field {
                    name: "zendesk_sla.reply_time".into(),
                    value,
                },
            })
        };
        store_with_a_ticket(vec![
            record(1, serde_json::json!([1, "activate"])),
            record(2, serde_json::json!([1, "apply_sla", 14_400, false, "P"])),
        ])
    }

    /// The early recompute computes a ticket's clocks without its record
    /// and leaves it to be reconciled: it publishes no reconciliation, and
    /// the ticket waits in `pending.recorded` for the one a poll makes once
    /// every stream has caught up.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_it_computes_waits_for_a_reconciliation() {
        let config = Arc::new(
            crate::config_files::from_yaml(&config(), std::path::Path::new("c.yaml")).unwrap(),
        );
        let state = Arc::new(DaemonState::detached(config));
        let store = store_with_a_recorded_ticket();
        let early = EarlyRecompute::start(&store, store.clone(), &state, "s", false).unwrap();
        let mut pending = Pending::default();
        pending.add(Applied {
            changed: vec!["7".into()],
            complete: vec!["7".into()],
            ..Applied::default()
        });
        early.feed(&mut pending);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while state.live().lock().unwrap().ticket_count() == 0 {
            assert!(std::time::Instant::now() < deadline, "never computed");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        early
            .finish(&mut SourceSummary::default(), &mut pending)
            .await
            .unwrap();
        assert!(pending.changed.is_empty());
        assert!(state.live().lock().unwrap().reconciled("s").is_empty());
        let ids = pending.take_recorded();
        assert_eq!(ids, ["7"]);

        let (config, turn) = state.config_and_turn();
        let recompute = recompute_of(&store, &state, &config, &turn);
        assert_eq!(recompute.reconciliations(ids).await.unwrap(), 1);
        let reconciled = state.live().lock().unwrap().reconciled("s");
        assert_eq!(reconciled.values().sum::<u64>(), 1, "{reconciled:?}");
    }
}
