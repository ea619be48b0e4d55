//! SLA credits over a stream of tickets: SLA events and violations counted
//! per credit table, customer, plan and credit period as tickets go by,
//! then each count's row of the credit table.

use std::collections::BTreeMap;

use crate::engine::aggregate::{counts_for_credit, period_bounds, TicketMeta};
use crate::engine::{Clock, ClockState, Ticket};
use crate::policy::model::PlanId;
use crate::policy::Policy;

/// Where an SLA event counts: table, customer, plan, period start.
type Key = (usize, String, PlanId, i64);

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

/// Counts SLA events per table, customer, plan and period.
#[derive(Debug, Default)]
pub struct Credits {
    counts: BTreeMap<Key, (u64, u64, i64)>,
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
        let meta = TicketMeta {
            id: String::new(),
            organization: Some(org.id.clone()),
            created_at: ticket.created_at,
        };
        for c in clocks {
            let Some(plan_id) = c.plan else { continue };
            let Some(plan) = policy.plans.get(plan_id) else {
                continue;
            };
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
            let e = self
                .counts
                .entry((table_id, org.id.clone(), plan_id, from))
                .or_insert((0, 0, to));
            e.0 += 1;
            if c.state == ClockState::Breached {
                e.1 += 1;
            }
        }
    }

    /// Each customer's credit per table, plan and period, sorted by them.
    pub fn into_credits(self, policy: &Policy) -> Vec<Credit> {
        self.counts
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

    #[test]
    fn percentages_print_without_float_noise() {
        assert_eq!(percent(0.101), "10.1%");
        assert_eq!(percent(2.0 / 3.0), "66.67%");
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(1.0), "100%");
    }
}
