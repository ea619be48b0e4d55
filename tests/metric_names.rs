//! Every metric name anything outside the exporter writes is one the
//! exporter exposes: `exposition::names::ALL` is the list. The dashboards,
//! the alert and deploy files, the docs and the rules generated from every
//! example may only name metrics in it (histograms with their `_bucket`,
//! `_sum` and `_count` series); every metric in it is documented in
//! `docs/metrics.md` with its type, and a rendered exposition writes all of
//! them, in that order, and nothing else.
//!
//! Recording rules are named `level:helpdesk_slo_…:operationW`
//! (`docs/alerts.md`, "Recording rules"): a name joined to a colon is a
//! recorded series, not an exported one, and is left to tests/alerts.rs,
//! which checks that the shipped rules record it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use helpdesk_slo::alerts::{config_rules, exporter_rules, Options};
use helpdesk_slo::engine::{evaluate, Ticket};
use helpdesk_slo::exposition::names::{Kind, ALL};
use helpdesk_slo::exposition::{compute, render, Counted, Health, Live, SourceHealth};
use helpdesk_slo::time::parse_instant;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The files under `dir` (recursively) whose names end in one of `exts`.
fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, exts, out);
            } else if exts.iter().any(|ext| path.to_string_lossy().ends_with(ext)) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo().join(dir), exts, &mut out);
    out.sort();
    out
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Gauge => "gauge",
        Kind::Counter => "counter",
        Kind::Histogram => "histogram",
    }
}

/// Every name a query may use: each metric's own and its sample names.
fn exported() -> BTreeSet<String> {
    ALL.iter()
        .flat_map(|m| {
            let mut names = m.sample_names();
            names.push(m.name.to_string());
            names
        })
        .collect()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The `helpdesk_slo_…` metric names in a text, leaving out the parts of
/// recording-rule names (joined to a colon on either side).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("helpdesk_slo_") {
        if text[..i].chars().next_back().is_some_and(is_name_char) {
            continue; // inside a longer name: `plan:helpdesk_slo_…`, `xhelpdesk_slo_…`
        }
        let rest = &text[i..];
        let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        let name = &rest[..end];
        if name.contains(':') {
            continue; // `helpdesk_slo_…:…`: a recorded series
        }
        out.insert(name.to_string());
    }
    out
}

/// The texts to check, each with what to call it in a failure.
fn texts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in files("dashboards", &[".json"])
        .into_iter()
        .chain(files("alerts", &[".yaml", ".yml"]))
        .chain(files("deploy", &[".yaml", ".yml"]))
        .chain(files("docs", &[".md"]))
        .chain([repo().join("README.md")])
    {
        let rel = path
            .strip_prefix(repo())
            .unwrap_or(&path)
            .display()
            .to_string();
        out.push((rel, read(&path)));
    }
    let opts = Options::default();
    for path in files("examples", &[".yaml"]) {
        let config = helpdesk_slo::config_files::load(&path).unwrap_or_else(|e| panic!("{e}"));
        if config.policy.plans.is_empty() {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let g = config_rules(&config, &name, &opts).unwrap_or_else(|e| panic!("{e}"));
        out.push((
            format!("rules generated from examples/{name}.yaml"),
            g.rules,
        ));
        out.push((
            format!("rule tests generated from examples/{name}.yaml"),
            g.tests,
        ));
    }
    let g = exporter_rules(&opts);
    out.push(("the exporter's generated rules".into(), g.rules));
    out.push(("the exporter's generated rule tests".into(), g.tests));
    out
}

#[test]
fn the_list_has_each_name_once_in_the_namespace() {
    let mut seen = BTreeSet::new();
    for m in ALL {
        assert!(seen.insert(m.name), "{} twice", m.name);
        assert!(m.name.starts_with("helpdesk_slo_"), "{}", m.name);
        assert!(
            m.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{}",
            m.name
        );
        assert_eq!(
            m.name.ends_with("_total"),
            m.kind == Kind::Counter,
            "{}",
            m.name
        );
        assert!(!m.help.is_empty(), "{} has no HELP", m.name);
    }
}

#[test]
fn dashboards_alerts_docs_and_generated_rules_name_only_exported_metrics() {
    let exported = exported();
    let mut unknown = Vec::new();
    let mut checked = 0;
    for (what, text) in texts() {
        for name in metric_names(&text) {
            checked += 1;
            if !exported.contains(&name) {
                unknown.push(format!("{what}: {name}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "names that are no metric of exposition::names::ALL:\n{}",
        unknown.join("\n")
    );
    // The scan found the names it is meant to check.
    assert!(checked > 100, "{checked} names checked");
}

/// `| `name` | type |` rows of docs/metrics.md.
fn documented() -> BTreeMap<String, String> {
    let doc = read(&repo().join("docs/metrics.md"));
    let mut out = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "", "`name`", "type", …
        let [_, name, kind, ..] = cells.as_slice() else {
            continue;
        };
        if let Some(name) = name.strip_prefix('`').and_then(|n| n.strip_suffix('`')) {
            if name.starts_with("helpdesk_slo_") {
                let previous = out.insert(name.to_string(), kind.to_string());
                assert!(previous.is_none(), "docs/metrics.md: {name} twice");
            }
        }
    }
    out
}

#[test]
fn every_metric_is_documented_with_its_type() {
    let documented = documented();
    for m in ALL {
        let kind = documented
            .get(m.name)
            .unwrap_or_else(|| panic!("docs/metrics.md has no row for {}", m.name));
        assert_eq!(
            kind,
            kind_name(m.kind),
            "docs/metrics.md: type of {}",
            m.name
        );
    }
    let listed: BTreeSet<&str> = ALL.iter().map(|m| m.name).collect();
    for name in documented.keys() {
        assert!(
            listed.contains(name.as_str()),
            "docs/metrics.md documents {name}, which exposition::names::ALL lacks"
        );
    }
}

fn at(s: &str) -> i64 {
    parse_instant(s).unwrap()
}

/// The Celigo example's tickets (tests/exposition.rs renders them too),
/// with an organization allowlist and a source that counted every kind of
/// request, so that every metric has samples.
fn rendered() -> helpdesk_slo::exposition::Rendered {
    let now = at("2026-11-23T18:00:00Z");
    let config = helpdesk_slo::config_files::load(&repo().join("examples/celigo.yaml")).unwrap();
    let tickets = read(&repo().join("tests/testdata/exposition/celigo-tickets.jsonl"));
    let mut live = Live::with_organizations(&["901".to_string()]);
    for line in tickets.lines() {
        let t: Ticket = serde_json::from_str(line).unwrap();
        let clocks = evaluate(&config.policy, &t, now);
        let org = t.organization.as_ref().map(|o| o.id.as_str());
        let counted = Counted {
            created_at: t.created_at,
            organization: org,
            clocks: &clocks,
        };
        live.add(&config.policy, "zendesk", &t.id, "h", counted);
    }
    let figures = compute(&config.policy, &mut live, now);
    let mut source = SourceHealth {
        up: true,
        last_success: now - 30,
        poll_duration_seconds: 1.5,
        retries: 1,
        rate_limited: 1,
        records: 10,
        tickets_changed: 5,
        stored_tickets: 5,
        inconsistent_tickets: 1,
        reconciled: Some(helpdesk_slo::exposition::Reconciled {
            metrics: vec!["first_response".into()],
            counts: [(
                (
                    "first_response".to_string(),
                    helpdesk_slo::reconcile::Outcome::Agree,
                ),
                3,
            )]
            .into(),
        }),
        ..SourceHealth::default()
    };
    source.requests.by_code.insert("200".into(), 9);
    source.requests.rate_limit_remaining = Some(100);
    source.requests.parse_errors = 1;
    source
        .requests
        .ignored_events
        .insert("Notification".into(), 2);
    source.requests.unmapped.insert("status".into(), 1);
    source.requests.same_second_pages = 1;
    // Polled under a lease (a store several instances share), so that
    // the owner gauge is written too.
    source.owner = Some(true);
    let mut health = Health {
        config_ok: true,
        config_loaded_at: now - 3600,
        computed_at: now,
        instance: Some("replica-0".into()),
        ..Health::default()
    };
    health.sources.insert("zendesk".into(), source);
    render(&config.policy, figures, health)
}

/// The `# TYPE` lines of an exposition, in order, and the names of its
/// samples.
fn families(text: &str) -> (Vec<(String, String)>, BTreeSet<String>) {
    let mut types = Vec::new();
    let mut samples = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.push((name.to_string(), kind.to_string()));
        } else if !line.is_empty() && !line.starts_with('#') {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            samples.insert(line[..end].to_string());
        }
    }
    (types, samples)
}

#[test]
fn a_rendered_exposition_writes_every_metric_and_no_other() {
    let r = rendered();
    let expected_samples: BTreeSet<String> = ALL.iter().flat_map(|m| m.sample_names()).collect();

    // Prometheus text 0.0.4: a counter's family carries `_total`.
    let (types, samples) = families(&r.prometheus);
    let expected: Vec<(String, String)> = ALL
        .iter()
        .map(|m| (m.name.to_string(), kind_name(m.kind).to_string()))
        .collect();
    assert_eq!(types, expected, "# TYPE lines of the Prometheus text");
    assert_eq!(samples, expected_samples, "samples of the Prometheus text");

    // OpenMetrics: a counter's family is named without `_total`.
    let (types, samples) = families(&r.openmetrics);
    let expected: Vec<(String, String)> = ALL
        .iter()
        .map(|m| (m.family().to_string(), kind_name(m.kind).to_string()))
        .collect();
    assert_eq!(types, expected, "# TYPE lines of the OpenMetrics text");
    assert_eq!(samples, expected_samples, "samples of the OpenMetrics text");
}
