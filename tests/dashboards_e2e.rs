//! The dashboards and rules against the real thing: `helpdesk-slo demo`
//! serving /metrics, a real Prometheus (Debian's `prometheus` package, which
//! scripts/test.sh installs) scraping it every 2 seconds and loading the
//! shipped rules of the demo's config. Every panel query of every dashboard,
//! variables set to "All", must run without error and return data; every
//! rule must evaluate healthily, the recording rules must have values, and
//! at least one alert of the demo must become active.

mod common;

use common::{free_port, scratch, which, Guard};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn get(client: &reqwest::Client, rt: &tokio::runtime::Runtime, url: &str) -> Option<(u16, String)> {
    rt.block_on(async {
        let r = client.get(url).send().await.ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    })
}

fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn query(client: &reqwest::Client, rt: &tokio::runtime::Runtime, base: &str, expr: &str) -> Value {
    let url = reqwest::Url::parse_with_params(&format!("{base}/api/v1/query"), &[("query", expr)])
        .expect("query URL");
    let (status, body) = get(client, rt, url.as_str()).unwrap_or((0, String::new()));
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    assert!(
        status == 200 && v["status"] == "success",
        "Prometheus rejected {expr}: HTTP {status}: {body}"
    );
    v["data"]["result"].clone()
}

/// A panel query as Grafana would send it, every variable on "All".
fn substitute(expr: &str) -> String {
    let mut e = expr.to_string();
    for (var, value) in [
        ("$__rate_interval", "1m"),
        ("$__interval", "15s"),
        ("$__range", "1h"),
        ("${plan}", ".*"),
        ("$plan", ".*"),
        ("${severity}", ".*"),
        ("$severity", ".*"),
        ("${metric}", ".*"),
        ("$metric", ".*"),
        ("${job}", ".*"),
        ("$job", ".*"),
        ("${instance}", ".*"),
        ("$instance", ".*"),
        ("${source}", ".*"),
        ("$source", ".*"),
    ] {
        e = e.replace(var, value);
    }
    assert!(
        !e.contains('$'),
        "a variable the test does not know in {expr}"
    );
    e
}

fn panel_queries(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("dashboard file");
    let dash: Value = serde_json::from_str(&text).expect("dashboard JSON");
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().into_iter().flatten() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = t["expr"].as_str() {
                let title = format!(
                    "{}: {} ({})",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    panel["title"].as_str().unwrap_or("?"),
                    t["refId"].as_str().unwrap_or("?")
                );
                out.push((title, expr.to_string()));
            }
        }
    }
    out
}

#[test]
fn dashboards_and_rules_work_on_the_demo() {
    let prometheus = which("prometheus");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("HTTP client");

    // The demo: the embedded Celigo example, with live tickets.
    let demo_port = free_port();
    let demo_tmp = scratch("demo");
    let demo_dir = demo_tmp.path();
    let demo = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args([
            "demo",
            "--listen",
            &format!("127.0.0.1:{demo_port}"),
            "--dir",
        ])
        .arg(demo_dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(demo_dir.join("demo.log")).expect("log file"))
        .spawn()
        .expect("start helpdesk-slo demo");
    let _demo = Guard(demo);
    let demo_base = format!("http://127.0.0.1:{demo_port}");
    wait_until("the demo's /-/ready", Duration::from_secs(300), || {
        get(&client, &rt, &format!("{demo_base}/-/ready")).filter(|(s, _)| *s == 200)
    });

    // Prometheus, scraping it and loading the demo config's rules.
    let prom_port = free_port();
    let prom_tmp = scratch("prometheus");
    let prom_dir = prom_tmp.path();
    let rules = [
        repo().join("alerts/celigo.rules.yaml"),
        repo().join("alerts/exporter.rules.yaml"),
    ];
    let config = format!(
        "global:\n  scrape_interval: 2s\n  evaluation_interval: 2s\nrule_files:\n{}\
         scrape_configs:\n  - job_name: helpdesk-slo\n    static_configs:\n      - targets: [\"127.0.0.1:{demo_port}\"]\n",
        rules
            .iter()
            .map(|r| format!("  - {:?}\n", r.display().to_string()))
            .collect::<String>()
    );
    std::fs::write(prom_dir.join("prometheus.yml"), config).expect("Prometheus config");
    let prom = Command::new(&prometheus)
        .arg(format!(
            "--config.file={}",
            prom_dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            prom_dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(prom_dir.join("prometheus.log")).expect("log file"))
        .spawn()
        .expect("start prometheus");
    let _prom = Guard(prom);
    let base = format!("http://127.0.0.1:{prom_port}");
    wait_until("Prometheus' /-/ready", Duration::from_secs(60), || {
        get(&client, &rt, &format!("{base}/-/ready")).filter(|(s, _)| *s == 200)
    });
    // Enough samples for rate() and increase() over a minute.
    wait_until("a minute of scraped data", Duration::from_secs(180), || {
        let r = query(
            &client,
            &rt,
            &base,
            "count_over_time(helpdesk_slo_build_info[1m]) >= 20",
        );
        (!r.as_array()?.is_empty()).then_some(())
    });

    // Every panel query of every dashboard.
    let mut failures = Vec::new();
    let mut count = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("dashboards"))
        .expect("dashboards/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "dashboards: {files:?}");
    for file in &files {
        for (title, expr) in panel_queries(file) {
            count += 1;
            let result = query(&client, &rt, &base, &substitute(&expr));
            if result.as_array().is_none_or(|a| a.is_empty()) {
                failures.push(format!("{title} returned nothing: {expr}"));
            }
        }
    }
    assert!(count >= 20, "only {count} panel queries");
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every rule evaluates; the recording rules have values.
    let (_, body) = get(&client, &rt, &format!("{base}/api/v1/rules")).expect("rules API");
    let v: Value = serde_json::from_str(&body).expect("rules JSON");
    let all: Vec<&Value> = v["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    assert!(all.len() > 50, "{} rules loaded", all.len());
    wait_until("every rule evaluated", Duration::from_secs(30), || {
        let (_, body) = get(&client, &rt, &format!("{base}/api/v1/rules"))?;
        let v: Value = serde_json::from_str(&body).ok()?;
        let bad: Vec<String> = v["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .filter(|r| r["health"] != "ok")
            .map(|r| format!("{} {} {}", r["name"], r["health"], r["lastError"]))
            .collect();
        bad.is_empty().then_some(())
    });
    for record in [
        "plan:helpdesk_slo_clocks_decided:increase1h",
        "plan:helpdesk_slo_clocks_breached:increase3d",
        "plan_priority_metric:helpdesk_slo_clocks_decided:increase1d",
        "plan_priority_metric:helpdesk_slo_clocks_breached:increase6h",
    ] {
        wait_until(record, Duration::from_secs(30), || {
            let r = query(&client, &rt, &base, record);
            (!r.as_array()?.is_empty()).then_some(())
        });
    }

    // At least one alert of the demo becomes active (pending or firing).
    let alerts = wait_until("an active alert", Duration::from_secs(600), || {
        let (_, body) = get(&client, &rt, &format!("{base}/api/v1/alerts"))?;
        let v: Value = serde_json::from_str(&body).ok()?;
        let a = v["data"]["alerts"].as_array()?.clone();
        (!a.is_empty()).then_some(a)
    });
    for a in &alerts {
        let name = a["labels"]["alertname"].as_str().unwrap_or("");
        assert!(name.starts_with("HelpdeskSlo"), "{a}");
        for k in ["summary", "description", "runbook_url", "dashboard_url"] {
            assert!(a["annotations"][k].is_string(), "{name} lacks {k}: {a}");
        }
        assert!(!a["annotations"]["summary"]
            .as_str()
            .unwrap_or("{{")
            .contains("{{"));
    }
}
