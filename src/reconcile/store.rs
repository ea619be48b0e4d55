//! Reconciliation of a whole store: every stored ticket of each source
//! whose helpdesk keeps an SLA record this build reads, created in a
//! window, reconciled ([`super::ticket`]) and summed per source, plan and
//! metric, with every instance that does not agree (for the `reconcile`
//! command, the monthly report and the daemon's metrics).
//!
//! Guarantees: reads only (one pass over the tickets); a source whose
//! helpdesk record is off or empty is an error that says how to turn it
//! on, never a silent 100%.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Comparison, Outcome, DEFAULT_TOLERANCE_SECONDS};
use crate::policy::Config;
use crate::store::{Store, StoreError};

/// What to reconcile.
#[derive(Debug, Clone)]
pub struct Options {
    /// Tickets created at or after this instant.
    pub from: Option<i64>,
    /// Tickets created before this instant.
    pub to: Option<i64>,
    /// Open clocks are evaluated at this instant.
    pub now: i64,
    pub tolerance: i64,
    /// The sources to read (default: every source of the config whose
    /// kind has a record to compare with).
    pub sources: Vec<String>,
}

impl Options {
    pub fn at(now: i64) -> Self {
        Self {
            from: None,
            to: None,
            now,
            tolerance: DEFAULT_TOLERANCE_SECONDS,
            sources: Vec::new(),
        }
    }
}

/// Counts of one source, plan and metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    pub source: String,
    /// `(none)` for a ticket no plan matched.
    pub plan: String,
    pub metric: String,
    pub agree: u64,
    pub differ: u64,
    pub missing_ours: u64,
    pub missing_theirs: u64,
    /// Agreeing instances over all compared ([`Row::ratio`]).
    pub agreement: f64,
}

impl Row {
    pub fn total(&self) -> u64 {
        self.agree + self.differ + self.missing_ours + self.missing_theirs
    }

    /// Agreeing instances over all compared (1 when none).
    pub fn ratio(&self) -> f64 {
        match self.total() {
            0 => 1.0,
            n => self.agree as f64 / n as f64,
        }
    }

    /// The agreement for people, to a tenth of a percent, rounded down:
    /// `100.0%` only when every compared instance agrees (8 differences in
    /// 115,000 read `99.9%`, not `100.0%`).
    pub fn agreement_text(&self) -> String {
        let total = self.total();
        if total == 0 || self.agree == total {
            return "100.0%".to_string();
        }
        // Tenths of a percent, in integers: no float rounding up.
        let tenths = self.agree * 1000 / total;
        format!("{}.{}%", tenths / 10, tenths % 10)
    }

    pub fn count(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Agree => self.agree,
            Outcome::Differ => self.differ,
            Outcome::MissingOurs => self.missing_ours,
            Outcome::MissingTheirs => self.missing_theirs,
        }
    }

    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Agree => self.agree += 1,
            Outcome::Differ => self.differ += 1,
            Outcome::MissingOurs => self.missing_ours += 1,
            Outcome::MissingTheirs => self.missing_theirs += 1,
        }
    }
}

/// One instance that does not agree, with where to look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub source: String,
    pub ticket: String,
    /// A link to the ticket in the helpdesk, when known.
    pub url: Option<String>,
    pub plan: String,
    #[serde(flatten)]
    pub comparison: Comparison,
}

impl Found {
    /// How far apart the two sides are, in seconds (the largest difference
    /// of an instant or a duration; a missing side counts as none).
    pub fn size(&self) -> i64 {
        self.comparison
            .differences
            .iter()
            .map(|d| match (d.ours, d.theirs) {
                (Some(a), Some(b)) => (a - b).abs(),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
}

/// A store reconciled.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Tickets read (created in the window).
    pub tickets: u64,
    /// Tickets of which the helpdesk holds any record.
    pub recorded_tickets: u64,
    /// Per source, plan and metric, in that order.
    pub rows: Vec<Row>,
    /// How many instances each cause was given for.
    pub causes: BTreeMap<String, u64>,
    /// Every instance that does not agree: `differ` largest first, then
    /// the missing ones, each by ticket.
    pub differences: Vec<Found>,
}

/// Why a store cannot be reconciled.
#[derive(Debug)]
pub enum Error {
    /// No source of the config keeps a record this build reads.
    NoSource(String),
    /// A source's record is off, or nothing of it is stored.
    NotRead {
        source: String,
        how: String,
    },
    Store(StoreError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NoSource(m) => f.write_str(m),
            Error::NotRead { source, how } => write!(f, "source {source}: {how}"),
            Error::Store(e) => write!(f, "reading the store: {e}"),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

/// Reconciles the stored tickets of `options.sources` (default: every
/// source with a record to compare with).
pub fn reconcile(store: &dyn Store, config: &Config, options: &Options) -> Result<Summary, Error> {
    reconcile_from(config, options, &mut |source, f| {
        let ids = store.ticket_ids(source)?;
        store.for_each_ticket(source, &ids, f)
    })
}

/// Hands each ticket of a source to the function given.
pub type Tickets<'a> =
    dyn FnMut(&str, &mut dyn FnMut(crate::engine::Ticket)) -> Result<(), StoreError> + 'a;

/// As [`reconcile`], with the tickets of each source from `tickets` (a
/// store, or ticket timelines read from a file).
pub fn reconcile_from(
    config: &Config,
    options: &Options,
    tickets: &mut Tickets<'_>,
) -> Result<Summary, Error> {
    let mut chosen = Vec::new();
    for (name, spec) in &config.sources {
        if !options.sources.is_empty() && !options.sources.contains(name) {
            continue;
        }
        let Some(r) = crate::sources::kind(&spec.kind).and_then(|k| k.reconcile) else {
            if !options.sources.is_empty() {
                return Err(Error::NoSource(format!(
                    "source {name} ({}): this build reads no SLA record of that helpdesk to compare with",
                    spec.kind
                )));
            }
            continue;
        };
        chosen.push((name, spec, r));
    }
    for wanted in &options.sources {
        if !config.sources.contains_key(wanted) {
            return Err(Error::NoSource(format!(
                "no source {wanted:?} in the config; it has: {}",
                config
                    .sources
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    if chosen.is_empty() {
        return Err(Error::NoSource(
            "no source of the config keeps an SLA record this build compares with (Zendesk with ticket_metric_events: true, or Jira Service Management); see docs/reconcile.md".to_string(),
        ));
    }
    let mut summary = Summary::default();
    let mut rows: BTreeMap<(String, String, String), Row> = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, spec, r) in chosen {
        (r.enabled)(spec).map_err(|how| Error::NotRead {
            source: name.clone(),
            how,
        })?;
        let theirs = (r.theirs)(spec, &config.policy).map_err(|how| Error::NotRead {
            source: name.clone(),
            how,
        })?;
        let (mut read, mut recorded) = (0u64, 0u64);
        tickets(name, &mut |ticket| {
            if options.from.is_some_and(|f| ticket.created_at < f)
                || options.to.is_some_and(|t| ticket.created_at >= t)
            {
                return;
            }
            read += 1;
            let side = theirs(&ticket, options.now);
            if !side.recorded.is_empty() {
                recorded += 1;
            }
            let (plan, comparisons) = super::ticket_with_plan(
                &config.policy,
                &ticket,
                options.now,
                side,
                options.tolerance,
            );
            let plan = plan.unwrap_or_else(|| "(none)".to_string());
            for c in comparisons {
                rows.entry((name.clone(), plan.clone(), c.metric.clone()))
                    .or_insert_with(|| Row {
                        source: name.clone(),
                        plan: plan.clone(),
                        metric: c.metric.clone(),
                        ..Row::default()
                    })
                    .add(c.outcome);
                for cause in &c.causes {
                    *summary
                        .causes
                        .entry(cause.kind.as_str().to_string())
                        .or_default() += 1;
                }
                if c.outcome != Outcome::Agree {
                    let url = ticket
                        .url
                        .clone()
                        .or_else(|| crate::sources::ticket_url(spec, &ticket.id));
                    missing.push(Found {
                        source: name.clone(),
                        ticket: ticket.id.clone(),
                        url,
                        plan: plan.clone(),
                        comparison: c,
                    });
                }
            }
        })?;
        if read > 0 && recorded == 0 {
            return Err(Error::NotRead {
                source: name.clone(),
                how: format!(
                    "none of its {read} stored tickets has a record of the helpdesk's own SLA clocks: the daemon has not read them yet (is `ticket_metric_events: true` set, and has `run` polled since?); see docs/reconcile.md"
                ),
            });
        }
        summary.tickets += read;
        summary.recorded_tickets += recorded;
    }
    missing.sort_by(|a, b| {
        let rank = |f: &Found| (f.comparison.outcome != Outcome::Differ, -f.size());
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| natural(&a.ticket).cmp(&natural(&b.ticket)))
            .then_with(|| a.comparison.metric.cmp(&b.comparison.metric))
            .then_with(|| a.comparison.instance.cmp(&b.comparison.instance))
    });
    summary.rows = rows
        .into_values()
        .map(|mut r| {
            r.agreement = r.ratio();
            r
        })
        .collect();
    summary.differences = missing;
    Ok(summary)
}

/// Ticket ids in number order when they are numbers.
fn natural(id: &str) -> (usize, &str) {
    (id.len(), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(agree: u64, differ: u64) -> Row {
        Row {
            agree,
            differ,
            ..Row::default()
        }
    }

    #[test]
    fn agreement_reads_100_percent_only_when_every_instance_agrees() {
        assert_eq!(row(114_739, 8).agreement_text(), "99.9%");
        assert_eq!(row(114_739, 0).agreement_text(), "100.0%");
        assert_eq!(row(0, 0).agreement_text(), "100.0%");
        assert_eq!(row(91_466, 2_556).agreement_text(), "97.2%");
        assert_eq!(row(1, 2).agreement_text(), "33.3%");
        assert_eq!(row(0, 5).agreement_text(), "0.0%");
    }
}
