//! The four streams: one poll is one request, its records and the cursor
//! to go on from.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::gaps::Gaps;
use super::map::{self, FdActivity, FdAgent, FdCompany, FdConversation, FdTicket, TicketRecords};
use super::Freshdesk;
use crate::sources::{NoteKey, NoteRecord, Page, Record, SourceError};
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
    /// The days without an export file the tickets it read were flagged
    /// by.
    #[serde(default, skip_serializing_if = "Gaps::is_empty")]
    pub gaps: Gaps,
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
        // The days without an export as the activities stream last said,
        // else as this cursor remembers them; the activities stream reads
        // again the tickets flagged by other days.
        if let Some(gaps) = self.gaps.lock().ok().and_then(|g| g.clone()) {
            state.gaps = gaps;
        }
        if let Ok(mut g) = self.tickets_gaps.lock() {
            *g = Some(state.gaps.clone());
        }
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
        let gaps = state.gaps.clone();
        let mapping = self.mapping(&gaps);
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
            match t
                .records(&mapping, false)
                .map_err(|e| malformed(stream, e))?
            {
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
        let mut state = match cursor {
            None => ExportCursor {
                day: first_day,
                ..ExportCursor::default()
            },
            Some(c) => ExportCursor::parse(c).map_err(SourceError::Fatal)?,
        };
        if let Ok(mut g) = self.gaps.lock() {
            *g = Some(state.missing.clone());
        }
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
            return self.export_page(Vec::new(), &state, false);
        }
        // The last day to read: one that has ended, and no later than the
        // last change the tickets stream has seen.
        let now = chrono::Utc::now().timestamp();
        let latest = self
            .latest_update
            .load(std::sync::atomic::Ordering::Relaxed);
        let last = (now - 86_400).min(latest);
        if latest == 0 {
            return self.export_page(Vec::new(), &state, true);
        }
        if let Some(retry) = state.retry.clone() {
            return self.retry_missing(retry, state).await;
        }
        if let Some(reflag) = state.reflag.clone() {
            return self.reflag(reflag, state).await;
        }
        if day_start(state.day) > last {
            // Caught up with the days: ask again for the missing ones
            // within the retention, once after each new day read.
            let Some(read) = state.day.pred_opt() else {
                return self.export_page(Vec::new(), &state, true);
            };
            if state.swept != Some(read) {
                let from = read
                    .checked_sub_days(chrono::Days::new(EXPORT_RETENTION_DAYS))
                    .unwrap_or(read);
                if let Some(day) = state.missing.days_between(from, read).first() {
                    let retry = Retry {
                        day: *day,
                        url: None,
                    };
                    return self.retry_missing(retry, state).await;
                }
                state.swept = Some(read);
            }
            // The tickets stored under other missing days than these are
            // flagged again.
            let used = self.tickets_gaps.lock().ok().and_then(|g| g.clone());
            if let Some(day) = used.and_then(|u| u.first_difference(&state.missing)) {
                let reflag = TicketCursor {
                    since: format_instant(day_start(day)),
                    page: 1,
                    ..TicketCursor::default()
                };
                return self.reflag(reflag, state).await;
            }
            return self.export_page(Vec::new(), &state, true);
        }
        let day = state.day;
        let next_day = day.succ_opt().unwrap_or(day);
        match self.export_step(day, state.url.clone()).await? {
            Step::Url(u) => state.url = Some(u),
            Step::Missing(note) => {
                state.missing.insert(day);
                state.day = next_day;
                state.url = None;
                return self.export_page(vec![note], &state, false);
            }
            Step::Records(records) => {
                state.day = next_day;
                state.url = None;
                return self.export_page(records, &state, false);
            }
        }
        self.export_page(Vec::new(), &state, false)
    }

    /// A page of the ticket list from `cur` (tickets updated since the
    /// first day whose export changed), mapped under the missing days as
    /// they are now: headers, creation and stats events, and the flag set
    /// or withdrawn. Conversations are not read (the tickets stream has or
    /// will).
    async fn reflag(
        &self,
        cur: TicketCursor,
        mut state: ExportCursor,
    ) -> Result<Page, SourceError> {
        let stream = "activities";
        let path = "/api/v2/tickets";
        let query = [
            ("updated_since", cur.since.clone()),
            ("order_by", "updated_at".to_string()),
            ("order_type", "asc".to_string()),
            ("per_page", PER_PAGE.to_string()),
            ("page", cur.page.to_string()),
            ("include", "stats".to_string()),
        ];
        let (body, next) = self.fetch(path, path, &query, true).await?;
        let list: Vec<FdTicket> = self.parse(stream, path, &body)?;
        let since = parse_instant(&cur.since).unwrap_or(self.start_time);
        let mapping = self.mapping(&state.missing);
        let mut seen = Vec::with_capacity(list.len());
        let mut records = Vec::with_capacity(list.len() * 6);
        for t in list {
            let updated = parse_instant(&t.updated_at)
                .map_err(|e| malformed(stream, format!("ticket {}: updated_at: {e}", t.id)))?;
            seen.push((updated, t.id));
            if updated <= since && cur.seen.contains(&t.id) {
                continue;
            }
            if let TicketRecords::Mapped(r, _) = t
                .records(&mapping, true)
                .map_err(|e| malformed(stream, e))?
            {
                records.extend(r);
            }
        }
        let cur = cur
            .after_page(&seen, next.is_some())
            .map_err(SourceError::Fatal)?;
        state.reflag = cur.more.then_some(cur);
        let done = state.reflag.is_none();
        if done {
            if let Ok(mut g) = self.tickets_gaps.lock() {
                *g = Some(state.missing.clone());
            }
        }
        self.export_page(records, &state, done)
    }

    /// One request of asking again for a missing day: its export answer,
    /// then its file. A day whose file came is no longer missing (its note
    /// is withdrawn); then the next missing day, until none is left to ask
    /// for after this sweep.
    async fn retry_missing(
        &self,
        mut retry: Retry,
        mut state: ExportCursor,
    ) -> Result<Page, SourceError> {
        let read = state.day.pred_opt().unwrap_or(state.day);
        let mut records = Vec::new();
        match self.export_step(retry.day, retry.url.clone()).await? {
            Step::Url(u) => {
                retry.url = Some(u);
                state.retry = Some(retry);
                return self.export_page(Vec::new(), &state, false);
            }
            // Still none: asked for again after the next day is read.
            Step::Missing(_) => {}
            Step::Records(r) => {
                tracing::info!(stream = "activities", day = %retry.day, "the ticket activities export of a day that had none came after all; its tickets' history is exact again");
                records = r;
                records.push(Record::Withdraw(NoteKey {
                    kind: MISSING_EXPORT.into(),
                    name: retry.day.format("%Y-%m-%d").to_string(),
                }));
                state.missing.remove(retry.day);
                if let Ok(mut g) = self.gaps.lock() {
                    *g = Some(state.missing.clone());
                }
            }
        }
        let next = retry
            .day
            .succ_opt()
            .and_then(|d| state.missing.days_between(d, read).first().copied());
        state.retry = next.map(|day| Retry { day, url: None });
        if state.retry.is_none() {
            state.swept = Some(read);
        }
        // Not caught up even when the sweep is done: the next poll flags
        // the tickets of a day that came.
        self.export_page(records, &state, false)
    }

    /// One request for `day`'s export: the export's answer (the file's
    /// URL, or none for that day), or with `url` the file itself.
    async fn export_step(
        &self,
        day: chrono::NaiveDate,
        url: Option<String>,
    ) -> Result<Step, SourceError> {
        let stream = "activities";
        let here = day.format("%Y-%m-%d").to_string();
        let day_start = day_start(day);
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
                // No file for that day (the export not enabled, past the
                // retention, not written yet): noted, its tickets flagged.
                tracing::warn!(stream, day = %here, "no ticket activities export for this day; the tickets alive on it are flagged approximated (an account without the export, which Freshdesk retired in October 2023, can set the source's history: stats)");
                return Ok(Step::Missing(Record::Note(NoteRecord {
                    kind: MISSING_EXPORT.into(),
                    name: here,
                    first_at: day_start,
                    last_at: day_start + 86_399,
                })));
            };
            let answer: ExportAnswer = self.parse(stream, path, &body)?;
            let url = match &answer.export {
                Value::Object(o) => o.get("url").and_then(Value::as_str),
                Value::Array(a) => a.iter().find_map(|e| e.get("url").and_then(Value::as_str)),
                _ => None,
            };
            return match url {
                Some(u) if !u.contains(' ') => Ok(Step::Url(u.to_string())),
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
        let gaps = Gaps::default();
        let mapping = self.mapping(&gaps);
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
        Ok(Step::Records(records))
    }

    /// A page of the activities stream; publishes its missing days to the
    /// tickets stream.
    fn export_page(
        &self,
        records: Vec<Record>,
        state: &ExportCursor,
        caught_up: bool,
    ) -> Result<Page, SourceError> {
        if let Ok(mut g) = self.gaps.lock() {
            *g = Some(state.missing.clone());
        }
        Ok(Page {
            stream: "activities".to_string(),
            records,
            cursor: state.write(),
            caught_up,
        })
    }
}

/// The note of a day whose export could not be had.
const MISSING_EXPORT: &str = "missing_activities_export";

/// How many days back Freshdesk keeps export files (airbyte's Freshdesk
/// tests; see docs/freshdesk.md): older missing days are not asked for
/// again.
const EXPORT_RETENTION_DAYS: u64 = 30;

fn day_start(day: chrono::NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(i64::MAX, |d| d.and_utc().timestamp())
}

/// What one request for a day's export gave.
enum Step {
    /// The file's URL (the next request fetches it).
    Url(String),
    /// No file for the day: the note saying so.
    Missing(Record),
    /// The file's records.
    Records(Vec<Record>),
}

/// A missing day asked for again, and its file's URL once known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Retry {
    pub day: chrono::NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Where the activities stream is. Stored as JSON; the older form `DAY`
/// or `DAY URL` is still read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct ExportCursor {
    /// The next day to read.
    pub day: chrono::NaiveDate,
    /// Its file's URL, once the export answered with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The days whose export could not be had.
    #[serde(default, skip_serializing_if = "Gaps::is_empty")]
    pub missing: Gaps,
    /// A missing day being asked for again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// The last day read when the missing days were last asked for again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swept: Option<chrono::NaiveDate>,
    /// Where a pass over the ticket list that flags tickets anew is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reflag: Option<TicketCursor>,
}

impl ExportCursor {
    fn parse(c: &str) -> Result<ExportCursor, String> {
        if c.starts_with('{') {
            return serde_json::from_str(c)
                .map_err(|e| format!("stored cursor for activities does not parse ({e}): {c}"));
        }
        let (d, u) = c
            .split_once(' ')
            .map_or((c, None), |(d, u)| (d, Some(u.to_string())));
        let day = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|e| format!("stored cursor for activities is not a day ({e}): {c}"))?;
        Ok(ExportCursor {
            day,
            url: u,
            ..ExportCursor::default()
        })
    }

    fn write(&self) -> String {
        // Plain data: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
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

    #[test]
    fn the_activities_cursor_is_json_and_reads_the_older_form() {
        let old = ExportCursor::parse("2026-11-03 https://files.test/x.json").unwrap();
        assert_eq!(old.day.to_string(), "2026-11-03");
        assert_eq!(old.url.as_deref(), Some("https://files.test/x.json"));
        assert!(old.missing.is_empty());
        assert_eq!(ExportCursor::parse("2026-11-03").unwrap().url, None);
        let mut c = ExportCursor::parse("2026-11-05").unwrap();
        c.missing.insert(old.day);
        let text = c.write();
        assert_eq!(
            text,
            r#"{"day":"2026-11-05","missing":[["2026-11-03","2026-11-03"]]}"#
        );
        assert_eq!(ExportCursor::parse(&text).unwrap(), c);
        let e = ExportCursor::parse("yesterday").unwrap_err();
        assert!(e.contains("not a day"), "{e}");
    }
}
