//! What every adapter's HTTP side shares: the client, the secret it
//! authenticates with (read from an environment variable or a file, never
//! from the config), and reqwest's errors worded without their URL.
//!
//! Each adapter keeps what is its helpdesk's own: how it authenticates,
//! which headers carry its rate limit, what its error bodies say.

use std::time::Duration;

use crate::policy::spec::SecretSpec;

/// The HTTP client every helpdesk request goes through.
pub(crate) fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("helpdesk-slo/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Reads a secret from where the config says; `what` names it in errors
/// ("API token", "API key"). The secret itself is never in an error.
pub fn read_secret(spec: &SecretSpec, what: &str) -> Result<String, String> {
    match (&spec.env, &spec.file) {
        (Some(name), None) => std::env::var(name)
            .map(|v| v.trim().to_string())
            .map_err(|_| {
                // Only a name that looks like one is printed: a token pasted
                // under `env:` must not reach a log.
                let shown = if SecretSpec::is_variable_name(name) {
                    name.as_str()
                } else {
                    "(its name is not printed)"
                };
                format!("environment variable {shown} (named in the config for the {what}) is not set")
            }),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|v| v.trim().to_string())
            .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display())),
        _ => Err(format!(
            "the {what} needs exactly one of `env: VARIABLE` or `file: PATH`; the secret itself never goes in the config"
        )),
    }
}

/// reqwest's error text without the URL (the caller names it, without
/// its query string) and with its causes (`error sending request` alone
/// hides why: refused, DNS, TLS, …), each once.
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(&format!(" ({})", url.as_str()), "");
        text = text.replace(url.as_str(), "");
    }
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let said = c.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    if e.is_timeout() {
        text = format!("timed out ({text})");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_secret_names_what_it_is_and_never_a_pasted_token() {
        let named = SecretSpec {
            env: Some("HELPDESK_SLO_TEST_UNSET_VARIABLE".into()),
            file: None,
        };
        let e = read_secret(&named, "API key").unwrap_err();
        assert!(e.contains("HELPDESK_SLO_TEST_UNSET_VARIABLE"), "{e}");
        assert!(e.contains("for the API key"), "{e}");
        let pasted = SecretSpec {
            env: Some("s3cr3t-token-value/xyz".into()),
            file: None,
        };
        let e = read_secret(&pasted, "API token").unwrap_err();
        assert!(!e.contains("s3cr3t"), "{e}");
        let neither = SecretSpec {
            env: None,
            file: None,
        };
        assert!(read_secret(&neither, "API token")
            .unwrap_err()
            .contains("exactly one of"));
    }
}
