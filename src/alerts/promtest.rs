//! The `promtool test rules` files of the generated rules: for every alert,
//! series that make it fire (checked with its exact labels and expanded
//! annotations) and series that must keep it quiet (a paused clock, a
//! calendar closed overnight, a scrape gap, low volume, a healthy plan).
//!
//! Expected annotations are the rules' own templates expanded here for the
//! values the series imply, by [`expand`]: a template the real Prometheus
//! expands differently fails the test.

use std::fmt::Write;

use super::burn::BurnPair;
use super::render::{duration, quoted, Group, Rule};
use super::{objective_literal, Options, Recorded, IMMINENT};
use crate::exposition::names::{
    CLOCKS_BREACHED_TOTAL, CLOCKS_BREACHING_SOON, CLOCKS_MET_TOTAL, CONFIG_LAST_RELOAD_SUCCESSFUL,
    CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS, LAST_RECOMPUTE_TIMESTAMP_SECONDS,
    NEXT_BREACH_BUSINESS_SECONDS, NEXT_BREACH_TIMESTAMP_SECONDS, OBJECTIVE_RATIO,
    SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS, SOURCE_OWNER, SOURCE_RATE_LIMITED_TOTAL,
    SOURCE_REQUESTS_TOTAL, SOURCE_UP,
};
use crate::policy::Config;

const INSTANCE_A: &str = "helpdesk-slo-a:9464";
const INSTANCE_B: &str = "helpdesk-slo-b:9464";
const INSTANCE_C: &str = "helpdesk-slo-c:9464";

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct Series {
    metric: String,
    labels: Labels,
    values: String,
}

struct Expected {
    labels: Labels,
    annotations: Labels,
}

struct AlertCheck {
    eval_time: String,
    alertname: &'static str,
    expected: Vec<Expected>,
}

struct SampleCheck {
    eval_time: String,
    expr: String,
    samples: Vec<(String, String)>,
}

struct Test {
    name: String,
    interval: &'static str,
    series: Vec<Series>,
    alerts: Vec<AlertCheck>,
    samples: Vec<SampleCheck>,
}

impl Test {
    fn new(name: impl Into<String>, interval: &'static str) -> Self {
        Test {
            name: name.into(),
            interval,
            series: Vec::new(),
            alerts: Vec::new(),
            samples: Vec::new(),
        }
    }

    fn series(&mut self, metric: &str, labels: &Labels, values: impl Into<String>) {
        self.series.push(Series {
            metric: metric.to_string(),
            labels: labels.clone(),
            values: values.into(),
        });
    }

    fn alerts(&mut self, eval_time: &str, alertname: &'static str, expected: Vec<Expected>) {
        self.alerts.push(AlertCheck {
            eval_time: eval_time.to_string(),
            alertname,
            expected,
        });
    }
}

/// A firing alert as `promtool` reports it: the rule's labels over the
/// series' labels, the annotations expanded for them and the value.
fn firing(rule: &Rule, series: &Labels, value: f64) -> Expected {
    let mut all: Labels = series.clone();
    for (k, v) in &rule.labels {
        all.retain(|(key, _)| key != k);
        all.push((k.clone(), v.clone()));
    }
    let annotations = rule
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), expand(v, &all, value)))
        .collect();
    Expected {
        labels: all,
        annotations,
    }
}

/// The alert rule named so whose labels include the given ones.
fn rule<'a>(groups: &'a [Group], alert: &str, with: &[(&str, &str)]) -> Option<&'a Rule> {
    groups.iter().flat_map(|g| &g.rules).find(|r| {
        r.name == alert
            && with
                .iter()
                .all(|(k, v)| r.labels.iter().any(|(rk, rv)| rk == k && rv == v))
    })
}

/// The alert rule of a plan's group named so whose labels include the
/// given ones.
fn plan_rule<'a>(
    groups: &'a [Group],
    plan: &str,
    alert: &str,
    with: &[(&str, &str)],
) -> Option<&'a Rule> {
    let group = groups
        .iter()
        .find(|g| g.name.ends_with(&format!(".plan.{plan}")))?;
    rule(std::slice::from_ref(group), alert, with)
}

/// The tests of a config's rule file.
pub(crate) fn config_tests(
    config: &Config,
    name: &str,
    groups: &[Group],
    plans: &[(&str, f64, Vec<BurnPair>)],
    opts: &Options,
) -> String {
    let policy = &config.policy;
    let job = opts.job.as_str();
    let plan0 = policy.plans[0].name.as_str();
    let metric0 = policy.metrics.first().map_or("first_response", |m| &m.name);
    let mut tests = Vec::new();

    // Imminent breaches: a clock due tomorrow morning with 10 business
    // minutes left is quiet overnight and pages 10 minutes before its due.
    let mut t = Test::new(
        "imminent breaches: page and warning before the due, quiet overnight, paused clocks and lower levels never",
        "5m",
    );
    let mut at_due = Vec::new();
    for (rank, imminent) in IMMINENT.iter().enumerate() {
        let Some(sev) = policy.severities.get(rank) else {
            break;
        };
        let base = labels(&[
            ("job", job),
            ("instance", INSTANCE_A),
            ("plan", plan0),
            ("priority", sev),
            ("metric", metric0),
        ]);
        // Due at 11:00 (10h50m: 10 minutes for the first level, 30 for the second).
        let left = if rank == 0 { 600 } else { 1_800 };
        let due = 39_000 + left;
        t.series(
            NEXT_BREACH_TIMESTAMP_SECONDS.name,
            &base,
            format!("{due}+0x140"),
        );
        t.series(
            NEXT_BREACH_BUSINESS_SECONDS.name,
            &base,
            format!("{left}+0x140"),
        );
        let mut soon = base.clone();
        soon.push(("window".into(), imminent.window.into()));
        t.series(CLOCKS_BREACHING_SOON.name, &soon, "1+0x140");
        // The same level, paused: not counted, nothing due.
        let mut paused = base.clone();
        paused[1].1 = INSTANCE_B.to_string();
        t.series(NEXT_BREACH_TIMESTAMP_SECONDS.name, &paused, "+Inf+0x140");
        paused.push(("window".into(), imminent.window.into()));
        t.series(CLOCKS_BREACHING_SOON.name, &paused, "0+0x140");
        if let Some(r) = rule(
            groups,
            "HelpdeskSloBreachImminent",
            &[("severity", imminent.severity)],
        ) {
            at_due.push(firing(r, &base, f64::from(left)));
        }
    }
    // A lower level due in 5 minutes has no imminent-breach alert.
    if let Some(sev) = policy.severities.get(IMMINENT.len()) {
        let base = labels(&[
            ("job", job),
            ("instance", INSTANCE_A),
            ("plan", plan0),
            ("priority", sev),
            ("metric", metric0),
        ]);
        t.series(NEXT_BREACH_TIMESTAMP_SECONDS.name, &base, "39300+0x140");
        let mut soon = base.clone();
        soon.push(("window".into(), "15m".into()));
        t.series(CLOCKS_BREACHING_SOON.name, &soon, "1+0x140");
    }
    t.alerts("1h", "HelpdeskSloBreachImminent", Vec::new());
    t.alerts("10h50m", "HelpdeskSloBreachImminent", at_due);
    tests.push(t);

    // A breach opens a ticket; a scrape gap or a paused clock does not.
    if let Some(sev) = policy.severities.first() {
        let mut t = Test::new(
            "a breach opens a ticket; a scrape gap and a paused clock do not",
            "1m",
        );
        let a = labels(&[
            ("job", job),
            ("instance", INSTANCE_A),
            ("plan", plan0),
            ("priority", sev),
            ("metric", metric0),
        ]);
        let mut b = a.clone();
        b[1].1 = INSTANCE_B.to_string();
        let mut c = a.clone();
        c[1].1 = INSTANCE_C.to_string();
        t.series(CLOCKS_BREACHED_TOTAL.name, &a, "3+0x9 4+0x20");
        t.series(CLOCKS_BREACHED_TOTAL.name, &b, "3+0x9 _x5 3+0x15");
        t.series(CLOCKS_BREACHED_TOTAL.name, &c, "0+0x30");
        let expected = rule(groups, "HelpdeskSloBreached", &[])
            .map(|r| vec![firing(r, &a, 1.0)])
            .unwrap_or_default();
        t.alerts("12m", "HelpdeskSloBreached", expected);
        t.alerts("25m", "HelpdeskSloBreached", Vec::new());
        tests.push(t);
    }

    // Burn rates, per plan with an objective.
    let rate = opts.min_clocks.div_ceil(50).max(1);
    for (plan, objective, pairs) in plans {
        let p = config.policy.plans.iter().find(|p| p.name == *plan);
        let (sev, metric) = p
            .and_then(|p| {
                p.targets
                    .iter()
                    .enumerate()
                    .find_map(|(s, row)| row.iter().position(Option::is_some).map(|m| (s, m)))
            })
            .map_or((policy.severities[0].as_str(), metric0), |(s, m)| {
                (
                    policy.severities[s].as_str(),
                    policy.metrics[m].name.as_str(),
                )
            });
        let series = labels(&[
            ("job", job),
            ("instance", INSTANCE_A),
            ("plan", plan),
            ("priority", sev),
            ("metric", metric),
        ]);
        let ppm = format!("{{plan=\"{plan}\",priority=\"{sev}\",metric=\"{metric}\"}}");
        let max = 1.0
            / (1.0
                - objective_literal(*objective)
                    .parse::<f64>()
                    .unwrap_or(*objective));

        let mut t = Test::new(
            format!("plan {plan}: every clock breaching burns the budget: pages, then tickets once the fast window clears"),
            "1m",
        );
        let objective_series = labels(&[("job", job), ("instance", INSTANCE_A), ("plan", plan)]);
        let objective_values = format!("{}+0x300", objective_literal(*objective));
        t.series(
            OBJECTIVE_RATIO.name,
            &objective_series,
            objective_values.clone(),
        );
        let stop = 240 * rate;
        t.series(
            CLOCKS_BREACHED_TOTAL.name,
            &series,
            format!("0+{rate}x240 {stop}+0x60"),
        );
        t.series(CLOCKS_MET_TOTAL.name, &series, "0+0x300");
        let burning = |short_ok: &dyn Fn(&BurnPair) -> bool| {
            pairs
                .iter()
                .filter(|p| short_ok(p))
                .filter_map(|p| {
                    plan_rule(
                        groups,
                        plan,
                        "HelpdeskSloErrorBudgetBurn",
                        &[("severity", p.severity), ("long_window", p.long)],
                    )
                    .map(|r| firing(r, &labels(&[("plan", plan)]), max))
                })
                .collect::<Vec<_>>()
        };
        t.alerts("1h", "HelpdeskSloErrorBudgetBurn", burning(&|_| true));
        t.alerts(
            "4h10m",
            "HelpdeskSloErrorBudgetBurn",
            burning(&|p| p.short != "5m"),
        );
        let attainment = Recorded::Attainment.name("plan_priority_metric", "1h");
        t.samples.push(SampleCheck {
            eval_time: "1h".into(),
            expr: format!("{attainment}{ppm}"),
            samples: vec![(format!("{attainment}{ppm}"), "0".into())],
        });
        let burn = Recorded::BurnRate.name("plan", "1h");
        t.samples.push(SampleCheck {
            eval_time: "1h".into(),
            expr: format!("{burn}{{plan=\"{plan}\"}}"),
            samples: vec![(format!("{burn}{{plan=\"{plan}\"}}"), format!("{max}"))],
        });
        tests.push(t);

        if opts.min_clocks >= 2 {
            let mut t = Test::new(
                format!("plan {plan}: one late ticket among few does not burn the budget"),
                "1m",
            );
            t.series(CLOCKS_BREACHED_TOTAL.name, &series, "0+0x30 1+0x60");
            t.series(CLOCKS_MET_TOTAL.name, &series, "0+0x90");
            t.series(
                OBJECTIVE_RATIO.name,
                &objective_series,
                objective_values.clone(),
            );
            t.alerts("35m", "HelpdeskSloErrorBudgetBurn", Vec::new());
            t.alerts("1h", "HelpdeskSloErrorBudgetBurn", Vec::new());
            tests.push(t);
        }

        let mut t = Test::new(
            format!("plan {plan}: a healthy plan and a scrape gap burn nothing"),
            "1m",
        );
        t.series(CLOCKS_BREACHED_TOTAL.name, &series, "50+0x30 _x10 50+0x30");
        t.series(
            CLOCKS_MET_TOTAL.name,
            &series,
            format!("200+0x30 _x10 200+{rate}x30"),
        );
        t.series(OBJECTIVE_RATIO.name, &objective_series, objective_values);
        t.alerts("45m", "HelpdeskSloErrorBudgetBurn", Vec::new());
        t.alerts("70m", "HelpdeskSloErrorBudgetBurn", Vec::new());
        for (expr, value) in [
            (
                format!(
                    "{}{ppm}",
                    Recorded::Attainment.name("plan_priority_metric", "1h")
                ),
                "1",
            ),
            (
                format!(
                    "{}{ppm}",
                    Recorded::BurnRate.name("plan_priority_metric", "1h")
                ),
                "0",
            ),
        ] {
            t.samples.push(SampleCheck {
                eval_time: "70m".into(),
                expr: expr.clone(),
                samples: vec![(expr, value.into())],
            });
        }
        tests.push(t);
    }

    // The daemon's objectives against the ones the rules were made for.
    if let Some((first, objective, _)) = plans.first() {
        let mut t = Test::new(
            "an objective other than the generated one opens a ticket",
            "1m",
        );
        for (plan, objective, _) in plans {
            let l = labels(&[("job", job), ("instance", INSTANCE_A), ("plan", plan)]);
            t.series(
                OBJECTIVE_RATIO.name,
                &l,
                format!("{}+0x30", objective_literal(*objective)),
            );
        }
        let other = if (*objective - 0.5).abs() < 1e-9 {
            0.75
        } else {
            0.5
        };
        let b = labels(&[("job", job), ("instance", INSTANCE_B), ("plan", first)]);
        t.series(OBJECTIVE_RATIO.name, &b, format!("{other}+0x30"));
        t.alerts("5m", "HelpdeskSloObjectiveMismatch", Vec::new());
        let expected = plan_rule(groups, first, "HelpdeskSloObjectiveMismatch", &[])
            .map(|r| vec![firing(r, &b, other)])
            .unwrap_or_default();
        t.alerts("20m", "HelpdeskSloObjectiveMismatch", expected);
        tests.push(t);
    }

    let header = format!(
        "# Unit tests of {name}.rules.yaml: `promtool test rules` on this file.\n\
         # Generated with the rule file by `helpdesk-slo rules`: do not edit.\n"
    );
    render_tests(&header, &format!("../{name}.rules.yaml"), &tests)
}

/// The tests of the exporter's rule file.
pub(crate) fn exporter_tests(opts: &Options) -> String {
    let job = opts.job.as_str();
    let groups = &super::exporter_rules_groups(opts);
    let mut tests = Vec::new();
    let inst = |i: &str| labels(&[("job", job), ("instance", i)]);
    let src = |i: &str| labels(&[("job", job), ("instance", i), ("source", "zendesk")]);

    let mut t = Test::new("no daemon up pages; one that is up does not", "1m");
    t.series("up", &inst(INSTANCE_A), "1+0x10 0+0x20");
    t.alerts("8m", "HelpdeskSloDaemonAbsent", Vec::new());
    let expected = rule(groups, "HelpdeskSloDaemonAbsent", &[])
        .map(|r| vec![firing(r, &Vec::new(), 1.0)])
        .unwrap_or_default();
    t.alerts("20m", "HelpdeskSloDaemonAbsent", expected);
    tests.push(t);

    let mut t = Test::new(
        "a source failing for 10 minutes warns; a blip does not",
        "1m",
    );
    t.series(SOURCE_UP.name, &src(INSTANCE_A), "1+0x5 0+0x20");
    t.series(SOURCE_UP.name, &src(INSTANCE_B), "1+0x5 0+0x3 1+0x20");
    let expected = rule(groups, "HelpdeskSloSourceDown", &[])
        .map(|r| vec![firing(r, &src(INSTANCE_A), 0.0)])
        .unwrap_or_default();
    t.alerts("20m", "HelpdeskSloSourceDown", expected);
    tests.push(t);

    let mut t = Test::new(
        "a source no instance holds pages; a takeover within two minutes does not",
        "1m",
    );
    let owner =
        |i: &str, source: &str| labels(&[("job", job), ("instance", i), ("source", source)]);
    // zendesk: A loses it at 5m and nobody takes it.
    t.series(
        SOURCE_OWNER.name,
        &owner(INSTANCE_A, "zendesk"),
        "1+0x5 0+0x20",
    );
    t.series(SOURCE_OWNER.name, &owner(INSTANCE_B, "zendesk"), "0+0x25");
    // jira: A dies at 5m, B takes over a minute later.
    t.series(SOURCE_OWNER.name, &owner(INSTANCE_A, "jira"), "1+0x5");
    t.series(
        SOURCE_OWNER.name,
        &owner(INSTANCE_B, "jira"),
        "0+0x6 1+0x20",
    );
    let expected = rule(groups, "HelpdeskSloSourceUnowned", &[])
        .map(|r| {
            vec![firing(
                r,
                &labels(&[("job", job), ("source", "zendesk")]),
                0.0,
            )]
        })
        .unwrap_or_default();
    t.alerts("20m", "HelpdeskSloSourceUnowned", expected);
    tests.push(t);

    let stale = opts.stale_after;
    let eval = (stale + 300).div_ceil(60) * 60;
    let steps = eval / 60 + 5;
    let mut t = Test::new(
        "polls stale warn; fresh polls and a daemon that just loaded its config do not",
        "1m",
    );
    t.series(
        SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS.name,
        &src(INSTANCE_A),
        format!("60+0x{steps}"),
    );
    t.series(
        CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS.name,
        &inst(INSTANCE_A),
        format!("0+0x{steps}"),
    );
    t.series(
        SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS.name,
        &src(INSTANCE_B),
        format!("0+60x{steps}"),
    );
    t.series(
        CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS.name,
        &inst(INSTANCE_B),
        format!("0+0x{steps}"),
    );
    t.series(
        SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS.name,
        &src(INSTANCE_C),
        format!("0+0x{steps}"),
    );
    t.series(
        CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS.name,
        &inst(INSTANCE_C),
        format!("{}+0x{steps}", eval - 120),
    );
    let expected = rule(groups, "HelpdeskSloPollsStale", &[])
        .map(|r| vec![firing(r, &src(INSTANCE_A), f64::from(eval - 60))])
        .unwrap_or_default();
    t.alerts(&duration(eval), "HelpdeskSloPollsStale", expected);
    tests.push(t);

    let mut t = Test::new(
        "half the requests rate limited for 30 minutes warns; a tenth does not",
        "1m",
    );
    for (i, ok, limited) in [(INSTANCE_A, 5, 5), (INSTANCE_B, 9, 1)] {
        let mut l = src(i);
        l.push(("code".into(), "200".into()));
        t.series(SOURCE_REQUESTS_TOTAL.name, &l, format!("0+{ok}x60"));
        l[3].1 = "429".into();
        t.series(SOURCE_REQUESTS_TOTAL.name, &l, format!("0+{limited}x60"));
        t.series(
            SOURCE_RATE_LIMITED_TOTAL.name,
            &src(i),
            format!("0+{limited}x60"),
        );
    }
    t.alerts("20m", "HelpdeskSloRateLimited", Vec::new());
    let expected = rule(groups, "HelpdeskSloRateLimited", &[])
        .map(|r| vec![firing(r, &src(INSTANCE_A), 0.5)])
        .unwrap_or_default();
    t.alerts("50m", "HelpdeskSloRateLimited", expected);
    tests.push(t);

    let mut t = Test::new("a rejected config reload warns", "1m");
    t.series(
        CONFIG_LAST_RELOAD_SUCCESSFUL.name,
        &inst(INSTANCE_A),
        "1+0x5 0+0x10",
    );
    t.series(
        CONFIG_LAST_RELOAD_SUCCESSFUL.name,
        &inst(INSTANCE_B),
        "1+0x15",
    );
    let expected = rule(groups, "HelpdeskSloConfigReloadFailed", &[])
        .map(|r| vec![firing(r, &inst(INSTANCE_A), 0.0)])
        .unwrap_or_default();
    t.alerts("10m", "HelpdeskSloConfigReloadFailed", expected);
    tests.push(t);

    let mut t = Test::new("frozen figures warn; figures recomputed do not", "1m");
    t.series(
        LAST_RECOMPUTE_TIMESTAMP_SECONDS.name,
        &inst(INSTANCE_A),
        "0+60x5 300+0x20",
    );
    t.series(
        LAST_RECOMPUTE_TIMESTAMP_SECONDS.name,
        &inst(INSTANCE_B),
        "0+60x25",
    );
    let expected = rule(groups, "HelpdeskSloMetricsStale", &[])
        .map(|r| vec![firing(r, &inst(INSTANCE_A), 900.0)])
        .unwrap_or_default();
    t.alerts("20m", "HelpdeskSloMetricsStale", expected);
    tests.push(t);

    render_tests(
        "# Unit tests of exporter.rules.yaml: `promtool test rules` on this file.\n\
         # Generated with the rule file by `helpdesk-slo rules --exporter`: do not edit.\n",
        "../exporter.rules.yaml",
        &tests,
    )
}

fn series_text(metric: &str, labels: &Labels) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", super::render::str_lit(v)))
        .collect();
    format!("{metric}{{{}}}", inner.join(","))
}

fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn render_tests(header: &str, rule_file: &str, tests: &[Test]) -> String {
    let mut out = String::from(header);
    let _ = writeln!(out, "rule_files:\n  - {}", quoted(rule_file));
    out.push_str("evaluation_interval: 1m\ntests:\n");
    for t in tests {
        let _ = writeln!(out, "  - name: {}", quoted(&t.name));
        let _ = writeln!(out, "    interval: {}", t.interval);
        out.push_str("    input_series:\n");
        for s in &t.series {
            let _ = writeln!(
                out,
                "      - series: {}\n        values: {}",
                single_quoted(&series_text(&s.metric, &s.labels)),
                single_quoted(&s.values)
            );
        }
        if !t.alerts.is_empty() {
            out.push_str("    alert_rule_test:\n");
        }
        for a in &t.alerts {
            let _ = writeln!(out, "      - eval_time: {}", a.eval_time);
            let _ = writeln!(out, "        alertname: {}", a.alertname);
            if a.expected.is_empty() {
                out.push_str("        exp_alerts: []\n");
                continue;
            }
            out.push_str("        exp_alerts:\n");
            for e in &a.expected {
                out.push_str("          - exp_labels:\n");
                for (k, v) in &e.labels {
                    let _ = writeln!(out, "              {k}: {}", quoted(v));
                }
                out.push_str("            exp_annotations:\n");
                for (k, v) in &e.annotations {
                    let _ = writeln!(out, "              {k}: {}", quoted(v));
                }
            }
        }
        if !t.samples.is_empty() {
            out.push_str("    promql_expr_test:\n");
        }
        for s in &t.samples {
            let _ = writeln!(out, "      - expr: {}", single_quoted(&s.expr));
            let _ = writeln!(out, "        eval_time: {}", s.eval_time);
            out.push_str("        exp_samples:\n");
            for (l, v) in &s.samples {
                let _ = writeln!(
                    out,
                    "          - labels: {}\n            value: {v}",
                    single_quoted(l)
                );
            }
        }
    }
    out
}

/// Expands the subset of Prometheus' alert templates the rules use:
/// `{{ $labels.NAME }}`, `{{ $value }}`, and `$value` piped to
/// `humanizeDuration`, `humanizePercentage` or `printf "%.1f"`.
pub(crate) fn expand(template: &str, labels: &Labels, value: f64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let action = after[..end].trim();
        rest = &after[end + 2..];
        if let Some(name) = action.strip_prefix("$labels.") {
            if let Some((_, v)) = labels.iter().find(|(k, _)| k == name) {
                out.push_str(v);
            }
            continue;
        }
        let piped: Vec<&str> = action.split('|').map(str::trim).collect();
        match piped.as_slice() {
            ["$value"] => out.push_str(&go_float(value)),
            ["$value", "humanizeDuration"] => out.push_str(&humanize_duration(value)),
            ["$value", "humanizePercentage"] => {
                out.push_str(&format!("{}%", significant4(value * 100.0)));
            }
            ["$value", r#"printf "%.1f""#] => out.push_str(&format!("{value:.1}")),
            _ => out.push_str(&format!("{{{{ {action} }}}}")),
        }
    }
    out.push_str(rest);
    out
}

/// Go's `%v` of a float64 for the small values the tests use.
fn go_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// `%.4g` for values in the range the tests use.
fn significant4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = 3 - v.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits.max(0));
    let rounded = (v * scale).round() / scale;
    go_float(rounded)
}

/// Prometheus' `humanizeDuration` for whole seconds of a minute or more.
fn humanize_duration(v: f64) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    let d = v.abs() as i64;
    let (days, hours, minutes, seconds) = (d / 86_400, (d / 3_600) % 24, (d / 60) % 60, d % 60);
    if days != 0 {
        format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
    } else if hours != 0 {
        format!("{sign}{hours}h {minutes}m {seconds}s")
    } else if minutes != 0 {
        format!("{sign}{minutes}m {seconds}s")
    } else {
        format!("{sign}{}s", significant4(v.abs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_as_prometheus_does() {
        let l = labels(&[("plan", "premier"), ("priority", "urgent")]);
        assert_eq!(
            expand(
                "{{ $labels.plan }}/{{$labels.priority}} in {{ $value | humanizeDuration }}",
                &l,
                600.0
            ),
            "premier/urgent in 10m 0s"
        );
        assert_eq!(
            expand("{{ $value | humanizeDuration }}", &l, 3_723.0),
            "1h 2m 3s"
        );
        assert_eq!(
            expand("{{ $value | humanizeDuration }}", &l, 90_000.0),
            "1d 1h 0m 0s"
        );
        assert_eq!(expand("{{ $value | humanizePercentage }}", &l, 0.5), "50%");
        assert_eq!(
            expand("{{ $value | humanizePercentage }}", &l, 0.955),
            "95.5%"
        );
        assert_eq!(
            expand(r#"{{ $value | printf "%.1f" }}x"#, &l, 24.999999999999982),
            "25.0x"
        );
        assert_eq!(expand("{{ $value }} clocks", &l, 1.0), "1 clocks");
    }
}
