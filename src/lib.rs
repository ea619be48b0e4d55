//! helpdesk-slo: business-hours-aware SLA/SLO attainment from helpdesk
//! tickets, exposed as Prometheus metrics, alert rules, dashboards and
//! monthly reports.
//!
//! The data flows one way: `sources/` (helpdesk adapters) → `store/` →
//! `engine/` (pure: [`calendar`] + [`policy`] + ticket timeline → SLA clocks)
//! → `exposition/`, `report/`, `server/`. The pure core ([`calendar`],
//! [`policy`], the engine) imports nothing from the I/O side.

pub mod calendar;
pub mod cli;
pub mod engine;
pub mod policy;
pub mod time;
