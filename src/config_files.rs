//! Config loading from the file system: the config file and the files it
//! includes, read for the pure core's loader ([`Config::from_yaml_with`]).
//!
//! Relative includes are resolved by the core against the config file's
//! folder (see [`crate::policy::includes`]); [`FileSystem`] reads the path it
//! is given as is, relative to the working directory when the config path
//! is relative.

use std::io;
use std::path::Path;

use crate::policy::{Config, ConfigError, IncludedFiles};

/// Included files read from the file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystem;

impl IncludedFiles for FileSystem {
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// Reads, parses and validates a config file and the files it includes
/// (its `sources:` are not checked: [`crate::sources::load_config`] does).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read the config file: {e}"),
    })?;
    from_yaml(&text, path)
}

/// Parses and validates config text whose includes are read from the file
/// system, relative to `path`'s folder; `path` names it in errors.
pub fn from_yaml(text: &str, path: &Path) -> Result<Config, ConfigError> {
    Config::from_yaml_with(text, path, &FileSystem)
}
