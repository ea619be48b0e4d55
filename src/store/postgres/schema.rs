//! The PostgreSQL store's schema: its version in `store_schema`,
//! and the migrations that bring a database to [`SCHEMA_VERSION`], each in
//! its own transaction under an advisory lock.

use super::PgStore;
use crate::store::StoreError;

/// The migrations, in order: migration `i` brings the schema to version
/// `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_source_leases.sql"),
    include_str!("../migrations/postgres/0003_report_files.sql"),
    include_str!("../migrations/postgres/0004_tickets_fillfactor.sql"),
    include_str!("../migrations/postgres/0005_tickets_fillfactor_50.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// An advisory lock key of this program's migrations ("hdslo" in ASCII):
/// two processes opening one database migrate it one after the other.
const MIGRATION_LOCK: i64 = 0x68_64_73_6c_6f;

const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS store_schema (
         version BIGINT NOT NULL
     )";

impl PgStore {
    /// The database's schema version (0: none of this program's tables).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.run(
            || "reading the schema version".to_string(),
            |c| async move {
                let exists = c
                    .query_one("SELECT to_regclass('store_schema') IS NOT NULL", &[])
                    .await?
                    .try_get::<_, bool>(0)?;
                if !exists {
                    return Ok(0);
                }
                let row = c
                    .query_opt("SELECT max(version) FROM store_schema", &[])
                    .await?;
                Ok(row
                    .and_then(|r| r.try_get::<_, Option<i64>>(0).ok().flatten())
                    .unwrap_or(0))
            },
        )
    }

    /// Applies the migrations the database lacks; refuses a newer one
    /// before changing anything.
    pub(super) fn migrate(&self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                location: self.location.shown.clone(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        for (index, sql) in MIGRATIONS.iter().enumerate() {
            let version = index as i64 + 1;
            let what = || format!("migrating the schema to version {version}");
            let applied = self.transaction(what, "BEGIN", || {
                self.run(what, move |c| async move {
                    c.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                        .await?;
                    c.batch_execute(CREATE_VERSION_TABLE).await?;
                    let current: Option<i64> = c
                        .query_one("SELECT max(version) FROM store_schema", &[])
                        .await?
                        .try_get(0)?;
                    // Another process migrated meanwhile.
                    if current.unwrap_or(0) >= version {
                        return Ok(false);
                    }
                    c.batch_execute(sql).await?;
                    c.execute("DELETE FROM store_schema", &[]).await?;
                    c.execute(
                        "INSERT INTO store_schema (version) VALUES ($1)",
                        &[&version],
                    )
                    .await?;
                    Ok(true)
                })
            })?;
            if applied {
                tracing::debug!(store = %self.location.shown, version, "store schema migrated");
            }
        }
        let now = self.schema_version()?;
        if now > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                location: self.location.shown.clone(),
                found: now,
                known: SCHEMA_VERSION,
            });
        }
        if found == 0 {
            tracing::info!(store = %self.location.shown, version = SCHEMA_VERSION, "store created");
        } else {
            tracing::info!(store = %self.location.shown, from = found, to = SCHEMA_VERSION, "store schema migrated");
        }
        Ok(())
    }
}
