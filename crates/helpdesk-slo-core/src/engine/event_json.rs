//! Reading a timeline event from its JSON form in one pass: the event's
//! `type` picks what its `value` is read as, without buffering the event
//! first (what serde's derive does for a flattened, internally tagged
//! enum, which cost more than evaluating the ticket).
//!
//! The form is the one [`super::timeline`] documents; keys the form does
//! not have are skipped, as before. A `value` that comes before `type` is
//! kept as JSON and read once the type is known.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::timeline::{instant, Author, Change, Event, Organization};
use crate::policy::spec::Status;

/// Event types, as the JSON names them.
const TYPES: &[&str] = &[
    "priority",
    "severity",
    "group",
    "organization",
    "tags",
    "field",
    "comment",
    "status",
];

#[derive(Clone, Copy, PartialEq, Eq)]
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

/// `type`, matched where the deserializer holds the text (no `String`).
/// An unknown type is refused once the text is read, as before, so the
/// error is placed where it was.
impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        struct KindVisitor;
        impl Visitor<'_> for KindVisitor {
            type Value = Result<Kind, Unknown>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Kind::parse(v))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                match std::str::from_utf8(v) {
                    Ok(text) => self.visit_str(text),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(v), &self)),
                }
            }
        }
        d.deserialize_string(KindVisitor)?
            .map_err(|Unknown(message)| de::Error::custom(message))
    }
}

/// The message of an unknown type, as serde words it, to be raised by
/// the caller's deserializer.
#[derive(Debug)]
struct Unknown(String);

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unknown {}

impl de::Error for Unknown {
    fn custom<T: fmt::Display>(message: T) -> Unknown {
        Unknown(message.to_string())
    }
}

impl Kind {
    fn parse<E: de::Error>(text: &str) -> Result<Kind, E> {
        Ok(match text {
            "priority" => Kind::Priority,
            "severity" => Kind::Severity,
            "group" => Kind::Group,
            "organization" => Kind::Organization,
            "tags" => Kind::Tags,
            "field" => Kind::Field,
            "comment" => Kind::Comment,
            "status" => Kind::Status,
            other => return Err(E::unknown_variant(other, TYPES)),
        })
    }
}

/// An event's `value`, read as its type says.
enum Value {
    Text(Option<String>),
    Organization(Option<Organization>),
    Tags(Vec<String>),
    Status(Status),
    Json(serde_json::Value),
    /// Read before the type was known.
    Early(serde_json::Value),
}

/// The keys of an event's JSON form.
enum Key {
    Id,
    At,
    Type,
    Value,
    Author,
    Public,
    Name,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an event key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<Key, E> {
                Ok(match k {
                    "id" => Key::Id,
                    "at" => Key::At,
                    "type" => Key::Type,
                    "value" => Key::Value,
                    "author" => Key::Author,
                    "public" => Key::Public,
                    "name" => Key::Name,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// `at` as RFC 3339 text.
struct At(i64);

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<At, D::Error> {
        instant::deserialize(d).map(At)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        d.deserialize_map(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event: an object with at, type and what the type needs")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut id: Option<String> = None;
        let mut at: Option<i64> = None;
        let mut kind: Option<Kind> = None;
        let mut value: Option<Value> = None;
        let mut author: Option<Author> = None;
        let mut public: Option<bool> = None;
        let mut name: Option<String> = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Id => id = map.next_value()?,
                Key::At => at = Some(map.next_value::<At>()?.0),
                Key::Type => kind = Some(map.next_value()?),
                Key::Value => {
                    value = Some(match kind {
                        Some(Kind::Priority | Kind::Severity | Kind::Group) => {
                            Value::Text(map.next_value()?)
                        }
                        Some(Kind::Organization) => Value::Organization(map.next_value()?),
                        Some(Kind::Tags) => Value::Tags(map.next_value()?),
                        Some(Kind::Status) => Value::Status(map.next_value()?),
                        Some(Kind::Field | Kind::Comment) => Value::Json(map.next_value()?),
                        None => Value::Early(map.next_value()?),
                    })
                }
                Key::Author => author = Some(map.next_value()?),
                Key::Public => public = Some(map.next_value()?),
                Key::Name => name = Some(map.next_value()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let at = at.ok_or_else(|| de::Error::missing_field("at"))?;
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        let change = match kind {
            Kind::Priority => Change::Priority {
                value: text(value)?,
            },
            Kind::Severity => Change::Severity {
                value: text(value)?,
            },
            Kind::Group => Change::Group {
                value: text(value)?,
            },
            Kind::Organization => Change::Organization {
                value: match value {
                    None => None,
                    Some(Value::Organization(o)) => o,
                    Some(other) => late(other)?,
                },
            },
            Kind::Tags => Change::Tags {
                value: match value {
                    Some(Value::Tags(t)) => t,
                    Some(other) => late(other)?,
                    None => return Err(de::Error::missing_field("value")),
                },
            },
            Kind::Field => Change::Field {
                name: name.ok_or_else(|| de::Error::missing_field("name"))?,
                value: match value {
                    Some(Value::Json(v) | Value::Early(v)) => v,
                    Some(other) => late(other)?,
                    None => return Err(de::Error::missing_field("value")),
                },
            },
            Kind::Comment => Change::Comment {
                author: author.ok_or_else(|| de::Error::missing_field("author"))?,
                public: public.unwrap_or(true),
            },
            Kind::Status => Change::Status {
                value: match value {
                    Some(Value::Status(s)) => s,
                    Some(other) => late(other)?,
                    None => return Err(de::Error::missing_field("value")),
                },
            },
        };
        Ok(Event { id, at, change })
    }
}

/// A text value (priority, severity, group); missing is none.
fn text<E: de::Error>(value: Option<Value>) -> Result<Option<String>, E> {
    match value {
        None => Ok(None),
        Some(Value::Text(t)) => Ok(t),
        Some(other) => late(other),
    }
}

/// A value read before its type was known, read again as the type says.
fn late<T: serde::de::DeserializeOwned, E: de::Error>(value: Value) -> Result<T, E> {
    let json = match value {
        Value::Early(v) | Value::Json(v) => v,
        // The type was known when these were read: they are never late.
        Value::Text(t) => serde_json::Value::from(t),
        Value::Organization(_) | Value::Tags(_) | Value::Status(_) => {
            return Err(E::custom("an event's value of another type"))
        }
    };
    T::deserialize(json).map_err(E::custom)
}

/// A ticket's events, read into a list made for a typical ticket's count
/// at once (serde's own starts empty and grows by doubling, copying the
/// events each time, as JSON does not say how many follow).
pub(super) fn events<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Event>, D::Error> {
    struct EventsVisitor;
    impl<'de> Visitor<'de> for EventsVisitor {
        type Value = Vec<Event>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a sequence")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Event>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(16).clamp(16, 1024));
            while let Some(e) = seq.next_element()? {
                out.push(e);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(EventsVisitor)
}

/// A ticket's or organization's id: text, or a number written as text.
pub(super) fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct IdVisitor;
    impl Visitor<'_> for IdVisitor {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an id: text or a whole number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(IdVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Result<Event, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn every_type_reads_as_before() {
        let cases = [
            (
                r#"{"at":"2026-11-20T16:00:00Z","type":"priority","value":"urgent"}"#,
                Change::Priority {
                    value: Some("urgent".into()),
                },
            ),
            (
                r#"{"at":"2026-11-20T16:00:00Z","type":"severity","value":null}"#,
                Change::Severity { value: None },
            ),
            (
                r#"{"at":"2026-11-20T16:00:00Z","type":"group"}"#,
                Change::Group { value: None },
            ),
            (
                r#"{"at":"2026-11-20T16:00:00Z","type":"tags","value":["a","b"]}"#,
                Change::Tags {
                    value: vec!["a".into(), "b".into()],
                },
            ),
            (
                r#"{"at":"2026-11-20T16:00:00Z","type":"field","name":"type","value":{"x":1}}"#,
                Change::Field {
                    name: "type".into(),
                    value: serde_json::json!({"x": 1}),
                },
            ),
            (
                r#"{"at":"2026-11-20T16:00:00Z","type":"comment","author":"agent"}"#,
                Change::Comment {
                    author: Author::Agent,
                    public: true,
                },
            ),
            (
                r#"{"at":"2026-11-20T16:00:00Z","type":"comment","author":"requester","public":false}"#,
                Change::Comment {
                    author: Author::Requester,
                    public: false,
                },
            ),
            (
                r#"{"at":"2026-11-20T16:00:00Z","type":"status","value":"hold"}"#,
                Change::Status {
                    value: Status::Hold,
                },
            ),
        ];
        for (json, change) in cases {
            let e = event(json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(e.change, change, "{json}");
            assert_eq!(e.at, 1_795_190_400);
            // What is written reads back the same.
            let again = event(&serde_json::to_string(&e).unwrap()).unwrap();
            assert_eq!(again, e);
        }
    }

    #[test]
    fn a_value_before_its_type_and_other_keys_read_as_well() {
        let e = event(r#"{"value":"pending","id":"7.1","x":[1,{"y":2}],"type":"status","at":"2026-11-20T16:00:00Z"}"#).unwrap();
        assert_eq!(
            e.change,
            Change::Status {
                value: Status::Pending
            }
        );
        assert_eq!(e.id.as_deref(), Some("7.1"));
        let e = event(r#"{"value":{"id":"9","tags":["gold"]},"type":"organization","at":"2026-11-20T16:00:00Z"}"#).unwrap();
        let Change::Organization { value: Some(org) } = e.change else {
            panic!("{:?}", e.change)
        };
        assert_eq!(
            (org.id.as_str(), org.tags.as_slice()),
            ("9", &["gold".to_string()][..])
        );
    }

    #[test]
    fn errors_name_what_is_missing_or_valid() {
        let e = event(r#"{"at":"2026-11-20T16:00:00Z","type":"reply"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown variant `reply`") && e.contains("`comment`"),
            "{e}"
        );
        let e = event(r#"{"type":"status","value":"open"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `at`"), "{e}");
        let e = event(r#"{"at":"2026-11-20T16:00:00Z","type":"comment"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `author`"), "{e}");
        let e = event(r#"{"at":"2026-11-20T16:00:00Z","type":"status","value":"done"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `done`"), "{e}");
        let e = event(r#"{"at":"yesterday","type":"status","value":"open"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("yesterday"), "{e}");
    }

    /// What reading an instant, a type and the events did before they were
    /// read in place: through `Cow<str>` (always a `String`) and serde's
    /// own `Vec`. The references the property tests compare with.
    mod before {
        use super::*;

        #[derive(Debug, PartialEq, Deserialize)]
        pub struct Instant {
            #[serde(deserialize_with = "instant")]
            pub at: i64,
        }

        fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
            let text = std::borrow::Cow::<str>::deserialize(d)?;
            crate::time::parse_instant(&text).map_err(de::Error::custom)
        }

        #[derive(Deserialize)]
        pub struct Type {
            #[serde(rename = "type", deserialize_with = "kind")]
            pub _kind: Kind,
        }

        /// As the event's map did: the text read, then matched.
        fn kind<'de, D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
            let text = std::borrow::Cow::<str>::deserialize(d)?;
            Kind::parse(&text)
        }

        #[derive(Debug, PartialEq, Deserialize)]
        pub struct Events {
            pub events: Vec<Event>,
        }
    }

    /// The same through what reads them now.
    mod now {
        use super::*;

        #[derive(Debug, PartialEq, Deserialize)]
        pub struct Instant {
            #[serde(with = "crate::engine::timeline::instant")]
            pub at: i64,
        }

        #[derive(Deserialize)]
        pub struct Type {
            #[serde(rename = "type")]
            pub _kind: Kind,
        }

        #[derive(Debug, PartialEq, Deserialize)]
        pub struct Events {
            #[serde(deserialize_with = "events")]
            pub events: Vec<Event>,
        }
    }

    /// JSON for a value: instants in the canonical form and near it, with
    /// offsets, fractions, out of range, escaped, and other JSON.
    fn value_json() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let instant = (
            1960i64..2110,
            0u32..14,
            0u32..33,
            0u32..25,
            0u32..61,
            0u32..61,
            prop::sample::select(vec![
                "Z", "z", "+00:00", "-08:00", "+14:00", "+24:00", ".5Z", ".000Z", "", " ",
            ]),
        )
            .prop_map(|(y, mo, d, h, mi, s, tail)| {
                format!("\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{tail}\"")
            });
        prop_oneof![
            4 => instant,
            1 => "\"[0-9TZ:+. -]{0,24}\"",
            1 => Just(r#""2026-11-20T16:30:00\u005A""#.to_string()),
            1 => Just(r#""2026-11-20t16:30:00Z""#.to_string()),
            1 => prop::sample::select(vec!["null", "5", "-1.5", "true", "[]", "{}", "[\"x\"]", "\"\""])
                .prop_map(str::to_string),
        ]
    }

    fn type_json() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            3 => prop::sample::select(TYPES.to_vec()).prop_map(|t| format!("\"{t}\"")),
            1 => "\"[a-z]{0,12}\"",
            1 => Just(r#""st\u0061tus""#.to_string()),
            1 => prop::sample::select(vec!["null", "5", "true", "[]", "{}"]).prop_map(str::to_string),
        ]
    }

    fn text<T>(r: Result<T, serde_json::Error>) -> Result<T, String> {
        r.map_err(|e| e.to_string())
    }

    proptest::proptest! {
        /// An instant is accepted exactly when it was before, as the same
        /// second, and refused with the same error (from text and from a
        /// JSON value).
        #[test]
        fn instants_read_in_place_as_before(v in value_json()) {
            for json in [format!(r#"{{"at": {v}}}"#), format!(r#"{{"at": {v}, "x": 1}}"#)] {
                let was = text(serde_json::from_str::<before::Instant>(&json)).map(|i| i.at);
                let is = text(serde_json::from_str::<now::Instant>(&json)).map(|i| i.at);
                proptest::prop_assert_eq!(&is, &was, "{}", json);
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(&json) {
                    let was = text(serde_json::from_value::<before::Instant>(value.clone())).map(|i| i.at);
                    let is = text(serde_json::from_value::<now::Instant>(value)).map(|i| i.at);
                    proptest::prop_assert_eq!(is, was, "{}", json);
                }
            }
        }

        /// An event's type is accepted exactly when it was before, and
        /// refused with the same error at the same place.
        #[test]
        fn types_read_in_place_as_before(v in type_json()) {
            // Last in its object, and followed by another key: serde_json
            // places an error differently in the two.
            for json in [format!(r#"{{"type": {v}}}"#), format!(r#"{{"type": {v}, "x": 1}}"#)] {
                let was = text(serde_json::from_str::<before::Type>(&json).map(|_| ()));
                let is = text(serde_json::from_str::<now::Type>(&json).map(|_| ()));
                proptest::prop_assert_eq!(is, was, "{}", json);
            }
        }

        /// A list of events reads as serde's own list did, whatever its
        /// length, and so do values that are not lists.
        #[test]
        fn events_read_as_serdes_list_did(
            n in 0usize..40,
            kinds in proptest::collection::vec(0usize..4, 40),
            other in proptest::sample::select(vec!["null", "5", "{}", "\"x\"", "[1]", "[{}]"]),
            list in proptest::bool::ANY,
        ) {
            let forms = [
                r#"{"at":"2026-11-20T16:00:00Z","type":"comment","author":"agent"}"#,
                r#"{"at":"2026-11-20T17:00:00Z","type":"status","value":"pending"}"#,
                r#"{"at":"2026-11-20T15:00:00+01:00","type":"priority","value":"high"}"#,
                r#"{"at":"2026-11-20T18:00:00Z","type":"tags","value":["a"]}"#,
            ];
            let body = if list {
                let events: Vec<&str> = kinds[..n].iter().map(|&k| forms[k]).collect();
                format!("[{}]", events.join(","))
            } else {
                other.to_string()
            };
            let json = format!(r#"{{"events": {body}}}"#);
            let was = text(serde_json::from_str::<before::Events>(&json));
            let is = text(serde_json::from_str::<now::Events>(&json));
            proptest::prop_assert_eq!(is.map(|e| e.events), was.map(|e| e.events), "{}", json);
        }
    }
}
