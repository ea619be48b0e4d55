//! The streams: one poll is one page of one stream, its records and the
//! cursor to go on from (cursor or time based pagination).

use serde::Deserialize;

use super::events::{self, ZTicketEvent};
use super::records::{ZOrganization, ZTicket, ZUser};
use super::{sla, Zendesk};
use crate::sources::Source;
use crate::sources::{Page, Record, SourceError};

pub(super) const STREAMS: [&str; 4] = ["users", "organizations", "tickets", "ticket_events"];

/// The stream of Zendesk's own SLA record (ticket metric events), read
/// when the source's `ticket_metric_events` is on.
pub(super) const METRIC_EVENTS: &str = "ticket_metric_events";

/// [`STREAMS`] and [`METRIC_EVENTS`].
pub(super) const STREAMS_WITH_METRIC_EVENTS: [&str; 5] = [
    "users",
    "organizations",
    "tickets",
    "ticket_events",
    METRIC_EVENTS,
];

impl Zendesk {
    /// Counts what mapping a page noticed, and logs each new kind once.
    fn note(&self, stream: &str, noticed: &events::Noticed) {
        for (kind, n) in &noticed.ignored {
            if self.stats.ignored(kind, *n) {
                tracing::info!(stream, event_type = %kind, "ignoring Zendesk child events of this kind (they change nothing an SLA reads); counted in helpdesk_slo_source_ignored_events_total");
            }
        }
        for id in &noticed.unknown_custom_statuses {
            if self.stats.unmapped("custom_status_id", id) {
                tracing::warn!(stream, custom_status_id = %id, "a status change names a custom status the account does not list; the change is skipped (map it under the source's custom_statuses)");
            }
        }
        for value in &noticed.unknown_statuses {
            if self.stats.unmapped("status", value) {
                tracing::warn!(stream, status = %value, "a status change names no Zendesk status; the change is skipped");
            }
        }
    }

    pub(super) async fn poll_stream(
        &self,
        stream: &str,
        cursor: Option<&str>,
    ) -> Result<Page, SourceError> {
        let per_page = ("per_page", self.per_page.to_string());
        // Users and organizations are reference data: a backfill reads all
        // of them, however old; tickets and their events from start_time.
        let first = if matches!(stream, "users" | "organizations") {
            0
        } else {
            self.start_time
        };
        // A cursor stored empty (by a build before this one, after an
        // empty first page) means: never polled.
        let cursor = cursor.filter(|c| !c.is_empty());
        let start = |c: Option<&str>| -> Result<String, SourceError> {
            match c {
                None => Ok(first.to_string()),
                Some(c) if c.parse::<i64>().is_ok() => Ok(c.to_string()),
                Some(c) => Err(SourceError::Fatal(format!(
                    "stored cursor for {stream} is not a time: {c}"
                ))),
            }
        };
        let cursor_query = |c: Option<&str>| cursor_query(c, first);
        match stream {
            "users" => {
                let path = "/api/v2/incremental/users/cursor.json";
                let body = self.fetch(path, &[cursor_query(cursor), per_page]).await?;
                let page: CursorPage<ZUser> = self.parse(stream, path, &body)?;
                let records = page
                    .items
                    .iter()
                    .map(|u| Record::User(u.record()))
                    .collect();
                Ok(cursor_page(
                    stream,
                    records,
                    page.after_cursor,
                    page.end_of_stream,
                    cursor,
                    first,
                ))
            }
            "tickets" => {
                let path = "/api/v2/incremental/tickets/cursor.json";
                let body = self.fetch(path, &[cursor_query(cursor), per_page]).await?;
                let page: CursorPage<ZTicket> = self.parse(stream, path, &body)?;
                let mut records = Vec::with_capacity(page.items.len());
                let overrides = |id: &str| self.custom_status_override(id);
                let categories = |id: &str| self.custom_status_category(id);
                for t in page.items {
                    records.push(Record::Ticket(t.header(stream, &overrides, &categories)?));
                }
                Ok(cursor_page(
                    stream,
                    records,
                    page.after_cursor,
                    page.end_of_stream,
                    cursor,
                    first,
                ))
            }
            "organizations" => {
                let path = "/api/v2/incremental/organizations.json";
                let body = self
                    .fetch(path, &[("start_time", start(cursor)?), per_page])
                    .await?;
                let page: TimePage<ZOrganization> = self.parse(stream, path, &body)?;
                let records = page
                    .items
                    .into_iter()
                    .map(|o| Record::Organization(o.record()))
                    .collect();
                Ok(time_page(
                    stream,
                    records,
                    page.end_time,
                    page.end_of_stream,
                    cursor,
                    first,
                ))
            }
            "ticket_events" => {
                // Custom statuses are read as a poll of their own (every
                // request waits its turn under the source's budget): before
                // the first page, and when a page named one the account did
                // not list (then that page is asked for again after).
                if self.custom_statuses_due() {
                    self.read_custom_statuses().await?;
                    return Ok(Page {
                        stream: stream.to_string(),
                        records: Vec::new(),
                        cursor: start(cursor)?,
                        caught_up: false,
                    });
                }
                let path = "/api/v2/incremental/ticket_events.json";
                let body = self
                    .fetch(
                        path,
                        &[
                            ("start_time", start(cursor)?),
                            ("include", "comment_events".to_string()),
                            per_page,
                        ],
                    )
                    .await?;
                let page: TimePage<ZTicketEvent> = self.parse(stream, path, &body)?;
                let mut records = Vec::with_capacity(page.items.len() * 4);
                let noticed = self.map_events(&page.items, &mut records);
                if !noticed.unknown_custom_statuses.is_empty() && self.reread_custom_statuses() {
                    // A custom status made since the list was read: read it
                    // again on the next poll, then this page again.
                    return Ok(Page {
                        stream: stream.to_string(),
                        records: Vec::new(),
                        cursor: start(cursor)?,
                        caught_up: false,
                    });
                }
                self.note(stream, &noticed);
                records.extend(noticed.notes());
                Ok(self.events_page(stream, records, &page, start(cursor)?, cursor, first))
            }
            METRIC_EVENTS if self.metric_events => {
                let path = "/api/v2/incremental/ticket_metric_events.json";
                let body = self.fetch(path, &[("start_time", start(cursor)?)]).await?;
                let page: TimePage<sla::ZMetricEvent> = self.parse(stream, path, &body)?;
                let records = sla::records(&page.items).map_err(|message| {
                    self.stats.parse_error();
                    SourceError::Malformed {
                        stream: stream.to_string(),
                        message,
                    }
                })?;
                Ok(self.events_page(stream, records, &page, start(cursor)?, cursor, first))
            }
            other => Err(SourceError::Fatal(format!(
                "the zendesk adapter has no stream {other}; its streams are {}",
                self.streams().join(", ")
            ))),
        }
    }
}

impl Zendesk {
    /// A time-based page of events (asked from `start`) with its records,
    /// going on from where [`Self::past_a_full_second`] says.
    fn events_page<T>(
        &self,
        stream: &str,
        records: Vec<Record>,
        page: &TimePage<T>,
        start: String,
        old: Option<&str>,
        first: i64,
    ) -> Page {
        let end_time = self.past_a_full_second(stream, start, page);
        time_page(stream, records, end_time, page.end_of_stream, old, first)
    }

    /// Where a time-based page of events goes on from: its `end_time`, or
    /// the next second when every event of the page shares the second it
    /// was asked from (`start`).
    ///
    /// More events share that second than a page holds. Zendesk puts every
    /// event of a page's last second on the page ("the system may exceed
    /// the 1000-item limit if items share the same timestamp"), so the
    /// second is whole here and the next page starts after it; asking from
    /// the same second again would return this page forever.
    fn past_a_full_second<T>(
        &self,
        stream: &str,
        start: String,
        page: &TimePage<T>,
    ) -> Option<i64> {
        let start_time = start.parse::<i64>().unwrap_or(0);
        match page.end_time {
            Some(end) if !page.end_of_stream && end <= start_time => {
                self.stats.same_second_page();
                tracing::info!(
                    stream,
                    start_time,
                    events = page.items.len(),
                    "a page of events all in one second; continuing from the next second"
                );
                Some(start_time.saturating_add(1))
            }
            end => end,
        }
    }

    /// The records of a page of ticket events, and what mapping noticed.
    fn map_events(&self, items: &[ZTicketEvent], records: &mut Vec<Record>) -> events::Noticed {
        let overrides = |id: &str| self.custom_status_override(id);
        let categories = |id: &str| self.custom_status_category(id);
        let mapping = events::Mapping {
            custom_status_override: &overrides,
            custom_status_category: &categories,
            voice_comments: self.voice_comments,
        };
        let mut noticed = events::Noticed::default();
        for e in items {
            e.records(&mapping, records, &mut noticed);
        }
        noticed
    }
}

/// A stored cursor that says "from this start time": what a cursor-based
/// stream resumes from when Zendesk has given no cursor yet (an empty
/// first page may come with `after_cursor: null`).
const FROM_START_TIME: &str = "start_time:";

/// The query that resumes a cursor-based stream from `cursor` (`None`:
/// never polled, from `first`).
fn cursor_query(cursor: Option<&str>, first: i64) -> (&'static str, String) {
    match cursor.filter(|c| !c.is_empty()) {
        None => ("start_time", first.to_string()),
        Some(c) => match c.strip_prefix(FROM_START_TIME) {
            Some(time) => ("start_time", time.to_string()),
            None => ("cursor", c.to_string()),
        },
    }
}

/// A cursor-based page and where its stream goes on from: the page's
/// `after_cursor`; without one, where the stream was (`old`); never
/// polled before, the start time, so that an empty cursor is never stored.
fn cursor_page(
    stream: &str,
    records: Vec<Record>,
    after: Option<String>,
    end: bool,
    old: Option<&str>,
    first: i64,
) -> Page {
    let cursor = after
        .filter(|a| !a.is_empty())
        .or_else(|| old.filter(|o| !o.is_empty()).map(str::to_string))
        .unwrap_or_else(|| format!("{FROM_START_TIME}{first}"));
    Page {
        stream: stream.to_string(),
        records,
        cursor,
        caught_up: end,
    }
}

/// A time-based page and where its stream goes on from: the page's
/// `end_time`; without one, where the stream was; never polled before, the
/// start time (never an empty cursor).
fn time_page(
    stream: &str,
    records: Vec<Record>,
    end_time: Option<i64>,
    end: bool,
    old: Option<&str>,
    first: i64,
) -> Page {
    Page {
        stream: stream.to_string(),
        records,
        cursor: end_time
            .map(|t| t.to_string())
            .or_else(|| old.filter(|o| !o.is_empty()).map(str::to_string))
            .unwrap_or_else(|| first.to_string()),
        caught_up: end,
    }
}

#[cfg(test)]
mod cursor_tests {
    use super::*;

    const FIRST: i64 = 1_767_225_600;

    /// An empty first page without a cursor (`after_cursor: null`) stores
    /// where the stream starts, and the next poll asks from there: never
    /// `cursor=` with nothing, which Zendesk answers 400 forever.
    #[test]
    fn an_empty_first_page_without_a_cursor_resumes_from_the_start_time() {
        let page = cursor_page("users", Vec::new(), None, true, None, FIRST);
        assert_eq!(page.cursor, format!("start_time:{FIRST}"));
        assert_eq!(
            cursor_query(Some(&page.cursor), FIRST),
            ("start_time", FIRST.to_string())
        );
        // A cursor an older build stored empty reads as never polled.
        assert_eq!(
            cursor_query(Some(""), FIRST),
            ("start_time", FIRST.to_string())
        );
        assert_eq!(cursor_query(None, FIRST), ("start_time", FIRST.to_string()));
    }

    #[test]
    fn a_page_goes_on_from_its_cursor_else_from_where_the_stream_was() {
        let after = cursor_page(
            "tickets",
            Vec::new(),
            Some("MTc4".into()),
            false,
            None,
            FIRST,
        );
        assert_eq!(
            cursor_query(Some(&after.cursor), FIRST),
            ("cursor", "MTc4".to_string())
        );
        let kept = cursor_page(
            "tickets",
            Vec::new(),
            Some(String::new()),
            true,
            Some("MTc4"),
            FIRST,
        );
        assert_eq!(kept.cursor, "MTc4");
        let time = time_page("organizations", Vec::new(), None, true, Some(""), FIRST);
        assert_eq!(time.cursor, FIRST.to_string());
        let time = time_page(
            "organizations",
            Vec::new(),
            Some(FIRST + 60),
            true,
            None,
            FIRST,
        );
        assert_eq!(time.cursor, (FIRST + 60).to_string());
    }
}

#[derive(Deserialize)]
struct CursorPage<T> {
    #[serde(alias = "tickets", alias = "users")]
    items: Vec<T>,
    #[serde(default)]
    after_cursor: Option<String>,
    #[serde(default)]
    end_of_stream: bool,
}

#[derive(Deserialize)]
struct TimePage<T> {
    #[serde(
        alias = "organizations",
        alias = "ticket_events",
        alias = "ticket_metric_events"
    )]
    items: Vec<T>,
    #[serde(default)]
    end_time: Option<i64>,
    #[serde(default)]
    end_of_stream: bool,
}
