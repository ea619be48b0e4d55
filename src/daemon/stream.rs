//! The reader of one stream of a source: polls pages from a cursor until
//! the stream has caught up, retrying a failed page from the same cursor
//! (backoff, `Retry-After`), and hands each page to the poll loop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{error, warn};

use super::health::with_health;
use super::pace::{jitter, rate_limit_wait, sleep_or_stop, RequestGate, MAX_RATE_LIMIT_WAIT};
use crate::sources::{Page, Source, SourceError};
use crate::state::DaemonState;

/// Consecutive failed attempts at one page after which `--once` gives up.
const ONCE_MAX_FAILURES: u32 = 12;

/// How long a source whose poll needs a person (a revoked token, say)
/// waits before it tries again.
const FATAL_RETRY: Duration = Duration::from_secs(300);

/// Consecutive failures that need a person (401, 403, 404) before the
/// daemon says so and slows down: one such answer is often a blip (a
/// token rotated a moment late, a proxy restarting), retried like any
/// other failure.
const FATAL_ATTEMPTS: u32 = 3;

/// The longest backoff between retries of a failed page.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What to do after a failed attempt at a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Try the same page again after this long.
    Retry(Duration),
    /// Say the source needs a person, and try again after this long.
    Attention(Duration),
    /// A backfill gives up (the command fails, saying why).
    GiveUp,
}

/// The rule for failed pages: back off and retry; a failure that needs a
/// person only counts as one after [`FATAL_ATTEMPTS`] in a row; a backfill
/// (`once`) gives up instead of waiting for a person, or after
/// [`ONCE_MAX_FAILURES`] failures of any kind.
fn after_failure(fatal: bool, failures: u32, backoff: Duration, once: bool) -> Step {
    if fatal && failures >= FATAL_ATTEMPTS {
        return if once {
            Step::GiveUp
        } else {
            Step::Attention(FATAL_RETRY)
        };
    }
    if once && failures >= ONCE_MAX_FAILURES {
        return Step::GiveUp;
    }
    Step::Retry(backoff)
}

/// What a stream's reader hands the poll loop.
pub(super) enum Fetched {
    Page(Page),
    /// The reader gave up (a backfill whose page keeps failing, or an
    /// error that needs a person in a backfill); the poll loop stops.
    Failed(String),
}

/// What every reader of one source shares.
pub(super) struct SourceShared {
    /// The source's name in the config.
    pub(super) name: String,
    pub(super) source: Arc<dyn Source>,
    pub(super) state: Arc<DaemonState>,
    /// The source's request budget and rate limit, shared by its streams.
    pub(super) gate: RequestGate,
    /// Failed attempts since the poll loop last counted them.
    pub(super) retries: AtomicU64,
    /// A backfill (`--once`): give up on a page that keeps failing.
    pub(super) once: bool,
}

/// Reads one stream of a source.
pub(super) struct StreamReader {
    pub(super) shared: Arc<SourceShared>,
    pub(super) stream: &'static str,
    pub(super) out: mpsc::Sender<Fetched>,
    pub(super) shutdown: watch::Receiver<bool>,
}

impl StreamReader {
    /// Reads the stream from `cursor` until it has caught up, sending each
    /// page to the poll loop, which commits them. A page that fails is
    /// retried from the same cursor (see the module docs). Returns when the
    /// stream has caught up, on shutdown, when the poll loop is gone, or
    /// after sending [`Fetched::Failed`].
    pub(super) async fn run(mut self, mut cursor: Option<String>) {
        let shared = self.shared.clone();
        let (name, stream) = (shared.name.as_str(), self.stream);
        let stats = shared.source.request_stats();
        let mut backoff = Duration::from_secs(1);
        let mut failures = 0u32;
        let retried = || shared.retries.fetch_add(1, Ordering::Relaxed);
        loop {
            if *self.shutdown.borrow() || shared.gate.turn(&mut self.shutdown).await {
                return;
            }
            let result = shared.source.poll(stream, cursor.as_deref()).await;
            let ok = result.is_ok();
            let limited = matches!(result, Err(SourceError::RateLimited(_)));
            let counts = stats.as_ref().map(|s| s.snapshot());
            with_health(&shared.state, name, |h| {
                h.up = ok || limited;
                if let Some(c) = counts {
                    h.requests = c;
                }
                if !ok {
                    h.retries += 1;
                }
                if limited {
                    h.rate_limited += 1;
                }
            });
            let page: Page = match result {
                Ok(p) => p,
                Err(SourceError::RateLimited(secs)) => {
                    retried();
                    let wait = rate_limit_wait(secs);
                    if wait < Duration::from_secs(secs) {
                        // The helpdesk's number (or a proxy's) is not trusted
                        // past the limit; the wait counts as rate limited.
                        warn!(
                            stream,
                            retry_after = secs,
                            wait_s = wait.as_secs(),
                            "rate limited with a Retry-After above the limit of {} minutes; waiting that long",
                            MAX_RATE_LIMIT_WAIT.as_secs() / 60
                        );
                    } else {
                        warn!(
                            stream,
                            retry_after = secs,
                            wait_s = wait.as_secs(),
                            "rate limited"
                        );
                    }
                    shared.gate.hold(wait + jitter(250)).await;
                    continue;
                }
                Err(e) => {
                    retried();
                    failures += 1;
                    let fatal = matches!(e, SourceError::Fatal(_));
                    match after_failure(fatal, failures, backoff, shared.once) {
                        Step::GiveUp => {
                            let msg = format!(
                                "stream {stream}: {failures} attempts failed, the last: {e}"
                            );
                            let _ = self.out.send(Fetched::Failed(msg)).await;
                            return;
                        }
                        Step::Retry(wait) => {
                            warn!(stream, error = %e, backoff_ms = wait.as_millis() as u64, "poll failed; retrying the same page");
                            let wait = wait + jitter(wait.as_millis() as u64 / 2);
                            if sleep_or_stop(wait, &mut self.shutdown).await {
                                return;
                            }
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                        Step::Attention(wait) => {
                            error!(stream, error = %e, attempts = failures, retry_in_s = wait.as_secs(), "poll failed and needs attention");
                            if sleep_or_stop(wait, &mut self.shutdown).await {
                                return;
                            }
                        }
                    }
                    continue;
                }
            };
            backoff = Duration::from_secs(1);
            failures = 0;
            let caught_up = page.caught_up;
            cursor = Some(page.cursor.clone());
            if self.out.send(Fetched::Page(page)).await.is_err() || caught_up {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// One 401 is retried like any failure, a second later; three in a row
    /// need a person: the daemon says so and waits five minutes, a backfill
    /// stops.
    #[test]
    fn a_failure_that_needs_a_person_is_retried_before_it_is_called_one() {
        assert_eq!(after_failure(true, 1, SECOND, false), Step::Retry(SECOND));
        assert_eq!(
            after_failure(true, 2, 2 * SECOND, true),
            Step::Retry(2 * SECOND)
        );
        assert_eq!(
            after_failure(true, 3, 4 * SECOND, false),
            Step::Attention(FATAL_RETRY)
        );
        assert_eq!(after_failure(true, 3, 4 * SECOND, true), Step::GiveUp);
    }

    /// Other failures are retried with the backoff; only a backfill gives
    /// up, after [`ONCE_MAX_FAILURES`].
    #[test]
    fn other_failures_back_off_and_only_a_backfill_gives_up() {
        assert_eq!(
            after_failure(false, 5, 16 * SECOND, false),
            Step::Retry(16 * SECOND)
        );
        assert_eq!(
            after_failure(false, 500, MAX_BACKOFF, false),
            Step::Retry(MAX_BACKOFF)
        );
        assert_eq!(
            after_failure(false, ONCE_MAX_FAILURES - 1, SECOND, true),
            Step::Retry(SECOND)
        );
        assert_eq!(
            after_failure(false, ONCE_MAX_FAILURES, SECOND, true),
            Step::GiveUp
        );
    }
}
