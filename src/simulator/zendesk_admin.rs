//! The emulator's account settings: SLA policies, business-hours schedules
//! and their holidays, served in Zendesk's JSON shapes for
//! `helpdesk-slo import-zendesk-policies` (and anyone else who reads them).
//!
//! Endpoints and the Zendesk API reference page each follows
//! (developer.zendesk.com/api-reference):
//!
//! | Endpoint | Reference page |
//! |---|---|
//! | `GET /api/v2/slas/policies[.json]` | Business Rules › SLA Policies › "List SLA Policies" |
//! | `GET /api/v2/slas/policies/{id}[.json]` | SLA Policies › "Show SLA Policy" |
//! | `GET /api/v2/business_hours/schedules[.json]` | Ticket Management › Schedules › "List Schedules" |
//! | `GET /api/v2/business_hours/schedules/{id}[.json]` | Schedules › "Show Schedule" |
//! | `GET /api/v2/business_hours/schedules/{id}/holidays[.json]` | Schedules › "List Holidays for a Schedule" |
//!
//! Auth, rate-limit headers, faults and error bodies (`{"error",
//! "description"}`; 404 `RecordNotFound`) are the rest of the emulator's
//! ([`super::zendesk`]). The policy list is paged with `page` and `per_page`
//! (`next_page`/`previous_page` are absolute URLs, `count` is the total);
//! [`Admin::policies_per_page`] sets the default page size so a test can make
//! a client follow `next_page`.
//!
//! Seeded from a config ([`Admin::from_config`]), the emulator serves
//! settings equivalent to it: one schedule per calendar (ids from 1 in name
//! order; weekly hours as minutes from Sunday 00:00; the Rails time zone name
//! where one exists, else the IANA name; the calendar's holiday dates in a
//! window of years, consecutive days as one holiday; partial-day closures
//! have no Zendesk equivalent and are left out) and one policy per plan, in
//! match order with a default plan last. A policy's filter is `all:
//! [schedule_id is <its calendar's schedule>]` and `any:` the plan's match
//! criteria (`organization.tags includes`, `current_tags includes`,
//! `organization_id is`, `custom_fields_<name> is`,
//! `organization.custom_fields.<name> is`). Each target becomes a policy
//! metric of the severity's Zendesk priority, in minutes; `business_hours` is
//! false when the target's calendar is open 24x7 without holidays. Metric
//! kinds: first_response → `first_reply_time`, next_reply →
//! `next_reply_time`, periodic_update → `periodic_update_time`, or
//! `pausable_update_time` when it pauses; resolution → `requester_wait_time`
//! (pauses on pending only), `agent_work_time` (pending and hold) or
//! `total_resolution_time` (no pause); tier_response and `none` targets have
//! no equivalent and are left out. Tests replace any of it with
//! [`AdminState::modify`].

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use chrono::{Datelike, NaiveDate};
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::import::zones::rails_name_for;
use crate::policy::spec::{MetricKindSpec, Status, TargetAmount};
use crate::policy::Config;

/// Endpoint names of the request counts (beside [`super::endpoint`]).
pub mod endpoint {
    pub const SCHEDULE: &str = "schedule_show";
    pub const HOLIDAYS: &str = "schedule_holidays";
    pub const SLA_POLICY: &str = "sla_policy_show";
}

/// Zendesk's page size for lists that are not exports.
pub const DEFAULT_PER_PAGE: usize = 100;

/// A business-hours schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub id: u64,
    pub name: String,
    /// As Zendesk writes it: a Rails name ("Pacific Time (US & Canada)").
    pub time_zone: String,
    /// Open `[start, end)` minutes from Sunday 00:00 local.
    pub intervals: Vec<(u32, u32)>,
    pub holidays: Vec<Holiday>,
}

/// A holiday: whole local days `start_date..=end_date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub id: u64,
    pub name: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

/// The account settings the emulator serves.
#[derive(Debug, Clone, Default)]
pub struct Admin {
    pub schedules: Vec<Schedule>,
    /// SLA policies as JSON objects, served as they are (a `url` is added
    /// when missing), in list order.
    pub sla_policies: Vec<Value>,
    /// Default `per_page` of the policy list (0: [`DEFAULT_PER_PAGE`]).
    pub policies_per_page: usize,
}

/// [`Admin`] behind a lock, shared by the server and tests.
#[derive(Debug, Default)]
pub struct AdminState(Mutex<Admin>);

impl AdminState {
    pub fn new(admin: Admin) -> Self {
        Self(Mutex::new(admin))
    }

    fn lock(&self) -> MutexGuard<'_, Admin> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the settings.
    pub fn read<R>(&self, f: impl FnOnce(&Admin) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the settings while they are served.
    pub fn modify<R>(&self, f: impl FnOnce(&mut Admin) -> R) -> R {
        f(&mut self.lock())
    }

    /// Answers one request to an endpoint [`serves`] says is ours; `base`
    /// is `http://HOST` for the URLs in the body.
    pub fn respond(
        &self,
        ep: &str,
        path: &str,
        query: &BTreeMap<String, String>,
        base: &str,
    ) -> Result<Value, AdminError> {
        let admin = self.lock();
        match ep {
            super::endpoint::SCHEDULES => Ok(json!({
                "schedules": admin.schedules.iter().map(|s| schedule_json(s, base)).collect::<Vec<_>>(),
            })),
            endpoint::SCHEDULE => {
                let s = find_schedule(&admin, path)?;
                Ok(json!({ "schedule": schedule_json(s, base) }))
            }
            endpoint::HOLIDAYS => {
                let s = find_schedule(&admin, path)?;
                Ok(json!({
                    "holidays": s.holidays.iter().map(holiday_json).collect::<Vec<_>>(),
                }))
            }
            super::endpoint::SLA_POLICIES => policies_page(&admin, query, base),
            endpoint::SLA_POLICY => {
                let id = id_in(path, "/api/v2/slas/policies/").ok_or_else(not_found)?;
                admin
                    .sla_policies
                    .iter()
                    .find(|p| p.get("id").and_then(Value::as_u64) == Some(id))
                    .map(|p| json!({ "sla_policy": policy_json(p, base) }))
                    .ok_or_else(not_found)
            }
            _ => Err(not_found()),
        }
    }
}

/// An error answer: status and Zendesk's `{"error", "description"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

fn not_found() -> AdminError {
    AdminError {
        status: StatusCode::NOT_FOUND,
        error: "RecordNotFound",
        description: "Not found".to_string(),
    }
}

/// Which of this module's endpoints a GET path is, if any (the list
/// endpoints are classified by [`super::zendesk`]).
pub fn classify(path: &str) -> Option<&'static str> {
    let p = path.strip_suffix(".json").unwrap_or(path);
    if let Some(rest) = p.strip_prefix("/api/v2/business_hours/schedules/") {
        return match rest.split_once('/') {
            None if is_id(rest) => Some(endpoint::SCHEDULE),
            Some((id, "holidays")) if is_id(id) => Some(endpoint::HOLIDAYS),
            _ => None,
        };
    }
    p.strip_prefix("/api/v2/slas/policies/")
        .filter(|id| is_id(id))
        .map(|_| endpoint::SLA_POLICY)
}

/// Whether [`AdminState::respond`] answers an endpoint.
pub fn serves(ep: &str) -> bool {
    matches!(
        ep,
        super::endpoint::SCHEDULES
            | super::endpoint::SLA_POLICIES
            | endpoint::SCHEDULE
            | endpoint::HOLIDAYS
            | endpoint::SLA_POLICY
    )
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The numeric id right after `prefix` in a path.
fn id_in(path: &str, prefix: &str) -> Option<u64> {
    let rest = path.strip_prefix(prefix)?;
    let id = rest.split(['/', '.']).next()?;
    id.parse().ok()
}

fn find_schedule<'a>(admin: &'a Admin, path: &str) -> Result<&'a Schedule, AdminError> {
    let id = id_in(path, "/api/v2/business_hours/schedules/").ok_or_else(not_found)?;
    admin
        .schedules
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(not_found)
}

/// A schedule's JSON ("Show Schedule").
pub fn schedule_json(s: &Schedule, base: &str) -> Value {
    json!({
        "id": s.id,
        "url": format!("{base}/api/v2/business_hours/schedules/{}.json", s.id),
        "name": s.name,
        "time_zone": s.time_zone,
        "intervals": s.intervals.iter()
            .map(|(a, b)| json!({ "start_time": a, "end_time": b }))
            .collect::<Vec<_>>(),
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    })
}

/// A holiday's JSON.
pub fn holiday_json(h: &Holiday) -> Value {
    json!({
        "id": h.id,
        "name": h.name,
        "start_date": h.start_date.format("%Y-%m-%d").to_string(),
        "end_date": h.end_date.format("%Y-%m-%d").to_string(),
    })
}

fn policy_json(p: &Value, base: &str) -> Value {
    let mut p = p.clone();
    let id = p.get("id").cloned();
    if let (Some(obj), Some(id)) = (p.as_object_mut(), id) {
        obj.entry("url").or_insert_with(|| {
            json!(format!(
                "{base}/api/v2/slas/policies/{}.json",
                id.as_u64()
                    .map_or_else(|| id.to_string(), |n| n.to_string())
            ))
        });
    }
    p
}

fn policies_page(
    admin: &Admin,
    q: &BTreeMap<String, String>,
    base: &str,
) -> Result<Value, AdminError> {
    let bad = |what: &str| AdminError {
        status: StatusCode::BAD_REQUEST,
        error: "InvalidPaginationParameter",
        description: format!("{what} must be a positive integer"),
    };
    let positive = |key: &str, default: usize| match q.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(key)),
    };
    let default = if admin.policies_per_page == 0 {
        DEFAULT_PER_PAGE
    } else {
        admin.policies_per_page
    };
    let per_page = positive("per_page", default)?.min(DEFAULT_PER_PAGE);
    let page = positive("page", 1)?;
    let total = admin.sla_policies.len();
    let from = (page - 1).saturating_mul(per_page).min(total);
    let to = (from + per_page).min(total);
    let url = |n: usize| format!("{base}/api/v2/slas/policies.json?page={n}&per_page={per_page}");
    Ok(json!({
        "sla_policies": admin.sla_policies[from..to].iter()
            .map(|p| policy_json(p, base))
            .collect::<Vec<_>>(),
        "next_page": if to < total { Value::from(url(page + 1)) } else { Value::Null },
        "previous_page": if page > 1 && from > 0 { Value::from(url(page - 1)) } else { Value::Null },
        "count": total,
    }))
}

/// Holiday dates served for a config's calendars: from the year before the
/// current one through two years ahead (named sets such as `us-federal`
/// are expanded over the whole supported range; an account lists a few).
fn holiday_years() -> (i32, i32) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let year = chrono::DateTime::from_timestamp(now, 0).map_or(2026, |t| t.year());
    (year - 1, year + 2)
}

impl Admin {
    /// Settings equivalent to a config (see the module docs), with holidays
    /// from last year through two years ahead.
    pub fn from_config(config: &Config) -> Self {
        let (first, last) = holiday_years();
        Self::from_config_years(config, first, last)
    }

    /// As [`Self::from_config`], with the holidays of years `first..=last`.
    pub fn from_config_years(config: &Config, first: i32, last: i32) -> Self {
        let mut schedules = Vec::new();
        let mut schedule_of = BTreeMap::new();
        let mut holiday_id = 1u64;
        for (i, (name, cal)) in config.calendars.iter().enumerate() {
            let id = i as u64 + 1;
            schedule_of.insert(name.clone(), id);
            let rules = cal.rules();
            // Monday = 0 in the config; Zendesk counts from Sunday 00:00.
            let mut intervals: Vec<(u32, u32)> = Vec::new();
            for zd_day in 0..7u32 {
                let day = ((zd_day + 6) % 7) as usize;
                for w in rules.weekly.on_index(day) {
                    intervals.push((zd_day * 1440 + w.start / 60, zd_day * 1440 + w.end / 60));
                }
            }
            let mut holidays: Vec<Holiday> = Vec::new();
            for d in rules
                .holidays
                .iter()
                .filter(|d| (first..=last).contains(&d.year()))
            {
                match holidays.last_mut() {
                    Some(h) if h.end_date.succ_opt() == Some(*d) => h.end_date = *d,
                    _ => {
                        holidays.push(Holiday {
                            id: holiday_id,
                            name: format!("Closed ({name})"),
                            start_date: *d,
                            end_date: *d,
                        });
                        holiday_id += 1;
                    }
                }
            }
            schedules.push(Schedule {
                id,
                name: name.clone(),
                time_zone: rails_name_for(cal.timezone())
                    .map_or_else(|| cal.timezone().name().to_string(), str::to_string),
                intervals,
                holidays,
            });
        }
        Self {
            sla_policies: policies_of(config, &schedule_of),
            schedules,
            policies_per_page: 0,
        }
    }
}

fn zendesk_metric(kind: MetricKindSpec, pause_on: &[Status]) -> Option<&'static str> {
    let pauses = |s: Status| pause_on.contains(&s);
    Some(match kind {
        MetricKindSpec::FirstResponse => "first_reply_time",
        MetricKindSpec::NextReply => "next_reply_time",
        MetricKindSpec::PeriodicUpdate if pause_on.is_empty() => "periodic_update_time",
        MetricKindSpec::PeriodicUpdate => "pausable_update_time",
        MetricKindSpec::Resolution if pause_on.is_empty() => "total_resolution_time",
        MetricKindSpec::Resolution if pauses(Status::Hold) => "agent_work_time",
        MetricKindSpec::Resolution => "requester_wait_time",
        MetricKindSpec::TierResponse => return None,
    })
}

fn policies_of(config: &Config, schedule_of: &BTreeMap<String, u64>) -> Vec<Value> {
    let p = &config.policy;
    let zendesk = ["urgent", "high", "normal", "low"];
    // Match order, the default plan (no conditions) last.
    let mut order: Vec<usize> = (0..p.plans.len()).collect();
    order.sort_by_key(|&i| (p.default_plan == Some(i), i));
    order
        .iter()
        .enumerate()
        .map(|(pos, &i)| {
            let plan = &p.plans[i];
            let m = &plan.matcher;
            let cond = |field: String, operator: &str, value: &str| {
                json!({ "field": field, "operator": operator, "value": value })
            };
            let mut any = Vec::new();
            for tag in &m.organization_tags {
                any.push(cond("organization.tags".into(), "includes", tag));
            }
            for tag in &m.ticket_tags {
                any.push(cond("current_tags".into(), "includes", tag));
            }
            for id in &m.organization_ids {
                any.push(cond("organization_id".into(), "is", id));
            }
            if let Some(f) = &m.ticket_field {
                for v in &f.values {
                    any.push(cond(format!("custom_fields_{}", f.name), "is", v));
                }
            }
            if let Some(f) = &m.organization_field {
                for v in &f.values {
                    any.push(cond(format!("organization.custom_fields.{}", f.name), "is", v));
                }
            }
            let mut all = Vec::new();
            if let Some(id) = schedule_of.get(&plan.calendar_name) {
                all.push(json!({ "field": "schedule_id", "operator": "is", "value": id }));
            }
            let mut metrics = Vec::new();
            for (s, sev) in p.severities.iter().enumerate() {
                // The Zendesk priority of the severity, else its name.
                let mut names: Vec<&String> = p
                    .priorities
                    .iter()
                    .filter(|(k, &v)| v == s && zendesk.contains(&k.as_str()))
                    .map(|(k, _)| k)
                    .collect();
                names.sort();
                let priority = names.first().map_or(sev.as_str(), |n| n.as_str());
                for (mi, metric) in p.metrics.iter().enumerate() {
                    let Some(target) = plan.target(s, mi) else {
                        continue;
                    };
                    let Some(name) = zendesk_metric(metric.kind, &metric.pause_on) else {
                        continue;
                    };
                    let secs = match target.amount {
                        TargetAmount::Business(d) => target.calendar.duration_seconds(d),
                        TargetAmount::BusinessDays(n) => {
                            i64::from(n) * target.calendar.day_length()
                        }
                        TargetAmount::None => continue,
                    };
                    let rules = target.calendar.rules();
                    let always = rules.weekly.weekly_seconds() == 7 * 86_400
                        && rules.holidays.is_empty()
                        && rules.closures.is_empty();
                    metrics.push(json!({
                        "priority": priority,
                        "metric": name,
                        "target": secs / 60,
                        "target_in_seconds": secs,
                        "business_hours": !always,
                    }));
                }
            }
            json!({
                "id": pos + 1,
                "title": plan.name,
                "description": format!("Plan {} on calendar {}", plan.name, plan.calendar_name),
                "position": pos + 1,
                "filter": { "all": all, "any": any },
                "policy_metrics": metrics,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn paths_are_classified() {
        assert_eq!(
            classify("/api/v2/business_hours/schedules/12.json"),
            Some(endpoint::SCHEDULE)
        );
        assert_eq!(
            classify("/api/v2/business_hours/schedules/12/holidays"),
            Some(endpoint::HOLIDAYS)
        );
        assert_eq!(
            classify("/api/v2/slas/policies/3.json"),
            Some(endpoint::SLA_POLICY)
        );
        assert_eq!(
            classify("/api/v2/business_hours/schedules/x/holidays"),
            None
        );
        assert_eq!(classify("/api/v2/slas/policies/3/other"), None);
    }

    #[test]
    fn a_config_seeds_schedules_holidays_and_policies() {
        let cfg = crate::config_files::load(Path::new("examples/celigo.yaml")).unwrap();
        let admin = Admin::from_config_years(&cfg, 2026, 2026);
        assert_eq!(admin.schedules.len(), cfg.calendars.len());
        let essential = admin
            .schedules
            .iter()
            .find(|s| s.name == "essential")
            .unwrap();
        assert_eq!(essential.time_zone, "Pacific Time (US & Canada)");
        // Monday 08:00-17:00 is minutes 1440+480 .. 1440+1020.
        assert!(essential.intervals.contains(&(1920, 2460)));
        assert!(essential
            .holidays
            .iter()
            .any(|h| h.start_date == NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()));
        assert!(essential
            .holidays
            .iter()
            .all(|h| h.start_date.year() == 2026));
        assert_eq!(admin.sla_policies.len(), 4);
        let premier = admin
            .sla_policies
            .iter()
            .find(|p| p["title"] == "premier")
            .unwrap();
        let urgent_first = premier["policy_metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["priority"] == "urgent" && m["metric"] == "first_reply_time")
            .unwrap();
        assert_eq!(urgent_first["target"], 60);
        assert_eq!(urgent_first["business_hours"], false);
    }
}
