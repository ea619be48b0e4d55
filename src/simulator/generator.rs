//! A deterministic synthetic helpdesk: organizations on the config's plans,
//! agents and end users, and tickets with full audit histories.
//!
//! [`generate`] builds a [`Dataset`] from a [`Config`] and
//! [`GeneratorOptions`]; the same config, options and seed give the same
//! dataset, byte for byte. What it contains:
//!
//! * organizations spread round-robin over the plans that match on
//!   organization tags (tagged with the plan's first `organization_tags`
//!   value, or given its `organization_field` value), plus one bucket with no
//!   plan;
//! * agents (one admin), end users in every organization and a few without;
//! * tickets created with weekday/hour seasonality in the local time of the
//!   organization's plan calendar (weekends and nights are quiet), whose
//!   priorities come from the configured severities (the Zendesk names
//!   urgent/high/normal/low when a severity lists one, otherwise its other
//!   values; about 4% without a priority);
//! * per ticket: a Create audit (status, priority, group, organization and
//!   tags, and the requester's description), internal notes, agent replies
//!   timed against the plan's targets on the real calendars (about 12% late:
//!   breaches), pending periods, requester replies, holds, group and priority
//!   changes, solves, reopenings, closes by the system (updater `-1`) and a
//!   few deletions. Nothing happens after `now`: tickets near the end are
//!   still open.
//!
//! * around the SLA-relevant history, and from a separate random stream so
//!   that history stays the same whatever these options say: each status
//!   change also records the `custom_status_id` (the category's default, or
//!   with [`GeneratorOptions::custom_status_rate`] some non-default custom
//!   statuses of [`standard_custom_statuses`]); the assignee is recorded;
//!   public agent comments record the trigger's `Notification` (and on some
//!   tickets a `Cc`); some tickets come in by mail or voicemail (a
//!   `VoiceComment`); with a numeric `severity_field` in the policy, the
//!   field changes with the priority and, on some tickets, with the first
//!   reply; some tickets get a private note by a deleted user (absent from
//!   the users); some closed tickets get a satisfaction rating; with
//!   [`GeneratorOptions::merge_rate`], some tickets are merged into an
//!   earlier one of the same requester.
//!
//! Test hooks: [`Edit::CustomStatus`], [`Edit::CustomStatusOnly`] (an update
//! with only a `custom_status_id` child), [`Edit::CustomField`],
//! [`Dataset::same_second_burst`] (more updates in one second than a page
//! holds), [`Dataset::comment_by_deleted_user`], [`Dataset::rate_ticket`],
//! [`Dataset::merge_tickets`].
//!
//! The dataset can be changed while it is served ([`Dataset::create_ticket`],
//! [`Dataset::update_ticket`], [`Dataset::delete_ticket`],
//! [`Dataset::update_organization`]); every change bumps `updated_at`, so
//! incremental exports return the record again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use super::Rng;
use crate::policy::model::{Plan, Policy};
use crate::policy::spec::{MetricKindSpec, TargetAmount};
use crate::policy::Config;

pub type Id = u64;

/// First organization id (ids of different kinds never collide).
pub const ORGANIZATION_BASE: Id = 360_000_000;
/// First user id.
pub const USER_BASE: Id = 370_000_000;
/// First group id.
pub const GROUP_BASE: Id = 380_000_000;
/// The updater of changes Zendesk makes itself (closing solved tickets).
pub const SYSTEM_UPDATER: i64 = -1;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    pub seed: u64,
    pub organizations: usize,
    pub days: u32,
    /// Average tickets created per day (seasonality moves them around).
    pub tickets_per_day: u32,
    /// Unix seconds: the first ticket is created at or after this.
    pub start: i64,
    /// Nothing happens after this instant (default: `start + days`).
    pub now: Option<i64>,
    /// Share of replies that miss their target (breaches).
    pub late_reply_rate: f64,
    /// Share of tickets that are deleted.
    pub deletion_rate: f64,
    /// Share of holds, escalations and pending replies that go to a
    /// non-default custom status ("Waiting on third party", "Escalated to
    /// engineering", "Awaiting customer test"), so a consumer must map
    /// `custom_status_id` through `/api/v2/custom_statuses`. The `status`
    /// child still names the system status.
    pub custom_status_rate: f64,
    /// With a numeric `severity_field` in the policy: share of tickets
    /// whose severity field an agent changes with the first reply (a
    /// `custom_ticket_fields` Change); priority changes change it too.
    pub severity_change_rate: f64,
    /// Share of tickets with a private note by a user who was deleted
    /// since (absent from the users export).
    pub deleted_user_comment_rate: f64,
    /// Share of closed tickets the requester rated before they closed (a
    /// `SatisfactionRating` child).
    pub satisfaction_rate: f64,
    /// Share of tickets merged into an earlier open ticket of the same
    /// requester (closed via "Merge"; `merged_ticket_ids` on the target's
    /// update).
    pub merge_rate: f64,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            organizations: 40,
            days: 14,
            tickets_per_day: 40,
            // 2026-11-02T00:00:00Z, a Monday.
            start: 1_793_577_600,
            now: None,
            late_reply_rate: 0.12,
            deletion_rate: 0.015,
            custom_status_rate: 0.0,
            severity_change_rate: 0.1,
            deleted_user_comment_rate: 0.02,
            satisfaction_rate: 0.3,
            merge_rate: 0.0,
        }
    }
}

impl GeneratorOptions {
    /// The instant after which nothing happens.
    pub fn end(&self) -> i64 {
        self.now
            .unwrap_or(self.start + i64::from(self.days) * 86_400)
    }
}

/// Ticket statuses as Zendesk has them (with `deleted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TicketStatus {
    New,
    Open,
    Pending,
    Hold,
    Solved,
    Closed,
    Deleted,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Hold => "hold",
            Self::Solved => "solved",
            Self::Closed => "closed",
            Self::Deleted => "deleted",
        }
    }
}

/// A Zendesk user role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    EndUser,
    Agent,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EndUser => "end-user",
            Self::Agent => "agent",
            Self::Admin => "admin",
        }
    }

    pub fn is_agent(self) -> bool {
        self != Self::EndUser
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: Id,
    pub name: String,
    pub tags: Vec<String>,
    pub fields: BTreeMap<String, Value>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The plan the generator meant it for (`None`: no plan matches it).
    pub plan: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Id,
    pub name: String,
    pub role: Role,
    pub organization_id: Option<Id>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: Id,
    pub name: String,
}

/// A ticket: its current header and its audits, oldest first.
/// A ticket: its current header and its audits, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: Id,
    pub subject: String,
    /// The first comment's text.
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub status: TicketStatus,
    /// Always one of [`Dataset::custom_statuses`]; its category matches
    /// `status` (closed tickets keep a solved-category status).
    pub custom_status_id: Id,
    pub priority: Option<String>,
    /// `incident`, `problem`, `question`, `task` or none.
    pub ticket_type: Option<String>,
    pub requester_id: Id,
    pub submitter_id: Id,
    pub assignee_id: Option<Id>,
    pub organization_id: Option<Id>,
    pub group_id: Option<Id>,
    pub tags: Vec<String>,
    /// `(field id, value)`.
    pub custom_fields: Vec<(Id, Value)>,
    pub ticket_form_id: Id,
    pub brand_id: Id,
    /// How the ticket came in.
    pub via: Via,
    /// `(rating id, score, comment)` once the requester rated the ticket.
    pub satisfaction_rating: Option<(Id, String, String)>,
    /// Set on a ticket closed by merging it into another.
    pub merged_into: Option<Id>,
    pub audits: Vec<Audit>,
}

/// One ticket update (Zendesk's "Audit" ticket event) and its child events.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub id: Id,
    pub ticket_id: Id,
    pub timestamp: i64,
    pub updater_id: i64,
    /// How the update was made (the event's `via` label).
    pub via: Via,
    /// Tickets merged into this one by this update.
    pub merged_ticket_ids: Vec<Id>,
    pub events: Vec<ChildEvent>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChildEvent {
    pub id: Id,
    pub kind: ChildKind,
}

/// How an update was made: Zendesk's via types ("Via types" reference),
/// with the label the ticket event export writes in `via` and the channel
/// a comment's `via` object names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    WebForm,
    Mail,
    WebService,
    Rule,
    Voicemail,
    ClosedTicket,
    Mobile,
    Merge,
}

impl Via {
    /// The ticket event's `via` string.
    pub fn label(self) -> &'static str {
        match self {
            Self::WebForm => "Web form",
            Self::Mail => "Mail",
            Self::WebService => "Web service",
            Self::Rule => "Rule",
            Self::Voicemail => "Voicemail",
            Self::ClosedTicket => "Closed ticket",
            Self::Mobile => "Mobile",
            Self::Merge => "Merge",
        }
    }

    /// `via.channel` of tickets and comments.
    pub fn channel(self) -> &'static str {
        match self {
            Self::WebForm => "web",
            Self::Mail => "email",
            Self::WebService => "api",
            Self::Rule => "rule",
            Self::Voicemail => "voice",
            Self::ClosedTicket => "closed_ticket",
            Self::Mobile => "mobile",
            Self::Merge => "merge",
        }
    }
}

/// The ticket fields updates record. Each is the key of its own in a
/// Create/Change child event (custom fields under `custom_ticket_fields`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Subject,
    RequesterId,
    Status,
    CustomStatusId,
    Priority,
    Type,
    GroupId,
    AssigneeId,
    OrganizationId,
    Tags,
    TicketFormId,
    BrandId,
    /// A custom ticket field, by id.
    Custom(Id),
}

impl Field {
    /// The child event's key for the field.
    pub fn name(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::RequesterId => "requester_id",
            Self::Status => "status",
            Self::CustomStatusId => "custom_status_id",
            Self::Priority => "priority",
            Self::Type => "type",
            Self::GroupId => "group_id",
            Self::AssigneeId => "assignee_id",
            Self::OrganizationId => "organization_id",
            Self::Tags => "tags",
            Self::TicketFormId => "ticket_form_id",
            Self::BrandId => "brand_id",
            Self::Custom(_) => "custom_ticket_fields",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChildKind {
    /// A field's value when the ticket was created.
    Create { field: Field, value: Value },
    Change {
        field: Field,
        value: Value,
        previous_value: Value,
    },
    /// A comment (`type: "VoiceComment"` when `voice`).
    Comment {
        author_id: Id,
        public: bool,
        body: String,
        voice: bool,
    },
    /// An email a trigger sent (`event_type: "Notification"`).
    Notification {
        trigger_id: Id,
        title: &'static str,
        subject: String,
        body: String,
        recipients: Vec<Id>,
    },
    /// People copied on the update (`event_type: "Cc"`).
    Cc { recipients: Vec<Id> },
    /// The requester's satisfaction rating (`event_type:
    /// "SatisfactionRating"`).
    SatisfactionRating {
        score: String,
        assignee_id: Option<Id>,
        body: String,
    },
}

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

/// A custom ticket status (Zendesk's "Custom Ticket Statuses" API).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomStatus {
    pub id: Id,
    /// `new`, `open`, `pending`, `hold` or `solved`.
    pub category: &'static str,
    pub agent_label: &'static str,
    pub end_user_label: &'static str,
    pub description: Option<&'static str>,
    pub active: bool,
    pub default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The default status of each category (ids as in a real account).
pub const STATUS_NEW: Id = 4_044_356;
pub const STATUS_OPEN: Id = 4_044_376;
pub const STATUS_PENDING: Id = 4_044_396;
pub const STATUS_HOLD: Id = 4_044_416;
pub const STATUS_SOLVED: Id = 4_044_436;
/// A custom status in the `hold` category.
pub const STATUS_WAITING_ON_THIRD_PARTY: Id = 4_044_456;
/// A custom status in the `open` category.
pub const STATUS_ESCALATED: Id = 4_044_476;
/// A custom status in the `pending` category.
pub const STATUS_AWAITING_CUSTOMER_TEST: Id = 4_044_496;
/// The account's one ticket form and brand.
pub const TICKET_FORM_ID: Id = 360_000_111_222;
pub const BRAND_ID: Id = 360_000_333_444;
/// The ids of users who were deleted: they author some comments but are
/// not in the users export.
pub const DELETED_USER_BASE: Id = 379_000_000;
/// The trigger that notifies the requester of a public agent comment.
pub const NOTIFY_TRIGGER_ID: Id = 360_100_000_001;
/// The first satisfaction rating id.
const RATING_BASE: Id = 390_000_000;

/// The account's custom statuses: each category's default, and a few
/// custom ones.
pub fn standard_custom_statuses() -> Vec<CustomStatus> {
    // 2022-12-01T00:00:00Z, when the account turned custom statuses on.
    let at = 1_669_852_800;
    let s = |id, category, label, default, description| CustomStatus {
        id,
        category,
        agent_label: label,
        end_user_label: match category {
            "new" | "open" | "hold" => "Open",
            "pending" => "Awaiting your reply",
            _ => "Solved",
        },
        description,
        active: true,
        default,
        created_at: at,
        updated_at: at,
    };
    vec![
        s(
            STATUS_NEW,
            "new",
            "New",
            true,
            Some("Ticket is awaiting assignment to an agent"),
        ),
        s(
            STATUS_OPEN,
            "open",
            "Open",
            true,
            Some("Staff is working on the ticket"),
        ),
        s(
            STATUS_PENDING,
            "pending",
            "Pending",
            true,
            Some("Staff is waiting for the requester to reply"),
        ),
        s(
            STATUS_HOLD,
            "hold",
            "On-hold",
            true,
            Some("Staff is waiting for a third party"),
        ),
        s(
            STATUS_SOLVED,
            "solved",
            "Solved",
            true,
            Some("The ticket has been solved"),
        ),
        s(
            STATUS_WAITING_ON_THIRD_PARTY,
            "hold",
            "Waiting on third party",
            false,
            Some("A vendor or partner has to act"),
        ),
        s(
            STATUS_ESCALATED,
            "open",
            "Escalated to engineering",
            false,
            None,
        ),
        s(
            STATUS_AWAITING_CUSTOMER_TEST,
            "pending",
            "Awaiting customer test",
            false,
            None,
        ),
    ]
}

/// The default custom status of a system status (closed: solved).
pub fn default_custom_status(s: TicketStatus) -> Id {
    match s {
        TicketStatus::New => STATUS_NEW,
        TicketStatus::Open => STATUS_OPEN,
        TicketStatus::Pending => STATUS_PENDING,
        TicketStatus::Hold => STATUS_HOLD,
        TicketStatus::Solved | TicketStatus::Closed | TicketStatus::Deleted => STATUS_SOLVED,
    }
}

fn category_status(category: &str) -> Option<TicketStatus> {
    Some(match category {
        "new" => TicketStatus::New,
        "open" => TicketStatus::Open,
        "pending" => TicketStatus::Pending,
        "hold" => TicketStatus::Hold,
        "solved" => TicketStatus::Solved,
        _ => return None,
    })
}

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
    next_event_id: Id,
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
    pub fn ticket(&self, id: Id) -> Option<&Ticket> {
        let i = usize::try_from(id.checked_sub(1)?).ok()?;
        self.tickets.get(i)
    }

    fn ticket_mut(&mut self, id: Id) -> Option<&mut Ticket> {
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

    fn event_id(&mut self) -> Id {
        self.next_event_id += 1;
        self.next_event_id
    }

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

    /// Every audit, in `(timestamp, id)` order.
    pub fn audits_in_order(&self) -> Vec<&Audit> {
        let mut all: Vec<&Audit> = self.tickets.iter().flat_map(|t| &t.audits).collect();
        all.sort_by_key(|a| (a.timestamp, a.id));
        all
    }

    /// Renumbers audits and child events so ids grow with time.
    fn renumber(&mut self) {
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

const ZENDESK_PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];
const NAMES: [&str; 10] = [
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
    "Tyrell",
];
const TICKET_TAGS: [&str; 5] = ["billing", "integration", "login", "api", "question"];

/// The priority values of one severity: Zendesk names first.
struct SeverityValues {
    weight: f64,
    zendesk: Vec<String>,
    other: Vec<String>,
}

fn severity_values(policy: &Policy) -> Vec<SeverityValues> {
    let n = policy.severities.len();
    if n == 0 {
        return ZENDESK_PRIORITIES
            .iter()
            .zip([1.0, 3.0, 6.0, 3.0])
            .map(|(p, weight)| SeverityValues {
                weight,
                zendesk: vec![(*p).to_string()],
                other: Vec::new(),
            })
            .collect();
    }
    (0..n)
        .map(|s| {
            let mut values: Vec<String> = policy
                .priorities
                .iter()
                .filter(|(_, &v)| v == s)
                .map(|(k, _)| k.clone())
                .collect();
            values.sort();
            let (zendesk, other) = values
                .into_iter()
                .partition(|v| ZENDESK_PRIORITIES.contains(&v.as_str()));
            let weight = if s == 0 {
                1.0
            } else if s == n - 1 {
                3.0
            } else {
                6.0
            };
            SeverityValues {
                weight,
                zendesk,
                other,
            }
        })
        .collect()
}

fn pick_priority(rng: &mut Rng, values: &[SeverityValues]) -> Option<String> {
    if rng.chance(0.04) {
        return None;
    }
    let weights: Vec<f64> = values.iter().map(|v| v.weight).collect();
    let v = values.get(rng.weighted(&weights))?;
    let list = if !v.zendesk.is_empty() && (v.other.is_empty() || rng.chance(0.85)) {
        &v.zendesk
    } else {
        &v.other
    };
    list.get(rng.index(list.len())).cloned()
}

/// How likely a ticket is created at this local time.
fn seasonality(weekday: u32, hour: u32) -> f64 {
    let day = if weekday >= 5 { 0.2 } else { 1.0 };
    let hour = match hour {
        8..=17 => 1.0,
        6..=7 | 18..=20 => 0.4,
        _ => 0.1,
    };
    day * hour
}

fn local(t: i64, tz: Tz) -> Option<(u32, u32)> {
    let d = Utc.timestamp_opt(t, 0).single()?.with_timezone(&tz);
    Some((d.weekday().num_days_from_monday(), d.hour()))
}

fn plan_tz(plan: Option<&Plan>, config: &Config) -> Tz {
    plan.map(|p| p.calendar.timezone())
        .or_else(|| config.calendars.values().next().map(|c| c.timezone()))
        .unwrap_or(chrono_tz::UTC)
}

/// When a reply to a clock started at `from` happens: on time (5%..90% of
/// the target) or, with `late` set, after it (120%..250%), on the target's
/// calendar; 20 minutes to 6 hours of wall time when there is no target.
fn reply_time(
    rng: &mut Rng,
    plan: Option<&Plan>,
    severity: Option<usize>,
    metric: Option<usize>,
    from: i64,
    late: bool,
) -> (i64, bool) {
    let target = plan
        .zip(severity)
        .zip(metric)
        .and_then(|((p, s), m)| p.target(s, m));
    let timed = target.and_then(|t| {
        let secs = match t.amount {
            TargetAmount::Business(d) => t.calendar.duration_seconds(d),
            TargetAmount::BusinessDays(n) => i64::from(n) * t.calendar.day_length(),
            TargetAmount::None => return None,
        };
        let scale = if late {
            1.2 + 1.3 * rng.unit()
        } else {
            0.05 + 0.85 * rng.unit()
        };
        t.calendar.deadline(from, (secs as f64 * scale) as i64).ok()
    });
    match timed {
        Some(at) => (at.max(from + 60), true),
        None => (from + rng.range(1200, 6 * 3600), false),
    }
}

/// Records one update; false once it would be after the end.
type Apply<'a> = dyn FnMut(&mut Dataset, i64, i64, Vec<Edit>, Option<NewComment>) -> bool + 'a;

struct Ctx<'a> {
    policy: &'a Policy,
    severities: Vec<SeverityValues>,
    first_response: Option<usize>,
    follow_up: Option<usize>,
    end: i64,
    late_rate: f64,
    deletion_rate: f64,
    custom_status_rate: f64,
    severity_change_rate: f64,
    /// The policy's `severity_field`, when it is a ticket field id.
    severity_field: Option<Id>,
}

/// Generates the dataset.
pub fn generate(config: &Config, options: &GeneratorOptions) -> Dataset {
    let policy = &config.policy;
    let mut rng = Rng::new(options.seed);
    let mut data = Dataset {
        groups: ["Support", "Tier 2", "Billing", "Engineering"]
            .iter()
            .enumerate()
            .map(|(i, n)| Group {
                id: GROUP_BASE + i as Id,
                name: (*n).to_string(),
            })
            .collect(),
        ..Dataset::default()
    };
    let before = options.start - 365 * 86_400;

    // Organizations, round-robin over the plans that match organizations.
    let org_plans: Vec<&Plan> = policy
        .plans
        .iter()
        .filter(|p| {
            !p.matcher.organization_tags.is_empty() || p.matcher.organization_field.is_some()
        })
        .collect();
    for i in 0..options.organizations {
        let bucket = i % (org_plans.len() + 1);
        let plan = org_plans.get(bucket).copied();
        let mut tags = Vec::new();
        let mut fields = BTreeMap::new();
        if let Some(p) = plan {
            if let Some(tag) = p.matcher.organization_tags.first() {
                tags.push(tag.clone());
            } else if let Some(f) = &p.matcher.organization_field {
                if let Some(v) = f.values.first() {
                    fields.insert(f.name.clone(), json!(v));
                }
            }
        }
        if rng.chance(0.3) {
            tags.push(["emea", "apac", "amer"][rng.index(3)].to_string());
        }
        let created = rng.range(before, options.start - 86_400);
        data.organizations.push(Organization {
            id: ORGANIZATION_BASE + i as Id + 1,
            name: format!("{} {}", NAMES[i % NAMES.len()], i + 1),
            tags,
            fields,
            created_at: created,
            updated_at: rng.range(created, options.start),
            plan: plan.map(|p| p.name.clone()),
        });
    }

    // Users: agents (one admin), end users per organization and a few without.
    let agents = 4 + options.organizations / 8;
    let mut next_user = USER_BASE;
    let mut user = |data: &mut Dataset, rng: &mut Rng, name: String, role, org| {
        next_user += 1;
        let created = rng.range(before, options.start - 86_400);
        data.users.push(User {
            id: next_user,
            name,
            role,
            organization_id: org,
            created_at: created,
            updated_at: rng.range(created, options.start),
        });
        next_user
    };
    for i in 0..agents {
        let role = if i == 0 { Role::Admin } else { Role::Agent };
        user(&mut data, &mut rng, format!("Agent {}", i + 1), role, None);
    }
    let mut requesters: Vec<(Option<Id>, Vec<Id>)> = Vec::new();
    for o in 0..options.organizations {
        let org = data.organizations[o].id;
        let n = 2 + rng.index(3);
        let ids = (0..n)
            .map(|k| {
                let name = format!("Customer {} of {}", k + 1, data.organizations[o].name);
                user(&mut data, &mut rng, name, Role::EndUser, Some(org))
            })
            .collect();
        requesters.push((Some(org), ids));
    }
    let loose = (0..5)
        .map(|k| {
            user(
                &mut data,
                &mut rng,
                format!("Visitor {}", k + 1),
                Role::EndUser,
                None,
            )
        })
        .collect();
    requesters.push((None, loose));
    let agent_ids: Vec<Id> = data.agents().map(|u| u.id).collect();

    // Ticket creations with seasonality in the plan calendar's zone.
    let span = i64::from(options.days) * 86_400;
    let total = options.days as usize * options.tickets_per_day as usize;
    let ticket_plans: Vec<&Plan> = policy
        .plans
        .iter()
        .filter(|p| !p.matcher.ticket_tags.is_empty())
        .collect();
    let exclusion_tags: Vec<&String> = policy
        .exclusions
        .iter()
        .flat_map(|e| &e.ticket_tags)
        .collect();
    let mut creations = Vec::with_capacity(total);
    for _ in 0..total {
        // 10% of tickets come from requesters without an organization.
        let bucket = if requesters.len() > 1 && rng.chance(0.9) {
            rng.index(requesters.len() - 1)
        } else {
            requesters.len() - 1
        };
        let (org, ids) = &requesters[bucket];
        let requester = ids[rng.index(ids.len())];
        let mut tags = Vec::new();
        if rng.chance(0.5) {
            tags.push(TICKET_TAGS[rng.index(TICKET_TAGS.len())].to_string());
        }
        let mut plan = org
            .and_then(|id| data.organization(id))
            .and_then(|o| o.plan.as_deref())
            .and_then(|name| policy.plans.iter().find(|p| p.name == name));
        if !ticket_plans.is_empty() && rng.chance(0.06) {
            let p = ticket_plans[rng.index(ticket_plans.len())];
            if let Some(tag) = p.matcher.ticket_tags.first() {
                tags.push(tag.clone());
                plan = Some(p);
            }
        }
        if !exclusion_tags.is_empty() && rng.chance(0.02) {
            tags.push(exclusion_tags[rng.index(exclusion_tags.len())].clone());
        }
        let plan = plan.or_else(|| policy.default_plan.and_then(|d| policy.plans.get(d)));
        let tz = plan_tz(plan, config);
        let mut at = options.start;
        for _ in 0..200 {
            at = options.start + rng.range(0, span.max(1));
            let (wd, h) = local(at, tz).unwrap_or((0, 12));
            if rng.chance(seasonality(wd, h)) {
                break;
            }
        }
        creations.push((at, *org, requester, tags, plan.map(|p| p.name.clone()), tz));
    }
    creations.sort_by_key(|c| c.0);

    let ctx = Ctx {
        policy,
        severities: severity_values(policy),
        first_response: policy
            .metrics_of(MetricKindSpec::FirstResponse)
            .first()
            .copied(),
        follow_up: policy
            .metrics_of(MetricKindSpec::NextReply)
            .first()
            .or_else(|| policy.metrics_of(MetricKindSpec::PeriodicUpdate).first())
            .copied(),
        end: options.end(),
        late_rate: options.late_reply_rate,
        deletion_rate: options.deletion_rate,
        custom_status_rate: options.custom_status_rate,
        severity_change_rate: options.severity_change_rate,
        severity_field: policy
            .severity_field
            .as_deref()
            .and_then(|f| f.parse().ok()),
    };
    let severity_field_id = ctx.severity_field;
    for (at, org, requester, tags, plan_name, tz) in creations {
        let plan = plan_name
            .as_deref()
            .and_then(|n| policy.plans.iter().find(|p| p.name == n));
        if let Some((wd, h)) = local(at, tz) {
            if wd >= 5 {
                data.stats.weekend_created += 1;
            }
            if (8..18).contains(&h) {
                data.stats.daytime_created += 1;
            }
        }
        let priority = pick_priority(&mut rng, &ctx.severities);
        let mut custom_fields = vec![(GROUP_BASE + 1000, json!(null))];
        if let (Some(fid), Some(p)) = (severity_field_id, priority.as_ref()) {
            let sev = policy.severity_of(p).and_then(|s| policy.severities.get(s));
            custom_fields.push((fid, json!(sev)));
        }
        let group = if rng.chance(0.7) {
            data.groups[0].id
        } else {
            data.groups[rng.index(data.groups.len())].id
        };
        let n = data.tickets.len() + 1;
        let id = data.create_ticket(NewTicket {
            at,
            subject: format!("Synthetic ticket {n}"),
            requester_id: requester,
            organization_id: org,
            priority,
            group_id: Some(group),
            tags,
            custom_fields,
            body: format!("Something is wrong ({n})."),
        });
        // Another stream for what the SLA does not depend on, so the
        // tickets' lives stay the same whatever these options say.
        let mut extra = Rng::derive(options.seed ^ EXTRA_SALT, id);
        lifecycle(&ctx, &mut data, &mut rng, &mut extra, id, plan, &agent_ids);
    }
    decorate(&mut data, options, &agent_ids);
    data.renumber();
    data
}

const EXTRA_SALT: u64 = 0x5A7E_11E5_DEC0_0001;

/// Adds what the SLA clocks do not depend on: private notes by deleted
/// users, satisfaction ratings between a solve and the close, merges.
fn decorate(data: &mut Dataset, options: &GeneratorOptions, agents: &[Id]) {
    let end = options.end();
    let agent = agents.first().copied().unwrap_or(USER_BASE + 1);
    for i in 0..data.tickets.len() {
        let id = i as Id + 1;
        let mut rng = Rng::derive(options.seed ^ EXTRA_SALT ^ 0xFF, id);
        let Some(t) = data.ticket(id) else { continue };
        if t.status == TicketStatus::Deleted {
            continue;
        }
        let times: Vec<i64> = t.audits.iter().map(|a| a.timestamp).collect();
        if rng.chance(options.deleted_user_comment_rate) && times.len() >= 3 {
            let at = times[1] + (times[2] - times[1]) / 2;
            if at > times[1] {
                let _ = data.comment_by_deleted_user(id, at, 1 + id % 7);
            }
        }
        // Solved, then closed by the system: a rating in between.
        let Some(t) = data.ticket(id) else { continue };
        if t.status == TicketStatus::Closed && rng.chance(options.satisfaction_rate) {
            let closed = t.updated_at;
            let solved = t
                .audits
                .iter()
                .filter(|a| {
                    a.events.iter().any(|e| {
                        matches!(&e.kind, ChildKind::Change { field: Field::Status, value, .. } if value == "solved")
                    })
                })
                .map(|a| a.timestamp)
                .max();
            if let Some(solved) = solved.filter(|s| closed - s > 7200) {
                let at = solved + 3600 + rng.range(0, closed - solved - 7200);
                let (score, comment) = if rng.chance(0.85) {
                    ("good", "Quick and helpful, thanks!")
                } else {
                    ("bad", "Took too long.")
                };
                let _ = data.rate_ticket(id, at, score, comment);
            }
        }
        if rng.chance(options.merge_rate) {
            let Some(t) = data.ticket(id) else { continue };
            let (requester, created) = (t.requester_id, t.created_at);
            let at = created + 600;
            let target = data.tickets[..i]
                .iter()
                .rev()
                .take(200)
                .find(|o| {
                    o.requester_id == requester
                        && !matches!(o.status, TicketStatus::Deleted | TicketStatus::Closed)
                        && o.merged_into.is_none()
                })
                .map(|o| o.id);
            let later = data
                .ticket(id)
                .is_some_and(|t| t.audits.iter().any(|a| a.timestamp >= at));
            if let Some(target) = target.filter(|_| at <= end && !later) {
                let _ = data.merge_tickets(id, target, at, agent);
            }
        }
    }
}

/// Plays one ticket's life after its creation, stopping at `ctx.end`.
fn lifecycle(
    ctx: &Ctx,
    data: &mut Dataset,
    rng: &mut Rng,
    extra: &mut Rng,
    id: Id,
    plan: Option<&Plan>,
    agents: &[Id],
) {
    let Some(t) = data.ticket(id) else { return };
    let (requester, created) = (t.requester_id, t.created_at);
    let severity = |data: &Dataset| {
        data.ticket(id)
            .and_then(|t| t.priority.as_deref())
            .and_then(|p| ctx.policy.severity_of(p))
            .or(ctx.policy.default_severity)
    };
    let agent = agents
        .get(rng.index(agents.len()))
        .copied()
        .unwrap_or(USER_BASE);
    let end = ctx.end;
    // Returns false once the update would be after `end`.
    let mut apply = |data: &mut Dataset, at: i64, by: i64, edits: Vec<Edit>, comment| {
        if at > end {
            return false;
        }
        data.update_ticket(Update {
            ticket_id: id,
            at,
            updater_id: by,
            edits,
            comment,
        })
        .is_ok()
    };
    let reply = |author: Id, public: bool, body: &str| {
        Some(NewComment {
            author_id: author,
            public,
            body: body.to_string(),
        })
    };
    let agent_reply = |data: &mut Dataset,
                       rng: &mut Rng,
                       extra: &mut Rng,
                       apply: &mut Apply,
                       from: i64,
                       metric: Option<usize>,
                       mut edits: Vec<Edit>|
     -> Option<(i64, TicketStatus)> {
        let late = rng.chance(ctx.late_rate);
        let (at, timed) = reply_time(rng, plan, severity(data), metric, from, late);
        if at > end {
            return None;
        }
        if timed {
            data.stats.replies_with_target += 1;
            if late {
                data.stats.late_replies += 1;
            }
        }
        if rng.chance(0.12) {
            let note_at = from + (at - from) / 2;
            apply(
                data,
                note_at,
                agent as i64,
                vec![],
                reply(agent, false, "Internal: looking into it."),
            );
        }
        let status = if rng.chance(0.35) {
            TicketStatus::Pending
        } else {
            TicketStatus::Open
        };
        edits.push(match (status, extra.chance(ctx.custom_status_rate)) {
            (TicketStatus::Pending, true) => Edit::CustomStatus(STATUS_AWAITING_CUSTOMER_TEST),
            (TicketStatus::Open, true) => Edit::CustomStatus(STATUS_ESCALATED),
            (s, _) => Edit::Status(s),
        });
        apply(
            data,
            at,
            agent as i64,
            edits,
            reply(agent, true, "Thanks, here is an update."),
        )
        .then_some((at, status))
    };

    let mut first_edits = vec![Edit::Assignee(Some(agent))];
    // An agent re-assesses the severity with the first reply.
    let n = ctx.policy.severities.len();
    if let Some(fid) = ctx.severity_field.filter(|_| n > 1) {
        if extra.chance(ctx.severity_change_rate) {
            let current = data.ticket(id).and_then(|t| {
                t.custom_fields
                    .iter()
                    .find(|(f, _)| *f == fid)
                    .map(|(_, v)| v.clone())
            });
            let mut pick = extra.index(n);
            if current.as_ref().and_then(Value::as_str)
                == ctx.policy.severities.get(pick).map(String::as_str)
            {
                pick = (pick + 1) % n;
            }
            first_edits.push(Edit::CustomField(fid, json!(ctx.policy.severities[pick])));
        }
    }
    let Some((mut t, mut status)) = agent_reply(
        data,
        rng,
        extra,
        &mut apply,
        created,
        ctx.first_response,
        first_edits,
    ) else {
        return;
    };
    for _ in 0..rng.index(4) {
        if status == TicketStatus::Pending {
            if rng.chance(0.3) {
                break; // stays pending until solved
            }
            t += rng.range(3600, 3 * 86_400);
            if !apply(
                data,
                t,
                requester as i64,
                vec![Edit::Status(TicketStatus::Open)],
                reply(requester, true, "Here is the information."),
            ) {
                return;
            }
        } else if rng.chance(0.08) {
            t += rng.range(600, 4 * 3600);
            if !apply(
                data,
                t,
                agent as i64,
                vec![if extra.chance(ctx.custom_status_rate) {
                    Edit::CustomStatus(STATUS_WAITING_ON_THIRD_PARTY)
                } else {
                    Edit::Status(TicketStatus::Hold)
                }],
                reply(agent, false, "Waiting on engineering."),
            ) {
                return;
            }
            t += rng.range(3600, 2 * 86_400);
            if !apply(
                data,
                t,
                agent as i64,
                vec![Edit::Status(TicketStatus::Open)],
                None,
            ) {
                return;
            }
        } else {
            t += rng.range(2 * 3600, 2 * 86_400);
            if !apply(
                data,
                t,
                requester as i64,
                vec![],
                reply(requester, true, "Any news?"),
            ) {
                return;
            }
        }
        if rng.chance(0.15) {
            let current = data.ticket(id).and_then(|x| x.group_id);
            let others: Vec<Id> = data
                .groups
                .iter()
                .map(|g| g.id)
                .filter(|g| Some(*g) != current)
                .collect();
            t += rng.range(600, 2 * 3600);
            let g = others.get(rng.index(others.len())).copied();
            if !apply(data, t, agent as i64, vec![Edit::Group(g)], None) {
                return;
            }
        }
        if rng.chance(0.08) {
            let p = pick_priority(rng, &ctx.severities);
            let current = data.ticket(id).and_then(|x| x.priority.clone());
            if p.is_some() && p != current {
                t += rng.range(60, 3600);
                let mut edits = vec![Edit::Priority(p.clone())];
                // The severity field follows the priority.
                if let Some(fid) = ctx.severity_field {
                    let sev = p
                        .as_deref()
                        .and_then(|p| ctx.policy.severity_of(p))
                        .and_then(|s| ctx.policy.severities.get(s));
                    edits.push(Edit::CustomField(fid, json!(sev)));
                }
                if !apply(data, t, agent as i64, edits, None) {
                    return;
                }
            }
        }
        match agent_reply(data, rng, extra, &mut apply, t, ctx.follow_up, vec![]) {
            Some((at, s)) => (t, status) = (at, s),
            None => return,
        }
    }
    if rng.chance(0.8) {
        t += rng.range(3600, 2 * 86_400);
        if !apply(
            data,
            t,
            agent as i64,
            vec![Edit::Status(TicketStatus::Solved)],
            reply(agent, true, "Solved."),
        ) {
            return;
        }
        if rng.chance(0.1) {
            t += rng.range(3600, 3 * 86_400);
            if !apply(
                data,
                t,
                requester as i64,
                vec![Edit::Status(TicketStatus::Open)],
                reply(requester, true, "It is back."),
            ) {
                return;
            }
            match agent_reply(data, rng, extra, &mut apply, t, ctx.follow_up, vec![]) {
                Some((at, _)) => t = at,
                None => return,
            }
            t += rng.range(3600, 86_400);
            if !apply(
                data,
                t,
                agent as i64,
                vec![Edit::Status(TicketStatus::Solved)],
                reply(agent, true, "Solved again."),
            ) {
                return;
            }
        }
        if rng.chance(0.6)
            && !apply(
                data,
                t + 4 * 86_400,
                super::generator::SYSTEM_UPDATER,
                vec![Edit::Status(TicketStatus::Closed)],
                None,
            )
        {
            return;
        }
    }
    if rng.chance(ctx.deletion_rate) {
        let at = t + rng.range(3600, 5 * 86_400);
        if at <= end {
            let _ = data.delete_ticket(id, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> Config {
        crate::config_files::load(Path::new("examples/celigo.yaml")).unwrap()
    }

    #[test]
    fn updates_keep_the_header_and_audits_in_step() {
        let cfg = config();
        let mut d = generate(
            &cfg,
            &GeneratorOptions {
                days: 2,
                tickets_per_day: 5,
                ..Default::default()
            },
        );
        let id = d.tickets[0].id;
        let at = d.tickets[0].updated_at + 10;
        d.update_ticket(Update {
            ticket_id: id,
            at,
            updater_id: 1,
            edits: vec![
                Edit::Priority(Some("urgent".into())),
                Edit::Tags(vec!["x".into()]),
            ],
            comment: None,
        })
        .unwrap();
        let t = d.ticket(id).unwrap();
        assert_eq!(t.updated_at, at);
        assert_eq!(t.priority.as_deref(), Some("urgent"));
        assert_eq!(t.audits.last().unwrap().events.len(), 2);
        assert!(d
            .update_ticket(Update {
                ticket_id: 999_999,
                at,
                updater_id: 1,
                edits: vec![],
                comment: None
            })
            .is_err());
    }
}
