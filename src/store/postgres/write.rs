//! Writing to the PostgreSQL store: a batch of pages in one transaction of
//! a dozen multi-row statements (arrays through `unnest`; `COPY` for new
//! rows that cannot collide with stored ones), each ticket's new events
//! appended as one chunk; computed clocks (unless a later commit overtook
//! them), and completed polls. Every write runs in a transaction that
//! first checked the lease (`PgStore::write_transaction`), `COPY`
//! included.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::PgStore;
use crate::sources::assemble::is_record_change;
use crate::sources::{ChangeRecord, EventRecord, Page, Record, TicketHeader};
use crate::store::codec;
use crate::store::{Applied, SavedClocks, StoreError, StoredClocks};

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

const PUT_ORGANIZATIONS: &str = "INSERT INTO organizations (source, id, record)
     SELECT $1, u.id, u.record FROM unnest($2::text[], $3::text[]) AS u(id, record)
     ON CONFLICT (source, id) DO UPDATE SET record = excluded.record
     WHERE organizations.record IS DISTINCT FROM excluded.record
     RETURNING id";

const PUT_USERS: &str = "INSERT INTO users (source, id, agent)
     SELECT $1, u.id, u.agent FROM unnest($2::text[], $3::bool[]) AS u(id, agent)
     ON CONFLICT (source, id) DO UPDATE SET agent = excluded.agent
     WHERE users.agent IS DISTINCT FROM excluded.agent
     RETURNING id";

const PUT_NOTES: &str = "INSERT INTO source_notes (source, kind, name, first_at, last_at)
     SELECT $1, u.kind, u.name, u.first_at, u.last_at
     FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(kind, name, first_at, last_at)
     ON CONFLICT (source, kind, name) DO UPDATE SET
         first_at = least(source_notes.first_at, excluded.first_at),
         last_at = greatest(source_notes.last_at, excluded.last_at)";

/// A note's kind and name.
type NoteKey<'a> = (&'a str, &'a str);

const DELETE_NOTES: &str = "DELETE FROM source_notes
     WHERE source = $1 AND (kind, name) IN (SELECT * FROM unnest($2::text[], $3::text[]))";

const PUT_CURSORS: &str = "INSERT INTO cursors (source, stream, value, updated_at)
     SELECT $1, u.stream, u.value, $4 FROM unnest($2::text[], $3::text[]) AS u(stream, value)
     ON CONFLICT (source, stream) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
     WHERE cursors.value IS DISTINCT FROM excluded.value";

const GET_ROWS: &str = "SELECT key, id, header, updated_at, deleted, requester_id, last_event_at,
         chunks
     FROM tickets WHERE source = $1 AND id = ANY($2)";

/// Keys for new rows, drawn from the sequence of `tickets.key` (looked up
/// once, not for each key: a third of the time for 100,000 keys).
const NEW_KEYS: &str = "WITH s AS MATERIALIZED (
         SELECT pg_get_serial_sequence('tickets', 'key')::regclass AS seq)
     SELECT nextval(s.seq) FROM s, generate_series(1, $1::bigint)";

/// New rows with their drawn keys (`COPY` writes the identity column as
/// given), and what their first chunk of events (if any) will say: the
/// latest event's time and one chunk. Written here, a new ticket's row is
/// not updated again by [`TOUCH_EVENTS`] in the same transaction (an update
/// writes the whole row anew).
const COPY_ROWS: &str = "COPY tickets
     (key, source, id, header, updated_at, created_at, organization_id, requester_id, deleted,
      last_event_at, chunks, changed_at)
     FROM STDIN (FORMAT binary)";

/// A new row of `tickets`, as copied in.
struct NewRow {
    key: i64,
    source: String,
    id: String,
    header: Option<Vec<u8>>,
    updated_at: Option<i64>,
    created_at: Option<i64>,
    organization: Option<String>,
    requester: Option<String>,
    deleted: bool,
    last_event_at: Option<i64>,
    chunks: i32,
    changed_at: i64,
}

const UPDATE_HEADERS: &str = "UPDATE tickets t SET header = u.header, updated_at = u.updated_at,
         created_at = u.created_at, organization_id = u.org, requester_id = u.requester,
         deleted = u.deleted, changed_at = $8
     FROM unnest($1::bigint[], $2::bytea[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::bool[])
         AS u(key, header, updated_at, created_at, org, requester, deleted)
     WHERE t.key = u.key";

/// The event chunks of tickets (to deduplicate events no later than the
/// latest stored one, or to merge a ticket's chunks).
const GET_CHUNKS: &str = "SELECT e.key, e.events FROM unnest($1::bigint[]) AS k(key)
     JOIN event_chunks e ON e.key = k.key";

const DROP_CHUNKS: &str = "DELETE FROM event_chunks WHERE key = ANY($1)";

/// New chunks, streamed in the binary form of `COPY` (no array for the
/// server to build and take apart again), in the batch's transaction.
const PUT_CHUNKS: &str =
    "COPY event_chunks (key, seq, max_at, count, events) FROM STDIN (FORMAT binary)";

const TOUCH_EVENTS: &str = "UPDATE tickets t SET changed_at = $4,
         last_event_at = greatest(t.last_event_at, u.max_at), chunks = u.chunks
     FROM unnest($1::bigint[], $2::bigint[], $3::int[]) AS u(key, max_at, chunks)
     WHERE t.key = u.key";

/// A ticket with this many chunks has them merged into one when it gets
/// more events: reads stay a few rows per ticket however often it changes.
const COMPACT_AT: i32 = 16;

const MARK_STALE: &str = "INSERT INTO stale_tickets (key) SELECT unnest($1::bigint[])
     ON CONFLICT DO NOTHING";

const COPY_STALE: &str = "COPY stale_tickets (key) FROM STDIN (FORMAT binary)";

const UNMARK_STALE: &str = "DELETE FROM stale_tickets WHERE key = ANY($1)";

const DROP_CLOCKS: &str =
    "DELETE FROM clocks WHERE key = ANY($1) RETURNING key, config_hash, clocks";

const COPY_REFS: &str = "COPY ticket_refs (source, kind, ref, key) FROM STDIN (FORMAT binary)";

const PUT_REFS: &str = "INSERT INTO ticket_refs (source, kind, ref, key)
     SELECT $1, u.kind, u.ref, u.key FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(kind, ref, key)
     ON CONFLICT DO NOTHING";

/// The tickets that read a changed organization or user: their data
/// changed now and their clocks are stale.
const TOUCH_DEPENDENTS: &str = "WITH hit AS (
         SELECT DISTINCT t.key, t.id, t.deleted FROM ticket_refs r
         JOIN unnest($2::text[], $3::text[]) AS u(kind, ref) ON r.kind = u.kind AND r.ref = u.ref
         JOIN tickets t ON t.key = r.key
         WHERE r.source = $1),
     touched AS (UPDATE tickets t SET changed_at = $4 FROM hit WHERE t.key = hit.key),
     marked AS (INSERT INTO stale_tickets (key) SELECT key FROM hit WHERE NOT deleted
                ON CONFLICT DO NOTHING)
     SELECT key, id FROM hit";

/// Chunks to insert, one array per column.
#[derive(Default)]
struct NewChunks {
    keys: Vec<i64>,
    seqs: Vec<i32>,
    max_ats: Vec<i64>,
    counts: Vec<i32>,
    events: Vec<Vec<u8>>,
}

impl NewChunks {
    fn push(&mut self, key: i64, seq: i32, max_at: i64, count: usize, events: Vec<u8>) {
        self.keys.push(key);
        self.seqs.push(seq);
        self.max_ats.push(max_at);
        self.counts.push(i32::try_from(count).unwrap_or(i32::MAX));
        self.events.push(events);
    }
}

/// A statement's parameter or a copied row's field.
type Param<'a> = &'a (dyn ToSql + Sync);

/// Streams `rows` into a table with `sql`, a `COPY … FROM STDIN (FORMAT
/// binary)` of the columns `types`, in the current transaction (so under
/// the lease its first statement checked): no array for the server to
/// build and take apart, no statement to plan. Only for rows that cannot
/// collide with stored ones (`COPY` has no `ON CONFLICT`).
fn copy_in<R: Send + Sync + 'static>(
    store: &PgStore,
    what: impl Fn() -> String,
    sql: &'static str,
    types: &'static [Type],
    rows: Vec<R>,
    fields: for<'r> fn(&'r R) -> Vec<Param<'r>>,
) -> Result<u64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    store.run_prepared(what, sql, move |c, st| async move {
        let sink = c.copy_in(&st).await?;
        let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, types));
        for row in &rows {
            writer.as_mut().write(&fields(row)).await?;
        }
        writer.finish().await
    })
}

/// What a batch says about one ticket.
#[derive(Default)]
struct Group<'a> {
    headers: Vec<&'a TicketHeader>,
    events: Vec<&'a EventRecord>,
}

/// A ticket's stored row, as far as applying pages needs it: read from
/// `tickets`, or remembered from this store's own commits under the lease
/// it still holds ([`PgStore::known_rows`]).
#[derive(Clone)]
pub(super) struct Stored {
    pub(super) key: i64,
    /// Its header's compact form as a hash ([`header_hash`]), if it has one.
    header: Option<u64>,
    updated_at: Option<i64>,
    deleted: bool,
    requester: Option<String>,
    last_event_at: Option<i64>,
    chunks: i32,
    /// Whether the ticket has a row in `clocks`, if known (the rows this
    /// store created or saved clocks of under its lease).
    pub(super) clocks: Option<bool>,
}

/// What applying the batch decided for one ticket before writing.
struct Plan<'a> {
    id: &'a str,
    stored: Option<Stored>,
    /// The header that replaces the stored one, with its compact form.
    newest: Option<(&'a TicketHeader, Vec<u8>)>,
    /// The batch's events, each once, in time order.
    events: Vec<&'a EventRecord>,
}

/// The lookup a change of an organization or user needs, if any (as the
/// SQLite store decides it).
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

impl Stored {
    /// Whether the ticket is live: not deleted, with a header (its clocks
    /// are kept).
    pub(super) fn is_live(&self) -> bool {
        !self.deleted && self.header.is_some()
    }
}

/// A header's compact form as 64 bits (SipHash with fixed keys, as
/// [`ref_hash`]): a header whose hash equals the stored one's is taken as
/// unchanged (two different headers of one ticket sharing a hash, about
/// one chance in 10^19 for each update, would leave the second unstored).
fn header_hash(encoded: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    encoded.hash(&mut h);
    h.finish()
}

/// [`Store::apply_batch`](crate::store::Store::apply_batch) on a PostgreSQL store.
pub(super) fn apply_batch(
    store: &PgStore,
    source: &str,
    pages: &[Page],
) -> Result<Applied, StoreError> {
    let now = unix_now();
    let mut groups: BTreeMap<&str, Group<'_>> = BTreeMap::new();
    // The latest record of each organization and user, and of each cursor.
    let mut organizations: BTreeMap<&str, String> = BTreeMap::new();
    let mut users: BTreeMap<&str, bool> = BTreeMap::new();
    let mut notes: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
    // Notes withdrawn in these pages: removed before the notes put after
    // their withdrawal are stored.
    let mut withdrawn: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut cursors: BTreeMap<&str, &str> = BTreeMap::new();
    for page in pages {
        for record in &page.records {
            match record {
                Record::Ticket(h) => groups.entry(h.id.as_str()).or_default().headers.push(h),
                Record::Event(ev) => {
                    if ev.id.is_empty() {
                        return Err(store.invalid(format!(
                            "storing ticket {} of {source}: an event has an empty id",
                            ev.ticket_id
                        )));
                    }
                    groups
                        .entry(ev.ticket_id.as_str())
                        .or_default()
                        .events
                        .push(ev);
                }
                Record::Organization(o) => {
                    let json = serde_json::to_string(o).map_err(|e| StoreError::Json {
                        location: store.location.shown.clone(),
                        what: format!("storing organization {} of {source}/{}", o.id, page.stream),
                        source: e,
                    })?;
                    organizations.insert(&o.id, json);
                }
                Record::User(u) => {
                    users.insert(&u.id, u.agent);
                }
                Record::Note(n) => {
                    let span = notes
                        .entry((n.kind.as_str(), n.name.as_str()))
                        .or_insert((n.first_at, n.last_at));
                    *span = (span.0.min(n.first_at), span.1.max(n.last_at));
                }
                Record::Withdraw(n) => {
                    notes.remove(&(n.kind.as_str(), n.name.as_str()));
                    withdrawn.insert((n.kind.as_str(), n.name.as_str()));
                }
            }
        }
        cursors.insert(&page.stream, &page.cursor);
    }
    let what = || format!("storing pages of {source}");
    // The lease this batch is written under (a store is fenced and
    // unfenced by `&mut self` calls only: not while this runs).
    let token = store.fence_token(source);
    let written = store.write_transaction(source, what, || {
        apply_in(
            store,
            source,
            now,
            groups,
            &organizations,
            &users,
            (&withdrawn, &notes),
            &cursors,
            token,
        )
    });
    let (applied, keys, refs, marks) = match written {
        Ok(w) => w,
        Err(e) => {
            store.forget_refs();
            store.forget_marks();
            store.forget_rows();
            return Err(e);
        }
    };
    store.learn_rows(source, token, marks.rows);
    store.count_commit(&keys);
    store.learn_refs(refs.stored, refs.created, token);
    store.learn_marks(source, token, marks.marked, &marks.unmarked);
    Ok(applied)
}

/// The stale marks a batch made and removed, for
/// [`PgStore::learn_marks`] once it is committed.
#[derive(Default)]
struct MarksWritten {
    marked: Vec<i64>,
    unmarked: Vec<i64>,
    /// The rows of the batch's tickets as committed, by id, for
    /// [`PgStore::learn_rows`].
    rows: Vec<(String, Stored)>,
}

/// The `ticket_refs` pairs a batch stored ([`ref_hash`]) and the rows it
/// created, for [`PgStore::learn_refs`] once it is committed.
#[derive(Default)]
struct RefsWritten {
    stored: Vec<(i64, u64)>,
    created: Vec<i64>,
}

#[allow(clippy::too_many_arguments)]
fn apply_in(
    store: &PgStore,
    source: &str,
    now: i64,
    groups: BTreeMap<&str, Group<'_>>,
    organizations: &BTreeMap<&str, String>,
    users: &BTreeMap<&str, bool>,
    (withdrawn, notes): (&BTreeSet<NoteKey<'_>>, &BTreeMap<NoteKey<'_>, (i64, i64)>),
    cursors: &BTreeMap<&str, &str>,
    token: Option<i64>,
) -> Result<(Applied, Vec<i64>, RefsWritten, MarksWritten), StoreError> {
    let src = source.to_string();
    let mut directory: Vec<(&'static str, String)> = Vec::new();
    if !organizations.is_empty() {
        let ids: Vec<String> = organizations.keys().map(|s| s.to_string()).collect();
        let records: Vec<String> = organizations.values().cloned().collect();
        let s = src.clone();
        let rows = store.run_prepared(
            || format!("storing organizations of {source}"),
            PUT_ORGANIZATIONS,
            move |c, st| async move { c.query(&st, &[&s, &ids, &records]).await },
        )?;
        for row in rows {
            directory.push((
                "o",
                row.try_get(0)
                    .map_err(|e| store.error("reading stored organizations", e))?,
            ));
        }
    }
    if !users.is_empty() {
        let ids: Vec<String> = users.keys().map(|s| s.to_string()).collect();
        let agents: Vec<bool> = users.values().copied().collect();
        let s = src.clone();
        let rows = store.run_prepared(
            || format!("storing users of {source}"),
            PUT_USERS,
            move |c, st| async move { c.query(&st, &[&s, &ids, &agents]).await },
        )?;
        for row in rows {
            directory.push((
                "u",
                row.try_get(0)
                    .map_err(|e| store.error("reading stored users", e))?,
            ));
        }
    }
    if !withdrawn.is_empty() {
        let kinds: Vec<String> = withdrawn.iter().map(|k| k.0.to_string()).collect();
        let names: Vec<String> = withdrawn.iter().map(|k| k.1.to_string()).collect();
        let s = src.clone();
        store.run_prepared(
            || format!("removing notes of {source}"),
            DELETE_NOTES,
            move |c, st| async move { c.execute(&st, &[&s, &kinds, &names]).await },
        )?;
    }
    if !notes.is_empty() {
        let kinds: Vec<String> = notes.keys().map(|k| k.0.to_string()).collect();
        let names: Vec<String> = notes.keys().map(|k| k.1.to_string()).collect();
        let firsts: Vec<i64> = notes.values().map(|v| v.0).collect();
        let lasts: Vec<i64> = notes.values().map(|v| v.1).collect();
        let s = src.clone();
        store.run_prepared(
            || format!("storing notes of {source}"),
            PUT_NOTES, move |c, st| async move {
                c.execute(&st, &[&s, &kinds, &names, &firsts, &lasts])
                    .await
            },
        )?;
    }
    if !cursors.is_empty() {
        let streams: Vec<String> = cursors.keys().map(|s| s.to_string()).collect();
        let values: Vec<String> = cursors.values().map(|s| s.to_string()).collect();
        let s = src.clone();
        store.run_prepared(
            || format!("storing the cursors of {source}"),
            PUT_CURSORS,
            move |c, st| async move { c.execute(&st, &[&s, &streams, &values, &now]).await },
        )?;
    }

    let mut changes = Changes::default();
    let mut dropped_clocks = Vec::new();
    if !groups.is_empty() {
        dropped_clocks = merge_tickets(store, source, now, token, &groups, &mut changes)?;
    }
    let Changes {
        mut changed,
        mut changed_keys,
        mut complete,
        mut recorded,
        refs,
        marks,
    } = changes;

    // Tickets that read a changed organization or user see it change too.
    if !directory.is_empty() {
        let kinds: Vec<String> = directory.iter().map(|d| d.0.to_string()).collect();
        let refs: Vec<String> = directory.into_iter().map(|d| d.1).collect();
        let s = src.clone();
        let rows = store.run_prepared(
            || format!("finding the tickets of changed organizations and users of {source}"),
            TOUCH_DEPENDENTS,
            move |c, st| async move { c.query(&st, &[&s, &kinds, &refs, &now]).await },
        )?;
        for row in rows {
            let read = |e| store.error("reading the tickets of changed organizations and users", e);
            changed_keys.push(row.try_get(0).map_err(read)?);
            changed.insert(row.try_get(1).map_err(read)?);
        }
    }
    complete.sort_unstable();
    // A ticket of a changed organization or user is changed too.
    recorded.retain(|(_, id)| !changed.contains(id));
    recorded.sort_unstable();
    Ok((
        Applied {
            changed: changed.into_iter().collect(),
            complete: complete.into_iter().map(|(_, id)| id).collect(),
            recorded: recorded.into_iter().map(|(_, id)| id).collect(),
            dropped_clocks,
        },
        changed_keys,
        refs,
        marks,
    ))
}

/// What storing a batch's tickets changed, by ticket (key and id): see
/// [`Applied`].
#[derive(Default)]
struct Changes {
    changed: BTreeSet<String>,
    changed_keys: Vec<i64>,
    complete: Vec<(i64, String)>,
    recorded: Vec<(i64, String)>,
    /// What this batch writes to `ticket_refs`, to remember once it is
    /// committed.
    refs: RefsWritten,
    /// The stale marks it writes and removes, likewise.
    marks: MarksWritten,
}

/// A `ticket_refs` pair of one ticket as 64 bits, by SipHash with fixed
/// keys, as the SQLite store remembers them: two pairs of one ticket
/// sharing a hash (about one chance in 10^16 for a ticket with a few
/// hundred pairs) would leave the second unstored.
pub(super) fn ref_hash(kind: &str, target: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    kind.hash(&mut h);
    target.hash(&mut h);
    h.finish()
}

/// Stores the batch's tickets: new rows, newer headers, events not
/// stored yet, stale marks and references; says in `changes` what changed.
/// Returns the clocks rows of the tickets it deleted, as they were.
fn merge_tickets(
    store: &PgStore,
    source: &str,
    now: i64,
    token: Option<i64>,
    groups: &BTreeMap<&str, Group<'_>>,
    changes: &mut Changes,
) -> Result<Vec<StoredClocks>, StoreError> {
    let Changes {
        changed,
        changed_keys,
        complete,
        recorded,
        refs: refs_written,
        marks: marks_written,
    } = changes;
    let src = source.to_string();
    let what = || format!("storing tickets of {source}");
    // The rows this store committed under its lease are known as they
    // are; only the others are read.
    let mut ids: Vec<String> = groups.keys().map(|s| s.to_string()).collect();
    let mut stored: HashMap<String, Stored> = store.known_rows(source, token, &mut ids);
    let s = src.clone();
    let rows = if ids.is_empty() {
        Vec::new()
    } else {
        store.run_prepared(what, GET_ROWS, move |c, st| async move {
            c.query(&st, &[&s, &ids]).await
        })?
    };
    stored.reserve(rows.len());
    for row in rows {
        let read = |e| store.error(what(), e);
        let header: Option<&[u8]> = row.try_get(2).map_err(read)?;
        stored.insert(
            row.try_get(1).map_err(read)?,
            Stored {
                key: row.try_get(0).map_err(read)?,
                header: header.map(header_hash),
                updated_at: row.try_get(3).map_err(read)?,
                deleted: row.try_get(4).map_err(read)?,
                requester: row.try_get(5).map_err(read)?,
                last_event_at: row.try_get(6).map_err(read)?,
                chunks: row.try_get(7).map_err(read)?,
                clocks: None,
            },
        );
    }

    // What each ticket's batch changes, decided before writing.
    let mut plans: Vec<Plan<'_>> = Vec::with_capacity(groups.len());
    for (id, group) in groups {
        let old = stored.remove(*id);
        let mut updated_at = old.as_ref().and_then(|o| o.updated_at);
        let old_header = old.as_ref().and_then(|o| o.header);
        let mut newest: Option<(&TicketHeader, Vec<u8>)> = None;
        let mut current = old_header;
        for h in &group.headers {
            if updated_at.is_some_and(|u| h.updated_at < u) {
                continue;
            }
            let mut encoded = Vec::with_capacity(128);
            codec::encode_header(&mut encoded, h);
            let hash = header_hash(&encoded);
            if current != Some(hash) {
                newest = Some((h, encoded));
                current = Some(hash);
            }
            updated_at = Some(h.updated_at);
        }
        let mut events = group.events.clone();
        events.sort_unstable_by(|a, b| (a.at, a.id.as_str()).cmp(&(b.at, b.id.as_str())));
        events.dedup_by(|a, b| a.id == b.id);
        plans.push(Plan {
            id,
            stored: old,
            newest,
            events,
        });
    }

    // New rows, for tickets the store has not seen: one column per array.
    let new: Vec<&Plan<'_>> = plans.iter().filter(|p| p.stored.is_none()).collect();
    let mut new_keys: HashMap<String, i64> = HashMap::new();
    if !new.is_empty() {
        // Their keys drawn from the table's sequence, then the rows copied
        // in with them: none can collide with a stored one (the read above
        // found none of these ids in this transaction, and only the lease
        // holder writes them; a collision fails the batch on the key).
        let count = i64::try_from(new.len()).unwrap_or(i64::MAX);
        let rows = store.run_prepared(what, NEW_KEYS, move |c, st| async move {
            c.query(&st, &[&count]).await
        })?;
        if rows.len() != new.len() {
            return Err(store.invalid(format!(
                "storing tickets of {source}: {} keys drawn for {} new rows",
                rows.len(),
                new.len()
            )));
        }
        let mut copied: Vec<NewRow> = Vec::with_capacity(new.len());
        for (p, row) in new.iter().zip(rows) {
            let key: i64 = row.try_get(0).map_err(|e| store.error(what(), e))?;
            new_keys.insert(p.id.to_string(), key);
            refs_written.created.push(key);
            let header = p.newest.as_ref().map(|(h, _)| *h);
            copied.push(NewRow {
                key,
                source: src.clone(),
                id: p.id.to_string(),
                header: p.newest.as_ref().map(|(_, b)| b.clone()),
                updated_at: header.map(|h| h.updated_at),
                created_at: header.map(|h| h.created_at),
                organization: header.and_then(|h| h.organization_id.clone()),
                requester: header.and_then(|h| h.requester_id.clone()),
                deleted: header.is_some_and(|h| h.deleted),
                // A new ticket's events are all new: one chunk.
                last_event_at: p.events.iter().map(|e| e.at).max(),
                chunks: i32::from(!p.events.is_empty()),
                changed_at: now,
            });
        }
        copy_in(
            store,
            what,
            COPY_ROWS,
            &[
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::BYTEA,
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::BOOL,
                Type::INT8,
                Type::INT4,
                Type::INT8,
            ],
            copied,
            |r| {
                vec![
                    &r.key as Param<'_>,
                    &r.source,
                    &r.id,
                    &r.header,
                    &r.updated_at,
                    &r.created_at,
                    &r.organization,
                    &r.requester,
                    &r.deleted,
                    &r.last_event_at,
                    &r.chunks,
                    &r.changed_at,
                ]
            },
        )?;
    }
    let key_of = |p: &Plan<'_>| -> Result<i64, StoreError> {
        match &p.stored {
            Some(s) => Ok(s.key),
            None => new_keys.get(p.id).copied().ok_or_else(|| {
                store.invalid(format!(
                    "storing ticket {} of {source}: its new row has no key",
                    p.id
                ))
            }),
        }
    };

    // Newer headers of stored rows.
    let mut upd: (Vec<i64>, Vec<Vec<u8>>, Vec<i64>, Vec<i64>) = Default::default();
    let mut upd_more: (Vec<Option<String>>, Vec<Option<String>>, Vec<bool>) = Default::default();
    for p in plans.iter().filter(|p| p.stored.is_some()) {
        if let Some((h, encoded)) = &p.newest {
            upd.0.push(key_of(p)?);
            upd.1.push(encoded.clone());
            upd.2.push(h.updated_at);
            upd.3.push(h.created_at);
            upd_more.0.push(h.organization_id.clone());
            upd_more.1.push(h.requester_id.clone());
            upd_more.2.push(h.deleted);
        }
    }
    if !upd.0.is_empty() {
        store.run_prepared(what, UPDATE_HEADERS, move |c, st| async move {
            c.execute(
                &st,
                &[
                    &upd.0,
                    &upd.1,
                    &upd.2,
                    &upd.3,
                    &upd_more.0,
                    &upd_more.1,
                    &upd_more.2,
                    &now,
                ],
            )
            .await
        })?;
    }

    // Events: those later than every stored one of their ticket are new;
    // the stored ones are read only for the others, and to merge a
    // ticket's chunks once they are many.
    let mut read_keys: Vec<i64> = Vec::new();
    for p in &plans {
        let Some(stored) = &p.stored else { continue };
        if p.events.is_empty() || stored.chunks == 0 {
            continue;
        }
        let overlaps = stored
            .last_event_at
            .is_none_or(|last| p.events.iter().any(|e| e.at <= last));
        if overlaps || stored.chunks >= COMPACT_AT {
            read_keys.push(stored.key);
        }
    }
    let mut stored_chunks: HashMap<i64, Vec<Vec<u8>>> = HashMap::new();
    if !read_keys.is_empty() {
        let rows = store.run_prepared(what, GET_CHUNKS, move |c, st| async move {
            c.query(&st, &[&read_keys]).await
        })?;
        for row in rows {
            let read = |e| store.error(what(), e);
            stored_chunks
                .entry(row.try_get(0).map_err(read)?)
                .or_default()
                .push(row.try_get(1).map_err(read)?);
        }
    }
    // (key, new chunk count, max event time, events) of each ticket with
    // new events; which keys' chunks are replaced by one.
    let mut fresh: HashMap<i64, Vec<&EventRecord>> = HashMap::new();
    let mut put = NewChunks::default();
    let mut replaced: Vec<i64> = Vec::new();
    let mut counts: HashMap<i64, i32> = HashMap::new();
    for p in &plans {
        if p.events.is_empty() {
            continue;
        }
        let key = key_of(p)?;
        let chunks = p.stored.as_ref().map_or(0, |s| s.chunks);
        let decode = |e: codec::CodecError| {
            store.invalid(format!(
                "the stored events of ticket {} of {source} do not decode: {e}",
                p.id
            ))
        };
        let mut existing: Vec<codec::Framed<'_>> = Vec::new();
        if let Some(blobs) = stored_chunks.get(&key) {
            for blob in blobs {
                existing.extend(codec::frames(blob).map_err(decode)?);
            }
        }
        let new_events: Vec<&EventRecord> = p
            .events
            .iter()
            .copied()
            .filter(|e| !existing.iter().any(|f| f.id == e.id))
            .collect();
        if new_events.is_empty() {
            continue;
        }
        let mut added = Vec::with_capacity(new_events.len() * 48);
        for e in &new_events {
            codec::encode_event(&mut added, &e.id, e.at, &e.change);
        }
        let max_at = new_events.iter().map(|e| e.at).max().unwrap_or(i64::MIN);
        if chunks >= COMPACT_AT {
            // All the ticket's events in one chunk, in place of the others.
            let added_frames = codec::frames(&added).map_err(decode)?;
            let mut all: Vec<&codec::Framed<'_>> = existing.iter().chain(&added_frames).collect();
            all.sort_unstable_by(|a, b| (a.at, a.id).cmp(&(b.at, b.id)));
            let mut merged = Vec::with_capacity(all.iter().map(|f| f.frame.len()).sum());
            for f in &all {
                merged.extend_from_slice(f.frame);
            }
            let max_all = all.iter().map(|f| f.at).max().unwrap_or(max_at);
            replaced.push(key);
            put.push(key, 0, max_all, all.len(), merged);
            counts.insert(key, 1);
        } else {
            put.push(key, chunks, max_at, new_events.len(), added);
            counts.insert(key, chunks + 1);
        }
        fresh.insert(key, new_events);
    }
    if !replaced.is_empty() {
        store.run_prepared(what, DROP_CHUNKS, move |c, st| async move {
            c.execute(&st, &[&replaced]).await
        })?;
    }
    if !put.keys.is_empty() {
        let rows: Vec<_> = (put.keys.into_iter().zip(put.seqs))
            .zip(put.max_ats.into_iter().zip(put.counts))
            .zip(put.events)
            .collect();
        copy_in(
            store,
            what,
            PUT_CHUNKS,
            &[Type::INT8, Type::INT4, Type::INT8, Type::INT4, Type::BYTEA],
            rows,
            |(((key, seq), (max_at, count)), events)| {
                vec![key as Param<'_>, seq, max_at, count, events]
            },
        )?;
    }

    // What changed, and what follows from it.
    let mut touched: (Vec<i64>, Vec<i64>, Vec<i32>) = Default::default();
    let (mut mark, mut unmark, mut drop_clocks) = (Vec::new(), Vec::new(), Vec::new());
    // Stale marks and references of new rows (none stored can collide),
    // and references a row created under this lease lacks.
    let mut mark_new: Vec<i64> = Vec::new();
    let mut refs_new: Vec<(&'static str, String, i64)> = Vec::new();
    let mut dropped_ids: HashMap<i64, String> = HashMap::new();
    let mut refs: (Vec<String>, Vec<String>, Vec<i64>) = Default::default();
    let refs_known = store
        .refs
        .lock()
        .map_err(|_| store.invalid("the remembered references' lock is poisoned"))?;
    for p in &plans {
        let key = key_of(p)?;
        let fresh_events: &[&EventRecord] = fresh.get(&key).map_or(&[], Vec::as_slice);
        if p.newest.is_none() && fresh_events.is_empty() {
            continue;
        }
        let old_deleted = p.stored.as_ref().is_some_and(|s| s.deleted);
        let deleted = match &p.newest {
            Some((h, _)) => h.deleted,
            None => old_deleted,
        };
        let mut last_event = p.stored.as_ref().and_then(|s| s.last_event_at);
        if let Some(max_at) = fresh_events.iter().map(|e| e.at).max() {
            // A new row was written with them (see COPY_ROWS).
            if p.stored.is_some() {
                touched.0.push(key);
                touched.1.push(max_at);
                touched.2.push(counts.get(&key).copied().unwrap_or(0));
            }
            last_event = Some(last_event.map_or(max_at, |l| l.max(max_at)));
        }
        let has_header =
            p.newest.is_some() || p.stored.as_ref().is_some_and(|s| s.header.is_some());
        // Only the helpdesk's own SLA record is new: the timeline, and so
        // the clocks, are as they were.
        if p.newest.is_none() && fresh_events.iter().all(|e| is_record_change(&e.change)) {
            if !deleted && has_header {
                recorded.push((key, p.id.to_string()));
            }
            continue;
        }
        changed.insert(p.id.to_string());
        changed_keys.push(key);
        let old_requester = p.stored.as_ref().and_then(|s| s.requester.as_deref());
        let requester = match &p.newest {
            Some((h, _)) => h.requester_id.as_deref(),
            None => old_requester,
        };
        if deleted {
            unmark.push(key);
        } else if p.stored.is_none() {
            mark_new.push(key);
        } else {
            mark.push(key);
        }
        if deleted && !old_deleted {
            drop_clocks.push(key);
            dropped_ids.insert(key, p.id.to_string());
        }
        let mut candidates: Vec<(&'static str, &str)> = fresh_events
            .iter()
            .filter_map(|e| event_ref(&e.change, requester))
            .collect();
        if let Some((h, _)) = &p.newest {
            if let Some(o) = h.organization_id.as_deref() {
                candidates.push(("o", o));
            }
            // The old requester's comments are now resolved through the users.
            if let Some(r) = old_requester.filter(|&r| Some(r) != requester) {
                candidates.push(("u", r));
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        // A backfill brings a ticket's agent comments over several
        // batches, and each names the same few agents: a pair this store
        // committed before is not written again, and one it knows the
        // ticket lacks is copied in (see `KnownRefs`).
        let remembered = refs_known.get(&key);
        let known: &[u64] = remembered.map_or(&[], |r| &r.hashes[..]);
        let all_known = token.is_some() && remembered.is_some_and(|r| r.complete_under == token);
        for (kind, target) in candidates {
            let hash = ref_hash(kind, target);
            if known.contains(&hash) {
                continue;
            }
            refs_written.stored.push((key, hash));
            if p.stored.is_none() || all_known {
                refs_new.push((kind, target.to_string(), key));
            } else {
                refs.0.push(kind.to_string());
                refs.1.push(target.to_string());
                refs.2.push(key);
            }
        }
        let updated_at = match &p.newest {
            Some((h, _)) => Some(h.updated_at),
            None => p.stored.as_ref().and_then(|s| s.updated_at),
        };
        if !deleted
            && has_header
            && matches!((last_event, updated_at), (Some(e), Some(u)) if e >= u)
        {
            complete.push((key, p.id.to_string()));
        }
    }
    drop(refs_known);
    // Every row of the batch as this transaction leaves it, to remember
    // once it is committed (the rows of tickets that read a changed
    // organization or user change only in `changed_at`, not kept here).
    if token.is_some() {
        for p in &plans {
            let key = key_of(p)?;
            let old = p.stored.as_ref();
            let fresh_at = fresh.get(&key).and_then(|f| f.iter().map(|e| e.at).max());
            let last_event_at = match (old.and_then(|s| s.last_event_at), fresh_at) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            let header = p.newest.as_ref().map(|(h, _)| *h);
            let row = Stored {
                key,
                header: match &p.newest {
                    Some((_, encoded)) => Some(header_hash(encoded)),
                    None => old.and_then(|s| s.header),
                },
                updated_at: header.map_or(old.and_then(|s| s.updated_at), |h| Some(h.updated_at)),
                deleted: header.map_or(old.is_some_and(|s| s.deleted), |h| h.deleted),
                requester: match header {
                    Some(h) => h.requester_id.clone(),
                    None => old.and_then(|s| s.requester.clone()),
                },
                last_event_at,
                chunks: counts
                    .get(&key)
                    .copied()
                    .unwrap_or_else(|| old.map_or(0, |s| s.chunks)),
                // A new row has none; a deleted ticket's are dropped.
                clocks: match old {
                    None => Some(false),
                    Some(_) if drop_clocks.contains(&key) => Some(false),
                    Some(s) => s.clocks,
                },
            };
            marks_written.rows.push((p.id.to_string(), row));
        }
    }
    if !touched.0.is_empty() {
        store.run_prepared(what, TOUCH_EVENTS, move |c, st| async move {
            c.execute(&st, &[&touched.0, &touched.1, &touched.2, &now])
                .await
        })?;
    }
    // A ticket whose mark this store committed under the current lease
    // is still marked: only this store's saves remove marks meanwhile.
    store.known_marked(source, token, &mut mark);
    marks_written.marked.extend_from_slice(&mark);
    marks_written.marked.extend_from_slice(&mark_new);
    marks_written.unmarked.extend_from_slice(&unmark);
    copy_in(store, what, COPY_STALE, &[Type::INT8], mark_new, |key| {
        vec![key as Param<'_>]
    })?;
    for (sql, keys) in [(MARK_STALE, mark), (UNMARK_STALE, unmark)] {
        if !keys.is_empty() {
            store.run_prepared(what, sql, move |c, st| async move {
                c.execute(&st, &[&keys]).await
            })?;
        }
    }
    let mut dropped = Vec::new();
    if !drop_clocks.is_empty() {
        let rows = store.run_prepared(what, DROP_CLOCKS, move |c, st| async move {
            c.query(&st, &[&drop_clocks]).await
        })?;
        for row in rows {
            let read = |e| store.error(what(), e);
            let key: i64 = row.try_get(0).map_err(read)?;
            if let Some(id) = dropped_ids.remove(&key) {
                dropped.push(StoredClocks {
                    ticket_id: id,
                    config_hash: row.try_get(1).map_err(read)?,
                    clocks: row.try_get(2).map_err(read)?,
                    stale: false,
                });
            }
        }
    }
    if !refs_new.is_empty() {
        let rows: Vec<(String, &'static str, String, i64)> = refs_new
            .into_iter()
            .map(|(kind, target, key)| (src.clone(), kind, target, key))
            .collect();
        copy_in(
            store,
            what,
            COPY_REFS,
            &[Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8],
            rows,
            |(source, kind, target, key)| vec![source as Param<'_>, kind, target, key],
        )?;
    }
    if !refs.0.is_empty() {
        let s = src.clone();
        store.run_prepared(what, PUT_REFS, move |c, st| async move {
            c.execute(&st, &[&s, &refs.0, &refs.1, &refs.2]).await
        })?;
    }
    Ok(dropped)
}

/// The rows a save of clocks replaces, with whether their tickets are live.
const SAVED_ROWS: &str = "SELECT t.id, t.key, NOT t.deleted AND t.header IS NOT NULL,
         c.config_hash, c.clocks
     FROM tickets t LEFT JOIN clocks c ON c.key = t.key
     WHERE t.source = $1 AND t.id = ANY($2)";

const PUT_CLOCKS: &str = "INSERT INTO clocks (key, config_hash, clocks)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])
     ON CONFLICT (key) DO UPDATE SET config_hash = excluded.config_hash,
         clocks = excluded.clocks";

const COPY_CLOCKS: &str = "COPY clocks (key, config_hash, clocks) FROM STDIN (FORMAT binary)";

const PUT_POLL: &str = "INSERT INTO polls (source, at) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// [`Store::save_clocks_as_of`](crate::store::Store::save_clocks_as_of) on a PostgreSQL store.
pub(super) fn save_clocks_as_of(
    store: &PgStore,
    source: &str,
    clocks: &[(String, String, Vec<u8>)],
    as_of: u64,
) -> Result<SavedClocks, StoreError> {
    if clocks.is_empty() {
        return Ok(SavedClocks::default());
    }
    let what = || format!("saving clocks of {source}");
    let token = store.fence_token(source);
    let mut unmarked: Vec<i64> = Vec::new();
    let mut clocked: Vec<String> = Vec::new();
    let written = store.write_transaction(source, what, || {
        let mut ids: Vec<String> = clocks.iter().map(|c| c.0.clone()).collect();
        type Found = (i64, bool, Option<(String, Vec<u8>)>);
        // Tickets this store knows to have no clocks row yet (it created
        // them under its lease and saved none): nothing to read.
        let mut found: HashMap<String, Found> = store
            .known_unclocked(source, token, &mut ids)
            .into_iter()
            .map(|(id, (key, live))| (id, (key, live, None)))
            .collect();
        let s = source.to_string();
        // The rows they replace are read in the transaction that replaces
        // them: what was counted from them is taken out exactly.
        let rows = if ids.is_empty() {
            Vec::new()
        } else {
            store.run_prepared(what, SAVED_ROWS, move |c, st| async move {
                c.query(&st, &[&s, &ids]).await
            })?
        };
        found.reserve(rows.len());
        for row in rows {
            let read = |e| store.error(what(), e);
            let hash: Option<String> = row.try_get(3).map_err(read)?;
            let blob: Option<Vec<u8>> = row.try_get(4).map_err(read)?;
            found.insert(
                row.try_get(0).map_err(read)?,
                (
                    row.try_get(1).map_err(read)?,
                    row.try_get(2).map_err(read)?,
                    hash.zip(blob),
                ),
            );
        }
        let mut overtaken = Vec::new();
        // The last clocks of each ticket, by key, with their index.
        let mut save: BTreeMap<i64, (usize, &str, &[u8])> = BTreeMap::new();
        for (index, (id, hash, encoded)) in clocks.iter().enumerate() {
            // Clocks of unknown or deleted tickets are not kept.
            let Some(&(key, live, _)) = found.get(id) else {
                continue;
            };
            // Clocks of a snapshot a later commit has overtaken: the
            // ticket stays stale, for a recompute that sees the change.
            if store.last_change(key) > as_of {
                overtaken.push(id.clone());
                continue;
            }
            if live {
                save.insert(key, (index, hash, encoded));
            }
        }
        let mut saved = Vec::with_capacity(save.len());
        // Rows over a stored one are upserted; the others (most of a
        // backfill's) are copied in: the read above found no row for their
        // key in this transaction, and only the lease holder writes them.
        let mut replacing: (Vec<i64>, Vec<String>, Vec<Vec<u8>>) = Default::default();
        let mut fresh: Vec<(i64, String, Vec<u8>)> = Vec::new();
        for (&key, &(index, hash, encoded)) in &save {
            let old = clocks
                .get(index)
                .and_then(|(id, _, _)| found.get_mut(id))
                .and_then(|f| f.2.take());
            if old.is_some() {
                replacing.0.push(key);
                replacing.1.push(hash.to_string());
                replacing.2.push(encoded.to_vec());
            } else {
                fresh.push((key, hash.to_string(), encoded.to_vec()));
            }
            saved.push((index, old));
            if let Some((id, _, _)) = clocks.get(index) {
                clocked.push(id.clone());
            }
        }
        if !save.is_empty() {
            let keys: Vec<i64> = save.keys().copied().collect();
            unmarked.clone_from(&keys);
            store.run_prepared_all(what, &[UNMARK_STALE, PUT_CLOCKS], move |c, st| async move {
                let unmark_params = [&keys as Param<'_>];
                let put_params = [&replacing.0 as Param<'_>, &replacing.1, &replacing.2];
                let unmark = c.execute(&st[0], &unmark_params);
                if replacing.0.is_empty() {
                    return unmark.await;
                }
                let put = c.execute(&st[1], &put_params);
                tokio::try_join!(unmark, put).map(|(_, n)| n)
            })?;
            copy_in(
                store,
                what,
                COPY_CLOCKS,
                &[Type::INT8, Type::TEXT, Type::BYTEA],
                fresh,
                |(key, hash, blob)| vec![key as Param<'_>, hash, blob],
            )?;
        }
        saved.sort_unstable_by_key(|(index, _)| *index);
        Ok(SavedClocks { overtaken, saved })
    });
    match written {
        Ok(saved) => {
            store.learn_marks(source, token, Vec::new(), &unmarked);
            store.learn_clocked(source, token, &clocked);
            Ok(saved)
        }
        Err(e) => {
            // Its removals of stale marks and its clocks rows may have
            // been committed.
            store.forget_marks();
            store.forget_rows();
            Err(e)
        }
    }
}

/// [`Store::record_poll`](crate::store::Store::record_poll) on a PostgreSQL store.
pub(super) fn record_poll(store: &PgStore, source: &str, at: i64) -> Result<(), StoreError> {
    let what = || format!("recording a poll of {source}");
    store.write_transaction(source, what, || {
        let s = source.to_string();
        store.run_prepared(what, PUT_POLL, move |c, st| async move {
            c.execute(&st, &[&s, &at]).await
        })?;
        Ok(())
    })
}
