//! The PostgreSQL store: the [`Store`] trait on a PostgreSQL database, for
//! teams that run the daemon against a database they already back up and
//! monitor.
//!
//! What it guarantees is what every store does (see [`crate::store`]): a
//! batch of pages and its cursors are written in ONE transaction, pages
//! are idempotent (events deduplicated by id within their ticket, headers
//! replaced only by one at least as new), changed tickets are marked stale
//! in the same transaction, and clocks of an overtaken snapshot are not
//! saved. Writes are batched: a transaction of pages is about a dozen
//! statements (multi-row inserts of arrays through `unnest`, and `COPY`
//! for rows that cannot collide with stored ones) however many tickets it
//! holds, not one round trip per ticket, and a ticket's new events in a
//! batch are one row (a chunk, as in the SQLite store), not one per event.
//! Statements are prepared once per connection
//! (`PgStore::run_prepared`).
//!
//! Its schema is versioned in the table `store_schema` and migrated
//! on open by the SQL files in `src/store/migrations/postgres/`, each in
//! its own transaction under an advisory lock (two daemons opening one
//! database at once migrate it once). A database with a newer schema is
//! refused with [`StoreError::TooNew`], never touched.
//!
//! The password never comes from the location: a URL with one is refused
//! ([`PgLocation::parse`]); it is read from the environment variable
//! named by `password_env=`, the file named by `password_file=`, or
//! `HELPDESK_SLO_STORE_PASSWORD`.
//!
//! The trait is synchronous; the client (`tokio-postgres`) is driven by a
//! runtime of its own, one worker thread shared by every PostgreSQL store
//! of the process, and each call waits for its answer on a channel. So the
//! store can be opened, used and dropped from any thread, inside the
//! daemon's runtime or not.
//!
//! Several daemons can share one database: each source is written by the
//! one holding its lease ([`lease`]; [`Store::leases`], [`Store::fence`]),
//! so the generations of [`Store::save_clocks_as_of`] are counted in the
//! process that writes the source.
//!
//! By concern: [`schema`] migrates, [`write`] applies pages and saves
//! clocks, [`read`] reads, [`lease`] takes and checks leases, [`reports`]
//! keeps the monthly reports the daemons share.

mod lease;
mod memo;
mod read;
mod reports;
mod schema;
mod write;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio_postgres::{Client, NoTls, Statement};

use self::memo::LeaseMemo;
use super::codec::Events;
use super::redact::redact_location;
use super::{Applied, Fence, Leases, Store, StoreError, StoreStats, StoredClocks, TicketMeta};
use crate::engine::Ticket;
use crate::sources::{NoteRecord, Page};

pub use schema::SCHEMA_VERSION;

/// The environment variable the password is read from when the location
/// names neither `password_env=` nor `password_file=`.
pub const DEFAULT_PASSWORD_ENV: &str = "HELPDESK_SLO_STORE_PASSWORD";

/// A `postgres://` location taken apart: the URL for the client (without
/// this program's own parameters) and where its password comes from.
#[derive(Clone, PartialEq, Eq)]
pub struct PgLocation {
    /// The URL as written, for messages (it holds no password).
    shown: String,
    /// The URL without `password_env`, `password_file` and `sslrootcert`.
    url: String,
    password: PasswordFrom,
    tls: TlsMode,
}

/// Whether connections use TLS, from `sslmode=` and `sslrootcert=`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TlsMode {
    /// `disable`, `prefer` or none: plain connections.
    Off,
    /// `require`, `verify-ca` or `verify-full`: TLS, the server's
    /// certificate verified against these roots (a PEM file), else the
    /// public certificate authorities, and its host name checked.
    Verify { roots: Option<PathBuf> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PasswordFrom {
    Env(String),
    File(PathBuf),
    /// `HELPDESK_SLO_STORE_PASSWORD` if set, else no password.
    Default,
}

impl std::fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLocation")
            .field("url", &redact_location(&self.url))
            .field("password", &self.password)
            .field("tls", &self.tls)
            .finish()
    }
}

impl PgLocation {
    /// Reads a `postgres://` or `postgresql://` URL. Refuses one that holds
    /// a password (`user:PASSWORD@` or `password=`), naming the parameters
    /// to use instead, and one that names both `password_env` and
    /// `password_file`.
    pub fn parse(url: &str) -> Result<PgLocation, StoreError> {
        let refuse = |why: String| StoreError::Unsupported {
            location: redact_location(url),
            why,
        };
        let how = "a store's password is never written in `store:` or `--store`: \
             name an environment variable with `password_env=VARIABLE` or a file with \
             `password_file=PATH` (postgres://USER@HOST/DATABASE?password_env=VARIABLE), \
             or set HELPDESK_SLO_STORE_PASSWORD";
        let rest = url.split_once("://").map_or("", |(_, r)| r);
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        // The user's part ends at the last `@` of the authority.
        if let Some(at) = rest[..authority_end].rfind('@') {
            if rest[..at].contains(':') {
                return Err(refuse(format!("the URL holds a password; {how}")));
            }
        } else if let Some(at) = rest.rfind('@') {
            // An `@` past the host: a password with a `/` or `?` in it.
            if rest[..at].contains(':') {
                return Err(refuse(format!("the URL holds a password; {how}")));
            }
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let mut kept: Vec<String> = Vec::new();
        let mut env = None;
        let mut file = None;
        let mut sslmode = None;
        let mut roots = None;
        for param in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            let decoded = || {
                form_urlencoded::parse(format!("v={value}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            match name {
                n if n.eq_ignore_ascii_case("password") => {
                    return Err(refuse(format!(
                        "the URL holds a password (`password=`); {how}"
                    )))
                }
                "password_env" => env = Some(decoded()),
                "password_file" => file = Some(PathBuf::from(decoded())),
                "sslrootcert" => roots = Some(PathBuf::from(decoded())),
                "sslmode" => {
                    let mode = decoded();
                    // The client knows `require` only; it is what the
                    // stricter modes ask of it, and the verifying is ours.
                    let verify = match mode.as_str() {
                        "disable" | "prefer" => false,
                        "require" | "verify-ca" | "verify-full" => true,
                        other => {
                            return Err(refuse(format!(
                                "sslmode={other} is not a mode this build knows; write disable, \
                                 prefer, require, verify-ca or verify-full"
                            )))
                        }
                    };
                    kept.push(format!(
                        "sslmode={}",
                        if verify { "require" } else { mode.as_str() }
                    ));
                    sslmode = Some(verify);
                }
                _ => kept.push(param.to_string()),
            }
        }
        let password = match (env, file) {
            (Some(_), Some(_)) => {
                return Err(refuse(
                    "the URL names both `password_env` and `password_file`; give one".to_string(),
                ))
            }
            (Some(v), None) if v.is_empty() => {
                return Err(refuse("`password_env=` names no variable".to_string()))
            }
            (Some(v), None) => PasswordFrom::Env(v),
            (None, Some(f)) if f.as_os_str().is_empty() => {
                return Err(refuse("`password_file=` names no file".to_string()))
            }
            (None, Some(f)) => PasswordFrom::File(f),
            (None, None) => PasswordFrom::Default,
        };
        let tls = match (sslmode, roots) {
            (Some(true), roots) => TlsMode::Verify { roots },
            (_, Some(_)) => {
                return Err(refuse(
                    "`sslrootcert=` needs `sslmode=require` (or verify-full): without it the \
                     connection does not use TLS"
                        .to_string(),
                ))
            }
            _ => TlsMode::Off,
        };
        let url_for_client = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(PgLocation {
            shown: redact_location(url),
            url: url_for_client,
            password,
            tls,
        })
    }

    /// The location for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The password, read now from its variable or file (a file's last
    /// line break dropped). A missing variable or unreadable file is an
    /// error naming it, never showing a value.
    fn password(&self) -> Result<Option<String>, StoreError> {
        let unsupported = |why: String| StoreError::Unsupported {
            location: self.shown.clone(),
            why,
        };
        match &self.password {
            PasswordFrom::Env(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(Some(v)),
                _ => Err(unsupported(format!(
                    "the environment variable {name} (named by `password_env=`) is not set or is empty"
                ))),
            },
            PasswordFrom::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => {
                    let v = text.strip_suffix('\n').unwrap_or(&text);
                    let v = v.strip_suffix('\r').unwrap_or(v);
                    if v.is_empty() {
                        return Err(unsupported(format!(
                            "the password file {} (named by `password_file=`) is empty",
                            path.display()
                        )));
                    }
                    Ok(Some(v.to_string()))
                }
                Err(source) => Err(StoreError::Io {
                    location: self.shown.clone(),
                    what: format!(
                        "read the password file {} (named by `password_file=`)",
                        path.display()
                    ),
                    source,
                }),
            },
            PasswordFrom::Default => Ok(std::env::var(DEFAULT_PASSWORD_ENV)
                .ok()
                .filter(|v| !v.is_empty())),
        }
    }
}

/// Drives a connection until it closes, logging why it did.
async fn watch_connection<S, T>(connection: tokio_postgres::Connection<S, T>, shown: String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(e) = connection.await {
        tracing::warn!(store = %shown, error = %e, "store connection closed");
    }
}

impl PgLocation {
    /// The TLS connector of `sslmode=require` (and the stricter modes):
    /// rustls, verifying the server's certificate and host name against
    /// `sslrootcert=` or the public certificate authorities. `None`: plain.
    fn tls_connector(
        &self,
    ) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, StoreError> {
        use tokio_rustls::rustls;
        let TlsMode::Verify { roots } = &self.tls else {
            return Ok(None);
        };
        let invalid = |what: String| StoreError::Invalid {
            location: self.shown.clone(),
            what,
        };
        let mut store = rustls::RootCertStore::empty();
        match roots {
            Some(path) => {
                use rustls_pki_types::pem::PemObject;
                let named = |e: &dyn std::fmt::Display| {
                    invalid(format!(
                        "cannot read the certificate authorities of `sslrootcert=` from {}: {e}",
                        path.display()
                    ))
                };
                let certs: Vec<rustls_pki_types::CertificateDer<'static>> =
                    rustls_pki_types::CertificateDer::pem_file_iter(path)
                        .map_err(|e| named(&e))?
                        .collect::<Result<_, _>>()
                        .map_err(|e| named(&e))?;
                if certs.is_empty() {
                    return Err(named(&"no PEM certificate in it"));
                }
                for cert in certs {
                    store.add(cert).map_err(|e| named(&e))?;
                }
            }
            None => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
    }
}

/// The runtime that drives every PostgreSQL connection of the process.
fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("store-postgres")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// An error's message followed by its causes', for errors whose own
/// message leaves the cause out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct WithCauses(String);

impl WithCauses {
    fn of(e: &(dyn std::error::Error + 'static)) -> WithCauses {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            let more = c.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = c.source();
        }
        WithCauses(text)
    }
}

/// Why waiting for the client failed without an answer from the server.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ClientGone(String);

/// Runs `fut` on the store's runtime and waits for it on this thread.
fn block_on<T, F>(fut: F) -> Result<T, ClientGone>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime().map_err(|e| ClientGone(format!("cannot start its runtime: {e}")))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| ClientGone("the database client stopped before it answered".to_string()))
}

/// The PostgreSQL store. One connection; [`Store::reader`] opens another.
pub struct PgStore {
    /// The connection, replaced by a new one when the server closed it
    /// (a restart, a failover of the database) outside a transaction.
    client: Mutex<Arc<Client>>,
    /// The statements prepared on `client` (told apart by its address),
    /// by their SQL: each is parsed and described once per connection,
    /// not at every run (which also costs a round trip).
    statements: Mutex<(usize, HashMap<&'static str, Statement>)>,
    /// Whether a transaction is open on `client`: a connection lost in one
    /// fails the transaction, never reconnects in the middle of it.
    in_transaction: std::sync::atomic::AtomicBool,
    location: PgLocation,
    /// Commits that changed tickets, shared with the readers opened from
    /// this store ([`Store::generation`]).
    generation: Arc<AtomicU64>,
    /// The generation in which each ticket last changed, by key (commits
    /// of this store only: one that changed before any of them is one no
    /// snapshot counted from here can lack).
    changed_in: Mutex<HashMap<i64, u64>>,
    /// A generation every ticket may have changed in (a commit whose
    /// outcome is unknown).
    floor: AtomicU64,
    /// Once fenced ([`Store::fence`]): the lease held on each source this
    /// store may write; a write for any other source is refused.
    fences: Mutex<Option<HashMap<String, Fence>>>,
    /// What this store remembers of tickets' `ticket_refs` pairs, by
    /// ticket key: learned from committed batches only, forgotten when a
    /// batch fails. Bounded by [`REFS_CACHE_MAX`] keys.
    refs: Mutex<HashMap<i64, KnownRefs>>,
    /// Keys whose stale mark this store committed under a lease token, by
    /// source (the token with them), so a later batch of the ticket need not mark
    /// it again: while the store writes under that same token nobody else
    /// has written the source, and only this store's own saves (which take
    /// the keys out once committed) remove marks. Emptied when a write
    /// fails or the token changes. Bounded by [`REFS_CACHE_MAX`] keys.
    marked: LeaseMemo<HashSet<i64>>,
    /// The rows of `tickets` this store committed under a lease token, by
    /// source (the token with them) and id, as applying pages reads them:
    /// while the store writes under that token nobody else writes the
    /// source's tickets, so a later batch of the ticket need not read its
    /// row. Emptied when a write fails or the token changes. Bounded by
    /// [`REFS_CACHE_MAX`] rows. Shared with the readers opened from this
    /// store, which read the remembered tickets by key
    /// ([`PgStore::remembered_keys`]).
    rows: Arc<LeaseMemo<HashMap<String, write::Stored>>>,
}

/// What a [`PgStore`] remembers of one ticket's `ticket_refs` pairs.
#[derive(Debug, Default)]
struct KnownRefs {
    /// Hashes ([`write::ref_hash`]) of pairs stored, maybe not all of the
    /// ticket's; true for good (references are never removed), so a pair
    /// among them is not written again.
    hashes: Box<[u64]>,
    /// The lease token under which this store created the ticket's row,
    /// if it did so under a lease. While it writes under that same token
    /// nobody else has written the source (another holder would have taken
    /// the lease, and this store's token with it), so `hashes` are all the
    /// ticket's pairs and a new one can be copied in instead of upserted
    /// (a wrong guess would fail the batch on the primary key, never store
    /// a pair twice).
    complete_under: Option<i64>,
}

/// Tickets whose stored references [`PgStore`] remembers at most (as the
/// SQLite store bounds its caches): about 20 MB for a backfill's.
const REFS_CACHE_MAX: usize = 300_000;

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location.shown)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `location` and migrates its schema to
    /// [`SCHEMA_VERSION`]; a database with a newer schema is refused
    /// untouched.
    pub fn open(location: &PgLocation) -> Result<PgStore, StoreError> {
        let store = PgStore::connect(location, Arc::default(), PgStore::new_rows())?;
        store.migrate()?;
        Ok(store)
    }

    fn connect(
        location: &PgLocation,
        generation: Arc<AtomicU64>,
        rows: Arc<LeaseMemo<HashMap<String, write::Stored>>>,
    ) -> Result<PgStore, StoreError> {
        Ok(PgStore {
            client: Mutex::new(Arc::new(PgStore::client(location)?)),
            statements: Mutex::default(),
            in_transaction: Default::default(),
            location: location.clone(),
            generation,
            changed_in: Mutex::default(),
            floor: AtomicU64::new(0),
            fences: Mutex::default(),
            refs: Mutex::default(),
            marked: LeaseMemo::new(REFS_CACHE_MAX),
            rows,
        })
    }

    /// A new connection to the database of `location`.
    fn client(location: &PgLocation) -> Result<Client, StoreError> {
        let backend =
            |what: &str, source: Box<dyn std::error::Error + Send + Sync>| StoreError::Backend {
                location: location.shown.clone(),
                what: what.to_string(),
                source,
            };
        let mut config: tokio_postgres::Config = location
            .url
            .parse()
            .map_err(|e: tokio_postgres::Error| backend("reading the URL", Box::new(e)))?;
        if let Some(password) = location.password()? {
            config.password(password);
        }
        if config.get_application_name().is_none() {
            config.application_name("helpdesk-slo");
        }
        let shown = location.shown.clone();
        let tls = location.tls_connector()?;
        let client = block_on(async move {
            let client = match tls {
                None => {
                    let (client, connection) = config.connect(NoTls).await?;
                    tokio::spawn(watch_connection(connection, shown));
                    client
                }
                Some(tls) => {
                    let (client, connection) = config.connect(tls).await?;
                    tokio::spawn(watch_connection(connection, shown));
                    client
                }
            };
            Ok::<_, tokio_postgres::Error>(client)
        })
        .map_err(|e| backend("connecting", Box::new(e)))?
        // With its causes: "error performing TLS handshake" alone does not
        // say that the certificate was not trusted.
        .map_err(|e| backend("connecting", Box::new(WithCauses::of(&e))))?;
        Ok(client)
    }

    /// The connection to run a statement on: a new one when the server
    /// closed the last, unless a transaction was open on it (the
    /// transaction then fails with the closed connection's error).
    fn current_client(&self) -> Result<Arc<Client>, StoreError> {
        let mut client = self
            .client
            .lock()
            .map_err(|_| self.invalid("the connection's lock is poisoned"))?;
        if client.is_closed() && !self.in_transaction.load(Ordering::SeqCst) {
            tracing::warn!(store = %self.location.shown, "store connection lost; reconnecting");
            let fresh = Arc::new(PgStore::client(&self.location)?);
            if self.is_fenced() {
                self.set_idle_timeout(&fresh)?;
            }
            *client = fresh;
            // The statements prepared on the lost connection are gone.
            if let Ok(mut statements) = self.statements.lock() {
                *statements = Default::default();
            }
        }
        Ok(client.clone())
    }

    /// The error of a failed operation, naming it and the store.
    fn error(
        &self,
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Backend {
            location: self.location.shown.clone(),
            what: what.into(),
            source: Box::new(source),
        }
    }

    fn invalid(&self, what: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            location: self.location.shown.clone(),
            what: what.into(),
        }
    }

    /// Runs `f` on the client (on the store's runtime) and waits for it.
    fn run<T, F, Fut>(&self, what: impl Fn() -> String, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<Client>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
        T: Send + 'static,
    {
        let fut = f(self.current_client()?);
        block_on(fut)
            .map_err(|e| self.error(what(), e))?
            .map_err(|e| self.error(what(), e))
    }

    /// Runs `f` on the client with `sql` prepared on it: prepared once per
    /// connection, then only bound and run (one round trip, no parsing).
    fn run_prepared<T, F, Fut>(
        &self,
        what: impl Fn() -> String,
        sql: &'static str,
        f: F,
    ) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<Client>, Statement) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
        T: Send + 'static,
    {
        let client = self.current_client()?;
        let statement = self.statement(&client, &what, sql)?;
        block_on(f(client, statement))
            .map_err(|e| self.error(what(), e))?
            .map_err(|e| self.error(what(), e))
    }

    /// [`PgStore::run_prepared`] with several statements, prepared in
    /// the order given; `f` can run them at once (the client pipelines
    /// them: one round trip for all).
    fn run_prepared_all<T, F, Fut>(
        &self,
        what: impl Fn() -> String,
        sql: &[&'static str],
        f: F,
    ) -> Result<T, StoreError>
    where
        F: FnOnce(Arc<Client>, Vec<Statement>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
        T: Send + 'static,
    {
        let client = self.current_client()?;
        let statements = sql
            .iter()
            .map(|sql| self.statement(&client, &what, sql))
            .collect::<Result<Vec<_>, _>>()?;
        block_on(f(client, statements))
            .map_err(|e| self.error(what(), e))?
            .map_err(|e| self.error(what(), e))
    }

    /// `sql` prepared on `client`, from the cache or prepared now.
    fn statement(
        &self,
        client: &Arc<Client>,
        what: &impl Fn() -> String,
        sql: &'static str,
    ) -> Result<Statement, StoreError> {
        let id = Arc::as_ptr(client) as usize;
        let poisoned = || self.invalid("the prepared statements' lock is poisoned");
        {
            let cache = self.statements.lock().map_err(|_| poisoned())?;
            if cache.0 == id {
                if let Some(statement) = cache.1.get(sql) {
                    return Ok(statement.clone());
                }
            }
        }
        let c = client.clone();
        let statement = block_on(async move { c.prepare(sql).await })
            .map_err(|e| self.error(what(), e))?
            .map_err(|e| self.error(what(), e))?;
        let mut cache = self.statements.lock().map_err(|_| poisoned())?;
        if cache.0 != id {
            *cache = (id, HashMap::new());
        }
        cache.1.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Runs plain SQL (no parameters).
    fn batch(&self, what: impl Fn() -> String, sql: &'static str) -> Result<(), StoreError> {
        self.run(what, move |c| async move { c.batch_execute(sql).await })
    }

    /// Runs `body` in one transaction (`begin` starts it): committed if it
    /// succeeds, rolled back if it fails.
    fn transaction<T>(
        &self,
        what: impl Fn() -> String,
        begin: &'static str,
        body: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.batch(&what, begin)?;
        self.in_transaction.store(true, Ordering::SeqCst);
        let result = match body() {
            Ok(value) => {
                let committed = self.batch(&what, "COMMIT");
                if committed.is_err() {
                    // The commit may have happened (the answer was lost):
                    // count it for every ticket.
                    self.count_unknown_commit();
                }
                committed.map(|()| value)
            }
            Err(e) => {
                // The error that matters is the body's.
                let _ = self.batch(&what, "ROLLBACK");
                Err(e)
            }
        };
        self.in_transaction.store(false, Ordering::SeqCst);
        result
    }

    /// Runs `body` in one transaction that writes `source`'s data: when the
    /// store is fenced, the transaction first checks (and locks) that the
    /// lease on `source` is still the one it holds, and fails with
    /// [`StoreError::NotOwner`] otherwise, writing nothing.
    fn write_transaction<T>(
        &self,
        source: &str,
        what: impl Fn() -> String,
        body: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fence = match self.fences.lock() {
            Ok(f) => f.as_ref().map(|m| m.get(source).cloned()),
            Err(_) => return Err(self.invalid("the fences' lock is poisoned")),
        };
        self.transaction(&what, "BEGIN", || {
            match fence {
                None => {}
                Some(None) => return Err(self.not_owner(source, None)),
                Some(Some(f)) => {
                    let (s, i, t) = (source.to_string(), f.instance.clone(), f.token);
                    let held =
                        self.run_prepared(&what, lease::CHECK_FENCE, move |c, st| async move {
                            c.query_opt(&st, &[&s, &i, &t]).await
                        })?;
                    if held.is_none() {
                        return Err(self.not_owner(source, Some(&f)));
                    }
                }
            }
            body()
        })
    }

    fn not_owner(&self, source: &str, fence: Option<&Fence>) -> StoreError {
        StoreError::NotOwner {
            location: self.location.shown.clone(),
            source_name: source.to_string(),
            instance: fence.map_or_else(|| "this instance".to_string(), |f| f.instance.clone()),
        }
    }

    fn is_fenced(&self) -> bool {
        self.fences.lock().map_or(true, |f| f.is_some())
    }

    /// Makes the server end this connection's transactions left idle too
    /// long, so a paused daemon cannot hold a lease row locked.
    fn set_idle_timeout(&self, client: &Arc<Client>) -> Result<(), StoreError> {
        let c = client.clone();
        block_on(async move { c.batch_execute(lease::FENCED_IDLE_TIMEOUT).await })
            .map_err(|e| self.error("setting the idle transaction timeout", e))?
            .map_err(|e| self.error("setting the idle transaction timeout", e))
    }

    /// Runs `body` in a read-only snapshot: every query of it sees the
    /// same committed state.
    fn snapshot<T>(
        &self,
        what: impl Fn() -> String,
        body: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction(
            what,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            body,
        )
    }

    /// Records that the tickets of `keys` changed in a commit, then counts
    /// the commit (in that order: a snapshot that read the old count may
    /// lack it, and its clocks are refused).
    fn count_commit(&self, keys: &[i64]) {
        if keys.is_empty() {
            return;
        }
        let generation = self.generation.load(Ordering::SeqCst) + 1;
        if let Ok(mut changed_in) = self.changed_in.lock() {
            for &key in keys {
                changed_in.insert(key, generation);
            }
        }
        self.generation.store(generation, Ordering::SeqCst);
    }

    /// Counts a commit that may have changed any ticket: clocks of every
    /// snapshot older than it are refused (a recompute too many, never a
    /// clock that lacks a change).
    fn count_unknown_commit(&self) {
        let generation = self.generation.load(Ordering::SeqCst) + 1;
        self.floor.store(generation, Ordering::SeqCst);
        self.generation.store(generation, Ordering::SeqCst);
    }

    /// Remembers the `ticket_refs` pairs a committed transaction stored,
    /// by ticket key, and the rows it created under the lease token
    /// `token` (they had no pair before it); forgets every one first when
    /// they would be too many.
    fn learn_refs(&self, learned: Vec<(i64, u64)>, created: Vec<i64>, token: Option<i64>) {
        if learned.is_empty() && (created.is_empty() || token.is_none()) {
            return;
        }
        let Ok(mut refs) = self.refs.lock() else {
            return;
        };
        let mut by_key: HashMap<i64, Vec<u64>> = HashMap::new();
        for (key, hash) in learned {
            by_key.entry(key).or_default().push(hash);
        }
        if token.is_some() {
            for &key in &created {
                by_key.entry(key).or_default();
            }
        }
        if refs.len() + by_key.len() > REFS_CACHE_MAX {
            refs.clear();
        }
        for (key, mut hashes) in by_key {
            let entry = refs.entry(key).or_default();
            hashes.extend_from_slice(&entry.hashes);
            hashes.sort_unstable();
            hashes.dedup();
            entry.hashes = hashes.into_boxed_slice();
        }
        if token.is_some() {
            for key in created {
                if let Some(entry) = refs.get_mut(&key) {
                    entry.complete_under = token;
                }
            }
        }
    }

    /// Forgets every remembered `ticket_refs` pair (after a failed batch:
    /// whatever was guessed wrong is not guessed again).
    fn forget_refs(&self) {
        if let Ok(mut refs) = self.refs.lock() {
            refs.clear();
        }
    }

    /// A memo of ticket rows, for a store and the readers opened from it.
    fn new_rows() -> Arc<LeaseMemo<HashMap<String, write::Stored>>> {
        Arc::new(LeaseMemo::new(REFS_CACHE_MAX))
    }

    /// Takes out of `keys` those whose stale mark is known committed for
    /// `source` under `token` (none without a token: an unfenced store
    /// cannot know that nobody cleared a mark).
    fn known_marked(&self, source: &str, token: Option<i64>, keys: &mut Vec<i64>) {
        self.marked
            .read(source, token, |known| keys.retain(|k| !known.contains(k)));
    }

    /// Remembers the stale marks of `source` that a committed transaction
    /// under `token` made, and forgets those it removed (before learning
    /// the made ones: a key in both is still marked).
    fn learn_marks(&self, source: &str, token: Option<i64>, marked: Vec<i64>, unmarked: &[i64]) {
        self.marked.learn(source, token, marked.len(), |known| {
            for key in unmarked {
                known.remove(key);
            }
            known.extend(marked);
        });
    }

    /// The remembered rows of `source` under `token` among `ids`, taken
    /// out of `ids` (none without a token).
    fn known_rows(
        &self,
        source: &str,
        token: Option<i64>,
        ids: &mut Vec<String>,
    ) -> HashMap<String, write::Stored> {
        let mut found = HashMap::new();
        self.rows.read(source, token, |known| {
            ids.retain(|id| match known.get(id) {
                Some(row) => {
                    found.insert(id.clone(), row.clone());
                    false
                }
                None => true,
            })
        });
        found
    }

    /// Remembers the rows of `source` a committed transaction under
    /// `token` left.
    fn learn_rows(&self, source: &str, token: Option<i64>, learned: Vec<(String, write::Stored)>) {
        self.rows
            .learn(source, token, learned.len(), |known| known.extend(learned));
    }

    /// The remembered rows of `source` under `token` among `ids` known to
    /// have no clocks row, taken out of `ids`: their keys, and whether
    /// their tickets are live (not deleted, with a header).
    fn known_unclocked(
        &self,
        source: &str,
        token: Option<i64>,
        ids: &mut Vec<String>,
    ) -> HashMap<String, (i64, bool)> {
        let mut found = HashMap::new();
        self.rows.read(source, token, |known| {
            ids.retain(|id| match known.get(id) {
                Some(row) if row.clocks == Some(false) => {
                    found.insert(id.clone(), (row.key, row.is_live()));
                    false
                }
                _ => true,
            })
        });
        found
    }

    /// Remembers that the tickets `ids` of `source` have a clocks row,
    /// saved by a committed transaction under `token`.
    fn learn_clocked(&self, source: &str, token: Option<i64>, ids: &[String]) {
        self.rows.amend(source, token, |known| {
            for id in ids {
                if let Some(row) = known.get_mut(id) {
                    row.clocks = Some(true);
                }
            }
        });
    }

    /// The keys of the tickets of `source` among `ids` whose rows this
    /// store or the store it was opened from remembers (under any lease
    /// token: a ticket's key never changes, as its row is never deleted),
    /// taken out of `ids`.
    fn remembered_keys(&self, source: &str, ids: &mut Vec<String>) -> Vec<i64> {
        let mut keys = Vec::new();
        self.rows.read_any(source, |known| {
            ids.retain(|id| match known.get(id) {
                Some(row) => {
                    keys.push(row.key);
                    false
                }
                None => true,
            })
        });
        keys
    }

    /// Forgets every remembered row (after a failed write).
    fn forget_rows(&self) {
        self.rows.forget();
    }

    /// Forgets every remembered stale mark (after a write whose outcome is
    /// not known: its removals may have been committed).
    fn forget_marks(&self) {
        self.marked.forget();
    }

    /// The lease token this store writes `source` under, if it is fenced
    /// and holds one.
    fn fence_token(&self, source: &str) -> Option<i64> {
        let fences = self.fences.lock().ok()?;
        fences.as_ref()?.get(source).map(|f| f.token)
    }

    /// The generation of the ticket's last change in this store, 0 if none.
    fn last_change(&self, key: i64) -> u64 {
        let floor = self.floor.load(Ordering::SeqCst);
        match self.changed_in.lock() {
            Ok(changed_in) => changed_in.get(&key).copied().unwrap_or(0).max(floor),
            // A poisoned map: refuse every snapshot's clocks (a recompute
            // too many, never a clock that lacks a change).
            Err(_) => u64::MAX,
        }
    }
}

impl Store for PgStore {
    fn apply_page(&mut self, source: &str, page: &Page) -> Result<Vec<String>, StoreError> {
        Ok(self
            .apply_batch(source, std::slice::from_ref(page))?
            .changed)
    }

    fn apply_pages(&mut self, source: &str, pages: &[Page]) -> Result<Vec<String>, StoreError> {
        Ok(self.apply_batch(source, pages)?.changed)
    }

    fn apply_batch(&mut self, source: &str, pages: &[Page]) -> Result<Applied, StoreError> {
        write::apply_batch(self, source, pages)
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn location(&self) -> String {
        self.location.shown.clone()
    }

    fn reader(&self) -> Result<Option<Box<dyn Store>>, StoreError> {
        let reader = PgStore::connect(&self.location, self.generation.clone(), self.rows.clone())?;
        let found = reader.schema_version()?;
        if found != SCHEMA_VERSION {
            return Err(reader.invalid(format!(
                "opening a reading connection: the database is at schema version {found}, not {SCHEMA_VERSION}"
            )));
        }
        Ok(Some(Box::new(reader)))
    }

    fn leases(&self) -> Result<Option<Box<dyn Leases>>, StoreError> {
        let own = PgStore::connect(&self.location, Arc::default(), PgStore::new_rows())?;
        Ok(Some(Box::new(lease::PgLeases::new(own))))
    }

    fn fence(&mut self, source: &str, fence: Option<Fence>) {
        let newly = match self.fences.lock() {
            Ok(mut fences) => {
                let newly = fences.is_none();
                let map = fences.get_or_insert_with(HashMap::new);
                match fence {
                    Some(f) => map.insert(source.to_string(), f),
                    None => map.remove(source),
                };
                newly
            }
            Err(_) => false,
        };
        if newly {
            // Without it, a paused daemon could keep a lease row locked.
            let set = self
                .current_client()
                .and_then(|c| self.set_idle_timeout(&c));
            if let Err(e) = set {
                tracing::warn!(store = %self.location.shown, error = %e, "cannot limit idle transactions; a paused instance may delay a takeover");
            }
        }
    }

    fn claim_report_run(&mut self, at: i64, instance: &str) -> Result<bool, StoreError> {
        reports::claim_run(self, at, instance)
    }

    fn save_report_files(&mut self, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        reports::save(self, files)
    }

    fn report_files(&self) -> Result<Vec<(String, i64)>, StoreError> {
        reports::list(self)
    }

    fn report_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        reports::read(self, name)
    }

    fn cursor(&self, source: &str, stream: &str) -> Result<Option<String>, StoreError> {
        read::cursor(self, source, stream)
    }

    fn ticket(&self, source: &str, id: &str) -> Result<Option<Ticket>, StoreError> {
        Ok(self
            .tickets(source, std::slice::from_ref(&id.to_string()))?
            .pop())
    }

    fn tickets(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError> {
        let what = || format!("reading tickets of {source}");
        self.snapshot(what, || read::tickets(self, source, ids, Events::All))
    }

    fn timelines(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError> {
        let what = || format!("reading tickets of {source}");
        self.snapshot(what, || read::tickets(self, source, ids, Events::Timeline))
    }

    fn for_each_ticket(
        &self,
        source: &str,
        ids: &[String],
        f: &mut dyn FnMut(Ticket),
    ) -> Result<(), StoreError> {
        let what = || format!("reading {} tickets of {source}", ids.len());
        self.snapshot(what, || {
            for chunk in ids.chunks(500) {
                for t in read::tickets(self, source, chunk, Events::All)? {
                    f(t);
                }
            }
            Ok(())
        })
    }

    fn ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        read::ticket_ids(self, source)
    }

    fn stale_ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        read::stale_ticket_ids(self, source)
    }

    fn ticket_ids_computed_under_other_config(
        &self,
        source: &str,
        config_hash: &str,
    ) -> Result<Vec<String>, StoreError> {
        read::ticket_ids_computed_under_other_config(self, source, config_hash)
    }

    fn save_clocks_batch(
        &mut self,
        source: &str,
        clocks: &[(String, String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        self.save_clocks_as_of(source, clocks, u64::MAX)?;
        Ok(())
    }

    fn save_clocks_as_of(
        &mut self,
        source: &str,
        clocks: &[(String, String, Vec<u8>)],
        as_of: u64,
    ) -> Result<super::SavedClocks, StoreError> {
        write::save_clocks_as_of(self, source, clocks, as_of)
    }

    fn clocks(
        &self,
        source: &str,
        ticket_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        read::clocks(self, source, ticket_id)
    }

    fn all_clocks(&self, source: &str) -> Result<Vec<StoredClocks>, StoreError> {
        let mut out = Vec::new();
        self.for_each_clocks(source, &mut |row| out.push(row))?;
        Ok(out)
    }

    fn for_each_clocks(
        &self,
        source: &str,
        f: &mut dyn FnMut(StoredClocks),
    ) -> Result<(), StoreError> {
        let what = || format!("reading the clocks of {source}");
        self.snapshot(what, || read::for_each_clocks(self, source, f))
    }

    fn tickets_changed_since(&self, source: &str, since: i64) -> Result<Vec<String>, StoreError> {
        read::tickets_changed_since(self, source, since)
    }

    fn ticket_metas(&self, source: &str) -> Result<Vec<TicketMeta>, StoreError> {
        read::ticket_metas(self, source)
    }

    fn record_poll(&mut self, source: &str, at: i64) -> Result<(), StoreError> {
        write::record_poll(self, source, at)
    }

    fn notes(&self, source: &str, from: i64, to: i64) -> Result<Vec<NoteRecord>, StoreError> {
        read::notes(self, source, from, to)
    }

    fn count_notes(&self, source: &str, kind: &str) -> Result<u64, StoreError> {
        read::count_notes(self, source, kind)
    }

    fn polls(&self, source: &str, from: i64, to: i64) -> Result<Vec<i64>, StoreError> {
        read::polls(self, source, from, to)
    }

    fn for_each_ticket_active_in(
        &self,
        source: &str,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(crate::store::ActiveTicket),
    ) -> Result<(), StoreError> {
        let what = || format!("reading the tickets of {source} active in [{from}, {to})");
        self.snapshot(what, || read::for_each_active(self, source, from, to, f))
    }

    fn for_each_settled_ticket(
        &self,
        source: &str,
        from: i64,
        until: i64,
        f: &mut dyn FnMut(crate::store::SettledTicket),
    ) -> Result<(), StoreError> {
        let what = || format!("reading the tickets of {source} settled in [{from}, {until})");
        self.snapshot(what, || {
            read::for_each_settled(self, source, from, until, f)
        })
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        read::stats(self)
    }
}

#[cfg(test)]
mod tests {
    use super::{PasswordFrom, PgLocation, TlsMode};
    use crate::store::StoreError;
    use std::path::PathBuf;

    fn refused(url: &str) -> String {
        match PgLocation::parse(url) {
            Ok(l) => panic!("{url} parsed as {l:?}"),
            Err(e) => {
                assert!(matches!(e, StoreError::Unsupported { .. }), "{e:?}");
                e.to_string()
            }
        }
    }

    #[test]
    fn a_url_with_a_password_is_refused_naming_where_the_password_goes() {
        for url in [
            "postgres://slo:hunter2@db.example/helpdesk",
            "postgresql://slo:hunter2@db.example:5432/helpdesk?sslmode=disable",
            "postgres://slo@db.example/helpdesk?password=hunter2",
            "postgres://slo:hun/ter2@db.example/helpdesk",
        ] {
            let message = refused(url);
            assert!(message.contains("holds a password"), "{message}");
            assert!(message.contains("password_env="), "{message}");
            assert!(message.contains("password_file="), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!message.contains("hun/ter2"), "{message}");
        }
    }

    #[test]
    fn tls_modes_are_read_and_the_client_gets_what_it_knows() {
        let loc = |q: &str| PgLocation::parse(&format!("postgres://u@h/d?{q}"));
        let strict = loc("sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem").unwrap();
        assert_eq!(
            strict.tls,
            TlsMode::Verify {
                roots: Some(PathBuf::from("/etc/ca.pem"))
            }
        );
        assert_eq!(strict.url, "postgres://u@h/d?sslmode=require");
        assert_eq!(
            loc("sslmode=require").unwrap().tls,
            TlsMode::Verify { roots: None }
        );
        assert_eq!(loc("sslmode=prefer").unwrap().tls, TlsMode::Off);
        assert_eq!(loc("").unwrap().tls, TlsMode::Off);
        let refused_q = |q: &str| loc(q).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused_q("sslrootcert=ca.pem").contains("needs `sslmode=require`"));
        assert!(refused_q("sslmode=sometimes").contains("verify-full"));
    }

    #[test]
    fn the_password_comes_from_the_named_variable_or_file() {
        let l = PgLocation::parse("postgres://slo@db/helpdesk?password_env=PG_PW&sslmode=disable")
            .unwrap();
        assert_eq!(l.url, "postgres://slo@db/helpdesk?sslmode=disable");
        assert_eq!(l.password, PasswordFrom::Env("PG_PW".to_string()));
        let l = PgLocation::parse("postgres://slo@db/helpdesk?password_file=%2Frun%2Fpw").unwrap();
        assert_eq!(l.url, "postgres://slo@db/helpdesk");
        assert_eq!(l.password, PasswordFrom::File(PathBuf::from("/run/pw")));
        let l = PgLocation::parse("postgres://slo@db/helpdesk").unwrap();
        assert_eq!(l.password, PasswordFrom::Default);
        let message = refused("postgres://slo@db/x?password_env=A&password_file=/b");
        assert!(message.contains("both"), "{message}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let l = PgLocation::parse(&format!(
            "postgres://slo@db/x?password_file={}",
            file.display()
        ))
        .unwrap();
        assert_eq!(l.password().unwrap().as_deref(), Some("s3cret"));
        let l = PgLocation::parse("postgres://slo@db/x?password_env=HELPDESK_SLO_TEST_UNSET_PW")
            .unwrap();
        let message = l.password().unwrap_err().to_string();
        assert!(message.contains("HELPDESK_SLO_TEST_UNSET_PW"), "{message}");
        assert!(message.contains("password_env="), "{message}");
        let l = PgLocation::parse("postgres://slo@db/x?password_file=/nonexistent/pw").unwrap();
        let message = l.password().unwrap_err().to_string();
        assert!(message.contains("/nonexistent/pw"), "{message}");
    }
}
