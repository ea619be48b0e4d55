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

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
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
    /// SHA-256 of `user:password` pairs that verified.
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
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
        Ok(WebConfig {
            tls,
            users: Arc::new(spec.basic_auth_users),
            verified: Arc::default(),
        })
    }

    /// Whether requests must carry basic auth.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization` header value.
    pub fn authorized(&self, header: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some((user, password)) = header.and_then(parse_basic) else {
            return false;
        };
        let Some(hash) = self.users.get(&user) else {
            return false;
        };
        let key: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0u8])
            .chain_update(password.as_bytes())
            .chain_update([0u8])
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        if self.verified.lock().is_ok_and(|v| v.contains(&key)) {
            return true;
        }
        let ok = bcrypt::verify(&password, hash).unwrap_or(false);
        if ok {
            if let Ok(mut v) = self.verified.lock() {
                v.insert(key);
            }
        }
        ok
    }
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
