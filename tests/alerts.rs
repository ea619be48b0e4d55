//! The shipped alert rules, Alertmanager config, dashboards and deploy files:
//! the rule files are what `helpdesk-slo rules` generates from the examples,
//! `promtool` checks and unit-tests every rule file, `amtool` checks the
//! Alertmanager config, and the dashboards follow the conventions the
//! end-to-end test (tests/dashboards_e2e.rs) relies on.
//!
//! promtool and amtool come from Debian's `prometheus` and
//! `prometheus-alertmanager` packages, which scripts/test.sh installs; these
//! tests fail, never skip, without them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use helpdesk_slo::alerts::{config_rules, exporter_rules, Options};
use helpdesk_slo::config_files;
use helpdesk_slo::policy::Config;
use serde_json::Value;

mod common;
use common::scratch;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs a tool that must be installed; fails with what installs it.
fn tool(name: &str, package: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(name)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| {
            panic!("{name} could not run ({e}): install Debian's `{package}` package (scripts/test.sh does)")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Each example with plans, and the name of its rule file.
fn examples_with_plans() -> Vec<(String, Config)> {
    let mut out = Vec::new();
    for path in files("examples", ".yaml") {
        let config = config_files::load(&path).unwrap_or_else(|e| panic!("{e}"));
        if config.policy.plans.is_empty() {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        out.push((stem, config));
    }
    out
}

#[test]
fn shipped_rules_are_what_the_examples_generate() {
    let opts = Options::default();
    let mut expected = BTreeSet::new();
    let mut stale = Vec::new();
    let mut check = |name: &str, g: helpdesk_slo::alerts::Generated, command: String| {
        for (rel, text) in [
            (format!("alerts/{name}.rules.yaml"), g.rules),
            (format!("alerts/tests/{name}.test.yaml"), g.tests),
        ] {
            let shipped = std::fs::read_to_string(repo().join(&rel)).unwrap_or_default();
            if shipped != text {
                stale.push(format!("{rel} is stale or missing: run `{command}`"));
            }
            expected.insert(rel);
        }
    };
    let examples = examples_with_plans();
    assert!(
        examples.len() >= 5,
        "{} examples with plans",
        examples.len()
    );
    for (name, config) in &examples {
        let g = config_rules(config, name, &opts).unwrap_or_else(|e| panic!("{e}"));
        check(
            name,
            g,
            format!("cargo run -- rules --config examples/{name}.yaml --out alerts"),
        );
    }
    check(
        "exporter",
        exporter_rules(&opts),
        "cargo run -- rules --exporter --out alerts".into(),
    );
    assert!(stale.is_empty(), "{}", stale.join("\n"));
    // No rule file that nothing generates.
    let shipped: BTreeSet<String> = files("alerts", ".rules.yaml")
        .into_iter()
        .chain(files("alerts/tests", ".test.yaml"))
        .map(|p| {
            p.strip_prefix(repo())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(shipped, expected);
}

#[test]
fn the_rules_command_writes_the_shipped_files() {
    let tmp = scratch("rules");
    let out = tmp.path();
    for args in [
        vec!["rules", "--config", "examples/celigo.yaml", "--out"],
        vec!["rules", "--exporter", "--out"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
            .args(&args)
            .arg(out)
            .current_dir(repo())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for rel in [
        "celigo.rules.yaml",
        "tests/celigo.test.yaml",
        "exporter.rules.yaml",
        "tests/exporter.test.yaml",
    ] {
        assert_eq!(
            read(&out.join(rel)),
            read(&repo().join("alerts").join(rel)),
            "{rel}"
        );
    }
    // An objective of 100% leaves no budget to burn: rejected, exit 2.
    let bad = out.join("full.yaml");
    std::fs::write(
        &bad,
        read(&repo().join("examples/workzoom.yaml")).replace("objective: 90%", "objective: 100%"),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["rules", "--config"])
        .arg(&bad)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no error budget"));
}

#[test]
fn promtool_checks_and_tests_every_rule_file() {
    let rules: Vec<String> = files("alerts", ".rules.yaml")
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert!(rules.len() >= 6);
    let mut args = vec!["check", "rules"];
    args.extend(rules.iter().map(String::as_str));
    let (ok, text) = tool("promtool", "prometheus", &args);
    assert!(ok, "promtool check rules:\n{text}");
    assert!(!text.contains("inconsistency"), "{text}");

    let tests: Vec<String> = files("alerts/tests", ".test.yaml")
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(tests.len(), rules.len());
    // One promtool per file, side by side: promtool tests the files of one
    // invocation one after the other, and the slowest file alone takes a
    // third of the whole.
    let results: Vec<(String, bool, String)> = std::thread::scope(|scope| {
        let runs: Vec<_> = tests
            .iter()
            .map(|file| {
                scope.spawn(move || {
                    let (ok, text) = tool("promtool", "prometheus", &["test", "rules", file]);
                    (file.clone(), ok, text)
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a promtool run panicked"))
            .collect()
    });
    for (file, ok, text) in results {
        assert!(ok, "promtool test rules {file}:\n{text}");
    }
}

#[test]
fn every_alert_has_a_runbook_section() {
    let runbooks = read(&repo().join("docs/runbooks.md"));
    let alerts_doc = read(&repo().join("docs/alerts.md"));
    let mut names = BTreeSet::new();
    for path in files("alerts", ".rules.yaml") {
        for line in read(&path).lines() {
            if let Some(name) = line.trim().strip_prefix("- alert: ") {
                names.insert(name.to_string());
            }
        }
    }
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        assert!(
            runbooks.contains(&format!("\n## {name}\n")),
            "docs/runbooks.md has no section ## {name}"
        );
        assert!(
            alerts_doc.contains(name.as_str()),
            "docs/alerts.md does not mention {name}"
        );
    }
}

#[test]
fn amtool_checks_the_alertmanager_config() {
    let (ok, text) = tool(
        "amtool",
        "prometheus-alertmanager",
        &["check-config", "alerts/alertmanager.yml"],
    );
    assert!(
        ok && text.contains("SUCCESS"),
        "amtool check-config:\n{text}"
    );
}

/// Metric names in a query: series of docs/metrics.md or recorded by the
/// shipped rules.
fn check_names(expr: &str, known: &str, recorded: &str, what: &str) {
    let mut rest = expr;
    while let Some(i) = rest.find("helpdesk_slo") {
        let start = &rest[i..];
        let end = start
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(start.len());
        // A recorded name starts before `helpdesk_slo`, at its level.
        let before = &rest[..i];
        let level_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |j| j + 1);
        let name = format!("{}{}", &before[level_start..], &start[..end]);
        if name.contains(':') {
            assert!(
                recorded.contains(&format!("record: {name}\n")),
                "{what}: {name} is no recording rule"
            );
        } else {
            let base = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_count")
                .trim_end_matches("_sum");
            assert!(
                known.contains(&format!("`{base}`")),
                "{what}: {name} is not in docs/metrics.md"
            );
        }
        rest = &start[end..];
    }
}

#[test]
fn dashboards_follow_the_conventions() {
    let metrics_doc = read(&repo().join("docs/metrics.md"));
    let recorded = read(&repo().join("alerts/celigo.rules.yaml"));
    let dashboards = files("dashboards", ".json");
    assert_eq!(dashboards.len(), 3, "{dashboards:?}");
    let mut uids = BTreeSet::new();
    for path in &dashboards {
        let what = path.file_name().unwrap().to_string_lossy().into_owned();
        let d: Value = serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(d["schemaVersion"].as_u64().unwrap_or(0) >= 39, "{what}");
        assert!(
            uids.insert(d["uid"].as_str().unwrap().to_string()),
            "{what}"
        );
        let vars = d["templating"]["list"].as_array().unwrap();
        let var = |n: &str| vars.iter().find(|v| v["name"] == n);
        let ds = var("datasource").unwrap_or_else(|| panic!("{what}: no datasource variable"));
        assert_eq!(ds["type"], "datasource");
        assert_eq!(ds["query"], "prometheus");
        if what != "exporter-health.json" {
            for n in ["plan", "severity", "metric"] {
                let v = var(n).unwrap_or_else(|| panic!("{what}: no {n} variable"));
                assert_eq!(v["includeAll"], true, "{what}: {n}");
            }
            // The ticket's severity level is the label `priority`.
            let q = var("severity").unwrap()["definition"].as_str().unwrap();
            assert!(q.ends_with(", priority)"), "{what}: {q}");
        } else {
            assert!(var("source").is_some(), "{what}: no source variable");
        }
        // Several daemons scraped by one Prometheus: pick them by job and
        // instance.
        for n in ["job", "instance"] {
            let v = var(n).unwrap_or_else(|| panic!("{what}: no {n} variable"));
            assert_eq!(v["includeAll"], true, "{what}: {n}");
        }
        // No hard-coded data source: every uid is the variable (or the
        // dashboard's own, or Grafana's built-in annotations).
        let own = d["uid"].as_str().unwrap().to_string();
        let text = read(path);
        for (i, _) in text.match_indices("\"uid\": \"") {
            let value = &text[i + 8..];
            let value = &value[..value.find('"').unwrap_or(0)];
            assert!(
                ["${datasource}", "-- Grafana --", own.as_str()].contains(&value),
                "{what}: hard-coded uid {value}"
            );
        }
        let mut ids = BTreeSet::new();
        let mut queries = 0;
        for p in d["panels"].as_array().unwrap() {
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "{what}: duplicate id"
            );
            if p["type"] == "row" {
                continue;
            }
            assert!(
                p["description"].is_string(),
                "{what}: {} has no description",
                p["title"]
            );
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{what}: {}",
                p["title"]
            );
            for t in p["targets"].as_array().unwrap() {
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{what}");
                let expr = t["expr"].as_str().unwrap();
                queries += 1;
                check_names(expr, &metrics_doc, &recorded, &what);
                // The severity variable filters `priority`, never `severity`.
                assert!(!expr.contains("severity=~"), "{what}: {expr}");
                if expr.contains("priority=~") {
                    assert!(expr.contains("priority=~\"$severity\""), "{what}: {expr}");
                }
                // Every selector of a daemon's own series honours the job
                // and instance variables (recorded series are summed over
                // instances by the rules).
                let own = expr
                    .match_indices("helpdesk_slo_")
                    .filter(|(i, _)| !expr[..*i].ends_with(':'));
                let scoped = expr
                    .matches("{job=~\"$job\", instance=~\"$instance\"")
                    .count();
                assert_eq!(own.count(), scoped, "{what}: {expr}");
            }
            // Attainment is coloured against each plan's own objective,
            // never against fixed thresholds.
            let exprs: Vec<&str> = p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["expr"].as_str())
                .collect();
            let coloured = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
                .as_array()
                .is_some_and(|steps| {
                    steps
                        .iter()
                        .any(|s| s["value"].as_f64().is_some_and(|v| v != 0.0))
                });
            let ratio = p["fieldConfig"]["defaults"]["unit"] == "percentunit";
            if coloured && ratio && exprs.iter().any(|e| e.contains("attainment_ratio")) {
                assert!(
                    exprs.iter().all(|e| e.contains("objective_ratio")),
                    "{what}: {} colours attainment at fixed thresholds",
                    p["title"]
                );
            }
            // Every single-value panel says what its numbers are.
            if ["stat", "bargauge", "gauge"].contains(&p["type"].as_str().unwrap()) {
                let units = p["fieldConfig"]["defaults"]["unit"].is_string()
                    || p["fieldConfig"]["overrides"]
                        .as_array()
                        .is_some_and(|o| o.len() >= exprs.len());
                assert!(units, "{what}: {} has no unit", p["title"]);
            }
            // The on-call tables lead to the clocks behind a row (the JSON
            // API lists each ticket with its link).
            if what == "on-call.json" && p["type"] == "table" {
                let links = p["fieldConfig"]["defaults"]["links"].to_string();
                assert!(
                    links.contains("${daemon_url}/api/v1/clocks?state="),
                    "{what}: {} has no link to the clocks",
                    p["title"]
                );
            }
        }
        assert!(queries >= 6, "{what}: {queries} queries");
    }
    for path in files("alerts", ".rules.yaml") {
        check_names(
            &read(&path),
            &metrics_doc,
            &recorded,
            &path.display().to_string(),
        );
    }
}

#[test]
fn deploy_files_parse_and_the_prometheus_rule_matches() {
    let mut yaml = Vec::new();
    for dir in [
        "deploy",
        "deploy/kubernetes",
        "deploy/kubernetes/postgres",
        "deploy/compose",
        "dashboards/provisioning",
    ] {
        yaml.extend(files(dir, ".yaml"));
        yaml.extend(files(dir, ".yml"));
    }
    assert!(yaml.len() >= 8, "{yaml:?}");
    for path in &yaml {
        let text = read(path);
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v = serde_yaml_ng::Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if path.starts_with(repo().join("deploy/kubernetes")) {
                assert!(
                    v.get("apiVersion").is_some() && v.get("kind").is_some(),
                    "{}",
                    path.display()
                );
            }
        }
    }
    // The PrometheusRule holds the rules generated for the ConfigMap's
    // config and the exporter's: it is checked against them, so it cannot
    // drift from the generator.
    let cm: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read(&repo().join("deploy/kubernetes/configmap.yaml"))).unwrap();
    let config_text = cm["data"]["helpdesk-slo.yaml"].as_str().unwrap();
    let config = Config::from_yaml(config_text, Path::new("helpdesk-slo.yaml"))
        .unwrap_or_else(|e| panic!("the ConfigMap's config: {e}"));
    let opts = Options::default();
    let mut groups = Vec::new();
    for text in [
        config_rules(&config, "helpdesk-slo", &opts).unwrap().rules,
        exporter_rules(&opts).rules,
    ] {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        groups.extend(v["groups"].as_sequence().unwrap().clone());
    }
    let text = read(&repo().join("deploy/kubernetes/prometheusrule.yaml"));
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(v["kind"].as_str(), Some("PrometheusRule"));
    assert!(
        v["spec"]["groups"].as_sequence() == Some(&groups),
        "deploy/kubernetes/prometheusrule.yaml is stale: its spec.groups must be the groups of \
         `helpdesk-slo rules` for the ConfigMap's config, then of `helpdesk-slo rules --exporter`"
    );
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    // The unit names the installed path; verify a copy that names this build.
    let unit = read(&repo().join("deploy/systemd/helpdesk-slo.service"));
    assert!(unit.contains("ExecStart=/usr/local/bin/helpdesk-slo run "));
    for key in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=helpdesk-slo",
        "EnvironmentFile=",
    ] {
        assert!(unit.contains(key), "the unit lacks {key}");
    }
    let tmp = scratch("unit");
    let dir = tmp.path();
    let copy = dir.join("helpdesk-slo.service");
    std::fs::write(
        &copy,
        unit.replace(
            "/usr/local/bin/helpdesk-slo",
            env!("CARGO_BIN_EXE_helpdesk-slo"),
        ),
    )
    .unwrap();
    let (ok, out) = tool(
        "systemd-analyze",
        "systemd",
        &["verify", &copy.display().to_string()],
    );
    assert!(
        ok && !out.contains("helpdesk-slo.service:"),
        "systemd-analyze verify:\n{out}"
    );
}

use serde::Deserialize;

/// The PostgreSQL variant of the Kubernetes manifests: two replicas, each
/// an instance named after its pod, a store location the daemon accepts
/// (no password in it: it comes from the Secret), and no volume.
#[test]
fn the_postgres_deployment_runs_two_named_instances_without_a_volume_or_a_password() {
    let text = read(&repo().join("deploy/kubernetes/postgres/deployment.yaml"));
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(v["spec"]["replicas"].as_u64(), Some(2));
    let container = &v["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(args.contains(&"--instance=$(POD_NAME)"), "{args:?}");
    let store = args
        .iter()
        .find_map(|a| a.strip_prefix("--store="))
        .expect("a --store argument");
    helpdesk_slo::store::PgLocation::parse(store)
        .unwrap_or_else(|e| panic!("the deployment's --store: {e}"));
    let env: Vec<&str> = container["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(env.contains(&"POD_NAME") && env.contains(&"HELPDESK_SLO_STORE_PASSWORD"));
    let kustomization = read(&repo().join("deploy/kubernetes/postgres/kustomization.yaml"));
    assert!(kustomization.contains("no-pvc.yaml"));
    let no_pvc = read(&repo().join("deploy/kubernetes/postgres/no-pvc.yaml"));
    assert!(no_pvc.contains("$patch: delete") && no_pvc.contains("helpdesk-slo-store"));
}
