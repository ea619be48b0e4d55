//! The embedded store, one SQLite file in WAL mode: opening it (pragmas,
//! the reading connection), the caches it keeps, and the [`Store`] trait
//! mapped onto the files beside this one.
//!
//! Since schema version 4 a ticket is a row with its latest header, and its
//! events are chunks of compact BLOBs ([`super::codec`]). Applying pages
//! groups their records by ticket; per ticket and transaction it rewrites
//! the row only if the header changed, and appends the events it has not
//! stored yet as one chunk (several of at most 400 bytes each: SQLite
//! stores larger rows of the chunk table with much empty space, see
//! [`merge`]). An event later than every stored one of its
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
//!
//! By concern: [`schema`] migrates a file to [`SCHEMA_VERSION`], [`write`]
//! applies pages (merging each ticket in [`merge`]), [`read`] reads and
//! assembles tickets and lists, [`clocks`] saves and reads computed clocks.

mod clocks;
mod merge;
mod read;
mod schema;
mod window;
mod write;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags};

use super::codec::{CodecError, Events};
use super::{Applied, Store, StoreError, StoreStats, StoredClocks, TicketMeta};
use crate::engine::Ticket;
use crate::sources::{NoteRecord, Page};
use clocks::ChangeGenerations;
use merge::{ChunkInfo, RowInfo};
use read::Lookups;

pub use schema::SCHEMA_VERSION;

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
        Self::writer(conn, path, true)
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory()
            .map_err(|e| sql_error(&path, "opening an in-memory database", e))?;
        Self::writer(conn, path, false)
    }

    /// The writing connection's store on `conn`: configured (`file`: the
    /// pragmas of a file, WAL among them), migrated to [`SCHEMA_VERSION`].
    fn writer(conn: Connection, path: PathBuf, file: bool) -> Result<Self, StoreError> {
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
        store.configure(file)?;
        store.migrate()?;
        store.unmark_deleted()?;
        store.every_key_known.set(store.has_no_tickets()?);
        Ok(store)
    }

    /// Drops the stale marks of deleted tickets, which nothing would ever
    /// clear (builds before this one marked them when a deletion arrived).
    fn unmark_deleted(&self) -> Result<(), StoreError> {
        self.conn
            .execute(
                // Led by the marks (few) and looking each ticket up: led
                // by the tickets, it read the whole table into the page
                // cache on every open.
                "DELETE FROM stale_tickets WHERE EXISTS (
                     SELECT 1 FROM tickets t WHERE t.key = stale_tickets.key AND t.deleted = 1)",
                [],
            )
            .map_err(|e| sql_error(&self.path, "clearing the stale marks of deleted tickets", e))?;
        Ok(())
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
        write::apply_batch(self, source, pages)
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
        read::cursor(self, source, stream)
    }

    fn ticket(&self, source: &str, id: &str) -> Result<Option<Ticket>, StoreError> {
        read::ticket(self, source, id)
    }

    fn tickets(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError> {
        read::tickets(self, source, ids, Events::All)
    }

    fn timelines(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError> {
        read::tickets(self, source, ids, Events::Timeline)
    }

    fn for_each_ticket(
        &self,
        source: &str,
        ids: &[String],
        f: &mut dyn FnMut(Ticket),
    ) -> Result<(), StoreError> {
        read::for_each_ticket(self, source, ids, f)
    }

    fn ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        read::ticket_ids(self, source)
    }

    fn stale_ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        read::stale_ticket_ids(self, source)
    }

    fn ticket_ids_computed_under_other_config(
        &self,
        source: &str,
        config_hash: &str,
    ) -> Result<Vec<String>, StoreError> {
        read::ticket_ids_computed_under_other_config(self, source, config_hash)
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
    ) -> Result<super::SavedClocks, StoreError> {
        clocks::save_clocks_as_of(self, source, clocks, as_of)
    }

    fn clocks(
        &self,
        source: &str,
        ticket_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        clocks::clocks(self, source, ticket_id)
    }

    fn all_clocks(&self, source: &str) -> Result<Vec<StoredClocks>, StoreError> {
        let mut out = Vec::new();
        self.for_each_clocks(source, &mut |row| out.push(row))?;
        Ok(out)
    }

    fn tickets_changed_since(&self, source: &str, since: i64) -> Result<Vec<String>, StoreError> {
        read::tickets_changed_since(self, source, since)
    }

    fn record_poll(&mut self, source: &str, at: i64) -> Result<(), StoreError> {
        write::record_poll(self, source, at)
    }

    fn ticket_metas(&self, source: &str) -> Result<Vec<TicketMeta>, StoreError> {
        read::ticket_metas(self, source)
    }

    fn notes(&self, source: &str, from: i64, to: i64) -> Result<Vec<NoteRecord>, StoreError> {
        read::notes(self, source, from, to)
    }

    fn polls(&self, source: &str, from: i64, to: i64) -> Result<Vec<i64>, StoreError> {
        read::polls(self, source, from, to)
    }

    fn count_notes(&self, source: &str, kind: &str) -> Result<u64, StoreError> {
        read::count_notes(self, source, kind)
    }

    fn for_each_ticket_active_in(
        &self,
        source: &str,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(crate::store::ActiveTicket),
    ) -> Result<(), StoreError> {
        read::for_each_ticket_active_in(self, source, from, to, f)
    }

    fn for_each_ticket_in_window(
        &self,
        source: &str,
        bounds: (i64, i64, i64),
        f: &mut dyn FnMut(crate::store::WindowTicket),
    ) -> Result<(), StoreError> {
        window::for_each_ticket_in_window(self, source, bounds, f)
    }

    fn for_each_settled_ticket(
        &self,
        source: &str,
        from: i64,
        until: i64,
        f: &mut dyn FnMut(crate::store::SettledTicket),
    ) -> Result<(), StoreError> {
        // The window's one pass, ending where the settled tickets do (the
        // active ones it finds there are read for nothing; a report asks
        // for both at once).
        window::for_each_ticket_in_window(self, source, (from, until, until), &mut |t| {
            if let crate::store::WindowTicket::Settled(t) = t {
                f(t)
            }
        })
    }

    fn for_each_clocks(
        &self,
        source: &str,
        f: &mut dyn FnMut(StoredClocks),
    ) -> Result<(), StoreError> {
        // One pass at start-up: the clocks table does not stay in the
        // page cache (a million rows would fill it).
        let what = format!("reading the clocks of {source}");
        read::with_scan_cache(self, what, || clocks::for_each_clocks(self, source, f))
    }

    fn checkpoint(&mut self) -> Result<(), StoreError> {
        if self.path == Path::new(":memory:") {
            return Ok(());
        }
        // (busy, log frames, frames checkpointed): busy when a reader holds
        // an old snapshot; the rest is copied at the next checkpoint.
        let (busy, frames, copied): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| sql_error(&self.path, "checkpointing the write-ahead log", e))?;
        tracing::debug!(path = %self.path.display(), busy, frames, copied, "write-ahead log checkpointed");
        Ok(())
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        read::stats(self)
    }
}
