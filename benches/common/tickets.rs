//! Synthetic ticket timelines for the benchmarks: a year of tickets of
//! about 15 events each, spread over the Celigo example's four plans and
//! four priorities, from a seeded generator (the same tickets every run).

use helpdesk_slo::engine::timeline::Author;
use helpdesk_slo::engine::{Change, Event, Organization, Ticket};
use helpdesk_slo::policy::spec::Status;

use super::rng::SplitMix64;

const PLAN_TAGS: [&str; 4] = ["csp_essential", "csp_preferred", "csp_premier", "none"];
const PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];

/// A ticket in 2026 with ~15 events: replies, requester messages, pending
/// periods, a severity change now and then, a solve and sometimes a reopen.
pub fn synthetic_ticket(rng: &mut SplitMix64, id: u64) -> Ticket {
    let year_start = 1_767_225_600; // 2026-01-01T00:00:00Z
    let created = year_start + rng.below(360 * 86_400) as i64;
    let tag = PLAN_TAGS[rng.below(4) as usize];
    let mut events = Vec::with_capacity(16);
    let mut t = created;
    let mut push = |at: i64, change: Change| {
        events.push(Event {
            id: None,
            at,
            change,
        })
    };
    push(
        t,
        Change::Priority {
            value: Some(PRIORITIES[rng.below(4) as usize].to_string()),
        },
    );
    for round in 0..4 {
        t += 300 + rng.below(6 * 3600) as i64;
        push(
            t,
            Change::Comment {
                author: Author::Agent,
                public: true,
            },
        );
        if rng.below(3) == 0 {
            push(
                t,
                Change::Status {
                    value: Status::Pending,
                },
            );
            t += 600 + rng.below(20 * 3600) as i64;
            push(
                t,
                Change::Comment {
                    author: Author::Requester,
                    public: true,
                },
            );
            push(
                t,
                Change::Status {
                    value: Status::Open,
                },
            );
        } else {
            t += 60 + rng.below(3600) as i64;
            push(
                t,
                Change::Comment {
                    author: Author::Requester,
                    public: true,
                },
            );
        }
        if round == 1 && rng.below(5) == 0 {
            push(
                t,
                Change::Severity {
                    value: Some(PRIORITIES[rng.below(4) as usize].to_string()),
                },
            );
        }
    }
    t += 600 + rng.below(8 * 3600) as i64;
    push(
        t,
        Change::Comment {
            author: Author::Agent,
            public: true,
        },
    );
    push(
        t,
        Change::Status {
            value: Status::Solved,
        },
    );
    if rng.below(8) == 0 {
        t += 3600 + rng.below(48 * 3600) as i64;
        push(
            t,
            Change::Comment {
                author: Author::Requester,
                public: true,
            },
        );
        push(
            t,
            Change::Status {
                value: Status::Open,
            },
        );
    }
    Ticket {
        id: id.to_string(),
        created_at: created,
        source: None,
        url: None,
        organization: Some(Organization {
            id: (id % 500).to_string(),
            name: None,
            tags: vec![tag.to_string()],
            fields: Default::default(),
        }),
        tags: Vec::new(),
        fields: Default::default(),
        priority: None,
        group: None,
        status: Some(Status::New),
        events,
        current: None,
    }
}
