use serde::{Deserialize, Serialize};

use super::Extra;

/// The body ARM returns with every error status: `{"error": {"code", "message", ...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmErrorBody {
    pub error: ArmErrorDetail,
}

/// ARM's error detail (common-types `ErrorDetail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ArmErrorDetail>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ArmErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ArmErrorBody {
            error: ArmErrorDetail {
                code: code.into(),
                message: message.into(),
                target: None,
                details: Vec::new(),
                extra: Extra::new(),
            },
        }
    }
}
