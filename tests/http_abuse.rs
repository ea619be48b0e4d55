//! The HTTP server under abuse, over real loopback connections: what an
//! operator's probe of an exposed exporter tries (huge and malformed
//! bodies, unknown methods, slow headers, many idle connections, reloads
//! without asking, wrong users) gets a bounded answer, and `/metrics` keeps
//! answering. Every test is bounded in time: the daemon runs with short
//! timeouts and small limits.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use helpdesk_slo::daemon::{run_with, DaemonError, Options, Summary};
use helpdesk_slo::server::Limits;

mod common;
use common::scratch;

/// A running daemon (no sources) and what stops it.
struct Daemon {
    addr: std::net::SocketAddr,
    base: String,
    config: PathBuf,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<Summary, DaemonError>>,
}

impl Daemon {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the daemon stops in time")
            .unwrap()
            .unwrap();
    }
}

/// Short timeouts and small limits, so that each test is quick.
fn test_limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(500),
        tls_handshake_timeout: Duration::from_millis(500),
        max_connections: 8,
        max_body_bytes: 1024,
    }
}

/// Starts the daemon on the Celigo example (copied into `dir`, so a test
/// may change it), with reports in `dir/reports`; `tweak` changes the
/// options.
async fn start(dir: &Path, tweak: impl FnOnce(&mut Options)) -> Daemon {
    let config = dir.join("config.yaml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
        &config,
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("reports")).unwrap();
    let mut opts = Options {
        config: config.clone(),
        store: Some(dir.join("store.sqlite").display().to_string()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        reports_dir: Some(dir.join("reports")),
        http_limits: test_limits(),
        ..Options::default()
    };
    tweak(&mut opts);
    let (stop, rx) = watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(run_with(opts, rx, Some(tx)));
    let (addr, _) = tokio::time::timeout(Duration::from_secs(20), started)
        .await
        .expect("the daemon starts in time")
        .expect("the daemon starts");
    let addr = addr.unwrap();
    Daemon {
        addr,
        base: format!("http://{addr}"),
        config,
        stop,
        task,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Sends `request` as raw bytes and reads the answer until the server
/// closes or 3 seconds pass; the status code, if any, and the text.
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> (Option<u16>, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|c| c.parse().ok());
    (status, text)
}

/// The value of the unlabelled sample `metric`.
async fn metric(base: &str, metric: &str) -> Option<f64> {
    let text = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(&format!("{metric} ")))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_endpoints_are_refused_unless_enabled() {
    let tmp = scratch("abuse-lifecycle");
    let d = start(tmp.path(), |_| {}).await;
    for method in [reqwest::Method::POST, reqwest::Method::PUT] {
        let r = client()
            .request(method, format!("{}/-/reload", d.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        let text = r.text().await.unwrap();
        assert!(text.contains("--web.enable-lifecycle"), "{text}");
    }
    d.stop().await;

    let tmp = scratch("abuse-lifecycle-on");
    let d = start(tmp.path(), |o| o.enable_lifecycle = true).await;
    let r = client()
        .post(format!("{}/-/reload", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("unchanged"));
    d.stop().await;
}

/// A body above the limit is refused with 413 before it is read (a 300 MB
/// `Content-Length` is answered at once), and one that grows past it while
/// chunked too; a malformed chunked body is 400; none of them reloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_bodies_never_reload() {
    let tmp = scratch("abuse-bodies");
    let d = start(tmp.path(), |o| o.enable_lifecycle = true).await;
    // A config that would be rejected: any reload would show in the
    // reload-success gauge.
    std::fs::write(&d.config, "calendars: [not, a, map]\n").unwrap();
    assert_eq!(
        metric(&d.base, "helpdesk_slo_config_last_reload_successful").await,
        Some(1.0)
    );

    let started = Instant::now();
    let (status, text) = raw(
        d.addr,
        b"POST /-/reload HTTP/1.1\r\nhost: x\r\ncontent-length: 300000000\r\n\r\n",
    )
    .await;
    assert_eq!(status, Some(413), "{text}");
    assert!(text.contains("1024 bytes"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));

    // A body nobody asked for on another endpoint is not read either: the
    // answer comes at once.
    let started = Instant::now();
    let (status, text) = raw(
        d.addr,
        b"GET /-/healthy HTTP/1.1\r\nhost: x\r\ncontent-length: 300000000\r\n\r\n",
    )
    .await;
    assert_eq!(status, Some(200), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));

    let mut chunked =
        b"POST /-/reload HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[b'a'; 0x200]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, text) = raw(d.addr, &chunked).await;
    assert_eq!(status, Some(413), "{text}");

    let (status, text) = raw(
        d.addr,
        b"POST /-/reload HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n",
    )
    .await;
    assert_ne!(status, Some(200), "{text}");
    assert!(!text.contains("config rejected"), "{text}");

    assert_eq!(
        metric(&d.base, "helpdesk_slo_config_last_reload_successful").await,
        Some(1.0),
        "a refused request reloaded the config"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_and_paths_get_405_and_404() {
    let tmp = scratch("abuse-methods");
    let d = start(tmp.path(), |_| {}).await;
    let (status, text) = raw(
        d.addr,
        b"FROB /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, Some(405), "{text}");
    assert!(text.to_lowercase().contains("allow: get, head"), "{text}");
    let r = client()
        .delete(format!("{}/-/reload", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["allow"], "POST, PUT");
    let r = client()
        .post(format!("{}/api/v1/clocks", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let r = client()
        .get(format!("{}/nope", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_like_get_without_a_body() {
    let tmp = scratch("abuse-head");
    let d = start(tmp.path(), |_| {}).await;
    for path in [
        "/metrics",
        "/-/healthy",
        "/-/ready",
        "/config",
        "/api/v1/reports",
    ] {
        let get = client()
            .get(format!("{}{path}", d.base))
            .send()
            .await
            .unwrap();
        let head = client()
            .head(format!("{}{path}", d.base))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "{path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
    d.stop().await;
}

/// A client that sends part of its headers and stops, or nothing at all,
/// is disconnected after the header-read timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_after_the_header_timeout() {
    let tmp = scratch("abuse-slow");
    let d = start(tmp.path(), |_| {}).await;
    for sent in [
        &b"GET /metrics HTTP/1.1\r\nhost: x\r\nx-slow: "[..],
        &b""[..],
    ] {
        let mut s = TcpStream::connect(d.addr).await.unwrap();
        s.write_all(sent).await.unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("the server closed the connection");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(400) && waited < Duration::from_secs(3),
            "closed after {waited:?}"
        );
    }
    d.stop().await;
}

/// More idle connections than the limit (each would hold a descriptor):
/// `/metrics` still answers, as soon as the timeout frees a slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_connections_still_leave_metrics_answering() {
    let tmp = scratch("abuse-conns");
    let d = start(tmp.path(), |_| {}).await;
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(d.addr).await.unwrap());
    }
    let started = Instant::now();
    let r = client()
        .get(format!("{}/metrics", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(4));
    // The idle ones were closed (the slots were freed for others).
    let mut closed = 0;
    for s in &mut idle {
        let mut buf = [0u8; 16];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(10), s.read(&mut buf)).await {
            closed += 1;
        }
    }
    assert!(closed >= 8, "only {closed} idle connections were closed");
    drop(idle);
    d.stop().await;
}

/// Wrong passwords and unknown users get 401 (the same answer), the right
/// one 200; a lifecycle endpoint needs the password too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_unknown_basic_auth_users_are_refused_alike() {
    let tmp = scratch("abuse-auth");
    let dir = tmp.path();
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let web = dir.join("web.yml");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: {hash}\n")).unwrap();
    let d = start(dir, |o| {
        o.web_config = Some(web);
        o.enable_lifecycle = true;
    })
    .await;
    let url = format!("{}/metrics", d.base);
    let mut bodies = Vec::new();
    for (user, password) in [("prometheus", "wrong"), ("nobody", "s3cret"), ("", "")] {
        let r = client()
            .get(&url)
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{user}");
        bodies.push(r.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = client()
        .post(format!("{}/-/reload", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = client()
        .get(&url)
        .basic_auth("prometheus", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    d.stop().await;
}

/// A symbolic link in the reports folder is neither listed nor served,
/// even when it points at a report-shaped file elsewhere.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_in_the_reports_folder_are_not_followed() {
    let tmp = scratch("abuse-symlink");
    let dir = tmp.path();
    let d = start(dir, |o| {
        o.external_url = Some("https://slo.example.com/hs/".parse().unwrap())
    })
    .await;
    std::fs::write(dir.join("secret.md"), "not a report\n").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.md"), dir.join("reports/2026-01.md")).unwrap();
    std::fs::write(dir.join("reports/2025-12.md"), "# December\n").unwrap();
    let index: serde_json::Value = client()
        .get(format!("{}/api/v1/reports", d.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        index["reports"],
        serde_json::json!([{
            "name": "2025-12.md",
            "url": "https://slo.example.com/hs/api/v1/reports/2025-12.md",
        }])
    );
    // The landing page links through the external URL too.
    let landing = client()
        .get(format!("{}/", d.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        landing.contains("href=\"https://slo.example.com/hs/metrics\""),
        "{landing}"
    );
    let r = client()
        .get(format!("{}/api/v1/reports/2026-01.md", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(!r.text().await.unwrap().contains("not a report"));
    let r = client()
        .get(format!("{}/api/v1/reports/2025-12.md", d.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "# December\n");
    d.stop().await;
}

/// With TLS, a client that opens a connection and never completes the
/// handshake is disconnected after the handshake timeout, and the slot it
/// held serves others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_tls_handshake_is_closed_after_the_timeout() {
    let tmp = scratch("abuse-tls");
    let dir = tmp.path();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let pem = cert.cert.pem();
    std::fs::write(dir.join("server.crt"), &pem).unwrap();
    std::fs::write(dir.join("server.key"), cert.signing_key.serialize_pem()).unwrap();
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    )
    .unwrap();
    let d = start(dir, |o| o.web_config = Some(web)).await;
    // Half a ClientHello record header, then nothing.
    let mut s = TcpStream::connect(d.addr).await.unwrap();
    s.write_all(&[0x16, 0x03, 0x01]).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("the server closed the stalled handshake");
    let waited = started.elapsed();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let r = client
        .get(format!("https://{}/-/healthy", d.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    d.stop().await;
}
