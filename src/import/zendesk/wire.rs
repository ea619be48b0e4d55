//! The account's SLA policies, schedules and holidays as Zendesk's API sends them.

use super::*;

/// A schedule as Zendesk lists it, with its holidays.
#[derive(Debug, Clone, Deserialize)]
pub struct ZSchedule {
    pub id: Value,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub intervals: Vec<ZInterval>,
    #[serde(skip)]
    pub holidays: Vec<ZHoliday>,
}

/// Open minutes `[start_time, end_time)` counted from Sunday 00:00 local.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ZInterval {
    pub start_time: i64,
    pub end_time: i64,
}

/// A holiday: whole local days from `start_date` through `end_date`.
#[derive(Debug, Clone, Deserialize)]
pub struct ZHoliday {
    #[serde(default)]
    pub id: Value,
    #[serde(default)]
    pub name: String,
    pub start_date: String,
    pub end_date: String,
}

/// An SLA policy as Zendesk lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct ZPolicy {
    pub id: Value,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub position: Option<i64>,
    #[serde(default)]
    pub filter: Option<ZFilter>,
    #[serde(default)]
    pub policy_metrics: Vec<ZPolicyMetric>,
}

/// A policy's filter: `all` must hold, and one of `any` when it has any.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ZFilter {
    #[serde(default)]
    pub all: Option<Vec<ZCondition>>,
    #[serde(default)]
    pub any: Option<Vec<ZCondition>>,
}

/// One condition: `{field, operator, value}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ZCondition {
    pub field: String,
    #[serde(default)]
    pub operator: String,
    #[serde(default)]
    pub value: Value,
}

/// One target of a policy.
#[derive(Debug, Clone, Deserialize)]
pub struct ZPolicyMetric {
    #[serde(default)]
    pub priority: Option<String>,
    pub metric: String,
    /// Minutes.
    #[serde(default)]
    pub target: Option<i64>,
    /// Seconds, when Zendesk sends it (newer accounts): preferred.
    #[serde(default)]
    pub target_in_seconds: Option<i64>,
    #[serde(default)]
    pub business_hours: bool,
}

/// What the import reads from an account.
#[derive(Debug, Clone, Default)]
pub struct Account {
    pub schedules: Vec<ZSchedule>,
    pub policies: Vec<ZPolicy>,
}

/// How the output's commented `sources:` block names the account.
#[derive(Debug, Clone)]
pub struct SourceHint {
    pub url: String,
    pub email: Option<String>,
    pub token: SecretSpec,
}
