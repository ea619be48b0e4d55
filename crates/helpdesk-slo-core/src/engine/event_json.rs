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
                Key::Type => kind = Some(Kind::parse(&map.next_value::<std::borrow::Cow<str>>()?)?),
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
}
