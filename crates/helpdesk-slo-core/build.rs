//! Fingerprints this crate's source (the calendar, the policy model and the
//! engine) for the config hash: clocks stored by one build are recomputed
//! by a build whose engine could compute them differently, instead of being
//! mixed with fresh ones in metrics and reports.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("the crate's src folder is readable");
    for entry in entries {
        let path = entry.expect("a folder entry is readable").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn main() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files.sort();
    // Not a cryptographic digest: it only has to change when the source
    // does (the config's own hash is SHA-256).
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in &files {
        file.hash(&mut hasher);
        std::fs::read(file)
            .expect("a source file is readable")
            .hash(&mut hasher);
    }
    println!(
        "cargo:rustc-env=HELPDESK_SLO_ENGINE_SOURCE={:016x}",
        hasher.finish()
    );
    println!("cargo:rerun-if-changed=src");
}
