//! A deterministic synthetic helpdesk: organizations on the config's plans,
//! agents and end users, and tickets with full audit histories.
//!
//! [`generate`] builds a [`Dataset`] from a [`Config`](crate::policy::Config) and
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

mod changes;
mod context;
mod dataset;
mod lifecycle;
mod model;
mod population;
mod statuses;

pub use changes::{Edit, NewComment, NewTicket, Update};
pub use dataset::{Dataset, GenerationStats, Summary};
pub use model::{
    Audit, ChildEvent, ChildKind, Field, Group, Id, Organization, Role, Ticket, TicketStatus, User,
    Via, BRAND_ID, DELETED_USER_BASE, GROUP_BASE, NOTIFY_TRIGGER_ID, ORGANIZATION_BASE,
    SYSTEM_UPDATER, TICKET_FORM_ID, USER_BASE,
};
pub use population::{generate, organization_plan};
use std::collections::BTreeMap;

pub use statuses::{
    default_custom_status, standard_custom_statuses, CustomStatus, STATUS_AWAITING_CUSTOMER_TEST,
    STATUS_ESCALATED, STATUS_HOLD, STATUS_NEW, STATUS_OPEN, STATUS_PENDING, STATUS_SOLVED,
    STATUS_WAITING_ON_THIRD_PARTY,
};

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
    /// `late_reply_rate` for the tickets of a plan, by plan name: one plan
    /// slipping while the others hold.
    pub late_reply_rate_by_plan: BTreeMap<String, f64>,
    /// `late_reply_rate` for the tickets of an organization, by its
    /// position (0-based, in creation order); ahead of the plan's rate. A
    /// customer served badly enough to be owed credits.
    pub late_reply_rate_by_organization: BTreeMap<usize, f64>,
    /// How many organizations are on no plan. `None`: "no plan" takes its
    /// turn round-robin with the plans (a 1/(plans+1) share, which tests
    /// of unmatched tickets rely on); `Some(n)`: the last `n` organizations
    /// have no plan and the others are spread over the plans.
    pub organizations_without_plan: Option<usize>,
    /// Share of tickets whose requester has no organization.
    pub requesters_without_organization: f64,
    /// Agents keep open tickets updated: while a ticket is open, the next
    /// agent update or solve comes within the follow-up target (unless the
    /// reply is one of the late ones), as on a desk that meets its periodic
    /// updates. Off: waits of up to two days, breaching most follow-ups.
    pub prompt_updates: bool,
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
            late_reply_rate_by_plan: BTreeMap::new(),
            late_reply_rate_by_organization: BTreeMap::new(),
            organizations_without_plan: None,
            requesters_without_organization: 0.1,
            prompt_updates: false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Config;
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
