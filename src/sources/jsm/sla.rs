//! JSM's own SLA record of a request, as stored beside its timeline (the
//! ticket's `jsm_sla.<field>` fields, exactly as JSM sent them): written
//! for people next to our clocks by `helpdesk-slo explain`, and read as
//! clock instances for reconciliation ([`observed`]). Pure: reads only
//! `epochMillis` of Date objects (never the localized `friendly`) and
//! `millis` of durations.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::calendar::format_seconds;
use crate::reconcile::Observed;
use crate::time::format_local;

/// The prefix of the fields that hold JSM's SLA records.
pub const FIELD_PREFIX: &str = "jsm_sla.";

/// A signed duration for people: `-12h` reads "12h over".
fn duration(v: &Value) -> Option<String> {
    let ms = v["millis"].as_i64()?;
    let s = ms / 1000;
    Some(if s < 0 {
        format!("{} over", format_seconds(-s))
    } else {
        format_seconds(s)
    })
}

fn cycle(c: &Value, tz: chrono_tz::Tz) -> String {
    let when = |k: &str| {
        c[k]["epochMillis"]
            .as_i64()
            .map(|ms| format_local(ms / 1000, tz))
    };
    let mut parts = Vec::new();
    if let Some(t) = when("startTime") {
        parts.push(format!("started {t}"));
    }
    if let Some(t) = when("stopTime") {
        parts.push(format!("stopped {t}"));
    }
    if let Some(t) = when("breachTime") {
        parts.push(format!("breach time {t}"));
    }
    for (key, name) in [
        ("goalDuration", "goal"),
        ("elapsedTime", "elapsed"),
        ("remainingTime", "remaining"),
    ] {
        if let Some(d) = duration(&c[key]) {
            parts.push(format!("{name} {d}"));
        }
    }
    if c["paused"] == true {
        parts.push("paused".into());
    }
    parts.push(
        if c["breached"] == true {
            "breached"
        } else {
            "not breached"
        }
        .into(),
    );
    parts.join(", ")
}

/// The lines that show the JSM SLA records among `fields` (none when there
/// are none), in the zone `tz`.
pub fn explain_lines(fields: &BTreeMap<String, Value>, tz: chrono_tz::Tz) -> Vec<String> {
    let mut out = Vec::new();
    for (key, v) in fields.iter().filter(|(k, _)| k.starts_with(FIELD_PREFIX)) {
        let Some(record) = v.as_object() else {
            continue;
        };
        let name = record.get("name").and_then(Value::as_str).unwrap_or("?");
        out.push(format!("  JSM's own SLA \"{name}\" ({key}):"));
        let completed = record
            .get("completedCycles")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        for (i, c) in completed.iter().enumerate() {
            out.push(format!("      cycle {}: {}", i + 1, cycle(c, tz)));
        }
        if let Some(c) = record.get("ongoingCycle").filter(|c| c.is_object()) {
            out.push(format!("      ongoing: {}", cycle(c, tz)));
        }
        if completed.is_empty() && record.get("ongoingCycle").is_none_or(Value::is_null) {
            out.push("      no cycle".into());
        }
    }
    out
}

/// One of our metrics read from one of JSM's SLAs: `sla` names the SLA
/// by its name ("Time to first response"), its id, or the field that holds
/// it (`customfield_10030`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsmReconciled {
    pub metric: String,
    pub sla: String,
}

/// Whether the stored record under `key` is the SLA `sla` names.
fn names(key: &str, record: &Value, sla: &str) -> bool {
    key.strip_prefix(FIELD_PREFIX) == Some(sla)
        || record.get("name").and_then(Value::as_str) == Some(sla)
        || record.get("id").and_then(Value::as_str) == Some(sla)
}

/// The stored record of the SLA `sla` names, if the ticket has one.
fn record<'a>(fields: &'a BTreeMap<String, Value>, sla: &str) -> Option<&'a Value> {
    fields
        .iter()
        .filter(|(k, _)| k.starts_with(FIELD_PREFIX))
        .find(|(k, v)| names(k, v, sla))
        .map(|(_, v)| v)
}

/// Whether the ticket holds a record of the SLA `sla` names.
pub fn holds(fields: &BTreeMap<String, Value>, sla: &str) -> bool {
    record(fields, sla).is_some()
}

/// An instant of a cycle, in seconds (JSM's `epochMillis`).
fn instant(cycle: &Value, key: &str) -> Option<i64> {
    cycle[key]["epochMillis"]
        .as_i64()
        .map(|ms| ms.div_euclid(1000))
}

/// A duration of a cycle, in seconds (JSM's `millis`).
fn millis(cycle: &Value, key: &str) -> Option<i64> {
    cycle[key]["millis"].as_i64().map(|ms| ms.div_euclid(1000))
}

/// JSM's side of the mapped metrics: each SLA's cycles, completed ones in
/// the order JSM lists them then the ongoing one, numbered 1 and on as our
/// clock instances are.
///
/// A completed cycle was fulfilled at its `stopTime` and counted its
/// `elapsedTime`; a cycle breached at its `breachTime` when JSM says it is
/// `breached` (JSM gives a `breachTime` to every cycle: for one not
/// breached it is only when it would have been). The elapsed time and the
/// goal (the target) are in the SLA's own calendar, as ours are in the
/// plan's. JSM does not say when a cycle stood still, only whether it is
/// paused now: its pauses are unknown, not absent.
pub fn observed(fields: &BTreeMap<String, Value>, mapping: &[JsmReconciled]) -> Vec<Observed> {
    let mut out = Vec::new();
    for m in mapping {
        let Some(record) = record(fields, &m.sla) else {
            continue;
        };
        let completed = record
            .get("completedCycles")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|c| (c, true));
        let ongoing = record
            .get("ongoingCycle")
            .filter(|c| c.is_object())
            .map(|c| (c, false));
        let mut instance = 0;
        for (cycle, done) in completed.chain(ongoing) {
            let Some(start) = instant(cycle, "startTime") else {
                continue;
            };
            instance += 1;
            out.push(Observed {
                metric: m.metric.clone(),
                instance,
                start,
                fulfilled_at: if done {
                    instant(cycle, "stopTime")
                } else {
                    None
                },
                breached_at: if cycle["breached"] == true {
                    instant(cycle, "breachTime")
                } else {
                    None
                },
                elapsed_seconds: if done {
                    millis(cycle, "elapsedTime")
                } else {
                    None
                },
                target_seconds: millis(cycle, "goalDuration"),
                pauses_unknown: true,
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
    fn cycles_read_epoch_millis_and_millis_only() {
        let date = |ms: i64| json!({"iso8601": "x", "jira": "x", "friendly": "Yesterday 9:00 AM", "epochMillis": ms});
        let fields: BTreeMap<String, Value> = [
            (
                "jsm_sla.customfield_10030".to_string(),
                json!({"id": "1", "name": "Time to first response", "completedCycles": [],
                       "ongoingCycle": {"startTime": date(1_793_721_600_000), "breachTime": date(1_793_750_400_000),
                                        "breached": true, "paused": false, "withinCalendarHours": true,
                                        "goalDuration": {"millis": 28_800_000, "friendly": "8h"},
                                        "elapsedTime": {"millis": 72_000_000, "friendly": "20h"},
                                        "remainingTime": {"millis": -43_200_000, "friendly": "-12h"}}}),
            ),
            ("other".to_string(), json!(1)),
        ]
        .into();
        let lines = explain_lines(&fields, chrono_tz::UTC);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0],
            "  JSM's own SLA \"Time to first response\" (jsm_sla.customfield_10030):"
        );
        assert!(
            lines[1].starts_with("      ongoing: started 2026-11-03 16:00:00 UTC (Tue)"),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with("goal 8h, elapsed 20h, remaining 12h over, breached"),
            "{}",
            lines[1]
        );
        assert!(explain_lines(&BTreeMap::new(), chrono_tz::UTC).is_empty());
    }

    /// A Date object as JSM writes it; only `epochMillis` is read.
    fn date(ms: i64) -> Value {
        json!({"iso8601": "x", "jira": "x", "friendly": "Today 9:00 AM", "epochMillis": ms})
    }

    /// The record of the documentation's example: two completed cycles of
    /// "Time to resolution" (the second after a reopen) and an ongoing,
    /// breached "Time to first response" under another SLA.
    fn record() -> BTreeMap<String, Value> {
        [
            (
                "jsm_sla.customfield_10031".to_string(),
                json!({"id": "2", "name": "Time to resolution", "completedCycles": [
                    {"startTime": date(1_793_638_800_000), "stopTime": date(1_793_646_000_000),
                     "breachTime": date(1_793_670_000_000), "breached": false,
                     "goalDuration": {"millis": 28_800_000}, "elapsedTime": {"millis": 4_800_000},
                     "remainingTime": {"millis": 24_000_000}},
                    {"startTime": date(1_793_649_600_000), "stopTime": date(1_793_653_200_000),
                     "breachTime": date(1_793_652_000_000), "breached": true,
                     "goalDuration": {"millis": 2_400_000}, "elapsedTime": {"millis": 3_600_500},
                     "remainingTime": {"millis": -1_200_000}}],
                    "ongoingCycle": null}),
            ),
            (
                "jsm_sla.1".to_string(),
                json!({"id": "1", "name": "Time to first response", "completedCycles": [],
                       "ongoingCycle": {"startTime": date(1_793_721_600_000), "breachTime": date(1_793_750_400_000),
                                        "breached": true, "paused": false, "withinCalendarHours": true,
                                        "goalDuration": {"millis": 28_800_000},
                                        "elapsedTime": {"millis": 72_000_000},
                                        "remainingTime": {"millis": -43_200_000}}}),
            ),
        ]
        .into()
    }

    #[test]
    fn cycles_become_numbered_instances_with_breaches_only_where_jsm_says_breached() {
        let mapping = [
            JsmReconciled {
                metric: "resolution".into(),
                sla: "Time to resolution".into(),
            },
            JsmReconciled {
                metric: "first_response".into(),
                sla: "1".into(),
            },
        ];
        let got = observed(&record(), &mapping);
        let want = vec![
            Observed {
                metric: "resolution".into(),
                instance: 1,
                start: 1_793_638_800,
                fulfilled_at: Some(1_793_646_000),
                breached_at: None,
                elapsed_seconds: Some(4_800),
                target_seconds: Some(28_800),
                pauses_unknown: true,
                ..Observed::default()
            },
            Observed {
                metric: "resolution".into(),
                instance: 2,
                start: 1_793_649_600,
                fulfilled_at: Some(1_793_653_200),
                breached_at: Some(1_793_652_000),
                elapsed_seconds: Some(3_600),
                target_seconds: Some(2_400),
                pauses_unknown: true,
                ..Observed::default()
            },
            Observed {
                metric: "first_response".into(),
                instance: 1,
                start: 1_793_721_600,
                fulfilled_at: None,
                breached_at: Some(1_793_750_400),
                elapsed_seconds: None,
                target_seconds: Some(28_800),
                pauses_unknown: true,
                ..Observed::default()
            },
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn an_sla_is_found_by_name_id_or_field_and_nothing_else() {
        let one = |sla: &str| {
            observed(
                &record(),
                &[JsmReconciled {
                    metric: "m".into(),
                    sla: sla.into(),
                }],
            )
            .len()
        };
        assert_eq!(one("Time to resolution"), 2);
        assert_eq!(one("2"), 2);
        assert_eq!(one("customfield_10031"), 2);
        assert_eq!(one("Time to close"), 0);
        assert_eq!(one("jsm_sla.1"), 0);
    }
}
