//! The four streams: one poll is one request, its records and the cursor
//! to go on from.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::map::{self, FdActivity, FdAgent, FdCompany, FdConversation, FdTicket, TicketRecords};
use super::Freshdesk;
use crate::sources::{NoteRecord, Page, Record, SourceError};
use crate::time::{format_instant, parse_instant};

pub(super) const WITH_EXPORT: [&str; 4] = ["agents", "companies", "tickets", "activities"];
pub(super) const WITHOUT_EXPORT: [&str; 3] = ["agents", "companies", "tickets"];

/// Freshdesk's page size limit.
const PER_PAGE: &str = "100";
/// Freshdesk serves at most this many pages of one listing.
const MAX_PAGES: u32 = 300;

/// Where the tickets stream is: stored as JSON with the records it read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct TicketCursor {
    /// The `updated_since` to ask from (RFC 3339).
    pub since: String,
    /// The page to ask for at `since` (beyond 1 only when more than a page
    /// of tickets share that instant).
    #[serde(default = "one")]
    pub page: u32,
    /// Tickets already read at `since` (they come again: skipped).
    #[serde(default)]
    pub seen: Vec<u64>,
    /// Tickets whose conversations are still to read.
    #[serde(default)]
    pub owed: Vec<Owed>,
    /// The last ticket page said there are more.
    #[serde(default)]
    pub more: bool,
}

fn one() -> u32 {
    1
}

/// A ticket whose conversations are owed: its id, requester and the next
/// page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Owed {
    pub ticket: u64,
    #[serde(default)]
    pub requester: Option<String>,
    pub page: u32,
}

impl TicketCursor {
    /// Where the stream goes after a page of `tickets` (their `updated_at`
    /// and ids, in the order listed) and whether Freshdesk said there are
    /// more.
    pub(super) fn after_page(
        &self,
        tickets: &[(i64, u64)],
        more: bool,
    ) -> Result<TicketCursor, String> {
        let mut next = self.clone();
        next.more = more;
        let old = parse_instant(&self.since).map_err(|e| format!("stored cursor: since: {e}"))?;
        let Some(&(last, _)) = tickets.last() else {
            next.page = 1;
            return Ok(next);
        };
        let last = last.max(old);
        if last == old {
            // Every ticket of the page was at `since`.
            for &(_, id) in tickets {
                if !next.seen.contains(&id) {
                    next.seen.push(id);
                }
            }
            next.page = if more { self.page + 1 } else { 1 };
            if next.page > MAX_PAGES {
                return Err(format!(
                    "more than {MAX_PAGES} pages of tickets share updated_at {}: Freshdesk serves no more pages of one listing",
                    self.since
                ));
            }
        } else {
            next.since = format_instant(last);
            next.page = 1;
            next.seen = tickets
                .iter()
                .filter(|t| t.0 == last)
                .map(|t| t.1)
                .collect();
        }
        Ok(next)
    }
}

/// The export request's answer: `{"export": {"url": …}}`, also seen as a
/// list of `{created_at, url}`.
#[derive(Deserialize)]
struct ExportAnswer {
    #[serde(default)]
    export: Value,
}

#[derive(Deserialize)]
struct ExportFile {
    #[serde(default)]
    activities_data: Vec<FdActivity>,
}

fn malformed(stream: &str, message: String) -> SourceError {
    SourceError::Malformed {
        stream: stream.to_string(),
        message,
    }
}

impl Freshdesk {
    pub(super) async fn poll_stream(
        &self,
        stream: &str,
        cursor: Option<&str>,
    ) -> Result<Page, SourceError> {
        let cursor = cursor.filter(|c| !c.is_empty());
        match stream {
            "agents" | "companies" => self.reference(stream, cursor).await,
            "tickets" => self.tickets(cursor).await,
            "activities" => self.activities(cursor).await,
            other => Err(SourceError::Fatal(format!(
                "the freshdesk adapter has no stream {other}; its streams are {}",
                WITH_EXPORT.join(", ")
            ))),
        }
    }

    /// A page of agents or companies; read again from page 1 once done.
    async fn reference(&self, stream: &str, cursor: Option<&str>) -> Result<Page, SourceError> {
        let page: u32 = match cursor {
            None => 1,
            Some(c) => c.parse().map_err(|_| {
                SourceError::Fatal(format!(
                    "stored cursor for {stream} is not a page number: {c:?}"
                ))
            })?,
        };
        let path = format!("/api/v2/{stream}");
        let (body, next) = self
            .fetch(
                &path,
                &path,
                &[("per_page", PER_PAGE.into()), ("page", page.to_string())],
                true,
            )
            .await?;
        let records: Vec<Record> = if stream == "agents" {
            let list: Vec<FdAgent> = self.parse(stream, &path, &body)?;
            list.iter().filter_map(FdAgent::record).collect()
        } else {
            let list: Vec<FdCompany> = self.parse(stream, &path, &body)?;
            list.into_iter().filter_map(FdCompany::record).collect()
        };
        let more = next.is_some() && page < MAX_PAGES;
        Ok(Page {
            stream: stream.to_string(),
            records,
            cursor: if more { page + 1 } else { 1 }.to_string(),
            caught_up: !more,
        })
    }

    async fn tickets(&self, cursor: Option<&str>) -> Result<Page, SourceError> {
        let stream = "tickets";
        let mut state: TicketCursor = match cursor {
            None => TicketCursor {
                since: format_instant(self.start_time),
                page: 1,
                ..TicketCursor::default()
            },
            Some(c) => serde_json::from_str(c).map_err(|e| {
                SourceError::Fatal(format!(
                    "stored cursor for tickets does not parse ({e}): {c}"
                ))
            })?,
        };
        if let Some(owed) = state.owed.first().cloned() {
            // The conversations of a ticket just delivered.
            let path = format!("/api/v2/tickets/{}/conversations", owed.ticket);
            let answer = self
                .get(
                    &path,
                    &path,
                    &[
                        ("per_page", PER_PAGE.into()),
                        ("page", owed.page.to_string()),
                    ],
                    true,
                )
                .await?;
            let (records, next) = match answer {
                Some((body, next)) => {
                    let list: Vec<FdConversation> = self.parse(stream, &path, &body)?;
                    let ticket = owed.ticket.to_string();
                    let mut records = Vec::with_capacity(list.len());
                    for c in &list {
                        match c.record(&ticket, owed.requester.as_deref()) {
                            Ok(Some(r)) => records.push(r),
                            Ok(None) => {
                                if self.stats.ignored("survey_feedback", 1) {
                                    tracing::info!(stream, "survey feedback conversations owe no reply; counted in helpdesk_slo_source_ignored_events_total");
                                }
                            }
                            Err(e) => return Err(malformed(stream, e)),
                        }
                    }
                    (records, next)
                }
                // Deleted since it was listed: nothing to read.
                None => (Vec::new(), None),
            };
            match next {
                Some(_) if owed.page < MAX_PAGES => state.owed[0].page += 1,
                _ => {
                    state.owed.remove(0);
                }
            }
            return self.ticket_page(records, state);
        }
        let path = "/api/v2/tickets";
        let query = [
            ("updated_since", state.since.clone()),
            ("order_by", "updated_at".to_string()),
            ("order_type", "asc".to_string()),
            ("per_page", PER_PAGE.to_string()),
            ("page", state.page.to_string()),
            ("include", "stats".to_string()),
        ];
        let (body, next) = self.fetch(path, path, &query, true).await?;
        let list: Vec<FdTicket> = self.parse(stream, path, &body)?;
        let since = parse_instant(&state.since).unwrap_or(self.start_time);
        let mapping = self.mapping();
        let mut seen = Vec::with_capacity(list.len());
        let mut records = Vec::with_capacity(list.len() * 6);
        for t in list {
            let updated = parse_instant(&t.updated_at)
                .map_err(|e| malformed(stream, format!("ticket {}: updated_at: {e}", t.id)))?;
            seen.push((updated, t.id));
            self.saw_update(updated);
            if updated <= since && state.seen.contains(&t.id) {
                continue;
            }
            let id = t.id;
            let untouched = t.untouched();
            match t.records(&mapping).map_err(|e| malformed(stream, e))? {
                TicketRecords::Skipped => {
                    if self.stats.ignored("outbound_email_ticket", 1) {
                        tracing::info!(stream, "outbound-email tickets get no clocks (outbound_email: ignore); counted in helpdesk_slo_source_ignored_events_total");
                    }
                }
                TicketRecords::Mapped(r, _) if untouched => records.extend(r),
                TicketRecords::Mapped(r, requester) => {
                    records.extend(r);
                    state.owed.push(Owed {
                        ticket: id,
                        requester,
                        page: 1,
                    });
                }
            }
        }
        let state = state
            .after_page(&seen, next.is_some())
            .map_err(SourceError::Fatal)?;
        self.ticket_page(records, state)
    }

    fn ticket_page(&self, records: Vec<Record>, state: TicketCursor) -> Result<Page, SourceError> {
        let caught_up = state.owed.is_empty() && !state.more;
        let cursor = serde_json::to_string(&state)
            .map_err(|e| SourceError::Fatal(format!("cannot write the tickets cursor: {e}")))?;
        Ok(Page {
            stream: "tickets".to_string(),
            records,
            cursor,
            caught_up,
        })
    }

    async fn activities(&self, cursor: Option<&str>) -> Result<Page, SourceError> {
        let stream = "activities";
        let first_day = chrono::DateTime::from_timestamp(self.start_time, 0)
            .map(|t| t.date_naive())
            .ok_or_else(|| SourceError::Fatal("start_time is out of range".into()))?;
        let (day, url) = match cursor {
            None => (first_day, None),
            Some(c) => {
                let (d, u) = c
                    .split_once(' ')
                    .map_or((c, None), |(d, u)| (d, Some(u.to_string())));
                let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|e| {
                    SourceError::Fatal(format!(
                        "stored cursor for activities is not a day ({e}): {c}"
                    ))
                })?;
                (d, u)
            }
        };
        let page = |records: Vec<Record>, cursor: String, caught_up: bool| Page {
            stream: stream.to_string(),
            records,
            cursor,
            caught_up,
        };
        let here = day.format("%Y-%m-%d").to_string();
        let needs_names = self
            .status_names
            .lock()
            .map(|n| n.is_none())
            .unwrap_or(true);
        if needs_names {
            let path = "/api/v2/ticket_fields";
            let (body, _) = self.fetch(path, path, &[], true).await?;
            let fields: Vec<Value> = self.parse(stream, path, &body)?;
            if let Ok(mut n) = self.status_names.lock() {
                *n = Some(map::status_names(&fields));
            }
            let c = url.map_or(here.clone(), |u| format!("{here} {u}"));
            return Ok(page(Vec::new(), c, false));
        }
        // The last day to read: one that has ended, and no later than the
        // last change the tickets stream has seen.
        let now = chrono::Utc::now().timestamp();
        let latest = self
            .latest_update
            .load(std::sync::atomic::Ordering::Relaxed);
        let last = (now - 86_400).min(latest);
        let day_start = day
            .and_hms_opt(0, 0, 0)
            .map_or(i64::MAX, |d| d.and_utc().timestamp());
        if latest == 0 || day_start > last {
            let c = url.map_or(here.clone(), |u| format!("{here} {u}"));
            return Ok(page(Vec::new(), c, true));
        }
        let next_day = day.succ_opt().unwrap_or(day).format("%Y-%m-%d").to_string();
        let Some(url) = url else {
            let path = "/api/v2/export/ticket_activities";
            let answer = self
                .get(path, path, &[("created_at", here.clone())], true)
                .await
                .map_err(|e| match e {
                    SourceError::Fatal(m) => SourceError::Fatal(format!(
                        "{m}. If the account has no ticket activities export, set the source's history: stats (clocks are then approximated and flagged)"
                    )),
                    other => other,
                })?;
            let Some((body, _)) = answer else {
                // No file for that day (past the retention): reported, and
                // the day is passed.
                tracing::warn!(stream, day = %here, "no ticket activities export for this day; its tickets' history is incomplete (an account without the export, which Freshdesk retired in October 2023, should set the source's history: stats)");
                let note = Record::Note(NoteRecord {
                    kind: "missing_activities_export".into(),
                    name: here.clone(),
                    first_at: day_start,
                    last_at: day_start + 86_399,
                });
                return Ok(page(vec![note], next_day, false));
            };
            let answer: ExportAnswer = self.parse(stream, path, &body)?;
            let url = match &answer.export {
                Value::Object(o) => o.get("url").and_then(Value::as_str),
                Value::Array(a) => a.iter().find_map(|e| e.get("url").and_then(Value::as_str)),
                _ => None,
            };
            return match url {
                Some(u) if !u.contains(' ') => Ok(page(Vec::new(), format!("{here} {u}"), false)),
                _ => Err(malformed(
                    stream,
                    format!("GET {path}?created_at={here}: no export url in the answer"),
                )),
            };
        };
        // The file lives on another host: no credentials go there.
        let (body, _) = self
            .fetch("the ticket activities export file", &url, &[], false)
            .await?;
        let file: ExportFile = self.parse(stream, "the ticket activities export file", &body)?;
        let names = self
            .status_names
            .lock()
            .ok()
            .and_then(|n| n.clone())
            .unwrap_or_default();
        let code = |name: &str| names.get(name).copied();
        let mapping = self.mapping();
        let compact = day.format("%Y%m%d").to_string();
        let mut got = map::Collected::default();
        for (i, a) in file.activities_data.iter().enumerate() {
            a.records(&compact, i, &mapping, &code, &mut got)
                .map_err(|e| malformed(stream, e))?;
        }
        let map::Collected {
            mut records,
            ignored,
            unknown_status: unknown,
        } = got;
        for (kind, n) in &ignored {
            if self.stats.ignored(&format!("activity_{kind}"), *n) {
                tracing::info!(stream, activity = %kind, "ignoring activity export keys of this kind (they change nothing an SLA reads)");
            }
        }
        for name in &unknown {
            if self.stats.unmapped("status", name) {
                tracing::warn!(stream, status = %name, "an activity names a status the account's ticket fields do not list; the change is skipped");
            }
            records.push(Record::Note(NoteRecord {
                kind: "unmapped_status".into(),
                name: name.clone(),
                first_at: day_start,
                last_at: day_start + 86_399,
            }));
        }
        Ok(page(records, next_day, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        parse_instant(s).unwrap()
    }

    #[test]
    fn the_cursor_walks_updated_since_forward_and_remembers_the_seam() {
        let c = TicketCursor {
            since: "2026-11-02T00:00:00Z".into(),
            page: 1,
            ..Default::default()
        };
        let next = c
            .after_page(
                &[
                    (at("2026-11-02T10:00:00Z"), 5),
                    (at("2026-11-02T12:00:00Z"), 7),
                    (at("2026-11-02T12:00:00Z"), 8),
                ],
                true,
            )
            .unwrap();
        assert_eq!(next.since, "2026-11-02T12:00:00Z");
        assert_eq!(next.page, 1);
        assert_eq!(next.seen, vec![7, 8]);
        assert!(next.more);
        // A full page all at the seam: the next page of the same instant.
        let same = next
            .after_page(&[(at("2026-11-02T12:00:00Z"), 9)], true)
            .unwrap();
        assert_eq!(
            (same.since.as_str(), same.page),
            ("2026-11-02T12:00:00Z", 2)
        );
        assert_eq!(same.seen, vec![7, 8, 9]);
        // Nothing new: where it was, from page 1.
        let idle = same.after_page(&[], false).unwrap();
        assert_eq!((idle.page, idle.more), (1, false));
        // Past the cap at one instant: an error, not a skip.
        let capped = TicketCursor { page: 300, ..same };
        assert!(capped
            .after_page(&[(at("2026-11-02T12:00:00Z"), 10)], true)
            .is_err());
    }
}
