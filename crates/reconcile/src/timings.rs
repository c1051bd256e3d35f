//! How long revisions take to start, from what ARM shows of past ones: a revision's `createdTime`
//! and, once it is inactive, its `lastActiveTime`. In Single revision mode the previous revision
//! stops being active once its successor runs, so the successor's creation to the predecessor's
//! last active time bounds the successor's start from above (it includes the old one's drain).

use std::time::Duration;

use aca_model::arm::Revision;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One observed replacement: `newer` was created, and `older` was last active `took` later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    pub older: String,
    pub newer: String,
    pub took: Duration,
}

fn created(r: &Revision) -> Option<OffsetDateTime> {
    let t = r.properties.as_ref()?.created_time.as_deref()?;
    OffsetDateTime::parse(t, &Rfc3339).ok()
}

fn last_active(r: &Revision) -> Option<OffsetDateTime> {
    let p = r.properties.as_ref()?;
    if p.active != Some(false) {
        return None; // only meaningful when inactive
    }
    OffsetDateTime::parse(p.last_active_time.as_deref()?, &Rfc3339).ok()
}

/// The most recent replacement among an app's revisions (by creation time), if any was observed.
pub fn last_replacement(revisions: &[Revision]) -> Option<Replacement> {
    let mut dated: Vec<(OffsetDateTime, &Revision)> = revisions.iter().filter_map(|r| Some((created(r)?, r))).collect();
    dated.sort_by_key(|(t, _)| *t);
    dated.windows(2).rev().find_map(|pair| {
        let [(_, older), (newer_created, newer)] = pair else {
            return None;
        };
        let took = last_active(older)? - *newer_created;
        Some(Replacement {
            older: older.name.clone().unwrap_or_default(),
            newer: newer.name.clone().unwrap_or_default(),
            took: Duration::try_from(took).ok()?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aca_model::arm::RevisionProperties;

    fn rev(name: &str, created: &str, active: bool, last_active: Option<&str>) -> Revision {
        Revision {
            name: Some(name.into()),
            properties: Some(RevisionProperties {
                created_time: Some(created.into()),
                active: Some(active),
                last_active_time: last_active.map(str::to_string),
                ..RevisionProperties::default()
            }),
            ..Revision::default()
        }
    }

    #[test]
    fn the_last_replacement_runs_from_the_newer_creation_to_the_older_last_active_time() {
        let revs = [
            rev("r3", "2026-11-25T10:05:00Z", true, Some("2026-11-25T10:05:00Z")),
            rev("r1", "2026-11-25T10:00:00Z", false, Some("2026-11-25T10:02:00Z")),
            rev("r2", "2026-11-25T10:01:30Z", false, Some("2026-11-25T10:05:42.5Z")),
        ];
        let r = last_replacement(&revs).unwrap();
        assert_eq!((r.older.as_str(), r.newer.as_str()), ("r2", "r3"));
        assert_eq!(r.took, Duration::from_millis(42_500));
    }

    #[test]
    fn nothing_is_concluded_without_an_inactive_predecessor() {
        assert_eq!(last_replacement(&[]), None);
        let one = [rev("r1", "2026-11-25T10:00:00Z", true, None)];
        assert_eq!(last_replacement(&one), None);
        // An active revision's lastActiveTime means nothing; a time before the successor is no replacement.
        let active = [
            rev("r1", "2026-11-25T10:00:00Z", true, Some("2026-11-25T10:09:00Z")),
            rev("r2", "2026-11-25T10:01:00Z", true, None),
        ];
        assert_eq!(last_replacement(&active), None);
        let before = [
            rev("r1", "2026-11-25T10:00:00Z", false, Some("2026-11-25T10:00:30Z")),
            rev("r2", "2026-11-25T10:01:00Z", true, None),
        ];
        assert_eq!(last_replacement(&before), None);
    }
}
