//! Leases on sources in PostgreSQL (see [`crate::store::Leases`]): rows of
//! `source_leases`, expiring by the database's clock, and the check every
//! fenced write transaction makes.
//!
//! Locks, and why: a fenced write takes the lease row `FOR KEY SHARE`
//! after checking it, and holds it until it commits. A renewal only
//! changes `expires_at` (a `NO KEY UPDATE`), which does not wait for the
//! writes of its own holder; an acquisition first locks the row `FOR
//! UPDATE`, which waits for every such write to end. So a standby never
//! takes a lease while a write made under it is still committing, and a
//! write that starts after the lease changed hands sees it and is
//! refused. A holder paused in the middle of a transaction (SIGSTOP, a
//! long GC pause of its VM) would hold the row forever: the fenced
//! connection's `idle_in_transaction_session_timeout` makes the server end
//! that transaction instead ([`FENCED_IDLE_TIMEOUT`]). An acquisition
//! waits at most [`ACQUIRE_LOCK_TIMEOUT`] for the row, then says the
//! lease is held.

use std::time::Duration;

use tokio_postgres::error::SqlState;

use super::PgStore;
use crate::store::{Fence, Holder, Leases, StoreError};

/// How long the server lets a fenced connection sit idle inside a
/// transaction before it ends it (releasing the lease row).
pub(super) const FENCED_IDLE_TIMEOUT: &str = "SET idle_in_transaction_session_timeout = '10s'";

/// How long an acquisition waits for the lease row's lock.
const ACQUIRE_LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '2s'";

/// The check at the start of a fenced write transaction: the lease is
/// still the fence's, and stays so until the transaction ends.
pub(super) const CHECK_FENCE: &str = "SELECT 1 FROM source_leases
     WHERE source = $1 AND holder = $2 AND token = $3 AND expires_at > clock_timestamp()
     FOR KEY SHARE";

/// Leases on a connection of their own.
pub(super) struct PgLeases {
    store: PgStore,
}

impl PgLeases {
    pub(super) fn new(store: PgStore) -> PgLeases {
        PgLeases { store }
    }
}

fn seconds(ttl: Duration) -> f64 {
    ttl.as_secs_f64()
}

impl Leases for PgLeases {
    fn acquire(
        &mut self,
        source: &str,
        instance: &str,
        ttl: Duration,
    ) -> Result<Option<Fence>, StoreError> {
        let what = || format!("taking the lease on source {source}");
        let (s, i, secs) = (source.to_string(), instance.to_string(), seconds(ttl));
        let taken = self.store.transaction(what, "BEGIN", || {
            self.store.run(what, move |c| async move {
                c.batch_execute(ACQUIRE_LOCK_TIMEOUT).await?;
                // Wait for the writes still made under the current holding.
                let locked = c
                    .query_opt(
                        "SELECT 1 FROM source_leases WHERE source = $1 FOR UPDATE",
                        &[&s],
                    )
                    .await;
                match locked {
                    Ok(_) => {}
                    Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => return Ok(None),
                    Err(e) => return Err(e),
                }
                let row = c
                    .query_opt(
                        "INSERT INTO source_leases AS l (source, holder, token, expires_at)
                         VALUES ($1, $2, 1, clock_timestamp() + make_interval(secs => $3))
                         ON CONFLICT (source) DO UPDATE
                         SET holder = excluded.holder, token = l.token + 1,
                             expires_at = excluded.expires_at
                         WHERE l.expires_at <= clock_timestamp() OR l.holder = excluded.holder
                         RETURNING token",
                        &[&s, &i, &secs],
                    )
                    .await?;
                row.map(|r| r.try_get::<_, i64>(0)).transpose()
            })
        })?;
        Ok(taken.map(|token| Fence {
            instance: instance.to_string(),
            token,
        }))
    }

    fn renew(&mut self, source: &str, fence: &Fence, ttl: Duration) -> Result<bool, StoreError> {
        let (s, i, t, secs) = (
            source.to_string(),
            fence.instance.clone(),
            fence.token,
            seconds(ttl),
        );
        let n = self.store.run(
            || format!("renewing the lease on source {source}"),
            move |c| async move {
                c.execute(
                    "UPDATE source_leases
                     SET expires_at = clock_timestamp() + make_interval(secs => $4)
                     WHERE source = $1 AND holder = $2 AND token = $3",
                    &[&s, &i, &t, &secs],
                )
                .await
            },
        )?;
        Ok(n == 1)
    }

    fn release(&mut self, source: &str, fence: &Fence) -> Result<(), StoreError> {
        let (s, i, t) = (source.to_string(), fence.instance.clone(), fence.token);
        self.store.run(
            || format!("giving up the lease on source {source}"),
            move |c| async move {
                c.execute(
                    "UPDATE source_leases SET expires_at = clock_timestamp()
                     WHERE source = $1 AND holder = $2 AND token = $3",
                    &[&s, &i, &t],
                )
                .await
            },
        )?;
        Ok(())
    }

    fn holders(&mut self) -> Result<Vec<Holder>, StoreError> {
        let rows = self.store.run(
            || "reading the leases".to_string(),
            |c| async move {
                c.query(
                    "SELECT source, holder, token,
                            extract(epoch FROM expires_at - clock_timestamp())::float8
                     FROM source_leases ORDER BY source",
                    &[],
                )
                .await
            },
        )?;
        rows.iter()
            .map(|r| {
                let read = |e| self.store.error("reading the leases", e);
                Ok(Holder {
                    source: r.try_get(0).map_err(read)?,
                    instance: r.try_get(1).map_err(read)?,
                    token: r.try_get(2).map_err(read)?,
                    expires_in: r.try_get(3).map_err(read)?,
                })
            })
            .collect()
    }
}
