//! Generation of a whole dataset: organizations on the config's plans,
//! users, and tickets created with seasonality, each then played by
//! [`super::lifecycle`], and what the SLA clocks do not depend on.

use std::collections::BTreeMap;

use chrono::{Datelike, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::context::{pick_priority, severity_values, Ctx};
use super::lifecycle::{lifecycle, Who};
use super::{
    ChildKind, Dataset, Field, GeneratorOptions, Group, Id, NewTicket, Organization, Role,
    TicketStatus, User, GROUP_BASE, ORGANIZATION_BASE, USER_BASE,
};
use crate::policy::model::{Plan, Policy};
use crate::policy::spec::MetricKindSpec;
use crate::policy::Config;
use crate::simulator::Rng;

const NAMES: [&str; 10] = [
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
    "Tyrell",
];
const TICKET_TAGS: [&str; 5] = ["billing", "integration", "login", "api", "question"];

/// How likely a ticket is created at this local time.
fn seasonality(weekday: u32, hour: u32) -> f64 {
    let day = if weekday >= 5 { 0.2 } else { 1.0 };
    let hour = match hour {
        8..=17 => 1.0,
        6..=7 | 18..=20 => 0.4,
        _ => 0.1,
    };
    day * hour
}

fn local(t: i64, tz: Tz) -> Option<(u32, u32)> {
    let d = Utc.timestamp_opt(t, 0).single()?.with_timezone(&tz);
    Some((d.weekday().num_days_from_monday(), d.hour()))
}

fn plan_tz(plan: Option<&Plan>, config: &Config) -> Tz {
    plan.map(|p| p.calendar.timezone())
        .or_else(|| config.calendars.values().next().map(|c| c.timezone()))
        .unwrap_or(chrono_tz::UTC)
}

/// The plan the `i`th organization (0-based) is generated on: round-robin
/// over the plans that match organizations (by tag or field), with "no
/// plan" as in [`GeneratorOptions::organizations_without_plan`].
pub fn organization_plan<'a>(
    policy: &'a Policy,
    options: &GeneratorOptions,
    i: usize,
) -> Option<&'a Plan> {
    let org_plans: Vec<&Plan> = policy
        .plans
        .iter()
        .filter(|p| {
            !p.matcher.organization_tags.is_empty() || p.matcher.organization_field.is_some()
        })
        .collect();
    match options.organizations_without_plan {
        None => org_plans.get(i % (org_plans.len() + 1)).copied(),
        Some(n) if i + n >= options.organizations => None,
        Some(_) => org_plans.get(i % org_plans.len().max(1)).copied(),
    }
}

/// Generates the dataset.
pub fn generate(config: &Config, options: &GeneratorOptions) -> Dataset {
    let policy = &config.policy;
    let mut rng = Rng::new(options.seed);
    let mut data = Dataset {
        groups: ["Support", "Tier 2", "Billing", "Engineering"]
            .iter()
            .enumerate()
            .map(|(i, n)| Group {
                id: GROUP_BASE + i as Id,
                name: (*n).to_string(),
            })
            .collect(),
        ..Dataset::default()
    };
    let before = options.start - 365 * 86_400;

    for i in 0..options.organizations {
        let plan = organization_plan(policy, options, i);
        let mut tags = Vec::new();
        let mut fields = BTreeMap::new();
        if let Some(p) = plan {
            if let Some(tag) = p.matcher.organization_tags.first() {
                tags.push(tag.clone());
            } else if let Some(f) = &p.matcher.organization_field {
                if let Some(v) = f.values.first() {
                    fields.insert(f.name.clone(), json!(v));
                }
            }
        }
        if rng.chance(0.3) {
            tags.push(["emea", "apac", "amer"][rng.index(3)].to_string());
        }
        let created = rng.range(before, options.start - 86_400);
        data.organizations.push(Organization {
            id: ORGANIZATION_BASE + i as Id + 1,
            name: format!("{} {}", NAMES[i % NAMES.len()], i + 1),
            tags,
            fields,
            created_at: created,
            updated_at: rng.range(created, options.start),
            plan: plan.map(|p| p.name.clone()),
        });
    }

    // Users: agents (one admin), end users per organization and a few without.
    let agents = 4 + options.organizations / 8;
    let mut next_user = USER_BASE;
    let mut user = |data: &mut Dataset, rng: &mut Rng, name: String, role, org| {
        next_user += 1;
        let created = rng.range(before, options.start - 86_400);
        data.users.push(User {
            id: next_user,
            name,
            role,
            organization_id: org,
            created_at: created,
            updated_at: rng.range(created, options.start),
        });
        next_user
    };
    for i in 0..agents {
        let role = if i == 0 { Role::Admin } else { Role::Agent };
        user(&mut data, &mut rng, format!("Agent {}", i + 1), role, None);
    }
    let mut requesters: Vec<(Option<Id>, Vec<Id>)> = Vec::new();
    for o in 0..options.organizations {
        let org = data.organizations[o].id;
        let n = 2 + rng.index(3);
        let ids = (0..n)
            .map(|k| {
                let name = format!("Customer {} of {}", k + 1, data.organizations[o].name);
                user(&mut data, &mut rng, name, Role::EndUser, Some(org))
            })
            .collect();
        requesters.push((Some(org), ids));
    }
    let loose = (0..5)
        .map(|k| {
            user(
                &mut data,
                &mut rng,
                format!("Visitor {}", k + 1),
                Role::EndUser,
                None,
            )
        })
        .collect();
    requesters.push((None, loose));
    let agent_ids: Vec<Id> = data.agents().map(|u| u.id).collect();

    // Ticket creations with seasonality in the plan calendar's zone.
    let span = i64::from(options.days) * 86_400;
    let total = options.days as usize * options.tickets_per_day as usize;
    let ticket_plans: Vec<&Plan> = policy
        .plans
        .iter()
        .filter(|p| !p.matcher.ticket_tags.is_empty())
        .collect();
    let exclusion_tags: Vec<&String> = policy
        .exclusions
        .iter()
        .flat_map(|e| &e.ticket_tags)
        .collect();
    let mut creations = Vec::with_capacity(total);
    for _ in 0..total {
        // Some tickets come from requesters without an organization.
        let with_organization = 1.0 - options.requesters_without_organization;
        let bucket = if requesters.len() > 1 && rng.chance(with_organization) {
            rng.index(requesters.len() - 1)
        } else {
            requesters.len() - 1
        };
        let (org, ids) = &requesters[bucket];
        let requester = ids[rng.index(ids.len())];
        let mut tags = Vec::new();
        if rng.chance(0.5) {
            tags.push(TICKET_TAGS[rng.index(TICKET_TAGS.len())].to_string());
        }
        let mut plan = org
            .and_then(|id| data.organization(id))
            .and_then(|o| o.plan.as_deref())
            .and_then(|name| policy.plans.iter().find(|p| p.name == name));
        if !ticket_plans.is_empty() && rng.chance(0.06) {
            let p = ticket_plans[rng.index(ticket_plans.len())];
            if let Some(tag) = p.matcher.ticket_tags.first() {
                tags.push(tag.clone());
                plan = Some(p);
            }
        }
        if !exclusion_tags.is_empty() && rng.chance(0.02) {
            tags.push(exclusion_tags[rng.index(exclusion_tags.len())].clone());
        }
        let plan = plan.or_else(|| policy.default_plan.and_then(|d| policy.plans.get(d)));
        let tz = plan_tz(plan, config);
        let mut at = options.start;
        for _ in 0..200 {
            at = options.start + rng.range(0, span.max(1));
            let (wd, h) = local(at, tz).unwrap_or((0, 12));
            if rng.chance(seasonality(wd, h)) {
                break;
            }
        }
        creations.push((at, *org, requester, tags, plan.map(|p| p.name.clone()), tz));
    }
    creations.sort_by_key(|c| c.0);

    let ctx = Ctx {
        policy,
        severities: severity_values(policy),
        first_response: policy
            .metrics_of(MetricKindSpec::FirstResponse)
            .first()
            .copied(),
        follow_up: policy
            .metrics_of(MetricKindSpec::NextReply)
            .first()
            .or_else(|| policy.metrics_of(MetricKindSpec::PeriodicUpdate).first())
            .copied(),
        end: options.end(),
        deletion_rate: options.deletion_rate,
        custom_status_rate: options.custom_status_rate,
        prompt_updates: options.prompt_updates,
        severity_change_rate: options.severity_change_rate,
        severity_field: policy
            .severity_field
            .as_deref()
            .and_then(|f| f.parse().ok()),
    };
    let severity_field_id = ctx.severity_field;
    for (at, org, requester, tags, plan_name, tz) in creations {
        let plan = plan_name
            .as_deref()
            .and_then(|n| policy.plans.iter().find(|p| p.name == n));
        if let Some((wd, h)) = local(at, tz) {
            if wd >= 5 {
                data.stats.weekend_created += 1;
            }
            if (8..18).contains(&h) {
                data.stats.daytime_created += 1;
            }
        }
        let priority = pick_priority(&mut rng, &ctx.severities);
        let mut custom_fields = vec![(GROUP_BASE + 1000, json!(null))];
        if let (Some(fid), Some(p)) = (severity_field_id, priority.as_ref()) {
            let sev = policy.severity_of(p).and_then(|s| policy.severities.get(s));
            custom_fields.push((fid, json!(sev)));
        }
        let group = if rng.chance(0.7) {
            data.groups[0].id
        } else {
            data.groups[rng.index(data.groups.len())].id
        };
        let n = data.tickets.len() + 1;
        let id = data.create_ticket(NewTicket {
            at,
            subject: format!("Synthetic ticket {n}"),
            requester_id: requester,
            organization_id: org,
            priority,
            group_id: Some(group),
            tags,
            custom_fields,
            body: format!("Something is wrong ({n})."),
        });
        // Another stream for what the SLA does not depend on, so the
        // tickets' lives stay the same whatever these options say.
        let mut extra = Rng::derive(options.seed ^ EXTRA_SALT, id);
        let late_rate = org
            .and_then(|o| o.checked_sub(ORGANIZATION_BASE + 1))
            .and_then(|i| {
                let i = usize::try_from(i).ok()?;
                options.late_reply_rate_by_organization.get(&i)
            })
            .or_else(|| plan.and_then(|p| options.late_reply_rate_by_plan.get(&p.name)))
            .copied()
            .unwrap_or(options.late_reply_rate);
        let who = Who {
            plan,
            agents: &agent_ids,
            late_rate,
        };
        lifecycle(&ctx, &mut data, &mut rng, &mut extra, id, &who);
    }
    decorate(&mut data, options, &agent_ids);
    data.renumber();
    data
}

const EXTRA_SALT: u64 = 0x5A7E_11E5_DEC0_0001;

/// Adds what the SLA clocks do not depend on: private notes by deleted
/// users, satisfaction ratings between a solve and the close, merges.
fn decorate(data: &mut Dataset, options: &GeneratorOptions, agents: &[Id]) {
    let end = options.end();
    let agent = agents.first().copied().unwrap_or(USER_BASE + 1);
    for i in 0..data.tickets.len() {
        let id = i as Id + 1;
        let mut rng = Rng::derive(options.seed ^ EXTRA_SALT ^ 0xFF, id);
        let Some(t) = data.ticket(id) else { continue };
        if t.status == TicketStatus::Deleted {
            continue;
        }
        let times: Vec<i64> = t.audits.iter().map(|a| a.timestamp).collect();
        if rng.chance(options.deleted_user_comment_rate) && times.len() >= 3 {
            let at = times[1] + (times[2] - times[1]) / 2;
            if at > times[1] {
                let _ = data.comment_by_deleted_user(id, at, 1 + id % 7);
            }
        }
        // Solved, then closed by the system: a rating in between.
        let Some(t) = data.ticket(id) else { continue };
        if t.status == TicketStatus::Closed && rng.chance(options.satisfaction_rate) {
            let closed = t.updated_at;
            let solved = t
                .audits
                .iter()
                .filter(|a| {
                    a.events.iter().any(|e| {
                        matches!(&e.kind, ChildKind::Change { field: Field::Status, value, .. } if value == "solved")
                    })
                })
                .map(|a| a.timestamp)
                .max();
            if let Some(solved) = solved.filter(|s| closed - s > 7200) {
                let at = solved + 3600 + rng.range(0, closed - solved - 7200);
                let (score, comment) = if rng.chance(0.85) {
                    ("good", "Quick and helpful, thanks!")
                } else {
                    ("bad", "Took too long.")
                };
                let _ = data.rate_ticket(id, at, score, comment);
            }
        }
        if rng.chance(options.merge_rate) {
            let Some(t) = data.ticket(id) else { continue };
            let (requester, created) = (t.requester_id, t.created_at);
            let at = created + 600;
            let target = data.tickets[..i]
                .iter()
                .rev()
                .take(200)
                .find(|o| {
                    o.requester_id == requester
                        && !matches!(o.status, TicketStatus::Deleted | TicketStatus::Closed)
                        && o.merged_into.is_none()
                })
                .map(|o| o.id);
            let later = data
                .ticket(id)
                .is_some_and(|t| t.audits.iter().any(|a| a.timestamp >= at));
            if let Some(target) = target.filter(|_| at <= end && !later) {
                let _ = data.merge_tickets(id, target, at, agent);
            }
        }
    }
}
