//! Monthly reports in the PostgreSQL store: the files every daemon sharing
//! the database serves, and the claim that makes one daemon of the fleet
//! write each scheduled run.

use super::PgStore;
use crate::store::StoreError;

/// [`Store::claim_report_run`](crate::store::Store::claim_report_run).
pub(super) fn claim_run(store: &PgStore, at: i64, instance: &str) -> Result<bool, StoreError> {
    let i = instance.to_string();
    let n = store.run(
        || format!("claiming the report run at {at}"),
        move |c| async move {
            c.execute(
                "INSERT INTO report_runs (at, holder) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&at, &i],
            )
            .await
        },
    )?;
    Ok(n == 1)
}

/// [`Store::save_report_files`](crate::store::Store::save_report_files).
pub(super) fn save(store: &PgStore, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
    if files.is_empty() {
        return Ok(());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let names: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
    let contents: Vec<Vec<u8>> = files.iter().map(|f| f.1.clone()).collect();
    store.run(
        || "saving report files".to_string(),
        move |c| async move {
            c.execute(
                "INSERT INTO report_files (name, content, saved_at)
                 SELECT n, c, $3 FROM unnest($1::text[], $2::bytea[]) AS f(n, c)
                 ON CONFLICT (name) DO UPDATE
                 SET content = excluded.content, saved_at = excluded.saved_at",
                &[&names, &contents, &now],
            )
            .await
        },
    )?;
    Ok(())
}

/// [`Store::report_files`](crate::store::Store::report_files).
pub(super) fn list(store: &PgStore) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = store.run(
        || "listing report files".to_string(),
        |c| async move {
            c.query("SELECT name, saved_at FROM report_files ORDER BY name", &[])
                .await
        },
    )?;
    rows.iter()
        .map(|r| {
            let read = |e| store.error("listing report files", e);
            Ok((r.try_get(0).map_err(read)?, r.try_get(1).map_err(read)?))
        })
        .collect()
}

/// [`Store::report_file`](crate::store::Store::report_file).
pub(super) fn read(store: &PgStore, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let n = name.to_string();
    let row = store.run(
        || format!("reading report file {name}"),
        move |c| async move {
            c.query_opt("SELECT content FROM report_files WHERE name = $1", &[&n])
                .await
        },
    )?;
    row.map(|r| {
        r.try_get(0)
            .map_err(|e| store.error("reading a report file", e))
    })
    .transpose()
}
