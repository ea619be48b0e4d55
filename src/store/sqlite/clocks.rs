//! Computed clocks in a store file: saving them (unless a later commit
//! overtook the snapshot they were computed from), reading them back, and
//! the generation in which each ticket last changed.

use rusqlite::{params, OptionalExtension};

use super::{sql_error, SqliteStore};
use crate::store::{SavedClocks, StoreError, StoredClocks};

const GET_KEY: &str = "SELECT key FROM tickets WHERE source = ?1 AND id = ?2";

const IS_LIVE: &str = "SELECT 1 FROM tickets WHERE key = ?1 AND deleted = 0 AND header IS NOT NULL";

const CLEAR_STALE: &str = "DELETE FROM stale_tickets WHERE key = ?1";

const GET_CLOCKS: &str = "SELECT config_hash, clocks FROM clocks WHERE key = ?1";

const PUT_CLOCKS: &str = "INSERT INTO clocks (key, config_hash, clocks) VALUES (?1, ?2, ?3)
     ON CONFLICT (key) DO UPDATE SET config_hash = excluded.config_hash, clocks = excluded.clocks";

/// The commit (generation) in which each ticket last changed, in a list
/// indexed by the ticket's key: keys are the row ids of a table whose rows
/// are never deleted, so they run densely from 1, and the list costs 8
/// bytes a ticket with no bound to forget at. Only commits made through this
/// connection are recorded; a ticket without an entry changed before any of
/// them, which no snapshot taken from this connection's count can lack.
#[derive(Debug, Default)]
pub(super) struct ChangeGenerations {
    by_key: Vec<u64>,
    /// A generation no earlier than the last change of a ticket whose key
    /// is past [`MAX_KEY_RECORDED`]: such a key (only a file edited by hand
    /// could have one) makes every older snapshot's clocks refused, which
    /// costs a recompute, never a wrong clock.
    floor: u64,
}

/// The largest key recorded one by one (a list of 512 MiB at most).
const MAX_KEY_RECORDED: i64 = 1 << 26;

impl ChangeGenerations {
    pub(super) fn record(&mut self, key: i64, generation: u64) {
        match usize::try_from(key) {
            Ok(index) if key <= MAX_KEY_RECORDED => {
                if index >= self.by_key.len() {
                    // Capacity grows amortized, as keys arrive in order.
                    self.by_key.resize(index + 1, 0);
                }
                self.by_key[index] = generation;
            }
            _ => self.floor = self.floor.max(generation),
        }
    }

    /// The generation of the ticket's last change recorded here, 0 if none.
    pub(super) fn last_change(&self, key: i64) -> u64 {
        let recorded = usize::try_from(key)
            .ok()
            .and_then(|index| self.by_key.get(index))
            .copied()
            .unwrap_or(0);
        recorded.max(self.floor)
    }
}

/// [`Store::save_clocks_as_of`](super::Store::save_clocks_as_of) on a SQLite store.
pub(super) fn save_clocks_as_of(
    store: &mut SqliteStore,
    source: &str,
    clocks: &[(String, String, Vec<u8>)],
    as_of: u64,
) -> Result<SavedClocks, StoreError> {
    let path = &store.path;
    let what = || format!("saving clocks of {source}");
    let tx = store
        .conn
        .transaction()
        .map_err(|e| sql_error(path, what(), e))?;
    let mut learned = Vec::new();
    let mut overtaken = Vec::new();
    let mut saved = Vec::with_capacity(clocks.len());
    {
        let cache = store.keys.borrow();
        let known = cache.get(source);
        let changed_in = store.changed_in.borrow();
        let rows = store.rows.borrow();
        let prepare = |sql| {
            tx.prepare_cached(sql)
                .map_err(|e| sql_error(path, what(), e))
        };
        let (mut find, mut live) = (prepare(GET_KEY)?, prepare(IS_LIVE)?);
        let (mut clear, mut put) = (prepare(CLEAR_STALE)?, prepare(PUT_CLOCKS)?);
        let mut get = prepare(GET_CLOCKS)?;
        for (index, (ticket_id, config_hash, encoded)) in clocks.iter().enumerate() {
            let what = || format!("saving the clocks of ticket {ticket_id} of {source}");
            let key = match known.and_then(|k| k.get(ticket_id.as_str())) {
                Some(&key) => Some(key),
                None => {
                    let key = find
                        .query_row(params![source, ticket_id], |r| r.get::<_, i64>(0))
                        .optional()
                        .map_err(|e| sql_error(path, what(), e))?;
                    if let Some(key) = key {
                        learned.push((ticket_id.clone(), key));
                    }
                    key
                }
            };
            // Clocks of unknown or deleted tickets are not kept.
            let Some(key) = key else { continue };
            // Clocks of a snapshot a later commit has overtaken: the
            // ticket stays stale, for a recompute that sees the change.
            if changed_in.last_change(key) > as_of {
                overtaken.push(ticket_id.clone());
                continue;
            }
            let is_live = match rows.get(&key) {
                Some(row) => row.has_header && !row.deleted,
                None => live
                    .exists(params![key])
                    .map_err(|e| sql_error(path, what(), e))?,
            };
            if !is_live {
                continue;
            }
            // Forgotten before the commit: at worst a later page marks
            // the ticket again.
            store.stale.borrow_mut().remove(&key);
            clear
                .execute(params![key])
                .map_err(|e| sql_error(path, what(), e))?;
            let old = get
                .query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(|e| sql_error(path, what(), e))?;
            put.execute(params![key, config_hash, encoded])
                .map_err(|e| sql_error(path, what(), e))?;
            saved.push((index, old));
        }
    }
    tx.commit().map_err(|e| sql_error(path, what(), e))?;
    store.learn_keys(source, learned);
    Ok(SavedClocks { overtaken, saved })
}

/// [`Store::clocks`](super::Store::clocks) on a SQLite store.
pub(super) fn clocks(
    store: &SqliteStore,
    source: &str,
    ticket_id: &str,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    store
        .conn
        .prepare_cached(
            "SELECT c.config_hash, c.clocks FROM tickets t JOIN clocks c ON c.key = t.key
             WHERE t.source = ?1 AND t.id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![source, ticket_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })
        .map_err(|e| {
            sql_error(
                &store.path,
                format!("reading the clocks of ticket {ticket_id} of {source}"),
                e,
            )
        })
}

/// [`Store::for_each_clocks`](super::Store::for_each_clocks) on a SQLite store.
pub(super) fn for_each_clocks(
    store: &SqliteStore,
    source: &str,
    f: &mut dyn FnMut(StoredClocks),
) -> Result<(), StoreError> {
    let what = || format!("reading the clocks of {source}");
    let mut stmt = store
        .conn
        .prepare_cached(
            "SELECT t.id, c.config_hash, c.clocks, s.key IS NOT NULL FROM tickets t
             JOIN clocks c ON c.key = t.key
             LEFT JOIN stale_tickets s ON s.key = t.key
             WHERE t.source = ?1 ORDER BY t.id",
        )
        .map_err(|e| sql_error(&store.path, what(), e))?;
    let mut rows = stmt
        .query(params![source])
        .map_err(|e| sql_error(&store.path, what(), e))?;
    while let Some(row) = rows.next().map_err(|e| sql_error(&store.path, what(), e))? {
        let read = (|| {
            Ok::<_, rusqlite::Error>(StoredClocks {
                ticket_id: row.get(0)?,
                config_hash: row.get(1)?,
                clocks: row.get(2)?,
                stale: row.get(3)?,
            })
        })();
        f(read.map_err(|e| sql_error(&store.path, what(), e))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{ChangeGenerations, MAX_KEY_RECORDED};

    #[test]
    fn a_ticket_reports_the_generation_of_its_last_recorded_change() {
        let mut changes = ChangeGenerations::default();
        assert_eq!(changes.last_change(7), 0);
        changes.record(7, 3);
        changes.record(2, 4);
        changes.record(7, 5);
        assert_eq!(changes.last_change(7), 5);
        assert_eq!(changes.last_change(2), 4);
        assert_eq!(changes.last_change(3), 0);
        assert_eq!(changes.last_change(1_000), 0);
    }

    /// A million tickets are all remembered: none is forgotten to a floor
    /// that would refuse the clocks of tickets that did not change.
    #[test]
    fn a_million_keys_are_remembered_one_by_one() {
        let mut changes = ChangeGenerations::default();
        for key in 1..=1_000_000 {
            changes.record(key, 1 + key as u64 / 1_000);
        }
        assert_eq!(changes.last_change(1), 1);
        assert_eq!(changes.last_change(500_000), 501);
        assert_eq!(changes.last_change(1_000_000), 1_001);
    }

    /// A key past the bound cannot grow the list: it raises the floor, so
    /// every ticket answers at least its generation (a recompute too many,
    /// never a clock saved from a snapshot that lacks a change).
    #[test]
    fn a_key_past_the_bound_raises_every_ticket_to_its_generation() {
        let mut changes = ChangeGenerations::default();
        changes.record(5, 2);
        changes.record(MAX_KEY_RECORDED + 1, 9);
        changes.record(-1, 4);
        assert_eq!(changes.last_change(5), 9);
        assert_eq!(changes.last_change(MAX_KEY_RECORDED + 1), 9);
        assert!(changes.by_key.len() < 10);
    }
}
