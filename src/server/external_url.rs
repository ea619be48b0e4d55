//! `--web.external-url`: where users reach the daemon (through a reverse
//! proxy, an ingress, TLS in front), as Prometheus and Alertmanager take
//! it. Links the daemon hands out (the reports in the JSON API) and links in
//! the alert rules it generates start with it, instead of the address a
//! scraper used, which is often a pod's internal one and plain HTTP.

use std::fmt;
use std::str::FromStr;

/// An absolute `http` or `https` URL without a query or fragment, kept
/// without its trailing `/` so that paths are appended to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUrl(String);

impl ExternalUrl {
    /// The URL, without a trailing `/` (`https://slo.example.com/helpdesk`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ExternalUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<ExternalUrl, String> {
        let valid = "an absolute http:// or https:// URL without a query, such as \
                     https://slo.example.com or https://example.com/helpdesk-slo";
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| format!("\"{text}\" is not {valid}"))?;
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() || host.contains('@') {
            return Err(format!(
                "\"{text}\" has no host (or has a user in it); use {valid}"
            ));
        }
        if text.contains(['?', '#']) || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "\"{text}\" has a query, fragment or space; use {valid}"
            ));
        }
        Ok(ExternalUrl(text.trim_end_matches('/').to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_urls_are_absolute_http_without_a_trailing_slash() {
        let u: ExternalUrl = "https://slo.example.com/".parse().unwrap();
        assert_eq!(u.as_str(), "https://slo.example.com");
        let u: ExternalUrl = "http://proxy:8080/helpdesk-slo".parse().unwrap();
        assert_eq!(u.to_string(), "http://proxy:8080/helpdesk-slo");
        for bad in [
            "slo.example.com",
            "ftp://x",
            "https://",
            "https:///path",
            "https://a@b",
            "https://x/?q=1",
            "https://x/#f",
            "https://x y",
        ] {
            let e = bad.parse::<ExternalUrl>().unwrap_err();
            assert!(e.contains(bad) && e.contains("https://"), "{bad}: {e}");
        }
    }
}
