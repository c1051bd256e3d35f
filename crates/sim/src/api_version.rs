//! Which `api-version` values the simulator accepts, per resource provider, as ARM does.

use crate::error::ArmFailure;

/// The oldest stable Microsoft.App api-version accepted. Newer ones (later SDKs) are accepted too.
pub const OLDEST_APP: &str = "2024-03-01";
/// The oldest Microsoft.Storage api-version accepted for file shares.
pub const OLDEST_STORAGE: &str = "2019-06-01";

/// Checks a request's api-version for the provider namespace it addresses.
pub fn check(api_version: Option<&str>, namespace: &str) -> Result<(), ArmFailure> {
    let Some(v) = api_version else {
        return Err(ArmFailure::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let oldest = if namespace.eq_ignore_ascii_case("Microsoft.Storage") {
        OLDEST_STORAGE
    } else {
        OLDEST_APP
    };
    let date = v.strip_suffix("-preview").unwrap_or(v);
    if !is_date(date) || date < oldest {
        return Err(ArmFailure::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{v}' is invalid. The supported versions are '{oldest}' and later stable or preview versions of '{namespace}'."
            ),
        ));
    }
    Ok(())
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(
            &s[5..7],
            "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_stable_and_newer_versions_only() {
        assert!(check(Some("2025-07-01"), "Microsoft.App").is_ok());
        assert!(check(Some("2024-03-01"), "Microsoft.App").is_ok());
        assert!(check(Some("2026-01-01"), "Microsoft.App").is_ok());
        assert!(check(Some("2025-10-02-preview"), "Microsoft.App").is_ok());
        assert_eq!(
            check(None, "Microsoft.App").unwrap_err().code,
            "MissingApiVersionParameter"
        );
        assert_eq!(
            check(Some("2023-05-01"), "Microsoft.App").unwrap_err().code,
            "InvalidApiVersionParameter"
        );
        assert_eq!(
            check(Some("latest"), "Microsoft.App").unwrap_err().code,
            "InvalidApiVersionParameter"
        );
        assert!(check(Some("2025-06-01"), "Microsoft.Storage").is_ok());
    }
}
