//! Azure Files shares (`Microsoft.Storage/storageAccounts/fileServices/shares`) and their snapshots.
//! Shares carry ETags: a write with a stale `If-Match` is refused with 412.

use aca_model::arm::ResourceId;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::clock::wall_now;
use crate::error::{ArmFailure, ArmResult};

#[derive(Debug, Clone)]
pub struct ShareRecord {
    pub resource: Value,
    pub snapshots: Vec<Value>,
}

impl ShareRecord {
    pub fn new(id: &ResourceId, mut resource: Value, etag: u64) -> Self {
        resource["id"] = json!(id.to_string());
        resource["name"] = json!(id.name());
        resource["type"] = json!("Microsoft.Storage/storageAccounts/fileServices/shares");
        resource["etag"] = json!(format_etag(etag));
        let props = resource
            .as_object_mut()
            .expect("shares are objects")
            .entry("properties")
            .or_insert(json!({}));
        if props.get("lastModifiedTime").is_none() {
            props["lastModifiedTime"] = json!(wall_now());
        }
        if props.get("shareQuota").is_none() {
            props["shareQuota"] = json!(5120);
        }
        ShareRecord {
            resource,
            snapshots: Vec::new(),
        }
    }

    pub fn etag(&self) -> &str {
        self.resource["etag"].as_str().unwrap_or_default()
    }

    /// 412 unless `if_match` is absent, `*`, or the current ETag.
    pub fn check_if_match(&self, if_match: Option<&str>) -> ArmResult<()> {
        match if_match {
            None | Some("*") => Ok(()),
            Some(tag) if tag == self.etag() => Ok(()),
            Some(tag) => Err(ArmFailure::new(
                StatusCode::PRECONDITION_FAILED,
                "ConditionNotMet",
                format!(
                    "The condition specified using HTTP conditional header(s) is not met (If-Match {tag}, current {}).",
                    self.etag()
                ),
            )),
        }
    }

    /// Updates writable properties (quota, metadata...) and moves the ETag.
    pub fn update(&mut self, body: &Value, etag: u64) {
        if let Some(props) = body.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                if k != "lastModifiedTime" && k != "snapshotTime" {
                    self.resource["properties"][k] = v.clone();
                }
            }
        }
        self.resource["properties"]["lastModifiedTime"] = json!(wall_now());
        self.resource["etag"] = json!(format_etag(etag));
    }

    /// A snapshot: the share as it is now, with `snapshotTime` set.
    pub fn snapshot(&mut self) -> Value {
        let mut snap = self.resource.clone();
        let mut time = wall_now();
        // Two snapshots in the same instant would be indistinguishable; ARM's times are unique.
        while self
            .snapshots
            .iter()
            .any(|s| s["properties"]["snapshotTime"] == json!(time))
        {
            time.insert(time.len() - 1, '1');
        }
        snap["properties"]["snapshotTime"] = json!(time);
        self.snapshots.push(snap.clone());
        snap
    }
}

fn format_etag(n: u64) -> String {
    format!("\"0x8D{:013X}\"", 0x0005_8984_7DAB_5AF9_u64 + n)
}
