//! Where the files a config includes come from: the core reads none itself,
//! the caller of [`super::Config::from_yaml_with`] hands it an
//! [`IncludedFiles`].
//!
//! A config includes files by path (today the iCalendar files of
//! `holidays: [{file: holidays.ics}]`). A relative include is resolved
//! against the config file's folder: the include as written is joined
//! ([`Path::join`]) to the parent of the config path given to the loader
//! (`calendars/team.yaml` including `holidays/uk.ics` asks for
//! `calendars/holidays/uk.ics`; a config path without a folder, such as
//! `team.yaml`, asks for `holidays/uk.ics`); an absolute include is asked
//! for as written. The resolver gets that joined path and nothing else, and
//! error messages name it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// The text of the files a config includes, by path.
///
/// `path` is the include already resolved against the config file's folder
/// (see the [module documentation](self)). An error fails the load with a
/// message that names the include as written, `path` and the error, at the
/// config key that includes it.
///
/// The daemon crate reads the file system; [`MemoryFiles`] serves texts held
/// in memory (tests, embedders); [`NoFiles`] refuses every include.
pub trait IncludedFiles {
    /// The whole text of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<String>;
}

/// Included files held in memory, by the path the loader asks for (the
/// include joined to the config file's folder; see the
/// [module documentation](self)). A path not held is `NotFound`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFiles {
    files: BTreeMap<PathBuf, String>,
}

impl MemoryFiles {
    /// No files.
    pub fn new() -> Self {
        Self::default()
    }

    /// Holds `text` as the file at `path`, replacing what was there.
    pub fn insert(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) {
        self.files.insert(path.into(), text.into());
    }

    /// [`insert`](Self::insert), by value.
    pub fn with(mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        self.insert(path, text);
        self
    }
}

impl<P: Into<PathBuf>, T: Into<String>> FromIterator<(P, T)> for MemoryFiles {
    fn from_iter<I: IntoIterator<Item = (P, T)>>(iter: I) -> Self {
        let mut files = Self::new();
        for (path, text) in iter {
            files.insert(path, text);
        }
        files
    }
}

impl IncludedFiles for MemoryFiles {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.files.get(path).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "no such file among the files given in memory",
            )
        })
    }
}

/// No files: every include is an error. What [`super::Config::from_yaml`]
/// loads with, for configs complete in themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoFiles;

impl IncludedFiles for NoFiles {
    fn read(&self, _path: &Path) -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this config was loaded without access to files; \
             load it with Config::from_yaml_with and the files it includes",
        ))
    }
}
