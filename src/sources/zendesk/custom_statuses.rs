//! The account's custom statuses: read when first needed and again when a
//! page names an unknown one, and looked up when mapping statuses.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{events, Str, ZValue, Zendesk};
use crate::policy::spec::Status;
use crate::sources::SourceError;

/// The account's custom statuses as last read.
#[derive(Debug, Default)]
pub(super) struct CustomStatuses {
    /// Custom status id → its `status_category`.
    categories: HashMap<String, Status>,
    /// When last read (`None`: never).
    read_at: Option<Instant>,
    /// A page named a custom status the list lacks: read it again.
    again: bool,
}

/// The least time between two reads of the custom statuses an unknown id
/// asks for (each read is one request of the account's budget).
const CUSTOM_STATUSES_REREAD: Duration = Duration::from_secs(300);

/// `GET /api/v2/custom_statuses`.
#[derive(Deserialize)]
struct CustomStatusList<'a> {
    #[serde(borrow)]
    custom_statuses: Vec<ZCustomStatus<'a>>,
}

#[derive(Deserialize)]
struct ZCustomStatus<'a> {
    #[serde(borrow)]
    id: ZValue<'a>,
    #[serde(default, borrow)]
    status_category: Option<Str<'a>>,
}

impl Zendesk {
    /// Whether the custom statuses are to be read now: never read yet, or
    /// asked for again.
    pub(super) fn custom_statuses_due(&self) -> bool {
        let cs = lock(&self.custom_statuses);
        cs.read_at.is_none() || cs.again
    }

    /// Asks for the custom statuses to be read again, unless they were read
    /// less than [`CUSTOM_STATUSES_REREAD`] ago; true when asked.
    pub(super) fn reread_custom_statuses(&self) -> bool {
        let mut cs = lock(&self.custom_statuses);
        let due = cs
            .read_at
            .is_none_or(|at| at.elapsed() >= CUSTOM_STATUSES_REREAD);
        cs.again |= due;
        due
    }

    /// Reads the account's custom statuses (one request). An account that
    /// cannot list them (custom statuses off: 404; a role without access:
    /// 403) has none.
    pub(super) async fn read_custom_statuses(&self) -> Result<(), SourceError> {
        let path = "/api/v2/custom_statuses.json";
        let categories = match self.fetch(path, &[]).await {
            Ok(body) => {
                let list: CustomStatusList = self.parse("custom_statuses", path, &body)?;
                list.custom_statuses
                    .iter()
                    .filter_map(|c| {
                        let status = c.status_category.as_deref().and_then(events::status_of)?;
                        Some((c.id.id_text()?, status))
                    })
                    .collect()
            }
            Err(SourceError::Fatal(msg))
                if msg.contains("HTTP 404") || msg.contains("HTTP 403") =>
            {
                HashMap::new()
            }
            Err(e) => return Err(e),
        };
        let mut cs = lock(&self.custom_statuses);
        cs.categories = categories;
        cs.read_at = Some(Instant::now());
        cs.again = false;
        Ok(())
    }

    /// The status the config counts a custom status as.
    pub(super) fn custom_status_override(&self, id: &str) -> Option<Status> {
        self.custom_status_overrides.get(id).copied()
    }

    /// A custom status' category, as the account lists it.
    pub(super) fn custom_status_category(&self, id: &str) -> Option<Status> {
        lock(&self.custom_statuses).categories.get(id).copied()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
