//! The JSON forms of the dataset's records, serialized straight from it in
//! the shapes of Zendesk's reference pages (see the module docs of
//! [`super`]). Fields are in alphabetical order, except that a record with a
//! `url` ends with it (see [`super::index::Serialized`]).

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::{json, Value};

use crate::simulator::generator::{
    Audit, ChildEvent, ChildKind, Dataset, Field, Id, Organization, Role, Ticket, TicketStatus,
    User, Via, BRAND_ID,
};
use crate::time::format_instant;

#[derive(Serialize)]
struct CustomFieldJson<'a> {
    id: Id,
    value: &'a Value,
}

/// `{}`.
#[derive(Serialize)]
struct Empty {}

/// A ticket's or comment's `via` object: `{channel, source: {from, to,
/// rel}}` (a voicemail's source names the caller and the line).
struct ViaObject(Via);

impl Serialize for ViaObject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Phone {
            formatted_phone: &'static str,
            name: &'static str,
            phone: &'static str,
        }
        #[derive(Serialize)]
        struct Line {
            brand_id: Id,
            formatted_phone: &'static str,
            name: &'static str,
            phone: &'static str,
        }
        #[derive(Serialize)]
        struct Voice {
            from: Phone,
            rel: &'static str,
            to: Line,
        }
        #[derive(Serialize)]
        struct Plain {
            from: Empty,
            rel: Option<()>,
            to: Empty,
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("channel", self.0.channel())?;
        if self.0 == Via::Voicemail {
            m.serialize_entry(
                "source",
                &Voice {
                    from: Phone {
                        formatted_phone: "+1 (555) 010-0142",
                        name: "Caller +1 (555) 010-0142",
                        phone: "+15550100142",
                    },
                    rel: "voicemail",
                    to: Line {
                        brand_id: BRAND_ID,
                        formatted_phone: "+1 (555) 010-0100",
                        name: "Support line",
                        phone: "+15550100100",
                    },
                },
            )?;
        } else {
            m.serialize_entry(
                "source",
                &Plain {
                    from: Empty {},
                    rel: None,
                    to: Empty {},
                },
            )?;
        }
        m.end()
    }
}

/// `satisfaction_rating`: the rating, `{"score":"offered"}` on solved and
/// closed tickets not rated, else null.
#[derive(Serialize)]
#[serde(untagged)]
enum RatingJson<'a> {
    Rated {
        comment: &'a str,
        id: Id,
        score: &'a str,
    },
    Offered {
        score: &'static str,
    },
}

#[derive(Serialize)]
pub(super) struct TicketJson<'a> {
    allow_attachments: bool,
    allow_channelback: bool,
    assignee_id: Option<Id>,
    brand_id: Id,
    collaborator_ids: &'static [Id],
    created_at: String,
    custom_fields: Vec<CustomFieldJson<'a>>,
    custom_status_id: Id,
    description: &'a str,
    due_at: Option<()>,
    email_cc_ids: &'static [Id],
    external_id: Option<()>,
    fields: Vec<CustomFieldJson<'a>>,
    follower_ids: &'static [Id],
    followup_ids: &'static [Id],
    forum_topic_id: Option<()>,
    from_messaging_channel: bool,
    generated_timestamp: i64,
    group_id: Option<Id>,
    has_incidents: bool,
    pub(super) id: Id,
    is_public: bool,
    organization_id: Option<Id>,
    priority: &'a Option<String>,
    problem_id: Option<()>,
    raw_subject: &'a str,
    recipient: Option<&'static str>,
    requester_id: Id,
    satisfaction_rating: Option<RatingJson<'a>>,
    sharing_agreement_ids: &'static [Id],
    status: &'static str,
    subject: &'a str,
    submitter_id: Id,
    tags: &'a [String],
    ticket_form_id: Id,
    #[serde(rename = "type")]
    ticket_type: &'a Option<String>,
    updated_at: String,
    via: ViaObject,
    url: String,
}

impl<'a> TicketJson<'a> {
    pub(super) fn new(t: &'a Ticket, base: &str) -> Self {
        let fields = || {
            t.custom_fields
                .iter()
                .map(|(id, value)| CustomFieldJson { id: *id, value })
                .collect()
        };
        let satisfaction_rating = match (&t.satisfaction_rating, t.status) {
            (Some((id, score, comment)), _) => Some(RatingJson::Rated {
                comment,
                id: *id,
                score,
            }),
            (None, TicketStatus::Solved | TicketStatus::Closed) => {
                Some(RatingJson::Offered { score: "offered" })
            }
            _ => None,
        };
        Self {
            allow_attachments: true,
            allow_channelback: false,
            assignee_id: t.assignee_id,
            brand_id: t.brand_id,
            collaborator_ids: &[],
            created_at: format_instant(t.created_at),
            custom_fields: fields(),
            custom_status_id: t.custom_status_id,
            description: &t.description,
            due_at: None,
            email_cc_ids: &[],
            external_id: None,
            fields: fields(),
            follower_ids: &[],
            followup_ids: &[],
            forum_topic_id: None,
            from_messaging_channel: false,
            generated_timestamp: t.updated_at,
            group_id: t.group_id,
            has_incidents: false,
            id: t.id,
            is_public: true,
            organization_id: t.organization_id,
            priority: &t.priority,
            problem_id: None,
            raw_subject: &t.subject,
            recipient: (t.via == Via::Mail).then_some("support@example.zendesk.com"),
            requester_id: t.requester_id,
            satisfaction_rating,
            sharing_agreement_ids: &[],
            status: t.status.as_str(),
            subject: &t.subject,
            submitter_id: t.submitter_id,
            tags: &t.tags,
            ticket_form_id: t.ticket_form_id,
            ticket_type: &t.ticket_type,
            updated_at: format_instant(t.updated_at),
            via: ViaObject(t.via),
            url: format!("{base}/api/v2/tickets/{}.json", t.id),
        }
    }
}

/// One child event of a ticket event, in its documented shape.
struct ChildJson<'a> {
    event: &'a ChildEvent,
    audit: &'a Audit,
}

/// Minimal HTML escaping for a comment's `html_body` (and the agent page).
pub(super) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The tags in `a` that are not in `b` (both JSON arrays of strings).
fn tags_minus<'v>(a: &'v Value, b: &Value) -> Vec<&'v Value> {
    let b = b.as_array().map(Vec::as_slice).unwrap_or(&[]);
    a.as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter(|t| !b.contains(t))
        .collect()
}

impl Serialize for ChildJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (e, a) = (self.event, self.audit);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &e.id)?;
        match &e.kind {
            ChildKind::Create { field, value } | ChildKind::Change { field, value, .. } => {
                let previous = match &e.kind {
                    ChildKind::Change { previous_value, .. } => Some(previous_value),
                    _ => None,
                };
                m.serialize_entry("via", a.via.label())?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                match field {
                    Field::Custom(fid) => {
                        let mut one = serde_json::Map::new();
                        one.insert(fid.to_string(), (*value).clone());
                        m.serialize_entry("custom_ticket_fields", &one)?;
                    }
                    Field::Tags => {
                        m.serialize_entry("tags", value)?;
                        let none = Value::Null;
                        let prev = previous.unwrap_or(&none);
                        m.serialize_entry("added_tags", &tags_minus(value, prev))?;
                        m.serialize_entry("removed_tags", &tags_minus(prev, value))?;
                    }
                    f => m.serialize_entry(f.name(), value)?,
                }
                match previous {
                    Some(p) => {
                        m.serialize_entry("event_type", "Change")?;
                        m.serialize_entry("previous_value", p)?;
                    }
                    None => m.serialize_entry("event_type", "Create")?,
                }
            }
            ChildKind::Comment {
                author_id,
                public,
                body,
                voice,
            } => {
                m.serialize_entry("via", &ViaObject(a.via))?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                m.serialize_entry("type", if *voice { "VoiceComment" } else { "Comment" })?;
                m.serialize_entry("author_id", author_id)?;
                m.serialize_entry("body", body)?;
                m.serialize_entry(
                    "html_body",
                    &format!(
                        "<div class=\"zd-comment\" dir=\"auto\">{}<br></div>",
                        html_escape(body)
                    ),
                )?;
                m.serialize_entry("plain_body", body)?;
                m.serialize_entry("public", public)?;
                m.serialize_entry("attachments", &[] as &[Id])?;
                if *voice {
                    #[derive(Serialize)]
                    struct VoiceData<'a> {
                        answered_by_id: Option<()>,
                        call_duration: u32,
                        from: &'static str,
                        location: &'static str,
                        recording_url: String,
                        started_at: String,
                        to: &'static str,
                        transcription_text: &'a str,
                    }
                    m.serialize_entry(
                        "data",
                        &VoiceData {
                            answered_by_id: None,
                            call_duration: 42,
                            from: "+15550100142",
                            location: "Portland, Oregon, United States",
                            recording_url: format!(
                                "https://example.zendesk.com/api/v2/channels/voice/calls/{}/twilio/recording",
                                a.id
                            ),
                            started_at: format_instant(a.timestamp - 42),
                            to: "+15550100100",
                            transcription_text: body,
                        },
                    )?;
                    m.serialize_entry("formatted_from", "+1 (555) 010-0142")?;
                    m.serialize_entry("formatted_to", "+1 (555) 010-0100")?;
                    m.serialize_entry("transcription_visible", &true)?;
                }
                m.serialize_entry("audit_id", &a.id)?;
                m.serialize_entry("created_at", &format_instant(a.timestamp))?;
                m.serialize_entry("event_type", "Comment")?;
            }
            ChildKind::Notification {
                trigger_id,
                title,
                subject,
                body,
                recipients,
            } => {
                #[derive(Serialize)]
                struct Rule<'a> {
                    deleted: bool,
                    id: Id,
                    revision_id: u32,
                    title: &'a str,
                }
                #[derive(Serialize)]
                struct Source<'a> {
                    from: Rule<'a>,
                    rel: &'static str,
                }
                #[derive(Serialize)]
                struct RuleVia<'a> {
                    channel: &'static str,
                    source: Source<'a>,
                }
                m.serialize_entry(
                    "via",
                    &RuleVia {
                        channel: "rule",
                        source: Source {
                            from: Rule {
                                deleted: false,
                                id: *trigger_id,
                                revision_id: 3,
                                title,
                            },
                            rel: "trigger",
                        },
                    },
                )?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                m.serialize_entry("subject", subject)?;
                m.serialize_entry("body", body)?;
                m.serialize_entry("recipients", recipients)?;
                m.serialize_entry("event_type", "Notification")?;
            }
            ChildKind::Cc { recipients } => {
                m.serialize_entry("via", a.via.label())?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                m.serialize_entry("recipients", recipients)?;
                m.serialize_entry("event_type", "Cc")?;
            }
            ChildKind::SatisfactionRating {
                score,
                assignee_id,
                body,
            } => {
                m.serialize_entry("via", a.via.label())?;
                m.serialize_entry("via_reference_id", &None::<()>)?;
                m.serialize_entry("score", score)?;
                m.serialize_entry("assignee_id", assignee_id)?;
                m.serialize_entry("body", body)?;
                m.serialize_entry("event_type", "SatisfactionRating")?;
            }
        }
        m.end()
    }
}

/// Where an update came from (`system` of a ticket event): the agent's
/// browser or app, or the API client; `{}` for Zendesk's own updates.
#[derive(Serialize)]
struct SystemJson {
    client: &'static str,
    ip_address: &'static str,
    latitude: f64,
    location: &'static str,
    longitude: f64,
}

fn system_of(via: Via) -> Option<SystemJson> {
    let (client, ip) = match via {
        Via::Rule | Via::ClosedTicket | Via::Voicemail | Via::Mail => return None,
        Via::WebService => ("helpdesk-bulk/1.0", "52.40.158.85"),
        Via::Mobile => ("Zendesk/3.52 (iPhone; iOS 18.1)", "203.0.113.24"),
        Via::WebForm | Via::Merge => (
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0",
            "198.51.100.7",
        ),
    };
    Some(SystemJson {
        client,
        ip_address: ip,
        latitude: 45.5234,
        location: "Portland, OR, United States",
        longitude: -122.6762,
    })
}

#[derive(Serialize)]
pub(super) struct AuditJson<'a> {
    child_events: Vec<ChildJson<'a>>,
    created_at: String,
    event_type: &'static str,
    id: Id,
    merged_ticket_ids: &'a [Id],
    metadata: Empty,
    #[serde(serialize_with = "serialize_system")]
    system: Option<SystemJson>,
    ticket_id: Id,
    timestamp: i64,
    updater_id: i64,
    via: &'static str,
}

impl<'a> AuditJson<'a> {
    pub(super) fn new(a: &'a Audit, comments: bool) -> Self {
        let child_events = a
            .events
            .iter()
            .filter(|e| comments || !matches!(e.kind, ChildKind::Comment { .. }))
            .map(|event| ChildJson { event, audit: a })
            .collect();
        Self {
            child_events,
            created_at: format_instant(a.timestamp),
            event_type: "Audit",
            id: a.id,
            merged_ticket_ids: &a.merged_ticket_ids,
            metadata: Empty {},
            system: system_of(a.via),
            ticket_id: a.ticket_id,
            timestamp: a.timestamp,
            updater_id: a.updater_id,
            via: a.via.label(),
        }
    }
}

// `system` is `{}` rather than null for Zendesk's own updates.
fn serialize_system<S: serde::Serializer>(v: &Option<SystemJson>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => x.serialize(s),
        None => Empty {}.serialize(s),
    }
}

#[derive(Serialize)]
pub(super) struct OrganizationJson<'a> {
    created_at: String,
    deleted_at: Option<()>,
    details: &'static str,
    domain_names: Vec<String>,
    external_id: Option<()>,
    group_id: Option<Id>,
    pub(super) id: Id,
    name: &'a str,
    notes: &'static str,
    organization_fields: &'a BTreeMap<String, Value>,
    shared_comments: bool,
    shared_tickets: bool,
    tags: &'a [String],
    updated_at: String,
    url: String,
}

impl<'a> OrganizationJson<'a> {
    pub(super) fn new(o: &'a Organization, base: &str) -> Self {
        let domain: String = o
            .name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        Self {
            created_at: format_instant(o.created_at),
            deleted_at: None,
            details: "",
            domain_names: vec![format!("{domain}.example.com")],
            external_id: None,
            group_id: None,
            id: o.id,
            name: &o.name,
            notes: "",
            organization_fields: &o.fields,
            shared_comments: false,
            shared_tickets: false,
            tags: &o.tags,
            updated_at: format_instant(o.updated_at),
            url: format!("{base}/api/v2/organizations/{}.json", o.id),
        }
    }
}

#[derive(Serialize)]
pub(super) struct UserJson<'a> {
    active: bool,
    alias: &'static str,
    created_at: String,
    custom_role_id: Option<()>,
    default_group_id: Option<Id>,
    details: &'static str,
    email: String,
    external_id: Option<()>,
    iana_time_zone: &'static str,
    pub(super) id: Id,
    locale: &'static str,
    locale_id: u32,
    moderator: bool,
    name: &'a str,
    notes: &'static str,
    only_private_comments: bool,
    organization_id: Option<Id>,
    phone: Option<()>,
    photo: Option<()>,
    restricted_agent: bool,
    role: &'static str,
    role_type: Option<u8>,
    shared: bool,
    shared_agent: bool,
    suspended: bool,
    tags: &'static [String],
    ticket_restriction: Option<&'static str>,
    time_zone: &'static str,
    updated_at: String,
    user_fields: Empty,
    verified: bool,
    url: String,
}

impl<'a> UserJson<'a> {
    pub(super) fn new(u: &'a User, base: &str) -> Self {
        let agent = u.role.is_agent();
        Self {
            active: true,
            alias: "",
            created_at: format_instant(u.created_at),
            custom_role_id: None,
            default_group_id: agent.then_some(crate::simulator::generator::GROUP_BASE),
            details: "",
            email: format!("user{}@example.com", u.id),
            external_id: None,
            iana_time_zone: "America/Los_Angeles",
            id: u.id,
            locale: "en-US",
            locale_id: 1,
            moderator: agent,
            name: &u.name,
            notes: "",
            only_private_comments: false,
            organization_id: u.organization_id,
            phone: None,
            photo: None,
            restricted_agent: !agent,
            role: u.role.as_str(),
            role_type: match u.role {
                Role::EndUser => None,
                Role::Agent => Some(0),
                Role::Admin => Some(4),
            },
            shared: false,
            shared_agent: false,
            suspended: false,
            tags: &[],
            ticket_restriction: (!agent).then_some("requested"),
            time_zone: "Pacific Time (US & Canada)",
            updated_at: format_instant(u.updated_at),
            user_fields: Empty {},
            verified: true,
            url: format!("{base}/api/v2/users/{}.json", u.id),
        }
    }
}

/// `GET /api/v2/custom_statuses`.
pub fn custom_statuses_json(d: &Dataset, base: &str) -> Value {
    let list: Vec<Value> = d
        .custom_statuses
        .iter()
        .map(|c| {
            json!({
                "url": format!("{base}/api/v2/custom_statuses/{}.json", c.id),
                "id": c.id,
                "status_category": c.category,
                "agent_label": c.agent_label,
                "raw_agent_label": c.agent_label,
                "end_user_label": c.end_user_label,
                "raw_end_user_label": c.end_user_label,
                "description": c.description,
                "raw_description": c.description,
                "end_user_description": c.description,
                "raw_end_user_description": c.description,
                "active": c.active,
                "default": c.default,
                "created_at": format_instant(c.created_at),
                "updated_at": format_instant(c.updated_at),
            })
        })
        .collect();
    json!({ "custom_statuses": list })
}

fn to_value(v: impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

pub fn ticket_json(t: &Ticket, base: &str) -> Value {
    to_value(TicketJson::new(t, base))
}

pub fn audit_json(a: &Audit, comments: bool) -> Value {
    to_value(AuditJson::new(a, comments))
}

pub fn organization_json(o: &Organization, base: &str) -> Value {
    to_value(OrganizationJson::new(o, base))
}

pub fn user_json(u: &User, base: &str) -> Value {
    to_value(UserJson::new(u, base))
}
