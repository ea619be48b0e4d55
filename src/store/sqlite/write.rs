//! Applying pages: a batch of them in one transaction (directory records,
//! notes and cursors as they come, each touched ticket merged once, then
//! the tickets of changed organizations and users), the caches and the
//! generation moved on once it commits, and completed polls.

use std::sync::atomic::Ordering;

use rusqlite::{params, Transaction};
use rustc_hash::FxHashMap;
use std::path::Path;

use super::merge::{merge_ticket, BatchKeys, Group, Merged, MARK_STALE, PUT_REF};
use super::{json_error, sql_error, unix_now, SqliteStore, KEY_CACHE_MAX};
use crate::sources::{NoteKey, NoteRecord, OrganizationRecord, Page, Record, UserRecord};
use crate::store::{Applied, StoreError};

const TICKETS_OF_REF: &str = "SELECT t.key, t.id FROM ticket_refs r JOIN tickets t ON t.key = r.key
     WHERE r.source = ?1 AND r.kind = ?2 AND r.ref = ?3";

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

/// Removes a note, if stored.
fn withdraw_note(
    tx: &Transaction<'_>,
    path: &Path,
    source: &str,
    n: &NoteKey,
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM source_notes WHERE source = ?1 AND kind = ?2 AND name = ?3")
        .and_then(|mut s| s.execute(params![source, n.kind, n.name]))
        .map(|_| ())
        .map_err(|e| sql_error(path, format!("removing a note of {source}"), e))
}

/// Applies pages inside `tx`: organizations and users as they come, then
/// every touched ticket's row once, then the tickets of changed
/// organizations and users.
fn apply_in(
    tx: &Transaction<'_>,
    path: &Path,
    source: &str,
    pages: &[Page],
    keys: &mut BatchKeys<'_>,
) -> Result<ApplyIn, StoreError> {
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
                Record::Withdraw(n) => withdraw_note(tx, path, source, n)?,
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
    let mut recorded: Vec<String> = Vec::new();
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
        let merged = merge_ticket(
            tx,
            path,
            source,
            id,
            group,
            now,
            keys,
            &mut refs,
            &mut scratch,
        )?;
        match merged {
            Merged::Unchanged => {}
            Merged::Recorded => recorded.push((*id).to_string()),
            Merged::Changed {
                key,
                complete: whole,
            } => {
                changed.push((*id).to_string());
                keys.changed.push(key);
                if whole {
                    complete.push((*id).to_string());
                }
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
    Ok(ApplyIn {
        changed,
        complete,
        recorded,
    })
}

/// What [`apply_in`] changed: the tickets whose timeline may have changed,
/// those of them that look complete (in key order), and those that got
/// only events of the helpdesk's own SLA record (in key order).
struct ApplyIn {
    changed: Vec<String>,
    complete: Vec<String>,
    recorded: Vec<String>,
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

/// [`Store::apply_batch`](super::Store::apply_batch) on a SQLite store.
pub(super) fn apply_batch(
    store: &mut SqliteStore,
    source: &str,
    pages: &[Page],
) -> Result<Applied, StoreError> {
    let path = &store.path;
    let tx = store.conn.transaction().map_err(|e| {
        sql_error(
            path,
            format!("beginning the transaction of pages of {source}"),
            e,
        )
    })?;
    let cache = store.keys.borrow();
    let stale = store.stale.borrow();
    let chunks = store.chunks.borrow();
    let rows = store.rows.borrow();
    let mut keys = BatchKeys {
        known: cache.get(source),
        learned: Vec::new(),
        stale: &stale,
        marked: Vec::new(),
        unmarked: Vec::new(),
        chunks: &chunks,
        chunks_learned: Vec::new(),
        changed: Vec::new(),
        rows: &rows,
        rows_learned: Vec::new(),
        every_key_known: store.every_key_known.get(),
        directory_changed: false,
        dropped_clocks: Vec::new(),
    };
    let ApplyIn {
        changed,
        complete,
        recorded,
    } = apply_in(&tx, path, source, pages, &mut keys)?;
    tx.commit()
        .map_err(|e| sql_error(path, format!("committing pages of {source}"), e))?;
    let (learned, marked, chunks_learned) = (keys.learned, keys.marked, keys.chunks_learned);
    let (unmarked, dropped_clocks) = (keys.unmarked, keys.dropped_clocks);
    let (changed_keys, rows_learned) = (keys.changed, keys.rows_learned);
    if keys.directory_changed {
        // Before the generation moves on (see `directory`).
        store.directory.fetch_add(1, Ordering::SeqCst);
    }
    drop((cache, stale, chunks, rows));
    let mut rows = store.rows.borrow_mut();
    if rows.len() + rows_learned.len() > KEY_CACHE_MAX {
        rows.clear();
    }
    rows.extend(rows_learned);
    drop(rows);
    if !changed_keys.is_empty() {
        // Entered before the count moves on: a snapshot that read the
        // old count may lack this commit, and its clocks are refused.
        let generation = store.generation.load(Ordering::SeqCst) + 1;
        let mut changed_in = store.changed_in.borrow_mut();
        for key in changed_keys {
            changed_in.record(key, generation);
        }
        store.generation.store(generation, Ordering::SeqCst);
    }
    store.learn_keys(source, learned);
    let mut stale = store.stale.borrow_mut();
    if stale.len() + marked.len() > KEY_CACHE_MAX {
        stale.clear();
    }
    stale.extend(marked);
    // After the marks: a key the cache lacks costs a redundant mark later,
    // a key it holds wrongly would lose one.
    for key in unmarked {
        stale.remove(&key);
    }
    let mut chunks = store.chunks.borrow_mut();
    if chunks.len() + chunks_learned.len() > KEY_CACHE_MAX {
        chunks.clear();
    }
    chunks.extend(chunks_learned);
    let mut ids = changed;
    ids.sort_unstable();
    ids.dedup();
    // A ticket of a changed organization or user is changed too.
    let recorded = recorded
        .into_iter()
        .filter(|id| ids.binary_search(id).is_err())
        .collect();
    Ok(Applied {
        changed: ids,
        complete,
        recorded,
        dropped_clocks,
    })
}

/// [`Store::record_poll`](super::Store::record_poll) on a SQLite store.
pub(super) fn record_poll(
    store: &mut SqliteStore,
    source: &str,
    at: i64,
) -> Result<(), StoreError> {
    store
        .conn
        .prepare_cached("INSERT OR IGNORE INTO polls (source, at) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![source, at]))
        .map(|_| ())
        .map_err(|e| sql_error(&store.path, format!("recording a poll of {source}"), e))
}
