//! The walk over one ticket's timeline (the rules are in the module docs of
//! [`super`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::timeline::{
    canonical_placed, field_matches, Author, Change, Event, Organization, Placed, Ticket,
    COMMENT_RANK, STATUS_RANK,
};
use super::{Clock, ClockState};
use crate::calendar::Calendar;
use crate::policy::model::{Metric, MetricId, PlanId, SeverityId, Target};
use crate::policy::spec::{MetricKindSpec, OnReopen, Status, TargetAmount};
use crate::policy::Policy;

/// Business time of clocks that have no calendar (no plan): wall-clock.
fn wall_clock() -> &'static Calendar {
    static ALWAYS: OnceLock<Calendar> = OnceLock::new();
    ALWAYS.get_or_init(|| Calendar::always("24x7"))
}

/// A clock's closed running periods, in order. Most clocks have one or
/// two (a clock that never pauses has one when it ends), kept in place;
/// more go to the heap.
#[derive(Debug, Clone, Default)]
struct Segments {
    inline: [(i64, i64); 2],
    len: u8,
    /// Every period once there are more than two.
    more: Vec<(i64, i64)>,
}

impl Segments {
    #[inline]
    fn push(&mut self, segment: (i64, i64)) {
        if self.more.is_empty() && usize::from(self.len) < self.inline.len() {
            self.inline[usize::from(self.len)] = segment;
            self.len += 1;
        } else {
            if self.more.is_empty() {
                self.more.extend_from_slice(&self.inline);
            }
            self.more.push(segment);
        }
    }

    #[inline]
    fn as_slice(&self) -> &[(i64, i64)] {
        if self.more.is_empty() {
            &self.inline[..usize::from(self.len)]
        } else {
            &self.more
        }
    }
}

/// A clock while the timeline is walked.
#[derive(Debug, Clone, Default)]
struct Work {
    metric: MetricId,
    instance: u32,
    start: i64,
    /// Closed running periods.
    segments: Segments,
    running_since: Option<i64>,
    fulfilled_at: Option<i64>,
    breached_at: Option<i64>,
    plan: Option<PlanId>,
    severity: Option<SeverityId>,
    /// When it is due given what is known (None: paused, no target, or
    /// not worked out yet: see `due_after`).
    due: Option<i64>,
    /// While the due is not worked out, an instant it is not before: a
    /// clock answered before then needs no calendar walk to know it is
    /// not breached.
    due_after: Option<i64>,
    /// The target in business seconds (and whether a due that falls on a
    /// closed instant moves to the next opening), for `goal_for`.
    goal: Option<(i64, bool)>,
    /// The plan and severity `goal` was resolved for: resolving a
    /// `business_days` target is a calendar walk, so it is redone only when
    /// they change.
    goal_for: Option<(Option<PlanId>, Option<SeverityId>)>,
    /// Why the clock was ended by a plan or severity change that left its
    /// metric without a target (it is then `excluded`, under the plan and
    /// severity it ran under).
    ended: Option<String>,
}

impl Work {
    fn is_open(&self) -> bool {
        self.fulfilled_at.is_none()
    }

    #[inline]
    fn stop(&mut self, t: i64) {
        if let Some(since) = self.running_since.take() {
            if t > since {
                self.segments.push((since, t));
            }
        }
    }
}

/// The target of a clock under a plan and severity.
fn target<'p>(policy: &'p Policy, w: &Work) -> Option<&'p Target> {
    policy.plans.get(w.plan?)?.target(w.severity?, w.metric)
}

/// Business seconds the target allows, on its calendar, and whether a due
/// instant that falls on a closed instant moves to the next opening
/// (`business_days` targets name a time of day on a business day).
fn target_seconds(t: &Target, start: i64) -> Option<(i64, bool)> {
    match t.amount {
        TargetAmount::None => None,
        TargetAmount::Business(d) => Some((t.calendar.duration_seconds(d), false)),
        TargetAmount::BusinessDays(n) => {
            let due = t.calendar.add_business_days(start, n).ok()?;
            Some((t.calendar.business_seconds(start, due).ok()?, true))
        }
    }
}

/// The instant the clock reaches `seconds` of running business time; `None`
/// while it is paused short of it.
fn due_of(
    w: &Work,
    cal: &Calendar,
    seconds: i64,
    snap_to_open: bool,
    resume_at: Option<i64>,
) -> Option<i64> {
    let finish = |t: i64| -> Option<i64> {
        if snap_to_open && !cal.is_open(t).ok()? {
            cal.next_open(t).ok()?
        } else {
            Some(t)
        }
    };
    let mut rem = seconds;
    for &(s, e) in w.segments.as_slice() {
        let b = cal.business_seconds(s, e).ok()?;
        if rem <= b {
            return finish(cal.deadline(s, rem).ok()?);
        }
        rem -= b;
    }
    let since = w.running_since.or(resume_at)?;
    finish(cal.deadline(since, rem).ok()?)
}

/// What the walk knows about the ticket at the current step.
struct Walk<'a> {
    policy: &'a Policy,
    organization: Option<&'a Organization>,
    tags: &'a [String],
    /// Copied only when a field event changes a field.
    fields: Cow<'a, BTreeMap<String, serde_json::Value>>,
    priority: Option<&'a str>,
    assigned: Option<&'a str>,
    group: Option<&'a str>,
    status: Status,
    plan: Option<PlanId>,
    severity: Option<SeverityId>,
    /// A reply (public agent comment) has happened.
    replied: bool,
    /// The clocks started so far are `slots[..live]`; the slots after
    /// them hold clocks of tickets walked before, kept so that a clock
    /// starts by overwriting one in place instead of moving a new one in.
    slots: Vec<Work>,
    live: usize,
    /// No open clock not yet breached is due before this (every due found
    /// lowers it): a step before it breaches nothing.
    next_due: i64,
}

impl<'a> Walk<'a> {
    fn match_plan(&self) -> Option<PlanId> {
        let org = self.organization;
        let found = self.policy.plans.iter().position(|p| {
            let m = &p.matcher;
            let org_tags =
                org.is_some_and(|o| m.organization_tags.iter().any(|t| o.tags.contains(t)));
            let org_id = org.is_some_and(|o| m.organization_ids.contains(&o.id));
            let org_field = match (&m.organization_field, org) {
                (Some(f), Some(o)) => o
                    .fields
                    .get(&f.name)
                    .is_some_and(|v| field_matches(v, &f.values)),
                _ => false,
            };
            let ticket_tags = m.ticket_tags.iter().any(|t| self.tags.contains(t));
            let ticket_field = m.ticket_field.as_ref().is_some_and(|f| {
                self.fields
                    .get(&f.name)
                    .is_some_and(|v| field_matches(v, &f.values))
            });
            org_tags || org_id || org_field || ticket_tags || ticket_field
        });
        found.or(self.policy.default_plan)
    }

    fn match_severity(&self) -> Option<SeverityId> {
        match (self.assigned, self.priority) {
            (Some(s), _) => self.policy.severity_of(s),
            (None, Some(p)) => self.policy.severity_of(p).or(self.policy.default_severity),
            (None, None) => self.policy.default_severity,
        }
    }

    fn should_run(&self, metric: MetricId) -> bool {
        !self.status.is_solved() && !self.policy.metrics[metric].pauses_on(self.status)
    }

    /// Recomputes a clock's due instant and breaches it if that is before `t`.
    fn refresh(&mut self, i: usize, t: i64) {
        let policy = self.policy;
        let w = &mut self.slots[i];
        if w.breached_at.is_some() {
            return;
        }
        let tgt = target(policy, w);
        if w.goal_for != Some((w.plan, w.severity)) {
            w.goal = tgt.and_then(|tg| target_seconds(tg, w.start));
            w.goal_for = Some((w.plan, w.severity));
        }
        w.due = None;
        w.due_after = None;
        let (Some(tg), Some((secs, snap))) = (tgt, w.goal) else {
            return;
        };
        // Business time never runs faster than wall time: a clock whose
        // closed running periods last less than its target in wall time
        // has used less than its target, and what is left takes at least
        // as long in wall time from where it runs again. A due not before
        // `t` cannot breach now: it is worked out only once a step reaches
        // that bound (`breach_until`), or at the end.
        let ran: i64 = w.segments.as_slice().iter().map(|&(s, e)| e - s).sum();
        if ran < secs {
            let Some(since) = w.running_since else {
                // Paused short of its target: no due.
                return;
            };
            let after = since.saturating_add(secs - ran);
            if after >= t {
                w.due_after = Some(after);
                self.next_due = self.next_due.min(after);
                return;
            }
        }
        w.due = due_of(w, &tg.calendar, secs, snap, None);
        if let Some(d) = w.due {
            if d < t {
                w.breached_at = Some(d);
            }
            self.next_due = self.next_due.min(d);
        }
    }

    fn start(&mut self, metric: MetricId, t: i64) {
        let instance = self.slots[..self.live]
            .iter()
            .filter(|c| c.metric == metric)
            .count() as u32
            + 1;
        let running = self.should_run(metric);
        let (plan, severity) = (self.plan, self.severity);
        let running_since = running.then_some(t);
        let i = self.live;
        if i == self.slots.len() {
            self.slots.push(Work::default());
        }
        // Every field written (the goal below): a slot of a clock before
        // becomes the clock starting, its periods' list keeping its memory.
        let w = &mut self.slots[i];
        w.metric = metric;
        w.instance = instance;
        w.start = t;
        w.segments.len = 0;
        w.segments.more.clear();
        w.running_since = running_since;
        w.fulfilled_at = None;
        w.breached_at = None;
        w.plan = plan;
        w.severity = severity;
        w.due = None;
        w.due_after = None;
        w.ended = None;
        self.live += 1;
        // `refresh` for a clock just started, in its usual cases: the goal
        // resolved for its plan and severity, no running period closed,
        // so a positive goal is not due before `t` plus the goal (or,
        // paused, not due at all). A goal of zero or less takes `refresh`.
        let tgt = target(self.policy, w);
        w.goal = tgt.and_then(|tg| target_seconds(tg, t));
        w.goal_for = Some((plan, severity));
        match (tgt, w.goal) {
            (Some(_), Some((secs, _))) if secs > 0 => {
                if let Some(since) = w.running_since {
                    let after = since.saturating_add(secs);
                    w.due_after = Some(after);
                    self.next_due = self.next_due.min(after);
                }
            }
            (Some(_), Some(_)) => self.refresh(i, t),
            _ => {}
        }
    }

    /// Ends a clock at `t` (its due is current: every change refreshed it,
    /// and the step began by breaching what fell due before `t`).
    #[inline]
    fn fulfil(&mut self, i: usize, t: i64) {
        let w = &mut self.slots[i];
        w.stop(t);
        w.fulfilled_at = Some(t);
    }

    fn is_open_of(&self, i: usize, kind: MetricKindSpec) -> bool {
        let w = &self.slots[i];
        w.is_open() && self.policy.metrics[w.metric].kind == kind
    }

    /// Ends every open clock of a kind whose metric `counts` at `t`.
    fn fulfil_open(&mut self, kind: MetricKindSpec, t: i64, counts: impl Fn(&Metric) -> bool) {
        for i in 0..self.live {
            if self.is_open_of(i, kind) && counts(&self.policy.metrics[self.slots[i].metric]) {
                self.fulfil(i, t);
            }
        }
    }

    /// Whether a clock of the metric is open (each metric counts on its own:
    /// two next_reply metrics with different settings start independently).
    fn open_metric(&self, metric: MetricId) -> bool {
        self.slots[..self.live]
            .iter()
            .any(|w| w.metric == metric && w.is_open())
    }

    /// Starts a clock of every metric of a kind.
    fn start_all(&mut self, kind: MetricKindSpec, t: i64) {
        let policy = self.policy;
        for &m in policy.metrics_of(kind) {
            self.start(m, t);
        }
    }

    /// Breaches every open clock whose due instant is before `t`.
    #[inline]
    fn breach_until(&mut self, t: i64) {
        // Most steps come before the earliest due: nothing to look at.
        if t > self.next_due {
            self.breach_due_before(t);
        }
    }

    /// [`Walk::breach_until`] once a step reached the earliest due.
    fn breach_due_before(&mut self, t: i64) {
        let policy = self.policy;
        let mut next = i64::MAX;
        for w in &mut self.slots[..self.live] {
            if w.is_open() && w.breached_at.is_none() {
                match w.due_after {
                    Some(after) if after >= t => {
                        next = next.min(after);
                        continue;
                    }
                    Some(_) => {
                        w.due_after = None;
                        w.due = match (target(policy, w), w.goal) {
                            (Some(tg), Some((secs, snap))) => {
                                due_of(w, &tg.calendar, secs, snap, None)
                            }
                            _ => None,
                        };
                    }
                    None => {}
                }
                if let Some(d) = w.due {
                    if d < t {
                        w.breached_at = Some(d);
                    } else {
                        next = next.min(d);
                    }
                }
            }
        }
        self.next_due = next;
    }

    /// Plan or severity changed: re-target every open clock not yet breached.
    /// A clock whose metric had a target and has none under the new plan
    /// and severity ends here, excluded with the reason, under the plan and
    /// severity it ran under: it can no longer be met or breached, and
    /// dropping it would hide it.
    fn retarget(&mut self, t: i64, plan_inputs: bool, severity_inputs: bool) {
        // The plan follows the organization, tags and fields only; the
        // severity the assigned severity and the priority only.
        let plan = if plan_inputs {
            self.match_plan()
        } else {
            self.plan
        };
        let severity = if severity_inputs {
            self.match_severity()
        } else {
            self.severity
        };
        if (plan, severity) == (self.plan, self.severity) {
            return;
        }
        let policy = self.policy;
        let plan_changed = plan != self.plan;
        self.plan = plan;
        self.severity = severity;
        for i in 0..self.live {
            let w = &mut self.slots[i];
            if !w.is_open() || w.breached_at.is_some() {
                continue;
            }
            if let (Some(_), Some(p), Some(s)) = (target(policy, w), plan, severity) {
                if policy.plans[p].target(s, w.metric).is_none() {
                    let (metric, plan, severity) = (
                        &policy.metrics[w.metric].name,
                        &policy.plans[p].name,
                        &policy.severities[s],
                    );
                    w.ended = Some(if plan_changed {
                        format!(
                            "plan changed to {plan}, which has no target for {metric} at severity {severity}"
                        )
                    } else {
                        format!(
                            "severity changed to {severity}, for which plan {plan} has no target for {metric}"
                        )
                    });
                    self.fulfil(i, t);
                    continue;
                }
            }
            w.plan = plan;
            w.severity = severity;
            self.refresh(i, t);
        }
    }

    /// Starts or stops running clocks after a status change.
    fn apply_running(&mut self, t: i64) {
        for i in 0..self.live {
            if !self.slots[i].is_open() {
                continue;
            }
            let run = self.should_run(self.slots[i].metric);
            let w = &mut self.slots[i];
            match (w.running_since.is_some(), run) {
                (true, false) => w.stop(t),
                (false, true) => w.running_since = Some(t),
                _ => continue,
            }
            self.refresh(i, t);
        }
    }

    /// The group changed: hand-off ends the old tier's clock, and the
    /// assignment starts the new tier's clock, unless the step leaves the
    /// ticket solved (`ends_solved`): an assignment and a solve in one step
    /// start nothing.
    fn change_group(&mut self, group: Option<&'a str>, t: i64, ends_solved: bool) {
        if group == self.group {
            return;
        }
        self.fulfil_open(MetricKindSpec::TierResponse, t, |_| true);
        self.group = group;
        if !ends_solved {
            self.start_tier_clocks(t);
        }
    }

    /// Starts the clock of every tier metric of the current group: only at
    /// an assignment (creation in the group, or a `group` event), never at a
    /// reopen.
    fn start_tier_clocks(&mut self, t: i64) {
        let Some(group) = self.group else { return };
        let policy = self.policy;
        for &m in policy.metrics_of(MetricKindSpec::TierResponse) {
            if policy.metrics[m].group.as_deref() == Some(group) {
                self.start(m, t);
            }
        }
    }
}

/// The assigned severity a severity field's value names (text, not empty).
fn assigned_of(value: Option<&serde_json::Value>) -> Option<&str> {
    value.and_then(|v| v.as_str()).filter(|v| !v.is_empty())
}

/// The solve the helpdesk's ticket record shows and the events never
/// brought: the record says solved or closed, and the last status at or
/// before its `updated_at` is not.
fn unseen_solve(ticket: &Ticket, events: &[Placed]) -> Option<Event> {
    let current = ticket.current.as_ref()?;
    let status = current.status.filter(|s| s.is_solved())?;
    let created = ticket.created_at;
    let last = events
        .iter()
        .filter(|e| e.at <= current.updated_at.max(created))
        .filter_map(|e| match e.event.change {
            Change::Status { value } => Some(value),
            _ => None,
        })
        .next_back()
        .or(ticket.status);
    if last.is_some_and(|s| s.is_solved()) {
        return None;
    }
    Some(Event {
        id: Some("current.status".to_string()),
        at: current.updated_at,
        change: Change::Status { value: status },
    })
}

/// How much of each clock an evaluation works out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Every field of every clock.
    Full,
    /// What counting clocks by state needs, and no more: each clock's
    /// metric, instance, plan, severity, start, state, fulfilment and
    /// breach are those [`Detail::Full`] gives; its due, reason, elapsed,
    /// paused and remaining time are left empty (`None`, 0). The business
    /// time of each clock's span, the due of a clock met while paused and
    /// the reasons' text are not worked out.
    States,
}

/// Every clock instance of `ticket` under `policy`, as of `now`.
pub fn evaluate(policy: &Policy, ticket: &Ticket, now: i64) -> Vec<Clock> {
    let mut out = Vec::new();
    evaluate_into(policy, ticket, now, &mut out);
    out
}

/// [`evaluate`] into `out`, replacing what it held: a caller evaluating
/// ticket after ticket keeps the list's memory.
pub fn evaluate_into(policy: &Policy, ticket: &Ticket, now: i64, out: &mut Vec<Clock>) {
    evaluate_with(policy, ticket, now, Detail::Full, out);
}

/// [`evaluate_into`], working out each clock to the `detail` asked for.
pub fn evaluate_with(
    policy: &Policy,
    ticket: &Ticket,
    now: i64,
    detail: Detail,
    out: &mut Vec<Clock>,
) {
    let created = ticket.created_at;
    let mut events = canonical_placed(&ticket.events, created);
    let unseen = unseen_solve(ticket, &events);
    if let Some(e) = &unseen {
        let at = e.at.max(created);
        // After everything else at its instant: it is the step's status.
        let i = events.partition_point(|x| x.at <= at);
        events.insert(
            i,
            Placed {
                at,
                rank: STATUS_RANK,
                event: e,
            },
        );
    }
    let now = now.max(created);

    let mut walk = Walk {
        policy,
        organization: ticket.organization.as_ref(),
        tags: &ticket.tags,
        fields: Cow::Borrowed(&ticket.fields),
        priority: ticket.priority.as_deref(),
        assigned: assigned_of(
            policy
                .severity_field
                .as_ref()
                .and_then(|f| ticket.fields.get(f)),
        ),
        group: ticket.group.as_deref(),
        status: ticket.status.unwrap_or(Status::New),
        plan: None,
        severity: None,
        replied: false,
        next_due: i64::MAX,
        slots: SCRATCH.take(),
        live: 0,
    };
    walk.plan = walk.match_plan();
    walk.severity = walk.match_severity();
    walk.start_all(MetricKindSpec::FirstResponse, created);
    walk.start_all(MetricKindSpec::Resolution, created);
    if !walk.status.is_solved() {
        walk.start_tier_clocks(created);
    }

    let mut i = 0;
    while i < events.len() && events[i].at <= now {
        let t = events[i].at;
        let mut j = i + 1;
        while j < events.len() && events[j].at == t {
            j += 1;
        }
        step(&mut walk, &events[i..j], t);
        i = j;
    }
    walk.breach_until(now);
    finish(&walk, ticket, now, detail, out);
    SCRATCH.set(std::mem::take(&mut walk.slots));
}

thread_local! {
    /// The clocks' slots of the tickets walked on this thread, kept for
    /// their memory: a clock starts in a slot of a clock before it.
    static SCRATCH: std::cell::Cell<Vec<Work>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Applies one step: all events at instant `t`.
fn step<'a>(walk: &mut Walk<'a>, events: &[Placed<'a>], t: i64) {
    walk.breach_until(t);
    let was_solved = walk.status.is_solved();
    // The step's events are in canonical order, so its phases follow each
    // other: attributes, then comments, then status changes.
    let comments_from = events.partition_point(|e| e.rank < COMMENT_RANK);
    let statuses_from = events.partition_point(|e| e.rank < STATUS_RANK);
    let (attributes_of, comments, statuses) = (
        &events[..comments_from],
        &events[comments_from..statuses_from],
        &events[statuses_from..],
    );
    // Whether the ticket is solved once the step's status changes apply.
    let ends_solved = statuses
        .iter()
        .filter_map(|e| match e.event.change {
            Change::Status { value } => Some(value),
            _ => None,
        })
        .next_back()
        .unwrap_or(walk.status)
        .is_solved();

    // Phase 0: attributes.
    let mut new_group = walk.group;
    let mut attributes = false;
    let (mut plan_inputs, mut severity_inputs) = (false, false);
    for e in attributes_of {
        attributes = true;
        match &e.event.change {
            Change::Organization { value } => {
                walk.organization = value.as_ref();
                plan_inputs = true;
            }
            Change::Tags { value } => {
                walk.tags = value;
                plan_inputs = true;
            }
            Change::Priority { value } => {
                walk.priority = value.as_deref();
                severity_inputs = true;
            }
            Change::Severity { value } => {
                walk.assigned = value.as_deref();
                severity_inputs = true;
            }
            Change::Group { value } => new_group = value.as_deref(),
            Change::Field { name, value } => {
                if walk.policy.severity_field.as_deref() == Some(name.as_str()) {
                    walk.assigned = assigned_of(Some(value));
                    severity_inputs = true;
                }
                walk.fields.to_mut().insert(name.clone(), value.clone());
                plan_inputs = true;
            }
            _ => {}
        }
    }
    if attributes {
        walk.retarget(t, plan_inputs, severity_inputs);
        walk.change_group(new_group, t, ends_solved);
    }

    // Phase 1: comments, one by one in the helpdesk's order: a reply after
    // a requester comment of the same instant answers it.
    let mut replied_now = false;
    let mut noted_now = false;
    for e in comments {
        let Change::Comment { author, public } = e.event.change else {
            continue;
        };
        match author {
            Author::Agent => {
                // Tier clocks end at any agent comment; first response,
                // next reply and update clocks at a reply, or at a note
                // where the metric counts notes. (One pass: ending one
                // clock changes nothing for another.)
                for i in 0..walk.live {
                    if !walk.slots[i].is_open() {
                        continue;
                    }
                    let m = &walk.policy.metrics[walk.slots[i].metric];
                    let ends = match m.kind {
                        MetricKindSpec::TierResponse => true,
                        MetricKindSpec::FirstResponse
                        | MetricKindSpec::NextReply
                        | MetricKindSpec::PeriodicUpdate => public || m.count_internal_notes,
                        MetricKindSpec::Resolution => false,
                    };
                    if ends {
                        walk.fulfil(i, t);
                    }
                }
                if public {
                    replied_now = true;
                } else {
                    noted_now = true;
                }
            }
            // After a reply (earlier, or earlier in this step), in a step
            // that leaves the ticket open: a requester comment on a solved
            // ticket starts a clock only if the same step reopens it.
            Author::Requester if public && (walk.replied || replied_now) && !ends_solved => {
                let policy = walk.policy;
                for &m in policy.metrics_of(MetricKindSpec::NextReply) {
                    if !walk.open_metric(m) {
                        walk.start(m, t);
                    }
                }
            }
            _ => {}
        }
    }

    // Phase 2: status.
    let status_before = walk.status;
    for e in statuses {
        if let Change::Status { value } = e.event.change {
            walk.status = value;
        }
    }
    let solved = walk.status.is_solved();
    if solved && !was_solved {
        // A solve ends every open clock, of every kind.
        for i in 0..walk.live {
            if walk.slots[i].is_open() {
                walk.fulfil(i, t);
            }
        }
    }
    // Every open clock runs or not as the status says (each started or
    // changed since under the status of then): only a new status changes
    // that.
    if walk.status != status_before {
        walk.apply_running(t);
    }
    let reopened = was_solved && !solved;
    if reopened {
        let policy = walk.policy;
        for &m in policy.metrics_of(MetricKindSpec::Resolution) {
            match walk.policy.metrics[m].on_reopen {
                OnReopen::Restart => walk.start(m, t),
                OnReopen::Continue => {
                    let last = (0..walk.live).rev().find(|&i| walk.slots[i].metric == m);
                    // A clock a plan change ended stays ended: there is
                    // nothing to continue, so a new one starts.
                    if last.is_some_and(|i| walk.slots[i].ended.is_some()) {
                        walk.start(m, t);
                    } else if let Some(i) = last {
                        let run = walk.should_run(m);
                        let (plan, severity) = (walk.plan, walk.severity);
                        let w = &mut walk.slots[i];
                        w.fulfilled_at = None;
                        w.running_since = run.then_some(t);
                        // Open again: a due already passed under its old
                        // target breaches it (it was met exactly at its due
                        // and runs on); otherwise it is re-targeted to the
                        // plan and severity of now, from its original start.
                        walk.refresh(i, t);
                        let w = &mut walk.slots[i];
                        if w.breached_at.is_none() && (w.plan, w.severity) != (plan, severity) {
                            w.plan = plan;
                            w.severity = severity;
                            walk.refresh(i, t);
                        }
                    }
                }
            }
        }
    }

    // Clocks that start now, if the ticket is (still or again) open.
    if !solved {
        let policy = walk.policy;
        let replied_before = walk.replied || replied_now;
        for &m in policy.metrics_of(MetricKindSpec::PeriodicUpdate) {
            // A counted internal note ends a window and, like a reply,
            // starts the next one (once the first reply has opened them).
            // A reopen starts one whether or not the ticket had a reply: a
            // reopened ticket is owed updates again.
            let update = replied_now
                || (noted_now && replied_before && policy.metrics[m].count_internal_notes);
            if (update || reopened) && !walk.open_metric(m) {
                walk.start(m, t);
            }
        }
    }
    walk.replied |= replied_now;
}

/// Turns the walk's clocks into results at `now`, to the `detail` asked for.
fn finish(walk: &Walk<'_>, ticket: &Ticket, now: i64, detail: Detail, out: &mut Vec<Clock>) {
    let policy = walk.policy;
    let full = detail == Detail::Full;
    // Without the detail, an exclusion's reason is not written out: an
    // empty text (which allocates nothing) stands for it.
    let text = |make: &dyn Fn() -> String| if full { make() } else { String::new() };
    out.clear();
    out.reserve(walk.live);
    // The reasons and support hours depend on the ticket, the plan and the
    // severity, not on the clock: each worked out once.
    let mut no_plan: Option<String> = None;
    let mut no_severity: Option<String> = None;
    let mut in_hours: Vec<((PlanId, Option<SeverityId>), bool)> = Vec::new();
    for w in &walk.slots[..walk.live] {
        let plan = w.plan.and_then(|p| policy.plans.get(p));
        let tgt = target(policy, w);
        // A tracked metric needs a target on the plan for the severity.
        let mut exclusion: Option<String> = match (plan, w.severity) {
            (None, _) if full => Some(no_plan.get_or_insert_with(|| no_plan_reason(walk)).clone()),
            (Some(_), None) if full => Some(
                no_severity
                    .get_or_insert_with(|| no_severity_reason(walk))
                    .clone(),
            ),
            (None, _) | (Some(_), None) => Some(String::new()),
            (Some(_), Some(_)) if tgt.is_none() => continue,
            _ => w.ended.as_ref().map(|e| text(&|| e.clone())),
        };
        let end = w.fulfilled_at.unwrap_or(now).max(w.start);
        let (span, elapsed) = if full {
            let cal: &Calendar = tgt
                .map(|t| t.calendar.as_ref())
                .or(plan.map(|p| p.calendar.as_ref()))
                .unwrap_or(wall_clock());
            let open_tail = match (w.running_since, w.fulfilled_at) {
                (Some(since), None) if end > since => Some((since, end)),
                _ => None,
            };
            let span = cal.business_seconds(w.start, end).unwrap_or(0);
            // A clock that ran from its start to its end without a pause
            // ran its whole span.
            let elapsed: i64 = match (w.segments.as_slice(), open_tail) {
                ([], Some(run)) | (&[run], None) if run == (w.start, end) => span,
                _ => w
                    .segments
                    .as_slice()
                    .iter()
                    .chain(open_tail.iter())
                    .map(|&(s, e)| cal.business_seconds(s, e).unwrap_or(0))
                    .sum(),
            };
            (span, elapsed)
        } else {
            (0, 0)
        };
        let target_secs = if w.goal_for == Some((w.plan, w.severity)) {
            w.goal
        } else {
            tgt.and_then(|t| target_seconds(t, w.start))
        };

        if exclusion.is_none() {
            if let (Some(p), Some(plan_id)) = (plan, w.plan) {
                // Support hours as credits judge them: the calendar of the
                // plan's first-response target for the severity.
                let mut in_support_hours = || {
                    let key = (plan_id, w.severity);
                    if let Some(&(_, yes)) = in_hours.iter().find(|(k, _)| *k == key) {
                        return yes;
                    }
                    let yes =
                        policy.created_in_support_hours(plan_id, w.severity, ticket.created_at);
                    in_hours.push((key, yes));
                    yes
                };
                if p.only_created_in_business_hours && !in_support_hours() {
                    exclusion = Some(text(&|| {
                        let (name, _) = policy.support_calendar(plan_id, w.severity);
                        format!("created outside the business hours of calendar {name}")
                    }));
                }
            }
        }
        if exclusion.is_none() {
            exclusion = policy
                .exclusions
                .iter()
                .find(|x| {
                    (x.plans.is_empty() || w.plan.is_some_and(|p| x.plans.contains(&p)))
                        && (x.severities.is_empty()
                            || w.severity.is_some_and(|s| x.severities.contains(&s)))
                        && (x.metrics.is_empty() || x.metrics.contains(&w.metric))
                        && (x.ticket_tags.is_empty()
                            || x.ticket_tags.iter().any(|t| walk.tags.contains(t)))
                        && x.ticket_field.as_ref().is_none_or(|f| {
                            walk.fields
                                .get(&f.name)
                                .is_some_and(|v| field_matches(v, &f.values))
                        })
                        && x.window
                            .is_none_or(|(from, to)| w.start < to && end.max(w.start + 1) > from)
                })
                .map(|x| text(&|| x.reason.clone()));
        }

        // The due instant: as walked; for a clock met while paused short of
        // its target, when it would have been due had it kept running.
        // (An open clock's due is the walk's: only a clock met while paused
        // needs one worked out, which counting by state does not.)
        let due = match (tgt, target_secs) {
            (Some(t), Some((secs, snap))) => w.breached_at.or(w.due).or_else(|| {
                let resume = w.fulfilled_at;
                full.then(|| due_of(w, &t.calendar, secs, snap, resume))
                    .flatten()
            }),
            _ => None,
        };
        let (state, due_at, breached_at) = if exclusion.is_some() {
            (ClockState::Excluded, due, None)
        } else if target_secs.is_none() {
            (ClockState::NoTarget, None, None)
        } else if let Some(b) = w.breached_at {
            (ClockState::Breached, Some(b), Some(b))
        } else if w.fulfilled_at.is_some() {
            (ClockState::Met, due, None)
        } else if w.running_since.is_none() {
            (ClockState::Paused, None, None)
        } else {
            match due {
                Some(d) if now > d => (ClockState::Breached, Some(d), Some(d)),
                _ => (ClockState::Active, due, None),
            }
        };
        out.push(Clock {
            metric: w.metric,
            instance: w.instance,
            plan: w.plan,
            severity: w.severity,
            start: w.start,
            due_at: due_at.filter(|_| full),
            state,
            reason: exclusion.filter(|_| full),
            fulfilled_at: w.fulfilled_at,
            breached_at,
            elapsed_seconds: elapsed,
            paused_seconds: span - elapsed,
            remaining_seconds: match (w.fulfilled_at, target_secs) {
                (None, Some((secs, _))) if full => Some(secs - elapsed),
                _ => None,
            },
        });
    }
    // Instances are numbered per metric in start order. Clocks start in
    // time order, so the list is most often in that order already (a sort
    // of a list in order still moves each clock out and back).
    let key = |c: &Clock| (c.metric, c.start, c.instance);
    if !out.is_sorted_by_key(key) {
        out.sort_by_key(key);
    }
}

fn no_plan_reason(walk: &Walk<'_>) -> String {
    match walk.organization {
        Some(o) => format!("no plan matches the ticket (organization {})", o.id),
        None => {
            "no plan matches the ticket (no organization) and no plan is the default".to_string()
        }
    }
}

fn no_severity_reason(walk: &Walk<'_>) -> String {
    match (walk.assigned, walk.priority) {
        (Some(s), _) => format!("assigned severity \"{s}\" is not a configured severity"),
        (None, Some(p)) => {
            format!("priority \"{p}\" maps to no severity and there is no default_severity")
        }
        (None, None) => "the ticket has no priority and there is no default_severity".to_string(),
    }
}
