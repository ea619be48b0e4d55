//! A synthetic JSM site for `simulate --kind jsm`, demos and tests:
//! deterministic from a seed, written in Jira's shapes (the same keys as
//! the hand-written pages in `tests/testdata/jsm/`).
//!
//! Each request is raised by a customer of an organization, answered by an
//! agent (sometimes after an internal note), may wait for the customer
//! ("Waiting for customer"), may have its priority raised, is resolved,
//! sometimes reopened by the customer and resolved again, and closed two
//! days later; only what happened before `now` is in the site. Its "Time
//! to first response" SLA (24x7, goal by priority) is written as JSM would
//! record it, in the SLA field `customfield_10030` and the request SLA
//! endpoint.

use chrono::TimeZone;
use serde_json::{json, Value};

use super::Site;
use crate::simulator::Rng;

/// What to make.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub issues: usize,
    /// The first request's creation (Unix seconds).
    pub start: i64,
    /// Requests are spread evenly from `start` over this many seconds.
    pub span: i64,
    /// Nothing after this instant is in the site.
    pub now: i64,
    /// The project key.
    pub project: String,
    /// The API user's zone: every timestamp is written in it.
    pub timezone: chrono_tz::Tz,
    /// `Some(rate)`: a desk that keeps up: agents answer within 40
    /// minutes and resolve within 90 minutes of the last word, except on
    /// this share of requests, which wait as below. `None`: every request
    /// waits 5 minutes to 6 hours for its first reply and 1 to 30 hours
    /// for its resolution (a desk under strain, which tests of the
    /// adapter prefer).
    pub late_reply_rate: Option<f64>,
}

/// The site's statuses: (id, name, category key). "Waiting for customer"
/// is 10002, "Pending" (on a third party) 10003, "Closed" 6.
pub const STATUSES: [(&str, &str, &str); 8] = [
    ("1", "Open", "new"),
    ("10001", "Waiting for support", "new"),
    ("10002", "Waiting for customer", "indeterminate"),
    ("3", "In Progress", "indeterminate"),
    ("10003", "Pending", "indeterminate"),
    ("10004", "Resolved", "done"),
    ("6", "Closed", "done"),
    ("10005", "Canceled", "done"),
];

/// Jira's default priorities: (id, name).
pub const PRIORITIES: [(&str, &str); 5] = [
    ("1", "Highest"),
    ("2", "High"),
    ("3", "Medium"),
    ("4", "Low"),
    ("5", "Lowest"),
];

/// The site's organizations are numbered 1 to this.
pub const ORGANIZATIONS: usize = 8;

/// The SLA field of "Time to first response".
pub const FIRST_RESPONSE_FIELD: &str = "customfield_10030";
/// The Organizations field.
pub const ORGANIZATION_FIELD: &str = "customfield_10002";
/// The Request Type field.
pub const REQUEST_TYPE_FIELD: &str = "customfield_10010";
/// The desk's request types: (id, name).
pub const REQUEST_TYPES: [(&str, &str); 2] =
    [("11", "Get IT help"), ("12", "Report a system problem")];

/// The Request Type field's value for request type `n` of
/// [`REQUEST_TYPES`].
fn request_type(n: usize, key: &str, status_name: &str) -> Value {
    let (id, name) = REQUEST_TYPES[n % REQUEST_TYPES.len()];
    json!({"_links": {"self": format!("/rest/servicedeskapi/request/{key}")},
           "requestType": {"id": id, "name": name, "description": "", "issueTypeId": "10003", "serviceDeskId": "1"},
           "currentStatus": {"status": status_name}})
}

fn category(key: &str) -> Value {
    let (id, color, name) = match key {
        "new" => (2, "blue-gray", "To Do"),
        "indeterminate" => (4, "yellow", "In Progress"),
        _ => (3, "green", "Done"),
    };
    json!({"self": format!("/rest/api/3/statuscategory/{id}"), "id": id, "key": key, "colorName": color, "name": name})
}

/// A status as `GET /rest/api/3/status` and an issue's `status` write it.
pub fn status(id: &str) -> Value {
    let (id, name, cat) = STATUSES
        .iter()
        .find(|s| s.0 == id)
        .copied()
        .unwrap_or(("1", "Open", "new"));
    json!({"self": format!("/rest/api/3/status/{id}"), "description": "", "iconUrl": "/images/icons/statuses/generic.png",
           "name": name, "untranslatedName": name, "id": id, "statusCategory": category(cat)})
}

fn priority(id: &str) -> Value {
    let name = PRIORITIES
        .iter()
        .find(|p| p.0 == id)
        .map_or("Medium", |p| p.1);
    json!({"self": format!("/rest/api/3/priority/{id}"), "iconUrl": format!("/images/icons/priorities/{}.svg", name.to_lowercase()),
           "name": name, "id": id})
}

fn user(id: &str, name: &str, kind: &str) -> Value {
    json!({"self": format!("/rest/api/3/user?accountId={id}"), "accountId": id,
           "avatarUrls": {"48x48": "https://avatar.example/48.png", "24x24": "https://avatar.example/24.png",
                          "16x16": "https://avatar.example/16.png", "32x32": "https://avatar.example/32.png"},
           "displayName": name, "active": true, "timeZone": "UTC", "accountType": kind})
}

struct Writer {
    tz: chrono_tz::Tz,
}

impl Writer {
    /// `2026-11-02T09:00:00.000-0800`.
    fn time(&self, t: i64) -> String {
        self.tz
            .timestamp_opt(t, 0)
            .single()
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string())
            .unwrap_or_default()
    }

    fn date(&self, t: i64) -> Value {
        let local = self.tz.timestamp_opt(t, 0).single();
        let fmt = |f: &str| local.map(|d| d.format(f).to_string()).unwrap_or_default();
        json!({"iso8601": fmt("%Y-%m-%dT%H:%M:%S%z"), "jira": fmt("%Y-%m-%dT%H:%M:%S%.3f%z"),
               "friendly": fmt("%d/%b/%y %-I:%M %p"), "epochMillis": t * 1000})
    }
}

fn duration(seconds: i64) -> Value {
    let a = seconds.abs() / 60;
    let (h, m) = (a / 60, a % 60);
    let sign = if seconds < 0 { "-" } else { "" };
    let text = match (h, m) {
        (0, m) => format!("{sign}{m}m"),
        (h, 0) => format!("{sign}{h}h"),
        (h, m) => format!("{sign}{h}h {m}m"),
    };
    json!({"millis": seconds * 1000, "friendly": text})
}

enum Step {
    Status(&'static str),
    Priority(&'static str),
    Comment { author: usize, public: bool },
}

/// A synthetic site.
pub fn site(o: &Options) -> Site {
    let w = Writer { tz: o.timezone };
    let mut s = Site {
        statuses: STATUSES.iter().map(|st| status(st.0)).collect(),
        ..Site::default()
    };
    let orgs = ORGANIZATIONS;
    for n in 1..=orgs {
        s.organizations.push(
            json!({"_links": {"self": format!("/rest/servicedeskapi/organization/{n}")},
            "id": n.to_string(), "name": format!("Customer {n}"), "scimManaged": false}),
        );
    }
    // Users: 0-3 agents, 4 automation, then three customers per organization.
    let mut users = vec![
        user("557058:agent-1", "Agent One", "atlassian"),
        user("557058:agent-2", "Agent Two", "atlassian"),
        user("557058:agent-3", "Agent Three", "atlassian"),
        user("557058:agent-4", "Agent Four", "atlassian"),
        user("557058:automation", "Automation for Jira", "app"),
    ];
    for org in 1..=orgs {
        for c in 1..=3 {
            users.push(user(
                &format!("qm:org{org}:customer-{c}"),
                &format!("Customer {org}.{c}"),
                "customer",
            ));
        }
    }
    let (mut history_id, mut comment_id) = (100_000u64, 200_000u64);
    for n in 0..o.issues {
        let mut rng = Rng::derive(o.seed, n as u64);
        let created = o.start + o.span * n as i64 / o.issues.max(1) as i64 + rng.range(0, 600);
        if created >= o.now {
            continue;
        }
        let key = format!("{}-{}", o.project, n + 1);
        let labels: Vec<&str> = if rng.chance(0.1) {
            vec!["vip"]
        } else {
            Vec::new()
        };
        let id = (10_000 + n).to_string();
        let org = 1 + rng.index(orgs);
        let reporter = 5 + (org - 1) * 3 + rng.index(3);
        let agent = rng.index(4);
        let pr = ["1", "2", "3", "3", "4"][rng.weighted(&[1.0, 3.0, 5.0, 0.0, 2.0])];
        let mut steps: Vec<(i64, Step)> = Vec::new();
        // On time: this request is answered as a desk that keeps up would.
        let on_time = o.late_reply_rate.is_some_and(|rate| !rng.chance(rate));
        let reply = created
            + if on_time {
                rng.range(300, 2_400)
            } else {
                rng.range(300, 6 * 3600)
            };
        if rng.chance(0.2) {
            steps.push((
                created + rng.range(60, reply - created),
                Step::Comment {
                    author: agent,
                    public: false,
                },
            ));
        }
        steps.push((
            reply,
            Step::Comment {
                author: agent,
                public: true,
            },
        ));
        let mut t = reply;
        if rng.chance(0.4) {
            steps.push((reply, Step::Status("10002")));
            t = reply + rng.range(1_800, 20 * 3600);
            steps.push((
                t,
                Step::Comment {
                    author: reporter,
                    public: true,
                },
            ));
            steps.push((t, Step::Status("3")));
        } else {
            steps.push((reply, Step::Status("3")));
        }
        if pr != "1" && rng.chance(0.15) {
            t += if on_time {
                rng.range(600, 1_800)
            } else {
                rng.range(600, 3 * 3600)
            };
            steps.push((t, Step::Priority(if pr == "2" { "1" } else { "2" })));
        }
        let mut resolved = t + if on_time {
            rng.range(1_800, 5_400)
        } else {
            rng.range(3_600, 30 * 3600)
        };
        steps.push((
            resolved,
            Step::Comment {
                author: agent,
                public: true,
            },
        ));
        steps.push((resolved, Step::Status("10004")));
        if rng.chance(0.1) {
            let back = resolved + rng.range(3_600, 24 * 3600);
            steps.push((
                back,
                Step::Comment {
                    author: reporter,
                    public: true,
                },
            ));
            steps.push((back, Step::Status("10001")));
            resolved = back
                + if on_time {
                    rng.range(1_800, 5_400)
                } else {
                    rng.range(3_600, 10 * 3600)
                };
            steps.push((resolved, Step::Status("10004")));
        }
        steps.push((resolved + 2 * 86_400, Step::Status("6")));
        steps.retain(|(at, _)| *at < o.now);
        let (mut st, mut prio, mut updated) = ("10001", pr, created);
        let mut histories = Vec::new();
        let mut comments = Vec::new();
        for (at, step) in &steps {
            updated = updated.max(*at);
            match step {
                Step::Status(to) => {
                    history_id += 1;
                    let author = if *to == "10001" || *to == "6" {
                        4
                    } else {
                        agent
                    };
                    histories.push(json!({"id": history_id.to_string(), "author": users[author], "created": w.time(*at),
                        "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": st,
                                   "fromString": status(st)["name"], "to": to, "toString": status(to)["name"]}]}));
                    st = to;
                }
                Step::Priority(to) => {
                    history_id += 1;
                    histories.push(json!({"id": history_id.to_string(), "author": users[agent], "created": w.time(*at),
                        "items": [{"field": "priority", "fieldtype": "jira", "fieldId": "priority", "from": prio,
                                   "fromString": priority(prio)["name"], "to": to, "toString": priority(to)["name"]}]}));
                    prio = to;
                }
                Step::Comment { author, public } => {
                    comment_id += 1;
                    comments.push(json!({"self": format!("/rest/api/3/issue/{id}/comment/{comment_id}"),
                        "id": comment_id.to_string(), "author": users[*author],
                        "body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "…"}]}]},
                        "updateAuthor": users[*author], "created": w.time(*at), "updated": w.time(*at), "jsdPublic": public}));
                }
            }
        }
        // JSM's own record of the first response (24x7).
        let goal = first_response_goal(pr);
        let breach = created + goal;
        let cycle = if reply < o.now {
            json!({"completedCycles": [{"startTime": w.date(created), "stopTime": w.date(reply), "breachTime": w.date(breach),
                "breached": reply > breach, "goalDuration": duration(goal), "elapsedTime": duration(reply - created),
                "remainingTime": duration(goal - (reply - created))}]})
        } else {
            json!({"completedCycles": [], "ongoingCycle": {"startTime": w.date(created), "breachTime": w.date(breach),
                "breached": o.now > breach, "paused": false, "withinCalendarHours": true, "goalDuration": duration(goal),
                "elapsedTime": duration(o.now - created), "remainingTime": duration(goal - (o.now - created))}})
        };
        let mut sla = json!({"id": "1", "name": "Time to first response",
                             "_links": {"self": format!("/rest/servicedeskapi/request/{id}/sla/1")}});
        if let (Some(m), Some(c)) = (sla.as_object_mut(), cycle.as_object()) {
            m.extend(c.clone());
        }
        s.issues.push(json!({
            "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
            "id": id, "self": format!("/rest/api/3/issue/{id}"), "key": key,
            "fields": {
                "summary": format!("Request {key}"), "status": status(st), "priority": priority(prio),
                "created": w.time(created), "updated": w.time(updated), "reporter": users[reporter], "labels": labels,
                ORGANIZATION_FIELD: [{"id": org.to_string(), "name": format!("Customer {org}"),
                                      "_links": {"self": format!("/rest/servicedeskapi/organization/{org}")}}],
                // One request in five reports a system problem.
                REQUEST_TYPE_FIELD: request_type(usize::from(n % 5 == 0), &key, status(st)["name"].as_str().unwrap_or("")),
                FIRST_RESPONSE_FIELD: sla.clone(),
            }
        }));
        s.changelogs.insert(key.clone(), histories);
        s.comments.insert(key.clone(), comments);
        s.slas.insert(key, vec![sla]);
    }
    // The four agents may be assigned the desk's requests.
    s.assignable = users
        .iter()
        .take(4)
        .filter_map(|u| u["accountId"].as_str().map(str::to_string))
        .collect();
    s.users = users;
    s
}

/// Opens a request at `at` in a running site, as a customer of
/// organization `org` would raise it: "Waiting for support", priority
/// `priority` (an id of [`PRIORITIES`]), no comment yet, and JSM's "Time
/// to first response" SLA running (24x7, goal by priority). Its key and id
/// follow the site's highest; timestamps are written in `timezone` (the
/// API user's zone). Returns the new key.
pub fn open_request(
    s: &mut Site,
    at: i64,
    org: usize,
    priority_id: &str,
    summary: &str,
    project: &str,
    timezone: chrono_tz::Tz,
) -> String {
    let w = Writer { tz: timezone };
    let id = s
        .issues
        .iter()
        .filter_map(|i| i["id"].as_str()?.parse::<u64>().ok())
        .max()
        .unwrap_or(9_999)
        + 1;
    let number = s
        .issues
        .iter()
        .filter_map(|i| i["key"].as_str()?.rsplit_once('-')?.1.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let key = format!("{project}-{number}");
    let reporter = user(
        &format!("qm:org{org}:customer-1"),
        &format!("Customer {org}.1"),
        "customer",
    );
    let goal = first_response_goal(priority_id);
    let sla = json!({"id": "1", "name": "Time to first response",
        "_links": {"self": format!("/rest/servicedeskapi/request/{id}/sla/1")},
        "completedCycles": [], "ongoingCycle": {"startTime": w.date(at), "breachTime": w.date(at + goal),
            "breached": false, "paused": false, "withinCalendarHours": true, "goalDuration": duration(goal),
            "elapsedTime": duration(0), "remainingTime": duration(goal)}});
    s.issues.push(json!({
        "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
        "id": id.to_string(), "self": format!("/rest/api/3/issue/{id}"), "key": key,
        "fields": {
            "summary": summary, "status": status("10001"), "priority": priority(priority_id),
            "created": w.time(at), "updated": w.time(at), "reporter": reporter, "labels": [],
            ORGANIZATION_FIELD: [{"id": org.to_string(), "name": format!("Customer {org}"),
                                  "_links": {"self": format!("/rest/servicedeskapi/organization/{org}")}}],
            REQUEST_TYPE_FIELD: request_type(0, &key, "Waiting for support"),
            FIRST_RESPONSE_FIELD: sla.clone(),
        }
    }));
    s.changelogs.insert(key.clone(), Vec::new());
    s.comments.insert(key.clone(), Vec::new());
    s.slas.insert(key.clone(), vec![sla]);
    key
}

/// The goal of the synthetic "Time to first response" SLA by priority id.
fn first_response_goal(priority_id: &str) -> i64 {
    match priority_id {
        "1" => 3_600,
        "2" => 2 * 3_600,
        "3" => 4 * 3_600,
        _ => 8 * 3_600,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_is_deterministic_and_stops_at_now() {
        let o = Options {
            seed: 3,
            issues: 50,
            start: 1_793_600_000,
            span: 10 * 86_400,
            now: 1_793_600_000 + 10 * 86_400,
            project: "SUP".into(),
            timezone: "America/Los_Angeles".parse().unwrap(),
            late_reply_rate: None,
        };
        let a = site(&o);
        let b = site(&o);
        assert_eq!(a.issues, b.issues);
        assert_eq!(a.issues.len(), 50);
        let now = o.now * 1000;
        for list in a.changelogs.values() {
            for h in list {
                let t = super::super::routes::millis(h["created"].as_str().unwrap()).unwrap();
                assert!(t < now);
            }
        }
        // Timestamps carry the zone's offset without a colon.
        let created = a.issues[0]["fields"]["created"].as_str().unwrap();
        assert!(
            created.ends_with("-0800") || created.ends_with("-0700"),
            "{created}"
        );
    }
    #[test]
    fn an_opened_request_follows_the_sites_highest_key_and_waits_for_support() {
        let tz: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
        let o = Options {
            seed: 3,
            issues: 5,
            start: 1_793_600_000,
            span: 86_400,
            now: 1_793_600_000 + 2 * 86_400,
            project: "SUP".into(),
            timezone: tz,
            late_reply_rate: None,
        };
        let mut s = site(&o);
        let at = o.now - 600;
        let key = open_request(&mut s, at, 2, "1", "Down", "SUP", tz);
        assert_eq!(key, "SUP-6");
        let issue = s.issues.last().unwrap();
        assert_eq!(issue["id"], "10005");
        assert_eq!(issue["fields"]["status"]["id"], "10001");
        assert_eq!(issue["fields"]["priority"]["name"], "Highest");
        assert_eq!(issue["fields"][ORGANIZATION_FIELD][0]["id"], "2");
        let created = issue["fields"]["created"].as_str().unwrap();
        assert_eq!(super::super::routes::millis(created), Some(at * 1000));
        assert_eq!(
            issue["fields"][FIRST_RESPONSE_FIELD]["ongoingCycle"]["breachTime"]["epochMillis"],
            (at + 3_600) * 1000
        );
        assert!(s.comments[&key].is_empty() && s.changelogs[&key].is_empty());
        assert_eq!(
            open_request(&mut s, at, 1, "3", "Again", "SUP", tz),
            "SUP-7"
        );
    }
}
