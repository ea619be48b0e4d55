//! The HTTP side of the adapter: authentication, one GET with
//! its rate-limit and error handling, and reading a body.

use bytes::Bytes;
use serde::Deserialize;

use super::Zendesk;
use crate::sources::http::without_url;
use crate::sources::SourceError;

/// How the adapter authenticates.
#[derive(Clone)]
pub(crate) enum Auth {
    /// `email/token:TOKEN`, basic.
    Token { email: String, token: String },
    /// OAuth access token.
    Bearer(String),
}

impl Auth {
    /// API-token auth with an agent's email, else an OAuth bearer token.
    pub(crate) fn new(email: Option<String>, token: String) -> Self {
        match email {
            Some(email) => Auth::Token { email, token },
            None => Auth::Bearer(token),
        }
    }

    /// Adds the `Authorization` header to a request.
    pub(crate) fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::Token { email, token } => req.basic_auth(format!("{email}/token"), Some(token)),
            Auth::Bearer(token) => req.bearer_auth(token),
        }
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        match self {
            Auth::Token { email, .. } => {
                write!(f, "Token {{ email: {email:?}, token: <redacted> }}")
            }
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

impl Zendesk {
    /// GETs a page's body; [`Self::parse`] reads it.
    pub(super) async fn fetch(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Bytes, SourceError> {
        let url = format!("{}{}", self.base, path);
        let req = self.auth.apply(self.client.get(&url).query(query));
        let resp = req.send().await.map_err(|e| {
            self.stats.response(None, None);
            // The URL (without its query) and the cause: "error sending
            // request" alone says neither where nor why.
            SourceError::Transient(format!("GET {}: {}", shown_url(&url), without_url(&e)))
        })?;
        let status = resp.status();
        // Zendesk sends `X-Rate-Limit-Remaining` (and `ratelimit-remaining`
        // on newer endpoints).
        let remaining = ["x-rate-limit-remaining", "ratelimit-remaining"]
            .iter()
            .find_map(|h| resp.headers().get(*h))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        self.stats.response(Some(status.as_u16()), remaining);
        if status.as_u16() == 429 {
            let wait = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after_seconds)
                .unwrap_or(60);
            return Err(SourceError::RateLimited(wait));
        }
        if status.is_server_error() {
            return Err(SourceError::Transient(format!("GET {path}: HTTP {status}")));
        }
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(SourceError::Fatal(format!(
                "GET {path}: HTTP {status}: check the source's auth (email and API token, or OAuth token)"
            )));
        }
        if !status.is_success() {
            return Err(SourceError::Fatal(format!("GET {path}: HTTP {status}")));
        }
        resp.bytes().await.map_err(|e| {
            SourceError::Transient(format!("GET {path}: reading the body: {}", without_url(&e)))
        })
    }

    /// Parses a page's body straight into `T` (no `Value` tree in between),
    /// borrowing its strings where `T` does: a body that is not JSON is
    /// malformed at `path`, JSON of the wrong shape is malformed in `stream`.
    pub(super) fn parse<'de, T: Deserialize<'de>>(
        &self,
        stream: &str,
        path: &str,
        body: &'de [u8],
    ) -> Result<T, SourceError> {
        from_body(body).map_err(|e| {
            // JSON of the wrong shape is as unusable as a body that is not
            // JSON: both count as parse errors, not only as retries.
            self.stats.parse_error();
            if e.is_data() {
                return SourceError::Malformed {
                    stream: stream.to_string(),
                    message: e.to_string(),
                };
            }
            SourceError::Malformed {
                stream: path.to_string(),
                message: e.to_string(),
            }
        })
    }
}

/// Seconds from a `Retry-After` value. Zendesk has been seen to send two
/// joined by a comma (`50, 53`): the first counts.
fn retry_after_seconds(value: &str) -> Option<u64> {
    value.split(',').next()?.trim().parse().ok()
}

/// `serde_json::from_slice`, with the UTF-8 of the body checked once
/// instead of string by string; a body that is not UTF-8 goes the byte way,
/// which words the error as before.
fn from_body<'de, T: Deserialize<'de>>(body: &'de [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
}

/// `url` without its query and without any user and password in it.
fn shown_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_the_first_of_joined_values() {
        assert_eq!(retry_after_seconds("49"), Some(49));
        assert_eq!(retry_after_seconds("50, 53"), Some(50));
        assert_eq!(retry_after_seconds("soon"), None);
    }

    #[test]
    fn a_shown_url_has_no_query_and_no_credentials() {
        assert_eq!(
            shown_url("https://ops:pw@acme.zendesk.com/api/v2/x.json?cursor=abc"),
            "https://acme.zendesk.com/api/v2/x.json"
        );
        assert_eq!(shown_url("http://127.0.0.1:9/a"), "http://127.0.0.1:9/a");
    }

    #[test]
    fn secrets_never_print() {
        let a = Auth::Token {
            email: "ops@acme.test".into(),
            token: "s3cr3t".into(),
        };
        assert!(!format!("{a:?}").contains("s3cr3t"));
        assert!(!format!("{:?}", Auth::Bearer("s3cr3t".into())).contains("s3cr3t"));
    }
}
