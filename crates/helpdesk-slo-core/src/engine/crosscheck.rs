//! Where a ticket's events lead against what the helpdesk's ticket record
//! says now: the check that turns silently lost events into findings.
//!
//! A timeline is right only if the adapter read every change. The ticket
//! record (its header: status, priority, group, organization now) is read
//! from another stream, so comparing the two catches events an adapter
//! dropped or the helpdesk never exported. Pure: the caller passes `now`,
//! and a ticket changed within `grace` of it is not judged yet (the helpdesk
//! exports events later than records: Zendesk holds back the last minute).

use serde::Serialize;

use std::cmp::Ordering;

use super::timeline::{event_order, Change, Event, Ticket};
use crate::policy::spec::Status;

/// How long after a ticket's last change its record and events are
/// compared: the helpdesk exports events later than records (Zendesk holds
/// back the last minute; polls come every few minutes).
pub const CROSSCHECK_GRACE: i64 = 15 * 60;

/// One field on which the events and the ticket record disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// `status`, `priority`, `group` or `organization`.
    pub field: &'static str,
    /// Where the events lead (`None`: unset).
    pub events: Option<String>,
    /// What the ticket record says.
    pub record: Option<String>,
}

/// The fields on which `ticket`'s events disagree with its `current` record,
/// if the record is older than `now - grace`; none when there is no record.
pub fn disagreements(ticket: &Ticket, now: i64, grace: i64) -> Vec<Disagreement> {
    let Some(current) = &ticket.current else {
        return Vec::new();
    };
    if current.updated_at > now.saturating_sub(grace) {
        return Vec::new();
    }
    // Where the events lead: per field, the change the engine applies
    // last up to the record's instant (the latest instant, and at one
    // instant the last in the canonical order). One pass, in any order, no
    // copy: this runs for every ticket evaluated.
    let created = ticket.created_at;
    let until = current.updated_at.max(created);
    let mut last: [Option<&Event>; 4] = [None; 4];
    for e in &ticket.events {
        let at = e.at.max(created);
        if at > until {
            continue;
        }
        let slot = match e.change {
            Change::Status { .. } => 0,
            Change::Priority { .. } => 1,
            Change::Group { .. } => 2,
            Change::Organization { .. } => 3,
            _ => continue,
        };
        // Listed later and equal in the canonical order: applied later.
        let later = last[slot].is_none_or(|b| event_order(e, b, created) != Ordering::Less);
        if later {
            last[slot] = Some(e);
        }
    }
    let mut status = ticket.status;
    let mut priority = ticket.priority.clone();
    let mut group = ticket.group.clone();
    let mut organization = ticket.organization.as_ref().map(|o| o.id.clone());
    for e in last.into_iter().flatten() {
        match &e.change {
            Change::Status { value } => status = Some(*value),
            Change::Priority { value } => priority = value.clone(),
            Change::Group { value } => group = value.clone(),
            Change::Organization { value } => organization = value.as_ref().map(|o| o.id.clone()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut compare = |field, events: Option<String>, record: Option<String>| {
        if events != record {
            out.push(Disagreement {
                field,
                events,
                record,
            });
        }
    };
    // Solved and closed are one state for SLAs: a solved ticket the
    // helpdesk closed later (an automation, without an event some
    // exports omit) agrees.
    let same_status = match (status, current.status) {
        (Some(a), Some(b)) => a == b || (a.is_solved() && b.is_solved()),
        (_, None) => true,
        (None, Some(b)) => b == Status::New,
    };
    if !same_status {
        compare(
            "status",
            status.map(|s| s.as_str().to_string()),
            current.status.map(|s| s.as_str().to_string()),
        );
    }
    compare("priority", priority, current.priority.clone());
    compare("group", group, current.group.clone());
    compare(
        "organization",
        organization,
        current.organization_id.clone(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::timeline::Current;

    fn ticket(events: Vec<Event>, current: Option<Current>) -> Ticket {
        Ticket {
            id: "1".into(),
            created_at: 1_000,
            source: None,
            url: None,
            organization: None,
            tags: vec![],
            fields: Default::default(),
            priority: None,
            group: None,
            status: None,
            events,
            current,
        }
    }

    fn at(at: i64, change: Change) -> Event {
        Event {
            id: None,
            at,
            change,
        }
    }

    #[test]
    fn a_record_the_events_reach_agrees() {
        let t = ticket(
            vec![
                at(
                    1_000,
                    Change::Priority {
                        value: Some("high".into()),
                    },
                ),
                at(
                    1_000,
                    Change::Status {
                        value: Status::Open,
                    },
                ),
                at(
                    2_000,
                    Change::Status {
                        value: Status::Solved,
                    },
                ),
            ],
            Some(Current {
                updated_at: 3_000,
                status: Some(Status::Closed),
                priority: Some("high".into()),
                ..Default::default()
            }),
        );
        assert_eq!(disagreements(&t, 10_000, 600), vec![]);
    }

    #[test]
    fn lost_events_are_named_field_by_field() {
        // The events only ever created the ticket; the record has moved on.
        let t = ticket(
            vec![at(1_000, Change::Status { value: Status::New })],
            Some(Current {
                updated_at: 3_000,
                status: Some(Status::Pending),
                priority: Some("urgent".into()),
                group: Some("360001".into()),
                organization_id: Some("900".into()),
            }),
        );
        let found = disagreements(&t, 10_000, 600);
        let fields: Vec<_> = found.iter().map(|d| d.field).collect();
        assert_eq!(fields, ["status", "priority", "group", "organization"]);
        assert_eq!(found[0].events.as_deref(), Some("new"));
        assert_eq!(found[0].record.as_deref(), Some("pending"));
        assert_eq!(found[1].events, None);
    }

    #[test]
    fn the_events_lead_where_the_engine_would_in_the_helpdesks_order() {
        // At one instant a Create gives `new` and an update `open`: the
        // engine applies them in the helpdesk's order (their ids), so
        // `open` is where they lead, however they are listed; an event
        // after the record's instant does not count.
        let status = |id: &str, at: i64, value| Event {
            id: Some(id.into()),
            at,
            change: Change::Status { value },
        };
        let events = vec![
            status("2.10", 2_000, Status::Open),
            status("2.9", 2_000, Status::New),
            status("1.1", 1_000, Status::Pending),
            status("5.1", 5_000, Status::Solved),
        ];
        let record = |status| {
            Some(Current {
                updated_at: 3_000,
                status: Some(status),
                ..Default::default()
            })
        };
        for rotation in 0..events.len() {
            let mut shuffled = events.clone();
            shuffled.rotate_left(rotation);
            shuffled.swap(0, rotation.min(1));
            let t = ticket(shuffled.clone(), record(Status::Open));
            assert_eq!(
                disagreements(&t, 10_000, 600),
                vec![],
                "rotation {rotation}"
            );
            // Without ids the order listed is the helpdesk's: the status
            // listed last at 2_000 is where they lead, as in the engine.
            let no_ids: Vec<Event> = shuffled
                .into_iter()
                .map(|e| Event { id: None, ..e })
                .collect();
            let last = crate::engine::timeline::canonical(&no_ids, 1_000)
                .into_iter()
                .filter(|e| e.at == 2_000)
                .filter_map(|e| match e.change {
                    Change::Status { value } => Some(value),
                    _ => None,
                })
                .next_back()
                .unwrap();
            let listed_last = no_ids
                .iter()
                .filter(|e| e.at == 2_000)
                .filter_map(|e| match e.change {
                    Change::Status { value } => Some(value),
                    _ => None,
                })
                .next_back()
                .unwrap();
            assert_eq!(last, listed_last, "rotation {rotation}");
            let t = ticket(no_ids, record(last));
            assert_eq!(
                disagreements(&t, 10_000, 600),
                vec![],
                "rotation {rotation}"
            );
        }
    }

    #[test]
    fn a_record_changed_within_the_grace_is_not_judged_yet() {
        let t = ticket(
            vec![],
            Some(Current {
                updated_at: 9_500,
                status: Some(Status::Solved),
                ..Default::default()
            }),
        );
        assert_eq!(disagreements(&t, 10_000, 600), vec![]);
        assert_eq!(disagreements(&t, 10_100, 600).len(), 1);
    }
}
