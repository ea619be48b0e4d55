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
//!   Time (US & Canada)") are mapped to IANA names with [`RAILS_ZONES`]; an
//!   IANA name passes through; anything else is an error naming the schedule.
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
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use crate::calendar::format_seconds;
use crate::policy::spec::SecretSpec;
use crate::policy::Config;
use crate::sources::zendesk::{http_client, read_secret, without_url, Auth};

/// Zendesk's (Rails ActiveSupport's) time zone names and their IANA zones.
/// Where several names share a zone, the first listed is the one the
/// emulator serves for it.
pub const RAILS_ZONES: &[(&str, &str)] = &[
    ("International Date Line West", "Etc/GMT+12"),
    ("Midway Island", "Pacific/Midway"),
    ("American Samoa", "Pacific/Pago_Pago"),
    ("Hawaii", "Pacific/Honolulu"),
    ("Alaska", "America/Juneau"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("Tijuana", "America/Tijuana"),
    ("Mountain Time (US & Canada)", "America/Denver"),
    ("Arizona", "America/Phoenix"),
    ("Chihuahua", "America/Chihuahua"),
    ("Mazatlan", "America/Mazatlan"),
    ("Central Time (US & Canada)", "America/Chicago"),
    ("Saskatchewan", "America/Regina"),
    ("Mexico City", "America/Mexico_City"),
    ("Guadalajara", "America/Mexico_City"),
    ("Monterrey", "America/Monterrey"),
    ("Central America", "America/Guatemala"),
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Indiana (East)", "America/Indiana/Indianapolis"),
    ("Bogota", "America/Bogota"),
    ("Lima", "America/Lima"),
    ("Quito", "America/Lima"),
    ("Atlantic Time (Canada)", "America/Halifax"),
    ("Caracas", "America/Caracas"),
    ("La Paz", "America/La_Paz"),
    ("Santiago", "America/Santiago"),
    ("Newfoundland", "America/St_Johns"),
    ("Brasilia", "America/Sao_Paulo"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"),
    ("Montevideo", "America/Montevideo"),
    ("Georgetown", "America/Guyana"),
    ("Puerto Rico", "America/Puerto_Rico"),
    ("Greenland", "America/Nuuk"),
    ("Mid-Atlantic", "Atlantic/South_Georgia"),
    ("Azores", "Atlantic/Azores"),
    ("Cape Verde Is.", "Atlantic/Cape_Verde"),
    ("Dublin", "Europe/Dublin"),
    ("London", "Europe/London"),
    ("Edinburgh", "Europe/London"),
    ("Lisbon", "Europe/Lisbon"),
    ("Casablanca", "Africa/Casablanca"),
    ("Monrovia", "Africa/Monrovia"),
    ("UTC", "UTC"),
    ("Belgrade", "Europe/Belgrade"),
    ("Bratislava", "Europe/Bratislava"),
    ("Budapest", "Europe/Budapest"),
    ("Ljubljana", "Europe/Ljubljana"),
    ("Prague", "Europe/Prague"),
    ("Sarajevo", "Europe/Sarajevo"),
    ("Skopje", "Europe/Skopje"),
    ("Warsaw", "Europe/Warsaw"),
    ("Zagreb", "Europe/Zagreb"),
    ("Brussels", "Europe/Brussels"),
    ("Copenhagen", "Europe/Copenhagen"),
    ("Madrid", "Europe/Madrid"),
    ("Paris", "Europe/Paris"),
    ("Amsterdam", "Europe/Amsterdam"),
    ("Berlin", "Europe/Berlin"),
    ("Bern", "Europe/Zurich"),
    ("Zurich", "Europe/Zurich"),
    ("Rome", "Europe/Rome"),
    ("Stockholm", "Europe/Stockholm"),
    ("Vienna", "Europe/Vienna"),
    ("West Central Africa", "Africa/Algiers"),
    ("Bucharest", "Europe/Bucharest"),
    ("Cairo", "Africa/Cairo"),
    ("Helsinki", "Europe/Helsinki"),
    ("Kyiv", "Europe/Kyiv"),
    ("Kyev", "Europe/Kyiv"),
    ("Riga", "Europe/Riga"),
    ("Sofia", "Europe/Sofia"),
    ("Tallinn", "Europe/Tallinn"),
    ("Vilnius", "Europe/Vilnius"),
    ("Athens", "Europe/Athens"),
    ("Istanbul", "Europe/Istanbul"),
    ("Minsk", "Europe/Minsk"),
    ("Jerusalem", "Asia/Jerusalem"),
    ("Harare", "Africa/Harare"),
    ("Pretoria", "Africa/Johannesburg"),
    ("Kaliningrad", "Europe/Kaliningrad"),
    ("Moscow", "Europe/Moscow"),
    ("St. Petersburg", "Europe/Moscow"),
    ("Volgograd", "Europe/Volgograd"),
    ("Samara", "Europe/Samara"),
    ("Kuwait", "Asia/Kuwait"),
    ("Riyadh", "Asia/Riyadh"),
    ("Nairobi", "Africa/Nairobi"),
    ("Baghdad", "Asia/Baghdad"),
    ("Tehran", "Asia/Tehran"),
    ("Abu Dhabi", "Asia/Muscat"),
    ("Muscat", "Asia/Muscat"),
    ("Baku", "Asia/Baku"),
    ("Tbilisi", "Asia/Tbilisi"),
    ("Yerevan", "Asia/Yerevan"),
    ("Kabul", "Asia/Kabul"),
    ("Ekaterinburg", "Asia/Yekaterinburg"),
    ("Islamabad", "Asia/Karachi"),
    ("Karachi", "Asia/Karachi"),
    ("Tashkent", "Asia/Tashkent"),
    ("New Delhi", "Asia/Kolkata"),
    ("Chennai", "Asia/Kolkata"),
    ("Kolkata", "Asia/Kolkata"),
    ("Mumbai", "Asia/Kolkata"),
    ("Kathmandu", "Asia/Kathmandu"),
    ("Dhaka", "Asia/Dhaka"),
    ("Astana", "Asia/Dhaka"),
    ("Sri Jayawardenepura", "Asia/Colombo"),
    ("Almaty", "Asia/Almaty"),
    ("Novosibirsk", "Asia/Novosibirsk"),
    ("Rangoon", "Asia/Yangon"),
    ("Bangkok", "Asia/Bangkok"),
    ("Hanoi", "Asia/Bangkok"),
    ("Jakarta", "Asia/Jakarta"),
    ("Krasnoyarsk", "Asia/Krasnoyarsk"),
    ("Beijing", "Asia/Shanghai"),
    ("Chongqing", "Asia/Chongqing"),
    ("Hong Kong", "Asia/Hong_Kong"),
    ("Urumqi", "Asia/Urumqi"),
    ("Kuala Lumpur", "Asia/Kuala_Lumpur"),
    ("Singapore", "Asia/Singapore"),
    ("Taipei", "Asia/Taipei"),
    ("Perth", "Australia/Perth"),
    ("Irkutsk", "Asia/Irkutsk"),
    ("Ulaanbaatar", "Asia/Ulaanbaatar"),
    ("Seoul", "Asia/Seoul"),
    ("Tokyo", "Asia/Tokyo"),
    ("Osaka", "Asia/Tokyo"),
    ("Sapporo", "Asia/Tokyo"),
    ("Yakutsk", "Asia/Yakutsk"),
    ("Darwin", "Australia/Darwin"),
    ("Adelaide", "Australia/Adelaide"),
    ("Sydney", "Australia/Sydney"),
    ("Canberra", "Australia/Melbourne"),
    ("Melbourne", "Australia/Melbourne"),
    ("Brisbane", "Australia/Brisbane"),
    ("Hobart", "Australia/Hobart"),
    ("Vladivostok", "Asia/Vladivostok"),
    ("Guam", "Pacific/Guam"),
    ("Port Moresby", "Pacific/Port_Moresby"),
    ("Magadan", "Asia/Magadan"),
    ("Srednekolymsk", "Asia/Srednekolymsk"),
    ("Solomon Is.", "Pacific/Guadalcanal"),
    ("New Caledonia", "Pacific/Noumea"),
    ("Fiji", "Pacific/Fiji"),
    ("Kamchatka", "Asia/Kamchatka"),
    ("Marshall Is.", "Pacific/Majuro"),
    ("Auckland", "Pacific/Auckland"),
    ("Wellington", "Pacific/Auckland"),
    ("Nuku'alofa", "Pacific/Tongatapu"),
    ("Tokelau Is.", "Pacific/Fakaofo"),
    ("Chatham Is.", "Pacific/Chatham"),
    ("Samoa", "Pacific/Apia"),
];

/// The IANA zone of a Zendesk time zone name (Rails name, case-insensitive,
/// or an IANA name).
pub fn zone_for(name: &str) -> Option<Tz> {
    let name = name.trim();
    RAILS_ZONES
        .iter()
        .find(|(rails, _)| rails.eq_ignore_ascii_case(name))
        .and_then(|(_, iana)| iana.parse::<Tz>().ok())
        .or_else(|| name.parse::<Tz>().ok())
}

/// The Zendesk (Rails) name of an IANA zone, if it has one.
pub fn rails_name_for(tz: Tz) -> Option<&'static str> {
    RAILS_ZONES
        .iter()
        .find(|(_, iana)| iana.parse::<Tz>().ok() == Some(tz))
        .map(|(rails, _)| *rails)
}

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
    let token = read_secret(&options.token).map_err(ImportError::Setup)?;
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

struct Api {
    client: reqwest::Client,
    base: String,
    auth: Auth,
    /// Only to scrub it from any text that reaches an error.
    token: String,
    retry_wait: Duration,
}

const ATTEMPTS: u32 = 4;
const MAX_PAGES: usize = 1000;

impl Api {
    fn redact(&self, text: &str) -> String {
        if self.token.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.token, "<redacted>")
        }
    }

    /// The path and query of a URL on the account, for messages.
    fn path_of<'a>(&self, url: &'a str) -> &'a str {
        url.strip_prefix(&self.base).unwrap_or(url)
    }

    /// GETs one URL, with retries; the parsed JSON body.
    async fn get(&self, url: &str) -> Result<Value, ImportError> {
        let path = self.path_of(url).to_string();
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let wait = self.retry_wait * 2u32.pow(attempt - 1);
            let resp = match self.auth.apply(self.client.get(url)).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("GET {path}: {}", without_url(&e));
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            let status = resp.status();
            if status.as_u16() == 429 {
                let after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(60)
                    .min(300);
                last = format!("GET {path}: HTTP 429, rate limited (Retry-After {after}s)");
                tokio::time::sleep(Duration::from_secs(after.max(1))).await;
                continue;
            }
            if status.is_server_error() {
                last = format!("GET {path}: HTTP {status}");
                tokio::time::sleep(wait).await;
                continue;
            }
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    last = format!("GET {path}: reading the body: {}", without_url(&e));
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            if !status.is_success() {
                return Err(self.status_error(&path, status, &bytes));
            }
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    // A body cut off in transit is worth another try.
                    last = format!("GET {path}: the body is not JSON ({e})");
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let text = self.redact(&last);
        Err(if text.contains("not JSON") {
            ImportError::Malformed(format!("{text}; gave up after {ATTEMPTS} attempts"))
        } else {
            ImportError::Http(format!("{text}; gave up after {ATTEMPTS} attempts"))
        })
    }

    fn status_error(&self, path: &str, status: reqwest::StatusCode, body: &[u8]) -> ImportError {
        // Zendesk's error bodies: {"error": "...", "description": "..."} or
        // {"error": {"title": "...", "message": "..."}}.
        let said = serde_json::from_slice::<Value>(body)
            .ok()
            .map(|v| {
                let mut parts = Vec::new();
                for key in ["error", "description", "title", "message"] {
                    match v.get(key) {
                        Some(Value::String(s)) => parts.push(s.clone()),
                        Some(Value::Object(o)) => {
                            for k in ["title", "message"] {
                                if let Some(Value::String(s)) = o.get(k) {
                                    parts.push(s.clone());
                                }
                            }
                        }
                        _ => {}
                    }
                }
                parts.join(": ")
            })
            .filter(|s| !s.is_empty())
            .map(|s| {
                let s: String = s.chars().take(200).collect();
                format!(" (Zendesk says: {})", self.redact(&s))
            })
            .unwrap_or_default();
        match status.as_u16() {
            401 => ImportError::Auth(format!(
                "GET {path}: HTTP {status}{said}: Zendesk did not accept the credentials; check --url, --email (the agent whose API token this is; leave it out for an OAuth access token) and the token"
            )),
            403 => ImportError::Auth(format!(
                "GET {path}: HTTP {status}{said}: the credentials are valid but may not read this; SLA policies and schedules need an admin's token (and SLA policies a Support Professional plan or above)"
            )),
            404 => ImportError::Http(format!(
                "GET {path}: HTTP {status}{said}: not found; check that --url is the Zendesk account (such as https://acme.zendesk.com) and that the account has SLA policies (Support Professional or above)"
            )),
            _ => ImportError::Http(format!("GET {path}: HTTP {status}{said}")),
        }
    }

    /// Every item of a list, following `next_page` while it stays on the
    /// account.
    async fn list(&self, path: &str, key: &str) -> Result<Vec<Value>, ImportError> {
        let mut url = format!("{}{}", self.base, path);
        let mut seen = BTreeSet::new();
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            seen.insert(url.clone());
            let page = self.get(&url).await?;
            let list = page.get(key).and_then(Value::as_array).ok_or_else(|| {
                ImportError::Malformed(format!(
                    "GET {}: the response has no `{key}` list",
                    self.path_of(&url)
                ))
            })?;
            items.extend(list.iter().cloned());
            match page.get("next_page").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    if !next.starts_with(&format!("{}/", self.base)) {
                        return Err(ImportError::Malformed(format!(
                            "GET {}: next_page points away from the account ({}); not following it with the account's credentials",
                            self.path_of(&url),
                            self.redact(next)
                        )));
                    }
                    if seen.contains(next) {
                        return Err(ImportError::Malformed(format!(
                            "GET {}: next_page repeats a page already read",
                            self.path_of(&url)
                        )));
                    }
                    url = next.to_string();
                }
                _ => return Ok(items),
            }
        }
        Err(ImportError::Malformed(format!(
            "GET {path}: more than {MAX_PAGES} pages"
        )))
    }

    async fn account(&self) -> Result<Account, ImportError> {
        let mut schedules: Vec<ZSchedule> = Vec::new();
        for v in self
            .list("/api/v2/business_hours/schedules.json", "schedules")
            .await?
        {
            schedules.push(serde_json::from_value(v).map_err(|e| {
                ImportError::Malformed(format!(
                    "GET /api/v2/business_hours/schedules.json: a schedule is not as documented: {e}"
                ))
            })?);
        }
        for s in &mut schedules {
            let id = id_text(&s.id);
            let path = format!("/api/v2/business_hours/schedules/{id}/holidays.json");
            for v in self.list(&path, "holidays").await? {
                s.holidays.push(serde_json::from_value(v).map_err(|e| {
                    ImportError::Malformed(format!(
                        "GET {path}: a holiday is not as documented: {e}"
                    ))
                })?);
            }
        }
        let mut policies = Vec::new();
        for v in self
            .list("/api/v2/slas/policies.json", "sla_policies")
            .await?
        {
            policies.push(serde_json::from_value(v).map_err(|e| {
                ImportError::Malformed(format!(
                    "GET /api/v2/slas/policies.json: a policy is not as documented: {e}"
                ))
            })?);
        }
        Ok(Account {
            schedules,
            policies,
        })
    }
}

/// An id (number or string) as text.
fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A condition value as text (lists joined by spaces, like Zendesk's tags).
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// Severities, most severe first, as Zendesk's priorities.
const PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];

/// The 24x7 calendar of `business_hours: false` targets.
pub const CALENDAR_HOURS: &str = "calendar-hours";

/// Zendesk metric → (our metric name, its YAML definition, what it means).
const METRICS: &[(&str, &str, &str)] = &[
    (
        "first_reply_time",
        "{ kind: first_response }",
        "Zendesk first reply time",
    ),
    (
        "next_reply_time",
        "{ kind: next_reply }",
        "Zendesk next reply time",
    ),
    (
        "periodic_update_time",
        "{ kind: periodic_update }",
        "Zendesk periodic update: time between public agent comments",
    ),
    (
        "pausable_update_time",
        "{ kind: periodic_update, pause_on: [pending, hold] }",
        "APPROXIMATION: Zendesk pausable update, the time between public agent comments not counting the time the ticket waits in pending or on-hold; here a periodic update whose clock pauses in those statuses",
    ),
    (
        "requester_wait_time",
        "{ kind: resolution, pause_on: [pending], on_reopen: continue }",
        "APPROXIMATION: Zendesk requester wait time, the total time in New, Open and On-hold until solved (a reopen adds to it); here a resolution clock that pauses in pending and continues after a reopen",
    ),
    (
        "agent_work_time",
        "{ kind: resolution, pause_on: [pending, hold], on_reopen: continue }",
        "APPROXIMATION: Zendesk agent work time, the total time in New and Open until solved (a reopen adds to it); here a resolution clock that pauses in pending and hold and continues after a reopen",
    ),
    (
        "total_resolution_time",
        "{ kind: resolution, on_reopen: continue }",
        "Zendesk total resolution time: from creation to solved, time while solved not counted",
    ),
];

/// A plan criterion set, as `match:` can say it.
#[derive(Debug, Clone, Default, PartialEq)]
struct Criteria {
    organization_tags: Vec<String>,
    organization_ids: Vec<String>,
    organization_field: Option<(String, Vec<String>)>,
    ticket_tags: Vec<String>,
    ticket_field: Option<(String, Vec<String>)>,
}

impl Criteria {
    fn is_empty(&self) -> bool {
        self == &Criteria::default()
    }

    /// Adds `other`'s alternatives; a second field of another name cannot
    /// be said and is returned as a note.
    fn merge(&mut self, other: Criteria) -> Vec<String> {
        fn push_all(to: &mut Vec<String>, from: Vec<String>) {
            for v in from {
                if !to.contains(&v) {
                    to.push(v);
                }
            }
        }
        let mut notes = Vec::new();
        push_all(&mut self.organization_tags, other.organization_tags);
        push_all(&mut self.organization_ids, other.organization_ids);
        push_all(&mut self.ticket_tags, other.ticket_tags);
        for (mine, theirs, what) in [
            (
                &mut self.organization_field,
                other.organization_field,
                "organization field",
            ),
            (&mut self.ticket_field, other.ticket_field, "ticket field"),
        ] {
            match (mine.as_mut(), theirs) {
                (_, None) => {}
                (None, Some(f)) => *mine = Some(f),
                (Some((name, values)), Some((n, vs))) if *name == n => push_all(values, vs),
                (Some((name, _)), Some((n, _))) => notes.push(format!(
                    "APPROXIMATION: a plan matches on one {what}; the condition on {what} \"{n}\" is left out (the plan keeps \"{name}\")"
                )),
            }
        }
        notes
    }

    fn yaml(&self) -> String {
        let list = |v: &[String]| {
            format!(
                "[{}]",
                v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
            )
        };
        let mut parts = Vec::new();
        if !self.organization_tags.is_empty() {
            parts.push(format!(
                "organization_tags: {}",
                list(&self.organization_tags)
            ));
        }
        if !self.organization_ids.is_empty() {
            parts.push(format!(
                "organization_ids: {}",
                list(&self.organization_ids)
            ));
        }
        if let Some((name, values)) = &self.organization_field {
            parts.push(format!(
                "organization_field: {{ name: {}, values: {} }}",
                quote(name),
                list(values)
            ));
        }
        if !self.ticket_tags.is_empty() {
            parts.push(format!("ticket_tags: {}", list(&self.ticket_tags)));
        }
        if let Some((name, values)) = &self.ticket_field {
            parts.push(format!(
                "ticket_field: {{ name: {}, values: {} }}",
                quote(name),
                list(values)
            ));
        }
        format!("{{ {} }}", parts.join(", "))
    }
}

/// One condition, read.
enum Cond {
    Criteria(Criteria),
    /// Severity indexes admitted.
    Priority([bool; 4]),
    Schedule(String),
    Unsupported,
}

fn describe(c: &ZCondition) -> String {
    format!(
        "`{} {} {}`",
        c.field,
        c.operator,
        if c.value.is_string() {
            value_text(&c.value)
        } else {
            c.value.to_string()
        }
    )
}

fn classify(c: &ZCondition) -> Cond {
    let field = c.field.trim().to_ascii_lowercase();
    let op = c.operator.trim().to_ascii_lowercase();
    let text = value_text(&c.value);
    let words = || -> Vec<String> { text.split_whitespace().map(str::to_string).collect() };
    let positive = matches!(op.as_str(), "is" | "includes");
    match field.as_str() {
        "current_tags" | "tags" | "ticket.tags" if positive && !words().is_empty() => {
            Cond::Criteria(Criteria {
                ticket_tags: words(),
                ..Criteria::default()
            })
        }
        "organization.tags" | "organization_tags" | "organization.tag" | "organization_tag"
            if positive && !words().is_empty() =>
        {
            Cond::Criteria(Criteria {
                organization_tags: words(),
                ..Criteria::default()
            })
        }
        "organization_id" if op == "is" && !text.is_empty() => Cond::Criteria(Criteria {
            organization_ids: vec![text],
            ..Criteria::default()
        }),
        "schedule_id" if op == "is" && !text.is_empty() => Cond::Schedule(text),
        "priority" => {
            let Some(rank) = PRIORITIES
                .iter()
                .position(|p| p.eq_ignore_ascii_case(&text))
            else {
                return Cond::Unsupported;
            };
            // Severity index: 0 = urgent (most severe) .. 3 = low.
            let admitted: [bool; 4] = std::array::from_fn(|s| match op.as_str() {
                "is" => s == rank,
                "is_not" => s != rank,
                "less_than" => s > rank,
                "greater_than" => s < rank,
                "less_than_equal" => s >= rank,
                "greater_than_equal" => s <= rank,
                _ => true,
            });
            if matches!(
                op.as_str(),
                "is" | "is_not"
                    | "less_than"
                    | "greater_than"
                    | "less_than_equal"
                    | "greater_than_equal"
            ) {
                Cond::Priority(admitted)
            } else {
                Cond::Unsupported
            }
        }
        f if op == "is" && !text.is_empty() => {
            // The field's id or key keeps its case: the part after the prefix.
            let raw = c.field.trim();
            let rest = |prefixes: &[&str]| {
                prefixes
                    .iter()
                    .find(|p| f.starts_with(*p) && f.len() > p.len())
                    .map(|p| raw[p.len()..].to_string())
            };
            if let Some(id) = rest(&["custom_fields_", "ticket_fields_"]) {
                Cond::Criteria(Criteria {
                    ticket_field: Some((id, vec![text])),
                    ..Criteria::default()
                })
            } else if let Some(key) =
                rest(&["organization.custom_fields.", "organization.custom_fields_"])
            {
                Cond::Criteria(Criteria {
                    organization_field: Some((key, vec![text])),
                    ..Criteria::default()
                })
            } else {
                Cond::Unsupported
            }
        }
        _ => Cond::Unsupported,
    }
}

/// A policy's filter as a plan sees it.
struct FilterOut {
    criteria: Criteria,
    admitted: [bool; 4],
    schedule: Option<String>,
    /// No condition but priorities and schedules: it matches every ticket.
    catch_all: bool,
    notes: Vec<String>,
}

fn severities_text(admitted: &[bool; 4]) -> String {
    PRIORITIES
        .iter()
        .zip(admitted)
        .filter(|(_, a)| **a)
        .map(|(p, _)| *p)
        .collect::<Vec<_>>()
        .join(", ")
}

fn convert_filter(filter: Option<&ZFilter>) -> FilterOut {
    let empty = Vec::new();
    let all = filter.and_then(|f| f.all.as_ref()).unwrap_or(&empty);
    let any = filter.and_then(|f| f.any.as_ref()).unwrap_or(&empty);
    let mut notes = Vec::new();
    let mut admitted = [true; 4];
    let mut schedule: Option<String> = None;
    let mut all_criteria: Vec<(Criteria, String)> = Vec::new();
    let mut all_unsupported = Vec::new();
    for c in all {
        match classify(c) {
            Cond::Criteria(k) => all_criteria.push((k, describe(c))),
            Cond::Priority(set) => {
                for (a, s) in admitted.iter_mut().zip(set) {
                    *a &= s;
                }
            }
            Cond::Schedule(id) => match &schedule {
                Some(prev) if *prev != id => notes.push(format!(
                    "APPROXIMATION: the filter names schedules {prev} and {id}; the plan runs on schedule {prev}"
                )),
                _ => schedule = Some(id),
            },
            Cond::Unsupported => all_unsupported.push(describe(c)),
        }
    }
    let mut any_criteria: Vec<(Criteria, String)> = Vec::new();
    let mut any_priorities: Vec<([bool; 4], String)> = Vec::new();
    let mut any_unsupported = Vec::new();
    for c in any {
        match classify(c) {
            Cond::Criteria(k) => any_criteria.push((k, describe(c))),
            Cond::Priority(set) => any_priorities.push((set, describe(c))),
            Cond::Schedule(_) | Cond::Unsupported => any_unsupported.push(describe(c)),
        }
    }
    if !any_priorities.is_empty() {
        if any_criteria.is_empty() && any_unsupported.is_empty() {
            let mut union = [false; 4];
            for (set, _) in &any_priorities {
                for (u, s) in union.iter_mut().zip(set) {
                    *u |= *s;
                }
            }
            for (a, u) in admitted.iter_mut().zip(union) {
                *a &= u;
            }
        } else {
            let listed: Vec<&str> = any_priorities.iter().map(|(_, d)| d.as_str()).collect();
            notes.push(format!(
                "APPROXIMATION: the `any` conditions mix priorities ({}) with other conditions; a plan cannot match on priority, so tickets that meet only a priority condition are not on this plan",
                listed.join(", ")
            ));
        }
    }
    let mut criteria = Criteria::default();
    let groups = all_criteria.len() + usize::from(!any_criteria.is_empty());
    if groups <= 1 {
        for (k, _) in all_criteria.into_iter().chain(any_criteria) {
            notes.extend(criteria.merge(k));
        }
    } else {
        let required: Vec<String> = all_criteria.iter().map(|(_, d)| d.clone()).collect();
        let alternatives: Vec<String> = any_criteria.iter().map(|(_, d)| d.clone()).collect();
        if all_criteria.len() > 1 {
            notes.push(format!(
                "APPROXIMATION: Zendesk requires all of {}; a plan matches a ticket that meets any one of its criteria, so this plan matches more tickets than the policy",
                required.join(" and ")
            ));
        }
        if !alternatives.is_empty() {
            notes.push(format!(
                "APPROXIMATION: Zendesk also requires one of {}; a plan cannot require both, so these are left out and this plan matches more tickets than the policy",
                alternatives.join(", ")
            ));
        }
        for (k, _) in all_criteria {
            notes.extend(criteria.merge(k));
        }
    }
    if !all_unsupported.is_empty() {
        notes.push(format!(
            "APPROXIMATION: the condition(s) {} have no equivalent in a plan match and are left out, so this plan may match tickets the policy does not",
            all_unsupported.join(", ")
        ));
    }
    if !any_unsupported.is_empty() {
        notes.push(format!(
            "APPROXIMATION: the alternative condition(s) {} have no equivalent in a plan match and are left out, so tickets that meet only them are not on this plan",
            any_unsupported.join(", ")
        ));
    }
    let catch_all = criteria.is_empty()
        && all_unsupported.is_empty()
        && (any.is_empty() || any_criteria_is_priority_only(any));
    FilterOut {
        criteria,
        admitted,
        schedule,
        catch_all,
        notes,
    }
}

fn any_criteria_is_priority_only(any: &[ZCondition]) -> bool {
    !any.is_empty() && any.iter().all(|c| matches!(classify(c), Cond::Priority(_)))
}

/// Double-quoted YAML (a JSON string is a valid YAML double-quoted scalar).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Text for a one-line comment.
fn comment_text(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        format!("{}…", flat.chars().take(300).collect::<String>())
    } else {
        flat
    }
}

/// Writes a comment wrapped at about 78 columns.
fn comment(out: &mut String, indent: &str, text: &str) {
    let text = comment_text(text);
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.trim().is_empty() && indent.len() + 2 + line.len() + 1 + word.len() > 78 {
            let _ = writeln!(out, "{indent}# {line}");
            line = String::from("  ");
        } else if !line.is_empty() && line != "  " {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.trim().is_empty() {
        let _ = writeln!(out, "{indent}# {line}");
    }
}

/// A config name from a Zendesk title: lower case, `-` between words.
fn slug(title: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

fn unique(name: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{name}-{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// A schedule's weekly windows per weekday (Monday = 0), in minutes of the day.
fn weekly_windows(intervals: &[ZInterval]) -> [Vec<(i64, i64)>; 7] {
    const WEEK: i64 = 7 * 1440;
    let mut days: [Vec<(i64, i64)>; 7] = Default::default();
    for iv in intervals {
        let (mut s, e) = (iv.start_time.max(0), iv.end_time.min(2 * WEEK));
        while s < e {
            let day_start = s / 1440 * 1440;
            let piece_end = e.min(day_start + 1440);
            // Zendesk counts days from Sunday; the config from Monday.
            let zd_day = (s / 1440) % 7;
            let day = ((zd_day + 6) % 7) as usize;
            days[day].push((s - day_start, piece_end - day_start));
            s = piece_end;
        }
    }
    for list in &mut days {
        list.sort();
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for (s, e) in list.drain(..) {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *list = merged;
    }
    days
}

fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `hours:` for a schedule, or `None` when it is never open.
fn hours_yaml(intervals: &[ZInterval]) -> Option<String> {
    let days = weekly_windows(intervals);
    if days.iter().all(|d| d.is_empty()) {
        return None;
    }
    if days.iter().all(|d| d.as_slice() == [(0, 1440)]) {
        return Some("24x7".to_string());
    }
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut done = [false; 7];
    let mut entries = Vec::new();
    for d in 0..7 {
        if done[d] || days[d].is_empty() {
            continue;
        }
        let same: Vec<usize> = (d..7).filter(|&o| days[o] == days[d]).collect();
        // Consecutive runs: mon-fri; else a list: mon,wed.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &o in &same {
            done[o] = true;
            match runs.last_mut() {
                Some(r) if r.1 + 1 == o => r.1 = o,
                _ => runs.push((o, o)),
            }
        }
        let key = runs
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    NAMES[a].to_string()
                } else {
                    format!("{}-{}", NAMES[a], NAMES[b])
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let windows = days[d]
            .iter()
            .map(|&(s, e)| format!("\"{}-{}\"", hhmm(s), hhmm(e)))
            .collect::<Vec<_>>()
            .join(", ");
        entries.push(format!("{key}: [{windows}]"));
    }
    Some(format!("{{ {} }}", entries.join(", ")))
}

/// One calendar to write.
struct CalendarOut {
    name: String,
    /// Open 24x7 with no holidays: calendar-hours targets need no override.
    always: bool,
    schedule_id: String,
    schedule_name: String,
    text: String,
}

/// A target: (metric name, seconds, on calendar hours).
type TargetOut = (String, i64, bool);

struct PlanOut {
    name: String,
    header: Vec<String>,
    notes: Vec<String>,
    criteria: Criteria,
    default: bool,
    calendar: String,
    /// Per severity index, in metric order.
    targets: BTreeMap<usize, Vec<TargetOut>>,
}

/// Converts what was read into the config text (checked to load).
pub fn convert(
    account: &Account,
    default_schedule: Option<&str>,
    source: Option<&SourceHint>,
) -> Result<Imported, ImportError> {
    let mut calendar_names = BTreeSet::new();
    calendar_names.insert(CALENDAR_HOURS.to_string());
    let mut calendars: Vec<CalendarOut> = Vec::new();
    let mut skipped_schedules = Vec::new();
    let mut holidays_total = 0;
    for s in &account.schedules {
        let id = id_text(&s.id);
        let tz = zone_for(&s.time_zone).ok_or_else(|| ImportError::UnknownZone {
            schedule: s.name.clone(),
            id: id.clone(),
            zone: s.time_zone.clone(),
        })?;
        let Some(hours) = hours_yaml(&s.intervals) else {
            skipped_schedules.push(format!("\"{}\" (id {id})", comment_text(&s.name)));
            continue;
        };
        let name = unique(
            slug(&s.name, &format!("schedule-{id}")),
            &mut calendar_names,
        );
        let mut text = String::new();
        comment(
            &mut text,
            "  ",
            &format!(
                "Zendesk schedule {id} \"{}\", time zone \"{}\"",
                s.name, s.time_zone
            ),
        );
        let _ = writeln!(text, "  {name}:");
        let _ = writeln!(text, "    timezone: {}", tz.name());
        let _ = writeln!(text, "    hours: {hours}");
        let mut dates: BTreeMap<NaiveDate, String> = BTreeMap::new();
        for h in &s.holidays {
            let parse = |d: &str| {
                NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                    ImportError::Malformed(format!(
                        "schedule \"{}\" (id {id}): holiday \"{}\" has date \"{d}\", not YYYY-MM-DD",
                        s.name, h.name
                    ))
                })
            };
            let (first, last) = (parse(&h.start_date)?, parse(&h.end_date)?);
            if last < first || (last - first).num_days() > 366 {
                return Err(ImportError::Malformed(format!(
                    "schedule \"{}\" (id {id}): holiday \"{}\" runs from {first} to {last}",
                    s.name, h.name
                )));
            }
            for d in first.iter_days().take_while(|d| *d <= last) {
                dates.entry(d).or_insert_with(|| h.name.clone());
            }
        }
        holidays_total += dates.len();
        if !dates.is_empty() {
            let _ = writeln!(text, "    holidays:");
            for (d, why) in &dates {
                let _ = writeln!(text, "      - {d}   # {}", comment_text(why));
            }
        }
        calendars.push(CalendarOut {
            always: hours == "24x7" && dates.is_empty(),
            name,
            schedule_id: id,
            schedule_name: s.name.clone(),
            text,
        });
    }
    let default_calendar: Option<&CalendarOut> = match default_schedule {
        Some(want) => Some(
            calendars
                .iter()
                .find(|c| c.schedule_id == want || c.schedule_name == want || c.name == want)
                .ok_or_else(|| {
                    ImportError::Setup(format!(
                        "--default-schedule \"{want}\" is not a schedule with business hours in the account; its schedules are: {}",
                        calendars
                            .iter()
                            .map(|c| format!("{} (\"{}\")", c.schedule_id, c.schedule_name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
        ),
        None => calendars.first(),
    };

    // Policies in Zendesk's order.
    let mut order: Vec<(usize, &ZPolicy)> = account.policies.iter().enumerate().collect();
    order.sort_by_key(|(i, p)| (p.position.unwrap_or(i64::MAX), *i));
    let mut plan_names = BTreeSet::new();
    let mut plans: Vec<PlanOut> = Vec::new();
    let mut default_plan: Option<PlanOut> = None;
    let mut unreachable = Vec::new();
    let mut used_metrics = BTreeSet::new();
    let mut needs_calendar_hours = calendars.is_empty();
    // Positions of catch-all policies, to note the plans that follow them.
    let mut catch_all_before: Vec<String> = Vec::new();
    let mut closed = false;
    for (_, p) in &order {
        let id = id_text(&p.id);
        let title = if p.title.trim().is_empty() {
            format!("policy {id}")
        } else {
            p.title.clone()
        };
        if closed {
            unreachable.push(format!("\"{}\" (id {id})", comment_text(&title)));
            continue;
        }
        let f = convert_filter(p.filter.as_ref());
        let mut notes = f.notes;
        let calendar = match (&f.schedule, default_calendar) {
            (Some(sid), _) => match calendars.iter().find(|c| &c.schedule_id == sid) {
                Some(c) => c.name.clone(),
                None => {
                    notes.push(format!(
                        "APPROXIMATION: the filter names schedule {sid}, which the account does not list with business hours; the plan runs on the default calendar"
                    ));
                    default_calendar.map_or(CALENDAR_HOURS.to_string(), |c| c.name.clone())
                }
            },
            (None, Some(c)) => c.name.clone(),
            (None, None) => {
                notes.push("the account has no schedule with business hours, so business-hours targets run 24x7 here (on calendar-hours)".to_string());
                CALENDAR_HOURS.to_string()
            }
        };
        // Targets of the admitted priorities, first entry per metric wins.
        let mut targets: BTreeMap<usize, Vec<TargetOut>> = BTreeMap::new();
        for m in &p.policy_metrics {
            let priority = m
                .priority
                .as_deref()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let Some(sev) = PRIORITIES.iter().position(|x| *x == priority) else {
                notes.push(format!(
                    "APPROXIMATION: a {} target for priority \"{priority}\" is left out: Zendesk's priorities are urgent, high, normal and low",
                    m.metric
                ));
                continue;
            };
            let Some((metric, _, _)) = METRICS.iter().find(|(n, _, _)| *n == m.metric) else {
                notes.push(format!(
                    "APPROXIMATION: the {priority} target of metric \"{}\" is left out: helpdesk-slo has no equivalent",
                    m.metric
                ));
                continue;
            };
            if !f.admitted[sev] {
                continue;
            }
            let seconds = match (m.target_in_seconds, m.target) {
                (Some(s), _) if s >= 0 => s,
                (_, Some(t)) if t >= 0 => t.saturating_mul(60),
                _ => {
                    notes.push(format!(
                        "APPROXIMATION: the {priority} {metric} target has no valid `target` and is left out"
                    ));
                    continue;
                }
            };
            let list = targets.entry(sev).or_default();
            if list.iter().any(|(n, _, _)| n == metric) {
                notes.push(format!(
                    "the policy lists the {priority} {metric} target twice; the first is kept"
                ));
                continue;
            }
            let always = calendar == CALENDAR_HOURS
                || calendars.iter().any(|c| c.name == calendar && c.always);
            let on_hours = !m.business_hours && !always;
            needs_calendar_hours |= on_hours || calendar == CALENDAR_HOURS;
            used_metrics.insert(*metric);
            list.push(((*metric).to_string(), seconds, on_hours));
        }
        for list in targets.values_mut() {
            list.sort_by_key(|(n, _, _)| METRICS.iter().position(|(m, _, _)| m == n));
        }
        if f.admitted != [true; 4] {
            notes.push(format!(
                "APPROXIMATION: the policy applies only to priorities {}; in Zendesk other tickets fall through to the next policy, here they are on this plan without targets",
                severities_text(&f.admitted)
            ));
        }
        let mut header = vec![format!(
            "Zendesk SLA policy {id} \"{title}\" (position {})",
            p.position
                .map_or_else(|| "none".to_string(), |n| n.to_string())
        )];
        if let Some(d) = p.description.as_deref().filter(|d| !d.trim().is_empty()) {
            header.push(format!("Description: {d}"));
        }
        if f.catch_all {
            let all = f.admitted == [true; 4];
            // Other priorities go on to the next policy without
            // conditions, merged here: nothing falls through.
            notes.retain(|n| !n.contains("fall through"));
            match default_plan.as_mut() {
                None => {
                    let name = unique(slug(&title, &format!("policy-{id}")), &mut plan_names);
                    default_plan = Some(PlanOut {
                        name,
                        header,
                        notes,
                        criteria: Criteria::default(),
                        default: true,
                        calendar,
                        targets,
                    });
                }
                Some(d) => {
                    d.header.push(format!(
                        "merged with Zendesk SLA policy {id} \"{title}\" (position {}), which also has no conditions: for each priority the first policy's targets apply",
                        p.position.map_or_else(|| "none".to_string(), |n| n.to_string())
                    ));
                    if d.calendar != calendar {
                        d.notes.push(format!(
                            "APPROXIMATION: policy \"{title}\" runs on another schedule; its targets are measured on {} here",
                            d.calendar
                        ));
                    }
                    for (sev, list) in targets {
                        d.targets.entry(sev).or_insert(list);
                    }
                    d.notes.extend(notes);
                }
            }
            catch_all_before.push(format!("\"{}\"", comment_text(&title)));
            if all {
                closed = true;
            }
            continue;
        }
        let criteria = if f.criteria.is_empty() {
            let name = slug(&title, &format!("policy-{id}"));
            let tag = format!("sla-{name}");
            notes.push(format!(
                "APPROXIMATION: none of the policy's conditions can be a plan match, so this plan matches tickets tagged \"{tag}\"; add that tag with a Zendesk trigger on the policy's conditions, or edit the match"
            ));
            Criteria {
                ticket_tags: vec![tag],
                ..Criteria::default()
            }
        } else {
            f.criteria
        };
        if !catch_all_before.is_empty() {
            notes.push(format!(
                "APPROXIMATION: in Zendesk the policies {} above this one (no conditions but priority) take the tickets of their priorities first; here this plan wins for the tickets it matches",
                catch_all_before.join(", ")
            ));
        }
        let name = unique(slug(&title, &format!("policy-{id}")), &mut plan_names);
        plans.push(PlanOut {
            name,
            header,
            notes,
            criteria,
            default: false,
            calendar,
            targets,
        });
    }

    // The text.
    let mut out = String::new();
    let mut intro = vec![
        "helpdesk-slo config imported from Zendesk by `helpdesk-slo import-zendesk-policies`."
            .to_string(),
    ];
    if let Some(s) = source {
        intro.push(format!("Account: {}.", s.url));
    }
    intro.push(format!(
        "Read: {} SLA policies, {} schedules, {} holiday dates.",
        account.policies.len(),
        account.schedules.len(),
        holidays_total
    ));
    for line in intro {
        comment(&mut out, "", &line);
    }
    let _ = writeln!(out, "#");
    for line in [
        "How Zendesk maps onto this file:".to_string(),
        "- Each schedule is a calendar (its time zone mapped to the IANA name); its holidays are closed days.".to_string(),
        "- Ticket priorities urgent, high, normal, low are the severities. Zendesk gives a ticket without a priority no SLA, so there is no default_severity.".to_string(),
        "- Each SLA policy is a plan, in Zendesk's order: the first policy has the highest precedence. A policy without conditions is the default plan.".to_string(),
        format!(
            "- Zendesk measures a ticket on the schedule a trigger gave it, else on the account default (the first schedule). Plans run on the schedule their policy's filter names (`schedule_id is N`), else on {}.",
            default_calendar.map_or_else(|| "calendar-hours (the account has no schedule with business hours)".to_string(), |c| format!("calendar {} (schedule \"{}\")", c.name, c.schedule_name))
        ),
        "- Targets Zendesk measures in calendar hours (business_hours: false) run on the 24x7 calendar calendar-hours.".to_string(),
        "- Zendesk has no objective or credit table: add `objective:` and `credits:` to plans as needed.".to_string(),
        "Comments that start with APPROXIMATION say where this file and Zendesk differ; review them.".to_string(),
    ] {
        comment(&mut out, "", &line);
    }
    if !skipped_schedules.is_empty() {
        comment(
            &mut out,
            "",
            &format!(
                "APPROXIMATION: schedules {} have no business hours and are left out.",
                skipped_schedules.join(", ")
            ),
        );
    }
    if !unreachable.is_empty() {
        comment(
            &mut out,
            "",
            &format!(
                "Left out: SLA policies {}, which come after a policy without conditions and so never apply in Zendesk.",
                unreachable.join(", ")
            ),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "calendars:");
    for c in &calendars {
        out.push_str(&c.text);
    }
    if needs_calendar_hours {
        comment(
            &mut out,
            "  ",
            "Zendesk's calendar hours: targets with business_hours: false (holidays do not apply)",
        );
        let _ = writeln!(out, "  {CALENDAR_HOURS}:");
        let _ = writeln!(out, "    timezone: UTC");
        let _ = writeln!(out, "    hours: 24x7");
    }
    let _ = writeln!(out);
    comment(
        &mut out,
        "",
        "Zendesk's ticket priorities, most severe first.",
    );
    let _ = writeln!(out, "severities:");
    for p in PRIORITIES {
        let _ = writeln!(out, "  - {{ name: {p} }}");
    }
    let _ = writeln!(out);
    if used_metrics.is_empty() {
        let _ = writeln!(out, "metrics: {{}}");
    } else {
        let _ = writeln!(out, "metrics:");
        for (name, def, what) in METRICS {
            if used_metrics.contains(name) {
                comment(&mut out, "  ", what);
                let _ = writeln!(out, "  {name}: {def}");
            }
        }
    }
    let _ = writeln!(out);
    let total = plans.len();
    let all_plans: Vec<(Option<i32>, &PlanOut)> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (Some((total - i) as i32), p))
        .chain(default_plan.iter().map(|p| (None, p)))
        .collect();
    if all_plans.is_empty() {
        comment(&mut out, "", "The account has no SLA policies.");
        let _ = writeln!(out, "plans: {{}}");
    } else {
        let _ = writeln!(out, "plans:");
    }
    for (precedence, p) in &all_plans {
        for h in &p.header {
            comment(&mut out, "  ", h);
        }
        let _ = writeln!(out, "  {}:", p.name);
        for n in &p.notes {
            comment(&mut out, "    ", n);
        }
        if p.default {
            let _ = writeln!(out, "    default: true");
        } else {
            let _ = writeln!(out, "    match: {}", p.criteria.yaml());
        }
        if let Some(n) = precedence {
            let _ = writeln!(out, "    precedence: {n}");
        }
        let _ = writeln!(out, "    calendar: {}", p.calendar);
        if p.targets.is_empty() {
            comment(
                &mut out,
                "    ",
                "The policy has no targets helpdesk-slo can track.",
            );
            continue;
        }
        let _ = writeln!(out, "    targets:");
        for (sev, list) in &p.targets {
            let _ = writeln!(out, "      {}:", PRIORITIES[*sev]);
            for (metric, seconds, on_hours) in list {
                let amount = format_seconds(*seconds);
                if *on_hours {
                    let _ = writeln!(
                        out,
                        "        {metric}: {{ target: {amount}, calendar: {CALENDAR_HOURS} }}"
                    );
                } else {
                    let _ = writeln!(out, "        {metric}: {amount}");
                }
            }
        }
    }
    if let Some(s) = source {
        let _ = writeln!(out);
        comment(
            &mut out,
            "",
            "To poll this account with `helpdesk-slo run`, uncomment and set start_time:",
        );
        let _ = writeln!(out, "# sources:");
        let _ = writeln!(out, "#   zendesk:");
        let _ = writeln!(out, "#     kind: zendesk");
        let _ = writeln!(out, "#     url: {}", s.url);
        let token = match (&s.token.env, &s.token.file) {
            (Some(v), _) => format!("{{ env: {v} }}"),
            (None, Some(f)) => format!("{{ file: {} }}", quote(&f.display().to_string())),
            (None, None) => "{ env: ZENDESK_API_TOKEN }".to_string(),
        };
        match &s.email {
            Some(e) => {
                let _ = writeln!(out, "#     auth: {{ email: {}, token: {token} }}", quote(e));
            }
            None => {
                let _ = writeln!(out, "#     auth: {{ token: {token} }}");
            }
        }
        let _ = writeln!(out, "#     start_time: 2026-01-01T00:00:00Z");
    }
    let approximations = out
        .lines()
        .filter(|l| l.trim_start().starts_with("# APPROXIMATION:"))
        .count();
    Config::from_yaml(&out, Path::new("zendesk-import.yaml"))
        .map_err(|e| ImportError::Invalid(e.to_string()))?;
    Ok(Imported {
        yaml: out,
        policies: account.policies.len(),
        schedules: account.schedules.len(),
        holidays: holidays_total,
        approximations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(v: Value) -> ZPolicy {
        serde_json::from_value(v).unwrap()
    }

    fn schedule(v: Value) -> ZSchedule {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_rails_zone_maps_to_a_zone_chrono_tz_knows() {
        for (rails, iana) in RAILS_ZONES {
            assert!(iana.parse::<Tz>().is_ok(), "{rails} -> {iana}");
            assert!(zone_for(rails).is_some(), "{rails}");
        }
        assert_eq!(
            zone_for("Pacific Time (US & Canada)"),
            Some(chrono_tz::America::Los_Angeles)
        );
        assert_eq!(zone_for("europe/london"), None);
        assert_eq!(zone_for("Europe/London"), Some(chrono_tz::Europe::London));
        assert_eq!(
            rails_name_for(chrono_tz::America::New_York),
            Some("Eastern Time (US & Canada)")
        );
        assert_eq!(rails_name_for(chrono_tz::Europe::London), Some("London"));
        assert_eq!(rails_name_for(chrono_tz::Tz::UTC), Some("UTC"));
    }

    #[test]
    fn account_urls_are_normalized_and_never_carry_credentials() {
        assert_eq!(account_url("acme").unwrap(), "https://acme.zendesk.com");
        assert_eq!(
            account_url("acme.zendesk.com/").unwrap(),
            "https://acme.zendesk.com"
        );
        assert_eq!(
            account_url("http://127.0.0.1:8089").unwrap(),
            "http://127.0.0.1:8089"
        );
        let e = account_url("https://me:s3cret@acme.zendesk.com")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
        assert!(account_url("ftp://acme.zendesk.com").is_err());
    }

    #[test]
    fn intervals_split_at_midnight_and_group_days() {
        // Sunday 16:00 through Friday 17:00 as one interval, as the emulator
        // merges them.
        let iv = [ZInterval {
            start_time: 16 * 60,
            end_time: 5 * 1440 + 17 * 60,
        }];
        assert_eq!(
            hours_yaml(&iv).unwrap(),
            "{ mon-thu: [\"00:00-24:00\"], fri: [\"00:00-17:00\"], sun: [\"16:00-24:00\"] }"
        );
        let weekdays: Vec<ZInterval> = (1..=5)
            .map(|d| ZInterval {
                start_time: d * 1440 + 480,
                end_time: d * 1440 + 1020,
            })
            .chain([ZInterval {
                start_time: 6 * 1440 + 600,
                end_time: 6 * 1440 + 720,
            }])
            .collect();
        assert_eq!(
            hours_yaml(&weekdays).unwrap(),
            "{ mon-fri: [\"08:00-17:00\"], sat: [\"10:00-12:00\"] }"
        );
        let all = [ZInterval {
            start_time: 0,
            end_time: 7 * 1440,
        }];
        assert_eq!(hours_yaml(&all).unwrap(), "24x7");
        assert_eq!(hours_yaml(&[]), None);
    }

    #[test]
    fn filters_become_matches_with_notes_for_what_they_cannot_say() {
        let f: ZFilter = serde_json::from_value(json!({
            "all": [],
            "any": [
                {"field": "organization.tags", "operator": "includes", "value": "gold"},
                {"field": "current_tags", "operator": "includes", "value": "vip urgent_care"}
            ]
        }))
        .unwrap();
        let out = convert_filter(Some(&f));
        assert_eq!(out.criteria.organization_tags, vec!["gold"]);
        assert_eq!(out.criteria.ticket_tags, vec!["vip", "urgent_care"]);
        assert!(out.notes.is_empty(), "{:?}", out.notes);
        assert!(!out.catch_all);

        let f: ZFilter = serde_json::from_value(json!({
            "all": [
                {"field": "priority", "operator": "greater_than", "value": "normal"},
                {"field": "group_id", "operator": "is", "value": 360001},
                {"field": "custom_fields_360005", "operator": "is", "value": "enterprise"}
            ],
            "any": []
        }))
        .unwrap();
        let out = convert_filter(Some(&f));
        assert_eq!(out.admitted, [true, true, false, false]);
        assert_eq!(
            out.criteria.ticket_field,
            Some(("360005".to_string(), vec!["enterprise".to_string()]))
        );
        assert!(out.notes.iter().any(|n| n.contains("`group_id is 360001`")));

        let f: ZFilter = serde_json::from_value(json!({
            "all": [{"field": "priority", "operator": "is", "value": "urgent"}]
        }))
        .unwrap();
        let out = convert_filter(Some(&f));
        assert!(out.catch_all);
        assert_eq!(out.admitted, [true, false, false, false]);
        assert!(convert_filter(None).catch_all);
    }

    #[test]
    fn a_policy_without_conditions_is_the_default_and_hides_later_ones() {
        let account = Account {
            schedules: vec![schedule(json!({
                "id": 1, "name": "Support hours", "time_zone": "London",
                "intervals": [{"start_time": 1980, "end_time": 2460}]
            }))],
            policies: vec![
                policy(json!({
                    "id": 10, "title": "Everyone", "position": 2,
                    "filter": {"all": [], "any": []},
                    "policy_metrics": [{"priority": "low", "metric": "first_reply_time", "target": 600, "business_hours": true}]
                })),
                policy(json!({
                    "id": 11, "title": "Gold", "position": 1,
                    "filter": {"all": [{"field": "organization_id", "operator": "is", "value": 77}], "any": []},
                    "policy_metrics": [{"priority": "urgent", "metric": "first_reply_time", "target": 30, "business_hours": false}]
                })),
                policy(json!({
                    "id": 12, "title": "Never", "position": 3,
                    "filter": {"all": [{"field": "current_tags", "operator": "includes", "value": "x"}], "any": []},
                    "policy_metrics": []
                })),
            ],
        };
        let out = convert(&account, None, None).unwrap();
        let cfg = Config::from_yaml(&out.yaml, Path::new("x.yaml")).unwrap();
        let p = &cfg.policy;
        assert_eq!(p.plans.len(), 2, "{}", out.yaml);
        assert_eq!(p.plans[0].name, "gold");
        assert_eq!(p.plans[0].matcher.organization_ids, vec!["77"]);
        let d = p.default_plan.unwrap();
        assert_eq!(p.plans[d].name, "everyone");
        assert!(out.yaml.contains("\"Never\" (id 12)"), "{}", out.yaml);
        let m = p.metric_id("first_reply_time").unwrap();
        let t = p.plans[0].target(0, m).unwrap();
        assert_eq!(t.calendar_name, CALENDAR_HOURS);
        assert_eq!(
            p.plans[d].target(3, m).unwrap().calendar_name,
            "support-hours"
        );
    }
}
