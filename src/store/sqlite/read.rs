//! Reading a store: tickets assembled into engine timelines (with the
//! organizations and users they refer to), cursors, the lists of tickets
//! the daemon works through, notes, polls and counts.

use std::sync::atomic::Ordering;

use rusqlite::{params, Connection, OptionalExtension};
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::Path;

use super::{codec_error, invalid, json_error, sql_error, SqliteStore};
use crate::engine::Ticket;
use crate::sources::{
    assemble, ChangeRecord, EventRecord, NoteRecord, OrganizationRecord, TicketHeader,
};
use crate::store::codec::{self, Events};
use crate::store::{ActiveTicket, StoreError, StoreStats, TicketMeta};

/// A ticket's row with each of its chunks (one row with NULL events when
/// it has none).
const GET_TIMELINE: &str = "SELECT t.key, t.header, c.events FROM tickets t
     LEFT JOIN event_chunks c ON c.key = t.key
     WHERE t.source = ?1 AND t.id = ?2 AND t.deleted = 0 AND t.header IS NOT NULL";

const GET_TIMELINE_BY_KEY: &str = "SELECT t.key, t.header, c.events FROM tickets t
     LEFT JOIN event_chunks c ON c.key = t.key
     WHERE t.key = ?1 AND t.deleted = 0 AND t.header IS NOT NULL";

const GET_ORGANIZATION: &str = "SELECT record FROM organizations WHERE source = ?1 AND id = ?2";

const GET_USER: &str = "SELECT agent FROM users WHERE source = ?1 AND id = ?2";

/// The organizations and users read so far (what tickets refer to
/// repeats), and those the store does not have.
#[derive(Default)]
pub(super) struct Lookups {
    organizations: FxHashMap<String, OrganizationRecord>,
    missing_organizations: FxHashSet<String>,
    users: FxHashMap<String, bool>,
    missing_users: FxHashSet<String>,
}

/// The store's cache of organizations and users, emptied first if the
/// directory changed since it was filled or it grew past its bound.
pub(super) fn current_lookups(store: &SqliteStore) -> std::cell::RefMut<'_, (u64, Lookups)> {
    let mut lookups = store.lookups.borrow_mut();
    let directory = store.directory.load(Ordering::SeqCst);
    if lookups.0 != directory || lookups.1.len() > LOOKUPS_MAX {
        *lookups = (directory, Lookups::default());
    }
    lookups
}

/// Organizations and users kept across reads before the cache starts over.
const LOOKUPS_MAX: usize = 200_000;

impl Lookups {
    fn len(&self) -> usize {
        self.organizations.len()
            + self.missing_organizations.len()
            + self.users.len()
            + self.missing_users.len()
    }

    /// Reads organization `id` unless it was read already.
    fn organization(
        &mut self,
        conn: &Connection,
        path: &Path,
        source: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        if self.organizations.contains_key(id) || self.missing_organizations.contains(id) {
            return Ok(());
        }
        let what = || format!("reading organization {id} of {source}");
        let record: Option<String> = conn
            .prepare_cached(GET_ORGANIZATION)
            .and_then(|mut s| {
                s.query_row(params![source, id], |row| row.get(0))
                    .optional()
            })
            .map_err(|e| sql_error(path, what(), e))?;
        match record {
            Some(text) => {
                let record = serde_json::from_str::<OrganizationRecord>(&text).map_err(|e| {
                    json_error(path, format!("decoding organization {id} of {source}"), e)
                })?;
                self.organizations.insert(id.to_string(), record);
            }
            None => {
                self.missing_organizations.insert(id.to_string());
            }
        }
        Ok(())
    }

    /// The name of organization `id`, read unless it was read already.
    pub(super) fn organization_name(
        &mut self,
        conn: &Connection,
        path: &Path,
        source: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.organization(conn, path, source, id)?;
        Ok(self.organizations.get(id).and_then(|o| o.name.clone()))
    }

    /// Reads user `id` unless it was read already.
    fn user(
        &mut self,
        conn: &Connection,
        path: &Path,
        source: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        if self.users.contains_key(id) || self.missing_users.contains(id) {
            return Ok(());
        }
        let agent: Option<bool> = conn
            .prepare_cached(GET_USER)
            .and_then(|mut s| {
                s.query_row(params![source, id], |row| row.get(0))
                    .optional()
            })
            .map_err(|e| sql_error(path, format!("reading user {id} of {source}"), e))?;
        match agent {
            Some(agent) => {
                self.users.insert(id.to_string(), agent);
            }
            None => {
                self.missing_users.insert(id.to_string());
            }
        }
        Ok(())
    }
}

/// Reads and assembles one ticket on `conn` (inside the caller's snapshot):
/// its row and its chunks in one query, `which` events decoded straight
/// from the rows.
fn load_ticket(
    conn: &Connection,
    path: &Path,
    (source, id): (&str, &str),
    key: Option<i64>,
    which: Events,
    lookups: &mut Lookups,
) -> Result<Option<(i64, Ticket)>, StoreError> {
    let what = || format!("reading ticket {id} of {source}");
    let sql = |e| sql_error(path, what(), e);
    let mut stmt = match key {
        Some(_) => conn.prepare_cached(GET_TIMELINE_BY_KEY),
        None => conn.prepare_cached(GET_TIMELINE),
    }
    .map_err(sql)?;
    let mut rows = match key {
        Some(key) => stmt.query(params![key]),
        None => stmt.query(params![source, id]),
    }
    .map_err(sql)?;
    let mut found: Option<(i64, TicketHeader)> = None;
    let mut events: Vec<EventRecord> = Vec::new();
    let mut chunks = 0;
    while let Some(row) = rows.next().map_err(sql)? {
        if found.is_none() {
            let bytes = row
                .get_ref(1)
                .and_then(|v| v.as_bytes().map_err(rusqlite::Error::from))
                .map_err(sql)?;
            let header = codec::decode_header(bytes).map_err(|e| {
                invalid(
                    path,
                    format!("decoding the header of ticket {id} of {source}: {e}"),
                )
            })?;
            found = Some((row.get(0).map_err(sql)?, header));
        }
        if let rusqlite::types::ValueRef::Blob(blob) = row.get_ref(2).map_err(sql)? {
            chunks += 1;
            push_chunk(path, source, id, blob, which, &mut events)?;
        }
    }
    let Some((key, header)) = found else {
        return Ok(None);
    };
    let ticket = assemble_one(conn, path, source, header, events, chunks, lookups)?;
    Ok(Some((key, ticket)))
}

/// A ticket from its decoded header and events (from `chunks` chunks):
/// events in order, and the organizations and users it refers to looked up.
pub(super) fn assemble_one(
    conn: &Connection,
    path: &Path,
    source: &str,
    header: TicketHeader,
    mut events: Vec<EventRecord>,
    chunks: usize,
    lookups: &mut Lookups,
) -> Result<Ticket, StoreError> {
    if chunks > 1 {
        events.sort_unstable_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    }
    // The organizations and users the ticket refers to (not its requester:
    // a comment of the requester is the requester's whoever they are).
    if let Some(org) = header.organization_id.as_deref() {
        lookups.organization(conn, path, source, org)?;
    }
    let requester = header.requester_id.as_deref();
    for e in &events {
        match &e.change {
            ChangeRecord::Organization { id: Some(o) } => {
                lookups.organization(conn, path, source, o)?;
            }
            ChangeRecord::Comment {
                author_id: Some(u), ..
            } if Some(u.as_str()) != requester => lookups.user(conn, path, source, u)?,
            _ => {}
        }
    }
    Ok(assemble::ticket(
        &header,
        events,
        &lookups.organizations,
        &lookups.users,
        source,
    ))
}

/// Appends the events of one stored chunk to `events` (`which` of them).
pub(super) fn push_chunk(
    path: &Path,
    source: &str,
    id: &str,
    blob: &[u8],
    which: Events,
    events: &mut Vec<EventRecord>,
) -> Result<(), StoreError> {
    codec::decode_events(blob, which, events).map_err(|e| codec_error(path, source, id, e))
}

/// The tickets a report window needs, streamed: a ticket's row and its
/// chunks come in key order, so one ticket is assembled at a time. The scan
/// goes by key (`NOT INDEXED`): through the `(source, id)` index, SQLite
/// would sort every row it returns, events included, before the first.
/// A ticket's latest event is in its row (`last_event_at`); the chunks'
/// `stored_at` come along so the ticket's last change needs no second scan.
const TICKETS_ACTIVE_IN: &str = "SELECT t.key, t.id, t.header, c.events, t.changed_at, c.stored_at
     FROM tickets t NOT INDEXED
     LEFT JOIN event_chunks c ON c.key = t.key
     WHERE t.source = ?1 AND t.deleted = 0 AND t.header IS NOT NULL
       AND t.created_at < ?3
       AND (t.created_at >= ?2 OR t.updated_at >= ?2 OR t.last_event_at >= ?2)
     ORDER BY t.key, c.seq";

/// [`Store::for_each_ticket_active_in`](super::Store::for_each_ticket_active_in)
/// on a SQLite store: one query in one snapshot, rows decoded as they come.
pub(super) fn for_each_ticket_active_in(
    store: &SqliteStore,
    source: &str,
    from: i64,
    to: i64,
    f: &mut dyn FnMut(ActiveTicket),
) -> Result<(), StoreError> {
    let what = format!("reading the tickets of {source} active in [{from}, {to})");
    with_scan_cache(store, what, || stream_active_in(store, source, from, to, f))
}

/// Runs `read`, one pass over the file, with a small page cache: a page is
/// read once, so it does as well as the connection's large one, and memory
/// stays flat (the connection's own size is put back after).
pub(super) fn with_scan_cache<T>(
    store: &SqliteStore,
    what: String,
    read: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let sql = |e| sql_error(&store.path, what.clone(), e);
    let cache: i64 = store
        .conn
        .pragma_query_value(None, "cache_size", |r| r.get(0))
        .map_err(sql)?;
    store
        .conn
        .pragma_update(None, "cache_size", SCAN_CACHE_KIB)
        .map_err(sql)?;
    let result = read();
    let restored = store.conn.pragma_update(None, "cache_size", cache);
    let value = result?;
    restored.map_err(sql)?;
    Ok(value)
}

/// The page cache of a streaming read, in KiB (SQLite's negative form).
const SCAN_CACHE_KIB: i64 = -16_384;

fn stream_active_in(
    store: &SqliteStore,
    source: &str,
    from: i64,
    to: i64,
    f: &mut dyn FnMut(ActiveTicket),
) -> Result<(), StoreError> {
    let path = &store.path;
    let what = || format!("reading the tickets of {source} active in [{from}, {to})");
    let sql = |e| sql_error(path, what(), e);
    let tx = store.conn.unchecked_transaction().map_err(sql)?;
    let mut lookups = current_lookups(store);
    let lookups = &mut lookups.1;
    {
        let mut stmt = tx.prepare_cached(TICKETS_ACTIVE_IN).map_err(sql)?;
        let mut rows = stmt.query(params![source, from, to]).map_err(sql)?;
        // The ticket being read.
        struct Reading {
            key: i64,
            id: String,
            header: TicketHeader,
            events: Vec<EventRecord>,
            chunks: usize,
            stored_at: i64,
        }
        let mut current: Option<Reading> = None;
        let mut hand_over = |r: Reading| -> Result<(), StoreError> {
            let ticket = assemble_one(&tx, path, source, r.header, r.events, r.chunks, lookups)?;
            f(ActiveTicket {
                ticket,
                stored_at: r.stored_at,
            });
            Ok(())
        };
        while let Some(row) = rows.next().map_err(sql)? {
            let key: i64 = row.get(0).map_err(sql)?;
            if current.as_ref().is_none_or(|c| c.key != key) {
                if let Some(done) = current.take() {
                    hand_over(done)?;
                }
                let id: String = row.get(1).map_err(sql)?;
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
                current = Some(Reading {
                    key,
                    id,
                    header,
                    events: Vec::new(),
                    chunks: 0,
                    stored_at: row.get(4).map_err(sql)?,
                });
            }
            if let (rusqlite::types::ValueRef::Blob(blob), Some(c)) =
                (row.get_ref(3).map_err(sql)?, current.as_mut())
            {
                c.chunks += 1;
                push_chunk(path, source, &c.id, blob, Events::All, &mut c.events)?;
                let stored: i64 = row.get(5).map_err(sql)?;
                c.stored_at = c.stored_at.max(stored);
            }
        }
        if let Some(done) = current.take() {
            hand_over(done)?;
        }
    }
    drop(tx);
    Ok(())
}

/// [`Store::for_each_ticket`](super::Store::for_each_ticket) on a SQLite
/// store: in batches, with the small page cache of a scan (through the
/// connection's own, a long list filled it whole for nothing).
pub(super) fn for_each_ticket(
    store: &SqliteStore,
    source: &str,
    ids: &[String],
    f: &mut dyn FnMut(Ticket),
) -> Result<(), StoreError> {
    let what = format!("reading {} tickets of {source}", ids.len());
    with_scan_cache(store, what, || {
        for chunk in ids.chunks(500) {
            for t in tickets(store, source, chunk, Events::All)? {
                f(t);
            }
        }
        Ok(())
    })
}

/// [`Store::cursor`](super::Store::cursor) on a SQLite store.
pub(super) fn cursor(
    store: &SqliteStore,
    source: &str,
    stream: &str,
) -> Result<Option<String>, StoreError> {
    store
        .conn
        .prepare_cached("SELECT value FROM cursors WHERE source = ?1 AND stream = ?2")
        .and_then(|mut s| {
            s.query_row(params![source, stream], |row| row.get(0))
                .optional()
        })
        .map_err(|e| {
            sql_error(
                &store.path,
                format!("reading the cursor of {source}/{stream}"),
                e,
            )
        })
}

/// [`Store::ticket`](super::Store::ticket) on a SQLite store.
pub(super) fn ticket(
    store: &SqliteStore,
    source: &str,
    id: &str,
) -> Result<Option<Ticket>, StoreError> {
    let path = &store.path;
    let tx = store
        .conn
        .unchecked_transaction()
        .map_err(|e| sql_error(path, format!("reading ticket {id} of {source}"), e))?;
    let key = store
        .keys
        .borrow()
        .get(source)
        .and_then(|k| k.get(id))
        .copied();
    let ticket = load_ticket(
        &tx,
        path,
        (source, id),
        key,
        Events::All,
        &mut Lookups::default(),
    )?;
    drop(tx);
    Ok(ticket.map(|(_, t)| t))
}

/// [`Store::tickets`](super::Store::tickets) on a SQLite store, and
/// [`Store::timelines`](super::Store::timelines) (`which`: the timeline's
/// events only).
pub(super) fn tickets(
    store: &SqliteStore,
    source: &str,
    ids: &[String],
    which: Events,
) -> Result<Vec<Ticket>, StoreError> {
    let path = &store.path;
    let tx = store
        .conn
        .unchecked_transaction()
        .map_err(|e| sql_error(path, format!("reading tickets of {source}"), e))?;
    let mut lookups = current_lookups(store);
    let lookups = &mut lookups.1;
    let mut out = Vec::with_capacity(ids.len());
    let mut learned = Vec::with_capacity(ids.len());
    {
        let cache = store.keys.borrow();
        let known = cache.get(source);
        for id in ids {
            let cached = known.and_then(|k| k.get(id.as_str())).copied();
            if let Some((key, t)) = load_ticket(&tx, path, (source, id), cached, which, lookups)? {
                if cached.is_none() {
                    learned.push((t.id.clone(), key));
                }
                out.push(t);
            }
        }
    }
    drop(tx);
    // Their clocks are usually saved next.
    store.learn_keys(source, learned);
    Ok(out)
}

/// [`Store::ticket_ids`](super::Store::ticket_ids) on a SQLite store.
pub(super) fn ticket_ids(store: &SqliteStore, source: &str) -> Result<Vec<String>, StoreError> {
    store.keyed_ids(
        "SELECT id, key FROM tickets
         WHERE source = ?1 AND deleted = 0 AND header IS NOT NULL ORDER BY id",
        params![source],
        source,
        &format!("listing the tickets of {source}"),
    )
}

/// [`Store::stale_ticket_ids`](super::Store::stale_ticket_ids) on a SQLite store.
pub(super) fn stale_ticket_ids(
    store: &SqliteStore,
    source: &str,
) -> Result<Vec<String>, StoreError> {
    // The stale marks first (CROSS JOIN keeps SQLite from scanning every
    // ticket of the source to look each up in the few marks): a poll that
    // changed nothing costs no pass over a million tickets, and their pages
    // do not fill the page cache.
    store.keyed_ids(
        "SELECT t.id, t.key FROM stale_tickets s CROSS JOIN tickets t ON t.key = s.key
         WHERE t.source = ?1 AND t.deleted = 0 AND t.header IS NOT NULL
         ORDER BY s.key",
        params![source],
        source,
        &format!("listing the tickets of {source} with stale clocks"),
    )
}

/// [`Store::ticket_ids_computed_under_other_config`] on a SQLite store.
///
/// [`Store::ticket_ids_computed_under_other_config`]:
/// super::Store::ticket_ids_computed_under_other_config
pub(super) fn ticket_ids_computed_under_other_config(
    store: &SqliteStore,
    source: &str,
    config_hash: &str,
) -> Result<Vec<String>, StoreError> {
    // A pass over every clocks row: with a small page cache.
    let what = format!("listing the tickets of {source} computed under another config");
    with_scan_cache(store, what.clone(), || {
        store.keyed_ids(
            "SELECT t.id, t.key FROM clocks c JOIN tickets t ON t.key = c.key
             WHERE t.source = ?1 AND t.deleted = 0 AND c.config_hash <> ?2
             ORDER BY t.key",
            params![source, config_hash],
            source,
            &what,
        )
    })
}

/// [`Store::tickets_changed_since`](super::Store::tickets_changed_since) on a SQLite store.
pub(super) fn tickets_changed_since(
    store: &SqliteStore,
    source: &str,
    since: i64,
) -> Result<Vec<String>, StoreError> {
    let what = || format!("listing the tickets of {source} changed since {since}");
    // A scan of every ticket: with a small page cache.
    with_scan_cache(store, what(), || changed_since(store, source, since))
}

fn changed_since(store: &SqliteStore, source: &str, since: i64) -> Result<Vec<String>, StoreError> {
    let what = || format!("listing the tickets of {source} changed since {since}");
    let mut stmt = store
        .conn
        .prepare_cached(
            "SELECT t.id FROM tickets t
             WHERE t.source = ?1 AND t.deleted = 0 AND t.header IS NOT NULL
               AND (t.changed_at >= ?2 OR EXISTS (SELECT 1 FROM event_chunks c
                    WHERE c.key = t.key AND c.stored_at >= ?2))
             ORDER BY t.id",
        )
        .map_err(|e| sql_error(&store.path, what(), e))?;
    let rows = stmt
        .query_map(params![source, since], |row| row.get(0))
        .map_err(|e| sql_error(&store.path, what(), e))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| sql_error(&store.path, what(), e))
}

/// [`Store::ticket_metas`](super::Store::ticket_metas) on a SQLite store.
pub(super) fn ticket_metas(
    store: &SqliteStore,
    source: &str,
) -> Result<Vec<TicketMeta>, StoreError> {
    let what = || format!("reading the tickets of {source}");
    let mut stmt = store
        .conn
        .prepare_cached(
            "SELECT id, created_at, organization_id FROM tickets
             WHERE source = ?1 AND deleted = 0 AND header IS NOT NULL ORDER BY id",
        )
        .map_err(|e| sql_error(&store.path, what(), e))?;
    let rows = stmt
        .query_map(params![source], |row| {
            Ok(TicketMeta {
                id: row.get(0)?,
                created_at: row.get::<_, Option<i64>>(1)?.unwrap_or(0),
                organization: row.get(2)?,
            })
        })
        .map_err(|e| sql_error(&store.path, what(), e))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| sql_error(&store.path, what(), e))
}

/// [`Store::notes`](super::Store::notes) on a SQLite store.
pub(super) fn notes(
    store: &SqliteStore,
    source: &str,
    from: i64,
    to: i64,
) -> Result<Vec<NoteRecord>, StoreError> {
    let what = || format!("reading the notes of {source}");
    let mut stmt = store
        .conn
        .prepare_cached(
            "SELECT kind, name, first_at, last_at FROM source_notes
             WHERE source = ?1 AND last_at >= ?2 AND first_at < ?3 ORDER BY kind, name",
        )
        .map_err(|e| sql_error(&store.path, what(), e))?;
    let rows = stmt
        .query_map(params![source, from, to], |row| {
            Ok(NoteRecord {
                kind: row.get(0)?,
                name: row.get(1)?,
                first_at: row.get(2)?,
                last_at: row.get(3)?,
            })
        })
        .map_err(|e| sql_error(&store.path, what(), e))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| sql_error(&store.path, what(), e))
}

/// [`Store::count_notes`](super::Store::count_notes) on a SQLite store: a
/// count over the notes' primary key (source, kind, name).
pub(super) fn count_notes(
    store: &SqliteStore,
    source: &str,
    kind: &str,
) -> Result<u64, StoreError> {
    let what = || format!("counting the {kind} notes of {source}");
    let n: i64 = store
        .conn
        .prepare_cached("SELECT COUNT(*) FROM source_notes WHERE source = ?1 AND kind = ?2")
        .and_then(|mut stmt| stmt.query_row(params![source, kind], |row| row.get(0)))
        .map_err(|e| sql_error(&store.path, what(), e))?;
    Ok(n.max(0) as u64)
}

/// [`Store::polls`](super::Store::polls) on a SQLite store.
pub(super) fn polls(
    store: &SqliteStore,
    source: &str,
    from: i64,
    to: i64,
) -> Result<Vec<i64>, StoreError> {
    let what = || format!("reading the polls of {source}");
    let mut stmt = store
        .conn
        .prepare_cached(
            "SELECT at FROM polls WHERE source = ?1 AND at >= ?2 AND at < ?3 ORDER BY at",
        )
        .map_err(|e| sql_error(&store.path, what(), e))?;
    let rows = stmt
        .query_map(params![source, from, to], |row| row.get(0))
        .map_err(|e| sql_error(&store.path, what(), e))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| sql_error(&store.path, what(), e))
}

/// [`Store::stats`](super::Store::stats) on a SQLite store.
pub(super) fn stats(store: &SqliteStore) -> Result<StoreStats, StoreError> {
    store
        .conn
        .prepare_cached(
            "SELECT
                (SELECT count(*) FROM tickets WHERE deleted = 0 AND header IS NOT NULL),
                (SELECT count(*) FROM tickets WHERE deleted = 1 AND header IS NOT NULL),
                (SELECT coalesce(sum(count), 0) FROM event_chunks),
                (SELECT count(*) FROM organizations),
                (SELECT count(*) FROM users),
                (SELECT count(*) FROM clocks),
                (SELECT count(*) FROM cursors)",
        )
        .and_then(|mut s| {
            s.query_row([], |row| {
                Ok(StoreStats {
                    tickets: row.get(0)?,
                    deleted_tickets: row.get(1)?,
                    events: row.get(2)?,
                    organizations: row.get(3)?,
                    users: row.get(4)?,
                    clocks: row.get(5)?,
                    cursors: row.get(6)?,
                })
            })
        })
        .map_err(|e| sql_error(&store.path, "counting the stored records", e))
}
