//! What only the SQLite store does, on temporary files: its schema and
//! migrations, WAL, files that are not stores, reading connections, how it
//! keeps events in chunks, and its speed. What every store does is in
//! `contract`.

use std::path::Path;
use std::time::Instant;

use helpdesk_slo::engine::timeline::Author;
use helpdesk_slo::policy::spec::Status;
use helpdesk_slo::sources::{ChangeRecord, Record, UserRecord};
use helpdesk_slo::store::{
    self, decode_clocks, encode_clocks, SqliteStore, Store, StoreError, SCHEMA_VERSION,
};

use crate::contract::{
    check_appends_against_reference, former_requester_scenario, many_pages_of_one_ticket,
    random_batches,
};
use crate::fixtures::{
    event, header, org, page, sample_page, status_event, timelines, TempDb, SRC,
};
use crate::Backend;

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
fn a_new_file_is_migrated_to_the_latest_version_in_wal_mode() {
    let db = TempDb::new("migrate");
    assert!(!db.path().exists());
    let store = db.open();
    assert!(db.path().exists());
    assert_eq!(SCHEMA_VERSION, 9);
    assert_eq!(store.schema_version().unwrap(), 9);
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
    assert_eq!(version, 9);
    drop(conn);
    // Opening again does not migrate again.
    assert_eq!(db.open().schema_version().unwrap(), 9);
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
    // The factory refuses it the same way.
    let err = store::open(&format!("sqlite:{}", db.path().display()))
        .err()
        .unwrap();
    assert!(
        matches!(err, StoreError::TooNew { found: 99, .. }),
        "{err:?}"
    );
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
        &[include_str!("../../src/store/migrations/0001_init.sql")],
        &[include_str!(
            "../../src/store/migrations/0002_arrivals_and_polls.sql"
        )],
        &[
            include_str!("../../src/store/migrations/0003_compact_timelines.sql"),
            include_str!("../../src/store/migrations/0003_compact_timelines_finish.sql"),
        ],
        &[
            include_str!("../../src/store/migrations/0004_event_chunks.sql"),
            include_str!("../../src/store/migrations/0004_event_chunks_finish.sql"),
        ],
        &[
            include_str!("../../src/store/migrations/0005_compact_clocks.sql"),
            include_str!("../../src/store/migrations/0005_compact_clocks_finish.sql"),
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
             ALTER TABLE tickets DROP COLUMN last_event_at;
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
        conn.execute_batch(include_str!("../../src/store/migrations/0001_init.sql"))
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
        conn.execute_batch(include_str!("../../src/store/migrations/0001_init.sql"))
            .unwrap();
        conn.execute_batch(include_str!(
            "../../src/store/migrations/0002_arrivals_and_polls.sql"
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
    // Each ticket's latest reported change (its last update or its latest
    // event, whichever is later) is filled in, as writing it fresh does.
    let latest = |path: &std::path::Path| -> Vec<(String, Option<i64>)> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT id, max(coalesce(updated_at, last_event_at), coalesce(last_event_at, updated_at))
                 FROM tickets ORDER BY id",
            )
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(latest(db.path()), latest(fresh_db.path()));
    assert!(latest(db.path()).contains(&("1".to_string(), Some(t + 50))));
    // The ticket whose header never arrived has only its events.
    assert!(latest(db.path()).iter().all(|(_, at)| at.is_some()));
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

/// The factory opens the same SQLite file from `sqlite:PATH`,
/// `sqlite://PATH` and the plain path `--store` has always taken, names it
/// by its path, and gives it a reader; `sqlite::memory:` has none.
#[test]
fn the_factory_opens_a_sqlite_file_by_scheme_or_plain_path() {
    let db = TempDb::new("factory");
    let path = db.path().display().to_string();
    let mut by_scheme = store::open(&format!("sqlite:{path}")).unwrap();
    assert!(db.path().exists());
    assert_eq!(by_scheme.location(), path);
    by_scheme.apply_page(SRC, &sample_page()).unwrap();
    let reader = by_scheme.reader().unwrap().unwrap();
    assert_eq!(reader.ticket_ids(SRC).unwrap(), vec!["1", "2"]);
    drop((by_scheme, reader));
    for location in [path.clone(), format!("sqlite://{path}")] {
        let store = store::open(&location).unwrap();
        assert_eq!(store.location(), path, "{location}");
        assert_eq!(store.ticket_ids(SRC).unwrap(), vec!["1", "2"], "{location}");
    }
    let memory = store::open("sqlite::memory:").unwrap();
    assert!(memory.reader().unwrap().is_none());
    assert!(memory.ticket_ids(SRC).unwrap().is_empty());
}

/// A reading connection refuses writes; a store in memory has none.
#[test]
fn a_reader_cannot_write_and_a_store_in_memory_has_none() {
    assert!(SqliteStore::in_memory()
        .unwrap()
        .open_reader()
        .unwrap()
        .is_none());
    let db = TempDb::new("reader");
    let mut store = db.open();
    store.apply_page(SRC, &sample_page()).unwrap();
    for mut reader in [
        Box::new(store.open_reader().unwrap().unwrap()) as Box<dyn Store>,
        store.reader().unwrap().unwrap(),
    ] {
        let err = reader.apply_page(SRC, &sample_page()).unwrap_err();
        assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
        assert!(err.to_string().contains("readonly"), "{err}");
        assert!(
            err.to_string().contains(&db.path().display().to_string()),
            "{err}"
        );
    }
    assert_eq!(store.stats().unwrap().events, 5);
}

/// A repeated comment by the same agent stores their (ticket, user) pair
/// once.
#[test]
fn a_repeated_author_is_one_reference_of_the_ticket() {
    let db = TempDb::new("requester");
    let mut store = db.open();
    former_requester_scenario(&mut store);
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

/// A ticket's events are written in chunks small enough for SQLite to
/// store without much empty space (at most 400 bytes; an event larger than
/// that alone), whether many come in one page, one a page, or are merged.
/// They read back each once, in order.
#[test]
fn events_are_stored_in_chunks_small_enough_to_stay_in_their_page() {
    let db = TempDb::new("chunk-size");
    let mut store = db.open();
    let t = 1_700_000_000;
    store
        .apply_page(
            SRC,
            &page("tickets", "h", vec![Record::Ticket(header("1", t, None))]),
        )
        .unwrap();
    // Events of about 100 bytes, as Zendesk's metric events, and one of
    // 3,000.
    let field = |n: usize, len: usize| {
        Record::Event(event(
            "1",
            &format!("field_event.{n:012}"),
            t + n as i64,
            ChangeRecord::Field {
                name: "a_custom_field_of_some_length".into(),
                value: serde_json::json!("x".repeat(len)),
            },
        ))
    };
    let mut all: Vec<Record> = (0..120).map(|n| field(n, 40)).collect();
    all.push(field(120, 3_000));
    store
        .apply_page(SRC, &page("ticket_metric_events", "m0", all[..60].to_vec()))
        .unwrap();
    for (n, e) in all[60..].iter().enumerate() {
        let cursor = format!("m{}", n + 1);
        store
            .apply_page(SRC, &page("ticket_metric_events", &cursor, vec![e.clone()]))
            .unwrap();
    }
    let read = store.ticket(SRC, "1").unwrap().unwrap();
    let ids: Vec<&str> = read.events.iter().filter_map(|e| e.id.as_deref()).collect();
    let want: Vec<&str> = all
        .iter()
        .map(|r| match r {
            Record::Event(e) => e.id.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, want);
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let (large, largest_count, small): (i64, i64, i64) = conn
        .query_row(
            "SELECT sum(length(events) > 400), max(CASE WHEN length(events) > 400 THEN count END),
                    sum(length(events) < 200)
             FROM event_chunks",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((large, largest_count), (1, 1));
    // Merged once the small ones were many (full ones do not count).
    assert!(small <= 16, "{small} small chunks");
}

/// A ticket changed by many pages keeps few chunks: they are merged once
/// they are many.
#[test]
fn a_ticket_changed_by_many_pages_keeps_few_chunks() {
    let store = check_appends_against_reference(Backend::SqliteFile, &many_pages_of_one_ticket());
    let most = most_chunks_per_ticket(store.file().unwrap());
    assert!(most <= 16, "{most} chunks for one ticket");
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(16))]

    /// However events arrive (in any order, repeated, across pages and
    /// restarts), a ticket keeps few chunks.
    #[test]
    fn appended_events_keep_few_chunks_per_ticket(batches in random_batches()) {
        let store = check_appends_against_reference(Backend::SqliteFile, &batches);
        let most = most_chunks_per_ticket(store.file().unwrap());
        proptest::prop_assert!(most <= 16, "{} chunks for one ticket", most);
    }
}

fn stale_marks(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("SELECT count(*) FROM stale_tickets", [], |r| r.get(0))
        .unwrap()
}

/// A deleted ticket has no clocks to compute, so it holds no stale mark
/// that nothing would ever clear; marks left by older builds go at open.
#[test]
fn a_deleted_ticket_leaves_no_stale_mark() {
    let db = TempDb::new("deleted-stale");
    let mut store = db.open();
    let t = 1_700_000_000;
    store
        .apply_page(
            SRC,
            &page("tickets", "c1", vec![Record::Ticket(header("7", t, None))]),
        )
        .unwrap();
    assert_eq!(stale_marks(db.path()), 1);
    let mut deleted = header("7", t + 60, None);
    deleted.deleted = true;
    store
        .apply_page(SRC, &page("tickets", "c2", vec![Record::Ticket(deleted)]))
        .unwrap();
    assert_eq!(stale_marks(db.path()), 0);
    assert!(store.stale_ticket_ids(SRC).unwrap().is_empty());
    // Restored in the helpdesk: marked again (the cache forgot the mark).
    store
        .apply_page(
            SRC,
            &page(
                "tickets",
                "c3",
                vec![Record::Ticket(header("7", t + 120, None))],
            ),
        )
        .unwrap();
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["7".to_string()]);
    drop(store);
    // A mark an older build left on a deleted ticket is cleared at open.
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.execute("UPDATE tickets SET deleted = 1", []).unwrap();
    drop(conn);
    assert_eq!(stale_marks(db.path()), 1);
    drop(db.open());
    assert_eq!(stale_marks(db.path()), 0);
}

/// After a burst of writes the write-ahead log is copied into the file and
/// truncated, not left as large as the data.
#[test]
fn a_checkpoint_truncates_the_write_ahead_log() {
    let db = TempDb::new("checkpoint");
    let mut store = db.open();
    for n in 0..200 {
        let records = (0..20)
            .map(|k| {
                Record::Ticket(header(
                    &format!("{n}-{k}"),
                    1_700_000_000 + n,
                    Some("org-1"),
                ))
            })
            .collect();
        store
            .apply_page(SRC, &page("tickets", &format!("c{n}"), records))
            .unwrap();
    }
    let wal = db.path().with_extension("sqlite-wal");
    let before = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert!(before > 100_000, "{before} bytes of log after the writes");
    store.checkpoint().unwrap();
    let after = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(after, 0);
    assert_eq!(store.ticket_ids(SRC).unwrap().len(), 4000);
}
