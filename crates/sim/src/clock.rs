//! Time in the simulator: `tokio::time::Instant` for behaviour (so tests can pause time), wall-clock
//! RFC 3339 strings for what ARM shows (`systemData`, `createdTime`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, as ARM formats timestamps (`2025-11-25T10:02:03.1234567Z` style, UTC).
pub fn wall_now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}
