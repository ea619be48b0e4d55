//! A helpdesk kind that exists only in test builds: it makes its pages up
//! from its config, so a test can show that a helpdesk is its folder plus
//! one registration line in [`super::KINDS`] — the config check, the
//! daemon, the store and the exposition know nothing else of it.

use serde::Deserialize;

use super::{
    ChangeRecord, EventRecord, Kind, Page, PollFuture, Record, SettingError, Source, SourceError,
    TicketHeader,
};
use crate::policy::spec::{SourceSpec, Status};

/// The kind in the registry of helpdesk kinds ([`super::KINDS`]).
pub const KIND: Kind = Kind {
    name: "testing",
    check: |spec| Config::from_spec(spec).map(|_| ()),
    build: |spec| {
        let config = Config::from_spec(spec).map_err(|e| e.to_string())?;
        Ok(Box::new(Made { config }))
    },
    ticket_url: |_, id| Some(format!("https://helpdesk.invalid/tickets/{id}")),
    reconcile: None,
    sla_record: None,
};

/// The kind's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Tickets to make, one per page.
    tickets: u32,
    /// When the first was created (Unix seconds); one an hour after it.
    start: i64,
}

impl Config {
    fn from_spec(spec: &SourceSpec) -> Result<Config, SettingError> {
        let config: Config = super::settings(spec)?;
        if config.tickets == 0 {
            return Err(SettingError {
                key: Some("tickets".into()),
                message: "0 tickets: give 1 or more".into(),
            });
        }
        Ok(config)
    }
}

/// The adapter: ticket `n` is created at `start + n` hours, answered by an
/// agent 30 minutes later and solved after two hours.
struct Made {
    config: Config,
}

impl Source for Made {
    fn kind(&self) -> &'static str {
        KIND.name
    }

    fn streams(&self) -> &[&'static str] {
        &["tickets"]
    }

    fn poll<'a>(&'a self, stream: &'a str, cursor: Option<&'a str>) -> PollFuture<'a> {
        let page = match cursor.map(str::parse::<u32>).transpose() {
            Ok(done) => Ok(self.page(stream, done.unwrap_or(0))),
            Err(e) => Err(SourceError::Fatal(format!("cursor {cursor:?}: {e}"))),
        };
        Box::pin(async move { page })
    }
}

impl Made {
    fn page(&self, stream: &str, done: u32) -> Page {
        let n = (done + 1).min(self.config.tickets);
        let created = self.config.start + i64::from(n) * 3_600;
        let id = n.to_string();
        let event = |k: &str, at: i64, change: ChangeRecord| {
            Record::Event(EventRecord {
                ticket_id: id.clone(),
                id: format!("{id}.{k}"),
                at,
                change,
            })
        };
        let records = if done >= self.config.tickets {
            Vec::new()
        } else {
            vec![
                Record::Ticket(TicketHeader {
                    id: id.clone(),
                    created_at: created,
                    updated_at: created + 7_200,
                    url: None,
                    organization_id: None,
                    requester_id: None,
                    tags: Vec::new(),
                    fields: Default::default(),
                    deleted: false,
                    status: Some(Status::Solved),
                    priority: Some("urgent".into()),
                    group: None,
                }),
                event(
                    "p",
                    created,
                    ChangeRecord::Priority {
                        value: Some("urgent".into()),
                    },
                ),
                event(
                    "r",
                    created + 1_800,
                    ChangeRecord::Comment {
                        author: crate::engine::timeline::Author::Agent,
                        author_id: None,
                        public: true,
                    },
                ),
                event(
                    "s",
                    created + 7_200,
                    ChangeRecord::Status {
                        value: Status::Solved,
                    },
                ),
            ]
        };
        Page {
            stream: stream.to_string(),
            records,
            cursor: n.to_string(),
            caught_up: n >= self.config.tickets,
        }
    }
}

#[cfg(test)]
mod tests;
