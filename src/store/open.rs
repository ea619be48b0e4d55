//! Opens a store from its location (`--store`): which backend a location
//! names, and the one factory that opens it.
//!
//! The forms a location takes:
//!
//! | Location | Store |
//! |---|---|
//! | `sqlite:PATH` | the SQLite file at `PATH` (created if missing) |
//! | `sqlite://PATH` | the same (`sqlite:///var/lib/x.sqlite` is `/var/lib/x.sqlite`) |
//! | `sqlite::memory:` | a SQLite database in memory, gone when the store is dropped |
//! | `postgres://USER@HOST[:PORT]/DATABASE[?…]`, `postgresql://…` | the PostgreSQL database (its password from `password_env=VARIABLE` or `password_file=PATH`, never in the URL) |
//! | `PATH` (no scheme) | the SQLite file at `PATH`, as `--store` has always meant |
//!
//! A location has a scheme when it starts with a letter followed by at least
//! one more letter, digit, `+`, `-` or `.`, then `:` (so `C:\x` is a path);
//! any other scheme is refused. A file whose name has such a prefix (`a1:b`)
//! is written `sqlite:a1:b` or `./a1:b`. Every message shows a location
//! without its password ([`redact_location`]).

use std::fmt;
use std::path::PathBuf;

use super::postgres::{PgLocation, PgStore};
use super::redact::redact_location;
use super::{SqliteStore, Store, StoreError};

/// The forms a location may take, for messages.
const FORMS: &str = "a store location is sqlite:PATH, sqlite::memory:, \
    postgres://USER@HOST/DATABASE?password_env=VARIABLE or a file path";

/// Where a store lives: a parsed `--store` value. [`fmt::Display`] and
/// [`fmt::Debug`] show it without any password.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file (`sqlite:PATH`, `sqlite://PATH`, or a plain path).
    SqliteFile(PathBuf),
    /// A SQLite database in memory (`sqlite::memory:`).
    SqliteMemory,
    /// A PostgreSQL database (`postgres://…` or `postgresql://…`); a URL
    /// with a password is refused ([`PgLocation::parse`]).
    Postgres(PgLocation),
}

impl StoreLocation {
    /// Reads a location (see the module's table). Fails, naming the
    /// location without its password and listing the valid forms, for an
    /// empty one, a scheme this build does not know, or `sqlite:` without a
    /// path.
    pub fn parse(location: &str) -> Result<StoreLocation, StoreError> {
        let refuse = |why: String| StoreError::Unsupported {
            location: redact_location(location),
            why,
        };
        if location.is_empty() {
            return Err(refuse(format!("the location is empty; {FORMS}")));
        }
        let Some(scheme) = scheme(location) else {
            return Ok(StoreLocation::SqliteFile(PathBuf::from(location)));
        };
        let rest = &location[scheme.len() + 1..];
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                if rest == ":memory:" {
                    return Ok(StoreLocation::SqliteMemory);
                }
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(refuse(format!("no file path after `sqlite:`; {FORMS}")));
                }
                Ok(StoreLocation::SqliteFile(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => Ok(StoreLocation::Postgres(PgLocation::parse(location)?)),
            _ => Err(refuse(format!(
                "`{scheme}:` is not a kind of store this build knows; {FORMS}"
            ))),
        }
    }

    /// Opens the store this location names: [`SqliteStore::open`] for a
    /// file (creating it and its folder if missing, migrating its schema),
    /// [`SqliteStore::in_memory`] for memory, [`PgStore::open`] for a
    /// PostgreSQL URL (connecting, migrating its schema).
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        match self {
            StoreLocation::SqliteFile(path) => Ok(Box::new(SqliteStore::open(path)?)),
            StoreLocation::SqliteMemory => Ok(Box::new(SqliteStore::in_memory()?)),
            StoreLocation::Postgres(location) => Ok(Box::new(PgStore::open(location)?)),
        }
    }
}

impl std::str::FromStr for StoreLocation {
    type Err = StoreError;

    fn from_str(location: &str) -> Result<Self, Self::Err> {
        StoreLocation::parse(location)
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::SqliteFile(path) => write!(f, "sqlite:{}", path.display()),
            StoreLocation::SqliteMemory => f.write_str("sqlite::memory:"),
            StoreLocation::Postgres(location) => f.write_str(location.shown()),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::SqliteFile(path) => f.debug_tuple("SqliteFile").field(path).finish(),
            StoreLocation::SqliteMemory => f.write_str("SqliteMemory"),
            StoreLocation::Postgres(location) => {
                f.debug_tuple("Postgres").field(&location.shown()).finish()
            }
        }
    }
}

/// Opens the store at `location` (see [`StoreLocation`]): the one way the
/// daemon and the commands get their store.
pub fn open(location: &str) -> Result<Box<dyn Store>, StoreError> {
    StoreLocation::parse(location)?.open()
}

/// The location's scheme (without its `:`), if it has one: a letter, then
/// at least one letter, digit, `+`, `-` or `.`, then `:`.
fn scheme(location: &str) -> Option<&str> {
    let end = location.find(':')?;
    let scheme = &location[..end];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && scheme.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

#[cfg(test)]
mod tests {
    use super::StoreLocation;
    use crate::store::StoreError;
    use std::path::PathBuf;

    fn parse(location: &str) -> StoreLocation {
        match StoreLocation::parse(location) {
            Ok(parsed) => parsed,
            Err(e) => panic!("{location}: {e}"),
        }
    }

    fn refused(location: &str) -> String {
        match StoreLocation::parse(location) {
            Ok(parsed) => panic!("{location} parsed as {parsed:?}"),
            Err(e) => {
                assert!(matches!(e, StoreError::Unsupported { .. }), "{e:?}");
                e.to_string()
            }
        }
    }

    fn file(path: &str) -> StoreLocation {
        StoreLocation::SqliteFile(PathBuf::from(path))
    }

    #[test]
    fn sqlite_locations_name_a_file_or_memory() {
        assert_eq!(parse("sqlite:store.sqlite"), file("store.sqlite"));
        assert_eq!(
            parse("sqlite:/var/lib/helpdesk-slo/store.sqlite"),
            file("/var/lib/helpdesk-slo/store.sqlite")
        );
        assert_eq!(parse("sqlite://state/x.sqlite"), file("state/x.sqlite"));
        assert_eq!(
            parse("sqlite:///var/lib/x.sqlite"),
            file("/var/lib/x.sqlite")
        );
        assert_eq!(parse("SQLite:x.sqlite"), file("x.sqlite"));
        // After the scheme, the path is taken as it is, colons and all.
        assert_eq!(parse("sqlite:a1:b.sqlite"), file("a1:b.sqlite"));
        assert_eq!(parse("sqlite::memory:"), StoreLocation::SqliteMemory);
    }

    /// `--store PATH` has always been a file path: it still is.
    #[test]
    fn a_location_without_a_scheme_is_a_sqlite_file() {
        for path in [
            "store.sqlite",
            "/var/lib/helpdesk-slo/store.sqlite",
            "./state/store.sqlite",
            "../store.sqlite",
            "state/backup-10:00.sqlite",
            "./a1:b.sqlite",
            "C:\\state\\store.sqlite",
            ":memory:",
            "has space.sqlite",
        ] {
            assert_eq!(parse(path), file(path), "{path}");
        }
    }

    #[test]
    fn postgres_urls_name_a_database_and_one_with_a_password_is_refused() {
        for url in [
            "postgres://slo@db.example:5432/helpdesk?password_env=PG_PW",
            "postgresql://slo@db.example/helpdesk?sslmode=disable&password_file=/run/pw",
        ] {
            let parsed = parse(url);
            assert!(matches!(parsed, StoreLocation::Postgres(_)), "{parsed:?}");
            assert_eq!(parsed.to_string(), url);
        }
        for url in [
            "postgres://slo:hunter2@db.example:5432/helpdesk",
            "postgresql://slo:hunter2@db.example/helpdesk?sslmode=require",
            "postgres://slo@db/helpdesk?password=hunter3",
        ] {
            let message = refused(url);
            assert!(message.contains("db"), "{message}");
            assert!(message.contains("password_env="), "{message}");
            assert!(!message.contains("hunter"), "{message}");
        }
    }

    #[test]
    fn an_unknown_scheme_is_refused_naming_the_location_and_the_valid_forms() {
        let message = refused("mysql://slo:hunter2@db.example/helpdesk");
        assert!(message.contains("`mysql:`"), "{message}");
        assert!(
            message.contains("mysql://slo:***@db.example/helpdesk"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
        for form in ["sqlite:PATH", "sqlite::memory:", "postgres://", "file path"] {
            assert!(message.contains(form), "{form}: {message}");
        }
        let message = refused("redis:store");
        assert!(message.contains("store redis:store"), "{message}");
        let message = refused("a1:b.sqlite");
        assert!(message.contains("`a1:`"), "{message}");
    }

    #[test]
    fn an_empty_location_or_sqlite_without_a_path_is_refused() {
        assert!(refused("").contains("empty"));
        for location in ["sqlite:", "sqlite://"] {
            let message = refused(location);
            assert!(message.contains("no file path"), "{message}");
        }
    }

    #[test]
    fn opening_a_memory_location_gives_a_working_store() {
        let store = match super::open("sqlite::memory:") {
            Ok(store) => store,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(store.location(), ":memory:");
        assert!(matches!(store.reader(), Ok(None)));
        assert!(matches!(store.ticket_ids("zendesk").as_deref(), Ok([])));
    }
}
