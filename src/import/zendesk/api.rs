//! Reading the account: paged requests with retries, rate limits and auth.

use super::*;

pub(super) struct Api {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    pub(super) auth: Auth,
    /// Only to scrub it from any text that reaches an error.
    pub(super) token: String,
    pub(super) retry_wait: Duration,
}

pub(super) const ATTEMPTS: u32 = 4;
pub(super) const MAX_PAGES: usize = 1000;

impl Api {
    fn redact(&self, text: &str) -> String {
        if self.token.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.token, "<redacted>")
        }
    }

    /// The path and query of a URL on the account, for messages.
    fn path_of<'a>(&self, url: &'a str) -> &'a str {
        url.strip_prefix(&self.base).unwrap_or(url)
    }

    /// GETs one URL, with retries; the parsed JSON body.
    async fn get(&self, url: &str) -> Result<Value, ImportError> {
        let path = self.path_of(url).to_string();
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let wait = self.retry_wait * 2u32.pow(attempt - 1);
            let resp = match self.auth.apply(self.client.get(url)).send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("GET {path}: {}", without_url(&e));
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            let status = resp.status();
            if status.as_u16() == 429 {
                let after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(60)
                    .min(300);
                last = format!("GET {path}: HTTP 429, rate limited (Retry-After {after}s)");
                tokio::time::sleep(Duration::from_secs(after.max(1))).await;
                continue;
            }
            if status.is_server_error() {
                last = format!("GET {path}: HTTP {status}");
                tokio::time::sleep(wait).await;
                continue;
            }
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    last = format!("GET {path}: reading the body: {}", without_url(&e));
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            if !status.is_success() {
                return Err(self.status_error(&path, status, &bytes));
            }
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    // A body cut off in transit is worth another try.
                    last = format!("GET {path}: the body is not JSON ({e})");
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let text = self.redact(&last);
        Err(if text.contains("not JSON") {
            ImportError::Malformed(format!("{text}; gave up after {ATTEMPTS} attempts"))
        } else {
            ImportError::Http(format!("{text}; gave up after {ATTEMPTS} attempts"))
        })
    }

    fn status_error(&self, path: &str, status: reqwest::StatusCode, body: &[u8]) -> ImportError {
        // Zendesk's error bodies: {"error": "...", "description": "..."} or
        // {"error": {"title": "...", "message": "..."}}.
        let said = serde_json::from_slice::<Value>(body)
            .ok()
            .map(|v| {
                let mut parts = Vec::new();
                for key in ["error", "description", "title", "message"] {
                    match v.get(key) {
                        Some(Value::String(s)) => parts.push(s.clone()),
                        Some(Value::Object(o)) => {
                            for k in ["title", "message"] {
                                if let Some(Value::String(s)) = o.get(k) {
                                    parts.push(s.clone());
                                }
                            }
                        }
                        _ => {}
                    }
                }
                parts.join(": ")
            })
            .filter(|s| !s.is_empty())
            .map(|s| {
                let s: String = s.chars().take(200).collect();
                format!(" (Zendesk says: {})", self.redact(&s))
            })
            .unwrap_or_default();
        match status.as_u16() {
            401 => ImportError::Auth(format!(
                "GET {path}: HTTP {status}{said}: Zendesk did not accept the credentials; check --url, --email (the agent whose API token this is; leave it out for an OAuth access token) and the token"
            )),
            403 => ImportError::Auth(format!(
                "GET {path}: HTTP {status}{said}: the credentials are valid but may not read this; SLA policies and schedules need an admin's token (and SLA policies a Support Professional plan or above)"
            )),
            404 => ImportError::Http(format!(
                "GET {path}: HTTP {status}{said}: not found; check that --url is the Zendesk account (such as https://acme.zendesk.com) and that the account has SLA policies (Support Professional or above)"
            )),
            _ => ImportError::Http(format!("GET {path}: HTTP {status}{said}")),
        }
    }

    /// Every item of a list, following `next_page` while it stays on the
    /// account.
    async fn list(&self, path: &str, key: &str) -> Result<Vec<Value>, ImportError> {
        let mut url = format!("{}{}", self.base, path);
        let mut seen = BTreeSet::new();
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            seen.insert(url.clone());
            let page = self.get(&url).await?;
            let list = page.get(key).and_then(Value::as_array).ok_or_else(|| {
                ImportError::Malformed(format!(
                    "GET {}: the response has no `{key}` list",
                    self.path_of(&url)
                ))
            })?;
            items.extend(list.iter().cloned());
            match page.get("next_page").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    if !next.starts_with(&format!("{}/", self.base)) {
                        return Err(ImportError::Malformed(format!(
                            "GET {}: next_page points away from the account ({}); not following it with the account's credentials",
                            self.path_of(&url),
                            self.redact(next)
                        )));
                    }
                    if seen.contains(next) {
                        return Err(ImportError::Malformed(format!(
                            "GET {}: next_page repeats a page already read",
                            self.path_of(&url)
                        )));
                    }
                    url = next.to_string();
                }
                _ => return Ok(items),
            }
        }
        Err(ImportError::Malformed(format!(
            "GET {path}: more than {MAX_PAGES} pages"
        )))
    }

    pub(super) async fn account(&self) -> Result<Account, ImportError> {
        let mut schedules: Vec<ZSchedule> = Vec::new();
        for v in self
            .list("/api/v2/business_hours/schedules.json", "schedules")
            .await?
        {
            schedules.push(serde_json::from_value(v).map_err(|e| {
                ImportError::Malformed(format!(
                    "GET /api/v2/business_hours/schedules.json: a schedule is not as documented: {e}"
                ))
            })?);
        }
        for s in &mut schedules {
            let id = id_text(&s.id);
            let path = format!("/api/v2/business_hours/schedules/{id}/holidays.json");
            for v in self.list(&path, "holidays").await? {
                s.holidays.push(serde_json::from_value(v).map_err(|e| {
                    ImportError::Malformed(format!(
                        "GET {path}: a holiday is not as documented: {e}"
                    ))
                })?);
            }
        }
        let mut policies = Vec::new();
        for v in self
            .list("/api/v2/slas/policies.json", "sla_policies")
            .await?
        {
            policies.push(serde_json::from_value(v).map_err(|e| {
                ImportError::Malformed(format!(
                    "GET /api/v2/slas/policies.json: a policy is not as documented: {e}"
                ))
            })?);
        }
        Ok(Account {
            schedules,
            policies,
        })
    }
}

/// An id (number or string) as text.
pub(super) fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A condition value as text (lists joined by spaces, like Zendesk's tags).
pub(super) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}
