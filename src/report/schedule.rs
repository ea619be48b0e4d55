//! The daemon's side of reports: when the next one is due (the config's
//! `reports.schedule`, see [`Schedule`]), what a scheduled run writes, and
//! which file is the latest (for the JSON API).
//!
//! A scheduled run at instant `t` writes the report of the last month that
//! had ended by `t` in the report zone (06:00 on November 1st writes
//! October), the whole report and one per customer listed under
//! `reports.customers`. The run instant only picks the month: the contents
//! still depend on the store alone.

use std::path::{Path, PathBuf};

pub use crate::policy::schedule::Schedule;

use super::{write_month, Month, ReportError, ReportOptions};
use crate::policy::Config;
use crate::store::Store;

/// The month a run at `run_at` reports on: the last full month in the
/// config's report zone.
pub fn month_for_run(config: &Config, run_at: i64) -> Option<Month> {
    Month::last_full(run_at, ReportOptions::default().timezone(config))
}

/// What a scheduled run at `run_at` writes: the last full month's whole
/// report, then one per configured customer. Returns the paths written, the
/// whole report first. A customer the store does not know is an error for
/// that customer only: the others are still written, and the first error is
/// returned after them. `out`: the folder to write into instead of the
/// config's `reports.out`.
pub fn write_scheduled(
    store: &dyn Store,
    config: &Config,
    run_at: i64,
    out: Option<&Path>,
) -> Result<Vec<PathBuf>, ReportError> {
    let Some(month) = month_for_run(config, run_at) else {
        return Ok(Vec::new());
    };
    let base = ReportOptions {
        out: out.map(Path::to_path_buf),
        ..ReportOptions::default()
    };
    let mut written = vec![write_month(store, config, month, &base)?];
    let mut first_error = None;
    for c in config.reports.iter().flat_map(|r| &r.customers) {
        let options = ReportOptions {
            customer: Some(c.clone()),
            ..base.clone()
        };
        match write_month(store, config, month, &options) {
            Ok(p) => written.push(p),
            Err(e) => {
                if first_error.is_none() {
                    first_error = Some(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(written),
    }
}

/// The newest whole report (`YYYY-MM.md`, the latest month) in `dir`, if
/// any. Plan and customer reports, and files being written, are ignored.
pub fn latest(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let month: Month = name.strip_suffix(".md")?.parse().ok()?;
            Some((month, e.path()))
        })
        .max_by_key(|(m, _)| *m)
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_picks_the_newest_whole_report() {
        let dir =
            std::env::temp_dir().join(format!("helpdesk-slo-report-latest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(latest(&dir), None);
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(latest(&dir), None);
        for name in [
            "2026-09.md",
            "2026-10.md",
            "2026-11-plan-premier.md",
            ".2026-12.md.tmp-1",
            "2026-13.md",
            "notes.md",
        ] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
        assert_eq!(latest(&dir), Some(dir.join("2026-10.md")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
