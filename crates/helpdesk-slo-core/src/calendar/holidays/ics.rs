//! Reading an iCalendar text: [`parse_ics`] walks its components and hands
//! each top-level VEVENT's properties to an event, and [`IcsError`] says
//! where and what is wrong.
//!
//! The subset read is in the [`super`] module docs.

use chrono::NaiveDate;

use super::events::{closed_dates, Event, EventBuilder};
use super::lines::{parse_property, shorten, unfold, Property};

/// An error in an iCalendar text: the physical line where the offending (logical) line
/// starts, 1-based, and what is wrong and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IcsError {
    pub line: usize,
    pub message: String,
}

impl IcsError {
    pub(super) fn new(line: usize, message: impl Into<String>) -> Self {
        IcsError {
            line,
            message: message.into(),
        }
    }
}

/// An iCalendar (RFC 5545) text's all-day VEVENTs as closed dates (sorted, deduplicated).
///
/// See the module docs for the subset read.
///
/// # Errors
///
/// [`IcsError`] for the first problem found, with the physical line number where the
/// offending logical line starts (for a VEVENT without DTSTART or an unclosed component,
/// its BEGIN line): a timed (non-all-day) event, a malformed date, DTEND not after DTSTART,
/// a VEVENT without DTSTART, unbalanced BEGIN/END, no VCALENDAR, an unsupported RRULE or
/// DURATION, a repeated single-valued property, or a malformed content line.
pub fn parse_ics(text: &str) -> Result<Vec<NaiveDate>, IcsError> {
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut saw_calendar = false;
    let mut current: Option<EventBuilder> = None;
    let mut events: Vec<Event> = Vec::new();

    for (line, content) in unfold(text)? {
        let prop = match parse_property(line, &content) {
            Ok(prop) => prop,
            Err(_) if stack.is_empty() && !saw_calendar => {
                return Err(IcsError::new(
                    line,
                    format!(
                        "expected BEGIN:VCALENDAR, found `{}`: an iCalendar file starts with \
                         BEGIN:VCALENDAR and ends with END:VCALENDAR",
                        shorten(&content)
                    ),
                ))
            }
            Err(error) => return Err(error),
        };
        match prop.name.as_str() {
            "BEGIN" => {
                let component = component_name(&prop)?;
                match (stack.len(), component.as_str()) {
                    (0, "VCALENDAR") => saw_calendar = true,
                    (0, _) => {
                        return Err(IcsError::new(
                            line,
                            format!(
                                "expected BEGIN:VCALENDAR, found BEGIN:{component}: an iCalendar \
                                 file wraps its events in BEGIN:VCALENDAR ... END:VCALENDAR"
                            ),
                        ))
                    }
                    (_, "VCALENDAR") => {
                        return Err(IcsError::new(
                            line,
                            format!(
                                "BEGIN:VCALENDAR inside {} (BEGIN on line {}): a VCALENDAR \
                                 cannot be nested; close the open one with END:{} first",
                                stack_top_name(&stack),
                                stack_top_line(&stack),
                                stack_top_name(&stack)
                            ),
                        ))
                    }
                    (1, "VEVENT") => current = Some(EventBuilder::new(line)),
                    _ => {}
                }
                stack.push((component, line));
            }
            "END" => {
                let component = component_name(&prop)?;
                match stack.pop() {
                    None => {
                        return Err(IcsError::new(
                            line,
                            format!(
                                "END:{component} without a matching BEGIN:{component} \
                                 (no component is open here)"
                            ),
                        ))
                    }
                    Some((open, open_line)) if open != component => {
                        return Err(IcsError::new(
                            line,
                            format!(
                                "END:{component} does not match BEGIN:{open} on line \
                                 {open_line}: expected END:{open}"
                            ),
                        ))
                    }
                    Some(_) => {
                        if component == "VEVENT" && stack.len() == 1 {
                            if let Some(builder) = current.take() {
                                events.push(builder.finish()?);
                            }
                        }
                    }
                }
            }
            name => {
                if stack.is_empty() {
                    let message = if saw_calendar {
                        format!(
                            "{name} outside of BEGIN:VCALENDAR ... END:VCALENDAR: every \
                             property belongs inside a VCALENDAR"
                        )
                    } else {
                        format!(
                            "expected BEGIN:VCALENDAR, found {name}: an iCalendar file starts \
                             with BEGIN:VCALENDAR and ends with END:VCALENDAR"
                        )
                    };
                    return Err(IcsError::new(line, message));
                }
                let in_event = stack.len() == 2 && stack_top_name(&stack) == "VEVENT";
                if let (true, Some(builder)) = (in_event, current.as_mut()) {
                    builder.add(&prop)?;
                }
            }
        }
    }

    if let Some((open, open_line)) = stack.last() {
        return Err(IcsError::new(
            *open_line,
            format!("BEGIN:{open} is never closed: expected END:{open} before the end of the text"),
        ));
    }
    if !saw_calendar {
        return Err(IcsError::new(
            1,
            "no BEGIN:VCALENDAR found, the text has no content lines: an iCalendar file \
             starts with BEGIN:VCALENDAR and ends with END:VCALENDAR",
        ));
    }

    Ok(closed_dates(events))
}

fn stack_top_name(stack: &[(String, usize)]) -> &str {
    stack.last().map_or("", |(name, _)| name.as_str())
}

fn stack_top_line(stack: &[(String, usize)]) -> usize {
    stack.last().map_or(0, |(_, line)| *line)
}

/// The component name of a BEGIN or END line, upper-cased.
fn component_name(prop: &Property<'_>) -> Result<String, IcsError> {
    let name = prop.value.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(IcsError::new(
            prop.line,
            format!(
                "{}:{} does not name a component: expected e.g. {}:VCALENDAR or {}:VEVENT",
                prop.name,
                shorten(prop.value),
                prop.name,
                prop.name
            ),
        ));
    }
    Ok(name.to_ascii_uppercase())
}
