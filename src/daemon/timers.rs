//! What the daemon does on a clock rather than on new data: the figures'
//! refresh every few seconds, and the monthly reports at the config's
//! `reports.schedule`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{error, info};

use super::pace::sleep_or_stop;
use super::store_access::{blocking, SharedStore};
use crate::clock::now_unix;
use crate::state::DaemonState;

/// How often the figures are recomputed when nothing changed: clocks cross
/// their due and calendars open and close as time passes.
const REFRESH_EVERY: Duration = Duration::from_secs(15);

/// Writes the monthly reports when the config's `reports.schedule` says
/// (a cron expression in `reports.timezone`). The schedule is read again
/// after each run and every minute, so a reload that changes it applies.
pub(super) async fn report_schedule(
    state: Arc<DaemonState>,
    store: SharedStore,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let config = state.config();
        let next = config
            .reports
            .as_ref()
            .and_then(|r| r.schedule.as_ref())
            .and_then(|s| s.next_run(now_unix()));
        let wait = next.map_or(Duration::from_secs(60), |at| {
            Duration::from_secs(at.saturating_sub(now_unix()).clamp(0, 60) as u64)
        });
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { return; }
                continue;
            }
            _ = tokio::time::sleep(wait) => {}
        }
        let Some(at) = next else { continue };
        if now_unix() < at {
            continue;
        }
        let cfg = config.clone();
        let written = blocking(&store, move |s| {
            Ok(crate::report::write_scheduled(&**s, &cfg, at))
        })
        .await;
        match written {
            Ok(Ok(paths)) => {
                for p in paths {
                    info!(report = %p.display(), "monthly report written");
                }
            }
            Ok(Err(e)) => error!(error = %e, "the scheduled report failed"),
            Err(e) => error!(error = %e, "the scheduled report failed"),
        }
        // Past this run's minute before asking for the next.
        if sleep_or_stop(Duration::from_secs(61), &mut shutdown).await {
            return;
        }
    }
}

/// Recomputes the figures every [`REFRESH_EVERY`], and soon after a
/// recompute.
pub(super) async fn refresher(state: Arc<DaemonState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { return; }
            }
            _ = tokio::time::sleep(REFRESH_EVERY) => {}
            _ = state.dirty.notified() => {}
        }
        let st = state.clone();
        let _ = tokio::task::spawn_blocking(move || st.refresh(now_unix())).await;
    }
}
