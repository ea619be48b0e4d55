//! The Prometheus exposition of a scripted set of Celigo tickets at a fixed
//! `now`: values checked by hand, the whole text against golden files
//! (`UPDATE_GOLDEN=1 cargo test --test exposition` rewrites them; review the
//! diff like code), and both formats through `promtool check metrics`.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use helpdesk_slo::config_files;
use helpdesk_slo::engine::{evaluate, Clock, Ticket};
use helpdesk_slo::exposition::figures::SeriesFigures;
use helpdesk_slo::exposition::{compute, render, Counted, Figures, Health, Live, SourceHealth};
use helpdesk_slo::policy::Config;
use helpdesk_slo::reconcile::Outcome;
use helpdesk_slo::time::parse_instant;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn at(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

const NOW: &str = "2026-11-23T18:00:00Z";

fn config() -> Config {
    config_files::load(&root().join("examples/celigo.yaml")).unwrap()
}

fn tickets() -> Vec<Ticket> {
    std::fs::read_to_string(root().join("tests/testdata/exposition/celigo-tickets.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every ticket evaluated at `NOW`, except 5002, evaluated an hour before
/// its due: the exposition must see it breach on its own.
fn live(config: &Config) -> Live {
    let mut live = Live::new();
    for t in tickets() {
        let computed_at = if t.id == "5002" {
            at("2026-11-23T13:00:00Z")
        } else {
            at(NOW)
        };
        let clocks = evaluate(&config.policy, &t, computed_at);
        let counted = Counted {
            created_at: t.created_at,
            organization: t.organization.as_ref().map(|o| o.id.as_str()),
            clocks: &clocks,
        };
        live.add(&config.policy, "zendesk", &t.id, "h", counted);
    }
    live
}

#[test]
fn allowlisted_organizations_get_series_and_the_rest_sum_into_other() {
    let config = config();
    let mut live = Live::with_organizations(&["901".to_string(), "910".to_string()]);
    for t in tickets() {
        let computed_at = if t.id == "5002" {
            at("2026-11-23T13:00:00Z")
        } else {
            at(NOW)
        };
        let clocks = evaluate(&config.policy, &t, computed_at);
        let org = t.organization.as_ref().map(|o| o.id.as_str());
        let counted = Counted {
            created_at: t.created_at,
            organization: org,
            clocks: &clocks,
        };
        live.add(&config.policy, "zendesk", &t.id, "h", counted);
    }
    let f = compute(&config.policy, &mut live, at(NOW));
    // Every plan × {901, 910, other}.
    assert_eq!(f.orgs.len(), config.policy.plans.len() * 3);
    let org = |plan: &str, org: &str| {
        let p = config.policy.plan_id(plan).unwrap();
        f.orgs
            .iter()
            .find(|o| o.plan == p && o.org == org)
            .unwrap()
            .windows
    };
    // 901 on preferred: 5010 in November (both met); 5009 in October (first
    // response breached, follow-up met).
    let [_, _, month, quarter] = org("preferred", "901");
    assert_eq!((month.met, month.decided), (2, 2));
    assert_eq!((quarter.met, quarter.decided), (3, 4));
    // Org 900 is not allowlisted: 4711 (met + breached) and 5006 (met).
    let [_, _, month, _] = org("preferred", "other");
    assert_eq!((month.met, month.decided), (2, 3));
    // 910's open clock breached after it was computed still counts.
    let [_, _, month, _] = org("premier", "910");
    assert_eq!((month.met, month.decided), (0, 1));
    let text = render(&config.policy, f, health()).prometheus;
    assert!(text.contains(
        "helpdesk_slo_org_attainment_ratio{plan=\"preferred\",org=\"901\",window=\"quarter\"} 0.75"
    ));
    assert!(text.contains(
        "helpdesk_slo_org_clocks_decided{plan=\"essential\",org=\"910\",window=\"7d\"} 0.0"
    ));
}

fn health() -> Health {
    let mut h = Health {
        config_ok: true,
        config_loaded_at: at("2026-11-23T17:00:00Z"),
        computed_at: at(NOW),
        ..Health::default()
    };
    let mut s = SourceHealth {
        up: true,
        last_success: at("2026-11-23T17:59:30Z"),
        poll_duration_seconds: 1.5,
        retries: 2,
        rate_limited: 1,
        records: 1234,
        tickets_changed: 11,
        stored_tickets: 11,
        reconciled: Some(helpdesk_slo::exposition::Reconciled {
            metrics: vec!["first_response".into(), "resolution".into()],
            counts: [
                (("first_response".to_string(), Outcome::Agree), 9),
                (("first_response".to_string(), Outcome::Differ), 1),
            ]
            .into(),
        }),
        ..SourceHealth::default()
    };
    s.requests.by_code.insert("200".into(), 40);
    s.requests.by_code.insert("429".into(), 1);
    s.requests.rate_limit_remaining = Some(398);
    h.sources.insert("zendesk".into(), s);
    h
}

fn series<'a>(
    f: &'a Figures,
    config: &Config,
    plan: &str,
    sev: &str,
    metric: &str,
) -> &'a SeriesFigures {
    let p = &config.policy;
    let plan = p.plan_id(plan).unwrap();
    let severity = p.severities.iter().position(|s| s == sev).unwrap();
    let metric = p.metric_id(metric).unwrap();
    f.series
        .iter()
        .find(|s| s.key.plan == plan && s.key.severity == severity && s.key.metric == metric)
        .unwrap_or_else(|| panic!("no series {plan}/{sev}/{metric}"))
}

#[test]
fn figures_match_a_hand_count() {
    let config = config();
    let f = compute(&config.policy, &mut live(&config), at(NOW));

    // Premier urgent first response: created 09:30 PST, 1h target, 30 min
    // left on a 24x7 calendar.
    let s = series(&f, &config, "premier", "urgent", "first_response");
    assert_eq!((s.active, s.paused), (1, 0));
    assert_eq!(s.soon, [0, 1, 1]);
    assert_eq!(s.next_due, Some(at("2026-11-23T18:30:00Z")));
    assert_eq!(s.next_business_seconds, Some(1800));

    // Essential urgent: 4h from 08:00 PST, 2h left.
    let s = series(&f, &config, "essential", "urgent", "first_response");
    assert_eq!((s.active, s.soon), (1, [0, 0, 1]));
    assert_eq!(s.next_business_seconds, Some(7200));
    // Essential high: created on a Sunday, 9h from Monday 08:00: 7h left.
    let s = series(&f, &config, "essential", "high", "first_response");
    assert_eq!((s.active, s.soon), (1, [0, 0, 0]));
    assert_eq!(s.next_business_seconds, Some(25_200));

    // Premier high: computed while active, due 14:00Z, so breached by now.
    let s = series(&f, &config, "premier", "high", "first_response");
    assert_eq!((s.active, s.breached_total, s.met_total), (0, 1, 0));
    assert_eq!(s.next_due, None);
    // ...and one excluded (custom code).
    assert_eq!(s.excluded_total, 1);

    // Preferred normal follow-up: pending, so paused and never imminent.
    let s = series(&f, &config, "preferred", "normal", "follow_up");
    assert_eq!((s.active, s.paused, s.soon), (0, 1, [0, 0, 0]));

    // Preferred over windows (clocks counted by start, Pacific months):
    // November: 4711 FR met + FU breached, 5006 FR met, 5010 FR + FU met.
    let preferred = config.policy.plan_id("preferred").unwrap();
    let p = f.plans.iter().find(|p| p.plan == preferred).unwrap();
    let [d7, d30, month, quarter] = p.windows;
    assert_eq!((month.met, month.decided), (4, 5));
    // The quarter adds 5009 (October): FR breached, FU met.
    assert_eq!((quarter.met, quarter.decided), (5, 7));
    // 7 days back from Monday 18:00Z leaves out 5010 (Monday 17:00Z).
    assert_eq!((d7.met, d7.decided), (2, 3));
    assert_eq!((d30.met, d30.decided), (4, 5));

    // Credits this quarter: org 901 has 1 violation in 4 events (25% →
    // 30%); org 900's Saturday ticket 4711 is urgent, and Preferred's
    // urgent support (its first-response target's calendar) is 24x7, so it
    // was created in support hours: FR met + FU breached, with its Friday
    // ticket's met event 1 violation in 3 (33% → 30%).
    assert_eq!(p.credits, Some((2, 0.60)));
    // Premier: org 910's late breach (no decided clock stored) counts.
    let premier = config.policy.plan_id("premier").unwrap();
    let p = f.plans.iter().find(|p| p.plan == premier).unwrap();
    assert_eq!(p.credits, Some((1, 0.30)));

    // The ticket with no organization has no plan.
    assert_eq!(f.unassigned.get("first_response"), Some(&1));

    // Every configured series exists, including the quiet ones.
    let low = series(&f, &config, "essential", "low", "follow_up");
    assert_eq!((low.active, low.met_total, low.breached_total), (0, 0, 0));
    // cloudextend has first_response targets only.
    let ce = config.policy.plan_id("cloudextend-essential").unwrap();
    assert_eq!(f.series.iter().filter(|s| s.key.plan == ce).count(), 4);
}

fn golden(name: &str, actual: &str) {
    let path = root().join("tests/testdata/exposition").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}:\n  golden: {a}\n  actual: {b}", i + 1))
            .collect();
        panic!(
            "{} differs from the rendered exposition ({} vs {} lines):\n{}\n\
             If the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff.",
            path.display(),
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

fn rendered() -> helpdesk_slo::exposition::Rendered {
    let config = config();
    let figures = compute(&config.policy, &mut live(&config), at(NOW));
    render(&config.policy, figures, health())
}

#[test]
fn exposition_matches_the_golden_files() {
    let r = rendered();
    golden("celigo.prom", &r.prometheus);
    golden("celigo.openmetrics", &r.openmetrics);
    // Rendering is deterministic.
    let again = rendered();
    assert_eq!(r.prometheus, again.prometheus);
    assert_eq!(r.openmetrics, again.openmetrics);
}

#[test]
fn exemplars_name_tickets_only_in_openmetrics() {
    let r = rendered();
    // 5003's first response took 1h of business time: the 1h bucket's
    // exemplar on the essential/normal series.
    let line = r
        .openmetrics
        .lines()
        .find(|l| {
            l.starts_with("helpdesk_slo_fulfilment_business_seconds_bucket{")
                && l.contains("plan=\"essential\"")
                && l.contains("priority=\"normal\"")
                && l.contains("metric=\"first_response\"")
                && l.contains("le=\"3600.0\"")
        })
        .unwrap();
    assert!(line.ends_with("1 # {ticket_id=\"5003\"} 3600.0"), "{line}");
    assert!(!r.prometheus.contains("ticket_id"));
    assert!(r.openmetrics.ends_with("# EOF\n"));
    assert!(!r.prometheus.contains("# EOF"));
    // No label carries a ticket id or an organization.
    for l in r.prometheus.lines().filter(|l| !l.starts_with('#')) {
        assert!(!l.contains("4711") && !l.contains("org"), "{l}");
    }
}

fn promtool_check(text: &str, what: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool is needed (Debian package `prometheus`; scripts/test.sh installs it): {e}")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics rejected the {what} exposition:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_accepts_both_formats() {
    let r = rendered();
    promtool_check(&r.prometheus, "Prometheus text");
    // promtool reads the text parser; OpenMetrics-only syntax (exemplars,
    // EOF) is stripped the same way a 0.0.4 scraper would see it.
    promtool_check(
        &helpdesk_slo::exposition::to_prometheus_text(&r.openmetrics),
        "OpenMetrics (as text)",
    );
}

#[test]
fn replacing_tickets_in_any_order_equals_a_fresh_build() {
    let config = config();
    let all = tickets();
    let now = at(NOW);
    // Build, then churn: every ticket replaced by an earlier state of
    // itself and back, some deleted and restored, in a scrambled order.
    // Each replacement takes out exactly what was counted (as the stored
    // row says), then counts the new clocks.
    let mut live = Live::new();
    let mut counted: HashMap<String, Vec<Clock>> = HashMap::new();
    let org_of = |t: &Ticket| t.organization.as_ref().map(|o| o.id.clone());
    let mut set = |live: &mut Live, t: &Ticket, clocks: Option<Vec<Clock>>| {
        let org = org_of(t);
        if let Some(old) = counted.remove(&t.id) {
            let c = Counted {
                created_at: t.created_at,
                organization: org.as_deref(),
                clocks: &old,
            };
            assert!(live.remove(&config.policy, "zendesk", &t.id, "h", c));
        }
        if let Some(clocks) = clocks {
            let c = Counted {
                created_at: t.created_at,
                organization: org.as_deref(),
                clocks: &clocks,
            };
            live.add(&config.policy, "zendesk", &t.id, "h", c);
            counted.insert(t.id.clone(), clocks);
        }
    };
    let times = [at("2026-11-21T00:00:00Z"), at("2026-11-22T12:00:00Z"), now];
    let mut order: Vec<usize> = (0..all.len()).collect();
    for round in 0..3 {
        // Windows first placed in the past, then moved on by later
        // computes: what leaves a window must leave its counts.
        let _ = compute(&config.policy, &mut live, times[round]);
        order.rotate_left(3 + round);
        for &i in &order {
            let t = &all[i];
            let clocks = evaluate(&config.policy, t, times[(i + round) % 3]);
            set(&mut live, t, Some(clocks));
            if (i + round) % 4 == 0 {
                set(&mut live, t, None);
            }
        }
    }
    for t in &all {
        let clocks = evaluate(&config.policy, t, now);
        set(&mut live, t, Some(clocks));
    }
    let mut fresh = Live::new();
    for t in &all {
        let clocks = evaluate(&config.policy, t, now);
        let c = Counted {
            created_at: t.created_at,
            organization: t.organization.as_ref().map(|o| o.id.as_str()),
            clocks: &clocks,
        };
        fresh.add(&config.policy, "zendesk", &t.id, "h", c);
    }
    let a = compute(&config.policy, &mut live, now);
    let b = compute(&config.policy, &mut fresh, now);
    // Exemplars may legitimately differ (they keep the latest seen); all
    // counts must not.
    let strip = |mut f: Figures| {
        for s in &mut f.series {
            s.exemplars.clear();
        }
        f
    };
    let b = strip(b);
    assert_eq!(strip(a), b);
    // Past `now`, then back: a window that moves back is recounted.
    let _ = compute(&config.policy, &mut live, now + 40 * 86_400);
    assert_eq!(strip(compute(&config.policy, &mut live, now)), b);
}
