//! One request: authentication, the per-minute budgets, injected faults,
//! and the endpoint that answers it.

use std::collections::BTreeMap;
use std::time::Instant;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, HOST, RETRY_AFTER};
use hyper::{Method, Request, StatusCode};
use serde_json::json;

use super::export::{incremental_page, metric_events_page};
use super::json::{custom_statuses_json, ticket_json};
use super::respond::{bytes_response, error, json_response, Resp};
use super::state::lock;
use super::{endpoint, Faults, SimState};
use crate::simulator::generator::{Id, TicketStatus};
use crate::simulator::{base64_decode, Rng};

fn classify(method: &Method, path: &str) -> &'static str {
    if method != Method::GET {
        return endpoint::OTHER;
    }
    match path {
        "/api/v2/incremental/tickets/cursor.json" => endpoint::TICKETS,
        "/api/v2/incremental/ticket_events.json" => endpoint::TICKET_EVENTS,
        "/api/v2/incremental/ticket_metric_events.json"
        | "/api/v2/incremental/ticket_metric_events" => endpoint::TICKET_METRIC_EVENTS,
        "/api/v2/incremental/organizations.json" => endpoint::ORGANIZATIONS,
        "/api/v2/incremental/users/cursor.json" => endpoint::USERS,
        "/api/v2/business_hours/schedules" | "/api/v2/business_hours/schedules.json" => {
            endpoint::SCHEDULES
        }
        "/api/v2/slas/policies" | "/api/v2/slas/policies.json" => endpoint::SLA_POLICIES,
        "/api/v2/custom_statuses" | "/api/v2/custom_statuses.json" => endpoint::CUSTOM_STATUSES,
        p if ticket_id_of(p).is_some() => endpoint::TICKET,
        p => crate::simulator::zendesk_admin::classify(p).unwrap_or(endpoint::OTHER),
    }
}

fn ticket_id_of(path: &str) -> Option<Id> {
    path.strip_prefix("/api/v2/tickets/")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    let Some(value) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(bearer) = value.strip_prefix("Bearer ") {
        return bearer.trim() == token;
    }
    let Some(basic) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Some(decoded) = base64_decode(basic.trim()).and_then(|b| String::from_utf8(b).ok()) else {
        return false;
    };
    decoded
        .split_once("/token:")
        .is_some_and(|(email, t)| !email.is_empty() && t == token)
}

fn query(q: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// What one request decided about faults.
struct Decision {
    duplicate: bool,
    malformed: bool,
}

pub(super) async fn handle(state: &SimState, req: Request<Incoming>) -> Resp {
    let inner = &state.0;
    // A person's browser following a ticket link: no API token, no budget.
    if req.method() == Method::GET {
        if let Some(id) = super::agent_page::ticket_id(req.uri().path()) {
            return super::agent_page::page(&lock(&inner.data), id);
        }
    }
    let ep = classify(req.method(), req.uri().path());
    let now = Instant::now();
    let incremental = matches!(
        ep,
        endpoint::TICKETS
            | endpoint::TICKET_EVENTS
            | endpoint::TICKET_METRIC_EVENTS
            | endpoint::ORGANIZATIONS
            | endpoint::USERS
    );
    let ok = authorized(&req, &inner.options.token);
    let faults = &inner.options.faults;
    // Everything that needs the counters, decided at once.
    let (seq, limit_header, remaining, budget_refusal) = {
        let mut c = lock(&inner.counters);
        *c.by_endpoint.entry(ep).or_default() += 1;
        let (_, used, _) = c.account.take(now, None);
        let mut limit = inner.options.account_limit_per_minute;
        let mut remaining = limit.saturating_sub(used);
        let mut refusal = None;
        if !ok {
            c.stats.unauthorized += 1;
        } else {
            c.stats.requests += 1;
            c.seq += 1;
            if incremental {
                if let Some(budget) = inner.options.incremental_per_minute {
                    let (allowed, used, left) = c.incremental.take(now, Some(budget));
                    limit = budget;
                    remaining = budget.saturating_sub(used);
                    if !allowed {
                        c.stats.budget_exceeded += 1;
                        refusal = Some(left);
                    }
                }
            }
        }
        (c.seq, limit, remaining, refusal)
    };
    let mut response = respond(state, req, ep, ok, seq, budget_refusal, faults).await;
    let h = response.headers_mut();
    h.insert("X-Rate-Limit", HeaderValue::from(limit_header));
    h.insert("X-Rate-Limit-Remaining", HeaderValue::from(remaining));
    response
}

async fn respond(
    state: &SimState,
    req: Request<Incoming>,
    ep: &'static str,
    ok: bool,
    seq: u64,
    budget_refusal: Option<u64>,
    faults: &Faults,
) -> Resp {
    let inner = &state.0;
    if !ok {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "Couldn't authenticate you" }),
        );
    }
    let mut rng = Rng::derive(faults.seed, seq);
    let server_error = rng.chance(faults.server_error_rate);
    let error_503 = rng.chance(0.5);
    let decision = Decision {
        duplicate: rng.chance(faults.duplicate_rate),
        malformed: rng.chance(faults.malformed_rate),
    };
    if let Some(delay) = faults.delay {
        lock(&inner.counters).stats.delayed += 1;
        tokio::time::sleep(delay).await;
    }
    let retry_after = faults.retry_after.max(1);
    if let Some(left) = budget_refusal {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "APIRateLimitExceeded",
            "Number of allowed incremental export API requests per minute exceeded",
        );
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(left));
        return r;
    }
    if faults
        .rate_limit_every
        .is_some_and(|n| n > 0 && seq % n == 0)
    {
        lock(&inner.counters).stats.rate_limited += 1;
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "APIRateLimitExceeded",
            "Number of allowed API requests per minute exceeded",
        );
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after));
        return r;
    }
    if server_error {
        lock(&inner.counters).stats.server_errors += 1;
        return if error_503 {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "Zendesk is temporarily unavailable",
            );
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
            r
        } else {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "Internal server error",
            )
        };
    }
    let host = req
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let base = format!("http://{host}");
    let q = query(req.uri().query());
    let path = req.uri().path().to_string();
    let result = {
        let data = lock(&inner.data);
        match ep {
            endpoint::TICKETS
            | endpoint::USERS
            | endpoint::TICKET_EVENTS
            | endpoint::ORGANIZATIONS => {
                let index = state.page_index(&data);
                let cutoff = state.cutoff();
                incremental_page(ep, &data, &index, &base, &q, decision.duplicate, cutoff)
            }
            endpoint::TICKET_METRIC_EVENTS => {
                let events = state.metric_events_of(&data);
                metric_events_page(&events, &base, &q, decision.duplicate, state.cutoff())
            }
            endpoint::CUSTOM_STATUSES => Ok((
                custom_statuses_json(&data, &base).to_string().into_bytes(),
                false,
            )),
            _ => match ep {
                endpoint::TICKET => match ticket_id_of(&path).and_then(|id| data.ticket(id)) {
                    Some(t) if t.status != TicketStatus::Deleted => {
                        Ok((json!({ "ticket": ticket_json(t, &base) }), false))
                    }
                    _ => Err(Box::new(error(
                        StatusCode::NOT_FOUND,
                        "RecordNotFound",
                        "Not found",
                    ))),
                },
                ep if crate::simulator::zendesk_admin::serves(ep) => inner
                    .admin
                    .respond(ep, &path, &q, &base)
                    .map(|v| (v, false))
                    .map_err(|e| Box::new(error(e.status, e.error, &e.description))),
                _ => Err(Box::new(error(
                    StatusCode::NOT_FOUND,
                    "InvalidEndpoint",
                    "Not found",
                ))),
            }
            .map(|(v, dup)| (v.to_string().into_bytes(), dup)),
        }
    };
    let (mut bytes, duplicated) = match result {
        Ok(b) => b,
        Err(r) => return *r,
    };
    {
        let mut c = lock(&inner.counters);
        if duplicated {
            c.stats.duplicates += 1;
        }
        if decision.malformed {
            c.stats.malformed += 1;
            bytes.truncate(bytes.len() / 2);
        }
    }
    bytes_response(StatusCode::OK, Bytes::from(bytes))
}
