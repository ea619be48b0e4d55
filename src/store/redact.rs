//! A store's location fit for logs and messages: shown without its
//! password, wherever it was written.

/// `location` fit for logs and messages: the password of a URL
/// (`scheme://user:PASSWORD@host`) and the value of a `password` query
/// parameter are replaced by `***`. Anything else is shown as it is. When
/// in doubt (an `@` past the host) it hides more than the password, never
/// less.
pub fn redact_location(location: &str) -> String {
    let Some(start) = location.find("://").map(|i| i + 3) else {
        return location.to_string();
    };
    let (head, tail) = location.split_at(start);
    // The user's part ends at the last `@`: a password with an unescaped
    // `/`, `?` or `@` still ends there.
    let tail = match tail.rfind('@') {
        Some(at) => match tail[..at].find(':') {
            Some(colon) => format!("{}:***{}", &tail[..colon], &tail[at..]),
            None => tail.to_string(),
        },
        None => tail.to_string(),
    };
    // A password may be a query parameter as well (libpq reads one).
    let Some((before, query)) = tail.split_once('?') else {
        return format!("{head}{tail}");
    };
    let (query, fragment) = match query.find('#') {
        Some(h) => query.split_at(h),
        None => (query, ""),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
            _ => param.to_string(),
        })
        .collect();
    format!("{head}{before}?{}{fragment}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::redact_location;

    #[test]
    fn a_location_is_shown_with_its_password_replaced() {
        let cases = [
            ("store.sqlite", "store.sqlite"),
            ("postgres://db/helpdesk", "postgres://db/helpdesk"),
            ("postgres://slo@db/helpdesk", "postgres://slo@db/helpdesk"),
            (
                "postgres://slo:pw@db/helpdesk",
                "postgres://slo:***@db/helpdesk",
            ),
            ("postgres://slo:pw@db", "postgres://slo:***@db"),
            ("postgres://slo:p@ss@db:5432", "postgres://slo:***@db:5432"),
            ("postgres://slo:p/s?s@db/x", "postgres://slo:***@db/x"),
            (
                "postgres://db/x?user=slo&password=pw&sslmode=require",
                "postgres://db/x?user=slo&password=***&sslmode=require",
            ),
            (
                "postgres://slo:pw@db/x?PASSWORD=pw#frag",
                "postgres://slo:***@db/x?PASSWORD=***#frag",
            ),
        ];
        for (location, shown) in cases {
            assert_eq!(redact_location(location), shown, "{location}");
        }
    }
}
