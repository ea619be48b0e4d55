//! The daemon: poll loops per source, the store, recomputation of the
//! tickets that changed.
//!
//! Guarantees:
//! * A page's records and the cursor after them are committed in one store
//!   transaction (a batch of pages with the last one's cursor), so a crash
//!   at any point resumes from the last committed cursor and loses nothing;
//!   re-reading a page stores nothing twice. The next pages are fetched
//!   while a batch commits, with at most one batch committing at a time.
//!   Streams that only meet in the store (Zendesk's tickets and their
//!   events) are read at the same time, each by a task of its own, after
//!   the reference data they refer to ([`crate::sources::Source::stream_groups`]); the
//!   source's request budget and its `Retry-After` hold them all.
//! * A page that fails (rate limit, 5xx, timeout, malformed JSON) is retried
//!   from the same cursor, never skipped: `Retry-After` is honoured (at most
//!   15 minutes), other failures back off exponentially with jitter up to a
//!   minute. An answer that needs a person (401, 403, 404) is retried the
//!   same way; three in a row are logged as needing attention and retried
//!   every five minutes (a backfill with `--once` stops then).
//! * Only tickets whose timeline changed are recomputed; their clocks are
//!   marked stale in the same transaction as the change, so clocks lost to a
//!   crash between the two are recomputed at the next start. A backfill
//!   recomputes when every stream has caught up, not after every page;
//!   meanwhile, tickets that look complete (their events reach their last
//!   update) are computed on a thread of the lowest priority, on the CPU
//!   the fetching and the store's writer leave idle. When every stream has
//!   caught up, what that thread was not handed or had not started on is
//!   computed on every core while it finishes its chunk in hand. Clocks
//!   read from a snapshot that a later commit overtook are not saved (the
//!   ticket stays stale), so computing while pages are applied loses no
//!   change.
//! * A helpdesk's own SLA record (Zendesk's metric events) is no part of a
//!   ticket's timeline: a ticket that got only events of it is not
//!   recomputed. Its reconciliation with that record (the
//!   `helpdesk_slo_reconcile_*` metrics, which only memory holds) is
//!   brought up to date once per poll, when every stream has caught up
//!   and after the recompute: the ticket is read with its record and its
//!   clocks evaluated again, not saved. A ticket's record arrives over many
//!   pages of the stream (about 35 events in a backfill, spread over the
//!   ticket's life), so once per poll is once per ticket in a backfill,
//!   where a recompute per page was about six.
//! * Shutdown (SIGTERM/SIGINT) waits for the batch being committed;
//!   pages fetched but not yet handed to the store are abandoned before
//!   their commit and fetched again at the next start. Either way nothing
//!   is lost.
//! * Secrets never reach the logs: adapters hold them, errors name paths and
//!   statuses only.
//! * The last state is served at once: on start the stored clocks are loaded
//!   into the exposition before the first poll; `/-/ready` turns 200 then.
//! * A config reload (SIGHUP, `POST /-/reload`) that fails validation is
//!   logged and answered with the error, and the running config stays; a
//!   valid one recomputes every ticket's clocks off to the side and swaps
//!   them in at once. Changes to `sources:` need a restart (logged).
//! * On a store several daemons share (PostgreSQL), each source is polled
//!   by one of them at a time, under a lease, and the others take over
//!   when its holder dies (see `lease`).
//!
//! Where each part lives:
//! * `startup`: reads the config, opens the store, serves the stored state,
//!   starts everything else.
//! * `poll`: a source's poll loop, batching pages into store commits.
//! * `stream`: the reader of one stream, with retries.
//! * `pace`: request budget, `Retry-After`, backoff jitter.
//! * `lease`: sources polled under leases when several daemons share the
//!   store.
//! * `recompute`, `early`, `pending`: computing the clocks of what changed.
//! * `counting`: the live index kept equal to the stored clocks rows.
//! * `reload`, `timers`: config reloads, the figures' refresh, the monthly
//!   reports.
//! * `health`, `progress`, `store_access`, `error`: what they say.

mod counting;
mod early;
mod error;
mod health;
mod lease;
mod pace;
mod pending;
mod poll;
mod progress;
mod recompute;
mod reload;
mod startup;
mod store_access;
mod stream;
mod timers;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

pub use crate::clock::now_unix;
pub use crate::state::{DaemonState, ReloadRequest};
pub use error::DaemonError;
pub use lease::{default_instance, DEFAULT_LEASE};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub config: PathBuf,
    /// Where the store is (a path, `sqlite:PATH`: see
    /// [`crate::store::open`]); `None`: the config's `store:`, else
    /// [`crate::store::DEFAULT_LOCATION`].
    pub store: Option<String>,
    /// Poll every source until it is caught up once, then return (backfills,
    /// tests, benchmarks).
    pub once: bool,
    /// Serve `/metrics`, health, reload and the JSON API here.
    pub listen: Option<SocketAddr>,
    /// Where monthly reports are written (served by the JSON API).
    pub reports_dir: Option<PathBuf>,
    /// TLS and basic auth for the HTTP server, in Prometheus' web config
    /// file format.
    pub web_config: Option<PathBuf>,
    /// Allow `POST /-/reload` (`--web.enable-lifecycle`); without it the
    /// endpoint answers 403 and SIGHUP is the way to reload.
    pub enable_lifecycle: bool,
    /// Where users reach the server (`--web.external-url`), for the links
    /// it hands out.
    pub external_url: Option<crate::server::ExternalUrl>,
    /// The HTTP server's timeouts and limits.
    pub http_limits: crate::server::Limits,
    /// This instance's name among the daemons sharing the store (for
    /// leases); `None`: the host's name and the process id.
    pub instance: Option<String>,
    /// How long a source's lease lasts without renewal, when the store is
    /// shared (PostgreSQL); `None`: [`DEFAULT_LEASE`].
    pub lease: Option<Duration>,
    /// Run a backfill's early recompute (see the `early` module) at
    /// normal priority instead of on idle CPU only: for tests, which must
    /// see it run however busy the machine is.
    pub early_recompute_at_normal_priority: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Per source: pages committed, records stored, tickets recomputed.
    pub sources: BTreeMap<String, SourceSummary>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSummary {
    pub pages: u64,
    pub records: u64,
    pub recomputed: u64,
    /// Of those, computed during a backfill while pages were still being
    /// fetched (tickets that looked complete).
    pub recomputed_early: u64,
    /// Tickets reconciled again with the helpdesk's own SLA record because
    /// that record changed (their clocks did not).
    pub reconciled: u64,
    pub retries: u64,
    /// For a backfill: how long from the start until every stream's
    /// records were committed to the store, before the clocks still to
    /// compute were.
    pub stored_after: Option<Duration>,
}

/// Runs the daemon until `shutdown` turns true (or, with `once`, until every
/// source is caught up).
pub async fn run(opts: Options, shutdown: watch::Receiver<bool>) -> Result<Summary, DaemonError> {
    run_with(opts, shutdown, None).await
}

/// What [`run_with`] hands out once it serves: the bound address (when
/// listening) and the shared state.
pub type Started = (Option<SocketAddr>, Arc<DaemonState>);

/// [`run`], telling `started` where it listens once the stored state is
/// loaded and served.
pub async fn run_with(
    opts: Options,
    shutdown: watch::Receiver<bool>,
    started: Option<oneshot::Sender<Started>>,
) -> Result<Summary, DaemonError> {
    startup::run_with(opts, shutdown, started).await
}
