//! Config loading from the file system: the config file and the files it
//! includes, read for the pure core's loader ([`Config::from_yaml_with`]),
//! and the checks of what only this binary knows (its helpdesk kinds and
//! stores).
//!
//! Relative includes are resolved by the core against the config file's
//! folder (see [`crate::policy::includes`]); [`FileSystem`] reads the path it
//! is given as is, relative to the working directory when the config path
//! is relative.

use std::io;
use std::path::Path;

use crate::policy::{Config, ConfigError, IncludedFiles};
use crate::store::{redact_location, StoreLocation};

/// Included files read from the file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystem;

impl IncludedFiles for FileSystem {
    fn read(&self, path: &Path) -> io::Result<String> {
        read_limited(path)
    }
}

/// The largest config file (or file it includes, such as a holiday
/// calendar) read: real ones are a few kilobytes, and a path such as
/// `/dev/zero` or a log file named by mistake must not fill the memory.
pub const MAX_CONFIG_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a config file (or an included one) as UTF-8 text, refusing one
/// above [`MAX_CONFIG_FILE_BYTES`]: by its size before reading when it
/// has one, and by reading at most one byte past the limit otherwise
/// (devices and pipes say 0).
pub fn read_limited(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let too_big = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "larger than the {} MiB limit for config and holiday files",
                MAX_CONFIG_FILE_BYTES / (1024 * 1024)
            ),
        )
    };
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() > MAX_CONFIG_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8 text: {e}")))
}

/// Reads, parses and validates a config file and the files it includes,
/// its sources and store too.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = read_limited(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read the config file: {e}"),
    })?;
    from_yaml(&text, path)
}

/// Parses and validates config text whose includes are read from the file
/// system, relative to `path`'s folder; `path` names it in errors. Each
/// source's settings are checked by its adapter ([`crate::sources::check`]);
/// the `store:` is checked to be a store this build opens, and a relative
/// store path is made relative to the config's folder.
pub fn from_yaml(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let mut config = Config::from_yaml_with(text, path, &FileSystem)?;
    crate::sources::check(&config, path, text)?;
    if let Some(location) = config.store.take() {
        config.store = Some(store_location(&location, path, text)?);
    }
    Ok(config)
}

/// The config's `store:`, checked, with a relative path resolved against
/// the config's folder (as `reports.out` is).
fn store_location(location: &str, path: &Path, text: &str) -> Result<String, ConfigError> {
    let at = |message: String| ConfigError::at_key(path, text, &["store"], message);
    if redact_location(location) != location {
        // The config is served at /config and kept in version control.
        return Err(at(format!(
            "{}: a password does not belong in the config; write the location without it \
             and name where the password is: `?password_env=VARIABLE` (an environment \
             variable) or `?password_file=PATH` (a file)",
            redact_location(location)
        )));
    }
    match StoreLocation::parse(location) {
        Ok(StoreLocation::SqliteFile(file)) if file.is_relative() => {
            let base = path.parent().unwrap_or(Path::new(""));
            Ok(format!("sqlite:{}", base.join(file).display()))
        }
        Ok(_) => Ok(location.to_string()),
        Err(e) => Err(at(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "calendars:\n  c: { timezone: UTC, hours: 24x7 }\n";

    fn store_of(line: &str) -> Result<Option<String>, ConfigError> {
        let text = format!("{BASE}{line}\n");
        from_yaml(&text, Path::new("deploy/helpdesk-slo.yaml")).map(|c| c.store)
    }

    #[test]
    fn a_relative_store_is_beside_the_config_and_others_stay_as_written() {
        assert_eq!(store_of("").unwrap(), None);
        assert_eq!(
            store_of("store: state/slo.sqlite").unwrap().as_deref(),
            Some("sqlite:deploy/state/slo.sqlite")
        );
        assert_eq!(
            store_of("store: sqlite:/var/lib/slo.sqlite")
                .unwrap()
                .as_deref(),
            Some("sqlite:/var/lib/slo.sqlite")
        );
    }

    /// A file past the limit is refused before it is read whole, naming
    /// the file and the limit; a device that never ends (size 0) too.
    #[test]
    fn config_files_above_the_limit_are_refused_naming_file_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_CONFIG_FILE_BYTES + 1).unwrap();
        let e = load(&big).unwrap_err().to_string();
        assert!(e.contains("big.yaml") && e.contains("16 MiB"), "{e}");
        #[cfg(unix)]
        {
            let e = load(Path::new("/dev/zero")).unwrap_err().to_string();
            assert!(e.contains("/dev/zero") && e.contains("16 MiB"), "{e}");
        }
        // A holiday file the config includes: the same limit, named.
        std::fs::File::create(dir.path().join("h.ics"))
            .unwrap()
            .set_len(MAX_CONFIG_FILE_BYTES + 1)
            .unwrap();
        let cfg = dir.path().join("c.yaml");
        std::fs::write(
            &cfg,
            "calendars:\n  c: { timezone: UTC, hours: 24x7, holidays: [{ file: h.ics }] }\n",
        )
        .unwrap();
        let e = load(&cfg).unwrap_err().to_string();
        assert!(e.contains("h.ics") && e.contains("16 MiB"), "{e}");
    }

    #[test]
    fn a_store_this_build_cannot_open_or_a_password_is_refused_at_its_line() {
        assert_eq!(
            store_of("store: postgres://slo@db/slo?password_env=SLO_PG")
                .unwrap()
                .as_deref(),
            Some("postgres://slo@db/slo?password_env=SLO_PG")
        );
        let e = store_of("store: postgres://slo:hunter2@db/slo").unwrap_err();
        assert_eq!((e.key.as_deref(), e.line), (Some("store"), Some(3)), "{e}");
        let shown = e.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("password_env="), "{shown}");
        assert!(shown.contains("password_file="), "{shown}");
        let e = store_of("store: mysql://db/slo").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("store"), "{e}");
    }
}
