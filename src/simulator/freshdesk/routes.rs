//! One request to the emulator: authentication, credits, faults and the
//! endpoint that answers it.

use std::collections::BTreeMap;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST, LINK, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};

use super::{FdState, DEFAULT_PER_PAGE, MAX_PAGES, MAX_PER_PAGE};
use crate::simulator::{base64_decode, Rng};
use crate::time::{format_instant, parse_instant};

type Resp = Response<Full<Bytes>>;

fn respond(status: StatusCode, body: Vec<u8>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn json_resp(status: StatusCode, body: &Value) -> Resp {
    respond(status, body.to_string().into_bytes())
}

/// Freshdesk's validation error form.
fn invalid(field: &str, message: &str) -> Resp {
    json_resp(
        StatusCode::BAD_REQUEST,
        &json!({"description": "Validation failed",
                "errors": [{"field": field, "message": message, "code": "invalid_value"}]}),
    )
}

fn not_found() -> Resp {
    json_resp(
        StatusCode::NOT_FOUND,
        &json!({"code": "not_found", "message": "Record not found"}),
    )
}

fn endpoint(path: &str) -> &'static str {
    match path {
        "/api/v2/tickets" => "tickets",
        "/api/v2/ticket_fields" => "ticket_fields",
        "/api/v2/agents" => "agents",
        "/api/v2/companies" => "companies",
        "/api/v2/sla_policies" => "sla_policies",
        "/api/v2/business_hours" => "business_hours",
        "/api/v2/export/ticket_activities" => "export",
        p if conversations_of(p).is_some() => "conversations",
        _ => "other",
    }
}

fn conversations_of(path: &str) -> Option<u64> {
    path.strip_prefix("/api/v2/tickets/")?
        .strip_suffix("/conversations")?
        .parse()
        .ok()
}

fn authorized(req: &Request<Incoming>, key: &str) -> bool {
    let Some(basic) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    base64_decode(basic.trim())
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|d| d.split_once(':').is_some_and(|(user, _)| user == key))
}

fn count(state: &FdState, ep: &'static str, status: StatusCode) {
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

/// An API request.
pub(super) fn api(state: &FdState, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_string();
    let ep = endpoint(&path);
    let q: BTreeMap<String, String> =
        form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let options = &state.0.options;
    if !authorized(&req, &options.api_key) {
        let r = json_resp(
            StatusCode::UNAUTHORIZED,
            &json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}),
        );
        count(state, ep, r.status());
        return r;
    }
    // Each `include` costs one more credit.
    let cost = 1 + q
        .get("include")
        .map_or(0, |i| i.split(',').filter(|s| !s.is_empty()).count() as u64);
    let now = wall_clock();
    let (allowed, used, seq) = match state.0.window.lock() {
        Ok(mut w) => {
            if w.0 != now / 60 {
                w.0 = now / 60;
                w.1 = 0;
            }
            w.2 += 1;
            let allowed = w.1 + cost <= options.credits_per_minute;
            if allowed {
                w.1 += cost;
            }
            (allowed, w.1, w.2)
        }
        Err(_) => (true, 0, 0),
    };
    let total = options.credits_per_minute;
    let mut r = if !allowed {
        let mut r = json_resp(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute"}),
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(60 - now % 60));
        r
    } else {
        faulted(state, seq).unwrap_or_else(|| {
            let host = req
                .headers()
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let base = format!("http://{host}");
            let r = answer(state, ep, &path, &q, &base, seq);
            malformed(state, seq, r)
        })
    };
    let h = r.headers_mut();
    h.insert("X-RateLimit-Total", HeaderValue::from(total));
    h.insert(
        "X-RateLimit-Remaining",
        HeaderValue::from(total.saturating_sub(used)),
    );
    h.insert(
        "X-RateLimit-Used-CurrentRequest",
        HeaderValue::from(if allowed { cost } else { 0 }),
    );
    count(state, ep, r.status());
    r
}

/// An injected 429 or 5xx, if this request gets one.
fn faulted(state: &FdState, seq: u64) -> Option<Resp> {
    let f = &state.0.options.faults;
    let retry = f.retry_after.max(1);
    if f.rate_limit_every.is_some_and(|n| n > 0 && seq % n == 0) {
        let mut r = json_resp(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute"}),
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry));
        return Some(r);
    }
    let mut rng = Rng::derive(f.seed, seq);
    if rng.chance(f.server_error_rate) {
        let status = if rng.chance(0.5) {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        let mut r = json_resp(
            status,
            &json!({"code": "internal_error", "message": "We're sorry, but something went wrong."}),
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry));
        return Some(r);
    }
    None
}

/// Cuts a 200's body in half when this request draws a malformed answer.
fn malformed(state: &FdState, seq: u64, r: Resp) -> Resp {
    let f = &state.0.options.faults;
    let mut rng = Rng::derive(f.seed ^ 0x6d61_6c66, seq);
    if r.status() != StatusCode::OK || !rng.chance(f.malformed_rate) {
        return r;
    }
    let (parts, body) = r.into_parts();
    let full = futures_bytes(body);
    let cut = full.slice(..full.len() / 2);
    Response::from_parts(parts, Full::new(cut))
}

/// The bytes of a `Full` body (it is ready: no I/O).
fn futures_bytes(body: Full<Bytes>) -> Bytes {
    use hyper::body::Body as _;
    let mut body = body;
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut out = Vec::new();
    while let std::task::Poll::Ready(Some(Ok(frame))) =
        std::pin::Pin::new(&mut body).poll_frame(&mut cx)
    {
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
        }
    }
    Bytes::from(out)
}

/// `per_page` and `page`, checked as Freshdesk does.
fn paging(q: &BTreeMap<String, String>) -> Result<(usize, usize), Box<Resp>> {
    let per_page = match q.get("per_page") {
        None => DEFAULT_PER_PAGE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => n,
            _ => {
                return Err(Box::new(invalid(
                    "per_page",
                    "It should be a Positive Number less than or equal to 100",
                )))
            }
        },
    };
    let page = match q.get("page") {
        None => 1,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => return Err(Box::new(invalid("page", "It should be a Positive Number"))),
        },
    };
    if page > MAX_PAGES {
        return Err(Box::new(invalid(
            "page",
            "You can only access the first 300 pages of a listing; narrow it with updated_since",
        )));
    }
    Ok((per_page, page))
}

/// One page of `items` with its `Link` header.
fn page_of(
    state: &FdState,
    items: &[Value],
    q: &BTreeMap<String, String>,
    base: &str,
    path: &str,
    seq: u64,
) -> Resp {
    page_with(
        state,
        items.len(),
        |r| items[r].to_vec(),
        q,
        base,
        path,
        seq,
    )
}

/// One page of a listing of `total` items, `slice` giving the items of a
/// range (only the page's are built), with its `Link` header.
fn page_with(
    state: &FdState,
    total: usize,
    slice: impl FnOnce(std::ops::Range<usize>) -> Vec<Value>,
    q: &BTreeMap<String, String>,
    base: &str,
    path: &str,
    seq: u64,
) -> Resp {
    let (per_page, page) = match paging(q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let from = (page - 1).saturating_mul(per_page).min(total);
    let to = (from + per_page).min(total);
    let body = Value::Array(slice(from..to));
    let mut r = json_resp(StatusCode::OK, &body);
    if to < total && page < MAX_PAGES {
        let mut next = q.clone();
        next.insert("page".into(), (page + 1).to_string());
        next.entry("per_page".into())
            .or_insert_with(|| per_page.to_string());
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(next.iter())
            .finish();
        let url = format!("{base}{path}?{query}");
        let link = if state.0.options.alternate_link_spelling && seq % 2 == 0 {
            format!("< {url}>;rel=\"next\"")
        } else {
            format!("<{url}>; rel=\"next\"")
        };
        if let Ok(v) = HeaderValue::from_str(&link) {
            r.headers_mut().insert(LINK, v);
        }
    }
    r
}

fn answer(
    state: &FdState,
    ep: &'static str,
    path: &str,
    q: &BTreeMap<String, String>,
    base: &str,
    seq: u64,
) -> Resp {
    let Ok(account) = state.0.account.lock() else {
        return json_resp(StatusCode::INTERNAL_SERVER_ERROR, &json!({}));
    };
    match ep {
        "tickets" => {
            let since = match q.get("updated_since") {
                Some(s) => match parse_instant(s) {
                    Ok(t) => t,
                    Err(_) => {
                        return invalid("updated_since", "It should be in the 'valid date' format")
                    }
                },
                None => state.now() - 30 * 86_400,
            };
            let since = format_instant(since);
            let key =
                match q.get("order_by").map(String::as_str) {
                    None | Some("created_at") => "created_at",
                    Some("updated_at") => "updated_at",
                    Some("due_by") => "due_by",
                    Some("status") => "status",
                    Some(_) => return invalid(
                        "order_by",
                        "It should be one of these values: 'created_at,due_by,updated_at,status'",
                    ),
                };
            let desc = match q.get("order_type").map(String::as_str) {
                None | Some("desc") => true,
                Some("asc") => false,
                Some(_) => {
                    return invalid("order_type", "It should be one of these values: 'asc,desc'")
                }
            };
            let stats = q
                .get("include")
                .is_some_and(|i| i.split(',').any(|s| s == "stats"));
            // The tickets in `key` order (cached until the account
            // changes); UTC instants written alike sort as text.
            let order = state.order(&account, key);
            let matching: Vec<usize> = if key == "updated_at" {
                let at = |i: usize| account.tickets[i]["updated_at"].as_str().unwrap_or("");
                let first = order.partition_point(|&i| at(i) < since.as_str());
                order[first..].to_vec()
            } else {
                order
                    .iter()
                    .copied()
                    .filter(|&i| {
                        account.tickets[i]["updated_at"]
                            .as_str()
                            .is_some_and(|u| u >= since.as_str())
                    })
                    .collect()
            };
            let total = matching.len();
            let slice = |r: std::ops::Range<usize>| -> Vec<Value> {
                r.map(|n| {
                    if desc {
                        matching[total - 1 - n]
                    } else {
                        matching[n]
                    }
                })
                .map(|i| {
                    let mut t = account.tickets[i].clone();
                    if !stats {
                        if let Some(o) = t.as_object_mut() {
                            o.remove("stats");
                        }
                    }
                    t
                })
                .collect()
            };
            page_with(state, total, slice, q, base, path, seq)
        }
        "conversations" => {
            match conversations_of(path).filter(|id| state.has_ticket(&account, *id)) {
                Some(id) => {
                    let empty = Vec::new();
                    let list = account.conversations.get(&id).unwrap_or(&empty);
                    page_of(state, list, q, base, path, seq)
                }
                None => not_found(),
            }
        }
        "agents" => page_of(state, &account.agents, q, base, path, seq),
        "companies" => page_of(state, &account.companies, q, base, path, seq),
        "sla_policies" => page_of(state, &account.sla_policies, q, base, path, seq),
        "business_hours" => page_of(state, &account.business_hours, q, base, path, seq),
        "ticket_fields" => json_resp(StatusCode::OK, &Value::Array(account.ticket_fields.clone())),
        "export" => {
            let Some(day) = q
                .get("created_at")
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            else {
                return invalid("created_at", "It should be a date in the format YYYY-MM-DD");
            };
            let start = day
                .and_hms_opt(0, 0, 0)
                .map_or(0, |d| d.and_utc().timestamp());
            if !state.0.options.export_enabled {
                // An account without the export: 404, as airbyte's
                // connector meets it (the body is not documented).
                return json_resp(
                    StatusCode::NOT_FOUND,
                    &json!({"code": "not_found", "message": "file_not_found"}),
                );
            }
            let now = state.now();
            let lost = account
                .export_missing_days
                .contains(&day.format("%Y-%m-%d").to_string());
            if lost
                || start + 86_400 > now
                || start < now - state.0.options.export_retention_days * 86_400
            {
                // No file for that day: the message the export answers
                // with then (snaptravel/tap-freshdesk reads it).
                return json_resp(
                    StatusCode::NOT_FOUND,
                    &json!({"code": "not_found", "message": "file_not_found"}),
                );
            }
            let files = state
                .0
                .files_base
                .lock()
                .map(|b| b.clone())
                .unwrap_or_default();
            json_resp(
                StatusCode::OK,
                &json!({"export": {"url": format!("{files}/exports/ticket_activities_{day}.json")}}),
            )
        }
        _ => json_resp(
            StatusCode::NOT_FOUND,
            &json!({"code": "invalid_url", "message": "The requested URL does not exist"}),
        ),
    }
}

/// A request to the files address: an export file, fetched without
/// credentials.
pub(super) fn files(state: &FdState, req: Request<Incoming>) -> Resp {
    if req.headers().contains_key(AUTHORIZATION) {
        if let Ok(mut c) = state.0.counts.lock() {
            c.credentials_sent_to_files += 1;
        }
        count(state, "export_file", StatusCode::BAD_REQUEST);
        return respond(
            StatusCode::BAD_REQUEST,
            b"Only one auth mechanism allowed; the URL carries its own signature".to_vec(),
        );
    }
    let day = req
        .uri()
        .path()
        .strip_prefix("/exports/ticket_activities_")
        .and_then(|p| p.strip_suffix(".json"))
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let Some(day) = day else {
        count(state, "export_file", StatusCode::NOT_FOUND);
        return not_found();
    };
    let key = day.format("%Y-%m-%d").to_string();
    let first = day.format("%d-%m-%Y").to_string();
    let data = state
        .0
        .account
        .lock()
        .ok()
        .and_then(|a| a.activities.get(&key).cloned())
        .unwrap_or_default();
    let body = json!({
        "metadata": {
            "start_at": format!("{first} 00:00:00 +0000"),
            "end_at": format!("{first} 23:59:59 +0000"),
            "activities_count": data.len(),
        },
        "activities_data": data,
    });
    count(state, "export_file", StatusCode::OK);
    json_resp(StatusCode::OK, &body)
}
