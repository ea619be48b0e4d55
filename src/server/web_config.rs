//! TLS and basic auth for the HTTP server, configured like Prometheus' own
//! web configuration file (`--web.config.file`, the exporter-toolkit
//! format), so an operator writes the same file for every exporter:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt      # PEM, the chain; relative to this file
//!   key_file: server.key       # PEM, PKCS#8, PKCS#1 or SEC1
//! basic_auth_users:
//!   prometheus: $2y$10$...     # bcrypt hashes (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! Either section may be left out. Keys this build does not support are
//! rejected by name rather than ignored, so nobody believes a setting is in
//! force when it is not. Passwords are checked against bcrypt hashes; a
//! successful check is remembered (by a SHA-256 of user and password) so a
//! scrape every few seconds does not pay bcrypt's deliberate cost each time.
//! As in Prometheus' exporter toolkit, checks run off the async executor,
//! a few at a time, and an unknown user costs as much as a known one.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    tls_server_config: Option<TlsSpec>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsSpec {
    cert_file: PathBuf,
    key_file: PathBuf,
}

/// The loaded web configuration.
#[derive(Clone)]
pub struct WebConfig {
    pub tls: Option<TlsAcceptor>,
    users: Arc<BTreeMap<String, String>>,
    /// What a user the file does not name is checked against.
    dummy: Arc<str>,
    /// SHA-256 of `user:password` pairs that verified.
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
    /// Turns at bcrypt ([`MAX_VERIFYING`]).
    verifying: Arc<tokio::sync::Semaphore>,
    /// bcrypt checks running now, and the most seen at once.
    running: Arc<(AtomicUsize, AtomicUsize)>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WebConfig {
    /// Reads and checks a web config file; errors name the file and key.
    pub fn load(path: &Path) -> Result<WebConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read web config {}: {e}", path.display()))?;
        let spec: FileSpec = serde_yaml_ng::from_str(&text).map_err(|e| {
            format!(
                "web config {}: {e} (this build supports tls_server_config.cert_file, \
                 tls_server_config.key_file and basic_auth_users)",
                path.display()
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let tls = match spec.tls_server_config {
            Some(t) => Some(acceptor(
                path,
                &base.join(t.cert_file),
                &base.join(t.key_file),
            )?),
            None => None,
        };
        for (user, hash) in &spec.basic_auth_users {
            // A hash that cannot be parsed would lock everyone out silently.
            if bcrypt::verify("", hash).is_err() {
                return Err(format!(
                    "web config {}: basic_auth_users.{user}: not a bcrypt hash \
                     (make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')",
                    path.display()
                ));
            }
        }
        // Unknown users are checked against a hash as slow as the real
        // ones' (the dearest of them).
        let cost = spec
            .basic_auth_users
            .values()
            .map(|h| bcrypt_cost(h))
            .max()
            .unwrap_or(MIN_BCRYPT_COST);
        let dummy = bcrypt::hash("helpdesk-slo: no such user", cost).map_err(|e| {
            format!(
                "web config {}: cannot make a bcrypt hash: {e}",
                path.display()
            )
        })?;
        Ok(WebConfig {
            tls,
            users: Arc::new(spec.basic_auth_users),
            dummy: Arc::from(dummy),
            verified: Arc::default(),
            verifying: Arc::new(tokio::sync::Semaphore::new(MAX_VERIFYING)),
            running: Arc::default(),
        })
    }

    /// Whether requests must carry basic auth.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization` header value. bcrypt is slow by design,
    /// so it runs on the blocking pool, at most `MAX_VERIFYING` at once
    /// (a crowd of wrong passwords waits for its turn and never holds up a
    /// scrape whose credentials verified before: those are remembered). A
    /// user the file does not name is checked against a dummy hash of the
    /// same cost and refused, so an answer's time does not tell which user
    /// names exist.
    pub async fn authorize(&self, header: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, password)) = header.and_then(parse_basic) else {
            return false;
        };
        let (hash, known) = match self.users.get(&user) {
            Some(h) => (h.clone(), true),
            None => (self.dummy.to_string(), false),
        };
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0u8])
            .chain_update(password.as_bytes())
            .chain_update([0u8])
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        if known && self.verified.lock().is_ok_and(|v| v.contains(&key)) {
            return true;
        }
        let Ok(_turn) = self.verifying.acquire().await else {
            return false;
        };
        let running = self.running.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let now = running.0.fetch_add(1, Ordering::SeqCst) + 1;
            running.1.fetch_max(now, Ordering::SeqCst);
            let ok = bcrypt::verify(&password, &hash);
            running.0.fetch_sub(1, Ordering::SeqCst);
            ok
        })
        .await
        .is_ok_and(|r| r.unwrap_or(false));
        let ok = verified && known;
        if ok {
            if let Ok(mut v) = self.verified.lock() {
                v.insert(key);
            }
        }
        ok
    }
}

/// bcrypt verifications run at once, at most: each takes a core for tens of
/// milliseconds at cost 10.
pub const MAX_VERIFYING: usize = 2;

/// bcrypt's lowest cost (the crate does not export it).
const MIN_BCRYPT_COST: u32 = 4;

/// The cost of a bcrypt hash (`$2y$10$...` → 10), clamped to what a dummy
/// hash is made with at load.
fn bcrypt_cost(hash: &str) -> u32 {
    hash.split('$')
        .nth(2)
        .and_then(|c| c.parse::<u32>().ok())
        .unwrap_or(bcrypt::DEFAULT_COST)
        .clamp(MIN_BCRYPT_COST, 16)
}

/// `Basic base64(user:password)` → (user, password).
fn parse_basic(header: &str) -> Option<(String, String)> {
    let encoded = header.strip_prefix("Basic ")?.trim();
    let decoded = super::decode_base64(encoded)?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn acceptor(config: &Path, cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let where_ = |what: &str, p: &Path, e: &dyn std::fmt::Display| {
        format!(
            "web config {}: tls_server_config.{what} {}: {e}",
            config.display(),
            p.display()
        )
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| where_("cert_file", cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| where_("cert_file", cert, &e))?;
    if certs.is_empty() {
        return Err(where_("cert_file", cert, &"no PEM certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| where_("key_file", key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("web config {}: TLS: {e}", config.display()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "web config {}: the certificate and key do not go together: {e}",
                config.display()
            )
        })?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn config(dir: &Path, users: &[(&str, &str)], cost: u32) -> WebConfig {
        let mut text = String::from("basic_auth_users:\n");
        for (user, password) in users {
            let hash = bcrypt::hash(password, cost).unwrap();
            text.push_str(&format!("  {user}: {hash}\n"));
        }
        let path = dir.join("web.yml");
        std::fs::write(&path, text).unwrap();
        WebConfig::load(&path).unwrap()
    }

    fn basic(user: &str, password: &str) -> String {
        use base64::Engine;
        let raw = format!("{user}:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// A user name the file does not have costs a bcrypt check like a
    /// wrong password does, so timing does not reveal the names.
    #[tokio::test]
    async fn an_unknown_user_costs_as_much_as_a_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let web = config(dir.path(), &[("prometheus", "s3cret")], 8);
        let time = |header: String| {
            let web = web.clone();
            async move {
                let started = Instant::now();
                assert!(!web.authorize(Some(&header)).await);
                started.elapsed()
            }
        };
        let wrong = time(basic("prometheus", "guess")).await;
        let unknown = time(basic("nobody", "guess")).await;
        assert!(
            unknown * 3 >= wrong,
            "unknown user {unknown:?}, wrong password {wrong:?}"
        );
        assert!(web.authorize(Some(&basic("prometheus", "s3cret"))).await);
        // The dummy hash never lets anyone in, whatever the password.
        assert!(
            !web.authorize(Some(&basic("nobody", "helpdesk-slo: no such user")))
                .await
        );
    }

    /// However many clients try passwords at once, at most
    /// [`MAX_VERIFYING`] bcrypt checks run together.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_bcrypt_checks_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let web = config(dir.path(), &[("prometheus", "s3cret")], 6);
        let tries: Vec<_> = (0..12)
            .map(|i| {
                let web = web.clone();
                let user = if i % 2 == 0 { "prometheus" } else { "nobody" };
                tokio::spawn(
                    async move { web.authorize(Some(&basic(user, &format!("x{i}")))).await },
                )
            })
            .collect();
        for t in tries {
            assert!(!t.await.unwrap());
        }
        let peak = web.running.1.load(Ordering::SeqCst);
        assert!((1..=MAX_VERIFYING).contains(&peak), "{peak} at once");
    }

    /// bcrypt runs off the executor: on a runtime of one thread, a scrape
    /// whose credentials verified before is answered while wrong passwords
    /// are being checked.
    #[tokio::test(flavor = "current_thread")]
    async fn bcrypt_never_blocks_the_executor() {
        let dir = tempfile::tempdir().unwrap();
        let web = config(dir.path(), &[("prometheus", "s3cret")], 6);
        let good = basic("prometheus", "s3cret");
        assert!(web.authorize(Some(&good)).await);
        let attackers: Vec<_> = (0..4)
            .map(|i| {
                let web = web.clone();
                tokio::spawn(async move {
                    web.authorize(Some(&basic("prometheus", &format!("x{i}"))))
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        let started = Instant::now();
        assert!(web.authorize(Some(&good)).await);
        let cached = started.elapsed();
        let pending = attackers.iter().filter(|a| !a.is_finished()).count();
        assert!(
            pending > 0,
            "the wrong passwords were checked before the scrape"
        );
        assert!(cached < Duration::from_millis(50), "{cached:?}");
        for a in attackers {
            assert!(!a.await.unwrap());
        }
    }
}
