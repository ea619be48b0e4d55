//! Emulators of the helpdesks for development, tests and the demo: each
//! serves an account over HTTP in its vendor's documented wire format,
//! with rate limits and injectable faults, never in a shape copied from
//! our adapters: Zendesk ([`zendesk`], [`zendesk_admin`], from the
//! deterministic synthetic dataset of [`generator`]), Freshdesk
//! ([`freshdesk`]) and Jira Service Management ([`jsm`]), each of which
//! documents its own sources. The business-time walk the emulators' own
//! SLA records use is [`business_hours`], independent of our calendar.
//!
//! We cannot reach Zendesk from tests, so this emulates the subset of the
//! Zendesk Support API the Zendesk adapter reads. Each endpoint follows one
//! page of Zendesk's API reference (developer.zendesk.com/api-reference):
//!
//! | Endpoint | Reference page |
//! |---|---|
//! | `GET /api/v2/incremental/tickets/cursor.json` | Ticketing › Incremental Exports › "Incremental Ticket Export, Cursor Based" |
//! | `GET /api/v2/incremental/ticket_events.json` | Ticketing › Incremental Exports › "Incremental Ticket Event Export" (items and child events as in real recordings: the page's example shows metric events by mistake) |
//! | `GET /api/v2/incremental/organizations.json` | Ticketing › Incremental Exports › "Incremental Organization Export" |
//! | `GET /api/v2/incremental/users/cursor.json` | Ticketing › Incremental Exports › "Incremental User Export, Cursor Based" |
//! | `GET /api/v2/custom_statuses[.json]` | Ticketing › Tickets › Custom Ticket Statuses › "List Custom Ticket Statuses" |
//! | `GET /api/v2/tickets/{id}.json` | Ticketing › Tickets › "Show Ticket" (ticket keys: Tickets › "JSON format") |
//! | `GET /api/v2/business_hours/schedules` | Ticketing › Business Rules › Schedules › "List Schedules" |
//! | `GET /api/v2/slas/policies` | Ticketing › Business Rules › SLA Policies › "List SLA Policies" |
//! | `GET /api/v2/slas/policies/{id}`, `/api/v2/business_hours/schedules/{id}[/holidays]` | "Show SLA Policy", "Show Schedule", "List Holidays for a Schedule" ([`zendesk_admin`]) |
//!
//! Cross-cutting behaviour follows "Introduction › Security and
//! authentication" (Basic `email/token:TOKEN` and Bearer), "Introduction ›
//! Rate limits" (`X-Rate-Limit`, `X-Rate-Limit-Remaining`, 429 with
//! `Retry-After`; incremental exports: 10 requests per minute) and
//! "Introduction › Response format" (errors as `{"error", "description"}`).
//! Time-based paging and the excluded most recent minute follow
//! Incremental Exports › "Time-based incremental exports" and the Oct 2024
//! announcement "Announcing a new limit for the Incremental Export API";
//! `via` labels follow the "Via types" reference; the other child events
//! (Notification, Cc, SatisfactionRating) follow the "Ticket audit events"
//! reference.
//!
//! In-process use (tests, `demo`):
//!
//! ```no_run
//! # async fn run(config: &helpdesk_slo::policy::Config) -> std::io::Result<()> {
//! use helpdesk_slo::simulator::generator::{generate, GeneratorOptions};
//! use helpdesk_slo::simulator::zendesk::{start, ServerOptions, SimState};
//!
//! let dataset = generate(config, &GeneratorOptions::default());
//! let state = SimState::new(config, dataset, ServerOptions::default());
//! let server = start(state).await?; // 127.0.0.1, a free port
//! println!("{} (token {})", server.base_url(), server.state().token());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod business_hours;
pub mod freshdesk;
pub mod generator;
pub mod jsm;
pub mod zendesk;
pub mod zendesk_admin;

/// Endpoint names used for the emulator's request counts (the Zendesk
/// API's and the admin endpoints').
pub mod endpoint {
    pub const TICKETS: &str = "tickets_cursor";
    pub const TICKET_EVENTS: &str = "ticket_events";
    pub const TICKET_METRIC_EVENTS: &str = "ticket_metric_events";
    pub const ORGANIZATIONS: &str = "organizations";
    pub const USERS: &str = "users_cursor";
    pub const TICKET: &str = "ticket_show";
    pub const SCHEDULES: &str = "schedules";
    pub const SLA_POLICIES: &str = "sla_policies";
    pub const CUSTOM_STATUSES: &str = "custom_statuses";
    pub const OTHER: &str = "other";
}

/// splitmix64: a tiny, good-enough, deterministic generator (no dependency).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator for one item of a stream (`seed` mixed with `n`).
    pub fn derive(seed: u64, n: u64) -> Self {
        let mut r = Self(seed ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[lo, hi)` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64;
        lo + (self.next_u64() % span) as i64
    }

    /// An index below `n` (0 when `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// An index chosen with the given weights (0 when they are all zero).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return 0;
        }
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }
}

/// URL-safe base64 without padding (cursors travel in query strings).
pub fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64 in either alphabet (standard or URL-safe), padded or not.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    crate::server::decode_base64(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in [
            "",
            "a",
            "ab",
            "abc",
            "1700000000:12345",
            "me@x.com/token:abc",
        ] {
            assert_eq!(
                base64_decode(&base64_encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8");
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    }

    #[test]
    fn rng_is_deterministic() {
        let a: Vec<u64> = (0..5).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut r = Rng::new(1);
        assert!((0..1000).all(|_| (0.0..1.0).contains(&r.unit())));
    }
}
