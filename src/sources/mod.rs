//! Helpdesk adapters: one module per helpdesk behind the small [`Source`]
//! trait, all producing the same normalized records.
//!
//! An adapter reads its helpdesk's incremental streams (tickets, ticket
//! events, organizations, and whatever it needs to tell agents from
//! requesters) and turns one page of one stream into a [`Page`]: normalized
//! [`Record`]s plus the cursor that resumes *after* them. The daemon stores
//! the records and the cursor in one transaction, so a cursor never advances
//! past data that is not stored, and a crash at any point resumes where the
//! last commit left off. Adding a helpdesk is its folder (its typed config,
//! client, wire types and mapping, and a [`Kind`]) and one line in
//! [`KINDS`].
//!
//! Records carry references (an organization id), not copies: the store
//! assembles a ticket's [`crate::engine::Ticket`] timeline from its header,
//! its events and the organizations it has seen ([`assemble`]).

pub mod assemble;
pub mod freshdesk;
pub(crate) mod http;
pub mod jsm;
#[cfg(test)]
mod testing;
pub mod zendesk;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::timeline::Author;
use crate::policy::spec::{SourceSpec, Status};
use crate::policy::{Config, ConfigError};

/// A ticket's current header: what the helpdesk says about it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketHeader {
    /// The helpdesk's ticket id, as text.
    pub id: String,
    #[serde(with = "crate::engine::timeline::instant")]
    pub created_at: i64,
    #[serde(with = "crate::engine::timeline::instant")]
    pub updated_at: i64,
    /// A link to the ticket for people (the agent UI), not the API.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Who asked: their comments are requester messages.
    #[serde(default)]
    pub requester_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The ticket was deleted in the helpdesk: keep it out of attainment.
    #[serde(default)]
    pub deleted: bool,
    /// Its status now (a custom status already resolved to the status it
    /// counts as), for the cross-check with its events.
    #[serde(default)]
    pub status: Option<Status>,
    /// Its priority now, as the helpdesk names it.
    #[serde(default)]
    pub priority: Option<String>,
    /// Its group now.
    #[serde(default)]
    pub group: Option<String>,
}

/// One change in a ticket's history, normalized. `id` is unique per ticket
/// and stable across re-reads, so a page read twice stores nothing twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub ticket_id: String,
    pub id: String,
    #[serde(with = "crate::engine::timeline::instant")]
    pub at: i64,
    pub change: ChangeRecord,
}

/// What changed; like [`crate::engine::Change`], with the organization as a
/// reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeRecord {
    Priority {
        value: Option<String>,
    },
    Severity {
        value: Option<String>,
    },
    Group {
        value: Option<String>,
    },
    Organization {
        id: Option<String>,
    },
    Tags {
        value: Vec<String>,
    },
    /// Another ticket field (a custom field by its id, or a system field the
    /// engine has no event of its own for, such as `type`); `null` clears it.
    Field {
        name: String,
        value: serde_json::Value,
    },
    /// `author` is the adapter's reading; with `author_id`, assembly
    /// corrects it from the stored users and the ticket's requester.
    Comment {
        author: Author,
        #[serde(default)]
        author_id: Option<String>,
        public: bool,
    },
    Status {
        value: Status,
    },
}

/// A customer organization as the helpdesk has it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationRecord {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// A helpdesk user, as far as SLAs care: agent or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: String,
    /// An agent or admin (their public comments are replies).
    pub agent: bool,
}

/// The [`NoteRecord::kind`] of a ticket (named by its id) whose status
/// history the helpdesk did not keep and the adapter approximated (from
/// Freshdesk's last-value `stats`): counted in
/// `helpdesk_slo_source_approximated_tickets`, listed in the report.
pub const APPROXIMATED_HISTORY: &str = "approximated_history";

/// The field that says a stored ticket's status history was approximated
/// by its source (`freshdesk_history: approximated`), if one does.
pub fn approximated_history(ticket: &crate::engine::Ticket) -> Option<&str> {
    ticket
        .fields
        .iter()
        .find(|(k, v)| k.ends_with("_history") && v.as_str() == Some("approximated"))
        .map(|(k, _)| k.as_str())
}

/// Something an adapter read past or could not map, kept for the report's
/// data quality: which kinds and values, and over which span of time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteRecord {
    /// `ignored_event` (a kind of record that changes nothing an SLA reads,
    /// named by the helpdesk's kind), `unmapped_<field>` (a value the
    /// adapter skipped, such as `unmapped_custom_status_id`), or
    /// [`APPROXIMATED_HISTORY`] (a ticket, by id).
    pub kind: String,
    /// The kind of record or the value.
    pub name: String,
    /// The earliest and latest instants of the helpdesk's records it was
    /// seen in.
    #[serde(with = "crate::engine::timeline::instant")]
    pub first_at: i64,
    #[serde(with = "crate::engine::timeline::instant")]
    pub last_at: i64,
}

/// A normalized record from any helpdesk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Ticket(TicketHeader),
    Event(EventRecord),
    Organization(OrganizationRecord),
    User(UserRecord),
    Note(NoteRecord),
    /// A note that no longer holds (a ticket whose history the helpdesk
    /// has since given in full): the stored note of that kind and name, if
    /// any, is removed.
    Withdraw(NoteKey),
}

/// Which note: its [`NoteRecord::kind`] and [`NoteRecord::name`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteKey {
    pub kind: String,
    pub name: String,
}

/// One page of one stream: its records and the cursor after them.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Which of the source's streams (`tickets`, `ticket_events`, …).
    pub stream: String,
    pub records: Vec<Record>,
    /// Resumes after this page; store it with the records.
    pub cursor: String,
    /// The stream has nothing newer for now: poll again after the interval.
    pub caught_up: bool,
}

/// Why a poll failed. The daemon retries `Transient` with backoff, logs and
/// counts the rest.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Rate limited: retry after this many seconds.
    #[error("rate limited by the helpdesk; retry after {0} s")]
    RateLimited(u64),
    /// A 5xx, a timeout, a broken connection: retry with backoff.
    #[error("transient failure: {0}")]
    Transient(String),
    /// A page that does not parse: retried, never skipped past.
    #[error("malformed page from {stream}: {message}")]
    Malformed { stream: String, message: String },
    /// Authentication or configuration: needs a person.
    #[error("{0}")]
    Fatal(String),
}

/// A boxed future, so `Source` stays object-safe.
pub type PollFuture<'a> = Pin<Box<dyn Future<Output = Result<Page, SourceError>> + Send + 'a>>;

/// One helpdesk: its streams, each polled from a stored cursor.
pub trait Source: Send + Sync {
    /// The helpdesk's kind (`zendesk`), for labels and logs.
    fn kind(&self) -> &'static str;
    /// The streams to poll, in the order a backfill should read them
    /// (organizations before the tickets that refer to them).
    fn streams(&self) -> &[&'static str];
    /// The streams in groups that are read at the same time, each group
    /// once every stream of the groups before it has caught up. Reference
    /// data (organizations, users) goes in a group before the tickets that
    /// refer to it; streams that only meet in the store (a ticket's header
    /// and its events) can share one. By default each stream is a group of
    /// its own, read in the order of [`Source::streams`].
    fn stream_groups(&self) -> Vec<Vec<&'static str>> {
        self.streams().iter().map(|s| vec![*s]).collect()
    }
    /// Reads the page of `stream` that follows `cursor` (`None`: from the
    /// configured start).
    fn poll<'a>(&'a self, stream: &'a str, cursor: Option<&'a str>) -> PollFuture<'a>;
    /// What the adapter counts of its requests, for the exporter's own
    /// health metrics.
    fn request_stats(&self) -> Option<std::sync::Arc<RequestStats>> {
        None
    }
}

/// Counts of an adapter's HTTP requests, shared with the daemon.
#[derive(Debug, Default)]
pub struct RequestStats {
    inner: std::sync::Mutex<RequestCounts>,
}

/// A snapshot of [`RequestStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Responses by HTTP status; `error` when none came.
    pub by_code: BTreeMap<String, u64>,
    /// Requests left in the helpdesk's rate-limit window, from its headers.
    pub rate_limit_remaining: Option<i64>,
    /// Response bodies that did not parse.
    pub parse_errors: u64,
    /// Records of kinds the adapter reads past (they change nothing an SLA
    /// reads), by the helpdesk's name of the kind.
    pub ignored_events: BTreeMap<String, u64>,
    /// Values the adapter could not map (a status it does not know), by
    /// field, and the distinct values seen (bounded).
    pub unmapped: BTreeMap<String, u64>,
    unmapped_seen: std::collections::BTreeSet<(String, String)>,
    /// Time-based pages whose events all shared one second (more than a
    /// page holds), read past to the next second.
    pub same_second_pages: u64,
}

/// The most distinct kinds and values counted by name; past it they count
/// as `other`, so remote input cannot grow the exposition without bound.
const MAX_NAMED: usize = 64;

impl RequestStats {
    /// Counts a response (`Some(status)`) or a request that got none.
    pub fn response(&self, status: Option<u16>, rate_limit_remaining: Option<i64>) {
        if let Ok(mut c) = self.inner.lock() {
            let code = status.map_or_else(|| "error".to_string(), |s| s.to_string());
            *c.by_code.entry(code).or_default() += 1;
            if rate_limit_remaining.is_some() {
                c.rate_limit_remaining = rate_limit_remaining;
            }
        }
    }

    pub fn parse_error(&self) {
        if let Ok(mut c) = self.inner.lock() {
            c.parse_errors += 1;
        }
    }

    pub fn same_second_page(&self) {
        if let Ok(mut c) = self.inner.lock() {
            c.same_second_pages += 1;
        }
    }

    /// Counts `n` records of `kind` read past; true the first time the kind
    /// is seen (log it then).
    pub fn ignored(&self, kind: &str, n: u64) -> bool {
        let Ok(mut c) = self.inner.lock() else {
            return false;
        };
        let first = !c.ignored_events.contains_key(kind);
        let key = if first && c.ignored_events.len() >= MAX_NAMED {
            "other"
        } else {
            kind
        };
        *c.ignored_events.entry(key.to_string()).or_default() += n;
        first
    }

    /// Counts a value of `field` the adapter could not map; true the first
    /// time this value is seen (log it then).
    pub fn unmapped(&self, field: &str, value: &str) -> bool {
        let Ok(mut c) = self.inner.lock() else {
            return false;
        };
        *c.unmapped.entry(field.to_string()).or_default() += 1;
        if c.unmapped_seen.len() >= MAX_NAMED {
            return false;
        }
        c.unmapped_seen
            .insert((field.to_string(), value.to_string()))
    }

    pub fn snapshot(&self) -> RequestCounts {
        self.inner.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// A kind of helpdesk this build can poll: how to check a source's
/// settings, build its adapter, and link to one of its tickets. Each
/// adapter's folder defines its own (`zendesk::KIND`).
pub struct Kind {
    /// The `kind:` of a source config.
    pub name: &'static str,
    /// Checks the adapter's settings (the source's keys besides `kind`,
    /// `poll_interval` and `requests_per_minute`) without I/O.
    pub check: fn(&SourceSpec) -> Result<(), SettingError>,
    /// The adapter for a source; may read its secret.
    pub build: fn(&SourceSpec) -> Result<Box<dyn Source>, String>,
    /// A link for people to a ticket in the helpdesk's agent UI.
    pub ticket_url: fn(&SourceSpec, &str) -> Option<String>,
    /// How the helpdesk's own SLA record is compared with our clocks, for a
    /// helpdesk that keeps one this build reads (`None`: not compared).
    pub reconcile: Option<&'static Reconciler>,
    /// The helpdesk's own SLA record, where the adapter stores it as field
    /// changes of the ticket rather than as its history (`None`: it stores
    /// none that way).
    pub sla_record: Option<&'static SlaRecord>,
}

/// A kind of helpdesk SLA record, stored as field changes rather than the
/// ticket's history ([`assemble`] makes them fields of the ticket, not
/// events of its timeline).
pub struct SlaRecord {
    /// The prefix of the names of its field changes.
    pub prefix: &'static str,
    /// One of its stored events as its readers read it, from the event's
    /// id, instant and stored value.
    pub value: fn(id: &str, at: i64, stored: serde_json::Value) -> serde_json::Value,
}

/// A helpdesk's side of the reconciliation ([`crate::reconcile`]), owned by
/// its adapter's folder.
pub struct Reconciler {
    /// Checks the source's reconciliation settings against the config
    /// (e.g. that each key of `reconcile:` is one of its metrics), without
    /// I/O.
    pub check: fn(&SourceSpec, &Config) -> Result<(), SettingError>,
    /// Whether the source is set to read the helpdesk's record; if not,
    /// what turns it on (for an error message).
    pub enabled: fn(&SourceSpec) -> Result<(), String>,
    /// The reader of the helpdesk's side of a stored ticket under the
    /// config's policy.
    pub theirs: fn(&SourceSpec, &crate::policy::Policy) -> Result<TheirSide, String>,
    /// Our metrics compared with one of the helpdesk's, in the policy's
    /// order (the series the exporter writes for the source).
    pub metrics: fn(&SourceSpec, &crate::policy::Policy) -> Vec<String>,
}

impl Reconciler {
    /// The reconciler of `source`, when its kind has one and the source
    /// reads the helpdesk's record.
    pub fn of<'c>(
        config: &'c Config,
        source: &str,
    ) -> Option<(&'static Reconciler, &'c SourceSpec)> {
        let spec = config.sources.get(source)?;
        let r = kind(&spec.kind)?.reconcile?;
        (r.enabled)(spec).ok()?;
        Some((r, spec))
    }
}

/// Each key under `reconcile:` is one of the config's metrics; an error
/// names the key (`reconcile.<key>`) and the metrics there are. For the
/// [`Reconciler::check`] of an adapter whose `reconcile:` maps our metrics.
pub fn check_reconcile_keys(
    spec: &SourceSpec,
    config: &crate::policy::Config,
) -> Result<(), SettingError> {
    let Some(map) = spec
        .settings
        .get("reconcile")
        .and_then(serde_yaml_ng::Value::as_mapping)
    else {
        return Ok(());
    };
    let names: Vec<&str> = config
        .policy
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    for key in map.keys() {
        let key = key.as_str().unwrap_or("");
        if !names.contains(&key) {
            return Err(SettingError {
                key: Some(format!("reconcile.{key}")),
                message: format!(
                    "{key:?} is not one of the config's metrics; reconcile maps each of them (by name: {}) to the helpdesk's",
                    names.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// Reads the helpdesk's side of one stored ticket, reconciled at an
/// instant (the second argument: what the helpdesk had exported by then
/// can depend on it).
pub type TheirSide =
    Box<dyn Fn(&crate::engine::Ticket, i64) -> crate::reconcile::Theirs + Send + Sync>;

/// An adapter's [`TheirSide`] from its mapping of our metrics (`metric`
/// names an entry's): `holds` says whether a ticket keeps the helpdesk's
/// record of an entry, `observed` reads the instances of them all.
pub fn their_side<M: Send + Sync + 'static>(
    mapping: Vec<M>,
    metric: fn(&M) -> &str,
    holds: fn(&crate::engine::Ticket, &M) -> bool,
    observed: fn(&crate::engine::Ticket, &[M]) -> Vec<crate::reconcile::Observed>,
) -> TheirSide {
    let compared: std::collections::BTreeSet<String> =
        mapping.iter().map(|m| metric(m).to_string()).collect();
    Box::new(move |ticket, _now| crate::reconcile::Theirs {
        observed: observed(ticket, &mapping),
        recorded: mapping
            .iter()
            .filter(|m| holds(ticket, m))
            .map(|m| metric(m).to_string())
            .collect(),
        compared: compared.clone(),
        current_only: Default::default(),
        incomplete: None,
    })
}

/// The helpdesk kinds this build knows: one line per helpdesk.
pub const KINDS: &[Kind] = &[
    zendesk::KIND,
    freshdesk::KIND,
    jsm::KIND,
    #[cfg(test)]
    testing::KIND,
];

/// The kind of helpdesk named `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The names of the helpdesk kinds this build knows.
pub fn registry() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// A source's settings (its keys besides `kind`, `poll_interval` and
/// `requests_per_minute`) read as an adapter's typed config; an unknown or
/// mistyped key is an error naming it.
pub fn settings<T: serde::de::DeserializeOwned>(spec: &SourceSpec) -> Result<T, SettingError> {
    let map: serde_yaml_ng::Mapping = spec
        .settings
        .iter()
        .map(|(k, v)| (serde_yaml_ng::Value::String(k.clone()), v.clone()))
        .collect();
    serde_yaml_ng::from_value(serde_yaml_ng::Value::Mapping(map))
        .map_err(|e| SettingError::from_serde(&e.to_string()))
}

/// What is wrong with a source's settings: the key under the source, when
/// known, and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The key under the source, a dotted path for a key under a key.
    pub key: Option<String>,
    pub message: String,
}

impl SettingError {
    /// From a serde message: `unknown field `x`` names the key `x`.
    pub fn from_serde(message: &str) -> SettingError {
        let key = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(k, _)| k.to_string());
        let mut message = message.to_string();
        if key.is_some() {
            message.push_str(" (besides kind, poll_interval and requests_per_minute)");
        }
        SettingError { key, message }
    }
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(k) => write!(f, "{k}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Checks every source of a config (its kind, and its settings by its
/// adapter), with errors at the file's line of the key.
pub fn check(config: &Config, file: &Path, text: &str) -> Result<(), ConfigError> {
    for (name, spec) in &config.sources {
        let Some(k) = kind(&spec.kind) else {
            return Err(ConfigError::at_key(
                file,
                text,
                &["sources", name, "kind"],
                format!(
                    "unknown kind {:?}; this build knows: {}",
                    spec.kind,
                    registry().join(", ")
                ),
            ));
        };
        (k.check)(spec).map_err(|e| {
            let mut key = vec!["sources", name.as_str()];
            // A key under a key is a dotted path (`reconcile.first_response`).
            if let Some(k) = &e.key {
                key.extend(k.split('.'));
            }
            ConfigError::at_key(file, text, &key, e.message)
        })?;
        if let Some(r) = k.reconcile {
            (r.check)(spec, config).map_err(|e| {
                let mut key = vec!["sources", name.as_str()];
                if let Some(k) = &e.key {
                    key.extend(k.split('.'));
                }
                ConfigError::at_key(file, text, &key, e.message)
            })?;
        }
    }
    Ok(())
}

/// Builds the adapter of a source.
pub fn build(name: &str, spec: &SourceSpec) -> Result<Box<dyn Source>, String> {
    let k = kind(&spec.kind).ok_or_else(|| {
        format!(
            "source {name}: unknown kind {:?}; this build knows: {}",
            spec.kind,
            registry().join(", ")
        )
    })?;
    (k.build)(spec).map_err(|e| format!("source {name}: {e}"))
}

/// A link for people to a ticket in the helpdesk's agent UI.
pub fn ticket_url(spec: &SourceSpec, id: &str) -> Option<String> {
    (kind(&spec.kind)?.ticket_url)(spec, id)
}
