//! The dataset the emulator serves: its records, lookups, and counts of
//! what it contains.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    standard_custom_statuses, Audit, ChildKind, CustomStatus, Field, Group, Id, Organization,
    Ticket, TicketStatus, User,
};

/// Counts the generator keeps while it decides (the data alone cannot tell
/// a late reply from an on-time one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// Agent replies timed against a target.
    pub replies_with_target: usize,
    /// Of those, the ones made late on purpose.
    pub late_replies: usize,
    /// Tickets created on a Saturday or Sunday in their calendar's zone.
    pub weekend_created: usize,
    /// Tickets created between 08:00 and 18:00 local time.
    pub daytime_created: usize,
}

/// Everything the emulator serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub organizations: Vec<Organization>,
    /// In id order.
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// Ticket `id` is at index `id - 1`.
    pub tickets: Vec<Ticket>,
    /// Served by `/api/v2/custom_statuses`.
    pub custom_statuses: Vec<CustomStatus>,
    pub stats: GenerationStats,
    pub(super) next_event_id: Id,
}

impl Default for Dataset {
    fn default() -> Self {
        Self {
            organizations: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            tickets: Vec::new(),
            custom_statuses: standard_custom_statuses(),
            stats: GenerationStats::default(),
            next_event_id: 0,
        }
    }
}

/// What a dataset contains, counted from its data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub tickets: usize,
    pub organizations: usize,
    pub agents: usize,
    pub end_users: usize,
    pub audits: usize,
    pub by_status: BTreeMap<String, usize>,
    /// `(none)` for tickets without a priority.
    pub by_priority: BTreeMap<String, usize>,
    /// `(none)` for organizations on no plan.
    pub organizations_by_plan: BTreeMap<String, usize>,
    pub public_agent_replies: usize,
    pub internal_notes: usize,
    pub requester_comments: usize,
    pub pending_periods: usize,
    pub holds: usize,
    pub group_changes: usize,
    pub priority_changes: usize,
    /// Tickets reopened at least once (solved → open).
    pub reopened_tickets: usize,
    pub deleted: usize,
    /// Comments whose author is not in the users export.
    pub deleted_user_comments: usize,
    /// Changes of a custom ticket field.
    pub custom_field_changes: usize,
    /// Updates that moved a ticket to a non-default custom status.
    pub non_default_custom_statuses: usize,
    pub voice_comments: usize,
    pub notifications: usize,
    pub satisfaction_ratings: usize,
    pub merged_tickets: usize,
}

impl Dataset {
    pub fn ticket(&self, id: Id) -> Option<&Ticket> {
        let i = usize::try_from(id.checked_sub(1)?).ok()?;
        self.tickets.get(i)
    }

    pub(super) fn ticket_mut(&mut self, id: Id) -> Option<&mut Ticket> {
        let i = usize::try_from(id.checked_sub(1)?).ok()?;
        self.tickets.get_mut(i)
    }

    pub fn organization(&self, id: Id) -> Option<&Organization> {
        self.organizations.iter().find(|o| o.id == id)
    }

    pub fn user(&self, id: Id) -> Option<&User> {
        match self.users.binary_search_by_key(&id, |u| u.id) {
            Ok(i) => self.users.get(i),
            // Not sorted (a test pushed users): look everywhere.
            Err(_) => self.users.iter().find(|u| u.id == id),
        }
    }

    pub fn agents(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter(|u| u.role.is_agent())
    }

    pub fn custom_status(&self, id: Id) -> Option<&CustomStatus> {
        self.custom_statuses.iter().find(|s| s.id == id)
    }

    pub(super) fn event_id(&mut self) -> Id {
        self.next_event_id += 1;
        self.next_event_id
    }

    /// Every audit, in `(timestamp, id)` order.
    pub fn audits_in_order(&self) -> Vec<&Audit> {
        let mut all: Vec<&Audit> = self.tickets.iter().flat_map(|t| &t.audits).collect();
        all.sort_by_key(|a| (a.timestamp, a.id));
        all
    }

    /// Renumbers audits and child events so ids grow with time.
    pub(super) fn renumber(&mut self) {
        let mut keys: Vec<(i64, Id, usize, usize)> = Vec::new();
        for (ti, t) in self.tickets.iter().enumerate() {
            for (ai, a) in t.audits.iter().enumerate() {
                keys.push((a.timestamp, t.id, ti, ai));
            }
        }
        keys.sort();
        let mut next = 0;
        for (_, _, ti, ai) in keys {
            let audit = &mut self.tickets[ti].audits[ai];
            next += 1;
            audit.id = next;
            for e in &mut audit.events {
                next += 1;
                e.id = next;
            }
        }
        self.next_event_id = next;
    }

    /// Counts what the dataset contains.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            tickets: self.tickets.len(),
            organizations: self.organizations.len(),
            agents: self.agents().count(),
            end_users: self.users.len() - self.agents().count(),
            ..Summary::default()
        };
        let agents: BTreeSet<Id> = self.agents().map(|u| u.id).collect();
        for o in &self.organizations {
            *s.organizations_by_plan
                .entry(o.plan.clone().unwrap_or_else(|| "(none)".into()))
                .or_default() += 1;
        }
        for t in &self.tickets {
            *s.by_status.entry(t.status.as_str().into()).or_default() += 1;
            *s.by_priority
                .entry(t.priority.clone().unwrap_or_else(|| "(none)".into()))
                .or_default() += 1;
            if t.status == TicketStatus::Deleted {
                s.deleted += 1;
            }
            let mut reopened = false;
            if t.merged_into.is_some() {
                s.merged_tickets += 1;
            }
            for a in &t.audits {
                s.audits += 1;
                for e in &a.events {
                    match &e.kind {
                        ChildKind::Comment {
                            author_id,
                            public,
                            voice,
                            ..
                        } => {
                            if *voice {
                                s.voice_comments += 1;
                            }
                            if self.user(*author_id).is_none() {
                                s.deleted_user_comments += 1;
                            } else if agents.contains(author_id) {
                                if *public {
                                    s.public_agent_replies += 1;
                                } else {
                                    s.internal_notes += 1;
                                }
                            } else {
                                s.requester_comments += 1;
                            }
                        }
                        ChildKind::Change {
                            field,
                            value,
                            previous_value,
                        } => match field {
                            Field::Status => {
                                if value == "pending" {
                                    s.pending_periods += 1;
                                }
                                if value == "hold" {
                                    s.holds += 1;
                                }
                                if previous_value == "solved" && value == "open" {
                                    reopened = true;
                                }
                            }
                            Field::CustomStatusId => {
                                let id = value.as_u64().unwrap_or_default();
                                if self.custom_status(id).is_some_and(|c| !c.default) {
                                    s.non_default_custom_statuses += 1;
                                }
                            }
                            Field::GroupId => s.group_changes += 1,
                            Field::Priority => s.priority_changes += 1,
                            Field::Custom(_) => s.custom_field_changes += 1,
                            _ => {}
                        },
                        ChildKind::Notification { .. } => s.notifications += 1,
                        ChildKind::SatisfactionRating { .. } => s.satisfaction_ratings += 1,
                        ChildKind::Create { .. } | ChildKind::Cc { .. } => {}
                    }
                }
            }
            if reopened {
                s.reopened_tickets += 1;
            }
        }
        s
    }
}
