//! The embedded store: one SQLite file in WAL mode.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, ToSql};

use super::{Store, StoreError, StoreStats, StoredClocks, TicketMeta};
use crate::engine::Ticket;
use crate::sources::{
    assemble, ChangeRecord, EventRecord, OrganizationRecord, Page, Record, TicketHeader,
};

/// The migrations, in order; migration `n` (1-based) brings the file to
/// schema version `n`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_arrivals_and_polls.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const PUT_TICKET: &str =
    "INSERT INTO tickets (source, id, updated_at, organization_id, deleted, header)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (source, id) DO UPDATE SET
         updated_at = excluded.updated_at,
         organization_id = excluded.organization_id,
         deleted = excluded.deleted,
         header = excluded.header
     WHERE excluded.updated_at >= tickets.updated_at AND excluded.header IS NOT tickets.header";

/// Events are inserted this many rows per statement.
const EVENT_CHUNK: usize = 32;

/// The INSERT of `rows` events: `?1` is the source, then six parameters a
/// row. ON CONFLICT DO NOTHING (not INSERT OR IGNORE): only a duplicate id is
/// skipped, a CHECK violation still fails the page. RETURNING gives the
/// tickets of the rows actually inserted.
fn events_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO events (source, ticket_id, event_id, at, organization_id, author_id, change) VALUES ",
    );
    for row in 0..rows {
        let b = 1 + row * 6;
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(?1, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6
        ));
    }
    sql.push_str(" ON CONFLICT (source, ticket_id, event_id) DO NOTHING RETURNING ticket_id");
    sql
}

static EVENTS_CHUNK_SQL: OnceLock<String> = OnceLock::new();
static EVENTS_ONE_SQL: OnceLock<String> = OnceLock::new();

/// An event of the page waiting for its multi-row INSERT.
struct PendingEvent<'a> {
    ev: &'a EventRecord,
    org: Option<&'a str>,
    author: Option<&'a str>,
    json: String,
}

/// Inserts the pending events, adding the tickets that got new ones to
/// `changed`.
fn flush_events(
    conn: &Connection,
    path: &Path,
    source: &str,
    stream: &str,
    pending: &mut Vec<PendingEvent<'_>>,
    changed: &mut HashSet<String>,
) -> Result<(), StoreError> {
    for chunk in pending.chunks(EVENT_CHUNK) {
        if chunk.len() == EVENT_CHUNK {
            let sql = EVENTS_CHUNK_SQL.get_or_init(|| events_sql(EVENT_CHUNK));
            insert_events(conn, path, source, stream, sql, chunk, changed)?;
        } else {
            let sql = EVENTS_ONE_SQL.get_or_init(|| events_sql(1));
            for one in chunk.chunks(1) {
                insert_events(conn, path, source, stream, sql, one, changed)?;
            }
        }
    }
    pending.clear();
    Ok(())
}

fn insert_events(
    conn: &Connection,
    path: &Path,
    source: &str,
    stream: &str,
    sql: &str,
    rows: &[PendingEvent<'_>],
    changed: &mut HashSet<String>,
) -> Result<(), StoreError> {
    let what = || {
        match (rows.first(), rows.last()) {
        (Some(a), Some(_)) if rows.len() == 1 => format!(
            "storing event {} of ticket {} of {source}/{stream}",
            a.ev.id, a.ev.ticket_id
        ),
        (Some(a), Some(b)) => format!(
            "storing {} events (event {} of ticket {} to event {} of ticket {}) of {source}/{stream}",
            rows.len(),
            a.ev.id,
            a.ev.ticket_id,
            b.ev.id,
            b.ev.ticket_id
        ),
        _ => format!("storing events of {source}/{stream}"),
    }
    };
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(|e| sql_error(path, what(), e))?;
    let mut params: Vec<&dyn ToSql> = Vec::with_capacity(1 + rows.len() * 6);
    params.push(&source);
    for row in rows {
        params.push(&row.ev.ticket_id);
        params.push(&row.ev.id);
        params.push(&row.ev.at);
        params.push(&row.org);
        params.push(&row.author);
        params.push(&row.json);
    }
    let mut inserted = stmt
        .query(&params[..])
        .map_err(|e| sql_error(path, what(), e))?;
    while let Some(row) = inserted.next().map_err(|e| sql_error(path, what(), e))? {
        if let ValueRef::Text(bytes) = row.get_ref(0).map_err(|e| sql_error(path, what(), e))? {
            if let Ok(id) = std::str::from_utf8(bytes) {
                if !changed.contains(id) {
                    changed.insert(id.to_string());
                }
            }
        }
    }
    Ok(())
}

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

const TICKETS_OF_ORGANIZATION: &str =
    "SELECT id FROM tickets WHERE source = ?1 AND organization_id = ?2
     UNION
     SELECT ticket_id FROM events WHERE source = ?1 AND organization_id = ?2";

const TICKETS_OF_AUTHOR: &str =
    "SELECT DISTINCT ticket_id FROM events WHERE source = ?1 AND author_id = ?2";

const MARK_STALE: &str =
    "UPDATE clocks SET stale = 1 WHERE source = ?1 AND ticket_id = ?2 AND stale = 0";

const TOUCH_TICKET: &str = "UPDATE tickets SET changed_at = ?3 WHERE source = ?1 AND id = ?2";

const DROP_CLOCKS: &str = "DELETE FROM clocks WHERE source = ?1 AND ticket_id = ?2";

const GET_HEADER: &str = "SELECT header FROM tickets WHERE source = ?1 AND id = ?2 AND deleted = 0";

const GET_EVENTS: &str = "SELECT event_id, at, change FROM events
     WHERE source = ?1 AND ticket_id = ?2 ORDER BY at, event_id";

const GET_ORGANIZATION: &str = "SELECT record FROM organizations WHERE source = ?1 AND id = ?2";

const GET_USER: &str = "SELECT agent FROM users WHERE source = ?1 AND id = ?2";

// The SELECT form (with its WHERE) keeps clocks of unknown or deleted
// tickets out.
const PUT_CLOCKS: &str = "INSERT INTO clocks (source, ticket_id, config_hash, json, stale)
     SELECT ?1, ?2, ?3, ?4, 0
     WHERE EXISTS (SELECT 1 FROM tickets WHERE source = ?1 AND id = ?2 AND deleted = 0)
     ON CONFLICT (source, ticket_id) DO UPDATE SET
         config_hash = excluded.config_hash,
         json = excluded.json,
         stale = 0";

/// The embedded store. Not `Sync`: one owner (the daemon's blocking task);
/// other processes may read the same file concurrently (WAL).
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn sql_error(path: &Path, what: impl Into<String>, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        what: what.into(),
        source,
    }
}

fn json_error(path: &Path, what: impl Into<String>, source: serde_json::Error) -> StoreError {
    StoreError::Json {
        path: path.to_path_buf(),
        what: what.into(),
        source,
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
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
                    path: path.clone(),
                    what: format!("create its folder {}", parent.display()),
                    source,
                })?;
            }
        }
        let conn = Connection::open(&path).map_err(|e| sql_error(&path, "opening the file", e))?;
        let mut store = SqliteStore { conn, path };
        store.configure(true)?;
        store.migrate()?;
        Ok(store)
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory()
            .map_err(|e| sql_error(&path, "opening an in-memory database", e))?;
        let mut store = SqliteStore { conn, path };
        store.configure(false)?;
        store.migrate()?;
        Ok(store)
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
                path: path.clone(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        if file {
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
        // 64 MiB of page cache (the default 2 MiB thrashes on backfills).
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
        for (index, sql) in MIGRATIONS.iter().enumerate() {
            let version = index as i64 + 1;
            if version <= found {
                continue;
            }
            let what = format!("migrating the schema to version {version}");
            let tx = self
                .conn
                .transaction()
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            tx.execute_batch(sql)
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            tx.pragma_update(None, "user_version", version)
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            tx.commit().map_err(|e| sql_error(path, what.as_str(), e))?;
            tracing::info!(path = %path.display(), version, "store schema migrated");
        }
        Ok(())
    }

    fn ids(&self, sql: &str, source: &str, what: &str) -> Result<Vec<String>, StoreError> {
        let path = &self.path;
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sql_error(path, what, e))?;
        let rows = stmt
            .query_map(params![source], |row| row.get::<_, String>(0))
            .map_err(|e| sql_error(path, what, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(path, what, e))
    }
}

/// Organizations and users read while assembling, shared across the tickets
/// of one snapshot.
#[derive(Default)]
struct Lookups {
    organizations: HashMap<String, Option<OrganizationRecord>>,
    users: HashMap<String, Option<bool>>,
}

/// Reads and assembles one ticket on `conn` (inside the caller's snapshot).
fn load_ticket(
    conn: &Connection,
    path: &Path,
    source: &str,
    id: &str,
    lookups: &mut Lookups,
) -> Result<Option<Ticket>, StoreError> {
    let what = || format!("reading ticket {id} of {source}");
    let header: Option<String> = conn
        .prepare_cached(GET_HEADER)
        .and_then(|mut s| {
            s.query_row(params![source, id], |row| row.get(0))
                .optional()
        })
        .map_err(|e| sql_error(path, what(), e))?;
    let Some(header) = header else {
        return Ok(None);
    };
    let header: TicketHeader = serde_json::from_str(&header).map_err(|e| {
        json_error(
            path,
            format!("decoding the header of ticket {id} of {source}"),
            e,
        )
    })?;

    let mut events = Vec::new();
    {
        let mut stmt = conn
            .prepare_cached(GET_EVENTS)
            .map_err(|e| sql_error(path, what(), e))?;
        let mut rows = stmt
            .query(params![source, id])
            .map_err(|e| sql_error(path, what(), e))?;
        while let Some(row) = rows.next().map_err(|e| sql_error(path, what(), e))? {
            let event_id: String = row.get(0).map_err(|e| sql_error(path, what(), e))?;
            let at: i64 = row.get(1).map_err(|e| sql_error(path, what(), e))?;
            let change: String = row.get(2).map_err(|e| sql_error(path, what(), e))?;
            let change: ChangeRecord = serde_json::from_str(&change).map_err(|e| {
                json_error(
                    path,
                    format!("decoding event {event_id} of ticket {id} of {source}"),
                    e,
                )
            })?;
            events.push(EventRecord {
                ticket_id: id.to_string(),
                id: event_id,
                at,
                change,
            });
        }
    }

    // The organizations and users the ticket refers to.
    let mut org_ids: Vec<&str> = header.organization_id.as_deref().into_iter().collect();
    let mut user_ids: Vec<&str> = header.requester_id.as_deref().into_iter().collect();
    for e in &events {
        match &e.change {
            ChangeRecord::Organization { id: Some(o) } => org_ids.push(o),
            ChangeRecord::Comment {
                author_id: Some(u), ..
            } => user_ids.push(u),
            _ => {}
        }
    }
    let mut orgs = HashMap::new();
    for org in org_ids {
        if orgs.contains_key(org) {
            continue;
        }
        if !lookups.organizations.contains_key(org) {
            let what = || format!("reading organization {org} of {source}");
            let record: Option<String> = conn
                .prepare_cached(GET_ORGANIZATION)
                .and_then(|mut s| {
                    s.query_row(params![source, org], |row| row.get(0))
                        .optional()
                })
                .map_err(|e| sql_error(path, what(), e))?;
            let record = match record {
                Some(text) => Some(serde_json::from_str::<OrganizationRecord>(&text).map_err(
                    |e| json_error(path, format!("decoding organization {org} of {source}"), e),
                )?),
                None => None,
            };
            lookups.organizations.insert(org.to_string(), record);
        }
        if let Some(Some(record)) = lookups.organizations.get(org) {
            orgs.insert(org.to_string(), record.clone());
        }
    }
    let mut users = HashMap::new();
    for user in user_ids {
        if users.contains_key(user) {
            continue;
        }
        if !lookups.users.contains_key(user) {
            let agent: Option<bool> = conn
                .prepare_cached(GET_USER)
                .and_then(|mut s| {
                    s.query_row(params![source, user], |row| row.get(0))
                        .optional()
                })
                .map_err(|e| sql_error(path, format!("reading user {user} of {source}"), e))?;
            lookups.users.insert(user.to_string(), agent);
        }
        if let Some(Some(agent)) = lookups.users.get(user) {
            users.insert(user.to_string(), *agent);
        }
    }
    Ok(Some(assemble::ticket(
        &header, &events, &orgs, &users, source,
    )))
}

impl Store for SqliteStore {
    fn apply_page(&mut self, source: &str, page: &Page) -> Result<Vec<String>, StoreError> {
        self.apply_pages(source, std::slice::from_ref(page))
    }

    fn apply_pages(&mut self, source: &str, pages: &[Page]) -> Result<Vec<String>, StoreError> {
        let path = &self.path;
        let tx = self.conn.transaction().map_err(|e| {
            sql_error(
                path,
                format!("beginning the transaction of pages of {source}"),
                e,
            )
        })?;
        let mut changed: HashSet<String> = HashSet::new();
        for page in pages {
            let stream = page.stream.as_str();
            {
                let prepare = |sql: &str| {
                    tx.prepare_cached(sql).map_err(|e| {
                        sql_error(
                            path,
                            format!("preparing to store a page of {source}/{stream}"),
                            e,
                        )
                    })
                };
                let mut put_ticket = prepare(PUT_TICKET)?;
                let mut pending: Vec<PendingEvent<'_>> = Vec::with_capacity(EVENT_CHUNK);
                let mut drop_clocks = prepare(DROP_CLOCKS)?;
                for record in &page.records {
                    match record {
                        Record::Ticket(h) => {
                            let what = || format!("storing ticket {} of {source}/{stream}", h.id);
                            let json = serde_json::to_string(h)
                                .map_err(|e| json_error(path, what(), e))?;
                            let n = put_ticket
                                .execute(params![
                                    source,
                                    h.id,
                                    h.updated_at,
                                    h.organization_id,
                                    h.deleted,
                                    json
                                ])
                                .map_err(|e| sql_error(path, what(), e))?;
                            if n > 0 {
                                if h.deleted {
                                    drop_clocks
                                        .execute(params![source, h.id])
                                        .map_err(|e| sql_error(path, what(), e))?;
                                }
                                if !changed.contains(&h.id) {
                                    changed.insert(h.id.clone());
                                }
                            }
                        }
                        Record::Event(ev) => {
                            let json = serde_json::to_string(&ev.change).map_err(|e| {
                                json_error(
                                    path,
                                    format!(
                                        "encoding event {} of ticket {} of {source}/{stream}",
                                        ev.id, ev.ticket_id
                                    ),
                                    e,
                                )
                            })?;
                            let (org, author) = match &ev.change {
                                ChangeRecord::Organization { id } => (id.as_deref(), None),
                                ChangeRecord::Comment { author_id, .. } => {
                                    (None, author_id.as_deref())
                                }
                                _ => (None, None),
                            };
                            pending.push(PendingEvent {
                                ev,
                                org,
                                author,
                                json,
                            });
                            if pending.len() == EVENT_CHUNK {
                                flush_events(
                                    &tx,
                                    path,
                                    source,
                                    stream,
                                    &mut pending,
                                    &mut changed,
                                )?;
                            }
                        }
                        Record::Organization(o) => {
                            // The page's events so far must be visible to the lookup.
                            flush_events(&tx, path, source, stream, &mut pending, &mut changed)?;
                            let what =
                                || format!("storing organization {} of {source}/{stream}", o.id);
                            let json = serde_json::to_string(o)
                                .map_err(|e| json_error(path, what(), e))?;
                            let n = prepare(PUT_ORGANIZATION)?
                                .execute(params![source, o.id, json])
                                .map_err(|e| sql_error(path, what(), e))?;
                            if n > 0 {
                                let mut stmt = prepare(TICKETS_OF_ORGANIZATION)?;
                                let rows = stmt
                                    .query_map(params![source, o.id], |row| row.get::<_, String>(0))
                                    .map_err(|e| sql_error(path, what(), e))?;
                                for id in rows {
                                    changed.insert(id.map_err(|e| sql_error(path, what(), e))?);
                                }
                            }
                        }
                        Record::User(u) => {
                            flush_events(&tx, path, source, stream, &mut pending, &mut changed)?;
                            let what = || format!("storing user {} of {source}/{stream}", u.id);
                            let n = prepare(PUT_USER)?
                                .execute(params![source, u.id, u.agent])
                                .map_err(|e| sql_error(path, what(), e))?;
                            if n > 0 {
                                let mut stmt = prepare(TICKETS_OF_AUTHOR)?;
                                let rows = stmt
                                    .query_map(params![source, u.id], |row| row.get::<_, String>(0))
                                    .map_err(|e| sql_error(path, what(), e))?;
                                for id in rows {
                                    changed.insert(id.map_err(|e| sql_error(path, what(), e))?);
                                }
                            }
                        }
                    }
                }
                flush_events(&tx, path, source, stream, &mut pending, &mut changed)?;
                let what = || format!("storing the cursor of {source}/{stream}");
                prepare(PUT_CURSOR)?
                    .execute(params![source, stream, page.cursor, unix_now()])
                    .map_err(|e| sql_error(path, what(), e))?;
            }
        }
        {
            let prepare = |sql: &str| {
                tx.prepare_cached(sql).map_err(|e| {
                    sql_error(
                        path,
                        format!("preparing to mark the changes of {source}"),
                        e,
                    )
                })
            };
            let mut mark = prepare(MARK_STALE)?;
            let mut touch = prepare(TOUCH_TICKET)?;
            let now = unix_now();
            for id in &changed {
                mark.execute(params![source, id]).map_err(|e| {
                    sql_error(path, format!("marking the clocks of ticket {id} stale"), e)
                })?;
                touch
                    .execute(params![source, id, now])
                    .map_err(|e| sql_error(path, format!("noting when ticket {id} changed"), e))?;
            }
        }
        tx.commit()
            .map_err(|e| sql_error(path, format!("committing pages of {source}"), e))?;
        let mut ids: Vec<String> = changed.into_iter().collect();
        ids.sort_unstable();
        Ok(ids)
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
        let ticket = load_ticket(&tx, path, source, id, &mut Lookups::default())?;
        drop(tx);
        Ok(ticket)
    }

    fn tickets(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError> {
        let path = &self.path;
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| sql_error(path, format!("reading tickets of {source}"), e))?;
        let mut lookups = Lookups::default();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = load_ticket(&tx, path, source, id, &mut lookups)? {
                out.push(t);
            }
        }
        drop(tx);
        Ok(out)
    }

    fn ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        self.ids(
            "SELECT id FROM tickets WHERE source = ?1 AND deleted = 0 ORDER BY id",
            source,
            &format!("listing the tickets of {source}"),
        )
    }

    fn stale_ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        self.ids(
            "SELECT t.id FROM tickets t
             LEFT JOIN clocks c ON c.source = t.source AND c.ticket_id = t.id
             WHERE t.source = ?1 AND t.deleted = 0 AND (c.ticket_id IS NULL OR c.stale = 1)
             ORDER BY t.id",
            source,
            &format!("listing the tickets of {source} with stale clocks"),
        )
    }

    fn ticket_ids_computed_under_other_config(
        &self,
        source: &str,
        config_hash: &str,
    ) -> Result<Vec<String>, StoreError> {
        let what = format!("listing the tickets of {source} computed under another config");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.ticket_id FROM clocks c
                 JOIN tickets t ON t.source = c.source AND t.id = c.ticket_id
                 WHERE c.source = ?1 AND t.deleted = 0 AND c.config_hash <> ?2
                 ORDER BY c.ticket_id",
            )
            .map_err(|e| sql_error(&self.path, &what, e))?;
        let rows = stmt
            .query_map(params![source, config_hash], |row| row.get::<_, String>(0))
            .map_err(|e| sql_error(&self.path, &what, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql_error(&self.path, &what, e))
    }

    fn save_clocks(
        &mut self,
        source: &str,
        ticket_id: &str,
        config_hash: &str,
        clocks_json: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(PUT_CLOCKS)
            .and_then(|mut s| s.execute(params![source, ticket_id, config_hash, clocks_json]))
            .map_err(|e| {
                sql_error(
                    &self.path,
                    format!("saving the clocks of ticket {ticket_id} of {source}"),
                    e,
                )
            })?;
        Ok(())
    }

    fn save_clocks_batch(
        &mut self,
        source: &str,
        clocks: &[(String, String, String)],
    ) -> Result<(), StoreError> {
        let path = &self.path;
        let what = || format!("saving clocks of {source}");
        let tx = self
            .conn
            .transaction()
            .map_err(|e| sql_error(path, what(), e))?;
        {
            let mut stmt = tx
                .prepare_cached(PUT_CLOCKS)
                .map_err(|e| sql_error(path, what(), e))?;
            for (ticket_id, config_hash, json) in clocks {
                stmt.execute(params![source, ticket_id, config_hash, json])
                    .map_err(|e| {
                        sql_error(
                            path,
                            format!("saving the clocks of ticket {ticket_id} of {source}"),
                            e,
                        )
                    })?;
            }
        }
        tx.commit().map_err(|e| sql_error(path, what(), e))
    }

    fn clocks(
        &self,
        source: &str,
        ticket_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT config_hash, json FROM clocks WHERE source = ?1 AND ticket_id = ?2",
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
                "SELECT id FROM tickets WHERE source = ?1 AND changed_at >= ?2 AND deleted = 0
                 ORDER BY id",
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
        /// Just what a meta needs of a stored header.
        #[derive(serde::Deserialize)]
        struct Created {
            #[serde(with = "crate::engine::timeline::instant")]
            created_at: i64,
        }
        let what = || format!("reading the tickets of {source}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, organization_id, header FROM tickets
                 WHERE source = ?1 AND deleted = 0 ORDER BY id",
            )
            .map_err(|e| sql_error(&self.path, what(), e))?;
        let mut rows = stmt
            .query(params![source])
            .map_err(|e| sql_error(&self.path, what(), e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| sql_error(&self.path, what(), e))? {
            let id: String = row.get(0).map_err(|e| sql_error(&self.path, what(), e))?;
            let organization: Option<String> =
                row.get(1).map_err(|e| sql_error(&self.path, what(), e))?;
            let header: String = row.get(2).map_err(|e| sql_error(&self.path, what(), e))?;
            let created: Created = serde_json::from_str(&header).map_err(|e| {
                json_error(&self.path, format!("reading the header of ticket {id}"), e)
            })?;
            out.push(TicketMeta {
                id,
                created_at: created.created_at,
                organization,
            });
        }
        Ok(out)
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
                "SELECT ticket_id, config_hash, json, stale FROM clocks
                 WHERE source = ?1 ORDER BY ticket_id",
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
                    json: row.get(2)?,
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
                    (SELECT count(*) FROM tickets WHERE deleted = 0),
                    (SELECT count(*) FROM tickets WHERE deleted = 1),
                    (SELECT count(*) FROM events),
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
