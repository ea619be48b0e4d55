//! Config reloads (SIGHUP, `POST /-/reload`): a rejected config changes
//! nothing; an accepted one is recomputed into a side index and swapped in
//! at once, so scrapes never see half of it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tracing::{error, info, info_span, warn, Instrument};

use super::recompute::Recompute;
use super::store_access::{blocking, SharedStore};
use super::DaemonError;
use crate::clock::now_unix;
use crate::exposition::Live;
use crate::policy::Config;
use crate::state::{DaemonState, ReloadRequest};

/// Reads and validates the config file, sources included; returns it with
/// the text it was read from (one read: the text served at `/config` is
/// the text that was loaded).
pub(super) fn read_config(path: &Path) -> Result<(Config, String), DaemonError> {
    let text = std::fs::read_to_string(path).map_err(|source| DaemonError::ReadConfig {
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
        let answer = tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { break; }
                continue;
            }
            _ = hangup => None,
            req = requests.recv() => match req {
                Some(r) => Some(r),
                None => break,
            },
        };
        let result = reload(&state, &store).await;
        if let Some(tx) = answer {
            let _ = tx.send(result.map_err(|e| e.to_string()));
        }
    }
}

/// Reloads the config file: a rejected config changes nothing; an accepted
/// one is recomputed into a new [`Live`] and swapped in. Returns what
/// happened, in words.
async fn reload(state: &Arc<DaemonState>, store: &SharedStore) -> Result<String, DaemonError> {
    let path = state.config_path().to_path_buf();
    let (config, text) = match read_config(&path) {
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
        let ids = blocking(store, move |s| Ok(s.ticket_ids(&src)?)).await?;
        // A ticket a poll changes meanwhile stays stale: the poll loop
        // recomputes it.
        let recompute = Recompute {
            store,
            live: &side,
            source: name,
            config: &config,
        };
        tickets += recompute
            .tickets(ids)
            .instrument(info_span!("source", source = %name))
            .await?
            .saved;
    }
    let side = side
        .into_inner()
        .map_err(|_| DaemonError::Poisoned("clock index"))?;
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
