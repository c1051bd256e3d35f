//! ARM error answers: a status and `{"error": {"code", "message"}}`.

use aca_model::arm::ArmErrorBody;
use axum::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmFailure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ArmFailure {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ArmFailure {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource '{kind}' under resource group '{}' was not found.",
                resource_group_of(id).unwrap_or("?")
            ),
        )
    }

    pub fn body(&self) -> ArmErrorBody {
        ArmErrorBody::new(self.code.clone(), self.message.clone())
    }
}

fn resource_group_of(id: &str) -> Option<&str> {
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("resourceGroups") {
            return parts.next();
        }
    }
    None
}

pub type ArmResult<T> = Result<T, ArmFailure>;
