//! The Zendesk source's own config: the keys under a source of
//! `kind: zendesk` besides the ones every source has (`kind`,
//! `poll_interval`, `requests_per_minute`). Documented in `docs/zendesk.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::policy::spec::{AuthSpec, InstantSpec, SourceSpec, Status, VoiceComments};
use crate::sources::SettingError;

/// A Zendesk account to poll.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZendeskConfig {
    /// The account's base URL, e.g. `https://acme.zendesk.com`.
    pub url: String,
    pub auth: AuthSpec,
    /// Where the first backfill starts.
    pub start_time: InstantSpec,
    /// Custom ticket statuses that count as another status than their
    /// category (`"1500001234": hold`).
    #[serde(default)]
    pub custom_statuses: BTreeMap<String, Status>,
    /// Voice comments: `count` (the default) or `ignore`.
    #[serde(default)]
    pub voice_comments: VoiceComments,
    /// Read Zendesk's own SLA record (the ticket metric events) and store
    /// it beside each ticket's timeline, for reconciliation. Off by
    /// default: the endpoint is for admins only, and it holds several
    /// events per ticket, so a backfill takes more requests.
    #[serde(default)]
    pub ticket_metric_events: bool,
    /// Which of Zendesk's metrics each of our metrics is compared with
    /// (`first_response: reply_time`); a metric not named here is mapped by
    /// its kind ([`super::reconcile::default_metric`]). `none` compares it with nothing.
    #[serde(default)]
    pub reconcile: BTreeMap<String, ZendeskMetric>,
}

impl ZendeskConfig {
    /// Reads and checks the Zendesk keys of a source (no I/O: the token is
    /// read when the adapter is built).
    pub fn from_spec(spec: &SourceSpec) -> Result<ZendeskConfig, SettingError> {
        check_reconcile_values(spec)?;
        let config: ZendeskConfig = super::super::settings(spec)?;
        let scheme = config.url.split_once("://").map(|(s, _)| s);
        if !matches!(scheme, Some("https" | "http")) {
            return Err(SettingError {
                key: Some("url".to_string()),
                message: format!(
                    "{:?} is not a URL: the account's base URL with its scheme, such as https://acme.zendesk.com",
                    config.url
                ),
            });
        }
        Ok(config)
    }
}

/// The names `reconcile:` takes.
const ZENDESK_METRICS: [&str; 6] = [
    "reply_time",
    "requester_wait_time",
    "agent_work_time",
    "periodic_update_time",
    "pausable_update_time",
    "none",
];

/// Each value under `reconcile:` is one of [`ZENDESK_METRICS`]; an error
/// names the key (`reconcile.<our metric>`) and what is valid.
fn check_reconcile_values(spec: &SourceSpec) -> Result<(), SettingError> {
    let Some(map) = spec
        .settings
        .get("reconcile")
        .and_then(serde_yaml_ng::Value::as_mapping)
    else {
        return Ok(());
    };
    for (key, value) in map {
        let key = key.as_str().unwrap_or("");
        if value.as_str().is_some_and(|v| ZENDESK_METRICS.contains(&v)) {
            continue;
        }
        let shown = match value.as_str() {
            Some(v) => format!("{v:?}"),
            None => "this".to_string(),
        };
        return Err(SettingError {
            key: Some(format!("reconcile.{key}")),
            message: format!(
                "{shown} is not a Zendesk metric; write one of {} (none: compare {key} with nothing)",
                ZENDESK_METRICS.join(", ")
            ),
        });
    }
    Ok(())
}

/// A Zendesk metric, as its ticket metric events name it, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZendeskMetric {
    /// First reply (instance 1) and next replies (instances 2 and on).
    ReplyTime,
    RequesterWaitTime,
    AgentWorkTime,
    PeriodicUpdateTime,
    PausableUpdateTime,
    /// Compared with nothing.
    None,
}

impl ZendeskMetric {
    /// The name the metric events carry (`None` for `none`).
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::ReplyTime => "reply_time",
            Self::RequesterWaitTime => "requester_wait_time",
            Self::AgentWorkTime => "agent_work_time",
            Self::PeriodicUpdateTime => "periodic_update_time",
            Self::PausableUpdateTime => "pausable_update_time",
            Self::None => return None,
        })
    }
}
