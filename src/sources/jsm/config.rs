//! The Jira Service Management source's own config: the keys under a
//! source of `kind: jira_service_management` besides `kind`,
//! `poll_interval` and `requests_per_minute`. Documented in
//! `docs/jira-service-management.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::calendar::BusinessDuration;
use crate::policy::spec::{AuthSpec, InstantSpec, SourceSpec, Status};
use crate::sources::SettingError;

use super::sla::JsmReconciled;

/// A service project of a JSM Cloud site to poll.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsmConfig {
    /// `https://acme.atlassian.net`.
    pub url: String,
    /// `email` + API token (Basic), or an OAuth bearer token.
    pub auth: AuthSpec,
    /// The service project's key (`SUP`).
    pub project: String,
    /// Where the first backfill starts.
    pub start_time: InstantSpec,
    /// The API user's time zone in Jira: JQL date literals are read in it.
    #[serde(default)]
    pub user_timezone: Option<String>,
    /// How far before the last update read each search starts (`5m`).
    #[serde(default)]
    pub search_margin: Option<String>,
    /// Status id → the status it counts as (else its category decides).
    #[serde(default)]
    pub statuses: BTreeMap<String, Status>,
    /// The Organizations field's id (`customfield_10002`).
    #[serde(default)]
    pub organization_field: Option<String>,
    /// The field that names the request's team or group (`customfield_10001`,
    /// the Team field): its changes are the timeline's `group` events.
    #[serde(default)]
    pub group_field: Option<String>,
    /// The Request Type field's id (`customfield_10010`): the request
    /// type's name becomes the ticket's field `request_type`.
    #[serde(default)]
    pub request_type_field: Option<String>,
    /// SLA fields whose values are kept as sent.
    #[serde(default)]
    pub sla_fields: Vec<String>,
    /// Our metric (by name) → the JSM SLA it is compared with (the SLA's
    /// name, id or field), or `none`; see [`reconcile_mapping`].
    #[serde(default)]
    pub reconcile: BTreeMap<String, String>,
}

/// What `reconcile:` says to compare a metric with nothing.
pub const RECONCILE_NONE: &str = "none";

/// The SLAs a new JSM service project comes with, which our metrics of
/// the same purpose are compared with unless `reconcile:` says otherwise.
pub const DEFAULT_FIRST_RESPONSE_SLA: &str = "Time to first response";
pub const DEFAULT_RESOLUTION_SLA: &str = "Time to resolution";

/// JSM's side of the reconciliation, for the registry ([`super::KIND`]):
/// its SLA records are always kept (from `sla_fields`, else the request
/// SLA endpoint), so it is always on.
pub(super) const RECONCILER: crate::sources::Reconciler = crate::sources::Reconciler {
    check: crate::sources::check_reconcile_keys,
    enabled: |_| Ok(()),
    metrics: |spec, policy| {
        let chosen = JsmConfig::from_spec(spec)
            .map(|c| c.reconcile)
            .unwrap_or_default();
        reconcile_mapping(policy, &chosen)
            .into_iter()
            .map(|m| m.metric)
            .collect()
    },
    theirs: |spec, policy| {
        let config = JsmConfig::from_spec(spec).map_err(|e| e.to_string())?;
        Ok(crate::sources::their_side(
            reconcile_mapping(policy, &config.reconcile),
            |m| &m.metric,
            |ticket, m| super::sla::holds(&ticket.fields, &m.sla),
            |ticket, mapping| super::sla::observed(&ticket.fields, mapping),
        ))
    },
};

/// Each of `policy`'s metrics with the JSM SLA it is compared with under
/// `reconcile` (the config's choice, else: a first response with "Time to
/// first response", a resolution with "Time to resolution", any other
/// kind with nothing), leaving out those compared with nothing.
pub fn reconcile_mapping(
    policy: &crate::policy::Policy,
    reconcile: &BTreeMap<String, String>,
) -> Vec<JsmReconciled> {
    use crate::policy::spec::MetricKindSpec as K;
    policy
        .metrics
        .iter()
        .filter_map(|m| {
            let sla = match reconcile.get(&m.name) {
                Some(chosen) => chosen.as_str(),
                None => match m.kind {
                    K::FirstResponse => DEFAULT_FIRST_RESPONSE_SLA,
                    K::Resolution => DEFAULT_RESOLUTION_SLA,
                    _ => RECONCILE_NONE,
                },
            };
            (sla != RECONCILE_NONE).then(|| JsmReconciled {
                metric: m.name.clone(),
                sla: sla.to_string(),
            })
        })
        .collect()
}

/// The margin when `search_margin` is not given: 5 minutes.
pub const DEFAULT_MARGIN: i64 = 300;

fn error(key: &str, message: String) -> SettingError {
    SettingError {
        key: Some(key.to_string()),
        message,
    }
}

impl JsmConfig {
    /// Reads and checks the keys of a source (no I/O: the token is read
    /// when the adapter is built).
    pub fn from_spec(spec: &SourceSpec) -> Result<JsmConfig, SettingError> {
        let config: JsmConfig = super::super::settings(spec)?;
        let scheme = config.url.split_once("://").map(|(s, _)| s);
        if !matches!(scheme, Some("https" | "http")) {
            return Err(error(
                "url",
                format!(
                    "{:?} is not a URL: the site's base URL with its scheme, such as https://acme.atlassian.net",
                    config.url
                ),
            ));
        }
        let key_ok = config
            .project
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
            && config
                .project
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(error(
                "project",
                format!(
                    "{:?} is not a project key: upper-case letters, digits and _, starting with a letter, such as SUP",
                    config.project
                ),
            ));
        }
        config.timezone()?;
        config.margin()?;
        for (key, what) in config
            .organization_field
            .iter()
            .map(|f| (f, "organization_field"))
            .chain(config.group_field.iter().map(|f| (f, "group_field")))
            .chain(
                config
                    .request_type_field
                    .iter()
                    .map(|f| (f, "request_type_field")),
            )
            .chain(config.sla_fields.iter().map(|f| (f, "sla_fields")))
        {
            let ok = key
                .strip_prefix("customfield_")
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            if !ok {
                return Err(error(
                    what,
                    format!("{key:?} is not a custom field id: write it as Jira names it, such as customfield_10002"),
                ));
            }
        }
        for id in config.statuses.keys() {
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
                return Err(error(
                    "statuses",
                    format!("{id:?} is not a status id: statuses are matched by their numeric id (GET /rest/api/3/status), such as \"10002\", never by name"),
                ));
            }
        }
        for (metric, sla) in &config.reconcile {
            if sla.trim().is_empty() {
                return Err(error(
                    &format!("reconcile.{metric}"),
                    format!("an empty SLA: name the JSM SLA that {metric:?} is compared with (its name, such as \"{DEFAULT_FIRST_RESPONSE_SLA}\", its id or its field, such as customfield_10030), or {RECONCILE_NONE}"),
                ));
            }
        }
        Ok(config)
    }

    /// The base URL without a trailing slash.
    pub fn base_url(&self) -> String {
        self.url.trim_end_matches('/').to_string()
    }

    /// The API user's zone (UTC when not given).
    pub fn timezone(&self) -> Result<chrono_tz::Tz, SettingError> {
        match &self.user_timezone {
            None => Ok(chrono_tz::UTC),
            Some(name) => name.parse().map_err(|_| {
                error(
                    "user_timezone",
                    format!("{name:?} is not an IANA time zone name such as America/Los_Angeles (the zone of the API user's Jira profile)"),
                )
            }),
        }
    }

    /// The search margin in seconds.
    pub fn margin(&self) -> Result<i64, SettingError> {
        match &self.search_margin {
            None => Ok(DEFAULT_MARGIN),
            Some(text) => BusinessDuration::parse_where_a_day_is(text, "24 hours")
                .map(|d| i64::from(d.days) * 86_400 + d.seconds as i64)
                .map_err(|e| error("search_margin", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> SourceSpec {
        serde_yaml_ng::from_str(&format!(
            "kind: jira_service_management\nauth: {{ email: a@b.test, token: {{ env: JSM_TOKEN }} }}\nstart_time: 2026-11-01T00:00:00Z\n{yaml}"
        ))
        .unwrap()
    }

    #[test]
    fn a_good_config_reads_with_its_defaults() {
        let c = JsmConfig::from_spec(&spec(
            "url: https://acme.atlassian.net/\nproject: SUP\nstatuses: { \"10002\": pending }\norganization_field: customfield_10002\ngroup_field: customfield_10001\nrequest_type_field: customfield_10010\nsla_fields: [customfield_10030]",
        ))
        .unwrap();
        assert_eq!(c.group_field.as_deref(), Some("customfield_10001"));
        assert_eq!(c.request_type_field.as_deref(), Some("customfield_10010"));
        assert_eq!(c.base_url(), "https://acme.atlassian.net");
        assert_eq!(c.timezone().unwrap(), chrono_tz::UTC);
        assert_eq!(c.margin().unwrap(), 300);
        assert_eq!(c.statuses["10002"], Status::Pending);
    }

    #[test]
    fn bad_keys_are_named_with_what_is_valid() {
        for (yaml, key, says) in [
            (
                "url: acme.atlassian.net\nproject: SUP",
                "url",
                "with its scheme",
            ),
            (
                "url: https://a.test\nproject: sup",
                "project",
                "project key",
            ),
            (
                "url: https://a.test\nproject: SUP\nuser_timezone: PST",
                "user_timezone",
                "IANA",
            ),
            (
                "url: https://a.test\nproject: SUP\nsearch_margin: soon",
                "search_margin",
                "not a duration",
            ),
            (
                "url: https://a.test\nproject: SUP\nstatuses: { Waiting: pending }",
                "statuses",
                "never by name",
            ),
            (
                "url: https://a.test\nproject: SUP\nsla_fields: [Time to resolution]",
                "sla_fields",
                "customfield_",
            ),
            (
                "url: https://a.test\nproject: SUP\norganization_field: Organizations",
                "organization_field",
                "customfield_",
            ),
            (
                "url: https://a.test\nproject: SUP\ngroup_field: Team",
                "group_field",
                "customfield_",
            ),
            (
                "url: https://a.test\nproject: SUP\nrequest_type_field: Request Type",
                "request_type_field",
                "customfield_",
            ),
            (
                "url: https://a.test\nproject: SUP\ntoken: x",
                "token",
                "unknown field",
            ),
            (
                "url: https://a.test\nproject: SUP\nreconcile: { first_response: \" \" }",
                "reconcile.first_response",
                "an empty SLA",
            ),
        ] {
            let e = JsmConfig::from_spec(&spec(yaml)).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{yaml}");
            assert!(e.message.contains(says), "{yaml}: {e}");
        }
    }

    #[test]
    fn reconcile_maps_first_response_and_resolution_by_default_and_none_leaves_a_metric_out() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jsm.yaml");
        let config = crate::config_files::load(&path).unwrap();
        let kinds: Vec<_> = config.policy.metrics.iter().map(|m| m.kind).collect();
        use crate::policy::spec::MetricKindSpec as K;
        assert!(kinds.contains(&K::FirstResponse) && kinds.contains(&K::Resolution));
        let name_of = |kind: K| {
            config
                .policy
                .metrics
                .iter()
                .find(|m| m.kind == kind)
                .map(|m| m.name.clone())
                .unwrap()
        };
        let (first, resolution) = (name_of(K::FirstResponse), name_of(K::Resolution));
        let got = reconcile_mapping(&config.policy, &BTreeMap::new());
        assert!(got.contains(&JsmReconciled {
            metric: first.clone(),
            sla: DEFAULT_FIRST_RESPONSE_SLA.into()
        }));
        assert!(got.contains(&JsmReconciled {
            metric: resolution.clone(),
            sla: DEFAULT_RESOLUTION_SLA.into()
        }));
        let chosen: BTreeMap<String, String> = [
            (first.clone(), "customfield_10030".to_string()),
            (resolution.clone(), RECONCILE_NONE.to_string()),
        ]
        .into();
        let got = reconcile_mapping(&config.policy, &chosen);
        assert!(got.contains(&JsmReconciled {
            metric: first,
            sla: "customfield_10030".into()
        }));
        assert!(got.iter().all(|r| r.metric != resolution), "{got:?}");
    }
}
