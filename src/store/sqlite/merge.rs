//! Merging what a batch of pages says about one ticket into its row and
//! its event chunks: the newest header, the events not stored yet (one
//! chunk appended, or all merged, in chunks of at most [`CHUNK_BYTES`]),
//! the stale mark, and the organizations and users the ticket refers to.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::Path;

use super::{codec_error, invalid, sql_error};
use crate::sources::assemble::is_record_change;
use crate::sources::{ChangeRecord, EventRecord, TicketHeader};
use crate::store::codec;
use crate::store::{StoreError, StoredClocks};

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

const CHUNK_INFO: &str = "SELECT coalesce(max(max_at), 0), count(*),
         coalesce(sum(length(events) < ?2), 0)
     FROM event_chunks WHERE key = ?1";

const GET_CHUNKS: &str = "SELECT events FROM event_chunks WHERE key = ?1";

/// A chunk numbered `?6` within its ticket.
const PUT_CHUNK: &str = "INSERT INTO event_chunks (key, max_at, count, stored_at, events, seq)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

const DROP_CHUNKS: &str = "DELETE FROM event_chunks WHERE key = ?1";

/// The ticket's latest event, as its last chunk's `max_at` says, written
/// when it is later than the ticket's last update: `updated_at` only grows,
/// so the later of the two columns is always the ticket's latest change
/// the helpdesk reported, which is all the scans compare.
const SET_LAST_EVENT: &str =
    "UPDATE tickets SET last_event_at = ?2 WHERE key = ?1 AND last_event_at IS NOT ?2";

pub(super) const PUT_REF: &str = "INSERT OR IGNORE INTO ticket_refs (source, kind, ref, key)
     VALUES (?1, ?2, ?3, ?4)";

pub(super) const MARK_STALE: &str = "INSERT OR IGNORE INTO stale_tickets (key) VALUES (?1)";
const UNMARK_STALE: &str = "DELETE FROM stale_tickets WHERE key = ?1";

const DROP_CLOCKS: &str = "DELETE FROM clocks WHERE key = ?1 RETURNING config_hash, clocks";

/// The lookup a change of an organization or user needs, if any: tickets
/// with an organization change refer to it; comments by anyone but the
/// ticket's requester are resolved through the stored users (the requester
/// is recognized from the header alone).
pub(super) fn event_ref<'a>(
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
pub(super) struct Group<'a> {
    pub(super) headers: Vec<&'a TicketHeader>,
    pub(super) events: Vec<&'a EventRecord>,
}

/// What the store knows of a ticket's stored events without reading them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ChunkInfo {
    /// The latest stored event time (meaningless when `chunks` is 0).
    max_at: i64,
    /// How many chunks (rows) hold the ticket's events.
    chunks: u32,
    /// How many of them hold fewer than [`SMALL_CHUNK_BYTES`].
    small: u32,
}

/// A ticket with this many small chunks has all its chunks merged when it
/// gets more events: reads stay a few rows per ticket however often it
/// changes.
const COMPACT_AT: u32 = 16;

/// The most bytes of events a chunk holds, unless one event alone is
/// larger: a ticket's events are written in chunks of at most this. The
/// chunk table is a `WITHOUT ROWID` table, whose interior B-tree pages
/// hold whole rows and whose leaves keep a row whole only up to about
/// 2,000 bytes (8 KiB pages), the rest on overflow pages of 8 KiB, mostly
/// left empty; SQLite advises rows under a twentieth of a page. A ticket
/// with Zendesk's metric events has a few KB of them: in one chunk, half of
/// the file was empty overflow and interior pages.
const CHUNK_BYTES: usize = 400;

/// A chunk of fewer bytes than this is a small one ([`COMPACT_AT`]): the
/// chunks a merge writes are full but the last.
const SMALL_CHUNK_BYTES: usize = CHUNK_BYTES / 2;

/// Framed events in order, in chunks of at most [`CHUNK_BYTES`] (one event
/// alone may be more): each chunk's bytes and how many events it holds.
fn in_chunks<'a>(events: impl IntoIterator<Item = &'a codec::Framed<'a>>) -> Vec<(Vec<u8>, usize)> {
    let mut out: Vec<(Vec<u8>, usize)> = Vec::new();
    for f in events {
        match out.last_mut() {
            Some((bytes, n)) if bytes.len() + f.frame.len() <= CHUNK_BYTES => {
                bytes.extend_from_slice(f.frame);
                *n += 1;
            }
            _ => out.push((f.frame.to_vec(), 1)),
        }
    }
    out
}

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
/// stored yet, appended as one chunk (or a few, see [`CHUNK_BYTES`]).
/// Marks it stale if its timeline
/// changed, and says what changed.
#[allow(clippy::too_many_arguments)]
pub(super) fn merge_ticket(
    tx: &Transaction<'_>,
    path: &Path,
    source: &str,
    id: &str,
    group: &Group<'_>,
    now: i64,
    keys: &mut BatchKeys<'_>,
    refs: &mut Vec<(&'static str, String, i64)>,
    scratch: &mut Vec<u8>,
) -> Result<Merged, StoreError> {
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
                    s.query_row(params![key, SMALL_CHUNK_BYTES as i64], |r| {
                        Ok(ChunkInfo {
                            max_at: r.get(0)?,
                            chunks: r.get(1)?,
                            small: r.get(2)?,
                        })
                    })
                })
                .map_err(|e| sql_error(path, what(), e))?,
        },
        _ => ChunkInfo::default(),
    };
    // Only an event no later than every stored one can be stored already;
    // the stored events are read for those, and to compact.
    let compact = info.small >= COMPACT_AT && !fresh.is_empty();
    let overlaps = info.chunks > 0 && fresh.iter().any(|e| e.at <= info.max_at);
    let blobs = match key {
        Some(key) if compact || overlaps => {
            read_chunks(tx, key).map_err(|e| sql_error(path, what(), e))?
        }
        _ => Vec::new(),
    };
    let existing = chunk_frames(&blobs, path, source, id)?;
    if overlaps {
        // Both in (at, id) order, and an event's time never changes: each is
        // looked up, not compared with every stored one (a ticket's metric
        // events come by the dozen, each batch of them overlapping).
        fresh.retain(|e| {
            existing
                .binary_search_by(|f| (f.at, f.id).cmp(&(e.at, e.id.as_str())))
                .is_err()
        });
    }
    if newest.is_none() && fresh.is_empty() {
        return Ok(Merged::Unchanged);
    }
    // Only the helpdesk's own SLA record is new: the timeline, and so the
    // clocks, are as they were.
    let timeline = newest.is_some() || fresh.iter().any(|e| !is_record_change(&e.change));
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
        let added = codec::frames(scratch).map_err(|e| codec_error(path, source, id, e))?;
        let (written, first) = if compact {
            // All the ticket's events, in place of the chunks they were in.
            let mut all: Vec<&codec::Framed<'_>> = existing.iter().chain(&added).collect();
            all.sort_unstable_by(|a, b| (a.at, a.id).cmp(&(b.at, b.id)));
            tx.prepare_cached(DROP_CHUNKS)
                .and_then(|mut s| s.execute(params![key]))
                .map_err(|e| sql_error(path, what(), e))?;
            (in_chunks(all), 0)
        } else {
            (in_chunks(&added), info.chunks)
        };
        // Numbered after the ticket's other chunks (from 0, compacted).
        // Each says the latest event of the ticket's chunks so far.
        let mut put = tx
            .prepare_cached(PUT_CHUNK)
            .map_err(|e| sql_error(path, what(), e))?;
        for (n, (blob, count)) in written.iter().enumerate() {
            let number = first + n as u32;
            put.execute(params![key, max_at, *count as i64, now, blob, number])
                .map_err(|e| sql_error(path, what(), e))?;
        }
        let chunks = first + written.len() as u32;
        let small_written = written
            .iter()
            .filter(|(blob, _)| blob.len() < SMALL_CHUNK_BYTES)
            .count() as u32;
        let small = small_written + if compact { 0 } else { info.small };
        // Only when the header's last update does not cover it already:
        // most chunks then cost no second write of the row.
        if updated_at.is_none_or(|u| max_at > u) {
            tx.prepare_cached(SET_LAST_EVENT)
                .and_then(|mut s| s.execute(params![key, max_at]))
                .map_err(|e| sql_error(path, what(), e))?;
        }
        keys.chunks_learned.push((
            key,
            ChunkInfo {
                max_at,
                chunks,
                small,
            },
        ));
        latest_event = Some(max_at);
    }
    if deleted {
        // A deleted ticket has no clocks to compute: a stale mark would be
        // one nothing ever clears.
        tx.prepare_cached(UNMARK_STALE)
            .and_then(|mut s| s.execute(params![key]))
            .map_err(|e| sql_error(path, what(), e))?;
        keys.unmarked.push(key);
    } else if timeline && !keys.stale.contains(&key) {
        tx.prepare_cached(MARK_STALE)
            .and_then(|mut s| s.execute(params![key]))
            .map_err(|e| sql_error(path, what(), e))?;
        keys.marked.push(key);
    }
    if deleted && !old_deleted {
        let dropped = tx
            .prepare_cached(DROP_CLOCKS)
            .and_then(|mut s| {
                s.query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(|e| sql_error(path, what(), e))?;
        if let Some((config_hash, clocks)) = dropped {
            keys.dropped_clocks.push(StoredClocks {
                ticket_id: id.to_string(),
                config_hash,
                clocks,
                stale: false,
            });
        }
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
    if !timeline {
        return Ok(if deleted || !has_header {
            Merged::Unchanged
        } else {
            Merged::Recorded
        });
    }
    let complete = !deleted
        && has_header
        && matches!((latest_event, updated_at), (Some(e), Some(u)) if e >= u);
    Ok(Merged::Changed { key, complete })
}

/// What [`merge_ticket`] did to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Merged {
    /// Nothing the clocks or the reconciliation read: nothing new, or a
    /// deleted ticket's or a ticket without a header's SLA record.
    Unchanged,
    /// Only its helpdesk's own SLA record changed (see
    /// [`crate::store::Applied::recorded`]): not marked stale.
    Recorded,
    /// Its timeline changed (marked stale), and whether it now looks
    /// complete (see [`crate::store::Applied`]).
    Changed { key: i64, complete: bool },
}

/// Ticket keys of one source: those known before a transaction, and those
/// it learned (kept only once it commits: a rolled-back row's key may be
/// given to another ticket).
pub(super) struct BatchKeys<'a> {
    pub(super) known: Option<&'a FxHashMap<String, i64>>,
    pub(super) learned: Vec<(String, i64)>,
    /// Keys already marked stale in the file (a mark is skipped for them).
    pub(super) stale: &'a FxHashSet<i64>,
    /// Keys this transaction marks stale.
    pub(super) marked: Vec<i64>,
    /// Keys whose stale mark this transaction removes (deleted tickets).
    pub(super) unmarked: Vec<i64>,
    /// What the file's chunks hold, as far as remembered.
    pub(super) chunks: &'a FxHashMap<i64, ChunkInfo>,
    /// What they hold once this transaction commits.
    pub(super) chunks_learned: Vec<(i64, ChunkInfo)>,
    /// Every ticket this transaction changes (marked stale now or before).
    pub(super) changed: Vec<i64>,
    /// What the file's ticket rows hold, as far as remembered.
    pub(super) rows: &'a FxHashMap<i64, RowInfo>,
    /// What they hold once this transaction commits.
    pub(super) rows_learned: Vec<(i64, RowInfo)>,
    /// Whether `known` holds every ticket key of the file: a ticket missing
    /// from it has no row.
    pub(super) every_key_known: bool,
    /// Whether this transaction changes an organization or a user.
    pub(super) directory_changed: bool,
    /// The clocks rows this transaction removes (of deleted tickets).
    pub(super) dropped_clocks: Vec<StoredClocks>,
}

/// What a ticket's row holds besides its header's text: all that applying
/// only events to it needs.
#[derive(Debug, Clone)]
pub(super) struct RowInfo {
    pub(super) has_header: bool,
    pub(super) updated_at: Option<i64>,
    pub(super) deleted: bool,
    pub(super) requester: Option<Box<str>>,
    /// Hashes ([`ref_hash`]) of `ticket_refs` pairs stored for the ticket
    /// (maybe not all of them): a pair among them is not inserted again.
    pub(super) refs: Box<[u64]>,
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
