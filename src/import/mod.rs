//! Policy importers: read a helpdesk's own SLA policies and business hours
//! and write the equivalent helpdesk-slo config. Offline tools, not
//! adapters: they run once, from the CLI, and share no state with polling.

pub mod freshdesk;
pub mod zendesk;
pub mod zones;
