//! Every example in `docs/*.md` that a reader copies keeps working: configs
//! load, ticket timelines parse, and the commands print what the page shows.
//!
//! # The convention
//!
//! An HTML comment on the line right before a fenced code block says what to
//! do with the block (markdown viewers do not show it):
//!
//! | Marker | What the test does with the block |
//! |---|---|
//! | `<!-- test: config -->` | Loads it as a whole config (`config_files::from_yaml`), as if it were the page's own file, so relative file references resolve from `docs/`. |
//! | `<!-- test: config at=PATH -->` | The same, as if it were the repository file `PATH` (for `file:` holidays beside it). |
//! | `<!-- test: config over=BASE -->` | A fragment: merged key by key over `BASE` (a `file` block of the page, or a repository file such as `examples/celigo.yaml`), then loaded where `BASE` is. |
//! | `<!-- test: file NAME -->` | The page's file `NAME`, written to a temporary folder for the page's `run` blocks. A `yaml` block must load as a config there, a `json` or `jsonl` block must parse as ticket timelines; a `text` block is only written (for input that is wrong on purpose). |
//! | `<!-- test: ticket -->` | One ticket timeline, or JSON lines of several, must parse. |
//! | `<!-- test: run -->` | A `console` block: the first line is `$ helpdesk-slo ARGS` (a trailing `\` continues it on the next line). Runs the real binary from the repository root with `ARGS` split at whitespace, a page file's `NAME` standing for its path. The other lines are what it must print on stdout. |
//! | `<!-- test: run exit=N -->` | The same for a command that must exit with status `N`; the lines are its stderr. |
//! | `<!-- test: skip -->` | Shown, not run (text after `skip` says why). |
//!
//! Shown output is compared line by line, ignoring trailing whitespace and
//! trailing blank lines; `…` in a shown line matches any text (for the config
//! hash, which changes with every edit of the config), and the temporary
//! folder does not appear in paths. A page with at least one marker must mark
//! every `yaml`, `json`, `jsonl` and `console` block, so an example cannot be
//! added untested by accident; `docs/config.md`, `docs/timeline.md` and
//! `docs/engine.md` must have markers. `docs/zendesk.md` has no markers: its
//! config has a test of its own in `tests/config_errors.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use helpdesk_slo::config_files::from_yaml as config_from_yaml;
use helpdesk_slo::engine::Ticket;

/// The pages that must carry tested examples.
const REQUIRED: &[&str] = &["docs/config.md", "docs/timeline.md", "docs/engine.md"];

/// Languages of blocks that must be marked on a page with markers.
const CHECKED_LANGUAGES: &[&str] = &["yaml", "json", "jsonl", "console"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fenced code block of a page.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    /// The info string's first word (`yaml`, `console`, ...).
    language: String,
    text: String,
    /// The words of the marker comment before it, if any.
    marker: Option<Vec<String>>,
}

/// The fenced blocks of a page, and the markers not followed by a block.
fn blocks(page: &str) -> (Vec<Block>, Vec<usize>) {
    let mut out = Vec::new();
    let mut stray = Vec::new();
    let mut pending: Option<(usize, Vec<String>)> = None;
    let lines: Vec<&str> = page.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(inner) = trimmed
            .strip_prefix("<!-- test:")
            .and_then(|rest| rest.trim_end().strip_suffix("-->"))
        {
            if let Some((at, _)) = pending.take() {
                stray.push(at);
            }
            pending = Some((
                i + 1,
                inner.split_whitespace().map(str::to_string).collect(),
            ));
            i += 1;
            continue;
        }
        if trimmed.starts_with("```") {
            let indent = line.len() - trimmed.len();
            let fence: String = trimmed.chars().take_while(|&c| c == '`').collect();
            let language = trimmed[fence.len()..]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            let start = i;
            let mut text = String::new();
            i += 1;
            while i < lines.len() && lines[i].trim() != fence {
                let l = lines[i];
                let cut = l.len() - l.trim_start().len();
                text.push_str(&l[cut.min(indent)..]);
                text.push('\n');
                i += 1;
            }
            let marker = match pending.take() {
                Some((at, words)) if at == start => Some(words),
                Some((at, _)) => {
                    stray.push(at);
                    None
                }
                None => None,
            };
            out.push(Block {
                line: start + 1,
                language,
                text,
                marker,
            });
            i += 1;
            continue;
        }
        if !trimmed.is_empty() {
            if let Some((at, _)) = pending.take() {
                stray.push(at);
            }
        }
        i += 1;
    }
    if let Some((at, _)) = pending {
        stray.push(at);
    }
    (out, stray)
}

/// `key=value` of a marker's words.
fn option<'a>(words: &'a [String], key: &str) -> Option<&'a str> {
    words
        .iter()
        .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

/// Merges `over` into `base`: mappings key by key, anything else replaced.
fn merge(base: &mut serde_yaml_ng::Value, over: serde_yaml_ng::Value) {
    match (base, over) {
        (serde_yaml_ng::Value::Mapping(b), serde_yaml_ng::Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Whether `actual` matches a shown line, `…` standing for any text.
fn line_matches(shown: &str, actual: &str) -> bool {
    let parts: Vec<&str> = shown.split('…').collect();
    if parts.len() == 1 {
        return shown == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    if !actual[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

fn normalized(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Every ticket of a timeline text (one object, or JSON lines).
fn parse_tickets(text: &str) -> Result<usize, String> {
    let mut n = 0;
    for t in serde_json::Deserializer::from_str(text).into_iter::<Ticket>() {
        t.map_err(|e| format!("ticket {}: {e}", n + 1))?;
        n += 1;
    }
    if n == 0 {
        return Err("no ticket in the block".to_string());
    }
    Ok(n)
}

/// What one page's examples got wrong.
struct Page {
    name: String,
    dir: tempfile::TempDir,
    files: BTreeMap<String, PathBuf>,
    problems: Vec<String>,
    tested: usize,
}

impl Page {
    fn fail(&mut self, line: usize, message: impl AsRef<str>) {
        self.problems
            .push(format!("{}:{line}: {}", self.name, message.as_ref()));
    }

    /// Loads `text` as a config at `at`; `what` says what failed to load.
    fn load(&mut self, line: usize, text: &str, at: &Path, what: &str) {
        if let Err(e) = config_from_yaml(text, at) {
            let prefix = format!("{}/", self.dir.path().display());
            let e = e.to_string().replace(&prefix, "");
            self.fail(line, format!("{what} does not load: {e}"));
        }
    }

    fn config(&mut self, b: &Block, words: &[String]) {
        if let Some(base) = option(words, "over") {
            let (base_text, at) = match self.files.get(base) {
                Some(path) => (std::fs::read_to_string(path), path.clone()),
                None => (
                    std::fs::read_to_string(repo().join(base)),
                    repo().join(base),
                ),
            };
            let base_text = match base_text {
                Ok(t) => t,
                Err(e) => {
                    return self.fail(b.line, format!("over={base}: cannot read it: {e}"));
                }
            };
            let parsed = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&base_text)
                .map_err(|e| format!("over={base}: {e}"))
                .and_then(|mut v| {
                    let fragment = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&b.text)
                        .map_err(|e| format!("the fragment is not YAML: {e}"))?;
                    merge(&mut v, fragment);
                    serde_yaml_ng::to_string(&v).map_err(|e| e.to_string())
                });
            match parsed {
                Ok(text) => {
                    let what = format!("the fragment merged over {base}");
                    self.load(b.line, &text, &at, &what);
                }
                Err(e) => self.fail(b.line, e),
            }
        } else {
            let at = match option(words, "at") {
                Some(path) => repo().join(path),
                None => repo().join(&self.name),
            };
            self.load(b.line, &b.text, &at, "the config");
        }
    }

    fn run(&mut self, b: &Block, words: &[String]) {
        let exit: i32 = match option(words, "exit").map(str::parse) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return self.fail(b.line, "exit=N needs a number"),
        };
        let mut lines = b.text.lines();
        let mut command = String::new();
        for line in lines.by_ref() {
            let (part, more) = match line.trim_end().strip_suffix('\\') {
                Some(p) => (p, true),
                None => (line, false),
            };
            command.push_str(part);
            command.push(' ');
            if !more {
                break;
            }
        }
        let shown: String = lines.map(|l| format!("{l}\n")).collect();
        let Some(args) = command.trim().strip_prefix("$ helpdesk-slo ") else {
            return self.fail(b.line, "a run block starts with `$ helpdesk-slo ARGS`");
        };
        let args: Vec<String> = args
            .split_whitespace()
            .map(|a| match self.files.get(a) {
                Some(p) => p.display().to_string(),
                None => a.to_string(),
            })
            .collect();
        let out = match Command::new(env!("CARGO_BIN_EXE_helpdesk-slo"))
            .args(&args)
            .current_dir(repo())
            .output()
        {
            Ok(o) => o,
            Err(e) => return self.fail(b.line, format!("cannot run the binary: {e}")),
        };
        let stream = if exit == 0 { &out.stdout } else { &out.stderr };
        let prefix = format!("{}/", self.dir.path().display());
        let actual = String::from_utf8_lossy(stream).replace(&prefix, "");
        let code = out.status.code().unwrap_or(-1);
        let (want, got) = (normalized(&shown), normalized(&actual));
        let same =
            want.len() == got.len() && want.iter().zip(&got).all(|(w, g)| line_matches(w, g));
        if code != exit || !same {
            let mut m = format!("`{}`", command.trim().trim_start_matches("$ "));
            if code != exit {
                let _ = write!(m, " exited with status {code}, not {exit}, and");
            }
            let _ = write!(m, " printed:\n{}\n", got.join("\n"));
            if code != exit && exit == 0 {
                let _ = write!(m, "stderr:\n{}\n", String::from_utf8_lossy(&out.stderr));
            }
            let _ = write!(m, "the page shows:\n{}", want.join("\n"));
            self.fail(b.line, m);
        }
    }
}

fn check_page(name: &str) -> Page {
    let text = std::fs::read_to_string(repo().join(name)).unwrap();
    let mut page = Page {
        name: name.to_string(),
        dir: tempfile::tempdir().unwrap(),
        files: BTreeMap::new(),
        problems: Vec::new(),
        tested: 0,
    };
    let (blocks, stray) = blocks(&text);
    for line in stray {
        page.fail(
            line,
            "a test marker must be on the line right before a fenced block",
        );
    }
    let marked = blocks.iter().any(|b| b.marker.is_some());
    // Files first: a run block may name a file shown later on the page.
    for b in &blocks {
        if let Some(words) = &b.marker {
            if words.first().map(String::as_str) == Some("file") {
                let Some(name) = words.get(1) else {
                    page.fail(b.line, "`test: file` needs a NAME");
                    continue;
                };
                let path = page.dir.path().join(name);
                std::fs::write(&path, &b.text).unwrap();
                if page.files.insert(name.clone(), path).is_some() {
                    page.fail(b.line, format!("file {name} is defined twice"));
                }
            }
        }
    }
    for b in &blocks {
        let Some(words) = &b.marker else {
            if marked && CHECKED_LANGUAGES.contains(&b.language.as_str()) {
                page.fail(
                    b.line,
                    format!(
                        "this {} block has no test marker; mark it (or `<!-- test: skip why -->`)",
                        b.language
                    ),
                );
            }
            continue;
        };
        page.tested += 1;
        match words.first().map(String::as_str) {
            Some("config") => page.config(b, &words[1..]),
            Some("file") => {
                let Some(name) = words.get(1) else { continue };
                let path = page.files[name].clone();
                match b.language.as_str() {
                    "yaml" => page.load(b.line, &b.text, &path, "the config"),
                    "json" | "jsonl" => {
                        if let Err(e) = parse_tickets(&b.text) {
                            page.fail(b.line, e);
                        }
                    }
                    _ => {}
                }
            }
            Some("ticket") => {
                if let Err(e) = parse_tickets(&b.text) {
                    page.fail(b.line, e);
                }
            }
            Some("run") => {
                if b.language != "console" {
                    page.fail(b.line, "a run block is a ```console block");
                }
                page.run(b, &words[1..]);
            }
            Some("skip") => page.tested -= 1,
            other => page.fail(
                b.line,
                format!("unknown test marker {other:?}; see the top of tests/docs_examples.rs"),
            ),
        }
    }
    page
}

#[test]
fn every_marked_example_in_the_docs_runs_as_shown() {
    let mut pages: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| format!("docs/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    pages.sort();
    let mut problems = Vec::new();
    let mut tested = BTreeMap::new();
    for name in &pages {
        let page = check_page(name);
        problems.extend(page.problems);
        tested.insert(name.clone(), page.tested);
    }
    for name in REQUIRED {
        if tested.get(*name).copied().unwrap_or(0) == 0 {
            problems.push(format!(
                "{name}: no tested example (the page must exist and mark its examples)"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} doc example(s) are broken:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

#[test]
fn the_harness_finds_blocks_and_matches_shown_output() {
    let page = "text\n<!-- test: run exit=2 -->\n```console\n$ helpdesk-slo check \\\n  --config x.yaml\nerror: …: bad\n```\n\n```yaml\na: 1\n```\n<!-- test: skip -->\n\nprose\n";
    let (blocks, stray) = blocks(page);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].line, 3);
    assert_eq!(blocks[0].language, "console");
    assert_eq!(
        blocks[0].marker.as_deref(),
        Some(&["run".to_string(), "exit=2".to_string()][..])
    );
    assert!(blocks[1].marker.is_none());
    assert_eq!(stray, vec![12]);
    assert!(line_matches("error: …: bad", "error: x.yaml:3: plans: bad"));
    assert!(line_matches(
        "{\"config\":\"…\",\"a\":1}",
        "{\"config\":\"ab12\",\"a\":1}"
    ));
    assert!(!line_matches("error: …: bad", "error: x.yaml: good"));
    assert!(!line_matches("a…b…c", "abc-"));
    assert!(line_matches("a…b…c", "a-b-c"));
    let mut base: serde_yaml_ng::Value =
        serde_yaml_ng::from_str("plans: { a: { x: 1 } }\nk: 1").unwrap();
    merge(
        &mut base,
        serde_yaml_ng::from_str("plans: { b: { x: 2 } }\nk: 2").unwrap(),
    );
    assert_eq!(
        base,
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(
            "plans: { a: { x: 1 }, b: { x: 2 } }\nk: 2"
        )
        .unwrap()
    );
}
