//! Offline evaluation: SLA clocks, attainment per group, credits and a
//! what-if comparison from ticket timelines in a file (or a store), with no
//! daemon.
//!
//! Tickets stream through: each is evaluated, its clocks written (when
//! asked) and counted, and dropped. Memory grows with the groups, the
//! credit periods and the customers, not with the tickets. The rule of
//! the rest of the product holds: a clock counts in the period it started
//! in (`--from`/`--to` select clocks by start), and a credit period holds
//! the tickets created in it.

pub mod credits;
pub mod groups;
pub mod input;
pub mod output;
pub mod what_if;

use std::io::Write;

use self::credits::Credits;
use self::groups::{Dimension, Groups};
use self::output::{join_credits, join_groups, ClockRow, Format, Table, Totals, Writer};
use self::what_if::Diff;
use crate::engine::{evaluate_with, Clock, ClockState, Detail, Ticket};
use crate::policy::Config;

/// What to evaluate and write.
#[derive(Debug, Clone)]
pub struct Options {
    /// Open clocks are evaluated at this instant (Unix seconds).
    pub now: i64,
    /// Clocks that started in `[from, to)` are counted and written;
    /// credits count tickets created in it.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub group_by: Vec<Dimension>,
    /// Write every clock.
    pub clocks: bool,
    /// Write credits per customer and credit period.
    pub credits: bool,
    pub format: Format,
}

impl Options {
    fn in_window(&self, t: i64) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e)
    }

    /// The one table CSV writes.
    fn table(&self) -> Table {
        if self.clocks {
            Table::Clocks
        } else if self.credits {
            Table::Credits
        } else {
            Table::Groups
        }
    }
}

/// One config's side of an evaluation.
struct Side<'a> {
    config: &'a Config,
    groups: Groups,
    credits: Credits,
}

impl<'a> Side<'a> {
    fn new(config: &'a Config, opts: &Options) -> Side<'a> {
        Side {
            config,
            groups: Groups::new(&opts.group_by),
            credits: Credits::default(),
        }
    }

    fn add(&mut self, opts: &Options, ticket: &Ticket, clocks: &[Clock]) {
        let policy = &self.config.policy;
        for c in clocks.iter().filter(|c| opts.in_window(c.start)) {
            self.groups.add(policy, ticket, c);
        }
        if opts.credits && opts.in_window(ticket.created_at) {
            self.credits.add(policy, ticket, clocks);
        }
    }
}

/// An evaluation under way: add tickets, then finish.
pub struct Evaluation<'a, W: Write> {
    opts: Options,
    base: Side<'a>,
    what_if: Option<Side<'a>>,
    diff: Diff,
    writer: Writer<W>,
    totals: Totals,
    /// The clocks of the ticket before, kept for their memory.
    clocks: Vec<Clock>,
    /// The same for the what-if side.
    other: Vec<Clock>,
}

impl<'a, W: Write> Evaluation<'a, W> {
    /// Starts an evaluation under `config` (and `what_if`), writing to
    /// `out`; `about` lines head a Markdown output.
    pub fn new(
        config: &'a Config,
        what_if: Option<&'a Config>,
        opts: Options,
        about: &[String],
        out: W,
    ) -> std::io::Result<Evaluation<'a, W>> {
        let mut writer = Writer::new(opts.format, opts.table(), what_if.is_some(), out);
        writer.heading(about)?;
        Ok(Evaluation {
            base: Side::new(config, &opts),
            what_if: what_if.map(|c| Side::new(c, &opts)),
            opts,
            diff: Diff::default(),
            writer,
            totals: Totals {
                tickets: 0,
                clocks: 0,
                tickets_changed: None,
            },
            clocks: Vec::new(),
            other: Vec::new(),
        })
    }

    /// Evaluates one ticket, writes its clocks (when asked) and counts
    /// them.
    pub fn add(&mut self, ticket: &Ticket) -> std::io::Result<()> {
        let now = self.opts.now;
        // Groups, credits and the what-if comparison count clocks by state:
        // the rest of a clock is worked out only when clocks are written.
        let detail = if self.opts.clocks {
            Detail::Full
        } else {
            Detail::States
        };
        let mut clocks = std::mem::take(&mut self.clocks);
        evaluate_with(&self.base.config.policy, ticket, now, detail, &mut clocks);
        let mut other = std::mem::take(&mut self.other);
        let other = self.what_if.as_ref().map(|w| {
            evaluate_with(&w.config.policy, ticket, now, Detail::States, &mut other);
            other
        });
        self.totals.tickets += 1;
        self.totals.clocks += clocks
            .iter()
            .filter(|c| self.opts.in_window(c.start))
            .count() as u64;
        if self.opts.clocks {
            self.write_clocks(ticket, &clocks, other.as_deref())?;
        }
        self.base.add(&self.opts, ticket, &clocks);
        if let (Some(side), Some(other)) = (self.what_if.as_mut(), other.as_ref()) {
            side.add(&self.opts, ticket, other);
            let in_window = |cs: &[Clock]| -> Vec<Clock> {
                cs.iter()
                    .filter(|c| self.opts.in_window(c.start))
                    .cloned()
                    .collect()
            };
            self.diff.add(
                &ticket.id,
                (&self.base.config.policy, &in_window(&clocks)),
                (&side.config.policy, &in_window(other)),
            );
        }
        self.clocks = clocks;
        if let Some(other) = other {
            self.other = other;
        }
        Ok(())
    }

    fn write_clocks(
        &mut self,
        ticket: &Ticket,
        clocks: &[Clock],
        other: Option<&[Clock]>,
    ) -> std::io::Result<()> {
        let policy = &self.base.config.policy;
        let what_if_state = |c: &Clock| -> Option<Option<ClockState>> {
            let (side, other) = (self.what_if.as_ref()?, other?);
            let name = policy.metrics.get(c.metric).map(|m| m.name.as_str());
            Some(
                other
                    .iter()
                    .find(|o| {
                        o.instance == c.instance
                            && side
                                .config
                                .policy
                                .metrics
                                .get(o.metric)
                                .map(|m| m.name.as_str())
                                == name
                    })
                    .map(|o| o.state),
            )
        };
        for c in clocks.iter().filter(|c| self.opts.in_window(c.start)) {
            let row = ClockRow {
                ticket: &ticket.id,
                view: c.view(policy),
                what_if: what_if_state(c),
            };
            self.writer.clock(&row)?;
        }
        Ok(())
    }

    /// Writes the tables and the totals; returns the totals.
    pub fn finish(mut self) -> std::io::Result<Totals> {
        let by = self.opts.group_by.clone();
        let before = self.base.groups.into_groups(&self.base.config.policy);
        let (after, after_credits) = match self.what_if {
            Some(side) => (
                Some(side.groups.into_groups(&side.config.policy)),
                Some(side.credits.into_credits(&side.config.policy)),
            ),
            None => (None, None),
        };
        let what_if = after.is_some();
        self.writer.groups(&by, &join_groups(before, after))?;
        if self.opts.credits {
            let credits = self.base.credits.into_credits(&self.base.config.policy);
            self.writer.credits(&join_credits(credits, after_credits))?;
        }
        if what_if {
            self.writer
                .changes(&self.diff.transitions(), &self.diff.movers())?;
            self.totals.tickets_changed = Some(self.diff.tickets_changed);
        }
        self.writer.totals(&self.totals)?;
        Ok(self.totals)
    }
}
