//! Leases on sources in the PostgreSQL store, for several daemons on one
//! database: who may take a lease and when, and that a write under a lease
//! that was lost is refused whole, even when its writer does not know yet.

use std::time::Duration;

use helpdesk_slo::sources::{Record, UserRecord};
use helpdesk_slo::store::{self, Fence, StoreError};

use crate::fixtures::{comment_by, header, page, sample_page, status_event, SRC};
use crate::pg::PgDatabase;

const TTL: Duration = Duration::from_secs(30);

/// Makes every lease on the database expire now.
fn expire_all(db: &PgDatabase) {
    db.sql("UPDATE source_leases SET expires_at = clock_timestamp() - interval '1 second'")
        .unwrap();
}

#[test]
fn a_lease_is_taken_by_one_instance_until_it_expires_or_is_given_up() {
    let db = PgDatabase::new("lease_take");
    let store = store::open(db.url()).unwrap();
    let mut a = store.leases().unwrap().expect("PostgreSQL has leases");
    let mut b = store.leases().unwrap().expect("PostgreSQL has leases");

    let first = a.acquire(SRC, "a", TTL).unwrap().expect("a free lease");
    assert_eq!(first.token, 1);
    // Held: b waits, another source is free for it.
    assert_eq!(b.acquire(SRC, "b", TTL).unwrap(), None);
    assert_eq!(
        b.acquire("other", "b", TTL).unwrap().map(|f| f.token),
        Some(1)
    );
    assert!(a.renew(SRC, &first, TTL).unwrap());

    // Expired but not taken: its holder renews it (nobody else wrote).
    expire_all(&db);
    assert!(a.renew(SRC, &first, TTL).unwrap());
    assert_eq!(b.acquire(SRC, "b", TTL).unwrap(), None);

    // Expired: b takes it with a new token, and a's renewal fails.
    expire_all(&db);
    let second = b.acquire(SRC, "b", TTL).unwrap().expect("an expired lease");
    assert_eq!(second.token, 2);
    assert!(!a.renew(SRC, &first, TTL).unwrap());
    assert!(b.renew(SRC, &second, TTL).unwrap());

    // Given up: a takes it at once.
    b.release(SRC, &second).unwrap();
    let third = a.acquire(SRC, "a", TTL).unwrap().expect("a released lease");
    assert_eq!(third.token, 3);

    // The same instance name again (a restart) takes it over, with a new
    // token that fences the old process.
    let fourth = b.acquire(SRC, "a", TTL).unwrap().expect("its own lease");
    assert_eq!(fourth.token, 4);
    assert!(!a.renew(SRC, &third, TTL).unwrap());

    let holders = a.holders().unwrap();
    let held: Vec<(&str, &str, i64)> = holders
        .iter()
        .map(|h| (h.source.as_str(), h.instance.as_str(), h.token))
        .collect();
    assert_eq!(held, vec![("other", "b", 1), (SRC, "a", 4)]);
    // "other" expired with the rest above; SRC's was just taken.
    assert!(holders[0].expires_in < 0.0, "{holders:?}");
    assert!(holders[1].expires_in > 20.0, "{holders:?}");
}

#[test]
fn a_write_under_a_lost_lease_is_refused_and_writes_nothing() {
    let db = PgDatabase::new("lease_fence");
    let mut old = store::open(db.url()).unwrap();
    let mut new = store::open(db.url()).unwrap();
    let mut leases = old.leases().unwrap().unwrap();

    let held = leases.acquire(SRC, "old", TTL).unwrap().unwrap();
    old.fence(SRC, Some(held.clone()));
    old.apply_page(SRC, &sample_page()).unwrap();
    assert_eq!(
        old.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("cursor-1")
    );

    // The lease expires and another instance takes it; the old holder
    // does not know yet and goes on writing.
    expire_all(&db);
    let taken = leases.acquire(SRC, "new", TTL).unwrap().unwrap();
    new.fence(SRC, Some(taken));
    let late = page(
        "tickets",
        "cursor-late",
        vec![status_event(
            "1",
            "late",
            1_700_001_000,
            helpdesk_slo::policy::spec::Status::Solved,
        )],
    );
    match old.apply_page(SRC, &late) {
        Err(StoreError::NotOwner {
            source_name,
            instance,
            ..
        }) => {
            assert_eq!(source_name, SRC);
            assert_eq!(instance, "old");
        }
        other => panic!("the late write was not refused: {other:?}"),
    }
    assert!(matches!(
        old.record_poll(SRC, 1_700_001_000),
        Err(StoreError::NotOwner { .. })
    ));
    let clocks = vec![("1".to_string(), "hash".to_string(), vec![1u8, 2, 3])];
    assert!(matches!(
        old.save_clocks_as_of(SRC, &clocks, old.generation()),
        Err(StoreError::NotOwner { .. })
    ));
    // Nothing of it was written: neither the cursor nor the event.
    assert_eq!(
        new.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("cursor-1")
    );
    let events = new.ticket(SRC, "1").unwrap().unwrap().events.len();
    assert_eq!(events, old_events(&sample_page()));
    assert!(new.clocks(SRC, "1").unwrap().is_none());

    // The new holder writes.
    new.apply_page(SRC, &late).unwrap();
    assert_eq!(
        new.cursor(SRC, "tickets").unwrap().as_deref(),
        Some("cursor-late")
    );
}

/// How many events of ticket 1 a page carries.
fn old_events(p: &helpdesk_slo::sources::Page) -> usize {
    p.records
        .iter()
        .filter(|r| matches!(r, helpdesk_slo::sources::Record::Event(e) if e.ticket_id == "1"))
        .count()
}

#[test]
fn a_fenced_store_refuses_sources_it_holds_no_lease_on_and_an_unfenced_one_writes_all() {
    let db = PgDatabase::new("lease_unheld");
    let mut fenced = store::open(db.url()).unwrap();
    let mut leases = fenced.leases().unwrap().unwrap();
    let held = leases.acquire(SRC, "a", TTL).unwrap().unwrap();
    fenced.fence(SRC, Some(held));
    fenced.apply_page(SRC, &sample_page()).unwrap();
    assert!(matches!(
        fenced.apply_page("elsewhere", &sample_page()),
        Err(StoreError::NotOwner { .. })
    ));
    // Giving the fence up refuses the source too.
    fenced.fence(SRC, None);
    assert!(matches!(
        fenced.record_poll(SRC, 1),
        Err(StoreError::NotOwner { .. })
    ));
    // A store never fenced (a single daemon, the report, tests) writes.
    let mut plain = store::open(db.url()).unwrap();
    plain.apply_page("elsewhere", &sample_page()).unwrap();
}

#[test]
fn a_takeover_waits_for_the_write_committing_under_the_old_lease() {
    let db = PgDatabase::new("lease_wait");
    let store = store::open(db.url()).unwrap();
    let mut a = store.leases().unwrap().unwrap();
    let mut b = store.leases().unwrap().unwrap();
    let held: Fence = a.acquire(SRC, "a", TTL).unwrap().unwrap();
    // A write transaction of the holder in progress: it holds the row as
    // every fenced write does, then the lease expires.
    let hold = db.hold_in_transaction(&format!(
        "SELECT 1 FROM source_leases WHERE source = '{SRC}' AND token = {} FOR KEY SHARE",
        held.token
    ));
    expire_all(&db);
    // The standby cannot take it while the write is open: it waits for
    // the row's lock (at most two seconds), then says the lease is held.
    let started = std::time::Instant::now();
    assert_eq!(b.acquire(SRC, "b", TTL).unwrap(), None);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // Once the write ends, the expired lease is free.
    drop(hold);
    assert_eq!(b.acquire(SRC, "b", TTL).unwrap().map(|f| f.token), Some(2));
}

/// A ticket whose row a store created under its lease has its later
/// references copied in (the store knows the ticket has no others): a
/// change of the user they name marks it stale like any. A reference
/// stored meanwhile by someone else (which no daemon does under another's
/// lease: this stands for a wrong guess) fails the batch whole on the
/// table's key, and the batch applied again is stored.
#[test]
fn references_of_a_ticket_created_under_a_lease_are_copied_and_a_wrong_guess_fails_the_batch() {
    let db = PgDatabase::new("lease_refs");
    let mut s = store::open(db.url()).unwrap();
    let mut leases = s.leases().unwrap().unwrap();
    let held = leases.acquire(SRC, "a", TTL).unwrap().unwrap();
    s.fence(SRC, Some(held));
    let ticket = Record::Ticket(header("7", 1_700_000_100, None));
    s.apply_page(SRC, &page("tickets", "t-1", vec![ticket]))
        .unwrap();
    let comment = comment_by("7", "c1", 1_700_000_050, "agent-1");
    s.apply_page(SRC, &page("events", "e-1", vec![comment]))
        .unwrap();
    let refs = |db: &PgDatabase| {
        db.query_text(
            "SELECT string_agg(r.kind || ':' || r.ref, ',' ORDER BY r.ref) FROM ticket_refs r \
             JOIN tickets t ON t.key = r.key WHERE t.id = '7'",
        )
        .unwrap()
    };
    assert_eq!(refs(&db).as_deref(), Some("u:agent-1"));
    s.save_clocks(SRC, "7", "hash", &[1, 2, 3]).unwrap();
    assert!(s.stale_ticket_ids(SRC).unwrap().is_empty());
    let user = Record::User(UserRecord {
        id: "agent-1".into(),
        agent: true,
    });
    s.apply_page(SRC, &page("users", "u-1", vec![user]))
        .unwrap();
    assert_eq!(s.stale_ticket_ids(SRC).unwrap(), vec!["7".to_string()]);

    // Someone stored the pair the next batch brings.
    db.sql(
        "INSERT INTO ticket_refs (source, kind, ref, key) \
         SELECT source, 'u', 'agent-2', key FROM tickets WHERE id = '7'",
    )
    .unwrap();
    let second = page(
        "events",
        "e-2",
        vec![comment_by("7", "c2", 1_700_000_060, "agent-2")],
    );
    match s.apply_page(SRC, &second) {
        Err(StoreError::Backend { .. }) => {}
        other => panic!("the batch was not refused on the key: {other:?}"),
    }
    assert_eq!(s.cursor(SRC, "events").unwrap().as_deref(), Some("e-1"));
    assert_eq!(s.ticket(SRC, "7").unwrap().unwrap().events.len(), 1);
    // Applied again, without the guess.
    s.apply_page(SRC, &second).unwrap();
    assert_eq!(s.cursor(SRC, "events").unwrap().as_deref(), Some("e-2"));
    assert_eq!(s.ticket(SRC, "7").unwrap().unwrap().events.len(), 2);
    assert_eq!(refs(&db).as_deref(), Some("u:agent-1,u:agent-2"));
}

/// A store writing under a lease remembers the rows and stale marks it
/// committed, and skips reading those rows and marking those tickets
/// again. What it remembers holds for its token only: once another
/// instance wrote the source under a lease of its own (an event, the
/// ticket's clocks saved, so its mark cleared), the first store's next
/// batch under a new lease reads the row again and marks the ticket
/// stale again. And its own saves clear what it remembers of marks.
#[test]
fn rows_and_stale_marks_remembered_under_a_lease_are_read_again_under_the_next() {
    let db = PgDatabase::new("lease_rows");
    let mut a = store::open(db.url()).unwrap();
    let mut b = store::open(db.url()).unwrap();
    let mut leases = a.leases().unwrap().unwrap();
    let first = leases.acquire(SRC, "a", TTL).unwrap().unwrap();
    a.fence(SRC, Some(first));
    let open = helpdesk_slo::policy::spec::Status::Open;
    let pending = helpdesk_slo::policy::spec::Status::Pending;
    let ticket = Record::Ticket(header("7", 1_700_000_100, None));
    a.apply_page(SRC, &page("tickets", "t-1", vec![ticket]))
        .unwrap();
    let e1 = status_event("7", "e1", 1_700_000_010, open);
    a.apply_page(SRC, &page("events", "e-1", vec![e1])).unwrap();
    assert_eq!(a.stale_ticket_ids(SRC).unwrap(), vec!["7".to_string()]);
    // Its own save clears the mark, and the next change marks it again.
    a.save_clocks(SRC, "7", "hash", &[1]).unwrap();
    assert!(a.stale_ticket_ids(SRC).unwrap().is_empty());
    let e2 = status_event("7", "e2", 1_700_000_020, pending);
    assert_eq!(
        a.apply_page(SRC, &page("events", "e-2", vec![e2])).unwrap(),
        vec!["7".to_string()]
    );
    assert_eq!(a.stale_ticket_ids(SRC).unwrap(), vec!["7".to_string()]);
    a.save_clocks(SRC, "7", "hash", &[2]).unwrap();
    // The same header again changes nothing; a newer one does.
    let same = Record::Ticket(header("7", 1_700_000_100, None));
    assert!(a
        .apply_page(SRC, &page("tickets", "t-2", vec![same]))
        .unwrap()
        .is_empty());
    let newer = Record::Ticket(header("7", 1_700_000_200, Some("org-1")));
    assert_eq!(
        a.apply_page(SRC, &page("tickets", "t-3", vec![newer]))
            .unwrap(),
        vec!["7".to_string()]
    );
    a.save_clocks(SRC, "7", "hash", &[3]).unwrap();

    // b takes the lease over and adds an event later than a's, then saves
    // the ticket's clocks (its mark cleared).
    expire_all(&db);
    let second = leases.acquire(SRC, "b", TTL).unwrap().unwrap();
    b.fence(SRC, Some(second));
    let e3 = status_event("7", "e3", 1_700_000_090, open);
    b.apply_page(SRC, &page("events", "e-3", vec![e3])).unwrap();
    b.save_clocks(SRC, "7", "hash", &[4]).unwrap();
    assert!(b.stale_ticket_ids(SRC).unwrap().is_empty());

    // a, under a new lease, brings an event between a's and b's: the row
    // b left is read (its chunks and latest event), the ticket marked.
    expire_all(&db);
    let third = leases.acquire(SRC, "a", TTL).unwrap().unwrap();
    a.fence(SRC, Some(third));
    let e4 = status_event("7", "e4", 1_700_000_030, pending);
    assert_eq!(
        a.apply_page(SRC, &page("events", "e-4", vec![e4])).unwrap(),
        vec!["7".to_string()]
    );
    assert_eq!(a.stale_ticket_ids(SRC).unwrap(), vec!["7".to_string()]);
    let t = a.ticket(SRC, "7").unwrap().unwrap();
    let ids: Vec<&str> = t.events.iter().filter_map(|e| e.id.as_deref()).collect();
    assert_eq!(ids, ["e1", "e2", "e4", "e3"]);
    assert_eq!(
        db.query_text("SELECT organization_id FROM tickets WHERE id = '7'")
            .unwrap()
            .as_deref(),
        Some("org-1")
    );
    assert_eq!(
        db.query_text("SELECT chunks::text FROM tickets WHERE id = '7'")
            .unwrap()
            .as_deref(),
        Some("4")
    );
}

/// A reader opened from a store writing under a lease reads the tickets
/// whose rows the writer remembers by their keys, the others by id, in
/// one statement: what it reads is what a store that remembers nothing
/// reads (by id alone), for every kind of ticket, a repeated, unknown,
/// deleted or header-less one included, and both the full tickets and
/// their timelines.
#[test]
fn a_reader_reads_the_remembered_tickets_by_key_as_a_store_by_id_does() {
    let db = PgDatabase::new("lease_reader_keys");
    let mut a = store::open(db.url()).unwrap();
    let mut leases = a.leases().unwrap().unwrap();
    let lease = leases.acquire(SRC, "a", TTL).unwrap().unwrap();
    a.fence(SRC, Some(lease));
    a.apply_page(SRC, &sample_page()).unwrap();
    let open = helpdesk_slo::policy::spec::Status::Open;
    let mut gone = header("3", 1_700_000_400, None);
    gone.deleted = true;
    let records = vec![
        Record::Ticket(header("3", 1_700_000_100, None)),
        status_event("3", "e1", 1_700_000_010, open),
        Record::Ticket(gone),
        // Events of a ticket whose header has not come.
        status_event("4", "e1", 1_700_000_010, open),
        Record::User(UserRecord {
            id: "agent-2".into(),
            agent: true,
        }),
        comment_by("1", "e4", 1_700_000_200, "agent-2"),
        comment_by("2", "e3", 1_700_000_210, "someone"),
    ];
    a.apply_page(SRC, &page("tickets", "t-2", records)).unwrap();
    // A ticket written before the reader's snapshot by a store that is not
    // the reader's: read by id.
    let mut other = store::open(db.url()).unwrap();
    let other_lease = leases.acquire("other", "a", TTL).unwrap().unwrap();
    other.fence("other", Some(other_lease));
    other
        .apply_page(
            "other",
            &page(
                "tickets",
                "o-1",
                vec![Record::Ticket(header("1", 1_700_000_500, None))],
            ),
        )
        .unwrap();

    let reader = a.reader().unwrap().unwrap();
    let fresh = store::open(db.url()).unwrap();
    let ids: Vec<String> = ["2", "1", "3", "4", "9", "1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let by_key = reader.tickets(SRC, &ids).unwrap();
    assert_eq!(by_key, fresh.tickets(SRC, &ids).unwrap());
    let read: Vec<(&str, usize)> = by_key
        .iter()
        .map(|t| (t.id.as_str(), t.events.len()))
        .collect();
    assert_eq!(read, [("2", 3), ("1", 4), ("1", 4)]);
    assert_eq!(
        reader.timelines(SRC, &ids).unwrap(),
        fresh.timelines(SRC, &ids).unwrap()
    );
    // The other source's ticket of the same id is its own.
    let theirs = reader.tickets("other", &ids[1..2]).unwrap();
    assert_eq!(theirs, fresh.tickets("other", &ids[1..2]).unwrap());
    assert_eq!(theirs.len(), 1);
    assert!(theirs[0].events.is_empty());
}
