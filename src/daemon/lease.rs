//! Sources polled under leases, when several daemons share one store
//! (PostgreSQL): each source is polled by the one instance holding its
//! lease; the others stand by and take it over when it expires.
//!
//! Guarantees (with [`crate::store::Leases`], which fences the store):
//! * A source is polled, and its data written, only under its lease: the
//!   store refuses any write of an instance whose lease was lost, even
//!   before that instance notices.
//! * The holder renews every third of the lease's duration and stops
//!   polling the source as soon as a renewal says the lease is lost, or
//!   when none succeeded for two thirds of it (a database it cannot
//!   reach): it then serves none of the source's figures and stands by.
//! * A standby tries every fifth of the duration, so it takes a source
//!   over at most a lease and a fifth after its holder's last renewal. On
//!   taking it, it fences the store, loads the source's stored clocks into
//!   its figures, recomputes what the last holder left stale, then polls
//!   from the stored cursors.
//! * A clean stop gives the lease up, so a standby takes over at once.
//! * Only the holder serves a source's figures and health series, so sums
//!   over every instance's `/metrics` count each source once; every
//!   instance says which sources it holds
//!   (`helpdesk_slo_source_owner{source,instance}`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{error, info, info_span, warn, Instrument};

use super::counting::load_source;
use super::health::{update_stored_counts, with_health};
use super::pace::sleep_or_stop;
use super::poll::{supervise, PollSettings};
use super::recompute::Recompute;
use super::store_access::{blocking, SharedStore};
use super::{DaemonError, SourceSummary};
use crate::policy::Config;
use crate::sources::Source;
use crate::state::DaemonState;
use crate::store::{Fence, Leases};

/// The default duration of a lease: a standby takes a dead holder's
/// sources over within about 18 s.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

/// The store's lease connection, shared by every source's loop.
pub(super) type SharedLeases = Arc<Mutex<Box<dyn Leases>>>;

/// How an instance holds leases.
#[derive(Debug, Clone)]
pub(super) struct LeaseSettings {
    /// This instance's name, unique among the instances on the store.
    pub(super) instance: String,
    pub(super) duration: Duration,
}

impl LeaseSettings {
    fn renew_every(&self) -> Duration {
        self.duration / 3
    }
    fn try_every(&self) -> Duration {
        self.duration / 5
    }
    /// How long without a successful renewal before the holder stops
    /// polling on its own (it may have lost the lease without hearing so).
    fn give_up_after(&self) -> Duration {
        self.duration * 2 / 3
    }
}

/// A default instance name: the host's name and the process id.
pub fn default_instance() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "helpdesk-slo".to_string());
    format!("{host}-{}", std::process::id())
}

/// Runs a lease call on a blocking task, giving up on its answer after
/// `limit` (a database that stopped answering must not keep a holder
/// believing it still holds its lease).
async fn on_leases<T: Send + 'static>(
    leases: &SharedLeases,
    limit: Duration,
    f: impl FnOnce(&mut Box<dyn Leases>) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, DaemonError> {
    let leases = leases.clone();
    let call = tokio::task::spawn_blocking(move || {
        let mut guard = leases.lock().map_err(|_| DaemonError::Poisoned("leases"))?;
        Ok(f(&mut guard)?)
    });
    match tokio::time::timeout(limit, call).await {
        Ok(joined) => joined.map_err(DaemonError::task("a lease task"))?,
        Err(_) => Err(DaemonError::Source {
            name: "leases".to_string(),
            message: format!(
                "the database did not answer a lease call within {:.1} s",
                limit.as_secs_f64()
            ),
        }),
    }
}

/// Everything a source's loop under a lease uses.
pub(super) struct Leased<B> {
    pub(super) name: String,
    pub(super) build: Arc<B>,
    pub(super) store: SharedStore,
    pub(super) state: Arc<DaemonState>,
    pub(super) settings: PollSettings,
    pub(super) leases: SharedLeases,
    pub(super) lease: LeaseSettings,
    /// A lease the start took already, the source's stored clocks loaded
    /// with the others' (see [`take_at_start`]).
    pub(super) taken: Option<Fence>,
}

impl<B> Leased<B>
where
    B: Fn() -> Result<Box<dyn Source>, DaemonError> + Send + Sync + 'static,
{
    /// Stands by until the lease is free, polls the source while it holds
    /// it, and stands by again when it loses it; until shutdown (or, with
    /// `once`, until the source is caught up once).
    pub(super) async fn run(
        self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(String, SourceSummary), DaemonError> {
        let name = self.name.clone();
        let mut taken = self.taken.clone();
        if taken.is_none() {
            set_owner(&self.state, &name, false);
        }
        loop {
            let loaded = taken.is_some();
            let fence = match taken.take() {
                Some(fence) => fence,
                None => match self.stand_by(&mut shutdown).await {
                    Some(fence) => fence,
                    None => return Ok((name, SourceSummary::default())),
                },
            };
            info!(
                instance = %self.lease.instance,
                token = fence.token,
                "took the source's lease; polling it"
            );
            let polled = self
                .hold(fence.clone(), self.build.clone(), &shutdown, loaded)
                .await;
            // Polling stopped: shutdown, done (`once`), or the lease lost.
            self.let_go(&fence).await;
            match polled {
                Held::Finished(result) => {
                    let (n, l) = (self.name.clone(), self.leases.clone());
                    let limit = self.lease.try_every();
                    let released = on_leases(&l, limit, move |l| l.release(&n, &fence)).await;
                    if let Err(e) = released {
                        warn!(error = %e, "could not give the lease up; it expires on its own");
                    }
                    // Taking the source over failed (the store could not be
                    // read, say): another instance may do better, and this
                    // one tries again after a pause, as a poll loop does.
                    if let Err(e) = &result {
                        if !self.settings.once && !*shutdown.borrow() {
                            error!(error = %e, "could not take the source over; gave its lease up, standing by");
                            if sleep_or_stop(self.lease.duration, &mut shutdown).await {
                                return Ok((name, SourceSummary::default()));
                            }
                            continue;
                        }
                    }
                    return result;
                }
                Held::Lost => {
                    warn!(instance = %self.lease.instance, "lost the source's lease; no longer polling it, standing by");
                }
            }
        }
    }

    /// Waits until this instance takes the lease; `None` at shutdown.
    async fn stand_by(&self, shutdown: &mut watch::Receiver<bool>) -> Option<Fence> {
        let mut complained = false;
        loop {
            if *shutdown.borrow() {
                return None;
            }
            let (n, i, d) = (
                self.name.clone(),
                self.lease.instance.clone(),
                self.lease.duration,
            );
            // An acquisition may wait seconds for a lease row's lock.
            let limit = self.lease.duration;
            match on_leases(&self.leases, limit, move |l| l.acquire(&n, &i, d)).await {
                Ok(Some(fence)) => return Some(fence),
                Ok(None) => complained = false,
                Err(e) => {
                    // Once per outage, not at every try.
                    if !complained {
                        warn!(error = %e, "cannot reach the leases; standing by");
                        complained = true;
                    }
                }
            }
            if sleep_or_stop(self.lease.try_every(), shutdown).await {
                return None;
            }
        }
    }

    /// Polls the source under `fence` until shutdown, the end of a `once`
    /// run, or the lease is lost.
    /// `loaded`: the source's stored clocks are in the figures already.
    async fn hold(
        &self,
        fence: Fence,
        build: Arc<B>,
        shutdown: &watch::Receiver<bool>,
        loaded: bool,
    ) -> Held {
        let (n, f) = (self.name.clone(), fence.clone());
        if let Err(e) = blocking(&self.store, move |s| {
            s.fence(&n, Some(f));
            Ok(())
        })
        .await
        {
            return Held::Finished(Err(e));
        }
        // The polling task stops when the daemon does or the lease is lost:
        // one signal, sent by either.
        let (stop_tx, stop_rx) = watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let mut outer = shutdown.clone();
        let on_shutdown = stop_tx.clone();
        let forward_shutdown = tokio::spawn(async move {
            while !*outer.borrow() {
                if outer.changed().await.is_err() {
                    return;
                }
            }
            let _ = on_shutdown.send(true);
        });
        let poll = {
            let (name, store, state, settings) = (
                self.name.clone(),
                self.store.clone(),
                self.state.clone(),
                self.settings,
            );
            let config = self.state.config();
            tokio::spawn(
                async move {
                    take_over(&store, &state, &name, &config, loaded).await?;
                    set_owner(&state, &name, true);
                    supervise(name, move || build(), store, state, settings, stop_rx).await
                }
                .in_current_span(),
            )
        };
        let renewing = self.keep(fence);
        tokio::pin!(poll);
        let outcome = tokio::select! {
            r = &mut poll => Held::Finished(r.map_err(DaemonError::task("a poll loop")).and_then(|r| r)),
            () = renewing => {
                let _ = stop_tx.send(true);
                // Let the poll loop end its commit (refused now) and stop.
                let _ = (&mut poll).await;
                Held::Lost
            }
        };
        forward_shutdown.abort();
        match outcome {
            // A write refused for the lease: it was lost before a renewal
            // said so.
            Held::Finished(Err(e)) if e.is_lease_lost() => Held::Lost,
            other => other,
        }
    }

    /// Renews the lease until it is lost (returns then).
    async fn keep(&self, fence: Fence) {
        let mut last_renewed = Instant::now();
        loop {
            tokio::time::sleep(self.lease.renew_every()).await;
            let (n, f, d) = (self.name.clone(), fence.clone(), self.lease.duration);
            let limit = self.lease.renew_every();
            match on_leases(&self.leases, limit, move |l| l.renew(&n, &f, d)).await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => return,
                Err(e) => {
                    warn!(error = %e, "cannot renew the source's lease");
                    if last_renewed.elapsed() >= self.lease.give_up_after() {
                        return;
                    }
                }
            }
        }
    }

    /// After polling stopped: the store refuses the source's writes, and
    /// its figures leave this instance's `/metrics`.
    async fn let_go(&self, _fence: &Fence) {
        let name = self.name.clone();
        let _ = blocking(&self.store, move |s| {
            s.fence(&name, None);
            Ok(())
        })
        .await;
        let _serving = self.state.serving.lock().await;
        set_owner(&self.state, &self.name, false);
        if let Ok(mut live) = self.state.live.lock() {
            live.drop_source(&self.name);
        }
        update_stored_counts(&self.state);
        self.state.dirty.notify_one();
    }
}

/// How holding a lease ended.
enum Held {
    /// Polling ended (shutdown, or a `once` run caught up), or failed.
    Finished(Result<(String, SourceSummary), DaemonError>),
    /// The lease was lost.
    Lost,
}

/// Marks whether this instance holds `source`'s lease.
fn set_owner(state: &DaemonState, source: &str, owner: bool) {
    with_health(state, source, |h| {
        h.owner = Some(owner);
        if !owner {
            h.up = false;
        }
    });
    state.dirty.notify_one();
}

/// On taking a source over: its stored clocks into the figures, then the
/// tickets the last holder left stale or computed under another config.
async fn take_over(
    store: &SharedStore,
    state: &Arc<DaemonState>,
    name: &str,
    config: &Arc<Config>,
    loaded: bool,
) -> Result<(), DaemonError> {
    let _serving = state.serving.lock().await;
    if !loaded {
        load_taken(store, state, name, config).await?;
    }
    let (_, turn) = state.config_and_turn();
    let recompute = Recompute {
        store,
        live: &state.live,
        source: name,
        config,
        turn: &turn,
    };
    async {
        recompute.stale(&[]).await?;
        recompute.computed_under_other_config().await
    }
    .instrument(info_span!("takeover"))
    .await?;
    state.dirty.notify_one();
    Ok(())
}

/// A source's stored clocks into the figures, in place of any it had.
async fn load_taken(
    store: &SharedStore,
    state: &Arc<DaemonState>,
    name: &str,
    config: &Arc<Config>,
) -> Result<(), DaemonError> {
    let started = Instant::now();
    let (st, n, cfg) = (state.clone(), name.to_string(), config.clone());
    let loaded = blocking(store, move |s| {
        let mut live = st
            .live
            .lock()
            .map_err(|_| DaemonError::Poisoned("clock index"))?;
        live.drop_source(&n);
        load_source(&mut live, &**s, &cfg, &n)
    })
    .await?;
    info!(
        tickets = loaded.0,
        skipped = loaded.1,
        ms = started.elapsed().as_millis() as u64,
        "stored clocks loaded"
    );
    update_stored_counts(state);
    Ok(())
}

/// Renews the leases taken at the start every third of their duration
/// until it is dropped: loading a million stored clocks can take longer
/// than a lease, and a lease that expired meanwhile would refuse the first
/// write (and be taken again, the clocks loaded twice).
pub(super) struct RenewWhileStarting(Option<tokio::task::JoinHandle<()>>);

impl RenewWhileStarting {
    pub(super) fn start(
        leases: &SharedLeases,
        lease: &LeaseSettings,
        taken: &[(String, Fence)],
    ) -> RenewWhileStarting {
        if taken.is_empty() {
            return RenewWhileStarting(None);
        }
        let (leases, lease, taken) = (leases.clone(), lease.clone(), taken.to_vec());
        RenewWhileStarting(Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease.renew_every()).await;
                for (name, fence) in &taken {
                    let (n, f, d) = (name.clone(), fence.clone(), lease.duration);
                    let renewed =
                        on_leases(&leases, lease.renew_every(), move |l| l.renew(&n, &f, d)).await;
                    if !matches!(renewed, Ok(true)) {
                        // The source's loop finds out at its first write.
                        warn!(source = %name, "could not renew the source's lease while starting");
                    }
                }
            }
        })))
    }
}

impl Drop for RenewWhileStarting {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// At the start: takes the leases of `sources` that are free now (a
/// single daemon, or one restarted after a clean stop), so that their
/// stored clocks are served before the first poll as without leases, and
/// fences the store for every source (taken or not).
pub(super) async fn take_at_start(
    store: &SharedStore,
    leases: &SharedLeases,
    lease: &LeaseSettings,
    state: &DaemonState,
    sources: Vec<String>,
) -> Result<Vec<(String, Fence)>, DaemonError> {
    let (i, d) = (lease.instance.clone(), lease.duration);
    let all = sources.clone();
    let taken = on_leases(leases, lease.duration, move |l| {
        let mut taken = Vec::new();
        for name in sources {
            if let Some(fence) = l.acquire(&name, &i, d)? {
                taken.push((name, fence));
            }
        }
        Ok(taken)
    })
    .await?;
    let fences: Vec<(String, Option<Fence>)> = all
        .into_iter()
        .map(|n| {
            let f = taken.iter().find(|(t, _)| *t == n).map(|(_, f)| f.clone());
            (n, f)
        })
        .collect();
    blocking(store, move |s| {
        for (n, f) in fences {
            s.fence(&n, f);
        }
        Ok(())
    })
    .await?;
    for (name, fence) in &taken {
        info!(source = %name, instance = %lease.instance, token = fence.token, "took the source's lease");
        with_health(state, name, |h| h.owner = Some(true));
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Holder, StoreError};

    /// Leases that count renewals of each source.
    struct Counting(Arc<Mutex<Vec<String>>>);

    impl Leases for Counting {
        fn acquire(&mut self, _: &str, _: &str, _: Duration) -> Result<Option<Fence>, StoreError> {
            Ok(None)
        }
        fn renew(&mut self, source: &str, _: &Fence, _: Duration) -> Result<bool, StoreError> {
            if let Ok(mut r) = self.0.lock() {
                r.push(source.to_string());
            }
            Ok(true)
        }
        fn release(&mut self, _: &str, _: &Fence) -> Result<(), StoreError> {
            Ok(())
        }
        fn holders(&mut self) -> Result<Vec<Holder>, StoreError> {
            Ok(Vec::new())
        }
    }

    /// Loading the stored clocks may take longer than a lease: the leases
    /// taken at start are renewed every third of it meanwhile, and no more
    /// once the sources' own loops take over.
    #[tokio::test]
    async fn leases_taken_at_start_are_renewed_until_the_start_is_done() {
        let renewed = Arc::new(Mutex::new(Vec::new()));
        let leases: SharedLeases = Arc::new(Mutex::new(Box::new(Counting(renewed.clone()))));
        let lease = LeaseSettings {
            instance: "a".into(),
            duration: Duration::from_millis(300),
        };
        let fence = Fence {
            instance: "a".into(),
            token: 1,
        };
        let taken = vec![("zendesk".to_string(), fence)];
        let renewing = RenewWhileStarting::start(&leases, &lease, &taken);
        // A "load" of two leases.
        tokio::time::sleep(Duration::from_millis(600)).await;
        drop(renewing);
        // A renewal already under way when it was dropped may still land.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let during = renewed.lock().unwrap().clone();
        assert!(during.len() >= 2, "renewed {} times", during.len());
        assert!(during.iter().all(|s| s == "zendesk"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(renewed.lock().unwrap().len(), during.len());
        // Nothing taken at start: nothing to renew.
        let none = RenewWhileStarting::start(&leases, &lease, &[]);
        assert!(none.0.is_none());
    }
}
