//! SLA credits over a stream of tickets: SLA events and violations counted
//! per credit table, customer, plan and credit period as tickets go by,
//! then each count's row of the credit table.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::engine::aggregate::{counts_for_credit_with, period_bounds};
use crate::engine::{Clock, ClockState, Ticket};
use crate::policy::model::PlanId;
use crate::policy::Policy;

/// Where an SLA event counts within one customer: table, plan, period
/// start.
type Key = (usize, PlanId, i64);

/// Per key: SLA events, violations, period end.
type Count = (u64, u64, i64);

/// A credit period, `[from, to)`.
type Period = (i64, i64);

/// One customer's credit for one period of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Credit {
    /// The credit table's name.
    pub table: String,
    pub organization: String,
    pub plan: String,
    /// The credit period, `[from, to)`, in the plan calendar's zone.
    pub from: i64,
    pub to: i64,
    /// Decided clocks of the table's metrics (SLA events).
    pub events: u64,
    pub violations: u64,
    pub violation_share: f64,
    /// The credit, a share of the period's fees.
    pub credit: f64,
    /// The row of the credit table that gave it, in words (`above 5%:
    /// 10%`); none below every row.
    pub rule: Option<String>,
}

/// Counts SLA events per customer, table, plan and period. Customers are
/// looked up by the ticket's organization id as it lies in the ticket:
/// its text is copied once per customer, not once per clock.
#[derive(Debug, Default)]
pub struct Credits {
    counts: FxHashMap<String, BTreeMap<Key, Count>>,
    /// The clocks of the ticket being added that count: key, SLA events,
    /// violations, period end (kept to reuse its memory; clocks with the
    /// same key in a row are one entry).
    counted: Vec<(Key, u64, u64, i64)>,
    /// The credit periods found per table and plan, by start: a ticket
    /// created well inside one (see [`inside`]) has that period, found
    /// without a time-zone conversion.
    periods: FxHashMap<(usize, PlanId), Vec<Period>>,
    /// Whether the ticket being added was created in the support hours of
    /// a plan and severity, once per pair.
    in_hours: Vec<((PlanId, Option<usize>), bool)>,
}

/// Whether `t` lies more than two days inside `[from, to)`. A credit
/// period starts and ends at a local midnight; two instants' local times
/// differ from the instants by time-zone offsets that differ by less than
/// two days, so such a `t` has its local date in the period and
/// `period_bounds` would give `[from, to)` again.
fn inside(t: i64, (from, to): Period) -> bool {
    const MARGIN: i64 = 2 * 86_400;
    t >= from.saturating_add(MARGIN) && t < to.saturating_sub(MARGIN)
}

impl Credits {
    /// Counts a ticket's clocks. Tickets without an organization have no
    /// customer to credit; the period is the one the ticket was created in.
    pub fn add(&mut self, policy: &Policy, ticket: &Ticket, clocks: &[Clock]) {
        if policy.credits.is_empty() {
            return;
        }
        let Some(org) = &ticket.organization else {
            return;
        };
        let created = ticket.created_at;
        // The period depends on the table and the plan's calendar only:
        // found once for the ticket's clocks of one table and plan.
        let mut last: Option<((usize, PlanId), Option<Period>)> = None;
        self.counted.clear();
        self.in_hours.clear();
        for c in clocks {
            let Some(plan_id) = c.plan else { continue };
            let Some(plan) = policy.plans.get(plan_id) else {
                continue;
            };
            let Some(table_id) = plan.credits else {
                continue;
            };
            let in_hours = &mut self.in_hours;
            let counts = counts_for_credit_with(policy, table_id, c, |p, s| {
                if let Some(&(_, yes)) = in_hours.iter().find(|(k, _)| *k == (p, s)) {
                    return yes;
                }
                let yes = policy.created_in_support_hours(p, s, created);
                in_hours.push(((p, s), yes));
                yes
            });
            if !counts {
                continue;
            }
            let bounds = match last {
                Some((k, b)) if k == (table_id, plan_id) => b,
                _ => {
                    let known = self.periods.entry((table_id, plan_id)).or_default();
                    // The last period starting at or before the creation.
                    let i = known.partition_point(|p| p.0 <= created);
                    let b = match i.checked_sub(1).map(|i| known[i]) {
                        Some(p) if inside(created, p) => Some(p),
                        _ => {
                            let period = policy.credits[table_id].period;
                            let b = period_bounds(created, period, plan.calendar.timezone());
                            if let Some(p) = b {
                                let at = known.partition_point(|q| q.0 < p.0);
                                if known.get(at) != Some(&p) {
                                    known.insert(at, p);
                                }
                            }
                            b
                        }
                    };
                    last = Some(((table_id, plan_id), b));
                    b
                }
            };
            if let Some((from, to)) = bounds {
                let key = (table_id, plan_id, from);
                let breached = u64::from(c.state == ClockState::Breached);
                match self.counted.last_mut() {
                    Some(e) if e.0 == key => {
                        e.1 += 1;
                        e.2 += breached;
                    }
                    _ => self.counted.push((key, 1, breached, to)),
                }
            }
        }
        if self.counted.is_empty() {
            return;
        }
        let counted = &self.counted;
        let add = |customer: &mut BTreeMap<Key, Count>| {
            for &(key, events, violations, to) in counted {
                let e = customer.entry(key).or_insert((0, 0, to));
                e.0 += events;
                e.1 += violations;
            }
        };
        // One lookup for a customer seen before.
        match self.counts.get_mut(org.id.as_str()) {
            Some(customer) => add(customer),
            None => add(self.counts.entry(org.id.clone()).or_default()),
        }
    }

    /// Each customer's credit per table, plan and period, sorted by them.
    pub fn into_credits(self, policy: &Policy) -> Vec<Credit> {
        let mut counts: Vec<((usize, String, PlanId, i64), Count)> = Vec::new();
        for (organization, by_key) in self.counts {
            for ((table_id, plan, from), count) in by_key {
                counts.push(((table_id, organization.clone(), plan, from), count));
            }
        }
        counts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        counts
            .into_iter()
            .map(
                |((table_id, organization, plan, from), (events, violations, to))| {
                    let table = &policy.credits[table_id];
                    let share = if events == 0 {
                        0.0
                    } else {
                        violations as f64 / events as f64
                    };
                    let (credit, tier) = table.credit_for(violations, events);
                    let rule = tier.and_then(|t| table.tiers.get(t)).map(|t| {
                        format!(
                            "{} {}: {} credit",
                            if t.strict { "above" } else { "from" },
                            percent(t.threshold),
                            percent(t.credit)
                        )
                    });
                    Credit {
                        table: table.name.clone(),
                        organization,
                        plan: policy.plans[plan].name.clone(),
                        from,
                        to,
                        events,
                        violations,
                        violation_share: share,
                        credit,
                        rule,
                    }
                },
            )
            .collect()
    }
}

/// `0.101` as `10.1%`.
pub fn percent(share: f64) -> String {
    let p = (share * 10_000.0).round() / 100.0;
    format!("{p}%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::aggregate::{counts_for_credit, TicketMeta};
    use crate::engine::{evaluate, Change, Event, Organization};
    use proptest::prelude::*;

    /// What counting did before customers were looked up in place: one
    /// ordered map over (table, customer, plan, period start), the period
    /// found for every clock. The reference the property test compares
    /// with.
    fn reference(
        policy: &Policy,
        tickets: &[(Ticket, Vec<Clock>)],
    ) -> BTreeMap<(usize, String, PlanId, i64), Count> {
        let mut counts = BTreeMap::new();
        for (ticket, clocks) in tickets {
            let Some(org) = &ticket.organization else {
                continue;
            };
            let meta = TicketMeta {
                id: String::new(),
                organization: Some(org.id.clone()),
                created_at: ticket.created_at,
            };
            for c in clocks {
                let Some(plan_id) = c.plan else { continue };
                let plan = &policy.plans[plan_id];
                let Some(table_id) = plan.credits else {
                    continue;
                };
                if !counts_for_credit(policy, table_id, &meta, c) {
                    continue;
                }
                let period = policy.credits[table_id].period;
                let Some((from, to)) =
                    period_bounds(ticket.created_at, period, plan.calendar.timezone())
                else {
                    continue;
                };
                let e = counts
                    .entry((table_id, org.id.clone(), plan_id, from))
                    .or_insert((0, 0, to));
                e.0 += 1;
                if c.state == ClockState::Breached {
                    e.1 += 1;
                }
            }
        }
        counts
    }

    fn org(id: u8, tag: u8) -> Organization {
        Organization {
            id: format!("org-{id}"),
            name: None,
            tags: vec![
                ["csp_essential", "csp_preferred", "csp_premier", "other"][tag as usize].into(),
            ],
            fields: Default::default(),
        }
    }

    /// A ticket of one of a few customers on the Celigo plans, created
    /// around a quarter's end, answered after a while; some move to
    /// another customer's plan on the way.
    fn ticket() -> impl Strategy<Value = Ticket> {
        (
            0u8..6,
            0u8..4,
            0i64..200 * 86_400,
            0usize..4,
            60i64..4 * 86_400,
            proptest::option::of((0u8..6, 0u8..4, 0i64..86_400)),
            proptest::bool::ANY,
        )
            .prop_map(|(o, tag, created, p, reply, moved, named)| {
                let created = 1_774_000_000 + created;
                let mut events = vec![Event {
                    id: None,
                    at: created + reply,
                    change: Change::Comment {
                        author: crate::engine::timeline::Author::Agent,
                        public: true,
                    },
                }];
                if let Some((o2, tag2, at)) = moved {
                    events.push(Event {
                        id: None,
                        at: created + at,
                        change: Change::Organization {
                            value: Some(org(o2, tag2)),
                        },
                    });
                }
                Ticket {
                    id: format!("{created}"),
                    created_at: created,
                    source: None,
                    url: None,
                    organization: named.then(|| org(o, tag)),
                    tags: Vec::new(),
                    fields: Default::default(),
                    priority: Some(["p1", "p2", "p3", "p4"][p].into()),
                    group: None,
                    status: None,
                    events,
                    current: None,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Credits counted with customers looked up in place and periods
        /// found once per ticket, table and plan are the reference's, in
        /// its order.
        #[test]
        fn credits_count_as_the_reference_does(
            tickets in proptest::collection::vec(ticket(), 0..60),
            now in 1_774_000_000i64..1_800_000_000,
        ) {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml");
            let config = crate::config_files::load(&path).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let policy = &config.policy;
            let evaluated: Vec<(Ticket, Vec<Clock>)> = tickets
                .into_iter()
                .map(|t| {
                    let clocks = evaluate(policy, &t, now);
                    (t, clocks)
                })
                .collect();
            let mut credits = Credits::default();
            for (t, clocks) in &evaluated {
                credits.add(policy, t, clocks);
            }
            let got: Vec<_> = credits
                .into_credits(policy)
                .into_iter()
                .map(|c| (c.table, c.organization, c.plan, c.from, c.events, c.violations, c.to))
                .collect();
            let want: Vec<_> = reference(policy, &evaluated)
                .into_iter()
                .map(|((table, org, plan, from), (events, violations, to))| {
                    (
                        policy.credits[table].name.clone(),
                        org,
                        policy.plans[plan].name.clone(),
                        from,
                        events,
                        violations,
                        to,
                    )
                })
                .collect();
            prop_assert_eq!(got, want);
        }
    }

    proptest! {
        /// A period found for one instant is the period of every instant
        /// well inside it, in zones whose clocks change at midnight too.
        #[test]
        fn an_instant_well_inside_a_period_has_that_period(
            zone in proptest::sample::select(vec![
                "America/Los_Angeles", "America/Havana", "America/Santiago",
                "Asia/Beirut", "Pacific/Apia", "Australia/Lord_Howe", "UTC",
            ]),
            s in 0i64..4_102_444_800,
            d in -200i64 * 86_400..200 * 86_400,
            quarter in proptest::bool::ANY,
        ) {
            let tz: chrono_tz::Tz = zone.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
            let period = if quarter {
                crate::policy::spec::CreditPeriod::Quarter
            } else {
                crate::policy::spec::CreditPeriod::Month
            };
            let t = (s + d).max(0);
            if let Some(b) = period_bounds(s, period, tz) {
                if inside(t, b) {
                    prop_assert_eq!(period_bounds(t, period, tz), Some(b));
                }
            }
        }
    }

    #[test]
    fn percentages_print_without_float_noise() {
        assert_eq!(percent(0.101), "10.1%");
        assert_eq!(percent(2.0 / 3.0), "66.67%");
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(1.0), "100%");
    }
}
