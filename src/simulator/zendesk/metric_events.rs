//! The emulator's ticket metric events: Zendesk's own SLA record of each
//! ticket, computed from the account's SLA policies and schedules
//! ([`crate::simulator::zendesk_admin`]) and the ticket's audits, the way
//! Zendesk documents its metrics (Ticket Metric Events reference and the
//! Ticket metric event types reference; `docs/zendesk.md`).
//!
//! It is independent of the SLA engine on purpose: a plain walk over the
//! audits with its own business-hours arithmetic, so comparing the two
//! can find a difference. What it does, per ticket (deleted tickets have
//! none):
//!
//! * At creation: a `measure` event (instance 0) for each of the five
//!   metrics, and `activate` of `reply_time` 1, `requester_wait_time` 1 and
//!   `agent_work_time` 1.
//! * `reply_time`: instance 1 is fulfilled by the first public comment of
//!   an agent (a user with role agent or admin who is not the requester);
//!   after a reply, a public requester comment activates the next
//!   instance, fulfilled by the next public agent comment.
//! * `periodic_update_time` and `pausable_update_time`: each public agent
//!   comment fulfils the open instance and activates the next one (the
//!   emulator's reading: Zendesk names them "time between public agent
//!   comments").
//! * Pauses ([`Rules`]): `requester_wait_time` pauses on pending,
//!   `agent_work_time` and `pausable_update_time` on pending and on-hold
//!   (`pause` on entering such a status, `activate` on leaving it).
//! * Solved or closed fulfils every open instance; a reopen activates
//!   `requester_wait_time` and `agent_work_time` 1 again.
//! * Every `fulfill` is followed by `update_status` with the minutes the
//!   instance ran: `calendar`, and `business` on the schedule of its SLA
//!   (else the account's first schedule).
//! * `apply_sla`: the first policy by `position` whose filter matches the
//!   ticket (conditions on `organization.tags`, `current_tags`,
//!   `organization_id`, `custom_fields_<id>`,
//!   `organization.custom_fields.<name>`; `schedule_id` always holds: the
//!   ticket takes the schedule of its policy) gives each open instance the
//!   target of its metric (`first_reply_time` for `reply_time` 1,
//!   `next_reply_time` for the next ones, the metric's own name otherwise)
//!   at the ticket's priority. Applied when an instance starts under a
//!   target, and again whenever the policy or target changes (a priority
//!   change re-applies it).
//! * `breach`: when an instance with a target runs past it (counting only
//!   its running time, in business hours of its policy's schedule when
//!   `business_hours` is true). A target re-applied later that the instance
//!   has not passed retracts the breach: it is served with `deleted: true`
//!   once the re-application is.
//!
//! Events are computed for the whole history in the dataset; the export
//! serves those at or before its cutoff (the most recent minute left out),
//! so a breach appears once its time has passed. Ids are
//! `800_000_000_000 + ticket id × 10,000 + n`.
//!
//! [`Rules`] is the seam for planted divergences (a later phase): the
//! pause statuses of each metric and holidays the emulator's schedules
//! have and the config does not.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::import::zones::zone_for;
use crate::simulator::business_hours::{Clock, Hours};
use crate::simulator::generator::{ChildKind, Dataset, Field, Id, Ticket, TicketStatus};
use crate::simulator::zendesk_admin::{Admin, Schedule};

/// The metrics, in the order their `measure` events are written.
const METRICS: [&str; 5] = [
    "agent_work_time",
    "pausable_update_time",
    "periodic_update_time",
    "reply_time",
    "requester_wait_time",
];

/// How the emulator measures, where a later phase plants a divergence
/// from the config the engine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub requester_wait_pauses_on: Vec<TicketStatus>,
    pub agent_work_pauses_on: Vec<TicketStatus>,
    pub pausable_update_pauses_on: Vec<TicketStatus>,
    /// Closed days on every schedule besides its own holidays.
    pub extra_holidays: Vec<NaiveDate>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            requester_wait_pauses_on: vec![TicketStatus::Pending],
            agent_work_pauses_on: vec![TicketStatus::Pending, TicketStatus::Hold],
            pausable_update_pauses_on: vec![TicketStatus::Pending, TicketStatus::Hold],
            extra_holidays: Vec::new(),
        }
    }
}

/// An SLA policy's target as applied to one metric instance.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedSla {
    pub policy_id: u64,
    pub title: String,
    pub description: String,
    pub target_seconds: i64,
    pub business_hours: bool,
    /// Index into [`Admin::schedules`] of the policy's schedule.
    pub schedule: Option<usize>,
}

/// One ticket metric event.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricEvent {
    pub id: Id,
    pub ticket_id: Id,
    pub metric: &'static str,
    pub instance_id: u32,
    /// `type`: activate, pause, fulfill, apply_sla, breach, update_status,
    /// measure.
    pub kind: &'static str,
    pub time: i64,
    pub sla: Option<AppliedSla>,
    /// `update_status`: minutes open, (calendar, business).
    pub status: Option<(i64, i64)>,
    /// A breach retracted at this instant (`deleted: true` once served).
    pub retracted_at: Option<i64>,
}

impl MetricEvent {
    /// The event's JSON as the export serves it at `cutoff`.
    pub fn json(&self, cutoff: i64) -> Value {
        let mut v = json!({
            "id": self.id,
            "ticket_id": self.ticket_id,
            "metric": self.metric,
            "instance_id": self.instance_id,
            "type": self.kind,
            "time": crate::time::format_instant(self.time),
        });
        if let Some(sla) = &self.sla {
            v["sla"] = json!({
                "target": sla.target_seconds / 60,
                "target_in_seconds": sla.target_seconds,
                "business_hours": sla.business_hours,
                "policy": {"id": sla.policy_id, "title": sla.title, "description": sla.description},
            });
        }
        if let Some((calendar, business)) = self.status {
            v["status"] = json!({"calendar": calendar, "business": business});
        }
        if self.retracted_at.is_some_and(|t| t <= cutoff) {
            v["deleted"] = json!(true);
        }
        v
    }
}

/// A schedule's open hours, with the holidays `rules` adds.
fn hours_of(s: &Schedule, rules: &Rules) -> Hours {
    let mut holidays: Vec<(NaiveDate, NaiveDate)> = s
        .holidays
        .iter()
        .map(|h| (h.start_date, h.end_date))
        .collect();
    holidays.extend(rules.extra_holidays.iter().map(|d| (*d, *d)));
    Hours::new(
        zone_for(&s.time_zone).unwrap_or(chrono_tz::UTC),
        s.intervals.clone(),
        holidays,
    )
}

// ---------------------------------------------------------------------------
// Policies.

/// The ticket's state as far as SLA policies look at it.
#[derive(Debug, Clone, Default)]
struct State {
    status: Option<TicketStatus>,
    priority: Option<String>,
    organization: Option<Id>,
    tags: Vec<String>,
    fields: BTreeMap<Id, Value>,
}

/// `a` and `b` as the same value: numbers and their text are one.
fn same(a: &Value, b: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    !a.is_null() && text(a) == text(b)
}

fn holds(cond: &Value, state: &State, d: &Dataset) -> bool {
    let field = cond["field"].as_str().unwrap_or("");
    let op = cond["operator"].as_str().unwrap_or("");
    let value = &cond["value"];
    let org = state.organization.and_then(|id| d.organization(id));
    let positive = match field {
        "schedule_id" => return true,
        "organization.tags" => org.is_some_and(|o| o.tags.iter().any(|t| same(&json!(t), value))),
        "current_tags" => state.tags.iter().any(|t| same(&json!(t), value)),
        "organization_id" => state.organization.is_some_and(|id| same(&json!(id), value)),
        f => {
            if let Some(id) = f
                .strip_prefix("custom_fields_")
                .and_then(|id| id.parse::<Id>().ok())
            {
                state.fields.get(&id).is_some_and(|v| same(v, value))
            } else if let Some(name) = f.strip_prefix("organization.custom_fields.") {
                org.and_then(|o| o.fields.get(name))
                    .is_some_and(|v| same(v, value))
            } else {
                return false;
            }
        }
    };
    match op {
        "is" | "includes" => positive,
        "is_not" | "not_includes" => !positive,
        _ => false,
    }
}

/// The policy that applies to the ticket now: the first by position whose
/// filter matches.
fn policy<'a>(admin: &'a Admin, state: &State, d: &Dataset) -> Option<&'a Value> {
    let mut policies: Vec<&Value> = admin.sla_policies.iter().collect();
    policies.sort_by_key(|p| p["position"].as_u64().unwrap_or(u64::MAX));
    policies.into_iter().find(|p| {
        let all = p["filter"]["all"].as_array().map_or(&[][..], Vec::as_slice);
        let any = p["filter"]["any"].as_array().map_or(&[][..], Vec::as_slice);
        all.iter().all(|c| holds(c, state, d))
            && (any.is_empty() || any.iter().any(|c| holds(c, state, d)))
    })
}

/// The target of `policy_metric` at the ticket's priority under `policy`.
fn target(
    admin: &Admin,
    policy: &Value,
    policy_metric: &str,
    priority: &str,
) -> Option<AppliedSla> {
    let m = policy["policy_metrics"]
        .as_array()?
        .iter()
        .find(|m| m["metric"] == policy_metric && m["priority"] == priority)?;
    let seconds = m["target_in_seconds"]
        .as_i64()
        .or_else(|| m["target"].as_i64().map(|t| t * 60))?;
    let schedule_id = policy["filter"]["all"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["field"] == "schedule_id")
        .and_then(|c| {
            c["value"]
                .as_u64()
                .or_else(|| c["value"].as_str()?.parse().ok())
        });
    let schedule = match schedule_id {
        Some(id) => admin.schedules.iter().position(|s| s.id == id),
        None if admin.schedules.is_empty() => None,
        None => Some(0),
    };
    Some(AppliedSla {
        policy_id: policy["id"].as_u64().unwrap_or(0),
        title: policy["title"].as_str().unwrap_or("").to_string(),
        description: policy["description"].as_str().unwrap_or("").to_string(),
        target_seconds: seconds,
        business_hours: m["business_hours"] == true,
        schedule,
    })
}

// ---------------------------------------------------------------------------
// The walk.

/// One instance of a metric.
#[derive(Debug)]
struct Instance {
    metric: &'static str,
    number: u32,
    open: bool,
    /// Running segments; the last may be open (`None` end).
    segments: Vec<(i64, Option<i64>)>,
    sla: Option<AppliedSla>,
    applied_at: i64,
    /// The event index of its breach, not retracted.
    breach: Option<usize>,
}

impl Instance {
    fn running(&self) -> bool {
        self.segments.last().is_some_and(|s| s.1.is_none())
    }

    fn policy_metric(&self) -> &'static str {
        match (self.metric, self.number) {
            ("reply_time", 1) => "first_reply_time",
            ("reply_time", _) => "next_reply_time",
            (m, _) => m,
        }
    }

    fn elapsed(&self, clock: &Clock, until: i64) -> i64 {
        self.segments
            .iter()
            .map(|&(a, b)| clock.seconds(a, b.unwrap_or(until).min(until)))
            .sum()
    }

    /// When it passes `target` seconds on `clock`, running on as it is.
    fn deadline(&self, clock: &Clock, target: i64) -> Option<i64> {
        let mut acc = 0;
        for &(a, b) in &self.segments {
            let len = match b {
                Some(b) => clock.seconds(a, b),
                None => i64::MAX,
            };
            if len > target - acc {
                return clock.add(a, target - acc);
            }
            acc += len;
        }
        None
    }
}

struct Walk<'a> {
    ticket: &'a Ticket,
    admin: &'a Admin,
    rules: &'a Rules,
    hours: Vec<Hours>,
    out: Vec<MetricEvent>,
    instances: Vec<Instance>,
}

impl Walk<'_> {
    fn clock(&self, sla: Option<&AppliedSla>, business: bool) -> Clock<'_> {
        let schedule = sla.map_or(if self.hours.is_empty() { None } else { Some(0) }, |s| {
            s.schedule
        });
        match schedule.and_then(|i| self.hours.get(i)) {
            Some(h) if business => Clock::Business(h),
            _ => Clock::Calendar,
        }
    }

    fn emit(&mut self, metric: &'static str, number: u32, kind: &'static str, time: i64) -> usize {
        let n = self.out.len() as u64;
        self.out.push(MetricEvent {
            id: 800_000_000_000 + self.ticket.id * 10_000 + n,
            ticket_id: self.ticket.id,
            metric,
            instance_id: number,
            kind,
            time,
            sla: None,
            status: None,
            retracted_at: None,
        });
        self.out.len() - 1
    }

    fn pauses(&self, metric: &str, status: TicketStatus) -> bool {
        let set = match metric {
            "requester_wait_time" => &self.rules.requester_wait_pauses_on,
            "agent_work_time" => &self.rules.agent_work_pauses_on,
            "pausable_update_time" => &self.rules.pausable_update_pauses_on,
            _ => return false,
        };
        set.contains(&status)
    }

    fn start(&mut self, metric: &'static str, number: u32, t: i64, status: TicketStatus) {
        self.emit(metric, number, "activate", t);
        let mut inst = Instance {
            metric,
            number,
            open: true,
            segments: vec![(t, None)],
            sla: None,
            applied_at: t,
            breach: None,
        };
        if self.pauses(metric, status) {
            self.emit(metric, number, "pause", t);
            inst.segments = Vec::new();
        }
        self.instances.push(inst);
    }

    fn fulfil(&mut self, i: usize, t: i64) {
        let inst = &mut self.instances[i];
        inst.open = false;
        if let Some(last) = inst.segments.last_mut().filter(|s| s.1.is_none()) {
            last.1 = Some(t);
        }
        let (metric, number) = (inst.metric, inst.number);
        let calendar = inst.elapsed(&Clock::Calendar, t) / 60;
        let clock = self.clock(self.instances[i].sla.as_ref(), true);
        let business = self.instances[i].elapsed(&clock, t) / 60;
        self.emit(metric, number, "fulfill", t);
        let e = self.emit(metric, number, "update_status", t);
        self.out[e].status = Some((calendar, business));
    }

    /// Breaches of open instances that happen before `t`.
    fn breaches_before(&mut self, t: i64) {
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            let Some(sla) = inst
                .sla
                .clone()
                .filter(|_| inst.open && inst.breach.is_none())
            else {
                continue;
            };
            let clock = self.clock(Some(&sla), sla.business_hours);
            let Some(at) = inst.deadline(&clock, sla.target_seconds) else {
                continue;
            };
            let at = at.max(inst.applied_at);
            if at < t {
                let (metric, number) = (inst.metric, inst.number);
                let e = self.emit(metric, number, "breach", at);
                self.instances[i].breach = Some(e);
            }
        }
    }

    /// Applies the policy of `state` to every open instance at `t`.
    fn apply_policies(&mut self, state: &State, d: &Dataset, t: i64) {
        let policy = policy(self.admin, state, d);
        for i in 0..self.instances.len() {
            if !self.instances[i].open {
                continue;
            }
            let wanted = match (policy, state.priority.as_deref()) {
                (Some(p), Some(priority)) => {
                    target(self.admin, p, self.instances[i].policy_metric(), priority)
                }
                _ => None,
            };
            if wanted == self.instances[i].sla {
                continue;
            }
            let (metric, number) = (self.instances[i].metric, self.instances[i].number);
            if let Some(sla) = &wanted {
                let e = self.emit(metric, number, "apply_sla", t);
                self.out[e].sla = Some(sla.clone());
            }
            // A breach the new target has not reached yet is retracted.
            if let Some(b) = self.instances[i].breach {
                let passed = wanted.as_ref().is_some_and(|sla| {
                    let clock = self.clock(Some(sla), sla.business_hours);
                    self.instances[i].elapsed(&clock, t) > sla.target_seconds
                });
                if !passed {
                    self.out[b].retracted_at = Some(t);
                    self.instances[i].breach = None;
                }
            }
            self.instances[i].sla = wanted;
            self.instances[i].applied_at = t;
        }
    }

    fn open_instance(&self, metric: &str) -> Option<usize> {
        self.instances
            .iter()
            .rposition(|i| i.metric == metric && i.open)
    }

    fn next_number(&self, metric: &str) -> u32 {
        self.instances.iter().filter(|i| i.metric == metric).count() as u32 + 1
    }
}

/// Every metric event of `ticket`, in the order they happened.
pub fn compute(ticket: &Ticket, d: &Dataset, admin: &Admin, rules: &Rules) -> Vec<MetricEvent> {
    if ticket.status == TicketStatus::Deleted {
        return Vec::new();
    }
    let mut w = Walk {
        ticket,
        admin,
        rules,
        hours: admin.schedules.iter().map(|s| hours_of(s, rules)).collect(),
        out: Vec::new(),
        instances: Vec::new(),
    };
    let mut state = State::default();
    let mut replied = false;
    let is_agent =
        |id: Id| id != ticket.requester_id && d.user(id).is_some_and(|u| u.role.is_agent());
    for (n, audit) in ticket.audits.iter().enumerate() {
        let t = audit.timestamp;
        w.breaches_before(t);
        let before = state.status;
        let mut comments = Vec::new();
        for child in &audit.events {
            match &child.kind {
                ChildKind::Create { field, value } | ChildKind::Change { field, value, .. } => {
                    match field {
                        Field::Status => state.status = status_of(value).or(state.status),
                        Field::Priority => state.priority = value.as_str().map(str::to_string),
                        Field::OrganizationId => state.organization = value.as_u64(),
                        Field::Tags => {
                            state.tags = value
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|t| t.as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default();
                        }
                        Field::Custom(id) => {
                            state.fields.insert(*id, value.clone());
                        }
                        _ => {}
                    }
                }
                ChildKind::Comment {
                    author_id,
                    public: true,
                    ..
                } => comments.push(*author_id),
                _ => {}
            }
        }
        let status = state.status.unwrap_or(TicketStatus::New);
        if n == 0 {
            for metric in METRICS {
                w.emit(metric, 0, "measure", t);
            }
            for metric in ["reply_time", "requester_wait_time", "agent_work_time"] {
                w.start(metric, 1, t, status);
            }
        }
        let solved = |s: Option<TicketStatus>| {
            matches!(s, Some(TicketStatus::Solved | TicketStatus::Closed))
        };
        let ends_solved = solved(state.status);
        for author in comments {
            if is_agent(author) {
                replied = true;
                if let Some(i) = w.open_instance("reply_time") {
                    w.fulfil(i, t);
                }
                for metric in ["periodic_update_time", "pausable_update_time"] {
                    if let Some(i) = w.open_instance(metric) {
                        w.fulfil(i, t);
                    }
                    if !ends_solved {
                        let number = w.next_number(metric);
                        w.start(metric, number, t, status);
                    }
                }
            } else if author == ticket.requester_id
                && replied
                && !ends_solved
                && w.open_instance("reply_time").is_none()
            {
                let number = w.next_number("reply_time");
                w.start("reply_time", number, t, status);
            }
        }
        if n > 0 && before != state.status {
            if ends_solved && !solved(before) {
                for i in 0..w.instances.len() {
                    if w.instances[i].open {
                        w.fulfil(i, t);
                    }
                }
            } else if solved(before) && !ends_solved {
                for metric in ["requester_wait_time", "agent_work_time"] {
                    if let Some(i) = w
                        .instances
                        .iter()
                        .position(|i| i.metric == metric && i.number == 1)
                    {
                        w.instances[i].open = true;
                        w.instances[i].breach = None;
                        w.emit(metric, 1, "activate", t);
                        if w.pauses(metric, status) {
                            w.emit(metric, 1, "pause", t);
                        } else {
                            w.instances[i].segments.push((t, None));
                        }
                    }
                }
            } else {
                for i in 0..w.instances.len() {
                    let inst = &w.instances[i];
                    if !inst.open {
                        continue;
                    }
                    let (metric, number) = (inst.metric, inst.number);
                    let pause = w.pauses(metric, status);
                    if pause && inst.running() {
                        if let Some(last) = w.instances[i].segments.last_mut() {
                            last.1 = Some(t);
                        }
                        w.emit(metric, number, "pause", t);
                    } else if !pause && !inst.running() {
                        w.instances[i].segments.push((t, None));
                        w.emit(metric, number, "activate", t);
                    }
                }
            }
        }
        w.apply_policies(&state, d, t);
    }
    w.breaches_before(i64::MAX);
    w.out
}

fn status_of(v: &Value) -> Option<TicketStatus> {
    Some(match v.as_str()? {
        "new" => TicketStatus::New,
        "open" => TicketStatus::Open,
        "pending" => TicketStatus::Pending,
        "hold" => TicketStatus::Hold,
        "solved" => TicketStatus::Solved,
        "closed" => TicketStatus::Closed,
        _ => return None,
    })
}

/// Every ticket's metric events in the export's order, `(time, id)`.
pub fn all(d: &Dataset, admin: &Admin, rules: &Rules) -> Vec<MetricEvent> {
    let mut out: Vec<MetricEvent> = d
        .tickets
        .iter()
        .flat_map(|t| compute(t, d, admin, rules))
        .collect();
    out.sort_by_key(|e| (e.time, e.id));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::generator::{Audit, ChildEvent, Organization, Role, User, Via};
    use crate::simulator::zendesk_admin::Schedule;

    const REQUESTER: Id = 370_000_001;
    const AGENT: Id = 370_000_002;
    const ORG: Id = 360_000_001;
    /// Monday 2026-09-07 00:00 UTC.
    const MONDAY: i64 = 1_788_739_200;
    const H: i64 = 3600;

    fn dataset(audits: Vec<Audit>) -> Dataset {
        let user = |id, role| User {
            id,
            name: format!("user {id}"),
            role,
            organization_id: None,
            created_at: 0,
            updated_at: 0,
        };
        let created = audits.first().map_or(0, |a| a.timestamp);
        let mut d = Dataset::default();
        d.organizations = vec![Organization {
            id: ORG,
            name: "Acme".into(),
            tags: vec!["plan_premier".into()],
            fields: BTreeMap::new(),
            created_at: 0,
            updated_at: 0,
            plan: None,
        }];
        d.users = vec![user(REQUESTER, Role::EndUser), user(AGENT, Role::Agent)];
        d.tickets = vec![Ticket {
            id: 1,
            subject: "s".into(),
            description: "d".into(),
            created_at: created,
            updated_at: audits.last().map_or(0, |a| a.timestamp),
            status: TicketStatus::Open,
            custom_status_id: 1,
            priority: None,
            ticket_type: None,
            requester_id: REQUESTER,
            submitter_id: REQUESTER,
            assignee_id: None,
            organization_id: Some(ORG),
            group_id: None,
            tags: vec![],
            custom_fields: vec![],
            ticket_form_id: 1,
            brand_id: 1,
            via: Via::WebForm,
            satisfaction_rating: None,
            merged_into: None,
            audits,
        }];
        d
    }

    /// An audit at `t` by `by`: `status`/`priority` changes (None: none),
    /// and a public comment when `comment`.
    fn audit(t: i64, by: Id, comment: bool, changes: &[(Field, &str)]) -> Audit {
        let mut events = Vec::new();
        if comment {
            events.push(ChildEvent {
                id: t as u64 * 10,
                kind: ChildKind::Comment {
                    author_id: by,
                    public: true,
                    body: String::new(),
                    voice: false,
                },
            });
        }
        for (i, (field, value)) in changes.iter().enumerate() {
            events.push(ChildEvent {
                id: t as u64 * 10 + 1 + i as u64,
                kind: ChildKind::Change {
                    field: *field,
                    value: json!(value),
                    previous_value: Value::Null,
                },
            });
        }
        Audit {
            id: t as u64,
            ticket_id: 1,
            timestamp: t,
            updater_id: by as i64,
            via: Via::WebForm,
            merged_ticket_ids: vec![],
            events,
        }
    }

    fn created(t: i64, priority: &str) -> Audit {
        let mut a = audit(t, REQUESTER, true, &[]);
        for (i, (field, value)) in [
            (Field::Status, json!("new")),
            (Field::Priority, json!(priority)),
            (Field::OrganizationId, json!(ORG)),
        ]
        .into_iter()
        .enumerate()
        {
            a.events.push(ChildEvent {
                id: t as u64 * 10 + 5 + i as u64,
                kind: ChildKind::Create { field, value },
            });
        }
        a
    }

    /// One policy for `plan_premier` on schedule 1 (Monday to Friday
    /// 09:00-17:00 UTC): first reply 1h (urgent) or 8h (normal, high),
    /// next reply 2h, requester wait 8h.
    fn admin(business_hours: bool) -> Admin {
        let metric = |priority: &str, metric: &str, minutes: i64| {
            json!({"priority": priority, "metric": metric, "target": minutes,
                   "target_in_seconds": minutes * 60, "business_hours": business_hours})
        };
        Admin {
            schedules: vec![Schedule {
                id: 1,
                name: "office".into(),
                time_zone: "UTC".into(),
                intervals: (1..=5).map(|d| (d * 1440 + 540, d * 1440 + 1020)).collect(),
                holidays: vec![],
            }],
            sla_policies: vec![json!({
                "id": 7, "title": "Premier", "description": "Organizations: Premier plan", "position": 1,
                "filter": {"all": [{"field": "schedule_id", "operator": "is", "value": 1}],
                           "any": [{"field": "organization.tags", "operator": "includes", "value": "plan_premier"}]},
                "policy_metrics": [
                    metric("urgent", "first_reply_time", 60),
                    metric("normal", "first_reply_time", 480),
                    metric("high", "first_reply_time", 60),
                    metric("high", "next_reply_time", 120),
                    metric("high", "requester_wait_time", 480),
                ],
            })],
            policies_per_page: 0,
        }
    }

    /// `(metric, instance, type, time)` of the events of `metrics`, in order.
    fn seen(
        events: &[MetricEvent],
        metrics: &[&str],
    ) -> Vec<(&'static str, u32, &'static str, i64)> {
        let mut events: Vec<&MetricEvent> = events
            .iter()
            .filter(|e| metrics.contains(&e.metric))
            .collect();
        events.sort_by_key(|e| (e.time, e.id));
        events
            .iter()
            .map(|e| (e.metric, e.instance_id, e.kind, e.time))
            .collect()
    }

    #[test]
    fn replies_pauses_and_solve_in_calendar_hours() {
        // Monday: created 09:00 (high), agent reply 09:40, pending 10:00,
        // requester reply and open 11:00, agent reply and solved 12:00.
        let t0 = MONDAY + 9 * H;
        let d = dataset(vec![
            created(t0, "high"),
            audit(t0 + 2400, AGENT, true, &[(Field::Status, "open")]),
            audit(t0 + H, AGENT, false, &[(Field::Status, "pending")]),
            audit(t0 + 2 * H, REQUESTER, true, &[(Field::Status, "open")]),
            audit(t0 + 3 * H, AGENT, true, &[(Field::Status, "solved")]),
        ]);
        let admin = admin(false);
        let events = compute(&d.tickets[0], &d, &admin, &Rules::default());
        let rt = "requester_wait_time";
        assert_eq!(
            seen(&events, &["reply_time", rt]),
            vec![
                ("reply_time", 0, "measure", t0),
                (rt, 0, "measure", t0),
                ("reply_time", 1, "activate", t0),
                (rt, 1, "activate", t0),
                ("reply_time", 1, "apply_sla", t0),
                (rt, 1, "apply_sla", t0),
                ("reply_time", 1, "fulfill", t0 + 2400),
                ("reply_time", 1, "update_status", t0 + 2400),
                (rt, 1, "pause", t0 + H),
                ("reply_time", 2, "activate", t0 + 2 * H),
                (rt, 1, "activate", t0 + 2 * H),
                ("reply_time", 2, "apply_sla", t0 + 2 * H),
                ("reply_time", 2, "fulfill", t0 + 3 * H),
                ("reply_time", 2, "update_status", t0 + 3 * H),
                (rt, 1, "fulfill", t0 + 3 * H),
                (rt, 1, "update_status", t0 + 3 * H),
            ]
        );
        let status = |metric: &str, n: u32| {
            events
                .iter()
                .find(|e| e.metric == metric && e.instance_id == n && e.kind == "update_status")
                .and_then(|e| e.status)
        };
        // 40 minutes to the first reply; an hour to the next; requester
        // wait 09:00-10:00 and 11:00-12:00. Calendar hours: the business
        // minutes are on the account's schedule (all within 09-17).
        assert_eq!(status("reply_time", 1), Some((40, 40)));
        assert_eq!(status("reply_time", 2), Some((60, 60)));
        assert_eq!(status(rt, 1), Some((120, 120)));
        let apply = events.iter().find(|e| e.kind == "apply_sla").unwrap();
        let sla = apply.sla.as_ref().unwrap();
        assert_eq!(
            (sla.policy_id, sla.target_seconds, sla.business_hours),
            (7, 3600, false)
        );
        assert!(!events.iter().any(|e| e.kind == "breach"));
        let json = apply.json(i64::MAX);
        assert_eq!(json["sla"]["target"], 60);
        assert_eq!(json["sla"]["policy"]["title"], "Premier");
        assert_eq!(json["time"], "2026-09-07T09:00:00Z");
    }

    #[test]
    fn a_business_hours_breach_is_retracted_when_the_priority_goes_down() {
        // Monday 16:30, urgent: one business hour is 30 minutes on Monday
        // and 30 on Tuesday, so the first reply breaches Tuesday 09:30. At
        // Tuesday 10:00 the priority goes to normal (8 business hours):
        // 1h30m have run, the breach is retracted. The agent replies at
        // 11:00: 18h30m of calendar time, 2h30m of business time.
        let t0 = MONDAY + 16 * H + 1800;
        let tuesday = MONDAY + 24 * H;
        let d = dataset(vec![
            created(t0, "urgent"),
            audit(
                tuesday + 10 * H,
                AGENT,
                false,
                &[(Field::Priority, "normal")],
            ),
            audit(tuesday + 11 * H, AGENT, true, &[(Field::Status, "open")]),
        ]);
        let admin = admin(true);
        let events = compute(&d.tickets[0], &d, &admin, &Rules::default());
        assert_eq!(
            seen(&events, &["reply_time"]),
            vec![
                ("reply_time", 0, "measure", t0),
                ("reply_time", 1, "activate", t0),
                ("reply_time", 1, "apply_sla", t0),
                ("reply_time", 1, "breach", tuesday + 9 * H + 1800),
                ("reply_time", 1, "apply_sla", tuesday + 10 * H),
                ("reply_time", 1, "fulfill", tuesday + 11 * H),
                ("reply_time", 1, "update_status", tuesday + 11 * H),
            ]
        );
        let breach = events.iter().find(|e| e.kind == "breach").unwrap();
        assert_eq!(breach.retracted_at, Some(tuesday + 10 * H));
        // Served before the re-application: a breach; after: deleted.
        assert_eq!(breach.json(tuesday + 10 * H - 1).get("deleted"), None);
        assert_eq!(breach.json(tuesday + 10 * H)["deleted"], true);
        let status = events.iter().find(|e| e.kind == "update_status").unwrap();
        assert_eq!(status.status, Some((1110, 150)));
    }

    #[test]
    fn an_extra_holiday_moves_the_breach_to_the_next_open_day() {
        // As above without the priority change and with Tuesday closed:
        // 30 business minutes on Monday, the rest from Wednesday 09:00.
        let t0 = MONDAY + 16 * H + 1800;
        let d = dataset(vec![created(t0, "urgent")]);
        let rules = Rules {
            extra_holidays: vec![NaiveDate::from_ymd_opt(2026, 9, 8).unwrap()],
            ..Rules::default()
        };
        let events = compute(&d.tickets[0], &d, &admin(true), &rules);
        let breach = events.iter().find(|e| e.kind == "breach").unwrap();
        assert_eq!(breach.time, MONDAY + 2 * 24 * H + 9 * H + 1800);
        let plain = compute(&d.tickets[0], &d, &admin(true), &Rules::default());
        let breach = plain.iter().find(|e| e.kind == "breach").unwrap();
        assert_eq!(breach.time, MONDAY + 24 * H + 9 * H + 1800);
    }

    #[test]
    fn a_ticket_no_policy_matches_has_metrics_but_no_sla() {
        let t0 = MONDAY + 9 * H;
        let mut d = dataset(vec![created(t0, "high"), audit(t0 + H, AGENT, true, &[])]);
        d.organizations[0].tags = vec!["plan_basic".into()];
        let events = compute(&d.tickets[0], &d, &admin(false), &Rules::default());
        assert!(events
            .iter()
            .any(|e| e.kind == "fulfill" && e.metric == "reply_time"));
        assert!(!events
            .iter()
            .any(|e| e.kind == "apply_sla" || e.kind == "breach"));
    }
}
