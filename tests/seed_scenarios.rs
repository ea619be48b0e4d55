//! One scenario per seed policy, through the SLA engine on the shipped
//! example configs, with every expected instant worked out by hand in the
//! comments. Times in comments are the plan calendar's local time.

use std::path::Path;

use helpdesk_slo::config_files;
use helpdesk_slo::engine::aggregate::{credits, period_bounds, TicketMeta};
use helpdesk_slo::engine::{evaluate, Clock, ClockState, Ticket};
use helpdesk_slo::policy::spec::CreditPeriod;
use helpdesk_slo::policy::Config;
use helpdesk_slo::time::{format_instant, parse_instant};

fn config(file: &str) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(file);
    config_files::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn t(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

fn ticket(json: &str) -> Ticket {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"))
}

/// The clock of `metric` number `instance`.
fn clock<'a>(cfg: &Config, clocks: &'a [Clock], metric: &str, instance: u32) -> &'a Clock {
    let m = cfg.policy.metric_id(metric).unwrap();
    clocks
        .iter()
        .find(|c| c.metric == m && c.instance == instance)
        .unwrap_or_else(|| panic!("no {metric} #{instance} in {clocks:#?}"))
}

fn ts(t: Option<i64>) -> Option<String> {
    t.map(format_instant)
}

/// Asserts state, due_at, fulfilled_at, breached_at and elapsed/paused.
#[allow(clippy::too_many_arguments)]
fn check(
    c: &Clock,
    state: ClockState,
    due: Option<&str>,
    fulfilled: Option<&str>,
    breached: Option<&str>,
    elapsed: i64,
    paused: i64,
) {
    let want = (
        state,
        due.map(String::from),
        fulfilled.map(String::from),
        breached.map(String::from),
        elapsed,
        paused,
    );
    let got = (
        c.state,
        ts(c.due_at),
        ts(c.fulfilled_at),
        ts(c.breached_at),
        c.elapsed_seconds,
        c.paused_seconds,
    );
    assert_eq!(got, want, "{c:#?}");
}

const H: i64 = 3600;
const M: i64 = 60;

#[test]
fn workato_premium_critical_case() {
    let cfg = config("workato.yaml");
    // Monday 2026-11-16 09:00 PST (17:00Z), severity 1 on Premium.
    let tk = ticket(
        r#"{"id":"1","created_at":"2026-11-16T17:00:00Z","priority":"urgent",
        "organization":{"id":"acme","tags":["workato_premium"]},
        "events":[
          {"at":"2026-11-16T18:30:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-16T19:20:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-16T20:40:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-16T22:00:00Z","type":"status","value":"pending"},
          {"at":"2026-11-17T17:00:00Z","type":"comment","author":"requester","public":true},
          {"at":"2026-11-17T17:00:00Z","type":"status","value":"open"},
          {"at":"2026-11-17T18:00:00Z","type":"status","value":"solved"}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-20T00:00:00Z"));
    // Respond within 24 business hours: Mon 8h + Tue 9h + Wed 7h = Wed 15:00.
    // Replied Mon 10:30 after 1h30m.
    let fr = clock(&cfg, &clocks, "first_response", 1);
    check(
        fr,
        ClockState::Met,
        Some("2026-11-18T23:00:00Z"),
        Some("2026-11-16T18:30:00Z"),
        None,
        90 * M,
        0,
    );
    // Hourly status reports (wall clock): 10:30 -> 11:20 met; 11:20 -> 12:40
    // breached at 12:20; the window from 12:40 breached at 13:40 and ended at
    // the solve (Tue 10:00).
    let u1 = clock(&cfg, &clocks, "status_update", 1);
    check(
        u1,
        ClockState::Met,
        Some("2026-11-16T19:30:00Z"),
        Some("2026-11-16T19:20:00Z"),
        None,
        50 * M,
        0,
    );
    let u2 = clock(&cfg, &clocks, "status_update", 2);
    check(
        u2,
        ClockState::Breached,
        Some("2026-11-16T20:20:00Z"),
        Some("2026-11-16T20:40:00Z"),
        Some("2026-11-16T20:20:00Z"),
        80 * M,
        0,
    );
    let u3 = clock(&cfg, &clocks, "status_update", 3);
    assert_eq!(
        (u3.state, ts(u3.breached_at)),
        (ClockState::Breached, Some("2026-11-16T21:40:00Z".into()))
    );
    assert_eq!(ts(u3.fulfilled_at), Some("2026-11-17T18:00:00Z".into()));
    // Resolve within 3d = 27 business hours, pending pauses it: Mon 09:00-14:00
    // runs 5h, pending Mon 14:00 -> Tue 09:00 (3h + 1h of business time),
    // then 22h more from Tue 09:00: Tue 8h, Wed 9h, Thu 5h -> Thu 13:00.
    // Solved Tue 10:00 after 6h of running business time.
    let res = clock(&cfg, &clocks, "resolution", 1);
    check(
        res,
        ClockState::Met,
        Some("2026-11-19T21:00:00Z"),
        Some("2026-11-17T18:00:00Z"),
        None,
        6 * H,
        4 * H,
    );
    assert_eq!(clocks.len(), 5, "{clocks:#?}");
}

#[test]
fn workato_cases_opened_outside_business_hours_are_excluded() {
    let cfg = config("workato.yaml");
    // Saturday 2026-11-21 10:00 PST.
    let tk = ticket(
        r#"{"id":"2","created_at":"2026-11-21T18:00:00Z","priority":"high",
        "organization":{"id":"acme","tags":["workato_professional"]},
        "events":[{"at":"2026-11-23T20:00:00Z","type":"comment","author":"agent","public":true}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-25T00:00:00Z"));
    assert_eq!(clocks.len(), 2);
    for c in &clocks {
        assert_eq!(c.state, ClockState::Excluded);
        assert_eq!(
            c.reason.as_deref(),
            Some("created outside the business hours of calendar business-hours")
        );
    }
}

#[test]
fn wati_pro_first_response_and_meta_dependency() {
    let cfg = config("wati.yaml");
    let json = |id: &str, tags: &str| {
        format!(
            r#"{{"id":"{id}","created_at":"2026-11-22T00:00:00Z","priority":"P1","tags":[{tags}],
            "events":[
              {{"at":"2026-11-22T00:50:00Z","type":"comment","author":"agent","public":true}},
              {{"at":"2026-11-22T05:00:00Z","type":"status","value":"solved"}}]}}"#
        )
    };
    let now = t("2026-11-23T00:00:00Z");
    // P1: 45 minutes around the clock; replied after 50 -> breached at 00:45.
    let plain = evaluate(&cfg.policy, &ticket(&json("3", "")), now);
    let fr = clock(&cfg, &plain, "first_response", 1);
    check(
        fr,
        ClockState::Breached,
        Some("2026-11-22T00:45:00Z"),
        Some("2026-11-22T00:50:00Z"),
        Some("2026-11-22T00:45:00Z"),
        50 * M,
        0,
    );
    // Resolution has no target: counted, never breached.
    let res = clock(&cfg, &plain, "resolution", 1);
    check(
        res,
        ClockState::NoTarget,
        None,
        Some("2026-11-22T05:00:00Z"),
        None,
        5 * H,
        0,
    );
    // A Meta-dependency ticket: its resolution is excluded with the reason.
    let meta = evaluate(
        &cfg.policy,
        &ticket(&json("4", r#""meta_dependency""#)),
        now,
    );
    assert_eq!(
        clock(&cfg, &meta, "first_response", 1).state,
        ClockState::Breached
    );
    let res = clock(&cfg, &meta, "resolution", 1);
    assert_eq!(res.state, ClockState::Excluded);
    assert_eq!(
        res.reason.as_deref(),
        Some("Meta dependency issue: resolution time may vary regardless of plan")
    );
}

#[test]
fn workzoom_business_days_and_a_reply_exactly_at_the_deadline() {
    let cfg = config("workzoom.yaml");
    // Major, opened Monday 2026-11-23 19:00 EST (closed). 1 business day:
    // 19:00 Tuesday is closed, so 08:00 Wednesday. Replied 09:00 Wednesday.
    let major = ticket(
        r#"{"id":"5","created_at":"2026-11-24T00:00:00Z","priority":"high",
        "events":[
          {"at":"2026-11-25T14:00:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-26T22:00:00Z","type":"status","value":"solved"}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &major, t("2026-12-01T00:00:00Z"));
    let r = clock(&cfg, &clocks, "response", 1);
    check(
        r,
        ClockState::Breached,
        Some("2026-11-25T13:00:00Z"),
        Some("2026-11-25T14:00:00Z"),
        Some("2026-11-25T13:00:00Z"),
        11 * H,
        0,
    );
    // Resolution, 3 business days: Tue, Wed, Thu -> Thu 19:00 is closed ->
    // Fri 08:00. Solved Thursday 17:00: met after 10h + 10h + 9h.
    let res = clock(&cfg, &clocks, "resolution", 1);
    check(
        res,
        ClockState::Met,
        Some("2026-11-27T13:00:00Z"),
        Some("2026-11-26T22:00:00Z"),
        None,
        29 * H,
        0,
    );

    // Critical, opened Friday 2026-11-20 16:00 EST: 4h = 2h Friday + 2h
    // Monday -> Monday 10:00. A reply at exactly 10:00 is in time.
    let critical = ticket(
        r#"{"id":"6","created_at":"2026-11-20T21:00:00Z","priority":"urgent",
        "events":[{"at":"2026-11-23T15:00:00Z","type":"comment","author":"agent","public":true}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &critical, t("2026-11-23T16:00:00Z"));
    let r = clock(&cfg, &clocks, "response", 1);
    check(
        r,
        ClockState::Met,
        Some("2026-11-23T15:00:00Z"),
        Some("2026-11-23T15:00:00Z"),
        None,
        4 * H,
        0,
    );
    // Resolution (24 business hours) still open at Monday 11:00: 5h elapsed.
    let res = clock(&cfg, &clocks, "resolution", 1);
    assert_eq!(
        (res.state, res.elapsed_seconds, res.remaining_seconds),
        (ClockState::Active, 5 * H, Some(19 * H))
    );
}

#[test]
fn celigo_reclassified_severity_retargets_from_the_original_start() {
    let cfg = config("celigo.yaml");
    // Preferred, customer urgency "high" at Monday 2026-11-23 10:00 PST
    // (first response 8h on the Preferred calendar -> 18:00). At 11:00 Celigo
    // assigns severity urgent: 2h on the 24x7 after-hours calendar from the
    // original start -> due 12:00. The reply at 12:30 breaches it at 12:00.
    let tk = ticket(
        r#"{"id":"7","created_at":"2026-11-23T18:00:00Z","priority":"high",
        "organization":{"id":"900","tags":["csp_preferred"]},
        "events":[
          {"at":"2026-11-23T19:00:00Z","type":"severity","value":"urgent"},
          {"at":"2026-11-23T20:30:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-24T17:00:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-24T17:00:00Z","type":"status","value":"pending"}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-24T23:00:00Z"));
    let fr = clock(&cfg, &clocks, "first_response", 1);
    check(
        fr,
        ClockState::Breached,
        Some("2026-11-23T20:00:00Z"),
        Some("2026-11-23T20:30:00Z"),
        Some("2026-11-23T20:00:00Z"),
        150 * M,
        0,
    );
    assert_eq!(cfg.policy.severities[fr.severity.unwrap()], "urgent");
    // Follow up (urgent: 1d = 24h on the 24x7 calendar) from the 12:30 reply:
    // the next update Tuesday 09:00 is in time.
    let f1 = clock(&cfg, &clocks, "follow_up", 1);
    check(
        f1,
        ClockState::Met,
        Some("2026-11-24T20:30:00Z"),
        Some("2026-11-24T17:00:00Z"),
        None,
        20 * H + 30 * M,
        0,
    );
    // The next window started Tuesday 09:00 and is paused (pending) at now.
    let f2 = clock(&cfg, &clocks, "follow_up", 2);
    check(f2, ClockState::Paused, None, None, None, 0, 6 * H);
    assert_eq!(f2.remaining_seconds, Some(24 * H));

    // The same ticket reclassified only at 13:00, after the new due (12:00)
    // had passed: breached at 12:00 at once.
    let late = ticket(
        r#"{"id":"8","created_at":"2026-11-23T18:00:00Z","priority":"high",
        "organization":{"id":"900","tags":["csp_preferred"]},
        "events":[{"at":"2026-11-23T21:00:00Z","type":"severity","value":"urgent"}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &late, t("2026-11-23T21:30:00Z"));
    let fr = clock(&cfg, &clocks, "first_response", 1);
    assert_eq!(
        (fr.state, ts(fr.breached_at)),
        (ClockState::Breached, Some("2026-11-23T20:00:00Z".into()))
    );
}

#[test]
fn celigo_quarterly_credit_for_a_preferred_customer() {
    let cfg = config("celigo.yaml");
    let mk = |id: &str, created: &str, priority: &str, reply: &str, solve: &str| {
        ticket(&format!(
            r#"{{"id":"{id}","created_at":"{created}","priority":"{priority}",
            "organization":{{"id":"900","tags":["csp_preferred"]}},
            "events":[
              {{"at":"{reply}","type":"comment","author":"agent","public":true}},
              {{"at":"{solve}","type":"status","value":"solved"}}]}}"#
        ))
    };
    let tickets = [
        // A: high, Tue 10:00, replied 11:00 (met), solved 12:00: the follow-up
        // window from the reply ends at the solve, met. Two SLA events.
        mk(
            "A",
            "2026-11-24T18:00:00Z",
            "high",
            "2026-11-24T19:00:00Z",
            "2026-11-24T20:00:00Z",
        ),
        // B: high, replied and solved Wed 10:00: first response due Tue 18:00,
        // breached; no follow-up window (solved in the same step). One event.
        mk(
            "B",
            "2026-11-24T18:00:00Z",
            "high",
            "2026-11-25T18:00:00Z",
            "2026-11-25T18:00:00Z",
        ),
        // C: low priority, breached: not an SLA event (low is excluded).
        mk(
            "C",
            "2026-11-24T18:00:00Z",
            "low",
            "2026-11-30T18:00:00Z",
            "2026-11-30T18:00:00Z",
        ),
        // D: high, created Saturday (outside Preferred support hours),
        // breached: not counted for credits.
        mk(
            "D",
            "2026-11-28T18:00:00Z",
            "high",
            "2026-11-30T18:00:00Z",
            "2026-11-30T18:00:00Z",
        ),
    ];
    let now = t("2027-01-05T00:00:00Z");
    let evaluated: Vec<(TicketMeta, Vec<Clock>)> = tickets
        .iter()
        .map(|tk| {
            let meta = TicketMeta {
                id: tk.id.clone(),
                organization: tk.organization.as_ref().map(|o| o.id.clone()),
                created_at: tk.created_at,
            };
            (meta, evaluate(&cfg.policy, tk, now))
        })
        .collect();
    assert_eq!(
        clock(&cfg, &evaluated[2].1, "first_response", 1).state,
        ClockState::Breached
    );
    assert_eq!(
        clock(&cfg, &evaluated[3].1, "first_response", 1).state,
        ClockState::Breached
    );
    let tz = cfg.calendars["preferred"].timezone();
    let (from, to) = period_bounds(t("2026-11-24T18:00:00Z"), CreditPeriod::Quarter, tz).unwrap();
    assert_eq!(
        (format_instant(from), format_instant(to)),
        ("2026-10-01T07:00:00Z".into(), "2027-01-01T08:00:00Z".into())
    );
    let out = credits(&cfg.policy, 0, &evaluated, from, to);
    assert_eq!(out.len(), 1);
    let c = &out[0];
    // 1 violation in 3 events: 33% > 10.1% -> 30% credit (the last row).
    assert_eq!(
        (
            c.organization.as_str(),
            c.events,
            c.violations,
            c.credit,
            c.tier
        ),
        ("900", 3, 1, 0.30, Some(5))
    );
}

#[test]
fn support_model_tiers_hand_offs_and_lunch() {
    let cfg = config("support-model.yaml");
    // Monday 2026-11-23 09:00 GMT, P2 (high), assigned to the L1 desk.
    let tk = ticket(
        r#"{"id":"9","created_at":"2026-11-23T09:00:00Z","priority":"p2","group":"l1-desk",
        "events":[
          {"at":"2026-11-23T09:20:00Z","type":"comment","author":"agent","public":false},
          {"at":"2026-11-23T10:00:00Z","type":"group","value":"l2-experts"},
          {"at":"2026-11-23T15:30:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-23T16:00:00Z","type":"group","value":"l3-platform"},
          {"at":"2026-11-24T10:00:00Z","type":"group","value":"l2-experts"}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-24T11:00:00Z"));
    // L1 (1h): its internal note at 09:20 answers it.
    check(
        clock(&cfg, &clocks, "l1_response", 1),
        ClockState::Met,
        Some("2026-11-23T10:00:00Z"),
        Some("2026-11-23T09:20:00Z"),
        None,
        20 * M,
        0,
    );
    // L2 (4h) from 10:00: 2h30m to lunch, 1h30m after -> 15:00; answered 15:30.
    check(
        clock(&cfg, &clocks, "l2_response", 1),
        ClockState::Breached,
        Some("2026-11-23T15:00:00Z"),
        Some("2026-11-23T15:30:00Z"),
        Some("2026-11-23T15:00:00Z"),
        4 * H + 30 * M,
        0, // lunch is closed time, not paused time
    );
    // L3 (1d = 7h30m) from 16:00: 1h30m Monday, 3h30m Tuesday morning, 2h30m
    // after lunch -> Tuesday 16:00; handed back at Tuesday 10:00: met.
    check(
        clock(&cfg, &clocks, "l3_response", 1),
        ClockState::Met,
        Some("2026-11-24T16:00:00Z"),
        Some("2026-11-24T10:00:00Z"),
        None,
        2 * H + 30 * M,
        0,
    );
    // L2 again from Tuesday 10:00, open at 11:00 with 3h left.
    let l2 = clock(&cfg, &clocks, "l2_response", 2);
    assert_eq!(
        (l2.state, ts(l2.due_at), l2.remaining_seconds),
        (
            ClockState::Active,
            Some("2026-11-24T15:00:00Z".into()),
            Some(3 * H)
        )
    );
    // First response (2h): the L1 note is internal and does not count; the
    // first public reply is 15:30 -> breached at 11:00.
    let fr = clock(&cfg, &clocks, "first_response", 1);
    assert_eq!(
        (fr.state, ts(fr.breached_at)),
        (ClockState::Breached, Some("2026-11-23T11:00:00Z".into()))
    );
}

#[test]
fn an_assigned_severity_field_wins_over_the_customer_priority() {
    // Celigo: the customer says "low"; the team's severity field says
    // "urgent" at creation. Premier urgent first response: 1h, not 1d.
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let text = text.replace(
        "default_severity: normal",
        "default_severity: normal\nseverity_field: assigned_severity",
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml");
    let cfg = Config::from_yaml(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    let tk = ticket(
        r#"{"id":"10","created_at":"2026-11-23T18:00:00Z","priority":"low",
        "fields":{"assigned_severity":"urgent"},
        "organization":{"id":"901","tags":["csp_premier"]},"events":[]}"#,
    );
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-23T18:30:00Z"));
    let fr = clock(&cfg, &clocks, "first_response", 1);
    assert_eq!(cfg.policy.severities[fr.severity.unwrap()], "urgent");
    assert_eq!(ts(fr.due_at), Some("2026-11-23T19:00:00Z".into()));
}

/// The tier metrics' clocks of `clocks`, as `(metric, instance)`.
fn tier_clocks(cfg: &Config, clocks: &[Clock]) -> Vec<(String, u32)> {
    clocks
        .iter()
        .map(|c| (cfg.policy.metrics[c.metric].name.clone(), c.instance))
        .filter(|(m, _)| m.ends_with("_response") && m != "first_response")
        .collect()
}

#[test]
fn a_reopen_is_not_an_assignment_and_starts_no_tier_clock() {
    let cfg = config("support-model.yaml");
    // Monday 2026-11-23 09:00 GMT, P2, assigned to the L1 desk, which
    // answers at 09:20; solved at 10:00, reopened Tuesday 09:00 and still
    // with L1 at 12:00. L1 already answered: the reopen owes it nothing.
    let tk = ticket(
        r#"{"id":"10","created_at":"2026-11-23T09:00:00Z","priority":"p2","group":"l1-desk",
        "events":[
          {"at":"2026-11-23T09:20:00Z","type":"comment","author":"agent","public":false},
          {"at":"2026-11-23T10:00:00Z","type":"status","value":"solved"},
          {"at":"2026-11-24T09:00:00Z","type":"status","value":"open"}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-24T12:00:00Z"));
    assert_eq!(tier_clocks(&cfg, &clocks), [("l1_response".into(), 1)]);
    assert_eq!(
        clock(&cfg, &clocks, "l1_response", 1).state,
        ClockState::Met
    );

    // Reopened and handed to L2 in one step: that is an assignment, and
    // L2's clock starts there.
    let tk = ticket(
        r#"{"id":"11","created_at":"2026-11-23T09:00:00Z","priority":"p2","group":"l1-desk",
        "events":[
          {"at":"2026-11-23T09:20:00Z","type":"comment","author":"agent","public":false},
          {"at":"2026-11-23T10:00:00Z","type":"status","value":"solved"},
          {"at":"2026-11-24T09:00:00Z","type":"status","value":"open"},
          {"at":"2026-11-24T09:00:00Z","type":"group","value":"l2-experts"}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-24T12:00:00Z"));
    assert_eq!(
        tier_clocks(&cfg, &clocks),
        [("l1_response".into(), 1), ("l2_response".into(), 1)]
    );
    let l2 = clock(&cfg, &clocks, "l2_response", 1);
    assert_eq!(
        (ts(Some(l2.start)), l2.state),
        (Some("2026-11-24T09:00:00Z".into()), ClockState::Active)
    );
}

#[test]
fn an_assignment_and_a_solve_in_one_step_start_no_tier_clock() {
    let cfg = config("support-model.yaml");
    // Handed to L2 and solved in the same update: L2 was never asked to
    // act, so it gets no clock (not a clock met after 0s).
    let tk = ticket(
        r#"{"id":"12","created_at":"2026-11-23T09:00:00Z","priority":"p2","group":"l1-desk",
        "events":[
          {"at":"2026-11-23T09:20:00Z","type":"comment","author":"agent","public":false},
          {"at":"2026-11-23T10:00:00Z","type":"group","value":"l2-experts"},
          {"at":"2026-11-23T10:00:00Z","type":"status","value":"solved"}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-23T12:00:00Z"));
    assert_eq!(tier_clocks(&cfg, &clocks), [("l1_response".into(), 1)]);
}

#[test]
fn a_violation_share_of_exactly_10_1_percent_is_not_above_10_1_percent() {
    // Celigo: `from: 10%` gives 25%, `above: 10.1%` gives 30%. 101
    // violations in 1,000 SLA events is a share of exactly 10.1%: not above
    // it, so 25%. (As floats, 10.1 / 100 is 0.10099999999999999 and the
    // share 0.101 looked above it.) 102 in 1,000 is above: 30%.
    let cfg = config("celigo.yaml");
    let plan = cfg.policy.plan_id("preferred").unwrap();
    let metric = cfg.policy.metric_id("first_response").unwrap();
    let high = cfg.policy.severities.iter().position(|s| s == "high");
    // Tuesday 10:00 Pacific: in Preferred's support hours.
    let created = t("2026-11-24T18:00:00Z");
    let decided = |breached: usize| -> Vec<Clock> {
        (0..1000)
            .map(|i| {
                let state = if i < breached {
                    ClockState::Breached
                } else {
                    ClockState::Met
                };
                Clock {
                    metric,
                    instance: 1,
                    plan: Some(plan),
                    severity: high,
                    start: created,
                    due_at: Some(created + H),
                    state,
                    reason: None,
                    fulfilled_at: Some(created + 2 * H),
                    breached_at: (state == ClockState::Breached).then_some(created + H),
                    elapsed_seconds: 2 * H,
                    paused_seconds: 0,
                    remaining_seconds: None,
                }
            })
            .collect()
    };
    let meta = TicketMeta {
        id: "1".into(),
        organization: Some("900".into()),
        created_at: created,
    };
    let tz = cfg.calendars["preferred"].timezone();
    let (from, to) = period_bounds(created, CreditPeriod::Quarter, tz).unwrap();
    for (breached, credit, tier) in [(101, 0.25, Some(4)), (102, 0.30, Some(5))] {
        let out = credits(
            &cfg.policy,
            0,
            &[(meta.clone(), decided(breached))],
            from,
            to,
        );
        let c = &out[0];
        assert_eq!(
            (c.events, c.violations, c.credit, c.tier),
            (1000, breached as u64, credit, tier),
            "{breached} of 1000"
        );
    }
}

#[test]
fn only_created_in_business_hours_judges_a_ticket_on_its_response_calendar() {
    // Celigo with Preferred limited to tickets created in support hours:
    // an urgent ticket's support hours are those of its first-response
    // target, the 24x7 after-hours-urgent calendar; a high one's are the
    // plan's calendar (Sunday 16:00 to Friday 17:00 Pacific).
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let text = text.replace(
        "    credits: celigo-sla\n    targets:\n      urgent:\n        first_response: { target: 2h",
        "    credits: celigo-sla\n    only_created_in_business_hours: true\n    targets:\n      urgent:\n        first_response: { target: 2h",
    );
    assert!(text.contains("only_created_in_business_hours: true\n    targets"));
    let cfg = Config::from_yaml(&text, Path::new("examples/celigo.yaml")).unwrap();
    // Saturday 10:00 Pacific.
    let mk = |priority: &str| {
        ticket(&format!(
            r#"{{"id":"1","created_at":"2026-11-21T18:00:00Z","priority":"{priority}",
            "organization":{{"id":"900","tags":["csp_preferred"]}},
            "events":[{{"at":"2026-11-21T19:00:00Z","type":"comment","author":"agent","public":true}}]}}"#
        ))
    };
    let now = t("2026-11-21T20:00:00Z");
    let urgent = evaluate(&cfg.policy, &mk("urgent"), now);
    let fr = clock(&cfg, &urgent, "first_response", 1);
    assert_eq!((fr.state, fr.reason.as_deref()), (ClockState::Met, None));
    let high = evaluate(&cfg.policy, &mk("high"), now);
    let fr = clock(&cfg, &high, "first_response", 1);
    assert_eq!(
        (fr.state, fr.reason.as_deref()),
        (
            ClockState::Excluded,
            Some("created outside the business hours of calendar preferred")
        )
    );

    // Workato: "all time frames apply to cases originating within business
    // hours only". A critical case opened on Saturday has its hourly
    // status updates (on a wall clock: how their time counts, not when
    // support is open) excluded with the rest.
    let cfg = config("workato.yaml");
    let tk = ticket(
        r#"{"id":"3","created_at":"2026-11-21T18:00:00Z","priority":"urgent",
        "organization":{"id":"acme","tags":["workato_professional"]},
        "events":[{"at":"2026-11-21T19:00:00Z","type":"comment","author":"agent","public":true}]}"#,
    );
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-21T19:30:00Z"));
    assert!(clocks
        .iter()
        .any(|c| cfg.policy.metrics[c.metric].name == "status_update"));
    for c in &clocks {
        assert_eq!(
            (c.state, c.reason.as_deref()),
            (
                ClockState::Excluded,
                Some("created outside the business hours of calendar business-hours")
            ),
            "{c:?}"
        );
    }
}

/// Tuesday 10:00 Pacific, high, a Preferred customer's ticket; replied at
/// 11:00 (the follow-up window opens). At 12:00 it is tagged cloudextend,
/// and the CloudExtend plan (which takes precedence) has no follow-up
/// target.
fn moved_to_a_plan_without_follow_ups() -> Ticket {
    ticket(
        r#"{"id":"13","created_at":"2026-11-24T18:00:00Z","priority":"high",
        "organization":{"id":"900","tags":["csp_preferred"]},
        "events":[
          {"at":"2026-11-24T19:00:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-24T20:00:00Z","type":"tags","value":["cloudextend"]}]}"#,
    )
}

#[test]
fn a_plan_change_to_a_plan_without_the_metric_ends_its_clock_excluded() {
    let cfg = config("celigo.yaml");
    // The open window ends at the plan change, excluded with the reason,
    // on the plan it ran on: not dropped, and not met or breached.
    let tk = moved_to_a_plan_without_follow_ups();
    let clocks = evaluate(&cfg.policy, &tk, t("2026-11-26T00:00:00Z"));
    let fu = clock(&cfg, &clocks, "follow_up", 1);
    assert_eq!(
        (
            fu.state,
            fu.reason.as_deref(),
            ts(fu.fulfilled_at),
            fu.elapsed_seconds
        ),
        (
            ClockState::Excluded,
            Some("plan changed to cloudextend-essential, which has no target for follow_up at severity high"),
            Some("2026-11-24T20:00:00Z".into()),
            H
        )
    );
    assert_eq!(cfg.policy.plans[fu.plan.unwrap()].name, "preferred");
    // The first response, met before the change, keeps its outcome.
    assert_eq!(
        clock(&cfg, &clocks, "first_response", 1).state,
        ClockState::Met
    );
}

#[test]
fn a_ticket_walked_after_others_gives_the_clocks_it_gives_alone() {
    // The engine keeps the clocks of the tickets it walked on a thread and
    // starts the next ticket's clocks in their places: nothing of a clock
    // before (an end by a plan change, running periods kept on the heap, a
    // breach, a due worked out) may show in the clocks after it.
    let cfg = config("celigo.yaml");
    // Ended by a plan change: its follow-up window (the second clock)
    // ends excluded, with a reason.
    let ended = moved_to_a_plan_without_follow_ups();
    // Its follow-up window (the second clock) paused and resumed three
    // times (more running periods than a clock keeps in place), then
    // breached, on an urgent target.
    let paused = ticket(
        r#"{"id":"14","created_at":"2026-11-24T18:00:00Z","priority":"urgent",
        "organization":{"id":"901","tags":["csp_premier"]},
        "events":[
          {"at":"2026-11-24T18:30:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-24T19:00:00Z","type":"status","value":"pending"},
          {"at":"2026-11-24T19:10:00Z","type":"status","value":"open"},
          {"at":"2026-11-24T19:20:00Z","type":"status","value":"hold"},
          {"at":"2026-11-24T19:30:00Z","type":"status","value":"open"},
          {"at":"2026-11-24T19:40:00Z","type":"status","value":"pending"},
          {"at":"2026-11-24T19:50:00Z","type":"status","value":"open"}]}"#,
    );
    // The ticket after them: a first response and a follow-up window in
    // the places of theirs, on another plan and severity.
    let next = ticket(
        r#"{"id":"15","created_at":"2026-11-24T18:00:00Z","priority":"normal",
        "organization":{"id":"902","tags":["csp_preferred"]},
        "events":[
          {"at":"2026-11-24T19:00:00Z","type":"comment","author":"agent","public":true},
          {"at":"2026-11-24T21:00:00Z","type":"comment","author":"requester","public":true}]}"#,
    );
    let now = t("2026-11-26T00:00:00Z");
    let on_a_new_thread = |tickets: &[&Ticket]| {
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut last = Vec::new();
                for tk in tickets {
                    last = evaluate(&cfg.policy, tk, now);
                }
                last
            })
            .join()
            .unwrap()
        })
    };
    let alone = on_a_new_thread(&[&next]);
    let before = on_a_new_thread(&[&ended]);
    assert!(before.iter().any(|c| c.reason.is_some()), "{before:#?}");
    let paused_alone = on_a_new_thread(&[&paused]);
    assert!(
        paused_alone
            .iter()
            .any(|c| c.state == ClockState::Breached && c.paused_seconds == 30 * M),
        "{paused_alone:#?}"
    );
    assert!(alone.len() >= 2 && alone.iter().all(|c| c.reason.is_none()));
    assert_eq!(on_a_new_thread(&[&paused, &ended, &next]), alone);
    assert_eq!(on_a_new_thread(&[&ended, &paused, &next]), alone);
    // And the tickets before, after another: each as it is alone.
    assert_eq!(on_a_new_thread(&[&next, &paused, &ended]), before);
    assert_eq!(on_a_new_thread(&[&ended, &next, &paused]), paused_alone);
}
