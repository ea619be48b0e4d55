//! Finds the line of a key path in YAML text, for errors found after the
//! file was read (relations between sections), when serde's position is
//! gone. Handles block mappings, which is how configs are written; for a key
//! it cannot find it returns the line of the deepest parent it found.

/// The 1-based line of `path` (e.g. `["plans", "premier", "calendar"]`).
pub(crate) fn line_of(text: &str, path: &[String]) -> Option<usize> {
    let mut found = None;
    let mut depth = 0;
    let mut parent_indent: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let Some(want) = path.get(depth) else { break };
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if let Some(p) = parent_indent {
            if indent <= p {
                // Left the parent's block without finding the key.
                break;
            }
        }
        let key = content
            .split_once(':')
            .map(|(k, _)| k.trim().trim_matches(|c| c == '"' || c == '\''));
        if key == Some(want.as_str()) {
            found = Some(i + 1);
            parent_indent = Some(indent);
            depth += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn finds_nested_keys_and_falls_back_to_parents() {
        let text = "calendars:\n  a: {}\nplans:\n  gold:\n    calendar: a\n    # c\n    targets:\n      urgent: {}\n  silver:\n    calendar: b\n";
        assert_eq!(line_of(text, &p(&["plans", "gold", "calendar"])), Some(5));
        assert_eq!(
            line_of(text, &p(&["plans", "gold", "targets", "urgent"])),
            Some(8)
        );
        assert_eq!(
            line_of(text, &p(&["plans", "silver", "calendar"])),
            Some(10)
        );
        assert_eq!(line_of(text, &p(&["plans", "gold", "nope"])), Some(4));
        assert_eq!(line_of(text, &p(&["nothing"])), None);
    }
}
