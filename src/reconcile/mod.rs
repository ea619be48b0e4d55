//! Our clocks beside a helpdesk's own SLA record, instance by instance:
//! the pure comparison (no I/O, no clock reads), for the reconciliation
//! report, metrics and command.
//!
//! Each side is a list of [`Observed`] clock instances, named by our
//! metric and instance number (the helpdesk's side already mapped and
//! renumbered by its adapter, e.g. [`crate::sources::zendesk::sla::observed`];
//! ours from the engine's clocks by [`ours`]). An instance with no target
//! (or excluded, on our side) is no SLA: it is compared only to explain why
//! the other side's is missing. [`compare`] pairs them by
//! `(metric, instance)` and says of each pair:
//!
//! * `agree`: start, fulfilment, breached or not, the breach instant, the
//!   time that counted and the target (hence the due) all agree (instants
//!   and durations within the tolerance: Zendesk reports whole minutes);
//! * `differ`: with each [`Difference`] (ours and theirs);
//! * `missing_ours`: the helpdesk measured an instance under a target that
//!   we have no clock for (or only one without a target, or excluded);
//! * `missing_theirs`: we have a clock with a target that the helpdesk did
//!   not measure under one.
//!
//! What is compared only when both sides know it: the breach instant (when
//! both breached), and the time that counted (when both fulfilled: ours
//! the engine's elapsed time on the plan's calendar, theirs what the
//! helpdesk reported at fulfilment, in business minutes when its target was
//! in business hours). Paused time shows through the time that counted:
//! Zendesk reports how long a metric ran, not how long it was paused.
//!
//! Every outcome but `agree` comes with its likely [`Cause`]s
//! ([`mod@causes`]), each one a person can check against the ticket: a target
//! that differs, a status that pauses on one side only, a breach the
//! helpdesk retracted, a target applied after the clock started, a
//! different calendar (same target and pauses, different business time),
//! an exclusion or a missing target on one side, data missing on one side.
//! When nothing checkable explains a difference the cause is
//! `unexplained`, never left out.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::calendar::format_seconds;
use crate::engine::timeline::Change;
use crate::engine::{Clock, ClockState, Ticket};
use crate::policy::spec::{Status, TargetAmount};
use crate::policy::Policy;

pub mod causes;
pub mod store;

pub use causes::{causes, Cause, CauseKind};

/// What Zendesk reports to the minute is compared within this many
/// seconds.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 60;

/// A stretch of time one side's clock stood still.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Pause {
    pub from: i64,
    /// `None`: still paused.
    pub to: Option<i64>,
    /// The ticket's status when it began, when known (`pending`).
    pub status: Option<String>,
}

/// One clock instance as one side saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Observed {
    /// Our metric's name.
    pub metric: String,
    /// 1 and on, in our numbering.
    pub instance: u32,
    pub start: i64,
    pub fulfilled_at: Option<i64>,
    pub breached_at: Option<i64>,
    /// The time that counted, once fulfilled.
    pub elapsed_seconds: Option<i64>,
    /// The target it runs under, in seconds (business seconds when the
    /// target is in business hours); `None`: measured with no target.
    pub target_seconds: Option<i64>,
    /// Ours only: why the clock is excluded (an exclusion tag, ...).
    pub excluded: Option<String>,
    /// When it stood still.
    pub paused: Vec<Pause>,
    /// Theirs: when the helpdesk first gave it a target.
    pub target_set_at: Option<i64>,
    /// Theirs: when the helpdesk last gave it a target again (a target
    /// re-applied, e.g. on a priority change).
    pub retargeted_at: Option<i64>,
    /// Theirs: a breach the helpdesk recorded and then retracted.
    pub retracted_breach_at: Option<i64>,
    /// Theirs: the helpdesk does not say when the clock stood still (JSM's
    /// cycles say only whether one is paused now), so pauses are not
    /// compared.
    pub pauses_unknown: bool,
    /// When it is (or was) due: ours the engine's `due_at` (none while
    /// paused), theirs what the helpdesk says when it says only that.
    pub due_at: Option<i64>,
    /// Theirs: the helpdesk keeps only when the instance is due and whether
    /// it breached (Freshdesk's `fr_due_by` and `fr_escalated`, ...): the
    /// due and the breach are compared, nothing else. A breach it records
    /// is at its due.
    pub due_only: bool,
}

impl Observed {
    /// Under a target that counts (not excluded), or a due the helpdesk
    /// gave: an SLA to compare.
    pub fn is_sla(&self) -> bool {
        (self.target_seconds.is_some() || self.due_only) && self.excluded.is_none()
    }
}

/// How the two sides of one clock instance compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Agree,
    Differ,
    MissingOurs,
    MissingTheirs,
}

impl Outcome {
    /// Every outcome, in label order.
    pub const ALL: [Outcome; 4] = [
        Outcome::Agree,
        Outcome::Differ,
        Outcome::MissingOurs,
        Outcome::MissingTheirs,
    ];

    /// The label value (`agree`, `differ`, `missing_ours`, `missing_theirs`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agree => "agree",
            Self::Differ => "differ",
            Self::MissingOurs => "missing_ours",
            Self::MissingTheirs => "missing_theirs",
        }
    }
}

/// What differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    Start,
    Fulfilment,
    /// Breached on one side only (values: the breach instants, or none).
    Breached,
    BreachedAt,
    Elapsed,
    /// The targets (seconds) differ: so do the dues.
    Target,
    /// The due instants differ (compared only against a helpdesk that
    /// says the due and not the target).
    Due,
}

impl Aspect {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Fulfilment => "fulfilment",
            Self::Breached => "breached",
            Self::BreachedAt => "breached_at",
            Self::Elapsed => "elapsed",
            Self::Target => "target",
            Self::Due => "due",
        }
    }
}

/// One aspect that differs, with each side's value (an instant or seconds;
/// `None`: that side has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub aspect: Aspect,
    pub ours: Option<i64>,
    pub theirs: Option<i64>,
}

/// One clock instance compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub metric: String,
    pub instance: u32,
    pub outcome: Outcome,
    pub differences: Vec<Difference>,
    /// Why, for every outcome but `agree` (most likely first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
}

/// The local days (`YYYY-MM-DD`) our calendar of a metric is open on
/// between two instants, each with its open seconds between them.
pub type OpenDays<'a> = dyn Fn(&str, i64, i64) -> Vec<(String, i64)> + 'a;

/// What [`compare`] needs besides the two sides.
pub struct Context<'a> {
    /// Instants and durations this close are equal.
    pub tolerance: i64,
    /// Our metrics the helpdesk holds any record of for this ticket: an
    /// instance missing on its side of a metric it has no record of is
    /// data missing, not a clock it did not start.
    pub recorded: BTreeSet<String>,
    /// The local days on which our calendar of `metric` is open between
    /// two instants (`YYYY-MM-DD`), to name where a calendar difference
    /// lies; `None`: not named.
    pub open_days: Option<&'a OpenDays<'a>>,
    /// The ticket's statuses over time (each a stretch from one change to
    /// the next, the last one open), to name the status a difference in
    /// dues may come from when the helpdesk does not say when it paused.
    pub statuses: Vec<Pause>,
    /// [`Theirs::incomplete`].
    pub incomplete: Option<String>,
}

impl Context<'_> {
    /// The tolerance alone; every metric of `theirs` counts as recorded.
    pub fn plain(theirs: &[Observed], tolerance: i64) -> Context<'static> {
        Context {
            tolerance,
            recorded: theirs.iter().map(|o| o.metric.clone()).collect(),
            open_days: None,
            statuses: Vec::new(),
            incomplete: None,
        }
    }
}

/// Our side from the engine's clocks of `ticket` at `now`: every clock,
/// with its target in seconds (none for a clock with no target), its
/// exclusion, and the stretches it stood still in a status its metric
/// pauses on.
pub fn ours(policy: &Policy, ticket: &Ticket, clocks: &[Clock], now: i64) -> Vec<Observed> {
    let statuses = status_changes(ticket);
    clocks
        .iter()
        .map(|c| {
            let metric = policy.metrics.get(c.metric);
            let target = c
                .plan
                .zip(c.severity)
                .and_then(|(p, s)| policy.plans.get(p)?.target(s, c.metric));
            let target_seconds = match (c.state, target) {
                (ClockState::NoTarget, _) | (_, None) => None,
                (_, Some(t)) => match t.amount {
                    TargetAmount::None => None,
                    TargetAmount::Business(d) => Some(t.calendar.duration_seconds(d)),
                    TargetAmount::BusinessDays(n) => t
                        .calendar
                        .add_business_days(c.start, n)
                        .and_then(|due| t.calendar.business_seconds(c.start, due))
                        .ok(),
                },
            };
            let end = c.fulfilled_at.unwrap_or(now);
            let mut paused = metric.map_or_else(Vec::new, |m| {
                pauses_in(&statuses, c.start, end, |s| m.pauses_on(s))
            });
            // A pause the fulfilment ends, ends there.
            let mut met_while_paused = false;
            if let (Some(f), Some(last)) = (c.fulfilled_at, paused.last_mut()) {
                met_while_paused = last.to.is_none();
                last.to = last.to.or(Some(f));
            }
            Observed {
                metric: metric.map_or_else(|| "?".to_string(), |m| m.name.clone()),
                instance: c.instance,
                start: c.start,
                fulfilled_at: c.fulfilled_at,
                breached_at: c.breached_at,
                elapsed_seconds: c.fulfilled_at.map(|_| c.elapsed_seconds),
                target_seconds,
                excluded: (c.state == ClockState::Excluded)
                    .then(|| c.reason.clone().unwrap_or_else(|| "excluded".to_string())),
                paused,
                // Met while paused, the engine's due is where the clock
                // would have been due had it resumed at its fulfilment: a
                // projection no helpdesk shows (Freshdesk keeps the due as
                // it stood when the timer stopped), so not compared.
                due_at: c.due_at.filter(|_| !met_while_paused),
                ..Observed::default()
            }
        })
        .collect()
}

/// The ticket's status changes, in order.
fn status_changes(ticket: &Ticket) -> Vec<(i64, Status)> {
    let mut out: Vec<(i64, Status)> = ticket
        .events
        .iter()
        .filter_map(|e| match e.change {
            Change::Status { value } => Some((e.at, value)),
            _ => None,
        })
        .collect();
    out.sort_by_key(|(t, _)| *t);
    out
}

/// The ticket's statuses over time, by name: a stretch from each change of
/// status to the next (the last one open).
fn status_stretches(ticket: &Ticket) -> Vec<Pause> {
    let changes = status_changes(ticket);
    let mut out: Vec<Pause> = Vec::new();
    for (at, s) in changes {
        if out.last().and_then(|p| p.status.as_deref()) == Some(status_name(s)) {
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.to = Some(at);
        }
        out.push(Pause {
            from: at,
            to: None,
            status: Some(status_name(s).to_string()),
        });
    }
    out
}

/// The ticket's status at `t` (its last change at or before `t`), by name.
pub fn status_at(ticket: &Ticket, t: i64) -> Option<String> {
    status_changes(ticket)
        .into_iter()
        .rev()
        .find(|(at, _)| *at <= t)
        .map(|(_, s)| status_name(s).to_string())
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::New => "new",
        Status::Open => "open",
        Status::Pending => "pending",
        Status::Hold => "hold",
        Status::Solved => "solved",
        Status::Closed => "closed",
    }
}

/// The stretches of `[start, end)` the ticket spent in a status `pauses`
/// holds for.
fn pauses_in(
    statuses: &[(i64, Status)],
    start: i64,
    end: i64,
    pauses: impl Fn(Status) -> bool,
) -> Vec<Pause> {
    let mut out: Vec<Pause> = Vec::new();
    let mut open: Option<(i64, Status)> = None;
    let mut current = statuses
        .iter()
        .rev()
        .find(|(t, _)| *t <= start)
        .map(|(_, s)| *s);
    if let Some(s) = current.filter(|s| pauses(*s)) {
        open = Some((start, s));
    }
    for &(t, s) in statuses.iter().filter(|(t, _)| *t > start && *t < end) {
        if current == Some(s) {
            continue;
        }
        current = Some(s);
        match (open, pauses(s)) {
            (None, true) => open = Some((t, s)),
            (Some((from, was)), false) => {
                out.push(Pause {
                    from,
                    to: Some(t),
                    status: Some(status_name(was).to_string()),
                });
                open = None;
            }
            _ => {}
        }
    }
    if let Some((from, was)) = open {
        out.push(Pause {
            from,
            to: None,
            status: Some(status_name(was).to_string()),
        });
    }
    out
}

fn differences(ours: &Observed, theirs: &Observed, tolerance: i64) -> Vec<Difference> {
    let near = |a: i64, b: i64| (a - b).abs() <= tolerance;
    let mut out = Vec::new();
    let mut push = |aspect, ours: Option<i64>, theirs: Option<i64>| {
        out.push(Difference {
            aspect,
            ours,
            theirs,
        })
    };
    if theirs.due_only {
        // The helpdesk says the due and whether it breached, no more.
        if let (Some(a), Some(b)) = (ours.due_at, theirs.due_at) {
            if !near(a, b) {
                push(Aspect::Due, Some(a), Some(b));
            }
        }
        if ours.breached_at.is_some() != theirs.breached_at.is_some() {
            push(Aspect::Breached, ours.breached_at, theirs.breached_at);
        }
        return out;
    }
    if !near(ours.start, theirs.start) {
        push(Aspect::Start, Some(ours.start), Some(theirs.start));
    }
    match (ours.fulfilled_at, theirs.fulfilled_at) {
        (Some(a), Some(b)) if near(a, b) => {}
        (None, None) => {}
        (a, b) => push(Aspect::Fulfilment, a, b),
    }
    match (ours.breached_at, theirs.breached_at) {
        (Some(a), Some(b)) if !near(a, b) => push(Aspect::BreachedAt, Some(a), Some(b)),
        (Some(_), Some(_)) | (None, None) => {}
        (a, b) => push(Aspect::Breached, a, b),
    }
    if let (Some(a), Some(b)) = (ours.elapsed_seconds, theirs.elapsed_seconds) {
        if !near(a, b) {
            push(Aspect::Elapsed, Some(a), Some(b));
        }
    }
    if let (Some(a), Some(b)) = (ours.target_seconds, theirs.target_seconds) {
        if !near(a, b) {
            push(Aspect::Target, Some(a), Some(b));
        }
    }
    out
}

/// Every clock instance under a target on either side, paired by
/// `(metric, instance)` and compared, in that order, each outcome but
/// `agree` with its causes. An instance with no target (or excluded) on
/// both sides, or on the only side that has it, is left out.
pub fn compare(ours: &[Observed], theirs: &[Observed], cx: &Context<'_>) -> Vec<Comparison> {
    let mut keys: Vec<(&str, u32)> = ours
        .iter()
        .chain(theirs)
        .map(|o| (o.metric.as_str(), o.instance))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let find = |side: &'_ [Observed], metric: &str, instance: u32| {
        side.iter()
            .find(|o| o.metric == metric && o.instance == instance)
            .cloned()
    };
    keys.into_iter()
        .filter_map(|(metric, instance)| {
            let a = find(ours, metric, instance);
            let b = find(theirs, metric, instance);
            let sla = |o: &Option<Observed>| o.as_ref().is_some_and(Observed::is_sla);
            let (outcome, differences) = match (sla(&a), sla(&b)) {
                (false, false) => return None,
                (true, true) => {
                    let (Some(x), Some(y)) = (&a, &b) else {
                        return None;
                    };
                    let d = differences(x, y, cx.tolerance);
                    let outcome = if d.is_empty() {
                        Outcome::Agree
                    } else {
                        Outcome::Differ
                    };
                    (outcome, d)
                }
                (true, false) => (Outcome::MissingTheirs, Vec::new()),
                (false, true) => (Outcome::MissingOurs, Vec::new()),
            };
            let causes = causes(outcome, a.as_ref(), b.as_ref(), &differences, cx);
            Some(Comparison {
                metric: metric.to_string(),
                instance,
                outcome,
                differences,
                causes,
            })
        })
        .collect()
}

/// The helpdesk's side of one ticket, as its adapter reads it from the
/// store ([`crate::sources::Reconciler::theirs`]).
#[derive(Debug, Clone, Default)]
pub struct Theirs {
    /// Its clock instances, mapped to our metrics and renumbered as ours.
    pub observed: Vec<Observed>,
    /// Our metrics it holds any record of for this ticket.
    pub recorded: BTreeSet<String>,
    /// Our metrics compared with the helpdesk's at all (those the source's
    /// `reconcile:` maps to one of its own): the others are left out, not
    /// counted as missing on its side.
    pub compared: BTreeSet<String>,
    /// Our metrics of which the helpdesk keeps only the current instance
    /// (Freshdesk's `due_by` and `nr_due_by`): ours is cut to its last
    /// instance of each, which the helpdesk's one record is compared with
    /// whatever number its adapter gave it. When the helpdesk shows none,
    /// a last instance of ours already fulfilled is not compared (the
    /// helpdesk no longer shows a finished one); an open one is missing on
    /// its side.
    pub current_only: BTreeSet<String>,
    /// Why our copy of the ticket's history may lack changes the helpdesk
    /// has (a day it has not exported yet, or a history approximated from
    /// last values), in words that name the ticket's case; `None`: ours is
    /// complete. Said first of any instance that does not agree.
    pub incomplete: Option<String>,
}

/// One ticket reconciled: our clocks under `policy` at `now` beside
/// `theirs`, each pause of theirs given the ticket's status then, and a
/// calendar difference named by our target calendar's open days.
pub fn ticket(
    policy: &Policy,
    ticket: &Ticket,
    now: i64,
    theirs: Theirs,
    tolerance: i64,
) -> Vec<Comparison> {
    ticket_with_plan(policy, ticket, now, theirs, tolerance).1
}

/// [`ticket`], with the name of the ticket's plan (that of its last clock
/// with one).
pub fn ticket_with_plan(
    policy: &Policy,
    ticket: &Ticket,
    now: i64,
    theirs: Theirs,
    tolerance: i64,
) -> (Option<String>, Vec<Comparison>) {
    let clocks = crate::engine::evaluate(policy, ticket, now);
    with_clocks(policy, ticket, &clocks, now, theirs, tolerance)
}

/// [`ticket_with_plan`] with the ticket's clocks at `now` already
/// evaluated (the daemon's recompute has them).
pub fn with_clocks(
    policy: &Policy,
    ticket: &Ticket,
    clocks: &[Clock],
    now: i64,
    mut theirs: Theirs,
    tolerance: i64,
) -> (Option<String>, Vec<Comparison>) {
    let plan = clocks
        .iter()
        .rev()
        .find_map(|c| c.plan)
        .and_then(|p| policy.plans.get(p))
        .map(|p| p.name.clone());
    let mut ours = ours(policy, ticket, clocks, now);
    ours.retain(|o| theirs.compared.contains(&o.metric));
    for metric in &theirs.current_only {
        let last = ours
            .iter()
            .filter(|o| &o.metric == metric)
            .map(|o| o.instance)
            .max();
        let shown = theirs.observed.iter().any(|o| &o.metric == metric);
        ours.retain(|o| {
            &o.metric != metric || (Some(o.instance) == last && (shown || o.fulfilled_at.is_none()))
        });
        if let Some(last) = last {
            for o in theirs.observed.iter_mut().filter(|o| &o.metric == metric) {
                o.instance = last;
            }
        }
    }
    for o in &mut theirs.observed {
        for p in &mut o.paused {
            if p.status.is_none() {
                p.status = status_at(ticket, p.from);
            }
        }
    }
    let open_days = |metric: &str, from: i64, to: i64| -> Vec<(String, i64)> {
        let calendar = clocks.iter().find_map(|c| {
            let m = policy.metrics.get(c.metric)?;
            if m.name != metric {
                return None;
            }
            let t = policy.plans.get(c.plan?)?.target(c.severity?, c.metric)?;
            Some(t.calendar.clone())
        });
        let Some(calendar) = calendar else {
            return Vec::new();
        };
        let tz = calendar.timezone();
        let mut days: Vec<(String, i64)> = Vec::new();
        for (a, b) in calendar.open_intervals(from, to).unwrap_or_default() {
            let Some(day) = chrono::DateTime::from_timestamp(a, 0)
                .map(|d| d.with_timezone(&tz).date_naive().to_string())
            else {
                continue;
            };
            match days.last_mut() {
                Some((d, n)) if *d == day => *n += b - a,
                _ => days.push((day, b - a)),
            }
        }
        days
    };
    let cx = Context {
        tolerance,
        recorded: theirs.recorded,
        open_days: Some(&open_days),
        statuses: status_stretches(ticket),
        incomplete: theirs.incomplete,
    };
    (plan, compare(&ours, &theirs.observed, &cx))
}

/// One side's value of a difference for people: an instant, a duration
/// for the time that counted and the target, or `none`.
pub(crate) fn aspect_value(aspect: Aspect, v: Option<i64>) -> String {
    match (aspect, v) {
        (_, None) => "none".to_string(),
        (Aspect::Elapsed | Aspect::Target, Some(s)) => human(s),
        (_, Some(t)) => crate::time::format_instant(t),
    }
}

/// A duration for people (`1h30m`), signed.
pub(crate) fn human(seconds: i64) -> String {
    if seconds < 0 {
        format!("-{}", format_seconds(-seconds))
    } else {
        format_seconds(seconds)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn clock(metric: &str, instance: u32, start: i64) -> Observed {
        Observed {
            metric: metric.into(),
            instance,
            start,
            target_seconds: Some(3600),
            ..Observed::default()
        }
    }

    fn cx(theirs: &[Observed]) -> Context<'static> {
        Context::plain(theirs, DEFAULT_TOLERANCE_SECONDS)
    }

    /// One instance on each side, compared.
    pub(super) fn pair(ours: Observed, theirs: Observed) -> Vec<Comparison> {
        let theirs = [theirs];
        compare(&[ours], &theirs, &cx(&theirs))
    }

    #[test]
    fn equal_sides_agree_within_the_tolerance() {
        let ours = Observed {
            fulfilled_at: Some(1_000),
            elapsed_seconds: Some(900),
            ..clock("first_response", 1, 100)
        };
        // Zendesk to the minute: 40 s off on each instant.
        let theirs = Observed {
            start: 60,
            fulfilled_at: Some(1_040),
            elapsed_seconds: Some(960),
            ..ours.clone()
        };
        let c = pair(ours, theirs);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].outcome, Outcome::Agree, "{c:?}");
        assert!(c[0].differences.is_empty());
    }

    #[test]
    fn each_aspect_that_differs_is_named_with_both_values() {
        let ours = Observed {
            fulfilled_at: Some(10_000),
            breached_at: Some(7_200),
            elapsed_seconds: Some(9_000),
            ..clock("resolution", 1, 0)
        };
        let theirs = Observed {
            start: 600,
            fulfilled_at: Some(10_000),
            breached_at: None,
            elapsed_seconds: Some(5_400),
            ..clock("resolution", 1, 0)
        };
        let c = pair(ours, theirs);
        assert_eq!(c[0].outcome, Outcome::Differ);
        assert_eq!(
            c[0].differences,
            vec![
                Difference {
                    aspect: Aspect::Start,
                    ours: Some(0),
                    theirs: Some(600)
                },
                Difference {
                    aspect: Aspect::Breached,
                    ours: Some(7_200),
                    theirs: None
                },
                Difference {
                    aspect: Aspect::Elapsed,
                    ours: Some(9_000),
                    theirs: Some(5_400)
                },
            ]
        );
        // Both breached, at instants minutes apart; one side still open.
        let a = Observed {
            breached_at: Some(3_600),
            ..clock("first_response", 1, 0)
        };
        let b = Observed {
            breached_at: Some(7_200),
            fulfilled_at: Some(8_000),
            ..clock("first_response", 1, 0)
        };
        let c = pair(a, b);
        let aspects: Vec<Aspect> = c[0].differences.iter().map(|d| d.aspect).collect();
        assert_eq!(aspects, vec![Aspect::Fulfilment, Aspect::BreachedAt]);
    }

    #[test]
    fn an_instance_on_one_side_only_is_missing_on_the_other() {
        let ours = [clock("first_response", 1, 0), clock("resolution", 2, 500)];
        let theirs = [clock("first_response", 1, 0), clock("next_reply", 1, 300)];
        let c = compare(&ours, &theirs, &cx(&theirs));
        let got: Vec<(&str, u32, &str)> = c
            .iter()
            .map(|c| (c.metric.as_str(), c.instance, c.outcome.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("first_response", 1, "agree"),
                ("next_reply", 1, "missing_ours"),
                ("resolution", 2, "missing_theirs"),
            ]
        );
    }
}
