//! The SLA engine: from one ticket's timeline and the policy, every SLA clock
//! instance: when it started, paused, was met or breached, and when an open
//! one will breach.
//!
//! Pure: the same timeline, policy and `now` give the same answer; no I/O, no
//! clock reads. The rules, each with an example (times are business hours
//! Mon-Fri 09:00-17:00 unless said otherwise):
//!
//! * **Steps.** Same-instant events form one step, applied in a fixed order:
//!   organization/tags/priority/severity/group changes, then comments, then
//!   status changes. *Example:* an agent replies and sets the ticket solved
//!   in one update at 10:00: the reply fulfils first response at 10:00, then
//!   the solve ends resolution. Events of one instant and one kind keep the
//!   helpdesk's order: by id (in `.`-separated segments, digits as
//!   numbers), else as listed; a requester comment then a reply in one
//!   second is a message answered at once. Exact duplicates count once.
//!   Events before `created_at` count as at `created_at`.
//! * **Replies.** Only a public comment by an agent is a reply or update.
//!   *Example:* an internal note at 09:20 answers the L1 tier clock but not
//!   first response; `count_internal_notes: true` on a metric makes notes
//!   count for it.
//! * **first_response**: instance 1 starts at creation and is met by the
//!   first reply. *Example:* created 09:00, replied 10:30: met after 1h30m.
//! * **next_reply**: starts at the oldest requester message that follows a
//!   reply and is still unanswered; more messages before the answer start
//!   nothing; met by the next reply. *Example:* reply 10:00, requester writes
//!   11:00 and 11:30, agent answers 12:00: one instance, 11:00 to 12:00. The
//!   creation and the initial description belong to first_response. A
//!   requester message on a solved ticket starts one only if the same step
//!   reopens the ticket.
//! * **periodic_update**: the first window starts at the first reply, each
//!   next one at the previous reply (or counted internal note), while the
//!   ticket is unsolved; after a reopen a window starts at the reopen, even
//!   on a ticket that never had a reply. Each metric starts its own clocks: two
//!   metrics of one kind with different settings never block each other. *Example* (hourly, wall clock):
//!   replies at 10:30, 11:20 and 12:40 give windows 10:30-11:20 (met) and
//!   11:20-12:40 (breached at 12:20), and one from 12:40.
//! * **Solve.** A reply or update clock still open at a solve ends there: met
//!   if not yet due, otherwise it was already breached. A tier clock starts
//!   at an assignment to its group (creation in the group, or a `group`
//!   event in a step that leaves the ticket unsolved; a reopen is not an
//!   assignment) and ends at the first agent comment after it (public or
//!   internal, by any agent: the timeline does not say which group an agent
//!   is in), at a hand-off to another group, or at a solve. *Example:* an
//!   update window due 14:00 still open when the ticket is solved at 13:00 is
//!   met at 13:00.
//! * **resolution** runs from creation to the solve. `on_reopen: continue`
//!   reopens the same instance (the solved period counts as paused);
//!   `restart` starts instance n+1 at the reopen. *Example:* solved Monday
//!   12:00 after 3h, reopened Tuesday 10:00: `continue` resumes at 3h
//!   elapsed with Monday 12:00 to Tuesday 10:00 paused; `restart` leaves #1
//!   met and starts #2 at Tuesday 10:00. A continued clock runs on under the
//!   plan and severity at the reopen (re-targeted from its start), unless it
//!   had already used its whole old target, when it is breached at that due.
//! * **Outcome.** Met when `fulfilled_at <= due_at`; breached when fulfilled
//!   later, or still open and `now > due_at`; `breached_at = due_at`.
//!   *Example:* due 10:00, reply at 10:00:00 is met, at 10:00:01 breached at
//!   10:00. A clock paused at `now` has no `due_at` and state `paused`.
//! * **Pauses.** A metric's `pause_on` statuses stop its clock; paused time
//!   never counts, and the due moves out by it. *Example:* a 4h resolution
//!   from 09:00, pending 10:00-14:00: due 17:00, not 13:00; elapsed + paused
//!   is the business time from start to fulfilment (or `now`).
//! * **Re-targeting.** A severity or plan change re-targets every clock open
//!   at that instant from its original start; a clock already met or breached
//!   keeps its outcome; a new due already before the change breaches the
//!   clock at that due. *Example:* created 10:00 as high (8h), reclassified
//!   urgent (2h) at 11:00: due 12:00; reclassified at 13:00 instead: breached
//!   at 12:00. Clocks exist for every metric from creation, so an
//!   organization assigned a minute after creation still gives the ticket a
//!   first-response clock from creation. A change to a plan or severity
//!   without a target for an open clock's metric ends the clock there,
//!   `excluded` with the reason, under the plan and severity it ran under.
//! * **Targets.** `none` gives state `no_target` (counted, never breached); a
//!   metric without a target for the plan and severity is not tracked (no
//!   clock). A ticket on no plan, or with a priority no severity maps, gets
//!   `excluded` clocks with the reason, so reports can show them.
//! * **Fields.** A `field` event changes one ticket field from its instant
//!   on (plan matching and exclusions by `ticket_field` follow it); a change
//!   of the policy's `severity_field` re-targets like a severity event.
//!   *Example:* a ticket created with severity field `sev3` and set to `sev1`
//!   at 11:00 runs on sev3 targets until 11:00 and sev1 targets, from its
//!   start, after.
//! * **The helpdesk's record.** A ticket whose `current` record says solved
//!   or closed, while its events leave it unsolved at the record's
//!   `updated_at`, is solved at that instant. *Example:* the events show an
//!   open ticket, the record says solved, last updated Tuesday 12:00: every
//!   open clock ends at Tuesday 12:00.
//! * **Exclusions** (config `exclusions:`) and a plan's
//!   `only_created_in_business_hours` turn clocks `excluded`, with a reason.
//!   *Example:* a Wati ticket tagged `meta_dependency` has its resolution
//!   clock excluded, its first response counted.

pub mod aggregate;
pub mod crosscheck;
mod event_json;
pub mod fast_json;
mod run;
pub mod timeline;

use serde::{Deserialize, Serialize};

use crate::policy::model::{MetricId, PlanId, SeverityId};
use crate::policy::Policy;
pub use fast_json::ticket_from_json;
pub use run::{evaluate, evaluate_into, evaluate_with, Detail};
pub use timeline::{Change, Current, Event, Organization, Ticket};

/// A clock's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    Active,
    Paused,
    Met,
    Breached,
    NoTarget,
    Excluded,
}

impl ClockState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClockState::Active => "active",
            ClockState::Paused => "paused",
            ClockState::Met => "met",
            ClockState::Breached => "breached",
            ClockState::NoTarget => "no_target",
            ClockState::Excluded => "excluded",
        }
    }
}

/// One SLA clock instance of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub metric: MetricId,
    /// 1-based, per metric, in start order.
    pub instance: u32,
    pub plan: Option<PlanId>,
    pub severity: Option<SeverityId>,
    pub start: i64,
    pub due_at: Option<i64>,
    pub state: ClockState,
    /// Why the clock is excluded.
    pub reason: Option<String>,
    pub fulfilled_at: Option<i64>,
    pub breached_at: Option<i64>,
    /// Business time the clock ran.
    pub elapsed_seconds: i64,
    /// Business time of its span during which it was paused.
    pub paused_seconds: i64,
    /// Target minus elapsed, for clocks not yet fulfilled.
    pub remaining_seconds: Option<i64>,
}

/// A clock in its JSON form, with names instead of indexes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockView<'a> {
    pub metric: &'a str,
    pub instance: u32,
    pub plan: Option<&'a str>,
    pub severity: Option<&'a str>,
    #[serde(serialize_with = "ser_instant")]
    pub start: i64,
    #[serde(serialize_with = "ser_opt_instant")]
    pub due_at: Option<i64>,
    pub state: ClockState,
    pub reason: Option<&'a str>,
    #[serde(serialize_with = "ser_opt_instant")]
    pub fulfilled_at: Option<i64>,
    #[serde(serialize_with = "ser_opt_instant")]
    pub breached_at: Option<i64>,
    pub elapsed_seconds: i64,
    pub paused_seconds: i64,
    pub remaining_seconds: Option<i64>,
}

impl Clock {
    /// The clock with the policy's names, ready to serialize.
    pub fn view<'a>(&'a self, policy: &'a Policy) -> ClockView<'a> {
        ClockView {
            metric: policy
                .metrics
                .get(self.metric)
                .map_or("?", |m| m.name.as_str()),
            instance: self.instance,
            plan: self
                .plan
                .and_then(|p| policy.plans.get(p))
                .map(|p| p.name.as_str()),
            severity: self
                .severity
                .and_then(|s| policy.severities.get(s))
                .map(String::as_str),
            start: self.start,
            due_at: self.due_at,
            state: self.state,
            reason: self.reason.as_deref(),
            fulfilled_at: self.fulfilled_at,
            breached_at: self.breached_at,
            elapsed_seconds: self.elapsed_seconds,
            paused_seconds: self.paused_seconds,
            remaining_seconds: self.remaining_seconds,
        }
    }
}

fn ser_instant<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::format_instant(*t))
}

fn ser_opt_instant<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_instant(t, s),
        None => s.serialize_none(),
    }
}

/// A clock in the JSON form stores kept before schema version 5 (a list
/// of [`ClockView`]s), read back owned: what a migration converts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JsonClockView {
    metric: String,
    instance: u32,
    plan: Option<String>,
    severity: Option<String>,
    #[serde(with = "timeline::instant")]
    start: i64,
    #[serde(default, with = "opt_instant")]
    due_at: Option<i64>,
    state: ClockState,
    reason: Option<String>,
    #[serde(default, with = "opt_instant")]
    fulfilled_at: Option<i64>,
    #[serde(default, with = "opt_instant")]
    breached_at: Option<i64>,
    elapsed_seconds: i64,
    paused_seconds: i64,
    remaining_seconds: Option<i64>,
}

impl JsonClockView {
    /// Parses the JSON list of a ticket's clocks.
    pub fn parse_list(json: &str) -> Result<Vec<JsonClockView>, serde_json::Error> {
        serde_json::from_str(json)
    }

    pub fn view(&self) -> ClockView<'_> {
        ClockView {
            metric: &self.metric,
            instance: self.instance,
            plan: self.plan.as_deref(),
            severity: self.severity.as_deref(),
            start: self.start,
            due_at: self.due_at,
            state: self.state,
            reason: self.reason.as_deref(),
            fulfilled_at: self.fulfilled_at,
            breached_at: self.breached_at,
            elapsed_seconds: self.elapsed_seconds,
            paused_seconds: self.paused_seconds,
            remaining_seconds: self.remaining_seconds,
        }
    }
}

mod opt_instant {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let text = Option::<std::borrow::Cow<str>>::deserialize(d)?;
        text.map(|t| crate::time::parse_instant(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Why stored clocks could not be taken back: they name a metric, plan or
/// severity the policy does not have (they were computed under another
/// config).
#[derive(Debug, thiserror::Error)]
#[error("clock names {what} \"{name}\", which the current config does not define")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
}

/// Takes back a ticket's stored clocks (their [`ClockView`]s, read from
/// the store) as [`Clock`]s of `policy`.
pub fn clocks_from_views(
    policy: &Policy,
    views: &[ClockView<'_>],
) -> Result<Vec<Clock>, UnknownName> {
    let unknown = |what: &'static str, name: &str| UnknownName {
        what,
        name: name.to_string(),
    };
    views
        .iter()
        .map(|v| {
            let metric = policy
                .metric_id(v.metric)
                .ok_or_else(|| unknown("metric", v.metric))?;
            let plan = v
                .plan
                .map(|p| policy.plan_id(p).ok_or_else(|| unknown("plan", p)))
                .transpose()?;
            let severity = v
                .severity
                .map(|s| {
                    policy
                        .severities
                        .iter()
                        .position(|x| x == s)
                        .ok_or_else(|| unknown("severity", s))
                })
                .transpose()?;
            Ok(Clock {
                metric,
                instance: v.instance,
                plan,
                severity,
                start: v.start,
                due_at: v.due_at,
                state: v.state,
                reason: v.reason.map(str::to_string),
                fulfilled_at: v.fulfilled_at,
                breached_at: v.breached_at,
                elapsed_seconds: v.elapsed_seconds,
                paused_seconds: v.paused_seconds,
                remaining_seconds: v.remaining_seconds,
            })
        })
        .collect()
}

#[cfg(test)]
mod decode_tests {
    use super::*;
    use crate::policy::Config;

    #[test]
    fn stored_clocks_decode_to_what_was_evaluated() {
        let cfg = Config::from_yaml(
            include_str!("../../../../examples/celigo.yaml"),
            std::path::Path::new("examples/celigo.yaml"),
        )
        .unwrap();
        let ticket: Ticket = serde_json::from_str(
            r#"{"id":"7","created_at":"2026-11-20T16:30:00Z","priority":"urgent",
                "organization":{"id":"1","tags":["preferred"]},
                "events":[{"at":"2026-11-20T17:00:00Z","type":"comment","public":true,"author":"agent"},
                          {"at":"2026-11-20T18:00:00Z","type":"status","value":"pending"}]}"#,
        )
        .unwrap();
        let clocks = evaluate(&cfg.policy, &ticket, 1_795_000_000);
        assert!(!clocks.is_empty());
        let mut views: Vec<_> = clocks.iter().map(|c| c.view(&cfg.policy)).collect();
        assert_eq!(clocks_from_views(&cfg.policy, &views).unwrap(), clocks);
        // The JSON form of earlier stores reads back to the same views.
        let json = serde_json::to_string(&views).unwrap();
        let parsed = JsonClockView::parse_list(&json).unwrap();
        let reread: Vec<_> = parsed.iter().map(JsonClockView::view).collect();
        assert_eq!(reread, views);
        // Into a list holding another ticket's clocks: the same clocks.
        let other: Ticket = serde_json::from_str(
            r#"{"id":"8","created_at":"2026-11-19T10:00:00Z","priority":"low",
                "organization":{"id":"2","tags":["csp_premier"]},"events":[]}"#,
        )
        .unwrap();
        let mut list = evaluate(&cfg.policy, &other, 1_795_000_000);
        assert!(!list.is_empty() && list != clocks);
        evaluate_into(&cfg.policy, &ticket, 1_795_000_000, &mut list);
        assert_eq!(list, clocks);
        views[0].metric = "gone";
        let err = clocks_from_views(&cfg.policy, &views);
        assert!(
            matches!(err, Err(UnknownName { what: "metric", .. })),
            "{err:?}"
        );
    }
}
