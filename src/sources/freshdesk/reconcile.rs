//! Freshdesk's own SLA record of a ticket, read for reconciliation: the
//! due times and escalation flags the ticket list carries (`fr_due_by` and
//! `fr_escalated`, `due_by` and `is_escalated`, `nr_due_by` and
//! `nr_escalated`), stored by the adapter as the ticket's fields
//! `freshdesk_<name>` exactly as sent.
//!
//! Freshdesk says when an instance is due and whether it was escalated
//! (breached), nothing else: not when its timer started, stood still or
//! stopped, nor the target. So each one is a [`Observed::due_only`]
//! instance, compared on its due and its breach alone. A breach Freshdesk
//! records (an escalation flag) is at the due. `due_by` and `nr_due_by`
//! are the current resolution and next response only: they are compared
//! with our last instance of the metric ([`Theirs::current_only`]), and
//! `nr_due_by` is empty while no next response is awaited.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::policy::spec::{MetricKindSpec, SourceSpec};
use crate::policy::Policy;
use crate::reconcile::{Observed, Theirs};
use crate::sources::TheirSide;
use crate::time::{format_instant, parse_instant};

use super::config::{Due, FreshdeskConfig, History};

/// One of our metrics compared with one of Freshdesk's due times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshdeskReconciled {
    pub metric: String,
    pub due: Due,
}

/// Each of `policy`'s metrics with the due time it is compared with under
/// `reconcile` (the config's choice, else: a first response with
/// `fr_due_by`, a next reply with `nr_due_by`, a resolution with `due_by`,
/// any other kind with nothing), leaving out those compared with nothing.
pub fn mapping(policy: &Policy, reconcile: &BTreeMap<String, String>) -> Vec<FreshdeskReconciled> {
    policy
        .metrics
        .iter()
        .filter_map(|m| {
            let due = match reconcile.get(&m.name) {
                Some(chosen) => Due::parse(chosen)?,
                None => match m.kind {
                    MetricKindSpec::FirstResponse => Due::FirstResponse,
                    MetricKindSpec::NextReply => Due::NextResponse,
                    MetricKindSpec::Resolution => Due::Resolution,
                    _ => return None,
                },
            };
            Some(FreshdeskReconciled {
                metric: m.name.clone(),
                due,
            })
        })
        .collect()
}

/// The stored due time `due` of a ticket, when Freshdesk gave one.
fn due_at(fields: &BTreeMap<String, Value>, due: Due) -> Option<i64> {
    let v = fields.get(&format!("freshdesk_{}", due.name()))?.as_str()?;
    parse_instant(v).ok()
}

/// Whether the ticket holds Freshdesk's due time `due`.
pub fn holds(fields: &BTreeMap<String, Value>, due: Due) -> bool {
    due_at(fields, due).is_some()
}

/// Freshdesk's side of the mapped metrics: one instance per due time the
/// ticket has, numbered 1 (a current-only one is renumbered to our last
/// instance when compared), breached at its due when its flag says
/// escalated.
pub fn observed(
    fields: &BTreeMap<String, Value>,
    mapping: &[FreshdeskReconciled],
) -> Vec<Observed> {
    mapping
        .iter()
        .filter_map(|m| {
            let due = due_at(fields, m.due)?;
            let escalated = fields
                .get(&format!("freshdesk_{}", m.due.escalated()))
                .and_then(Value::as_bool)
                == Some(true);
            Some(Observed {
                metric: m.metric.clone(),
                instance: 1,
                // Freshdesk does not say when the timer started: the due
                // stands in, and is not compared as a start.
                start: due,
                due_at: Some(due),
                breached_at: escalated.then_some(due),
                due_only: true,
                pauses_unknown: true,
                ..Observed::default()
            })
        })
        .collect()
}

/// Why our copy of `ticket`'s history may lack changes Freshdesk has, at
/// `now`: a history approximated from the ticket's stats, or a change on
/// a day (UTC) that has not ended, whose ticket activities export
/// Freshdesk writes only after it ends. Until then only the last change to
/// each kind of status (the stats) is known, so a status the ticket passed
/// through that day (a pause, say) is missing from our clocks.
pub fn incomplete(ticket: &crate::engine::Ticket, history: History, now: i64) -> Option<String> {
    let id = &ticket.id;
    if let Some(field) = crate::sources::approximated_history(ticket) {
        return Some(format!(
            "ticket {id}'s status history is approximated ({field}: approximated): a day of its life has no ticket activities export, or the source reads history: stats, so only its last change to each kind of status is known, not every change"
        ));
    }
    if history != History::ActivitiesExport {
        return None;
    }
    let today = now.div_euclid(86_400) * 86_400;
    let last = ticket.events.iter().map(|e| e.at).max()?;
    (last >= today).then(|| {
        format!(
            "ticket {id} changed on {day} (last at {last}), a day Freshdesk exports the ticket activities of only after it ends (UTC): until then only its last change to each kind of status is known to us, so a status it passed through that day is missing from our clocks; the difference may go once that day's export is read",
            day = &format_instant(today)[..10],
            last = format_instant(last),
        )
    })
}

fn config_mapping(spec: &SourceSpec, policy: &Policy) -> Vec<FreshdeskReconciled> {
    let chosen = FreshdeskConfig::from_spec(spec)
        .map(|c| c.reconcile)
        .unwrap_or_default();
    mapping(policy, &chosen)
}

/// Freshdesk's side of the reconciliation, for the registry
/// ([`super::KIND`]): the due times are always stored, so it is always on.
pub(super) const RECONCILER: crate::sources::Reconciler = crate::sources::Reconciler {
    check: crate::sources::check_reconcile_keys,
    enabled: |_| Ok(()),
    metrics: |spec, policy| {
        config_mapping(spec, policy)
            .into_iter()
            .map(|m| m.metric)
            .collect()
    },
    theirs: |spec, policy| {
        let config = FreshdeskConfig::from_spec(spec).map_err(|e| e.to_string())?;
        let mapping = mapping(policy, &config.reconcile);
        let current_only: BTreeSet<String> = mapping
            .iter()
            .filter(|m| m.due.current_only())
            .map(|m| m.metric.clone())
            .collect();
        let side = crate::sources::their_side(
            mapping,
            |m| &m.metric,
            |ticket, m| holds(&ticket.fields, m.due),
            |ticket, mapping| observed(&ticket.fields, mapping),
        );
        let history = config.history;
        let side: TheirSide = Box::new(move |ticket, now| Theirs {
            current_only: current_only.clone(),
            incomplete: incomplete(ticket, history, now),
            ..side(ticket, now)
        });
        Ok(side)
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (format!("freshdesk_{k}"), v.clone()))
            .collect()
    }

    fn all() -> Vec<FreshdeskReconciled> {
        [
            ("first_response", Due::FirstResponse),
            ("next_reply", Due::NextResponse),
            ("resolution", Due::Resolution),
        ]
        .into_iter()
        .map(|(metric, due)| FreshdeskReconciled {
            metric: metric.into(),
            due,
        })
        .collect()
    }

    fn ticket(fields: Value, last_change: &str) -> crate::engine::Ticket {
        serde_json::from_value(json!({
            "id": "205", "created_at": "2026-12-06T01:14:24Z", "fields": fields,
            "events": [
                {"at": "2026-12-06T01:14:24Z", "type": "status", "value": "open"},
                {"at": last_change, "type": "status", "value": "solved"},
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_ticket_changed_on_a_day_not_yet_exported_is_incomplete_until_the_day_ends() {
        let t = ticket(json!({}), "2026-12-07T03:45:44Z");
        let during = parse_instant("2026-12-07T16:00:00Z").unwrap();
        let why = incomplete(&t, History::ActivitiesExport, during).unwrap();
        assert!(
            why.contains("ticket 205 changed on 2026-12-07 (last at 2026-12-07T03:45:44Z)"),
            "{why}"
        );
        let next_day = parse_instant("2026-12-08T00:00:00Z").unwrap();
        assert_eq!(incomplete(&t, History::ActivitiesExport, next_day), None);
        // Under history: stats every ticket is flagged approximated by the
        // adapter, and said so by that flag alone.
        assert_eq!(incomplete(&t, History::Stats, during), None);
        let t = ticket(
            json!({"freshdesk_history": "approximated"}),
            "2026-12-07T03:45:44Z",
        );
        let why = incomplete(&t, History::Stats, next_day).unwrap();
        assert!(why.contains("freshdesk_history: approximated"), "{why}");
    }

    #[test]
    fn each_due_time_is_an_instance_breached_at_its_due_when_escalated() {
        let f = fields(&[
            ("fr_due_by", json!("2026-11-03T16:00:00Z")),
            ("fr_escalated", json!(true)),
            ("due_by", json!("2026-11-04T16:00:00Z")),
            ("is_escalated", json!(false)),
            ("nr_due_by", Value::Null),
            ("nr_escalated", json!(false)),
        ]);
        let got = observed(&f, &all());
        let fr = 1_793_721_600;
        let want = vec![
            Observed {
                metric: "first_response".into(),
                instance: 1,
                start: fr,
                due_at: Some(fr),
                breached_at: Some(fr),
                due_only: true,
                pauses_unknown: true,
                ..Observed::default()
            },
            Observed {
                metric: "resolution".into(),
                instance: 1,
                start: fr + 86_400,
                due_at: Some(fr + 86_400),
                due_only: true,
                pauses_unknown: true,
                ..Observed::default()
            },
        ];
        assert_eq!(got, want);
        assert!(holds(&f, Due::Resolution));
        assert!(
            !holds(&f, Due::NextResponse),
            "a null nr_due_by is no record"
        );
    }
}
