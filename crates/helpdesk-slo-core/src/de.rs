//! Serde helpers for the config's scalars: values checked while they are
//! read, so an error carries the YAML position and key path.

use std::fmt;

use serde::de::{self, Visitor};
use serde::Deserializer;

/// Deserializes a string through `parse`, raising its error while the value is
/// being read, so the YAML error carries the exact key path and position.
pub(crate) fn parse_str<'de, D, T>(
    d: D,
    expecting: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct V<F>(&'static str, F);
    impl<'de, T, F: FnOnce(&str) -> Result<T, String>> Visitor<'de> for V<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.1)(v).map_err(E::custom)
        }
    }
    d.deserialize_str(V(expecting, parse))
}
