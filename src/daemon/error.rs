//! Why the daemon refused to start or stopped: typed, with the cause
//! chained, and told apart as bad input (exit status 2) or a failure at run
//! time (exit status 1).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::policy::ConfigError;
use crate::store::StoreError;

/// Why [`run`](super::run) failed.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config file cannot be read.
    #[error("cannot read config {}: {source}", path.display())]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The config is invalid (the message names the file, line and key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The web config file (TLS, basic auth) is unreadable or invalid.
    #[error("{0}")]
    WebConfig(String),
    /// A source's adapter cannot be built from its config (the message
    /// names the source).
    #[error("{0}")]
    BuildSource(String),
    /// The HTTP server cannot listen on its address.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// The store failed (the message names the store and what it was
    /// doing).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A source failed in a way that needs a person, or (with `--once`) a
    /// page kept failing.
    #[error("source {name}: {message}")]
    Source { name: String, message: String },
    /// A task or thread of the daemon failed (a bug: it panicked).
    #[error("{what} failed: {source}")]
    Task {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    /// A thread of the daemon could not be started.
    #[error("cannot start the {what} thread: {source}")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A lock another thread panicked while holding.
    #[error("the {0} lock is poisoned: a thread panicked while holding it")]
    Poisoned(&'static str),
}

impl DaemonError {
    /// Whether the operator's input is at fault (a config, a web config, a
    /// source's settings, a store location): exit status 2, not 1.
    /// A write refused because this instance no longer holds the
    /// source's lease.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, DaemonError::Store(StoreError::NotOwner { .. }))
    }

    pub fn is_bad_input(&self) -> bool {
        match self {
            DaemonError::ReadConfig { .. }
            | DaemonError::Config(_)
            | DaemonError::WebConfig(_)
            | DaemonError::BuildSource(_) => true,
            // A store location this build cannot open is the operator's.
            DaemonError::Store(e) => matches!(e, StoreError::Unsupported { .. }),
            _ => false,
        }
    }

    /// A task that failed to join.
    pub(super) fn task(what: &'static str) -> impl FnOnce(tokio::task::JoinError) -> DaemonError {
        move |source| DaemonError::Task { what, source }
    }
}
