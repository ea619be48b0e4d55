//! A store in plain maps, for the contract tests: the simplest code that
//! keeps every guarantee the `Store` trait documents, with none of the
//! SQLite store's caches, chunks or keys. A contract test that passes on
//! both tests the trait, not one implementation.
//!
//! A batch is applied to a copy of the whole state, which replaces the
//! state only if the batch succeeds: all of a batch or nothing. Timelines
//! are assembled by the library's own `sources::assemble::ticket`, as the
//! SQLite store assembles them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use helpdesk_slo::engine::Ticket;
use helpdesk_slo::sources::{
    assemble, ChangeRecord, EventRecord, NoteRecord, OrganizationRecord, Page, Record, TicketHeader,
};
use helpdesk_slo::store::{
    ActiveTicket, Applied, SavedClocks, SettledTicket, Store, StoreError, StoreStats, StoredClocks,
    TicketMeta,
};

/// What the store holds of one ticket (a ticket may have events before
/// its header arrives).
#[derive(Debug, Clone)]
struct Row {
    /// The store's own order: rows in the order they were first stored.
    key: u64,
    header: Option<TicketHeader>,
    /// Events by `(at, id)`, each id once.
    events: BTreeMap<(i64, String), ChangeRecord>,
    event_ids: BTreeSet<String>,
    /// The organizations (`'o'`) and users (`'u'`) whose change may change
    /// this ticket's timeline, as far as ever seen (never forgotten).
    refs: BTreeSet<(char, String)>,
    stale: bool,
    /// `(config hash, encoded clocks)`.
    clocks: Option<(String, Vec<u8>)>,
    /// When the ticket last changed (Unix seconds, wall clock).
    changed_at: i64,
    /// The generation of the commit that last changed it.
    changed_in: u64,
}

impl Row {
    fn deleted(&self) -> bool {
        self.header.as_ref().is_some_and(|h| h.deleted)
    }

    /// Has a header and is not deleted.
    fn live(&self) -> bool {
        self.header.as_ref().is_some_and(|h| !h.deleted)
    }
}

/// Everything the store holds; keys start with the source.
#[derive(Debug, Clone, Default)]
struct State {
    next_key: u64,
    generation: u64,
    tickets: BTreeMap<(String, String), Row>,
    organizations: BTreeMap<(String, String), OrganizationRecord>,
    users: BTreeMap<(String, String), bool>,
    cursors: BTreeMap<(String, String), String>,
    polls: BTreeSet<(String, i64)>,
    /// `(source, kind, name)` → `(first_at, last_at)`.
    notes: BTreeMap<(String, String, String), (i64, i64)>,
}

/// A store in memory, in maps.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: State,
}

const LOCATION: &str = "memory (the contract tests' store)";

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn key(source: &str, id: &str) -> (String, String) {
    (source.to_string(), id.to_string())
}

/// The organization or user an event makes its ticket depend on: an
/// organization it moves to, the author of a comment who is not the
/// ticket's requester (a requester's comment is theirs whoever they are).
fn event_ref(change: &ChangeRecord, requester: Option<&str>) -> Option<(char, String)> {
    match change {
        ChangeRecord::Organization { id: Some(o) } => Some(('o', o.clone())),
        ChangeRecord::Comment {
            author_id: Some(u), ..
        } if requester != Some(u.as_str()) => Some(('u', u.clone())),
        _ => None,
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn rows<'a>(&'a self, source: &'a str) -> impl Iterator<Item = (&'a str, &'a Row)> + 'a {
        self.state
            .tickets
            .iter()
            .filter(move |((s, _), _)| s == source)
            .map(|((_, id), row)| (id.as_str(), row))
    }

    /// Live ids picked by `keep`, in the store's own order.
    fn ids_in_store_order(&self, source: &str, keep: impl Fn(&Row) -> bool) -> Vec<String> {
        let mut rows: Vec<(u64, &str)> = self
            .rows(source)
            .filter(|(_, row)| keep(row))
            .map(|(id, row)| (row.key, id))
            .collect();
        rows.sort_unstable();
        rows.into_iter().map(|(_, id)| id.to_string()).collect()
    }

    fn assemble(&self, source: &str, id: &str, row: &Row) -> Option<Ticket> {
        let header = row.header.as_ref().filter(|h| !h.deleted)?;
        let organizations: HashMap<String, OrganizationRecord> = self
            .state
            .organizations
            .iter()
            .filter(|((s, _), _)| s == source)
            .map(|((_, id), o)| (id.clone(), o.clone()))
            .collect();
        let users: HashMap<String, bool> = self
            .state
            .users
            .iter()
            .filter(|((s, _), _)| s == source)
            .map(|((_, id), agent)| (id.clone(), *agent))
            .collect();
        let events = row
            .events
            .iter()
            .map(|((at, event_id), change)| EventRecord {
                ticket_id: id.to_string(),
                id: event_id.clone(),
                at: *at,
                change: change.clone(),
            })
            .collect();
        Some(assemble::ticket(
            header,
            events,
            &organizations,
            &users,
            source,
        ))
    }
}

/// What a batch says about one ticket, in page order.
#[derive(Default)]
struct Group<'a> {
    headers: Vec<&'a TicketHeader>,
    events: Vec<&'a EventRecord>,
}

impl State {
    /// Applies a batch; on error the caller drops this (copied) state.
    fn apply(&mut self, source: &str, pages: &[Page]) -> Result<Applied, StoreError> {
        let now = unix_now();
        let generation = self.generation + 1;
        let mut groups: BTreeMap<&str, Group<'_>> = BTreeMap::new();
        let mut directory: Vec<(char, &str)> = Vec::new();
        for page in pages {
            for record in &page.records {
                match record {
                    Record::Ticket(h) => groups.entry(&h.id).or_default().headers.push(h),
                    Record::Event(e) => groups.entry(&e.ticket_id).or_default().events.push(e),
                    Record::Organization(o) => {
                        let k = key(source, &o.id);
                        if self.organizations.get(&k) != Some(o) {
                            self.organizations.insert(k, o.clone());
                            directory.push(('o', &o.id));
                        }
                    }
                    Record::User(u) => {
                        let k = key(source, &u.id);
                        if self.users.get(&k) != Some(&u.agent) {
                            self.users.insert(k, u.agent);
                            directory.push(('u', &u.id));
                        }
                    }
                    Record::Note(n) => {
                        let k = (source.to_string(), n.kind.clone(), n.name.clone());
                        let span = self.notes.entry(k).or_insert((n.first_at, n.last_at));
                        *span = (span.0.min(n.first_at), span.1.max(n.last_at));
                    }
                    Record::Withdraw(n) => {
                        self.notes
                            .remove(&(source.to_string(), n.kind.clone(), n.name.clone()));
                    }
                }
            }
            self.cursors
                .insert(key(source, &page.stream), page.cursor.clone());
        }

        // Tickets already stored first, in the store's order, then new
        // ones by id.
        let mut order: Vec<(u64, &str)> = groups
            .keys()
            .map(|id| {
                let stored = self.tickets.get(&key(source, id)).map(|r| r.key);
                (stored.unwrap_or(u64::MAX), *id)
            })
            .collect();
        order.sort_unstable();
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut complete: Vec<String> = Vec::new();
        let mut recorded: Vec<String> = Vec::new();
        let mut dropped_clocks = Vec::new();
        for (_, id) in order {
            let group = &groups[id];
            match self.merge(source, id, group, now, generation, &mut dropped_clocks)? {
                Merged::Unchanged => {}
                Merged::Recorded => recorded.push(id.to_string()),
                Merged::Changed { complete: whole } => {
                    changed.insert(id.to_string());
                    if whole {
                        complete.push(id.to_string());
                    }
                }
            }
        }

        // Tickets that depend on a changed organization or user.
        for (kind, target) in directory {
            let dependent = self
                .tickets
                .iter_mut()
                .filter(|((s, _), row)| s == source && row.refs.contains(&(kind, target.into())));
            for ((_, id), row) in dependent {
                row.stale = true;
                row.changed_at = now;
                row.changed_in = generation;
                changed.insert(id.clone());
            }
        }
        if !changed.is_empty() {
            self.generation = generation;
        }
        recorded.retain(|id| !changed.contains(id));
        Ok(Applied {
            changed: changed.into_iter().collect(),
            complete,
            recorded,
            dropped_clocks,
        })
    }

    /// Stores one ticket's part of a batch, and says what changed.
    fn merge(
        &mut self,
        source: &str,
        id: &str,
        group: &Group<'_>,
        now: i64,
        generation: u64,
        dropped_clocks: &mut Vec<StoredClocks>,
    ) -> Result<Merged, StoreError> {
        if group.events.iter().any(|e| e.id.is_empty()) {
            return Err(StoreError::Invalid {
                location: LOCATION.to_string(),
                what: format!("storing ticket {id} of {source}: an event has an empty id"),
            });
        }
        let k = key(source, id);
        let stored = self.tickets.get(&k);
        let old_header = stored.and_then(|r| r.header.as_ref());
        // The newest header at least as new as the stored one replaces it,
        // if it says something else.
        let mut updated_at = old_header.map(|h| h.updated_at);
        let mut newest: Option<&TicketHeader> = None;
        for h in &group.headers {
            if updated_at.is_some_and(|u| h.updated_at < u) {
                continue;
            }
            if newest.or(old_header) != Some(*h) {
                newest = Some(*h);
            }
            updated_at = Some(h.updated_at);
        }
        let old_requester = old_header.and_then(|h| h.requester_id.clone());
        let requester = match newest {
            Some(h) => h.requester_id.clone(),
            None => old_requester.clone(),
        };
        // Events not stored yet, each once.
        let mut fresh: Vec<&EventRecord> = Vec::new();
        for e in &group.events {
            let known = stored.is_some_and(|r| r.event_ids.contains(&e.id));
            if !known && !fresh.iter().any(|f| f.id == e.id) {
                fresh.push(e);
            }
        }
        if newest.is_none() && fresh.is_empty() {
            return Ok(Merged::Unchanged);
        }
        let timeline =
            newest.is_some() || fresh.iter().any(|e| !assemble::is_record_change(&e.change));

        let next_key = self.next_key;
        let row = self.tickets.entry(k).or_insert_with(|| Row {
            key: next_key,
            header: None,
            events: BTreeMap::new(),
            event_ids: BTreeSet::new(),
            refs: BTreeSet::new(),
            stale: false,
            clocks: None,
            changed_at: now,
            changed_in: generation,
        });
        if row.key == next_key {
            self.next_key += 1;
        }
        let was_deleted = row.deleted();
        if let Some(h) = newest {
            row.header = Some(h.clone());
            if let Some(o) = &h.organization_id {
                row.refs.insert(('o', o.clone()));
            }
            // The former requester's comments now depend on their user.
            if let Some(r) = old_requester.filter(|r| Some(r) != requester.as_ref()) {
                row.refs.insert(('u', r));
            }
        }
        for e in fresh {
            if let Some(r) = event_ref(&e.change, requester.as_deref()) {
                row.refs.insert(r);
            }
            row.event_ids.insert(e.id.clone());
            row.events.insert((e.at, e.id.clone()), e.change.clone());
        }
        row.changed_at = now;
        if !timeline {
            // Only the helpdesk's own SLA record: the clocks are as they were.
            return Ok(if row.live() {
                Merged::Recorded
            } else {
                Merged::Unchanged
            });
        }
        row.stale = true;
        row.changed_in = generation;
        if row.deleted() && !was_deleted {
            if let Some((config_hash, clocks)) = row.clocks.take() {
                dropped_clocks.push(StoredClocks {
                    ticket_id: id.to_string(),
                    config_hash,
                    clocks,
                    stale: false,
                });
            }
        }
        let latest_event = row.events.keys().next_back().map(|(at, _)| *at);
        let complete =
            row.live() && matches!((latest_event, updated_at), (Some(e), Some(u)) if e >= u);
        Ok(Merged::Changed { complete })
    }
}

/// What [`MemoryStore::merge`] did to a ticket (see `Applied`).
enum Merged {
    Unchanged,
    /// Only its helpdesk's own SLA record changed.
    Recorded,
    /// Its timeline changed; whether it now looks complete.
    Changed {
        complete: bool,
    },
}

impl Store for MemoryStore {
    fn apply_page(&mut self, source: &str, page: &Page) -> Result<Vec<String>, StoreError> {
        Ok(self
            .apply_batch(source, std::slice::from_ref(page))?
            .changed)
    }

    fn apply_pages(&mut self, source: &str, pages: &[Page]) -> Result<Vec<String>, StoreError> {
        Ok(self.apply_batch(source, pages)?.changed)
    }

    fn apply_batch(&mut self, source: &str, pages: &[Page]) -> Result<Applied, StoreError> {
        let mut next = self.state.clone();
        let applied = next.apply(source, pages)?;
        self.state = next;
        Ok(applied)
    }

    fn generation(&self) -> u64 {
        self.state.generation
    }

    fn location(&self) -> String {
        LOCATION.to_string()
    }

    fn cursor(&self, source: &str, stream: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state.cursors.get(&key(source, stream)).cloned())
    }

    fn ticket(&self, source: &str, id: &str) -> Result<Option<Ticket>, StoreError> {
        Ok(self
            .state
            .tickets
            .get(&key(source, id))
            .and_then(|row| self.assemble(source, id, row)))
    }

    fn tickets(&self, source: &str, ids: &[String]) -> Result<Vec<Ticket>, StoreError> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.ticket(source, id)?);
        }
        Ok(out)
    }

    fn for_each_ticket_active_in(
        &self,
        source: &str,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(ActiveTicket),
    ) -> Result<(), StoreError> {
        let active = |row: &Row| {
            row.header.as_ref().is_some_and(|h| {
                !h.deleted
                    && h.created_at < to
                    && (h.created_at >= from
                        || h.updated_at >= from
                        || row.events.keys().any(|(at, _)| *at >= from))
            })
        };
        for id in self.ids_in_store_order(source, active) {
            let stored_at = self
                .state
                .tickets
                .get(&(source.to_string(), id.clone()))
                .map_or(i64::MIN, |row| row.changed_at);
            if let Some(ticket) = self.ticket(source, &id)? {
                f(ActiveTicket { ticket, stored_at });
            }
        }
        Ok(())
    }

    fn for_each_settled_ticket(
        &self,
        source: &str,
        from: i64,
        until: i64,
        f: &mut dyn FnMut(SettledTicket),
    ) -> Result<(), StoreError> {
        // Its creation, last update and latest event, all before `until`,
        // one at or after `from`.
        let settled = |row: &Row| {
            row.header.as_ref().is_some_and(|h| {
                let latest = row.events.keys().map(|(at, _)| *at).max();
                let instants = [Some(h.created_at), Some(h.updated_at), latest];
                !h.deleted
                    && instants.iter().flatten().all(|&at| at < until)
                    && instants.iter().flatten().any(|&at| at >= from)
            })
        };
        for id in self.ids_in_store_order(source, settled) {
            let Some(row) = self.state.tickets.get(&key(source, &id)) else {
                continue;
            };
            let Some(header) = &row.header else { continue };
            let organization_id = header.organization_id.clone();
            let organization_name = organization_id.as_ref().and_then(|o| {
                self.state
                    .organizations
                    .get(&key(source, o))
                    .and_then(|r| r.name.clone())
            });
            f(SettledTicket {
                id,
                created_at: header.created_at,
                organization_id,
                organization_name,
                clocks: row.clocks.clone().filter(|_| !row.stale),
            });
        }
        Ok(())
    }

    fn ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .rows(source)
            .filter(|(_, row)| row.live())
            .map(|(id, _)| id.to_string())
            .collect())
    }

    fn stale_ticket_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.ids_in_store_order(source, |row| row.live() && row.stale))
    }

    fn ticket_ids_computed_under_other_config(
        &self,
        source: &str,
        config_hash: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self.ids_in_store_order(source, |row| {
            !row.deleted()
                && row
                    .clocks
                    .as_ref()
                    .is_some_and(|(hash, _)| hash != config_hash)
        }))
    }

    fn save_clocks_batch(
        &mut self,
        source: &str,
        clocks: &[(String, String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        self.save_clocks_as_of(source, clocks, u64::MAX)?;
        Ok(())
    }

    fn save_clocks_as_of(
        &mut self,
        source: &str,
        clocks: &[(String, String, Vec<u8>)],
        as_of: u64,
    ) -> Result<SavedClocks, StoreError> {
        let mut done = SavedClocks::default();
        for (index, (id, hash, encoded)) in clocks.iter().enumerate() {
            // Clocks of unknown or deleted tickets are not kept.
            let Some(row) = self.state.tickets.get_mut(&key(source, id)) else {
                continue;
            };
            if row.changed_in > as_of {
                done.overtaken.push(id.clone());
                continue;
            }
            if row.live() {
                row.stale = false;
                let old = row.clocks.replace((hash.clone(), encoded.clone()));
                done.saved.push((index, old));
            }
        }
        Ok(done)
    }

    fn clocks(
        &self,
        source: &str,
        ticket_id: &str,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .state
            .tickets
            .get(&key(source, ticket_id))
            .and_then(|row| row.clocks.clone()))
    }

    fn all_clocks(&self, source: &str) -> Result<Vec<StoredClocks>, StoreError> {
        Ok(self
            .rows(source)
            .filter_map(|(id, row)| {
                let (config_hash, clocks) = row.clocks.clone()?;
                Some(StoredClocks {
                    ticket_id: id.to_string(),
                    config_hash,
                    clocks,
                    stale: row.stale,
                })
            })
            .collect())
    }

    fn tickets_changed_since(&self, source: &str, since: i64) -> Result<Vec<String>, StoreError> {
        Ok(self
            .rows(source)
            .filter(|(_, row)| row.live() && row.changed_at >= since)
            .map(|(id, _)| id.to_string())
            .collect())
    }

    fn ticket_metas(&self, source: &str) -> Result<Vec<TicketMeta>, StoreError> {
        Ok(self
            .rows(source)
            .filter_map(|(id, row)| {
                let h = row.header.as_ref().filter(|h| !h.deleted)?;
                Some(TicketMeta {
                    id: id.to_string(),
                    created_at: h.created_at,
                    organization: h.organization_id.clone(),
                })
            })
            .collect())
    }

    fn record_poll(&mut self, source: &str, at: i64) -> Result<(), StoreError> {
        self.state.polls.insert((source.to_string(), at));
        Ok(())
    }

    fn notes(&self, source: &str, from: i64, to: i64) -> Result<Vec<NoteRecord>, StoreError> {
        Ok(self
            .state
            .notes
            .iter()
            .filter(|((s, _, _), (first, last))| s == source && *last >= from && *first < to)
            .map(|((_, kind, name), (first_at, last_at))| NoteRecord {
                kind: kind.clone(),
                name: name.clone(),
                first_at: *first_at,
                last_at: *last_at,
            })
            .collect())
    }

    fn polls(&self, source: &str, from: i64, to: i64) -> Result<Vec<i64>, StoreError> {
        Ok(self
            .state
            .polls
            .iter()
            .filter(|(s, at)| s == source && (from..to).contains(at))
            .map(|(_, at)| *at)
            .collect())
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let rows = || self.state.tickets.values();
        let count = |n: usize| n as u64;
        Ok(StoreStats {
            tickets: count(rows().filter(|r| r.live()).count()),
            deleted_tickets: count(rows().filter(|r| r.deleted()).count()),
            events: count(rows().map(|r| r.events.len()).sum()),
            organizations: count(self.state.organizations.len()),
            users: count(self.state.users.len()),
            clocks: count(rows().filter(|r| r.clocks.is_some()).count()),
            cursors: count(self.state.cursors.len()),
        })
    }
}
