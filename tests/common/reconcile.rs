//! Running `helpdesk-slo reconcile` over a polled store and reading its
//! JSON, for the reconciliation tests of each helpdesk.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `reconcile --format json` over `store` at `at`, which must succeed.
pub fn reconcile_json(config: &Path, store: &Path, at: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
        .arg("reconcile")
        .arg("--config")
        .arg(config)
        .arg("--store")
        .arg(store)
        .args(["--now", at, "--format", "json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `(compared, agree)` of a metric over every plan.
pub fn counts(v: &Value, metric: &str) -> (u64, u64) {
    let mut out = (0, 0);
    for r in v["rows"].as_array().unwrap() {
        if r["metric"] != metric {
            continue;
        }
        for k in ["agree", "differ", "missing_ours", "missing_theirs"] {
            out.0 += r[k].as_u64().unwrap();
        }
        out.1 += r["agree"].as_u64().unwrap();
    }
    out
}
