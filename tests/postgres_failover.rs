//! Several daemons on one PostgreSQL database: each source is polled by
//! the one holding its lease, a standby takes over when the holder is
//! killed (SIGKILL) or paused (SIGSTOP), the paused one's late writes are
//! refused, a clean stop hands over at once, and the database ends up
//! holding exactly what one uninterrupted daemon stores. Each test has a
//! database of its own on the test cluster (`scripts/test.sh` starts it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::pg_daemon::{
    decided_figures, has_cursor, spawn_simulator, stored_state, write_config_with,
};
use common::postgres::PgDatabase;
use common::{free_port, http_get, sample, scratch, Guard};

/// The lease of these tests: short, so takeovers are quick to watch.
const LEASE_S: f64 = 3.0;

/// Slows the backfill down (a request every 0.4 s) so that it can be
/// interrupted in the middle.
const PACED: &str = "    requests_per_minute: 150\n";

/// One daemon instance on the shared database.
struct Instance {
    name: &'static str,
    process: Guard,
    addr: String,
    log: PathBuf,
}

impl Instance {
    fn start(name: &'static str, config: &Path, db: &PgDatabase, dir: &Path) -> Instance {
        Instance::start_with(name, config, db, dir, &[])
    }

    fn start_with(
        name: &'static str,
        config: &Path,
        db: &PgDatabase,
        dir: &Path,
        more: &[&str],
    ) -> Instance {
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
            .args(["run", "--config"])
            .arg(config)
            .args(["--store", db.url(), "--instance", name])
            .args(more)
            .args(["--lease-duration", "3s", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Instance {
            name,
            process: Guard(child),
            addr: format!("127.0.0.1:{port}"),
            log,
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.process.0.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {}", self.name);
    }

    fn metrics(&self) -> String {
        http_get(&self.addr, "/metrics")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops it with SIGTERM and waits for it to exit.
    fn stop(mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.process.0.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "{} did not stop", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = self.process.0.wait().unwrap();
        assert!(status.success(), "{}: {status}\n{}", self.name, self.log());
    }
}

/// Who holds the lease on the source now (an unexpired one).
fn holder(db: &PgDatabase) -> Option<String> {
    db.query_text(
        "SELECT holder FROM source_leases WHERE source = 'zendesk' AND expires_at > clock_timestamp()",
    )
    .ok()
    .flatten()
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The instance has completed a poll and left no ticket stale.
fn caught_up(instance: &Instance, db: &PgDatabase) -> bool {
    let polled = sample(
        &instance.metrics(),
        "helpdesk_slo_source_last_success_timestamp_seconds",
        &[r#"source="zendesk""#],
    )
    .is_some_and(|t| t > 0.0);
    polled
        && db
            .query_text("SELECT count(*)::text FROM stale_tickets")
            .ok()
            .flatten()
            .as_deref()
            == Some("0")
}

/// What one daemon that was never interrupted stores from the account.
fn clean_run(config: &Path) -> Vec<String> {
    let clean = PgDatabase::new("failover_clean");
    let ok = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .args(["run", "--once", "--config"])
        .arg(config)
        .args(["--store", clean.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "the uninterrupted backfill failed");
    stored_state(clean.url())
}

fn assert_same(a: &[String], b: &[String]) {
    assert!(a.len() > 300, "{}", a.len());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x, y);
    }
}

/// Two instances started together on a database of their own, polling an
/// emulated account, once one of them holds the lease and has stored
/// tickets (the backfill goes on).
struct Pair {
    sim: Guard,
    tmp: tempfile::TempDir,
    config: PathBuf,
    db: PgDatabase,
    holder: Instance,
    standby: Instance,
}

impl Pair {
    fn start(seed: &str, label: &str) -> Pair {
        let (sim, url) = spawn_simulator(seed, "40", "150");
        let tmp = scratch(label);
        let config = write_config_with(tmp.path(), &url, PACED);
        let db = PgDatabase::new(label);
        let mut instances = vec![
            Instance::start("a", &config, &db, tmp.path()),
            Instance::start("b", &config, &db, tmp.path()),
        ];
        wait_until(
            "a lease is taken and tickets are stored",
            Duration::from_secs(60),
            || holder(&db).is_some() && has_cursor(&db, "tickets"),
        );
        let first = holder(&db).unwrap();
        let at = instances.iter().position(|i| i.name == first).unwrap();
        let holder = instances.remove(at);
        Pair {
            sim,
            tmp,
            config,
            db,
            holder,
            standby: instances.remove(0),
        }
    }
}

/// Two instances start together: one polls, the other stands by and says
/// so. The holder is SIGKILLed mid-backfill; the standby takes over within
/// the lease and finishes the backfill; a third instance stands by
/// serving no figures of the source; a clean stop hands over at once.
/// The database ends up as one uninterrupted daemon leaves it.
#[test]
fn a_standby_takes_over_a_killed_holder_within_the_lease_and_nothing_is_lost() {
    let Pair {
        sim,
        tmp,
        config,
        db,
        holder: killed,
        standby: survivor,
    } = Pair::start("12", "failover_kill");
    assert!(
        !has_cursor(&db, "ticket_events") || !caught_up(&survivor, &db),
        "the backfill was over before the kill; make the history longer"
    );
    // The standby serves none of the source's series, and says so.
    let standby = survivor.metrics();
    assert_eq!(
        sample(
            &standby,
            "helpdesk_slo_source_owner",
            &[r#"instance="b""#.replace('b', survivor.name).as_str()]
        ),
        Some(0.0),
        "{standby}"
    );
    assert_eq!(
        sample(&standby, "helpdesk_slo_source_up", &[]),
        None,
        "{standby}"
    );
    let ready = http_get(&survivor.addr, "/-/ready");
    assert!(ready.contains("stands by for zendesk"), "{ready}");

    drop(killed); // SIGKILL
    let killed_at = Instant::now();
    wait_until(
        "the standby takes the lease",
        Duration::from_secs(30),
        || holder(&db).as_deref() == Some(survivor.name),
    );
    let takeover = killed_at.elapsed();
    eprintln!("takeover after SIGKILL: {:.2} s", takeover.as_secs_f64());
    // At most the lease plus a standby's try (a fifth), and slack for a
    // busy machine.
    assert!(
        takeover.as_secs_f64() <= LEASE_S * 1.2 + 3.0,
        "took {takeover:?}"
    );
    wait_until(
        "the survivor finishes the backfill",
        Duration::from_secs(180),
        || caught_up(&survivor, &db),
    );
    let serving = survivor.metrics();
    let owner = format!(r#"instance="{}""#, survivor.name);
    assert_eq!(
        sample(&serving, "helpdesk_slo_source_owner", &[&owner]),
        Some(1.0)
    );
    let figures = decided_figures(&serving);
    assert!(!figures.is_empty());

    // A third instance stands by and serves nothing of the source: sums
    // over both count the source once.
    let third = Instance::start("c", &config, &db, tmp.path());
    wait_until(
        "the third instance is ready",
        Duration::from_secs(60),
        || {
            // 503 while it starts: not ready yet, asked again.
            common::http_response(&third.addr, "/-/ready").is_some_and(|(head, body)| {
                head.contains(" 200 ") && body.contains("stands by for zendesk")
            })
        },
    );
    let idle = third.metrics();
    assert!(decided_figures(&idle).is_empty(), "{idle}");
    assert_eq!(sample(&idle, "helpdesk_slo_clocks_open", &[]), None);
    assert_eq!(
        sample(&idle, "helpdesk_slo_source_owner", &[r#"instance="c""#]),
        Some(0.0)
    );

    // A clean stop gives the lease up: the third takes over at once.
    survivor.stop();
    let stopped_at = Instant::now();
    wait_until(
        "the third instance takes over",
        Duration::from_secs(30),
        || holder(&db).as_deref() == Some("c"),
    );
    let handover = stopped_at.elapsed();
    eprintln!("handover after SIGTERM: {:.2} s", handover.as_secs_f64());
    assert!(handover.as_secs_f64() < LEASE_S, "took {handover:?}");
    wait_until(
        "the third instance serves the source",
        Duration::from_secs(60),
        || caught_up(&third, &db),
    );
    assert_eq!(decided_figures(&third.metrics()), figures);
    third.stop();

    let interrupted = stored_state(db.url());
    assert_same(&interrupted, &clean_run(&config));
    drop(sim);
}

/// The holder is paused (SIGSTOP) mid-backfill: the standby takes over,
/// and when the paused one resumes, the store refuses its writes, it
/// notices it lost the lease and stands by; nothing is lost or written
/// twice.
#[test]
fn a_paused_holder_is_replaced_and_its_late_writes_are_refused() {
    let Pair {
        sim,
        tmp: _tmp,
        config,
        db,
        holder: paused,
        standby,
    } = Pair::start("13", "failover_stop");
    paused.signal("-STOP");
    let paused_at = Instant::now();
    wait_until(
        "the standby takes the lease",
        Duration::from_secs(60),
        || holder(&db).as_deref() == Some(standby.name),
    );
    let takeover = paused_at.elapsed();
    eprintln!("takeover after SIGSTOP: {:.2} s", takeover.as_secs_f64());
    // The lease, or the server's end of a transaction the paused one left
    // open (10 s), whichever is later; and slack for a busy machine.
    assert!(
        takeover.as_secs_f64() <= 10.0 + LEASE_S * 0.2 + 3.0,
        "took {takeover:?}"
    );

    paused.signal("-CONT");
    wait_until("the resumed one notices", Duration::from_secs(30), || {
        paused.log().contains("lost the source's lease")
    });
    // It stands by: the lease stays where it is.
    std::thread::sleep(Duration::from_secs_f64(LEASE_S));
    assert_eq!(holder(&db).as_deref(), Some(standby.name));
    let resumed = paused.metrics();
    let owner = format!(r#"instance="{}""#, paused.name);
    assert_eq!(
        sample(&resumed, "helpdesk_slo_source_owner", &[&owner]),
        Some(0.0),
        "{resumed}"
    );
    wait_until(
        "the new holder finishes the backfill",
        Duration::from_secs(180),
        || caught_up(&standby, &db),
    );
    standby.stop();
    paused.stop();
    assert_same(&stored_state(db.url()), &clean_run(&config));
    drop(sim);
}

/// The reports folder's report files (`*.md`), by name, with contents.
fn reports_in(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    name.ends_with(".md").then_some((name, text))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Two instances with a report schedule of every minute: one of them
/// writes the run's report (it claims the run in the database and keeps
/// the files there), the other says another instance writes it and copies
/// the kept files into its own folder: both serve the same report.
#[test]
fn a_scheduled_report_is_written_once_across_the_fleet_and_served_by_every_instance() {
    let (sim, url) = spawn_simulator("14", "40", "30");
    let tmp = scratch("failover_reports");
    let config = write_config_with(tmp.path(), &url, "");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("reports:\n  schedule: \"* * * * *\"\n");
    std::fs::write(&config, text).unwrap();
    let db = PgDatabase::new("failover_reports");
    let dirs = [tmp.path().join("reports-a"), tmp.path().join("reports-b")];
    let instances = [
        Instance::start_with(
            "a",
            &config,
            &db,
            tmp.path(),
            &["--reports-dir", dirs[0].to_str().unwrap()],
        ),
        Instance::start_with(
            "b",
            &config,
            &db,
            tmp.path(),
            &["--reports-dir", dirs[1].to_str().unwrap()],
        ),
    ];
    // The next minute's run, and a look at the store 15 s later at most.
    wait_until(
        "both instances have the report",
        Duration::from_secs(150),
        || dirs.iter().all(|d| !reports_in(d).is_empty()),
    );
    let writers: Vec<&str> = instances
        .iter()
        .filter(|i| i.log().contains("monthly report written"))
        .map(|i| i.name)
        .collect();
    assert_eq!(writers.len(), 1, "written by {writers:?}");
    let other = instances.iter().find(|i| i.name != writers[0]).unwrap();
    assert!(
        other
            .log()
            .contains("another instance writes this scheduled report run"),
        "{}",
        other.log()
    );
    let (a, b) = (reports_in(&dirs[0]), reports_in(&dirs[1]));
    assert_eq!(a, b);
    let name = &a[0].0;
    assert!(a[0].1.contains("# "), "{}", a[0].1);
    // The database keeps it, with its CSV files, and names who wrote the run.
    let kept = db
        .query_text(&format!(
            "SELECT count(*)::text FROM report_files WHERE name = '{name}'"
        ))
        .unwrap();
    assert_eq!(kept.as_deref(), Some("1"));
    let csv = db
        .query_text("SELECT count(*)::text FROM report_files WHERE name LIKE '%.csv'")
        .unwrap();
    assert_ne!(csv.as_deref(), Some("0"));
    let holder = db
        .query_text("SELECT holder FROM report_runs ORDER BY at LIMIT 1")
        .unwrap();
    assert_eq!(holder.as_deref(), Some(writers[0]));
    // Both serve it.
    for i in &instances {
        let index = http_get(&i.addr, "/api/v1/reports");
        assert!(index.contains(name.as_str()), "{}: {index}", i.name);
    }
    for i in instances {
        i.stop();
    }
    drop(sim);
}
