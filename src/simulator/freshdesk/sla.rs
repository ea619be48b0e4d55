//! The emulator's Freshdesk SLA record of a ticket: `fr_due_by`,
//! `due_by`, `nr_due_by` and the escalation flags `fr_escalated`,
//! `is_escalated`, `nr_escalated`, computed from the account's SLA
//! policies and business hours (the bodies it serves at
//! `/api/v2/sla_policies` and `/api/v2/business_hours`) and the ticket's
//! history, the way Freshdesk documents them (`docs/freshdesk.md` lists
//! the sources). Independent of the SLA engine on purpose: its own walk
//! over the ticket's statuses with its own business-time arithmetic
//! ([`crate::simulator::business_hours`]), so comparing the two can find a
//! difference.
//!
//! * **Policy**: the active policies in `position` order, the first whose
//!   every condition under `applicable_to` holds (`company_ids`,
//!   `group_ids`, `sources`, `ticket_types`, `product_ids`); else the
//!   default policy (`is_default`). Its `sla_target.priority_<n>` at the
//!   ticket's priority gives `respond_within`, `next_respond_within` and
//!   `resolve_within` (seconds), in business hours unless its
//!   `business_hours` is false.
//! * **Business hours**: the account's default (`is_default`) business
//!   hours (Freshdesk takes the ticket's group's; the emulator's groups
//!   have none), their per-day hours under `business_hours` or
//!   `working_hours` (`"8:00 am"` or `"08:00"`), none meaning around the
//!   clock, less `holiday_list` (a `YYYY-MM-DD` day, or `"Dec 25"` every
//!   year).
//! * **The timer** stops while the ticket is in a status whose SLA timer
//!   is off (the account's [`super::Account::sla_timer_off`]; Freshdesk's
//!   default is Pending) and once it is resolved or closed: a due moves
//!   on by the business time the timer stood still before the instance
//!   was met. While it stands still (and when it was met standing still),
//!   a due shows as it stood when it stopped, and a timer that stands
//!   still does not escalate.
//! * `fr_due_by`: from creation by `respond_within`, met by the first
//!   public agent reply. `due_by`: from creation by `resolve_within`, met
//!   when the ticket is first resolved or closed. `nr_due_by`: the next
//!   response awaited now, from the oldest customer reply that follows an
//!   agent reply and is unanswered, by `next_respond_within`; none when no
//!   reply is awaited (or the policy has no such target).
//! * **Escalated** (`*_escalated`): met after its due, or not met and its
//!   due has passed at the account's now. `nr_escalated` is that of the
//!   next response awaited now (false when none is).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::Value;

use crate::import::zones::zone_for;
use crate::simulator::business_hours::{Clock, Hours};

/// What Freshdesk knows of a ticket for its SLA.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub created: i64,
    /// 1 (Low) to 4 (Urgent).
    pub priority: u64,
    pub company: Option<u64>,
    pub group: Option<u64>,
    pub source: u64,
    /// The ticket's `type`.
    pub kind: Option<String>,
    pub product: Option<u64>,
    /// Each status the ticket took, from its creation on, in order.
    pub statuses: Vec<(i64, u64)>,
    /// Public agent replies, in order.
    pub agent_replies: Vec<i64>,
    /// Incoming customer messages after the creation, in order.
    pub customer_replies: Vec<i64>,
}

/// A ticket's SLA record, as the ticket list shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub fr_due_by: Option<i64>,
    pub fr_escalated: bool,
    pub due_by: Option<i64>,
    pub is_escalated: bool,
    pub nr_due_by: Option<i64>,
    pub nr_escalated: bool,
}

/// The account's SLA setup, read once.
pub struct Sla {
    /// Active non-default policies in `position` order.
    policies: Vec<Value>,
    default: Option<Value>,
    hours: Hours,
}

const DAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// `"8:00 am"`, `"5:30 pm"`, `"17:30"` → minutes from midnight.
fn minutes(text: &str) -> Option<u32> {
    let t = text.trim().to_ascii_lowercase();
    let (clock, pm) = if let Some(x) = t.strip_suffix("am") {
        (x.trim(), Some(false))
    } else if let Some(x) = t.strip_suffix("pm") {
        (x.trim(), Some(true))
    } else {
        (t.as_str(), None)
    };
    let (h, m) = clock.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let h = match pm {
        Some(pm) => h % 12 + if pm { 12 } else { 0 },
        None => h,
    };
    Some(h * 60 + m)
}

/// The open hours of a business hours object (around the clock when it
/// has none).
fn hours_of(b: &Value) -> Hours {
    let tz = b["time_zone"]
        .as_str()
        .and_then(zone_for)
        .unwrap_or(chrono_tz::UTC);
    let days = b
        .get("business_hours")
        .filter(|v| v.is_object())
        .or_else(|| b.get("working_hours"))
        .and_then(Value::as_object);
    let mut intervals = Vec::new();
    match days {
        Some(days) if !days.is_empty() => {
            for (i, day) in DAYS.iter().enumerate() {
                let Some(d) = days.get(*day) else { continue };
                let from = d["start_time"].as_str().and_then(minutes);
                let to = d["end_time"].as_str().and_then(minutes);
                if let (Some(from), Some(to)) = (from, to) {
                    let base = i as u32 * 1440;
                    intervals.push((base + from, base + to));
                }
            }
        }
        _ => intervals.push((0, 7 * 1440)),
    }
    let mut holidays = Vec::new();
    for h in b["holiday_list"].as_array().into_iter().flatten() {
        let Some(date) = h["date"].as_str().map(str::trim) else {
            continue;
        };
        if let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            holidays.push((d, d));
            continue;
        }
        // "Dec 25": that day every year.
        for year in 2000..=2100 {
            if let Ok(d) = NaiveDate::parse_from_str(&format!("{date} {year}"), "%b %d %Y") {
                holidays.push((d, d));
            }
        }
    }
    Hours::new(tz, intervals, holidays)
}

/// A number, or its text.
fn number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

/// Whether `list` (absent or empty: no condition) holds `value`.
fn allows(list: &Value, value: Option<&Value>) -> bool {
    match list.as_array() {
        None => true,
        Some(items) if items.is_empty() => true,
        Some(items) => value.is_some_and(|v| {
            items
                .iter()
                .any(|i| i == v || (number(i).is_some() && number(i) == number(v)))
        }),
    }
}

impl Sla {
    /// The setup of an account's policies and business hours.
    pub fn new(policies: &[Value], business_hours: &[Value]) -> Sla {
        let mut active: Vec<Value> = policies
            .iter()
            .filter(|p| p["active"] != false && p["is_default"] != true)
            .cloned()
            .collect();
        active.sort_by_key(|p| p["position"].as_i64().unwrap_or(i64::MAX));
        let default = policies.iter().find(|p| p["is_default"] == true).cloned();
        let hours = business_hours
            .iter()
            .find(|b| b["is_default"] == true)
            .or_else(|| business_hours.first())
            .map_or_else(
                || Hours::new(chrono_tz::UTC, vec![(0, 7 * 1440)], Vec::new()),
                hours_of,
            );
        Sla {
            policies: active,
            default,
            hours,
        }
    }

    /// The policy that applies to a ticket.
    fn policy(&self, h: &History) -> Option<&Value> {
        let company = h.company.map(Value::from);
        let group = h.group.map(Value::from);
        let source = Value::from(h.source);
        let kind = h.kind.clone().map(Value::from);
        let product = h.product.map(Value::from);
        self.policies
            .iter()
            .find(|p| {
                let a = &p["applicable_to"];
                allows(&a["company_ids"], company.as_ref())
                    && allows(&a["group_ids"], group.as_ref())
                    && allows(&a["sources"], Some(&source))
                    && allows(&a["ticket_types"], kind.as_ref())
                    && allows(&a["product_ids"], product.as_ref())
            })
            .or(self.default.as_ref())
    }

    /// The ticket's SLA record at `now`, its timer off in `timer_off`.
    pub fn record(&self, h: &History, timer_off: &BTreeSet<u64>, now: i64) -> Record {
        let Some(target) = self
            .policy(h)
            .map(|p| &p["sla_target"][format!("priority_{}", h.priority)])
            .filter(|t| t.is_object())
        else {
            return Record::default();
        };
        let clock = if target["business_hours"] == false {
            Clock::Calendar
        } else {
            Clock::Business(&self.hours)
        };
        // The stretches the timer stood still: a status whose timer is
        // off, or resolved or closed; the last one may still be running.
        let mut stopped: Vec<(i64, Option<i64>)> = Vec::new();
        for (i, &(at, status)) in h.statuses.iter().enumerate() {
            let off = timer_off.contains(&status) || status == 4 || status == 5;
            let until = h.statuses.get(i + 1).map(|(t, _)| *t);
            if off {
                match stopped.last_mut() {
                    Some((_, end)) if *end == Some(at) => *end = until,
                    _ => stopped.push((at, until)),
                }
            }
        }
        // The due, and whether it is only as it stood when the timer
        // stopped (stopped now, or when the instance was met): a timer
        // that stands still does not escalate.
        let due = |start: i64, secs: Option<u64>, met: Option<i64>| -> Option<(i64, bool)> {
            let mut left = i64::try_from(secs?).ok()?;
            let mut t = start;
            for &(from, to) in stopped.iter().filter(|(from, to)| {
                met.is_none_or(|m| *from < m) && to.is_none_or(|to| to > start)
            }) {
                if from > t {
                    let d = clock.add(t, left)?;
                    if d <= from {
                        return Some((d, false));
                    }
                    left -= clock.seconds(t, from);
                    t = from;
                }
                match to {
                    Some(to) if met.is_none_or(|m| to <= m) => t = t.max(to),
                    // Still stopped, or met while stopped: the due as it
                    // stood.
                    _ => return clock.add(t, left).map(|d| (d, true)),
                }
            }
            clock.add(t, left).map(|d| (d, false))
        };
        let escalated = |due: Option<(i64, bool)>, met: Option<i64>| {
            due.is_some_and(|(d, stood)| !stood && met.map_or(now > d, |m| m > d))
        };
        let mut r = Record::default();
        let first_reply = h.agent_replies.first().copied();
        let fr = due(h.created, target["respond_within"].as_u64(), first_reply);
        r.fr_due_by = fr.map(|(d, _)| d);
        r.fr_escalated = escalated(fr, first_reply);
        let resolved = h
            .statuses
            .iter()
            .find(|(_, s)| *s == 4 || *s == 5)
            .map(|(t, _)| *t);
        let res = due(h.created, target["resolve_within"].as_u64(), resolved);
        r.due_by = res.map(|(d, _)| d);
        r.is_escalated = escalated(res, resolved);
        // The next response awaited now: the oldest customer reply after
        // the last agent reply, when one follows an agent reply.
        if let Some(last_reply) = h.agent_replies.last() {
            if let Some(&asked) = h.customer_replies.iter().find(|t| *t > last_reply) {
                let resolved_since = resolved.is_some_and(|r| r <= asked);
                if !resolved_since {
                    let nr = due(asked, target["next_respond_within"].as_u64(), None);
                    r.nr_due_by = nr.map(|(d, _)| d);
                    r.nr_escalated = escalated(nr, None);
                }
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;
    use serde_json::json;

    fn at(s: &str) -> i64 {
        parse_instant(s).unwrap()
    }

    /// Weekdays 09:00-17:00 in New York, closed on Thanksgiving 2026 and
    /// every Christmas.
    fn hours() -> Vec<Value> {
        let day = json!({"start_time": "9:00 am", "end_time": "5:00 pm"});
        vec![
            json!({"id": 1, "name": "US", "is_default": true, "time_zone": "Eastern Time (US & Canada)",
            "business_hours": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day},
            "holiday_list": [{"name": "Thanksgiving", "date": "2026-11-26"}, {"name": "Christmas", "date": "Dec 25"}]}),
        ]
    }

    fn policies() -> Vec<Value> {
        vec![
            json!({"id": 1, "name": "Default", "active": true, "is_default": true, "position": 2,
                "sla_target": {"priority_2": {"respond_within": 7200, "next_respond_within": 3600, "resolve_within": 28800, "business_hours": true}},
                "applicable_to": {}}),
            json!({"id": 2, "name": "VIP", "active": true, "is_default": false, "position": 1,
                "sla_target": {"priority_2": {"respond_within": 1800, "resolve_within": 7200, "business_hours": false}},
                "applicable_to": {"company_ids": [7]}}),
        ]
    }

    fn ticket(created: &str, company: u64) -> History {
        History {
            created: at(created),
            priority: 2,
            company: Some(company),
            source: 1,
            statuses: vec![(at(created), 2)],
            ..History::default()
        }
    }

    #[test]
    fn dues_run_on_business_hours_and_skip_holidays() {
        let sla = Sla::new(&policies(), &hours());
        // Wednesday 16:00 New York (21:00 UTC): 1h left that day, then
        // Thanksgiving is closed; 2h of first response end Friday 10:00.
        let h = ticket("2026-11-25T21:00:00Z", 1);
        let r = sla.record(&h, &BTreeSet::new(), at("2026-11-25T22:00:00Z"));
        assert_eq!(r.fr_due_by, Some(at("2026-11-27T15:00:00Z")));
        // 8h: 1h Wednesday, 7h Friday: 16:00 New York.
        assert_eq!(r.due_by, Some(at("2026-11-27T21:00:00Z")));
        assert!(!r.fr_escalated && !r.is_escalated);
        assert_eq!(r.nr_due_by, None);
    }

    #[test]
    fn the_first_policy_that_matches_applies_around_the_clock() {
        let sla = Sla::new(&policies(), &hours());
        let mut h = ticket("2026-11-25T21:00:00Z", 7);
        h.agent_replies = vec![at("2026-11-25T21:45:00Z")];
        let r = sla.record(&h, &BTreeSet::new(), at("2026-11-26T00:00:00Z"));
        assert_eq!(r.fr_due_by, Some(at("2026-11-25T21:30:00Z")));
        assert!(r.fr_escalated, "replied 15 minutes after its due");
        assert_eq!(r.due_by, Some(at("2026-11-25T23:00:00Z")));
        assert!(r.is_escalated, "not resolved, its due has passed");
    }

    #[test]
    fn a_status_with_its_timer_off_moves_the_due_on() {
        let sla = Sla::new(&policies(), &hours());
        // Monday 09:00 New York; pending (3) 10:00-12:00, open again.
        let mut h = ticket("2026-11-23T14:00:00Z", 1);
        h.statuses.extend([
            (at("2026-11-23T15:00:00Z"), 3),
            (at("2026-11-23T17:00:00Z"), 2),
        ]);
        let off: BTreeSet<u64> = [3].into();
        let r = sla.record(&h, &off, at("2026-11-23T18:00:00Z"));
        // 8h of resolution plus 2h stood still: Tuesday 11:00.
        assert_eq!(r.due_by, Some(at("2026-11-24T16:00:00Z")));
        // With Pending's timer on, it is Monday 17:00.
        let r = sla.record(&h, &BTreeSet::new(), at("2026-11-23T18:00:00Z"));
        assert_eq!(r.due_by, Some(at("2026-11-23T22:00:00Z")));
    }

    #[test]
    fn the_next_response_awaited_now_is_due_from_the_oldest_unanswered_reply() {
        let sla = Sla::new(&policies(), &hours());
        let mut h = ticket("2026-11-23T14:00:00Z", 1);
        h.agent_replies = vec![at("2026-11-23T15:00:00Z")];
        h.customer_replies = vec![at("2026-11-23T16:00:00Z"), at("2026-11-23T16:30:00Z")];
        let r = sla.record(&h, &BTreeSet::new(), at("2026-11-23T18:00:00Z"));
        assert_eq!(r.nr_due_by, Some(at("2026-11-23T17:00:00Z")));
        assert!(r.nr_escalated);
        h.agent_replies.push(at("2026-11-23T16:45:00Z"));
        let r = sla.record(&h, &BTreeSet::new(), at("2026-11-23T18:00:00Z"));
        assert_eq!(
            (r.nr_due_by, r.nr_escalated),
            (None, false),
            "answered: none awaited"
        );
    }
}
