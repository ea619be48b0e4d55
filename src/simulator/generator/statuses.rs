//! The account's custom ticket statuses (Zendesk's "Custom Ticket
//! Statuses"): their ids, the standard set, and each status's default.

use super::{Id, TicketStatus};

/// A custom ticket status (Zendesk's "Custom Ticket Statuses" API).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomStatus {
    pub id: Id,
    /// `new`, `open`, `pending`, `hold` or `solved`.
    pub category: &'static str,
    pub agent_label: &'static str,
    pub end_user_label: &'static str,
    pub description: Option<&'static str>,
    pub active: bool,
    pub default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The default status of each category (ids as in a real account).
pub const STATUS_NEW: Id = 4_044_356;
pub const STATUS_OPEN: Id = 4_044_376;
pub const STATUS_PENDING: Id = 4_044_396;
pub const STATUS_HOLD: Id = 4_044_416;
pub const STATUS_SOLVED: Id = 4_044_436;
/// A custom status in the `hold` category.
pub const STATUS_WAITING_ON_THIRD_PARTY: Id = 4_044_456;
/// A custom status in the `open` category.
pub const STATUS_ESCALATED: Id = 4_044_476;
/// A custom status in the `pending` category.
pub const STATUS_AWAITING_CUSTOMER_TEST: Id = 4_044_496;

/// The account's custom statuses: each category's default, and a few
/// custom ones.
pub fn standard_custom_statuses() -> Vec<CustomStatus> {
    // 2022-12-01T00:00:00Z, when the account turned custom statuses on.
    let at = 1_669_852_800;
    let s = |id, category, label, default, description| CustomStatus {
        id,
        category,
        agent_label: label,
        end_user_label: match category {
            "new" | "open" | "hold" => "Open",
            "pending" => "Awaiting your reply",
            _ => "Solved",
        },
        description,
        active: true,
        default,
        created_at: at,
        updated_at: at,
    };
    vec![
        s(
            STATUS_NEW,
            "new",
            "New",
            true,
            Some("Ticket is awaiting assignment to an agent"),
        ),
        s(
            STATUS_OPEN,
            "open",
            "Open",
            true,
            Some("Staff is working on the ticket"),
        ),
        s(
            STATUS_PENDING,
            "pending",
            "Pending",
            true,
            Some("Staff is waiting for the requester to reply"),
        ),
        s(
            STATUS_HOLD,
            "hold",
            "On-hold",
            true,
            Some("Staff is waiting for a third party"),
        ),
        s(
            STATUS_SOLVED,
            "solved",
            "Solved",
            true,
            Some("The ticket has been solved"),
        ),
        s(
            STATUS_WAITING_ON_THIRD_PARTY,
            "hold",
            "Waiting on third party",
            false,
            Some("A vendor or partner has to act"),
        ),
        s(
            STATUS_ESCALATED,
            "open",
            "Escalated to engineering",
            false,
            None,
        ),
        s(
            STATUS_AWAITING_CUSTOMER_TEST,
            "pending",
            "Awaiting customer test",
            false,
            None,
        ),
    ]
}

/// The default custom status of a system status (closed: solved).
pub fn default_custom_status(s: TicketStatus) -> Id {
    match s {
        TicketStatus::New => STATUS_NEW,
        TicketStatus::Open => STATUS_OPEN,
        TicketStatus::Pending => STATUS_PENDING,
        TicketStatus::Hold => STATUS_HOLD,
        TicketStatus::Solved | TicketStatus::Closed | TicketStatus::Deleted => STATUS_SOLVED,
    }
}

pub(super) fn category_status(category: &str) -> Option<TicketStatus> {
    Some(match category {
        "new" => TicketStatus::New,
        "open" => TicketStatus::Open,
        "pending" => TicketStatus::Pending,
        "hold" => TicketStatus::Hold,
        "solved" => TicketStatus::Solved,
        _ => return None,
    })
}
