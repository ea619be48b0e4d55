//! Keeps the live index equal to the sum of the stored clocks rows: every
//! row the store saves, replaces or drops goes through here, in the same
//! critical section as the store change (the store is held while the index
//! is updated), so the index never counts a row the store does not hold
//! and takes out exactly what it counted. A fresh index is filled here as
//! well, from every stored row of its sources (`load_live` at start and
//! when a reload restores, `load_source` when a lease is taken over).
//!
//! A row is counted with the creation and organization it says it was
//! counted under ([`CountedAs`]). Rows stored before rows said so are
//! counted with the ticket's stored creation and organization, which the
//! index remembers until the ticket's clocks are saved again (the daemon
//! recomputes them right after loading).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tracing::{info, info_span};

use super::store_access::{blocking, SharedStore};
use super::DaemonError;
use crate::engine::clocks_from_views;
use crate::exposition::{Counted, Live};
use crate::policy::Config;
use crate::state::DaemonState;
use crate::store::{
    decode_counted_clocks, says_counted_as, ClocksRow, Store, StoredClocks, TicketMeta,
};

/// Takes out of `live` what it counted from a row (`config hash`, encoded
/// clocks) of ticket `id`; nothing if it never counted it.
pub(super) fn uncount_row(
    live: &mut Live,
    config: &Config,
    source: &str,
    id: &str,
    row: (&str, &[u8]),
) {
    // A legacy entry belongs to the row being replaced, counted or not.
    let legacy = live.take_legacy(source, id);
    let (hash, blob) = row;
    if !live.counts(source, hash) {
        return;
    }
    let Ok((counted_as, views)) = decode_counted_clocks(blob) else {
        return;
    };
    // Rows that named what the config no longer defines were never counted.
    let Ok(clocks) = clocks_from_views(&config.policy, &views) else {
        return;
    };
    let (created_at, organization) = match (counted_as, &legacy) {
        (Some(c), _) => (c.created_at, c.organization),
        (None, Some((created_at, org))) => (*created_at, org.as_deref()),
        // A legacy row without its entry was not counted at load.
        (None, None) => return,
    };
    let counted = Counted {
        created_at,
        organization,
        clocks: &clocks,
    };
    live.remove(&config.policy, source, id, hash, counted);
}

/// Counts a row (`config hash`, encoded clocks) of ticket `id` the store
/// now holds; false if its clocks do not decode under `config` or it does
/// not say what it is counted under (and `meta` is not given).
pub(super) fn count_row(
    live: &mut Live,
    config: &Config,
    source: &str,
    id: &str,
    row: (&str, &[u8]),
    meta: Option<&TicketMeta>,
) -> bool {
    let (hash, blob) = row;
    let Ok((counted_as, views)) = decode_counted_clocks(blob) else {
        return false;
    };
    let Ok(clocks) = clocks_from_views(&config.policy, &views) else {
        return false;
    };
    let (created_at, organization) = match (counted_as, meta) {
        (Some(c), _) => (c.created_at, c.organization),
        (None, Some(m)) => {
            live.remember_legacy(source, id, m.created_at, m.organization.as_deref());
            (m.created_at, m.organization.as_deref())
        }
        (None, None) => return false,
    };
    let counted = Counted {
        created_at,
        organization,
        clocks: &clocks,
    };
    live.add(&config.policy, source, id, hash, counted);
    true
}

/// Applies what a save did: each saved row replaces the one it was saved
/// over. `rows` are the rows given to the save, `saved` its answer.
pub(super) fn apply_saved(
    live: &mut Live,
    config: &Config,
    source: &str,
    rows: &[(String, String, Vec<u8>)],
    saved: &[(usize, Option<ClocksRow>)],
) {
    for (index, old) in saved {
        let Some((id, hash, blob)) = rows.get(*index) else {
            continue;
        };
        if let Some((old_hash, old_blob)) = old {
            uncount_row(live, config, source, id, (old_hash, old_blob));
        }
        count_row(live, config, source, id, (hash, blob), None);
    }
}

/// Takes rows the store dropped (deleted tickets) out of the daemon's
/// index and out of the side index a reload is filling, if any (each
/// counted a row only if it counts rows under its hash).
pub(super) fn uncount_dropped(state: &DaemonState, source: &str, rows: &[StoredClocks]) {
    if rows.is_empty() {
        return;
    }
    let side = state.reload_side.lock().ok().and_then(|s| s.clone());
    let config = state.config();
    for (live, config) in
        std::iter::once((&state.live, &config)).chain(side.as_ref().map(|(l, c)| (l, c)))
    {
        if let Ok(mut live) = live.lock() {
            for r in rows {
                uncount_row(
                    &mut live,
                    config,
                    source,
                    &r.ticket_id,
                    (&r.config_hash, &r.clocks),
                );
            }
        }
    }
}

/// The stored clocks of `sources`, as a fresh [`Live`]. Tickets whose
/// clocks name what the config no longer defines are left out (they are
/// recomputed right after).
pub(super) async fn load_live(
    store: &SharedStore,
    config: &Arc<Config>,
    sources: Vec<String>,
) -> Result<Live, DaemonError> {
    let cfg = config.clone();
    blocking(store, move |s| {
        let started = Instant::now();
        let mut live = Live::with_organizations(&cfg.exposition_organizations);
        for name in &sources {
            let _in_source = info_span!("source", source = %name).entered();
            let (tickets, skipped) = load_source(&mut live, &**s, &cfg, name)?;
            info!(
                tickets,
                skipped,
                ms = started.elapsed().as_millis() as u64,
                "stored clocks loaded"
            );
        }
        Ok(live)
    })
    .await
}

/// Loads one source's stored clocks into `live`; returns the tickets
/// counted and the rows left out (clocks naming what the config no longer
/// defines: recomputed right after).
pub(super) fn load_source(
    live: &mut Live,
    store: &dyn Store,
    config: &Config,
    name: &str,
) -> Result<(usize, u64), DaemonError> {
    let mut skipped = 0u64;
    // Rows in the older form, which do not say what they were counted
    // under: matched with the tickets' stored creation and organization
    // after the pass (rare: rows saved since say it themselves).
    let mut older: Vec<StoredClocks> = Vec::new();
    store.for_each_clocks(name, &mut |row| {
        if !says_counted_as(&row.clocks) {
            older.push(row);
        } else if !count_row(
            live,
            config,
            name,
            &row.ticket_id,
            (&row.config_hash, &row.clocks),
            None,
        ) {
            skipped += 1;
        }
    })?;
    if !older.is_empty() {
        let metas = store.ticket_metas(name)?;
        let by_id: HashMap<&str, &TicketMeta> = metas.iter().map(|m| (m.id.as_str(), m)).collect();
        for row in &older {
            // Rows of tickets that are no longer stored are not counted.
            let Some(meta) = by_id.get(row.ticket_id.as_str()) else {
                continue;
            };
            if !count_row(
                live,
                config,
                name,
                &row.ticket_id,
                (&row.config_hash, &row.clocks),
                Some(meta),
            ) {
                skipped += 1;
            }
        }
    }
    Ok((live.source_tickets(name), skipped))
}
