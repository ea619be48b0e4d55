//! The compact form of a ticket's events in the store (since schema version
//! 3): BLOBs of framed events instead of a row and a JSON text per event.
//!
//! A blob is the events sorted by `(at, id)`, each framed by its length so
//! a merge can read ids and instants and copy the rest without decoding it:
//!
//! ```text
//! blob   := event*
//! event  := varint(len of body) body
//! body   := str(id) zigzag(at) kind payload
//! kind   := 0 priority | 1 severity | 2 group | 3 organization   payload := opt_str
//!         | 4 tags        payload := varint(n) str{n}
//!         | 5 comment     payload := author:u8 opt_str(author id) public:u8
//!                         author := 0 agent | 1 requester | 2 other | 3 unknown
//!         | 6 status      payload := status:u8
//!         | 7 field       payload := str(name) value
//! value  := 0 null | 1 str | 2 str(JSON text)
//! str    := varint(len) utf-8 bytes       opt_str := 0 | 1 str
//! ```
//!
//! Varints are LEB128; `at` is zigzag-encoded (instants before 1970 exist in
//! tests). Decoding never panics: a malformed blob is an error naming what
//! was wrong, which the store reports with the ticket and the file.
//!
//! Since schema version 6 a ticket's header is a BLOB too, in place of its
//! JSON text (no timestamps to format and parse, about half the size).
//! Custom field values other than null and text stay JSON text inside it:
//!
//! ```text
//! header := form:u8 str(id) zigzag(created_at) zigzag(updated_at) opt_str(url)
//!           opt_str(organization_id) opt_str(requester_id)
//!           varint(n) str{n}(tags) varint(m) field{m} deleted:u8
//!           [status:u8 opt_str(priority) opt_str(group)]   (form 2)
//! field  := str(name) value
//! status := 0..5 as in events | 255 none
//! ```
//!
//! Form 1 headers (written before the header carried the ticket's current
//! status, priority and group) are still read, with those three unknown.
//!
//! Since schema version 5 a ticket's computed clocks are a BLOB too, in
//! place of the JSON list of the engine's clock views (about a fifth of its
//! size, and no text to format or parse). Names stay names, so clocks
//! computed under one config are read back under another, which tells
//! apart what it no longer defines:
//!
//! ```text
//! clocks := 1:u8 varint(n) clock{n}                          (form 1)
//!         | 2:u8 zigzag(created_at) opt_str(organization)
//!           varint(n) clock{n}                                  (form 2)
//! clock  := str(metric) varint(instance) opt_str(plan) opt_str(severity)
//!           zigzag(start) state:u8 opt_str(reason) flags:u8
//!           [zigzag(due_at - start)] [zigzag(fulfilled_at - start)]
//!           [zigzag(breached_at - start)] zigzag(elapsed) zigzag(paused)
//!           [zigzag(remaining)]
//! flags  := bit 0 due_at, 1 fulfilled_at, 2 breached_at, 3 remaining (present)
//! state  := 0 active | 1 paused | 2 met | 3 breached | 4 no_target | 5 excluded
//! ```
//!
//! Form 2 (the daemon's since the live index stopped keeping every ticket)
//! also holds the ticket's creation and organization the clocks were
//! counted under, so that the exposition can take a decided ticket's old
//! contribution out of its totals from the stored row alone, even after the
//! ticket moved to another organization. Form 1 rows are still read, with
//! those unknown ([`decode_counted_clocks`]).

use crate::engine::timeline::Author;
use crate::engine::{ClockState, ClockView};
use crate::policy::spec::Status;
use crate::sources::assemble::is_record;
use crate::sources::{ChangeRecord, EventRecord, TicketHeader};

/// Why a blob does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed event blob at byte {offset}: {what}")]
pub struct CodecError {
    pub offset: usize,
    pub what: &'static str,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn author_code(a: Author) -> u8 {
    match a {
        Author::Agent => 0,
        Author::Requester => 1,
        Author::Other => 2,
        Author::Unknown => 3,
    }
}

fn status_code(s: Status) -> u8 {
    match s {
        Status::New => 0,
        Status::Open => 1,
        Status::Pending => 2,
        Status::Hold => 3,
        Status::Solved => 4,
        Status::Closed => 5,
    }
}

/// Appends one framed event to `out`.
pub fn encode_event(out: &mut Vec<u8>, id: &str, at: i64, change: &ChangeRecord) {
    // The body goes straight into `out` behind a one-byte length, which
    // fits every event but one with long texts; that one's length is
    // widened after (no buffer per event).
    let len_at = out.len();
    out.push(0);
    let body_at = out.len();
    put_str(out, id);
    put_varint(out, zigzag(at));
    match change {
        ChangeRecord::Priority { value } => {
            out.push(0);
            put_opt_str(out, value.as_deref());
        }
        ChangeRecord::Severity { value } => {
            out.push(1);
            put_opt_str(out, value.as_deref());
        }
        ChangeRecord::Group { value } => {
            out.push(2);
            put_opt_str(out, value.as_deref());
        }
        ChangeRecord::Organization { id } => {
            out.push(3);
            put_opt_str(out, id.as_deref());
        }
        ChangeRecord::Tags { value } => {
            out.push(4);
            put_varint(out, value.len() as u64);
            for t in value {
                put_str(out, t);
            }
        }
        ChangeRecord::Comment {
            author,
            author_id,
            public,
        } => {
            out.push(5);
            out.push(author_code(*author));
            put_opt_str(out, author_id.as_deref());
            out.push(u8::from(*public));
        }
        ChangeRecord::Status { value } => {
            out.push(6);
            out.push(status_code(*value));
        }
        ChangeRecord::Field { name, value } => {
            out.push(7);
            put_str(out, name);
            put_value(out, value);
        }
    }
    let len = out.len() - body_at;
    if len < 0x80 {
        out[len_at] = len as u8;
    } else {
        let mut prefix = Vec::with_capacity(4);
        put_varint(&mut prefix, len as u64);
        out.splice(len_at..body_at, prefix);
    }
}

/// A field value: null and text as themselves, anything else (numbers,
/// booleans, lists: rare in fields) as JSON text.
fn put_value(out: &mut Vec<u8>, value: &serde_json::Value) {
    match value {
        serde_json::Value::Null => out.push(0),
        serde_json::Value::String(v) => {
            out.push(1);
            put_str(out, v);
        }
        other => {
            out.push(2);
            put_str(out, &other.to_string());
        }
    }
}

fn status_of_code(code: u8) -> Option<Status> {
    Some(match code {
        0 => Status::New,
        1 => Status::Open,
        2 => Status::Pending,
        3 => Status::Hold,
        4 => Status::Solved,
        5 => Status::Closed,
        _ => return None,
    })
}

/// A cursor over a byte slice; every read checks its bounds.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `bytes` in the whole blob, for error messages.
    base: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> CodecError {
        CodecError {
            offset: self.base + self.pos,
            what,
        }
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.err("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 64 bits"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.err("length past the end"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn str(&mut self) -> Result<&'a str, CodecError> {
        let n = usize::try_from(self.varint()?).map_err(|_| self.err("length too large"))?;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).map_err(|_| self.err("text is not UTF-8"))
    }

    fn opt_str(&mut self) -> Result<Option<&'a str>, CodecError> {
        match self.byte()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            _ => Err(self.err("option tag is neither 0 nor 1")),
        }
    }

    fn value(&mut self) -> Result<serde_json::Value, CodecError> {
        Ok(match self.byte()? {
            0 => serde_json::Value::Null,
            1 => serde_json::Value::String(self.str()?.to_string()),
            2 => {
                let text = self.str()?;
                serde_json::from_str(text).map_err(|_| self.err("field value is not JSON"))?
            }
            _ => return Err(self.err("unknown kind of field value")),
        })
    }
}

/// One framed event of a blob, its payload not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed<'a> {
    pub id: &'a str,
    pub at: i64,
    /// The whole frame (length prefix included), to copy as is.
    pub frame: &'a [u8],
    /// The body after `id` and `at`: kind and payload.
    rest: &'a [u8],
    rest_offset: usize,
}

/// The events of a blob, in stored order, with their ids and instants.
pub fn frames(blob: &[u8]) -> Result<Vec<Framed<'_>>, CodecError> {
    // Events take about 20 bytes each: one allocation for most blobs.
    let mut out = Vec::with_capacity(blob.len() / 16 + 1);
    let mut r = Reader {
        bytes: blob,
        pos: 0,
        base: 0,
    };
    while r.pos < blob.len() {
        let start = r.pos;
        let len = usize::try_from(r.varint()?).map_err(|_| r.err("length too large"))?;
        let body_offset = r.pos;
        let body = r.take(len)?;
        let mut b = Reader {
            bytes: body,
            pos: 0,
            base: body_offset,
        };
        let id = b.str()?;
        let at = unzigzag(b.varint()?);
        out.push(Framed {
            id,
            at,
            frame: &blob[start..r.pos],
            rest: &body[b.pos..],
            rest_offset: body_offset + b.pos,
        });
    }
    Ok(out)
}

impl<'a> Framed<'a> {
    /// Decodes what changed.
    pub fn change(&self) -> Result<ChangeRecord, CodecError> {
        let mut r = Reader {
            bytes: self.rest,
            pos: 0,
            base: self.rest_offset,
        };
        let owned = |s: Option<&str>| s.map(str::to_string);
        let change = match r.byte()? {
            0 => ChangeRecord::Priority {
                value: owned(r.opt_str()?),
            },
            1 => ChangeRecord::Severity {
                value: owned(r.opt_str()?),
            },
            2 => ChangeRecord::Group {
                value: owned(r.opt_str()?),
            },
            3 => ChangeRecord::Organization {
                id: owned(r.opt_str()?),
            },
            4 => {
                let n = r.varint()?;
                let mut value = Vec::new();
                for _ in 0..n {
                    value.push(r.str()?.to_string());
                }
                ChangeRecord::Tags { value }
            }
            5 => {
                let author = match r.byte()? {
                    0 => Author::Agent,
                    1 => Author::Requester,
                    2 => Author::Other,
                    3 => Author::Unknown,
                    _ => return Err(r.err("unknown comment author")),
                };
                let author_id = owned(r.opt_str()?);
                let public = match r.byte()? {
                    0 => false,
                    1 => true,
                    _ => return Err(r.err("comment visibility is neither 0 nor 1")),
                };
                ChangeRecord::Comment {
                    author,
                    author_id,
                    public,
                }
            }
            6 => ChangeRecord::Status {
                value: status_of_code(r.byte()?).ok_or_else(|| r.err("unknown status"))?,
            },
            7 => {
                let name = r.str()?.to_string();
                let value = r.value()?;
                ChangeRecord::Field { name, value }
            }
            _ => return Err(r.err("unknown kind of change")),
        };
        if r.pos != r.bytes.len() {
            return Err(r.err("bytes after the event"));
        }
        Ok(change)
    }
}

impl<'a> Framed<'a> {
    /// The name of a field change (kind 7), read without its value; `None`
    /// for another kind of change.
    pub fn field_name(&self) -> Result<Option<&'a str>, CodecError> {
        let mut r = Reader {
            bytes: self.rest,
            pos: 0,
            base: self.rest_offset,
        };
        if r.byte()? != 7 {
            return Ok(None);
        }
        r.str().map(Some)
    }
}

/// Which of a ticket's stored events to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Events {
    /// All of them.
    All,
    /// Those of its timeline: not the helpdesk's own SLA record (field
    /// changes [`crate::sources::assemble::is_record`] names), which are
    /// skipped unread (their values are most of their bytes).
    Timeline,
}

/// Appends the events of a blob to `out`, in stored order, each decoded
/// (`ticket_id` left empty: the caller knows the ticket).
pub fn decode_events(
    blob: &[u8],
    which: Events,
    out: &mut Vec<EventRecord>,
) -> Result<(), CodecError> {
    let frames = frames(blob)?;
    out.reserve(frames.len());
    for f in frames {
        if which == Events::Timeline && f.field_name()?.is_some_and(is_record) {
            continue;
        }
        out.push(EventRecord {
            ticket_id: String::new(),
            id: f.id.to_string(),
            at: f.at,
            change: f.change()?,
        });
    }
    Ok(())
}

/// The first byte of an encoded header: the form's version.
const HEADER_FORM: u8 = 2;
/// The form before headers carried the current status, priority and group.
const HEADER_FORM_1: u8 = 1;
/// A header without a status.
const NO_STATUS: u8 = 255;

/// Appends a ticket's header in the compact form to `out`.
pub fn encode_header(out: &mut Vec<u8>, h: &TicketHeader) {
    out.push(HEADER_FORM);
    put_str(out, &h.id);
    put_varint(out, zigzag(h.created_at));
    put_varint(out, zigzag(h.updated_at));
    put_opt_str(out, h.url.as_deref());
    put_opt_str(out, h.organization_id.as_deref());
    put_opt_str(out, h.requester_id.as_deref());
    put_varint(out, h.tags.len() as u64);
    for t in &h.tags {
        put_str(out, t);
    }
    put_varint(out, h.fields.len() as u64);
    for (name, value) in &h.fields {
        put_str(out, name);
        put_value(out, value);
    }
    out.push(u8::from(h.deleted));
    out.push(h.status.map_or(NO_STATUS, status_code));
    put_opt_str(out, h.priority.as_deref());
    put_opt_str(out, h.group.as_deref());
}

/// Reads a header written by [`encode_header`].
pub fn decode_header(bytes: &[u8]) -> Result<TicketHeader, CodecError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        base: 0,
    };
    let form = r.byte()?;
    if form != HEADER_FORM && form != HEADER_FORM_1 {
        return Err(r.err("unknown form of header"));
    }
    let owned = |s: Option<&str>| s.map(str::to_string);
    let id = r.str()?.to_string();
    let created_at = unzigzag(r.varint()?);
    let updated_at = unzigzag(r.varint()?);
    let url = owned(r.opt_str()?);
    let organization_id = owned(r.opt_str()?);
    let requester_id = owned(r.opt_str()?);
    let n = r.varint()?;
    let mut tags = Vec::new();
    for _ in 0..n {
        tags.push(r.str()?.to_string());
    }
    let n = r.varint()?;
    let mut fields = std::collections::BTreeMap::new();
    for _ in 0..n {
        let name = r.str()?.to_string();
        let value = r.value()?;
        fields.insert(name, value);
    }
    let deleted = match r.byte()? {
        0 => false,
        1 => true,
        _ => return Err(r.err("deleted is neither 0 nor 1")),
    };
    let (mut status, mut priority, mut group) = (None, None, None);
    if form == HEADER_FORM {
        status = match r.byte()? {
            NO_STATUS => None,
            code => Some(status_of_code(code).ok_or_else(|| r.err("unknown status"))?),
        };
        priority = owned(r.opt_str()?);
        group = owned(r.opt_str()?);
    }
    if r.pos != bytes.len() {
        return Err(r.err("bytes after the header"));
    }
    Ok(TicketHeader {
        id,
        created_at,
        updated_at,
        url,
        organization_id,
        requester_id,
        tags,
        fields,
        deleted,
        status,
        priority,
        group,
    })
}

/// The first byte of encoded clocks without what they were counted under.
const CLOCKS_FORM: u8 = 1;

/// The first byte of encoded clocks with the creation and organization
/// they were counted under.
const COUNTED_CLOCKS_FORM: u8 = 2;

/// The ticket's creation and organization a stored row of clocks was
/// counted under (form 2 of the stored clocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedAs<'a> {
    pub created_at: i64,
    pub organization: Option<&'a str>,
}

fn state_code(s: ClockState) -> u8 {
    match s {
        ClockState::Active => 0,
        ClockState::Paused => 1,
        ClockState::Met => 2,
        ClockState::Breached => 3,
        ClockState::NoTarget => 4,
        ClockState::Excluded => 5,
    }
}

/// A ticket's clocks in their stored form, without what they were counted
/// under (form 1; see the module docs).
pub fn encode_clocks(views: &[ClockView<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 48 * views.len());
    out.push(CLOCKS_FORM);
    put_views(&mut out, views);
    out
}

/// A ticket's clocks in their stored form with the creation and
/// organization they are counted under (form 2): what the daemon saves.
pub fn encode_counted_clocks(counted: CountedAs<'_>, views: &[ClockView<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 48 * views.len());
    out.push(COUNTED_CLOCKS_FORM);
    put_varint(&mut out, zigzag(counted.created_at));
    put_opt_str(&mut out, counted.organization);
    put_views(&mut out, views);
    out
}

fn put_views(out: &mut Vec<u8>, views: &[ClockView<'_>]) {
    put_varint(out, views.len() as u64);
    for v in views {
        put_str(out, v.metric);
        put_varint(out, u64::from(v.instance));
        put_opt_str(out, v.plan);
        put_opt_str(out, v.severity);
        put_varint(out, zigzag(v.start));
        out.push(state_code(v.state));
        put_opt_str(out, v.reason);
        let instants = [v.due_at, v.fulfilled_at, v.breached_at];
        let mut flags = 0u8;
        for (bit, t) in instants.iter().enumerate() {
            if t.is_some() {
                flags |= 1 << bit;
            }
        }
        if v.remaining_seconds.is_some() {
            flags |= 1 << 3;
        }
        out.push(flags);
        // Instants as offsets from the start: a few bytes instead of five.
        for t in instants.into_iter().flatten() {
            put_varint(out, zigzag(t.wrapping_sub(v.start)));
        }
        put_varint(out, zigzag(v.elapsed_seconds));
        put_varint(out, zigzag(v.paused_seconds));
        if let Some(r) = v.remaining_seconds {
            put_varint(out, zigzag(r));
        }
    }
}

/// Whether stored clocks say what they were counted under (form 2), by
/// their first byte alone.
pub fn says_counted_as(bytes: &[u8]) -> bool {
    bytes.first() == Some(&COUNTED_CLOCKS_FORM)
}

/// Reads back clocks stored by [`encode_clocks`] or
/// [`encode_counted_clocks`]; the names borrow from `bytes`.
pub fn decode_clocks(bytes: &[u8]) -> Result<Vec<ClockView<'_>>, CodecError> {
    decode_counted_clocks(bytes).map(|(_, views)| views)
}

/// Reads back stored clocks with what they were counted under (`None` for
/// form 1, which does not say); the names borrow from `bytes`.
#[allow(clippy::type_complexity)]
pub fn decode_counted_clocks(
    bytes: &[u8],
) -> Result<(Option<CountedAs<'_>>, Vec<ClockView<'_>>), CodecError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        base: 0,
    };
    let counted = match r.byte()? {
        CLOCKS_FORM => None,
        COUNTED_CLOCKS_FORM => Some(CountedAs {
            created_at: unzigzag(r.varint()?),
            organization: r.opt_str()?,
        }),
        _ => return Err(r.err("unknown form of clocks")),
    };
    let n = r.varint()?;
    // Each clock takes at least 8 bytes: a count beyond that is garbage,
    // not a reason to reserve memory.
    if n > bytes.len() as u64 {
        return Err(r.err("more clocks than bytes"));
    }
    let mut views = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let metric = r.str()?;
        let instance = u32::try_from(r.varint()?).map_err(|_| r.err("instance too large"))?;
        let plan = r.opt_str()?;
        let severity = r.opt_str()?;
        let start = unzigzag(r.varint()?);
        let state = match r.byte()? {
            0 => ClockState::Active,
            1 => ClockState::Paused,
            2 => ClockState::Met,
            3 => ClockState::Breached,
            4 => ClockState::NoTarget,
            5 => ClockState::Excluded,
            _ => return Err(r.err("unknown clock state")),
        };
        let reason = r.opt_str()?;
        let flags = r.byte()?;
        if flags > 0b1111 {
            return Err(r.err("unknown clock flags"));
        }
        let mut instant = |bit: u8| -> Result<Option<i64>, CodecError> {
            if flags & (1 << bit) == 0 {
                return Ok(None);
            }
            Ok(Some(start.wrapping_add(unzigzag(r.varint()?))))
        };
        let (due_at, fulfilled_at, breached_at) = (instant(0)?, instant(1)?, instant(2)?);
        let elapsed_seconds = unzigzag(r.varint()?);
        let paused_seconds = unzigzag(r.varint()?);
        let remaining_seconds = match flags & (1 << 3) {
            0 => None,
            _ => Some(unzigzag(r.varint()?)),
        };
        views.push(ClockView {
            metric,
            instance,
            plan,
            severity,
            start,
            due_at,
            state,
            reason,
            fulfilled_at,
            breached_at,
            elapsed_seconds,
            paused_seconds,
            remaining_seconds,
        });
    }
    if r.pos != bytes.len() {
        return Err(r.err("bytes after the clocks"));
    }
    Ok((counted, views))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-z0-9é_ -]{0,12}"
    }

    fn change() -> impl Strategy<Value = ChangeRecord> {
        let status = prop_oneof![
            Just(Status::New),
            Just(Status::Open),
            Just(Status::Pending),
            Just(Status::Hold),
            Just(Status::Solved),
            Just(Status::Closed)
        ];
        let author = prop_oneof![
            Just(Author::Agent),
            Just(Author::Requester),
            Just(Author::Other),
            Just(Author::Unknown)
        ];
        prop_oneof![
            proptest::option::of(text()).prop_map(|value| ChangeRecord::Priority { value }),
            proptest::option::of(text()).prop_map(|value| ChangeRecord::Severity { value }),
            proptest::option::of(text()).prop_map(|value| ChangeRecord::Group { value }),
            proptest::option::of(text()).prop_map(|id| ChangeRecord::Organization { id }),
            // Up to 12 tags: bodies past 127 bytes need a wider length.
            proptest::collection::vec(text(), 0..12).prop_map(|value| ChangeRecord::Tags { value }),
            (author, proptest::option::of(text()), any::<bool>()).prop_map(
                |(author, author_id, public)| ChangeRecord::Comment {
                    author,
                    author_id,
                    public
                }
            ),
            status.prop_map(|value| ChangeRecord::Status { value }),
            (text(), field_value()).prop_map(|(name, value)| ChangeRecord::Field { name, value }),
        ]
    }

    fn field_value() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            Just(serde_json::Value::Null),
            text().prop_map(serde_json::Value::String),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<bool>().prop_map(serde_json::Value::Bool),
            proptest::collection::vec(text(), 0..3).prop_map(|v| serde_json::json!(v)),
        ]
    }

    fn header() -> impl Strategy<Value = TicketHeader> {
        let value = field_value();
        let status = proptest::option::of(prop_oneof![
            Just(Status::New),
            Just(Status::Open),
            Just(Status::Pending),
            Just(Status::Hold),
            Just(Status::Solved),
            Just(Status::Closed)
        ]);
        let now = (
            status,
            proptest::option::of(text()),
            proptest::option::of(text()),
        );
        let ids = (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
        );
        (
            ids,
            any::<i64>(),
            any::<i64>(),
            proptest::collection::vec(text(), 0..4),
            proptest::collection::btree_map(text(), value, 0..4),
            any::<bool>(),
            now,
        )
            .prop_map(
                |(
                    (id, url, organization_id, requester_id),
                    created_at,
                    updated_at,
                    tags,
                    fields,
                    deleted,
                    (status, priority, group),
                )| {
                    TicketHeader {
                        id,
                        created_at,
                        updated_at,
                        url,
                        organization_id,
                        requester_id,
                        tags,
                        fields,
                        deleted,
                        status,
                        priority,
                        group,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn headers_round_trip(h in header()) {
            let mut out = Vec::new();
            encode_header(&mut out, &h);
            prop_assert_eq!(decode_header(&out).unwrap(), h);
        }

        #[test]
        fn garbage_headers_are_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_header(&bytes);
        }
    }

    /// A header cut short or followed by more bytes is an error, as is one
    /// of an unknown form.
    #[test]
    fn truncated_padded_or_unknown_headers_are_errors() {
        let h = TicketHeader {
            id: "7".into(),
            created_at: 1_790_000_000,
            updated_at: 1_790_000_100,
            url: Some("https://example.zendesk.com/agent/tickets/7".into()),
            organization_id: Some("900".into()),
            requester_id: None,
            tags: vec!["vip".into()],
            fields: [("100".to_string(), serde_json::json!(true))]
                .into_iter()
                .collect(),
            deleted: false,
            status: Some(Status::Pending),
            priority: Some("high".into()),
            group: None,
        };
        let mut out = Vec::new();
        encode_header(&mut out, &h);
        assert_eq!(decode_header(&out).unwrap(), h);
        // The same header as form 1 wrote it: read, its status, priority
        // and group unknown.
        let unknown_now = TicketHeader {
            status: None,
            priority: None,
            group: None,
            ..h.clone()
        };
        let mut form_1 = Vec::new();
        encode_header(&mut form_1, &unknown_now);
        form_1[0] = HEADER_FORM_1;
        form_1.truncate(form_1.len() - 3);
        assert_eq!(decode_header(&form_1).unwrap(), unknown_now);
        for cut in 0..out.len() {
            assert!(decode_header(&out[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = out.clone();
        padded.push(0);
        assert_eq!(
            decode_header(&padded).unwrap_err().what,
            "bytes after the header"
        );
        out[0] = 9;
        assert_eq!(
            decode_header(&out).unwrap_err().what,
            "unknown form of header"
        );
    }

    /// An event whose body needs a length of two bytes or more frames and
    /// decodes like a short one, next to short ones.
    #[test]
    fn long_events_frame_like_short_ones() {
        let tags: Vec<String> = (0..40).map(|i| format!("tag_number_{i}")).collect();
        let long = ChangeRecord::Tags { value: tags };
        let short = ChangeRecord::Status {
            value: Status::Open,
        };
        let mut blob = Vec::new();
        encode_event(&mut blob, "1", 10, &short);
        encode_event(&mut blob, "2", 20, &long);
        encode_event(&mut blob, "3", 30, &short);
        let f = frames(&blob).unwrap();
        assert_eq!(f.iter().map(|f| f.id).collect::<Vec<_>>(), ["1", "2", "3"]);
        assert!(f[1].frame.len() > 300);
        assert_eq!(f[1].change().unwrap(), long);
        assert_eq!(f[2].change().unwrap(), short);
    }

    proptest! {
        #[test]
        fn events_round_trip(events in proptest::collection::vec((text(), any::<i64>(), change()), 0..20)) {
            let mut blob = Vec::new();
            for (id, at, c) in &events {
                encode_event(&mut blob, id, *at, c);
            }
            let framed = frames(&blob).unwrap();
            prop_assert_eq!(framed.len(), events.len());
            let mut copied = Vec::new();
            for (f, (id, at, c)) in framed.iter().zip(&events) {
                prop_assert_eq!(f.id, id.as_str());
                prop_assert_eq!(f.at, *at);
                prop_assert_eq!(&f.change().unwrap(), c);
                copied.extend_from_slice(f.frame);
            }
            // Frames copied as they are make the same blob.
            prop_assert_eq!(copied, blob);
        }

        #[test]
        fn garbage_is_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(framed) = frames(&bytes) {
                for f in framed {
                    let _ = f.change();
                }
            }
        }
    }

    fn state() -> impl Strategy<Value = ClockState> {
        prop_oneof![
            Just(ClockState::Active),
            Just(ClockState::Paused),
            Just(ClockState::Met),
            Just(ClockState::Breached),
            Just(ClockState::NoTarget),
            Just(ClockState::Excluded),
        ]
    }

    /// A clock view's owned parts, so strategies can make them.
    type OwnedView = (
        (String, u32, Option<String>, Option<String>, i64, ClockState),
        (Option<String>, [Option<i64>; 3], i64, i64, Option<i64>),
    );

    fn owned_view() -> impl Strategy<Value = OwnedView> {
        let instant = proptest::option::of(any::<i64>());
        (
            (
                text(),
                any::<u32>(),
                proptest::option::of(text()),
                proptest::option::of(text()),
                any::<i64>(),
                state(),
            ),
            (
                proptest::option::of(text()),
                [instant.clone(), instant.clone(), instant],
                any::<i64>(),
                any::<i64>(),
                proptest::option::of(any::<i64>()),
            ),
        )
    }

    fn view(o: &OwnedView) -> ClockView<'_> {
        let ((metric, instance, plan, severity, start, state), rest) = o;
        let (reason, [due_at, fulfilled_at, breached_at], elapsed, paused, remaining) = rest;
        ClockView {
            metric,
            instance: *instance,
            plan: plan.as_deref(),
            severity: severity.as_deref(),
            start: *start,
            due_at: *due_at,
            state: *state,
            reason: reason.as_deref(),
            fulfilled_at: *fulfilled_at,
            breached_at: *breached_at,
            elapsed_seconds: *elapsed,
            paused_seconds: *paused,
            remaining_seconds: *remaining,
        }
    }

    proptest! {
        #[test]
        fn clocks_round_trip(owned in proptest::collection::vec(owned_view(), 0..6)) {
            let views: Vec<ClockView<'_>> = owned.iter().map(view).collect();
            let bytes = encode_clocks(&views);
            prop_assert_eq!(decode_counted_clocks(&bytes).unwrap(), (None, views));
        }

        #[test]
        fn counted_clocks_round_trip(
            owned in proptest::collection::vec(owned_view(), 0..6),
            created_at in any::<i64>(),
            organization in proptest::option::of(text()),
        ) {
            let views: Vec<ClockView<'_>> = owned.iter().map(view).collect();
            let counted = CountedAs { created_at, organization: organization.as_deref() };
            let bytes = encode_counted_clocks(counted, &views);
            prop_assert_eq!(decode_counted_clocks(&bytes).unwrap(), (Some(counted), views.clone()));
            prop_assert_eq!(decode_clocks(&bytes).unwrap(), views);
        }

        #[test]
        fn garbage_clocks_are_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_clocks(&bytes);
            let mut tagged = vec![CLOCKS_FORM];
            tagged.extend(bytes);
            let _ = decode_clocks(&tagged);
            tagged[0] = COUNTED_CLOCKS_FORM;
            let _ = decode_clocks(&tagged);
        }
    }

    #[test]
    fn truncated_or_padded_clocks_are_errors() {
        let owned: OwnedView = (
            (
                "first_response".into(),
                1,
                Some("premier".into()),
                Some("high".into()),
                1_700_000_000,
                ClockState::Met,
            ),
            (
                None,
                [Some(1_700_003_600), Some(1_700_001_000), None],
                1_000,
                0,
                None,
            ),
        );
        let bytes = encode_clocks(&[view(&owned)]);
        assert!(bytes.len() < 60, "{} bytes", bytes.len());
        let err = decode_clocks(&bytes[..bytes.len() - 1]).unwrap_err();
        assert_eq!(err.what, "unexpected end");
        let mut padded = bytes.clone();
        padded.push(0);
        assert_eq!(
            decode_clocks(&padded).unwrap_err().what,
            "bytes after the clocks"
        );
        assert_eq!(
            decode_clocks(b"[]").unwrap_err().what,
            "unknown form of clocks"
        );
    }

    #[test]
    fn a_truncated_blob_names_where() {
        let mut blob = Vec::new();
        encode_event(
            &mut blob,
            "e1",
            1_700_000_000,
            &ChangeRecord::Status {
                value: Status::Open,
            },
        );
        let err = frames(&blob[..blob.len() - 1]).unwrap_err();
        assert_eq!(err.what, "length past the end");
        assert_eq!(err.offset, 1);
    }
}
