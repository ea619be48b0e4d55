//! The schema of a store file: the migrations that bring it, version by
//! version, to [`SCHEMA_VERSION`], and the code steps that reshape rows on
//! the way.

use std::path::Path;

use rusqlite::{params, OptionalExtension, Transaction};

use super::merge::{event_ref, MARK_STALE, PUT_REF};
use super::{codec_error, json_error, sql_error, SqliteStore};
use crate::engine::JsonClockView;
use crate::sources::{ChangeRecord, TicketHeader};
use crate::store::codec;
use crate::store::StoreError;

/// Code that reshapes rows in a migration's transaction.
type CopyRows = fn(&Transaction<'_>, &Path) -> Result<(), StoreError>;

/// One step of the schema: SQL, then (for a step that reshapes data) code
/// run in the same transaction, then more SQL.
struct Migration {
    sql: &'static str,
    copy: Option<CopyRows>,
    finish: &'static str,
}

/// The migrations, in order; migration `n` (1-based) brings the file to
/// schema version `n`.
const MIGRATIONS: &[Migration] = &[
    Migration {
        sql: include_str!("../migrations/0001_init.sql"),
        copy: None,
        finish: "",
    },
    Migration {
        sql: include_str!("../migrations/0002_arrivals_and_polls.sql"),
        copy: None,
        finish: "",
    },
    Migration {
        sql: include_str!("../migrations/0003_compact_timelines.sql"),
        copy: Some(copy_version_2_rows),
        finish: include_str!("../migrations/0003_compact_timelines_finish.sql"),
    },
    Migration {
        sql: include_str!("../migrations/0004_event_chunks.sql"),
        copy: Some(copy_version_3_rows),
        finish: include_str!("../migrations/0004_event_chunks_finish.sql"),
    },
    Migration {
        sql: include_str!("../migrations/0005_compact_clocks.sql"),
        copy: Some(copy_version_4_clocks),
        finish: include_str!("../migrations/0005_compact_clocks_finish.sql"),
    },
    Migration {
        sql: include_str!("../migrations/0006_compact_headers.sql"),
        copy: Some(copy_version_5_headers),
        finish: "",
    },
    Migration {
        sql: include_str!("../migrations/0007_chunks_by_ticket.sql"),
        copy: None,
        finish: "",
    },
    Migration {
        sql: include_str!("../migrations/0008_source_notes.sql"),
        copy: None,
        finish: "",
    },
    Migration {
        sql: include_str!("../migrations/0009_latest_events.sql"),
        copy: None,
        finish: "",
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A chunk in the table of schema version 4 to 6, numbered as written.
const PUT_CHUNK_V4: &str = "INSERT INTO event_chunks (key, max_at, count, stored_at, events)
     VALUES (?1, ?2, ?3, ?4, ?5)";

impl SqliteStore {
    /// Applies the migrations the file lacks, each in its own transaction.
    pub(super) fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        let path = &self.path;
        for (index, step) in MIGRATIONS.iter().enumerate() {
            let version = index as i64 + 1;
            if version <= found {
                continue;
            }
            let what = format!("migrating the schema to version {version}");
            let tx = self
                .conn
                .transaction()
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            tx.execute_batch(step.sql)
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            if let Some(copy) = step.copy {
                copy(&tx, path)?;
            }
            tx.execute_batch(step.finish)
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            tx.pragma_update(None, "user_version", version)
                .map_err(|e| sql_error(path, what.as_str(), e))?;
            tx.commit().map_err(|e| sql_error(path, what.as_str(), e))?;
            tracing::debug!(path = %path.display(), version, "store schema migrated");
        }
        // One line, not one per version: a new file is simply created.
        if found == 0 {
            tracing::info!(path = %path.display(), version = SCHEMA_VERSION, "store created");
        } else if found < SCHEMA_VERSION {
            tracing::info!(path = %path.display(), from = found, to = SCHEMA_VERSION, "store schema migrated");
        }
        Ok(())
    }
}

/// Schema 2 → 3: every ticket's header and events into one row, clocks and
/// lookups keyed by the new integer key. Runs inside the migration's
/// transaction, before the old tables are dropped.
fn copy_version_2_rows(tx: &Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    let what = "migrating the schema to version 3 (copying tickets)";
    let q = |e| sql_error(path, what, e);
    let ids: Vec<(String, String)> = tx
        .prepare(
            "SELECT source, id FROM tickets UNION SELECT source, ticket_id FROM events
             ORDER BY 1, 2",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(q)?;
    let mut copied = 0usize;
    for (source, id) in ids {
        let header: Option<(String, i64, Option<String>, bool, i64)> = tx
            .prepare_cached(
                "SELECT header, updated_at, organization_id, deleted, changed_at FROM tickets
                 WHERE source = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![source, id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()
            })
            .map_err(q)?;
        let parsed: Option<TicketHeader> = match &header {
            Some((json, ..)) => Some(serde_json::from_str(json).map_err(|e| {
                json_error(
                    path,
                    format!("{what}: the header of ticket {id} of {source}"),
                    e,
                )
            })?),
            None => None,
        };
        let requester = parsed.as_ref().and_then(|h| h.requester_id.as_deref());
        let mut blob = Vec::new();
        let mut count = 0i64;
        let mut refs: Vec<(&'static str, String)> = Vec::new();
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT event_id, at, change FROM events
                     WHERE source = ?1 AND ticket_id = ?2 ORDER BY at, event_id",
                )
                .map_err(q)?;
            let mut rows = stmt.query(params![source, id]).map_err(q)?;
            while let Some(row) = rows.next().map_err(q)? {
                let event_id: String = row.get(0).map_err(q)?;
                let at: i64 = row.get(1).map_err(q)?;
                let change: String = row.get(2).map_err(q)?;
                let change: ChangeRecord = serde_json::from_str(&change).map_err(|e| {
                    json_error(
                        path,
                        format!("{what}: event {event_id} of ticket {id} of {source}"),
                        e,
                    )
                })?;
                if let Some((kind, target)) = event_ref(&change, requester) {
                    refs.push((kind, target.to_string()));
                }
                codec::encode_event(&mut blob, &event_id, at, &change);
                count += 1;
            }
        }
        let clocks: Option<(String, String, bool)> = tx
            .prepare_cached(
                "SELECT config_hash, json, stale FROM clocks WHERE source = ?1 AND ticket_id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![source, id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(q)?;
        let stale = !matches!(clocks, Some((_, _, false)));
        tx.prepare_cached(
            "INSERT INTO tickets_v3 (source, id, header, updated_at, created_at, organization_id,
                 deleted, events, event_count, changed_at, requester_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .and_then(|mut s| {
            s.execute(params![
                source,
                id,
                header.as_ref().map(|h| h.0.as_str()),
                header.as_ref().map(|h| h.1),
                parsed.as_ref().map(|h| h.created_at),
                header.as_ref().and_then(|h| h.2.as_deref()),
                header.as_ref().is_some_and(|h| h.3),
                blob,
                count,
                header.as_ref().map_or(0, |h| h.4),
                requester
            ])
        })
        .map_err(q)?;
        let key = tx.last_insert_rowid();
        if stale {
            tx.prepare_cached(MARK_STALE)
                .and_then(|mut s| s.execute(params![key]))
                .map_err(q)?;
        }
        if let Some((hash, json, _)) = clocks {
            tx.prepare_cached("INSERT INTO clocks_v3 (key, config_hash, json) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| s.execute(params![key, hash, json]))
                .map_err(q)?;
        }
        if let Some(o) = parsed.as_ref().and_then(|h| h.organization_id.clone()) {
            refs.push(("o", o));
        }
        for (kind, target) in refs {
            tx.prepare_cached(PUT_REF)
                .and_then(|mut s| s.execute(params![source, kind, target, key]))
                .map_err(q)?;
        }
        copied += 1;
    }
    if copied > 0 {
        tracing::info!(path = %path.display(), tickets = copied, "store rows copied to schema version 3");
    }
    Ok(())
}

/// Schema 3 → 4: each ticket's events move out of its row into one chunk.
/// Runs inside the migration's transaction, before the columns are dropped.
fn copy_version_3_rows(tx: &Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    let what = "migrating the schema to version 4 (moving events into chunks)";
    let q = |e| sql_error(path, what, e);
    let mut read = tx
        .prepare(
            "SELECT key, source, id, events, event_count, changed_at FROM tickets
             WHERE event_count > 0 ORDER BY key",
        )
        .map_err(q)?;
    let mut put = tx.prepare(PUT_CHUNK_V4).map_err(q)?;
    let mut rows = read.query([]).map_err(q)?;
    let mut moved = 0usize;
    while let Some(row) = rows.next().map_err(q)? {
        let (key, source, id, events, count, changed_at): (i64, String, String, Vec<u8>, i64, i64) = (
            row.get(0).map_err(q)?,
            row.get(1).map_err(q)?,
            row.get(2).map_err(q)?,
            row.get(3).map_err(q)?,
            row.get(4).map_err(q)?,
            row.get(5).map_err(q)?,
        );
        let frames = codec::frames(&events).map_err(|e| codec_error(path, &source, &id, e))?;
        let Some(max_at) = frames.iter().map(|f| f.at).max() else {
            continue;
        };
        put.execute(params![key, max_at, count, changed_at, events])
            .map_err(q)?;
        moved += 1;
    }
    if moved > 0 {
        tracing::info!(path = %path.display(), tickets = moved, "store events moved into chunks (schema version 4)");
    }
    Ok(())
}

/// Schema 4 → 5: every ticket's clocks from JSON into the compact form. A
/// row whose JSON does not parse is dropped and its ticket marked stale:
/// clocks are derived data, computed again on the next poll.
fn copy_version_4_clocks(tx: &Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    let what = "migrating the schema to version 5 (compact clocks)";
    let q = |e| sql_error(path, what, e);
    let mut read = tx
        .prepare("SELECT key, config_hash, json FROM clocks ORDER BY key")
        .map_err(q)?;
    let mut put = tx
        .prepare("INSERT INTO clocks_v5 (key, config_hash, clocks) VALUES (?1, ?2, ?3)")
        .map_err(q)?;
    let mut mark = tx.prepare(MARK_STALE).map_err(q)?;
    let mut rows = read.query([]).map_err(q)?;
    let (mut converted, mut dropped) = (0usize, 0usize);
    while let Some(row) = rows.next().map_err(q)? {
        let key: i64 = row.get(0).map_err(q)?;
        let hash: String = row.get(1).map_err(q)?;
        let json = row.get_ref(2).map_err(q)?.as_str().unwrap_or_default();
        match JsonClockView::parse_list(json) {
            Ok(list) => {
                let views: Vec<_> = list.iter().map(JsonClockView::view).collect();
                put.execute(params![key, hash, codec::encode_clocks(&views)])
                    .map_err(q)?;
                converted += 1;
            }
            Err(_) => {
                mark.execute(params![key]).map_err(q)?;
                dropped += 1;
            }
        }
    }
    if converted + dropped > 0 {
        tracing::info!(path = %path.display(), tickets = converted, dropped, "store clocks converted to the compact form (schema version 5)");
    }
    Ok(())
}

/// Schema 5 → 6: each ticket's header from JSON text to the compact form,
/// in place. A header that does not parse is left as it was (reading the
/// ticket reports it, as it did before).
fn copy_version_5_headers(tx: &Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    let what = "migrating the schema to version 6 (compact headers)";
    let q = |e| sql_error(path, what, e);
    let mut read = tx
        .prepare("SELECT key, header FROM tickets WHERE header IS NOT NULL ORDER BY key")
        .map_err(q)?;
    let mut put = tx
        .prepare("UPDATE tickets SET header = ?2 WHERE key = ?1")
        .map_err(q)?;
    let mut rows = read.query([]).map_err(q)?;
    let (mut converted, mut unreadable) = (0usize, 0usize);
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(q)? {
        let key: i64 = row.get(0).map_err(q)?;
        let text = row.get_ref(1).map_err(q)?.as_str().ok();
        match text.map(serde_json::from_str::<TicketHeader>) {
            Some(Ok(h)) => {
                out.clear();
                codec::encode_header(&mut out, &h);
                put.execute(params![key, out]).map_err(q)?;
                converted += 1;
            }
            _ => unreadable += 1,
        }
    }
    if converted + unreadable > 0 {
        tracing::info!(path = %path.display(), tickets = converted, unreadable, "store headers converted to the compact form (schema version 6)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::super::SqliteStore;

    /// Log lines written while `f` runs, at info and above.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl Write for Lines {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .map_err(|_| std::io::ErrorKind::Other)?
                    .extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = lines.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_new_store_says_it_was_created_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        let out = logged(|| {
            SqliteStore::open(&path).unwrap();
        });
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("store created"), "{out}");
        // Opening it again migrates nothing and says nothing.
        let again = logged(|| {
            SqliteStore::open(&path).unwrap();
        });
        assert_eq!(again, "");
    }
}
