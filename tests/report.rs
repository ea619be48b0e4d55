//! Monthly reports, end to end from scripted store contents: golden files
//! for each seed policy's example config, month boundaries in the
//! calendar's zone, a DST month, a quarter end for credits and an empty
//! month; byte-identical output; figures against a hand count; errors.
//!
//! Golden files live in `tests/testdata/reports/`. After a deliberate change
//! to the report, rewrite them with
//!
//! ```sh
//! UPDATE_GOLDEN=1 cargo test --test report
//! ```
//!
//! and review the diff like code.
//!
//! Stores are built by applying hand-made source pages to a SQLite store on
//! a temporary file. The store stamps each ticket's arrival with the wall
//! clock, which a golden file cannot depend on, so the store is wrapped in
//! [`Arrivals`], which answers when each ticket was stored from scripted arrival
//! times and passes everything else through.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use helpdesk_slo::config_files;
use helpdesk_slo::engine::timeline::Author;
use helpdesk_slo::engine::Ticket;
use helpdesk_slo::policy::spec::Status;
use helpdesk_slo::policy::Config;
use helpdesk_slo::report::figures::compute;
use helpdesk_slo::report::gather::gather;
use helpdesk_slo::report::{
    latest, month_files, month_report, write_month, Month, ReportError, ReportOptions,
};
use helpdesk_slo::sources::{
    ChangeRecord, EventRecord, NoteRecord, OrganizationRecord, Page, Record, TicketHeader,
    UserRecord,
};
use helpdesk_slo::store::{
    ActiveTicket, SettledTicket, SqliteStore, Store, StoreError, StoreStats, StoredClocks,
};
use helpdesk_slo::time::parse_instant;

mod common;
use common::scratch;

const SRC: &str = "zendesk";

fn t(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

/// A SQLite store whose "changed since" answers come from scripted arrival
/// times (ticket id → when its data last arrived).
struct Arrivals {
    inner: SqliteStore,
    arrived: BTreeMap<String, i64>,
}

impl Store for Arrivals {
    fn apply_page(&mut self, source: &str, page: &Page) -> Result<Vec<String>, StoreError> {
        self.inner.apply_page(source, page)
    }
    fn cursor(&self, source: &str, stream: &str) -> Result<Option<String>, StoreError> {
        self.inner.cursor(source, stream)
    }
    fn notes(&self, source: &str, from: i64, to: i64) -> Result<Vec<NoteRecord>, StoreError> {
        self.inner.notes(source, from, to)
    }
    fn ticket(&self, source: &str, id: &str) -> Result<Option<Ticket>, StoreError> {
        self.inner.ticket(source, id)
    }
    fn tickets(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError> {
        self.inner.tickets(source, ids)
    }
    fn ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        self.inner.ticket_ids(source)
    }
    fn stale_ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        self.inner.stale_ticket_ids(source)
    }
    fn ticket_ids_computed_under_other_config(
        &self,
        source: &str,
        config_hash: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.inner
            .ticket_ids_computed_under_other_config(source, config_hash)
    }
    fn save_clocks(
        &mut self,
        source: &str,
        ticket_id: &str,
        config_hash: &str,
        clocks: &[u8],
    ) -> Result<(), StoreError> {
        self.inner
            .save_clocks(source, ticket_id, config_hash, clocks)
    }
    fn save_clocks_batch(
        &mut self,
        source: &str,
        clocks: &[(String, String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        self.inner.save_clocks_batch(source, clocks)
    }
    fn clocks(
        &self,
        source: &str,
        ticket_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        self.inner.clocks(source, ticket_id)
    }
    fn all_clocks(&self, source: &str) -> Result<Vec<StoredClocks>, StoreError> {
        self.inner.all_clocks(source)
    }
    fn tickets_changed_since(&self, source: &str, since: i64) -> Result<Vec<String>, StoreError> {
        let live = self.inner.ticket_ids(source)?;
        Ok(live
            .into_iter()
            .filter(|id| self.arrived.get(id).is_some_and(|&at| at >= since))
            .collect())
    }
    fn for_each_ticket_active_in(
        &self,
        source: &str,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(ActiveTicket),
    ) -> Result<(), StoreError> {
        self.inner
            .for_each_ticket_active_in(source, from, to, &mut |t| {
                let stored_at = self.arrived.get(&t.ticket.id).copied().unwrap_or(i64::MIN);
                f(ActiveTicket { stored_at, ..t });
            })
    }
    fn for_each_settled_ticket(
        &self,
        source: &str,
        from: i64,
        until: i64,
        f: &mut dyn FnMut(SettledTicket),
    ) -> Result<(), StoreError> {
        self.inner.for_each_settled_ticket(source, from, until, f)
    }
    fn ticket_metas(
        &self,
        source: &str,
    ) -> Result<Vec<helpdesk_slo::store::TicketMeta>, StoreError> {
        self.inner.ticket_metas(source)
    }
    fn record_poll(&mut self, source: &str, at: i64) -> Result<(), StoreError> {
        self.inner.record_poll(source, at)
    }
    fn polls(&self, source: &str, from: i64, to: i64) -> Result<Vec<i64>, StoreError> {
        self.inner.polls(source, from, to)
    }
    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.inner.stats()
    }
}

/// A scripted ticket.
struct Script {
    id: &'static str,
    org: Option<&'static str>,
    created: &'static str,
    priority: &'static str,
    tags: &'static [&'static str],
    /// `(instant, what)`: `reply`, `customer`, `note`, `pending`, `open`,
    /// `solved`, or `priority:VALUE`.
    events: &'static [(&'static str, &'static str)],
    /// When its data arrived in the store, if not a minute after its last
    /// event.
    arrived: Option<&'static str>,
}

const fn tk(
    id: &'static str,
    org: Option<&'static str>,
    created: &'static str,
    priority: &'static str,
    events: &'static [(&'static str, &'static str)],
) -> Script {
    Script {
        id,
        org,
        created,
        priority,
        tags: &[],
        events,
        arrived: None,
    }
}

fn change(what: &str) -> ChangeRecord {
    match what {
        "reply" => ChangeRecord::Comment {
            author: Author::Agent,
            author_id: Some("agent-1".into()),
            public: true,
        },
        "note" => ChangeRecord::Comment {
            author: Author::Agent,
            author_id: Some("agent-1".into()),
            public: false,
        },
        "customer" => ChangeRecord::Comment {
            author: Author::Requester,
            author_id: Some("req-1".into()),
            public: true,
        },
        "pending" => ChangeRecord::Status {
            value: Status::Pending,
        },
        "open" => ChangeRecord::Status {
            value: Status::Open,
        },
        "solved" => ChangeRecord::Status {
            value: Status::Solved,
        },
        p => ChangeRecord::Priority {
            value: Some(p.strip_prefix("priority:").expect(p).to_string()),
        },
    }
}

/// The records of some tickets: their headers and events.
fn ticket_records(scripts: &[Script]) -> Vec<Record> {
    let mut out = Vec::new();
    for s in scripts {
        let last = s
            .events
            .iter()
            .map(|(at, _)| t(at))
            .fold(t(s.created), i64::max);
        out.push(Record::Ticket(TicketHeader {
            id: s.id.into(),
            created_at: t(s.created),
            updated_at: last,
            url: Some(format!(
                "https://example.zendesk.com/agent/tickets/{}",
                s.id
            )),
            organization_id: s.org.map(Into::into),
            requester_id: Some("req-1".into()),
            tags: s.tags.iter().map(|x| x.to_string()).collect(),
            fields: Default::default(),
            deleted: false,
            status: None,
            priority: None,
            group: None,
        }));
        out.push(Record::Event(EventRecord {
            ticket_id: s.id.into(),
            id: "p0".into(),
            at: t(s.created),
            change: ChangeRecord::Priority {
                value: Some(s.priority.into()),
            },
        }));
        for (i, (at, what)) in s.events.iter().enumerate() {
            out.push(Record::Event(EventRecord {
                ticket_id: s.id.into(),
                id: format!("e{i}"),
                at: t(at),
                change: change(what),
            }));
        }
    }
    out
}

fn org(id: &str, name: &str, tags: &[&str]) -> Record {
    Record::Organization(OrganizationRecord {
        id: id.into(),
        name: Some(name.into()),
        tags: tags.iter().map(|x| x.to_string()).collect(),
        fields: Default::default(),
    })
}

/// A store holding `orgs` and `scripts`, one page per ticket (in reverse
/// order when `reversed`), and completed polls at `polls`.
fn build(
    dir: &Path,
    orgs: Vec<Record>,
    scripts: &[Script],
    polls: &[i64],
    reversed: bool,
) -> Arrivals {
    let inner = SqliteStore::open(dir.join("store.sqlite")).unwrap();
    let mut store = Arrivals {
        inner,
        arrived: BTreeMap::new(),
    };
    let mut first = orgs;
    first.push(Record::User(UserRecord {
        id: "agent-1".into(),
        agent: true,
    }));
    first.push(Record::User(UserRecord {
        id: "req-1".into(),
        agent: false,
    }));
    let mut pages = vec![first];
    for s in scripts {
        pages.push(ticket_records(std::slice::from_ref(s)));
    }
    if reversed {
        pages.reverse();
    }
    for (i, records) in pages.into_iter().enumerate() {
        let page = Page {
            stream: "tickets".into(),
            records,
            cursor: format!("c{i}"),
            caught_up: false,
        };
        store.apply_page(SRC, &page).unwrap();
    }
    for s in scripts {
        let last = s
            .events
            .iter()
            .map(|(at, _)| t(at))
            .fold(t(s.created), i64::max);
        store
            .arrived
            .insert(s.id.into(), s.arrived.map_or(last + 60, t));
    }
    for &p in polls {
        store.record_poll(SRC, p).unwrap();
    }
    store
}

/// Polls every hour in `[from, to]`, except in `skip` ranges.
fn hourly(from: &str, to: &str, skip: &[(&str, &str)]) -> Vec<i64> {
    let mut out = Vec::new();
    let mut at = t(from);
    while at <= t(to) {
        if !skip.iter().any(|(a, b)| at > t(a) && at < t(b)) {
            out.push(at);
        }
        at += 3600;
    }
    out
}

fn example(name: &str) -> Config {
    config_files::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .unwrap()
}

fn opts() -> ReportOptions {
    ReportOptions {
        sources: vec![SRC.into()],
        ..ReportOptions::default()
    }
}

/// Compares with (or, with UPDATE_GOLDEN=1, rewrites) a golden file.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata/reports")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run UPDATE_GOLDEN=1 cargo test --test report",
            path.display()
        )
    });
    if want != actual {
        let line = want
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the golden file at line {}:\n  want: {:?}\n  got:  {:?}\n(UPDATE_GOLDEN=1 rewrites it; review the diff)",
            line + 1,
            want.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

// ---------------------------------------------------------------------------
// Celigo (seed 003): three months of Q4 2026 on Essential, Preferred and
// Premier, with credits, exclusions, a ticket on no plan, an unmapped
// priority, a polling gap, late data and a ticket opened 23:30 Pacific on
// December 31st.

const CELIGO: &[Script] = &[
    // Preferred, high: first response 8h, follow-up 1d; both met.
    tk(
        "1001",
        Some("100"),
        "2026-10-06T16:00:00Z",
        "p2",
        &[
            ("2026-10-06T17:00:00Z", "reply"),
            ("2026-10-07T15:00:00Z", "solved"),
        ],
    ),
    // Preferred, urgent on the 24x7 after-hours calendar: created Friday
    // 23:00 Pacific, outside the plan's calendar but inside urgent support
    // hours (24x7), so its clocks are SLA events for credits; replied after
    // 3h30m against 2h.
    tk(
        "1002",
        Some("100"),
        "2026-10-10T06:00:00Z",
        "p1",
        &[
            ("2026-10-10T09:30:00Z", "reply"),
            ("2026-10-11T09:30:00Z", "solved"),
        ],
    ),
    // Preferred, high: the follow-up (1d = 24h) runs 1h, pauses while
    // pending, runs again from the customer's answer for 25h: breached with
    // paused time. The next window, to the solve, is met.
    tk(
        "1003",
        Some("100"),
        "2026-11-03T17:00:00Z",
        "p2",
        &[
            ("2026-11-03T18:00:00Z", "reply"),
            ("2026-11-03T19:00:00Z", "pending"),
            ("2026-11-05T19:00:00Z", "customer"),
            ("2026-11-05T19:00:00Z", "open"),
            ("2026-11-06T20:00:00Z", "reply"),
            ("2026-11-07T20:00:00Z", "solved"),
        ],
    ),
    // Preferred, high reclassified urgent an hour in: re-targeted to 2h on
    // the 24x7 calendar and breached; the severity change shows.
    tk(
        "1004",
        Some("100"),
        "2026-12-01T17:00:00Z",
        "p2",
        &[
            ("2026-12-01T18:00:00Z", "priority:p1"),
            ("2026-12-02T03:00:00Z", "reply"),
            ("2026-12-03T03:00:00Z", "solved"),
        ],
    ),
    // Preferred, low: breached, but low priority is no SLA event.
    tk(
        "1005",
        Some("100"),
        "2026-12-08T17:00:00Z",
        "p4",
        &[
            ("2026-12-11T17:00:00Z", "reply"),
            ("2026-12-11T18:00:00Z", "solved"),
        ],
    ),
    // Premier, urgent: met, and a follow-up met by the solve.
    tk(
        "2001",
        Some("200"),
        "2026-10-20T10:00:00Z",
        "p1",
        &[
            ("2026-10-20T10:30:00Z", "reply"),
            ("2026-10-20T20:00:00Z", "solved"),
        ],
    ),
    // Premier, high, custom code: excluded (its data arrived in December).
    Script {
        id: "2002",
        org: Some("200"),
        created: "2026-11-15T10:00:00Z",
        priority: "p2",
        tags: &["custom_code"],
        events: &[
            ("2026-11-15T15:00:00Z", "reply"),
            ("2026-11-16T15:00:00Z", "solved"),
        ],
        arrived: Some("2026-12-02T08:00:00Z"),
    },
    // Premier, normal, never answered: breached and still open at the
    // cut-off.
    tk("2003", Some("200"), "2026-12-30T08:00:00Z", "p3", &[]),
    // Premier: opened 23:30 Pacific on December 31st (07:30Z on January
    // 1st): counted in December; its data arrived after the month closed.
    tk(
        "2004",
        Some("200"),
        "2027-01-01T07:30:00Z",
        "p2",
        &[("2027-01-01T08:00:00Z", "reply")],
    ),
    // Essential, high: 1d = 9h, met exactly at the due (Tue 09:00 to Wed
    // 09:00 Pacific is 9 business hours).
    tk(
        "3001",
        Some("300"),
        "2026-11-24T17:00:00Z",
        "p2",
        &[
            ("2026-11-25T17:00:00Z", "reply"),
            ("2026-11-25T18:00:00Z", "solved"),
        ],
    ),
    // Essential, a priority no severity maps (default: normal).
    tk(
        "3002",
        Some("300"),
        "2026-12-02T17:00:00Z",
        "p5",
        &[
            ("2026-12-02T18:00:00Z", "reply"),
            ("2026-12-02T19:00:00Z", "solved"),
        ],
    ),
    // An organization on no plan.
    tk(
        "4001",
        Some("400"),
        "2026-12-03T17:00:00Z",
        "p2",
        &[("2026-12-03T18:00:00Z", "reply")],
    ),
];

fn celigo_orgs() -> Vec<Record> {
    vec![
        org("100", "Acme", &["csp_preferred"]),
        org("200", "Globex", &["csp_premier"]),
        org("300", "Initech", &["csp_essential"]),
        org("400", "Umbrella", &[]),
    ]
}

fn celigo_store(dir: &Path, reversed: bool) -> Arrivals {
    let polls = hourly(
        "2026-10-01T00:00:00Z",
        "2027-01-01T14:00:00Z",
        &[("2026-12-10T02:00:00Z", "2026-12-10T09:00:00Z")],
    );
    build(dir, celigo_orgs(), CELIGO, &polls, reversed)
}

#[test]
fn celigo_quarter_end_and_quarter_to_date() {
    let dir = scratch("celigo");
    let store = celigo_store(dir.path(), false);
    let cfg = example("celigo.yaml");
    // First issued at 06:00 on January 1st, before 2004's data arrived:
    // this is a re-issue.
    let reissue = ReportOptions {
        first_issue: Some(t("2027-01-01T06:00:00Z")),
        ..opts()
    };
    let dec = month_report(&store, &cfg, "2026-12".parse().unwrap(), &reissue).unwrap();
    golden("celigo-2026-12.md", &dec);
    let nov = month_report(&store, &cfg, "2026-11".parse().unwrap(), &opts()).unwrap();
    golden("celigo-2026-11.md", &nov);
    // The quarter is final in December, provisional in November.
    assert!(dec.contains("### `celigo-sla`: Q4 2026\n"), "{dec}");
    assert!(nov.contains("### `celigo-sla`: Q4 2026 to date\n"), "{nov}");
    let filtered = ReportOptions {
        plan: Some("preferred".into()),
        customer: Some("acme".into()),
        ..opts()
    };
    let acme = month_report(&store, &cfg, "2026-12".parse().unwrap(), &filtered).unwrap();
    golden("celigo-2026-12-plan-preferred-customer-acme.md", &acme);
    assert!(!acme.contains("Globex"), "{acme}");
}

#[test]
fn celigo_credits_match_a_hand_count() {
    let dir = scratch("celigo-credits");
    let store = celigo_store(dir.path(), false);
    let cfg = example("celigo.yaml");
    let data = gather(&store, &cfg, "2026-12".parse().unwrap(), &opts()).unwrap();
    let fig = compute(&cfg.policy, &data);
    let rows: Vec<(String, String, u64, u64, f64)> = fig.credits[0]
        .rows
        .iter()
        .map(|(label, c)| {
            (
                label.clone(),
                cfg.policy.plans[c.plan].name.clone(),
                c.events,
                c.violations,
                c.credit,
            )
        })
        .collect();
    // Acme (Preferred), tickets created in Q4 during support hours, low
    // excluded: 1001 (first response met, follow-up met), 1002 (urgent,
    // created at night but in 24x7 urgent support: first response
    // breached, follow-up met at its due), 1003 (first response met,
    // follow-up #1 breached, #2 met), 1004 (first response breached; its
    // follow-up window from the reply to the solve met): 9 events, 3
    // violations (33.3%: above 10.1%, 30% credit). 1005 is low.
    // Globex (Premier, 24x7): 2001 (met, met), 2003 (open, breached first
    // response), 2004 (met; its follow-up still open and not due): 4
    // events, 1 violation (25%: 30%). 2002 is excluded (custom code).
    assert_eq!(
        rows,
        vec![
            (
                "Acme (100)".to_string(),
                "preferred".to_string(),
                9,
                3,
                0.30
            ),
            (
                "Globex (200)".to_string(),
                "premier".to_string(),
                4,
                1,
                0.30
            ),
        ]
    );
    // The ticket opened 23:30 Pacific on December 31st counts in December.
    let plan = cfg.policy.plan_id("premier").unwrap();
    let premier = fig.plans.iter().find(|p| p.plan == plan).unwrap();
    // 2003's and 2004's first responses; 2004's follow-up started at its
    // reply, 00:00 Pacific on January 1st: January's.
    assert_eq!(premier.month.total(), 2);
    assert_eq!(premier.month.met, 1);
    assert_eq!(premier.month.breached, 1);
    assert_eq!(fig.quality.late.len(), 1);
    assert_eq!(data.tickets[fig.quality.late[0]].id, "2004");
    // The polling gap of December 10th: 7 hours between completed polls.
    assert_eq!(fig.quality.gaps.len(), 1);
    assert_eq!(
        fig.quality.gaps[0].to - fig.quality.gaps[0].from,
        7 * 3600,
        "02:00 to 09:00: the polls at 03:00..08:00 are missing"
    );
}

#[test]
fn the_same_store_contents_give_byte_identical_reports() {
    let a = scratch("same-a");
    let b = scratch("same-b");
    let cfg = example("celigo.yaml");
    let m: Month = "2026-12".parse().unwrap();
    let first = celigo_store(a.path(), false);
    // The same records applied in the opposite order, to another file.
    let second = celigo_store(b.path(), true);
    let one = month_report(&first, &cfg, m, &opts()).unwrap();
    let two = month_report(&first, &cfg, m, &opts()).unwrap();
    let three = month_report(&second, &cfg, m, &opts()).unwrap();
    assert_eq!(one, two);
    assert_eq!(one, three);
    // Written files are the same bytes, and the latest is found.
    let out = ReportOptions {
        out: Some(a.path().join("reports")),
        ..opts()
    };
    let path = write_month(&first, &cfg, m, &out).unwrap();
    assert_eq!(path.file_name().unwrap(), "2026-12.md");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), one);
    write_month(&first, &cfg, m.prev(), &out).unwrap();
    assert_eq!(latest(&a.path().join("reports")), Some(path));
}

// ---------------------------------------------------------------------------
// Workato (seed 000): March 2026, when Los Angeles moves to daylight time on
// the 8th.

const WORKATO: &[Script] = &[
    // February, for the trend: met.
    tk(
        "506",
        Some("20"),
        "2026-02-10T17:00:00Z",
        "high",
        &[
            ("2026-02-10T18:00:00Z", "reply"),
            ("2026-02-11T18:00:00Z", "solved"),
        ],
    ),
    // Premium, severity 1 created Friday 15:00 PST, answered Monday 10:00
    // PDT across the DST change: 2h + 2h business, met; hourly status
    // updates (wall clock): 2h30m between replies is breached.
    tk(
        "501",
        Some("10"),
        "2026-03-06T23:00:00Z",
        "urgent",
        &[
            ("2026-03-09T17:00:00Z", "reply"),
            ("2026-03-09T19:30:00Z", "reply"),
            ("2026-03-09T20:00:00Z", "solved"),
        ],
    ),
    // Premium, created on a Saturday: outside business hours, excluded.
    tk(
        "502",
        Some("10"),
        "2026-03-07T18:00:00Z",
        "high",
        &[("2026-03-09T18:00:00Z", "reply")],
    ),
    // Professional, 23:30 PDT on March 31st (06:30Z April 1st): counted in
    // March, and excluded (created out of hours).
    tk(
        "503",
        Some("20"),
        "2026-04-01T06:30:00Z",
        "urgent",
        &[("2026-04-01T16:00:00Z", "reply")],
    ),
    // Professional, high: resolution paused while pending, met.
    tk(
        "504",
        Some("20"),
        "2026-03-10T16:00:00Z",
        "high",
        &[
            ("2026-03-10T17:00:00Z", "reply"),
            ("2026-03-10T18:00:00Z", "pending"),
            ("2026-03-12T16:00:00Z", "customer"),
            ("2026-03-12T16:00:00Z", "open"),
            ("2026-03-13T23:00:00Z", "solved"),
        ],
    ),
    // Professional, medium: first response after 27 business hours against
    // 24h; never solved, resolution (7d) still running.
    tk(
        "505",
        Some("20"),
        "2026-03-02T17:00:00Z",
        "normal",
        &[("2026-03-05T17:00:00Z", "reply")],
    ),
];

#[test]
fn workato_dst_month() {
    let dir = scratch("workato");
    let store = build(
        dir.path(),
        vec![
            org("10", "Wonka", &["workato_premium"]),
            org("20", "Stark", &["workato_professional"]),
        ],
        WORKATO,
        &[],
        false,
    );
    let cfg = example("workato.yaml");
    let text = month_report(&store, &cfg, "2026-03".parse().unwrap(), &opts()).unwrap();
    golden("workato-2026-03.md", &text);
    // No poll recorded: the cut-off is the latest event, and the report
    // says so.
    assert!(
        text.contains("- **Data cut-off:** 2026-04-01T16:00:00Z (no completed poll recorded"),
        "{text}"
    );
    // The month in Los Angeles: PST at its start, PDT at its end.
    assert!(
        text.contains("month from 2026-03-01 00:00 PST to 2026-04-01 00:00 PDT"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------
// Workzoom (seed 001): October 2026 in New York, business-day targets, and
// tickets opened 23:30 local on the last day of a month.

const WORKZOOM: &[Script] = &[
    // 23:30 EDT on September 30th (03:30Z October 1st): September's.
    tk(
        "602",
        Some("7"),
        "2026-10-01T03:30:00Z",
        "normal",
        &[
            ("2026-10-02T14:00:00Z", "reply"),
            ("2026-10-02T15:00:00Z", "solved"),
        ],
    ),
    // Major, created Monday 19:00 EDT (closed): 1 business day is due
    // Wednesday 08:00; answered 09:00, breached by 1h.
    tk(
        "603",
        Some("7"),
        "2026-10-05T23:00:00Z",
        "high",
        &[
            ("2026-10-07T13:00:00Z", "reply"),
            ("2026-10-08T13:00:00Z", "solved"),
        ],
    ),
    // Minor, met.
    tk(
        "604",
        Some("7"),
        "2026-10-14T14:00:00Z",
        "low",
        &[
            ("2026-10-14T15:00:00Z", "reply"),
            ("2026-10-20T15:00:00Z", "solved"),
        ],
    ),
    // Critical, 23:30 EDT on October 31st (03:30Z November 1st): October's.
    // Answered Monday 09:00 EST: one business hour, met.
    tk(
        "601",
        Some("7"),
        "2026-11-01T03:30:00Z",
        "urgent",
        &[
            ("2026-11-02T14:00:00Z", "reply"),
            ("2026-11-03T14:00:00Z", "solved"),
        ],
    ),
];

#[test]
fn workzoom_month_boundaries_are_local() {
    let dir = scratch("workzoom");
    let store = build(
        dir.path(),
        vec![org("7", "Acme Health", &[])],
        WORKZOOM,
        &[],
        false,
    );
    let cfg = example("workzoom.yaml");
    let o = ReportOptions {
        cutoff: Some(t("2026-11-05T00:00:00Z")),
        timezone: Some(chrono_tz::America::New_York),
        ..opts()
    };
    let oct: Month = "2026-10".parse().unwrap();
    let text = month_report(&store, &cfg, oct, &o).unwrap();
    golden("workzoom-2026-10.md", &text);
    let data = gather(&store, &cfg, oct, &o).unwrap();
    let fig = compute(&cfg.policy, &data);
    // 601, 603 and 604 (two clocks each); not 602.
    assert_eq!(fig.plans[0].month.total(), 6);
    assert_eq!(fig.plans[0].month.breached, 1);
    assert_eq!(fig.breaches.len(), 1);
    assert_eq!(data.tickets[fig.breaches[0].ticket].id, "603");
    assert_eq!(fig.breaches[0].over_seconds, Some(3600));
    let sep = compute(&cfg.policy, &gather(&store, &cfg, oct.prev(), &o).unwrap());
    assert_eq!(sep.plans[0].month.total(), 2, "602 is September's");
}

// ---------------------------------------------------------------------------
// Wati (seed 002): a 24x7 plan in India, a severity change, a tag
// exclusion, an unmapped priority and a gap in polling.

const WATI: &[Script] = &[
    // 00:00 IST on October 1st (18:30Z September 30th): October's.
    tk(
        "700",
        Some("55"),
        "2026-09-30T18:30:00Z",
        "p4",
        &[
            ("2026-09-30T19:00:00Z", "reply"),
            ("2026-09-30T20:00:00Z", "solved"),
        ],
    ),
    // Urgent 23:30 IST on October 31st: 30m against 45m, met.
    tk(
        "701",
        Some("55"),
        "2026-10-31T18:00:00Z",
        "p1",
        &[("2026-10-31T18:30:00Z", "reply")],
    ),
    // Medium raised to urgent after 30 minutes: due at 45m, answered at
    // 60m: breached by 15m, severity changed. Resolution excluded (Meta).
    Script {
        id: "702",
        org: Some("55"),
        created: "2026-10-05T10:00:00Z",
        priority: "p3",
        tags: &["meta_dependency"],
        events: &[
            ("2026-10-05T10:30:00Z", "priority:p1"),
            ("2026-10-05T11:00:00Z", "reply"),
            ("2026-10-06T11:00:00Z", "solved"),
        ],
        arrived: None,
    },
    // High, met; resolution has no target (counted, never breached).
    tk(
        "703",
        Some("55"),
        "2026-10-12T10:00:00Z",
        "p2",
        &[
            ("2026-10-12T11:00:00Z", "reply"),
            ("2026-10-12T11:00:00Z", "pending"),
            ("2026-10-13T11:00:00Z", "solved"),
        ],
    ),
    // An unmapped priority: the default severity (medium), met.
    tk(
        "704",
        Some("55"),
        "2026-10-20T10:00:00Z",
        "critical!!",
        &[("2026-10-20T13:00:00Z", "reply")],
    ),
];

#[test]
fn wati_figures_match_a_hand_count() {
    let dir = scratch("wati");
    let polls = hourly(
        "2026-09-29T00:00:00Z",
        "2026-11-01T02:00:00Z",
        &[("2026-10-15T00:00:00Z", "2026-10-15T10:00:00Z")],
    );
    let store = build(
        dir.path(),
        vec![org("55", "Zeta", &[])],
        WATI,
        &polls,
        false,
    );
    let cfg = example("wati.yaml");
    let oct: Month = "2026-10".parse().unwrap();
    let text = month_report(&store, &cfg, oct, &opts()).unwrap();
    golden("wati-2026-10.md", &text);

    let data = gather(&store, &cfg, oct, &opts()).unwrap();
    let fig = compute(&cfg.policy, &data);
    let pro = &fig.plans[0];
    // First responses: 700 (low, 30m of 8h), 701 (30m of 45m), 702
    // (60m of 45m, breached), 703 (1h of 2h), 704 (3h of 4h).
    let fr = cfg.policy.metric_id("first_response").unwrap();
    let (met, breached) = pro
        .rows
        .iter()
        .filter(|(_, m, _)| *m == fr)
        .fold((0, 0), |(a, b), (_, _, t)| (a + t.met, b + t.breached));
    assert_eq!((met, breached), (4, 1));
    // Resolutions have no target: 700, 701, 703 and 704 are no_target
    // (solved or not), 702's is excluded (Meta dependency).
    assert_eq!(pro.month.no_target, 4);
    assert_eq!(pro.month.excluded, 1);
    assert_eq!(pro.month.active + pro.month.paused, 0);
    assert_eq!(pro.month.attainment(), Some(0.8));
    assert_eq!(fig.breaches.len(), 1);
    let b = &fig.breaches[0];
    assert_eq!(data.tickets[b.ticket].id, "702");
    assert_eq!(b.over_seconds, Some(15 * 60));
    assert!(b.severity_changed && !b.paused);
    assert_eq!(
        fig.quality.unmapped.keys().collect::<Vec<_>>(),
        vec!["critical!!"]
    );
    // The 00:00-10:00 gap of October 15th.
    assert_eq!(fig.quality.gaps.len(), 1);
    assert!(
        text.contains(
            "| urgent | first_response | 45m | 2 | 1 | 1 | 0 | 0 | 0 | 50.0% | 30m | 1h |"
        ),
        "{text}"
    );
}

/// Tickets whose data tells on itself: events lost on the way (the record
/// says solved, the events never solved it), a comment by someone the users
/// export lacks, and a ticket that never had a priority.
#[test]
fn data_quality_names_lost_events_unknown_authors_and_missing_priorities() {
    let dir = scratch("quality");
    let polls = hourly("2026-09-29T00:00:00Z", "2026-11-01T02:00:00Z", &[]);
    let store = build(dir.path(), vec![org("55", "Zeta", &[])], &[], &polls, false);
    let mut store = store;
    let header = |id: &str, status: Status, priority: Option<&str>| {
        Record::Ticket(TicketHeader {
            id: id.into(),
            created_at: t("2026-10-05T09:00:00Z"),
            updated_at: t("2026-10-06T12:00:00Z"),
            url: Some(format!("https://example.zendesk.com/agent/tickets/{id}")),
            organization_id: Some("55".into()),
            requester_id: Some("req-1".into()),
            tags: Vec::new(),
            fields: Default::default(),
            deleted: false,
            status: Some(status),
            priority: priority.map(Into::into),
            group: None,
        })
    };
    let event = |ticket: &str, id: &str, at: &str, change: ChangeRecord| {
        Record::Event(EventRecord {
            ticket_id: ticket.into(),
            id: id.into(),
            at: t(at),
            change,
        })
    };
    let priority = |p: &str| ChangeRecord::Priority {
        value: Some(p.into()),
    };
    let records = vec![
        // 801: the record says solved; the events stop at an open ticket.
        header("801", Status::Solved, Some("p2")),
        event("801", "a", "2026-10-05T09:00:00Z", priority("p2")),
        event(
            "801",
            "b",
            "2026-10-05T09:00:00Z",
            ChangeRecord::Status {
                value: Status::Open,
            },
        ),
        // 802: answered by a deleted user, then by an agent.
        header("802", Status::Open, Some("p3")),
        event("802", "a", "2026-10-05T09:00:00Z", priority("p3")),
        event(
            "802",
            "b",
            "2026-10-05T09:00:00Z",
            ChangeRecord::Status {
                value: Status::Open,
            },
        ),
        event(
            "802",
            "c",
            "2026-10-05T09:30:00Z",
            ChangeRecord::Comment {
                author: Author::Other,
                author_id: Some("gone-9".into()),
                public: true,
            },
        ),
        event("802", "d", "2026-10-05T10:00:00Z", change("reply")),
        // 804: the record has a priority its events never set.
        header("804", Status::Open, Some("p3")),
        event(
            "804",
            "b",
            "2026-10-05T09:00:00Z",
            ChangeRecord::Status {
                value: Status::Open,
            },
        ),
        // 803: never a priority.
        header("803", Status::Open, None),
        event(
            "803",
            "b",
            "2026-10-05T09:00:00Z",
            ChangeRecord::Status {
                value: Status::Open,
            },
        ),
    ];
    let mut records = records;
    let note = |kind: &str, name: &str, first: &str, last: &str| {
        Record::Note(NoteRecord {
            kind: kind.into(),
            name: name.into(),
            first_at: t(first),
            last_at: t(last),
        })
    };
    records.push(note(
        "ignored_event",
        "Notification",
        "2026-10-05T09:00:00Z",
        "2026-10-06T12:00:00Z",
    ));
    // Seen again in a later page: the span widens, the note stays one.
    records.push(note(
        "ignored_event",
        "Notification",
        "2026-10-20T09:00:00Z",
        "2026-10-21T09:00:00Z",
    ));
    records.push(note(
        "unmapped_custom_status_id",
        "1500009",
        "2026-10-07T09:00:00Z",
        "2026-10-07T09:00:00Z",
    ));
    // Seen only in September: not this month's.
    records.push(note(
        "ignored_event",
        "Cc",
        "2026-09-07T09:00:00Z",
        "2026-09-08T09:00:00Z",
    ));
    let page = Page {
        stream: "tickets".into(),
        records,
        cursor: "q1".into(),
        caught_up: false,
    };
    store.apply_page(SRC, &page).unwrap();
    let cfg = example("wati.yaml");
    let oct: Month = "2026-10".parse().unwrap();
    let data = gather(&store, &cfg, oct, &opts()).unwrap();
    let fig = compute(&cfg.policy, &data);
    let ids = |list: &[usize]| -> Vec<String> {
        list.iter().map(|&i| data.tickets[i].id.clone()).collect()
    };
    assert_eq!(ids(&fig.quality.inconsistent), ["801", "804"]);
    assert_eq!(ids(&fig.quality.unknown_authors), ["802"]);
    assert_eq!(ids(&fig.quality.missing_priority), ["803", "804"]);
    // 801 counts solved at the record's last update: no clock of it is
    // still running.
    let solved = data.tickets.iter().find(|t| t.id == "801").unwrap();
    assert!(
        solved.clocks.iter().all(|c| c.fulfilled_at.is_some()),
        "{:?}",
        solved.clocks
    );
    // The unknown author's comment answered nothing: 802's first response
    // is the agent's reply at 10:00.
    let answered = data.tickets.iter().find(|t| t.id == "802").unwrap();
    let fr = cfg.policy.metric_id("first_response").unwrap();
    let first = answered.clocks.iter().find(|c| c.metric == fr).unwrap();
    assert_eq!(first.fulfilled_at, Some(t("2026-10-05T10:00:00Z")));
    let text = month_report(&store, &cfg, oct, &opts()).unwrap();
    assert!(
        text.contains("- Tickets whose events disagree with the helpdesk's ticket record (2; ")
            && text.contains("[#801](https://example.zendesk.com/agent/tickets/801): status `open` in events, `solved` in the record"),
        "{text}"
    );
    assert!(
        text.contains("[#802](https://example.zendesk.com/agent/tickets/802) (1)"),
        "{text}"
    );
    // A missing priority is said to be missing, never shown as a value
    // "none".
    assert!(
        text.contains("- Tickets without a priority (2; the priority is missing: never set in its events, and no severity assigned; their clocks are counted under the default severity `"),
        "{text}"
    );
    assert!(
        text.contains("[#804](https://example.zendesk.com/agent/tickets/804): priority missing in events, `p3` in the record"),
        "{text}"
    );
    assert!(
        text.contains(" clock(s) are on tickets whose priority is missing (never set in their events): they are counted under `"),
        "{text}"
    );
    assert!(!text.contains("(none)"), "{text}");
    assert!(
        text.contains("- Helpdesk records read past (kinds that change nothing an SLA reads): `Notification` (zendesk)."),
        "{text}"
    );
    assert!(
        text.contains("map a custom status under the source's `custom_statuses`): custom_status_id `1500009` (zendesk)."),
        "{text}"
    );
    let notes = store
        .notes(SRC, t("2026-10-01T00:00:00Z"), t("2026-11-01T00:00:00Z"))
        .unwrap();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(notes[0].first_at, t("2026-10-05T09:00:00Z"));
    assert_eq!(notes[0].last_at, t("2026-10-21T09:00:00Z"));
}

// ---------------------------------------------------------------------------
// The first report after a backfill: the store was first synchronised on
// December 3rd, after the month it reports on. Nothing in it is late, no
// poll was missed before the first one, and it is no re-issue; data that
// arrives later is late, and makes a re-issue only of a report that was
// issued before it arrived.

const BACKFILLED: &[Script] = &[
    tk(
        "7001",
        Some("100"),
        "2026-11-03T17:00:00Z",
        "p2",
        &[("2026-11-03T18:00:00Z", "reply")],
    ),
    Script {
        id: "7002",
        org: Some("200"),
        created: "2026-11-10T17:00:00Z",
        priority: "p2",
        tags: &[],
        events: &[("2026-11-10T18:00:00Z", "reply")],
        arrived: Some("2026-12-03T07:30:00Z"),
    },
];

#[test]
fn the_first_report_after_a_backfill_has_no_false_alarms() {
    let dir = scratch("backfilled");
    let first_poll = "2026-12-03T08:00:00Z";
    let polls = hourly(first_poll, "2026-12-04T08:00:00Z", &[]);
    let mut store = build(dir.path(), celigo_orgs(), BACKFILLED, &polls, false);
    // Everything arrived during the backfill, which ended at the first poll
    // (the last of it in the poll's own second).
    store.arrived.insert("7001".into(), t(first_poll));
    let cfg = example("celigo.yaml");
    let nov: Month = "2026-11".parse().unwrap();
    let out = ReportOptions {
        out: Some(dir.path().join("reports")),
        ..opts()
    };
    let path = write_month(&store, &cfg, nov, &out).unwrap();
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(!first.contains("no completed poll from"), "{first}");
    assert!(
        first.contains("- `zendesk` first synchronised on 2026-12-03 08:00 UTC: "),
        "{first}"
    );
    assert!(
        first.contains("- Data that arrived after the month closed: none."),
        "{first}"
    );
    assert!(!first.contains("Re-issue"), "{first}");
    assert_eq!(
        helpdesk_slo::report::first_issue_of(&first),
        Some(t("2026-12-04T08:00:00Z"))
    );

    // Written again with nothing new: the same report.
    write_month(&store, &cfg, nov, &out).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first);

    // 7001 changes after the first issue: late, and a re-issue.
    store
        .arrived
        .insert("7001".into(), t("2026-12-05T10:00:00Z"));
    store.record_poll(SRC, t("2026-12-05T11:00:00Z")).unwrap();
    write_month(&store, &cfg, nov, &out).unwrap();
    let second = std::fs::read_to_string(&path).unwrap();
    assert!(
        second.contains("- **Re-issue:** first issued with data cut-off 2026-12-04T08:00:00Z; data of 1 ticket(s) of this month arrived since"),
        "{second}"
    );
    assert!(
        second.contains("1 ticket(s) changed in the store since; their figures here include that data up to the cut-off; 1 of them after the first issue of this report (cut-off 2026-12-04T08:00:00Z):\n  - [#7001]("),
        "{second}"
    );
    // Written again: still a re-issue of the first issue.
    write_month(&store, &cfg, nov, &out).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), second);

    // Printed with no earlier issue known: late, but no re-issue.
    let text = month_report(&store, &cfg, nov, &opts()).unwrap();
    assert!(!text.contains("Re-issue"), "{text}");
    assert!(
        text.contains("1 ticket(s) changed in the store since; their figures here include that data up to the cut-off:\n"),
        "{text}"
    );
}

/// Tickets that only count for the trend (before the month's quarter) are
/// counted as they are read, not kept: the trend shows them, nothing else
/// holds them.
#[test]
fn trend_only_tickets_are_counted_not_kept() {
    const EARLY: &[Script] = &[
        // Preferred, high, August: first response met, follow-up met.
        tk(
            "6001",
            Some("100"),
            "2026-08-04T17:00:00Z",
            "p2",
            &[
                ("2026-08-04T18:00:00Z", "reply"),
                ("2026-08-04T19:00:00Z", "solved"),
            ],
        ),
        // Preferred, high, September: first response breached.
        tk(
            "6002",
            Some("100"),
            "2026-09-08T17:00:00Z",
            "p2",
            &[
                ("2026-09-10T17:00:00Z", "reply"),
                ("2026-09-10T18:00:00Z", "solved"),
            ],
        ),
    ];
    let dir = scratch("folded");
    let polls = hourly("2026-07-01T00:00:00Z", "2027-01-01T14:00:00Z", &[]);
    let mut scripts: Vec<Script> = Vec::new();
    for s in EARLY.iter().chain(CELIGO) {
        scripts.push(Script { ..*s });
    }
    let store = build(dir.path(), celigo_orgs(), &scripts, &polls, false);
    let cfg = example("celigo.yaml");
    let dec: Month = "2026-12".parse().unwrap();
    let data = gather(&store, &cfg, dec, &opts()).unwrap();
    assert!(!data.tickets.iter().any(|t| t.id.starts_with("600")));
    // October's tickets count for the quarter's credits (the golden file's
    // table), but are not kept either.
    assert!(!data.tickets.iter().any(|t| t.id == "1001"));
    let acme = data
        .credit_counts
        .iter()
        .find(|((_, org, p), _)| org == "100" && *p == cfg.policy.plan_id("preferred").unwrap())
        .unwrap();
    assert_eq!(*acme.1, (9, 3));
    let preferred = cfg.policy.plan_id("preferred").unwrap();
    let aug = data
        .folded
        .get(&(preferred, "2026-08".parse().unwrap()))
        .unwrap();
    assert_eq!((aug.met, aug.breached), (2, 0));
    let text = month_report(&store, &cfg, dec, &opts()).unwrap();
    assert!(
        text.contains("| `preferred` | n/a | 100.0% (2/2) | 50.0% (1/2) | 75.0% (3/4) | 66.7% (2/3) | 50.0% (2/4) |"),
        "{text}"
    );
    // A customer report folds nothing and shows the same trend.
    let acme = ReportOptions {
        customer: Some("acme".into()),
        ..opts()
    };
    let text = month_report(&store, &cfg, dec, &acme).unwrap();
    assert!(
        text.contains("| `preferred` | n/a | 100.0% (2/2) | 50.0% (1/2) | 75.0% (3/4) | 66.7% (2/3) | 50.0% (2/4) |"),
        "{text}"
    );
}

/// Saves every ticket's clocks as the daemon does: evaluated at `now`
/// (`None`: at its creation plus a day), with `edit` applied to each, under
/// `hash`.
fn save_all_clocks(
    store: &mut Arrivals,
    cfg: &Config,
    now: Option<i64>,
    hash: &str,
    edit: &dyn Fn(&mut helpdesk_slo::engine::Clock),
) {
    for id in store.ticket_ids(SRC).unwrap() {
        let ticket = store.ticket(SRC, &id).unwrap().unwrap();
        let at = now.unwrap_or(ticket.created_at + 86_400);
        let mut clocks = helpdesk_slo::engine::evaluate(&cfg.policy, &ticket, at);
        clocks.iter_mut().for_each(edit);
        let views: Vec<_> = clocks.iter().map(|c| c.view(&cfg.policy)).collect();
        let blob = helpdesk_slo::store::encode_clocks(&views);
        store.save_clocks(SRC, &id, hash, &blob).unwrap();
    }
}

#[test]
fn trend_only_tickets_counted_from_stored_clocks_count_as_from_their_timelines() {
    let dir = scratch("settled");
    let polls = hourly("2026-07-01T00:00:00Z", "2027-01-01T14:00:00Z", &[]);
    let mut store = build(dir.path(), celigo_orgs(), CELIGO, &polls, false);
    let cfg = example("celigo.yaml");
    // January: October and November only count for the trend.
    let jan: Month = "2027-01".parse().unwrap();
    let from_timelines = gather(&store, &cfg, jan, &opts()).unwrap();
    assert!(!from_timelines.folded.is_empty());
    // Clocks stored at any instant after the data, or before some clock was
    // decided, or under another config: the same counts.
    for (now, hash) in [
        (Some(t("2026-12-20T00:00:00Z")), cfg.clocks_hash.as_str()),
        (Some(t("2027-03-01T00:00:00Z")), cfg.clocks_hash.as_str()),
        (None, cfg.clocks_hash.as_str()),
        (Some(t("2026-12-20T00:00:00Z")), "another-config"),
    ] {
        save_all_clocks(&mut store, &cfg, now, hash, &|_| {});
        let data = gather(&store, &cfg, jan, &opts()).unwrap();
        assert_eq!(
            data.folded, from_timelines.folded,
            "stored at {now:?} under {hash}"
        );
        assert_eq!(data.credit_counts, from_timelines.credit_counts);
        assert_eq!(data.organizations, from_timelines.organizations);
        assert_eq!(data.tickets, from_timelines.tickets);
    }
    // They are read: clocks stored as met when they were breached change
    // the trend (a test that could not tell would pass on timelines alone).
    let lie = |c: &mut helpdesk_slo::engine::Clock| {
        if c.state == helpdesk_slo::engine::ClockState::Breached {
            c.state = helpdesk_slo::engine::ClockState::Met;
            c.breached_at = None;
            c.fulfilled_at = c.fulfilled_at.or(Some(c.start));
        }
    };
    save_all_clocks(
        &mut store,
        &cfg,
        Some(t("2026-12-20T00:00:00Z")),
        &cfg.clocks_hash,
        &lie,
    );
    let data = gather(&store, &cfg, jan, &opts()).unwrap();
    let breached = |d: &helpdesk_slo::report::gather::Dataset| -> u64 {
        d.folded.values().map(|t| t.breached).sum()
    };
    // (Tickets with an open clock, or changed from the month's last day on,
    // are still read whole.)
    assert!(
        breached(&data) < breached(&from_timelines),
        "{} breached from stored clocks, {} from timelines",
        breached(&data),
        breached(&from_timelines)
    );
    // A ticket changed since its clocks were stored is read whole.
    let id = store.ticket_ids(SRC).unwrap()[0].clone();
    let page = Page {
        stream: "tickets".into(),
        records: vec![Record::Event(EventRecord {
            ticket_id: id.clone(),
            id: "late-note".into(),
            at: t("2026-10-01T00:00:00Z"),
            change: ChangeRecord::Tags { value: vec![] },
        })],
        cursor: "late".into(),
        caught_up: false,
    };
    store.apply_page(SRC, &page).unwrap();
    let settled: std::cell::Cell<usize> = Default::default();
    store
        .for_each_settled_ticket(SRC, 0, t("2026-12-31T00:00:00Z"), &mut |s| {
            if s.id == id {
                assert_eq!(s.clocks, None, "stale clocks are not handed over");
            }
            settled.set(settled.get() + 1);
        })
        .unwrap();
    assert!(settled.get() > 1);
}

// ---------------------------------------------------------------------------
// At scale: many breaches, customers and data quality findings. The
// markdown stays short (capped lists, no long line) and the CSV files
// beside it hold every row.

/// The longest line a report may have, in characters.
const MAX_LINE: usize = 400;

/// A Celigo store with `n` tickets in November 2026 on 40 customers (long
/// names) of all three plans: every ticket's first response breaches, a
/// third have no priority, a third an unmapped priority (one value each),
/// every tenth a comment by an unknown author, and the customers of the
/// last tenth are on no plan.
fn celigo_at_scale(dir: &Path, n: usize) -> Arrivals {
    let mut store = build(dir, Vec::new(), &[], &[], false);
    let plans = ["csp_preferred", "csp_premier", "csp_essential"];
    let mut records: Vec<Record> = (0..40)
        .map(|o| {
            let tags: &[&str] = if o < 36 {
                &plans[o % 3..o % 3 + 1]
            } else {
                &[]
            };
            org(
                &format!("{}", 900 + o),
                &format!("Customer {o} {}", "with a very long legal name ".repeat(8)),
                tags,
            )
        })
        .collect();
    for i in 0..n {
        let id = format!("{}", 10_000 + i);
        // Tuesdays to Thursdays of November, 09:00 Pacific.
        let day = [3, 4, 5, 10, 11, 12, 17, 18, 19][i % 9];
        let created = t(&format!("2026-11-{day:02}T17:00:00Z"));
        let priority = match i % 3 {
            0 => None,
            1 => Some(format!("custom-priority-{i}")),
            _ => Some("p2".to_string()),
        };
        records.push(Record::Ticket(TicketHeader {
            id: id.clone(),
            created_at: created,
            updated_at: created + 5 * 86_400,
            url: Some(format!("https://example.zendesk.com/agent/tickets/{id}")),
            organization_id: Some(format!("{}", 900 + i % 40)),
            requester_id: Some("req-1".into()),
            tags: Vec::new(),
            fields: Default::default(),
            deleted: false,
            status: None,
            priority: None,
            group: None,
        }));
        let mut events = Vec::new();
        if let Some(p) = priority {
            events.push((created, ChangeRecord::Priority { value: Some(p) }));
        }
        if i % 10 == 0 {
            events.push((
                created + 600,
                ChangeRecord::Comment {
                    author: Author::Other,
                    author_id: Some(format!("gone-{i}")),
                    public: true,
                },
            ));
        }
        // Answered five days later: every first response breached.
        events.push((created + 5 * 86_400, change("reply")));
        for (k, (at, change)) in events.into_iter().enumerate() {
            records.push(Record::Event(EventRecord {
                ticket_id: id.clone(),
                id: format!("e{k}"),
                at,
                change,
            }));
        }
        store.arrived.insert(id, created + 5 * 86_400 + 60);
    }
    let page = Page {
        stream: "tickets".into(),
        records,
        cursor: "scale".into(),
        caught_up: false,
    };
    store.apply_page(SRC, &page).unwrap();
    for p in hourly("2026-10-01T00:00:00Z", "2026-12-01T02:00:00Z", &[]) {
        store.record_poll(SRC, p).unwrap();
    }
    store
}

/// Rows of a CSV file without its header whose first field is `first`
/// (any row when empty).
fn csv_rows(text: &str, first: &str) -> usize {
    text.split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty() && (first.is_empty() || l.split(',').next() == Some(first)))
        .count()
}

#[test]
fn at_scale_the_report_caps_its_lists_and_the_csv_files_hold_every_row() {
    let dir = scratch("scale");
    let n = 900;
    let store = celigo_at_scale(dir.path(), n);
    let cfg = example("celigo.yaml");
    let nov: Month = "2026-11".parse().unwrap();
    let out = ReportOptions {
        out: Some(dir.path().join("reports")),
        ..opts()
    };
    let path = write_month(&store, &cfg, nov, &out).unwrap();
    let md = std::fs::read_to_string(&path).unwrap();
    let longest = md.lines().map(|l| l.chars().count()).max().unwrap();
    let long_line = md.lines().find(|l| l.chars().count() == longest).unwrap();
    assert!(
        longest <= MAX_LINE,
        "a line of {longest} characters: {long_line}"
    );
    assert!(md.len() < 40_000, "{} bytes", md.len());

    let files = month_files(&store, &cfg, nov, &out).unwrap();
    assert_eq!(files.markdown, md);
    let names: Vec<&str> = files.csv.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "2026-11.breaches.csv",
            "2026-11.data-quality.csv",
            "2026-11.credits.csv"
        ]
    );
    for (name, text) in &files.csv {
        // Written beside the report, and linked from it.
        assert_eq!(
            &std::fs::read_to_string(dir.path().join("reports").join(name)).unwrap(),
            text
        );
        assert!(md.contains(&format!("]({name})")), "{name} is not linked");
    }
    let (breaches, quality, credits) = (&files.csv[0].1, &files.csv[1].1, &files.csv[2].1);

    // Every breach in the CSV; 25 per plan in the markdown.
    let data = gather(&store, &cfg, nov, &opts()).unwrap();
    let fig = compute(&cfg.policy, &data);
    assert!(fig.breaches.len() > 3 * 25, "{}", fig.breaches.len());
    assert_eq!(csv_rows(breaches, ""), fig.breaches.len());
    assert!(
        md.contains(&format!("{} breached clock(s): ", fig.breaches.len())),
        "{md}"
    );
    let section = md.split("## Breached clocks").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let rows = section.lines().filter(|l| l.starts_with("| [#")).count();
    let plans_with_breaches = fig
        .breaches
        .iter()
        .map(|b| b.clock.plan)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(rows, 25 * plans_with_breaches);

    // Every data quality finding in the CSV; five examples in the markdown.
    let q = &fig.quality;
    assert_eq!(q.missing_priority.len(), n / 3);
    assert_eq!(
        csv_rows(quality, "missing_priority"),
        q.missing_priority.len()
    );
    assert_eq!(csv_rows(quality, "unmapped_priority"), n / 3);
    assert_eq!(csv_rows(quality, "unknown_author_comments"), n / 10);
    assert_eq!(csv_rows(quality, "no_plan"), q.no_plan.len());
    // Customers 36 to 39 of every 40 tickets.
    assert_eq!(q.no_plan.len(), 88);
    assert!(
        md.contains(&format!(
            "- Unmapped priorities ({} value(s), mapped to the default severity `normal`):",
            n / 3
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "  - {} more value(s) on {} ticket(s).",
            n / 3 - 10,
            n / 3 - 10
        )),
        "{md}"
    );
    assert!(md.contains(&format!(", and {} more.", n / 10 - 5)), "{md}");

    // Every customer in the credits CSV; ten in the markdown.
    assert_eq!(csv_rows(credits, "celigo-sla"), 24);
    assert!(
        md.contains("24 customer(s) with SLA events, 24 owed a credit; "),
        "{md}"
    );
    let section = md.split("## SLA credits").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    assert_eq!(
        section
            .lines()
            .filter(|l| l.starts_with("| Customer "))
            .count()
            - 1,
        10
    );
}

// ---------------------------------------------------------------------------

#[test]
fn an_empty_month() {
    let dir = scratch("empty");
    let store = build(dir.path(), Vec::new(), &[], &[], false);
    let cfg = example("celigo.yaml");
    let text = month_report(&store, &cfg, "2026-10".parse().unwrap(), &opts()).unwrap();
    golden("empty-2026-10.md", &text);
    assert!(
        text.contains("No SLA clock started in October 2026"),
        "{text}"
    );
}

#[test]
fn errors_name_what_is_valid() {
    let dir = scratch("errors");
    let store = celigo_store(dir.path(), false);
    let cfg = example("celigo.yaml");
    let m: Month = "2026-12".parse().unwrap();
    let e = month_report(
        &store,
        &cfg,
        m,
        &ReportOptions {
            plan: Some("gold".into()),
            ..opts()
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no plan named \"gold\"; the config's plans are: cloudextend-essential, premier, preferred, essential"
    );
    let e = month_report(
        &store,
        &cfg,
        m,
        &ReportOptions {
            customer: Some("Hooli".into()),
            ..opts()
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no organization with id or name \"Hooli\" in the store; its organizations are: Acme (100), Globex (200), Initech (300), Umbrella (400)"
    );
    let e = month_report(&store, &cfg, m, &ReportOptions::default()).unwrap_err();
    assert!(matches!(e, ReportError::NoSources), "{e}");
    // By id works as well as by name.
    let by_id = ReportOptions {
        customer: Some("200".into()),
        ..opts()
    };
    assert!(month_report(&store, &cfg, m, &by_id)
        .unwrap()
        .contains("customer Globex (200)"));
}

#[test]
fn the_report_command_writes_the_file_and_rejects_bad_input() {
    let dir = scratch("cli");
    drop(celigo_store(dir.path(), false));
    let config = dir.path().join("celigo.yaml");
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    std::fs::write(
        &config,
        format!("{example}\nreports:\n  timezone: America/Los_Angeles\n  out: out\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
            .arg("report")
            .arg("--config")
            .arg(&config)
            .arg("--store")
            .arg(dir.path().join("store.sqlite"))
            .arg("--source")
            .arg(SRC)
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["--month", "2026-12", "--plan", "premier"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = dir.path().join("out").join("2026-12-plan-premier.md");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        written.display().to_string()
    );
    assert!(std::fs::read_to_string(&written)
        .unwrap()
        .starts_with("# SLA report: December 2026\n"));

    let o = run(&["--month", "2026-13"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("\"2026-13\" is not a month; write YYYY-MM"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["--month", "2026-12", "--plan", "gold"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the config's plans are:"));
    let o = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["report", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("Example"));
}
