//! Where requests may go: HTTPS only, except plain HTTP to a loopback address when the caller asked
//! for it explicitly (a local simulator). Tokens never travel in clear text to another machine.

use std::net::IpAddr;

use azure_core::http::Url;

use aca_arm_api::ArmError;

/// True when the URL's host is `localhost` or a loopback IP (127.0.0.0/8, ::1).
pub fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// Checks an ARM endpoint against the HTTPS-only rule.
pub fn check(url: &Url, allow_insecure_loopback: bool) -> Result<(), ArmError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) && allow_insecure_loopback => Ok(()),
        "http" => Err(ArmError::InsecureEndpoint {
            url: url.to_string(),
            loopback: is_loopback(url),
        }),
        other => Err(ArmError::Config(format!(
            "{url}: unsupported scheme `{other}`; use https://"
        ))),
    }
}

/// A URL ARM handed back (operation status, Location) must point at the same origin as the
/// endpoint: the bearer token is never sent anywhere else.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn https_always_http_only_to_loopback_when_asked() {
        assert!(check(&url("https://management.azure.com"), false).is_ok());
        assert!(check(&url("http://127.0.0.1:8080"), true).is_ok());
        assert!(check(&url("http://localhost:8080"), true).is_ok());
        assert!(check(&url("http://[::1]:8080"), true).is_ok());
        assert!(check(&url("http://127.0.0.1:8080"), false).is_err());
        assert!(check(&url("http://management.azure.com"), true).is_err());
        assert!(check(&url("http://10.0.0.1"), true).is_err());
        assert!(check(&url("ftp://127.0.0.1"), true).is_err());
    }

    #[test]
    fn origins() {
        assert!(same_origin(
            &url("https://management.azure.com/a"),
            &url("https://MANAGEMENT.azure.com:443/b")
        ));
        assert!(!same_origin(
            &url("https://management.azure.com/a"),
            &url("https://evil.example/b")
        ));
        assert!(!same_origin(&url("http://127.0.0.1:1/a"), &url("http://127.0.0.1:2/a")));
    }
}
