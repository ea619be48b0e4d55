//! iCalendar content lines: unfolding physical lines into logical ones and
//! splitting each into its name, parameters and value.

use super::IcsError;

/// Splits `text` into logical lines, each with the physical line number it starts on.
pub(super) fn unfold(text: &str) -> Result<Vec<(usize, String)>, IcsError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<(usize, String)> = Vec::new();
    // Whether the previous physical line was a content line that a folded line may continue.
    let mut can_continue = false;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let physical = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = physical
            .strip_prefix(' ')
            .or_else(|| physical.strip_prefix('\t'))
        {
            match lines.last_mut() {
                Some((_, logical)) if can_continue => logical.push_str(rest),
                _ => {
                    return Err(IcsError::new(
                        number,
                        "line starts with a space or tab, which marks a folded continuation, \
                         but there is no content line right before it to continue: remove the \
                         leading whitespace or join it to the line it belongs to",
                    ))
                }
            }
        } else if physical.trim().is_empty() {
            can_continue = false;
        } else {
            lines.push((number, physical.to_owned()));
            can_continue = true;
        }
    }
    Ok(lines)
}

/// One content line: `NAME *(;PARAM=VALUE) : VALUE`.
pub(super) struct Property<'a> {
    pub(super) line: usize,
    /// Upper-cased.
    pub(super) name: String,
    /// Upper-cased parameter names with their values (several values joined by commas).
    pub(super) params: Vec<(String, String)>,
    pub(super) value: &'a str,
}

impl Property<'_> {
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(param, _)| param == name)
            .map(|(_, value)| value.as_str())
    }
}

pub(super) fn parse_property(line: usize, text: &str) -> Result<Property<'_>, IcsError> {
    let bad = |what: &str| {
        IcsError::new(
            line,
            format!(
                "{what} in `{}`: a content line is NAME:VALUE or NAME;PARAM=VALUE:VALUE, \
                 e.g. DTSTART;VALUE=DATE:20261224",
                shorten(text)
            ),
        )
    };
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '-';

    let name_end = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
    let name = &text[..name_end];
    if name.is_empty() {
        return Err(bad("no property name"));
    }
    let mut params = Vec::new();
    let mut rest = &text[name_end..];
    loop {
        if let Some(value) = rest.strip_prefix(':') {
            return Ok(Property {
                line,
                name: name.to_ascii_uppercase(),
                params,
                value,
            });
        }
        let Some(after) = rest.strip_prefix(';') else {
            return Err(if rest.is_empty() {
                bad("no `:` between the property name and its value")
            } else {
                bad("unexpected character after the property name")
            });
        };
        let param_end = after
            .find(|c: char| !is_name_char(c))
            .unwrap_or(after.len());
        let param_name = &after[..param_end];
        let Some(mut cursor) = after[param_end..].strip_prefix('=') else {
            return Err(bad("malformed parameter (expected ;NAME=VALUE)"));
        };
        if param_name.is_empty() {
            return Err(bad("malformed parameter (expected ;NAME=VALUE)"));
        }
        let mut values = Vec::new();
        loop {
            if let Some(quoted) = cursor.strip_prefix('"') {
                let Some(close) = quoted.find('"') else {
                    return Err(bad("unterminated quoted parameter value"));
                };
                values.push(&quoted[..close]);
                cursor = &quoted[close + 1..];
            } else {
                let end = cursor.find([',', ';', ':']).unwrap_or(cursor.len());
                values.push(&cursor[..end]);
                cursor = &cursor[end..];
            }
            match cursor.strip_prefix(',') {
                Some(next) => cursor = next,
                None => break,
            }
        }
        params.push((param_name.to_ascii_uppercase(), values.join(",")));
        rest = cursor;
    }
}

/// Shortens a value for quoting in an error message.
pub(super) fn shorten(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    if text.chars().count() <= MAX_CHARS {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(MAX_CHARS).collect();
        short.push_str("...");
        short
    }
}
