//! Leases on sources, for several daemons sharing one store: which
//! instance polls a source, and the fencing token its writes carry.
//!
//! A lease is a row per source in the store: its holder (an instance
//! name), a token that grows by one at every acquisition, and an expiry
//! measured by the database's clock (never the instances' own, which may
//! disagree). An instance polls a source only while it holds the lease and
//! renews it well before it expires; a standby takes a lease that expired.
//!
//! What makes this safe when the holder is paused or cut off rather than
//! dead: once the daemon fences a store ([`crate::store::Store::fence`]),
//! every write transaction for a source first checks, inside the
//! transaction and holding the lease row, that the lease is still the
//! fence's (same holder, same token, not expired). A holder that lost its
//! lease, even one that does not know it yet, has every later write
//! refused ([`crate::store::StoreError::NotOwner`]); a standby cannot take
//! the lease while such a write is committing.

use std::time::Duration;

use super::StoreError;

/// A lease held: the instance holding it and the token of this holding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub instance: String,
    pub token: i64,
}

/// Who holds a source's lease now.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub source: String,
    pub instance: String,
    pub token: i64,
    /// Seconds until it expires (negative: expired, free to take).
    pub expires_in: f64,
}

/// Taking, keeping and giving up leases, on a connection of its own (so a
/// renewal never waits behind a long write of the store's connection).
pub trait Leases: Send {
    /// Takes the lease on `source` for `instance` for `ttl` when it is free:
    /// never taken, expired, or held under the same instance name (a
    /// restarted instance; the new token fences the old process). `None`
    /// when another instance holds it.
    fn acquire(
        &mut self,
        source: &str,
        instance: &str,
        ttl: Duration,
    ) -> Result<Option<Fence>, StoreError>;

    /// Extends a lease still held to `ttl` from now; `false` when it was
    /// lost: another instance took it after it expired. One that expired
    /// but was not taken (a long pause between renewals) is extended: its
    /// token is still the latest, so nobody else wrote meanwhile (and its
    /// own writes were refused while it was expired).
    fn renew(&mut self, source: &str, fence: &Fence, ttl: Duration) -> Result<bool, StoreError>;

    /// Gives a held lease up (a clean stop), so that a standby takes the
    /// source over at once instead of when it would have expired.
    fn release(&mut self, source: &str, fence: &Fence) -> Result<(), StoreError>;

    /// Every lease, by source.
    fn holders(&mut self) -> Result<Vec<Holder>, StoreError>;
}
