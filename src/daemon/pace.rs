//! How a source's requests are paced: its request budget, the helpdesk's
//! `Retry-After`, backoff jitter, and sleeps that end on shutdown.

use std::time::{Duration, Instant};

use tokio::sync::watch;

/// The longest a `Retry-After` holds a source: the helpdesk's word comes
/// from outside, and a huge one (or one a proxy mangled) must not stop a
/// source for days or overflow a timer.
pub(super) const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(15 * 60);

/// How long to hold a source the helpdesk rate limited for `secs`.
pub(super) fn rate_limit_wait(secs: u64) -> Duration {
    Duration::from_secs(secs).min(MAX_RATE_LIMIT_WAIT)
}

/// `at + wait`, or `at + MAX_RATE_LIMIT_WAIT` when the sum does not fit an
/// `Instant` (which panics rather than wrapping).
fn later(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait)
        .or_else(|| at.checked_add(MAX_RATE_LIMIT_WAIT))
        .unwrap_or(at)
}

/// A small jitter (no RNG dependency): 0..=max_ms from the clock's
/// sub-second nanos, so sources and streams that failed together do not
/// retry in step.
pub(super) fn jitter(max_ms: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    Duration::from_millis(nanos % (max_ms + 1))
}

/// Sleeps unless shutdown comes first; true when shutting down.
pub(super) async fn sleep_or_stop(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

/// Spaces a source's requests (`requests_per_minute`) and holds every
/// stream back while the helpdesk says to wait (`429` with `Retry-After`):
/// the request budget and the rate limit are the account's, not a
/// stream's, and streams are read at the same time.
pub(super) struct RequestGate {
    min_gap: Duration,
    /// The earliest time of the next request.
    next: tokio::sync::Mutex<Option<Instant>>,
}

impl RequestGate {
    pub(super) fn new(min_gap: Duration) -> RequestGate {
        RequestGate {
            min_gap,
            next: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits for a request's turn, one request at a time; true when
    /// shutting down first.
    pub(super) async fn turn(&self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let mut next = self.next.lock().await;
        if let Some(at) = *next {
            let wait = at.saturating_duration_since(Instant::now());
            if !wait.is_zero() && sleep_or_stop(wait, shutdown).await {
                return true;
            }
        }
        *next = Some(later(Instant::now(), self.min_gap));
        *shutdown.borrow()
    }

    /// No request goes out before `wait` from now.
    pub(super) async fn hold(&self, wait: Duration) {
        let until = later(Instant::now(), wait.min(MAX_RATE_LIMIT_WAIT * 2));
        let mut next = self.next.lock().await;
        *next = Some(next.map_or(until, |n| n.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_after_of_any_size_is_held_at_most_fifteen_minutes() {
        assert_eq!(rate_limit_wait(49), Duration::from_secs(49));
        assert_eq!(rate_limit_wait(0), Duration::ZERO);
        assert_eq!(rate_limit_wait(86_400), MAX_RATE_LIMIT_WAIT);
        // The largest value a header can give: no overflow with the jitter.
        assert!(rate_limit_wait(u64::MAX) + jitter(250) >= MAX_RATE_LIMIT_WAIT);
    }

    /// A hold of any length neither panics nor holds the source past the
    /// longest rate-limit wait (with room for the jitter).
    #[tokio::test]
    async fn a_hold_of_any_length_is_bounded() {
        let gate = RequestGate::new(Duration::ZERO);
        gate.hold(Duration::MAX).await;
        let next = gate.next.lock().await.unwrap();
        assert!(next <= Instant::now() + MAX_RATE_LIMIT_WAIT * 2);
        assert!(later(Instant::now(), Duration::MAX) > Instant::now());
    }

    /// A hold spaces the next turn; a shorter hold does not shorten it.
    #[tokio::test]
    async fn a_hold_delays_the_next_turn_and_never_shortens_one() {
        let gate = RequestGate::new(Duration::ZERO);
        let (_tx, mut rx) = watch::channel(false);
        assert!(!gate.turn(&mut rx).await);
        gate.hold(Duration::from_millis(200)).await;
        gate.hold(Duration::from_millis(1)).await;
        let asked = Instant::now();
        assert!(!gate.turn(&mut rx).await);
        assert!(asked.elapsed() >= Duration::from_millis(150));
    }
}
