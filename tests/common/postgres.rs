//! A database of its own for one test on the test PostgreSQL cluster,
//! dropped when the test ends. `scripts/test.sh` starts the cluster and
//! names it in `HELPDESK_SLO_TEST_POSTGRES`; without it the tests that need
//! PostgreSQL fail saying so (they never skip).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

/// The variable naming the test cluster:
/// `postgres://USER@HOST:PORT/DATABASE?password_env=VARIABLE`.
pub const URL_ENV: &str = "HELPDESK_SLO_TEST_POSTGRES";

/// A fresh, empty database (C collation, UTF-8), dropped on drop.
pub struct PgDatabase {
    name: String,
    url: String,
    admin: String,
}

/// The test cluster's URL, or a failure that says how to get one.
pub fn cluster_url() -> String {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{URL_ENV} is not set: the PostgreSQL store tests need a PostgreSQL server. \
             Run scripts/test.sh, which installs PostgreSQL if needed and starts a throwaway \
             cluster, or start one and set {URL_ENV}=postgres://USER@HOST:PORT/DATABASE\
             ?password_env=VARIABLE (with VARIABLE holding the password)"
        ),
    }
}

impl PgDatabase {
    pub fn new(label: &str) -> PgDatabase {
        static N: AtomicUsize = AtomicUsize::new(0);
        let admin = cluster_url();
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(30)
            .collect();
        let name = format!(
            "hs_{label}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        admin_sql(
            &admin,
            &format!(
                "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' \
                 LC_COLLATE 'C' LC_CTYPE 'C'"
            ),
        )
        .unwrap_or_else(|e| panic!("creating test database {name} on {URL_ENV}: {e}"));
        let url = with_database(&admin, &name);
        PgDatabase { name, url, admin }
    }

    /// The store location of this database (its password named, not written).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs SQL on this database (to look at or tamper with what a store wrote).
    pub fn sql(&self, sql: &str) -> Result<(), String> {
        admin_sql(&self.url, sql)
    }

    /// Runs `sql` in a transaction on a connection of its own and keeps the
    /// transaction open (with the locks it took) until the result is
    /// dropped, then rolls it back.
    pub fn hold_in_transaction(&self, sql: &str) -> Held {
        let (config, _) = client_config(&self.url).unwrap();
        let sql = format!("BEGIN; {sql}");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (end_tx, end_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (client, conn) = match config.connect(tokio_postgres::NoTls).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                tokio::spawn(conn);
                let began = client.batch_execute(&sql).await.map_err(|e| e.to_string());
                let _ = ready_tx.send(began);
                let _ = tokio::task::spawn_blocking(move || end_rx.recv()).await;
                let _ = client.batch_execute("ROLLBACK").await;
            });
        });
        ready_rx
            .recv()
            .unwrap()
            .unwrap_or_else(|e| panic!("holding a transaction: {e}"));
        Held {
            end: Some(end_tx),
            thread: Some(thread),
        }
    }

    /// The first column of the first row of a query on this database, as text.
    pub fn query_text(&self, sql: &str) -> Result<Option<String>, String> {
        let (config, _) = client_config(&self.url)?;
        let sql = sql.to_string();
        on_runtime(async move {
            let (client, conn) = config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let row = client
                .query_opt(&sql, &[])
                .await
                .map_err(|e| e.to_string())?;
            Ok(row.and_then(|r| r.try_get::<_, Option<String>>(0).ok().flatten()))
        })
    }
}

/// A transaction kept open by [`PgDatabase::hold_in_transaction`].
pub struct Held {
    end: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.end.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = admin_sql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[start..].find('/') {
        Some(slash) => &base[..start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The client config of a test URL: its `password_env` read and removed.
fn client_config(url: &str) -> Result<(tokio_postgres::Config, ()), String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut password = None;
    for p in query.split('&').filter(|p| !p.is_empty()) {
        match p.split_once('=') {
            Some(("password_env", var)) => {
                password = Some(std::env::var(var).map_err(|_| format!("{var} is not set"))?)
            }
            _ => kept.push(p),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    if let Some(p) = password {
        config.password(p);
    }
    Ok((config, ()))
}

fn on_runtime<T: Send + 'static>(
    fut: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(fut)
    })
    .join()
    .map_err(|_| "the test's database thread panicked".to_string())?
}

/// Runs SQL (no parameters) on the database of `url`.
fn admin_sql(url: &str, sql: &str) -> Result<(), String> {
    let (config, _) = client_config(url)?;
    let sql = sql.to_string();
    on_runtime(async move {
        let (client, conn) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        client.batch_execute(&sql).await.map_err(|e| e.to_string())
    })
}
