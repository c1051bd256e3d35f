//! `GET /status` (JSON) and `GET /` (the page), behind the listener's access rule: open on
//! loopback, a bearer token (or the same token as a Basic password, for browsers) elsewhere, and
//! refused on a non-loopback listener that has no token.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;

use super::StatusBoard;

/// Who may read the status.
#[derive(Clone)]
pub enum Access {
    /// A loopback listener without a token: anyone on this machine.
    Open,
    /// Requests must carry this token.
    Token(Arc<str>),
    /// A non-loopback listener without a token: the status is not served.
    Refused,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token itself.
        f.write_str(match self {
            Access::Open => "Access::Open",
            Access::Token(_) => "Access::Token(..)",
            Access::Refused => "Access::Refused",
        })
    }
}

impl Access {
    /// The rule for a listener on `addr`: a token, when given, is always required.
    pub fn for_listener(addr: SocketAddr, token: Option<String>) -> Access {
        match token.filter(|t| !t.trim().is_empty()) {
            Some(t) => Access::Token(Arc::from(t.trim())),
            None if addr.ip().is_loopback() => Access::Open,
            None => Access::Refused,
        }
    }

    fn allows(&self, headers: &HeaderMap) -> bool {
        let Access::Token(token) = self else {
            return matches!(self, Access::Open);
        };
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        if let Some(bearer) = value.strip_prefix("Bearer ") {
            return same(bearer.trim().as_bytes(), token.as_bytes());
        }
        if let Some(basic) = value.strip_prefix("Basic ")
            && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim())
            && let Some(colon) = decoded.iter().position(|b| *b == b':')
        {
            return same(&decoded[colon + 1..], token.as_bytes());
        }
        false
    }
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The status routes, to merge into the daemon's listener.
pub fn router(board: Arc<StatusBoard>, access: Access) -> Router {
    Router::new()
        .route("/status", get(json))
        .route("/", get(page))
        .route_layer(middleware::from_fn_with_state(access, guard))
        .with_state(board)
}

async fn guard(State(access): State<Access>, request: Request, next: Next) -> Response {
    if access.allows(request.headers()) {
        return next.run(request).await;
    }
    if matches!(access, Access::Refused) {
        return (
            StatusCode::FORBIDDEN,
            "the status is served on a non-loopback listener only with a token: set ACA_STATUS_TOKEN or --status-token-file\n",
        )
            .into_response();
    }
    (
        StatusCode::UNAUTHORIZED,
        [
            (
                header::WWW_AUTHENTICATE,
                r#"Basic realm="aca-operator status", charset="UTF-8""#,
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "a token is required: Authorization: Bearer TOKEN (or the token as a Basic password)\n",
    )
        .into_response()
}

async fn json(State(board): State<Arc<StatusBoard>>) -> Response {
    let body = serde_json::to_string_pretty(&board.snapshot()).unwrap_or_else(|_| "{}".into());
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn page(State(board): State<Arc<StatusBoard>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // No script, no external resource: only the page's own inline style.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        super::page::render(&board.snapshot()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn loopback_is_open_elsewhere_a_token_is_needed() {
        let lo: SocketAddr = "127.0.0.1:9464".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:9464".parse().unwrap();
        assert!(matches!(Access::for_listener(lo, None), Access::Open));
        assert!(matches!(Access::for_listener(any, None), Access::Refused));
        assert!(matches!(Access::for_listener(any, Some("  ".into())), Access::Refused));
        assert!(matches!(Access::for_listener(lo, Some("t".into())), Access::Token(_)));
        assert!(!Access::Refused.allows(&headers("Bearer anything")));
        assert!(Access::Open.allows(&HeaderMap::new()));
    }

    #[test]
    fn the_token_is_accepted_as_bearer_or_basic_password_only() {
        let access = Access::for_listener("0.0.0.0:1".parse().unwrap(), Some("s3cret-token\n".into()));
        assert!(access.allows(&headers("Bearer s3cret-token")));
        let basic = base64::engine::general_purpose::STANDARD.encode("ops:s3cret-token");
        assert!(access.allows(&headers(&format!("Basic {basic}"))));
        assert!(!access.allows(&HeaderMap::new()));
        assert!(!access.allows(&headers("Bearer s3cret-toke")));
        assert!(!access.allows(&headers("Bearer s3cret-token2")));
        let wrong = base64::engine::general_purpose::STANDARD.encode("s3cret-token:x");
        assert!(!access.allows(&headers(&format!("Basic {wrong}"))));
        assert_eq!(format!("{access:?}"), "Access::Token(..)");
    }
}
