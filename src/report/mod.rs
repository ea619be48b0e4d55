//! Monthly markdown reports (and quarter-to-date SLA credits) from the
//! store: what was promised per plan, severity and metric, what was
//! delivered, which tickets breached, which credits customers are owed, how
//! good the data is, and how it was all counted. `docs/reports.md`
//! describes each section.
//!
//! The work is split by concern: [`gather`] reads a [`Store`] into a
//! [`gather::Dataset`]; [`figures`] computes every number from it (pure);
//! [`render`] turns numbers into markdown (pure) and [`csv`] writes the
//! full lists the markdown caps (pure); this module writes the files, and
//! [`schedule`] tells when the daemon writes them.
//!
//! Guarantees:
//!
//! * **Reproducible.** The same store and config give byte-identical output:
//!   nothing reads the wall clock or the environment. The data cut-off is
//!   taken from the store (see [`gather`]) and stated in the report; every
//!   clock is evaluated from the stored timelines at that cut-off, never
//!   read from the stored clocks; lists are sorted; numbers have fixed
//!   precision.
//! * **The month** (`--month 2026-10`) is the month's dates; clocks are
//!   counted in the month they started, read in their plan's calendar zone
//!   (a ticket opened 23:30 local on October 31st counts for October in any
//!   zone). Polls, late data and tickets on no plan use the report zone:
//!   [`ReportOptions::timezone`], else the config's `reports.timezone`, else
//!   UTC. The default month, the last full one, is read in that zone too.
//! * **Files are whole.** A report is written to a temporary file in the
//!   output folder and renamed into place, so [`latest`] never returns a
//!   half-written file. Beside `2026-10.md` go `2026-10.breaches.csv`,
//!   `2026-10.data-quality.csv` and `2026-10.credits.csv`, which it links.
//! * **Short at any scale.** Every list in the markdown is capped (see
//!   [`render`]); the CSV files hold every row.
//! * Errors say what is wrong and what would be valid: an unknown plan lists
//!   the plans, an unknown customer the organizations in the store.

pub mod csv;
pub mod figures;
pub mod gather;
pub mod month;
pub mod render;
pub mod schedule;

use std::path::{Path, PathBuf};

use chrono_tz::Tz;

use crate::policy::Config;
use crate::store::{Store, StoreError};
pub use month::Month;
pub use schedule::{latest, write_scheduled, Schedule};

/// What to report on, beyond the month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportOptions {
    /// Only this plan (by name).
    pub plan: Option<String>,
    /// Only this organization (its id, or its name, case-insensitive).
    pub customer: Option<String>,
    /// Where files go: else the config's `reports.out`, else the current
    /// folder.
    pub out: Option<PathBuf>,
    /// The zone the month, polls and late data are read in: else the
    /// config's `reports.timezone`, else UTC.
    pub timezone: Option<Tz>,
    /// The data cut-off (Unix seconds); by default taken from the store.
    pub cutoff: Option<i64>,
    /// The store's sources to read: else the config's `sources:`.
    pub sources: Vec<String>,
    /// The data cut-off (Unix seconds) of the first issue of this report,
    /// when this one replaces it: data of the month's tickets that arrived
    /// after it makes this a re-issue, and the header says so.
    /// [`write_month`] reads it from the file it replaces when not given.
    pub first_issue: Option<i64>,
}

impl ReportOptions {
    /// The report zone these options and `config` give.
    pub fn timezone(&self, config: &Config) -> Tz {
        self.timezone
            .or(config.reports.as_ref().map(|r| r.timezone))
            .unwrap_or(chrono_tz::UTC)
    }

    /// The output folder these options and `config` give.
    pub fn out_dir(&self, config: &Config) -> PathBuf {
        self.out
            .clone()
            .or_else(|| config.reports.as_ref().and_then(|r| r.out.clone()))
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no plan named \"{plan}\"; the config's plans are: {}", known.join(", "))]
    UnknownPlan { plan: String, known: Vec<String> },
    #[error("no organization with id or name \"{customer}\" in the store; {}", if known.is_empty() { "the store has no organizations".to_string() } else { format!("its organizations are: {}", known.join(", ")) })]
    UnknownCustomer {
        customer: String,
        known: Vec<String>,
    },
    #[error("the config has no `sources:`, so the report does not know which of the store's sources to read; add them to the config or name one (such as zendesk)")]
    NoSources,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the report {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A report's files: the markdown and the CSV files it links.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFiles {
    /// `2026-10.md` (see [`file_name`]).
    pub name: String,
    pub markdown: String,
    /// `(file name, contents)`, one per [`csv::CsvKind`], in that order.
    pub csv: Vec<(String, String)>,
}

/// The markdown of `month`'s report and the CSV files beside it.
pub fn month_files(
    store: &dyn Store,
    config: &Config,
    month: Month,
    options: &ReportOptions,
) -> Result<ReportFiles, ReportError> {
    let data = gather::gather(store, config, month, options)?;
    let figures = figures::compute(&config.policy, &data);
    let name = file_name(month, options);
    let stem = name.strip_suffix(".md").unwrap_or(&name);
    let reconciled = reconciliation(store, config, &data, options)?;
    let markdown = render::render(config, &data, &figures, stem, reconciled.as_ref());
    let csv = csv::CsvKind::ALL
        .iter()
        .map(|&k| {
            let text = match k {
                csv::CsvKind::Breaches => csv::breaches(config, &data, &figures),
                csv::CsvKind::DataQuality => csv::data_quality(config, &data, &figures),
                csv::CsvKind::Credits => csv::credits(config, &data, &figures),
            };
            (k.file_name(stem), text)
        })
        .collect();
    Ok(ReportFiles {
        name,
        markdown,
        csv,
    })
}

/// The month's tickets reconciled with the helpdesk's own SLA record, for
/// its sources that read one (none: no section), open clocks as at the
/// data cut-off; a plan's report keeps that plan's rows and differences.
/// Not in a customer's report (the record is not kept per customer).
fn reconciliation(
    store: &dyn Store,
    config: &Config,
    data: &gather::Dataset,
    options: &ReportOptions,
) -> Result<Option<crate::reconcile::store::Summary>, ReportError> {
    use crate::reconcile::store::{reconcile, Error, Options};
    if options.customer.is_some() {
        return Ok(None);
    }
    let sources: Vec<String> = config
        .sources
        .keys()
        .filter(|k| options.sources.is_empty() || options.sources.contains(k))
        .filter(|k| crate::sources::Reconciler::of(config, k).is_some())
        .cloned()
        .collect();
    if sources.is_empty() {
        return Ok(None);
    }
    let (from, to) = data.month.bounds(data.timezone);
    let wanted = Options {
        from: Some(from),
        to: Some(to),
        sources,
        ..Options::at(data.cutoff)
    };
    let mut summary = match reconcile(store, config, &wanted) {
        Ok(s) => s,
        Err(Error::Store(e)) => return Err(ReportError::Store(e)),
        // The record is not read yet: no section.
        Err(_) => return Ok(None),
    };
    if let Some(plan) = &options.plan {
        summary.rows.retain(|r| &r.plan == plan);
        summary.differences.retain(|f| &f.plan == plan);
        summary.causes.clear();
        for f in &summary.differences {
            for c in &f.comparison.causes {
                *summary
                    .causes
                    .entry(c.kind.as_str().to_string())
                    .or_default() += 1;
            }
        }
    }
    Ok(Some(summary))
}

/// The markdown of `month`'s report (the CSV files it links are made by
/// [`month_files`]).
pub fn month_report(
    store: &dyn Store,
    config: &Config,
    month: Month,
    options: &ReportOptions,
) -> Result<String, ReportError> {
    Ok(month_files(store, config, month, options)?.markdown)
}

/// Characters safe in a file name: letters, digits, `-`, `_`, `.`; runs of
/// anything else become one `-`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(|c| c == '-' || c == '.').to_string();
    if out.is_empty() {
        "x".to_string()
    } else {
        out
    }
}

/// The file name of a report: `2026-10.md`, `2026-10-plan-premier.md`,
/// `2026-10-customer-acme.md`, or both suffixes.
pub fn file_name(month: Month, options: &ReportOptions) -> String {
    let mut name = month.to_string();
    if let Some(p) = &options.plan {
        name.push_str("-plan-");
        name.push_str(&slug(p));
    }
    if let Some(c) = &options.customer {
        name.push_str("-customer-");
        name.push_str(&slug(c));
    }
    name.push_str(".md");
    name
}

/// Writes `month`'s report and its CSV files into the output folder
/// (created if missing) and returns the report's path. Replaces earlier
/// files of the same names whole; the CSV files are written first, so the
/// files a report links exist by the time it does.
pub fn write_month(
    store: &dyn Store,
    config: &Config,
    month: Month,
    options: &ReportOptions,
) -> Result<PathBuf, ReportError> {
    let dir = options.out_dir(config);
    let mut options = options.clone();
    if options.first_issue.is_none() {
        options.first_issue = std::fs::read_to_string(dir.join(file_name(month, &options)))
            .ok()
            .and_then(|text| first_issue_of(&text));
    }
    let files = month_files(store, config, month, &options)?;
    for (name, text) in &files.csv {
        write_whole(&dir, &dir.join(name), text.as_bytes())?;
    }
    let path = dir.join(&files.name);
    write_whole(&dir, &path, files.markdown.as_bytes())?;
    Ok(path)
}

/// The data cut-off of the first issue of a report, read from an issue of
/// it: its re-issue line, else its own cut-off.
pub fn first_issue_of(markdown: &str) -> Option<i64> {
    let after = |prefix: &str| {
        markdown
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split([' ', ';', ',']).next())
            .and_then(|t| crate::time::parse_instant(t).ok())
    };
    after(render::REISSUE_PREFIX).or_else(|| after(render::CUTOFF_PREFIX))
}

/// Writes through a temporary file and a rename.
fn write_whole(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_plan_and_customer() {
        let m: Month = "2026-10".parse().unwrap();
        assert_eq!(file_name(m, &ReportOptions::default()), "2026-10.md");
        let o = ReportOptions {
            plan: Some("premier".into()),
            customer: Some("Acme Corp / EU".into()),
            ..ReportOptions::default()
        };
        assert_eq!(
            file_name(m, &o),
            "2026-10-plan-premier-customer-acme-corp-eu.md"
        );
        assert_eq!(slug("../../etc"), "etc");
    }
}
