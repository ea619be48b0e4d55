//! What the running daemon shares between its poll loops, its refresher and
//! the HTTP server: the config in force, the live clocks, the exporter's
//! health and the last rendered exposition. It lives beneath both, so the
//! server reads it without importing the daemon.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{mpsc, oneshot, Notify};

use crate::exposition::{self, Health, Live, Rendered};
use crate::policy::Config;

/// A request to reload the config, answered with what happened.
pub type ReloadRequest = oneshot::Sender<Result<String, String>>;

/// A reload's side index and the config it is filled under.
pub(crate) type ReloadSide = (Arc<Mutex<Live>>, Arc<Config>);

/// The daemon's shared state.
#[derive(Debug)]
pub struct DaemonState {
    config: RwLock<Arc<Config>>,
    config_text: RwLock<String>,
    config_path: PathBuf,
    pub(crate) live: Arc<Mutex<Live>>,
    /// The side index a reload is filling, while it does: rows the store
    /// drops meanwhile are taken out of it too.
    pub(crate) reload_side: Mutex<Option<ReloadSide>>,
    pub(crate) health: Mutex<Health>,
    rendered: RwLock<Arc<Rendered>>,
    ready: AtomicBool,
    /// Wakes the refresher after a recompute.
    pub(crate) dirty: Notify,
    reload: mpsc::Sender<ReloadRequest>,
    reports_dir: Option<PathBuf>,
    /// The turn of the newest config: moved on when a reload starts
    /// applying one (see [`ConfigTurn`]).
    newest_turn: Arc<AtomicU64>,
    /// The turn of the config in force.
    installed_turn: AtomicU64,
    /// Held while the sources this instance serves change (a lease taken
    /// or lost) and while a reload recomputes them, so that a reload's
    /// swap never drops a source taken over meanwhile.
    pub(crate) serving: tokio::sync::Mutex<()>,
}

/// Which config a recompute computes under, and whether a reload has
/// superseded it since: clocks of a superseded config are neither saved
/// nor published (the reload computes them under the new one, and a ticket
/// left stale is recomputed after it), so a recompute that started before
/// a reload never writes over the reload's clocks.
#[derive(Debug, Clone)]
pub(crate) struct ConfigTurn {
    newest: Arc<AtomicU64>,
    at: u64,
}

impl ConfigTurn {
    /// No reload has started applying another config since this one's turn.
    pub(crate) fn is_current(&self) -> bool {
        self.newest.load(Ordering::SeqCst) == self.at
    }
}

impl DaemonState {
    pub(crate) fn new(
        config: Arc<Config>,
        config_text: String,
        config_path: &Path,
        reload: mpsc::Sender<ReloadRequest>,
        reports_dir: Option<PathBuf>,
    ) -> DaemonState {
        DaemonState {
            config: RwLock::new(config),
            config_text: RwLock::new(without_credentials(&config_text)),
            config_path: config_path.to_path_buf(),
            live: Arc::new(Mutex::new(Live::new())),
            reload_side: Mutex::new(None),
            health: Mutex::new(Health::default()),
            rendered: RwLock::new(Arc::new(Rendered::default())),
            ready: AtomicBool::new(false),
            dirty: Notify::new(),
            reload,
            reports_dir,
            newest_turn: Arc::default(),
            installed_turn: AtomicU64::new(0),
            serving: tokio::sync::Mutex::new(()),
        }
    }

    /// A state with no daemon behind it (benchmarks, embedding): reloads
    /// answer that no daemon runs.
    pub fn detached(config: Arc<Config>) -> DaemonState {
        let (tx, _) = mpsc::channel(1);
        let path = config.path.clone();
        let state = DaemonState::new(config, String::new(), &path, tx, None);
        state.set_ready();
        state
    }

    /// The live clocks (to feed them outside a daemon).
    pub fn live(&self) -> &Mutex<Live> {
        &self.live
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The config file's text as loaded, with the credentials of any URL
    /// in it hidden (tokens never are in it: they come from the
    /// environment or files it names, and a config with one is refused).
    pub fn config_text(&self) -> String {
        self.config_text
            .read()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The config in force and its turn. The turn is read first: a swap in
    /// between gives the new config with the old turn, which is refused
    /// (and redone), never the old config with the new turn.
    pub(crate) fn config_and_turn(&self) -> (Arc<Config>, ConfigTurn) {
        let at = self.installed_turn.load(Ordering::SeqCst);
        let turn = ConfigTurn {
            newest: self.newest_turn.clone(),
            at,
        };
        (self.config(), turn)
    }

    /// A reload starts applying a new config: from now on, clocks of the
    /// config in force are refused. Returns the new config's turn.
    pub(crate) fn supersede_config(&self) -> ConfigTurn {
        let at = self.newest_turn.fetch_add(1, Ordering::SeqCst) + 1;
        ConfigTurn {
            newest: self.newest_turn.clone(),
            at,
        }
    }

    /// A reload that superseded the config in force failed before it was
    /// swapped in: the config in force is current again.
    pub(crate) fn keep_config_in_force(&self) {
        let installed = self.installed_turn.load(Ordering::SeqCst);
        self.newest_turn.store(installed, Ordering::SeqCst);
    }

    /// Swaps in a config a reload computed under `turn`.
    pub(crate) fn install_config(&self, config: Arc<Config>, text: String, turn: &ConfigTurn) {
        self.set_config(config, text);
        self.installed_turn.store(turn.at, Ordering::SeqCst);
    }

    pub(crate) fn set_config(&self, config: Arc<Config>, text: String) {
        if let Ok(mut c) = self.config.write() {
            *c = config;
        }
        if let Ok(mut t) = self.config_text.write() {
            *t = without_credentials(&text);
        }
    }

    /// The last rendered exposition.
    pub fn rendered(&self) -> Arc<Rendered> {
        self.rendered.read().map(|r| r.clone()).unwrap_or_default()
    }

    /// The store is loaded and the first figures are rendered.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Why the daemon is not ready, or `None` when it is: the store is
    /// still loading, or a source's poll loop stopped and waits to be
    /// started again.
    pub fn not_ready(&self) -> Option<String> {
        if !self.is_ready() {
            return Some("loading the store".to_string());
        }
        let health = self.health.lock().ok()?;
        let stopped: Vec<String> = health
            .sources
            .iter()
            .filter_map(|(name, h)| {
                let why = h.stopped.as_ref()?;
                Some(format!(
                    "source {name}: its poll loop stopped ({why}); it restarts shortly"
                ))
            })
            .collect();
        (!stopped.is_empty()).then(|| stopped.join("\n"))
    }

    /// What `/-/ready` says when ready: on a shared store, which sources
    /// this instance polls and which it stands by for.
    pub fn ready_text(&self) -> String {
        let Ok(health) = self.health.lock() else {
            return "ready\n".to_string();
        };
        let Some(instance) = &health.instance else {
            return "ready\n".to_string();
        };
        let (held, standby): (Vec<&String>, Vec<&String>) = {
            let (h, s): (Vec<_>, Vec<_>) = health.sources.iter().partition(|(_, s)| s.is_served());
            (
                h.into_iter().map(|(k, _)| k).collect(),
                s.into_iter().map(|(k, _)| k).collect(),
            )
        };
        let list = |v: &[&String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        format!(
            "ready: instance {instance} polls {}; stands by for {}\n",
            list(&held),
            list(&standby)
        )
    }

    /// The sources of `all` this instance serves: every one, unless
    /// another instance holds its lease.
    pub(crate) fn served_sources<'a>(&self, all: impl Iterator<Item = &'a String>) -> Vec<String> {
        let health = self.health.lock().ok();
        all.filter(|name| {
            health
                .as_ref()
                .and_then(|h| h.sources.get(*name))
                .is_none_or(|s| s.is_served())
        })
        .cloned()
        .collect()
    }

    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Where reports are written, if anywhere.
    pub fn reports_dir(&self) -> Option<&Path> {
        self.reports_dir.as_deref()
    }

    /// Recomputes the figures at `now` and renders them.
    pub fn refresh(&self, now: i64) {
        let config = self.config();
        let figures = match self.live.lock() {
            Ok(mut live) => exposition::compute(&config.policy, &mut live, now),
            Err(_) => return,
        };
        let health = match self.health.lock() {
            Ok(mut h) => {
                h.computed_at = now;
                h.clone()
            }
            Err(_) => return,
        };
        let rendered = exposition::render(&config.policy, figures, health);
        if let Ok(mut r) = self.rendered.write() {
            *r = Arc::new(rendered);
        }
    }

    /// Asks the daemon to reload its config file; answers what happened (the
    /// error when the new config is rejected and the old one kept).
    pub async fn reload(&self) -> Result<String, String> {
        let (tx, rx) = oneshot::channel();
        self.reload
            .send(tx)
            .await
            .map_err(|_| "the daemon is shutting down".to_string())?;
        rx.await
            .map_err(|_| "the daemon is shutting down".to_string())?
    }
}

/// `text` with the user and password of every URL in it (`https://user:pw@host`)
/// replaced by `***`: what `/config` serves.
fn without_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        // The authority ends where the path, the line or the YAML value
        // does.
        let end = after
            .find(|c: char| c.is_whitespace() || "/?#\"'}],".contains(c))
            .unwrap_or(after.len());
        let authority = &after[..end];
        match authority.rfind('@') {
            Some(userinfo) => {
                out.push_str("***");
                out.push_str(&authority[userinfo..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod credentials_tests {
    use super::without_credentials;

    #[test]
    fn credentials_in_urls_are_hidden_and_the_rest_is_kept() {
        let text = "url: https://ops:hunter2@acme.zendesk.com/api\n\
                    store: \"postgres://slo:pw@db:5432/slo?sslmode=require\"\n\
                    other: { a: http://example.com, b: x@y }\n";
        let shown = without_credentials(text);
        assert!(
            !shown.contains("hunter2") && !shown.contains(":pw@"),
            "{shown}"
        );
        assert!(
            shown.contains("url: https://***@acme.zendesk.com/api"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://***@db:5432/slo?sslmode=require"),
            "{shown}"
        );
        assert!(
            shown.contains("{ a: http://example.com, b: x@y }"),
            "{shown}"
        );
        assert_eq!(without_credentials("no urls: here"), "no urls: here");
    }
}
