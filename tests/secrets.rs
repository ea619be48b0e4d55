//! A canary API token, used as the real one and written wrongly into the
//! config, must appear in no output: not in `check`, not in the daemon's
//! logs at any level in either format, not in /metrics, /config or the JSON
//! API, not in the store file, not in a report or in `evaluate`'s output.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, scratch};

const CANARY: &str = "zd-canary-9f1c2e7a55";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
}

fn example() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
        .unwrap()
}

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.contains(CANARY),
        "{what} shows the token:\n{}",
        &text[text.find(CANARY).unwrap().saturating_sub(300)..]
    );
}

fn assert_output_clean(what: &str, out: &Output) {
    assert_clean(&format!("{what} (stdout)"), &out.stdout);
    assert_clean(&format!("{what} (stderr)"), &out.stderr);
}

/// The emulator, requiring the canary as its token; returns it and its URL.
fn emulator() -> (Child, String) {
    let mut sim = bin()
        .args(["simulate", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"))
        .args(["--listen", "127.0.0.1:0", "--seed", "5", "--days", "45"])
        .args(["--tickets-per-day", "10"])
        .env("HELPDESK_SLO_SIM_TOKEN", CANARY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut out = BufReader::new(sim.stdout.take().unwrap());
    out.read_line(&mut first).unwrap();
    assert_clean("simulate's banner", first.as_bytes());
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = first.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    (sim, url)
}

fn config(dir: &Path, url: &str, auth: &str) -> PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "{}\nsources:\n  zendesk:\n    kind: zendesk\n    url: {url}\n    auth: {auth}\n    start_time: 2026-10-01T00:00:00Z\n    poll_interval: 1s\n",
            example()
        ),
    )
    .unwrap();
    path
}

fn get(url: &str) -> Vec<u8> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.unwrap();
        r.bytes().await.unwrap().to_vec()
    })
}

#[test]
fn the_token_appears_in_no_output() {
    let tmp = scratch("secrets");
    let dir = tmp.path();
    let (mut sim, url) = emulator();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{CANARY}\n")).unwrap();

    // The token from the environment and from a file, every log level and
    // format, one backfill each.
    for (auth, log_format) in [
        (
            "{ email: ops@acme.example, token: { env: ZD_CANARY } }",
            "text",
        ),
        (
            "{ email: ops@acme.example, token: { env: ZD_CANARY } }",
            "json",
        ),
        (
            &*format!(
                "{{ email: ops@acme.example, token: {{ file: {} }} }}",
                token_file.display()
            ),
            "json",
        ),
    ] {
        let config = config(dir, &url, auth);
        let check = bin()
            .arg("check")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(check.status.success(), "{check:?}");
        assert_output_clean("check", &check);
        let run = bin()
            .args(["run", "--once", "--log-format", log_format, "--config"])
            .arg(&config)
            .arg("--store")
            .arg(dir.join("store.sqlite"))
            .env("ZD_CANARY", CANARY)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(!run.stderr.is_empty());
        assert_output_clean(&format!("run --once, {log_format} logs at trace"), &run);
    }
    for file in ["store.sqlite", "store.sqlite-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join(file)) {
            assert_clean(file, &bytes);
        }
    }

    // The daemon serving: every endpoint.
    let config = config(
        dir,
        &url,
        "{ email: ops@acme.example, token: { env: ZD_CANARY } }",
    );
    let port = free_port();
    let mut daemon = bin()
        .args(["run", "--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config)
        .arg("--store")
        .arg(dir.join("store.sqlite"))
        .env("ZD_CANARY", CANARY)
        .env("RUST_LOG", "debug")
        .stdout(std::fs::File::create(dir.join("daemon.out")).unwrap())
        .stderr(std::fs::File::create(dir.join("daemon.err")).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while get_status(&format!("{base}/-/ready")) != Some(200) {
        assert!(Instant::now() < deadline, "the daemon never became ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    for path in [
        "/metrics",
        "/config",
        "/",
        "/api/v1/clocks?state=breached",
        "/api/v1/clocks?state=at_risk",
        "/-/healthy",
    ] {
        assert_clean(path, &get(&format!("{base}{path}")));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    wait_for(&mut daemon);
    for log in ["daemon.out", "daemon.err"] {
        let bytes = std::fs::read(dir.join(log)).unwrap();
        assert_clean(&format!("run, debug logs ({log})"), &bytes);
    }
    assert!(std::fs::metadata(dir.join("daemon.err")).unwrap().len() > 0);
    sim.kill().unwrap();
    sim.wait().unwrap();

    // What reads the store.
    let report = bin()
        .args(["report", "--stdout", "--month", "2026-11", "--config"])
        .arg(&config)
        .arg("--store")
        .arg(dir.join("store.sqlite"))
        .output()
        .unwrap();
    assert!(report.status.success(), "{report:?}");
    assert_output_clean("report", &report);
    let evaluate = bin()
        .args([
            "evaluate",
            "--credits",
            "--clocks",
            "--format",
            "json",
            "--config",
        ])
        .arg(&config)
        .arg("--store")
        .arg(dir.join("store.sqlite"))
        .output()
        .unwrap();
    assert!(evaluate.status.success(), "{evaluate:?}");
    // The backfills did read the helpdesk (the canary let them in).
    assert!(
        evaluate.stdout.windows(9).any(|w| w == b"\"metric\":"),
        "no clocks: {}",
        String::from_utf8_lossy(&evaluate.stderr)
    );
    assert_output_clean("evaluate", &evaluate);
}

/// A token written into the config by mistake is refused without being
/// repeated, by `check` and by `run`, in both log formats.
#[test]
fn a_token_written_into_the_config_is_never_repeated() {
    let tmp = scratch("secrets-inline");
    let dir = tmp.path();
    let config = config(
        dir,
        "https://acme.zendesk.com",
        &format!("{{ email: ops@acme.example, token: \"{CANARY}\" }}"),
    );
    let check = bin()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2), "{check:?}");
    assert_output_clean("check", &check);
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("token"),
        "{check:?}"
    );
    for format in ["text", "json"] {
        let run = bin()
            .args(["run", "--once", "--log-format", format, "--config"])
            .arg(&config)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{run:?}");
        assert_output_clean(&format!("run ({format} logs)"), &run);
    }
}

fn get_status(url: &str) -> Option<u16> {
    let rt = tokio::runtime::Runtime::new().ok()?;
    rt.block_on(async { Some(reqwest::get(url).await.ok()?.status().as_u16()) })
}

/// Waits for a child that was told to stop, at most a minute.
fn wait_for(child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
