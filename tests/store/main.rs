//! The store through its public API. `contract` holds what every backend
//! guarantees, each test written once against `Box<dyn Store>` and run here
//! on every backend (a failure names it: `sqlite_file::…`,
//! `sqlite_memory::…`, `memory::…`); `sqlite` holds what only the SQLite
//! store does (files, schema migrations, WAL, reading connections, chunks).
//!
//! The `memory` backend is a store in plain maps written for these tests:
//! it keeps the trait's guarantees with none of SQLite's machinery, so a
//! contract test that passes on it and on SQLite tests the trait, not one
//! implementation. The `postgres` backend runs them on a database of its
//! own per test on the test cluster (`scripts/test.sh` starts it).

mod contract;
mod fixtures;
mod leases;
mod memory_store;
#[path = "../common/postgres.rs"]
mod pg;
mod postgres;
mod sqlite;

use helpdesk_slo::store::{self, Store};

use fixtures::TempDb;
use memory_store::MemoryStore;

/// A kind of store the contract tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file, opened by the factory from `sqlite:PATH`.
    SqliteFile,
    /// SQLite in memory, opened by the factory from `sqlite::memory:`.
    SqliteMemory,
    /// The test store in plain maps ([`MemoryStore`]).
    Memory,
    /// A PostgreSQL database of its own on the test cluster, opened by the
    /// factory from its `postgres://` URL.
    Postgres,
}

impl Backend {
    /// A new, empty store of this backend; `label` names its file.
    pub fn open(self, label: &str) -> Subject {
        match self {
            Backend::SqliteFile => {
                let file = TempDb::new(label);
                let location = format!("sqlite:{}", file.path().display());
                Subject {
                    store: Some(store::open(&location).unwrap()),
                    location: Some(location),
                    _file: Some(file),
                    _database: None,
                }
            }
            Backend::SqliteMemory => Subject {
                store: Some(store::open("sqlite::memory:").unwrap()),
                location: None,
                _file: None,
                _database: None,
            },
            Backend::Memory => Subject {
                store: Some(Box::new(MemoryStore::new())),
                location: None,
                _file: None,
                _database: None,
            },
            Backend::Postgres => {
                let database = pg::PgDatabase::new(label);
                let location = database.url().to_string();
                Subject {
                    store: Some(store::open(&location).unwrap()),
                    location: Some(location),
                    _file: None,
                    _database: Some(database),
                }
            }
        }
    }
}

/// A store under test, with what keeps it alive (its temporary file).
/// Dereferences to the store.
pub struct Subject {
    store: Option<Box<dyn Store>>,
    /// Where a store that persists was opened from.
    location: Option<String>,
    _file: Option<TempDb>,
    _database: Option<pg::PgDatabase>,
}

impl Subject {
    /// A store that persists is closed and opened again from its location,
    /// which empties everything it remembers besides what it stored (a
    /// restart); a store in memory has nothing to reopen and goes on as it
    /// is. Returns whether it was reopened.
    pub fn reopen(&mut self) -> bool {
        let Some(location) = &self.location else {
            return false;
        };
        drop(self.store.take());
        self.store = Some(store::open(location).unwrap());
        true
    }
}

impl Subject {
    /// The store's file, for a backend that has one.
    pub fn file(&self) -> Option<&std::path::Path> {
        self._file.as_ref().map(TempDb::path)
    }
}

impl std::ops::Deref for Subject {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        self.store.as_deref().unwrap()
    }
}

impl std::ops::DerefMut for Subject {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.store.as_deref_mut().unwrap()
    }
}

/// The tests of `contract` named, run on one backend, in a module of its
/// name.
macro_rules! on_backend {
    ($module:ident, $backend:expr, $($test:ident),* $(,)?) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    crate::contract::$test($backend);
                }
            )*
        }
    };
}

/// Every contract test on every backend; those that reopen a store to
/// see what it kept only on the backends that persist.
macro_rules! contract_tests {
    (
        every backend: [$($test:ident),* $(,)?],
        persistent backends: [$($persisted:ident),* $(,)?] $(,)?
    ) => {
        on_backend!(sqlite_file, crate::Backend::SqliteFile, $($test,)* $($persisted,)*);
        on_backend!(sqlite_memory, crate::Backend::SqliteMemory, $($test,)*);
        on_backend!(memory, crate::Backend::Memory, $($test,)*);
        on_backend!(postgres_db, crate::Backend::Postgres, $($test,)* $($persisted,)*);
    };
}

contract_tests! {
    every backend: [
        applying_a_page_twice_changes_nothing,
        a_failed_page_stores_neither_records_nor_cursor,
        an_older_header_does_not_overwrite_a_newer_one,
        a_changed_organization_or_user_returns_its_tickets,
        references_gained_over_several_batches_all_find_the_ticket,
        a_former_requesters_user_change_finds_the_ticket,
        deleted_tickets_vanish,
        clocks_round_trip_and_go_stale_when_the_timeline_changes,
        events_before_their_ticket_wait_for_it,
        a_helpdesks_own_sla_record_reads_back_beside_the_timeline,
        sla_record_events_alone_leave_the_clocks_as_they_are,
        changed_tickets_carry_the_time_they_arrived,
        polls_are_recorded_once_and_read_by_range,
        pages_applied_together_equal_pages_applied_one_by_one_or_nothing,
        clocks_stream_in_the_order_and_content_of_all_clocks,
        appended_events_equal_the_deduplicated_sorted_reference,
        a_ticket_changed_by_many_pages_reads_as_its_events_once,
        a_ticket_looks_complete_once_its_events_reach_its_last_update,
        clocks_of_an_overtaken_snapshot_leave_the_ticket_stale,
        a_reader_sees_what_is_committed,
        a_reader_sees_organizations_and_users_changed_since_its_last_read,
        notes_widen_their_span_and_are_read_by_range,
        a_withdrawn_note_is_gone,
        ticket_metas_list_live_tickets_with_creation_and_organization,
        tickets_active_in_a_window_stream_whole_and_once,
        tickets_computed_under_another_config_are_listed,
        a_store_names_its_location,
    ],
    persistent backends: [
        reopening_keeps_cursors_data_clocks_and_polls,
    ],
}
