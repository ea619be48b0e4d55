//! The agent UI's ticket page (`/agent/tickets/{id}`), as far as a person
//! following a report's or the API's ticket link needs it: the ticket's
//! subject, status, priority and its public and private comments in order.
//!
//! Zendesk serves its agent application there, behind a sign-in; the
//! emulator answers with a plain HTML page and no sign-in, so the links the
//! demo prints lead somewhere. Nothing of the adapter reads it.

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::StatusCode;

use super::json::html_escape as escape;
use super::respond::{bytes_response, Resp};
use crate::simulator::generator::{ChildKind, Dataset, Id, TicketStatus};

/// The ticket id of an agent UI path, `/agent/tickets/7` → 7.
pub(super) fn ticket_id(path: &str) -> Option<Id> {
    path.strip_prefix("/agent/tickets/")?
        .trim_end_matches('/')
        .parse()
        .ok()
}

/// The page of ticket `id`, or a 404 page.
pub(super) fn page(data: &Dataset, id: Id) -> Resp {
    let (status, body) = match data.ticket(id) {
        Some(t) if t.status != TicketStatus::Deleted => {
            let mut html = format!(
                "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>#{id} {subject}</title></head><body>\n\
                 <h1>#{id} {subject}</h1>\n<p>Status: {status} · Priority: {priority} · Created: {created} · Updated: {updated}</p>\n<ol>\n",
                subject = escape(&t.subject),
                status = t.status.as_str(),
                priority = t.priority.as_deref().map_or("-".to_string(), escape),
                created = crate::time::format_instant(t.created_at),
                updated = crate::time::format_instant(t.updated_at),
            );
            for audit in &t.audits {
                for event in &audit.events {
                    if let ChildKind::Comment {
                        author_id,
                        public,
                        body,
                        ..
                    } = &event.kind
                    {
                        let author = data
                            .users
                            .iter()
                            .find(|u| u.id == *author_id)
                            .map_or_else(|| format!("user {author_id}"), |u| escape(&u.name));
                        html.push_str(&format!(
                            "<li><p><b>{author}</b> · {at}{note}</p><p>{body}</p></li>\n",
                            at = crate::time::format_instant(audit.timestamp),
                            note = if *public { "" } else { " · internal note" },
                            body = escape(body),
                        ));
                    }
                }
            }
            html.push_str("</ol>\n</body></html>\n");
            (StatusCode::OK, html)
        }
        _ => (
            StatusCode::NOT_FOUND,
            format!("<!doctype html>\n<html><body><h1>No ticket #{id}</h1></body></html>\n"),
        ),
    };
    let mut r = bytes_response(status, Bytes::from(body));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_paths_name_their_ticket() {
        assert_eq!(ticket_id("/agent/tickets/42"), Some(42));
        assert_eq!(ticket_id("/agent/tickets/42/"), Some(42));
        assert_eq!(ticket_id("/agent/tickets/x"), None);
        assert_eq!(ticket_id("/api/v2/tickets/42.json"), None);
    }
}
