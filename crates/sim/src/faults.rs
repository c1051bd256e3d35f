//! Faults injected through the admin API, matched against ARM requests.

use serde::{Deserialize, Serialize};

/// One injected fault. Matches requests by method (any when absent) and by a case-insensitive
/// substring of the path; applies to the next `times` matching requests (every one when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: String,
    /// Answer with this status and an ARM error body (429 carries `Retry-After`).
    #[serde(default)]
    pub status: Option<u16>,
    /// Error code for the body (default per status).
    #[serde(default)]
    pub code: Option<String>,
    /// Delay before answering (or before dropping), in milliseconds: a timeout when long enough.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Send the status line and headers, then cut the connection mid-body.
    #[serde(default)]
    pub drop_connection: bool,
    /// Accept the write, but let its long-running operation end `Failed`.
    #[serde(default)]
    pub fail_lro: bool,
    /// The long-running operation never ends (stays `InProgress`).
    #[serde(default)]
    pub hang_lro: bool,
    /// `Retry-After` seconds on a 429 or 503 (default 1).
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Answer with this raw body instead (with `status`, default 200): malformed JSON, wrong types...
    #[serde(default)]
    pub body: Option<String>,
    /// Answer with this many bytes of JSON-looking filler (a huge body).
    #[serde(default)]
    pub body_bytes: Option<usize>,
    /// Answer normally but without these headers (e.g. `Azure-AsyncOperation`, to force the
    /// `Location` style of long-running operation).
    #[serde(default)]
    pub remove_headers: Vec<String>,
    #[serde(default)]
    pub times: Option<u32>,
}

impl Fault {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.to_ascii_lowercase().contains(&self.path.to_ascii_lowercase())
    }
}

/// Takes the first fault matching the request, counting down its `times`.
pub fn take(faults: &mut Vec<Fault>, method: &str, path: &str) -> Option<Fault> {
    let i = faults.iter().position(|f| f.matches(method, path))?;
    let fault = faults[i].clone();
    match faults[i].times {
        Some(1) => {
            faults.remove(i);
        }
        Some(n) => faults[i].times = Some(n - 1),
        None => {}
    }
    Some(fault)
}
