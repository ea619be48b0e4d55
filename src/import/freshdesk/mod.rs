//! `import-freshdesk-policies`: reads a Freshdesk account's SLA policies and
//! business hours (with their holidays) and writes the equivalent
//! helpdesk-slo config, approximations marked, like the Zendesk importer.
//!
//! Requests (`docs/freshdesk.md` lists the sources of each shape): `GET
//! /api/v2/business_hours` and `GET /api/v2/sla_policies`, each followed by
//! its `Link: <…>; rel="next"` pages on the account's address, with the
//! API key as Basic user (never printed); a 429 waits `Retry-After`.
//!
//! How Freshdesk maps onto the config (the output says all of it in
//! comments):
//!
//! * **Business hours → calendars.** `time_zone` is a Rails name ("Eastern
//!   Time (US & Canada)"), mapped to an IANA zone (an IANA name passes
//!   through; anything else is an error naming the business hours). The
//!   per-day hours are under `business_hours` or, in some accounts'
//!   recordings, `working_hours` (both read); times are `"8:00 am"` or
//!   `"08:00"`. Holidays (`holiday_list`, or `holidays`): a date with a year
//!   is that day; a month and day (`"Dec 25"`) recurs every year in
//!   Freshdesk and is written for three years from the import's
//!   (APPROXIMATION). Business hours without hours are 24x7.
//! * **Priorities → severities** `urgent`, `high`, `medium`, `low`
//!   (`priority_4` … `priority_1`), the adapter's names.
//! * **Targets**: `respond_within` → first_response, `next_respond_within` →
//!   next_reply, `resolve_within` → resolution pausing on pending and hold
//!   (Freshdesk stops its SLA timer on Pending; map your custom statuses
//!   under the source's `custom_statuses`), seconds written as `m`/`h`.
//!   `business_hours: false` runs the target on the 24x7 calendar
//!   `calendar-hours`.
//! * **Policies → plans**, active ones in `position` order (Freshdesk
//!   applies the first that matches): the first gets the highest
//!   precedence; the default policy is the default plan.
//!   `applicable_to.company_ids` → `organization_ids`, `ticket_types` →
//!   the ticket field `type`. Freshdesk requires every listed condition;
//!   a plan matches on any, and cannot say groups, sources or products:
//!   those are APPROXIMATIONs (a policy with nothing a plan can say is left
//!   out, commented). Plans run on the default business hours (Freshdesk
//!   uses the ticket's group's: APPROXIMATION when the account has several).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::import::zones::zone_for;
use crate::policy::spec::SecretSpec;

/// What to import from.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `https://acme.freshdesk.com` (or `acme`).
    pub url: String,
    pub api_key: SecretSpec,
}

/// The written config and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub yaml: String,
    pub policies: usize,
    pub calendars: usize,
    pub holidays: usize,
    pub approximations: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Bad options (needs the person running it).
    #[error("{0}")]
    Setup(String),
    /// The account answered something that cannot be imported.
    #[error("{0}")]
    Account(String),
    #[error("{0}")]
    Http(String),
}

#[derive(Debug, Deserialize)]
struct Day {
    start_time: String,
    end_time: String,
}

#[derive(Debug, Deserialize)]
struct Holiday {
    #[serde(default)]
    name: Option<String>,
    date: String,
}

#[derive(Debug, Deserialize)]
struct BusinessHours {
    id: Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    is_default: bool,
    time_zone: String,
    #[serde(default, alias = "working_hours")]
    business_hours: Option<BTreeMap<String, Day>>,
    #[serde(default, alias = "holidays")]
    holiday_list: Option<Vec<Holiday>>,
}

#[derive(Debug, Deserialize)]
struct Target {
    #[serde(default)]
    respond_within: Option<u64>,
    #[serde(default)]
    next_respond_within: Option<u64>,
    #[serde(default)]
    resolve_within: Option<u64>,
    #[serde(default = "yes")]
    business_hours: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
struct Applicable {
    #[serde(default)]
    company_ids: Option<Vec<Value>>,
    #[serde(default)]
    group_ids: Option<Vec<Value>>,
    #[serde(default)]
    sources: Option<Vec<Value>>,
    #[serde(default)]
    ticket_types: Option<Vec<String>>,
    #[serde(default)]
    product_ids: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct Policy {
    id: Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    is_default: bool,
    #[serde(default)]
    position: Option<i64>,
    #[serde(default)]
    sla_target: BTreeMap<String, Target>,
    #[serde(default)]
    applicable_to: Option<Applicable>,
}

/// `"8:00 am"`, `"5:30 PM"`, `"17:30"` → `"HH:MM"`.
fn clock(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_lowercase();
    let (time, meridiem) = match t.strip_suffix("am").or_else(|| t.strip_suffix("a.m.")) {
        Some(x) => (x.trim(), Some(false)),
        None => match t.strip_suffix("pm").or_else(|| t.strip_suffix("p.m.")) {
            Some(x) => (x.trim(), Some(true)),
            None => (t.as_str(), None),
        },
    };
    let (h, m) = time.split_once(':')?;
    let (mut h, m): (u32, u32) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
    match meridiem {
        Some(pm) => {
            if !(1..=12).contains(&h) {
                return None;
            }
            h = h % 12 + if pm { 12 } else { 0 };
        }
        None if h > 24 => return None,
        None => {}
    }
    (m < 60).then(|| format!("{h:02}:{m:02}"))
}

/// Seconds as a target: whole hours as `h`, else minutes.
fn duration(seconds: u64) -> String {
    if seconds % 3600 == 0 {
        format!("{}h", seconds / 3600)
    } else {
        format!("{}m", seconds.div_ceil(60))
    }
}

fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A name usable as a config key: lowercase letters, digits and dashes.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "unnamed".into()
    } else {
        out
    }
}

/// Text safe inside a YAML comment (one line).
fn comment(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

const DAYS: [(&str, &str); 7] = [
    ("monday", "mon"),
    ("tuesday", "tue"),
    ("wednesday", "wed"),
    ("thursday", "thu"),
    ("friday", "fri"),
    ("saturday", "sat"),
    ("sunday", "sun"),
];

const PRIORITIES: [(&str, &str); 4] = [
    ("priority_4", "urgent"),
    ("priority_3", "high"),
    ("priority_2", "medium"),
    ("priority_1", "low"),
];

/// The config for an account's business hours and SLA policies (the bodies
/// of the two lists, all pages joined). `year`: the year recurring holidays
/// are written from.
pub fn convert(
    source: &str,
    business_hours: &[Value],
    policies: &[Value],
    year: i32,
) -> Result<Imported, ImportError> {
    let mut approximations = 0;
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Imported from Freshdesk ({}) by helpdesk-slo import-freshdesk-policies.",
        comment(source)
    );
    let _ = writeln!(y, "# Review every APPROXIMATION comment, then add objectives, credits and `sources:` (docs/freshdesk.md).");
    // Calendars.
    let mut hours: Vec<BusinessHours> = Vec::new();
    for (i, b) in business_hours.iter().enumerate() {
        hours.push(serde_json::from_value(b.clone()).map_err(|e| {
            ImportError::Account(format!("GET /api/v2/business_hours: item {i}: {e}"))
        })?);
    }
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut used = BTreeSet::new();
    let mut holidays = 0;
    let _ = writeln!(y, "calendars:");
    for b in &hours {
        let id = id_text(&b.id);
        let label = b
            .name
            .clone()
            .unwrap_or_else(|| format!("business hours {id}"));
        let mut name = slug(&label);
        if !used.insert(name.clone()) {
            name = format!("{name}-{id}");
            used.insert(name.clone());
        }
        names.insert(id.clone(), name.clone());
        let zone = zone_for(&b.time_zone).ok_or_else(|| {
            ImportError::Account(format!(
                "business hours {id} ({label}): time_zone {:?} is neither a Rails time zone name (\"Eastern Time (US & Canada)\") nor an IANA zone",
                b.time_zone
            ))
        })?;
        let _ = writeln!(
            y,
            "  {name}:  # Freshdesk business hours {id} \"{}\"{}",
            comment(&label),
            if b.is_default {
                " (the account's default)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            y,
            "    timezone: {}  # {:?}",
            zone.name(),
            comment(&b.time_zone)
        );
        match &b.business_hours {
            Some(days) if !days.is_empty() => {
                let _ = writeln!(y, "    hours:");
                for (long, short) in DAYS {
                    let Some(d) = days.get(long) else { continue };
                    let (Some(from), Some(to)) = (clock(&d.start_time), clock(&d.end_time)) else {
                        return Err(ImportError::Account(format!(
                            "business hours {id} ({label}): {long}: {:?}-{:?} are not times such as \"8:00 am\" or \"17:30\"",
                            d.start_time, d.end_time
                        )));
                    };
                    let _ = writeln!(y, "      {short}: [\"{from}-{to}\"]");
                }
            }
            _ => {
                let _ = writeln!(
                    y,
                    "    hours: 24x7  # no per-day hours: open around the clock"
                );
            }
        }
        let list = b.holiday_list.as_deref().unwrap_or_default();
        if !list.is_empty() {
            let _ = writeln!(y, "    holidays:");
        }
        for h in list {
            let what = comment(h.name.as_deref().unwrap_or("holiday"));
            if let Ok(d) = chrono::NaiveDate::parse_from_str(h.date.trim(), "%Y-%m-%d") {
                let _ = writeln!(y, "      - {d}  # {what}");
                holidays += 1;
                continue;
            }
            let recurring = (year..year + 3)
                .map(|yr| chrono::NaiveDate::parse_from_str(&format!("{} {yr}", h.date.trim()), "%b %d %Y"))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    ImportError::Account(format!(
                        "business hours {id} ({label}): holiday {:?}: date {:?} is neither YYYY-MM-DD nor a month and day such as \"Dec 25\"",
                        what, h.date
                    ))
                })?;
            approximations += 1;
            let _ = writeln!(
                y,
                "      # APPROXIMATION: {what} ({}) recurs every year in Freshdesk; written for {}-{}",
                comment(&h.date),
                year,
                year + 2
            );
            for d in recurring {
                let _ = writeln!(y, "      - {d}  # {what}");
                holidays += 1;
            }
        }
    }
    let _ = writeln!(
        y,
        "  calendar-hours:  # targets Freshdesk runs in calendar hours (business_hours: false)"
    );
    let _ = writeln!(y, "    timezone: UTC");
    let _ = writeln!(y, "    hours: 24x7");
    let default_calendar = hours
        .iter()
        .find(|b| b.is_default)
        .or(hours.first())
        .and_then(|b| names.get(&id_text(&b.id)).cloned())
        .unwrap_or_else(|| "calendar-hours".into());
    // Severities and metrics.
    let _ = writeln!(y, "\nseverities:");
    for (_, s) in PRIORITIES {
        let _ = writeln!(y, "  - {{ name: {s}, priorities: [{s}] }}");
    }
    let mut parsed: Vec<Policy> = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        parsed.push(serde_json::from_value(p.clone()).map_err(|e| {
            ImportError::Account(format!("GET /api/v2/sla_policies: item {i}: {e}"))
        })?);
    }
    let next_reply = parsed.iter().any(|p| {
        p.sla_target
            .values()
            .any(|t| t.next_respond_within.is_some())
    });
    let _ = writeln!(y, "\nmetrics:");
    let _ = writeln!(y, "  first_response: {{ kind: first_response }}");
    if next_reply {
        let _ = writeln!(y, "  next_reply: {{ kind: next_reply }}");
    }
    let _ = writeln!(y, "  resolution: {{ kind: resolution, pause_on: [pending, hold] }}  # Freshdesk's timer stops on Pending");
    // Plans.
    let _ = writeln!(y, "\nplans:");
    let mut active: Vec<&Policy> = Vec::new();
    for p in &parsed {
        if p.active {
            active.push(p);
        } else {
            let _ = writeln!(
                y,
                "  # policy {} \"{}\" is not active: left out",
                id_text(&p.id),
                comment(p.name.as_deref().unwrap_or(""))
            );
        }
    }
    active.sort_by_key(|p| (p.is_default, p.position.unwrap_or(i64::MAX)));
    let ranked = active.iter().filter(|p| !p.is_default).count();
    let mut plan_names = BTreeSet::new();
    let mut imported = 0;
    for (rank, p) in active.iter().enumerate() {
        let id = id_text(&p.id);
        let label = p.name.clone().unwrap_or_else(|| format!("policy {id}"));
        let mut name = slug(&label);
        if !plan_names.insert(name.clone()) {
            name = format!("{name}-{id}");
            plan_names.insert(name.clone());
        }
        let a = p.applicable_to.as_ref();
        let companies: Vec<String> = a
            .and_then(|a| a.company_ids.as_ref())
            .map(|c| c.iter().map(id_text).collect())
            .unwrap_or_default();
        let types: Vec<String> = a.and_then(|a| a.ticket_types.clone()).unwrap_or_default();
        let mut unsaid = Vec::new();
        for (what, list) in [
            ("groups", a.and_then(|a| a.group_ids.as_ref())),
            ("sources", a.and_then(|a| a.sources.as_ref())),
            ("products", a.and_then(|a| a.product_ids.as_ref())),
        ] {
            if let Some(l) = list.filter(|l| !l.is_empty()) {
                let ids: Vec<String> = l.iter().map(id_text).collect();
                unsaid.push(format!("{what} {}", ids.join(", ")));
            }
        }
        let mut block = String::new();
        if !p.is_default {
            if companies.is_empty() && types.is_empty() {
                approximations += 1;
                let _ = writeln!(
                    y,
                    "  # APPROXIMATION: policy {id} \"{}\" applies only by {}, which a plan cannot match: left out",
                    comment(&label),
                    if unsaid.is_empty() { "nothing".to_string() } else { unsaid.join("; ") }
                );
                continue;
            }
            let mut m = Vec::new();
            if !companies.is_empty() {
                m.push(format!("organization_ids: [{}]", companies.join(", ")));
            }
            if !types.is_empty() {
                let quoted: Vec<String> = types.iter().map(|t| format!("{t:?}")).collect();
                m.push(format!(
                    "ticket_field: {{ name: type, values: [{}] }}",
                    quoted.join(", ")
                ));
            }
            let _ = writeln!(block, "    match: {{ {} }}", m.join(", "));
            if m.len() > 1 {
                approximations += 1;
                let _ = writeln!(block, "    # APPROXIMATION: Freshdesk requires every condition; a plan matches on any of them");
            }
            if !unsaid.is_empty() {
                approximations += 1;
                let _ = writeln!(
                    block,
                    "    # APPROXIMATION: Freshdesk also requires {}, which a plan cannot match",
                    unsaid.join("; ")
                );
            }
            let _ = writeln!(block, "    precedence: {}", ranked - rank);
        } else {
            let _ = writeln!(block, "    default: true");
            if !unsaid.is_empty() {
                approximations += 1;
                let _ = writeln!(
                    block,
                    "    # APPROXIMATION: the default policy's conditions ({}) are not read",
                    unsaid.join("; ")
                );
            }
        }
        let _ = writeln!(block, "    calendar: {default_calendar}");
        if hours.len() > 1 {
            approximations += 1;
            let _ = writeln!(block, "    # APPROXIMATION: Freshdesk runs a ticket on its group's business hours; this plan uses the account's default");
        }
        let _ = writeln!(block, "    targets:");
        for (key, severity) in PRIORITIES {
            let Some(t) = p.sla_target.get(key) else {
                continue;
            };
            let on = |secs: u64| {
                if t.business_hours {
                    duration(secs)
                } else {
                    format!("{{ target: {}, calendar: calendar-hours }}", duration(secs))
                }
            };
            let mut parts = Vec::new();
            if let Some(s) = t.respond_within {
                parts.push(format!("first_response: {}", on(s)));
            }
            if next_reply {
                if let Some(s) = t.next_respond_within {
                    parts.push(format!("next_reply: {}", on(s)));
                }
            }
            if let Some(s) = t.resolve_within {
                parts.push(format!("resolution: {}", on(s)));
            }
            if !parts.is_empty() {
                let _ = writeln!(block, "      {severity}: {{ {} }}", parts.join(", "));
            }
        }
        let _ = writeln!(
            y,
            "  {name}:  # Freshdesk SLA policy {id} \"{}\"{}",
            comment(&label),
            p.position
                .map_or(String::new(), |n| format!(", position {n}"))
        );
        y.push_str(&block);
        imported += 1;
    }
    // The result must load as a config.
    crate::config_files::from_yaml(&y, std::path::Path::new("imported.yaml")).map_err(|e| {
        ImportError::Account(format!("the imported config does not load ({e}); please report this with the account's policies"))
    })?;
    Ok(Imported {
        yaml: y,
        policies: imported,
        calendars: hours.len(),
        holidays,
        approximations,
    })
}

/// The account's base URL from `https://acme.freshdesk.com`,
/// `acme.freshdesk.com` or `acme`.
fn base_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_string()
    } else if url.contains('.') {
        format!("https://{url}")
    } else {
        format!("https://{url}.freshdesk.com")
    }
}

/// Every page of a list, following `Link` on the account's address.
async fn list(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    path: &str,
) -> Result<Vec<Value>, ImportError> {
    let mut out = Vec::new();
    let mut url = format!("{base}{path}?per_page=100");
    for _attempt in 0..1_000 {
        let resp = client
            .get(&url)
            .basic_auth(key, Some("X"))
            .send()
            .await
            .map_err(|e| {
                ImportError::Http(format!(
                    "GET {path}: {}",
                    crate::sources::http::without_url(&e)
                ))
            })?;
        let status = resp.status();
        if status.as_u16() == 429 {
            let wait = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(60)
                .min(900);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(ImportError::Setup(format!(
                "GET {path}: HTTP {status}: an admin's API key is needed (SLA policies and business hours are admin settings)"
            )));
        }
        if !status.is_success() {
            return Err(ImportError::Http(format!("GET {path}: HTTP {status}")));
        }
        let next = resp
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::sources::freshdesk::next_link);
        let page: Vec<Value> = resp
            .json()
            .await
            .map_err(|e| ImportError::Account(format!("GET {path}: not a JSON array: {e}")))?;
        out.extend(page);
        match next {
            Some(n) if n.starts_with(base) => url = n,
            _ => return Ok(out),
        }
    }
    Err(ImportError::Http(format!(
        "GET {path}: more than 1,000 pages"
    )))
}

/// Reads the account and converts it.
pub async fn import(options: &ImportOptions) -> Result<Imported, ImportError> {
    let key = crate::sources::http::read_secret(&options.api_key, "API key")
        .map_err(ImportError::Setup)?;
    if key.is_empty() {
        return Err(ImportError::Setup("the API key is empty".into()));
    }
    let base = base_url(&options.url);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| ImportError::Setup(format!("cannot build the HTTP client: {e}")))?;
    let hours = list(&client, &base, &key, "/api/v2/business_hours").await?;
    let policies = list(&client, &base, &key, "/api/v2/sla_policies").await?;
    let year = chrono::Datelike::year(&chrono::Utc::now());
    convert(&base, &hours, &policies, year)
}

#[cfg(test)]
mod tests;
