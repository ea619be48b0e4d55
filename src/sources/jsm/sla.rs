//! JSM's own SLA record of a request, as stored beside its timeline (the
//! ticket's `jsm_sla.<field>` fields, exactly as JSM sent them), written
//! for people next to our clocks by `helpdesk-slo explain`. Pure: reads
//! only `epochMillis` of Date objects (never the localized `friendly`) and
//! `millis` of durations.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::calendar::format_seconds;
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
}
