//! Helpers shared by the end-to-end tests that run real programs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Child;

pub mod contract;
pub mod pg_daemon;
pub mod postgres;
pub mod prometheus;
pub mod reconcile;

/// Kills the child process when the test ends, however it ends.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A folder of its own for one test under the temp folder, named
/// `helpdesk-slo-NAME-…` (unique, created without races between tests and
/// test binaries running at once), removed with everything in it when the
/// returned value is dropped, however the test ends. Bind it for as long as
/// the test uses the folder: `let tmp = scratch("x"); let dir = tmp.path();`.
#[must_use = "the folder is removed when this is dropped"]
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("helpdesk-slo-{name}-"))
        .tempdir()
        .expect("a scratch folder under the temp folder")
}

/// A free local port (free when asked; good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// A program on the PATH; the test fails (never skips) without it.
pub fn which(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found on PATH: scripts/test.sh installs it (Debian package `prometheus`)")
        })
}

/// The head and body of `GET http://ADDR/PATH` (HTTP/1.0, std only), or
/// `None` when nothing answers with HTTP (for polling a starting daemon).
#[allow(dead_code)]
pub fn http_response(addr: &str, path: &str) -> Option<(String, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((head.to_string(), body.to_string()))
}

/// The body of `GET http://ADDR/PATH` (HTTP/1.0, std only), or panics with
/// what went wrong.
pub fn http_get(addr: &str, path: &str) -> String {
    let (head, body) =
        http_response(addr, path).unwrap_or_else(|| panic!("no HTTP response from {addr}{path}"));
    assert!(head.contains(" 200 "), "GET {path}: {head}");
    body
}

/// The value of the one sample of `exposition` named `name` whose labels
/// include every one of `labels` (`key="value"`), or `None`.
pub fn sample(exposition: &str, name: &str, labels: &[&str]) -> Option<f64> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// `examples/freshdesk.yaml` written to `DIR/config.yaml`, polling `url`
/// from `start` every second (600,000 requests a minute), its API key in
/// `DIR/api_key`.
pub fn freshdesk_config(dir: &Path, url: &str, start: i64) -> PathBuf {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/freshdesk.yaml"),
    )
    .unwrap();
    let key_file = dir.join("api_key");
    std::fs::write(
        &key_file,
        format!("{}\n", helpdesk_slo::simulator::freshdesk::DEMO_API_KEY),
    )
    .unwrap();
    let replace = |text: String, from: &str, to: &str| {
        assert!(
            text.contains(from),
            "examples/freshdesk.yaml no longer has {from:?}"
        );
        text.replace(from, to)
    };
    let text = replace(example, "domain: acme ", &format!("url: {url} "));
    let text = replace(
        text,
        "api_key: { env: FRESHDESK_API_KEY }",
        &format!("api_key: {{ file: {} }}", key_file.display()),
    );
    let text = replace(
        text,
        "start_time: 2026-11-01T00:00:00Z",
        &format!("start_time: {}", helpdesk_slo::time::format_instant(start)),
    );
    let text = replace(text, "poll_interval: 1m", "poll_interval: 1s");
    let text = replace(
        text,
        "requests_per_minute: 50",
        "requests_per_minute: 600000",
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A stored clock (as JSON) in a form that compares between two runs over
/// the same history: a decided clock in full, an open one by identity
/// only, since its state and breach depend on when it was last computed
/// (one run may compute it just before its due, the other just after).
pub fn comparable_clock(c: &serde_json::Value) -> serde_json::Value {
    if c["fulfilled_at"].is_null() {
        serde_json::json!([c["metric"], c["instance"], c["start"]])
    } else {
        serde_json::json!([
            c["metric"],
            c["instance"],
            c["state"],
            c["start"],
            c["fulfilled_at"],
            c["breached_at"]
        ])
    }
}
