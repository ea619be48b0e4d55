//! The Freshdesk source's own config: the keys under a source of
//! `kind: freshdesk` besides `kind`, `poll_interval` and
//! `requests_per_minute`. Documented in `docs/freshdesk.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::policy::spec::{InstantSpec, SecretSpec, SourceSpec, Status};
use crate::sources::SettingError;

/// Where status and priority history comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum History {
    /// The daily ticket activities export (the account must enable it).
    #[default]
    ActivitiesExport,
    /// Approximated from each ticket's `stats` (last values only).
    Stats,
}

/// Whether outbound-email tickets (`source` 10) get clocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundEmail {
    #[default]
    Ignore,
    Count,
}

/// A Freshdesk account to poll.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreshdeskConfig {
    /// `https://acme.freshdesk.com` (or `domain`).
    #[serde(default)]
    pub url: Option<String>,
    /// `acme` for `https://acme.freshdesk.com`.
    #[serde(default)]
    pub domain: Option<String>,
    pub api_key: SecretSpec,
    pub start_time: InstantSpec,
    #[serde(default)]
    pub history: History,
    /// Custom status number → the status it counts as.
    #[serde(default)]
    pub custom_statuses: BTreeMap<String, Status>,
    #[serde(default)]
    pub outbound_email: OutboundEmail,
    /// Our metric (by name) → the Freshdesk due time it is compared with
    /// (`fr_due_by`, `nr_due_by`, `due_by`) or `none`; see
    /// [`super::reconcile::mapping`].
    #[serde(default)]
    pub reconcile: BTreeMap<String, String>,
}

impl FreshdeskConfig {
    /// Reads and checks the Freshdesk keys of a source (no I/O).
    pub fn from_spec(spec: &SourceSpec) -> Result<FreshdeskConfig, SettingError> {
        let config: FreshdeskConfig = super::super::settings(spec)?;
        config.base_url()?;
        check_values(&config.reconcile)?;
        for key in config.custom_statuses.keys() {
            match key.parse::<u32>() {
                Ok(n) if n >= 6 => {}
                _ => {
                    return Err(SettingError {
                        key: Some("custom_statuses".into()),
                        message: format!(
                            "{key:?} is not a custom status: Freshdesk's custom statuses are numbers from 6 up (2-5 are Open, Pending, Resolved, Closed), as in GET /api/v2/ticket_fields"
                        ),
                    })
                }
            }
        }
        Ok(config)
    }

    /// The account's base URL, without a trailing slash.
    pub fn base_url(&self) -> Result<String, SettingError> {
        match (&self.url, &self.domain) {
            (Some(url), None) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(SettingError {
                        key: Some("url".into()),
                        message: format!("{url:?} is not a URL: the account's base URL with its scheme, such as https://acme.freshdesk.com"),
                    });
                }
                Ok(url.trim_end_matches('/').to_string())
            }
            (None, Some(d)) => {
                let ok = !d.is_empty() && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                if !ok {
                    return Err(SettingError {
                        key: Some("domain".into()),
                        message: format!("{d:?} is not a Freshdesk subdomain: write acme for https://acme.freshdesk.com (or give url instead)"),
                    });
                }
                Ok(format!("https://{d}.freshdesk.com"))
            }
            _ => Err(SettingError {
                key: None,
                message: "give exactly one of url (https://acme.freshdesk.com) or domain (acme)"
                    .into(),
            }),
        }
    }
}

/// What `reconcile:` says to compare a metric with nothing.
pub const NONE: &str = "none";

/// One of Freshdesk's due times, with its escalation flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// `fr_due_by`, `fr_escalated`: the first response.
    FirstResponse,
    /// `nr_due_by`, `nr_escalated`: the next response awaited now.
    NextResponse,
    /// `due_by`, `is_escalated`: the resolution.
    Resolution,
}

impl Due {
    /// Every due, by the name `reconcile:` gives it.
    pub const ALL: [Due; 3] = [Due::FirstResponse, Due::NextResponse, Due::Resolution];

    /// Its name in `reconcile:`: the ticket's key.
    pub fn name(self) -> &'static str {
        match self {
            Due::FirstResponse => "fr_due_by",
            Due::NextResponse => "nr_due_by",
            Due::Resolution => "due_by",
        }
    }

    pub(super) fn escalated(self) -> &'static str {
        match self {
            Due::FirstResponse => "fr_escalated",
            Due::NextResponse => "nr_escalated",
            Due::Resolution => "is_escalated",
        }
    }

    pub(super) fn parse(name: &str) -> Option<Due> {
        Due::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Whether Freshdesk shows only the current instance of it.
    pub(super) fn current_only(self) -> bool {
        !matches!(self, Due::FirstResponse)
    }
}

/// Each value under `reconcile:` is one of Freshdesk's due times or
/// `none`; an error names the key and the values there are.
pub fn check_values(reconcile: &BTreeMap<String, String>) -> Result<(), SettingError> {
    for (metric, value) in reconcile {
        if value != NONE && Due::parse(value).is_none() {
            return Err(SettingError {
                key: Some(format!("reconcile.{metric}")),
                message: format!(
                    "{value:?} is not one of Freshdesk's due times: write fr_due_by (first response), nr_due_by (next response), due_by (resolution) or none"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> SourceSpec {
        serde_yaml_ng::from_str(&format!(
            "kind: freshdesk\napi_key: {{ env: FD_KEY }}\nstart_time: 2026-11-01T00:00:00Z\n{yaml}"
        ))
        .unwrap()
    }

    #[test]
    fn the_account_is_a_url_or_a_domain_never_both() {
        let c = FreshdeskConfig::from_spec(&spec("domain: acme")).unwrap();
        assert_eq!(c.base_url().unwrap(), "https://acme.freshdesk.com");
        assert_eq!(c.history, History::ActivitiesExport);
        assert_eq!(c.outbound_email, OutboundEmail::Ignore);
        let c = FreshdeskConfig::from_spec(&spec("url: https://support.acme.test/")).unwrap();
        assert_eq!(c.base_url().unwrap(), "https://support.acme.test");
        let e = FreshdeskConfig::from_spec(&spec("url: https://a.test\ndomain: a")).unwrap_err();
        assert!(e.message.contains("exactly one of url"), "{e}");
        let e = FreshdeskConfig::from_spec(&spec("domain: acme.freshdesk.com")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("domain"));
        let e = FreshdeskConfig::from_spec(&spec("url: acme.freshdesk.com")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("url"));
    }

    #[test]
    fn custom_statuses_are_numbers_from_6() {
        let c = FreshdeskConfig::from_spec(&spec("domain: acme\ncustom_statuses: { \"6\": pending, \"21\": hold }\nhistory: stats\noutbound_email: count")).unwrap();
        assert_eq!(c.custom_statuses["21"], Status::Hold);
        assert_eq!(
            (c.history, c.outbound_email),
            (History::Stats, OutboundEmail::Count)
        );
        for bad in ["\"3\"", "waiting"] {
            let e = FreshdeskConfig::from_spec(&spec(&format!(
                "domain: acme\ncustom_statuses: {{ {bad}: pending }}"
            )))
            .unwrap_err();
            assert_eq!(e.key.as_deref(), Some("custom_statuses"), "{bad}");
            assert!(e.message.contains("numbers from 6 up"), "{e}");
        }
        let e = FreshdeskConfig::from_spec(&spec("domain: acme\ntoken: x")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("token"));
    }

    #[test]
    fn a_value_that_is_no_due_time_is_an_error_naming_the_key() {
        let ok: BTreeMap<String, String> = [
            ("first_response".to_string(), "fr_due_by".to_string()),
            ("resolution".to_string(), "none".to_string()),
        ]
        .into();
        assert!(check_values(&ok).is_ok());
        let bad: BTreeMap<String, String> =
            [("resolution".to_string(), "resolution_due".to_string())].into();
        let e = check_values(&bad).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("reconcile.resolution"));
        assert!(e.message.contains("fr_due_by"), "{}", e.message);
    }
}
