//! The Freshdesk side of `helpdesk-slo demo --helpdesk freshdesk`: a
//! synthetic account in the in-process Freshdesk emulator, served with its
//! daily activities export for the whole history (so every ticket's status
//! history is exact, none approximated), the source section that points
//! the daemon at it, and new tickets arriving while the demo runs.

use std::time::Duration;

use tokio::sync::watch;
use tracing::debug;

use crate::clock::now_unix;
use crate::simulator::freshdesk::synthetic::{self, company_plan, COMPANIES, FIRST_COMPANY};
use crate::simulator::freshdesk::{start, FdState, Server, ServerOptions, DEMO_API_KEY};

/// The embedded policy of the Freshdesk demo: the shipped Freshdesk
/// example, whose plans match the synthetic companies' `plan` field.
pub(super) const EMBEDDED_CONFIG: &str = include_str!("../../examples/freshdesk.yaml");

/// Share of tickets answered late: attainment lands a little below the
/// example's objectives on some series and above on others.
const LATE_REPLIES: f64 = 0.03;

/// Starts the emulator with `days` of synthetic history ending now, plus
/// one unanswered urgent ticket per plan created 50 minutes ago (on the
/// 24x7 plan it breaches within minutes, so the at-risk API has something
/// to show). Returns the server and how many tickets it holds.
pub(super) async fn emulator(
    seed: u64,
    days: u32,
    tickets_per_day: u32,
    now: i64,
) -> std::io::Result<(Server, usize)> {
    let span = i64::from(days) * 86_400;
    let mut account = synthetic::account(&synthetic::Options {
        seed,
        tickets: (u64::from(days) * u64::from(tickets_per_day)) as usize,
        start: now - span,
        span,
        now: now - 60,
        late_reply_rate: Some(LATE_REPLIES),
        sla: None,
    });
    let mut plans_seen = Vec::new();
    for company in FIRST_COMPANY..FIRST_COMPANY + COMPANIES {
        if plans_seen.contains(&company_plan(company)) {
            continue;
        }
        plans_seen.push(company_plan(company));
        synthetic::open_ticket(
            &mut account,
            now - 50 * 60,
            company,
            4,
            "Demo: production is down",
        );
    }
    let tickets = account.tickets.len();
    let state = FdState::new(
        account,
        ServerOptions {
            // Freshdesk keeps export files 30 days; the demo's account
            // keeps its whole history, so no ticket is approximated.
            export_retention_days: i64::from(days) + 2,
            ..ServerOptions::default()
        },
    );
    Ok((start(state).await?, tickets))
}

/// The `sources:` entry of the demo's config: the Freshdesk source polling
/// `server` from a day before the history starts, with the example's
/// custom statuses, and no request budget (the emulator has none to
/// protect).
pub(super) fn source_yaml(server: &Server, key_file: &str, start_time: &str) -> String {
    format!(
        "  freshdesk:\n    kind: freshdesk\n    url: {}\n    api_key: {{ file: {key_file} }}\n    start_time: {start_time}\n    poll_interval: 5s\n    history: activities_export\n    custom_statuses:\n      \"6\": pending\n      \"9\": hold\n    outbound_email: ignore\n",
        server.base_url()
    )
}

/// What the banner says of the emulator.
pub(super) fn banner(server: &Server) -> String {
    format!(
        "{} (API key {DEMO_API_KEY}; export files at {})",
        server.base_url(),
        server.files_url()
    )
}

/// New tickets every few seconds on random companies, most of them urgent
/// or high, so imminent breaches come and go.
pub(super) async fn new_arrivals(sim: FdState, seed: u64, mut stop: watch::Receiver<bool>) {
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
        let company = FIRST_COMPANY + r % COMPANIES;
        // Freshdesk's priorities: 4 Urgent, 3 High, 2 Medium.
        let priority = [4, 3, 3, 2][(r >> 8) as usize % 4];
        let created = sim.with_account(|a| {
            synthetic::open_ticket(a, now_unix(), company, priority, "Demo: something broke")
        });
        if let Some(id) = created {
            // At debug: one every few seconds would scroll the banner away.
            debug!(ticket = id, "a new demo ticket arrived");
        }
    }
}
