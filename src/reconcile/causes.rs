//! Why two sides of a clock instance differ: the likely causes of a
//! comparison's outcome, each one a person can check on the ticket (pure,
//! from the two [`Observed`] sides and the differences found).
//!
//! Checked in this order, every one that holds is kept (most likely
//! first); a `differ` that none explains is `unexplained`:
//!
//! | cause | when |
//! | --- | --- |
//! | `history_incomplete` | first, whatever else holds: our copy of the ticket's history may lack changes the helpdesk has (a day the helpdesk has not exported yet, a history approximated from last values) |
//! | `retracted_breach` | breached on our side only or earlier, and the helpdesk retracted a breach of its own |
//! | `target` | both have a target and they differ |
//! | `breached_at_retarget` | the helpdesk breached when it gave the instance a target again whose due had passed; ours breached earlier, at that due |
//! | `policy_applied_late` | the helpdesk gave the instance its target after the instance started |
//! | `pause_status` | a stretch paused on one side only (with the ticket's status then) |
//! | `start_event` | the instances start at different instants |
//! | `fulfilment_event` | they are met at different instants, or on one side only |
//! | `calendar` | same target, start, pauses and fulfilment, different business time: hours or holidays differ |
//! | `no_target_theirs` | missing theirs: the helpdesk measured it with no target |
//! | `no_record_theirs` | missing theirs: the helpdesk has no record of the metric for the ticket |
//! | `not_measured_theirs` | missing theirs: it has a record, but not of this instance |
//! | `excluded_ours` | missing ours: we exclude the clock (an exclusion tag, ...) |
//! | `no_target_ours` | missing ours: our plan has no target for it |
//! | `not_measured_ours` | missing ours: we have no such instance |
//!
//! Against a helpdesk that says only the due and whether it breached
//! (Freshdesk), the dues' difference is measured on our calendar and
//! attributed by `due_differ`: `pause_status` (our pauses, or a status we
//! do not pause on, exactly as long; or ours paused now and theirs not), `calendar` (exactly whole open days
//! of ours, or a due when our calendar is closed), else `target`; equal
//! dues with a breach on one side only are a `fulfilment_event`.

use serde::Serialize;

use super::{human, Aspect, Context, Difference, Observed, Outcome, Pause};
use crate::time::format_instant;

/// A likely cause, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    HistoryIncomplete,
    Target,
    RetractedBreach,
    BreachedAtRetarget,
    PolicyAppliedLate,
    PauseStatus,
    StartEvent,
    FulfilmentEvent,
    Calendar,
    NoTargetTheirs,
    NoRecordTheirs,
    NotMeasuredTheirs,
    ExcludedOurs,
    NoTargetOurs,
    NotMeasuredOurs,
    Unexplained,
}

impl CauseKind {
    /// Its name in output (`pause_status`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HistoryIncomplete => "history_incomplete",
            Self::Target => "target",
            Self::RetractedBreach => "retracted_breach",
            Self::BreachedAtRetarget => "breached_at_retarget",
            Self::PolicyAppliedLate => "policy_applied_late",
            Self::PauseStatus => "pause_status",
            Self::StartEvent => "start_event",
            Self::FulfilmentEvent => "fulfilment_event",
            Self::Calendar => "calendar",
            Self::NoTargetTheirs => "no_target_theirs",
            Self::NoRecordTheirs => "no_record_theirs",
            Self::NotMeasuredTheirs => "not_measured_theirs",
            Self::ExcludedOurs => "excluded_ours",
            Self::NoTargetOurs => "no_target_ours",
            Self::NotMeasuredOurs => "not_measured_ours",
            Self::Unexplained => "unexplained",
        }
    }
}

/// A likely cause and what, on this ticket, points to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub kind: CauseKind,
    pub detail: String,
}

fn cause(kind: CauseKind, detail: String) -> Cause {
    Cause { kind, detail }
}

fn when(t: Option<i64>) -> String {
    t.map_or_else(|| "never".to_string(), format_instant)
}

/// The causes of `outcome` for one instance (none for `agree`).
pub fn causes(
    outcome: Outcome,
    ours: Option<&Observed>,
    theirs: Option<&Observed>,
    differences: &[Difference],
    cx: &Context<'_>,
) -> Vec<Cause> {
    let found = match (outcome, ours, theirs) {
        (Outcome::Agree, _, _) => return Vec::new(),
        (Outcome::MissingTheirs, Some(a), theirs) => vec![missing_theirs(a, theirs, cx)],
        (Outcome::MissingOurs, ours, Some(b)) => vec![missing_ours(ours, b)],
        (Outcome::Differ, Some(a), Some(b)) => differ(a, b, differences, cx),
        _ => vec![cause(
            CauseKind::Unexplained,
            "no checkable cause found".to_string(),
        )],
    };
    // What the other causes read may itself be what is missing: said
    // first, and the rest kept for when the history is complete.
    match &cx.incomplete {
        Some(why) => std::iter::once(cause(CauseKind::HistoryIncomplete, why.clone()))
            .chain(found)
            .collect(),
        None => found,
    }
}

fn missing_theirs(a: &Observed, theirs: Option<&Observed>, cx: &Context<'_>) -> Cause {
    match theirs {
        Some(_) => cause(
            CauseKind::NoTargetTheirs,
            "the helpdesk measured it with no target: none of its SLA policies gave this ticket a target for it (its priority or organization matched none)".to_string(),
        ),
        None if !cx.recorded.contains(&a.metric) => cause(
            CauseKind::NoRecordTheirs,
            format!(
                "the helpdesk's record holds nothing of this metric for the ticket (not read, or the ticket predates the record); our target {}",
                human(a.target_seconds.unwrap_or(0))
            ),
        ),
        None => cause(
            CauseKind::NotMeasuredTheirs,
            format!(
                "the helpdesk started no instance {} of it: the two sides start this metric's instances at different events",
                a.instance
            ),
        ),
    }
}

fn missing_ours(ours: Option<&Observed>, b: &Observed) -> Cause {
    match ours {
        Some(a) if a.excluded.is_some() => cause(
            CauseKind::ExcludedOurs,
            format!(
                "excluded on our side ({}); the helpdesk has no such exclusion",
                a.excluded.as_deref().unwrap_or("")
            ),
        ),
        Some(_) => cause(
            CauseKind::NoTargetOurs,
            format!(
                "our plan has no target for it at this ticket's severity; the helpdesk's is {}",
                human(b.target_seconds.unwrap_or(0))
            ),
        ),
        None => cause(
            CauseKind::NotMeasuredOurs,
            format!(
                "we started no instance {} of it: the two sides start this metric's instances at different events",
                b.instance
            ),
        ),
    }
}

/// Two pauses are one when they start and end within the tolerance (an
/// open end only matches an open end).
fn same_pause(p: &Pause, q: &Pause, tolerance: i64) -> bool {
    let near = |a: i64, b: i64| (a - b).abs() <= tolerance;
    near(p.from, q.from)
        && match (p.to, q.to) {
            (Some(a), Some(b)) => near(a, b),
            (None, None) => true,
            _ => false,
        }
}

fn describe_pause(p: &Pause, side: &str) -> String {
    let status = p
        .status
        .as_deref()
        .map_or_else(String::new, |s| format!(" (status {s})"));
    match p.to {
        Some(to) => format!(
            "paused on {side} only from {} to {}{status}",
            format_instant(p.from),
            format_instant(to)
        ),
        None => format!(
            "paused on {side} only from {}, still{status}",
            format_instant(p.from)
        ),
    }
}

fn differ(a: &Observed, b: &Observed, differences: &[Difference], cx: &Context<'_>) -> Vec<Cause> {
    if b.due_only {
        return due_differ(a, b, cx);
    }
    let tol = cx.tolerance;
    let has = |aspect: Aspect| differences.iter().any(|d| d.aspect == aspect);
    let mut out = Vec::new();
    let later = match (a.breached_at, b.breached_at) {
        (Some(_), None) => true,
        (Some(x), Some(y)) => y > x + tol,
        _ => false,
    };
    if later {
        if let Some(r) = b.retracted_breach_at {
            out.push(cause(
                CauseKind::RetractedBreach,
                format!(
                    "the helpdesk recorded a breach at {} and retracted it (a target re-applied later, e.g. on a priority change); ours stays breached at {}",
                    format_instant(r),
                    when(a.breached_at)
                ),
            ));
        }
    }
    if let (Some(x), Some(y)) = (a.target_seconds, b.target_seconds) {
        if (x - y).abs() > tol {
            out.push(cause(
                CauseKind::Target,
                format!("our target is {}, the helpdesk's {}", human(x), human(y)),
            ));
        }
    }
    if let (Some(x), Some(y), Some(r)) = (a.breached_at, b.breached_at, b.retargeted_at) {
        if (y - r).abs() <= tol && x < y - tol {
            out.push(cause(
                CauseKind::BreachedAtRetarget,
                format!(
                    "the helpdesk gave it a target again at {} whose due had passed, and breached it then; ours breaches at that due, {}",
                    format_instant(r),
                    format_instant(x)
                ),
            ));
        }
    }
    if let Some(set) = b.target_set_at.filter(|t| *t > b.start + tol) {
        out.push(cause(
            CauseKind::PolicyAppliedLate,
            format!(
                "the helpdesk gave it a target at {}, after it started at {}",
                format_instant(set),
                format_instant(b.start)
            ),
        ));
    }
    let only = |xs: &[Pause], ys: &[Pause], side: &str| -> Vec<String> {
        xs.iter()
            .filter(|p| !ys.iter().any(|q| same_pause(p, q, tol)))
            .map(|p| describe_pause(p, side))
            .collect()
    };
    let mut pauses = Vec::new();
    if !a.pauses_unknown && !b.pauses_unknown {
        pauses = only(&a.paused, &b.paused, "our side");
        pauses.extend(only(&b.paused, &a.paused, "the helpdesk's side"));
    }
    if !pauses.is_empty() {
        out.push(cause(CauseKind::PauseStatus, pauses.join("; ")));
    }
    if has(Aspect::Start) {
        out.push(cause(
            CauseKind::StartEvent,
            format!(
                "ours starts at {}, the helpdesk's at {}: a different event starts it",
                format_instant(a.start),
                format_instant(b.start)
            ),
        ));
    }
    if has(Aspect::Fulfilment) {
        out.push(cause(
            CauseKind::FulfilmentEvent,
            format!(
                "ours is met {}, the helpdesk's {}: a reply or solve one side counts and the other does not",
                when(a.fulfilled_at),
                when(b.fulfilled_at)
            ),
        ));
    }
    let timing = has(Aspect::Elapsed) || has(Aspect::BreachedAt) || has(Aspect::Breached);
    if out.is_empty() && timing {
        out.push(calendar(a, b, cx));
    }
    if out.is_empty() {
        out.push(cause(
            CauseKind::Unexplained,
            "no checkable cause found".to_string(),
        ));
    }
    out
}

/// Business seconds of our calendar of `metric` in `[from, to)` (calendar
/// seconds when the context has no calendar).
fn business(cx: &Context<'_>, metric: &str, from: i64, to: i64) -> i64 {
    if to <= from {
        return 0;
    }
    match cx.open_days {
        Some(f) => f(metric, from, to).iter().map(|(_, n)| n).sum(),
        None => to - from,
    }
}

/// The causes of a difference against a helpdesk that says only the due
/// and whether it breached ([`Observed::due_only`]). Without its target
/// or its pauses, the difference in dues is measured on our calendar and
/// matched against: our pauses (their due earlier by exactly the business
/// time we paused), a status of the ticket we do not pause on (their due
/// later by exactly its business time), then the open time of one of our
/// days within the instance or a due where our calendar is closed (a
/// holiday or other hours); every one that matches is kept, in that
/// order, and a target that differs when none does.
fn due_differ(a: &Observed, b: &Observed, cx: &Context<'_>) -> Vec<Cause> {
    let tol = cx.tolerance;
    let near = |x: i64, y: i64| (x - y).abs() <= tol;
    let (Some(x), Some(y)) = (a.due_at, b.due_at) else {
        // Ours stands still now, or was met standing still: it has no due
        // to compare.
        let standing = a
            .paused
            .last()
            .filter(|p| p.to.is_none() || (p.to.is_some() && p.to == a.fulfilled_at));
        if let Some(p) = standing {
            return vec![cause(
                CauseKind::PauseStatus,
                format!(
                    "ours {} since {}{}, so it has no due to compare; the helpdesk's timer ran on: due {}, {}: a status that stops our clock and not the helpdesk's timer",
                    if p.to.is_none() { "stands still" } else { "was met standing still" },
                    format_instant(p.from),
                    p.status.as_deref().map_or_else(String::new, |s| format!(" (status {s})")),
                    when(b.due_at),
                    if b.breached_at.is_some() { "breached" } else { "not breached" }
                ),
            )];
        }
        return vec![cause(
            CauseKind::Unexplained,
            format!(
                "ours breached {}, the helpdesk's {}; ours has no due to compare",
                when(a.breached_at),
                when(b.breached_at)
            ),
        )];
    };
    if near(x, y) {
        return vec![cause(
            CauseKind::FulfilmentEvent,
            format!(
                "both due at {}; ours is met {} and {}, the helpdesk says it {}: a reply or resolution one side counts and the other does not",
                format_instant(x),
                when(a.fulfilled_at),
                if a.breached_at.is_some() { "breached" } else { "not breached" },
                if b.breached_at.is_some() { "breached" } else { "did not breach" },
            ),
        )];
    }
    let gap = business(cx, &a.metric, x.min(y), x.max(y));
    let end = a.fulfilled_at.unwrap_or(x.max(y));
    let span = |p: &Pause| {
        business(
            cx,
            &a.metric,
            p.from.max(a.start),
            p.to.unwrap_or(end).min(end),
        )
    };
    let mut out = Vec::new();
    if y < x {
        let ours_paused: i64 = a.paused.iter().map(span).sum();
        if ours_paused > 0 && near(ours_paused, gap) {
            let stretches: Vec<String> = a
                .paused
                .iter()
                .map(|p| describe_pause(p, "our side"))
                .collect();
            out.push(cause(
                CauseKind::PauseStatus,
                format!(
                    "the helpdesk's due is earlier by {} of our business time, exactly what ours stood still: {}",
                    human(gap),
                    stretches.join("; ")
                ),
            ));
        }
    } else {
        // A status we do not pause on, as long in business time as the
        // difference: the helpdesk stopped its timer there.
        let mut by_status: Vec<(String, i64, Vec<&Pause>)> = Vec::new();
        for p in cx.statuses.iter().filter(|p| {
            p.from < end
                && p.to.is_none_or(|t| t > a.start)
                && !a.paused.iter().any(|q| q.status == p.status)
        }) {
            let status = p.status.clone().unwrap_or_default();
            let secs = span(p);
            match by_status.iter_mut().find(|(s, _, _)| *s == status) {
                Some((_, n, ps)) => {
                    *n += secs;
                    ps.push(p);
                }
                None => by_status.push((status, secs, vec![p])),
            }
        }
        for (status, secs, stretches) in by_status {
            if secs > 0 && near(secs, gap) {
                let when: Vec<String> = stretches
                    .iter()
                    .map(|p| {
                        format!(
                            "{} to {}",
                            format_instant(p.from),
                            p.to.map_or_else(|| "now".to_string(), format_instant)
                        )
                    })
                    .collect();
                out.push(cause(
                    CauseKind::PauseStatus,
                    format!(
                        "the helpdesk's due is later by {} of our business time, exactly the time the ticket was {status} ({}), which our metric does not pause on: a status that stops the helpdesk's timer and not ours",
                        human(gap),
                        when.join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(f) = cx.open_days {
        let later = x.max(y);
        // A day still open after the later due is cut short by it: its
        // open time up to the due matching the difference says nothing of
        // a day closed on one side (that would move a due by the day's
        // whole open time).
        let after = f(&a.metric, later, later.saturating_add(86_400));
        let cut_short = after.first().map(|(d, _)| d.as_str());
        let whole: Vec<String> = f(&a.metric, a.start, later)
            .into_iter()
            .filter(|(d, n)| near(*n, gap) && Some(d.as_str()) != cut_short)
            .map(|(d, _)| d)
            .collect();
        let closed = business(cx, &a.metric, y - 1, y + 1) == 0;
        // Our open time of one day within the instance, exactly the
        // difference: that day closed on one side only. A long
        // instance spans many such days: name them as a span.
        let days = match whole.as_slice() {
            [first, .., last] if whole.len() > 10 => format!(
                "one of our {} open days from {first} to {last}",
                whole.len()
            ),
            _ => whole.join(", "),
        };
        if !whole.is_empty() || closed {
            let detail = if whole.is_empty() {
                format!(
                    "the helpdesk's due, {}, is when our calendar is closed (ours {}): the calendars' hours differ",
                    format_instant(y),
                    format_instant(x)
                )
            } else {
                format!(
                    "the dues differ by {} of our business time (ours {}, the helpdesk's {}), the open hours of {days} on our calendar: a holiday or closed day on one side only",
                    human(gap),
                    format_instant(x),
                    format_instant(y),
                )
            };
            out.push(cause(CauseKind::Calendar, detail));
        }
    }
    if out.is_empty() {
        out.push(cause(
            CauseKind::Target,
            format!(
                "the helpdesk's due is {} by {} of our business time (ours {}, the helpdesk's {}): its target for this ticket differs (the helpdesk says the due, not the target), or it paused at times it does not say",
                if y > x { "later" } else { "earlier" },
                human(gap),
                format_instant(x),
                format_instant(y)
            ),
        ));
    }
    out
}

/// Same target, start, pauses and fulfilment, yet a different business
/// time: the calendars differ. Names, when it can, the local days on which
/// the difference may lie: those our calendar is open on for at least the
/// business time that differs, between the start and the later of the
/// two instants that differ.
fn calendar(a: &Observed, b: &Observed, cx: &Context<'_>) -> Cause {
    let later = [a.breached_at, b.breached_at, a.fulfilled_at, b.fulfilled_at]
        .into_iter()
        .flatten()
        .max();
    let counted = match (a.elapsed_seconds, b.elapsed_seconds) {
        (Some(x), Some(y)) if (x - y).abs() > cx.tolerance => format!(
            " ({} business time on ours, {} on the helpdesk's)",
            human(x),
            human(y)
        ),
        _ => format!(
            " (ours breached {}, the helpdesk's {})",
            when(a.breached_at),
            when(b.breached_at)
        ),
    };
    let days = match (later, cx.open_days) {
        (Some(to), Some(f)) => {
            // The business time that differs, on our calendar.
            let gap = match (
                a.elapsed_seconds,
                b.elapsed_seconds,
                a.breached_at,
                b.breached_at,
            ) {
                (Some(x), Some(y), _, _) if (x - y).abs() > cx.tolerance => (x - y).abs(),
                (_, _, Some(x), Some(y)) => f(&a.metric, x.min(y), x.max(y))
                    .iter()
                    .map(|(_, n)| n)
                    .sum(),
                _ => 0,
            };
            let days: Vec<String> = f(&a.metric, a.start, to)
                .into_iter()
                .filter(|(_, n)| *n + cx.tolerance >= gap)
                .map(|(d, _)| d)
                .take(10)
                .collect();
            if days.is_empty() {
                String::new()
            } else {
                format!(
                    "; our calendar is open {} on {} between {} and {}: a holiday or other hours there on the helpdesk's side would explain it",
                    if gap > 0 {
                        format!("at least {}", human(gap))
                    } else {
                        "some time".to_string()
                    },
                    days.join(", "),
                    format_instant(a.start),
                    format_instant(to)
                )
            }
        }
        _ => String::new(),
    };
    cause(
        CauseKind::Calendar,
        format!(
            "same target, start and pauses, different business time{counted}: the calendars' hours or holidays differ{days}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::pair;
    use super::super::{compare, Context, Observed, Pause};
    use super::*;

    const H: i64 = 3600;

    fn sla(metric: &str, target: i64) -> Observed {
        Observed {
            metric: metric.into(),
            instance: 1,
            start: 0,
            target_seconds: Some(target),
            ..Observed::default()
        }
    }

    fn kinds(c: &[super::super::Comparison]) -> Vec<Vec<CauseKind>> {
        c.iter()
            .map(|c| c.causes.iter().map(|c| c.kind).collect())
            .collect()
    }

    #[test]
    fn agreement_has_no_cause() {
        let a = sla("first_response", H);
        let c = pair(a.clone(), a);
        assert_eq!(c[0].outcome, Outcome::Agree);
        assert!(c[0].causes.is_empty());
    }

    #[test]
    fn a_differing_target_is_named_with_both_values() {
        let ours = Observed {
            breached_at: Some(H),
            ..sla("first_response", H)
        };
        let theirs = Observed {
            breached_at: Some(2 * H),
            ..sla("first_response", 2 * H)
        };
        let c = pair(ours, theirs);
        assert_eq!(c[0].outcome, Outcome::Differ);
        assert_eq!(kinds(&c), vec![vec![CauseKind::Target]]);
        assert_eq!(c[0].causes[0].detail, "our target is 1h, the helpdesk's 2h");
    }

    fn pause_of_ours() -> Pause {
        Pause {
            from: H,
            to: Some(2 * H),
            status: Some("hold".into()),
        }
    }

    #[test]
    fn a_pause_on_one_side_only_names_the_stretch_and_status() {
        let pause = pause_of_ours();
        let ours = Observed {
            fulfilled_at: Some(4 * H),
            elapsed_seconds: Some(3 * H),
            paused: vec![pause],
            ..sla("resolution", 8 * H)
        };
        let theirs = Observed {
            elapsed_seconds: Some(4 * H),
            paused: vec![],
            ..ours.clone()
        };
        let c = pair(ours, theirs);
        assert_eq!(kinds(&c), vec![vec![CauseKind::PauseStatus]]);
        assert_eq!(
            c[0].causes[0].detail,
            "paused on our side only from 1970-01-01T01:00:00Z to 1970-01-01T02:00:00Z (status hold)"
        );
        // A helpdesk that does not say when it paused (JSM) is not said to
        // have paused nowhere.
        let ours = Observed {
            fulfilled_at: Some(4 * H),
            elapsed_seconds: Some(3 * H),
            paused: vec![pause_of_ours()],
            ..sla("resolution", 8 * H)
        };
        let unknown = Observed {
            elapsed_seconds: Some(4 * H),
            paused: vec![],
            pauses_unknown: true,
            ..ours.clone()
        };
        let c = pair(ours, unknown);
        assert!(
            c[0].causes.iter().all(|c| c.kind != CauseKind::PauseStatus),
            "{c:?}"
        );
        // The same pause on both sides, a minute apart, is no cause.
        let a = Pause {
            from: H,
            to: Some(2 * H),
            status: None,
        };
        let b = Pause {
            from: H + 30,
            to: Some(2 * H - 30),
            status: None,
        };
        assert!(same_pause(&a, &b, 60));
        assert!(!same_pause(&a, &Pause { to: None, ..b }, 60));
    }

    #[test]
    fn same_target_and_pauses_with_other_business_time_is_the_calendar() {
        let ours = Observed {
            breached_at: Some(10 * H),
            ..sla("first_response", H)
        };
        let theirs = Observed {
            breached_at: Some(34 * H),
            ..ours.clone()
        };
        // Our calendar: open 8h on each day (from its start), so 8h
        // between the two breaches.
        let days = |metric: &str, from: i64, to: i64| {
            assert_eq!(metric, "first_response");
            if (from, to) == (10 * H, 34 * H) {
                vec![
                    ("1970-01-01".to_string(), 4 * H),
                    ("1970-01-02".to_string(), 4 * H),
                ]
            } else {
                assert_eq!((from, to), (0, 34 * H));
                vec![
                    ("1970-01-01".to_string(), 8 * H),
                    ("1970-01-02".to_string(), 5 * H),
                ]
            }
        };
        let cx = Context {
            tolerance: 60,
            recorded: ["first_response".to_string()].into(),
            open_days: Some(&days),
            statuses: Vec::new(),
            incomplete: None,
        };
        let c = compare(&[ours], &[theirs], &cx);
        assert_eq!(kinds(&c), vec![vec![CauseKind::Calendar]]);
        let detail = &c[0].causes[0].detail;
        assert!(
            detail.contains("our calendar is open at least 8h on 1970-01-01 between"),
            "{detail}"
        );
    }

    #[test]
    fn a_retracted_breach_and_a_late_target_are_named() {
        let ours = Observed {
            breached_at: Some(H),
            fulfilled_at: Some(2 * H),
            elapsed_seconds: Some(2 * H),
            ..sla("first_response", H)
        };
        let theirs = Observed {
            retracted_breach_at: Some(H),
            target_set_at: Some(90 * 60),
            ..ours.clone()
        };
        let theirs = Observed {
            breached_at: None,
            target_seconds: Some(H),
            ..theirs
        };
        let c = pair(ours, theirs);
        assert_eq!(
            kinds(&c),
            vec![vec![
                CauseKind::RetractedBreach,
                CauseKind::PolicyAppliedLate
            ]]
        );
    }

    #[test]
    fn missing_sides_say_why() {
        let excluded = Observed {
            excluded: Some("tag no_sla".into()),
            ..sla("first_response", H)
        };
        let no_target = Observed {
            target_seconds: None,
            ..sla("resolution", H)
        };
        let theirs = vec![
            sla("first_response", H),
            sla("resolution", H),
            Observed {
                instance: 2,
                ..sla("resolution", H)
            },
        ];
        let ours = vec![
            excluded,
            no_target,
            sla("next_reply", H),
            Observed {
                instance: 3,
                ..sla("resolution", H)
            },
        ];
        let c = compare(&ours, &theirs, &Context::plain(&theirs, 60));
        let got: Vec<(&str, u32, Outcome, CauseKind)> = c
            .iter()
            .map(|c| (c.metric.as_str(), c.instance, c.outcome, c.causes[0].kind))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "first_response",
                    1,
                    Outcome::MissingOurs,
                    CauseKind::ExcludedOurs
                ),
                (
                    "next_reply",
                    1,
                    Outcome::MissingTheirs,
                    CauseKind::NoRecordTheirs
                ),
                (
                    "resolution",
                    1,
                    Outcome::MissingOurs,
                    CauseKind::NoTargetOurs
                ),
                (
                    "resolution",
                    2,
                    Outcome::MissingOurs,
                    CauseKind::NotMeasuredOurs
                ),
                (
                    "resolution",
                    3,
                    Outcome::MissingTheirs,
                    CauseKind::NotMeasuredTheirs
                ),
            ]
        );
        // Measured with no target on their side.
        let theirs = vec![Observed {
            target_seconds: None,
            ..sla("first_response", H)
        }];
        let c = compare(
            &[sla("first_response", H)],
            &theirs,
            &Context::plain(&theirs, 60),
        );
        assert_eq!(kinds(&c), vec![vec![CauseKind::NoTargetTheirs]]);
        // No target on either side: nothing to compare.
        let none = Observed {
            target_seconds: None,
            ..sla("first_response", H)
        };
        assert!(pair(none.clone(), none).is_empty());
    }

    /// Our calendar open around the clock, day by day (UTC).
    fn around_the_clock(_: &str, from: i64, to: i64) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        let mut t = from;
        while t < to {
            let day_end = (t.div_euclid(86_400) + 1) * 86_400;
            let end = day_end.min(to);
            let day = chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.date_naive().to_string())
                .unwrap_or_default();
            out.push((day, end - t));
            t = end;
        }
        out
    }

    /// Ours due at `due`, against a helpdesk that says only its due
    /// `theirs`, on a ticket open from 0, then `statuses`.
    fn due_only(
        ours: Observed,
        theirs_due: i64,
        breached: bool,
        statuses: Vec<Pause>,
    ) -> Vec<super::super::Comparison> {
        due_only_incomplete(ours, theirs_due, breached, statuses, None)
    }

    /// [`due_only`], our history of the ticket incomplete as `incomplete`
    /// says.
    fn due_only_incomplete(
        ours: Observed,
        theirs_due: i64,
        breached: bool,
        statuses: Vec<Pause>,
        incomplete: Option<&str>,
    ) -> Vec<super::super::Comparison> {
        let theirs = Observed {
            metric: ours.metric.clone(),
            instance: 1,
            start: theirs_due,
            due_at: Some(theirs_due),
            breached_at: breached.then_some(theirs_due),
            due_only: true,
            pauses_unknown: true,
            ..Observed::default()
        };
        let cx = Context {
            tolerance: 60,
            recorded: [ours.metric.clone()].into(),
            open_days: Some(&around_the_clock),
            statuses,
            incomplete: incomplete.map(str::to_string),
        };
        compare(&[ours], &[theirs], &cx)
    }

    fn ours_due(metric: &str, due: i64) -> Observed {
        Observed {
            due_at: Some(due),
            ..sla(metric, due)
        }
    }

    fn stretch(from: i64, to: Option<i64>, status: &str) -> Pause {
        Pause {
            from,
            to,
            status: Some(status.into()),
        }
    }

    #[test]
    fn against_dues_only_the_same_due_agrees_whatever_else_differs() {
        // Theirs has no target, start or fulfilment to compare.
        let ours = Observed {
            fulfilled_at: Some(H),
            elapsed_seconds: Some(H),
            ..ours_due("first_response", 2 * H)
        };
        let c = due_only(ours, 2 * H + 30, false, Vec::new());
        assert_eq!(c[0].outcome, Outcome::Agree, "{c:?}");
    }

    #[test]
    fn a_due_later_by_a_status_we_do_not_pause_on_is_that_status() {
        // Open 0-1h, "hold" (not paused on ours) 1h-3h, open again: their
        // due is 2h later than ours.
        let statuses = vec![
            stretch(0, Some(H), "open"),
            stretch(H, Some(3 * H), "hold"),
            stretch(3 * H, None, "open"),
        ];
        let c = due_only(ours_due("resolution", 8 * H), 10 * H, false, statuses);
        assert_eq!(c[0].outcome, Outcome::Differ);
        assert_eq!(c[0].differences[0].aspect, Aspect::Due);
        assert_eq!(kinds(&c), vec![vec![CauseKind::PauseStatus]]);
        assert!(
            c[0].causes[0].detail.contains("the ticket was hold"),
            "{}",
            c[0].causes[0].detail
        );
    }

    #[test]
    fn a_due_earlier_by_our_pause_is_our_pause() {
        let ours = Observed {
            paused: vec![stretch(H, Some(3 * H), "pending")],
            ..ours_due("resolution", 10 * H)
        };
        let c = due_only(ours, 8 * H, false, Vec::new());
        assert_eq!(kinds(&c), vec![vec![CauseKind::PauseStatus]]);
        assert!(
            c[0].causes[0].detail.contains("earlier by 2h"),
            "{}",
            c[0].causes[0].detail
        );
    }

    #[test]
    fn our_pause_as_long_as_the_open_time_before_our_due_on_its_day_is_not_that_day_closed() {
        // Paused 1h-1h30m on ours only: our due is 30m after midnight of
        // day 2, where our calendar has been open 30m by then. Day 2 closed
        // on one side would move the due by a whole day, not 30m.
        let ours = Observed {
            paused: vec![stretch(H, Some(H + 1800), "pending")],
            ..ours_due("resolution", 86_400 + 1800)
        };
        let c = due_only(ours, 86_400, false, Vec::new());
        assert_eq!(kinds(&c), vec![vec![CauseKind::PauseStatus]]);
    }

    #[test]
    fn a_history_ours_lacks_is_said_first_and_the_other_causes_kept() {
        let why = "ticket 7 changed on 1970-01-01, a day the helpdesk has not exported yet";
        let ours = Observed {
            fulfilled_at: Some(H - 600),
            ..ours_due("resolution", H)
        };
        let c = due_only_incomplete(ours.clone(), H, true, Vec::new(), Some(why));
        assert_eq!(
            kinds(&c),
            vec![vec![
                CauseKind::HistoryIncomplete,
                CauseKind::FulfilmentEvent
            ]]
        );
        assert_eq!(c[0].causes[0].detail, why);
        // An instance that agrees has no cause, incomplete or not.
        let c = due_only_incomplete(ours, H, false, Vec::new(), Some(why));
        assert_eq!(c[0].outcome, Outcome::Agree);
        assert!(c[0].causes.is_empty());
    }

    #[test]
    fn a_due_later_by_a_whole_open_day_is_the_calendar_and_names_the_day() {
        // Ours due on day 2 at 01:00; theirs a day later: day 2 is open for
        // 86,400 s on ours and closed on theirs.
        let c = due_only(
            ours_due("resolution", 86_400 + H),
            2 * 86_400 + H,
            true,
            Vec::new(),
        );
        assert_eq!(kinds(&c), vec![vec![CauseKind::Calendar]]);
        assert!(
            c[0].causes[0].detail.contains("1970-01-02"),
            "{}",
            c[0].causes[0].detail
        );
        let aspects: Vec<Aspect> = c[0].differences.iter().map(|d| d.aspect).collect();
        assert_eq!(aspects, vec![Aspect::Due, Aspect::Breached]);
    }

    #[test]
    fn any_other_difference_in_dues_is_a_target_and_equal_dues_with_one_breach_a_fulfilment() {
        let c = due_only(ours_due("first_response", H), 2 * H, false, Vec::new());
        assert_eq!(kinds(&c), vec![vec![CauseKind::Target]]);
        assert!(
            c[0].causes[0].detail.contains("later by 1h"),
            "{}",
            c[0].causes[0].detail
        );
        let ours = Observed {
            fulfilled_at: Some(H - 600),
            ..ours_due("first_response", H)
        };
        let c = due_only(ours, H, true, Vec::new());
        assert_eq!(kinds(&c), vec![vec![CauseKind::FulfilmentEvent]]);
    }
}
