//! A simulator answer, turned into an HTTP response.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::error::ArmFailure;

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A body sent as is (injected malformed answers).
    pub raw: Option<String>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(body),
            raw: None,
        }
    }

    pub fn empty(status: StatusCode) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
            raw: None,
        }
    }

    pub fn with_raw(mut self, text: String) -> Self {
        self.raw = Some(text);
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn into_response(self) -> Response {
        let mut builder = Response::builder().status(self.status);
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v.as_str())) {
                builder = builder.header(k, v);
            }
        }
        let body = match (self.raw, self.body) {
            (Some(text), _) => Body::from(text),
            (None, Some(v)) => {
                builder = builder.header("content-type", "application/json; charset=utf-8");
                Body::from(serde_json::to_vec(&v).unwrap_or_default())
            }
            (None, None) => Body::empty(),
        };
        builder.body(body).unwrap_or_else(|_| Response::new(Body::empty()))
    }
}

impl From<ArmFailure> for Reply {
    fn from(f: ArmFailure) -> Self {
        Reply::json(f.status, serde_json::to_value(f.body()).unwrap_or_default())
    }
}
