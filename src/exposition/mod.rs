//! Prometheus exposition of the SLA clocks and of the exporter's own health.
//!
//! The daemon feeds every recomputed ticket into [`Live`] (incremental
//! totals), and a background task turns `Live` plus the time into
//! [`Figures`] and renders them once ([`render()`]); a scrape only copies the
//! rendered text, so its cost does not grow with the store. `docs/metrics.md`
//! is the contract: every metric, its labels and meaning; [`names`] holds
//! every metric's name, type and HELP text, for the exposition and the rules.
//!
//! Guarantees:
//! * every configured plan × severity × metric series is present from the
//!   first render, zero when nothing happened;
//! * labels are bounded (plan, priority, metric, state, window, source,
//!   code); no ticket id or customer name is a label (ticket ids appear only
//!   as OpenMetrics exemplars);
//! * the same `Live`, health and `now` render the same bytes.

pub mod figures;
pub mod health;
pub mod live;
pub mod names;
pub mod render;

pub use figures::{compute, Figures};
pub use health::{Health, Reconciled, SourceHealth};
pub use live::{Counted, Live};
pub use render::{render, to_prometheus_text, Rendered};
