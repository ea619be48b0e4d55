//! The test kind end to end: checked like any kind, polled by the daemon
//! into a real store, served as clocks — and mentioned nowhere outside its
//! folder but its registration line.

use std::path::Path;

use tokio::sync::watch;

use crate::daemon::{run, Options};
use crate::store::{SqliteStore, Store};

const CONFIG: &str = "examples/celigo.yaml";

/// The Celigo example with one source of the test kind.
fn config_with(source: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(CONFIG)).unwrap();
    format!("{text}\nsources:\n  made:\n{source}")
}

#[test]
fn the_kind_is_checked_like_any_other() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(CONFIG);
    let ok = config_with("    kind: testing\n    tickets: 3\n    start: 1790000000\n");
    let config = crate::config_files::from_yaml(&ok, &file).unwrap();
    assert_eq!(config.sources["made"].kind, "testing");

    let unknown = config_with("    kind: testing\n    tickets: 3\n    start: 1\n    colour: red\n");
    let e = crate::config_files::from_yaml(&unknown, &file).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("sources.made.colour"), "{e}");

    let zero = config_with("    kind: testing\n    tickets: 0\n    start: 1\n");
    let e = crate::config_files::from_yaml(&zero, &file).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("sources.made.tickets"), "{e}");
    assert!(e.to_string().contains("give 1 or more"), "{e}");
}

/// The daemon polls the kind into the store and computes every ticket's
/// clocks, knowing nothing of it but what the registry says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_a_kind_it_was_never_told_of() {
    let dir = tempfile::tempdir().unwrap();
    let text = config_with("    kind: testing\n    tickets: 5\n    start: 1790000000\n");
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, text).unwrap();
    let store = dir.path().join("store.sqlite");
    let opts = Options {
        config: config.clone(),
        store: Some(store.clone().display().to_string()),
        once: true,
        ..Options::default()
    };
    let (_tx, rx) = watch::channel(false);
    let summary = run(opts, rx).await.unwrap();
    assert_eq!(summary.sources["made"].pages, 5);
    let s = SqliteStore::open(&store).unwrap();
    assert_eq!(s.ticket_ids("made").unwrap(), ["1", "2", "3", "4", "5"]);
    assert_eq!(s.all_clocks("made").unwrap().len(), 5);
    assert!(s.stale_ticket_ids("made").unwrap().is_empty());
    assert_eq!(s.cursor("made", "tickets").unwrap().as_deref(), Some("5"));
}

/// Nothing in `src/` outside this folder names the kind but the two lines
/// that register it.
#[test]
fn a_new_kind_is_its_folder_and_one_registration_line() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let own = src.join("sources").join("testing");
    let mut found = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.starts_with(&own) {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    if line.contains("testing") {
                        found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    let registration: Vec<&String> = found
        .iter()
        .filter(|l| l.ends_with("mod testing;") || l.ends_with("testing::KIND,"))
        .collect();
    assert_eq!(registration.len(), 2, "{found:#?}");
    assert_eq!(found.len(), 2, "more than the registration: {found:#?}");
}
