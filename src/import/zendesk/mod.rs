//! `import-zendesk-policies`: reads a Zendesk account's SLA policies and
//! business-hours schedules (with their holidays) and writes the equivalent
//! helpdesk-slo config, so a Zendesk customer starts from what they already
//! configured.
//!
//! Zendesk API pages followed (developer.zendesk.com/api-reference):
//!
//! | request | reference page |
//! | --- | --- |
//! | `GET /api/v2/slas/policies.json` | Ticketing › Business Rules › SLA Policies › "List SLA Policies" (`sla_policies`, `next_page`) |
//! | `GET /api/v2/business_hours/schedules.json` | Ticketing › Ticket Management › Schedules › "List Schedules" |
//! | `GET /api/v2/business_hours/schedules/{id}/holidays.json` | Schedules › "List Holidays for a Schedule" |
//!
//! and, for filters, "Conditions reference" (`all`/`any` of `{field,
//! operator, value}`); for auth, errors and rate limits the same
//! "Introduction" pages as the adapter. Every list follows `next_page` while
//! it stays on the account's URL; a 429 waits `Retry-After`, a 5xx, a
//! timeout or a cut-off body is retried a few times.
//!
//! How Zendesk maps onto the config (the output says all of it in comments):
//!
//! * **Schedules → calendars.** Intervals (minutes from Sunday 00:00, local)
//!   become weekly windows; holidays (`start_date`..=`end_date`, whole local
//!   days) become closed dates. Zendesk's Rails time zone names ("Pacific
//!   Time (US & Canada)") are mapped to IANA names with
//!   [`crate::import::zones::RAILS_ZONES`]; an IANA name passes through;
//!   anything else is an error naming the schedule.
//! * **Priorities → severities** `urgent`, `high`, `normal`, `low`. No
//!   `default_severity`: Zendesk gives a ticket without a priority no SLA.
//! * **Metrics**: `first_reply_time` → first_response, `next_reply_time` →
//!   next_reply, `periodic_update_time` → periodic_update,
//!   `pausable_update_time` → periodic_update pausing on pending and hold,
//!   `requester_wait_time` / `agent_work_time` / `total_resolution_time` →
//!   resolution clocks pausing on pending / pending and hold / nothing, that
//!   continue after a reopen.
//! * **Policies → plans**, in `position` order: the first has the highest
//!   precedence. Filter conditions on organization tags, ticket tags
//!   (`current_tags`), organization ids and custom ticket or organization
//!   fields become the plan's `match`; `priority` conditions keep only the
//!   targets of the priorities they admit. A policy with no other condition
//!   is the default plan (several such are merged, the first policy winning
//!   per priority, and policies after one that admits every priority are
//!   never reached in Zendesk, so they are left out). What a plan match cannot
//!   say (a negation, `all` of several criteria, groups, brands, forms…) is
//!   approximated and the plan carries an `APPROXIMATION:` comment saying how.
//! * **Which calendar a plan runs on.** Zendesk applies the schedule a
//!   ticket carries, which triggers set; the account default is the first
//!   schedule listed. A plan runs on the schedule its policy's filter names
//!   (`schedule_id is N`), else on the default schedule (or the one given
//!   with `--default-schedule`). Targets with `business_hours: false` run on
//!   the 24x7 calendar `calendar-hours`.
//!
//! The token is read from an environment variable or a file, sent only in
//! the `Authorization` header, and never appears in output or errors.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;

use serde::Deserialize;
use serde_json::Value;

use crate::calendar::format_seconds;
use crate::policy::spec::SecretSpec;
use crate::policy::Config;
use crate::sources::http::{http_client, read_secret, without_url};
use crate::sources::zendesk::Auth;

mod api;
mod filters;
mod wire;
mod yaml;

pub use self::wire::*;
use self::{api::*, filters::*, yaml::*};
use super::zones::zone_for;

/// Why an import failed. No variant ever holds the token.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Bad options: the URL, where the token comes from.
    #[error("{0}")]
    Setup(String),
    /// 401/403: the credentials or their role.
    #[error("{0}")]
    Auth(String),
    /// Any other HTTP or transport failure, after retries.
    #[error("{0}")]
    Http(String),
    /// A response that is not what the Zendesk API reference describes.
    #[error("{0}")]
    Malformed(String),
    /// A schedule's time zone is not one we can map.
    #[error("schedule \"{schedule}\" (id {id}) has time zone \"{zone}\", which is neither a Zendesk time zone name this importer knows (such as \"Pacific Time (US & Canada)\", \"London\" or \"Tokyo\") nor an IANA name (such as America/Los_Angeles); correct the schedule's time zone in Zendesk (Admin Center › Objects and rules › Schedules) and import again")]
    UnknownZone {
        schedule: String,
        id: String,
        zone: String,
    },
    /// The account cannot be expressed at all (e.g. an unknown default schedule).
    #[error("{0}")]
    Unsupported(String),
    /// The config we generated did not load: a bug, reported with the text's error.
    #[error("the generated config does not load ({0}); please report this with the Zendesk policy that caused it")]
    Invalid(String),
}

/// Where and how to read the account.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The account URL: `https://acme.zendesk.com` (or `acme.zendesk.com`,
    /// or the subdomain `acme`).
    pub url: String,
    /// The agent's email for API-token auth; `None`: the token is an OAuth
    /// access token.
    pub email: Option<String>,
    /// Where the token comes from (an environment variable or a file).
    pub token: SecretSpec,
    /// The schedule (id or name) plans run on when their policy names none;
    /// default: the first schedule listed, Zendesk's account default.
    pub default_schedule: Option<String>,
}

/// What the import read and made.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The config YAML, with comments.
    pub yaml: String,
    pub policies: usize,
    pub schedules: usize,
    pub holidays: usize,
    /// How many `APPROXIMATION:` comments the YAML carries.
    pub approximations: usize,
}

/// Normalizes what a user gives as the account URL.
pub fn account_url(text: &str) -> Result<String, ImportError> {
    let t = text.trim().trim_end_matches('/');
    if t.is_empty() {
        return Err(ImportError::Setup(
            "--url is empty; give the account URL, such as https://acme.zendesk.com".into(),
        ));
    }
    let url = if t.contains("://") {
        t.to_string()
    } else if t.contains('.') || t.contains(':') {
        format!("https://{t}")
    } else {
        format!("https://{t}.zendesk.com")
    };
    let parsed = reqwest::Url::parse(&url).map_err(|e| {
        ImportError::Setup(format!(
            "--url is not a URL ({e}); give the account URL, such as https://acme.zendesk.com"
        ))
    })?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ImportError::Setup(
            "--url must not carry credentials; give the agent with --email and the token with --token-env or --token-file".into(),
        ));
    }
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(ImportError::Setup(format!(
            "--url \"{text}\" must be an http(s) URL such as https://acme.zendesk.com"
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// Reads the account and converts it; the YAML is checked to load with
/// [`Config::from_yaml`] before it is returned.
pub async fn import(options: &ImportOptions) -> Result<Imported, ImportError> {
    let base = account_url(&options.url)?;
    let token = read_secret(&options.token, "API token").map_err(ImportError::Setup)?;
    if token.is_empty() {
        return Err(ImportError::Setup("the API token is empty".into()));
    }
    let api = Api {
        client: http_client().map_err(ImportError::Setup)?,
        base: base.clone(),
        auth: Auth::new(options.email.clone(), token.clone()),
        token,
        retry_wait: Duration::from_secs(1),
    };
    let account = api.account().await?;
    let source = SourceHint {
        url: base,
        email: options.email.clone(),
        token: options.token.clone(),
    };
    convert(&account, options.default_schedule.as_deref(), Some(&source))
}

#[cfg(test)]
mod tests;
