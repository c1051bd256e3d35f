//! Faults injected through the admin API, matched against ARM requests.

use serde::{Deserialize, Serialize};

/// One injected fault. Matches requests by method (any when absent) and by a case-insensitive
/// substring of the path; applies to the next `times` matching requests (every one when absent).
/// A spent fault stays in the table (with `times` 0) so that its `fired` count can still be read.
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
    /// How many requests this fault answered. Kept by the simulator (refused in what is posted) so
    /// that a test proves its fault fired: a fault whose path has a typo never does.
    #[serde(default, skip_deserializing)]
    pub fired: u32,
}

impl Fault {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.to_ascii_lowercase().contains(&self.path.to_ascii_lowercase())
    }
}

/// Takes the first unspent fault matching the request, counting down its `times` and up its `fired`.
pub fn take(faults: &mut [Fault], method: &str, path: &str) -> Option<Fault> {
    let fault = faults
        .iter_mut()
        .find(|f| f.times != Some(0) && f.matches(method, path))?;
    fault.fired += 1;
    if let Some(n) = fault.times.as_mut() {
        *n -= 1;
    }
    Some(fault.clone())
}

/// Faults that never answered a request.
pub fn unfired(faults: &[Fault]) -> Vec<Fault> {
    faults.iter().filter(|f| f.fired == 0).cloned().collect()
}
