//! The daemon's state: normalized records, stream cursors and computed
//! clocks, behind the small [`Store`] trait.
//!
//! A store is opened from its location by [`open`] (the `--store` value:
//! `sqlite:PATH`, `sqlite::memory:`, a plain file path; see
//! [`StoreLocation`]), and used through `Box<dyn Store>`: nothing outside
//! this module needs to know which backend it is. Errors
//! ([`StoreError`]) carry no backend type.
//!
//! The default store is [`SqliteStore`]: one SQLite file in WAL mode
//! (`synchronous=NORMAL`), its schema versioned by `PRAGMA user_version` and
//! migrated on open by the SQL files in `src/store/migrations/`, applied in
//! order, each in its own transaction. A file with a newer schema than the
//! build knows is refused with [`StoreError::TooNew`], never touched.
//!
//! What every store guarantees:
//!
//! * **Atomic pages.** [`Store::apply_page`] writes a page's records *and*
//!   the stream's new cursor in one transaction: a cursor never advances past
//!   data that is not committed, and a failed or interrupted apply leaves
//!   neither. A crash at any point resumes from the last committed cursor.
//! * **Idempotent pages.** Applying the same page again changes nothing:
//!   events are deduplicated by `(ticket, event id)`, a ticket header
//!   replaces the stored one only if its `updated_at` is at least as new
//!   (pages may repeat older snapshots), organizations and users are
//!   replaced by their latest record. So a page re-read after a crash stores
//!   nothing twice.
//! * **Change tracking.** `apply_page` returns the tickets whose timeline
//!   may have changed (headers replaced, new events, tickets of a changed
//!   organization or of a user whose agent flag changed), and marks their
//!   stored clocks stale in the same transaction; [`Store::save_clocks`]
//!   clears the mark. Events of a helpdesk's own SLA record are no part of
//!   the timeline: a ticket that got only those is not marked stale, and
//!   [`Store::apply_batch`] lists it apart ([`Applied::recorded`]). After a crash between the two,
//!   [`Store::stale_ticket_ids`] lists exactly what still needs computing.
//! * **No lost change.** Clocks computed from a snapshot that a later
//!   commit has overtaken never clear that commit's stale mark:
//!   [`Store::generation`] numbers the commits that change tickets, and
//!   [`Store::save_clocks_as_of`] leaves a ticket stale (and its clocks as
//!   they were) when it changed after the generation its clocks were
//!   computed from. So clocks may be computed while pages are still being
//!   applied.
//! * **Last state at once.** Clocks are stored in a compact form of what
//!   the daemon serves ([`encode_clocks`]: names, instants, durations),
//!   with the config hash they were computed with, so a restarted daemon
//!   serves them ([`Store::all_clocks`]) before its first poll.
//!
//! The trait is synchronous; the daemon calls it from a blocking task.
//! [`PgStore`] implements it on PostgreSQL (`postgres://…`, see
//! `postgres/`). The contract tests (`tests/store/`) run on every backend.

mod codec;
mod lease;
mod open;
mod postgres;
mod redact;
mod sqlite;

use serde::Serialize;

use crate::engine::Ticket;
use crate::sources::{NoteRecord, Page};

pub use codec::{
    decode_clocks, decode_counted_clocks, encode_clocks, encode_counted_clocks, says_counted_as,
    CodecError, CountedAs, Events,
};
pub use lease::{Fence, Holder, Leases};
pub use open::{open, StoreLocation};
pub use redact::redact_location;

/// Where a store is when neither `--store` nor the config's `store:` says:
/// an SQLite file in the working directory.
pub const DEFAULT_LOCATION: &str = "helpdesk-slo.sqlite";

/// The store a command uses: its `--store`, else the config's `store:`,
/// else [`DEFAULT_LOCATION`].
pub fn location<'a>(flag: Option<&'a str>, config: &'a crate::policy::Config) -> &'a str {
    flag.or(config.store.as_deref()).unwrap_or(DEFAULT_LOCATION)
}
pub use postgres::{
    PgLocation, PgStore, DEFAULT_PASSWORD_ENV, SCHEMA_VERSION as PG_SCHEMA_VERSION,
};
pub use sqlite::{SqliteStore, SCHEMA_VERSION};

/// Why a store operation failed. Each message names the store's location
/// (a file path, or a URL without its password) and what it was doing. No
/// variant carries a backend's own types: a backend's error is kept as the
/// [`std::error::Error::source`] of [`StoreError::Backend`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or folder the store needs could not be created or read.
    #[error("store {location}: cannot {what}: {source}")]
    Io {
        location: String,
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The backend (the database behind the store) refused an operation.
    #[error("store {location}: {what} failed: {source}")]
    Backend {
        location: String,
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store was written by a newer build.
    #[error(
        "store {location} has schema version {found}, but this build knows versions up to {known}; \
         run a newer helpdesk-slo or point it at another store"
    )]
    TooNew {
        location: String,
        found: i64,
        known: i64,
    },
    /// A record cannot be stored as it is (an event without an id), or a
    /// stored one does not decode.
    #[error("store {location}: {what}")]
    Invalid { location: String, what: String },
    /// A stored record does not decode (or a record does not encode).
    #[error("store {location}: {what}: {source}")]
    Json {
        location: String,
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// The location names no store this build can open: an unknown scheme,
    /// or a kind of store this build does not have (see [`StoreLocation`]).
    /// The location is shown without its password.
    #[error("store {location}: {why}")]
    Unsupported { location: String, why: String },
    /// A write for a source whose lease this instance no longer holds (it
    /// expired, and another instance may poll the source now): refused,
    /// nothing written.
    #[error(
        "store {location}: instance {instance} no longer holds the lease on source {source_name} \
         (it expired or another instance took it over); the write was refused"
    )]
    NotOwner {
        location: String,
        source_name: String,
        instance: String,
    },
}

/// How much a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    /// Tickets not deleted.
    pub tickets: u64,
    /// Tickets the helpdesk deleted (kept so older snapshots cannot revive
    /// them).
    pub deleted_tickets: u64,
    pub events: u64,
    pub organizations: u64,
    pub users: u64,
    /// Tickets with stored clocks.
    pub clocks: u64,
    /// Stored stream cursors.
    pub cursors: u64,
}

/// A ticket's stored clocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClocks {
    pub ticket_id: String,
    pub config_hash: String,
    /// The engine's clock views in their stored form ([`decode_clocks`]).
    pub clocks: Vec<u8>,
    /// The ticket's timeline changed after these were computed.
    pub stale: bool,
}

/// A ticket handed over by [`Store::for_each_ticket_active_in`].
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveTicket {
    pub ticket: Ticket,
    /// When the store last changed the ticket's data (its header, events or
    /// the users and organizations it refers to): the ticket is in
    /// [`Store::tickets_changed_since`]`(s)` exactly when this is at or
    /// after `s`.
    pub stored_at: i64,
}

/// A ticket handed over by [`Store::for_each_settled_ticket`].
#[derive(Debug, Clone, PartialEq)]
pub struct SettledTicket {
    pub id: String,
    pub created_at: i64,
    /// The ticket's own organization (not its events'), as
    /// [`Store::ticket`] gives it: its id and name.
    pub organization_id: Option<String>,
    pub organization_name: Option<String>,
    /// Its stored clocks and the hash of the config they were computed
    /// under, when they were computed from the ticket as it is now (none
    /// stored, or the ticket changed since: `None`).
    pub clocks: Option<(String, Vec<u8>)>,
}

/// A ticket handed over by [`Store::for_each_ticket_in_window`].
// Handed over one at a time and taken apart at once, never kept in bulk:
// boxing the larger variant would cost an allocation a ticket for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum WindowTicket {
    Active(ActiveTicket),
    Settled(SettledTicket),
}

/// A ticket's identity for aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketMeta {
    pub id: String,
    pub created_at: i64,
    pub organization: Option<String>,
}

/// What applying a batch of pages changed ([`Store::apply_batch`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The tickets whose timeline may have changed, sorted, each once (as
    /// [`Store::apply_pages`] returns them).
    pub changed: Vec<String>,
    /// Those of them that look complete: not deleted, and their stored
    /// events reach the last update their header tells of. As far as the
    /// helpdesk has said so far, their timeline is whole, so their clocks
    /// are worth computing before the other streams catch up. In the
    /// store's order. (A ticket whose last update left no event the store
    /// keeps never looks complete; it is computed with the rest.) A store
    /// may leave out a complete ticket it cannot tell is complete without
    /// reading its events (the SQLite store, for a batch with a ticket's
    /// header alone, after a restart); it never lists one that is not.
    pub complete: Vec<String>,
    /// The tickets that got nothing new but events of their helpdesk's own
    /// SLA record ([`crate::sources::assemble::is_record_change`]; not
    /// deleted, with a header), in the store's order, none of them in
    /// `changed`. Their timeline, and so their clocks, did not change:
    /// they are not marked stale and do not overtake clocks being computed
    /// ([`Store::save_clocks_as_of`]). What compares their clocks with
    /// that record should read them again.
    pub recorded: Vec<String>,
    /// The stored clocks rows the batch removed (those of tickets it
    /// deleted), as they were: whatever was counted from them must be taken
    /// out. A store that keeps deleted tickets' clocks lists none.
    pub dropped_clocks: Vec<StoredClocks>,
}

/// A stored clocks row as the store hands it back: (config hash, encoded
/// clocks).
pub type ClocksRow = (String, Vec<u8>);

/// What [`Store::save_clocks_as_of`] did with the rows it was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedClocks {
    /// Tickets changed after the snapshot the rows were computed from: not
    /// saved, still stale.
    pub overtaken: Vec<String>,
    /// The rows saved, by their index in the given list, each with the row
    /// it replaced (`config hash`, encoded clocks), if the ticket had one.
    /// Rows of unknown or deleted tickets are neither saved nor listed.
    pub saved: Vec<(usize, Option<ClocksRow>)>,
}

/// Where the daemon keeps its state.
pub trait Store: Send {
    /// Stores a page's records and the stream's new cursor in ONE
    /// transaction; applying the same page twice changes nothing. Returns the
    /// ids of tickets whose timeline may have changed (tickets upserted +
    /// tickets that got events + tickets of a changed organization or user),
    /// sorted, each once; their stored clocks are marked stale.
    fn apply_page(&mut self, source: &str, page: &Page) -> Result<Vec<String>, StoreError>;

    /// Several pages in ONE transaction, in order (a backfill commits fewer,
    /// larger transactions): every page's records and cursor, or none.
    /// What it returns and marks is as for [`Store::apply_page`]. The
    /// default applies them one transaction each.
    fn apply_pages(&mut self, source: &str, pages: &[Page]) -> Result<Vec<String>, StoreError> {
        let mut all = std::collections::BTreeSet::new();
        for p in pages {
            all.extend(self.apply_page(source, p)?);
        }
        Ok(all.into_iter().collect())
    }

    /// As [`Store::apply_pages`], and says which changed tickets look
    /// complete. The default finds none.
    fn apply_batch(&mut self, source: &str, pages: &[Page]) -> Result<Applied, StoreError> {
        Ok(Applied {
            changed: self.apply_pages(source, pages)?,
            ..Applied::default()
        })
    }

    /// How many commits that change tickets this store has made: read
    /// before a snapshot starts, it is a generation the snapshot holds every
    /// change of. A store with no other writer may always say 0 (the
    /// default).
    fn generation(&self) -> u64 {
        0
    }

    /// Where this store lives, for logs and messages: a file path, or a URL
    /// with any password removed. The default (for stores that do not say)
    /// is `unnamed store`.
    fn location(&self) -> String {
        String::from("unnamed store")
    }

    /// A second connection to the same store, for reads concurrent with
    /// this one's writes: each read sees what this store had committed when
    /// it started, whole, and its [`Store::generation`] counts this store's
    /// commits, so clocks computed from what it read are saved through this
    /// store by [`Store::save_clocks_as_of`] while pages go on being
    /// applied. It is for reading only (a backend may refuse its writes).
    /// Each call opens another one.
    ///
    /// `None` (the default): this store has no separate reader; read through
    /// it. SQLite: a read-only connection on the same file, which WAL lets
    /// read while the writer writes; `None` for a store in memory.
    fn reader(&self) -> Result<Option<Box<dyn Store>>, StoreError> {
        Ok(None)
    }

    /// A connection for taking and renewing leases on sources, when several
    /// daemons can share this store (see [`Leases`]). `None` (the
    /// default): only one daemon uses it (an SQLite file), which then polls
    /// every source without a lease.
    fn leases(&self) -> Result<Option<Box<dyn Leases>>, StoreError> {
        Ok(None)
    }

    /// From the first call on, writes for a source are refused unless
    /// this store holds its lease: `Some(fence)` says it does (each write
    /// transaction checks the lease is still the fence's), `None` that it
    /// does not (any more). The default ignores it (a store no other
    /// daemon writes to).
    fn fence(&mut self, source: &str, fence: Option<Fence>) {
        let _ = (source, fence);
    }

    /// Claims the scheduled report run at `at` for `instance`: true for
    /// the first instance to claim it, which writes it; false for the
    /// others sharing the store. The default (a store one daemon uses)
    /// always says true.
    fn claim_report_run(&mut self, at: i64, instance: &str) -> Result<bool, StoreError> {
        let _ = (at, instance);
        Ok(true)
    }

    /// Keeps report files (`name`, contents) so that every daemon sharing
    /// the store serves them, replacing files of the same names. The
    /// default keeps nothing (a store one daemon uses: the files are in its
    /// folder).
    fn save_report_files(&mut self, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let _ = files;
        Ok(())
    }

    /// The report files kept, with when each was saved (Unix seconds), by
    /// name.
    fn report_files(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(Vec::new())
    }

    /// A kept report file's contents.
    fn report_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let _ = name;
        Ok(None)
    }

    /// Where `stream` of `source` resumes (`None`: never polled).
    fn cursor(&self, source: &str, stream: &str) -> Result<Option<String>, StoreError>;

    /// The assembled engine timeline of one ticket (None if unknown or
    /// deleted).
    fn ticket(&self, source: &str, id: &str) -> Result<Option<Ticket>, StoreError>;

    /// The timelines of many tickets, read in one snapshot; unknown and
    /// deleted ids are skipped. In the order of `ids`.
    fn tickets(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError>;

    /// Both of the above in one pass: every ticket of `source` that can
    /// have an SLA clock starting in `[from, to)`, those that changed last
    /// before `settled_before` as [`WindowTicket::Settled`] (as
    /// [`Store::for_each_settled_ticket`]`(from, settled_before)` gives
    /// them), the others whole, as [`WindowTicket::Active`] (as
    /// [`Store::for_each_ticket_active_in`]`(settled_before, to)`). The
    /// default makes the two passes; a store that can tell a ticket's kind
    /// as it scans makes one.
    fn for_each_ticket_in_window(
        &self,
        source: &str,
        (from, settled_before, to): (i64, i64, i64),
        f: &mut dyn FnMut(WindowTicket),
    ) -> Result<(), StoreError> {
        self.for_each_ticket_active_in(source, settled_before, to, &mut |t| {
            f(WindowTicket::Active(t))
        })?;
        self.for_each_settled_ticket(source, from, settled_before, &mut |t| {
            f(WindowTicket::Settled(t))
        })
    }

    /// The timelines of many tickets handed to `f` one at a time, for a
    /// single pass over a long list (a report's): unlike [`Store::tickets`],
    /// a store need not keep what it read for the next call. Unknown and
    /// deleted ids are skipped; in the order of `ids`.
    fn for_each_ticket(
        &self,
        source: &str,
        ids: &[String],
        f: &mut dyn FnMut(Ticket),
    ) -> Result<(), StoreError> {
        for chunk in ids.chunks(500) {
            for t in self.tickets(source, chunk)? {
                f(t);
            }
        }
        Ok(())
    }

    /// As [`Store::tickets`], without the helpdesk's own SLA record (the
    /// events [`crate::sources::assemble::is_record_change`] says are
    /// part of it, which assembly makes fields of): the timelines the
    /// engine reads, for computing clocks. The default reads the tickets
    /// whole and drops those fields; a store that can skip those events
    /// unread does.
    fn timelines(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError> {
        let mut tickets = self.tickets(source, ids)?;
        for t in &mut tickets {
            t.fields
                .retain(|name, _| !crate::sources::assemble::is_record(name));
        }
        Ok(tickets)
    }

    /// Every non-deleted ticket's id of a source, sorted.
    fn ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError>;

    /// Non-deleted tickets whose clocks are missing or stale, each once, in
    /// the store's own order: reading them and saving their clocks in that
    /// order touches neighbouring pages.
    fn stale_ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError>;

    /// Non-deleted tickets whose stored clocks were computed under a config
    /// other than `config_hash`, in the store's own order (as
    /// [`Store::stale_ticket_ids`]; reads hashes only, not the clocks).
    fn ticket_ids_computed_under_other_config(
        &self,
        source: &str,
        config_hash: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// Replaces the computed clocks of a ticket (the engine's clock views
    /// in their stored form, [`encode_clocks`], plus the config hash they
    /// were computed with) and clears its stale mark: a batch of one.
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

    /// Many tickets' clocks in one transaction: `(ticket id, config hash,
    /// encoded clocks)`.
    fn save_clocks_batch(
        &mut self,
        source: &str,
        clocks: &[(String, String, Vec<u8>)],
    ) -> Result<(), StoreError>;

    /// As [`Store::save_clocks_batch`] for the tickets that have not
    /// changed after generation `as_of` (see [`Store::generation`]); the
    /// others keep their stale mark and their stored clocks, and their ids
    /// are returned. Says which rows were saved and what each replaced, in
    /// the same transaction, so that what was counted from the old rows can
    /// be taken out exactly. The default reads the old rows first, then
    /// saves them all (right for a store with no concurrent writer that
    /// keeps no clocks for unknown or deleted tickets).
    fn save_clocks_as_of(
        &mut self,
        source: &str,
        clocks: &[(String, String, Vec<u8>)],
        as_of: u64,
    ) -> Result<SavedClocks, StoreError> {
        let _ = as_of;
        let mut saved = Vec::with_capacity(clocks.len());
        for (i, (id, _, _)) in clocks.iter().enumerate() {
            if self.ticket(source, id)?.is_some() {
                saved.push((i, self.clocks(source, id)?));
            }
        }
        self.save_clocks_batch(source, clocks)?;
        Ok(SavedClocks {
            overtaken: Vec::new(),
            saved,
        })
    }

    /// A ticket's stored clocks: `(config_hash, encoded clocks)`.
    fn clocks(
        &self,
        source: &str,
        ticket_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError>;

    /// Every stored clocks row of a source, by ticket id: what a restarted
    /// daemon serves at once.
    fn all_clocks(&self, source: &str) -> Result<Vec<StoredClocks>, StoreError>;

    /// Non-deleted tickets whose timeline changed in this store at or after
    /// `since` (Unix seconds, the daemon's clock), sorted: what arrived after
    /// a report's period closed.
    fn tickets_changed_since(&self, source: &str, since: i64) -> Result<Vec<String>, StoreError>;

    /// Every non-deleted ticket's id, creation and organization, by id: what
    /// the exporter needs besides the clocks.
    fn ticket_metas(&self, source: &str) -> Result<Vec<TicketMeta>, StoreError>;

    /// Notes that every stream of `source` was caught up at `at`.
    fn record_poll(&mut self, source: &str, at: i64) -> Result<(), StoreError>;

    /// What the adapter of `source` read past or could not map, seen in
    /// helpdesk records of `[from, to)` (by kind, then name).
    fn notes(&self, source: &str, from: i64, to: i64) -> Result<Vec<NoteRecord>, StoreError>;

    /// How many notes of `kind` `source` has, whenever seen (such as the
    /// tickets whose history is approximated). The default reads them all.
    fn count_notes(&self, source: &str, kind: &str) -> Result<u64, StoreError> {
        Ok(self
            .notes(source, i64::MIN, i64::MAX)?
            .iter()
            .filter(|n| n.kind == kind)
            .count() as u64)
    }

    /// When `source` completed polls in `[from, to)`, ascending: gaps between
    /// them are gaps in the data's freshness.
    fn polls(&self, source: &str, from: i64, to: i64) -> Result<Vec<i64>, StoreError>;

    /// Every stored clocks row of a source, by ticket id, handed to `f` one
    /// at a time (a million rows need not sit in memory at once). The
    /// default reads them all first.
    fn for_each_clocks(
        &self,
        source: &str,
        f: &mut dyn FnMut(StoredClocks),
    ) -> Result<(), StoreError> {
        for row in self.all_clocks(source)? {
            f(row);
        }
        Ok(())
    }

    /// Every non-deleted ticket of `source` that can have an SLA clock
    /// starting in `[from, to)`, assembled as [`Store::ticket`] does and
    /// handed to `f` one at a time, in the store's own order, with when the
    /// store last changed it: a report's months need not sit in memory as a
    /// list of ids nor of timelines, and its late data needs no second scan.
    ///
    /// Those are the tickets created before `to` whose creation, last
    /// update or latest event is at or after `from` (a clock starts at the
    /// ticket's creation or at one of its events). A store may hand over
    /// more tickets than that (never fewer); the caller filters by clock.
    fn for_each_ticket_active_in(
        &self,
        source: &str,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(ActiveTicket),
    ) -> Result<(), StoreError>;

    /// Every non-deleted ticket of `source` that can have an SLA clock
    /// starting in `[from, until)` and none after: created before `until`,
    /// with its creation, last update or latest event at or after `from`,
    /// and neither updated nor with an event at or after `until`. Together
    /// with [`Store::for_each_ticket_active_in`]`(until, to)` these are the
    /// tickets of `for_each_ticket_active_in(from, to)`, each exactly once.
    ///
    /// Each comes without its timeline: its identity, organization and
    /// stored clocks, so a report can count months long past without
    /// reading their events ([`SettledTicket`]).
    fn for_each_settled_ticket(
        &self,
        source: &str,
        from: i64,
        until: i64,
        f: &mut dyn FnMut(SettledTicket),
    ) -> Result<(), StoreError>;

    /// Counts of what the store holds.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// Gives back what a burst of writes (a backfill) left behind; called
    /// once the burst is over. SQLite copies its write-ahead log into the
    /// file and truncates it (after a backfill the log can be as large as
    /// the data). The default does nothing.
    fn checkpoint(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}
