//! The embedded store through its public API, on temporary files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use helpdesk_slo::engine::timeline::Author;
use helpdesk_slo::engine::{Change, Ticket};
use helpdesk_slo::policy::spec::Status;
use helpdesk_slo::sources::{
    ChangeRecord, EventRecord, OrganizationRecord, Page, Record, TicketHeader, UserRecord,
};
use helpdesk_slo::store::{
    decode_clocks, encode_clocks, SqliteStore, Store, StoreError, StoreStats, SCHEMA_VERSION,
};

/// A store file under the temp folder, removed (with its WAL files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> TempDb {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "helpdesk-slo-store-{}-{}-{}-{}",
            name,
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst),
            nanos
        ));
        TempDb(dir.join("state").join("store.sqlite"))
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.0).unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        // The folder two levels up is ours alone.
        if let Some(dir) = self.0.parent().and_then(Path::parent) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

const SRC: &str = "zendesk";

fn header(id: &str, updated_at: i64, org: Option<&str>) -> TicketHeader {
    TicketHeader {
        id: id.into(),
        created_at: 1_700_000_000,
        updated_at,
        url: Some(format!("https://example.zendesk.com/agent/tickets/{id}")),
        organization_id: org.map(Into::into),
        requester_id: Some("req-1".into()),
        tags: vec!["vip".into()],
        fields: Default::default(),
        deleted: false,
        status: None,
        priority: None,
        group: None,
    }
}

fn event(ticket: &str, id: &str, at: i64, change: ChangeRecord) -> EventRecord {
    EventRecord {
        ticket_id: ticket.into(),
        id: id.into(),
        at,
        change,
    }
}

/// A public comment on `ticket` by `author`, who is neither its requester
/// nor known as an agent.
fn comment_by(ticket: &str, id: &str, at: i64, author: &str) -> Record {
    Record::Event(event(
        ticket,
        id,
        at,
        ChangeRecord::Comment {
            author: Author::Other,
            author_id: Some(author.into()),
            public: true,
        },
    ))
}

fn org(id: &str, tags: &[&str]) -> OrganizationRecord {
    OrganizationRecord {
        id: id.into(),
        name: Some(format!("Org {id}")),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        fields: Default::default(),
    }
}

fn page(stream: &str, cursor: &str, records: Vec<Record>) -> Page {
    Page {
        stream: stream.into(),
        records,
        cursor: cursor.into(),
        caught_up: false,
    }
}

/// Two tickets with organizations, users and a few events of each kind.
fn sample_page() -> Page {
    let t = 1_700_000_000;
    page(
        "tickets",
        "cursor-1",
        vec![
            Record::Organization(org("900", &["plan_premier"])),
            Record::User(UserRecord {
                id: "agent-1".into(),
                agent: true,
            }),
            Record::Ticket(header("1", t + 500, Some("900"))),
            Record::Event(event(
                "1",
                "e1",
                t,
                ChangeRecord::Priority {
                    value: Some("high".into()),
                },
            )),
            Record::Event(event(
                "1",
                "e2",
                t + 60,
                ChangeRecord::Comment {
                    author: Author::Other,
                    author_id: Some("agent-1".into()),
                    public: true,
                },
            )),
            Record::Event(event(
                "1",
                "e3",
                t + 120,
                ChangeRecord::Status {
                    value: Status::Solved,
                },
            )),
            Record::Ticket(header("2", t + 300, None)),
            Record::Event(event(
                "2",
                "e1",
                t,
                ChangeRecord::Organization {
                    id: Some("900".into()),
                },
            )),
            Record::Event(event(
                "2",
                "e2",
                t + 30,
                ChangeRecord::Comment {
                    author: Author::Agent,
                    author_id: Some("req-1".into()),
                    public: true,
                },
            )),
        ],
    )
}

fn timelines(store: &SqliteStore) -> Vec<Ticket> {
    let ids = store.ticket_ids(SRC).unwrap();
    ids.iter()
        .map(|id| store.ticket(SRC, id).unwrap().unwrap())
        .collect()
}

#[test]
fn applying_a_page_twice_changes_nothing() {
    let db = TempDb::new("idempotent");
    let mut store = db.open();
    let changed = store.apply_page(SRC, &sample_page()).unwrap();
    assert_eq!(changed, vec!["1".to_string(), "2".to_string()]);
    let stats = store.stats().unwrap();
    assert_eq!(
        stats,
        StoreStats {
            tickets: 2,
            deleted_tickets: 0,
            events: 5,
            organizations: 1,
            users: 1,
            clocks: 0,
            cursors: 1,
        }
    );
    let before = timelines(&store);

    let changed = store.apply_page(SRC, &sample_page()).unwrap();
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(store.stats().unwrap(), stats);
    assert_eq!(timelines(&store), before);
    assert_eq!(
        store.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("cursor-1")
    );

    // The assembled timeline: events in order, org resolved, authors fixed.
    let t1 = &before[0];
    assert_eq!(t1.id, "1");
    assert_eq!(t1.source.as_deref(), Some(SRC));
    assert_eq!(
        t1.organization.as_ref().map(|o| o.tags.clone()),
        Some(vec!["plan_premier".to_string()])
    );
    assert_eq!(t1.events.len(), 3);
    assert_eq!(t1.events[0].id.as_deref(), Some("e1"));
    assert!(matches!(
        t1.events[1].change,
        Change::Comment {
            author: Author::Agent,
            ..
        }
    ));
    let t2 = &before[1];
    match &t2.events[0].change {
        Change::Organization { value: Some(o) } => assert_eq!(o.name.as_deref(), Some("Org 900")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        t2.events[1].change,
        Change::Comment {
            author: Author::Requester,
            ..
        }
    ));

    // The batch read gives the same timelines, skipping unknown ids.
    let ids = vec!["2".to_string(), "nope".to_string(), "1".to_string()];
    let batch = store.tickets(SRC, &ids).unwrap();
    assert_eq!(batch, vec![before[1].clone(), before[0].clone()]);
}

#[test]
fn a_failed_page_stores_neither_records_nor_cursor() {
    let db = TempDb::new("atomic");
    let mut store = db.open();
    let t = 1_700_000_000;
    let bad = page(
        "tickets",
        "cursor-bad",
        vec![
            Record::Organization(org("900", &[])),
            Record::Ticket(header("1", t, None)),
            Record::Event(event(
                "1",
                "e1",
                t,
                ChangeRecord::Status {
                    value: Status::Open,
                },
            )),
            // An event without an id cannot be stored: the page fails
            // after three records were written.
            Record::Event(event(
                "1",
                "",
                t,
                ChangeRecord::Status {
                    value: Status::Open,
                },
            )),
        ],
    );
    let err = store.apply_page(SRC, &bad).unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&db.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("ticket 1"), "{message}");
    assert_eq!(store.stats().unwrap(), StoreStats::default());
    assert_eq!(store.cursor(SRC, "tickets").unwrap(), None);
    assert!(store.ticket(SRC, "1").unwrap().is_none());

    // Another connection on the file sees nothing either, and the store
    // still works.
    let other = db.open();
    assert_eq!(other.stats().unwrap(), StoreStats::default());
    store.apply_page(SRC, &sample_page()).unwrap();
    assert_eq!(
        other.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("cursor-1")
    );
}

#[test]
fn a_reader_never_sees_half_a_page() {
    let db = TempDb::new("reader");
    let mut store = db.open();
    store.apply_page(SRC, &sample_page()).unwrap();
    let before = store.stats().unwrap();
    // A reader on another connection holds a snapshot open while a large
    // page commits: its snapshot stays whole, a new read sees all.
    let reader = rusqlite::Connection::open(db.path()).unwrap();
    let t = 1_700_000_000;
    let mut records = Vec::new();
    for i in 0..500 {
        records.push(Record::Ticket(header(&format!("n{i}"), t, None)));
    }
    reader.execute_batch("BEGIN").unwrap();
    let count = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&reader), before.tickets as i64);
    store
        .apply_page(SRC, &page("tickets", "cursor-2", records))
        .unwrap();
    assert_eq!(count(&reader), before.tickets as i64);
    reader.execute_batch("COMMIT").unwrap();
    assert_eq!(count(&reader), before.tickets as i64 + 500);
}

#[test]
fn reopening_the_file_keeps_cursors_data_and_clocks() {
    let db = TempDb::new("reopen");
    let (stats, before) = {
        let mut store = db.open();
        store.apply_page(SRC, &sample_page()).unwrap();
        store
            .apply_page(SRC, &page("organizations", "org-cursor", vec![]))
            .unwrap();
        store.save_clocks(SRC, "1", "hash-a", b"clocks-a").unwrap();
        (store.stats().unwrap(), timelines(&store))
    };
    let store = db.open();
    assert_eq!(store.stats().unwrap(), stats);
    assert_eq!(timelines(&store), before);
    assert_eq!(
        store.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("cursor-1")
    );
    assert_eq!(
        store.cursor(SRC, "organizations").unwrap().as_deref(),
        Some("org-cursor")
    );
    assert_eq!(store.cursor(SRC, "ticket_events").unwrap(), None);
    assert_eq!(store.cursor("freshdesk", "tickets").unwrap(), None);
    assert_eq!(
        store.clocks(SRC, "1").unwrap(),
        Some(("hash-a".to_string(), b"clocks-a".to_vec()))
    );
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn an_older_header_does_not_overwrite_a_newer_one() {
    let mut store = SqliteStore::in_memory().unwrap();
    let mut newer = header("1", 2_000, None);
    newer.tags = vec!["newer".into()];
    let mut older = header("1", 1_000, None);
    older.tags = vec!["older".into()];
    assert_eq!(
        store
            .apply_page(
                SRC,
                &page("tickets", "c1", vec![Record::Ticket(newer.clone())])
            )
            .unwrap(),
        vec!["1".to_string()]
    );
    assert!(store
        .apply_page(SRC, &page("tickets", "c0", vec![Record::Ticket(older)]))
        .unwrap()
        .is_empty());
    assert_eq!(store.ticket(SRC, "1").unwrap().unwrap().tags, vec!["newer"]);
    // The cursor still moves: it is the stream's position, not the data's.
    assert_eq!(store.cursor(SRC, "tickets").unwrap().as_deref(), Some("c0"));
    // An equally new header replaces (same instant, later read).
    let mut same = header("1", 2_000, None);
    same.tags = vec!["same".into()];
    store
        .apply_page(SRC, &page("tickets", "c2", vec![Record::Ticket(same)]))
        .unwrap();
    assert_eq!(store.ticket(SRC, "1").unwrap().unwrap().tags, vec!["same"]);
}

#[test]
fn a_changed_organization_or_user_returns_its_tickets() {
    let mut store = SqliteStore::in_memory().unwrap();
    let t = 1_700_000_000;
    store
        .apply_page(
            SRC,
            &page(
                "tickets",
                "c1",
                vec![
                    Record::Ticket(header("1", t, Some("900"))),
                    Record::Ticket(header("2", t, None)),
                    Record::Event(event(
                        "2",
                        "e1",
                        t,
                        ChangeRecord::Organization {
                            id: Some("900".into()),
                        },
                    )),
                    Record::Ticket(header("3", t, Some("901"))),
                    Record::Event(event(
                        "3",
                        "e1",
                        t,
                        ChangeRecord::Comment {
                            author: Author::Other,
                            author_id: Some("u7".into()),
                            public: true,
                        },
                    )),
                ],
            ),
        )
        .unwrap();
    let orgs = |tags: &[&str]| {
        page(
            "organizations",
            "o1",
            vec![Record::Organization(org("900", tags))],
        )
    };
    // New organization: its tickets (by header and by event).
    assert_eq!(
        store.apply_page(SRC, &orgs(&["plan_basic"])).unwrap(),
        vec!["1".to_string(), "2".to_string()]
    );
    // Unchanged: nothing.
    assert!(store
        .apply_page(SRC, &orgs(&["plan_basic"]))
        .unwrap()
        .is_empty());
    // Changed: the same tickets, and their timelines show it.
    assert_eq!(
        store.apply_page(SRC, &orgs(&["plan_premier"])).unwrap(),
        vec!["1".to_string(), "2".to_string()]
    );
    let t1 = store.ticket(SRC, "1").unwrap().unwrap();
    assert_eq!(t1.organization.unwrap().tags, vec!["plan_premier"]);

    // A user whose agent flag changes: the tickets they commented on.
    let users = |agent: bool| {
        page(
            "users",
            "u1",
            vec![Record::User(UserRecord {
                id: "u7".into(),
                agent,
            })],
        )
    };
    assert_eq!(store.apply_page(SRC, &users(true)).unwrap(), vec!["3"]);
    assert!(store.apply_page(SRC, &users(true)).unwrap().is_empty());
    let t3 = store.ticket(SRC, "3").unwrap().unwrap();
    assert!(matches!(
        t3.events[0].change,
        Change::Comment {
            author: Author::Agent,
            ..
        }
    ));
    assert_eq!(store.apply_page(SRC, &users(false)).unwrap(), vec!["3"]);
}

/// References a ticket gains over several batches (a backfill brings its
/// comments a few at a time) are all stored, repeated ones once: each
/// organization and user named finds the ticket.
#[test]
fn references_gained_over_several_batches_all_find_the_ticket() {
    let mut store = SqliteStore::in_memory().unwrap();
    let t = 1_700_000_000;
    let comment = |id: &str, at: i64, author: &str| comment_by("5", id, at, author);
    store
        .apply_page(
            SRC,
            &page(
                "tickets",
                "c1",
                vec![
                    Record::Ticket(header("5", t + 100, Some("900"))),
                    comment("e1", t, "u8"),
                ],
            ),
        )
        .unwrap();
    // Events alone (the row's facts come from memory), naming u8 again,
    // a new author and a new organization.
    for (n, records) in [
        vec![comment("e2", t + 10, "u8"), comment("e3", t + 20, "u9")],
        vec![
            comment("e4", t + 30, "u8"),
            Record::Event(event(
                "5",
                "e5",
                t + 40,
                ChangeRecord::Organization {
                    id: Some("902".into()),
                },
            )),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let cursor = format!("e{n}");
        assert_eq!(
            store
                .apply_page(SRC, &page("ticket_events", &cursor, records))
                .unwrap(),
            vec!["5"]
        );
    }
    for user in ["u8", "u9"] {
        let users = page(
            "users",
            &format!("users-{user}"),
            vec![Record::User(UserRecord {
                id: user.into(),
                agent: true,
            })],
        );
        assert_eq!(store.apply_page(SRC, &users).unwrap(), vec!["5"], "{user}");
    }
    for o in ["900", "902"] {
        let orgs = page(
            "organizations",
            &format!("orgs-{o}"),
            vec![Record::Organization(org(o, &["plan_basic"]))],
        );
        assert_eq!(store.apply_page(SRC, &orgs).unwrap(), vec!["5"], "{o}");
    }
}

#[test]
fn deleted_tickets_vanish() {
    let mut store = SqliteStore::in_memory().unwrap();
    store.apply_page(SRC, &sample_page()).unwrap();
    store.save_clocks(SRC, "1", "h", b"").unwrap();
    let mut gone = header("1", 1_700_001_000, Some("900"));
    gone.deleted = true;
    assert_eq!(
        store
            .apply_page(SRC, &page("tickets", "c2", vec![Record::Ticket(gone)]))
            .unwrap(),
        vec!["1"]
    );
    assert_eq!(store.ticket_ids(SRC).unwrap(), vec!["2"]);
    assert!(store.ticket(SRC, "1").unwrap().is_none());
    assert!(store.tickets(SRC, &["1".to_string()]).unwrap().is_empty());
    assert_eq!(store.clocks(SRC, "1").unwrap(), None);
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.tickets, stats.deleted_tickets, stats.clocks),
        (1, 1, 0)
    );
    // An older snapshot cannot revive it; clocks for it are not kept.
    store
        .apply_page(
            SRC,
            &page(
                "tickets",
                "c3",
                vec![Record::Ticket(header("1", 1_700_000_500, Some("900")))],
            ),
        )
        .unwrap();
    assert!(store.ticket(SRC, "1").unwrap().is_none());
    store.save_clocks(SRC, "1", "h", b"").unwrap();
    assert_eq!(store.clocks(SRC, "1").unwrap(), None);
    assert!(store.ticket(SRC, "unknown").unwrap().is_none());
}

#[test]
fn clocks_round_trip_and_go_stale_when_the_timeline_changes() {
    let mut store = SqliteStore::in_memory().unwrap();
    store.apply_page(SRC, &sample_page()).unwrap();
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["1", "2"]);
    let clocks = b"first clocks";
    store.save_clocks(SRC, "1", "hash-1", clocks).unwrap();
    assert_eq!(
        store.clocks(SRC, "1").unwrap(),
        Some(("hash-1".to_string(), clocks.to_vec()))
    );
    store
        .save_clocks_batch(
            SRC,
            &[
                ("2".into(), "hash-1".into(), b"".to_vec()),
                ("1".into(), "hash-2".into(), b"[1]".to_vec()),
            ],
        )
        .unwrap();
    assert_eq!(
        store.clocks(SRC, "1").unwrap(),
        Some(("hash-2".to_string(), b"[1]".to_vec()))
    );
    assert!(store.stale_ticket_ids(SRC).unwrap().is_empty());
    assert_eq!(store.stats().unwrap().clocks, 2);
    assert_eq!(store.clocks(SRC, "nope").unwrap(), None);
    assert_eq!(store.clocks("other", "1").unwrap(), None);

    // A new event marks ticket 2's clocks stale in the page's transaction.
    store
        .apply_page(
            SRC,
            &page(
                "ticket_events",
                "ev-1",
                vec![Record::Event(event(
                    "2",
                    "e9",
                    1_700_000_900,
                    ChangeRecord::Status {
                        value: Status::Solved,
                    },
                ))],
            ),
        )
        .unwrap();
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["2"]);
    let all = store.all_clocks(SRC).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].ticket_id.as_str(), all[0].stale), ("1", false));
    assert_eq!((all[1].ticket_id.as_str(), all[1].stale), ("2", true));
    store.save_clocks(SRC, "2", "hash-2", b"").unwrap();
    assert!(store.stale_ticket_ids(SRC).unwrap().is_empty());
}

#[test]
fn events_before_their_ticket_wait_for_it() {
    let mut store = SqliteStore::in_memory().unwrap();
    let t = 1_700_000_000;
    let ev = page(
        "ticket_events",
        "ev-1",
        vec![Record::Event(event(
            "5",
            "e1",
            t,
            ChangeRecord::Status {
                value: Status::Open,
            },
        ))],
    );
    assert_eq!(store.apply_page(SRC, &ev).unwrap(), vec!["5"]);
    assert!(store.ticket(SRC, "5").unwrap().is_none());
    assert!(store.ticket_ids(SRC).unwrap().is_empty());
    store
        .apply_page(
            SRC,
            &page("tickets", "c1", vec![Record::Ticket(header("5", t, None))]),
        )
        .unwrap();
    assert_eq!(store.ticket(SRC, "5").unwrap().unwrap().events.len(), 1);
    // Sources are separate.
    assert!(store.ticket("freshdesk", "5").unwrap().is_none());
}

#[test]
fn a_new_file_is_migrated_to_the_latest_version_in_wal_mode() {
    let db = TempDb::new("migrate");
    assert!(!db.path().exists());
    let store = db.open();
    assert!(db.path().exists());
    assert_eq!(SCHEMA_VERSION, 8);
    assert_eq!(store.schema_version().unwrap(), 8);
    assert_eq!(store.path(), db.path());
    drop(store);
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 8);
    drop(conn);
    // Opening again does not migrate again.
    assert_eq!(db.open().schema_version().unwrap(), 8);
}

#[test]
fn a_newer_schema_is_a_clear_error() {
    let db = TempDb::new("toonew");
    std::fs::create_dir_all(db.path().parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    let err = SqliteStore::open(db.path()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 99,
                known: SCHEMA_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&db.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("99"), "{message}");
    // Untouched: still version 99, no tables.
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 99);
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0);
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let db = TempDb::new("garbage");
    std::fs::create_dir_all(db.path().parent().unwrap()).unwrap();
    std::fs::write(db.path(), vec![b'x'; 4096]).unwrap();
    let err = SqliteStore::open(db.path()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&db.path().display().to_string()),
        "{message}"
    );
}

/// This thread's time on a CPU, where Linux tells it (the machine may be
/// busy with other work, so wall time alone says little).
fn cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

fn rate(label: &str, n: usize, wall: f64, cpu: Option<f64>) {
    match cpu {
        Some(cpu) => println!(
            "{label}: {n} tickets in {wall:.3} s wall ({:.0}/s), {cpu:.3} s CPU ({:.0}/s)",
            n as f64 / wall,
            n as f64 / cpu
        ),
        None => println!(
            "{label}: {n} tickets in {wall:.3} s ({:.0}/s)",
            n as f64 / wall
        ),
    }
}

/// Pages of 1,000 tickets × 15 events. Prints the rate; run with
/// `cargo test --release --test store throughput -- --nocapture`.
#[test]
fn throughput() {
    let db = TempDb::new("throughput");
    let mut store = db.open();
    let pages = if cfg!(debug_assertions) { 2 } else { 20 };
    let per_page = 1_000;
    let t0 = 1_700_000_000;
    let mut input = Vec::new();
    for p in 0..pages {
        let mut records = Vec::with_capacity(per_page * 16);
        for i in 0..per_page {
            let id = format!("{}", p * per_page + i);
            let org = format!("{}", 900 + i % 50);
            let mut h = header(&id, t0 + 3_600, Some(&org));
            h.fields.insert("product".into(), serde_json::json!("chat"));
            records.push(Record::Ticket(h));
            for e in 0..15 {
                let at = t0 + e * 60;
                let change = match e % 5 {
                    0 => ChangeRecord::Priority {
                        value: Some("high".into()),
                    },
                    1 => ChangeRecord::Comment {
                        author: Author::Agent,
                        author_id: Some(format!("agent-{}", i % 20)),
                        public: true,
                    },
                    2 => ChangeRecord::Status {
                        value: Status::Pending,
                    },
                    3 => ChangeRecord::Comment {
                        author: Author::Requester,
                        author_id: Some("req-1".into()),
                        public: true,
                    },
                    _ => ChangeRecord::Status {
                        value: Status::Open,
                    },
                };
                records.push(Record::Event(event(&id, &format!("{e}"), at, change)));
            }
        }
        input.push(page("tickets", &format!("c{p}"), records));
    }
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let mut changed = 0;
    for p in &input {
        changed += store.apply_page(SRC, p).unwrap().len();
    }
    let tickets = pages * per_page;
    assert_eq!(changed, tickets);
    let cpu = cpu.and_then(|c| Some(cpu_seconds()? - c));
    rate(
        "apply_page (x15 events)",
        tickets,
        start.elapsed().as_secs_f64(),
        cpu,
    );

    // Re-applying the same pages (a re-read after a crash).
    let (start, cpu) = (Instant::now(), cpu_seconds());
    for p in &input {
        assert!(store.apply_page(SRC, p).unwrap().is_empty());
    }
    let cpu = cpu.and_then(|c| Some(cpu_seconds()? - c));
    rate("re-apply", tickets, start.elapsed().as_secs_f64(), cpu);

    let ids = store.ticket_ids(SRC).unwrap();
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let loaded = store.tickets(SRC, &ids).unwrap();
    let cpu = cpu.and_then(|c| Some(cpu_seconds()? - c));
    assert_eq!(loaded.len(), tickets);
    assert_eq!(loaded[0].events.len(), 15);
    rate(
        "tickets() read",
        tickets,
        start.elapsed().as_secs_f64(),
        cpu,
    );
    let stats = store.stats().unwrap();
    assert_eq!(stats.events, (tickets * 15) as u64);
    let size = std::fs::metadata(db.path()).map(|m| m.len()).unwrap_or(0);
    println!(
        "file: {} bytes ({} bytes/ticket)",
        size,
        size / tickets as u64
    );
}

/// Brings an empty file to schema `version` by the SQL of its migrations
/// alone: their code steps only move rows, and there are none.
fn schema_by_sql_alone(conn: &rusqlite::Connection, version: usize) {
    let steps: [&[&str]; 5] = [
        &[include_str!("../src/store/migrations/0001_init.sql")],
        &[include_str!(
            "../src/store/migrations/0002_arrivals_and_polls.sql"
        )],
        &[
            include_str!("../src/store/migrations/0003_compact_timelines.sql"),
            include_str!("../src/store/migrations/0003_compact_timelines_finish.sql"),
        ],
        &[
            include_str!("../src/store/migrations/0004_event_chunks.sql"),
            include_str!("../src/store/migrations/0004_event_chunks_finish.sql"),
        ],
        &[
            include_str!("../src/store/migrations/0005_compact_clocks.sql"),
            include_str!("../src/store/migrations/0005_compact_clocks_finish.sql"),
        ],
    ];
    for sql in steps[..version].iter().flat_map(|s| s.iter()) {
        conn.execute_batch(sql).unwrap();
    }
}

/// Clocks a version 4 file holds as JSON are read back after the migration
/// to version 5 as the same clock views; a row that is not clocks JSON is
/// dropped and its ticket marked stale, to be computed again.
#[test]
fn a_version_4_file_is_migrated_with_its_clocks_in_the_compact_form() {
    let db = TempDb::new("migrate4");
    std::fs::create_dir_all(db.path().parent().unwrap()).unwrap();
    let json = r#"[{"metric":"first_response","instance":1,"plan":"premier","severity":"high","start":"2026-08-14T00:01:20Z","due_at":"2026-08-14T08:01:20Z","state":"met","reason":null,"fulfilled_at":"2026-08-14T04:37:28Z","breached_at":null,"elapsed_seconds":16568,"paused_seconds":0,"remaining_seconds":null},{"metric":"follow_up","instance":2,"plan":"premier","severity":"high","start":"2026-08-14T04:37:28Z","due_at":"2026-08-17T03:37:28Z","state":"active","reason":null,"fulfilled_at":null,"breached_at":null,"elapsed_seconds":41148,"paused_seconds":600,"remaining_seconds":-3}]"#;
    {
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        schema_by_sql_alone(&conn, 4);
        let header = r#"{"id":"ID","created_at":"2026-08-14T00:01:20Z","updated_at":"2026-08-14T00:01:20Z"}"#;
        for (key, id) in [(1, "1"), (2, "2")] {
            conn.execute(
                "INSERT INTO tickets (key, source, id, header, updated_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, 1786665680, 1786665680)",
                rusqlite::params![key, SRC, id, header.replace("ID", id)],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO clocks (key, config_hash, json) VALUES (1, 'hash-a', ?1), (2, 'hash-a', 'not json')",
            [json],
        )
        .unwrap();
        conn.execute_batch("PRAGMA user_version = 4").unwrap();
    }
    let store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let (hash, clocks) = store.clocks(SRC, "1").unwrap().unwrap();
    assert_eq!(hash, "hash-a");
    let views = decode_clocks(&clocks).unwrap();
    assert_eq!(serde_json::to_string(&views).unwrap(), json);
    assert!(clocks.len() * 5 < json.len(), "{} bytes", clocks.len());
    assert_eq!(store.clocks(SRC, "2").unwrap(), None);
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["2"]);
}

/// Version 6 stores headers in the compact form: a version 5 file's JSON
/// headers are rewritten in place and read back the same; one that does
/// not parse stays as it was, and reading its ticket names it.
#[test]
fn a_version_5_file_is_migrated_with_its_headers_in_the_compact_form() {
    let db = TempDb::new("migrate5");
    std::fs::create_dir_all(db.path().parent().unwrap()).unwrap();
    let good = r#"{"id":"1","created_at":"2026-08-14T00:01:20Z","updated_at":"2026-08-15T00:00:00Z","url":"https://acme.zendesk.com/agent/tickets/1","organization_id":"900","requester_id":"10","tags":["vip","eu"],"fields":{"360001":"urgent","360002":null,"360003":7},"deleted":false}"#;
    {
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        schema_by_sql_alone(&conn, 5);
        for (key, id, header) in [(1, "1", good), (2, "2", "not json")] {
            conn.execute(
                "INSERT INTO tickets (key, source, id, header, updated_at, created_at, organization_id, requester_id)
                 VALUES (?1, ?2, ?3, ?4, 1786752000, 1786665680, '900', '10')",
                rusqlite::params![key, SRC, id, header],
            )
            .unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 5").unwrap();
    }
    let store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let t = store.ticket(SRC, "1").unwrap().unwrap();
    let expected: helpdesk_slo::sources::TicketHeader = serde_json::from_str(good).unwrap();
    assert_eq!(t.created_at, expected.created_at);
    assert_eq!(t.url, expected.url);
    assert_eq!(t.tags, expected.tags);
    assert_eq!(t.fields, expected.fields);
    assert_eq!(t.organization.map(|o| o.id).as_deref(), Some("900"));
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let (kind, size): (String, i64) = conn
        .query_row(
            "SELECT typeof(header), length(header) FROM tickets WHERE key = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(kind, "blob");
    assert!((size as usize) * 2 < good.len(), "{size} bytes");
    let err = store.ticket(SRC, "2").unwrap_err().to_string();
    assert!(err.contains("header of ticket 2"), "{err}");
    assert!(err.contains(&db.path().display().to_string()), "{err}");
}

/// A version 6 file keeps its chunks in a table ordered as written (one
/// ticket's chunks between another's), with an index by ticket. Migrated,
/// they are ordered by ticket and numbered in the order they were written;
/// every timeline reads back the same, and events appended afterwards are
/// numbered after them.
#[test]
fn a_version_6_file_is_migrated_with_its_chunks_ordered_by_ticket() {
    let db = TempDb::new("migrate6");
    let t = 1_700_000_000;
    let mut store = db.open();
    store.apply_page(SRC, &sample_page()).unwrap();
    let later = page(
        "ticket_events",
        "later",
        vec![
            status_event("1", "late-1", t + 900, Status::Open),
            status_event("2", "late-2", t + 950, Status::Pending),
        ],
    );
    store.apply_page(SRC, &later).unwrap();
    let before = timelines(&store);
    drop(store);
    {
        // Back to version 6: the table of versions 4 to 6, filled in the
        // order the chunks were written (each ticket's first chunk, then
        // each one's second).
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute_batch(
            "CREATE TABLE written (
                 seq INTEGER PRIMARY KEY, key INTEGER NOT NULL, max_at INTEGER NOT NULL,
                 count INTEGER NOT NULL, stored_at INTEGER NOT NULL, events BLOB NOT NULL);
             INSERT INTO written (key, max_at, count, stored_at, events)
                 SELECT key, max_at, count, stored_at, events FROM event_chunks
                 ORDER BY seq, key;
             DROP TABLE event_chunks;
             ALTER TABLE written RENAME TO event_chunks;
             CREATE INDEX event_chunks_by_key ON event_chunks (key, max_at);
             DROP TABLE source_notes;
             PRAGMA user_version = 6;",
        )
        .unwrap();
    }
    let mut store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(timelines(&store), before);
    let chunks = |store: &SqliteStore| -> Vec<(String, i64, i64)> {
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT t.id, c.seq, c.max_at FROM event_chunks c JOIN tickets t ON t.key = c.key
                 ORDER BY t.id, c.seq",
            )
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
        rows.unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(
        chunks(&store),
        vec![
            ("1".to_string(), 0, t + 120),
            ("1".to_string(), 1, t + 900),
            ("2".to_string(), 0, t + 30),
            ("2".to_string(), 1, t + 950),
        ]
    );
    let again = page(
        "ticket_events",
        "again",
        vec![status_event("1", "late-3", t + 1_000, Status::Solved)],
    );
    store.apply_page(SRC, &again).unwrap();
    assert_eq!(chunks(&store)[2], ("1".to_string(), 2, t + 1_000));
    let one = store.ticket(SRC, "1").unwrap().unwrap();
    assert_eq!(one.events.len(), before[0].events.len() + 1);
}

#[test]
fn a_version_1_file_is_migrated_keeping_its_data() {
    let db = TempDb::new("migrate1");
    std::fs::create_dir_all(db.path().parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute_batch(include_str!("../src/store/migrations/0001_init.sql"))
            .unwrap();
        conn.execute_batch(
            r#"INSERT INTO tickets (source, id, updated_at, header)
                 VALUES ('zendesk', '9', 1, '{"id":"9","created_at":"1970-01-01T00:00:01Z","updated_at":"1970-01-01T00:00:01Z"}');
             INSERT INTO cursors VALUES ('zendesk', 'tickets', 'abc', 1);
             PRAGMA user_version = 1;"#,
        )
        .unwrap();
    }
    let store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        store.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("abc")
    );
    // Tickets stored before version 2 count as changed at 0.
    assert_eq!(store.tickets_changed_since(SRC, 0).unwrap(), vec!["9"]);
    assert!(store.tickets_changed_since(SRC, 1).unwrap().is_empty());
}

#[test]
fn changed_tickets_carry_the_time_they_arrived() {
    let db = TempDb::new("arrivals");
    let mut store = db.open();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    store.apply_page(SRC, &sample_page()).unwrap();
    let all = store.ticket_ids(SRC).unwrap();
    assert!(!all.is_empty());
    assert_eq!(store.tickets_changed_since(SRC, before).unwrap(), all);
    assert!(store
        .tickets_changed_since(SRC, before + 3_600)
        .unwrap()
        .is_empty());
    // Re-applying the same page changes no ticket, so no arrival time moves.
    let again = store.apply_page(SRC, &sample_page()).unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn polls_are_recorded_once_and_read_by_range() {
    let db = TempDb::new("polls");
    let mut store = db.open();
    for at in [100, 160, 160, 400] {
        store.record_poll(SRC, at).unwrap();
    }
    store.record_poll("other", 150).unwrap();
    assert_eq!(store.polls(SRC, 0, 1_000).unwrap(), vec![100, 160, 400]);
    assert_eq!(store.polls(SRC, 160, 400).unwrap(), vec![160]);
    drop(store);
    assert_eq!(db.open().polls("other", 0, 1_000).unwrap(), vec![150]);
}

#[test]
fn pages_applied_together_equal_pages_applied_one_by_one_or_nothing() {
    let t = 1_700_000_000;
    let second = page(
        "ticket_events",
        "cursor-2",
        vec![Record::Event(event(
            "1",
            "e9",
            t + 60,
            ChangeRecord::Status {
                value: Status::Pending,
            },
        ))],
    );
    let one_by_one = TempDb::new("pages-a");
    let mut a = one_by_one.open();
    let mut changed_a = a.apply_page(SRC, &sample_page()).unwrap();
    changed_a.extend(a.apply_page(SRC, &second).unwrap());
    changed_a.sort();
    changed_a.dedup();
    let together = TempDb::new("pages-b");
    let mut b = together.open();
    let changed_b = b
        .apply_pages(SRC, &[sample_page(), second.clone()])
        .unwrap();
    assert_eq!(changed_a, changed_b);
    assert_eq!(timelines(&a), timelines(&b));
    assert_eq!(a.stats().unwrap(), b.stats().unwrap());
    assert_eq!(
        b.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("cursor-1")
    );
    assert_eq!(
        b.cursor(SRC, "ticket_events").unwrap().as_deref(),
        Some("cursor-2")
    );

    // A bad page anywhere in the batch leaves nothing of any page.
    let bad = page(
        "ticket_events",
        "cursor-bad",
        vec![Record::Event(event(
            "1",
            "",
            t,
            ChangeRecord::Status {
                value: Status::Open,
            },
        ))],
    );
    let failing = TempDb::new("pages-c");
    let mut c = failing.open();
    assert!(c.apply_pages(SRC, &[sample_page(), bad]).is_err());
    assert_eq!(c.stats().unwrap(), StoreStats::default());
    assert_eq!(c.cursor(SRC, "tickets").unwrap(), None);
}

#[test]
fn clocks_stream_in_the_order_and_content_of_all_clocks() {
    let db = TempDb::new("stream");
    let mut store = db.open();
    store.apply_page(SRC, &sample_page()).unwrap();
    for (i, id) in store.ticket_ids(SRC).unwrap().iter().enumerate() {
        store
            .save_clocks(SRC, id, "hash", format!("[{i}]").as_bytes())
            .unwrap();
    }
    let all = store.all_clocks(SRC).unwrap();
    assert!(!all.is_empty());
    let mut streamed = Vec::new();
    store
        .for_each_clocks(SRC, &mut |row| streamed.push(row))
        .unwrap();
    assert_eq!(streamed, all);
}

/// A version 2 file, written row by row as version 2 stored them, reads
/// back after the migration to version 3 exactly like a fresh store fed
/// the same records: headers, events in order, clocks, stale marks, and the
/// lookups from organizations and users to their tickets.
#[test]
fn a_version_2_file_is_migrated_keeping_timelines_clocks_and_lookups() {
    let t = 1_700_000_000;
    let h1 = header("1", t + 50, Some("900"));
    let events = vec![
        event(
            "1",
            "e2",
            t + 10,
            ChangeRecord::Status {
                value: Status::Open,
            },
        ),
        event(
            "1",
            "e1",
            t + 10,
            ChangeRecord::Priority {
                value: Some("urgent".into()),
            },
        ),
        event(
            "1",
            "e3",
            t + 20,
            ChangeRecord::Comment {
                author: Author::Other,
                author_id: Some("agent-7".into()),
                public: true,
            },
        ),
        event(
            "1",
            "e4",
            t + 30,
            ChangeRecord::Organization {
                id: Some("901".into()),
            },
        ),
        // A ticket whose header never arrived.
        event(
            "2",
            "x1",
            t,
            ChangeRecord::Tags {
                value: vec!["a".into(), "b".into()],
            },
        ),
    ];
    let db = TempDb::new("migrate2");
    std::fs::create_dir_all(db.path().parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute_batch(include_str!("../src/store/migrations/0001_init.sql"))
            .unwrap();
        conn.execute_batch(include_str!(
            "../src/store/migrations/0002_arrivals_and_polls.sql"
        ))
        .unwrap();
        conn.execute(
            "INSERT INTO tickets (source, id, updated_at, organization_id, deleted, header, changed_at)
             VALUES (?1, '1', ?2, '900', 0, ?3, 77)",
            rusqlite::params![SRC, h1.updated_at, serde_json::to_string(&h1).unwrap()],
        )
        .unwrap();
        for e in &events {
            let (org, author) = match &e.change {
                ChangeRecord::Organization { id } => (id.clone(), None),
                ChangeRecord::Comment { author_id, .. } => (None, author_id.clone()),
                _ => (None, None),
            };
            conn.execute(
                "INSERT INTO events (source, ticket_id, event_id, at, organization_id, author_id, change)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    SRC,
                    e.ticket_id,
                    e.id,
                    e.at,
                    org,
                    author,
                    serde_json::to_string(&e.change).unwrap()
                ],
            )
            .unwrap();
        }
        conn.execute_batch(&format!(
            "INSERT INTO organizations VALUES ('{SRC}', '900', '{}');
             INSERT INTO users VALUES ('{SRC}', 'agent-7', 1);
             INSERT INTO clocks VALUES ('{SRC}', '1', 'hash-a', '[]', 0);
             INSERT INTO cursors VALUES ('{SRC}', 'ticket_events', 'c9', 1);
             PRAGMA user_version = 2;",
            serde_json::to_string(&org("900", &["plan_basic"])).unwrap()
        ))
        .unwrap();
    }

    let mut migrated = db.open();
    assert_eq!(migrated.schema_version().unwrap(), SCHEMA_VERSION);

    let fresh_db = TempDb::new("migrate2-fresh");
    let mut fresh = fresh_db.open();
    let mut records = vec![
        Record::Organization(org("900", &["plan_basic"])),
        Record::User(UserRecord {
            id: "agent-7".into(),
            agent: true,
        }),
        Record::Ticket(h1.clone()),
    ];
    records.extend(events.iter().cloned().map(Record::Event));
    fresh
        .apply_page(SRC, &page("ticket_events", "c9", records))
        .unwrap();
    fresh
        .save_clocks(SRC, "1", "hash-a", &encode_clocks(&[]))
        .unwrap();

    let migrated_t1 = migrated.ticket(SRC, "1").unwrap().unwrap();
    assert_eq!(migrated_t1, fresh.ticket(SRC, "1").unwrap().unwrap());
    let ids: Vec<_> = migrated_t1
        .events
        .iter()
        .map(|e| e.id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["e1", "e2", "e3", "e4"]);
    assert_eq!(migrated.stats().unwrap(), fresh.stats().unwrap());
    assert_eq!(migrated.stats().unwrap().events, 5);
    assert_eq!(
        migrated.clocks(SRC, "1").unwrap(),
        Some(("hash-a".to_string(), encode_clocks(&[])))
    );
    assert!(migrated.stale_ticket_ids(SRC).unwrap().is_empty());
    assert_eq!(migrated.ticket_ids(SRC).unwrap(), vec!["1"]);
    assert_eq!(migrated.tickets_changed_since(SRC, 77).unwrap(), vec!["1"]);
    assert_eq!(
        migrated.cursor(SRC, "ticket_events").unwrap().as_deref(),
        Some("c9")
    );

    // The ticket is found from its organizations (header and event) and
    // from its comment's author, and goes stale.
    let changes = [
        Record::Organization(org("900", &["plan_premier"])),
        Record::Organization(org("901", &["plan_premier"])),
        Record::User(UserRecord {
            id: "agent-7".into(),
            agent: false,
        }),
    ];
    for change in changes {
        let p = page("organizations", "o1", vec![change]);
        assert_eq!(migrated.apply_page(SRC, &p).unwrap(), vec!["1"], "{p:?}");
        assert_eq!(fresh.apply_page(SRC, &p).unwrap(), vec!["1"], "{p:?}");
    }
    assert_eq!(migrated.stale_ticket_ids(SRC).unwrap(), vec!["1"]);
    assert_eq!(
        migrated.ticket(SRC, "1").unwrap(),
        fresh.ticket(SRC, "1").unwrap()
    );
}

/// A comment by the requester needs no user lookup (the header says who
/// the requester is), until the requester changes: then a change of the
/// former requester's user record must still find the ticket.
#[test]
fn a_former_requesters_user_change_finds_the_ticket() {
    let db = TempDb::new("requester");
    let mut store = db.open();
    let t = 1_700_000_000;
    let comment = |id: &str, at: i64, author: &str| comment_by("1", id, at, author);
    let user = |id: &str, agent: bool| {
        page(
            "users",
            "u",
            vec![Record::User(UserRecord {
                id: id.into(),
                agent,
            })],
        )
    };
    store
        .apply_page(
            SRC,
            &page(
                "tickets",
                "c1",
                vec![
                    Record::Ticket(header("1", t, None)),
                    comment("e1", t, "req-1"),
                ],
            ),
        )
        .unwrap();
    // The requester's own comment: their user record does not matter.
    assert!(store
        .apply_page(SRC, &user("req-1", true))
        .unwrap()
        .is_empty());
    // Someone else's comment: their user record does.
    store
        .apply_page(
            SRC,
            &page("ticket_events", "c2", vec![comment("e2", t + 1, "agent-9")]),
        )
        .unwrap();
    assert_eq!(
        store.apply_page(SRC, &user("agent-9", true)).unwrap(),
        vec!["1"]
    );
    // The requester changes: req-1's comment is now looked up.
    let mut moved = header("1", t + 2, None);
    moved.requester_id = Some("req-2".into());
    store
        .apply_page(SRC, &page("tickets", "c3", vec![Record::Ticket(moved)]))
        .unwrap();
    assert_eq!(
        store.apply_page(SRC, &user("req-1", false)).unwrap(),
        vec!["1"]
    );
    let t1 = store.ticket(SRC, "1").unwrap().unwrap();
    assert!(matches!(
        t1.events[0].change,
        Change::Comment {
            author: Author::Other,
            ..
        }
    ));
    // A repeated comment by agent-9 adds no second pair, and still finds it.
    store
        .apply_page(
            SRC,
            &page("ticket_events", "c4", vec![comment("e3", t + 3, "agent-9")]),
        )
        .unwrap();
    assert_eq!(
        store.apply_page(SRC, &user("agent-9", false)).unwrap(),
        vec!["1"]
    );
    let pairs: i64 = rusqlite::Connection::open(db.path())
        .unwrap()
        .query_row(
            "SELECT count(*) FROM ticket_refs WHERE kind = 'u' AND ref = 'agent-9'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pairs, 1);
}

/// Event `n` of a ticket: its time and change follow from `n` alone (an
/// event's time never changes, which the store relies on), and several
/// events share a time.
fn numbered_event(ticket: &str, n: u32) -> EventRecord {
    let change = match n % 4 {
        0 => ChangeRecord::Status {
            value: Status::Open,
        },
        1 => ChangeRecord::Comment {
            author: Author::Other,
            author_id: Some(format!("agent-{}", n % 3)),
            public: true,
        },
        2 => ChangeRecord::Status {
            value: Status::Pending,
        },
        _ => ChangeRecord::Priority {
            value: Some(format!("p{}", n % 5)),
        },
    };
    let at = 1_700_000_000 + i64::from(n / 3) * 60;
    event(ticket, &format!("{ticket}-e{n}"), at, change)
}

/// How many event chunks the file holds per ticket, at most.
fn most_chunks_per_ticket(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM event_chunks GROUP BY key)",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Applies `batches` (event numbers per ticket, one page each) to a store
/// file, reopening it after the batches marked so, and checks every
/// ticket's timeline, the event count and what each page reported changed
/// against a brute-force reference: the events seen, each id once, applied
/// as one page to a fresh store.
fn check_appends_against_reference(batches: &[(Vec<(u8, u32)>, bool)]) {
    let tickets = ["1", "2", "3"];
    let db = TempDb::new("chunks");
    let mut store = db.open();
    let headers = tickets
        .iter()
        .map(|id| Record::Ticket(header(id, 1_700_000_000, None)))
        .collect();
    store
        .apply_page(SRC, &page("tickets", "h", headers))
        .unwrap();
    let mut seen: Vec<EventRecord> = Vec::new();
    for (i, (batch, reopen)) in batches.iter().enumerate() {
        let records: Vec<EventRecord> = batch
            .iter()
            .map(|&(t, n)| numbered_event(tickets[usize::from(t) % tickets.len()], n))
            .collect();
        let mut expected: Vec<String> = Vec::new();
        for e in &records {
            if !seen.iter().any(|s| s.id == e.id) {
                seen.push(e.clone());
                expected.push(e.ticket_id.clone());
            }
        }
        expected.sort();
        expected.dedup();
        let page = page(
            "ticket_events",
            &format!("c{i}"),
            records.into_iter().map(Record::Event).collect(),
        );
        let changed = store.apply_page(SRC, &page).unwrap();
        assert_eq!(changed, expected, "page {i} of {batches:?}");
        if *reopen {
            drop(store);
            store = db.open();
        }
    }

    let mut reference = SqliteStore::in_memory().unwrap();
    let mut records: Vec<Record> = tickets
        .iter()
        .map(|id| Record::Ticket(header(id, 1_700_000_000, None)))
        .collect();
    records.extend(seen.iter().cloned().map(Record::Event));
    reference
        .apply_page(SRC, &page("tickets", "all", records))
        .unwrap();
    for id in tickets {
        assert_eq!(
            store.ticket(SRC, id).unwrap(),
            reference.ticket(SRC, id).unwrap(),
            "ticket {id} after {batches:?}"
        );
    }
    assert_eq!(store.stats().unwrap().events, seen.len() as u64);
    drop(store);
    let most = most_chunks_per_ticket(db.path());
    assert!(most <= 16, "{most} chunks for one ticket");
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(48))]

    /// Events arrive in any order, repeated, across pages and restarts
    /// (which empty what the store remembers): each ticket's timeline is
    /// its events each once, sorted, however they were chunked.
    #[test]
    fn appended_events_equal_the_deduplicated_sorted_reference(
        batches in proptest::collection::vec(
            (proptest::collection::vec((0u8..3, 0u32..24), 0..8), proptest::bool::ANY),
            1..24,
        )
    ) {
        check_appends_against_reference(&batches);
    }
}

#[test]
fn a_ticket_changed_by_many_pages_keeps_few_chunks() {
    // One new event per page, in time order (the fast path), then an old
    // page again and an event earlier than all (the reading path).
    let mut batches: Vec<(Vec<(u8, u32)>, bool)> =
        (0..40).map(|n| (vec![(0, n + 1)], n == 20)).collect();
    batches.push((vec![(0, 3), (0, 7)], false));
    batches.push((vec![(0, 0), (0, 5)], true));
    check_appends_against_reference(&batches);
}

#[test]
fn a_reader_sees_what_is_committed_and_cannot_write() {
    assert!(SqliteStore::in_memory()
        .unwrap()
        .open_reader()
        .unwrap()
        .is_none());
    let db = TempDb::new("reader");
    let mut store = db.open();
    let mut reader = store.open_reader().unwrap().unwrap();
    assert!(reader.ticket_ids(SRC).unwrap().is_empty());
    store.apply_page(SRC, &sample_page()).unwrap();
    assert_eq!(reader.ticket_ids(SRC).unwrap(), vec!["1", "2"]);
    assert_eq!(
        reader.tickets(SRC, &["2".into(), "1".into()]).unwrap(),
        vec![
            store.ticket(SRC, "2").unwrap().unwrap(),
            store.ticket(SRC, "1").unwrap().unwrap()
        ]
    );
    let err = reader.apply_page(SRC, &sample_page()).unwrap_err();
    assert!(err.to_string().contains("readonly"), "{err}");
    assert_eq!(store.stats().unwrap().events, 5);
}

fn status_event(ticket: &str, id: &str, at: i64, value: Status) -> Record {
    Record::Event(event(ticket, id, at, ChangeRecord::Status { value }))
}

/// A ticket looks complete once its stored events reach the last update
/// its header tells of, whichever stream brought what first; a deleted
/// ticket never does.
#[test]
fn a_ticket_looks_complete_once_its_events_reach_its_last_update() {
    let db = TempDb::new("complete");
    let mut store = db.open();
    let t = 1_700_000_000;
    let headers = page(
        "tickets",
        "h1",
        vec![
            Record::Ticket(header("1", t + 100, None)),
            Record::Ticket(header("2", t + 100, None)),
            Record::Ticket(TicketHeader {
                deleted: true,
                ..header("3", t + 100, None)
            }),
        ],
    );
    let applied = store.apply_batch(SRC, &[headers]).unwrap();
    assert_eq!(applied.changed, vec!["1", "2", "3"]);
    assert!(applied.complete.is_empty(), "{:?}", applied.complete);

    // Events up to ticket 1's last update, not yet up to ticket 2's.
    let events = page(
        "ticket_events",
        "e1",
        vec![
            status_event("1", "1a", t, Status::New),
            status_event("1", "1b", t + 100, Status::Solved),
            status_event("2", "2a", t, Status::New),
            status_event("3", "3a", t + 100, Status::New),
        ],
    );
    let applied = store.apply_batch(SRC, &[events]).unwrap();
    assert_eq!(applied.changed, vec!["1", "2", "3"]);
    assert_eq!(applied.complete, vec!["1"]);

    // Ticket 2's last event arrives; then a newer header of ticket 1 that
    // no stored event reaches yet.
    let later = page(
        "ticket_events",
        "e2",
        vec![status_event("2", "2b", t + 100, Status::Open)],
    );
    assert_eq!(
        store.apply_batch(SRC, &[later]).unwrap().complete,
        vec!["2"]
    );
    let newer = page(
        "tickets",
        "h2",
        vec![Record::Ticket(header("1", t + 200, None))],
    );
    let applied = store.apply_batch(SRC, &[newer]).unwrap();
    assert_eq!(applied.changed, vec!["1"]);
    assert!(applied.complete.is_empty());

    // After a restart the store has forgotten what its chunks hold: a
    // header alone then says nothing, events still do.
    drop(store);
    let mut store = db.open();
    let again = page(
        "tickets",
        "h3",
        vec![Record::Ticket(header("2", t + 150, None))],
    );
    assert!(store
        .apply_batch(SRC, &[again])
        .unwrap()
        .complete
        .is_empty());
    let last = page(
        "ticket_events",
        "e3",
        vec![status_event("2", "2c", t + 150, Status::Pending)],
    );
    assert_eq!(store.apply_batch(SRC, &[last]).unwrap().complete, vec!["2"]);
}

/// Clocks computed from a snapshot that a later commit overtook are not
/// saved: the ticket keeps its stale mark and its old clocks, and is
/// returned; tickets the commit left alone are saved as usual. A snapshot
/// read after the commit saves them all.
#[test]
fn clocks_of_an_overtaken_snapshot_leave_the_ticket_stale() {
    let db = TempDb::new("overtaken");
    let mut store = db.open();
    store.apply_page(SRC, &sample_page()).unwrap();
    store
        .save_clocks_batch(SRC, &[("1".into(), "h".into(), b"old".to_vec())])
        .unwrap();
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["2"]);

    // A reader's snapshot, then a page that changes ticket 1 only.
    let reader = store.open_reader().unwrap().unwrap();
    let as_of = reader.generation();
    assert_eq!(as_of, store.generation());
    let snapshot = reader.tickets(SRC, &["1".into(), "2".into()]).unwrap();
    assert_eq!(snapshot.len(), 2);
    let change = page(
        "ticket_events",
        "later",
        vec![status_event("1", "late", 1_700_000_900, Status::Open)],
    );
    store.apply_page(SRC, &change).unwrap();
    assert!(store.generation() > as_of);
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["1", "2"]);

    let rows = vec![
        ("1".to_string(), "h".to_string(), b"new".to_vec()),
        ("2".to_string(), "h".to_string(), b"new".to_vec()),
    ];
    let overtaken = store.save_clocks_as_of(SRC, &rows, as_of).unwrap();
    assert_eq!(overtaken, vec!["1"]);
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["1"]);
    assert_eq!(store.clocks(SRC, "1").unwrap().unwrap().1, b"old");
    assert_eq!(store.clocks(SRC, "2").unwrap().unwrap().1, b"new");

    // Read again after the change: saved.
    let as_of = reader.generation();
    let overtaken = store.save_clocks_as_of(SRC, &rows[..1], as_of).unwrap();
    assert!(overtaken.is_empty());
    assert!(store.stale_ticket_ids(SRC).unwrap().is_empty());
    assert_eq!(store.clocks(SRC, "1").unwrap().unwrap().1, b"new");
}

/// A reading connection keeps the organizations and users it read from one
/// read of tickets to the next, but not past a commit that changed one of
/// them: the next read sees the new plan tags and the new agent flag.
#[test]
fn a_reader_sees_organizations_and_users_changed_since_its_last_read() {
    let db = TempDb::new("lookups");
    let mut store = db.open();
    store.apply_page(SRC, &sample_page()).unwrap();
    let reader = store.open_reader().unwrap().unwrap();
    let ids = vec!["1".to_string()];
    let tags = |t: &Ticket| t.organization.as_ref().unwrap().tags.clone();
    let commenter = |t: &Ticket| {
        t.events.iter().find_map(|e| match e.change {
            Change::Comment { author, .. } => Some(author),
            _ => None,
        })
    };
    let first = reader.tickets(SRC, &ids).unwrap();
    assert_eq!(tags(&first[0]), vec!["plan_premier"]);
    assert_eq!(commenter(&first[0]), Some(Author::Agent));

    // Read again with nothing changed: the same.
    assert_eq!(reader.tickets(SRC, &ids).unwrap(), first);

    let change = page(
        "organizations",
        "orgs-2",
        vec![
            Record::Organization(org("900", &["plan_essential"])),
            Record::User(UserRecord {
                id: "agent-1".into(),
                agent: false,
            }),
        ],
    );
    store.apply_page(SRC, &change).unwrap();
    let second = reader.tickets(SRC, &ids).unwrap();
    assert_eq!(tags(&second[0]), vec!["plan_essential"]);
    assert_eq!(commenter(&second[0]), Some(Author::Other));
}
