//! A synthetic Freshdesk account for `simulate --kind freshdesk`, demos and
//! benchmarks: deterministic from a seed, written in Freshdesk's shapes
//! (the same keys as the hand-written pages in `tests/testdata/freshdesk/`).
//!
//! Each ticket is created by a customer (or, one in fifty, sent by an agent
//! as an outbound email and Closed at once), answered by an agent, may wait
//! on the customer (custom status 6), is resolved, and closed two days
//! later; only what happened before `now` is in the account.
//!
//! Its SLA policies and business hours are [`default_sla`] (the policy of
//! `examples/freshdesk.yaml`, written the way Freshdesk keeps it) unless
//! [`Options::sla`] gives others; each ticket's due times and escalation
//! flags are worked out from them by [`super::sla`] as of `now`.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::sla::{History, Record, Sla};
use super::Account;
use crate::simulator::Rng;
use crate::time::format_instant;

/// What to make.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub tickets: usize,
    /// The first ticket's creation (Unix seconds).
    pub start: i64,
    /// Tickets are spread evenly from `start` over this many seconds.
    pub span: i64,
    /// Nothing after this instant is in the account.
    pub now: i64,
    /// Agents who answer like a desk that mostly meets its targets: first
    /// replies within 5 to 40 minutes, resolution within hours, except
    /// this share of tickets, answered in 1 to 6 hours. `None`: every
    /// ticket waits 10 minutes to 6 hours for its first reply (a desk
    /// under strain, which tests of the adapter prefer).
    pub late_reply_rate: Option<f64>,
    /// The account's SLA policies, business hours and the statuses whose
    /// SLA timer is off; `None`: [`default_sla`].
    pub sla: Option<SlaSetup>,
}

/// An account's SLA setup, as Freshdesk serves and applies it.
#[derive(Debug, Clone, Default)]
pub struct SlaSetup {
    /// `GET /api/v2/sla_policies`.
    pub sla_policies: Vec<Value>,
    /// `GET /api/v2/business_hours`.
    pub business_hours: Vec<Value>,
    /// Statuses whose SLA timer is off.
    pub timer_off: BTreeSet<u64>,
}

/// Seconds of `n` days of 9 business hours (09:00-18:00).
const BUSINESS_DAY: u64 = 9 * 3600;
const H: u64 = 3600;

/// The policy of `examples/freshdesk.yaml` as a Freshdesk account keeps
/// it: business hours "US Support" (09:00-18:00 Eastern, Monday to
/// Friday, the US federal holidays of `first_year` to `last_year` listed
/// as dates, as an admin enters them), a default policy "Standard" on them
/// and a policy "Premier" for the premier companies around the clock, the
/// targets of the example in seconds (a day of business hours is 9
/// hours, as the example's calendar counts `1d`); the timer off on Pending
/// and on the custom statuses 6 (Waiting on Customer) and 9 (Waiting on
/// Third Party).
pub fn default_sla(first_year: i32, last_year: i32) -> SlaSetup {
    let day = json!({"start_time": "9:00 am", "end_time": "6:00 pm"});
    let holidays: Vec<Value> =
        crate::calendar::holidays::named_set_dates("us-federal", first_year, last_year)
            .unwrap_or_default()
            .into_iter()
            .map(|d| json!({"name": "US federal holiday", "date": d.to_string()}))
            .collect();
    let business_hours = vec![
        json!({"id": 11000001, "name": "US Support", "description": "Weekdays, New York",
        "is_default": true, "time_zone": "Eastern Time (US & Canada)",
        "created_at": "2026-01-05T08:00:00Z", "updated_at": "2026-09-01T08:00:00Z",
        "business_hours": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day},
        "holiday_list": holidays}),
    ];
    let target = |fr: u64, nr: u64, res: u64, business: bool| {
        json!({"respond_within": fr, "next_respond_within": nr, "resolve_within": res,
               "business_hours": business, "escalation_enabled": true})
    };
    let d = BUSINESS_DAY;
    let premier: Vec<u64> = (0..COMPANIES)
        .map(|i| FIRST_COMPANY + i)
        .filter(|c| company_plan(*c) == "premier")
        .collect();
    let sla_policies = vec![
        json!({"id": 12000001, "name": "Standard", "description": "default policy", "active": true, "is_default": true,
            "position": 2, "created_at": "2026-01-05T08:00:00Z", "updated_at": "2026-09-01T08:00:00Z",
            "sla_target": {"priority_4": target(2 * H, 4 * H, d, true),
                           "priority_3": target(4 * H, 8 * H, 2 * d, true),
                           "priority_2": target(d, d, 5 * d, true),
                           "priority_1": target(2 * d, 2 * d, 10 * d, true)},
            "applicable_to": {}, "escalation": {}}),
        json!({"id": 12000002, "name": "Premier", "description": null, "active": true, "is_default": false,
            "position": 1, "created_at": "2026-02-05T08:00:00Z", "updated_at": "2026-09-01T08:00:00Z",
            "sla_target": {"priority_4": target(H, 2 * H, 8 * H, false),
                           "priority_3": target(2 * H, 4 * H, 24 * H, false),
                           "priority_2": target(4 * H, 8 * H, 72 * H, false),
                           "priority_1": target(8 * H, 24 * H, 120 * H, false)},
            "applicable_to": {"company_ids": premier}, "escalation": {}}),
    ];
    SlaSetup {
        sla_policies,
        business_hours,
        timer_off: [3, 6, 9].into(),
    }
}

/// The year of an instant (UTC).
fn year_of(t: i64) -> i32 {
    format_instant(t)[..4].parse().unwrap_or(2026)
}

/// A record's due time as the ticket list writes it.
fn due(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(format_instant(t)))
}

/// Writes a ticket's SLA record into its JSON.
fn write_record(ticket: &mut Value, r: &Record) {
    ticket["fr_due_by"] = due(r.fr_due_by);
    ticket["due_by"] = due(r.due_by);
    ticket["nr_due_by"] = due(r.nr_due_by);
    ticket["fr_escalated"] = json!(r.fr_escalated);
    ticket["is_escalated"] = json!(r.is_escalated);
    ticket["nr_escalated"] = json!(r.nr_escalated);
}

/// How many companies a synthetic account has.
pub const COMPANIES: u64 = 20;
/// The first company's id; companies are numbered from it.
pub const FIRST_COMPANY: u64 = 7000;

/// The plan a synthetic company carries in its custom field `plan`:
/// every third one `premier`, the others `standard` (the plans of
/// `examples/freshdesk.yaml`).
pub fn company_plan(company: u64) -> &'static str {
    if (company - FIRST_COMPANY) % 3 == 0 {
        "premier"
    } else {
        "standard"
    }
}

/// The status field with the default statuses and six custom ones (not
/// contiguous, as accounts have them).
pub fn ticket_fields() -> Vec<Value> {
    vec![
        json!({"id": 80004, "name": "status", "label": "Status", "description": "Ticket status", "position": 4,
               "required_for_closure": false, "required_for_agents": true, "type": "default_status", "default": true,
               "customers_can_edit": false, "label_for_customers": "Status", "required_for_customers": false,
               "displayed_to_customers": true, "created_at": "2026-01-05T08:00:00Z", "updated_at": "2026-09-01T08:00:00Z",
               "choices": {"2": ["Open", "Being Processed"], "3": ["Pending", "Awaiting your Reply"],
                           "4": ["Resolved", "This ticket has been Resolved"], "5": ["Closed", "This ticket has been Closed"],
                           "6": ["Waiting on Customer", "Awaiting your Reply"], "7": ["Investigating", "Being Processed"],
                           "9": ["Waiting on Third Party", "Being Processed"], "12": ["Awaiting Deploy", "Being Processed"],
                           "15": ["Escalated to Engineering", "Being Processed"], "21": ["On Hold - Legal", "Being Processed"]}}),
        json!({"id": 80005, "name": "priority", "label": "Priority", "description": "Ticket priority", "position": 5,
               "required_for_closure": false, "required_for_agents": true, "type": "default_priority", "default": true,
               "customers_can_edit": false, "label_for_customers": "Priority", "required_for_customers": false,
               "displayed_to_customers": true, "created_at": "2026-01-05T08:00:00Z", "updated_at": "2026-01-05T08:00:00Z",
               "choices": {"Low": 1, "Medium": 2, "High": 3, "Urgent": 4}}),
    ]
}

fn status_name(code: u64) -> &'static str {
    match code {
        2 => "Open",
        3 => "Pending",
        4 => "Resolved",
        5 => "Closed",
        6 => "Waiting on Customer",
        _ => "Investigating",
    }
}

fn conversation(id: u64, ticket: u64, user: u64, at: i64, incoming: bool, private: bool) -> Value {
    let at = format_instant(at);
    json!({"id": id, "incoming": incoming, "private": private, "source": if private { 2 } else { 0 },
           "user_id": user, "ticket_id": ticket, "body": "<div>…</div>", "body_text": "…",
           "to_emails": [], "from_email": null, "cc_emails": [], "bcc_emails": null, "support_email": null,
           "attachments": [], "created_at": at, "updated_at": at, "last_edited_at": null,
           "last_edited_user_id": null, "source_additional_info": null})
}

/// A synthetic account.
pub fn account(o: &Options) -> Account {
    let setup = o
        .sla
        .clone()
        .unwrap_or_else(|| default_sla(year_of(o.start) - 1, year_of(o.now) + 1));
    let mut a = Account {
        ticket_fields: ticket_fields(),
        sla_policies: setup.sla_policies,
        business_hours: setup.business_hours,
        sla_timer_off: setup.timer_off,
        ..Account::default()
    };
    let sla = Sla::new(&a.sla_policies, &a.business_hours);
    for i in 0..10u64 {
        a.agents.push(json!({"available": true, "occasional": false, "id": 9000 + i, "ticket_scope": 1,
            "signature": null, "group_ids": [5001, 5002], "role_ids": [1], "skill_ids": [], "available_since": null,
            "type": "support_agent", "created_at": "2026-01-05T08:00:00Z", "updated_at": "2026-01-05T08:00:00Z",
            "last_active_at": null, "contact": {"active": true, "email": format!("agent{i}@acme.example"),
            "job_title": null, "language": "en", "last_login_at": null, "mobile": null, "name": format!("Agent {i}"),
            "phone": null, "time_zone": "Eastern Time (US & Canada)", "created_at": "2026-01-05T08:00:00Z",
            "updated_at": "2026-01-05T08:00:00Z"}}));
    }
    for i in 0..COMPANIES {
        a.companies.push(json!({"id": FIRST_COMPANY + i, "name": format!("Customer {i}"), "description": null, "note": null,
            "domains": [], "created_at": "2026-01-10T00:00:00Z", "updated_at": "2026-01-10T00:00:00Z",
            "custom_fields": {"plan": company_plan(FIRST_COMPANY + i)}, "health_score": null,
            "account_tier": null, "renewal_date": null, "industry": null}));
    }
    let step = (o.span / o.tickets.max(1) as i64).max(1);
    let mut conv_id = 1_000_000u64;
    for n in 0..o.tickets as u64 {
        let mut r = Rng::derive(o.seed, n);
        let id = n + 1;
        let created = o.start + n as i64 * step;
        if created > o.now {
            break;
        }
        let priority = 1 + r.index(4) as u64;
        let group = if r.chance(0.5) { 5001 } else { 5002 };
        let company = FIRST_COMPANY + r.index(COMPANIES as usize) as u64;
        let requester = 300_000 + id;
        let agent = 9000 + r.index(10) as u64;
        let outbound = r.chance(0.02);
        // Late: this ticket waits as an unprompted desk's would.
        let late = o.late_reply_rate.map(|rate| r.chance(rate));
        let (first_wait, reply_wait, resolve_wait) = match late {
            Some(false) => ((300, 2400), (300, 2400), (600, 3 * 3600)),
            Some(true) => ((3600, 6 * 3600), (3600, 6 * 3600), (600, 8 * 3600)),
            None => ((600, 6 * 3600), (600, 4 * 3600), (600, 8 * 3600)),
        };
        let mut activities: Vec<(i64, Value)> = Vec::new();
        let mut convs = Vec::new();
        let mut status = 2u64;
        let mut updated = created;
        let (mut first_resp, mut agent_resp, mut req_resp) = (None, None, None);
        let (mut resolved, mut closed, mut pending_since, mut status_at) =
            (None, None, None, created);
        let source = if outbound {
            10
        } else {
            [1, 2, 3, 7][r.index(4)]
        };
        let mut history = History {
            created,
            priority,
            company: Some(company),
            group: Some(group),
            source,
            statuses: vec![(created, if outbound { 5 } else { 2 })],
            ..History::default()
        };
        let mut act = |t: i64, performer: u64, kind: &str, activity: Value| {
            activities.push((
                t,
                json!({"performed_at": performed(t), "ticket_id": id,
                "performer_type": kind, "performer_id": performer, "activity": activity}),
            ));
        };
        if outbound {
            status = 5;
            resolved = Some(created);
            closed = Some(created);
            act(
                created,
                agent,
                "user",
                json!({"new_ticket": true, "status": "Closed", "priority": priority,
                "source": 10, "group_id": group, "company_id": company}),
            );
        } else {
            act(
                created,
                requester,
                "contact",
                json!({"new_ticket": true, "status": "Open", "priority": priority,
                "source": source, "group_id": group, "company_id": company}),
            );
            let mut t = created + r.range(first_wait.0, first_wait.1);
            let waits = r.chance(0.4);
            let mut events: Vec<(i64, u8)> = vec![(t, 0)]; // 0 reply, 1 note, 2 customer, 3 resolve, 4 close
            if r.chance(0.3) {
                events.push((t - 300, 1));
            }
            if waits {
                t += r.range(3600, 86_400);
                events.push((t, 2));
                t += r.range(reply_wait.0, reply_wait.1);
                events.push((t, 0));
            }
            t += r.range(resolve_wait.0, resolve_wait.1);
            events.push((t, 3));
            events.push((t + 2 * 86_400, 4));
            events.sort_by_key(|e| e.0);
            for (at, what) in events {
                if at > o.now {
                    break;
                }
                conv_id += 1;
                match what {
                    0 => {
                        convs.push(conversation(conv_id, id, agent, at, false, false));
                        first_resp.get_or_insert(at);
                        agent_resp = Some(at);
                        history.agent_replies.push(at);
                        if waits && status == 2 {
                            history.statuses.push((at, 6));
                            status = 6;
                            pending_since = Some(at);
                            status_at = at;
                            act(at, agent, "user", json!({"status": status_name(6)}));
                        }
                    }
                    1 => {
                        convs.push(conversation(conv_id, id, agent, at, false, true));
                        act(
                            at,
                            agent,
                            "user",
                            json!({"note": {"id": conv_id, "type": 2}}),
                        );
                    }
                    2 => {
                        convs.push(conversation(conv_id, id, requester, at, true, false));
                        req_resp = Some(at);
                        history.customer_replies.push(at);
                        history.statuses.push((at, 2));
                        status = 2;
                        pending_since = None;
                        status_at = at;
                        act(
                            at,
                            0,
                            "system",
                            json!({"automation": {"type": 3, "rule": "Reopen on reply"}, "status": "Open"}),
                        );
                    }
                    3 => {
                        history.statuses.push((at, 4));
                        status = 4;
                        resolved = Some(at);
                        pending_since = None;
                        status_at = at;
                        act(at, agent, "user", json!({"status": status_name(4)}));
                    }
                    _ => {
                        history.statuses.push((at, 5));
                        status = 5;
                        closed = Some(at);
                        status_at = at;
                        act(
                            at,
                            0,
                            "system",
                            json!({"automation": {"type": 2, "rule": "Close resolved"}, "status": "Closed"}),
                        );
                    }
                }
                updated = updated.max(at);
            }
        }
        let opt = |t: Option<i64>| t.map_or(Value::Null, |t| Value::String(format_instant(t)));
        let empty_or_null = |r: &mut Rng| {
            if r.chance(0.2) {
                Value::Null
            } else {
                json!([])
            }
        };
        let cc = empty_or_null(&mut r);
        let fwd = empty_or_null(&mut r);
        let kind = if r.chance(0.5) {
            json!("Incident")
        } else {
            Value::Null
        };
        let tags = if r.chance(0.1) {
            Value::Null
        } else {
            json!([])
        };
        let mut t = json!({
            "cc_emails": cc, "fwd_emails": fwd, "reply_cc_emails": [],
            "ticket_cc_emails": [], "ticket_bcc_emails": [], "fr_escalated": false, "spam": false,
            "email_config_id": null, "group_id": group, "priority": priority, "requester_id": requester,
            "responder_id": agent, "source": source, "company_id": company, "status": status,
            "subject": format!("Ticket {id}"), "association_type": null, "support_email": null, "to_emails": null,
            "product_id": null, "id": id, "type": kind,
        });
        history.kind = kind.as_str().map(str::to_string);
        let record = sla.record(&history, &a.sla_timer_off, o.now);
        let rest = json!({
            "due_by": null, "fr_due_by": null,
            "is_escalated": false, "custom_fields": {"cf_product": null}, "created_at": format_instant(created),
            "updated_at": format_instant(updated), "associated_tickets_count": null,
            "tags": tags, "description": "<div>…</div>",
            "description_text": "…", "structured_description": null, "nr_due_by": null, "nr_escalated": false,
            "stats": {"agent_responded_at": opt(agent_resp), "requester_responded_at": opt(req_resp),
                "first_responded_at": opt(first_resp), "status_updated_at": format_instant(status_at),
                "reopened_at": null, "resolved_at": opt(resolved), "closed_at": opt(closed),
                "pending_since": opt(pending_since)}
        });
        if let (Some(t), Value::Object(rest)) = (t.as_object_mut(), rest) {
            t.extend(rest);
        }
        write_record(&mut t, &record);
        a.tickets.push(t);
        if !convs.is_empty() {
            a.conversations.insert(id, convs);
        }
        for (t, v) in activities {
            a.activities.entry(day(t)).or_default().push(v);
        }
    }
    for list in a.activities.values_mut() {
        sort_by_performed_at(list);
    }
    a
}

/// `YYYY-MM-DD`, the export's day of an instant (UTC).
fn day(t: i64) -> String {
    format_instant(t)[..10].to_string()
}

/// An instant as the export writes `performed_at`: day first,
/// `dd-mm-yyyy HH:MM:SS +0000`.
fn performed(t: i64) -> String {
    let s = format_instant(t);
    format!(
        "{}-{}-{} {} +0000",
        &s[8..10],
        &s[5..7],
        &s[..4],
        &s[11..19]
    )
}

/// Sorts one day's records by `performed_at` (written day first).
fn sort_by_performed_at(list: &mut [Value]) {
    list.sort_by_cached_key(|v| {
        let p = v["performed_at"].as_str().unwrap_or("");
        // dd-mm-yyyy HH:MM:SS → sortable
        format!(
            "{}{}{}{}",
            p.get(6..10).unwrap_or(""),
            p.get(3..5).unwrap_or(""),
            p.get(..2).unwrap_or(""),
            p.get(11..19).unwrap_or("")
        )
    });
}

/// A customer's new ticket at `at`, unanswered: Open, listed with its
/// `stats`, and its creation in that day's activities export. Returns its
/// id (one more than the account's highest).
pub fn open_ticket(a: &mut Account, at: i64, company: u64, priority: u64, subject: &str) -> u64 {
    let id = a
        .tickets
        .iter()
        .filter_map(|t| t["id"].as_u64())
        .max()
        .unwrap_or(0)
        + 1;
    let requester = 300_000 + id;
    let created = format_instant(at);
    let mut ticket = json!({
        "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "ticket_cc_emails": [],
        "ticket_bcc_emails": [], "fr_escalated": false, "spam": false, "email_config_id": null,
        "group_id": 5001, "priority": priority, "requester_id": requester, "responder_id": null,
        "source": 2, "company_id": company, "status": 2, "subject": subject,
        "association_type": null, "support_email": null, "to_emails": null, "product_id": null,
        "id": id, "type": "Incident",
    });
    let rest = json!({
        "due_by": null, "fr_due_by": null,
        "is_escalated": false, "custom_fields": {"cf_product": null}, "created_at": created,
        "updated_at": created, "associated_tickets_count": null, "tags": [],
        "description": "<div>…</div>", "description_text": "…", "structured_description": null,
        "nr_due_by": null, "nr_escalated": false,
        "stats": {"agent_responded_at": null, "requester_responded_at": null,
            "first_responded_at": null, "status_updated_at": created, "reopened_at": null,
            "resolved_at": null, "closed_at": null, "pending_since": null}
    });
    if let (Some(t), Value::Object(rest)) = (ticket.as_object_mut(), rest) {
        t.extend(rest);
    }
    let history = History {
        created: at,
        priority,
        company: Some(company),
        group: Some(5001),
        source: 2,
        kind: Some("Incident".into()),
        statuses: vec![(at, 2)],
        ..History::default()
    };
    let record =
        Sla::new(&a.sla_policies, &a.business_hours).record(&history, &a.sla_timer_off, at);
    write_record(&mut ticket, &record);
    a.tickets.push(ticket);
    let list = a.activities.entry(day(at)).or_default();
    list.push(json!({"performed_at": performed(at), "ticket_id": id,
        "performer_type": "contact", "performer_id": requester,
        "activity": {"new_ticket": true, "status": "Open", "priority": priority,
            "source": 2, "group_id": 5001, "company_id": company}}));
    sort_by_performed_at(list);
    id
}

/// A public reply by `agent` on ticket `id` at `at`: a conversation
/// (`incoming: false`, `private: false`, `source` 0), and the ticket's
/// `updated_at` and `stats` (`first_responded_at` the first time,
/// `agent_responded_at`) and `fr_escalated` as Freshdesk updates them. `None` when the
/// account has no such ticket.
pub fn agent_reply(a: &mut Account, id: u64, at: i64, agent: u64) -> Option<()> {
    let ticket = a.tickets.iter_mut().find(|t| t["id"] == id)?;
    let when = Value::String(format_instant(at));
    if ticket["updated_at"].as_str() < when.as_str() {
        ticket["updated_at"] = when.clone();
    }
    if ticket["stats"]["first_responded_at"].is_null() {
        ticket["stats"]["first_responded_at"] = when.clone();
        // Met after its due: escalated.
        let due = ticket["fr_due_by"]
            .as_str()
            .and_then(|d| crate::time::parse_instant(d).ok());
        ticket["fr_escalated"] = json!(due.is_some_and(|d| at > d));
    }
    ticket["stats"]["agent_responded_at"] = when;
    let next_id = a
        .conversations
        .values()
        .flatten()
        .filter_map(|c| c["id"].as_u64())
        .max()
        .unwrap_or(1_000_000)
        + 1;
    a.conversations
        .entry(id)
        .or_default()
        .push(conversation(next_id, id, agent, at, false, false));
    Some(())
}
