//! The store as the daemon's tasks share it: one connection behind a lock,
//! used from blocking tasks, and reading connections of its own for
//! recomputes.

use std::sync::{Arc, Mutex};

use super::DaemonError;
use crate::store::Store;

/// The store's writing connection, shared by the poll loops, recomputes,
/// reloads and the report schedule.
pub(super) type SharedStore = Arc<Mutex<Connection>>;

/// The connection the store's lock guards: any backend.
pub(super) type Connection = Box<dyn Store>;

/// Runs `f` on the store on a blocking task (the store's calls are
/// synchronous and may take a while).
pub(super) async fn blocking<T: Send + 'static>(
    store: &SharedStore,
    f: impl FnOnce(&mut Connection) -> Result<T, DaemonError> + Send + 'static,
) -> Result<T, DaemonError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = store.lock().map_err(|_| DaemonError::Poisoned("store"))?;
        f(&mut guard)
    })
    .await
    .map_err(DaemonError::task("a store task"))?
}

/// Opens up to `n` reading connections beside the store's own (none for a
/// store that has no separate reader, such as one in memory).
pub(super) async fn open_readers(
    store: &SharedStore,
    n: usize,
) -> Result<Vec<SharedStore>, DaemonError> {
    let opened = blocking(store, move |s| {
        let mut opened = Vec::new();
        for _ in 0..n {
            match s.reader()? {
                Some(reader) => opened.push(reader),
                None => break,
            }
        }
        Ok(opened)
    })
    .await?;
    Ok(opened
        .into_iter()
        .map(|r| Arc::new(Mutex::new(r)))
        .collect())
}

/// Opens the store at `location` (a path, `sqlite:PATH`, …: see
/// [`crate::store::open`]) for the daemon.
pub(super) fn open(location: &str) -> Result<SharedStore, DaemonError> {
    Ok(Arc::new(Mutex::new(crate::store::open(location)?)))
}
