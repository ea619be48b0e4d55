//! The configuration model: the YAML file a user writes, validated into the
//! objects the engine runs on.
//!
//! Loading guarantees: unknown keys are errors; every error names the file,
//! the line and column, the key path, what is wrong and what would be valid;
//! files the config refers to (iCalendar holidays) are resolved relative to
//! the config file's folder and their errors name that file and its line.
//! A config that loads is complete: nothing is looked up later.
//!
//! Loading reads nothing: it takes the config's text, its path (for messages
//! and as the base of relative includes) and an [`IncludedFiles`] that gives
//! the text of each file the config includes ([`includes`]). The daemon
//! crate reads the config file and its includes from the file system.
//!
//! The config holds `calendars:` (see [`crate::calendar::spec`]) and the SLA
//! policy: `severities:`, `default_severity:`, `metrics:`, `plans:`,
//! `credits:` and `exclusions:` (see [`spec`]), the helpdesks to poll
//! (`sources:`) and when and where monthly reports are written (`reports:`,
//! see [`schedule`]). Loading runs in two passes:
//! a lenient one collects the names each section defines, then the full
//! deserialization checks every reference against them where it is written
//! ([`names`]); relations between sections are checked last (`validate`).

pub mod includes;
mod locate;
pub mod model;
pub mod names;
pub mod schedule;
pub mod spec;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::Datelike;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::IgnoredAny;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::calendar::holidays::{named_set_dates, parse_ics};
use crate::calendar::spec::{CalendarSpec, HolidaySpec};
use crate::calendar::week::{format_time_of_day, DayWindow};
use crate::calendar::{Calendar, Rules};
pub use includes::{IncludedFiles, MemoryFiles, NoFiles};
pub use model::Policy;
use names::Names;
pub use spec::ConfigSpec;

/// A fingerprint of this crate's source (`build.rs`), part of
/// [`Config::clocks_hash`].
pub const ENGINE_SOURCE: &str = env!("HELPDESK_SLO_ENGINE_SOURCE");

/// A loaded, validated config.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub calendars: BTreeMap<String, Arc<Calendar>>,
    pub policy: Policy,
    /// Identifies the config's content (the file and every file it refers
    /// to): reports and metrics name the config they were computed with.
    pub hash: String,
    /// What stored clocks are saved under: the config's [`Config::hash`]
    /// and the engine's source ([`ENGINE_SOURCE`]). Clocks stored under
    /// another were computed by another config or another build of the
    /// engine, and are recomputed rather than mixed with fresh ones.
    pub clocks_hash: String,
    /// The helpdesks to poll, by name.
    pub sources: BTreeMap<String, spec::SourceSpec>,
    /// The `reports:` section, if given.
    pub reports: Option<schedule::ReportSettings>,
    /// Organization ids with series of their own (`exposition.organizations`).
    pub exposition_organizations: Vec<String>,
    /// Where the daemon keeps its state (`store:`), if the config says.
    pub store: Option<String>,
}

/// Just the names each section defines; anything else is ignored.
#[derive(Deserialize)]
struct NamesPass {
    #[serde(default)]
    calendars: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    severities: Vec<SeverityName>,
    #[serde(default)]
    metrics: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    plans: BTreeMap<String, IgnoredAny>,
    #[serde(default)]
    credits: BTreeMap<String, IgnoredAny>,
}

#[derive(Deserialize)]
struct SeverityName {
    name: String,
}

fn defined_names(text: &str) -> Names {
    match serde_yaml_ng::from_str::<NamesPass>(text) {
        Ok(p) => Names {
            calendars: p.calendars.into_keys().collect(),
            severities: p.severities.into_iter().map(|s| s.name).collect(),
            metrics: p.metrics.into_keys().collect(),
            plans: p.plans.into_keys().collect(),
            credits: p.credits.into_keys().collect(),
        },
        // The full pass reports what is wrong with the file.
        Err(_) => Names::default(),
    }
}

/// A config problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in (the config, or a file it refers to).
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key path such as `calendars.us.hours.mon-fri`, when known.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error found after the config was read, at the line of the key
    /// path `key` in `text` (or of its deepest parent found there).
    pub fn at_key(file: &Path, text: &str, key: &[&str], message: String) -> ConfigError {
        let path: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        ConfigError {
            file: file.to_path_buf(),
            line: locate::line_of(text, &path),
            column: None,
            key: Some(key.join(".")),
            message,
        }
    }
}

/// Years for which named holiday sets are expanded: one either side of the
/// supported range, because a local day can straddle a UTC year boundary.
const HOLIDAY_YEARS: (i32, i32) = (1969, 2101);

impl Config {
    /// Parses and validates the text of a config that includes no file;
    /// `path` names it in errors. An include (`holidays: [{file: …}]`) is an
    /// error: load such a config with [`Config::from_yaml_with`].
    pub fn from_yaml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        Self::from_yaml_with(text, path, &NoFiles)
    }

    /// Parses and validates config text; `path` names it in errors and its
    /// folder is the base of relative includes, whose text `files` gives
    /// (see [`includes`]). Reads nothing itself.
    pub fn from_yaml_with(
        text: &str,
        path: &Path,
        files: &dyn IncludedFiles,
    ) -> Result<Self, ConfigError> {
        // A syntax error first, at its own line: the passes below read the
        // file as they go, and would blame a name the broken part defines.
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).map_err(|e| yaml_error(path, &e))?;
        let names = defined_names(text);
        let spec: ConfigSpec = names::with_names(names, || serde_yaml_ng::from_str(text))
            .map_err(|e| yaml_error(path, &e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut hasher = Sha256::new();
        hasher.update(text.as_bytes());
        let mut calendars = BTreeMap::new();
        for (name, cal) in &spec.calendars {
            let built = build_calendar(name, cal, base, files, &mut hasher).map_err(|mut e| {
                if e.file.as_os_str().is_empty() {
                    // An error of the config itself: at its key's line.
                    e.file = path.to_path_buf();
                    if e.line.is_none() {
                        if let Some(key) = &e.key {
                            let parts: Vec<String> = key.split('.').map(str::to_string).collect();
                            e.line = locate::line_of(text, &parts);
                        }
                    }
                }
                e
            })?;
            calendars.insert(name.clone(), Arc::new(built));
        }
        let policy = validate::build_policy(&spec, &calendars).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: locate::line_of(text, &e.path),
            column: None,
            key: Some(e.path.join(".")),
            message: e.message,
        })?;
        let reports = validate::build_reports(&spec, base).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: locate::line_of(text, &e.path),
            column: None,
            key: Some(e.path.join(".")),
            message: e.message,
        })?;
        let exposition_organizations =
            validate::build_exposition(&spec).map_err(|e| ConfigError {
                file: path.to_path_buf(),
                line: locate::line_of(text, &e.path),
                column: None,
                key: Some(e.path.join(".")),
                message: e.message,
            })?;
        let digest = hasher.finalize();
        let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let clocks_hash = Sha256::new()
            .chain_update(hash.as_bytes())
            .chain_update(ENGINE_SOURCE.as_bytes())
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            calendars,
            policy,
            hash,
            clocks_hash,
            sources: spec.sources.clone(),
            reports,
            exposition_organizations,
            store: spec.store.clone(),
        })
    }

    /// A calendar by name; the error lists the ones that exist.
    pub fn calendar(&self, name: &str) -> Result<&Arc<Calendar>, String> {
        self.calendars.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.calendars.keys().map(String::as_str).collect();
            format!(
                "no calendar named \"{name}\" in {}; its calendars are: {}",
                self.path.display(),
                known.join(", ")
            )
        })
    }
}

/// Turns a YAML error into a located config error, keeping the key path that
/// serde_yaml puts in front of the message and moving its position suffix
/// into `line`/`column`.
fn yaml_error(path: &Path, e: &serde_yaml_ng::Error) -> ConfigError {
    let location = e.location();
    let mut text = e.to_string();
    if let Some(loc) = &location {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(stripped) = text.strip_suffix(&suffix) {
            text = stripped.to_string();
        }
    }
    // "calendars.x.hours: message" -> key + message. Messages of our own never
    // start with a dotted path followed by ": ".
    let (key, message) = match text.split_once(": ") {
        Some((k, m)) if !k.contains(' ') && !k.is_empty() => (Some(k.to_string()), m.to_string()),
        _ => (None, text),
    };
    ConfigError {
        file: path.to_path_buf(),
        line: location.as_ref().map(|l| l.line()),
        column: location.as_ref().map(|l| l.column()),
        key,
        message,
    }
}

fn build_calendar(
    name: &str,
    spec: &CalendarSpec,
    base: &Path,
    files: &dyn IncludedFiles,
    hasher: &mut Sha256,
) -> Result<Calendar, ConfigError> {
    let key = format!("calendars.{name}");
    let located = |message: String, sub: &str| ConfigError {
        file: PathBuf::new(),
        line: None,
        column: None,
        key: Some(format!("{key}{sub}")),
        message,
    };
    let mut holidays = BTreeSet::new();
    for (i, h) in spec.holidays.iter().enumerate() {
        match h {
            HolidaySpec::Date(d) => {
                holidays.insert(*d);
            }
            HolidaySpec::Named(set) => {
                let dates =
                    named_set_dates(set, HOLIDAY_YEARS.0, HOLIDAY_YEARS.1).ok_or_else(|| {
                        located(format!("unknown holiday set \"{set}\""), ".holidays")
                    })?;
                holidays.extend(dates);
            }
            HolidaySpec::File(file) => {
                let full = base.join(file);
                let text = files.read(&full).map_err(|e| {
                    located(
                        format!(
                            "cannot read holiday file \"{}\" (looked for {}): {e}",
                            file.display(),
                            full.display()
                        ),
                        &format!(".holidays[{i}]"),
                    )
                })?;
                hasher.update(text.as_bytes());
                let dates = parse_ics(&text).map_err(|e| ConfigError {
                    file: full.clone(),
                    line: Some(e.line),
                    column: None,
                    key: None,
                    message: e.message.clone(),
                })?;
                holidays.extend(dates);
            }
        }
    }
    let mut closures: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for (i, c) in spec.closures.iter().enumerate() {
        let windows = c.windows();
        // A closure removes open hours; one that removes none is a mistake
        // (a wrong time zone, or hours of another calendar).
        let open = spec.hours.0.on(c.date.0.weekday());
        let overlaps = windows
            .iter()
            .any(|w| open.iter().any(|o| o.start < w.end && w.start < o.end));
        if !overlaps && !holidays.contains(&c.date.0) {
            let show = |ws: &[DayWindow]| {
                ws.iter()
                    .map(|w| {
                        format!(
                            "{}-{}",
                            format_time_of_day(w.start),
                            format_time_of_day(w.end)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let day = c.date.0.format("%A");
            return Err(located(
                format!(
                    "the closure of {} {} closes nothing: the calendar is {} on {day}s; a closure removes open hours (check its hours against the calendar's, in {})",
                    c.date.0,
                    show(&windows),
                    if open.is_empty() {
                        "closed all day".to_string()
                    } else {
                        format!("open {}", show(open))
                    },
                    spec.timezone.0
                ),
                &format!(".closures[{i}]"),
            ));
        }
        closures.entry(c.date.0).or_default().extend(windows);
    }
    let rules = Rules {
        tz: spec.timezone.0,
        weekly: spec.hours.0.clone(),
        holidays,
        closures,
    };
    Calendar::new(name, rules, spec.day_length.map(|d| d.0)).map_err(|e| located(e.to_string(), ""))
}

#[cfg(test)]
mod tests;
