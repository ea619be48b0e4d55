//! Cross-references checked while the YAML is read.
//!
//! A plan names a calendar, a target names a severity and a metric. To report
//! a wrong name at the exact line and key where it is written, the loader
//! first collects the defined names (a lenient pass), then deserializes the
//! whole file with those names in scope: a [`Ref`] checks itself against them
//! as it is read, so serde_yaml attaches the position and key path.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer};

use crate::de::parse_str;

/// The names defined in a config, by kind.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub calendars: BTreeSet<String>,
    pub severities: BTreeSet<String>,
    pub metrics: BTreeSet<String>,
    pub plans: BTreeSet<String>,
    pub credits: BTreeSet<String>,
}

thread_local! {
    static SCOPE: RefCell<Option<Names>> = const { RefCell::new(None) };
}

/// Runs `f` with `names` in scope for [`Ref`] checks on this thread.
pub fn with_names<T>(names: Names, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SCOPE.with(|s| *s.borrow_mut() = None);
        }
    }
    SCOPE.with(|s| *s.borrow_mut() = Some(names));
    let _reset = Reset;
    f()
}

/// A kind of named thing a config refers to.
pub trait Kind {
    const WHAT: &'static str;
    const SECTION: &'static str;
    fn set(names: &Names) -> &BTreeSet<String>;
}

macro_rules! kind {
    ($t:ident, $what:literal, $section:literal, $field:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $t;
        impl Kind for $t {
            const WHAT: &'static str = $what;
            const SECTION: &'static str = $section;
            fn set(names: &Names) -> &BTreeSet<String> {
                &names.$field
            }
        }
    };
}

kind!(CalendarKind, "calendar", "calendars", calendars);
kind!(SeverityKind, "severity", "severities", severities);
kind!(MetricKind, "metric", "metrics", metrics);
kind!(PlanKind, "plan", "plans", plans);
kind!(CreditKind, "credit table", "credits", credits);

/// A name of a `K` defined elsewhere in the config.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ref<K> {
    pub name: String,
    kind: PhantomData<K>,
}

impl<K> Ref<K> {
    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl<K> fmt::Display for Ref<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Checks `name` against the names in scope (no scope: accepted, for the
/// lenient first pass).
pub fn check<K: Kind>(name: &str) -> Result<(), String> {
    SCOPE.with(|s| match &*s.borrow() {
        Some(names) if !K::set(names).contains(name) => {
            let known: Vec<&str> = K::set(names).iter().map(String::as_str).collect();
            Err(if known.is_empty() {
                format!(
                    "unknown {} \"{name}\": the config defines none; add it under `{}:`",
                    K::WHAT,
                    K::SECTION
                )
            } else {
                format!(
                    "unknown {} \"{name}\"; the {} defined under `{}:` are: {}",
                    K::WHAT,
                    plural(K::WHAT),
                    K::SECTION,
                    known.join(", ")
                )
            })
        }
        _ => Ok(()),
    })
}

fn plural(what: &str) -> String {
    match what.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{what}s"),
    }
}

impl<'de, K: Kind> Deserialize<'de> for Ref<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, K::WHAT, |s| {
            check::<K>(s)?;
            Ok(Ref {
                name: s.to_string(),
                kind: PhantomData,
            })
        })
    }
}
