//! What the daemon does on a clock rather than on new data: the figures'
//! refresh every few seconds, and the monthly reports at the config's
//! `reports.schedule`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, error, info, warn};

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
///
/// On a store several daemons share (`instance` names this one), each
/// run is claimed in the store: the first instance to claim it writes it
/// and keeps the files in the store, and every instance copies the files
/// the store keeps into its own reports folder, so any of them serves
/// them.
pub(super) async fn report_schedule(
    state: Arc<DaemonState>,
    store: SharedStore,
    instance: Option<String>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut copied: HashMap<String, i64> = HashMap::new();
    // How often a shared store's reports are looked for.
    let look_every: i64 = if instance.is_some() { 15 } else { 60 };
    loop {
        let config = state.config();
        let next = config
            .reports
            .as_ref()
            .and_then(|r| r.schedule.as_ref())
            .and_then(|s| s.next_run(now_unix()));
        let wait = next.map_or(Duration::from_secs(look_every as u64), |at| {
            Duration::from_secs(at.saturating_sub(now_unix()).clamp(0, look_every) as u64)
        });
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { return; }
                continue;
            }
            _ = tokio::time::sleep(wait) => {}
        }
        if instance.is_some() {
            copy_shared_reports(&state, &store, &mut copied).await;
        }
        let Some(at) = next else { continue };
        if now_unix() < at {
            continue;
        }
        let (cfg, dir, inst) = (
            config.clone(),
            state.reports_dir().map(Path::to_path_buf),
            instance.clone(),
        );
        let written = blocking(&store, move |s| {
            if let Some(i) = &inst {
                if !s.claim_report_run(at, i)? {
                    return Ok(Ok(None));
                }
            }
            let paths = match crate::report::write_scheduled(&**s, &cfg, at, dir.as_deref()) {
                Ok(paths) => paths,
                Err(e) => return Ok(Err(e.to_string())),
            };
            if inst.is_some() {
                s.save_report_files(&report_files(&paths))?;
            }
            Ok(Ok(Some(paths)))
        })
        .await;
        match written {
            Ok(Ok(Some(paths))) => {
                for p in paths {
                    info!(report = %p.display(), "monthly report written");
                }
            }
            Ok(Ok(None)) => {
                info!(at, "another instance writes this scheduled report run");
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

/// The files of written reports, to keep in a shared store: each report
/// and the CSV files beside it (`NAME.*.csv`).
fn report_files(reports: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for report in reports {
        let (Some(dir), Some(stem)) =
            (report.parent(), report.file_stem().and_then(|s| s.to_str()))
        else {
            continue;
        };
        let prefix = format!("{stem}.");
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name == format!("{stem}.md")
                || (name.starts_with(&prefix) && name.ends_with(".csv"));
            if !ours {
                continue;
            }
            match std::fs::read(entry.path()) {
                Ok(bytes) => files.push((name, bytes)),
                Err(e) => {
                    warn!(file = %entry.path().display(), error = %e, "cannot read a report file to share it")
                }
            }
        }
    }
    files
}

/// Copies the report files a shared store keeps (and this instance has
/// not copied since they were saved) into its reports folder.
async fn copy_shared_reports(
    state: &DaemonState,
    store: &SharedStore,
    copied: &mut HashMap<String, i64>,
) {
    let Some(dir) = state.reports_dir().map(Path::to_path_buf) else {
        return;
    };
    let seen = copied.clone();
    let fetched = blocking(store, move |s| {
        let mut new = Vec::new();
        for (name, saved_at) in s.report_files()? {
            if seen.get(&name) == Some(&saved_at) {
                continue;
            }
            if let Some(bytes) = s.report_file(&name)? {
                new.push((name, saved_at, bytes));
            }
        }
        Ok(new)
    })
    .await;
    let new = match fetched {
        Ok(new) => new,
        Err(e) => {
            warn!(error = %e, "cannot read the reports the store keeps");
            return;
        }
    };
    for (name, saved_at, bytes) in new {
        // Names come from the store: only plain file names are written.
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && !name.contains(['/', '\\'])
            && (name.ends_with(".md") || name.ends_with(".csv"));
        if !plain {
            warn!(file = %name, "a report file of the store has a name that is not a plain file name; not copied");
            continue;
        }
        let path = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&tmp, &bytes))
            .and_then(|()| std::fs::rename(&tmp, &path));
        match written {
            Ok(()) => {
                debug!(report = %path.display(), "report copied from the store");
                copied.insert(name, saved_at);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                warn!(report = %path.display(), error = %e, "cannot copy a report from the store");
            }
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
