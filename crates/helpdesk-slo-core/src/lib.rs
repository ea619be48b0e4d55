//! The pure core of helpdesk-slo: business-time arithmetic ([`calendar`]),
//! instants ([`time`]), the SLA policy and its validation ([`policy`]), and
//! the SLA engine ([`engine`]): from one ticket's timeline and the policy,
//! every SLA clock.
//!
//! Pure by construction: this crate depends on no I/O crate (no async
//! runtime, HTTP, database or logging), so nothing here can poll, store or
//! log; the same inputs give the same answer. Nor does it read files: a
//! config is loaded from its text, and the files it includes (iCalendar
//! holidays) come through an [`policy::IncludedFiles`] the caller gives
//! ([`policy::Config::from_yaml_with`]); the daemon crate reads them from
//! the file system. The daemon crate (`helpdesk-slo`) re-exports these
//! modules under the same names.

pub mod calendar;
mod de;
pub mod engine;
pub mod policy;
pub mod time;
