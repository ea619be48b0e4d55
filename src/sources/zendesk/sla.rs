//! Zendesk's own SLA record of a ticket: its ticket metric events, read
//! from the `ticket_metric_events` stream, stored beside its timeline and
//! written for people next to our clocks by `helpdesk-slo explain`.
//!
//! Storage (no store method and no schema of its own): each metric event
//! is a stored event of the ticket, a `field` change named
//! `zendesk_sla.<metric>` whose value is the event exactly as Zendesk sent
//! it, at the event's `time`, with the id `metric_event.<id>`. Assembly
//! ([`crate::sources::assemble`]) keeps these out of the timeline the
//! engine walks and gives them back as the ticket's fields
//! `zendesk_sla.<metric>`: each the list of that metric's events in
//! `(time, id)` order. Stored events never change, so a breach Zendesk
//! later retracts (`deleted: true`) is stored again, as its own event
//! `metric_event.<id>.deleted`: both copies are in the list, and the
//! readers here count a breach with a deleted copy as retracted.
//!
//! Guarantees: an event without an integer `id` or `ticket_id`, a string
//! `metric` and `type`, or a `time` that is an RFC 3339 instant makes the
//! page malformed (named by the event's id and the key), never skipped;
//! everything else is kept as sent.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::config::{Instances, Reconciled};
use crate::calendar::format_seconds;
use crate::reconcile::{Observed, Pause};
use crate::sources::{ChangeRecord, EventRecord, Record};
use crate::time::{format_local, parse_instant};

/// The prefix of the fields (and stored field changes) that hold
/// Zendesk's ticket metric events.
pub const FIELD_PREFIX: &str = "zendesk_sla.";

/// The prefix of a stored metric event's id.
const ID_PREFIX: &str = "metric_event.";
/// The suffix of the id of a retracted breach's second copy.
const DELETED_SUFFIX: &str = ".deleted";

/// The stored records of one page's metric events, in page order, or what
/// is wrong with the first event that cannot be stored.
pub(super) fn records(items: &[Value]) -> Result<Vec<Record>, String> {
    let mut out = Vec::with_capacity(items.len());
    for (i, e) in items.iter().enumerate() {
        let id = e.get("id").and_then(Value::as_u64);
        let name = match id {
            Some(id) => format!("ticket metric event {id}"),
            None => format!("ticket metric event #{} of the page", i + 1),
        };
        let Some(id) = id else {
            return Err(format!("{name}: `id` is missing or not an integer"));
        };
        let ticket_id = e
            .get("ticket_id")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("{name}: `ticket_id` is missing or not an integer"))?;
        let metric = e
            .get("metric")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                format!("{name} (ticket {ticket_id}): `metric` is missing or not a string")
            })?;
        e.get("type").and_then(Value::as_str).ok_or_else(|| {
            format!("{name} (ticket {ticket_id}): `type` is missing or not a string")
        })?;
        let at = e
            .get("time")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!("{name} (ticket {ticket_id}): `time` is missing or not a string")
            })
            .and_then(|t| {
                parse_instant(t).map_err(|err| {
                    format!("{name} (ticket {ticket_id}): `time` is not an RFC 3339 instant: {err}")
                })
            })?;
        let deleted = e.get("deleted") == Some(&Value::Bool(true));
        out.push(Record::Event(EventRecord {
            ticket_id: ticket_id.to_string(),
            id: format!(
                "{ID_PREFIX}{id}{}",
                if deleted { DELETED_SUFFIX } else { "" }
            ),
            at,
            change: ChangeRecord::Field {
                name: format!("{FIELD_PREFIX}{metric}"),
                value: e.clone(),
            },
        }));
    }
    Ok(out)
}

/// The ids of the events in `events` that Zendesk retracted (a copy with
/// `deleted: true`).
fn retracted(events: &[Value]) -> BTreeSet<u64> {
    events
        .iter()
        .filter(|e| e.get("deleted") == Some(&Value::Bool(true)))
        .filter_map(|e| e.get("id").and_then(Value::as_u64))
        .collect()
}

/// One event for people: what happened and, for `apply_sla` and
/// `update_status`, what it carries.
fn describe(e: &Value, tz: chrono_tz::Tz, retracted: bool) -> String {
    let kind = e.get("type").and_then(Value::as_str).unwrap_or("?");
    let instance = e
        .get("instance_id")
        .and_then(Value::as_i64)
        .map_or_else(|| "?".to_string(), |i| i.to_string());
    let when = e
        .get("time")
        .and_then(Value::as_str)
        .and_then(|t| parse_instant(t).ok())
        .map_or_else(|| "?".to_string(), |t| format_local(t, tz));
    let mut line = format!("      #{instance} {kind} {when}");
    match kind {
        "apply_sla" => {
            let sla = &e["sla"];
            let target = sla["target_in_seconds"]
                .as_i64()
                .or_else(|| sla["target"].as_i64().map(|m| m * 60));
            let title = sla["policy"]["title"].as_str().unwrap_or("?");
            match target {
                Some(s) => line.push_str(&format!(
                    ": policy \"{title}\", target {} in {} hours",
                    format_seconds(s),
                    if sla["business_hours"] == true {
                        "business"
                    } else {
                        "calendar"
                    }
                )),
                None => line.push_str(&format!(": policy \"{title}\", no target")),
            }
        }
        "update_status" => {
            let minutes = |k: &str| e["status"][k].as_i64().map(|m| format_seconds(m * 60));
            if let (Some(c), Some(b)) = (minutes("calendar"), minutes("business")) {
                line.push_str(&format!(": {c} calendar, {b} business"));
            }
        }
        "breach" if retracted => line.push_str(" (retracted by Zendesk)"),
        _ => {}
    }
    line
}

/// The lines that show Zendesk's own SLA record among `fields` (none when
/// there is none), in the zone `tz`: per metric, each event but `measure`
/// (which only says the metric is measured), a retracted breach once.
pub fn explain_lines(fields: &BTreeMap<String, Value>, tz: chrono_tz::Tz) -> Vec<String> {
    let mut out = Vec::new();
    for (key, v) in fields.iter().filter(|(k, _)| k.starts_with(FIELD_PREFIX)) {
        let Some(events) = v.as_array() else {
            continue;
        };
        let metric = &key[FIELD_PREFIX.len()..];
        out.push(format!(
            "  Zendesk's own record of {metric} (ticket metric events):"
        ));
        let gone = retracted(events);
        for e in events {
            let kind = e.get("type").and_then(Value::as_str);
            if kind == Some("measure") {
                continue;
            }
            let id = e.get("id").and_then(Value::as_u64);
            let is_retracted = id.is_some_and(|id| gone.contains(&id));
            // A retracted breach shows once, as its deleted copy.
            if is_retracted && e.get("deleted") != Some(&Value::Bool(true)) {
                continue;
            }
            out.push(describe(e, tz, is_retracted));
        }
    }
    out
}

/// Zendesk's side of the comparison with our clocks
/// ([`crate::reconcile::compare`]): for each of our metrics in `mapping`,
/// the instances of its Zendesk metric that Zendesk measured, renumbered
/// as ours; those it measured under no target (no `apply_sla`) have none.
/// An instance starts at its first `activate`; is fulfilled at its last
/// `fulfill` unless activated again after it; is breached at its first
/// breach Zendesk did not retract (a retracted one is kept apart, whether
/// the store holds its first copy, its deleted one or both); stood
/// still from each `pause` to the next `activate`; has the target of its
/// last `apply_sla`, first given at its first (and given again at its
/// last, when there are several); and counted the minutes of
/// its last `update_status` once fulfilled (business minutes when its last
/// target was in business hours). The pauses' statuses are not in the
/// record (the caller may read them from the timeline).
pub fn observed(fields: &BTreeMap<String, Value>, mapping: &[Reconciled]) -> Vec<Observed> {
    let mut out = Vec::new();
    for m in mapping {
        let Some(events) = fields
            .get(&format!("{FIELD_PREFIX}{}", m.zendesk))
            .and_then(Value::as_array)
        else {
            continue;
        };
        let gone = retracted(events);
        let mut by_instance: BTreeMap<u32, Vec<(&str, i64, &Value)>> = BTreeMap::new();
        for e in events {
            let (Some(kind), Some(instance), Some(at)) = (
                e.get("type").and_then(Value::as_str),
                e.get("instance_id").and_then(Value::as_u64),
                e.get("time")
                    .and_then(Value::as_str)
                    .and_then(|t| parse_instant(t).ok()),
            ) else {
                continue;
            };
            // Both copies of a retracted breach are kept: either may be the
            // only one stored (read before or after the retraction), and
            // both count as retracted by their id.
            if instance == 0 {
                continue;
            }
            by_instance
                .entry(instance as u32)
                .or_default()
                .push((kind, at, e));
        }
        for (instance, events) in by_instance {
            let number = match m.instances {
                Instances::All => instance,
                Instances::First if instance == 1 => 1,
                Instances::AfterFirst if instance >= 2 => instance - 1,
                _ => continue,
            };
            let applied: Vec<(i64, &Value)> = events
                .iter()
                .filter(|(k, _, _)| *k == "apply_sla")
                .map(|(_, t, e)| (*t, &e["sla"]))
                .collect();
            let last_sla = applied.last().map(|(_, sla)| *sla);
            let target_seconds = last_sla.and_then(|sla| {
                sla["target_in_seconds"]
                    .as_i64()
                    .or_else(|| sla["target"].as_i64().map(|m| m * 60))
            });
            let times = |kind: &str| -> Vec<i64> {
                events
                    .iter()
                    .filter(|(k, _, _)| *k == kind)
                    .map(|(_, t, _)| *t)
                    .collect()
            };
            let activations = times("activate");
            let start = activations.first().copied().unwrap_or(events[0].1);
            let last_activate = activations.last().copied();
            let fulfilled_at = times("fulfill")
                .last()
                .copied()
                .filter(|f| last_activate.is_none_or(|a| a <= *f));
            let breach_id = |e: &Value| e.get("id").and_then(Value::as_u64);
            let gone = &gone;
            let breaches = |kept: bool| {
                events
                    .iter()
                    .filter(move |(k, _, e)| {
                        *k == "breach" && breach_id(e).is_none_or(|id| !gone.contains(&id)) == kept
                    })
                    .map(|(_, t, _)| *t)
                    .min()
            };
            let breached_at = breaches(true);
            let retracted_breach_at = breaches(false);
            let mut paused = Vec::new();
            let mut since: Option<i64> = None;
            for (kind, t, _) in &events {
                match *kind {
                    "pause" if since.is_none() => since = Some(*t),
                    "activate" | "fulfill" => {
                        if let Some(from) = since.take() {
                            paused.push(Pause {
                                from,
                                to: Some(*t),
                                status: None,
                            });
                        }
                    }
                    _ => {}
                }
            }
            if let Some(from) = since {
                paused.push(Pause {
                    from,
                    to: None,
                    status: None,
                });
            }
            let unit = if last_sla.is_some_and(|sla| sla["business_hours"] == true) {
                "business"
            } else {
                "calendar"
            };
            let elapsed_seconds = fulfilled_at.and_then(|_| {
                events
                    .iter()
                    .rev()
                    .find(|(k, _, _)| *k == "update_status")
                    .and_then(|(_, _, e)| e["status"][unit].as_i64())
                    .map(|minutes| minutes * 60)
            });
            out.push(Observed {
                metric: m.metric.clone(),
                instance: number,
                start,
                fulfilled_at,
                breached_at,
                elapsed_seconds,
                target_seconds,
                excluded: None,
                paused,
                target_set_at: applied.first().map(|(t, _)| *t),
                retargeted_at: applied.get(1..).and_then(|a| a.last()).map(|(t, _)| *t),
                retracted_breach_at,
                pauses_unknown: false,
                ..Observed::default()
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_stored_as_sent_under_their_metric() {
        let items = vec![
            json!({"id": 9, "ticket_id": 201, "metric": "reply_time", "instance_id": 1,
                   "type": "breach", "time": "2026-09-07T10:00:00Z", "deleted": true}),
            json!({"id": 8, "ticket_id": 201, "metric": "reply_time", "instance_id": 1,
                   "type": "activate", "time": "2026-09-07T09:00:00Z"}),
        ];
        let records = records(&items).unwrap();
        let Record::Event(e) = &records[0] else {
            panic!("{records:?}")
        };
        assert_eq!(e.ticket_id, "201");
        assert_eq!(e.id, "metric_event.9.deleted");
        assert_eq!(e.at, 1_788_775_200);
        assert_eq!(
            e.change,
            ChangeRecord::Field {
                name: "zendesk_sla.reply_time".into(),
                value: items[0].clone()
            }
        );
        let Record::Event(e) = &records[1] else {
            panic!("{records:?}")
        };
        assert_eq!(e.id, "metric_event.8");
    }

    #[test]
    fn an_event_that_cannot_be_stored_is_named_with_its_key() {
        let no_time =
            vec![json!({"id": 7, "ticket_id": 3, "metric": "reply_time", "type": "pause"})];
        assert_eq!(
            records(&no_time).unwrap_err(),
            "ticket metric event 7 (ticket 3): `time` is missing or not a string"
        );
        let bad_time = vec![json!({"id": 7, "ticket_id": 3, "metric": "reply_time",
                                   "type": "pause", "time": "yesterday"})];
        assert!(records(&bad_time)
            .unwrap_err()
            .starts_with("ticket metric event 7 (ticket 3): `time` is not an RFC 3339 instant"));
        let no_id = vec![json!({"ticket_id": 3})];
        assert_eq!(
            records(&no_id).unwrap_err(),
            "ticket metric event #1 of the page: `id` is missing or not an integer"
        );
    }

    /// The contract scenario's tickets, as the store gives them back.
    fn scenario(id: &str) -> BTreeMap<String, Value> {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/contract/zendesk/metric_events/expected.json"
        ))
        .unwrap();
        let all: Value = serde_json::from_str(&text).unwrap();
        serde_json::from_value(all[id]["fields"].clone()).unwrap()
    }

    fn mapping() -> Vec<Reconciled> {
        let m = |metric: &str, zendesk, instances| Reconciled {
            metric: metric.into(),
            zendesk,
            instances,
        };
        vec![
            m("first_response", "reply_time", Instances::First),
            m("next_reply", "reply_time", Instances::AfterFirst),
            m("resolution", "requester_wait_time", Instances::All),
        ]
    }

    #[test]
    fn zendesks_side_is_read_per_instance_under_a_target() {
        let t = |s: &str| parse_instant(s).unwrap();
        // 201: first reply at 09:40, the next reply 11:00-12:00, requester
        // wait paused 10:00-11:00 and fulfilled at 12:00, calendar hours.
        let full = observed(&scenario("201"), &mapping());
        // The resolution (requester wait) stood still while pending.
        assert_eq!(
            full[2].paused,
            vec![Pause {
                from: t("2026-09-07T10:00:00Z"),
                to: Some(t("2026-09-07T11:00:00Z")),
                status: None
            }]
        );
        assert!(full.iter().all(|o| o.target_seconds.is_some()), "{full:?}");
        assert_eq!(full[0].target_set_at, Some(t("2026-09-07T09:00:00Z")));
        // The rest, field by field.
        let got: Vec<Observed> = full
            .into_iter()
            .map(|o| Observed {
                target_seconds: None,
                paused: Vec::new(),
                target_set_at: None,
                ..o
            })
            .collect();
        let want = vec![
            Observed {
                metric: "first_response".into(),
                instance: 1,
                start: t("2026-09-07T09:00:00Z"),
                fulfilled_at: Some(t("2026-09-07T09:40:00Z")),
                breached_at: None,
                elapsed_seconds: Some(40 * 60),
                ..Observed::default()
            },
            Observed {
                metric: "next_reply".into(),
                instance: 1,
                start: t("2026-09-07T11:00:00Z"),
                fulfilled_at: Some(t("2026-09-07T12:00:00Z")),
                breached_at: None,
                elapsed_seconds: Some(60 * 60),
                ..Observed::default()
            },
            Observed {
                metric: "resolution".into(),
                instance: 1,
                start: t("2026-09-07T09:00:00Z"),
                fulfilled_at: Some(t("2026-09-07T12:00:00Z")),
                breached_at: None,
                elapsed_seconds: Some(120 * 60),
                ..Observed::default()
            },
        ];
        assert_eq!(got, want);
        // 202: the breach at 10:00 was retracted; the requester wait is
        // still open.
        let got = observed(&scenario("202"), &mapping());
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].metric, "first_response");
        assert_eq!(got[0].breached_at, None);
        assert_eq!(got[0].retracted_breach_at, Some(t("2026-09-08T10:00:00Z")));
        assert_eq!(got[0].elapsed_seconds, Some(120 * 60));
        assert_eq!(got[1].metric, "resolution");
        assert_eq!(got[1].fulfilled_at, None);
        assert_eq!(got[1].elapsed_seconds, None);
        // Without the deleted copy, the breach counts.
        let mut fields = scenario("202");
        if let Some(Value::Array(events)) = fields.get_mut("zendesk_sla.reply_time") {
            events.retain(|e| e.get("deleted").is_none());
        }
        let got = observed(&fields, &mapping());
        assert_eq!(got[0].breached_at, Some(t("2026-09-08T10:00:00Z")));
    }

    #[test]
    fn explain_shows_targets_statuses_and_a_retracted_breach_once() {
        let sla = json!({"target": 60, "target_in_seconds": 3600, "business_hours": true,
                         "policy": {"id": 26, "title": "Standard", "description": ""}});
        let fields: BTreeMap<String, Value> = [(
            "zendesk_sla.reply_time".to_string(),
            json!([
                {"id": 1, "ticket_id": 202, "metric": "reply_time", "instance_id": 0, "type": "measure", "time": "2026-09-08T09:00:00Z"},
                {"id": 2, "ticket_id": 202, "metric": "reply_time", "instance_id": 1, "type": "apply_sla", "time": "2026-09-08T09:00:00Z", "sla": sla},
                {"id": 3, "ticket_id": 202, "metric": "reply_time", "instance_id": 1, "type": "breach", "time": "2026-09-08T10:00:00Z"},
                {"id": 3, "ticket_id": 202, "metric": "reply_time", "instance_id": 1, "type": "breach", "time": "2026-09-08T10:00:00Z", "deleted": true},
                {"id": 4, "ticket_id": 202, "metric": "reply_time", "instance_id": 1, "type": "update_status", "time": "2026-09-08T11:00:00Z", "status": {"calendar": 120, "business": 90}}
            ]),
        )]
        .into();
        let lines = explain_lines(&fields, chrono_tz::UTC);
        assert_eq!(
            lines,
            vec![
                "  Zendesk's own record of reply_time (ticket metric events):".to_string(),
                "      #1 apply_sla 2026-09-08 09:00:00 UTC (Tue): policy \"Standard\", target 1h in business hours".to_string(),
                "      #1 breach 2026-09-08 10:00:00 UTC (Tue) (retracted by Zendesk)".to_string(),
                "      #1 update_status 2026-09-08 11:00:00 UTC (Tue): 2h calendar, 1h30m business".to_string(),
            ]
        );
        assert!(explain_lines(&BTreeMap::new(), chrono_tz::UTC).is_empty());
    }
}
