//! Changes to a dataset while it is served: tickets created, updated,
//! deleted, merged and rated, organizations retagged, and the test hooks
//! that make rare shapes.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::model::RATING_BASE;
use super::statuses::category_status;
use super::{
    default_custom_status, Audit, ChildEvent, ChildKind, Dataset, Field, Id, Ticket, TicketStatus,
    Via, BRAND_ID, DELETED_USER_BASE, NOTIFY_TRIGGER_ID, STATUS_NEW, SYSTEM_UPDATER,
    TICKET_FORM_ID, USER_BASE,
};

/// A change to one field of a ticket.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Not `Deleted`: use [`Dataset::delete_ticket`]. Records a `status`
    /// and a `custom_status_id` child (the category's default status).
    Status(TicketStatus),
    /// Moves the ticket to this custom status: a `status` child when the
    /// system status changes, and a `custom_status_id` child.
    CustomStatus(Id),
    /// A test hook: only a `custom_status_id` child, even when the
    /// status category changes (the header's `status` follows it).
    CustomStatusOnly(Id),
    Priority(Option<String>),
    /// The ticket type (incident, problem, question, task or none).
    Type(Option<String>),
    Subject(String),
    Group(Option<Id>),
    Organization(Option<Id>),
    Tags(Vec<String>),
    Assignee(Option<Id>),
    /// A custom ticket field's new value (`custom_ticket_fields`).
    CustomField(Id, Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewComment {
    pub author_id: Id,
    pub public: bool,
    pub body: String,
}

/// One update of a ticket: an audit with its field changes and comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub ticket_id: Id,
    pub at: i64,
    pub updater_id: i64,
    pub edits: Vec<Edit>,
    pub comment: Option<NewComment>,
}

/// A ticket to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub at: i64,
    pub subject: String,
    pub requester_id: Id,
    pub organization_id: Option<Id>,
    pub priority: Option<String>,
    pub group_id: Option<Id>,
    pub tags: Vec<String>,
    pub custom_fields: Vec<(Id, Value)>,
    /// The description: the requester's first public comment.
    pub body: String,
}

/// What an update records besides its edits and comment.
struct Extra {
    via: Option<Via>,
    events: Vec<ChildKind>,
    merged_ticket_ids: Vec<Id>,
    voice: bool,
}

impl Extra {
    fn none() -> Self {
        Self {
            via: None,
            events: Vec::new(),
            merged_ticket_ids: Vec::new(),
            voice: false,
        }
    }
}

impl Dataset {
    /// Creates a ticket (status `new`) with its Create audit; returns its id.
    /// The channel (web form, mail or, for some, a voicemail) and the
    /// ticket type follow from the id.
    pub fn create_ticket(&mut self, new: NewTicket) -> Id {
        let id = self.tickets.len() as Id + 1;
        let via = match id % 20 {
            7 => Via::Voicemail,
            1 | 4 | 10 | 13 | 16 => Via::Mail,
            _ => Via::WebForm,
        };
        let ticket_type = match id % 10 {
            0 | 5 => Some("question"),
            3 => Some("incident"),
            8 => Some("task"),
            _ if id % 37 == 0 => Some("problem"),
            _ => None,
        }
        .map(str::to_string);
        let audit_id = self.event_id();
        let mut creates = vec![
            (Field::Subject, json!(new.subject)),
            (Field::RequesterId, json!(new.requester_id)),
            (Field::Status, json!("new")),
            (Field::Priority, json!(new.priority)),
            (Field::Type, json!(ticket_type)),
            (Field::GroupId, json!(new.group_id)),
            (Field::Tags, json!(new.tags)),
            (Field::CustomStatusId, json!(STATUS_NEW)),
            (Field::TicketFormId, json!(TICKET_FORM_ID)),
            (Field::BrandId, json!(BRAND_ID)),
        ];
        // A ticket without an organization has no Create child for it (the
        // recorded creations show one only when it is set).
        if let Some(org) = new.organization_id {
            creates.push((Field::OrganizationId, json!(org)));
        }
        for (fid, value) in &new.custom_fields {
            if !value.is_null() {
                creates.push((Field::Custom(*fid), value.clone()));
            }
        }
        let mut events = Vec::new();
        let eid = self.event_id();
        events.push(ChildEvent {
            id: eid,
            kind: ChildKind::Comment {
                author_id: new.requester_id,
                public: true,
                body: new.body.clone(),
                voice: via == Via::Voicemail,
            },
        });
        for (field, value) in creates {
            let eid = self.event_id();
            events.push(ChildEvent {
                id: eid,
                kind: ChildKind::Create { field, value },
            });
        }
        self.tickets.push(Ticket {
            id,
            subject: new.subject,
            description: new.body,
            created_at: new.at,
            updated_at: new.at,
            status: TicketStatus::New,
            custom_status_id: STATUS_NEW,
            priority: new.priority,
            ticket_type,
            requester_id: new.requester_id,
            submitter_id: new.requester_id,
            assignee_id: None,
            organization_id: new.organization_id,
            group_id: new.group_id,
            tags: new.tags,
            custom_fields: new.custom_fields,
            ticket_form_id: TICKET_FORM_ID,
            brand_id: BRAND_ID,
            via,
            satisfaction_rating: None,
            merged_into: None,
            audits: vec![Audit {
                id: audit_id,
                ticket_id: id,
                timestamp: new.at,
                updater_id: new.requester_id as i64,
                via,
                merged_ticket_ids: Vec::new(),
                events,
            }],
        });
        id
    }

    /// Records an update as an audit and applies it to the ticket's header;
    /// returns the audit id. Fails on an unknown or deleted ticket, an
    /// update before its creation, `Edit::Status(Deleted)` or an unknown
    /// custom status.
    ///
    /// The update's `via` follows from who makes it: the system closes
    /// tickets ("Closed ticket") and runs rules ("Rule"); the requester
    /// writes through the ticket's channel; agents use the web form, now
    /// and then the mobile app. A public comment by someone other than the
    /// requester also records the trigger's `Notification` to the
    /// requester, and on some tickets a `Cc` of the admin.
    pub fn update_ticket(&mut self, update: Update) -> Result<Id, String> {
        self.update_with(update, Extra::none())
    }

    fn update_with(&mut self, update: Update, extra: Extra) -> Result<Id, String> {
        let ticket = self
            .ticket(update.ticket_id)
            .ok_or_else(|| format!("no ticket {}", update.ticket_id))?;
        if ticket.status == TicketStatus::Deleted {
            return Err(format!("ticket {} is deleted", update.ticket_id));
        }
        if update.at < ticket.created_at {
            return Err(format!(
                "update at {} is before ticket {} was created",
                update.at, update.ticket_id
            ));
        }
        if update.edits.contains(&Edit::Status(TicketStatus::Deleted)) {
            return Err("delete tickets with delete_ticket".into());
        }
        // Custom statuses: their category as a system status.
        let mut categories = BTreeMap::new();
        for e in &update.edits {
            if let Edit::CustomStatus(id) | Edit::CustomStatusOnly(id) = e {
                let cat = self
                    .custom_status(*id)
                    .and_then(|s| category_status(s.category))
                    .ok_or_else(|| format!("no custom status {id}"))?;
                categories.insert(*id, cat);
            }
        }
        let (requester, ticket_via, ticket_index) = (ticket.requester_id, ticket.via, ticket.id);
        let closing = update.edits.contains(&Edit::Status(TicketStatus::Closed));
        let n_audits = ticket.audits.len() as u64;
        let updater_is_agent = u64::try_from(update.updater_id)
            .ok()
            .and_then(|u| self.user(u))
            .is_some_and(|u| u.role.is_agent());
        let via = extra.via.unwrap_or(if update.updater_id == SYSTEM_UPDATER {
            if closing {
                Via::ClosedTicket
            } else {
                Via::Rule
            }
        } else if update.updater_id == requester as i64 {
            match ticket_via {
                Via::Voicemail => Via::Mail,
                v => v,
            }
        } else if updater_is_agent && (ticket_index + n_audits) % 11 == 0 {
            Via::Mobile
        } else {
            Via::WebForm
        });
        let notify = update
            .comment
            .as_ref()
            .filter(|c| c.public && c.author_id != requester)
            .map(|c| c.body.clone());
        let cc =
            notify.is_some() && ticket_index % 13 == 0 && update.updater_id != USER_BASE as i64 + 1;
        let severity_of_fields = |t: &Ticket, fid: Id| {
            t.custom_fields
                .iter()
                .find(|(f, _)| *f == fid)
                .map_or(Value::Null, |(_, v)| v.clone())
        };
        let audit_id = self.event_id();
        let Some(ticket) = self.ticket_mut(update.ticket_id) else {
            return Err(format!("no ticket {}", update.ticket_id));
        };
        let mut kinds = Vec::new();
        let change = |field, value, previous_value| ChildKind::Change {
            field,
            value,
            previous_value,
        };
        for edit in update.edits {
            match edit {
                Edit::Status(s) => {
                    let prev = ticket.status;
                    ticket.status = s;
                    kinds.push(change(
                        Field::Status,
                        json!(s.as_str()),
                        json!(prev.as_str()),
                    ));
                    let custom = default_custom_status(s);
                    let prev = std::mem::replace(&mut ticket.custom_status_id, custom);
                    kinds.push(change(Field::CustomStatusId, json!(custom), json!(prev)));
                }
                Edit::CustomStatus(id) | Edit::CustomStatusOnly(id) => {
                    let only = matches!(edit, Edit::CustomStatusOnly(_));
                    let cat = categories.get(&id).copied().unwrap_or(ticket.status);
                    // A closed ticket's solved-category status keeps `closed`.
                    let s = if ticket.status == TicketStatus::Closed && cat == TicketStatus::Solved
                    {
                        TicketStatus::Closed
                    } else {
                        cat
                    };
                    let prev = std::mem::replace(&mut ticket.status, s);
                    if !only && prev != s {
                        kinds.push(change(
                            Field::Status,
                            json!(s.as_str()),
                            json!(prev.as_str()),
                        ));
                    }
                    let prev = std::mem::replace(&mut ticket.custom_status_id, id);
                    kinds.push(change(Field::CustomStatusId, json!(id), json!(prev)));
                }
                Edit::Priority(p) => {
                    let prev = std::mem::replace(&mut ticket.priority, p.clone());
                    kinds.push(change(Field::Priority, json!(p), json!(prev)));
                }
                Edit::Type(k) => {
                    let prev = std::mem::replace(&mut ticket.ticket_type, k.clone());
                    kinds.push(change(Field::Type, json!(k), json!(prev)));
                }
                Edit::Subject(s) => {
                    let prev = std::mem::replace(&mut ticket.subject, s.clone());
                    kinds.push(change(Field::Subject, json!(s), json!(prev)));
                }
                Edit::Group(g) => {
                    let prev = std::mem::replace(&mut ticket.group_id, g);
                    kinds.push(change(Field::GroupId, json!(g), json!(prev)));
                }
                Edit::Organization(o) => {
                    let prev = std::mem::replace(&mut ticket.organization_id, o);
                    kinds.push(change(Field::OrganizationId, json!(o), json!(prev)));
                }
                Edit::Tags(t) => {
                    let prev = std::mem::replace(&mut ticket.tags, t.clone());
                    kinds.push(change(Field::Tags, json!(t), json!(prev)));
                }
                Edit::Assignee(a) => {
                    let prev = std::mem::replace(&mut ticket.assignee_id, a);
                    kinds.push(change(Field::AssigneeId, json!(a), json!(prev)));
                }
                Edit::CustomField(fid, value) => {
                    let prev = severity_of_fields(ticket, fid);
                    match ticket.custom_fields.iter_mut().find(|(f, _)| *f == fid) {
                        Some((_, v)) => *v = value.clone(),
                        None => ticket.custom_fields.push((fid, value.clone())),
                    }
                    kinds.push(change(Field::Custom(fid), value, prev));
                }
            }
        }
        let mut events = Vec::new();
        if let Some(c) = update.comment {
            events.push(ChildKind::Comment {
                author_id: c.author_id,
                public: c.public,
                body: c.body,
                voice: extra.voice,
            });
        }
        events.extend(kinds);
        if let Some(body) = notify {
            events.push(ChildKind::Notification {
                trigger_id: NOTIFY_TRIGGER_ID,
                title: "Notify requester of comment update",
                subject: format!("[Request received] Re: {}", ticket.subject),
                body,
                recipients: vec![ticket.requester_id],
            });
        }
        if cc {
            events.push(ChildKind::Cc {
                recipients: vec![USER_BASE + 1],
            });
        }
        events.extend(extra.events);
        ticket.updated_at = ticket.updated_at.max(update.at);
        let ticket_id = ticket.id;
        let events = events
            .into_iter()
            .map(|kind| ChildEvent { id: 0, kind })
            .collect::<Vec<_>>();
        let mut audit = Audit {
            id: audit_id,
            ticket_id,
            timestamp: update.at,
            updater_id: update.updater_id,
            via,
            merged_ticket_ids: extra.merged_ticket_ids,
            events,
        };
        for e in &mut audit.events {
            e.id = self.event_id();
        }
        if let Some(t) = self.ticket_mut(ticket_id) {
            t.audits.push(audit);
        }
        Ok(audit_id)
    }

    /// Marks a ticket deleted (status `deleted` in the ticket export; no
    /// audit, as in Zendesk's event export).
    pub fn delete_ticket(&mut self, id: Id, at: i64) -> Result<(), String> {
        let ticket = self
            .ticket_mut(id)
            .ok_or_else(|| format!("no ticket {id}"))?;
        ticket.status = TicketStatus::Deleted;
        ticket.updated_at = ticket.updated_at.max(at);
        Ok(())
    }

    /// Merges ticket `source` into `target` at `at`, by agent `agent`, as
    /// Zendesk does: the source gets a private comment and is closed (via
    /// "Merge"); the target gets a private comment and the update lists
    /// the source in `merged_ticket_ids`.
    pub fn merge_tickets(
        &mut self,
        source: Id,
        target: Id,
        at: i64,
        agent: Id,
    ) -> Result<(), String> {
        if source == target || self.ticket(target).is_none() {
            return Err(format!("cannot merge {source} into {target}"));
        }
        let merge = Extra {
            via: Some(Via::Merge),
            ..Extra::none()
        };
        self.update_with(
            Update {
                ticket_id: source,
                at,
                updater_id: agent as i64,
                edits: vec![Edit::Status(TicketStatus::Closed)],
                comment: Some(NewComment {
                    author_id: agent,
                    public: false,
                    body: format!("This request was closed and merged into request #{target}."),
                }),
            },
            merge,
        )?;
        if let Some(t) = self.ticket_mut(source) {
            t.merged_into = Some(target);
        }
        self.update_with(
            Update {
                ticket_id: target,
                at,
                updater_id: agent as i64,
                edits: Vec::new(),
                comment: Some(NewComment {
                    author_id: agent,
                    public: false,
                    body: format!("Request #{source} was closed and merged into this request."),
                }),
            },
            Extra {
                via: Some(Via::Merge),
                merged_ticket_ids: vec![source],
                ..Extra::none()
            },
        )?;
        Ok(())
    }

    /// The requester rates a solved ticket: an update with a
    /// `SatisfactionRating` child; the header's `satisfaction_rating` is
    /// set.
    pub fn rate_ticket(
        &mut self,
        id: Id,
        at: i64,
        score: &str,
        comment: &str,
    ) -> Result<Id, String> {
        let t = self.ticket(id).ok_or_else(|| format!("no ticket {id}"))?;
        let (requester, assignee) = (t.requester_id, t.assignee_id);
        let audit = self.update_with(
            Update {
                ticket_id: id,
                at,
                updater_id: requester as i64,
                edits: Vec::new(),
                comment: None,
            },
            Extra {
                events: vec![ChildKind::SatisfactionRating {
                    score: score.to_string(),
                    assignee_id: assignee,
                    body: comment.to_string(),
                }],
                ..Extra::none()
            },
        )?;
        if let Some(t) = self.ticket_mut(id) {
            t.satisfaction_rating =
                Some((RATING_BASE + id, score.to_string(), comment.to_string()));
        }
        Ok(audit)
    }

    /// A test hook: `n` updates in the same second `at` (an API bulk
    /// update, via "Web service", adding the tag `bulk_update`), spread
    /// over the tickets that exist and are not deleted at `at`, several per
    /// ticket when there are fewer than `n`. Returns how many were made.
    pub fn same_second_burst(&mut self, at: i64, n: usize) -> usize {
        let ids: Vec<Id> = self
            .tickets
            .iter()
            .filter(|t| t.status != TicketStatus::Deleted && t.created_at <= at)
            .map(|t| t.id)
            .collect();
        if ids.is_empty() {
            return 0;
        }
        let admin = self.agents().next().map_or(USER_BASE + 1, |u| u.id);
        let mut made = 0;
        for k in 0..n {
            let id = ids[k % ids.len()];
            let mut tags = self.ticket(id).map(|t| t.tags.clone()).unwrap_or_default();
            if !tags.iter().any(|t| t == "bulk_update") {
                tags.push("bulk_update".into());
            }
            let update = Update {
                ticket_id: id,
                at,
                updater_id: admin as i64,
                edits: vec![Edit::Tags(tags)],
                comment: None,
            };
            let extra = Extra {
                via: Some(Via::WebService),
                ..Extra::none()
            };
            if self.update_with(update, extra).is_ok() {
                made += 1;
            }
        }
        made
    }

    /// A test hook: an update by a user who was since deleted (absent
    /// from the users export): a private note.
    pub fn comment_by_deleted_user(&mut self, id: Id, at: i64, n: u64) -> Result<Id, String> {
        let author = DELETED_USER_BASE + n;
        self.update_ticket(Update {
            ticket_id: id,
            at,
            updater_id: author as i64,
            edits: Vec::new(),
            comment: Some(NewComment {
                author_id: author,
                public: false,
                body: "Note from a former colleague.".into(),
            }),
        })
    }

    /// Replaces an organization's tags.
    pub fn update_organization(
        &mut self,
        id: Id,
        at: i64,
        tags: Vec<String>,
    ) -> Result<(), String> {
        let org = self
            .organizations
            .iter_mut()
            .find(|o| o.id == id)
            .ok_or_else(|| format!("no organization {id}"))?;
        org.tags = tags;
        org.updated_at = org.updated_at.max(at);
        Ok(())
    }
}
