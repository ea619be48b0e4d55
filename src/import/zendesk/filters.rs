//! A policy's filter conditions onto a plan's match, with notes for what a match cannot say.

use super::*;

/// Severities, most severe first, as Zendesk's priorities.
pub(super) const PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];

/// The 24x7 calendar of `business_hours: false` targets.
pub const CALENDAR_HOURS: &str = "calendar-hours";

/// Zendesk metric → (our metric name, its YAML definition, what it means).
pub(super) const METRICS: &[(&str, &str, &str)] = &[
    (
        "first_reply_time",
        "{ kind: first_response }",
        "Zendesk first reply time",
    ),
    (
        "next_reply_time",
        "{ kind: next_reply }",
        "Zendesk next reply time",
    ),
    (
        "periodic_update_time",
        "{ kind: periodic_update }",
        "Zendesk periodic update: time between public agent comments",
    ),
    (
        "pausable_update_time",
        "{ kind: periodic_update, pause_on: [pending, hold] }",
        "APPROXIMATION: Zendesk pausable update, the time between public agent comments not counting the time the ticket waits in pending or on-hold; here a periodic update whose clock pauses in those statuses",
    ),
    (
        "requester_wait_time",
        "{ kind: resolution, pause_on: [pending], on_reopen: continue }",
        "APPROXIMATION: Zendesk requester wait time, the total time in New, Open and On-hold until solved (a reopen adds to it); here a resolution clock that pauses in pending and continues after a reopen",
    ),
    (
        "agent_work_time",
        "{ kind: resolution, pause_on: [pending, hold], on_reopen: continue }",
        "APPROXIMATION: Zendesk agent work time, the total time in New and Open until solved (a reopen adds to it); here a resolution clock that pauses in pending and hold and continues after a reopen",
    ),
    (
        "total_resolution_time",
        "{ kind: resolution, on_reopen: continue }",
        "Zendesk total resolution time: from creation to solved, time while solved not counted",
    ),
];

/// A plan criterion set, as `match:` can say it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Criteria {
    pub(super) organization_tags: Vec<String>,
    pub(super) organization_ids: Vec<String>,
    pub(super) organization_field: Option<(String, Vec<String>)>,
    pub(super) ticket_tags: Vec<String>,
    pub(super) ticket_field: Option<(String, Vec<String>)>,
}

impl Criteria {
    pub(super) fn is_empty(&self) -> bool {
        self == &Criteria::default()
    }

    /// Adds `other`'s alternatives; a second field of another name cannot
    /// be said and is returned as a note.
    fn merge(&mut self, other: Criteria) -> Vec<String> {
        fn push_all(to: &mut Vec<String>, from: Vec<String>) {
            for v in from {
                if !to.contains(&v) {
                    to.push(v);
                }
            }
        }
        let mut notes = Vec::new();
        push_all(&mut self.organization_tags, other.organization_tags);
        push_all(&mut self.organization_ids, other.organization_ids);
        push_all(&mut self.ticket_tags, other.ticket_tags);
        for (mine, theirs, what) in [
            (
                &mut self.organization_field,
                other.organization_field,
                "organization field",
            ),
            (&mut self.ticket_field, other.ticket_field, "ticket field"),
        ] {
            match (mine.as_mut(), theirs) {
                (_, None) => {}
                (None, Some(f)) => *mine = Some(f),
                (Some((name, values)), Some((n, vs))) if *name == n => push_all(values, vs),
                (Some((name, _)), Some((n, _))) => notes.push(format!(
                    "APPROXIMATION: a plan matches on one {what}; the condition on {what} \"{n}\" is left out (the plan keeps \"{name}\")"
                )),
            }
        }
        notes
    }

    pub(super) fn yaml(&self) -> String {
        let list = |v: &[String]| {
            format!(
                "[{}]",
                v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
            )
        };
        let mut parts = Vec::new();
        if !self.organization_tags.is_empty() {
            parts.push(format!(
                "organization_tags: {}",
                list(&self.organization_tags)
            ));
        }
        if !self.organization_ids.is_empty() {
            parts.push(format!(
                "organization_ids: {}",
                list(&self.organization_ids)
            ));
        }
        if let Some((name, values)) = &self.organization_field {
            parts.push(format!(
                "organization_field: {{ name: {}, values: {} }}",
                quote(name),
                list(values)
            ));
        }
        if !self.ticket_tags.is_empty() {
            parts.push(format!("ticket_tags: {}", list(&self.ticket_tags)));
        }
        if let Some((name, values)) = &self.ticket_field {
            parts.push(format!(
                "ticket_field: {{ name: {}, values: {} }}",
                quote(name),
                list(values)
            ));
        }
        format!("{{ {} }}", parts.join(", "))
    }
}

/// One condition, read.
pub(super) enum Cond {
    Criteria(Criteria),
    /// Severity indexes admitted.
    Priority([bool; 4]),
    Schedule(String),
    Unsupported,
}

pub(super) fn describe(c: &ZCondition) -> String {
    format!(
        "`{} {} {}`",
        c.field,
        c.operator,
        if c.value.is_string() {
            value_text(&c.value)
        } else {
            c.value.to_string()
        }
    )
}

pub(super) fn classify(c: &ZCondition) -> Cond {
    let field = c.field.trim().to_ascii_lowercase();
    let op = c.operator.trim().to_ascii_lowercase();
    let text = value_text(&c.value);
    let words = || -> Vec<String> { text.split_whitespace().map(str::to_string).collect() };
    let positive = matches!(op.as_str(), "is" | "includes");
    match field.as_str() {
        "current_tags" | "tags" | "ticket.tags" if positive && !words().is_empty() => {
            Cond::Criteria(Criteria {
                ticket_tags: words(),
                ..Criteria::default()
            })
        }
        "organization.tags" | "organization_tags" | "organization.tag" | "organization_tag"
            if positive && !words().is_empty() =>
        {
            Cond::Criteria(Criteria {
                organization_tags: words(),
                ..Criteria::default()
            })
        }
        "organization_id" if op == "is" && !text.is_empty() => Cond::Criteria(Criteria {
            organization_ids: vec![text],
            ..Criteria::default()
        }),
        "schedule_id" if op == "is" && !text.is_empty() => Cond::Schedule(text),
        "priority" => {
            let Some(rank) = PRIORITIES
                .iter()
                .position(|p| p.eq_ignore_ascii_case(&text))
            else {
                return Cond::Unsupported;
            };
            // Severity index: 0 = urgent (most severe) .. 3 = low.
            let admitted: [bool; 4] = std::array::from_fn(|s| match op.as_str() {
                "is" => s == rank,
                "is_not" => s != rank,
                "less_than" => s > rank,
                "greater_than" => s < rank,
                "less_than_equal" => s >= rank,
                "greater_than_equal" => s <= rank,
                _ => true,
            });
            if matches!(
                op.as_str(),
                "is" | "is_not"
                    | "less_than"
                    | "greater_than"
                    | "less_than_equal"
                    | "greater_than_equal"
            ) {
                Cond::Priority(admitted)
            } else {
                Cond::Unsupported
            }
        }
        f if op == "is" && !text.is_empty() => {
            // The field's id or key keeps its case: the part after the prefix.
            let raw = c.field.trim();
            let rest = |prefixes: &[&str]| {
                prefixes
                    .iter()
                    .find(|p| f.starts_with(*p) && f.len() > p.len())
                    .map(|p| raw[p.len()..].to_string())
            };
            if let Some(id) = rest(&["custom_fields_", "ticket_fields_"]) {
                Cond::Criteria(Criteria {
                    ticket_field: Some((id, vec![text])),
                    ..Criteria::default()
                })
            } else if let Some(key) =
                rest(&["organization.custom_fields.", "organization.custom_fields_"])
            {
                Cond::Criteria(Criteria {
                    organization_field: Some((key, vec![text])),
                    ..Criteria::default()
                })
            } else {
                Cond::Unsupported
            }
        }
        _ => Cond::Unsupported,
    }
}

/// A policy's filter as a plan sees it.
pub(super) struct FilterOut {
    pub(super) criteria: Criteria,
    pub(super) admitted: [bool; 4],
    pub(super) schedule: Option<String>,
    /// No condition but priorities and schedules: it matches every ticket.
    pub(super) catch_all: bool,
    pub(super) notes: Vec<String>,
}

pub(super) fn severities_text(admitted: &[bool; 4]) -> String {
    PRIORITIES
        .iter()
        .zip(admitted)
        .filter(|(_, a)| **a)
        .map(|(p, _)| *p)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn convert_filter(filter: Option<&ZFilter>) -> FilterOut {
    let empty = Vec::new();
    let all = filter.and_then(|f| f.all.as_ref()).unwrap_or(&empty);
    let any = filter.and_then(|f| f.any.as_ref()).unwrap_or(&empty);
    let mut notes = Vec::new();
    let mut admitted = [true; 4];
    let mut schedule: Option<String> = None;
    let mut all_criteria: Vec<(Criteria, String)> = Vec::new();
    let mut all_unsupported = Vec::new();
    for c in all {
        match classify(c) {
            Cond::Criteria(k) => all_criteria.push((k, describe(c))),
            Cond::Priority(set) => {
                for (a, s) in admitted.iter_mut().zip(set) {
                    *a &= s;
                }
            }
            Cond::Schedule(id) => match &schedule {
                Some(prev) if *prev != id => notes.push(format!(
                    "APPROXIMATION: the filter names schedules {prev} and {id}; the plan runs on schedule {prev}"
                )),
                _ => schedule = Some(id),
            },
            Cond::Unsupported => all_unsupported.push(describe(c)),
        }
    }
    let mut any_criteria: Vec<(Criteria, String)> = Vec::new();
    let mut any_priorities: Vec<([bool; 4], String)> = Vec::new();
    let mut any_unsupported = Vec::new();
    for c in any {
        match classify(c) {
            Cond::Criteria(k) => any_criteria.push((k, describe(c))),
            Cond::Priority(set) => any_priorities.push((set, describe(c))),
            Cond::Schedule(_) | Cond::Unsupported => any_unsupported.push(describe(c)),
        }
    }
    if !any_priorities.is_empty() {
        if any_criteria.is_empty() && any_unsupported.is_empty() {
            let mut union = [false; 4];
            for (set, _) in &any_priorities {
                for (u, s) in union.iter_mut().zip(set) {
                    *u |= *s;
                }
            }
            for (a, u) in admitted.iter_mut().zip(union) {
                *a &= u;
            }
        } else {
            let listed: Vec<&str> = any_priorities.iter().map(|(_, d)| d.as_str()).collect();
            notes.push(format!(
                "APPROXIMATION: the `any` conditions mix priorities ({}) with other conditions; a plan cannot match on priority, so tickets that meet only a priority condition are not on this plan",
                listed.join(", ")
            ));
        }
    }
    let mut criteria = Criteria::default();
    let groups = all_criteria.len() + usize::from(!any_criteria.is_empty());
    if groups <= 1 {
        for (k, _) in all_criteria.into_iter().chain(any_criteria) {
            notes.extend(criteria.merge(k));
        }
    } else {
        let required: Vec<String> = all_criteria.iter().map(|(_, d)| d.clone()).collect();
        let alternatives: Vec<String> = any_criteria.iter().map(|(_, d)| d.clone()).collect();
        if all_criteria.len() > 1 {
            notes.push(format!(
                "APPROXIMATION: Zendesk requires all of {}; a plan matches a ticket that meets any one of its criteria, so this plan matches more tickets than the policy",
                required.join(" and ")
            ));
        }
        if !alternatives.is_empty() {
            notes.push(format!(
                "APPROXIMATION: Zendesk also requires one of {}; a plan cannot require both, so these are left out and this plan matches more tickets than the policy",
                alternatives.join(", ")
            ));
        }
        for (k, _) in all_criteria {
            notes.extend(criteria.merge(k));
        }
    }
    if !all_unsupported.is_empty() {
        notes.push(format!(
            "APPROXIMATION: the condition(s) {} have no equivalent in a plan match and are left out, so this plan may match tickets the policy does not",
            all_unsupported.join(", ")
        ));
    }
    if !any_unsupported.is_empty() {
        notes.push(format!(
            "APPROXIMATION: the alternative condition(s) {} have no equivalent in a plan match and are left out, so tickets that meet only them are not on this plan",
            any_unsupported.join(", ")
        ));
    }
    let catch_all = criteria.is_empty()
        && all_unsupported.is_empty()
        && (any.is_empty() || any_criteria_is_priority_only(any));
    FilterOut {
        criteria,
        admitted,
        schedule,
        catch_all,
        notes,
    }
}

pub(super) fn any_criteria_is_priority_only(any: &[ZCondition]) -> bool {
    !any.is_empty() && any.iter().all(|c| matches!(classify(c), Cond::Priority(_)))
}
