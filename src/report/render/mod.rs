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
//! (`quality`), the reconciliation with the helpdesk's own SLA record
//! where a source reads one (`reconciliation`) and the methodology
//! (`methodology`); `format` writes
//! the values they share.
//!
//! **Every list is capped** so that the report stays short at any scale
//! (no line longer than a few hundred characters, whatever the number of
//! tickets): the worst [`BREACHES_PER_PLAN`] breached clocks per plan, the
//! [`CUSTOMERS_PER_TABLE`] customers owed the most credit per credit table,
//! [`EXAMPLES_PER_LINE`] example tickets per data quality finding and
//! [`ITEMS_PER_LIST`] items per list of values; names from the helpdesk are
//! cut to [`NAME_CHARS`] characters. Each capped list says how many there
//! are in all and links the CSV file beside the report that holds every row
//! ([`crate::report::csv`]).

mod breaches;
mod credits;
pub(crate) mod format;
mod methodology;
mod overview;
mod plans;
mod quality;
mod reconciliation;

use super::csv::CsvKind;
use super::figures::Figures;
use super::gather::Dataset;
use crate::policy::Config;
use crate::reconcile::store::Summary;
use breaches::breaches;
use credits::credits;
use methodology::methodology;
use overview::{header, summary, trend};
use plans::plan_section;
use quality::quality;
use reconciliation::reconciliation;

/// Breached clocks listed per plan.
pub const BREACHES_PER_PLAN: usize = 25;
/// Customers listed per credit table.
pub const CUSTOMERS_PER_TABLE: usize = 10;
/// Example tickets listed per data quality finding.
pub const EXAMPLES_PER_LINE: usize = 5;
/// Items listed per list of values (priority values, tickets whose events
/// disagree with the record, helpdesk notes, polling gaps).
pub const ITEMS_PER_LIST: usize = 10;
/// Characters of a name or value from the helpdesk shown in the markdown.
pub const NAME_CHARS: usize = 40;

/// How the header states the data cut-off (read back by
/// [`crate::report::first_issue_of`]).
pub const CUTOFF_PREFIX: &str = "- **Data cut-off:** ";
/// How the header of a re-issue names the first issue's cut-off.
pub const REISSUE_PREFIX: &str = "- **Re-issue:** first issued with data cut-off ";

/// Renders the report whose file name without `.md` is `stem`: the CSV
/// files it links are named after it ([`CsvKind::file_name`]).
pub fn render(
    config: &Config,
    data: &Dataset,
    fig: &Figures,
    stem: &str,
    reconciled: Option<&Summary>,
) -> String {
    let csv = |k: CsvKind| k.file_name(stem);
    let mut out = String::new();
    header(&mut out, config, data, fig);
    summary(&mut out, config, data, fig);
    trend(&mut out, config, fig);
    for p in &fig.plans {
        plan_section(&mut out, config, data, p);
    }
    breaches(
        &mut out,
        config,
        data,
        &fig.breaches,
        &csv(CsvKind::Breaches),
    );
    credits(&mut out, config, data, &fig.credits, &csv(CsvKind::Credits));
    quality(&mut out, config, data, fig, &csv(CsvKind::DataQuality));
    if let Some(s) = reconciled {
        reconciliation(&mut out, s);
    }
    methodology(&mut out, config, data, fig);
    out
}
