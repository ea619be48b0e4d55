//! Markdown from [`Figures`]: pure and byte-stable. Numbers are formatted
//! with fixed precision (attainment one decimal, violation shares two),
//! durations as business time (`2h30m`), instants in UTC or in the named
//! zone, every list in a fixed order; nothing reads the clock or the
//! environment. Charts are Mermaid `xychart-beta` blocks, each followed by a
//! table with the same numbers.
//!
//! One file per part of the report, in the order they appear: the header,
//! summary and trend (`overview`), a section per plan (`plans`), the
//! breaches (`breaches`), service credits (`credits`), data quality
//! (`quality`) and the methodology (`methodology`); `format` writes
//! the values they share.

mod breaches;
mod credits;
mod format;
mod methodology;
mod overview;
mod plans;
mod quality;

use super::figures::Figures;
use super::gather::Dataset;
use crate::policy::Config;
use breaches::breaches;
use credits::credits;
use methodology::methodology;
use overview::{header, summary, trend};
use plans::plan_section;
use quality::quality;

/// Renders the report.
pub fn render(config: &Config, data: &Dataset, fig: &Figures) -> String {
    let mut out = String::new();
    header(&mut out, config, data, fig);
    summary(&mut out, config, data, fig);
    trend(&mut out, config, fig);
    for p in &fig.plans {
        plan_section(&mut out, config, data, p);
    }
    breaches(&mut out, config, data, &fig.breaches);
    credits(&mut out, config, data, &fig.credits);
    quality(&mut out, config, data, fig);
    methodology(&mut out, config, data, fig);
    out
}
