//! The name of every metric the exporter writes: exposition, rules and dashboards read them from here.
//!
//! Each metric is a [`Metric`]: its name as queries write it (a counter's
//! ends in `_total`, a histogram's samples add `_bucket`, `_sum` and
//! `_count`), its type and its HELP text. [`ALL`] lists them in the order
//! the exposition writes them; `docs/metrics.md` documents each, and
//! `tests/metric_names.rs` fails when a dashboard, an alert file, the docs or
//! the generated rules name a metric that is not here, or when one here is
//! undocumented or missing from a rendered exposition.
//!
//! Recording rules name their results `level:metric:operation` (see
//! `docs/alerts.md`); those are the rules' names, not the exporter's, and
//! are not listed here.

use std::fmt;

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

/// One metric the exporter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The name queries use: a counter's ends in `_total`.
    pub name: &'static str,
    pub kind: Kind,
    /// The `# HELP` text.
    pub help: &'static str,
}

impl Metric {
    const fn gauge(name: &'static str, help: &'static str) -> Self {
        Metric {
            name,
            kind: Kind::Gauge,
            help,
        }
    }

    const fn counter(name: &'static str, help: &'static str) -> Self {
        Metric {
            name,
            kind: Kind::Counter,
            help,
        }
    }

    const fn histogram(name: &'static str, help: &'static str) -> Self {
        Metric {
            name,
            kind: Kind::Histogram,
            help,
        }
    }

    /// The metric family's name in an OpenMetrics descriptor: a counter's
    /// without `_total` (its samples add it back). Recording rules built on
    /// a counter use this name too (`plan:helpdesk_slo_clocks_breached:increase1h`).
    pub fn family(&self) -> &'static str {
        match self.kind {
            Kind::Counter => self.name.strip_suffix("_total").unwrap_or(self.name),
            Kind::Gauge | Kind::Histogram => self.name,
        }
    }

    /// Every sample name the metric can have in an exposition: the name
    /// itself, or a histogram's `_bucket`, `_sum` and `_count` series.
    pub fn sample_names(&self) -> Vec<String> {
        match self.kind {
            Kind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect(),
            Kind::Gauge | Kind::Counter => vec![self.name.to_string()],
        }
    }
}

/// The name, so `format!("{SOURCE_UP} == 0")` writes PromQL.
impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

// SLA clocks: per plan × priority × metric.
pub const CLOCKS_OPEN: Metric = Metric::gauge(
    "helpdesk_slo_clocks_open",
    "Open SLA clocks by state (active runs, paused does not).",
);
pub const CLOCKS_MET_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_clocks_met_total",
    "SLA clocks fulfilled by their due.",
);
pub const CLOCKS_BREACHED_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_clocks_breached_total",
    "SLA clocks breached: fulfilled late, or open past their due.",
);
pub const CLOCKS_EXCLUDED_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_clocks_excluded_total",
    "SLA clocks the policy excludes.",
);
pub const CLOCKS_DECIDED: Metric = Metric::gauge(
    "helpdesk_slo_clocks_decided",
    "Met plus breached clocks that started in the window.",
);
pub const ATTAINMENT_RATIO: Metric = Metric::gauge(
    "helpdesk_slo_attainment_ratio",
    "Met over decided clocks that started in the window; 1 when none is decided.",
);
pub const CLOCKS_BREACHING_SOON: Metric = Metric::gauge(
    "helpdesk_slo_clocks_breaching_soon",
    "Active clocks with at most the window of business time left.",
);
pub const NEXT_BREACH_TIMESTAMP_SECONDS: Metric = Metric::gauge(
    "helpdesk_slo_next_breach_timestamp_seconds",
    "Earliest due instant of an active clock not yet breached; +Inf when none.",
);
pub const NEXT_BREACH_BUSINESS_SECONDS: Metric = Metric::gauge(
    "helpdesk_slo_next_breach_business_seconds",
    "Least business time left on an active clock not yet breached; +Inf when none.",
);
pub const FULFILMENT_BUSINESS_SECONDS: Metric = Metric::histogram(
    "helpdesk_slo_fulfilment_business_seconds",
    "Business time from a clock's start to its fulfilment (met or breached).",
);

// Plans: objective, error budget, credits.
pub const OBJECTIVE_RATIO: Metric =
    Metric::gauge("helpdesk_slo_objective_ratio", "The plan's SLO objective.");
pub const PLAN_ATTAINMENT_RATIO: Metric = Metric::gauge(
    "helpdesk_slo_plan_attainment_ratio",
    "Met over decided clocks of the plan that started in the window; 1 when none.",
);
pub const PLAN_CLOCKS_DECIDED: Metric = Metric::gauge(
    "helpdesk_slo_plan_clocks_decided",
    "Met plus breached clocks of the plan that started in the window.",
);
pub const ERROR_BUDGET_REMAINING_RATIO: Metric = Metric::gauge(
    "helpdesk_slo_error_budget_remaining_ratio",
    "Share of the error budget left in the window: 1 untouched, 0 spent, negative overspent.",
);
pub const ERROR_BUDGET_BURN_RATE: Metric = Metric::gauge(
    "helpdesk_slo_error_budget_burn_rate",
    "Breach share over the share the objective allows, in the window.",
);

// Organizations of the allowlist (only with `exposition.organizations`).
pub const ORG_ATTAINMENT_RATIO: Metric = Metric::gauge(
    "helpdesk_slo_org_attainment_ratio",
    "Met over decided clocks of an allowlisted organization (or all others) on the plan, in the window; 1 when none.",
);
pub const ORG_CLOCKS_DECIDED: Metric = Metric::gauge(
    "helpdesk_slo_org_clocks_decided",
    "Met plus breached clocks of an allowlisted organization (or all others) on the plan, in the window.",
);
pub const CREDIT_CUSTOMERS: Metric = Metric::gauge(
    "helpdesk_slo_credit_customers",
    "Customers owed an SLA credit for the current credit period, as things stand.",
);
pub const CREDIT_OWED_RATIO: Metric = Metric::gauge(
    "helpdesk_slo_credit_owed_ratio",
    "Sum of the credit shares owed to customers for the current credit period.",
);

// Clocks no plan or severity takes.
pub const CLOCKS_UNASSIGNED: Metric = Metric::gauge(
    "helpdesk_slo_clocks_unassigned",
    "Clocks of tickets with no plan or no mapped severity.",
);

// The exporter itself.
pub const BUILD_INFO: Metric = Metric::gauge(
    "helpdesk_slo_build_info",
    "Always 1; the version of the running build.",
);
pub const SOURCE_OWNER: Metric = Metric::gauge(
    "helpdesk_slo_source_owner",
    "1 when this instance holds the source's lease (polls it and serves its series), 0 when it stands by; only on a store several instances share.",
);
pub const SOURCE_UP: Metric = Metric::gauge(
    "helpdesk_slo_source_up",
    "1 when the last request to the helpdesk succeeded.",
);
pub const SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS: Metric = Metric::gauge(
    "helpdesk_slo_source_last_success_timestamp_seconds",
    "When the last poll that caught up with every stream finished; 0 before the first.",
);
pub const SOURCE_POLL_DURATION_SECONDS: Metric = Metric::gauge(
    "helpdesk_slo_source_poll_duration_seconds",
    "How long the last complete poll took.",
);
pub const SOURCE_REQUESTS_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_source_requests_total",
    "Requests to the helpdesk by HTTP status; code=\"error\" when no response came.",
);
pub const SOURCE_RATE_LIMITED_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_source_rate_limited_total",
    "Responses 429 Too Many Requests.",
);
pub const SOURCE_RATE_LIMIT_REMAINING: Metric = Metric::gauge(
    "helpdesk_slo_source_rate_limit_remaining",
    "Requests left in the helpdesk's rate-limit window; -1 until known.",
);
pub const SOURCE_RETRIES_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_source_retries_total",
    "Pages requested again after a failure.",
);
pub const SOURCE_PARSE_ERRORS_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_source_parse_errors_total",
    "Responses whose body did not parse.",
);
pub const SOURCE_IGNORED_EVENTS_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_source_ignored_events_total",
    "Helpdesk records of kinds that change nothing an SLA reads (Zendesk child events such as Notification), by the helpdesk's name of the kind.",
);
pub const SOURCE_UNMAPPED_VALUES_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_source_unmapped_values_total",
    "Values the adapter could not map and skipped (a custom status the account does not list), by field.",
);
pub const SOURCE_SAME_SECOND_PAGES_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_source_same_second_pages_total",
    "Time-based export pages whose records all shared one second (more than a page holds); read on from the next second.",
);
pub const SOURCE_INCONSISTENT_TICKETS: Metric = Metric::gauge(
    "helpdesk_slo_source_inconsistent_tickets",
    "Tickets (evaluated since the daemon started) whose events disagree with the helpdesk's ticket record on status, priority, group or organization.",
);
pub const SOURCE_APPROXIMATED_TICKETS: Metric = Metric::gauge(
    "helpdesk_slo_source_approximated_tickets",
    "Tickets whose status history the helpdesk did not keep and the adapter approximated (Freshdesk's last-value stats), as of the last complete poll; their clocks can differ from what happened.",
);
pub const RECONCILE_CLOCKS_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_reconcile_clocks_total",
    "Clock instances compared with the helpdesk's own SLA record (tickets reconciled since the daemon started), by outcome: agree, differ, missing_ours, missing_theirs.",
);
pub const RECONCILE_AGREEMENT_RATIO: Metric = Metric::gauge(
    "helpdesk_slo_reconcile_agreement_ratio",
    "Clock instances that agree with the helpdesk's own SLA record over all compared, per metric; 1 when none is compared.",
);
pub const SOURCE_RECORDS_INGESTED_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_source_records_ingested_total",
    "Records committed to the store.",
);
pub const SOURCE_TICKETS_CHANGED_TOTAL: Metric = Metric::counter(
    "helpdesk_slo_source_tickets_changed_total",
    "Tickets whose timeline changed and were recomputed.",
);
pub const STORED_TICKETS: Metric =
    Metric::gauge("helpdesk_slo_stored_tickets", "Tickets in the store.");
pub const CONFIG_LAST_RELOAD_SUCCESSFUL: Metric = Metric::gauge(
    "helpdesk_slo_config_last_reload_successful",
    "1 when the last config (re)load succeeded.",
);
pub const CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS: Metric = Metric::gauge(
    "helpdesk_slo_config_last_reload_success_timestamp_seconds",
    "When the running config was loaded.",
);
pub const LAST_RECOMPUTE_TIMESTAMP_SECONDS: Metric = Metric::gauge(
    "helpdesk_slo_last_recompute_timestamp_seconds",
    "When these figures were computed.",
);

/// Every metric, in the order the exposition writes them.
pub const ALL: &[Metric] = &[
    CLOCKS_OPEN,
    CLOCKS_MET_TOTAL,
    CLOCKS_BREACHED_TOTAL,
    CLOCKS_EXCLUDED_TOTAL,
    CLOCKS_DECIDED,
    ATTAINMENT_RATIO,
    CLOCKS_BREACHING_SOON,
    NEXT_BREACH_TIMESTAMP_SECONDS,
    NEXT_BREACH_BUSINESS_SECONDS,
    FULFILMENT_BUSINESS_SECONDS,
    OBJECTIVE_RATIO,
    PLAN_ATTAINMENT_RATIO,
    PLAN_CLOCKS_DECIDED,
    ERROR_BUDGET_REMAINING_RATIO,
    ERROR_BUDGET_BURN_RATE,
    ORG_ATTAINMENT_RATIO,
    ORG_CLOCKS_DECIDED,
    CREDIT_CUSTOMERS,
    CREDIT_OWED_RATIO,
    CLOCKS_UNASSIGNED,
    BUILD_INFO,
    SOURCE_OWNER,
    SOURCE_UP,
    SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS,
    SOURCE_POLL_DURATION_SECONDS,
    SOURCE_REQUESTS_TOTAL,
    SOURCE_RATE_LIMITED_TOTAL,
    SOURCE_RATE_LIMIT_REMAINING,
    SOURCE_RETRIES_TOTAL,
    SOURCE_PARSE_ERRORS_TOTAL,
    SOURCE_IGNORED_EVENTS_TOTAL,
    SOURCE_UNMAPPED_VALUES_TOTAL,
    SOURCE_SAME_SECOND_PAGES_TOTAL,
    SOURCE_INCONSISTENT_TICKETS,
    SOURCE_APPROXIMATED_TICKETS,
    RECONCILE_CLOCKS_TOTAL,
    RECONCILE_AGREEMENT_RATIO,
    SOURCE_RECORDS_INGESTED_TOTAL,
    SOURCE_TICKETS_CHANGED_TOTAL,
    STORED_TICKETS,
    CONFIG_LAST_RELOAD_SUCCESSFUL,
    CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS,
    LAST_RECOMPUTE_TIMESTAMP_SECONDS,
];
