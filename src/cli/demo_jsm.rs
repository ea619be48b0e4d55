//! The Jira Service Management side of `helpdesk-slo demo --helpdesk
//! jira-service-management` (or `jsm`): a synthetic site in the in-process
//! JSM emulator, the source section that points the daemon at it, and new
//! requests arriving while the demo runs.

use std::time::Duration;

use tokio::sync::watch;
use tracing::debug;

use crate::clock::now_unix;
use crate::simulator::jsm::synthetic;
use crate::simulator::jsm::{start, JsmState, Server, ServerOptions, DEMO_EMAIL, DEMO_TOKEN};

/// The embedded policy of the JSM demo: the shipped JSM example, whose
/// plans match the synthetic organizations (premier: organizations 1 and
/// 2; standard: the rest).
pub(super) const EMBEDDED_CONFIG: &str = include_str!("../../examples/jsm.yaml");

/// The synthetic site's project key.
const PROJECT: &str = "SUP";
/// The API user's zone in the emulated Jira, as the example's
/// `user_timezone` says.
const TIMEZONE: chrono_tz::Tz = chrono_tz::America::Los_Angeles;

/// Share of requests answered late: attainment lands near the example's
/// objectives, a little below on some series and above on others.
const LATE_REPLIES: f64 = 0.06;

/// Starts the emulator with `days` of synthetic history ending now, plus
/// one unanswered Highest request per plan created 50 minutes ago (on the
/// 24x7 premier plan it breaches within minutes, so the at-risk API has
/// something to show). Returns the server and how many requests it holds.
pub(super) async fn emulator(
    seed: u64,
    days: u32,
    tickets_per_day: u32,
    now: i64,
) -> std::io::Result<(Server, usize)> {
    let span = i64::from(days) * 86_400;
    let mut site = synthetic::site(&synthetic::Options {
        seed,
        issues: (u64::from(days) * u64::from(tickets_per_day)) as usize,
        start: now - span,
        span,
        now: now - 60,
        project: PROJECT.into(),
        timezone: TIMEZONE,
        late_reply_rate: Some(LATE_REPLIES),
    });
    // Organization 1 is on premier, 3 on standard.
    for org in [1, 3] {
        synthetic::open_request(
            &mut site,
            now - 50 * 60,
            org,
            "1",
            "Demo: production is down",
            PROJECT,
            TIMEZONE,
        );
    }
    let requests = site.issues.len();
    let state = JsmState::new(
        site,
        ServerOptions {
            user_timezone: TIMEZONE,
            ..ServerOptions::default()
        },
    );
    Ok((start(state).await?, requests))
}

/// The `sources:` entry of the demo's config: the example's JSM source
/// polling `server` from a day before the history starts, with the
/// emulator's API user, and no request budget (the emulator has none to
/// protect).
pub(super) fn source_yaml(server: &Server, token_file: &str, start_time: &str) -> String {
    format!(
        "  jsm:\n    kind: jira_service_management\n    url: {}\n    auth: {{ email: {DEMO_EMAIL}, token: {{ file: {token_file} }} }}\n    project: {PROJECT}\n    start_time: {start_time}\n    user_timezone: {}\n    statuses:\n      \"10002\": pending\n      \"10003\": hold\n      \"6\": closed\n    organization_field: {}\n    request_type_field: {}\n    sla_fields: [{}]\n    poll_interval: 5s\n",
        server.base_url(),
        TIMEZONE.name(),
        synthetic::ORGANIZATION_FIELD,
        synthetic::REQUEST_TYPE_FIELD,
        synthetic::FIRST_RESPONSE_FIELD,
    )
}

/// What the banner says of the emulator.
pub(super) fn banner(server: &Server) -> String {
    format!(
        "{} (project {PROJECT}; API user {DEMO_EMAIL}, token {DEMO_TOKEN})",
        server.base_url()
    )
}

/// New requests every few seconds on random organizations, most of them
/// Highest or High, so imminent breaches come and go.
pub(super) async fn new_arrivals(sim: JsmState, seed: u64, mut stop: watch::Receiver<bool>) {
    let mut x = seed | 1;
    let mut next = move || {
        // xorshift: a demo needs variety, not statistics.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let r = next();
        let org = 1 + (r % synthetic::ORGANIZATIONS as u64) as usize;
        // Jira's priority ids: 1 Highest, 2 High, 3 Medium.
        let priority = ["1", "2", "2", "3"][(r >> 8) as usize % 4];
        let created = sim.with_site(|s| {
            synthetic::open_request(
                s,
                now_unix(),
                org,
                priority,
                "Demo: something broke",
                PROJECT,
                TIMEZONE,
            )
        });
        if let Some(key) = created {
            // At debug: one every few seconds would scroll the banner away.
            debug!(request = %key, "a new demo request arrived");
        }
    }
}
