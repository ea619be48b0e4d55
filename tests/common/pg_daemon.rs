//! What the end-to-end tests on PostgreSQL share: an emulated Zendesk
//! account in a process of its own, the config that polls it, and what a
//! store holds and a daemon serves, in forms that compare.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use helpdesk_slo::simulator::zendesk::DEMO_TOKEN;
use helpdesk_slo::store::{self, decode_clocks};

use super::postgres::PgDatabase;
use super::Guard;

/// The Celigo example with a Zendesk source pointing at `url`.
pub fn write_config(dir: &Path, url: &str) -> PathBuf {
    write_config_with(dir, url, "")
}

/// [`write_config`] with more keys for the source (each line indented by
/// four spaces, ending with a line break).
pub fn write_config_with(dir: &Path, url: &str, more: &str) -> PathBuf {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
            .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{DEMO_TOKEN}\n")).unwrap();
    let text = format!(
        "{example}\nsources:\n  zendesk:\n    kind: zendesk\n    url: {url}\n    auth: {{ email: demo@example.com, token: {{ file: {} }} }}\n    start_time: 2026-10-01T00:00:00Z\n    poll_interval: 1s\n{more}",
        token_file.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every stored ticket's timeline and its clocks (open ones by identity:
/// [`super::comparable_clock`]), in id order.
pub fn stored_state(location: &str) -> Vec<String> {
    let store = store::open(location).unwrap();
    assert!(store.stale_ticket_ids("zendesk").unwrap().is_empty());
    let mut out = Vec::new();
    for id in store.ticket_ids("zendesk").unwrap() {
        let t = store.ticket("zendesk", &id).unwrap().unwrap();
        let (_, clocks) = store.clocks("zendesk", &id).unwrap().unwrap();
        let views = decode_clocks(&clocks).unwrap();
        let states: Vec<serde_json::Value> = views
            .iter()
            .map(|v| serde_json::to_value(v).unwrap())
            .map(|c| super::comparable_clock(&c))
            .collect();
        let timeline =
            serde_json::to_string(&helpdesk_slo::engine::Ticket { url: None, ..t }).unwrap();
        out.push(format!(
            "{timeline}\n{}",
            serde_json::to_string(&states).unwrap()
        ));
    }
    out
}

/// The figures of decided clocks in an exposition (what does not move
/// with the clock on the wall), sorted.
pub fn decided_figures(exposition: &str) -> Vec<String> {
    let families = [
        "helpdesk_slo_clocks_met_total",
        "helpdesk_slo_clocks_breached_total",
        "helpdesk_slo_clocks_decided",
        "helpdesk_slo_attainment_ratio",
        "helpdesk_slo_stored_tickets",
    ];
    let mut lines: Vec<String> = exposition
        .lines()
        .filter(|l| {
            families.iter().any(|f| {
                l.strip_prefix(f)
                    .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            })
        })
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// The Zendesk emulator (`simulate`) on a free port with a generated
/// history (`seed`, `days`, `per_day` tickets a day), and its URL.
pub fn spawn_simulator(seed: &str, days: &str, per_day: &str) -> (Guard, String) {
    use std::io::BufRead;
    let bin = env!("CARGO_BIN_EXE_helpdesk-slo");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml");
    let mut sim = Command::new(bin)
        .args(["simulate", "--config"])
        .arg(&example)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed",
            seed,
            "--days",
            days,
            "--tickets-per-day",
            per_day,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut out = std::io::BufReader::new(sim.stdout.take().unwrap());
    out.read_line(&mut first).unwrap();
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = first.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    (Guard(sim), url)
}

/// Whether the store on `db` has a cursor of `stream`: its first page is committed.
pub fn has_cursor(db: &PgDatabase, stream: &str) -> bool {
    db.query_text(&format!(
        "SELECT count(*)::text FROM cursors WHERE stream = '{stream}'"
    ))
    .ok()
    .flatten()
    .is_some_and(|n| n != "0")
}
