//! helpdesk-slo: business-hours-aware SLA/SLO attainment from helpdesk
//! tickets, exposed as Prometheus metrics, alert rules, dashboards and
//! monthly reports.
//!
//! The data flows one way: `sources/` (helpdesk adapters) → `store/` →
//! `engine/` (pure: [`calendar`] + [`policy`] + ticket timeline → SLA clocks)
//! → `exposition/`, `report/`, `server/`. The pure core ([`calendar`],
//! [`time`], [`policy`], [`engine`]) is the crate `helpdesk-slo-core`
//! (`crates/helpdesk-slo-core`), which depends on no I/O crate, so the
//! compiler keeps it from importing the I/O side; it is re-exported here
//! under the same names.
//!
//! A config, a ticket, its clocks:
//!
//! ```
//! use std::path::Path;
//! use helpdesk_slo::engine::{evaluate, ClockState, Ticket};
//! use helpdesk_slo::policy::Config;
//! use helpdesk_slo::time::{format_instant, parse_instant};
//!
//! let config = Config::from_yaml(
//!     r#"
//! calendars:
//!   business: { timezone: America/Los_Angeles, hours: { mon-fri: ["08:00-17:00"] } }
//! severities: [{ name: high, priorities: [high] }]
//! metrics:
//!   first_response: { kind: first_response }
//! plans:
//!   standard: { default: true, calendar: business, targets: { high: { first_response: 1h } } }
//! "#,
//!     Path::new("inline.yaml"),
//! )?;
//! // Created Friday 16:30 Pacific: 30 minutes on Friday, 30 on Monday.
//! let ticket: Ticket = serde_json::from_str(
//!     r#"{"id":"1","created_at":"2026-11-21T00:30:00Z","priority":"high","events":[]}"#,
//! )?;
//! let clocks = evaluate(&config.policy, &ticket, parse_instant("2026-11-23T16:00:00Z")?);
//! assert_eq!(clocks[0].state, ClockState::Active);
//! assert_eq!(clocks[0].due_at.map(format_instant).as_deref(), Some("2026-11-23T16:30:00Z"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use helpdesk_slo_core::{calendar, engine, policy, time};

pub mod alerts;
pub mod cli;
pub mod clock;
pub mod config_files;
pub mod daemon;
pub mod evaluate;
pub mod exposition;
pub mod import;
pub mod reconcile;
pub mod report;
pub mod server;
pub mod simulator;
pub mod sources;
pub mod state;
pub mod store;
