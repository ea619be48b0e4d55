//! Borrowed JSON values of a page body: strings ([`Str`]) and the numbers,
//! strings and string arrays that ids, statuses and tags are ([`ZValue`]).
//!
//! The items are read straight from the body into these borrowed forms: a
//! string without escapes is a slice of the body, numbers stay numbers until
//! a record needs their text, and only what a record keeps is allocated
//! (once). Plain structs with optional fields, no untagged or internally
//! tagged enums, so serde never buffers an item before reading it.

use std::borrow::Cow;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// A JSON string, borrowed from the body unless it had escapes.
pub(super) struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Any JSON value, kept as far as an id, a status, a priority or tags need
/// it: a number, a string, or the strings of an array (its other items are
/// dropped). Objects, `null` and booleans are `Other`.
#[derive(Default)]
pub(super) enum ZValue<'a> {
    #[default]
    Other,
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Strs(Vec<Cow<'a, str>>),
}

/// Reads any value as [`ZValue`]; inside an array, only strings are kept.
struct ValueVisitor {
    in_array: bool,
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = ZValue<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ZValue::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(ZValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(ZValue::Uint(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(ZValue::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ZValue::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ZValue::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(ZValue::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ZValue::Other)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ZValue::Other)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if self.in_array {
            // An array inside an array is not a string: skip it whole.
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(ZValue::Other);
        }
        let mut strings = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(item) = seq.next_element::<ArrayItem>()? {
            if let ZValue::Str(s) = item.0 {
                strings.push(s);
            }
        }
        Ok(ZValue::Strs(strings))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ZValue::Other)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ZValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor { in_array: false })
    }
}

/// An item of an array value (see [`ZValue::Strs`]).
struct ArrayItem<'a>(ZValue<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for ArrayItem<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor { in_array: true })
            .map(ArrayItem)
    }
}

/// Appends `n` in decimal, as `Display` writes it, without the cost of the
/// formatting machinery (a few ids per record).
fn push_decimal(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

impl ZValue<'_> {
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            ZValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Appends an id's text (a number, or a non-empty string); false (and
    /// nothing appended) when it is neither.
    pub(super) fn write_id(&self, out: &mut String) -> bool {
        match self {
            ZValue::Int(n) => {
                if *n < 0 {
                    out.push('-');
                }
                push_decimal(out, n.unsigned_abs());
            }
            ZValue::Uint(n) => push_decimal(out, *n),
            // As serde_json writes a float `Number` (JSON has no NaN or
            // infinity, so there always is one).
            ZValue::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => out.push_str(&n.to_string()),
                None => return false,
            },
            ZValue::Str(s) if !s.is_empty() => out.push_str(s),
            _ => return false,
        }
        true
    }

    /// An id as text: a number, or a non-empty string.
    pub(super) fn id_text(&self) -> Option<String> {
        let mut out = String::with_capacity(match self {
            ZValue::Str(s) => s.len(),
            _ => 20,
        });
        self.write_id(&mut out).then_some(out)
    }
}
