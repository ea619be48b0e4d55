//! What every store guarantees (the `Store` trait's documentation), each
//! test written once and run on every backend by `contract_tests!` in
//! `main.rs`. Nothing here knows which backend it runs on: a test reads
//! through `Store::reader` where the backend has one, through the store
//! itself where not, and reopens the store only where it persists.

use helpdesk_slo::engine::timeline::Author;
use helpdesk_slo::engine::{Change, Ticket};
use helpdesk_slo::policy::spec::Status;
use helpdesk_slo::sources::{
    ChangeRecord, EventRecord, NoteKey, NoteRecord, Record, TicketHeader, UserRecord,
};
use helpdesk_slo::store::{
    ActiveTicket, Store, StoreError, StoreStats, StoredClocks, TicketMeta, WindowTicket,
};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestRunner};

use crate::fixtures::{
    comment_by, event, header, numbered_event, org, page, sample_page, status_event, timelines, SRC,
};
use crate::{Backend, Subject};

pub fn applying_a_page_twice_changes_nothing(backend: Backend) {
    let mut store = backend.open("idempotent");
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
    let before = timelines(&*store);

    let changed = store.apply_page(SRC, &sample_page()).unwrap();
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(store.stats().unwrap(), stats);
    assert_eq!(timelines(&*store), before);
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

pub fn an_older_header_does_not_overwrite_a_newer_one(backend: Backend) {
    let mut store = backend.open("an");
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

pub fn a_changed_organization_or_user_returns_its_tickets(backend: Backend) {
    let mut store = backend.open("a");
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
pub fn references_gained_over_several_batches_all_find_the_ticket(backend: Backend) {
    let mut store = backend.open("references");
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

pub fn deleted_tickets_vanish(backend: Backend) {
    let mut store = backend.open("deleted");
    store.apply_page(SRC, &sample_page()).unwrap();
    store.save_clocks(SRC, "1", "h", b"counted").unwrap();
    let mut gone = header("1", 1_700_001_000, Some("900"));
    gone.deleted = true;
    let applied = store
        .apply_batch(SRC, &[page("tickets", "c2", vec![Record::Ticket(gone)])])
        .unwrap();
    assert_eq!(applied.changed, vec!["1"]);
    // The clocks row it dropped, as it was: what was counted from it has
    // to leave the figures.
    assert_eq!(
        applied.dropped_clocks,
        vec![StoredClocks {
            ticket_id: "1".into(),
            config_hash: "h".into(),
            clocks: b"counted".to_vec(),
            stale: false,
        }]
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

pub fn clocks_round_trip_and_go_stale_when_the_timeline_changes(backend: Backend) {
    let mut store = backend.open("clocks");
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

pub fn events_before_their_ticket_wait_for_it(backend: Backend) {
    let mut store = backend.open("events");
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

/// A helpdesk's own SLA record (Zendesk's metric events, stored as field
/// changes named `zendesk_sla.<metric>`) reads back as the ticket's fields,
/// each the list of its values in stored order, and never as the
/// timeline's events; a repeat across pages is stored once. Read as
/// timelines, the ticket comes without it.
pub fn a_helpdesks_own_sla_record_reads_back_beside_the_timeline(backend: Backend) {
    let mut store = backend.open("sla-record");
    let t = 1_700_000_000;
    let metric = |id: &str, at: i64, value: serde_json::Value| {
        Record::Event(event(
            "7",
            id,
            at,
            ChangeRecord::Field {
                name: "zendesk_sla.reply_time".into(),
                value,
            },
        ))
    };
    let apply = serde_json::json!({"id": 1, "ticket_id": 7, "metric": "reply_time", "instance_id": 1,
        "type": "apply_sla", "time": "2023-11-14T22:13:20Z",
        "sla": {"target": 60, "target_in_seconds": 3600, "business_hours": true,
                "policy": {"id": 26, "title": "Standard", "description": ""}}});
    let breach = serde_json::json!({"id": 2, "ticket_id": 7, "metric": "reply_time", "instance_id": 1,
        "type": "breach", "time": "2023-11-14T23:13:20Z"});
    let mut retracted = breach.clone();
    retracted["deleted"] = serde_json::json!(true);
    store
        .apply_page(
            SRC,
            &page(
                "ticket_metric_events",
                "m1",
                vec![
                    metric("metric_event.1", t, apply.clone()),
                    metric("metric_event.2", t + 3600, breach.clone()),
                ],
            ),
        )
        .unwrap();
    store
        .apply_page(
            SRC,
            &page(
                "ticket_metric_events",
                "m2",
                vec![
                    metric("metric_event.2", t + 3600, breach.clone()),
                    metric("metric_event.2.deleted", t + 3600, retracted.clone()),
                ],
            ),
        )
        .unwrap();
    store
        .apply_page(
            SRC,
            &page(
                "ticket_events",
                "e1",
                vec![status_event("7", "e1", t, Status::Open)],
            ),
        )
        .unwrap();
    store
        .apply_page(
            SRC,
            &page(
                "tickets",
                "c1",
                vec![Record::Ticket(header("7", t + 3600, None))],
            ),
        )
        .unwrap();
    let reader = store.reader().unwrap();
    let read: &dyn Store = reader.as_deref().unwrap_or(&*store);
    let ticket = read.ticket(SRC, "7").unwrap().unwrap();
    assert_eq!(ticket.events.len(), 1, "{:?}", ticket.events);
    assert!(matches!(ticket.events[0].change, Change::Status { .. }));
    assert_eq!(
        ticket.fields["zendesk_sla.reply_time"],
        serde_json::json!([apply, breach, retracted])
    );
    // The timeline alone: the same ticket without the record.
    let timelines = read.timelines(SRC, &["7".into(), "8".into()]).unwrap();
    let mut without = ticket.clone();
    without.fields.remove("zendesk_sla.reply_time");
    assert_eq!(timelines, vec![without]);
    drop(reader);
    assert_eq!(
        store
            .cursor(SRC, "ticket_metric_events")
            .unwrap()
            .as_deref(),
        Some("m2")
    );
}

/// Events of a helpdesk's own SLA record alone change no timeline: the
/// ticket is not marked stale, not returned as changed, and clocks read
/// before them are saved; a batch lists it apart as `recorded` (a live
/// ticket with a header only, each once), and with a timeline event
/// beside them it is changed as any other.
pub fn sla_record_events_alone_leave_the_clocks_as_they_are(backend: Backend) {
    let mut store = backend.open("sla-record-alone");
    let t = 1_700_000_000;
    let record = |ticket: &str, id: &str, at: i64| {
        Record::Event(event(
            ticket,
            id,
            at,
            ChangeRecord::Field {
                name: "zendesk_sla.reply_time".into(),
                value: serde_json::json!([1, "activate"]),
            },
        ))
    };
    store.apply_page(SRC, &sample_page()).unwrap();
    store
        .save_clocks_batch(
            SRC,
            &[
                ("1".into(), "h".into(), b"old".to_vec()),
                ("2".into(), "h".into(), b"old".to_vec()),
            ],
        )
        .unwrap();
    assert!(store.stale_ticket_ids(SRC).unwrap().is_empty());
    let reader = store.reader().unwrap();
    let as_of = reader.as_deref().unwrap_or(&*store).generation();
    drop(reader);

    // Records of ticket 1 (and of ticket 3, which has no header yet).
    let records = page(
        "ticket_metric_events",
        "m1",
        vec![
            record("1", "metric_event.1", t + 10),
            record("1", "metric_event.2", t + 20),
            record("3", "metric_event.3", t + 30),
        ],
    );
    let applied = store
        .apply_batch(SRC, std::slice::from_ref(&records))
        .unwrap();
    assert!(applied.changed.is_empty(), "{applied:?}");
    assert!(applied.complete.is_empty(), "{applied:?}");
    assert_eq!(applied.recorded, vec!["1"]);
    assert!(store.stale_ticket_ids(SRC).unwrap().is_empty());
    let ticket = store.ticket(SRC, "1").unwrap().unwrap();
    assert_eq!(
        ticket.fields["zendesk_sla.reply_time"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // Clocks read before them are not overtaken.
    let rows = vec![("1".to_string(), "h".to_string(), b"new".to_vec())];
    let done = store.save_clocks_as_of(SRC, &rows, as_of).unwrap();
    assert!(done.overtaken.is_empty(), "{done:?}");
    assert_eq!(store.clocks(SRC, "1").unwrap().unwrap().1, b"new");

    // Read again, nothing new: listed nowhere.
    let applied = store
        .apply_batch(SRC, std::slice::from_ref(&records))
        .unwrap();
    assert!(
        applied.changed.is_empty() && applied.recorded.is_empty(),
        "{applied:?}"
    );

    // A record and a timeline event: changed, not recorded.
    let both = page(
        "ticket_metric_events",
        "m2",
        vec![
            record("2", "metric_event.4", t + 40),
            status_event("2", "s2", t + 40, Status::Open),
        ],
    );
    let applied = store.apply_batch(SRC, &[both]).unwrap();
    assert_eq!(applied.changed, vec!["2"]);
    assert!(applied.recorded.is_empty(), "{applied:?}");
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["2"]);

    // Ticket 3's header arrives: changed, with its record.
    let mut deleted = header("1", t + 900, Some("900"));
    deleted.deleted = true;
    let headers = page(
        "tickets",
        "c2",
        vec![
            Record::Ticket(header("3", t + 30, None)),
            Record::Ticket(deleted),
        ],
    );
    let applied = store.apply_batch(SRC, &[headers]).unwrap();
    assert_eq!(applied.changed, vec!["1", "3"]);
    assert!(store.ticket(SRC, "3").unwrap().unwrap().fields["zendesk_sla.reply_time"].is_array());
    // A deleted ticket's record: listed nowhere.
    let late = page(
        "ticket_metric_events",
        "m3",
        vec![record("1", "metric_event.5", t + 50)],
    );
    let applied = store.apply_batch(SRC, &[late]).unwrap();
    assert!(
        applied.changed.is_empty() && applied.recorded.is_empty(),
        "{applied:?}"
    );
}

pub fn changed_tickets_carry_the_time_they_arrived(backend: Backend) {
    let mut store = backend.open("arrivals");
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

pub fn pages_applied_together_equal_pages_applied_one_by_one_or_nothing(backend: Backend) {
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
    let mut a = backend.open("pages-a");
    let mut changed_a = a.apply_page(SRC, &sample_page()).unwrap();
    changed_a.extend(a.apply_page(SRC, &second).unwrap());
    changed_a.sort();
    changed_a.dedup();
    let mut b = backend.open("pages-b");
    let changed_b = b
        .apply_pages(SRC, &[sample_page(), second.clone()])
        .unwrap();
    assert_eq!(changed_a, changed_b);
    assert_eq!(timelines(&*a), timelines(&*b));
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
    let mut c = backend.open("pages-c");
    assert!(c.apply_pages(SRC, &[sample_page(), bad]).is_err());
    assert_eq!(c.stats().unwrap(), StoreStats::default());
    assert_eq!(c.cursor(SRC, "tickets").unwrap(), None);
}

pub fn clocks_stream_in_the_order_and_content_of_all_clocks(backend: Backend) {
    let mut store = backend.open("stream");
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

/// A ticket looks complete once its stored events reach the last update
/// its header tells of, whichever stream brought what first; a deleted
/// ticket never does.
pub fn a_ticket_looks_complete_once_its_events_reach_its_last_update(backend: Backend) {
    let mut store = backend.open("complete");
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

    // After a restart (where the store persists) a store may have
    // forgotten what it knew of the stored events: a header newer than
    // them says nothing, the event that reaches it does.
    store.reopen();
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
pub fn clocks_of_an_overtaken_snapshot_leave_the_ticket_stale(backend: Backend) {
    let mut store = backend.open("overtaken");
    store.apply_page(SRC, &sample_page()).unwrap();
    store
        .save_clocks_batch(SRC, &[("1".into(), "h".into(), b"old".to_vec())])
        .unwrap();
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["2"]);

    // A snapshot (through a reader where the backend has one), then a
    // page that changes ticket 1 only.
    let reader = store.reader().unwrap();
    let read = |store: &Subject| -> u64 {
        let from: &dyn Store = reader.as_deref().unwrap_or(&**store);
        let as_of = from.generation();
        let snapshot = from.tickets(SRC, &["1".into(), "2".into()]).unwrap();
        assert_eq!(snapshot.len(), 2);
        as_of
    };
    let as_of = read(&store);
    assert_eq!(as_of, store.generation());
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
    let done = store.save_clocks_as_of(SRC, &rows, as_of).unwrap();
    assert_eq!(done.overtaken, vec!["1"]);
    // Ticket 2 had no clocks: saved over nothing.
    assert_eq!(done.saved, vec![(1, None)]);
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["1"]);
    assert_eq!(store.clocks(SRC, "1").unwrap().unwrap().1, b"old");
    assert_eq!(store.clocks(SRC, "2").unwrap().unwrap().1, b"new");

    // Read again after the change: saved.
    let as_of = read(&store);
    let done = store.save_clocks_as_of(SRC, &rows[..1], as_of).unwrap();
    assert!(done.overtaken.is_empty());
    // Saved over the row it replaced, which the answer hands back.
    assert_eq!(
        done.saved,
        vec![(0, Some(("h".to_string(), b"old".to_vec())))]
    );
    assert!(store.stale_ticket_ids(SRC).unwrap().is_empty());
    assert_eq!(store.clocks(SRC, "1").unwrap().unwrap().1, b"new");
}

/// A reader (or the store itself, where the backend has none) may keep the
/// organizations and users it read from one read of tickets to the next,
/// but not past a commit that changed one of them: the next read sees the
/// new plan tags and the new agent flag.
pub fn a_reader_sees_organizations_and_users_changed_since_its_last_read(backend: Backend) {
    let mut store = backend.open("lookups");
    store.apply_page(SRC, &sample_page()).unwrap();
    let reader = store.reader().unwrap();
    let read = |store: &Subject, ids: &[String]| {
        let from: &dyn Store = reader.as_deref().unwrap_or(&**store);
        from.tickets(SRC, ids).unwrap()
    };
    let ids = vec!["1".to_string()];
    let tags = |t: &Ticket| t.organization.as_ref().unwrap().tags.clone();
    let commenter = |t: &Ticket| {
        t.events.iter().find_map(|e| match e.change {
            Change::Comment { author, .. } => Some(author),
            _ => None,
        })
    };
    let first = read(&store, &ids);
    assert_eq!(tags(&first[0]), vec!["plan_premier"]);
    assert_eq!(commenter(&first[0]), Some(Author::Agent));

    // Read again with nothing changed: the same.
    assert_eq!(read(&store, &ids), first);

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
    let second = read(&store, &ids);
    assert_eq!(tags(&second[0]), vec!["plan_essential"]);
    assert_eq!(commenter(&second[0]), Some(Author::Other));
}

/// A comment by the requester needs no user lookup (the header says who
/// the requester is), until the requester changes: then a change of the
/// former requester's user record must still find the ticket.
pub fn a_former_requesters_user_change_finds_the_ticket(backend: Backend) {
    let mut store = backend.open("requester");
    former_requester_scenario(&mut *store);
}

/// The steps of [`a_former_requesters_user_change_finds_the_ticket`], on
/// any store (the SQLite tests look at the file afterwards).
pub fn former_requester_scenario(store: &mut dyn Store) {
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
}

/// A page that fails stores nothing, not even the records before the one
/// that failed, nor its cursor; the message names the store's location and
/// the ticket; a reader (where the backend has one) sees nothing either;
/// and the store still works.
pub fn a_failed_page_stores_neither_records_nor_cursor(backend: Backend) {
    let mut store = backend.open("atomic");
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
    assert!(message.contains(&store.location()), "{message}");
    assert!(message.contains("ticket 1"), "{message}");
    assert_eq!(store.stats().unwrap(), StoreStats::default());
    assert_eq!(store.cursor(SRC, "tickets").unwrap(), None);
    assert!(store.ticket(SRC, "1").unwrap().is_none());

    let reader = store.reader().unwrap();
    if let Some(reader) = &reader {
        assert_eq!(reader.stats().unwrap(), StoreStats::default());
    }
    store.apply_page(SRC, &sample_page()).unwrap();
    assert_eq!(
        store.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("cursor-1")
    );
    if let Some(reader) = &reader {
        assert_eq!(
            reader.cursor(SRC, "tickets").unwrap().as_deref(),
            Some("cursor-1")
        );
    }
}

/// A store that persists keeps, when opened again, its records, cursors,
/// clocks and polls, and reads them back the same.
pub fn reopening_keeps_cursors_data_clocks_and_polls(backend: Backend) {
    let mut store = backend.open("reopen");
    store.apply_page(SRC, &sample_page()).unwrap();
    store
        .apply_page(SRC, &page("organizations", "org-cursor", vec![]))
        .unwrap();
    store.save_clocks(SRC, "1", "hash-a", b"clocks-a").unwrap();
    store.record_poll("other", 150).unwrap();
    let (stats, before) = (store.stats().unwrap(), timelines(&*store));
    assert!(store.reopen(), "{backend:?} does not persist");
    assert_eq!(store.stats().unwrap(), stats);
    assert_eq!(timelines(&*store), before);
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
    assert_eq!(store.stale_ticket_ids(SRC).unwrap(), vec!["2"]);
    assert_eq!(store.polls("other", 0, 1_000).unwrap(), vec![150]);
}

pub fn polls_are_recorded_once_and_read_by_range(backend: Backend) {
    let mut store = backend.open("polls");
    for at in [100, 160, 160, 400] {
        store.record_poll(SRC, at).unwrap();
    }
    store.record_poll("other", 150).unwrap();
    assert_eq!(store.polls(SRC, 0, 1_000).unwrap(), vec![100, 160, 400]);
    assert_eq!(store.polls(SRC, 160, 400).unwrap(), vec![160]);
    assert!(store.polls(SRC, 401, 1_000).unwrap().is_empty());
    store.reopen();
    assert_eq!(store.polls("other", 0, 1_000).unwrap(), vec![150]);
}

/// Applies `batches` (event numbers per ticket, one page each) to a store
/// of `backend`, reopening it after the batches marked so (where it
/// persists), and checks every ticket's timeline, the event count and what
/// each page reported changed against a brute-force reference: the events
/// seen, each id once, applied as one page to a fresh store of the same
/// backend. Returns the store.
pub fn check_appends_against_reference(
    backend: Backend,
    batches: &[(Vec<(u8, u32)>, bool)],
) -> Subject {
    let tickets = ["1", "2", "3"];
    let mut store = backend.open("chunks");
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
            store.reopen();
        }
    }

    let mut reference = backend.open("chunks-reference");
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
    store
}

/// Random batches of events for [`check_appends_against_reference`]: up to
/// 24 pages of up to 8 events of 3 tickets, each page maybe followed by a
/// restart.
pub fn random_batches() -> impl Strategy<Value = Vec<(Vec<(u8, u32)>, bool)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec((0u8..3, 0u32..24), 0..8),
            proptest::bool::ANY,
        ),
        1..24,
    )
}

/// Events arrive in any order, repeated, across pages and restarts (which
/// empty what a store remembers): each ticket's timeline is its events
/// each once, sorted, however the store keeps them.
pub fn appended_events_equal_the_deduplicated_sorted_reference(backend: Backend) {
    let mut runner = TestRunner::new(Config::with_cases(48));
    let result = runner.run(&random_batches(), |batches| {
        check_appends_against_reference(backend, &batches);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// One new event per page, in time order, then an old page again and an
/// event earlier than all (the SQLite store's fast path, then its reading
/// path): the ticket reads as its events, each once.
pub fn a_ticket_changed_by_many_pages_reads_as_its_events_once(backend: Backend) {
    check_appends_against_reference(backend, &many_pages_of_one_ticket());
}

/// The batches of [`a_ticket_changed_by_many_pages_reads_as_its_events_once`].
pub fn many_pages_of_one_ticket() -> Vec<(Vec<(u8, u32)>, bool)> {
    let mut batches: Vec<(Vec<(u8, u32)>, bool)> =
        (0..40).map(|n| (vec![(0, n + 1)], n == 20)).collect();
    batches.push((vec![(0, 3), (0, 7)], false));
    batches.push((vec![(0, 0), (0, 5)], true));
    batches
}

/// A reader, where the backend has one, reads what the store committed
/// once it is committed, the same as the store reads it.
pub fn a_reader_sees_what_is_committed(backend: Backend) {
    let mut store = backend.open("reader");
    let Some(reader) = store.reader().unwrap() else {
        // Nothing to check: this backend is read through the store itself.
        return;
    };
    assert!(reader.ticket_ids(SRC).unwrap().is_empty());
    assert_eq!(reader.generation(), store.generation());
    store.apply_page(SRC, &sample_page()).unwrap();
    assert_eq!(reader.ticket_ids(SRC).unwrap(), vec!["1", "2"]);
    assert_eq!(
        reader.tickets(SRC, &["2".into(), "1".into()]).unwrap(),
        vec![
            store.ticket(SRC, "2").unwrap().unwrap(),
            store.ticket(SRC, "1").unwrap().unwrap()
        ]
    );
    assert_eq!(reader.generation(), store.generation());
    assert_eq!(reader.stats().unwrap(), store.stats().unwrap());
    // Each call opens another one.
    let second = store.reader().unwrap().unwrap();
    assert_eq!(second.ticket_ids(SRC).unwrap(), vec!["1", "2"]);
}

/// Notes widen the span of the same kind and name, are kept per source, and
/// are read by the range their span meets, by kind, then name. They change
/// no ticket.
pub fn notes_widen_their_span_and_are_read_by_range(backend: Backend) {
    let mut store = backend.open("notes");
    let note = |kind: &str, name: &str, first_at: i64, last_at: i64| {
        Record::Note(NoteRecord {
            kind: kind.into(),
            name: name.into(),
            first_at,
            last_at,
        })
    };
    let first = page(
        "ticket_events",
        "n1",
        vec![
            note("unmapped_custom_status_id", "42", 150, 150),
            note("ignored_event", "SatisfactionRating", 100, 200),
        ],
    );
    assert!(store.apply_page(SRC, &first).unwrap().is_empty());
    let second = page(
        "ticket_events",
        "n2",
        vec![note("ignored_event", "SatisfactionRating", 50, 120)],
    );
    assert!(store.apply_page(SRC, &second).unwrap().is_empty());
    store
        .apply_page(
            "other",
            &page("ticket_events", "n1", vec![note("k", "n", 0, 1)]),
        )
        .unwrap();
    let wide = NoteRecord {
        kind: "ignored_event".into(),
        name: "SatisfactionRating".into(),
        first_at: 50,
        last_at: 200,
    };
    let status = NoteRecord {
        kind: "unmapped_custom_status_id".into(),
        name: "42".into(),
        first_at: 150,
        last_at: 150,
    };
    assert_eq!(
        store.notes(SRC, 0, 1_000).unwrap(),
        vec![wide.clone(), status.clone()]
    );
    // [from, to): a span meets it if it ends at or after `from` and starts
    // before `to`.
    assert_eq!(store.notes(SRC, 160, 1_000).unwrap(), vec![wide.clone()]);
    assert_eq!(
        store.notes(SRC, 150, 151).unwrap(),
        vec![wide.clone(), status]
    );
    assert!(store.notes(SRC, 201, 1_000).unwrap().is_empty());
    assert!(store.notes(SRC, 0, 50).unwrap().is_empty());
    assert_eq!(store.notes(SRC, 0, 51).unwrap(), vec![wide]);
    assert_eq!(store.notes("other", 0, 10).unwrap().len(), 1);
    assert_eq!(
        store.cursor(SRC, "ticket_events").unwrap().as_deref(),
        Some("n2")
    );
}

/// A withdrawn note is gone (a withdrawal of a note never stored changes
/// nothing); in one batch, what came last wins, and a note put after its
/// withdrawal starts a new span.
pub fn a_withdrawn_note_is_gone(backend: Backend) {
    let mut store = backend.open("withdrawn");
    let note = |name: &str, first_at: i64, last_at: i64| {
        Record::Note(NoteRecord {
            kind: "approximated_history".into(),
            name: name.into(),
            first_at,
            last_at,
        })
    };
    let withdraw = |name: &str| {
        Record::Withdraw(NoteKey {
            kind: "approximated_history".into(),
            name: name.into(),
        })
    };
    store
        .apply_page(
            SRC,
            &page("tickets", "w1", vec![note("1", 0, 10), note("2", 0, 10)]),
        )
        .unwrap();
    store
        .apply_page(
            SRC,
            &page("tickets", "w2", vec![withdraw("1"), withdraw("9")]),
        )
        .unwrap();
    let names = |store: &Subject| -> Vec<(String, i64, i64)> {
        store
            .notes(SRC, i64::MIN, i64::MAX)
            .unwrap()
            .into_iter()
            .map(|n| (n.name, n.first_at, n.last_at))
            .collect()
    };
    assert_eq!(names(&store), [("2".to_string(), 0, 10)]);
    assert_eq!(store.count_notes(SRC, "approximated_history").unwrap(), 1);
    store
        .apply_pages(
            SRC,
            &[
                page("tickets", "w3", vec![note("3", 0, 1), withdraw("3")]),
                page("tickets", "w4", vec![withdraw("2"), note("2", 7, 8)]),
            ],
        )
        .unwrap();
    assert_eq!(names(&store), [("2".to_string(), 7, 8)]);
    assert_eq!(store.cursor(SRC, "tickets").unwrap().as_deref(), Some("w4"));
}

/// Every live ticket's id, creation and organization, by id: not deleted
/// ones, not ones whose header has not arrived.
pub fn ticket_metas_list_live_tickets_with_creation_and_organization(backend: Backend) {
    let mut store = backend.open("metas");
    store.apply_page(SRC, &sample_page()).unwrap();
    let t = 1_700_000_000;
    let others = page(
        "tickets",
        "c2",
        vec![
            Record::Ticket(TicketHeader {
                deleted: true,
                ..header("3", t, None)
            }),
            status_event("4", "e1", t, Status::New),
        ],
    );
    store.apply_page(SRC, &others).unwrap();
    assert_eq!(
        store.ticket_metas(SRC).unwrap(),
        vec![
            TicketMeta {
                id: "1".into(),
                created_at: t,
                organization: Some("900".into()),
            },
            TicketMeta {
                id: "2".into(),
                created_at: t,
                organization: None,
            },
        ]
    );
    assert!(store.ticket_metas("other").unwrap().is_empty());
}

/// The tickets that can have a clock in a window stream whole (as
/// `ticket` reads them) and once each: created before its end, with their
/// creation or an event in it, even when their header is older than their
/// events; not deleted ones, not ones created after it, not ones with
/// nothing in it.
pub fn tickets_active_in_a_window_stream_whole_and_once(backend: Backend) {
    let mut store = backend.open("active-in");
    let (from, to) = (1_800_000_000, 1_800_086_400);
    let old = 1_700_000_000;
    let created = |id: &str, at: i64, updated: i64| {
        Record::Ticket(TicketHeader {
            created_at: at,
            ..header(id, updated, Some("900"))
        })
    };
    let records = vec![
        // Created and last changed long before the window.
        created("old", old, old + 100),
        status_event("old", "e1", old, Status::Open),
        // Created before; an event in the window (its header not updated
        // yet), and more in several pages.
        created("reply", old, old + 100),
        status_event("reply", "e1", old, Status::Open),
        // Created in the window.
        created("new", from + 20, from + 30),
        status_event("new", "e1", from + 20, Status::New),
        // Created after the window.
        created("later", to, to + 10),
        status_event("later", "e1", to, Status::New),
        // Deleted.
        Record::Ticket(TicketHeader {
            deleted: true,
            ..header("gone", from + 40, None)
        }),
    ];
    store
        .apply_page(SRC, &page("tickets", "c1", records))
        .unwrap();
    for (n, at) in [(2, from + 10), (3, from + 50)] {
        store
            .apply_page(
                SRC,
                &page(
                    "events",
                    &format!("e{n}"),
                    vec![comment_by("reply", &format!("c{n}"), at, "agent-1")],
                ),
            )
            .unwrap();
    }
    let mut handed: Vec<ActiveTicket> = Vec::new();
    store
        .for_each_ticket_active_in(SRC, from, to, &mut |t| handed.push(t))
        .unwrap();
    // Each ticket comes with when it was last stored: it is "changed since"
    // exactly the instants up to then.
    for t in &handed {
        let id = &t.ticket.id;
        assert!(
            store
                .tickets_changed_since(SRC, t.stored_at)
                .unwrap()
                .contains(id),
            "{id} stored at {}",
            t.stored_at
        );
        assert!(
            !store
                .tickets_changed_since(SRC, t.stored_at + 1)
                .unwrap()
                .contains(id),
            "{id} stored at {}",
            t.stored_at
        );
    }
    let seen: Vec<Ticket> = handed.into_iter().map(|t| t.ticket).collect();
    let mut ids: Vec<&str> = seen.iter().map(|t| t.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["new", "reply"]);
    for t in &seen {
        assert_eq!(Some(t), store.ticket(SRC, &t.id).unwrap().as_ref());
    }
    let reply = seen.iter().find(|t| t.id == "reply").unwrap();
    assert_eq!(reply.events.len(), 3, "{:?}", reply.events);
    let mut none = 0;
    store
        .for_each_ticket_active_in("other", from, to, &mut |_| none += 1)
        .unwrap();
    assert_eq!(none, 0);

    // Clocks saved for both; then "reply" changes (before the window):
    // its clocks are stale and are not handed over.
    for id in ["new", "reply"] {
        store.save_clocks(SRC, id, "h1", id.as_bytes()).unwrap();
    }
    store
        .apply_page(
            SRC,
            &page(
                "events",
                "e9",
                vec![comment_by("reply", "c9", old + 1, "agent-1")],
            ),
        )
        .unwrap();
    // Split anywhere, the tickets that changed last before the split and
    // those active after it are the window's, each once.
    let active = |from: i64| {
        let mut ids = Vec::new();
        store
            .for_each_ticket_active_in(SRC, from, to, &mut |t| ids.push(t.ticket.id))
            .unwrap();
        ids.sort_unstable();
        ids
    };
    for until in [from, from + 15, from + 25, from + 60, to] {
        let mut settled = Vec::new();
        store
            .for_each_settled_ticket(SRC, from, until, &mut |t| {
                let expected = (t.id == "new").then(|| ("h1".to_string(), b"new".to_vec()));
                assert_eq!(t.clocks, expected, "{}: fresh clocks only", t.id);
                settled.push(t.id);
            })
            .unwrap();
        let mut both = active(until);
        both.extend(settled.iter().cloned());
        both.sort_unstable();
        assert_eq!(both, active(from), "split at {until}: settled {settled:?}");
        // In one pass, the same tickets as the two scans give, each whole.
        let mut one_pass: Vec<WindowTicket> = Vec::new();
        store
            .for_each_ticket_in_window(SRC, (from, until, to), &mut |t| one_pass.push(t))
            .unwrap();
        let mut two_passes: Vec<WindowTicket> = Vec::new();
        store
            .for_each_ticket_active_in(SRC, until, to, &mut |t| {
                two_passes.push(WindowTicket::Active(t))
            })
            .unwrap();
        store
            .for_each_settled_ticket(SRC, from, until, &mut |t| {
                two_passes.push(WindowTicket::Settled(t))
            })
            .unwrap();
        let key = |t: &WindowTicket| match t {
            WindowTicket::Active(a) => (0, a.ticket.id.clone()),
            WindowTicket::Settled(s) => (1, s.id.clone()),
        };
        one_pass.sort_by_key(key);
        two_passes.sort_by_key(key);
        assert_eq!(one_pass, two_passes, "split at {until}");
    }
    let mut settled = Vec::new();
    store
        .for_each_settled_ticket(SRC, from, to, &mut |t| settled.push(t))
        .unwrap();
    let new = settled.iter().find(|t| t.id == "new").unwrap();
    assert_eq!(
        (new.created_at, new.organization_id.as_deref()),
        (from + 20, Some("900"))
    );
}

/// Tickets whose stored clocks were computed under another config are
/// listed, in the store's order, deleted ones not.
pub fn tickets_computed_under_another_config_are_listed(backend: Backend) {
    let mut store = backend.open("config");
    store.apply_page(SRC, &sample_page()).unwrap();
    assert!(store
        .ticket_ids_computed_under_other_config(SRC, "hash-a")
        .unwrap()
        .is_empty());
    store
        .save_clocks_batch(
            SRC,
            &[
                ("1".into(), "hash-a".into(), b"[1]".to_vec()),
                ("2".into(), "hash-b".into(), b"[2]".to_vec()),
            ],
        )
        .unwrap();
    let other = |store: &Subject, hash: &str| {
        store
            .ticket_ids_computed_under_other_config(SRC, hash)
            .unwrap()
    };
    assert_eq!(other(&store, "hash-a"), vec!["2"]);
    assert_eq!(other(&store, "hash-b"), vec!["1"]);
    let mut both = other(&store, "hash-c");
    both.sort();
    assert_eq!(both, vec!["1", "2"]);
    let mut gone = header("2", 1_700_001_000, None);
    gone.deleted = true;
    store
        .apply_page(SRC, &page("tickets", "c2", vec![Record::Ticket(gone)]))
        .unwrap();
    assert_eq!(other(&store, "hash-c"), vec!["1"]);
}

/// Every backend names its location (the trait's default says nothing).
pub fn a_store_names_its_location(backend: Backend) {
    let store = backend.open("location");
    let location = store.location();
    assert!(!location.is_empty());
    assert_ne!(location, "unnamed store");
}
