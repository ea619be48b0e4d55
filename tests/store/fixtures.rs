//! What the store tests are made of: temporary store files, records and
//! pages, and a sample of two tickets.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use helpdesk_slo::engine::timeline::Author;
use helpdesk_slo::engine::Ticket;
use helpdesk_slo::policy::spec::Status;
use helpdesk_slo::sources::{
    ChangeRecord, EventRecord, OrganizationRecord, Page, Record, TicketHeader, UserRecord,
};
use helpdesk_slo::store::{SqliteStore, Store};

/// A store file under the temp folder, removed (with its WAL files) on drop.
pub struct TempDb(PathBuf);

impl TempDb {
    pub fn new(name: &str) -> TempDb {
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

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn open(&self) -> SqliteStore {
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

pub const SRC: &str = "zendesk";

pub fn header(id: &str, updated_at: i64, org: Option<&str>) -> TicketHeader {
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

pub fn event(ticket: &str, id: &str, at: i64, change: ChangeRecord) -> EventRecord {
    EventRecord {
        ticket_id: ticket.into(),
        id: id.into(),
        at,
        change,
    }
}

/// A public comment on `ticket` by `author`, who is neither its requester
/// nor known as an agent.
pub fn comment_by(ticket: &str, id: &str, at: i64, author: &str) -> Record {
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

pub fn org(id: &str, tags: &[&str]) -> OrganizationRecord {
    OrganizationRecord {
        id: id.into(),
        name: Some(format!("Org {id}")),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        fields: Default::default(),
    }
}

pub fn page(stream: &str, cursor: &str, records: Vec<Record>) -> Page {
    Page {
        stream: stream.into(),
        records,
        cursor: cursor.into(),
        caught_up: false,
    }
}

/// Two tickets with organizations, users and a few events of each kind.
pub fn sample_page() -> Page {
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

/// Every live ticket's timeline, by id.
pub fn timelines(store: &(impl Store + ?Sized)) -> Vec<Ticket> {
    let ids = store.ticket_ids(SRC).unwrap();
    ids.iter()
        .map(|id| store.ticket(SRC, id).unwrap().unwrap())
        .collect()
}

pub fn status_event(ticket: &str, id: &str, at: i64, value: Status) -> Record {
    Record::Event(event(ticket, id, at, ChangeRecord::Status { value }))
}

/// Event `n` of a ticket: its time and change follow from `n` alone (an
/// event's time never changes, which the store relies on), and several
/// events share a time.
pub fn numbered_event(ticket: &str, n: u32) -> EventRecord {
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
