//! The records of the synthetic helpdesk: organizations, users, groups,
//! tickets with their audits and child events, and the ids they carry.

use std::collections::BTreeMap;

use serde_json::Value;

pub type Id = u64;

/// First organization id (ids of different kinds never collide).
pub const ORGANIZATION_BASE: Id = 360_000_000;
/// First user id.
pub const USER_BASE: Id = 370_000_000;
/// First group id.
pub const GROUP_BASE: Id = 380_000_000;
/// The updater of changes Zendesk makes itself (closing solved tickets).
pub const SYSTEM_UPDATER: i64 = -1;

/// The account's one ticket form and brand.
pub const TICKET_FORM_ID: Id = 360_000_111_222;
pub const BRAND_ID: Id = 360_000_333_444;
/// The ids of users who were deleted: they author some comments but are
/// not in the users export.
pub const DELETED_USER_BASE: Id = 379_000_000;
/// The trigger that notifies the requester of a public agent comment.
pub const NOTIFY_TRIGGER_ID: Id = 360_100_000_001;
/// The first satisfaction rating id.
pub(super) const RATING_BASE: Id = 390_000_000;

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
    ///
    /// [`Dataset::custom_statuses`]: super::Dataset::custom_statuses
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
