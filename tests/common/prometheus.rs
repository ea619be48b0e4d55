//! A real Prometheus (Debian's `prometheus`, installed by scripts/test.sh)
//! scraping one target every second, and PromQL through its HTTP API.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{free_port, scratch, which, Guard};

/// A running Prometheus; stopped and its data removed when dropped.
pub struct Prometheus {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    client: reqwest::Client,
    _process: Guard,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target`'s `/metrics` every second.
    pub fn scraping(target: SocketAddr) -> Prometheus {
        let prometheus = which("prometheus");
        let dir = scratch("prometheus");
        let port = free_port();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: helpdesk-slo\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .expect("the Prometheus config written");
        let process = Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Prometheus started");
        Prometheus {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            _process: Guard(process),
            _dir: dir,
        }
    }

    /// The value of an instant query that answers exactly one series.
    pub async fn query(&self, expr: &str) -> Option<f64> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/v1/query", self.base),
            &[("query", expr)],
        )
        .ok()?;
        let v: Value = self.client.get(url).send().await.ok()?.json().await.ok()?;
        let r = v["data"]["result"].as_array()?;
        if r.len() != 1 {
            return None;
        }
        r[0]["value"][1].as_str()?.parse().ok()
    }

    /// Queries `expr` until its value satisfies `want` (90 s at most, then
    /// the test fails with the last value).
    pub async fn wait_for(&self, expr: &str, want: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut last = None;
        while Instant::now() < deadline {
            last = self.query(expr).await;
            if let Some(v) = last.filter(|&v| want(v)) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("{expr}: last value {last:?}, not what the scripted tickets imply");
    }
}
