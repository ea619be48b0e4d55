//! Reading the PostgreSQL store: tickets assembled into engine timelines
//! (with the organizations and users they refer to), the streaming reads
//! of reports (pages of rows by key inside one snapshot), cursors, lists,
//! clocks, notes, polls and counts.

use std::collections::HashMap;

use tokio_postgres::Row;

use super::PgStore;
use crate::engine::Ticket;
use crate::sources::{assemble, ChangeRecord, EventRecord, NoteRecord, OrganizationRecord};
use crate::store::codec::{self, Events};
use crate::store::{ActiveTicket, SettledTicket, StoreError, StoreStats, StoredClocks, TicketMeta};

/// Rows read per query of a streaming read.
const PAGE: i64 = 500;

/// A ticket row read for assembly: key, id, header, when it last changed,
/// and its event chunks (the statement's fifth column, `bytea[]`).
struct TicketRow {
    key: i64,
    id: String,
    header: Vec<u8>,
    changed_at: i64,
    events: Vec<EventRecord>,
}

/// A ticket's event chunks as the fifth column of a statement that reads
/// its row: the rows and their events in one statement.
macro_rules! with_chunks {
    ($alias:literal) => {
        concat!(
            "ARRAY(SELECT e.events FROM event_chunks e WHERE e.key = ",
            $alias,
            ".key)"
        )
    };
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    store: &PgStore,
    what: &dyn Fn() -> String,
    row: &'a Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index).map_err(|e| store.error(what(), e))
}

/// Runs a query of `source` (`$1`) and more parameters.
fn query(
    store: &PgStore,
    what: &dyn Fn() -> String,
    sql: &'static str,
    params: Vec<Box<dyn tokio_postgres::types::ToSql + Send + Sync>>,
) -> Result<Vec<Row>, StoreError> {
    store.run_prepared(what, sql, move |c, st| async move {
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        c.query(&st, &refs).await
    })
}

/// Boxes query parameters.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        vec![$(Box::new($p) as Box<dyn tokio_postgres::types::ToSql + Send + Sync>),*]
    };
}

/// Assembles ticket rows read with their events (in the caller's
/// snapshot): the organizations and users they refer to are read in one
/// query.
fn assemble_rows(
    store: &PgStore,
    source: &str,
    rows: Vec<TicketRow>,
) -> Result<Vec<(TicketRow, Ticket)>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut decoded = Vec::with_capacity(rows.len());
    let mut org_ids: Vec<String> = Vec::new();
    let mut user_ids: Vec<String> = Vec::new();
    for mut row in rows {
        let header = codec::decode_header(&row.header).map_err(|e| {
            store.invalid(format!(
                "decoding the header of ticket {} of {source}: {e}",
                row.id
            ))
        })?;
        let mut list = std::mem::take(&mut row.events);
        list.sort_unstable_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        if let Some(o) = &header.organization_id {
            org_ids.push(o.clone());
        }
        let requester = header.requester_id.as_deref();
        for e in &list {
            match &e.change {
                ChangeRecord::Organization { id: Some(o) } => org_ids.push(o.clone()),
                ChangeRecord::Comment {
                    author_id: Some(u), ..
                } if Some(u.as_str()) != requester => user_ids.push(u.clone()),
                _ => {}
            }
        }
        decoded.push((row, header, list));
    }
    org_ids.sort_unstable();
    org_ids.dedup();
    user_ids.sort_unstable();
    user_ids.dedup();
    let mut organizations: HashMap<String, OrganizationRecord> = HashMap::new();
    let mut users: HashMap<String, bool> = HashMap::new();
    if !org_ids.is_empty() || !user_ids.is_empty() {
        let what = || format!("reading organizations and users of {source}");
        for row in query(
            store,
            &what,
            "SELECT false, id, record, NULL::boolean FROM organizations
               WHERE source = $1 AND id = ANY($2)
             UNION ALL
             SELECT true, id, NULL, agent FROM users WHERE source = $1 AND id = ANY($3)",
            params![source.to_string(), org_ids, user_ids],
        )? {
            let user: bool = get(store, &what, &row, 0)?;
            let id: String = get(store, &what, &row, 1)?;
            if user {
                users.insert(id, get(store, &what, &row, 3)?);
                continue;
            }
            let text: &str = get(store, &what, &row, 2)?;
            let record =
                serde_json::from_str::<OrganizationRecord>(text).map_err(|e| StoreError::Json {
                    location: store.location.shown.clone(),
                    what: format!("decoding organization {id} of {source}"),
                    source: e,
                })?;
            organizations.insert(id, record);
        }
    }
    Ok(decoded
        .into_iter()
        .map(|(row, header, list)| {
            let ticket = assemble::ticket(&header, list, &organizations, &users, source);
            (row, ticket)
        })
        .collect())
}

/// Ticket rows read with their event chunks (`with_chunks!`), the
/// chunks decoded (`which` of their events).
fn ticket_rows(
    store: &PgStore,
    source: &str,
    which: Events,
    what: &dyn Fn() -> String,
    rows: Vec<Row>,
) -> Result<Vec<TicketRow>, StoreError> {
    rows.iter()
        .map(|row| {
            let id: String = get(store, what, row, 1)?;
            let chunks: Vec<&[u8]> = get(store, what, row, 4)?;
            let mut events = Vec::new();
            for frame in chunks {
                codec::decode_events(frame, which, &mut events).map_err(|e| {
                    store.invalid(format!(
                        "the stored events of ticket {id} of {source} do not decode: {e}"
                    ))
                })?;
            }
            Ok(TicketRow {
                key: get(store, what, row, 0)?,
                id,
                header: get(store, what, row, 2)?,
                changed_at: get(store, what, row, 3)?,
                events,
            })
        })
        .collect()
}

/// The live tickets of `$1` with their event chunks, in one statement:
/// those of the keys `$2` (the rows the writer remembers) and those of the
/// ids `$3`, each list looked up in its index (`= ANY`, which walks the
/// index in order: a fifth less of the server's time than a join to the
/// list for 2,000 tickets). A row read by key is the row of its own id, so
/// a key could only ever miss a ticket, never give another's.
const TICKETS: &str = concat!(
    "SELECT f.key, f.id, f.header, f.changed_at, ",
    with_chunks!("f"),
    " FROM (
         SELECT t.key, t.id, t.header, t.changed_at FROM tickets t
         WHERE t.key = ANY($2) AND t.source = $1 AND NOT t.deleted AND t.header IS NOT NULL
         UNION ALL
         SELECT t.key, t.id, t.header, t.changed_at FROM tickets t
         WHERE t.source = $1 AND t.id = ANY($3) AND NOT t.deleted AND t.header IS NOT NULL
     ) AS f"
);

/// [`Store::tickets`](crate::store::Store::tickets): in the order of
/// `ids`, unknown and deleted ones skipped (inside the caller's snapshot);
/// with `which` the timeline's events only,
/// [`Store::timelines`](crate::store::Store::timelines). The rows and their
/// events are one statement, the organizations and users they refer to
/// another.
pub(super) fn tickets(
    store: &PgStore,
    source: &str,
    ids: &[String],
    which: Events,
) -> Result<Vec<Ticket>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let what = || format!("reading tickets of {source}");
    let mut wanted = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let keys = store.remembered_keys(source, &mut wanted);
    let rows = query(
        store,
        &what,
        TICKETS,
        params![source.to_string(), keys, wanted],
    )?;
    let rows = ticket_rows(store, source, which, &what, rows)?;
    let mut by_id: HashMap<String, Ticket> = assemble_rows(store, source, rows)?
        .into_iter()
        .map(|(row, t)| (row.id, t))
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        // A repeated id is handed over each time.
        if let Some(t) = by_id.get(id) {
            out.push(t.clone());
        }
    }
    by_id.clear();
    Ok(out)
}

const ACTIVE_IN: &str = concat!(
    "SELECT key, id, header, changed_at, ",
    with_chunks!("tickets"),
    " FROM tickets
     WHERE source = $1 AND NOT deleted AND header IS NOT NULL AND created_at < $3
       AND (created_at >= $2 OR updated_at >= $2 OR last_event_at >= $2)
       AND key > $4
     ORDER BY key LIMIT $5"
);

/// [`Store::for_each_ticket_active_in`](crate::store::Store::for_each_ticket_active_in):
/// pages of tickets by key, inside the caller's snapshot.
pub(super) fn for_each_active(
    store: &PgStore,
    source: &str,
    from: i64,
    to: i64,
    f: &mut dyn FnMut(ActiveTicket),
) -> Result<(), StoreError> {
    let what = || format!("reading the tickets of {source} active in [{from}, {to})");
    let mut after = i64::MIN;
    loop {
        let rows = query(
            store,
            &what,
            ACTIVE_IN,
            params![source.to_string(), from, to, after, PAGE],
        )?;
        let done = (rows.len() as i64) < PAGE;
        let rows = ticket_rows(store, source, Events::All, &what, rows)?;
        if let Some(last) = rows.last() {
            after = last.key;
        }
        for (row, ticket) in assemble_rows(store, source, rows)? {
            f(ActiveTicket {
                ticket,
                stored_at: row.changed_at,
            });
        }
        if done {
            return Ok(());
        }
    }
}

/// As [`ACTIVE_IN`] from `$2`, but not from `$3` (the same comparisons, so
/// a ticket is in exactly one of the two; a comparison with NULL counts as
/// false in both).
const SETTLED_IN: &str = "SELECT t.key, t.id, t.created_at, t.organization_id, o.record,
         k.config_hash, k.clocks, s.key IS NOT NULL
     FROM tickets t
     LEFT JOIN clocks k ON k.key = t.key
     LEFT JOIN stale_tickets s ON s.key = t.key
     LEFT JOIN organizations o ON o.source = t.source AND o.id = t.organization_id
     WHERE t.source = $1 AND NOT t.deleted AND t.header IS NOT NULL AND t.created_at < $3
       AND (t.created_at >= $2 OR t.updated_at >= $2 OR t.last_event_at >= $2)
       AND NOT coalesce(t.created_at >= $3 OR t.updated_at >= $3 OR t.last_event_at >= $3, false)
       AND t.key > $4
     ORDER BY t.key LIMIT $5";

/// [`Store::for_each_settled_ticket`](crate::store::Store::for_each_settled_ticket):
/// pages by key inside the caller's snapshot, no event read.
pub(super) fn for_each_settled(
    store: &PgStore,
    source: &str,
    from: i64,
    until: i64,
    f: &mut dyn FnMut(SettledTicket),
) -> Result<(), StoreError> {
    let what = || format!("reading the tickets of {source} settled in [{from}, {until})");
    let mut after = i64::MIN;
    loop {
        let rows = query(
            store,
            &what,
            SETTLED_IN,
            params![source.to_string(), from, until, after, PAGE * 4],
        )?;
        let done = (rows.len() as i64) < PAGE * 4;
        for row in &rows {
            after = get(store, &what, row, 0)?;
            let id: String = get(store, &what, row, 1)?;
            let organization_id: Option<String> = get(store, &what, row, 3)?;
            let record: Option<&str> = get(store, &what, row, 4)?;
            let organization_name = match record {
                Some(text) => {
                    serde_json::from_str::<OrganizationRecord>(text)
                        .map_err(|e| StoreError::Json {
                            location: store.location.shown.clone(),
                            what: format!(
                                "decoding organization {} of {source}",
                                organization_id.as_deref().unwrap_or("?")
                            ),
                            source: e,
                        })?
                        .name
                }
                None => None,
            };
            let hash: Option<String> = get(store, &what, row, 5)?;
            let stale: bool = get(store, &what, row, 7)?;
            let clocks = match hash {
                Some(hash) if !stale => Some((hash, get(store, &what, row, 6)?)),
                _ => None,
            };
            f(SettledTicket {
                id,
                created_at: get::<Option<i64>>(store, &what, row, 2)?.unwrap_or(0),
                organization_id,
                organization_name,
                clocks,
            });
        }
        if done {
            return Ok(());
        }
    }
}

/// [`Store::for_each_clocks`](crate::store::Store::for_each_clocks): by
/// ticket id, in pages, inside the caller's snapshot.
pub(super) fn for_each_clocks(
    store: &PgStore,
    source: &str,
    f: &mut dyn FnMut(StoredClocks),
) -> Result<(), StoreError> {
    let what = || format!("reading the clocks of {source}");
    let mut after: Option<String> = None;
    loop {
        let rows = query(
            store,
            &what,
            "SELECT t.id, c.config_hash, c.clocks, s.key IS NOT NULL FROM tickets t
             JOIN clocks c ON c.key = t.key
             LEFT JOIN stale_tickets s ON s.key = t.key
             WHERE t.source = $1 AND ($2::text IS NULL OR t.id > $2)
             ORDER BY t.id LIMIT $3",
            params![source.to_string(), after.clone(), PAGE * 10],
        )?;
        let done = (rows.len() as i64) < PAGE * 10;
        for row in &rows {
            let clocks = StoredClocks {
                ticket_id: get(store, &what, row, 0)?,
                config_hash: get(store, &what, row, 1)?,
                clocks: get(store, &what, row, 2)?,
                stale: get(store, &what, row, 3)?,
            };
            after = Some(clocks.ticket_id.clone());
            f(clocks);
        }
        if done {
            return Ok(());
        }
    }
}

/// The ids of a query's first column.
fn ids(
    store: &PgStore,
    what: &dyn Fn() -> String,
    sql: &'static str,
    params: Vec<Box<dyn tokio_postgres::types::ToSql + Send + Sync>>,
) -> Result<Vec<String>, StoreError> {
    query(store, what, sql, params)?
        .iter()
        .map(|row| get(store, what, row, 0))
        .collect()
}

pub(super) fn cursor(
    store: &PgStore,
    source: &str,
    stream: &str,
) -> Result<Option<String>, StoreError> {
    let what = || format!("reading the cursor of {source}/{stream}");
    let rows = query(
        store,
        &what,
        "SELECT value FROM cursors WHERE source = $1 AND stream = $2",
        params![source.to_string(), stream.to_string()],
    )?;
    rows.first().map(|r| get(store, &what, r, 0)).transpose()
}

pub(super) fn ticket_ids(store: &PgStore, source: &str) -> Result<Vec<String>, StoreError> {
    ids(
        store,
        &|| format!("listing the tickets of {source}"),
        "SELECT id FROM tickets WHERE source = $1 AND NOT deleted AND header IS NOT NULL
         ORDER BY id",
        params![source.to_string()],
    )
}

pub(super) fn stale_ticket_ids(store: &PgStore, source: &str) -> Result<Vec<String>, StoreError> {
    ids(
        store,
        &|| format!("listing the tickets of {source} with stale clocks"),
        "SELECT t.id FROM stale_tickets s JOIN tickets t ON t.key = s.key
         WHERE t.source = $1 AND NOT t.deleted AND t.header IS NOT NULL ORDER BY t.key",
        params![source.to_string()],
    )
}

pub(super) fn ticket_ids_computed_under_other_config(
    store: &PgStore,
    source: &str,
    config_hash: &str,
) -> Result<Vec<String>, StoreError> {
    ids(
        store,
        &|| format!("listing the tickets of {source} computed under another config"),
        "SELECT t.id FROM clocks c JOIN tickets t ON t.key = c.key
         WHERE t.source = $1 AND NOT t.deleted AND c.config_hash <> $2 ORDER BY t.key",
        params![source.to_string(), config_hash.to_string()],
    )
}

pub(super) fn tickets_changed_since(
    store: &PgStore,
    source: &str,
    since: i64,
) -> Result<Vec<String>, StoreError> {
    ids(
        store,
        &|| format!("listing the tickets of {source} changed since {since}"),
        "SELECT id FROM tickets WHERE source = $1 AND NOT deleted AND header IS NOT NULL
           AND changed_at >= $2 ORDER BY id",
        params![source.to_string(), since],
    )
}

pub(super) fn clocks(
    store: &PgStore,
    source: &str,
    ticket_id: &str,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    let what = || format!("reading the clocks of ticket {ticket_id} of {source}");
    let rows = query(
        store,
        &what,
        "SELECT c.config_hash, c.clocks FROM tickets t JOIN clocks c ON c.key = t.key
         WHERE t.source = $1 AND t.id = $2",
        params![source.to_string(), ticket_id.to_string()],
    )?;
    rows.first()
        .map(|r| Ok((get(store, &what, r, 0)?, get(store, &what, r, 1)?)))
        .transpose()
}

pub(super) fn ticket_metas(store: &PgStore, source: &str) -> Result<Vec<TicketMeta>, StoreError> {
    let what = || format!("reading the tickets of {source}");
    query(
        store,
        &what,
        "SELECT id, created_at, organization_id FROM tickets
         WHERE source = $1 AND NOT deleted AND header IS NOT NULL ORDER BY id",
        params![source.to_string()],
    )?
    .iter()
    .map(|row| {
        Ok(TicketMeta {
            id: get(store, &what, row, 0)?,
            created_at: get::<Option<i64>>(store, &what, row, 1)?.unwrap_or(0),
            organization: get(store, &what, row, 2)?,
        })
    })
    .collect()
}

pub(super) fn notes(
    store: &PgStore,
    source: &str,
    from: i64,
    to: i64,
) -> Result<Vec<NoteRecord>, StoreError> {
    let what = || format!("reading the notes of {source}");
    query(
        store,
        &what,
        "SELECT kind, name, first_at, last_at FROM source_notes
         WHERE source = $1 AND last_at >= $2 AND first_at < $3 ORDER BY kind, name",
        params![source.to_string(), from, to],
    )?
    .iter()
    .map(|row| {
        Ok(NoteRecord {
            kind: get(store, &what, row, 0)?,
            name: get(store, &what, row, 1)?,
            first_at: get(store, &what, row, 2)?,
            last_at: get(store, &what, row, 3)?,
        })
    })
    .collect()
}

pub(super) fn count_notes(store: &PgStore, source: &str, kind: &str) -> Result<u64, StoreError> {
    let what = || format!("counting the {kind} notes of {source}");
    let rows = query(
        store,
        &what,
        "SELECT count(*) FROM source_notes WHERE source = $1 AND kind = $2",
        params![source.to_string(), kind.to_string()],
    )?;
    let n: i64 = match rows.first() {
        Some(r) => get(store, &what, r, 0)?,
        None => 0,
    };
    Ok(n.max(0) as u64)
}

pub(super) fn polls(
    store: &PgStore,
    source: &str,
    from: i64,
    to: i64,
) -> Result<Vec<i64>, StoreError> {
    let what = || format!("reading the polls of {source}");
    query(
        store,
        &what,
        "SELECT at FROM polls WHERE source = $1 AND at >= $2 AND at < $3 ORDER BY at",
        params![source.to_string(), from, to],
    )?
    .iter()
    .map(|row| get(store, &what, row, 0))
    .collect()
}

pub(super) fn stats(store: &PgStore) -> Result<StoreStats, StoreError> {
    let what = || "counting the stored records".to_string();
    let rows = query(
        store,
        &what,
        "SELECT
            (SELECT count(*) FROM tickets WHERE NOT deleted AND header IS NOT NULL),
            (SELECT count(*) FROM tickets WHERE deleted AND header IS NOT NULL),
            (SELECT coalesce(sum(count), 0)::bigint FROM event_chunks),
            (SELECT count(*) FROM organizations),
            (SELECT count(*) FROM users),
            (SELECT count(*) FROM clocks),
            (SELECT count(*) FROM cursors)",
        params![],
    )?;
    let Some(row) = rows.first() else {
        return Err(store.invalid("counting the stored records: no answer"));
    };
    let n = |i: usize| -> Result<u64, StoreError> {
        Ok(get::<i64>(store, &what, row, i)?.max(0) as u64)
    };
    Ok(StoreStats {
        tickets: n(0)?,
        deleted_tickets: n(1)?,
        events: n(2)?,
        organizations: n(3)?,
        users: n(4)?,
        clocks: n(5)?,
        cursors: n(6)?,
    })
}
