//! Config reloads (SIGHUP, `POST /-/reload`): a rejected config changes
//! nothing; an accepted one is recomputed into a side index and swapped in
//! at once, so scrapes never see half of it. One reload runs at a time, the
//! file is read and validated on the blocking pool (files above
//! [`crate::config_files::MAX_CONFIG_FILE_BYTES`] are refused unread),
//! requests that wait meanwhile share the next reload, and a request whose
//! client has gone is dropped.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tracing::{error, info, info_span, warn, Instrument};

use super::counting::load_live;
use super::recompute::Recompute;
use super::store_access::{blocking, SharedStore};
use super::DaemonError;
use crate::clock::now_unix;
use crate::exposition::Live;
use crate::policy::Config;
use crate::state::{ConfigTurn, DaemonState, ReloadRequest};

/// Reads and validates the config file, sources included; returns it with
/// the text it was read from (one read: the text served at `/config` is
/// the text that was loaded).
pub(super) fn read_config(path: &Path) -> Result<(Config, String), DaemonError> {
    let text =
        crate::config_files::read_limited(path).map_err(|source| DaemonError::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
    let config = crate::config_files::from_yaml(&text, path)?;
    Ok((config, text))
}

/// Reloads on SIGHUP and on each request from the server, one at a time,
/// until shutdown.
pub(super) async fn serve_reloads(
    state: Arc<DaemonState>,
    store: SharedStore,
    mut requests: mpsc::Receiver<ReloadRequest>,
    mut shutdown: watch::Receiver<bool>,
) {
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
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
        let mut waiting: Vec<ReloadRequest> = tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
                continue;
            }
            _ = hangup => Vec::new(),
            req = requests.recv() => match req {
                Some(r) => vec![r],
                None => break,
            },
        };
        // Requests that came while the last reload ran are answered by one
        // reload, which reads the file after all of them came; a request
        // whose client has gone is dropped, and when only such requests
        // wait, nothing is reloaded.
        while let Ok(r) = requests.try_recv() {
            waiting.push(r);
        }
        let asked = !waiting.is_empty();
        waiting.retain(|r| !r.is_closed());
        if asked && waiting.is_empty() {
            info!("config reload skipped: every client that asked for it has gone");
            continue;
        }
        let result = reload(&state, &store).await.map_err(|e| e.to_string());
        for tx in waiting {
            let _ = tx.send(result.clone());
        }
    }
}

/// Reloads the config file: a rejected config changes nothing; an accepted
/// one is recomputed into a new [`Live`] and swapped in. Returns what
/// happened, in words.
async fn reload(state: &Arc<DaemonState>, store: &SharedStore) -> Result<String, DaemonError> {
    let path = state.config_path().to_path_buf();
    // Reading and validating can take long (a big or deeply nested file):
    // on the blocking pool, so the server and the poll loops go on.
    let read = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || read_config(&path))
            .await
            .map_err(DaemonError::task("reading the config"))
            .and_then(|r| r)
    };
    let (config, text) = match read {
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
    // The sources this instance serves stay the same until it is done.
    let _serving = state.serving.lock().await;
    // From here on, recomputes under the old config (a backfill's among
    // them) save and publish nothing: what they computed is the reload's
    // to compute, under the new one.
    let turn = state.supersede_config();
    let started = Instant::now();
    let sources = state.served_sources(old.sources.keys());
    let tickets = match recompute_all(state, store, &sources, &config, &turn).await {
        Ok(n) => n,
        Err(e) => {
            state.keep_config_in_force();
            // Some clocks may have been saved under the new config: the
            // figures are read from the store again, and those tickets
            // computed again under the config in force.
            if let Err(again) = restore_live(state, store, &sources).await {
                error!(error = %again, "the figures could not be restored after the failed reload; they are right again after a restart");
            }
            return Err(e);
        }
    };
    state.install_config(config.clone(), text, &turn);
    mark_ok(state);
    // The figures under the new config are rendered before the reload is
    // answered: whoever asked reads the new exposition at once.
    let rendering = state.clone();
    tokio::task::spawn_blocking(move || rendering.refresh(now_unix()))
        .await
        .map_err(DaemonError::task("rendering the figures"))?;
    // Tickets whose clocks a recompute under the old config was refused,
    // or that a poll changed while this one read them, are stale: now.
    for name in &sources {
        Recompute {
            store,
            live: &state.live,
            source: name,
            config: &config,
            turn: &turn,
        }
        .stale(&[])
        .instrument(info_span!("source", source = %name))
        .await?;
    }
    info!(config = %path.display(), old = %old.hash, new = %config.hash, tickets, ms = started.elapsed().as_millis() as u64, "config reloaded: clocks recomputed");
    Ok(format!(
        "config {} loaded (was {}); {tickets} tickets recomputed",
        config.hash, old.hash
    ))
}

/// Recomputes every ticket of `sources` (those in force: sources change at
/// a restart) under `config` into a side index, then swaps it in: scrapes
/// never see a half. Returns the tickets saved.
async fn recompute_all(
    state: &Arc<DaemonState>,
    store: &SharedStore,
    sources: &[String],
    config: &Arc<Config>,
    turn: &ConfigTurn,
) -> Result<u64, DaemonError> {
    let side = Arc::new(Mutex::new(Live::with_organizations(
        &config.exposition_organizations,
    )));
    // Rows the store drops meanwhile (deleted tickets) leave it too.
    if let Ok(mut s) = state.reload_side.lock() {
        *s = Some((side.clone(), config.clone()));
    }
    let filled = fill_side(store, sources, config, turn, &side).await;
    if let Ok(mut s) = state.reload_side.lock() {
        *s = None;
    }
    let tickets = filled?;
    let side = std::mem::take(
        &mut *side
            .lock()
            .map_err(|_| DaemonError::Poisoned("clock index"))?,
    );
    if let Ok(mut live) = state.live.lock() {
        *live = side;
    }
    Ok(tickets)
}

/// After a reload that failed half-way: the live index read from the
/// store again, and the tickets computed under the new config computed
/// again under the one in force.
async fn restore_live(
    state: &Arc<DaemonState>,
    store: &SharedStore,
    sources: &[String],
) -> Result<(), DaemonError> {
    let (config, turn) = state.config_and_turn();
    let loaded = load_live(store, &config, sources.to_vec()).await?;
    if let Ok(mut live) = state.live.lock() {
        *live = loaded;
    }
    for name in sources {
        Recompute {
            store,
            live: &state.live,
            source: name,
            config: &config,
            turn: &turn,
        }
        .computed_under_other_config()
        .await?;
    }
    Ok(())
}

/// Recomputes every ticket of `sources` into `side`; returns the tickets
/// saved.
async fn fill_side(
    store: &SharedStore,
    sources: &[String],
    config: &Arc<Config>,
    turn: &ConfigTurn,
    side: &Arc<Mutex<Live>>,
) -> Result<u64, DaemonError> {
    let mut tickets = 0;
    for name in sources {
        let src = name.clone();
        let ids = blocking(store, move |s| Ok(s.ticket_ids(&src)?)).await?;
        // A ticket a poll changes meanwhile stays stale: recomputed after.
        let recompute = Recompute {
            store,
            live: side,
            source: name,
            config,
            turn,
        };
        tickets += recompute
            .tickets(ids)
            .instrument(info_span!("source", source = %name))
            .await?
            .saved;
    }
    Ok(tickets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use std::time::Duration;
    use tokio::sync::oneshot;

    fn config_ok(state: &DaemonState) -> bool {
        state.health.lock().unwrap().config_ok
    }

    /// A reload asked for by a client that has gone is not run; one whose
    /// client waits is, and answers.
    #[tokio::test]
    async fn a_reload_whose_client_has_gone_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        let text = "calendars:\n  c: { timezone: UTC, hours: 24x7 }\n";
        std::fs::write(&path, text).unwrap();
        let config = Arc::new(crate::config_files::load(&path).unwrap());
        let (tx, rx) = mpsc::channel(4);
        let state = Arc::new(DaemonState::new(
            config,
            text.into(),
            &path,
            tx.clone(),
            None,
        ));
        state.health.lock().unwrap().config_ok = true;
        let store: SharedStore = Arc::new(Mutex::new(Box::new(SqliteStore::in_memory().unwrap())));
        // Any reload from now on is rejected, which shows in the health.
        std::fs::write(&path, "calendars: [not, a, map]\n").unwrap();
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(serve_reloads(state.clone(), store, rx, stop_rx));
        let (gone, answer) = oneshot::channel();
        drop(answer);
        tx.send(gone).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(config_ok(&state), "a reload nobody waits for ran");
        let e = state.reload().await.unwrap_err();
        assert!(e.contains("c.yaml"), "{e}");
        assert!(!config_ok(&state));
        stop_tx.send(true).unwrap();
        task.await.unwrap();
    }
}
