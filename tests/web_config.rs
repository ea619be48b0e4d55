//! `--web.config.file`: the daemon's endpoints over TLS with basic auth, as
//! Prometheus' web config file describes them, and clear errors for a file
//! this build cannot honour.

use std::path::Path;
use std::time::Duration;

use helpdesk_slo::daemon::{run_with, Options};
use helpdesk_slo::server::WebConfig;

mod common;
use common::scratch;

/// A self-signed certificate for 127.0.0.1, written as PEM files.
fn certificate(dir: &Path) -> String {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let pem = cert.cert.pem();
    std::fs::write(dir.join("server.crt"), &pem).unwrap();
    std::fs::write(dir.join("server.key"), cert.signing_key.serialize_pem()).unwrap();
    pem
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_need_tls_and_the_right_password() {
    let tmp = scratch("tls");
    let dir = tmp.path();
    let pem = certificate(dir);
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: {hash}\n"
        ),
    )
    .unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let (tx, started) = tokio::sync::oneshot::channel();
    let opts = Options {
        config: Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/celigo.yaml"),
        store: Some(dir.join("store.sqlite").display().to_string()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        web_config: Some(web),
        ..Options::default()
    };
    let daemon = tokio::spawn(run_with(opts, rx, Some(tx)));
    let (addr, _) = started.await.unwrap();
    let addr = addr.unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!("https://{addr}/metrics");

    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        "Basic realm=\"helpdesk-slo\""
    );
    let r = client
        .get(&url)
        .basic_auth("prometheus", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = client
        .get(&url)
        .basic_auth("nobody", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    for _ in 0..3 {
        let r = client
            .get(&url)
            .basic_auth("prometheus", Some("s3cret"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.text().await.unwrap().contains("helpdesk_slo_build_info"));
    }
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.map(|r| r.status().as_u16() != 200).unwrap_or(true));

    stop.send(true).unwrap();
    daemon.await.unwrap().unwrap();
}

#[test]
fn a_web_config_this_build_cannot_honour_is_an_error() {
    let tmp = scratch("bad");
    let dir = tmp.path();
    let unknown = dir.join("unknown.yml");
    std::fs::write(&unknown, "http_server_config:\n  http2: false\n").unwrap();
    let e = WebConfig::load(&unknown).unwrap_err();
    assert!(
        e.contains("http_server_config") && e.contains("basic_auth_users"),
        "{e}"
    );

    let not_bcrypt = dir.join("plain.yml");
    std::fs::write(&not_bcrypt, "basic_auth_users:\n  alice: hunter2\n").unwrap();
    let e = WebConfig::load(&not_bcrypt).unwrap_err();
    assert!(
        e.contains("basic_auth_users.alice: not a bcrypt hash"),
        "{e}"
    );
    // The password-like value itself is not echoed.
    assert!(!e.contains("hunter2"), "{e}");

    let missing = dir.join("missing.yml");
    std::fs::write(
        &missing,
        "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
    )
    .unwrap();
    let e = WebConfig::load(&missing).unwrap_err();
    assert!(
        e.contains("tls_server_config.cert_file") && e.contains("nope.crt"),
        "{e}"
    );
}
