//! The embedded store: one SQLite file in WAL mode.
//!
//! Since schema version 4 a ticket is a row with its latest header, and its
//! events are chunks of compact BLOBs ([`super::codec`]). Applying pages
//! groups their records by ticket; per ticket and transaction it rewrites
//! the row only if the header changed, and appends the events it has not
//! stored yet as one chunk. An event later than every stored one of its
//! ticket cannot be stored yet, so a backfill's events (which come in time
//! order) are appended without reading the stored ones; the store reads
//! them only for events no later than that, and to merge a ticket's chunks
//! once they are many. Since schema version 5 a ticket's computed clocks
//! are a compact BLOB as well ([`super::codec::encode_clocks`]), since
//! version 6 its header ([`super::codec::encode_header`]), and since
//! version 7 a ticket's chunks are stored together, keyed by ticket and
//! chunk number, so reading them is one range and appending one is one row.
//!
//! The store remembers ticket keys, committed stale marks and what each
//! ticket's chunks hold, so it assumes it is the only writer of its file
//! (other processes may read it).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};

use super::codec::{self, CodecError};
use super::{Applied, Store, StoreError, StoreStats, StoredClocks, TicketMeta};
use crate::engine::{JsonClockView, Ticket};
use crate::sources::{
    assemble, ChangeRecord, EventRecord, NoteRecord, OrganizationRecord, Page, Record,
    TicketHeader, UserRecord,
};

/// Code that reshapes rows in a migration's transaction.
type CopyRows = fn(&Transaction<'_>, &Path) -> Result<(), StoreError>;

/// One step of the schema: SQL, then (for a step that reshapes data) code
/// run in the same transaction, then more SQL.
struct Migration {
    sql: &'static str,
    copy: Option<CopyRows>,
    finish: &'static str,
}

/// The migrations, in order; migration `n` (1-based) brings the file to
/// schema version `n`.
const MIGRATIONS: &[Migration] = &[
    Migration {
        sql: include_str!("migrations/0001_init.sql"),
        copy: None,
        finish: "",
    },
    Migration {
        sql: include_str!("migrations/0002_arrivals_and_polls.sql"),
        copy: None,
        finish: "",
    },
    Migration {
        sql: include_str!("migrations/0003_compact_timelines.sql"),
        copy: Some(copy_version_2_rows),
        finish: include_str!("migrations/0003_compact_timelines_finish.sql"),
    },
    Migration {
        sql: include_str!("migrations/0004_event_chunks.sql"),
        copy: Some(copy_version_3_rows),
        finish: include_str!("migrations/0004_event_chunks_finish.sql"),
    },
    Migration {
        sql: include_str!("migrations/0005_compact_clocks.sql"),
        copy: Some(copy_version_4_clocks),
        finish: include_str!("migrations/0005_compact_clocks_finish.sql"),
    },
    Migration {
        sql: include_str!("migrations/0006_compact_headers.sql"),
        copy: Some(copy_version_5_headers),
        finish: "",
    },
    Migration {
        sql: include_str!("migrations/0007_chunks_by_ticket.sql"),
        copy: None,
        finish: "",
    },
    Migration {
        sql: include_str!("migrations/0008_source_notes.sql"),
        copy: None,
        finish: "",
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const GET_ROW: &str = "SELECT key, header IS NOT NULL, updated_at, deleted, requester_id
     FROM tickets WHERE source = ?1 AND id = ?2";

const GET_ROW_BY_KEY: &str = "SELECT key, header IS NOT NULL, updated_at, deleted, requester_id
     FROM tickets WHERE key = ?1";

const GET_HEADER: &str = "SELECT header FROM tickets WHERE key = ?1";

const INSERT_ROW: &str = "INSERT INTO tickets
     (source, id, header, updated_at, created_at, organization_id, deleted, changed_at,
      requester_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

const UPDATE_HEADER: &str = "UPDATE tickets SET header = ?2, updated_at = ?3, created_at = ?4,
     organization_id = ?5, deleted = ?6, changed_at = ?7, requester_id = ?8
     WHERE key = ?1";

const CHUNK_INFO: &str = "SELECT coalesce(max(max_at), 0), count(*) FROM event_chunks
     WHERE key = ?1";

const GET_CHUNKS: &str = "SELECT events FROM event_chunks WHERE key = ?1";

/// A chunk numbered `?6` within its ticket.
const PUT_CHUNK: &str = "INSERT INTO event_chunks (key, max_at, count, stored_at, events, seq)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// A chunk in the table of schema version 4 to 6, numbered as written.
const PUT_CHUNK_V4: &str = "INSERT INTO event_chunks (key, max_at, count, stored_at, events)
     VALUES (?1, ?2, ?3, ?4, ?5)";

const DROP_CHUNKS: &str = "DELETE FROM event_chunks WHERE key = ?1";

const PUT_REF: &str = "INSERT OR IGNORE INTO ticket_refs (source, kind, ref, key)
     VALUES (?1, ?2, ?3, ?4)";

const TICKETS_OF_REF: &str = "SELECT t.key, t.id FROM ticket_refs r JOIN tickets t ON t.key = r.key
     WHERE r.source = ?1 AND r.kind = ?2 AND r.ref = ?3";

const MARK_STALE: &str = "INSERT OR IGNORE INTO stale_tickets (key) VALUES (?1)";

const TOUCH: &str = "UPDATE tickets SET changed_at = ?2 WHERE key = ?1 AND changed_at <> ?2";

const PUT_ORGANIZATION: &str = "INSERT INTO organizations (source, id, record) VALUES (?1, ?2, ?3)
     ON CONFLICT (source, id) DO UPDATE SET record = excluded.record
     WHERE excluded.record IS NOT organizations.record";

const PUT_USER: &str = "INSERT INTO users (source, id, agent) VALUES (?1, ?2, ?3)
     ON CONFLICT (source, id) DO UPDATE SET agent = excluded.agent
     WHERE excluded.agent IS NOT users.agent";

const PUT_CURSOR: &str =
    "INSERT INTO cursors (source, stream, value, updated_at) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (source, stream) DO UPDATE SET
         value = excluded.value,
         updated_at = excluded.updated_at
     WHERE excluded.value IS NOT cursors.value";

const DROP_CLOCKS: &str = "DELETE FROM clocks WHERE key = ?1";

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

const GET_KEY: &str = "SELECT key FROM tickets WHERE source = ?1 AND id = ?2";

const IS_LIVE: &str = "SELECT 1 FROM tickets WHERE key = ?1 AND deleted = 0 AND header IS NOT NULL";

const CLEAR_STALE: &str = "DELETE FROM stale_tickets WHERE key = ?1";

const PUT_CLOCKS: &str = "INSERT INTO clocks (key, config_hash, clocks) VALUES (?1, ?2, ?3)
     ON CONFLICT (key) DO UPDATE SET config_hash = excluded.config_hash, clocks = excluded.clocks";

fn sql_error(path: &Path, what: impl Into<String>, source: rusqlite::Error) -> StoreError {
    StoreError::Backend {
        location: path.display().to_string(),
        what: what.into(),
        source: Box::new(source),
    }
}

fn json_error(path: &Path, what: impl Into<String>, source: serde_json::Error) -> StoreError {
    StoreError::Json {
        location: path.display().to_string(),
        what: what.into(),
        source,
    }
}

fn invalid(path: &Path, what: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        location: path.display().to_string(),
        what: what.into(),
    }
}

fn codec_error(path: &Path, source: &str, id: &str, e: CodecError) -> StoreError {
    invalid(
        path,
        format!("the stored events of ticket {id} of {source} do not decode: {e}"),
    )
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The lookup a change of an organization or user needs, if any: tickets
/// with an organization change refer to it; comments by anyone but the
/// ticket's requester are resolved through the stored users (the requester
/// is recognized from the header alone).
fn event_ref<'a>(
    change: &'a ChangeRecord,
    requester: Option<&str>,
) -> Option<(&'static str, &'a str)> {
    match change {
        ChangeRecord::Organization { id: Some(o) } => Some(("o", o.as_str())),
        ChangeRecord::Comment {
            author_id: Some(u), ..
        } if requester != Some(u.as_str()) => Some(("u", u.as_str())),
        _ => None,
    }
}

/// A ticket's row by one of a pair of queries: the first by its integer key
/// when that is known, else the second by `(source, id)` through the text
/// index.
fn ticket_row<T>(
    conn: &Connection,
    (by_key, by_id): (&str, &str),
    key: Option<i64>,
    source: &str,
    id: &str,
    read: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    match key {
        Some(key) => conn
            .prepare_cached(by_key)?
            .query_row(params![key], read)
            .optional(),
        None => conn
            .prepare_cached(by_id)?
            .query_row(params![source, id], read)
            .optional(),
    }
}

/// What a batch of pages says about one ticket, in page order.
#[derive(Default)]
struct Group<'a> {
    headers: Vec<&'a TicketHeader>,
    events: Vec<&'a EventRecord>,
}

/// What the store knows of a ticket's stored events without reading them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ChunkInfo {
    /// The latest stored event time (meaningless when `chunks` is 0).
    max_at: i64,
    /// How many chunks hold the ticket's events.
    chunks: u32,
}

/// A ticket with this many chunks has them merged into one when it gets
/// more events: reads stay a few rows per ticket however often it changes.
const COMPACT_AT: u32 = 16;

/// The stored event chunks of a ticket.
fn read_chunks(conn: &Connection, key: i64) -> rusqlite::Result<Vec<Vec<u8>>> {
    let mut stmt = conn.prepare_cached(GET_CHUNKS)?;
    let rows = stmt.query_map(params![key], |r| r.get::<_, Vec<u8>>(0))?;
    rows.collect()
}

/// The events of a ticket's chunks, sorted by `(at, id)`.
fn chunk_frames<'a>(
    blobs: &'a [Vec<u8>],
    path: &Path,
    source: &str,
    id: &str,
) -> Result<Vec<codec::Framed<'a>>, StoreError> {
    let mut frames = Vec::new();
    for blob in blobs {
        frames.extend(codec::frames(blob).map_err(|e| codec_error(path, source, id, e))?);
    }
    if blobs.len() > 1 {
        frames.sort_unstable_by(|a, b| (a.at, a.id).cmp(&(b.at, b.id)));
    }
    Ok(frames)
}

/// Stores what one batch says about one ticket: its newest header (the
/// row is rewritten only if the header changed) and the events it has not
/// stored yet, appended as one chunk. Returns the ticket's key if it
/// changed, and whether it now looks complete (see [`super::Applied`]).
#[allow(clippy::too_many_arguments)]
fn merge_ticket(
    tx: &Transaction<'_>,
    path: &Path,
    source: &str,
    id: &str,
    group: &Group<'_>,
    now: i64,
    keys: &mut BatchKeys<'_>,
    refs: &mut Vec<(&'static str, String, i64)>,
    scratch: &mut Vec<u8>,
) -> Result<Option<(i64, bool)>, StoreError> {
    let what = || format!("storing ticket {id} of {source}");
    type Row = (i64, bool, Option<i64>, bool, Option<String>);
    let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Row> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    };
    let known = keys.known.and_then(|k| k.get(id)).copied();
    // What is remembered of the row, looked up once.
    let row_info = known.and_then(|k| Some((k, keys.rows.get(&k)?)));
    // References already stored for this ticket, as far as remembered.
    let stored_refs: &[u64] = row_info.map_or(&[], |(_, r)| &r.refs);
    // The row, from memory when a batch brings only events (the header
    // columns are then all it needs), or known absent when the store knows
    // every key; else read.
    let remembered = match row_info {
        Some((key, r)) if group.headers.is_empty() => {
            let requester = r.requester.as_deref().map(str::to_string);
            Some((key, r.has_header, r.updated_at, r.deleted, requester))
        }
        _ => None,
    };
    let row: Option<Row> = match (remembered, known) {
        (Some(row), _) => Some(row),
        (None, None) if keys.every_key_known => None,
        (None, _) => ticket_row(tx, (GET_ROW_BY_KEY, GET_ROW), known, source, id, read)
            .map_err(|e| sql_error(path, what(), e))?,
    };
    if let (None, Some((key, ..))) = (known, &row) {
        keys.learned.push((id.to_string(), *key));
    }
    let (key, has_header, old_updated, old_deleted, old_requester) = match row {
        Some((k, h, u, d, r)) => (Some(k), h, u, d, r),
        None => (None, false, None, false, None),
    };
    // The stored header's bytes, only to compare with new ones.
    let old_header: Option<Vec<u8>> = match key {
        Some(key) if has_header && !group.headers.is_empty() => tx
            .prepare_cached(GET_HEADER)
            .and_then(|mut s| {
                s.query_row(params![key], |r| {
                    Ok(r.get_ref(0)?.as_bytes().ok().map(<[u8]>::to_vec))
                })
            })
            .map_err(|e| sql_error(path, what(), e))?,
        _ => None,
    };

    // The header: the newest of the batch's, if at least as new as the
    // stored one and different from it.
    let mut updated_at = old_updated;
    let mut newest: Option<(&TicketHeader, Vec<u8>)> = None;
    for h in &group.headers {
        if updated_at.is_some_and(|u| h.updated_at < u) {
            continue;
        }
        let mut encoded = Vec::with_capacity(128);
        codec::encode_header(&mut encoded, h);
        let current = newest
            .as_ref()
            .map(|(_, b)| b.as_slice())
            .or(old_header.as_deref());
        if current != Some(encoded.as_slice()) {
            newest = Some((h, encoded));
        }
        updated_at = Some(h.updated_at);
    }
    // The requester decides which comment authors need a lookup.
    let requester: Option<&str> = match &newest {
        Some((h, _)) => h.requester_id.as_deref(),
        None => old_requester.as_deref(),
    };

    // The batch's events in time order, each once: records repeat across
    // pages, and a repeat (same id, so the same time: events never change)
    // sorts next to the first.
    if group.events.iter().any(|ev| ev.id.is_empty()) {
        return Err(invalid(
            path,
            format!("storing ticket {id} of {source}: an event has an empty id"),
        ));
    }
    let mut fresh: Vec<&EventRecord> = group.events.clone();
    fresh.sort_unstable_by(|a, b| (a.at, a.id.as_str()).cmp(&(b.at, b.id.as_str())));
    fresh.dedup_by(|a, b| a.id == b.id);
    // What is stored: from memory, or from the chunks' index.
    let info = match key {
        Some(key) if !fresh.is_empty() => match keys.chunks.get(&key) {
            Some(info) => *info,
            None => tx
                .prepare_cached(CHUNK_INFO)
                .and_then(|mut s| {
                    s.query_row(params![key], |r| {
                        Ok(ChunkInfo {
                            max_at: r.get(0)?,
                            chunks: r.get(1)?,
                        })
                    })
                })
                .map_err(|e| sql_error(path, what(), e))?,
        },
        _ => ChunkInfo::default(),
    };
    // Only an event no later than every stored one can be stored already;
    // the stored events are read for those, and to compact.
    let compact = info.chunks >= COMPACT_AT && !fresh.is_empty();
    let overlaps = info.chunks > 0 && fresh.iter().any(|e| e.at <= info.max_at);
    let blobs = match key {
        Some(key) if compact || overlaps => {
            read_chunks(tx, key).map_err(|e| sql_error(path, what(), e))?
        }
        _ => Vec::new(),
    };
    let existing = chunk_frames(&blobs, path, source, id)?;
    if overlaps {
        fresh.retain(|e| !existing.iter().any(|f| f.id == e.id));
    }
    if newest.is_none() && fresh.is_empty() {
        return Ok(None);
    }
    scratch.clear();
    let mut candidates: Vec<(&'static str, &str)> = Vec::new();
    for ev in &fresh {
        codec::encode_event(scratch, &ev.id, ev.at, &ev.change);
        if let Some(r) = event_ref(&ev.change, requester) {
            candidates.push(r);
        }
    }
    if let Some((h, _)) = &newest {
        if let Some(o) = h.organization_id.as_deref() {
            candidates.push(("o", o));
        }
    }
    // The old requester's comments are now resolved through the users.
    if let Some(r) = old_requester
        .as_deref()
        .filter(|&r| newest.is_some() && Some(r) != requester)
    {
        candidates.push(("u", r));
    }

    let mut deleted = old_deleted;
    let key = match (key, &newest) {
        (Some(key), Some((h, encoded))) => {
            deleted = h.deleted;
            tx.prepare_cached(UPDATE_HEADER)
                .and_then(|mut s| {
                    s.execute(params![
                        key,
                        encoded,
                        h.updated_at,
                        h.created_at,
                        h.organization_id,
                        h.deleted,
                        now,
                        h.requester_id
                    ])
                })
                .map_err(|e| sql_error(path, what(), e))?;
            key
        }
        (Some(key), None) => key,
        (None, header) => {
            let h = header.as_ref().map(|(h, _)| *h);
            deleted = h.is_some_and(|h| h.deleted);
            tx.prepare_cached(INSERT_ROW)
                .and_then(|mut s| {
                    s.execute(params![
                        source,
                        id,
                        header.as_ref().map(|(_, encoded)| encoded.as_slice()),
                        h.map(|h| h.updated_at),
                        h.map(|h| h.created_at),
                        h.and_then(|h| h.organization_id.as_deref()),
                        deleted,
                        now,
                        h.and_then(|h| h.requester_id.as_deref())
                    ])
                })
                .map_err(|e| sql_error(path, what(), e))?;
            let key = tx.last_insert_rowid();
            keys.learned.push((id.to_string(), key));
            // A new row has no chunks yet: its first events need no look.
            keys.chunks_learned.push((key, ChunkInfo::default()));
            key
        }
    };
    // The latest stored event once this batch commits, if known.
    let mut latest_event = if fresh.is_empty() {
        keys.chunks
            .get(&key)
            .filter(|i| i.chunks > 0)
            .map(|i| i.max_at)
    } else {
        None
    };
    if let Some(last) = fresh.last() {
        let max_at = if info.chunks > 0 {
            info.max_at.max(last.at)
        } else {
            last.at
        };
        let mut merged = Vec::new();
        let (blob, count, chunks): (&[u8], usize, u32) = if compact {
            // All the ticket's events in one chunk, in place of the others.
            let added = codec::frames(scratch).map_err(|e| codec_error(path, source, id, e))?;
            let mut all: Vec<&codec::Framed<'_>> = existing.iter().chain(&added).collect();
            all.sort_unstable_by(|a, b| (a.at, a.id).cmp(&(b.at, b.id)));
            merged.reserve(all.iter().map(|f| f.frame.len()).sum());
            for f in &all {
                merged.extend_from_slice(f.frame);
            }
            tx.prepare_cached(DROP_CHUNKS)
                .and_then(|mut s| s.execute(params![key]))
                .map_err(|e| sql_error(path, what(), e))?;
            (&merged, all.len(), 1)
        } else {
            (scratch.as_slice(), fresh.len(), info.chunks + 1)
        };
        // Numbered after the ticket's other chunks (the only one, compacted).
        let number = chunks - 1;
        tx.prepare_cached(PUT_CHUNK)
            .and_then(|mut s| s.execute(params![key, max_at, count as i64, now, blob, number]))
            .map_err(|e| sql_error(path, what(), e))?;
        keys.chunks_learned
            .push((key, ChunkInfo { max_at, chunks }));
        latest_event = Some(max_at);
    }
    if !keys.stale.contains(&key) {
        tx.prepare_cached(MARK_STALE)
            .and_then(|mut s| s.execute(params![key]))
            .map_err(|e| sql_error(path, what(), e))?;
        keys.marked.push(key);
    }
    if deleted && !old_deleted {
        tx.prepare_cached(DROP_CLOCKS)
            .and_then(|mut s| s.execute(params![key]))
            .map_err(|e| sql_error(path, what(), e))?;
    }
    // Each pair once per ticket, and none the ticket is known to have
    // stored: a backfill brings a ticket's agent comments over several
    // batches, and each names the same few agents.
    let mut ticket_refs: Vec<u64> = stored_refs.to_vec();
    for (kind, target) in candidates {
        let hash = ref_hash(kind, target);
        if !ticket_refs.contains(&hash) {
            ticket_refs.push(hash);
            refs.push((kind, target.to_string(), key));
        }
    }
    // What the row holds once this commits (`updated_at` and `requester`
    // are the newest header's, or the stored ones).
    let has_header = has_header || newest.is_some();
    keys.rows_learned.push((
        key,
        RowInfo {
            has_header,
            updated_at,
            deleted,
            requester: requester.map(Box::from),
            refs: ticket_refs.into_boxed_slice(),
        },
    ));
    let complete = !deleted
        && has_header
        && matches!((latest_event, updated_at), (Some(e), Some(u)) if e >= u);
    Ok(Some((key, complete)))
}

/// Ticket keys of one source: those known before a transaction, and those
/// it learned (kept only once it commits: a rolled-back row's key may be
/// given to another ticket).
struct BatchKeys<'a> {
    known: Option<&'a FxHashMap<String, i64>>,
    learned: Vec<(String, i64)>,
    /// Keys already marked stale in the file (a mark is skipped for them).
    stale: &'a FxHashSet<i64>,
    /// Keys this transaction marks stale.
    marked: Vec<i64>,
    /// What the file's chunks hold, as far as remembered.
    chunks: &'a FxHashMap<i64, ChunkInfo>,
    /// What they hold once this transaction commits.
    chunks_learned: Vec<(i64, ChunkInfo)>,
    /// Every ticket this transaction changes (marked stale now or before).
    changed: Vec<i64>,
    /// What the file's ticket rows hold, as far as remembered.
    rows: &'a FxHashMap<i64, RowInfo>,
    /// What they hold once this transaction commits.
    rows_learned: Vec<(i64, RowInfo)>,
    /// Whether `known` holds every ticket key of the file: a ticket missing
    /// from it has no row.
    every_key_known: bool,
    /// Whether this transaction changes an organization or a user.
    directory_changed: bool,
}

/// What a ticket's row holds besides its header's text: all that applying
/// only events to it needs.
#[derive(Debug, Clone)]
struct RowInfo {
    has_header: bool,
    updated_at: Option<i64>,
    deleted: bool,
    requester: Option<Box<str>>,
    /// Hashes ([`ref_hash`]) of `ticket_refs` pairs stored for the ticket
    /// (maybe not all of them): a pair among them is not inserted again.
    refs: Box<[u64]>,
}

/// A `ticket_refs` pair of one ticket as 64 bits, by SipHash (fixed keys:
/// well mixed, unlike a fast hash, on ids that differ in one digit). Two
/// pairs of one ticket sharing a hash (about one chance in 10^16 for a
/// ticket with a few hundred pairs) would leave the second unstored.
fn ref_hash(kind: &str, target: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    kind.hash(&mut h);
    target.hash(&mut h);
    h.finish()
}

/// Stores a note, widening the span of one already stored.
fn put_note(
    tx: &Transaction<'_>,
    path: &Path,
    source: &str,
    n: &NoteRecord,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO source_notes (source, kind, name, first_at, last_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (source, kind, name) DO UPDATE SET
           first_at = min(first_at, excluded.first_at),
           last_at = max(last_at, excluded.last_at)",
    )
    .and_then(|mut s| s.execute(params![source, n.kind, n.name, n.first_at, n.last_at]))
    .map(|_| ())
    .map_err(|e| sql_error(path, format!("storing a note of {source}"), e))
}

/// Applies pages inside `tx`: organizations and users as they come, then
/// every touched ticket's row once, then the tickets of changed
/// organizations and users. Returns the changed tickets' ids, and those of
/// them that look complete (in key order).
fn apply_in(
    tx: &Transaction<'_>,
    path: &Path,
    source: &str,
    pages: &[Page],
    keys: &mut BatchKeys<'_>,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let now = unix_now();
    // Keyed by a fast hash: every record of a backfill passes through here.
    let mut groups: FxHashMap<&str, Group<'_>> = FxHashMap::default();
    let mut changed_orgs: Vec<&str> = Vec::new();
    let mut changed_users: Vec<&str> = Vec::new();
    for page in pages {
        let stream = page.stream.as_str();
        for record in &page.records {
            match record {
                Record::Ticket(h) => groups.entry(h.id.as_str()).or_default().headers.push(h),
                Record::Event(ev) => groups
                    .entry(ev.ticket_id.as_str())
                    .or_default()
                    .events
                    .push(ev),
                Record::Organization(o) => {
                    if put_organization(tx, path, source, stream, o)? {
                        changed_orgs.push(&o.id);
                    }
                }
                Record::User(u) => {
                    if put_user(tx, path, source, stream, u)? {
                        changed_users.push(&u.id);
                    }
                }
                Record::Note(n) => put_note(tx, path, source, n)?,
            }
        }
        tx.prepare_cached(PUT_CURSOR)
            .and_then(|mut s| s.execute(params![source, stream, page.cursor, unix_now()]))
            .map_err(|e| sql_error(path, format!("storing the cursor of {source}/{stream}"), e))?;
    }

    keys.directory_changed = !changed_orgs.is_empty() || !changed_users.is_empty();
    // Changed ids (sorted and deduplicated by the caller: a ticket of a
    // changed organization may have changed itself too).
    let mut changed: Vec<String> = Vec::new();
    let mut complete: Vec<String> = Vec::new();
    let mut scratch = Vec::new();
    let mut refs = Vec::new();
    // In key order (then id order, for tickets new to the store): a
    // deterministic order, and neighbouring rows and index entries.
    let mut groups: Vec<(Option<i64>, &str, Group<'_>)> = groups
        .into_iter()
        .map(|(id, g)| (keys.known.and_then(|k| k.get(id)).copied(), id, g))
        .collect();
    groups.sort_unstable_by(|a, b| {
        (a.0.unwrap_or(i64::MAX), a.1).cmp(&(b.0.unwrap_or(i64::MAX), b.1))
    });
    for (_, id, group) in &groups {
        if let Some((key, whole)) = merge_ticket(
            tx,
            path,
            source,
            id,
            group,
            now,
            keys,
            &mut refs,
            &mut scratch,
        )? {
            changed.push((*id).to_string());
            keys.changed.push(key);
            if whole {
                complete.push((*id).to_string());
            }
        }
    }
    // New (reference, ticket) pairs in index order: neighbouring inserts
    // land on the same B-tree pages.
    refs.sort_unstable();
    refs.dedup();
    if !refs.is_empty() {
        let what = || format!("storing which tickets refer to what, of {source}");
        let mut put = tx
            .prepare_cached(PUT_REF)
            .map_err(|e| sql_error(path, what(), e))?;
        for (kind, target, key) in &refs {
            put.execute(params![source, kind, target, key])
                .map_err(|e| sql_error(path, what(), e))?;
        }
    }

    // Tickets that read a changed organization or user see it change too.
    let lookups = changed_orgs
        .iter()
        .map(|o| ("o", *o))
        .chain(changed_users.iter().map(|u| ("u", *u)));
    for (kind, target) in lookups {
        let what = || {
            let noun = if kind == "o" { "organization" } else { "user" };
            format!("finding the tickets of {noun} {target} of {source}")
        };
        let mut find = tx
            .prepare_cached(TICKETS_OF_REF)
            .map_err(|e| sql_error(path, what(), e))?;
        let rows = find
            .query_map(params![source, kind, target], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| sql_error(path, what(), e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(path, what(), e))?;
        let mut mark = tx
            .prepare_cached(MARK_STALE)
            .map_err(|e| sql_error(path, what(), e))?;
        let mut touch = tx
            .prepare_cached(TOUCH)
            .map_err(|e| sql_error(path, what(), e))?;
        for (key, id) in rows {
            mark.execute(params![key])
                .map_err(|e| sql_error(path, what(), e))?;
            touch
                .execute(params![key, now])
                .map_err(|e| sql_error(path, what(), e))?;
            keys.changed.push(key);
            changed.push(id);
        }
    }
    Ok((changed, complete))
}

fn put_organization(
    tx: &Transaction<'_>,
    path: &Path,
    source: &str,
    stream: &str,
    o: &OrganizationRecord,
) -> Result<bool, StoreError> {
    let what = || format!("storing organization {} of {source}/{stream}", o.id);
    let json = serde_json::to_string(o).map_err(|e| json_error(path, what(), e))?;
    let n = tx
        .prepare_cached(PUT_ORGANIZATION)
        .and_then(|mut s| s.execute(params![source, o.id, json]))
        .map_err(|e| sql_error(path, what(), e))?;
    Ok(n > 0)
}

fn put_user(
    tx: &Transaction<'_>,
    path: &Path,
    source: &str,
    stream: &str,
    u: &UserRecord,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(PUT_USER)
        .and_then(|mut s| s.execute(params![source, u.id, u.agent]))
        .map_err(|e| {
            sql_error(
                path,
                format!("storing user {} of {source}/{stream}", u.id),
                e,
            )
        })?;
    Ok(n > 0)
}

/// Schema 2 → 3: every ticket's header and events into one row, clocks and
/// lookups keyed by the new integer key. Runs inside the migration's
/// transaction, before the old tables are dropped.
fn copy_version_2_rows(tx: &Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    let what = "migrating the schema to version 3 (copying tickets)";
    let q = |e| sql_error(path, what, e);
    let ids: Vec<(String, String)> = tx
        .prepare(
            "SELECT source, id FROM tickets UNION SELECT source, ticket_id FROM events
             ORDER BY 1, 2",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(q)?;
    let mut copied = 0usize;
    for (source, id) in ids {
        let header: Option<(String, i64, Option<String>, bool, i64)> = tx
            .prepare_cached(
                "SELECT header, updated_at, organization_id, deleted, changed_at FROM tickets
                 WHERE source = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![source, id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()
            })
            .map_err(q)?;
        let parsed: Option<TicketHeader> = match &header {
            Some((json, ..)) => Some(serde_json::from_str(json).map_err(|e| {
                json_error(
                    path,
                    format!("{what}: the header of ticket {id} of {source}"),
                    e,
                )
            })?),
            None => None,
        };
        let requester = parsed.as_ref().and_then(|h| h.requester_id.as_deref());
        let mut blob = Vec::new();
        let mut count = 0i64;
        let mut refs: Vec<(&'static str, String)> = Vec::new();
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT event_id, at, change FROM events
                     WHERE source = ?1 AND ticket_id = ?2 ORDER BY at, event_id",
                )
                .map_err(q)?;
            let mut rows = stmt.query(params![source, id]).map_err(q)?;
            while let Some(row) = rows.next().map_err(q)? {
                let event_id: String = row.get(0).map_err(q)?;
                let at: i64 = row.get(1).map_err(q)?;
                let change: String = row.get(2).map_err(q)?;
                let change: ChangeRecord = serde_json::from_str(&change).map_err(|e| {
                    json_error(
                        path,
                        format!("{what}: event {event_id} of ticket {id} of {source}"),
                        e,
                    )
                })?;
                if let Some((kind, target)) = event_ref(&change, requester) {
                    refs.push((kind, target.to_string()));
                }
                codec::encode_event(&mut blob, &event_id, at, &change);
                count += 1;
            }
        }
        let clocks: Option<(String, String, bool)> = tx
            .prepare_cached(
                "SELECT config_hash, json, stale FROM clocks WHERE source = ?1 AND ticket_id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![source, id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(q)?;
        let stale = !matches!(clocks, Some((_, _, false)));
        tx.prepare_cached(
            "INSERT INTO tickets_v3 (source, id, header, updated_at, created_at, organization_id,
                 deleted, events, event_count, changed_at, requester_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .and_then(|mut s| {
            s.execute(params![
                source,
                id,
                header.as_ref().map(|h| h.0.as_str()),
                header.as_ref().map(|h| h.1),
                parsed.as_ref().map(|h| h.created_at),
                header.as_ref().and_then(|h| h.2.as_deref()),
                header.as_ref().is_some_and(|h| h.3),
                blob,
                count,
                header.as_ref().map_or(0, |h| h.4),
                requester
            ])
        })
        .map_err(q)?;
        let key = tx.last_insert_rowid();
        if stale {
            tx.prepare_cached(MARK_STALE)
                .and_then(|mut s| s.execute(params![key]))
                .map_err(q)?;
        }
        if let Some((hash, json, _)) = clocks {
            tx.prepare_cached("INSERT INTO clocks_v3 (key, config_hash, json) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| s.execute(params![key, hash, json]))
                .map_err(q)?;
        }
        if let Some(o) = parsed.as_ref().and_then(|h| h.organization_id.clone()) {
            refs.push(("o", o));
        }
        for (kind, target) in refs {
            tx.prepare_cached(PUT_REF)
                .and_then(|mut s| s.execute(params![source, kind, target, key]))
                .map_err(q)?;
        }
        copied += 1;
    }
    tracing::info!(path = %path.display(), tickets = copied, "store rows copied to schema version 3");
    Ok(())
}

/// Schema 3 → 4: each ticket's events move out of its row into one chunk.
/// Runs inside the migration's transaction, before the columns are dropped.
fn copy_version_3_rows(tx: &Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    let what = "migrating the schema to version 4 (moving events into chunks)";
    let q = |e| sql_error(path, what, e);
    let mut read = tx
        .prepare(
            "SELECT key, source, id, events, event_count, changed_at FROM tickets
             WHERE event_count > 0 ORDER BY key",
        )
        .map_err(q)?;
    let mut put = tx.prepare(PUT_CHUNK_V4).map_err(q)?;
    let mut rows = read.query([]).map_err(q)?;
    let mut moved = 0usize;
    while let Some(row) = rows.next().map_err(q)? {
        let (key, source, id, events, count, changed_at): (i64, String, String, Vec<u8>, i64, i64) = (
            row.get(0).map_err(q)?,
            row.get(1).map_err(q)?,
            row.get(2).map_err(q)?,
            row.get(3).map_err(q)?,
            row.get(4).map_err(q)?,
            row.get(5).map_err(q)?,
        );
        let frames = codec::frames(&events).map_err(|e| codec_error(path, &source, &id, e))?;
        let Some(max_at) = frames.iter().map(|f| f.at).max() else {
            continue;
        };
        put.execute(params![key, max_at, count, changed_at, events])
            .map_err(q)?;
        moved += 1;
    }
    tracing::info!(path = %path.display(), tickets = moved, "store events moved into chunks (schema version 4)");
    Ok(())
}

/// Schema 4 → 5: every ticket's clocks from JSON into the compact form. A
/// row whose JSON does not parse is dropped and its ticket marked stale:
/// clocks are derived data, computed again on the next poll.
fn copy_version_4_clocks(tx: &Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    let what = "migrating the schema to version 5 (compact clocks)";
    let q = |e| sql_error(path, what, e);
    let mut read = tx
        .prepare("SELECT key, config_hash, json FROM clocks ORDER BY key")
        .map_err(q)?;
    let mut put = tx
        .prepare("INSERT INTO clocks_v5 (key, config_hash, clocks) VALUES (?1, ?2, ?3)")
        .map_err(q)?;
    let mut mark = tx.prepare(MARK_STALE).map_err(q)?;
    let mut rows = read.query([]).map_err(q)?;
    let (mut converted, mut dropped) = (0usize, 0usize);
    while let Some(row) = rows.next().map_err(q)? {
        let key: i64 = row.get(0).map_err(q)?;
        let hash: String = row.get(1).map_err(q)?;
        let json = row.get_ref(2).map_err(q)?.as_str().unwrap_or_default();
        match JsonClockView::parse_list(json) {
            Ok(list) => {
                let views: Vec<_> = list.iter().map(JsonClockView::view).collect();
                put.execute(params![key, hash, codec::encode_clocks(&views)])
                    .map_err(q)?;
                converted += 1;
            }
            Err(_) => {
                mark.execute(params![key]).map_err(q)?;
                dropped += 1;
            }
        }
    }
    tracing::info!(path = %path.display(), tickets = converted, dropped, "store clocks converted to the compact form (schema version 5)");
    Ok(())
}

/// Schema 5 → 6: each ticket's header from JSON text to the compact form,
/// in place. A header that does not parse is left as it was (reading the
/// ticket reports it, as it did before).
fn copy_version_5_headers(tx: &Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    let what = "migrating the schema to version 6 (compact headers)";
    let q = |e| sql_error(path, what, e);
    let mut read = tx
        .prepare("SELECT key, header FROM tickets WHERE header IS NOT NULL ORDER BY key")
        .map_err(q)?;
    let mut put = tx
        .prepare("UPDATE tickets SET header = ?2 WHERE key = ?1")
        .map_err(q)?;
    let mut rows = read.query([]).map_err(q)?;
    let (mut converted, mut unreadable) = (0usize, 0usize);
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(q)? {
        let key: i64 = row.get(0).map_err(q)?;
        let text = row.get_ref(1).map_err(q)?.as_str().ok();
        match text.map(serde_json::from_str::<TicketHeader>) {
            Some(Ok(h)) => {
                out.clear();
                codec::encode_header(&mut out, &h);
                put.execute(params![key, out]).map_err(q)?;
                converted += 1;
            }
            _ => unreadable += 1,
        }
    }
    tracing::info!(path = %path.display(), tickets = converted, unreadable, "store headers converted to the compact form (schema version 6)");
    Ok(())
}

/// The organizations and users read so far (what tickets refer to
/// repeats), and those the store does not have.
#[derive(Default)]
struct Lookups {
    organizations: FxHashMap<String, OrganizationRecord>,
    missing_organizations: FxHashSet<String>,
    users: FxHashMap<String, bool>,
    missing_users: FxHashSet<String>,
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
/// its row and its chunks in one query, the events decoded straight from
/// the rows.
fn load_ticket(
    conn: &Connection,
    path: &Path,
    source: &str,
    id: &str,
    key: Option<i64>,
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
            let frames = codec::frames(blob).map_err(|e| codec_error(path, source, id, e))?;
            events.reserve(frames.len());
            for f in frames {
                events.push(EventRecord {
                    // Assembly does not read it: no copy per event.
                    ticket_id: String::new(),
                    id: f.id.to_string(),
                    at: f.at,
                    change: f.change().map_err(|e| codec_error(path, source, id, e))?,
                });
            }
        }
    }
    let Some((key, header)) = found else {
        return Ok(None);
    };
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
    Ok(Some((
        key,
        assemble::ticket(
            &header,
            events,
            &lookups.organizations,
            &lookups.users,
            source,
        ),
    )))
}

/// The embedded store. Not `Sync`: one owner (the daemon's blocking task);
/// other processes may read the same file concurrently (WAL).
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Ticket keys by source and id, as far as seen: a key never changes
    /// (rows are never deleted), so a row is then found by its integer key
    /// instead of through the text index. Bounded by [`KEY_CACHE_MAX`].
    keys: RefCell<FxHashMap<String, FxHashMap<String, i64>>>,
    /// Keys whose stale mark is committed, so applying more pages to the
    /// ticket need not mark it again (bounded like `keys`).
    stale: RefCell<FxHashSet<i64>>,
    /// What the committed chunks of a ticket hold, by key, so appending
    /// later events needs no look at them (bounded like `keys`).
    chunks: RefCell<FxHashMap<i64, ChunkInfo>>,
    /// Commits that changed tickets, shared with the reading connections
    /// opened from this store ([`Store::generation`]).
    generation: Arc<AtomicU64>,
    /// The generation in which each ticket last changed, by key.
    changed_in: RefCell<ChangeGenerations>,
    /// Commits that changed an organization or a user, shared with the
    /// reading connections like `generation`, and counted before it.
    directory: Arc<AtomicU64>,
    /// Organizations and users read for timelines, with the `directory`
    /// count they were read under: kept from one read of tickets to the
    /// next while the count stays. A read that finds an older count starts
    /// over. One that still finds the old count while its snapshot already
    /// holds a newer commit (the count moves on just after the commit) can
    /// only be one whose clocks are refused: the generation it read before
    /// is older than that commit, and the commit changed every ticket that
    /// refers to a changed organization or user. The count covers this
    /// process's writer only: a process that reads while another writes (a
    /// report run beside the daemon) keeps what it read first.
    lookups: RefCell<(u64, Lookups)>,
    /// What ticket rows hold besides the header's text, by key (bounded
    /// like `keys`).
    rows: RefCell<FxHashMap<i64, RowInfo>>,
    /// Whether `keys` holds every ticket key of the file: true while a
    /// store that started empty has never had to forget keys.
    every_key_known: Cell<bool>,
}

/// How much of the file a reading connection maps into memory.
const READER_MMAP_BYTES: i64 = 1 << 32;

/// Keys remembered before the cache starts over (about 60 bytes each).
const KEY_CACHE_MAX: usize = 300_000;

/// The commit (generation) in which each ticket last changed, in a list
/// indexed by the ticket's key: keys are the row ids of a table whose rows
/// are never deleted, so they run densely from 1, and the list costs 8
/// bytes a ticket with no bound to forget at. Only commits made through this
/// connection are recorded; a ticket without an entry changed before any of
/// them, which no snapshot taken from this connection's count can lack.
#[derive(Debug, Default)]
struct ChangeGenerations {
    by_key: Vec<u64>,
    /// A generation no earlier than the last change of a ticket whose key
    /// is past [`MAX_KEY_RECORDED`]: such a key (only a file edited by hand
    /// could have one) makes every older snapshot's clocks refused, which
    /// costs a recompute, never a wrong clock.
    floor: u64,
}

/// The largest key recorded one by one (a list of 512 MiB at most).
const MAX_KEY_RECORDED: i64 = 1 << 26;

impl ChangeGenerations {
    fn record(&mut self, key: i64, generation: u64) {
        match usize::try_from(key) {
            Ok(index) if key <= MAX_KEY_RECORDED => {
                if index >= self.by_key.len() {
                    // Capacity grows amortized, as keys arrive in order.
                    self.by_key.resize(index + 1, 0);
                }
                self.by_key[index] = generation;
            }
            _ => self.floor = self.floor.max(generation),
        }
    }

    /// The generation of the ticket's last change recorded here, 0 if none.
    fn last_change(&self, key: i64) -> u64 {
        let recorded = usize::try_from(key)
            .ok()
            .and_then(|index| self.by_key.get(index))
            .copied()
            .unwrap_or(0);
        recorded.max(self.floor)
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it and its folder if missing) the store file at
    /// `path`, switches it to WAL and migrates its schema to
    /// [`SCHEMA_VERSION`]. A file with a newer schema is refused untouched.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                    location: path.display().to_string(),
                    what: format!("create its folder {}", parent.display()),
                    source,
                })?;
            }
        }
        let conn = Connection::open(&path).map_err(|e| sql_error(&path, "opening the file", e))?;
        let mut store = SqliteStore {
            conn,
            path,
            keys: RefCell::default(),
            stale: RefCell::default(),
            chunks: RefCell::default(),
            generation: Arc::default(),
            changed_in: RefCell::default(),
            directory: Arc::default(),
            lookups: RefCell::default(),
            rows: RefCell::default(),
            every_key_known: Cell::new(false),
        };
        store.configure(true)?;
        store.migrate()?;
        store.every_key_known.set(store.has_no_tickets()?);
        Ok(store)
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory()
            .map_err(|e| sql_error(&path, "opening an in-memory database", e))?;
        let mut store = SqliteStore {
            conn,
            path,
            keys: RefCell::default(),
            stale: RefCell::default(),
            chunks: RefCell::default(),
            generation: Arc::default(),
            changed_in: RefCell::default(),
            directory: Arc::default(),
            lookups: RefCell::default(),
            rows: RefCell::default(),
            every_key_known: Cell::new(false),
        };
        store.configure(false)?;
        store.migrate()?;
        store.every_key_known.set(store.has_no_tickets()?);
        Ok(store)
    }

    /// Another connection to this store's file that only reads, so other
    /// threads can read committed state while this one writes (WAL lets
    /// them). `None` for a store in memory, which has no file to share.
    /// The file must already be at [`SCHEMA_VERSION`] (this store opened it).
    pub fn open_reader(&self) -> Result<Option<SqliteStore>, StoreError> {
        if self.path == Path::new(":memory:") {
            return Ok(None);
        }
        let path = self.path.clone();
        let what = "opening a reading connection";
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_error(&path, what, e))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| sql_error(&path, what, e))?;
        conn.set_prepared_statement_cache_capacity(64);
        // A small page cache, and the file mapped into memory: its pages are
        // in the OS cache anyway, and reading them through the mapping saves
        // a system call and a copy per page (SQLite caps the mapping at its
        // compile-time maximum; the rest of a larger file is read as usual).
        conn.pragma_update(None, "cache_size", -16_384)
            .map_err(|e| sql_error(&path, what, e))?;
        conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES)
            .map_err(|e| sql_error(&path, what, e))?;
        let reader = SqliteStore {
            conn,
            path,
            // Keys never change: the reader finds rows by key at once.
            keys: self.keys.clone(),
            stale: RefCell::default(),
            chunks: RefCell::default(),
            // The writer's count: a reader's snapshot holds at least the
            // generation it reads before the snapshot starts.
            generation: self.generation.clone(),
            changed_in: RefCell::default(),
            directory: self.directory.clone(),
            lookups: RefCell::default(),
            rows: RefCell::default(),
            every_key_known: Cell::new(false),
        };
        let found = reader.schema_version()?;
        if found != SCHEMA_VERSION {
            return Err(invalid(
                &reader.path,
                format!("{what}: the file is at schema version {found}, not {SCHEMA_VERSION}"),
            ));
        }
        Ok(Some(reader))
    }

    /// The file this store lives in (`:memory:` for [`Self::in_memory`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
            .map_err(|e| sql_error(&self.path, "reading the schema version", e))
    }

    fn configure(&mut self, file: bool) -> Result<(), StoreError> {
        let path = &self.path;
        self.conn
            .busy_timeout(Duration::from_secs(5))
            .map_err(|e| sql_error(path, "setting the busy timeout", e))?;
        self.conn.set_prepared_statement_cache_capacity(64);
        // Refuse a newer file before changing anything in it.
        let found = self.schema_version()?;
        if !(0..=SCHEMA_VERSION).contains(&found) {
            return Err(StoreError::TooNew {
                location: path.display().to_string(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        if file {
            // A new file gets 8 KiB pages (rows are about 1 KB: fewer pages
            // to split and to write back). It must precede WAL mode.
            let tables: i64 = self
                .conn
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(|e| sql_error(path, "reading the schema", e))?;
            if found == 0 && tables == 0 {
                self.conn
                    .pragma_update(None, "page_size", 8192)
                    .map_err(|e| sql_error(path, "setting page_size", e))?;
            }
            let mode: String = self
                .conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                .map_err(|e| sql_error(path, "switching to WAL (journal_mode=WAL)", e))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(path = %path.display(), mode, "store file is not in WAL mode");
            }
        }
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| sql_error(path, "setting synchronous=NORMAL", e))?;
        // Statement journals (multi-row inserts) in memory, not temp files.
        self.conn
            .pragma_update(None, "temp_store", "MEMORY")
            .map_err(|e| sql_error(path, "setting temp_store=MEMORY", e))?;
        // Checkpoint when the WAL holds 64 MiB, not the default 4 MiB: each
        // checkpoint writes the changed pages back and syncs the file, and a
        // backfill's transactions rewrite the same pages again and again.
        let page_size: i64 = self
            .conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .map_err(|e| sql_error(path, "reading page_size", e))?;
        self.conn
            .pragma_update(None, "wal_autocheckpoint", (64 << 20) / page_size.max(512))
            .map_err(|e| sql_error(path, "setting wal_autocheckpoint", e))?;
        // 256 MiB of page cache (the default 2 MiB thrashes on backfills).
        self.conn
            .pragma_update(None, "cache_size", -262_144)
            .map_err(|e| sql_error(path, "setting cache_size", e))?;
        self.conn
            .pragma_update(None, "foreign_keys", true)
            .map_err(|e| sql_error(path, "enabling foreign keys", e))?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        let path = &self.path;
        for (index, step) in MIGRATIONS.iter().enumerate() {
            let version = index as i64 + 1;
            if version <= found {
                continue;
            }
            let what = format!("migrating the schema to version {version}");
            let tx = self
                .conn
                .transaction()
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            tx.execute_batch(step.sql)
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            if let Some(copy) = step.copy {
                copy(&tx, path)?;
            }
            tx.execute_batch(step.finish)
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            tx.pragma_update(None, "user_version", version)
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            tx.commit().map_err(|e| sql_error(path, what.as_str(), e))?;
            tracing::info!(path = %path.display(), version, "store schema migrated");
        }
        Ok(())
    }

    /// Whether the file holds no ticket row.
    fn has_no_tickets(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM tickets)", [], |r| {
                r.get(0)
            })
            .map_err(|e| sql_error(&self.path, "looking for tickets", e))
    }

    /// Remembers ticket keys read or written (see [`SqliteStore::keys`]).
    fn learn_keys(&self, source: &str, mut learned: Vec<(String, i64)>) {
        if learned.is_empty() {
            return;
        }
        let mut cache = self.keys.borrow_mut();
        if cache.values().map(FxHashMap::len).sum::<usize>() + learned.len() > KEY_CACHE_MAX {
            // Keys are forgotten: a ticket missing from the cache may have
            // a row from now on.
            cache.clear();
            learned.truncate(KEY_CACHE_MAX);
            self.every_key_known.set(false);
        }
        let keys = match cache.get_mut(source) {
            Some(k) => k,
            None => cache.entry(source.to_string()).or_default(),
        };
        keys.extend(learned);
    }

    /// Runs a listing of `(id, key)` rows and returns the ids; the keys
    /// are remembered (as many as the cache holds), since these tickets are
    /// usually read next.
    fn keyed_ids(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        source: &str,
        what: &str,
    ) -> Result<Vec<String>, StoreError> {
        let path = &self.path;
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sql_error(path, what, e))?;
        let rows = stmt
            .query_map(params, |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(|e| sql_error(path, what, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(path, what, e))?;
        let ids = rows.iter().map(|(id, _)| id.clone()).collect();
        self.learn_keys(source, rows);
        Ok(ids)
    }
}

impl Store for SqliteStore {
    fn apply_page(&mut self, source: &str, page: &Page) -> Result<Vec<String>, StoreError> {
        self.apply_pages(source, std::slice::from_ref(page))
    }

    fn apply_pages(&mut self, source: &str, pages: &[Page]) -> Result<Vec<String>, StoreError> {
        Ok(self.apply_batch(source, pages)?.changed)
    }

    fn apply_batch(&mut self, source: &str, pages: &[Page]) -> Result<Applied, StoreError> {
        let path = &self.path;
        let tx = self.conn.transaction().map_err(|e| {
            sql_error(
                path,
                format!("beginning the transaction of pages of {source}"),
                e,
            )
        })?;
        let cache = self.keys.borrow();
        let stale = self.stale.borrow();
        let chunks = self.chunks.borrow();
        let rows = self.rows.borrow();
        let mut keys = BatchKeys {
            known: cache.get(source),
            learned: Vec::new(),
            stale: &stale,
            marked: Vec::new(),
            chunks: &chunks,
            chunks_learned: Vec::new(),
            changed: Vec::new(),
            rows: &rows,
            rows_learned: Vec::new(),
            every_key_known: self.every_key_known.get(),
            directory_changed: false,
        };
        let (changed, complete) = apply_in(&tx, path, source, pages, &mut keys)?;
        tx.commit()
            .map_err(|e| sql_error(path, format!("committing pages of {source}"), e))?;
        let (learned, marked, chunks_learned) = (keys.learned, keys.marked, keys.chunks_learned);
        let (changed_keys, rows_learned) = (keys.changed, keys.rows_learned);
        if keys.directory_changed {
            // Before the generation moves on (see `directory`).
            self.directory.fetch_add(1, Ordering::SeqCst);
        }
        drop((cache, stale, chunks, rows));
        let mut rows = self.rows.borrow_mut();
        if rows.len() + rows_learned.len() > KEY_CACHE_MAX {
            rows.clear();
        }
        rows.extend(rows_learned);
        drop(rows);
        if !changed_keys.is_empty() {
            // Entered before the count moves on: a snapshot that read the
            // old count may lack this commit, and its clocks are refused.
            let generation = self.generation.load(Ordering::SeqCst) + 1;
            let mut changed_in = self.changed_in.borrow_mut();
            for key in changed_keys {
                changed_in.record(key, generation);
            }
            self.generation.store(generation, Ordering::SeqCst);
        }
        self.learn_keys(source, learned);
        let mut stale = self.stale.borrow_mut();
        if stale.len() + marked.len() > KEY_CACHE_MAX {
            stale.clear();
        }
        stale.extend(marked);
        let mut chunks = self.chunks.borrow_mut();
        if chunks.len() + chunks_learned.len() > KEY_CACHE_MAX {
            chunks.clear();
        }
        chunks.extend(chunks_learned);
        let mut ids = changed;
        ids.sort_unstable();
        ids.dedup();
        Ok(Applied {
            changed: ids,
            complete,
        })
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn reader(&self) -> Result<Option<Box<dyn Store>>, StoreError> {
        Ok(self
            .open_reader()?
            .map(|reader| Box::new(reader) as Box<dyn Store>))
    }

    fn cursor(&self, source: &str, stream: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached("SELECT value FROM cursors WHERE source = ?1 AND stream = ?2")
            .and_then(|mut s| {
                s.query_row(params![source, stream], |row| row.get(0))
                    .optional()
            })
            .map_err(|e| {
                sql_error(
                    &self.path,
                    format!("reading the cursor of {source}/{stream}"),
                    e,
                )
            })
    }

    fn ticket(&self, source: &str, id: &str) -> Result<Option<Ticket>, StoreError> {
        let path = &self.path;
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| sql_error(path, format!("reading ticket {id} of {source}"), e))?;
        let key = self
            .keys
            .borrow()
            .get(source)
            .and_then(|k| k.get(id))
            .copied();
        let ticket = load_ticket(&tx, path, source, id, key, &mut Lookups::default())?;
        drop(tx);
        Ok(ticket.map(|(_, t)| t))
    }

    fn tickets(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError> {
        let path = &self.path;
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| sql_error(path, format!("reading tickets of {source}"), e))?;
        let mut lookups = self.lookups.borrow_mut();
        let directory = self.directory.load(Ordering::SeqCst);
        if lookups.0 != directory || lookups.1.len() > LOOKUPS_MAX {
            *lookups = (directory, Lookups::default());
        }
        let lookups = &mut lookups.1;
        let mut out = Vec::with_capacity(ids.len());
        let mut learned = Vec::with_capacity(ids.len());
        {
            let cache = self.keys.borrow();
            let known = cache.get(source);
            for id in ids {
                let cached = known.and_then(|k| k.get(id.as_str())).copied();
                if let Some((key, t)) = load_ticket(&tx, path, source, id, cached, lookups)? {
                    if cached.is_none() {
                        learned.push((t.id.clone(), key));
                    }
                    out.push(t);
                }
            }
        }
        drop(tx);
        // Their clocks are usually saved next.
        self.learn_keys(source, learned);
        Ok(out)
    }

    fn ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        self.keyed_ids(
            "SELECT id, key FROM tickets
             WHERE source = ?1 AND deleted = 0 AND header IS NOT NULL ORDER BY id",
            params![source],
            source,
            &format!("listing the tickets of {source}"),
        )
    }

    fn stale_ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        self.keyed_ids(
            "SELECT t.id, t.key FROM stale_tickets s JOIN tickets t ON t.key = s.key
             WHERE t.source = ?1 AND t.deleted = 0 AND t.header IS NOT NULL
             ORDER BY t.key",
            params![source],
            source,
            &format!("listing the tickets of {source} with stale clocks"),
        )
    }

    fn ticket_ids_computed_under_other_config(
        &self,
        source: &str,
        config_hash: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.keyed_ids(
            "SELECT t.id, t.key FROM clocks c JOIN tickets t ON t.key = c.key
             WHERE t.source = ?1 AND t.deleted = 0 AND c.config_hash <> ?2
             ORDER BY t.key",
            params![source, config_hash],
            source,
            &format!("listing the tickets of {source} computed under another config"),
        )
    }

    fn save_clocks(
        &mut self,
        source: &str,
        ticket_id: &str,
        config_hash: &str,
        clocks: &[u8],
    ) -> Result<(), StoreError> {
        let rows = [(
            ticket_id.to_string(),
            config_hash.to_string(),
            clocks.to_vec(),
        )];
        self.save_clocks_batch(source, &rows)
    }

    fn save_clocks_batch(
        &mut self,
        source: &str,
        clocks: &[(String, String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        self.save_clocks_as_of(source, clocks, u64::MAX)?;
        Ok(())
    }

    fn save_clocks_as_of(
        &mut self,
        source: &str,
        clocks: &[(String, String, Vec<u8>)],
        as_of: u64,
    ) -> Result<Vec<String>, StoreError> {
        let path = &self.path;
        let what = || format!("saving clocks of {source}");
        let tx = self
            .conn
            .transaction()
            .map_err(|e| sql_error(path, what(), e))?;
        let mut learned = Vec::new();
        let mut overtaken = Vec::new();
        {
            let cache = self.keys.borrow();
            let known = cache.get(source);
            let changed_in = self.changed_in.borrow();
            let rows = self.rows.borrow();
            let prepare = |sql| {
                tx.prepare_cached(sql)
                    .map_err(|e| sql_error(path, what(), e))
            };
            let (mut find, mut live) = (prepare(GET_KEY)?, prepare(IS_LIVE)?);
            let (mut clear, mut put) = (prepare(CLEAR_STALE)?, prepare(PUT_CLOCKS)?);
            for (ticket_id, config_hash, encoded) in clocks {
                let what = || format!("saving the clocks of ticket {ticket_id} of {source}");
                let key = match known.and_then(|k| k.get(ticket_id.as_str())) {
                    Some(&key) => Some(key),
                    None => {
                        let key = find
                            .query_row(params![source, ticket_id], |r| r.get::<_, i64>(0))
                            .optional()
                            .map_err(|e| sql_error(path, what(), e))?;
                        if let Some(key) = key {
                            learned.push((ticket_id.clone(), key));
                        }
                        key
                    }
                };
                // Clocks of unknown or deleted tickets are not kept.
                let Some(key) = key else { continue };
                // Clocks of a snapshot a later commit has overtaken: the
                // ticket stays stale, for a recompute that sees the change.
                if changed_in.last_change(key) > as_of {
                    overtaken.push(ticket_id.clone());
                    continue;
                }
                let is_live = match rows.get(&key) {
                    Some(row) => row.has_header && !row.deleted,
                    None => live
                        .exists(params![key])
                        .map_err(|e| sql_error(path, what(), e))?,
                };
                if !is_live {
                    continue;
                }
                // Forgotten before the commit: at worst a later page marks
                // the ticket again.
                self.stale.borrow_mut().remove(&key);
                clear
                    .execute(params![key])
                    .map_err(|e| sql_error(path, what(), e))?;
                put.execute(params![key, config_hash, encoded])
                    .map_err(|e| sql_error(path, what(), e))?;
            }
        }
        tx.commit().map_err(|e| sql_error(path, what(), e))?;
        self.learn_keys(source, learned);
        Ok(overtaken)
    }

    fn clocks(
        &self,
        source: &str,
        ticket_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT c.config_hash, c.clocks FROM tickets t JOIN clocks c ON c.key = t.key
                 WHERE t.source = ?1 AND t.id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![source, ticket_id], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()
            })
            .map_err(|e| {
                sql_error(
                    &self.path,
                    format!("reading the clocks of ticket {ticket_id} of {source}"),
                    e,
                )
            })
    }

    fn all_clocks(&self, source: &str) -> Result<Vec<StoredClocks>, StoreError> {
        let mut out = Vec::new();
        self.for_each_clocks(source, &mut |row| out.push(row))?;
        Ok(out)
    }

    fn tickets_changed_since(&self, source: &str, since: i64) -> Result<Vec<String>, StoreError> {
        let what = || format!("listing the tickets of {source} changed since {since}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT t.id FROM tickets t
                 WHERE t.source = ?1 AND t.deleted = 0 AND t.header IS NOT NULL
                   AND (t.changed_at >= ?2 OR EXISTS (SELECT 1 FROM event_chunks c
                        WHERE c.key = t.key AND c.stored_at >= ?2))
                 ORDER BY t.id",
            )
            .map_err(|e| sql_error(&self.path, what(), e))?;
        let rows = stmt
            .query_map(params![source, since], |row| row.get(0))
            .map_err(|e| sql_error(&self.path, what(), e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(&self.path, what(), e))
    }

    fn record_poll(&mut self, source: &str, at: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO polls (source, at) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![source, at]))
            .map(|_| ())
            .map_err(|e| sql_error(&self.path, format!("recording a poll of {source}"), e))
    }

    fn ticket_metas(&self, source: &str) -> Result<Vec<TicketMeta>, StoreError> {
        let what = || format!("reading the tickets of {source}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, created_at, organization_id FROM tickets
                 WHERE source = ?1 AND deleted = 0 AND header IS NOT NULL ORDER BY id",
            )
            .map_err(|e| sql_error(&self.path, what(), e))?;
        let rows = stmt
            .query_map(params![source], |row| {
                Ok(TicketMeta {
                    id: row.get(0)?,
                    created_at: row.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    organization: row.get(2)?,
                })
            })
            .map_err(|e| sql_error(&self.path, what(), e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(&self.path, what(), e))
    }

    fn notes(&self, source: &str, from: i64, to: i64) -> Result<Vec<NoteRecord>, StoreError> {
        let what = || format!("reading the notes of {source}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT kind, name, first_at, last_at FROM source_notes
                 WHERE source = ?1 AND last_at >= ?2 AND first_at < ?3 ORDER BY kind, name",
            )
            .map_err(|e| sql_error(&self.path, what(), e))?;
        let rows = stmt
            .query_map(params![source, from, to], |row| {
                Ok(NoteRecord {
                    kind: row.get(0)?,
                    name: row.get(1)?,
                    first_at: row.get(2)?,
                    last_at: row.get(3)?,
                })
            })
            .map_err(|e| sql_error(&self.path, what(), e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(&self.path, what(), e))
    }

    fn polls(&self, source: &str, from: i64, to: i64) -> Result<Vec<i64>, StoreError> {
        let what = || format!("reading the polls of {source}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at FROM polls WHERE source = ?1 AND at >= ?2 AND at < ?3 ORDER BY at",
            )
            .map_err(|e| sql_error(&self.path, what(), e))?;
        let rows = stmt
            .query_map(params![source, from, to], |row| row.get(0))
            .map_err(|e| sql_error(&self.path, what(), e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(&self.path, what(), e))
    }

    fn for_each_clocks(
        &self,
        source: &str,
        f: &mut dyn FnMut(StoredClocks),
    ) -> Result<(), StoreError> {
        let what = || format!("reading the clocks of {source}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT t.id, c.config_hash, c.clocks, s.key IS NOT NULL FROM tickets t
                 JOIN clocks c ON c.key = t.key
                 LEFT JOIN stale_tickets s ON s.key = t.key
                 WHERE t.source = ?1 ORDER BY t.id",
            )
            .map_err(|e| sql_error(&self.path, what(), e))?;
        let mut rows = stmt
            .query(params![source])
            .map_err(|e| sql_error(&self.path, what(), e))?;
        while let Some(row) = rows.next().map_err(|e| sql_error(&self.path, what(), e))? {
            let read = (|| {
                Ok::<_, rusqlite::Error>(StoredClocks {
                    ticket_id: row.get(0)?,
                    config_hash: row.get(1)?,
                    clocks: row.get(2)?,
                    stale: row.get(3)?,
                })
            })();
            f(read.map_err(|e| sql_error(&self.path, what(), e))?);
        }
        Ok(())
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.conn
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
            .map_err(|e| sql_error(&self.path, "counting the stored records", e))
    }
}

#[cfg(test)]
mod tests {
    use super::{ChangeGenerations, MAX_KEY_RECORDED};

    #[test]
    fn a_ticket_reports_the_generation_of_its_last_recorded_change() {
        let mut changes = ChangeGenerations::default();
        assert_eq!(changes.last_change(7), 0);
        changes.record(7, 3);
        changes.record(2, 4);
        changes.record(7, 5);
        assert_eq!(changes.last_change(7), 5);
        assert_eq!(changes.last_change(2), 4);
        assert_eq!(changes.last_change(3), 0);
        assert_eq!(changes.last_change(1_000), 0);
    }

    /// A million tickets are all remembered: none is forgotten to a floor
    /// that would refuse the clocks of tickets that did not change.
    #[test]
    fn a_million_keys_are_remembered_one_by_one() {
        let mut changes = ChangeGenerations::default();
        for key in 1..=1_000_000 {
            changes.record(key, 1 + key as u64 / 1_000);
        }
        assert_eq!(changes.last_change(1), 1);
        assert_eq!(changes.last_change(500_000), 501);
        assert_eq!(changes.last_change(1_000_000), 1_001);
    }

    /// A key past the bound cannot grow the list: it raises the floor, so
    /// every ticket answers at least its generation (a recompute too many,
    /// never a clock saved from a snapshot that lacks a change).
    #[test]
    fn a_key_past_the_bound_raises_every_ticket_to_its_generation() {
        let mut changes = ChangeGenerations::default();
        changes.record(5, 2);
        changes.record(MAX_KEY_RECORDED + 1, 9);
        changes.record(-1, 4);
        assert_eq!(changes.last_change(5), 9);
        assert_eq!(changes.last_change(MAX_KEY_RECORDED + 1), 9);
        assert!(changes.by_key.len() < 10);
    }
}
