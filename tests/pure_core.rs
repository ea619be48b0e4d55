//! The pure core (`crates/helpdesk-slo-core`: calendar, time, policy,
//! engine) depends on no I/O crate, directly or through another crate: read
//! from `Cargo.lock`, the dependency graph cargo builds. Nor does its source
//! touch the file system: a config's included files come through a resolver.

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

/// What the core's source must not contain: the standard library's file
/// system access (the core reads no file; the daemon crate hands it texts).
const FILE_SYSTEM_ACCESS: [&str; 2] = ["std::fs", "File::open"];

/// Every `.rs` file under `dir`, depth first.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_source_touches_no_file_system() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/helpdesk-slo-core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("policy/mod.rs")),
        "the core's source was not found under {}",
        src.display()
    );
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            if FILE_SYSTEM_ACCESS.iter().any(|n| line.contains(n)) {
                let rel = file.strip_prefix(&src).unwrap_or(file);
                found.push(format!("{}:{}: {}", rel.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the pure core touches the file system (load files in the daemon crate \
         and hand the core their text, or an IncludedFiles):\n{}",
        found.join("\n")
    );
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
