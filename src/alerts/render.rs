//! Writing rule files: Prometheus rule-file YAML as people would write it
//! (block scalars for expressions, one key a line), and PromQL literals.

use std::fmt::Write;

/// One alerting or recording rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// `alert` or `record`.
    kind: &'static str,
    pub name: String,
    pub expr: String,
    pub for_: Option<String>,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
}

impl Rule {
    pub fn alert(name: &str, expr: String) -> Self {
        Rule {
            kind: "alert",
            name: name.to_string(),
            expr,
            for_: None,
            labels: Vec::new(),
            annotations: Vec::new(),
        }
    }

    pub fn record(name: &str, expr: String) -> Self {
        Rule {
            kind: "record",
            ..Rule::alert(name, expr)
        }
    }

    pub fn for_(mut self, d: &str) -> Self {
        self.for_ = Some(d.to_string());
        self
    }

    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.labels.push((k.to_string(), v.to_string()));
        self
    }

    pub fn annotate(mut self, k: &str, v: &str) -> Self {
        self.annotations.push((k.to_string(), v.to_string()));
        self
    }
}

/// A rule group: its rules are evaluated in order, so a recording rule is
/// fresh for the alerts after it.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// A whole rule file: the comment header, then the groups.
pub(crate) fn rule_file(header: &str, groups: &[Group]) -> String {
    let mut out = String::from(header);
    out.push_str("\ngroups:\n");
    for g in groups {
        let _ = writeln!(out, "  - name: {}", quoted(&g.name));
        out.push_str("    rules:\n");
        for r in &g.rules {
            let _ = writeln!(out, "      - {}: {}", r.kind, quoted(&r.name));
            block(&mut out, "        ", "expr", &r.expr);
            if let Some(f) = &r.for_ {
                let _ = writeln!(out, "        for: {f}");
            }
            map(&mut out, "        ", "labels", &r.labels);
            map(&mut out, "        ", "annotations", &r.annotations);
        }
    }
    out
}

/// `key: |-` and the text indented under it (a one-line text stays inline).
pub(crate) fn block(out: &mut String, indent: &str, key: &str, text: &str) {
    if !text.contains('\n') {
        let _ = writeln!(out, "{indent}{key}: {}", quoted(text));
        return;
    }
    let _ = writeln!(out, "{indent}{key}: |-");
    for line in text.lines() {
        let _ = writeln!(out, "{indent}  {line}");
    }
}

pub(crate) fn map(out: &mut String, indent: &str, key: &str, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}{key}:");
    for (k, v) in pairs {
        let _ = writeln!(out, "{indent}  {k}: {}", quoted(v));
    }
}

/// A YAML scalar: plain when that reads back as the same string, else
/// double-quoted (JSON string syntax is valid YAML).
pub(crate) fn quoted(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':'))
        && !s.ends_with(':')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

/// A PromQL string literal.
pub(crate) fn str_lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A regular expression (RE2) matching exactly one of the names.
pub(crate) fn regex_alternatives(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            let mut e = String::new();
            for c in n.chars() {
                if "\\.+*?()|[]{}^$".contains(c) {
                    e.push('\\');
                }
                e.push(c);
            }
            e
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// A Prometheus duration: `10m`, `1h30m`, `1d`.
pub(crate) fn duration(seconds: u32) -> String {
    if seconds == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = seconds;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

/// Parses a duration written `90s`, `10m`, `1h30m`, `1d` into seconds.
pub fn parse_duration(text: &str) -> Result<u32, String> {
    let bad = || {
        format!("\"{text}\" is not a duration; write a number and a unit, largest first: 90s, 10m, 1h30m, 1d")
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut last_unit = u64::MAX;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let size: u64 = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        if digits.is_empty() || size >= last_unit {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(size));
        digits.clear();
        last_unit = size;
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    u32::try_from(total).map_err(|_| format!("\"{text}\" is too long"))
}
