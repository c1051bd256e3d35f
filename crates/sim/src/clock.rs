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

/// `base` (as [`wall_now`] wrote it) plus `elapsed`: the wall time of a later instant, so times
/// derived from `Instant`s stay consistent with the `createdTime` they follow (also under paused time).
pub fn wall_after(base: &str, elapsed: std::time::Duration) -> Option<String> {
    let t = OffsetDateTime::parse(base, &Rfc3339).ok()? + elapsed;
    t.format(&Rfc3339).ok()
}
