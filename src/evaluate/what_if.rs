//! What-if: the same tickets under a second config, compared clock by
//! clock (by metric name and instance): which clocks change state, and
//! the tickets that move most, kept to a few so memory does not grow with
//! the tickets.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use crate::engine::{Clock, ClockState};
use crate::policy::Policy;

/// How many of the tickets that move most are kept.
pub const MOVERS: usize = 10;

/// A ticket whose clocks change most between the two configs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mover {
    /// Breached clocks under the second config minus under the first.
    pub breaches_added: i64,
    /// Clocks whose state differs (or that exist under one config only).
    pub changed: u64,
    pub ticket: String,
}

impl Mover {
    /// Bigger moves first: more breaches gained or lost, then more clocks
    /// changed.
    fn score(&self) -> (u64, u64) {
        (self.breaches_added.unsigned_abs(), self.changed)
    }
}

/// A ticket in the running for the top movers: its score, id and breaches
/// added, least first (the heap's top is the first to drop).
type Ranked = Reverse<((u64, u64), String, i64)>;

/// Clock state changes counted over all tickets, and the top movers.
#[derive(Debug, Default)]
pub struct Diff {
    /// `(metric, state before, state after)` → clocks; `None`: no such
    /// clock under that config.
    transitions: BTreeMap<(String, Option<ClockState>, Option<ClockState>), u64>,
    movers: BinaryHeap<Ranked>,
    /// Tickets with at least one clock changed.
    pub tickets_changed: u64,
}

/// One kind of change, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub metric: String,
    pub before: Option<ClockState>,
    pub after: Option<ClockState>,
    pub clocks: u64,
}

impl Diff {
    /// Compares one ticket's clocks under the two configs.
    pub fn add(&mut self, ticket: &str, before: (&Policy, &[Clock]), after: (&Policy, &[Clock])) {
        let name = |p: &Policy, c: &Clock| {
            p.metrics
                .get(c.metric)
                .map_or_else(|| "?".to_string(), |m| m.name.clone())
        };
        let mut states: HashMap<(String, u32), (Option<ClockState>, Option<ClockState>)> =
            HashMap::new();
        for c in before.1 {
            states.entry((name(before.0, c), c.instance)).or_default().0 = Some(c.state);
        }
        for c in after.1 {
            states.entry((name(after.0, c), c.instance)).or_default().1 = Some(c.state);
        }
        let breached = |s: Option<ClockState>| i64::from(s == Some(ClockState::Breached));
        let (mut changed, mut breaches_added) = (0u64, 0i64);
        for ((metric, _), (b, a)) in states {
            if b == a {
                continue;
            }
            changed += 1;
            breaches_added += breached(a) - breached(b);
            *self.transitions.entry((metric, b, a)).or_default() += 1;
        }
        if changed == 0 {
            return;
        }
        self.tickets_changed += 1;
        let score = (breaches_added.unsigned_abs(), changed);
        if self.movers.len() < MOVERS {
            self.movers
                .push(Reverse((score, ticket.to_string(), breaches_added)));
        } else if self
            .movers
            .peek()
            .is_some_and(|Reverse((least, _, _))| score > *least)
        {
            self.movers.pop();
            self.movers
                .push(Reverse((score, ticket.to_string(), breaches_added)));
        }
    }

    /// Every kind of change, by metric, then states.
    pub fn transitions(&self) -> Vec<Transition> {
        self.transitions
            .iter()
            .map(|((metric, before, after), clocks)| Transition {
                metric: metric.clone(),
                before: *before,
                after: *after,
                clocks: *clocks,
            })
            .collect()
    }

    /// The tickets that move most, biggest first.
    pub fn movers(&self) -> Vec<Mover> {
        let mut out: Vec<Mover> = self
            .movers
            .iter()
            .map(|Reverse(((_, changed), ticket, added))| Mover {
                breaches_added: *added,
                changed: *changed,
                ticket: ticket.clone(),
            })
            .collect();
        out.sort_by(|a, b| b.score().cmp(&a.score()).then(a.ticket.cmp(&b.ticket)));
        out
    }
}
