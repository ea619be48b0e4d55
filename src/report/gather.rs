//! Reads what a report needs from a [`Store`]: every ticket timeline that can
//! have a clock in the report's window, re-evaluated at the data cut-off,
//! plus the store's record of polls and late changes.
//!
//! Only store content decides the result (never the wall clock), so the same
//! store and config give the same [`Dataset`]:
//!
//! * **Cut-off.** [`ReportOptions::cutoff`] when given; otherwise the last
//!   completed poll of the source that is furthest behind (data from every
//!   source is complete up to it); with no poll recorded, the latest instant
//!   in the data (a ticket's creation or event); with no data at all, the
//!   month's end.
//! * **Clocks** are evaluated with [`evaluate`] at the cut-off from every
//!   timeline that changed in the report's month (or the day before it), so
//!   events after the cut-off are ignored and an open clock past its due is
//!   breached as of the cut-off. A ticket that changed last before that
//!   only counts for the trend and the credits: its stored clocks are used
//!   instead of its timeline when they are exactly what that evaluation
//!   would give (computed under this config from the ticket as it is now,
//!   and each decided for good by the cut-off); otherwise its timeline is
//!   read. A half-year of trend then costs the month's timelines, not six.
//! * Tickets created after the cut-off are left out.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::month::Month;
use super::{ReportError, ReportOptions};
use crate::calendar::{MAX_INSTANT, MIN_INSTANT};
use crate::engine::aggregate::Tally;
use crate::engine::{evaluate, Change, Clock, ClockView, Ticket};
use crate::policy::model::{PlanId, SeverityId};
use crate::policy::{Config, Policy};
use crate::store::{ActiveTicket, SettledTicket, Store, WindowTicket};

/// Months of attainment trend a report shows, ending with its month.
pub const TREND_MONTHS: u32 = 6;

/// Tickets read from the store at a time.
const CHUNK: usize = 500;

/// A customer organization.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrgRef {
    pub id: String,
    pub name: Option<String>,
}

impl OrgRef {
    /// `Acme (900)`, or the id alone.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.id),
            None => self.id.clone(),
        }
    }
}

/// One ticket as a report sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRecord {
    pub source: String,
    pub id: String,
    pub url: Option<String>,
    /// The organization after the ticket's last organization change.
    pub organization: Option<OrgRef>,
    pub created_at: i64,
    /// Priority values the ticket had that map to no severity, sorted.
    pub unmapped_priorities: Vec<String>,
    /// The ticket never had a priority nor an assigned severity (its
    /// severity is the default, if there is one).
    pub missing_priority: bool,
    /// Comments by authors the helpdesk's user list lacks.
    pub unknown_author_comments: usize,
    /// Where its events disagree with the helpdesk's ticket record.
    pub disagreements: Vec<crate::engine::crosscheck::Disagreement>,
    /// Instants at which the ticket's severity (by priority, or assigned)
    /// changed after creation.
    pub severity_changes: Vec<i64>,
    /// Clocks evaluated at the cut-off that start in the report's window.
    pub clocks: Vec<Clock>,
    /// The ticket's data changed in the store after the month closed and
    /// after the first synchronisation of its source (data of the first
    /// backfill is not late).
    pub changed_after_close: bool,
    /// The ticket's data changed in the store after the data cut-off of the
    /// first issue of this report ([`ReportOptions::first_issue`]).
    pub changed_since_first_issue: bool,
}

/// How the cut-off was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CutoffBasis {
    /// Given by the caller.
    Given,
    /// The last completed poll of this source (the one furthest behind).
    LastPoll { source: String },
    /// No poll recorded: the latest instant in the data.
    LatestData,
    /// No data: the month's end.
    MonthEnd,
}

/// A source's completed polls around the month (report zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePolls {
    pub source: String,
    /// The source's first completed poll ever: its first synchronisation
    /// (the end of its first backfill).
    pub first: Option<i64>,
    /// The last poll before the month.
    pub before: Option<i64>,
    /// Polls during the month, ascending.
    pub during: Vec<i64>,
    /// The first poll after the month.
    pub after: Option<i64>,
    /// Longer than this between polls is a gap.
    pub gap_threshold: i64,
}

/// Everything a report is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub month: Month,
    /// The zone "the month" is read in for polls, late data and tickets on
    /// no plan.
    pub timezone: Tz,
    pub cutoff: i64,
    pub cutoff_basis: CutoffBasis,
    /// The tickets of the month: created, or with a clock started, from a
    /// day before it on (the others are in [`Dataset::folded`] and
    /// [`Dataset::credit_counts`]; a customer report keeps all of that
    /// customer's). Sorted by source, then id (numbers in numeric order).
    pub tickets: Vec<TicketRecord>,
    pub polls: Vec<SourcePolls>,
    /// What the adapters read past or could not map in the month's
    /// helpdesk records: `(source, note)`.
    pub notes: Vec<(String, crate::sources::NoteRecord)>,
    pub plan: Option<PlanId>,
    pub customer: Option<OrgRef>,
    /// The data cut-off of the first issue of this report, when this one
    /// replaces it ([`ReportOptions::first_issue`]).
    pub first_issue: Option<i64>,
    /// Clocks of tickets that only count for the trend and credits
    /// (created, and all their clocks started, before the month), counted per plan
    /// and month (in the plan's zone) as they were read instead of kept in
    /// [`Dataset::tickets`]; without business times to fulfil, which only
    /// the report's month shows.
    pub folded: BTreeMap<(PlanId, Month), Tally>,
    /// SLA events and violations per credit table, organization (id) and
    /// plan, of the tickets created in the plan's credit period (the
    /// quarter to date, or the month; in the plan's zone), counted as the
    /// tickets were read ([`crate::engine::aggregate::counts_for_credit`]).
    pub credit_counts: BTreeMap<(usize, String, PlanId), (u64, u64)>,
    /// Every organization of the tickets read: id → name.
    pub organizations: BTreeMap<String, Option<String>>,
}

/// Sort key for ticket ids: numeric ids in numeric order, then the rest.
pub fn id_key(id: &str) -> (usize, &str) {
    (id.len(), id)
}

/// The instants a report window spans, widened by a day each side so any
/// plan's zone is covered.
fn window(month: Month) -> (i64, i64) {
    let mut first = month;
    for _ in 1..TREND_MONTHS {
        first = first.prev();
    }
    let (start, _) = first.bounds(chrono_tz::UTC);
    let (_, end) = month.bounds(chrono_tz::UTC);
    (start - 86_400, end + 86_400)
}

/// The severity of a ticket's current priority/assigned severity state.
fn severity_now(
    policy: &Policy,
    assigned: &Option<Option<SeverityId>>,
    by_priority: Option<SeverityId>,
) -> Option<SeverityId> {
    match assigned {
        Some(s) => s.or(by_priority).or(policy.default_severity),
        None => by_priority.or(policy.default_severity),
    }
}

/// What the report keeps of a timeline besides its clocks.
struct Described {
    organization: Option<OrgRef>,
    unmapped: Vec<String>,
    severity_changes: Vec<i64>,
    missing_priority: bool,
    unknown_author_comments: usize,
}

/// What the report keeps of a timeline besides its clocks.
fn describe(policy: &Policy, t: &Ticket) -> Described {
    let org_ref = |o: &crate::engine::Organization| OrgRef {
        id: o.id.clone(),
        name: o.name.clone(),
    };
    let mut org = t.organization.as_ref().map(org_ref);
    let mut unmapped: Vec<String> = Vec::new();
    let mut note = |v: &Option<String>| {
        if let Some(v) = v {
            if !v.trim().is_empty() && policy.severity_of(v).is_none() && !unmapped.contains(v) {
                unmapped.push(v.clone());
            }
        }
    };
    note(&t.priority);
    let mut by_priority = t.priority.as_deref().and_then(|p| policy.severity_of(p));
    let assigned_of = |v: &serde_json::Value| {
        v.as_str()
            .filter(|v| !v.is_empty())
            .map(|v| policy.severity_of(v))
    };
    let mut assigned: Option<Option<SeverityId>> = policy
        .severity_field
        .as_ref()
        .and_then(|f| t.fields.get(f))
        .and_then(assigned_of);
    let mut any_priority =
        t.priority.as_deref().is_some_and(|p| !p.trim().is_empty()) || assigned.is_some();
    let mut unknown_author_comments = 0;
    let mut current = severity_now(policy, &assigned, by_priority);
    let mut changes = Vec::new();
    let mut events: Vec<_> = t.events.iter().collect();
    events.sort_by_key(|e| e.at);
    for e in events {
        match &e.change {
            Change::Organization { value } => org = value.as_ref().map(org_ref),
            Change::Priority { value } => {
                note(value);
                any_priority |= value.as_deref().is_some_and(|p| !p.trim().is_empty());
                by_priority = value.as_deref().and_then(|p| policy.severity_of(p));
            }
            Change::Severity { value } => {
                any_priority |= value.is_some();
                assigned = value.as_ref().map(|v| policy.severity_of(v));
            }
            Change::Field { name, value }
                if policy.severity_field.as_deref() == Some(name.as_str()) =>
            {
                assigned = assigned_of(value);
                any_priority |= assigned.is_some();
            }
            Change::Comment {
                author: crate::engine::timeline::Author::Unknown,
                ..
            } => {
                unknown_author_comments += 1;
                continue;
            }
            _ => continue,
        }
        let next = severity_now(policy, &assigned, by_priority);
        if next != current && e.at > t.created_at {
            changes.push(e.at);
        }
        current = next;
    }
    unmapped.sort();
    Described {
        organization: org,
        unmapped,
        severity_changes: changes,
        missing_priority: !any_priority,
        unknown_author_comments,
    }
}

/// The latest instant in a timeline.
fn latest_instant(t: &Ticket) -> i64 {
    t.events.iter().map(|e| e.at).fold(t.created_at, i64::max)
}

/// The sources a report reads: the options' or the config's.
fn sources(config: &Config, options: &ReportOptions) -> Result<Vec<String>, ReportError> {
    let list: Vec<String> = if options.sources.is_empty() {
        config.sources.keys().cloned().collect()
    } else {
        options.sources.clone()
    };
    if list.is_empty() {
        return Err(ReportError::NoSources);
    }
    Ok(list)
}

/// Adds a clock to a tally, without its business time to fulfil.
fn fold(t: &mut Tally, c: &Clock) {
    t.add(c);
    t.fulfil_seconds.clear();
}

/// Reads the dataset of `month`'s report.
///
/// The tickets are streamed ([`Store::for_each_ticket_active_in`]) and each
/// is evaluated as it comes: a ticket that only counts for the trend
/// (created, and all its clocks started, before the month) is folded into
/// per-plan, per-month counts ([`Dataset::folded`]) and its SLA events into
/// credit counts ([`Dataset::credit_counts`]), and not kept: memory grows
/// with the tickets of the month, not of the six months read.
pub fn gather(
    store: &dyn Store,
    config: &Config,
    month: Month,
    options: &ReportOptions,
) -> Result<Dataset, ReportError> {
    let policy = &config.policy;
    let plan = match &options.plan {
        Some(name) => Some(
            policy
                .plan_id(name)
                .ok_or_else(|| ReportError::UnknownPlan {
                    plan: name.clone(),
                    known: policy.plans.iter().map(|p| p.name.clone()).collect(),
                })?,
        ),
        None => None,
    };
    let tz = options.timezone(config);
    let (month_start, month_end) = month.bounds(tz);
    let sources = sources(config, options)?;

    // Polls, and the cut-off.
    let mut polls = Vec::new();
    let mut notes = Vec::new();
    let mut furthest_behind: Option<(i64, String)> = None;
    for src in &sources {
        for n in store.notes(src, month_start, month_end)? {
            notes.push((src.clone(), n));
        }
        let earlier = store.polls(src, MIN_INSTANT, month_start)?;
        let before = earlier.last().copied();
        let during = store.polls(src, month_start, month_end)?;
        let later = store.polls(src, month_end, MAX_INSTANT)?;
        let first = earlier
            .first()
            .or(during.first())
            .or(later.first())
            .copied();
        let last = later.last().or(during.last()).copied().or(before);
        if let Some(last) = last {
            if furthest_behind.as_ref().is_none_or(|(t, _)| last < *t) {
                furthest_behind = Some((last, src.clone()));
            }
        }
        let interval = config
            .sources
            .get(src)
            .and_then(|s| s.poll_interval)
            .map_or(60, |d| d.seconds_with_day(86_400));
        polls.push(SourcePolls {
            source: src.clone(),
            first,
            before,
            during,
            after: later.first().copied(),
            gap_threshold: (3 * interval).max(3600),
        });
    }

    let (lo, hi) = window(month);
    let (cutoff, cutoff_basis) = match (options.cutoff, furthest_behind) {
        (Some(t), _) => (t, CutoffBasis::Given),
        (None, Some((t, source))) => (t, CutoffBasis::LastPoll { source }),
        (None, None) => {
            let mut latest: Option<i64> = None;
            for src in &sources {
                let list = store.ticket_ids(src)?;
                for chunk in list.chunks(CHUNK) {
                    for t in store.tickets(src, chunk)? {
                        let l = latest_instant(&t);
                        latest = Some(latest.map_or(l, |x| x.max(l)));
                    }
                }
            }
            match latest {
                Some(t) => (t, CutoffBasis::LatestData),
                None => (month_end, CutoffBasis::MonthEnd),
            }
        }
    };

    // Whatever the zone, a ticket created and with every clock started
    // before this instant is not of the month: it counts for the trend and
    // the credits only, which are counted as it passes.
    let keep_from = month.bounds(chrono_tz::UTC).0 - 86_400;
    // Each plan's credit table and period.
    let periods: Vec<Option<(usize, i64, i64)>> = policy
        .plans
        .iter()
        .map(|p| {
            let table_id = p.credits?;
            let table = policy.credits.get(table_id)?;
            let tz = p.calendar.timezone();
            let first = match table.period {
                crate::policy::spec::CreditPeriod::Quarter => month.quarter_start(),
                crate::policy::spec::CreditPeriod::Month => month,
            };
            Some((table_id, first.bounds(tz).0, month.bounds(tz).1))
        })
        .collect();
    // Per source: data stored up to its first completed poll came in its
    // first backfill, which is not late however long after the month it
    // came; and since when a change is news to the first issue.
    let changes: Vec<Changes> = sources
        .iter()
        .map(|src| {
            let first_sync = polls
                .iter()
                .find(|p| &p.source == src)
                .and_then(|p| p.first);
            // Up to and including the first poll's second: stored by the
            // backfill that poll completed.
            let late_since = first_sync.map_or(month_end, |f| (f + 1).max(month_end));
            Changes {
                source: src.clone(),
                late_since,
                first_issue_since: options.first_issue.map(|at| at.max(late_since)),
            }
        })
        .collect();
    let mut sorter = Sorter {
        policy,
        cutoff,
        window: (lo, hi),
        keep_from,
        periods,
        plan,
        // A customer report keeps only its candidates (by id or name); it
        // folds nothing, as the customer is known only once every ticket
        // was read.
        wanted: options.customer.as_deref().map(str::trim),
        tickets: Vec::new(),
        folded: BTreeMap::new(),
        credit_counts: BTreeMap::new(),
        orgs: BTreeMap::new(),
        fresh: Freshness {
            clocks_hash: &config.clocks_hash,
            cutoff,
            windowed_exclusions: policy.exclusions.iter().any(|x| x.window.is_some()),
        },
    };
    // Tickets that changed last before the month's trend-only part ends
    // are counted from their stored clocks where those are decided for
    // good ([`Sorter::settle`]); a customer report reads every timeline.
    let settled_before = (options.customer.is_none() && cutoff >= keep_from).then_some(keep_from);
    read_and_sort(store, &changes, (lo, hi), settled_before, &mut sorter)?;
    let Sorter {
        mut tickets,
        folded,
        mut credit_counts,
        orgs,
        ..
    } = sorter;

    let customer = match &options.customer {
        Some(c) => Some(resolve_customer(c, &orgs)?),
        None => None,
    };
    if let Some(c) = &customer {
        tickets.retain(|t| t.organization.as_ref().is_some_and(|o| o.id == c.id));
        credit_counts.retain(|(_, org, _), _| *org == c.id);
    }
    if let Some(p) = plan {
        for t in &mut tickets {
            t.clocks.retain(|c| c.plan == Some(p));
        }
        tickets.retain(|t| !t.clocks.is_empty());
    }
    tickets.sort_by(|a, b| {
        (a.source.as_str(), id_key(&a.id)).cmp(&(b.source.as_str(), id_key(&b.id)))
    });
    Ok(Dataset {
        month,
        timezone: tz,
        cutoff,
        cutoff_basis,
        tickets,
        polls,
        notes,
        plan,
        customer,
        first_issue: options.first_issue,
        folded,
        credit_counts,
        organizations: orgs,
    })
}

/// When a source's tickets count as changed late.
struct Changes {
    source: String,
    /// Stored at or after this: changed after the month closed.
    late_since: i64,
    /// Stored at or after this: changed since the report's first issue.
    first_issue_since: Option<i64>,
}

/// Tickets handed from the reading thread to the sorting one at a time.
const BATCH: usize = 256;

/// What the reading thread hands to the sorting one.
enum Batch {
    /// Tickets of the source at this index, to evaluate.
    Active(usize, Vec<ActiveTicket>),
    /// Tickets to count from their stored clocks if those can stand for an
    /// evaluation ([`Sorter::settle`]).
    Settled(Vec<SettledTicket>),
    /// Hand back the settled tickets that could not be counted so far.
    HandBack,
}

/// Reads every ticket of the window (each source in turn) on this thread
/// and sorts them on a second one: reading and decoding the store and
/// evaluating the timelines take about as long as each other, so the
/// report takes about the time of the longer instead of their sum.
///
/// With `settled_before`, the tickets that changed last before it come
/// without their timelines ([`Store::for_each_ticket_in_window`]); those
/// whose stored clocks cannot stand for an evaluation ([`Sorter::settle`])
/// are handed back once the source is read, and read whole.
fn read_and_sort(
    store: &dyn Store,
    changes: &[Changes],
    (lo, hi): (i64, i64),
    settled_before: Option<i64>,
    sorter: &mut Sorter<'_>,
) -> Result<(), ReportError> {
    let cutoff = sorter.cutoff;
    std::thread::scope(|scope| {
        // A few batches in flight: the reader stays ahead without memory
        // growing when sorting is the slower side.
        let (send, receive) = std::sync::mpsc::sync_channel::<Batch>(4);
        let (hand_back, handed_back) = std::sync::mpsc::channel::<Vec<String>>();
        let sorting = scope.spawn(move || {
            let mut unsettled = Vec::new();
            for batch in receive {
                match batch {
                    Batch::Active(source, tickets) => {
                        for t in tickets {
                            sorter.take(&changes[source], t);
                        }
                    }
                    Batch::Settled(tickets) => {
                        for t in tickets {
                            if !sorter.settle(&t) {
                                unsettled.push(t.id);
                            }
                        }
                    }
                    Batch::HandBack => {
                        if hand_back.send(std::mem::take(&mut unsettled)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let read = || -> Result<(), ReportError> {
            let mut sorter_gone = false;
            for (source, c) in changes.iter().enumerate() {
                let mut active = Outbox::new(&send, Batch::Active, source);
                let mut settled = Outbox::new(&send, |_, t| Batch::Settled(t), source);
                let until = settled_before.unwrap_or(lo);
                store.for_each_ticket_in_window(&c.source, (lo, until, hi), &mut |t| {
                    if sorter_gone {
                        return;
                    }
                    match t {
                        WindowTicket::Active(t) => {
                            if t.ticket.created_at <= cutoff && t.ticket.created_at < hi {
                                sorter_gone = !active.push(t);
                            }
                        }
                        WindowTicket::Settled(t) => sorter_gone = !settled.push(t),
                    }
                })?;
                sorter_gone |= !settled.flush() || !active.flush();
                // The settled tickets whose stored clocks could not be used
                // (another config or build of the engine, changed since, a
                // clock still open), read whole while the other thread goes
                // on sorting.
                let whole = match send.send(Batch::HandBack) {
                    Ok(()) => handed_back.recv().unwrap_or_default(),
                    Err(_) => Vec::new(),
                };
                store.for_each_ticket(&c.source, &whole, &mut |ticket| {
                    // Only counted, never kept: when its data was stored
                    // does not matter.
                    let t = ActiveTicket {
                        ticket,
                        stored_at: MIN_INSTANT,
                    };
                    if !sorter_gone {
                        sorter_gone = !active.push(t);
                    }
                })?;
                sorter_gone |= !active.flush();
                if sorter_gone {
                    // It panicked: its join below says so.
                    break;
                }
            }
            Ok(())
        };
        let result = read();
        drop(send);
        if let Err(panic) = sorting.join() {
            std::panic::resume_unwind(panic);
        }
        result
    })
}

/// Tickets of one kind and source on their way to the sorting thread, in
/// batches.
struct Outbox<'a, T> {
    send: &'a std::sync::mpsc::SyncSender<Batch>,
    wrap: fn(usize, Vec<T>) -> Batch,
    source: usize,
    batch: Vec<T>,
}

impl<'a, T> Outbox<'a, T> {
    fn new(
        send: &'a std::sync::mpsc::SyncSender<Batch>,
        wrap: fn(usize, Vec<T>) -> Batch,
        source: usize,
    ) -> Self {
        Outbox {
            send,
            wrap,
            source,
            batch: Vec::with_capacity(BATCH),
        }
    }

    /// Queues a ticket, sending the batch once full; false once the sorting
    /// thread is gone.
    fn push(&mut self, ticket: T) -> bool {
        self.batch.push(ticket);
        self.batch.len() < BATCH || self.flush()
    }

    /// Sends what is queued; false once the sorting thread is gone.
    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.send.send((self.wrap)(self.source, full)).is_ok()
    }
}

/// What a report keeps of each ticket it reads, and the counts of those it
/// does not keep.
struct Sorter<'a> {
    policy: &'a Policy,
    cutoff: i64,
    /// The instants the report's months span ([`window`]).
    window: (i64, i64),
    /// Tickets created, and with every clock started, before this count
    /// for the trend and credits only.
    keep_from: i64,
    /// Each plan's credit table and period: `(table, from, to)`.
    periods: Vec<Option<(usize, i64, i64)>>,
    plan: Option<PlanId>,
    /// The customer a customer report is for, as the user wrote it.
    wanted: Option<&'a str>,
    tickets: Vec<TicketRecord>,
    folded: BTreeMap<(PlanId, Month), Tally>,
    credit_counts: BTreeMap<(usize, String, PlanId), (u64, u64)>,
    orgs: BTreeMap<String, Option<String>>,
    /// Which stored clocks can stand for an evaluation.
    fresh: Freshness<'a>,
}

/// When a settled ticket's stored clocks are what an evaluation at the
/// cut-off would give.
#[derive(Clone, Copy)]
struct Freshness<'a> {
    /// The hash clocks are stored under ([`Config::clocks_hash`]): those
    /// stored under another were computed by another config or engine.
    clocks_hash: &'a str,
    cutoff: i64,
    /// Some exclusion of the policy has a time window.
    windowed_exclusions: bool,
}

impl Freshness<'_> {
    /// The ticket's stored clocks when they were stored under this config
    /// and engine and each is decided for good by the cut-off
    /// ([`decided_for_good`]).
    fn decided_clocks<'t>(&self, t: &'t SettledTicket) -> Option<Vec<ClockView<'t>>> {
        let (hash, blob) = t.clocks.as_ref()?;
        if hash != self.clocks_hash {
            return None;
        }
        let views = crate::store::decode_clocks(blob).ok()?;
        views
            .iter()
            .all(|v| decided_for_good(v, self.cutoff, self.windowed_exclusions))
            .then_some(views)
    }
}

impl Sorter<'_> {
    /// Evaluates one ticket at the cut-off, and keeps it or counts it.
    fn take(&mut self, changes: &Changes, active: ActiveTicket) {
        let ActiveTicket {
            ticket: t,
            stored_at,
        } = active;
        let policy = self.policy;
        let (lo, hi) = self.window;
        let Described {
            organization,
            unmapped: unmapped_priorities,
            severity_changes,
            missing_priority,
            unknown_author_comments,
        } = describe(policy, &t);
        if let Some(o) = &organization {
            self.know(&o.id, o.name.as_deref());
        }
        if let Some(w) = self.wanted {
            let candidate = organization.as_ref().is_some_and(|o| {
                o.id == w || o.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(w))
            });
            if !candidate {
                return;
            }
        }
        let plan = self.plan;
        let mut clocks: Vec<Clock> = evaluate(policy, &t, self.cutoff)
            .into_iter()
            .filter(|c| c.start >= lo && c.start < hi)
            .filter(|c| plan.is_none() || c.plan == plan)
            .collect();
        // Collected in place, the list keeps the capacity of the engine's:
        // kept for a month's tickets, that was a third of the report's
        // memory.
        clocks.shrink_to_fit();
        if clocks.is_empty() && (t.created_at < lo) {
            return;
        }
        let org = organization.as_ref().map(|o| o.id.as_str());
        self.count_credits(org, t.created_at, &clocks);
        if self.wanted.is_none()
            && t.created_at < self.keep_from
            && clocks.iter().all(|c| c.start < self.keep_from)
        {
            self.fold(&clocks);
            return;
        }
        // Only for the tickets kept: the others' are never shown.
        let disagreements = crate::engine::crosscheck::disagreements(
            &t,
            self.cutoff,
            crate::engine::crosscheck::CROSSCHECK_GRACE,
        );
        self.tickets.push(TicketRecord {
            source: changes.source.clone(),
            changed_after_close: stored_at >= changes.late_since,
            changed_since_first_issue: changes
                .first_issue_since
                .is_some_and(|since| stored_at >= since),
            id: t.id,
            url: t.url,
            organization,
            created_at: t.created_at,
            unmapped_priorities,
            missing_priority,
            unknown_author_comments,
            disagreements,
            severity_changes,
            clocks,
        });
    }

    /// Counts a ticket that changed last before the month from its stored
    /// clocks, as [`Sorter::take`] would from its timeline, when they are
    /// the clocks an evaluation at the cut-off would give: computed under
    /// this config from the ticket as it is now, and every one decided for
    /// good by then ([`decided_for_good`]). Otherwise counts nothing and
    /// says so (the timeline must be read).
    fn settle(&mut self, t: &SettledTicket) -> bool {
        let policy = self.policy;
        let Some(views) = self.fresh.decided_clocks(t) else {
            return false;
        };
        if self.wanted.is_some() {
            return false;
        }
        let Ok(clocks) = crate::engine::clocks_from_views(policy, &views) else {
            return false;
        };
        if clocks.iter().any(|c| c.start >= self.keep_from) || t.created_at >= self.keep_from {
            return false;
        }
        if let Some(id) = &t.organization_id {
            self.know(id, t.organization_name.as_deref());
        }
        let (lo, hi) = self.window;
        let plan = self.plan;
        let clocks: Vec<Clock> = clocks
            .into_iter()
            .filter(|c| c.start >= lo && c.start < hi)
            .filter(|c| plan.is_none() || c.plan == plan)
            .collect();
        self.count_credits(t.organization_id.as_deref(), t.created_at, &clocks);
        self.fold(&clocks);
        true
    }

    /// Remembers an organization's name.
    fn know(&mut self, id: &str, name: Option<&str>) {
        let e = self.orgs.entry(id.to_string()).or_default();
        if e.is_none() {
            *e = name.map(str::to_string);
        }
    }

    /// Counts the SLA events and violations of a ticket's clocks towards
    /// its organization's credits.
    fn count_credits(&mut self, organization: Option<&str>, created_at: i64, clocks: &[Clock]) {
        let Some(org) = organization else {
            return;
        };
        let policy = self.policy;
        let meta = crate::engine::aggregate::TicketMeta {
            id: String::new(),
            organization: None,
            created_at,
        };
        for c in clocks {
            let Some((p, Some((table, from, to)))) =
                c.plan.map(|p| (p, self.periods.get(p).copied().flatten()))
            else {
                continue;
            };
            if created_at >= from
                && created_at < to
                && crate::engine::aggregate::counts_for_credit(policy, table, &meta, c)
            {
                let e = self
                    .credit_counts
                    .entry((table, org.to_string(), p))
                    .or_default();
                e.0 += 1;
                if c.state == crate::engine::ClockState::Breached {
                    e.1 += 1;
                }
            }
        }
    }

    /// Counts clocks into the trend, per plan and month.
    fn fold(&mut self, clocks: &[Clock]) {
        for c in clocks {
            let Some(p) = c.plan else { continue };
            let tz = self.policy.plans[p].calendar.timezone();
            if let Some(m) = Month::containing(c.start, tz) {
                fold(self.folded.entry((p, m)).or_default(), c);
            }
        }
    }
}

/// Whether a stored clock of a ticket with no event after `cutoff` is in
/// the state an evaluation at `cutoff` would give, whenever it was
/// computed: fulfilled by then (its state no longer depends on the instant
/// of evaluation), or breached by then and unfulfilled, or without a
/// target; an unfulfilled clock only when no exclusion has a time window
/// (an open clock can run into one later and become excluded).
fn decided_for_good(
    v: &crate::engine::ClockView<'_>,
    cutoff: i64,
    windowed_exclusions: bool,
) -> bool {
    use crate::engine::ClockState::{Breached, Excluded, Met, NoTarget};
    let breach_by_cutoff = v.breached_at.is_none_or(|b| b <= cutoff);
    match v.fulfilled_at {
        Some(f) => {
            f <= cutoff
                && breach_by_cutoff
                && matches!(v.state, Met | Breached | Excluded | NoTarget)
        }
        None => {
            !windowed_exclusions
                && match v.state {
                    Breached => v.breached_at.is_some() && breach_by_cutoff,
                    NoTarget | Excluded => true,
                    _ => false,
                }
        }
    }
}

/// An organization by id, or by name (case-insensitive).
fn resolve_customer(
    wanted: &str,
    orgs: &BTreeMap<String, Option<String>>,
) -> Result<OrgRef, ReportError> {
    let w = wanted.trim();
    let found = orgs.get_key_value(w).or_else(|| {
        orgs.iter()
            .find(|(_, n)| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(w)))
    });
    match found {
        Some((id, name)) => Ok(OrgRef {
            id: id.clone(),
            name: name.clone(),
        }),
        None => {
            let mut known: Vec<String> = orgs
                .iter()
                .map(|(id, n)| {
                    OrgRef {
                        id: id.clone(),
                        name: n.clone(),
                    }
                    .label()
                })
                .collect();
            known.sort();
            Err(ReportError::UnknownCustomer {
                customer: wanted.to_string(),
                known,
            })
        }
    }
}
