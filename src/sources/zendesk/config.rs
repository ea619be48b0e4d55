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
}

impl ZendeskConfig {
    /// Reads and checks the Zendesk keys of a source (no I/O: the token is
    /// read when the adapter is built).
    pub fn from_spec(spec: &SourceSpec) -> Result<ZendeskConfig, SettingError> {
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
