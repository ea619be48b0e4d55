//! A report's one pass over the tickets of a window: each ticket's row is
//! read once (its latest event is in it), and then either its events
//! (it changed recently: the report evaluates it) or its stored clocks (it
//! changed last long ago: the report counts them) are read, never both.

use rusqlite::{params, OptionalExtension};

use super::read::{assemble_one, current_lookups, push_chunk, with_scan_cache};
use super::{invalid, sql_error, SqliteStore};
use crate::sources::EventRecord;
use crate::store::codec::{self, Events};
use crate::store::{ActiveTicket, SettledTicket, StoreError, WindowTicket};

/// Every live ticket created before `?2`, with its creation, last update
/// and latest event. By key: the order the event and clock look-ups below
/// go in.
const TICKETS_OF_WINDOW: &str = "SELECT t.key, t.id, t.header, t.created_at, t.updated_at,
            t.organization_id, t.changed_at, t.last_event_at
     FROM tickets t NOT INDEXED
     WHERE t.source = ?1 AND t.deleted = 0 AND t.header IS NOT NULL AND t.created_at < ?2
     ORDER BY t.key";

const CHUNKS_OF: &str = "SELECT events, stored_at FROM event_chunks WHERE key = ?1 ORDER BY seq";

const CLOCKS_OF: &str = "SELECT k.config_hash, k.clocks,
            EXISTS (SELECT 1 FROM stale_tickets s WHERE s.key = k.key)
     FROM clocks k WHERE k.key = ?1";

/// [`Store::for_each_ticket_in_window`](crate::store::Store::for_each_ticket_in_window)
/// on a SQLite store: one scan in one snapshot, with the same comparisons
/// as the two scans it stands for (a NULL instant compares false).
pub(super) fn for_each_ticket_in_window(
    store: &SqliteStore,
    source: &str,
    (from, settled_before, to): (i64, i64, i64),
    f: &mut dyn FnMut(WindowTicket),
) -> Result<(), StoreError> {
    let what = format!("reading the tickets of {source} in [{from}, {to})");
    with_scan_cache(store, what.clone(), || {
        let path = &store.path;
        let sql = |e| sql_error(path, what.clone(), e);
        let tx = store.conn.unchecked_transaction().map_err(sql)?;
        let mut lookups = current_lookups(store);
        let lookups = &mut lookups.1;
        {
            let mut scan = tx.prepare_cached(TICKETS_OF_WINDOW).map_err(sql)?;
            let mut chunks_of = tx.prepare_cached(CHUNKS_OF).map_err(sql)?;
            let mut clocks_of = tx.prepare_cached(CLOCKS_OF).map_err(sql)?;
            let mut rows = scan.query(params![source, to]).map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let created: Option<i64> = row.get(3).map_err(sql)?;
                let updated: Option<i64> = row.get(4).map_err(sql)?;
                let latest: Option<i64> = row.get(7).map_err(sql)?;
                let instants = [created, updated, latest];
                let since = |at: i64| instants.iter().flatten().any(|&i| i >= at);
                if !since(from) {
                    continue;
                }
                let key: i64 = row.get(0).map_err(sql)?;
                let id: String = row.get(1).map_err(sql)?;
                if since(settled_before) {
                    let bytes = row
                        .get_ref(2)
                        .and_then(|v| v.as_bytes().map_err(rusqlite::Error::from))
                        .map_err(sql)?;
                    let header = codec::decode_header(bytes).map_err(|e| {
                        invalid(
                            path,
                            format!("decoding the header of ticket {id} of {source}: {e}"),
                        )
                    })?;
                    let mut stored_at: i64 = row.get(6).map_err(sql)?;
                    let mut events: Vec<EventRecord> = Vec::new();
                    let mut chunks = 0;
                    let mut chunk_rows = chunks_of.query(params![key]).map_err(sql)?;
                    while let Some(c) = chunk_rows.next().map_err(sql)? {
                        let blob = c
                            .get_ref(0)
                            .and_then(|v| v.as_blob().map_err(rusqlite::Error::from))
                            .map_err(sql)?;
                        push_chunk(path, source, &id, blob, Events::All, &mut events)?;
                        chunks += 1;
                        stored_at = stored_at.max(c.get(1).map_err(sql)?);
                    }
                    let ticket = assemble_one(&tx, path, source, header, events, chunks, lookups)?;
                    f(WindowTicket::Active(ActiveTicket { ticket, stored_at }));
                } else {
                    let organization_id: Option<String> = row.get(5).map_err(sql)?;
                    let organization_name = match organization_id.as_deref() {
                        Some(org) => lookups.organization_name(&tx, path, source, org)?,
                        None => None,
                    };
                    // Stale clocks were computed from an older timeline.
                    let stored: Option<(String, Vec<u8>, bool)> = clocks_of
                        .query_row(params![key], |c| Ok((c.get(0)?, c.get(1)?, c.get(2)?)))
                        .optional()
                        .map_err(sql)?;
                    let clocks = stored
                        .filter(|(_, _, stale)| !stale)
                        .map(|(hash, blob, _)| (hash, blob));
                    f(WindowTicket::Settled(SettledTicket {
                        id,
                        created_at: created.unwrap_or(0),
                        organization_id,
                        organization_name,
                        clocks,
                    }));
                }
            }
        }
        drop(tx);
        Ok(())
    })
}
