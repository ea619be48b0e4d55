//! Reading one ticket timeline from its JSON text in one pass over the
//! bytes, for `evaluate`'s JSON lines: the same [`Ticket`] `serde_json`
//! reads, in a fraction of the instructions.
//!
//! Guarantee: [`ticket_from_json`] gives exactly what
//! `serde_json::from_str::<Ticket>` gives, the same ticket or the same
//! error. The reader here handles the form [`super::timeline`] documents
//! (any key order, whitespace, escapes, unknown keys, nulls where the form
//! allows them) and gives up on anything else: a duplicate key, a value of
//! an unexpected type, a number where text is usual, any malformed JSON.
//! Giving up hands the whole text to `serde_json`, so every error (its
//! message and its column) is the one `serde_json` writes. Rare shapes are
//! read by `serde_json` too: a non-empty `fields` object, a field event's
//! non-text value, the `current` record and an event's `value` that comes
//! before its `type`, each from its own bytes.
//!
//! For a stream of lines, [`read_fast_into`] reads a line's bytes, not yet
//! known to be UTF-8, into the ticket read before (reusing its memory): it
//! takes only UTF-8 (checking the strings it reads), and what it takes is
//! what [`read_fast`] gives for the text.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::timeline::{Author, Change, Event, Organization, Ticket};
use crate::policy::spec::Status;
use crate::time::{parse_canonical_memo, parse_instant, DayMemo};

/// Reads a ticket from its JSON text; on any text the fast reader does not
/// take, `serde_json` reads it (and words the error).
pub fn ticket_from_json(text: &str) -> Result<Ticket, serde_json::Error> {
    match read_fast(text) {
        Some(t) => Ok(t),
        None => serde_json::from_str(text),
    }
}

/// The fast reader alone: `None` for anything it does not take (which
/// `serde_json` then reads, or refuses).
pub fn read_fast(text: &str) -> Option<Ticket> {
    let mut ticket = empty_ticket();
    read_fast_into(text.as_bytes(), &mut ticket).then_some(ticket)
}

/// The fast reader on bytes not yet known to be UTF-8, into a ticket read
/// before, whose allocations (the id, the organization and its tags, the
/// priority, the list of events) it reuses: what a stream of tickets read
/// one after the other needs. True when read: then `bytes` are UTF-8 (the
/// reader checks what it reads: outside strings only JSON's ASCII is
/// taken, and each string's bytes are checked) and `ticket` is exactly
/// what [`read_fast`] gives for their text. False for anything it does not
/// take, UTF-8 or not, and then `ticket` holds anything.
pub fn read_fast_into(bytes: &[u8], ticket: &mut Ticket) -> bool {
    let mut r = Reader::new(bytes);
    if r.ticket(ticket).is_none() {
        return false;
    }
    r.ws();
    r.at == r.bytes.len()
}

/// [`read_fast_into`] on the first line of `bytes` (a reader's buffer,
/// which may hold more lines, or end within one), without looking for
/// the line's end first: a ticket with no line break in it, then spaces,
/// tabs or carriage returns, then a line break. Returns how many bytes the
/// line takes, with its line break; `None` for anything else (a line it
/// does not take, or one that goes on past the end of `bytes`), and then
/// `ticket` holds anything. What it takes is what [`read_fast_into`]
/// takes of the same line.
pub fn read_fast_line(bytes: &[u8], ticket: &mut Ticket) -> Option<usize> {
    let mut r = Reader::new(bytes);
    r.ticket(ticket)?;
    if r.newline {
        return None;
    }
    for (i, &c) in bytes.get(r.at..)?.iter().enumerate() {
        match c {
            b' ' | b'\t' | b'\r' => {}
            b'\n' => return Some(r.at + i + 1),
            _ => return None,
        }
    }
    None
}

/// A ticket with nothing in it yet, for [`read_fast_into`].
pub fn empty_ticket() -> Ticket {
    Ticket {
        id: String::new(),
        created_at: 0,
        source: None,
        url: None,
        organization: None,
        tags: Vec::new(),
        fields: BTreeMap::new(),
        priority: None,
        group: None,
        status: None,
        events: Vec::new(),
        current: None,
    }
}

/// Deepest nesting a skipped value may have (`serde_json` allows 128
/// levels in all; a ticket's own structure uses at most 5).
const SKIP_DEPTH: u32 = 64;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The date of the last instant read in full.
    day: DayMemo,
    /// A line break was read as whitespace (only there can one be: text
    /// has none unescaped).
    newline: bool,
}

/// The keys of an event (also used to catch a key given twice).
const EV_ID: u8 = 1;
const EV_AT: u8 = 2;
const EV_TYPE: u8 = 4;
const EV_VALUE: u8 = 8;
const EV_AUTHOR: u8 = 16;
const EV_PUBLIC: u8 = 32;
const EV_NAME: u8 = 64;

#[derive(Clone, Copy)]
enum Kind {
    Priority,
    Severity,
    Group,
    Organization,
    Tags,
    Field,
    Comment,
    Status,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            bytes,
            at: 0,
            day: DayMemo::default(),
            newline: false,
        }
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.bytes.get(self.at) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.newline |= c == b'\n';
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    fn null(&mut self) -> Option<()> {
        self.literal(b"null")
    }

    fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|_| true),
            b'f' => self.literal(b"false").map(|_| false),
            _ => None,
        }
    }

    /// A string, decoded; borrowed when it is plain ASCII.
    #[inline(never)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        self.at += plain_len(self.bytes.get(start..)?);
        match *self.bytes.get(self.at)? {
            b'"' => {
                let s = ascii(&self.bytes[start..self.at])?;
                self.at += 1;
                Some(Cow::Borrowed(s))
            }
            b'\\' | 0x80.. => self.escaped(start).map(Cow::Owned),
            _ => None,
        }
    }

    /// A string without escapes, as its bytes; `None`, with nothing
    /// consumed, for anything else (then [`Reader::string`] reads it).
    #[inline(always)]
    fn plain(&mut self) -> Option<&'a [u8]> {
        self.ws();
        let rest = self.bytes.get(self.at..)?;
        if rest.first() != Some(&b'"') {
            return None;
        }
        let n = plain_len(&rest[1..]);
        if rest.get(n + 1) != Some(&b'"') {
            return None;
        }
        self.at += n + 2;
        Some(&rest[1..n + 1])
    }

    /// Calls `f` with a string's bytes, decoded.
    #[inline(always)]
    fn with_bytes<T>(&mut self, f: impl FnOnce(&mut Self, &[u8]) -> Option<T>) -> Option<T> {
        match self.plain() {
            Some(b) => f(self, b),
            None => {
                let s = self.string()?;
                f(self, s.as_bytes())
            }
        }
    }

    /// The rest of a string from its first escape or byte outside ASCII
    /// (at `self.at`), decoded as `serde_json` decodes it for text:
    /// surrogates must pair, and the bytes must be UTF-8.
    #[cold]
    fn escaped(&mut self, start: usize) -> Option<String> {
        let mut out = String::from(ascii(&self.bytes[start..self.at])?);
        loop {
            let run = self.at;
            while let Some(&c) = self.bytes.get(self.at) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.push_str(std::str::from_utf8(&self.bytes[run..self.at]).ok()?);
            match *self.bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.at += 1;
                    let e = *self.bytes.get(self.at)?;
                    self.at += 1;
                    out.push(match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let n = self.hex4()?;
                            match n {
                                0xD800..=0xDBFF => {
                                    if self.bytes.get(self.at..self.at + 2)? != b"\\u" {
                                        return None;
                                    }
                                    self.at += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..=0xDFFF).contains(&lo) {
                                        return None;
                                    }
                                    let c = (((n - 0xD800) << 10) | (lo - 0xDC00)) + 0x1_0000;
                                    char::from_u32(c)?
                                }
                                0xDC00..=0xDFFF => return None,
                                _ => char::from_u32(n)?,
                            }
                        }
                        _ => return None,
                    });
                }
                _ => return None,
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        let mut n = 0u32;
        for &d in digits {
            n = n * 16 + char::from(d).to_digit(16)?;
        }
        self.at += 4;
        Some(n)
    }

    /// Skips a string as `serde_json` skips an ignored one: escapes are
    /// checked for their form only (and the bytes for UTF-8).
    fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        let start = self.at;
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => {
                    std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
                    self.at += 1;
                    return Some(());
                }
                b'\\' => {
                    self.at += 1;
                    match *self.bytes.get(self.at)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                        b'u' => {
                            self.at += 1;
                            self.hex4()?;
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - start
    }

    /// Skips a number of JSON's grammar.
    fn skip_number(&mut self) -> Option<()> {
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match *self.bytes.get(self.at)? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// Skips any JSON value (what `serde_json` accepts for a key it ignores).
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        if depth > SKIP_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.skip_string(),
            b'n' => self.null(),
            b't' | b'f' => self.boolean().map(|_| ()),
            b'-' | b'0'..=b'9' => self.skip_number(),
            b'[' => {
                self.at += 1;
                if self.peek()? == b']' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.at += 1;
                if self.peek()? == b'}' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.skip_string()?;
                    self.eat(b':')?;
                    self.skip_value(depth + 1)?;
                    match self.peek()? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    /// The text of the next value, skipped.
    fn value_text(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.at;
        self.skip_value(0)?;
        std::str::from_utf8(&self.bytes[start..self.at]).ok()
    }

    /// Calls `f` with each key of an object, positioned at its value; `f`
    /// reads the value.
    #[inline]
    fn object(&mut self, mut f: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        self.member(&mut f)?;
        self.more_members(f)
    }

    /// The rest of an object whose first members are read: `,` and more
    /// members, then `}`.
    #[inline]
    fn more_members(&mut self, mut f: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        loop {
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.member(&mut f)?;
                }
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    #[inline(always)]
    fn member(&mut self, f: &mut impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.with_bytes(|r, key| {
            r.eat(b':')?;
            f(r, key)
        })
    }

    /// Calls `f` at each element of an array; `f` reads the element.
    #[inline]
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.at += 1;
            return Some(());
        }
        loop {
            f(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn owned(&mut self) -> Option<String> {
        let mut out = String::new();
        self.owned_into(&mut out)?;
        Some(out)
    }

    /// A text into `out`, replacing what it held (its allocation is
    /// reused).
    fn owned_into(&mut self, out: &mut String) -> Option<()> {
        out.clear();
        let start = self.at;
        match self.plain() {
            // Between two quotes of a text: whole characters.
            Some(b) => out.push_str(ascii(b)?),
            None => {
                self.at = start;
                out.push_str(&self.string()?);
            }
        }
        Some(())
    }

    /// `Option<String>`: text or null.
    fn opt_text(&mut self) -> Option<Option<String>> {
        self.opt_text_reusing(None)
    }

    /// `Option<String>`: text or null; a text goes into `spare`, if any.
    fn opt_text_reusing(&mut self, spare: Option<String>) -> Option<Option<String>> {
        if self.peek()? == b'n' {
            self.null().map(|_| None)
        } else {
            let mut text = spare.unwrap_or_default();
            self.owned_into(&mut text)?;
            Some(Some(text))
        }
    }

    fn texts(&mut self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        self.texts_into(&mut out)?;
        Some(out)
    }

    /// A list of texts into `out`, replacing what it held (its texts'
    /// allocations are reused).
    fn texts_into(&mut self, out: &mut Vec<String>) -> Option<()> {
        let mut n = 0;
        self.array(|r| {
            if n == out.len() {
                out.push(String::new());
            }
            r.owned_into(&mut out[n])?;
            n += 1;
            Some(())
        })?;
        out.truncate(n);
        Some(())
    }

    /// An id into `out`: text, or a whole number `serde_json` reads as a
    /// `u64`.
    fn id_into(&mut self, out: &mut String) -> Option<()> {
        match self.peek()? {
            b'"' => self.owned_into(out),
            b'0'..=b'9' => {
                let start = self.at;
                let mut n = 0u64;
                while let Some(&c) = self.bytes.get(self.at).filter(|c| c.is_ascii_digit()) {
                    n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                    self.at += 1;
                }
                let leading_zero = self.bytes[start] == b'0' && self.at - start > 1;
                let more = matches!(self.bytes.get(self.at), Some(b'.' | b'e' | b'E'));
                if leading_zero || more {
                    return None;
                }
                out.clear();
                out.push_str(&n.to_string());
                Some(())
            }
            _ => None,
        }
    }

    fn instant(&mut self) -> Option<i64> {
        self.ws();
        // The canonical form: 20 bytes that are neither quotes, escapes
        // nor control characters, between quotes.
        if self.bytes.get(self.at) == Some(&b'"') && self.bytes.get(self.at + 21) == Some(&b'"') {
            if let Some(t) = self
                .bytes
                .get(self.at + 1..self.at + 21)
                .and_then(|b| parse_canonical_memo(b, &mut self.day))
            {
                self.at += 22;
                return Some(t);
            }
        }
        parse_instant(&self.string()?).ok()
    }

    fn fields(&mut self) -> Option<BTreeMap<String, serde_json::Value>> {
        self.ws();
        let empty = self.bytes.get(self.at) == Some(&b'{') && {
            let mut r = Reader {
                at: self.at + 1,
                ..*self
            };
            r.peek() == Some(b'}')
        };
        if empty {
            self.eat(b'{')?;
            self.eat(b'}')?;
            return Some(BTreeMap::new());
        }
        if self.bytes.get(self.at) != Some(&b'{') {
            return None;
        }
        serde_json::from_str(self.value_text()?).ok()
    }

    fn status(&mut self) -> Option<Status> {
        self.with_bytes(|_, b| status_of(b))
    }

    fn author(&mut self) -> Option<Author> {
        self.with_bytes(|_, b| author_of(b))
    }

    fn kind(&mut self) -> Option<Kind> {
        self.with_bytes(|_, b| kind_of(b))
    }

    /// An organization into `o`, replacing all it held (its allocations
    /// are reused).
    fn organization_into(&mut self, o: &mut Organization) -> Option<()> {
        let mut seen = 0u8;
        let mut once = |bit: u8| {
            let fresh = seen & bit == 0;
            seen |= bit;
            fresh.then_some(())
        };
        o.name = None;
        clear(&mut o.fields);
        self.object(|r, key| {
            match key {
                b"id" => {
                    once(1)?;
                    r.id_into(&mut o.id)?;
                }
                b"name" => {
                    once(2)?;
                    o.name = r.opt_text()?;
                }
                b"tags" => {
                    once(4)?;
                    r.texts_into(&mut o.tags)?;
                }
                b"fields" => {
                    once(8)?;
                    o.fields = r.fields()?;
                }
                _ => r.skip_value(0)?,
            }
            Some(())
        })?;
        if seen & 4 == 0 {
            o.tags.clear();
        }
        (seen & 1 != 0).then_some(())
    }

    fn opt_organization(&mut self) -> Option<Option<Organization>> {
        self.opt_organization_reusing(None)
    }

    /// An organization or null; an organization goes into `spare`, if any.
    fn opt_organization_reusing(
        &mut self,
        spare: Option<Organization>,
    ) -> Option<Option<Organization>> {
        if self.peek()? == b'n' {
            return self.null().map(|_| None);
        }
        let mut o = spare.unwrap_or_else(|| Organization {
            id: String::new(),
            name: None,
            tags: Vec::new(),
            fields: BTreeMap::new(),
        });
        if self.organization_usual_into(&mut o).is_none() {
            self.organization_into(&mut o)?;
        }
        Some(Some(o))
    }

    /// An organization as serde_json writes it, read in one go into `o`
    /// and consumed: `{"id":"<text>","tags":[<texts>],"fields":{}}` with
    /// plain texts (no escapes); else None, with nothing consumed (and
    /// `o` partly written).
    fn organization_usual_into(&mut self, o: &mut Organization) -> Option<()> {
        const ID: &[u8] = b"{\"id\":\"";
        const TAGS: &[u8] = b"\",\"tags\":[";
        const FIELDS: &[u8] = b",\"fields\":{}}";
        let b = self.bytes;
        let id_start = self.at + ID.len();
        if b.get(self.at..id_start)? != ID {
            return None;
        }
        let n = plain_len(&b[id_start..]);
        let id_end = id_start + n;
        let mut at = id_end + TAGS.len();
        if b.get(id_end..at)? != TAGS {
            return None;
        }
        let mut tags = 0;
        if b.get(at) == Some(&b']') {
            at += 1;
        } else {
            loop {
                if b.get(at) != Some(&b'"') {
                    return None;
                }
                let m = plain_len(&b[at + 1..]);
                let end = at + 1 + m;
                if b.get(end) != Some(&b'"') {
                    return None;
                }
                if tags == o.tags.len() {
                    o.tags.push(String::new());
                }
                let tag = &mut o.tags[tags];
                tag.clear();
                tag.push_str(ascii(&b[at + 1..end])?);
                tags += 1;
                at = end + 1;
                match b.get(at) {
                    Some(b',') => at += 1,
                    Some(b']') => {
                        at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        if b.get(at..at + FIELDS.len())? != FIELDS {
            return None;
        }
        o.tags.truncate(tags);
        o.id.clear();
        o.id.push_str(ascii(&b[id_start..id_end])?);
        o.name = None;
        clear(&mut o.fields);
        self.at = at + FIELDS.len();
        Some(())
    }

    /// An event's `value`, read as its type says.
    fn change_value(&mut self, kind: Kind, value: &mut Pending) -> Option<()> {
        *value = match kind {
            Kind::Priority | Kind::Severity | Kind::Group => Pending::Text(self.opt_text()?),
            Kind::Organization => Pending::Organization(self.opt_organization()?),
            Kind::Tags => Pending::Tags(self.texts()?),
            Kind::Status => Pending::Status(self.status()?),
            Kind::Field | Kind::Comment => Pending::Json(match self.peek()? {
                b'"' => serde_json::Value::String(self.owned()?),
                b'n' => self.null().map(|_| serde_json::Value::Null)?,
                _ => serde_json::from_str(self.value_text()?).ok()?,
            }),
        };
        Some(())
    }

    /// `{"at":"<canonical instant>","type":"<type>"` exactly, consumed;
    /// else None, with nothing consumed.
    #[inline]
    fn event_head(&mut self) -> Option<(i64, Kind)> {
        const AT: &[u8] = b"{\"at\":\"";
        const TYPE: &[u8] = b"\",\"type\":\"";
        self.ws();
        let b = self.bytes.get(self.at..)?;
        if b.get(..7)? != AT || b.get(27..37)? != TYPE {
            return None;
        }
        let t = parse_canonical_memo(&b[7..27], &mut self.day)?;
        let name = &b[37..];
        let n = plain_len(name);
        if name.get(n) != Some(&b'"') {
            return None;
        }
        let k = kind_of(&name[..n])?;
        self.at += 37 + n + 1;
        Some((t, k))
    }

    /// After the usual head, the rest of an event as serde_json writes it,
    /// consumed: a comment's `,"author":"<author>","public":<bool>}` (or
    /// `}` right after the author), or a status's or text value's
    /// `,"value":"<text>"}`; else None, with nothing consumed.
    #[inline]
    fn event_tail(&mut self, k: Kind) -> Option<Change> {
        const AUTHOR: &[u8] = b",\"author\":\"";
        const VALUE: &[u8] = b",\"value\":\"";
        let b = self.bytes.get(self.at..)?;
        match k {
            Kind::Comment => {
                let rest = b.strip_prefix(AUTHOR)?;
                let n = plain_len(rest);
                if rest.get(n) != Some(&b'"') {
                    return None;
                }
                let author = author_of(&rest[..n])?;
                let after = &rest[n + 1..];
                let (public, used) = if after.starts_with(b",\"public\":true}") {
                    (true, 15)
                } else if after.starts_with(b",\"public\":false}") {
                    (false, 16)
                } else if after.starts_with(b"}") {
                    (true, 1)
                } else {
                    return None;
                };
                self.at += AUTHOR.len() + n + 1 + used;
                Some(Change::Comment { author, public })
            }
            Kind::Status | Kind::Priority | Kind::Severity | Kind::Group => {
                let rest = b.strip_prefix(VALUE)?;
                let n = plain_len(rest);
                if rest.get(n..n + 2) != Some(b"\"}") {
                    return None;
                }
                let start = self.at + VALUE.len();
                let text = || ascii(&rest[..n]).map(str::to_string);
                let change = match k {
                    Kind::Status => Change::Status {
                        value: status_of(&rest[..n])?,
                    },
                    Kind::Priority => Change::Priority {
                        value: Some(text()?),
                    },
                    Kind::Severity => Change::Severity {
                        value: Some(text()?),
                    },
                    _ => Change::Group {
                        value: Some(text()?),
                    },
                };
                self.at = start + n + 2;
                Some(change)
            }
            _ => None,
        }
    }

    /// The events most timelines are made of, as serde_json writes them,
    /// recognized by whole words at fixed places and consumed: a comment by
    /// an agent or the requester with `"public":true`, a status change, a
    /// priority, severity or group set to a plain text. Else None, with
    /// nothing consumed. (Layout of `{"at":"<instant>","type":"<name>"`:
    /// the instant at bytes 7..27, the type's name from byte 37.)
    #[inline(always)]
    fn event_usual(&mut self) -> Option<(i64, Usual<'a>)> {
        const HEAD: &[u8; 7] = b"{\"at\":\"";
        const TYPE: &[u8; 10] = b"\",\"type\":\"";
        const VALUE: &[u8; 10] = b",\"value\":\"";
        const AGENT: &[u8; 32] = b",\"author\":\"agent\",\"public\":true}";
        const REQUESTER: &[u8; 36] = b",\"author\":\"requester\",\"public\":true}";
        let b: &[u8; 64] = self.bytes.get(self.at..self.at + 64)?.try_into().ok()?;
        if b[..7] != *HEAD || b[27..37] != *TYPE {
            return None;
        }
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let name = word(37);
        let (change, used) = if name == u64::from_le_bytes(*b"comment\"") {
            let tail = self.bytes.get(self.at + 45..)?;
            if tail.starts_with(AGENT) {
                (Usual::Comment(Author::Agent), 45 + AGENT.len())
            } else if tail.starts_with(REQUESTER) {
                (Usual::Comment(Author::Requester), 45 + REQUESTER.len())
            } else {
                return None;
            }
        } else if name == u64::from_le_bytes(*b"status\",") {
            if b[44..54] != *VALUE {
                return None;
            }
            // The status and its `"}` in one word.
            let v = word(54);
            let is = |text: &[u8]| {
                let mut w = [0u8; 8];
                w[..text.len()].copy_from_slice(text);
                let mask = u64::MAX >> (64 - 8 * text.len());
                v & mask == u64::from_le_bytes(w)
            };
            let (value, len) = if is(b"open\"}") {
                (Status::Open, 6)
            } else if is(b"pending\"") && b[62] == b'}' {
                (Status::Pending, 9)
            } else if is(b"solved\"}") {
                (Status::Solved, 8)
            } else if is(b"new\"}") {
                (Status::New, 5)
            } else if is(b"hold\"}") {
                (Status::Hold, 6)
            } else if is(b"closed\"}") {
                (Status::Closed, 8)
            } else {
                return None;
            };
            (Usual::Status(value), 54 + len)
        } else {
            let (kind, value_at) = if name == u64::from_le_bytes(*b"priority") && b[45] == b'"' {
                (Kind::Priority, 46)
            } else if name == u64::from_le_bytes(*b"severity") && b[45] == b'"' {
                (Kind::Severity, 46)
            } else if name == u64::from_le_bytes(*b"group\",\"") {
                (Kind::Group, 43)
            } else {
                return None;
            };
            if b[value_at..value_at + 10] != *VALUE {
                return None;
            }
            let text = self.bytes.get(self.at + value_at + 10..)?;
            let n = plain_len(text);
            if text.get(n..n + 2) != Some(b"\"}") {
                return None;
            }
            (Usual::Text(kind, ascii(&text[..n])?), value_at + 10 + n + 2)
        };
        let at = parse_canonical_memo(&b[7..27], &mut self.day)?;
        self.at += used;
        Some((at, change))
    }

    fn event(&mut self) -> Option<Event> {
        self.ws();
        if let Some((at, usual)) = self.event_usual() {
            return Some(Event {
                id: None,
                at,
                change: usual.change(),
            });
        }
        self.event_unusual()
    }

    /// An event [`Reader::event_usual`] did not take, after the whitespace
    /// before it.
    fn event_unusual(&mut self) -> Option<Event> {
        // The layout serde_json writes (and most exports have) first reads
        // `{"at":"<canonical instant>","type":"<type>"` in one go, and
        // usually the rest of the event too (before anything else is set
        // up); else the other members follow as in any other layout.
        let head = self.event_head();
        if let Some((t, k)) = head {
            if let Some(change) = self.event_tail(k) {
                return Some(Event {
                    id: None,
                    at: t,
                    change,
                });
            }
        }
        let mut seen = 0u8;
        let (mut id, mut at, mut kind) = (None, None, None);
        let mut value = Pending::Missing;
        let mut early: Option<&'a str> = None;
        let (mut author, mut public, mut name) = (None, None, None);
        if let Some((t, k)) = head {
            seen = EV_AT | EV_TYPE;
            at = Some(t);
            kind = Some(k);
        }
        let on_key = |r: &mut Self, key: &[u8]| {
            let bit = match key {
                b"id" => EV_ID,
                b"at" => EV_AT,
                b"type" => EV_TYPE,
                b"value" => EV_VALUE,
                b"author" => EV_AUTHOR,
                b"public" => EV_PUBLIC,
                b"name" => EV_NAME,
                _ => return r.skip_value(0),
            };
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            match bit {
                EV_ID => id = r.opt_text()?,
                EV_AT => at = Some(r.instant()?),
                EV_TYPE => kind = Some(r.kind()?),
                EV_VALUE => match kind {
                    Some(k) => r.change_value(k, &mut value)?,
                    None => early = Some(r.value_text()?),
                },
                EV_AUTHOR => author = Some(r.author()?),
                EV_PUBLIC => public = Some(r.boolean()?),
                _ => name = Some(r.owned()?),
            }
            Some(())
        };
        match head {
            Some(_) => self.more_members(on_key)?,
            None => self.object(on_key)?,
        }
        let (at, kind) = (at?, kind?);
        if let Some(text) = early {
            // As the event's deserializer does: kept as JSON, then read as
            // the type says.
            let json: serde_json::Value = serde_json::from_str(text).ok()?;
            value = match kind {
                Kind::Priority | Kind::Severity | Kind::Group => {
                    Pending::Text(serde_json::from_value(json).ok()?)
                }
                Kind::Organization => Pending::Organization(serde_json::from_value(json).ok()?),
                Kind::Tags => Pending::Tags(serde_json::from_value(json).ok()?),
                Kind::Status => Pending::Status(serde_json::from_value(json).ok()?),
                Kind::Field | Kind::Comment => Pending::Json(json),
            };
        }
        let change = match (kind, value) {
            (Kind::Priority, Pending::Text(value)) => Change::Priority { value },
            (Kind::Priority, Pending::Missing) => Change::Priority { value: None },
            (Kind::Severity, Pending::Text(value)) => Change::Severity { value },
            (Kind::Severity, Pending::Missing) => Change::Severity { value: None },
            (Kind::Group, Pending::Text(value)) => Change::Group { value },
            (Kind::Group, Pending::Missing) => Change::Group { value: None },
            (Kind::Organization, Pending::Organization(value)) => Change::Organization { value },
            (Kind::Organization, Pending::Missing) => Change::Organization { value: None },
            (Kind::Tags, Pending::Tags(value)) => Change::Tags { value },
            (Kind::Field, Pending::Json(value)) => Change::Field { name: name?, value },
            (Kind::Comment, Pending::Json(_) | Pending::Missing) => Change::Comment {
                author: author?,
                public: public.unwrap_or(true),
            },
            (Kind::Status, Pending::Status(value)) => Change::Status { value },
            _ => return None,
        };
        Some(Event { id, at, change })
    }

    /// A ticket into `t`, replacing all it held (the allocations of its
    /// id, organization, priority, group and list of events are reused).
    fn ticket(&mut self, t: &mut Ticket) -> Option<()> {
        let mut seen = 0u16;
        let mut once = |bit: u16| {
            let fresh = seen & bit == 0;
            seen |= bit;
            fresh.then_some(())
        };
        let mut organization = t.organization.take();
        let mut priority = t.priority.take();
        let mut group = t.group.take();
        t.source = None;
        t.url = None;
        t.tags.clear();
        clear(&mut t.fields);
        t.status = None;
        t.current = None;
        // The events go over the ticket before's (see `events_into`);
        // without an `events` key there are none.
        let mut events_read = false;
        self.object(|r, key| {
            match key {
                b"id" => {
                    once(1)?;
                    r.id_into(&mut t.id)?;
                }
                b"created_at" => {
                    once(2)?;
                    t.created_at = r.instant()?;
                }
                b"source" => {
                    once(4)?;
                    t.source = r.opt_text()?;
                }
                b"url" => {
                    once(8)?;
                    t.url = r.opt_text()?;
                }
                b"organization" => {
                    once(16)?;
                    t.organization = r.opt_organization_reusing(organization.take())?;
                }
                b"tags" => {
                    once(32)?;
                    r.texts_into(&mut t.tags)?;
                }
                b"fields" => {
                    once(64)?;
                    t.fields = r.fields()?;
                }
                b"priority" => {
                    once(128)?;
                    t.priority = r.opt_text_reusing(priority.take())?;
                }
                b"group" => {
                    once(256)?;
                    t.group = r.opt_text_reusing(group.take())?;
                }
                b"status" => {
                    once(512)?;
                    t.status = if r.peek()? == b'n' {
                        r.null().map(|_| None)?
                    } else {
                        Some(r.status()?)
                    };
                }
                b"events" => {
                    once(1024)?;
                    events_read = true;
                    r.events_into(&mut t.events)?;
                }
                b"current" => {
                    once(2048)?;
                    t.current = serde_json::from_str(r.value_text()?).ok()?;
                }
                _ => r.skip_value(0)?,
            }
            Some(())
        })?;
        if !events_read {
            t.events.clear();
        }
        // The id and the creation are required.
        (seen & 3 == 3).then_some(())
    }

    /// A list of events into `events`, replacing what it held. Each event
    /// is written over one before it, field by field for the usual ones
    /// (see [`Reader::event_usual`]), which spares moving whole events.
    fn events_into(&mut self, events: &mut Vec<Event>) -> Option<()> {
        let mut n = 0;
        self.array(|r| {
            match events.get_mut(n) {
                Some(slot) => {
                    r.ws();
                    match r.event_usual() {
                        Some((at, usual)) => {
                            slot.id = None;
                            slot.at = at;
                            usual.write_over(&mut slot.change);
                        }
                        None => *slot = r.event_unusual()?,
                    }
                }
                None => events.push(r.event()?),
            }
            n += 1;
            Some(())
        })?;
        events.truncate(n);
        Some(())
    }
}

/// A status by its name.
#[inline]
fn status_of(name: &[u8]) -> Option<Status> {
    Some(match name {
        b"new" => Status::New,
        b"open" => Status::Open,
        b"pending" => Status::Pending,
        b"hold" => Status::Hold,
        b"solved" => Status::Solved,
        b"closed" => Status::Closed,
        _ => return None,
    })
}

/// A comment's author by its name.
#[inline]
fn author_of(name: &[u8]) -> Option<Author> {
    Some(match name {
        b"agent" => Author::Agent,
        b"requester" => Author::Requester,
        b"other" => Author::Other,
        b"unknown" => Author::Unknown,
        _ => return None,
    })
}

/// An event type by its name.
#[inline]
fn kind_of(name: &[u8]) -> Option<Kind> {
    Some(match name {
        b"priority" => Kind::Priority,
        b"severity" => Kind::Severity,
        b"group" => Kind::Group,
        b"organization" => Kind::Organization,
        b"tags" => Kind::Tags,
        b"field" => Kind::Field,
        b"comment" => Kind::Comment,
        b"status" => Kind::Status,
        _ => return None,
    })
}

/// Empties a map of fields; most are empty already, and `clear` costs a
/// drop of the map even then.
#[inline]
fn clear(fields: &mut BTreeMap<String, serde_json::Value>) {
    if !fields.is_empty() {
        fields.clear();
    }
}

/// Text known to be ASCII (what [`plain_len`] measured) as a `str`.
#[inline]
fn ascii(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// How many bytes at the start of `b` are plain text inside a JSON string:
/// ASCII, and no quote, backslash or control character (a string with
/// anything else is read by [`Reader::string`], which decodes escapes and
/// checks UTF-8). Eight bytes at a time.
#[inline]
fn plain_len(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // A byte's high bit is set where it is a quote, a backslash,
        // below 0x20 or above 0x7f (exact for the lowest such byte, which
        // is all that counts).
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
        let special = zero(w ^ (ONES * 0x22))
            | zero(w ^ (ONES * 0x5c))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
            | (w & HIGH);
        if special != 0 {
            return i + (special.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + b[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c))
        .unwrap_or(b.len() - i)
}

/// A usual event's change as [`Reader::event_usual`] read it, its text
/// (if any) still in the line.
enum Usual<'a> {
    /// A public comment.
    Comment(Author),
    Status(Status),
    /// A priority, severity or group set to a text.
    Text(Kind, &'a str),
}

impl Usual<'_> {
    fn change(self) -> Change {
        match self {
            Usual::Comment(author) => Change::Comment {
                author,
                public: true,
            },
            Usual::Status(value) => Change::Status { value },
            Usual::Text(kind, text) => text_change(kind, text.to_string()),
        }
    }

    /// Written over an event's change: most changes before were comments
    /// or status changes, which own nothing and are forgotten rather than
    /// dropped, and a text over a text of its kind keeps its memory.
    #[inline(always)]
    fn write_over(self, change: &mut Change) {
        let owns_nothing = matches!(change, Change::Comment { .. } | Change::Status { .. });
        let new = match self {
            Usual::Text(kind, text) => {
                if let (Kind::Priority, Change::Priority { value: Some(old) })
                | (Kind::Severity, Change::Severity { value: Some(old) })
                | (Kind::Group, Change::Group { value: Some(old) }) = (kind, &mut *change)
                {
                    old.clear();
                    old.push_str(text);
                    return;
                }
                text_change(kind, text.to_string())
            }
            other => other.change(),
        };
        if owns_nothing {
            std::mem::forget(std::mem::replace(change, new));
        } else {
            *change = new;
        }
    }
}

/// The change that sets a priority, severity or group (`kind`) to `text`.
fn text_change(kind: Kind, text: String) -> Change {
    let value = Some(text);
    match kind {
        Kind::Priority => Change::Priority { value },
        Kind::Severity => Change::Severity { value },
        _ => Change::Group { value },
    }
}

/// An event's value as read so far.
enum Pending {
    Missing,
    Text(Option<String>),
    Organization(Option<Organization>),
    Tags(Vec<String>),
    Status(Status),
    Json(serde_json::Value),
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What `serde_json` reads, errors as text.
    fn serde(text: &str) -> Result<Ticket, String> {
        serde_json::from_str::<Ticket>(text).map_err(|e| e.to_string())
    }

    fn fast(text: &str) -> Result<Ticket, String> {
        ticket_from_json(text).map_err(|e| e.to_string())
    }

    /// The documented example (docs/timeline.md) and the form the
    /// benchmarks write take the fast path, and read as `serde_json` reads
    /// them.
    #[test]
    fn the_documented_form_is_read_fast() {
        let texts = [
            r#"{"id":"4711","created_at":"2026-11-20T16:00:00Z",
 "organization":{"id":"900","tags":["plan_premier"],"fields":{}},
 "tags":[], "fields":{},
 "events":[
   {"at":"2026-11-20T16:00:00Z","type":"priority","value":"urgent"},
   {"at":"2026-11-20T16:05:00Z","type":"comment","author":"agent","public":true},
   {"at":"2026-11-20T17:00:00Z","type":"status","value":"pending"},
   {"at":"2026-11-21T09:00:00Z","type":"comment","author":"requester","public":true},
   {"at":"2026-11-21T09:00:00Z","type":"status","value":"open"},
   {"at":"2026-11-21T10:00:00Z","type":"group","value":"l2-experts"},
   {"at":"2026-11-22T12:00:00Z","type":"status","value":"solved"}]}"#,
            "{\"id\":\"0\",\"created_at\":\"2026-08-01T10:00:00Z\",\"organization\":{\"id\":\"0\",\"tags\":[\"csp_premier\"],\"fields\":{}},\"tags\":[],\"fields\":{},\"status\":\"new\",\"events\":[{\"at\":\"2026-08-01T10:00:00Z\",\"type\":\"priority\",\"value\":\"urgent\"},{\"at\":\"2026-08-01T10:05:00Z\",\"type\":\"comment\",\"author\":\"agent\",\"public\":true}]}\n",
            r#"{"id":12,"created_at":"2026-11-20T08:00:00-08:00","x":[1,{"y":"\u00e9"}],"events":[{"id":"7.1","value":"open","type":"status","at":"2026-11-20T16:00:00Z","via":{"channel":"web"}},{"at":"2026-11-20T16:00:00Z","type":"field","name":"sev","value":"s1"},{"at":"2026-11-20T16:00:00Z","type":"organization","value":{"id":5,"name":null,"tags":["a\"b"]}}],"current":{"updated_at":"2026-11-21T00:00:00Z","status":"solved"}}"#,
        ];
        for text in texts {
            let t = read_fast(text).unwrap_or_else(|| panic!("not read fast: {text}"));
            assert_eq!(Ok(t), serde(text), "{text}");
        }
    }

    #[test]
    fn plain_text_ends_at_the_first_quote_backslash_control_character_or_byte_outside_ascii() {
        let slow = |b: &[u8]| {
            b.iter()
                .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c))
                .unwrap_or(b.len())
        };
        let mut b: Vec<u8> = (0..40).map(|i| b'a' + (i % 26) as u8).collect();
        b.extend_from_slice("é✓".as_bytes());
        for at in 0..b.len() {
            for special in [
                b'"', b'\\', 0, 0x1f, 0x20, 0x21, 0x5b, 0x7f, 0x80, 0xa2, 0xdc,
            ] {
                let mut text = b.clone();
                text[at] = special;
                for start in 0..text.len() {
                    assert_eq!(
                        plain_len(&text[start..]),
                        slow(&text[start..]),
                        "{text:?} {start}"
                    );
                }
            }
        }
    }

    /// Tickets as serde_json writes them, with events of every kind (the
    /// layout the usual head and tail are read in one go), read as
    /// serde_json reads them, and fast.
    #[test]
    fn what_serde_json_writes_is_read_fast_and_the_same() {
        let org = Organization {
            id: "9".into(),
            name: Some("Acme \"A\" ✓".into()),
            tags: vec!["gold".into()],
            fields: BTreeMap::new(),
        };
        let mut changes = vec![
            Change::Priority {
                value: Some("urgent".into()),
            },
            Change::Priority { value: None },
            Change::Severity {
                value: Some("s1 \\ é".into()),
            },
            Change::Severity {
                value: Some(String::new()),
            },
            Change::Group {
                value: Some("l2".into()),
            },
            Change::Group { value: None },
            Change::Organization {
                value: Some(org.clone()),
            },
            Change::Organization { value: None },
            Change::Tags {
                value: vec!["a".into(), "b\n".into()],
            },
            Change::Field {
                name: "type".into(),
                value: serde_json::json!({"x": [1, -2.5, null]}),
            },
            Change::Field {
                name: "sev".into(),
                value: serde_json::json!("s2"),
            },
        ];
        for author in [
            Author::Agent,
            Author::Requester,
            Author::Other,
            Author::Unknown,
        ] {
            for public in [true, false] {
                changes.push(Change::Comment { author, public });
            }
        }
        for value in [
            Status::New,
            Status::Open,
            Status::Pending,
            Status::Hold,
            Status::Solved,
            Status::Closed,
        ] {
            changes.push(Change::Status { value });
        }
        let events: Vec<Event> = changes
            .into_iter()
            .enumerate()
            .map(|(i, change)| Event {
                id: (i % 3 == 0).then(|| format!("7.{i}")),
                at: 1_795_190_400 + 60 * i as i64,
                change,
            })
            .collect();
        let ticket = Ticket {
            id: "4711".into(),
            created_at: 1_795_190_400,
            source: Some("zendesk".into()),
            url: None,
            organization: Some(org),
            tags: vec![],
            fields: BTreeMap::new(),
            priority: Some("high".into()),
            group: None,
            status: Some(Status::New),
            events,
            current: None,
        };
        let text = serde_json::to_string(&ticket).unwrap();
        assert_eq!(read_fast(&text), Some(ticket.clone()), "{text}");
        assert_eq!(serde(&text), Ok(ticket), "{text}");
        // Near misses of the usual tail take the general path or serde_json.
        for event in [
            r#"{"at":"2026-11-20T16:00:00Z","type":"comment","author":"agent","public":true,"x":1}"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"comment","author":"agent","public":1}"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"comment","author":"bot","public":true}"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"comment","author":"agent"}"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"comment","author":"agent","author":"other"}"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"status","value":"done"}"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"status","value":"open","at":"2026-11-20T17:00:00Z"}"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"status","value":"open" }"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"priority","value":"a\"b"}"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"priority","value":"x"}x"#,
            r#"{"at":"2026-11-20T16:00:00Z","type":"group","value":null}"#,
        ] {
            let text =
                format!(r#"{{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{event}]}}"#);
            assert_eq!(fast(&text), serde(&text), "{text}");
        }
    }

    /// The usual events (read by whole words at fixed places) and near
    /// misses of each, anywhere in a timeline (last, or with more events
    /// after), read as serde_json reads them.
    #[test]
    fn usual_events_and_their_near_misses_read_as_serde_reads_them() {
        let head = r#"{"at":"2026-11-20T16:00:00Z","type":"#;
        let usual = [
            r#""comment","author":"agent","public":true}"#,
            r#""comment","author":"requester","public":true}"#,
            r#""status","value":"new"}"#,
            r#""status","value":"open"}"#,
            r#""status","value":"pending"}"#,
            r#""status","value":"hold"}"#,
            r#""status","value":"solved"}"#,
            r#""status","value":"closed"}"#,
            r#""priority","value":"urgent"}"#,
            r#""priority","value":""}"#,
            r#""severity","value":"sev 1"}"#,
            r#""group","value":"l2-experts"}"#,
        ];
        let misses = [
            r#""comment","author":"agent","public":false}"#,
            r#""comment","author":"requester","public":false}"#,
            r#""comment","author":"other","public":true}"#,
            r#""comment","author":"agent","public":true,"x":1}"#,
            r#""comment","author":"requester","public":true }"#,
            r#""comment","author":"agents","public":true}"#,
            r#""comments","author":"agent","public":true}"#,
            r#""status","value":"opened"}"#,
            r#""status","value":"pendingx"}"#,
            r#""status","value":"pending","x":1}"#,
            r#""status","value":"Open"}"#,
            r#""status","value":"new","value":"open"}"#,
            r#""status","value":"ne"}"#,
            r#""status","value":null}"#,
            r#""statuses","value":"open"}"#,
            r#""priority","value":"a\"b"}"#,
            r#""priority","value":"é"}"#,
            r#""priority","value":"x","x":1}"#,
            r#""priority","value":null}"#,
            r#""priorityx","value":"x"}"#,
            r#""severity","value":"x"  }"#,
            r#""group","value":7}"#,
            r#""groups","value":"x"}"#,
            r#""group","valu":"x"}"#,
        ];
        let long =
            r#"{"at":"2026-11-20T17:00:00Z","type":"comment","author":"agent","public":true}"#;
        for (tail, read_fast_too) in usual
            .iter()
            .map(|t| (t, true))
            .chain(misses.iter().map(|t| (t, false)))
        {
            let event = format!("{head}{tail}");
            for events in [
                event.clone(),
                format!("{event},{long}"),
                format!("{long},{event},{long}"),
            ] {
                let text = format!(
                    r#"{{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{events}]}}"#
                );
                assert_eq!(fast(&text), serde(&text), "{text}");
                if read_fast_too {
                    assert!(read_fast(&text).is_some(), "{text}");
                }
            }
        }
        // Each read over each in the memory of the ticket before (a text
        // written over a text of its kind keeps that text's memory): as
        // read on its own.
        let one = |tail: &str| {
            format!(r#"{{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{head}{tail}]}}"#)
        };
        for before in usual.iter().chain(&misses) {
            for tail in usual.iter().chain(&misses) {
                let mut ticket = empty_ticket();
                assert!(
                    read_fast_into(one(before).as_bytes(), &mut ticket) || !usual.contains(before)
                );
                let text = one(tail);
                if read_fast_into(text.as_bytes(), &mut ticket) {
                    assert_eq!(Ok(ticket), serde(&text), "{text} after {before}");
                }
            }
        }
    }

    /// Organizations as serde_json writes them are read in one go, and
    /// near misses of that layout read as serde_json reads them, on the
    /// ticket and in an organization event.
    #[test]
    fn organizations_in_serde_jsons_layout_read_as_serde_reads_them() {
        for org in [
            r#"{"id":"0","tags":["csp_preferred"],"fields":{}}"#,
            r#"{"id":"","tags":[],"fields":{}}"#,
            r#"{"id":"9","tags":["a","b","ü ✓"],"fields":{}}"#,
            r#"{"id":"9","tags":["a","b",],"fields":{}}"#,
            r#"{"id":"9","tags":["a"  ,"b"],"fields":{}}"#,
            r#"{"id":"9","tags":["a"b"],"fields":{}}"#,
            r#"{"id":"a\b","tags":["a"],"fields":{}}"#,
            r#"{"id":"9","tags":["a"],"fields":{"x":1}}"#,
            r#"{"id":"9","tags":["a"],"fields":{},"name":"A"}"#,
            r#"{"id":"9","tags":["a"],"fields":{} }"#,
            r#"{"id":"9","tags":[1],"fields":{}}"#,
            r#"{"id":"9","tags":["a"]}"#,
            r#"{"id":"9","tags":["a"],"fields":{}"#,
            r#"{"id":"9","name":null,"tags":["a"],"fields":{}}"#,
            r#"{"id":9,"tags":["a"],"fields":{}}"#,
        ] {
            for text in [
                format!(r#"{{"id":"1","created_at":"2026-11-20T16:00:00Z","organization":{org}}}"#),
                format!(
                    r#"{{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{{"at":"2026-11-20T16:00:00Z","type":"organization","value":{org}}}]}}"#
                ),
            ] {
                assert_eq!(fast(&text), serde(&text), "{text}");
            }
        }
        let text = r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","organization":{"id":"0","tags":["x","y"],"fields":{}}}"#;
        assert!(read_fast(text).is_some(), "{text}");
    }

    /// Bytes that are not UTF-8 in any string the reader meets (a key it
    /// knows or skips, an id, a tag, an event's type, author or value, a
    /// skipped value) make it refuse the line; the same strings with a
    /// character outside ASCII are read as `serde_json` reads them.
    #[test]
    fn strings_that_are_not_utf8_are_refused_wherever_they_are() {
        let lines = [
            r#"{"id":"1@","created_at":"2026-11-20T16:00:00Z","events":[]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","x@":1,"events":[]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","x":"a@b","events":[]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","x":["@"],"events":[]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","organization":{"id":"9@","tags":[],"fields":{}}}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","organization":{"id":"9","tags":["a@"],"fields":{}}}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","organization":{"id":"9","tags":["a"],"fields":{"f@":1}}}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","tags":["@"]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","priority":"@"}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{"at":"2026-11-20T16:00:00Z","type":"priority","value":"u@"}]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{"at":"2026-11-20T16:00:00Z","type":"group@","value":"u"}]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{"at":"2026-11-20T16:00:00Z","type":"comment","author":"agent@"}]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{"at":"2026-11-20T16:00:00Z","type":"field","name":"n@","value":"v"}]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{"at":"2026-11-20T16:00:00Z","type":"field","name":"n","value":{"v":"@"}}]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{"id":"e@","at":"2026-11-20T16:00:00Z","type":"status","value":"open"}]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{"at":"2026-11-20T16:00:00Z","type":"status","value":"open","via":"@"}]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","current":{"updated_at":"2026-11-20T16:00:00Z","group":"@"}}"#,
        ];
        for line in lines {
            // A character outside ASCII: read as serde_json reads it (an
            // event type it names is no type: refused by both).
            let text = line.replace('@', "é✓");
            let mut ticket = empty_ticket();
            let taken = read_fast_into(text.as_bytes(), &mut ticket);
            assert_eq!(taken, serde(&text).is_ok(), "{text}");
            if taken {
                assert_eq!(Ok(ticket), serde(&text), "{text}");
            }
            // The same bytes damaged: a lone continuation byte, a lead
            // byte without its continuation, a byte never in UTF-8.
            for bad in [&[0x80u8][..], &[0xc3, b'a'], &[0xff]] {
                let mut bytes = Vec::new();
                for (i, part) in line.split('@').enumerate() {
                    if i > 0 {
                        bytes.extend_from_slice(bad);
                    }
                    bytes.extend_from_slice(part.as_bytes());
                }
                assert!(std::str::from_utf8(&bytes).is_err());
                let mut ticket = empty_ticket();
                assert!(!read_fast_into(&bytes, &mut ticket), "{line} {bad:?}");
            }
        }
    }

    #[test]
    fn errors_are_serde_jsons_with_their_column() {
        for text in [
            r#"{"id":"1"}"#,
            r#"{"id":"1","created_at":"yesterday"}"#,
            r#"{"id":"1","id":"2","created_at":"2026-11-20T16:00:00Z"}"#,
            r#"{"id":1.5,"created_at":"2026-11-20T16:00:00Z"}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{"at":"2026-11-20T16:00:00Z","type":"reply"}]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","events":[{"at":"2026-11-20T16:00:00Z","type":"comment"}]}"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z"} x"#,
            r#"{"id":"1","created_at":"2026-11-20T16:00:00Z","tags":[1]}"#,
        ] {
            assert!(read_fast(text).is_none(), "{text}");
            let (a, b) = (
                ticket_from_json(text).unwrap_err(),
                serde_json::from_str::<Ticket>(text).unwrap_err(),
            );
            assert_eq!((a.to_string(), a.column()), (b.to_string(), b.column()));
        }
    }

    /// Marks where generated JSON may have whitespace.
    const WS: char = '\u{2}';

    fn join(items: &[String]) -> String {
        items.join(&format!("{WS},{WS}"))
    }

    /// JSON text; `dirty` adds what JSON or the form does not allow.
    fn string_json(dirty: bool) -> BoxedStrategy<String> {
        let valid = prop_oneof![
            4 => "[a-z0-9_ .-]{0,10}".prop_map(|s| format!("\"{s}\"")),
            1 => "[^\"\\\\\u{0}-\u{1f}]{0,6}".prop_map(|s| format!("\"{s}\"")),
            2 => prop::sample::select(vec![
                r#""a\"b""#, r#""caf\u00e9""#, "\"café ✓\"", r#""\ud83d\ude00""#,
                r#""tab\tx\n\r\b\f\/\\""#, "\"\"", r#""\u0000""#, r#""\u00E9\u4e2d""#,
            ])
            .prop_map(str::to_string),
        ];
        if !dirty {
            return valid.boxed();
        }
        prop_oneof![
            6 => valid,
            1 => prop::sample::select(vec![
                r#""\ud800""#, r#""\udc00x""#, r#""\ud800\u0041""#, r#""bad\x""#, r#""\u00""#,
                "\"ctl\u{1}\"", "\"open", r#""\uD83D""#,
            ])
            .prop_map(str::to_string),
        ]
        .boxed()
    }

    fn instant_json(dirty: bool) -> BoxedStrategy<String> {
        let valid = prop_oneof![
            8 => (2024i64..2028, 1u32..13, 1u32..29, 0u32..24, 0u32..60, 0u32..60)
                .prop_map(|(y, mo, d, h, mi, s)| format!("\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z\"")),
            1 => prop::sample::select(vec![
                r#""2026-11-20T08:30:00-08:00""#, r#""2026-11-20T16:30:00.000Z""#,
                r#""2026-11-20t16:30:00z""#, r#""2026-11-20T16:30:00\u005A""#,
                r#""2026-11-20T16:30:00+00:00""#,
            ])
            .prop_map(str::to_string),
        ];
        if !dirty {
            return valid.boxed();
        }
        prop_oneof![
            6 => valid,
            1 => prop::sample::select(vec![
                r#""2026-11-20T16:30:00.5Z""#, r#""2026-02-30T00:00:00Z""#,
                r#""1969-12-31T23:59:59Z""#, r#""yesterday""#, "null", "1795190400",
            ])
            .prop_map(str::to_string),
        ]
        .boxed()
    }

    fn number_json(dirty: bool) -> BoxedStrategy<String> {
        let valid = prop::sample::select(vec![
            "0",
            "7",
            "-1",
            "12345678901234567890",
            "18446744073709551615",
            "18446744073709551616",
            "1.5",
            "-0",
            "-0.0",
            "1e3",
            "1E+2",
            "2.5e-3",
            "1e400",
            "-9223372036854775809",
        ]);
        if !dirty {
            return valid.prop_map(str::to_string).boxed();
        }
        prop_oneof![
            3 => valid,
            1 => prop::sample::select(vec!["01", "1.", ".5", "1e", "-", "+1", "0x1"]),
        ]
        .prop_map(str::to_string)
        .boxed()
    }

    fn any_json(dirty: bool) -> BoxedStrategy<String> {
        let literals = if dirty {
            vec!["null", "true", "false", "nul", "tru"]
        } else {
            vec!["null", "true", "false"]
        };
        let leaf = prop_oneof![
            3 => string_json(dirty),
            2 => number_json(dirty),
            1 => prop::sample::select(literals).prop_map(str::to_string),
        ];
        leaf.prop_recursive(3, 16, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{WS}{}{WS}]", join(&v))),
                prop::collection::vec((string_json(dirty), inner), 0..4).prop_map(|v| {
                    let pairs: Vec<String> = v
                        .into_iter()
                        .map(|(k, v)| format!("{k}{WS}:{WS}{v}"))
                        .collect();
                    format!("{{{WS}{}{WS}}}", join(&pairs))
                }),
            ]
        })
        .boxed()
    }

    /// A value of the form's kind `k`; when `dirty`, sometimes of another
    /// type.
    fn typed_json(k: &'static str, dirty: bool) -> BoxedStrategy<String> {
        let valid: BoxedStrategy<String> = match k {
            "id" => prop_oneof![
                3 => string_json(dirty),
                1 => (0u64..u64::MAX).prop_map(|n| n.to_string()),
                1 => number_json(dirty),
            ]
            .boxed(),
            "text" => prop_oneof![4 => string_json(dirty), 1 => Just("null".to_string())].boxed(),
            "texts" => prop::collection::vec(string_json(dirty), 0..3)
                .prop_map(|v| format!("[{WS}{}{WS}]", join(&v)))
                .boxed(),
            "status" => prop_oneof![
                5 => prop::sample::select(vec!["new", "open", "pending", "hold", "solved", "closed"])
                    .prop_map(|s| format!("\"{s}\"")),
                1 => Just(r#""s\u006flved""#.to_string()),
            ]
            .boxed(),
            "author" => prop::sample::select(vec![
                "\"agent\"", "\"requester\"", "\"other\"", "\"unknown\"", r#""\u0061gent""#,
            ])
            .prop_map(str::to_string)
            .boxed(),
            "bool" => prop::sample::select(vec!["true", "false"]).prop_map(str::to_string).boxed(),
            "fields" => prop_oneof![
                3 => Just("{}".to_string()),
                1 => Just(format!("{{{WS}}}")),
                2 => prop::collection::vec((string_json(dirty), any_json(dirty)), 0..3).prop_map(|v| {
                    let pairs: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("{k}{WS}:{WS}{v}")).collect();
                    format!("{{{WS}{}{WS}}}", join(&pairs))
                }),
            ]
            .boxed(),
            "organization" => prop_oneof![
                6 => object(
                    vec![
                        ("\"id\"", typed_json("id", dirty), true),
                        ("\"name\"", typed_json("text", dirty), false),
                        ("\"tags\"", typed_json("texts", dirty), false),
                        ("\"fields\"", typed_json("fields", dirty), false),
                        ("\"x\"", any_json(dirty), false),
                    ],
                    dirty,
                ),
                1 => Just("null".to_string()),
            ]
            .boxed(),
            _ => any_json(dirty),
        };
        if !dirty {
            return valid;
        }
        let wrong = prop_oneof![
            Just("\"done\"".to_string()),
            Just("\"bot\"".to_string()),
            Just("null".to_string()),
            any_json(true),
        ];
        prop_oneof![12 => valid, 1 => wrong].boxed()
    }

    /// An object of the keys (name, value, usually present), in any order;
    /// when `dirty`, sometimes with a key twice or a usual key missing.
    fn object(
        keys: Vec<(&'static str, BoxedStrategy<String>, bool)>,
        dirty: bool,
    ) -> BoxedStrategy<String> {
        let n = keys.len();
        let parts: Vec<BoxedStrategy<Option<String>>> = keys
            .into_iter()
            .map(|(k, v, usual)| {
                let present = match (usual, dirty) {
                    (true, false) => 1.0,
                    (true, true) => 0.97,
                    (false, _) => 0.5,
                };
                let pair = v.prop_map(move |v| format!("{k}{WS}:{WS}{v}"));
                if present >= 1.0 {
                    pair.prop_map(Some).boxed()
                } else {
                    prop::option::weighted(present, pair).boxed()
                }
            })
            .collect();
        let twice = if dirty { 0.03 } else { 0.0 };
        (parts, prop::bool::weighted(twice), 0..n.max(1))
            .prop_map(|(parts, twice, which)| {
                let mut pairs: Vec<String> = parts.into_iter().flatten().collect();
                if twice && !pairs.is_empty() {
                    pairs.push(pairs[which % pairs.len()].clone());
                }
                pairs
            })
            .prop_shuffle()
            .prop_map(|pairs| format!("{{{WS}{}{WS}}}", join(&pairs)))
            .boxed()
    }

    fn event_json(dirty: bool) -> BoxedStrategy<String> {
        let kinds = vec![
            "priority",
            "severity",
            "group",
            "organization",
            "tags",
            "field",
            "comment",
            "status",
        ];
        let odd = if dirty { 0.05 } else { 0.0 };
        (prop::sample::select(kinds), prop::bool::weighted(odd))
            .prop_flat_map(move |(kind, odd_type)| {
                let type_json = if odd_type {
                    prop::sample::select(vec!["\"reply\"", "null", "3"])
                        .prop_map(str::to_string)
                        .boxed()
                } else if kind == "status" {
                    prop::sample::select(vec!["\"status\"", r#""st\u0061tus""#])
                        .prop_map(str::to_string)
                        .boxed()
                } else {
                    Just(format!("\"{kind}\"")).boxed()
                };
                let id = prop_oneof![
                    4 => string_json(dirty),
                    1 => Just("null".to_string()),
                    1 => number_json(dirty),
                ];
                let mut keys = vec![
                    ("\"at\"", instant_json(dirty), true),
                    ("\"type\"", type_json, true),
                    (
                        "\"id\"",
                        if dirty {
                            id.boxed()
                        } else {
                            string_json(false)
                        },
                        false,
                    ),
                    ("\"via\"", any_json(dirty), false),
                ];
                let value = |k| typed_json(k, dirty);
                match kind {
                    "comment" => {
                        keys.push(("\"author\"", value("author"), true));
                        keys.push(("\"public\"", value("bool"), false));
                        keys.push(("\"value\"", any_json(dirty), false));
                    }
                    "field" => {
                        keys.push(("\"name\"", string_json(dirty), true));
                        keys.push(("\"value\"", any_json(dirty), true));
                    }
                    "priority" | "severity" | "group" => {
                        keys.push(("\"value\"", value("text"), false))
                    }
                    "organization" => keys.push(("\"value\"", value("organization"), false)),
                    "tags" => keys.push(("\"value\"", value("texts"), true)),
                    _ => keys.push(("\"value\"", value("status"), true)),
                }
                object(keys, dirty)
            })
            .boxed()
    }

    /// A ticket timeline with whitespace marks; mostly one `serde_json`
    /// reads, sometimes (`dirty`) one it may refuse.
    fn ticket_json() -> BoxedStrategy<String> {
        prop_oneof![3 => ticket_of(false), 2 => ticket_of(true)].boxed()
    }

    fn ticket_of(dirty: bool) -> BoxedStrategy<String> {
        let events = prop::collection::vec(event_json(dirty), 0..16)
            .prop_map(|v| format!("[{WS}{}{WS}]", join(&v)));
        let events = if dirty {
            prop_oneof![12 => events, 1 => Just("null".to_string())].boxed()
        } else {
            events.boxed()
        };
        let current = object(
            vec![
                ("\"updated_at\"", instant_json(dirty), true),
                ("\"status\"", typed_json("status", dirty), false),
                ("\"priority\"", typed_json("text", dirty), false),
                ("\"organization_id\"", typed_json("text", dirty), false),
                ("\"y\"", any_json(dirty), false),
            ],
            dirty,
        );
        let text = |k| typed_json(k, dirty);
        object(
            vec![
                ("\"id\"", text("id"), true),
                ("\"created_at\"", instant_json(dirty), true),
                ("\"source\"", text("text"), false),
                ("\"url\"", text("text"), false),
                ("\"organization\"", text("organization"), true),
                (r#""\u0074ags""#, text("texts"), true),
                ("\"fields\"", text("fields"), true),
                ("\"priority\"", text("text"), false),
                ("\"group\"", text("text"), false),
                (
                    "\"status\"",
                    prop_oneof![4 => text("status"), 1 => Just("null".to_string())].boxed(),
                    false,
                ),
                ("\"events\"", events, true),
                (
                    "\"current\"",
                    prop_oneof![4 => current, 1 => Just("null".to_string())].boxed(),
                    false,
                ),
                ("\"sla\"", any_json(dirty), false),
            ],
            dirty,
        )
    }

    /// Replaces each whitespace mark with whitespace (mostly none).
    fn spaced(text: &str, spaces: &[u8]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut k = 0;
        for c in text.chars() {
            if c == WS {
                k += 1;
                out.push_str(
                    match spaces.get(k % spaces.len().max(1)).copied().unwrap_or(0) % 12 {
                        0 => " ",
                        1 => "\n",
                        2 => "\t ",
                        3 => "\r\n  ",
                        _ => "",
                    },
                );
            } else {
                out.push(c);
            }
        }
        out
    }

    /// The generated timelines exercise the fast reader: many of them take
    /// it (the rest are refused, or read by `serde_json`).
    #[test]
    fn many_generated_timelines_take_the_fast_path() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = ticket_json();
        let (mut fast, mut read, n) = (0, 0, 1000);
        for _ in 0..n {
            let text = spaced(
                &strategy.new_tree(&mut runner).unwrap().current(),
                &[1, 7, 9, 3],
            );
            fast += usize::from(read_fast(&text).is_some());
            read += usize::from(serde(&text).is_ok());
        }
        eprintln!("{fast} of {n} read fast, {read} read by serde_json");
        assert!(
            fast * 5 > n,
            "{fast} of {n} read fast, {read} read by serde_json"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The first line of a buffer read in place (`read_fast_line`)
        /// is taken exactly when that line alone is taken by
        /// `read_fast_into`, as the same ticket, and its length is the
        /// line's, line break included: whatever whitespace (line breaks
        /// too) the ticket has, however the line ends, whatever follows.
        #[test]
        fn the_first_line_of_a_buffer_reads_as_that_line_alone(
            text in ticket_json(),
            spaces in prop::collection::vec(any::<u8>(), 1..16),
            line_end in prop::sample::select(vec!["", "\n", "\r\n", " \t\n", "\r\r\n", " x\n"]),
            rest in prop::sample::select(vec!["", "{\"id\":\"2\"}\n", "\n", "{\"id\""]),
        ) {
            let buffer = format!("{}{line_end}{rest}", spaced(&text, &spaces));
            let (mut alone, mut in_place) = (empty_ticket(), empty_ticket());
            let want = buffer
                .find('\n')
                .map(|i| &buffer[..=i])
                .filter(|line| read_fast_into(line.as_bytes(), &mut alone))
                .map(str::len);
            let got = read_fast_line(buffer.as_bytes(), &mut in_place);
            prop_assert_eq!(got, want, "{:?}", buffer);
            if got.is_some() {
                prop_assert_eq!(in_place, alone, "{:?}", buffer);
            }
        }

        /// Generated timelines (every event kind, escapes, unicode,
        /// numbers, nulls, keys in any order, whitespace, values of the
        /// wrong type, keys twice) read as `serde_json` reads them: the
        /// same ticket, or the same error.
        #[test]
        fn generated_timelines_read_as_serde_reads_them(
            text in ticket_json(),
            spaces in prop::collection::vec(any::<u8>(), 1..16),
            line_end in prop::sample::select(vec!["", "\n", "\r\n", " \n"]),
        ) {
            let text = format!("{}{line_end}", spaced(&text, &spaces));
            let want = serde(&text);
            if let Some(t) = read_fast(&text) {
                prop_assert_eq!(Ok(t), want.clone(), "{}", text);
            }
            prop_assert_eq!(fast(&text), want, "{}", text);
        }

        /// Damaged timelines (bytes deleted, changed, inserted) as well.
        #[test]
        fn damaged_timelines_read_as_serde_reads_them(
            text in ticket_json(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..4),
        ) {
            let mut bytes = spaced(&text, &[5]).into_bytes();
            for (at, what, b) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match what {
                    0 => { bytes.remove(i); }
                    1 => bytes[i] = b,
                    _ => bytes.insert(i, b),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            let want = serde(&text);
            if let Some(t) = read_fast(&text) {
                prop_assert_eq!(Ok(t), want.clone(), "{}", text);
            }
            prop_assert_eq!(fast(&text), want, "{}", text);
        }

        /// Damaged bytes, UTF-8 or not: the fast reader takes only UTF-8,
        /// and reads it as `serde_json` reads its text.
        #[test]
        fn the_fast_reader_takes_only_utf8(
            text in ticket_json(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>(), 0x80u8..=0xff), 1..3),
        ) {
            let mut bytes = spaced(&text, &[5]).into_bytes();
            for (at, insert, b) in edits {
                let i = at.index(bytes.len() + 1);
                if insert || i == bytes.len() {
                    bytes.insert(i, b);
                } else {
                    bytes[i] = b;
                }
            }
            let mut ticket = empty_ticket();
            let taken = read_fast_into(&bytes, &mut ticket);
            match std::str::from_utf8(&bytes) {
                Ok(text) => {
                    prop_assert_eq!(taken, read_fast(text).is_some(), "{}", text);
                    if taken {
                        prop_assert_eq!(Ok(ticket), serde(text), "{}", text);
                    }
                }
                Err(_) => prop_assert!(!taken, "{:?}", bytes),
            }
        }

        /// A ticket read into the memory of the ticket before it (read
        /// whole, or given up on half way) is the ticket read on its own:
        /// nothing of the one before stays.
        #[test]
        fn a_ticket_read_into_the_one_before_is_read_as_on_its_own(
            before in ticket_json(),
            cut in any::<prop::sample::Index>(),
            text in ticket_json(),
            spaces in prop::collection::vec(any::<u8>(), 1..16),
        ) {
            let (before, text) = (spaced(&before, &spaces), spaced(&text, &spaces));
            let (before, text) = (before.as_bytes(), text.as_str());
            let mut ticket = empty_ticket();
            read_fast_into(before, &mut ticket);
            let want = read_fast(text);
            prop_assert_eq!(read_fast_into(text.as_bytes(), &mut ticket), want.is_some(), "{}", text);
            if let Some(want) = want.clone() {
                prop_assert_eq!(&ticket, &want, "{}", text);
            }
            // The one before given up on half way (cut short).
            let mut ticket = empty_ticket();
            read_fast_into(before, &mut ticket);
            read_fast_into(&before[..cut.index(before.len() + 1)], &mut ticket);
            prop_assert_eq!(read_fast_into(text.as_bytes(), &mut ticket), want.is_some(), "{}", text);
            if let Some(want) = want {
                prop_assert_eq!(ticket, want, "{}", text);
            }
        }

        /// Arbitrary text is refused or read exactly as `serde_json` does.
        #[test]
        fn arbitrary_text_reads_as_serde_reads_it(text in "\\PC{0,40}|\\{[\"a-z:,{}\\[\\]0-9 ]{0,60}") {
            prop_assert_eq!(fast(&text), serde(&text), "{}", text);
        }
    }
}
