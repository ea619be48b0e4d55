//! Finds the line of a key path in YAML text, for errors found after the
//! file was read (relations between sections), when serde's position is
//! gone. Handles block mappings, which is how configs are written; for a key
//! it cannot find it returns the line of the deepest parent it found.

/// The 1-based line of `path` (e.g. `["plans", "premier", "calendar"]`);
/// a segment may name an item of a block list, `closures[1]`.
pub(crate) fn line_of(text: &str, path: &[String]) -> Option<usize> {
    let mut found = None;
    let mut depth = 0;
    let mut parent_indent: Option<usize> = None;
    // The list item being looked for under the key just found, and how
    // many items were passed.
    let mut item: Option<(usize, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if let Some(p) = parent_indent {
            // A block list may sit at its key's indent (`key:\n- a`).
            let in_list = item.is_some() && indent == p && content.starts_with('-');
            if indent <= p && !in_list {
                // Left the parent's block without finding the key.
                break;
            }
        }
        if let Some((want, passed)) = item {
            if content.starts_with('-') && parent_indent.is_some_and(|p| indent <= p + 2) {
                if passed == want {
                    found = Some(i + 1);
                    // The item's keys are deeper than its dash.
                    parent_indent = Some(indent);
                    item = None;
                    depth += 1;
                } else {
                    item = Some((want, passed + 1));
                }
            }
            continue;
        }
        let Some(want) = path.get(depth) else { break };
        let (name, index) = match want.strip_suffix(']').and_then(|w| w.split_once('[')) {
            Some((name, n)) => (name, n.parse::<usize>().ok()),
            None => (want.as_str(), None),
        };
        let key = content
            .split_once(':')
            .map(|(k, _)| k.trim().trim_matches(|c| c == '"' || c == '\''));
        if key == Some(name) {
            found = Some(i + 1);
            parent_indent = Some(indent);
            match index {
                Some(n) => item = Some((n, 0)),
                None => depth += 1,
            }
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

    #[test]
    fn finds_items_of_block_lists() {
        let text = "calendars:\n  a:\n    closures:\n      - { date: x }\n      # c\n      - { date: y }\n    holidays:\n    - 2026-12-25\n    - file: b.ics\n";
        assert_eq!(
            line_of(text, &p(&["calendars", "a", "closures[0]"])),
            Some(4)
        );
        assert_eq!(
            line_of(text, &p(&["calendars", "a", "closures[1]"])),
            Some(6)
        );
        assert_eq!(
            line_of(text, &p(&["calendars", "a", "holidays[1]"])),
            Some(9)
        );
        // An item past the end: the list's key.
        assert_eq!(
            line_of(text, &p(&["calendars", "a", "closures[5]"])),
            Some(3)
        );
    }
}
