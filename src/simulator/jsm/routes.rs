//! One request to the JSM emulator: authentication, the rate limit, faults
//! and the endpoint that answers it.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::TimeZone;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use super::{Index, JsmState, Site};
use crate::simulator::{base64_decode, base64_encode, Rng};

type Resp = Response<Full<Bytes>>;

fn json_resp(status: StatusCode, body: &Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    r
}

/// Jira's error form.
fn error(status: StatusCode, message: &str) -> Resp {
    json_resp(status, &json!({"errorMessages": [message], "errors": {}}))
}

/// A refusal: its status and Jira's message, written by [`error`].
type Fail = (StatusCode, String);

fn fail(status: StatusCode, message: &str) -> Fail {
    (status, message.to_string())
}

fn no_issue() -> Fail {
    fail(
        StatusCode::NOT_FOUND,
        "Issue does not exist or you do not have permission to see it.",
    )
}

/// The issue key of `/rest/api/3/issue/{key}/{tail}` or
/// `/rest/servicedeskapi/request/{key}/{tail}`.
fn issue_path<'a>(path: &'a str, prefix: &str, tail: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)?
        .strip_suffix(tail)?
        .strip_suffix('/')
        .filter(|k| !k.is_empty() && !k.contains('/'))
}

fn endpoint(path: &str) -> &'static str {
    match path {
        "/rest/api/3/search/jql" => "search",
        "/rest/api/3/status" => "statuses",
        "/rest/servicedeskapi/organization" => "organizations",
        "/rest/api/3/user/assignable/search" => "assignable_users",
        p if issue_path(p, "/rest/api/3/issue/", "changelog").is_some() => "changelog",
        p if issue_path(p, "/rest/api/3/issue/", "comment").is_some() => "comments",
        p if issue_path(p, "/rest/servicedeskapi/request/", "comment").is_some() => {
            "request_comments"
        }
        p if issue_path(p, "/rest/servicedeskapi/request/", "sla").is_some() => "sla",
        _ => "other",
    }
}

fn authorized(req: &Request<Incoming>, email: &str, token: &str) -> bool {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64_decode(b.trim()))
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|d| d.split_once(':') == Some((email, token)))
}

fn count(state: &JsmState, ep: &'static str, status: StatusCode) {
    if let Ok(mut c) = state.0.counts.lock() {
        *c.by_endpoint.entry(ep).or_default() += 1;
        *c.by_status.entry(status.as_u16()).or_default() += 1;
    }
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A 429 as Jira writes it: `Retry-After`, `X-RateLimit-Reset` and
/// `RateLimit-Reason`.
fn too_many(now: i64, retry: u64) -> Resp {
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.");
    let reset = chrono::DateTime::from_timestamp(now + retry as i64, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%MZ").to_string())
        .unwrap_or_default();
    let h = r.headers_mut();
    h.insert(RETRY_AFTER, HeaderValue::from(retry));
    if let Ok(v) = HeaderValue::from_str(&reset) {
        h.insert("X-RateLimit-Reset", v);
    }
    h.insert(
        "RateLimit-Reason",
        HeaderValue::from_static("jira-burst-based"),
    );
    r
}

/// An API request.
pub(super) fn api(state: &JsmState, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let ep = endpoint(&path);
    let q: BTreeMap<String, String> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let options = &state.0.options;
    if !authorized(&req, &options.email, &options.token) {
        let mut r = Response::new(Full::new(Bytes::from_static(
            b"Client must be authenticated to access this resource.",
        )));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        count(state, ep, r.status());
        return r;
    }
    let now = wall_clock();
    let (allowed, used, seq) = match state.0.window.lock() {
        Ok(mut w) => {
            if w.0 != now / 60 {
                w.0 = now / 60;
                w.1 = 0;
            }
            w.2 += 1;
            let allowed = w.1 < options.requests_per_minute;
            if allowed {
                w.1 += 1;
            }
            (allowed, w.1, w.2)
        }
        Err(_) => (true, 0, 0),
    };
    let mut r = if !allowed {
        too_many(now, (60 - now % 60) as u64)
    } else if let Some(r) = faulted(state, seq, now) {
        r
    } else {
        let host = req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let base = format!("http://{host}");
        match state.0.site.lock() {
            Ok(site) => answer(state, &site, ep, &path, &raw_query, &q, &base),
            Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "site unavailable"),
        }
    };
    let h = r.headers_mut();
    h.insert(
        "X-RateLimit-Limit",
        HeaderValue::from(options.requests_per_minute),
    );
    h.insert(
        "X-RateLimit-Remaining",
        HeaderValue::from(options.requests_per_minute.saturating_sub(used)),
    );
    count(state, ep, r.status());
    r
}

/// An injected 429 or 503, if this request gets one.
fn faulted(state: &JsmState, seq: u64, now: i64) -> Option<Resp> {
    let f = &state.0.options.faults;
    let retry = f.retry_after.max(1);
    if f.rate_limit_every.is_some_and(|n| n > 0 && seq % n == 0) {
        return Some(too_many(now, retry));
    }
    let mut rng = Rng::derive(f.seed, seq);
    if rng.chance(f.server_error_rate) {
        let mut r = error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable.");
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry));
        return Some(r);
    }
    None
}

fn number(q: &BTreeMap<String, String>, key: &str, default: usize) -> Result<usize, Fail> {
    match q.get(key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            fail(
                StatusCode::BAD_REQUEST,
                &format!("The value '{v}' is invalid for {key}."),
            )
        }),
    }
}

fn answer(
    state: &JsmState,
    site: &Site,
    ep: &str,
    path: &str,
    raw_query: &str,
    q: &BTreeMap<String, String>,
    base: &str,
) -> Resp {
    let options = &state.0.options;
    let index = state.index(site);
    let result = match ep {
        "search" => search(state, site, &index, q),
        "statuses" => Ok(json_resp(StatusCode::OK, &Value::from(site.statuses.clone()))),
        "assignable_users" => assignable_users(site, q),
        "organizations" => sd_page(base, path, raw_query, q, &site.organizations, options.organization_page),
        "changelog" => issue_key(&index, path, "/rest/api/3/issue/", "changelog")
            .and_then(|key| changelog(site, &key, q, base, options.changelog_page)),
        "comments" => issue_key(&index, path, "/rest/api/3/issue/", "comment").and_then(|key| {
            let mut list = site.comments.get(&key).cloned().unwrap_or_default();
            if q.get("orderBy").is_some_and(|o| o.starts_with('-')) {
                list.reverse();
            }
            let start = number(q, "startAt", 0)?;
            let max = number(q, "maxResults", 100)?.clamp(1, 100);
            let page: Vec<Value> = list.iter().skip(start).take(max).cloned().collect();
            Ok(json_resp(
                StatusCode::OK,
                &json!({"startAt": start, "maxResults": max, "total": list.len(), "comments": page}),
            ))
        }),
        "request_comments" => {
            issue_key(&index, path, "/rest/servicedeskapi/request/", "comment").and_then(|key| {
                let list: Vec<Value> = site
                    .comments
                    .get(&key)
                    .map(|l| {
                        l.iter()
                            .map(|c| desk_comment(c, base, &key, options.user_timezone))
                            .collect()
                    })
                    .unwrap_or_default();
                sd_page(base, path, raw_query, q, &list, 100)
            })
        }
        "sla" => issue_key(&index, path, "/rest/servicedeskapi/request/", "sla").and_then(|key| {
            let list = site.slas.get(&key).cloned().unwrap_or_default();
            sd_page(base, path, raw_query, q, &list, options.sla_page)
        }),
        _ => Err(fail(StatusCode::NOT_FOUND, "Not found.")),
    };
    result.unwrap_or_else(|(status, message)| error(status, &message))
}

/// `GET /rest/api/3/user/assignable/search`: the assignable users among
/// the range `startAt .. startAt + maxResults` of the site's users, up to
/// the 1,000th.
fn assignable_users(site: &Site, q: &BTreeMap<String, String>) -> Result<Resp, Fail> {
    if site.users_forbidden {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "You do not have the permission to see the specified users.",
        ));
    }
    if !q.contains_key("project") && !q.contains_key("issueKey") {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "One of the following query parameters must be provided: issueKey, project.",
        ));
    }
    let start = number(q, "startAt", 0)?;
    let max = number(q, "maxResults", 50)?.clamp(1, 1000);
    let end = (start + max).min(1000);
    let page: Vec<Value> = site
        .users
        .iter()
        .take(end)
        .skip(start)
        .filter(|u| {
            u["accountId"]
                .as_str()
                .is_some_and(|id| site.assignable.contains(id))
        })
        .cloned()
        .collect();
    Ok(json_resp(StatusCode::OK, &Value::from(page)))
}

/// The key of the issue a path names (by key or id), or a 404.
fn issue_key(index: &Index, path: &str, prefix: &str, tail: &str) -> Result<String, Fail> {
    let named = issue_path(path, prefix, tail).ok_or_else(no_issue)?;
    index.keys.get(named).cloned().ok_or_else(no_issue)
}

/// A service desk page: `{_expands, size, start, limit, isLastPage,
/// _links, values}`, at most `cap` values whatever `limit` asks.
fn sd_page(
    base: &str,
    path: &str,
    raw_query: &str,
    q: &BTreeMap<String, String>,
    values: &[Value],
    cap: usize,
) -> Result<Resp, Fail> {
    let start = number(q, "start", 0)?;
    let limit = number(q, "limit", 50)?.clamp(1, cap.max(1));
    let page: Vec<Value> = values.iter().skip(start).take(limit).cloned().collect();
    let last = start + page.len() >= values.len();
    let mut links = json!({
        "base": format!("{base}/rest/servicedeskapi"),
        "context": "context",
        "self": if raw_query.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{raw_query}") },
    });
    if !last {
        links["next"] = Value::from(format!(
            "{base}{path}?start={}&limit={limit}",
            start + limit
        ));
    }
    if start > 0 {
        links["prev"] = Value::from(format!(
            "{base}{path}?start={}&limit={limit}",
            start.saturating_sub(limit)
        ));
    }
    Ok(json_resp(
        StatusCode::OK,
        &json!({"_expands": [], "size": page.len(), "start": start, "limit": limit,
                "isLastPage": last, "_links": links, "values": page}),
    ))
}

fn changelog(
    site: &Site,
    key: &str,
    q: &BTreeMap<String, String>,
    base: &str,
    cap: usize,
) -> Result<Resp, Fail> {
    let list = site.changelogs.get(key).cloned().unwrap_or_default();
    let start = number(q, "startAt", 0)?;
    let asked = number(q, "maxResults", 100)?.clamp(1, 100);
    let max = asked.min(cap.max(1));
    let page: Vec<Value> = list.iter().skip(start).take(max).cloned().collect();
    let last = start + page.len() >= list.len();
    let mut body = json!({
        "self": format!("{base}/rest/api/3/issue/{key}/changelog?startAt={start}&maxResults={asked}"),
        "maxResults": page.len(), "startAt": start, "total": list.len(), "isLast": last, "values": page,
    });
    if !last {
        body["nextPage"] = Value::from(format!(
            "{base}/rest/api/3/issue/{key}/changelog?startAt={}&maxResults={asked}",
            start + max
        ));
    }
    Ok(json_resp(StatusCode::OK, &body))
}

/// A Jira timestamp (`2026-11-02T09:00:00.000-0800`) in Unix milliseconds.
pub(super) fn millis(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| t.timestamp_millis())
}

/// A service desk Date object of a platform timestamp.
pub(super) fn date_object(text: &str, tz: chrono_tz::Tz) -> Value {
    let Some(ms) = millis(text) else {
        return Value::Null;
    };
    let local = tz.timestamp_millis_opt(ms).single();
    let fmt = |f: &str| local.map(|t| t.format(f).to_string()).unwrap_or_default();
    json!({"iso8601": fmt("%Y-%m-%dT%H:%M:%S%z"), "jira": fmt("%Y-%m-%dT%H:%M:%S%.3f%z"),
           "friendly": fmt("%d/%b/%y %-I:%M %p"), "epochMillis": ms})
}

/// A platform comment in the service desk's shape.
fn desk_comment(c: &Value, base: &str, key: &str, tz: chrono_tz::Tz) -> Value {
    let mut text = String::new();
    collect_text(&c["body"], &mut text);
    let a = &c["author"];
    json!({
        "id": c["id"], "body": text, "public": c["jsdPublic"].as_bool().unwrap_or(true),
        "author": {"accountId": a["accountId"], "displayName": a["displayName"], "active": a["active"],
                   "timeZone": a["timeZone"], "_links": {"self": a["self"]}},
        "created": date_object(c["created"].as_str().unwrap_or(""), tz),
        "_links": {"self": format!("{base}/rest/servicedeskapi/request/{key}/comment/{}", c["id"].as_str().unwrap_or(""))},
    })
}

/// The text of an Atlassian Document Format body.
fn collect_text(node: &Value, out: &mut String) {
    if let Some(t) = node["text"].as_str() {
        out.push_str(t);
    }
    if let Some(children) = node["content"].as_array() {
        for c in children {
            collect_text(c, out);
        }
    }
}

/// The one JQL form understood: `project = KEY AND updated >= "DATE"
/// ORDER BY updated ASC`; the project key and the bound (Unix ms).
pub(super) fn parse_jql(jql: &str, tz: chrono_tz::Tz) -> Result<(String, i64), String> {
    let squeezed = jql.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = squeezed.to_ascii_lowercase();
    let unsupported = || {
        format!("Error in the JQL Query: this emulator understands only project = KEY AND updated >= \"yyyy/MM/dd HH:mm\" ORDER BY updated ASC, not {jql:?}.")
    };
    let at = lower.find(" order by ").ok_or_else(unsupported)?;
    if lower[at..].trim() != "order by updated asc" {
        return Err(unsupported());
    }
    let (left, _) = squeezed.split_at(at);
    let and = left
        .to_ascii_lowercase()
        .find(" and ")
        .ok_or_else(unsupported)?;
    let (project, updated) = (&left[..and], &left[and + 5..]);
    let (lhs, key) = project.split_once('=').ok_or_else(unsupported)?;
    if !lhs.trim().eq_ignore_ascii_case("project") {
        return Err(unsupported());
    }
    let key = key.trim().trim_matches('"').trim_matches('\'').to_string();
    let (lhs, date) = updated.split_once(">=").ok_or_else(unsupported)?;
    if !lhs.trim().eq_ignore_ascii_case("updated") {
        return Err(unsupported());
    }
    let date = date.trim().trim_matches('"').trim_matches('\'');
    let local = chrono::NaiveDateTime::parse_from_str(date, "%Y/%m/%d %H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M"))
        .map_err(|_| {
            format!("Date value '{date}' for field 'updated' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm'.")
        })?;
    let bound = tz
        .from_local_datetime(&local)
        .earliest()
        .ok_or_else(|| format!("Date value '{date}' does not exist in the user's time zone."))?
        .timestamp_millis();
    Ok((key, bound))
}

fn search(
    state: &JsmState,
    site: &Site,
    index: &Index,
    q: &BTreeMap<String, String>,
) -> Result<Resp, Fail> {
    let options = &state.0.options;
    let jql = q.get("jql").map(String::as_str).unwrap_or("");
    let (project, bound) =
        parse_jql(jql, options.user_timezone).map_err(|e| fail(StatusCode::BAD_REQUEST, &e))?;
    // The token holds the last issue delivered (its `updated` and id): the
    // next page starts after it, wherever it now is.
    let after: Option<(i64, u64)> = match q.get("nextPageToken") {
        None => None,
        Some(t) => Some(
            base64_decode(t)
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .filter(|v| v["q"] == jql)
                .and_then(|v| Some((v["u"].as_i64()?, v["i"].as_u64()?)))
                .ok_or_else(|| {
                    fail(
                        StatusCode::BAD_REQUEST,
                        "The provided next page token is invalid or expired.",
                    )
                })?,
        ),
    };
    let max = number(q, "maxResults", 50)?
        .clamp(1, 5000)
        .min(options.search_page.max(1));
    let prefix = format!("{project}-");
    let from = match after {
        None => index.by_updated.partition_point(|m| m.0 < bound),
        Some(last) => index
            .by_updated
            .partition_point(|m| m.0 < bound || (m.0, m.1) <= last),
    };
    let mut matched = index.by_updated[from..]
        .iter()
        .filter_map(|&(updated, id, n)| Some((updated, id, site.issues.get(n)?)))
        .filter(|(_, _, i)| i["key"].as_str().is_some_and(|k| k.starts_with(&prefix)));
    let page: Vec<(i64, u64, &Value)> = matched.by_ref().take(max).collect();
    let more = matched.next().is_some();
    let fields: Option<Vec<&str>> = q.get("fields").map(|f| {
        f.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    });
    let expand_changelog = q
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "changelog"));
    let issues: Vec<Value> = page
        .iter()
        .map(|(_, _, issue)| {
            let Some(fields) = &fields else {
                return json!({"id": issue["id"]});
            };
            let mut out = (*issue).clone();
            let all = fields.iter().any(|f| *f == "*all" || *f == "*navigable");
            if let Some(map) = out["fields"].as_object_mut() {
                map.retain(|k, _| all || fields.contains(&k.as_str()));
            }
            if expand_changelog {
                let key = issue["key"].as_str().unwrap_or("");
                let histories = site.changelogs.get(key).cloned().unwrap_or_default();
                let newest: Vec<Value> = histories
                    .iter()
                    .rev()
                    .take(options.embedded_changelog_cap)
                    .cloned()
                    .collect();
                out["changelog"] = json!({"startAt": 0, "maxResults": newest.len(),
                                          "total": histories.len(), "histories": newest});
            }
            out
        })
        .collect();
    let mut body = json!({ "issues": issues });
    if let (true, Some(&(u, i, _))) = (more, page.last()) {
        let token = json!({"u": u, "i": i, "q": jql}).to_string();
        body["nextPageToken"] = Value::from(base64_encode(token.as_bytes()));
    }
    Ok(json_resp(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jql_form_is_read_in_the_users_zone() {
        let la: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
        let (key, bound) = parse_jql(
            "project = \"SUP\" AND updated >= \"2026/11/01 15:55\" ORDER BY updated ASC",
            la,
        )
        .unwrap();
        assert_eq!(key, "SUP");
        assert_eq!(
            crate::time::format_instant(bound / 1000),
            "2026-11-01T23:55:00Z"
        );
        let (_, summer) = parse_jql(
            "project=SUP and updated >= '2026-07-01 09:00' order by updated asc",
            la,
        )
        .unwrap();
        assert_eq!(
            crate::time::format_instant(summer / 1000),
            "2026-07-01T16:00:00Z"
        );
        assert!(parse_jql("project = SUP ORDER BY created DESC", la).is_err());
        let e = parse_jql(
            "project = SUP AND updated >= \"yesterday\" ORDER BY updated ASC",
            la,
        )
        .unwrap_err();
        assert!(e.contains("Valid formats"), "{e}");
    }

    #[test]
    fn date_objects_carry_epoch_millis() {
        let la: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
        let d = date_object("2026-11-02T09:00:00.000-0800", la);
        assert_eq!(d["epochMillis"], 1_793_638_800_000_i64);
        assert_eq!(d["iso8601"], "2026-11-02T09:00:00-0800");
        assert_eq!(d["friendly"], "02/Nov/26 9:00 AM");
    }
}
