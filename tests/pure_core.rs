//! The pure core (`crates/helpdesk-slo-core`: calendar, time, policy,
//! engine) depends on no I/O crate, directly or through another crate: read
//! from `Cargo.lock`, the dependency graph cargo builds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Crates that do I/O the core must never reach: an async runtime, HTTP,
/// databases, logging, sockets.
const IO_CRATES: [&str; 10] = [
    "tokio",
    "mio",
    "hyper",
    "reqwest",
    "rusqlite",
    "libsqlite3-sys",
    "tracing",
    "tracing-subscriber",
    "prometheus-client",
    "socket2",
];

/// Package name → the names of its dependencies, from a `Cargo.lock`.
fn lock_graph(text: &str) -> BTreeMap<String, Vec<String>> {
    let lock: toml_lite::Lock = toml_lite::parse(text);
    lock.packages
        .into_iter()
        .map(|p| (p.name, p.dependencies))
        .collect()
}

#[test]
fn the_core_crate_reaches_no_io_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    let graph = lock_graph(&text);
    assert!(
        graph.contains_key("helpdesk-slo-core"),
        "Cargo.lock has no helpdesk-slo-core package"
    );
    // Every crate the core reaches.
    let mut seen = BTreeSet::new();
    let mut todo = vec!["helpdesk-slo-core".to_string()];
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        for dep in graph.get(&name).into_iter().flatten() {
            todo.push(dep.clone());
        }
    }
    let reached: Vec<&str> = IO_CRATES
        .iter()
        .copied()
        .filter(|c| seen.contains(*c))
        .collect();
    assert!(
        reached.is_empty(),
        "the pure core reaches I/O crates {reached:?}; everything it reaches: {seen:?}"
    );
    // And the daemon crate does reach them: the check looks where it should.
    assert!(graph["helpdesk-slo"].iter().any(|d| d == "tokio"));
    assert!(graph["helpdesk-slo"]
        .iter()
        .any(|d| d == "helpdesk-slo-core"));
}

/// Just enough of `Cargo.lock`'s TOML: `[[package]]` tables with `name` and
/// a `dependencies` list of `"name"` or `"name version"` strings.
mod toml_lite {
    pub struct Package {
        pub name: String,
        pub dependencies: Vec<String>,
    }

    pub struct Lock {
        pub packages: Vec<Package>,
    }

    pub fn parse(text: &str) -> Lock {
        let mut packages = Vec::new();
        let mut in_deps = false;
        for line in text.lines() {
            let line = line.trim();
            if line == "[[package]]" {
                packages.push(Package {
                    name: String::new(),
                    dependencies: Vec::new(),
                });
                in_deps = false;
            } else if let Some(rest) = line.strip_prefix("name = ") {
                if let Some(p) = packages.last_mut() {
                    p.name = rest.trim_matches('"').to_string();
                }
            } else if line.starts_with("dependencies = [") {
                in_deps = !line.ends_with(']');
            } else if in_deps && line == "]" {
                in_deps = false;
            } else if in_deps {
                let dep = line.trim_end_matches(',').trim_matches('"');
                let name = dep.split(' ').next().unwrap_or(dep);
                if let Some(p) = packages.last_mut() {
                    p.dependencies.push(name.to_string());
                }
            }
        }
        Lock { packages }
    }
}
