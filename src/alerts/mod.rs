//! Prometheus alerting and recording rules, generated from a config, with
//! their `promtool test rules` unit tests.
//!
//! Plans and their objectives are the user's, so the rules that depend on
//! them are generated (`helpdesk-slo rules --config FILE`) rather than
//! written by hand; the exporter's health rules depend on nothing in a
//! config and are generated once (`helpdesk-slo rules --exporter`). Both are
//! pure functions from a [`Config`] and [`Options`] to YAML text, so the
//! files shipped in `alerts/` can be compared with what the code generates.
//!
//! What a config's rule file holds (the metric names are the contract of
//! `docs/metrics.md`; the severity level of a ticket is the label
//! `priority`, the alert's own urgency the label `severity`):
//!
//! * **Imminent breach.** The most severe level pages when a clock has at
//!   most 15 minutes of business time left *and* is due within 15 minutes of
//!   wall-clock time; the next level warns at one hour. The wall-clock
//!   condition keeps a clock whose calendar closed overnight with minutes
//!   left quiet until shortly before the calendar reopens; a paused clock is
//!   neither counted nor due.
//! * **Breach happened**: a breach counter rose in the last 10 minutes, for
//!   ticket-level follow-up.
//! * **Error-budget burn** per plan with an objective: multiwindow,
//!   multi-burn-rate alerts as in the Google SRE Workbook ([`burn`]). Every
//!   ratio is `sum(increase(breached)) / sum(increase(met + breached))` over
//!   the window, never an average of shorter ratios; a window with nothing
//!   decided has no ratio (not 0, not 1); the long window must hold at least
//!   [`Options::min_clocks`] decided clocks, so one late ticket does not
//!   page. Factors that could never fire at the plan's objective are replaced
//!   (see [`burn`]), and the file's comments say so.
//! * **Objective mismatch**: the daemon runs a plan objective other than the
//!   one the rules were generated for: regenerate them.
//!
//! Every alert carries `summary`, `description`, `runbook_url` (a section of
//! `docs/runbooks.md`) and `dashboard_url` annotations; clock alerts also an
//! `api_url` into the daemon's JSON API.

pub mod burn;
mod promtest;
mod render;

pub use render::parse_duration;

use crate::exposition::names::{
    CLOCKS_BREACHED_TOTAL, CLOCKS_BREACHING_SOON, CLOCKS_MET_TOTAL, CONFIG_LAST_RELOAD_SUCCESSFUL,
    CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS, LAST_RECOMPUTE_TIMESTAMP_SECONDS,
    NEXT_BREACH_TIMESTAMP_SECONDS, OBJECTIVE_RATIO, SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS,
    SOURCE_OWNER, SOURCE_RATE_LIMITED_TOTAL, SOURCE_REQUESTS_TOTAL, SOURCE_UP,
};
use crate::policy::Config;
use render::{regex_alternatives, str_lit, Group, Rule};

/// Settings of the generated rules that are not in a config.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Where `docs/runbooks.md` is: a path in the repository by default, or
    /// an absolute URL to it (`https://git.example.com/ops/helpdesk-slo/blob/main/docs/runbooks.md`).
    pub runbook_url: String,
    /// Grafana's base URL, for `dashboard_url`.
    pub grafana_url: String,
    /// Fewest decided clocks in a burn-rate alert's long window.
    pub min_clocks: u32,
    /// The Prometheus job that scrapes the daemon (exporter rules).
    pub job: String,
    /// Seconds without a completed poll after which a source is stale.
    pub stale_after: u32,
    /// Where people reach the daemon (`--web.external-url`, without a
    /// trailing `/`): the alerts' links to its API start with it. Without
    /// it they point at `http://` and the scraped `instance`, which is only
    /// right when that address is reachable by whoever reads the alert.
    pub external_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runbook_url: "docs/runbooks.md".to_string(),
            grafana_url: "http://localhost:3000".to_string(),
            min_clocks: 10,
            job: "helpdesk-slo".to_string(),
            stale_after: 600,
            external_url: None,
        }
    }
}

/// A rule file and its `promtool test rules` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub rules: String,
    pub tests: String,
}

/// How an imminent-breach alert is set for the n-th most severe level.
pub(crate) struct Imminent {
    pub severity: &'static str,
    pub window: &'static str,
    pub seconds: u32,
}

/// The most severe level pages at 15 minutes, the next warns at one hour;
/// the others have no imminent-breach alert (their breaches still open a
/// ticket).
pub(crate) const IMMINENT: [Imminent; 2] = [
    Imminent {
        severity: "page",
        window: "15m",
        seconds: 900,
    },
    Imminent {
        severity: "warning",
        window: "1h",
        seconds: 3_600,
    },
];

/// Windows of the per plan × priority × metric recording rules.
pub const PPM_WINDOWS: [&str; 4] = ["1h", "6h", "1d", "3d"];

/// What a recording rule records: the `metric:operation` of its
/// `level:metric:operationWINDOW` name (`docs/alerts.md`, "Recording
/// rules"). The metric part names what is counted, in the exporter's
/// `helpdesk_slo_` namespace; only the breach count is an exported counter
/// itself (by its family name, without `_total`, as the convention asks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// `increase()` of the breached counter.
    Breached,
    /// `increase()` of the met plus the breached counter.
    Decided,
    /// One minus breached over decided.
    Attainment,
    /// Breached over decided, over the share the objective allows.
    BurnRate,
}

impl Recorded {
    /// The rule's name at an aggregation level (`plan`,
    /// `plan_priority_metric`) over a window: `plan:helpdesk_slo_burn_rate:ratio1h`.
    pub(crate) fn name(self, level: &str, window: &str) -> String {
        let (metric, operation) = match self {
            Recorded::Breached => (CLOCKS_BREACHED_TOTAL.family(), "increase"),
            Recorded::Decided => ("helpdesk_slo_clocks_decided", "increase"),
            Recorded::Attainment => ("helpdesk_slo_attainment", "ratio"),
            Recorded::BurnRate => ("helpdesk_slo_burn_rate", "ratio"),
        };
        format!("{level}:{metric}:{operation}{window}")
    }
}

/// Dashboard UIDs (`dashboards/*.json`).
pub const OVERVIEW_UID: &str = "helpdesk-slo-overview";
pub const ONCALL_UID: &str = "helpdesk-slo-oncall";
pub const EXPORTER_UID: &str = "helpdesk-slo-exporter";

/// The rules of a config, named `name` (the config file's stem).
pub fn config_rules(config: &Config, name: &str, opts: &Options) -> Result<Generated, String> {
    let policy = &config.policy;
    if policy.plans.is_empty() {
        return Err(format!(
            "{}: no plans: there is nothing to alert on (add `plans:`)",
            config.path.display()
        ));
    }
    let mut header = format!(
        "# Alerting and recording rules for the plans of {file}.\n\
         # Generated by `helpdesk-slo rules --config {file}`: do not edit; change the\n\
         # config and generate again (docs/alerts.md explains every rule).\n#\n",
        file = file_name(config)
    );
    header.push_str(
        "# Burn-rate alerts follow the Google SRE Workbook (multiwindow, multi-burn-rate,\n\
         # 30-day error budget). The burn rate over a window is the breach share of the\n\
         # clocks decided in it, sum(increase(breached)) / sum(increase(met + breached)),\n\
         # divided by the share the objective allows (1 - objective); it can never exceed\n\
         # 1 / (1 - objective), so a factor at or above that is replaced by 90% of it.\n",
    );
    header.push_str(&format!(
        "# A burn-rate alert also needs at least {} decided clocks in its long window.\n",
        opts.min_clocks
    ));
    let mut plan_pairs = Vec::new();
    for plan in &policy.plans {
        if let Some(objective) = plan.objective {
            let pairs = burn::pairs(objective)
                .map_err(|e| format!("{}: plans.{}: {e}", config.path.display(), plan.name))?;
            header.push_str("#\n");
            header.push_str(&burn::explain(&plan.name, objective, &pairs));
            plan_pairs.push((plan.name.as_str(), objective, pairs));
        }
    }
    if plan_pairs.is_empty() {
        header.push_str("#\n# No plan has an objective: no burn-rate rules.\n");
    }

    let plans: Vec<&str> = policy.plans.iter().map(|p| p.name.as_str()).collect();
    let plan_re = str_lit(&regex_alternatives(&plans));
    let mut groups = vec![
        clock_group(config, name, &plan_re, opts),
        sli_group(name, &plan_re),
    ];
    for (plan, objective, pairs) in &plan_pairs {
        groups.push(plan_group(name, plan, *objective, pairs, opts));
    }
    let rules = render::rule_file(&header, &groups);
    let tests = promtest::config_tests(config, name, &groups, &plan_pairs, opts);
    Ok(Generated { rules, tests })
}

/// The exporter's health rules (`alerts/exporter.rules.yaml`).
pub fn exporter_rules(opts: &Options) -> Generated {
    let header = format!(
        "# Health of the helpdesk-slo exporter itself: daemon absent, sources failing, polls\n\
         # stale, rate limits, config reloads, frozen figures.\n\
         # Generated by `helpdesk-slo rules --exporter`: do not edit; generate again\n\
         # (docs/alerts.md explains every rule). Sources are stale after {} without a\n\
         # completed poll (`--stale-after`; ten poll intervals is a good value).\n",
        render::duration(opts.stale_after)
    );
    Generated {
        rules: render::rule_file(&header, &exporter_rules_groups(opts)),
        tests: promtest::exporter_tests(opts),
    }
}

fn exporter_rules_groups(opts: &Options) -> Vec<Group> {
    let job = str_lit(&opts.job);
    let stale = opts.stale_after;
    let dash = format!("{}/d/{EXPORTER_UID}", opts.grafana_url);
    let dash_source = format!("{dash}?var-source={{{{ $labels.source }}}}");
    let rules = vec![
        Rule::alert(
            "HelpdeskSloDaemonAbsent",
            format!("absent(up{{job={job}}} == 1)"),
        )
        .for_("5m")
        .label("severity", "page")
        .annotate("summary", "No helpdesk-slo daemon is up: SLA clocks are not watched")
        .annotate(
            "description",
            &format!(
                "Prometheus has scraped no healthy target of job {} for 5 minutes. Until \
                 the daemon is back no imminent-breach alert can fire.",
                opts.job
            ),
        )
        .annotate("runbook_url", &runbook(opts, "HelpdeskSloDaemonAbsent"))
        .annotate("dashboard_url", &dash),
        Rule::alert(
            "HelpdeskSloSourceDown",
            format!("{SOURCE_UP}{{job={job}}} == 0"),
        )
        .for_("10m")
        .label("severity", "warning")
        .annotate("summary", "Helpdesk source {{ $labels.source }} is failing")
        .annotate(
            "description",
            "Requests from {{ $labels.instance }} to source {{ $labels.source }} have failed for \
             10 minutes; the daemon retries, and its figures age meanwhile.",
        )
        .annotate("runbook_url", &runbook(opts, "HelpdeskSloSourceDown"))
        .annotate("dashboard_url", &dash_source),
        Rule::alert(
            "HelpdeskSloSourceUnowned",
            format!("max by (job, source) ({SOURCE_OWNER}{{job={job}}}) == 0"),
        )
        .for_("2m")
        .label("severity", "page")
        .annotate("summary", "No instance polls source {{ $labels.source }}")
        .annotate(
            "description",
            "Every instance sharing the store has stood by for source {{ $labels.source }} for \
             2 minutes: none holds its lease, so its clocks are not watched. A takeover \
             normally takes under 20 seconds.",
        )
        .annotate("runbook_url", &runbook(opts, "HelpdeskSloSourceUnowned"))
        .annotate("dashboard_url", &dash_source),
        Rule::alert(
            "HelpdeskSloPollsStale",
            format!(
                "(time() - {SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS}{{job={job}}}) > {stale}\n\
                 unless on (job, instance)\n\
                 (time() - {CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS}{{job={job}}}) < {stale}"
            ),
        )
        .label("severity", "warning")
        .annotate(
            "summary",
            "Source {{ $labels.source }} has not completed a poll for {{ $value | humanizeDuration }}",
        )
        .annotate(
            "description",
            &format!(
                "The last poll of source {{{{ $labels.source }}}} that caught up with every stream \
                 finished {{{{ $value | humanizeDuration }}}} ago (threshold {}); SLA figures \
                 of {{{{ $labels.instance }}}} are that old.",
                render::duration(stale)
            ),
        )
        .annotate("runbook_url", &runbook(opts, "HelpdeskSloPollsStale"))
        .annotate("dashboard_url", &dash_source),
        Rule::alert(
            "HelpdeskSloRateLimited",
            format!(
                "sum by (job, instance, source) (rate({SOURCE_RATE_LIMITED_TOTAL}{{job={job}}}[15m]))\n\
                 /\n\
                 sum by (job, instance, source) (rate({SOURCE_REQUESTS_TOTAL}{{job={job}}}[15m]))\n\
                 > 0.25"
            ),
        )
        .for_("30m")
        .label("severity", "warning")
        .annotate(
            "summary",
            "Source {{ $labels.source }} is rate limited on {{ $value | humanizePercentage }} of requests",
        )
        .annotate(
            "description",
            "For 30 minutes more than a quarter of the requests to source {{ $labels.source }} \
             were answered 429 Too Many Requests; polls fall behind. Lower requests_per_minute \
             or find what else spends the helpdesk's API budget.",
        )
        .annotate("runbook_url", &runbook(opts, "HelpdeskSloRateLimited"))
        .annotate("dashboard_url", &dash_source),
        Rule::alert(
            "HelpdeskSloConfigReloadFailed",
            format!("{CONFIG_LAST_RELOAD_SUCCESSFUL}{{job={job}}} == 0"),
        )
        .for_("1m")
        .label("severity", "warning")
        .annotate("summary", "{{ $labels.instance }} rejected its new config")
        .annotate(
            "description",
            "The last config reload of {{ $labels.instance }} failed; the previous config keeps \
             running. `helpdesk-slo check --config FILE` prints the error.",
        )
        .annotate("runbook_url", &runbook(opts, "HelpdeskSloConfigReloadFailed"))
        .annotate("dashboard_url", &dash),
        Rule::alert(
            "HelpdeskSloMetricsStale",
            format!("time() - {LAST_RECOMPUTE_TIMESTAMP_SECONDS}{{job={job}}} > 120"),
        )
        .for_("5m")
        .label("severity", "warning")
        .annotate(
            "summary",
            "{{ $labels.instance }} last computed its figures {{ $value | humanizeDuration }} ago",
        )
        .annotate(
            "description",
            "The daemon recomputes its metrics every 15 seconds; on {{ $labels.instance }} they \
             have not changed for {{ $value | humanizeDuration }}, so clocks that cross their due \
             meanwhile are not seen.",
        )
        .annotate("runbook_url", &runbook(opts, "HelpdeskSloMetricsStale"))
        .annotate("dashboard_url", &dash),
    ];
    vec![Group {
        name: "helpdesk-slo.exporter".to_string(),
        rules,
    }]
}

/// The alerts on individual clocks: imminent breaches, breaches.
fn clock_group(config: &Config, name: &str, plan_re: &str, opts: &Options) -> Group {
    let policy = &config.policy;
    let mut rules = Vec::new();
    for (rank, imminent) in IMMINENT.iter().enumerate() {
        let Some(severity) = policy.severities.get(rank) else {
            break;
        };
        let prio = str_lit(severity);
        let w = imminent.window;
        let s = imminent.seconds;
        rules.push(
            Rule::alert(
                "HelpdeskSloBreachImminent",
                format!(
                    "({NEXT_BREACH_TIMESTAMP_SECONDS}{{plan=~{plan_re}, priority={prio}}} - time()) <= {s}\n\
                     and on (job, instance, plan, priority, metric)\n\
                     {CLOCKS_BREACHING_SOON}{{plan=~{plan_re}, priority={prio}, window=\"{w}\"}} > 0"
                ),
            )
            .label("severity", imminent.severity)
            .annotate(
                "summary",
                "{{ $labels.priority }} {{ $labels.metric }} on plan {{ $labels.plan }} breaches in {{ $value | humanizeDuration }}",
            )
            .annotate(
                "description",
                &format!(
                    "An open {{{{ $labels.priority }}}} ticket on plan {{{{ $labels.plan }}}} has at most {w} of \
                     business time left on its {{{{ $labels.metric }}}} target and is due in \
                     {{{{ $value | humanizeDuration }}}}. The tickets: {}",
                    api_url(opts, "at_risk")
                ),
            )
            .annotate("api_url", &api_url(opts, "at_risk"))
            .annotate("runbook_url", &runbook(opts, "HelpdeskSloBreachImminent"))
            .annotate("dashboard_url", &oncall_url(opts)),
        );
    }
    rules.push(
        Rule::alert(
            "HelpdeskSloBreached",
            format!("round(increase({CLOCKS_BREACHED_TOTAL}{{plan=~{plan_re}}}[10m])) > 0"),
        )
        .label("severity", "ticket")
        .annotate(
            "summary",
            "{{ $value }} {{ $labels.priority }} {{ $labels.metric }} clock(s) breached on plan {{ $labels.plan }}",
        )
        .annotate(
            "description",
            &format!(
                "In the last 10 minutes {{{{ $value }}}} {{{{ $labels.metric }}}} clock(s) of \
                 {{{{ $labels.priority }}}} tickets on plan {{{{ $labels.plan }}}} passed their due \
                 unfulfilled. Follow up on each ticket: {}",
                api_url(opts, "breached")
            ),
        )
        .annotate("api_url", &api_url(opts, "breached"))
        .annotate("runbook_url", &runbook(opts, "HelpdeskSloBreached"))
        .annotate("dashboard_url", &oncall_url(opts)),
    );
    Group {
        name: format!("helpdesk-slo.{name}.clocks"),
        rules,
    }
}

/// The recording rules: breached and decided clocks, attainment and burn
/// rate over each window, per plan × priority × metric and per plan. The
/// burn rate divides by the budget the daemon's own
/// `helpdesk_slo_objective_ratio` allows, so plans without an objective
/// have none.
fn sli_group(name: &str, plan_re: &str) -> Group {
    let sel = format!("plan=~{plan_re}");
    let mut rules = Vec::new();
    for w in PPM_WINDOWS {
        rules.extend(window_rules(
            "plan_priority_metric",
            "plan, priority, metric",
            &sel,
            w,
        ));
    }
    for w in burn::WINDOWS {
        rules.extend(window_rules("plan", "plan", &sel, w));
    }
    Group {
        name: format!("helpdesk-slo.{name}.sli"),
        rules,
    }
}

/// A plan's burn-rate and objective alerts.
fn plan_group(
    name: &str,
    plan: &str,
    objective: f64,
    pairs: &[burn::BurnPair],
    opts: &Options,
) -> Group {
    let sel = format!("plan={}", str_lit(plan));
    let o = objective_literal(objective);
    let mut rules = Vec::new();
    let dash = format!(
        "{}/d/{OVERVIEW_UID}?var-plan={{{{ $labels.plan }}}}",
        opts.grafana_url
    );
    for p in pairs {
        let f = burn::factor_text(p.factor);
        rules.push(
            Rule::alert(
                "HelpdeskSloErrorBudgetBurn",
                format!(
                    "{burn_long}{{{sel}}} > {f}\n\
                     and\n\
                     {burn_short}{{{sel}}} > {f}\n\
                     and\n\
                     {decided_long}{{{sel}}} >= {min}",
                    burn_long = Recorded::BurnRate.name("plan", p.long),
                    burn_short = Recorded::BurnRate.name("plan", p.short),
                    decided_long = Recorded::Decided.name("plan", p.long),
                    min = opts.min_clocks,
                ),
            )
            .for_("2m")
            .label("severity", p.severity)
            .label("long_window", p.long)
            .label("plan", plan)
            .annotate(
                "summary",
                &format!(
                    "Plan {{{{ $labels.plan }}}} burns its error budget at {{{{ $value | printf \"%.1f\" }}}}x over {}",
                    p.long
                ),
            )
            .annotate(
                "description",
                &format!(
                    "Over the last {long} (and still over the last {short}) more than {f} times the \
                     {allowed} of breached clocks that the {pct} objective of plan \
                     {{{{ $labels.plan }}}} allows; at that pace {spent} of the 30-day error budget \
                     goes in {long}. At least {min} clocks were decided in the window.",
                    long = p.long,
                    short = p.short,
                    allowed = burn::percent(1.0 - objective),
                    pct = burn::percent(objective),
                    spent = burn::percent(p.budget_spent()),
                    min = opts.min_clocks,
                ),
            )
            .annotate("runbook_url", &runbook(opts, "HelpdeskSloErrorBudgetBurn"))
            .annotate("dashboard_url", &dash),
        );
    }
    rules.push(
        Rule::alert(
            "HelpdeskSloObjectiveMismatch",
            format!(
                "{OBJECTIVE_RATIO}{{{sel}}}\n\
                 unless\n\
                 abs({OBJECTIVE_RATIO}{{{sel}}} - {o}) < 0.000001"
            ),
        )
        .for_("15m")
        .label("severity", "ticket")
        .label("plan", plan)
        .annotate(
            "summary",
            &format!(
                "Plan {{{{ $labels.plan }}}} runs objective {{{{ $value | humanizePercentage }}}}; its alert rules were generated for {}",
                burn::percent(objective)
            ),
        )
        .annotate(
            "description",
            &format!(
                "{{{{ $labels.instance }}}} runs plan {{{{ $labels.plan }}}} with objective \
                 {{{{ $value | humanizePercentage }}}}, but these burn-rate rules were generated from \
                 {} for {}: their factors and ratios are wrong. Generate them again with \
                 `helpdesk-slo rules --config FILE` and load the new file.",
                name,
                burn::percent(objective)
            ),
        )
        .annotate("runbook_url", &runbook(opts, "HelpdeskSloObjectiveMismatch"))
        .annotate("dashboard_url", &dash),
    );
    Group {
        name: format!("helpdesk-slo.{name}.plan.{plan}"),
        rules,
    }
}

/// Breached, decided, attainment and burn rate over one window, at one
/// aggregation level.
fn window_rules(level: &str, by: &str, sel: &str, w: &str) -> Vec<Rule> {
    let breached = Recorded::Breached.name(level, w);
    let decided = Recorded::Decided.name(level, w);
    vec![
        Rule::record(
            &breached,
            format!("sum by ({by}) (increase({CLOCKS_BREACHED_TOTAL}{{{sel}}}[{w}]))"),
        ),
        Rule::record(
            &decided,
            format!(
                "sum by ({by}) (increase({CLOCKS_MET_TOTAL}{{{sel}}}[{w}]))\n\
                 +\n\
                 sum by ({by}) (increase({CLOCKS_BREACHED_TOTAL}{{{sel}}}[{w}]))"
            ),
        ),
        Rule::record(
            &Recorded::Attainment.name(level, w),
            format!("1 - {breached}{{{sel}}} / ({decided}{{{sel}}} > 0)"),
        ),
        Rule::record(
            &Recorded::BurnRate.name(level, w),
            format!(
                "{breached}{{{sel}}} / ({decided}{{{sel}}} > 0)\n\
                 / on (plan) group_left ()\n\
                 (1 - max by (plan) ({OBJECTIVE_RATIO}{{{sel}}}))"
            ),
        ),
    ]
}

/// An objective as a PromQL number: `0.96`.
pub(crate) fn objective_literal(objective: f64) -> String {
    format!("{}", (objective * 1_000_000.0).round() / 1_000_000.0)
}

fn runbook(opts: &Options, alert: &str) -> String {
    format!("{}#{}", opts.runbook_url, alert.to_lowercase())
}

fn oncall_url(opts: &Options) -> String {
    format!(
        "{}/d/{ONCALL_UID}?var-plan={{{{ $labels.plan }}}}&var-severity={{{{ $labels.priority }}}}&var-metric={{{{ $labels.metric }}}}",
        opts.grafana_url
    )
}

fn api_url(opts: &Options, state: &str) -> String {
    let base = opts
        .external_url
        .clone()
        .unwrap_or_else(|| "http://{{ $labels.instance }}".to_string());
    format!(
        "{base}/api/v1/clocks?state={state}&plan={{{{ $labels.plan }}}}&severity={{{{ $labels.priority }}}}"
    )
}

fn file_name(config: &Config) -> String {
    config.path.file_name().map_or_else(
        || "the config".to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests;
