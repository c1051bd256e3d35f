//! Contested apps: when a person (or another tool) keeps changing what the operator keeps
//! correcting, the operator alerts and backs off instead of hammering ARM: after 3 corrections of
//! an app within 10 intervals, its corrections are held for 5 intervals, doubling each time (at most
//! an hour). Its drift is still reported at every pass.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use aca_reconcile::{DriftOutcome, PassReport};
use tokio::time::Instant;

const CORRECTIONS: usize = 3;
const WINDOW_INTERVALS: u32 = 10;
const FIRST_HOLD_INTERVALS: u32 = 5;
const MAX_HOLD: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
struct AppContest {
    corrections: VecDeque<Instant>,
    /// The last correction (the list above is cleared when a hold starts).
    last: Option<Instant>,
    hold_until: Option<Instant>,
    level: u32,
    by: String,
}

#[derive(Debug, Default)]
pub struct Contests {
    apps: HashMap<String, AppContest>,
}

impl Contests {
    /// Apps whose corrections are held now, with why.
    pub fn holds(&self, now: Instant) -> BTreeMap<String, String> {
        self.apps
            .iter()
            .filter_map(|(app, c)| {
                let until = c.hold_until.filter(|t| *t > now)?;
                Some((
                    app.clone(),
                    format!(
                        "contested: changed again by {} after 3 corrections; next correction in {}s",
                        c.by,
                        until.duration_since(now).as_secs()
                    ),
                ))
            })
            .collect()
    }

    /// [`Contests::holds`], with how long each hold still lasts (for the status page).
    pub fn holds_remaining(&self, now: Instant) -> BTreeMap<String, (String, Duration)> {
        let holds = self.holds(now);
        holds
            .into_iter()
            .filter_map(|(app, why)| {
                let until = self.apps.get(&app)?.hold_until?;
                Some((app, (why, until.duration_since(now))))
            })
            .collect()
    }

    /// Records the pass's corrections; logs and starts a hold when an app is contested.
    pub fn record(&mut self, stack: &str, report: &PassReport, interval: Duration, now: Instant) {
        let window = interval * WINDOW_INTERVALS;
        let mut corrected: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (d, action) in &report.drift_outcomes {
            if *action == DriftOutcome::Corrected
                && let Some(app) = &d.app
            {
                corrected
                    .entry(app.clone())
                    .or_insert_with(|| (d.path.clone(), d.changed_by.clone().unwrap_or_default()));
            }
        }
        for (app, (field, by)) in corrected {
            let c = self.apps.entry(app.clone()).or_default();
            c.corrections.retain(|t| now.duration_since(*t) <= window);
            // A whole window without corrections since the last one or the end of the last hold
            // ends the contest: the next hold starts short again. Until then each hold doubles.
            if c.last
                .max(c.hold_until)
                .is_none_or(|t| now.saturating_duration_since(t) > window)
            {
                c.level = 0;
            }
            c.last = Some(now);
            c.corrections.push_back(now);
            c.by = by.clone();
            if c.corrections.len() >= CORRECTIONS {
                let hold = (interval * FIRST_HOLD_INTERVALS * 2u32.saturating_pow(c.level)).min(MAX_HOLD);
                c.level += 1;
                c.hold_until = Some(now + hold);
                c.corrections.clear();
                tracing::warn!(event = "contested", stack, app = %app, field = %field, changed_by = %by, hold_seconds = hold.as_secs(),
                    "apps.{app} keeps being changed back ({field}, by {by}): corrections held for {}s; drift is still reported", hold.as_secs());
            }
        }
    }
}

/// The backoff on an injected clock: `record` and `holds` take `now`, so a person's edits and the
/// daemon's passes are laid out in time without sleeping.
#[cfg(test)]
mod tests {
    use super::*;
    use aca_reconcile::{Diff, Drift, DriftSeverity, Fix, Plan};

    const INTERVAL: Duration = Duration::from_secs(1);

    fn report(actions: Vec<(Drift, DriftOutcome)>) -> PassReport {
        PassReport {
            stack: "langfuse".into(),
            observed: None,
            diff: Diff::default(),
            preflight: Vec::new(),
            plan: Plan::default(),
            outcomes: Vec::new(),
            error: None,
            drift_outcomes: actions,
            duration: Duration::ZERO,
        }
    }

    fn scale_drift() -> Drift {
        Drift {
            app: Some("clickhouse".into()),
            path: "apps.clickhouse.template.scale.maxReplicas".into(),
            desired: "1".into(),
            live: "2".into(),
            severity: DriftSeverity::Critical,
            fix: Fix::Template,
            note: None,
            changed_by: Some("alice@contoso.com".into()),
            changed_at: None,
            invariant: None,
        }
    }

    fn hold_of(contests: &Contests, now: Instant) -> Option<String> {
        contests.holds(now).remove("clickhouse")
    }

    /// A daemon passing every second while a person sets ClickHouse to 2 replicas every 1.5 s
    /// (the end-to-end scenario of `tests/tests/reliability.rs`, 10 edits in 15 s). Returns the
    /// corrections and alerts while the person edits, and whether a later pass restored the
    /// desired state once the person stopped.
    fn tug_of_war(edits: u64) -> (u32, u32, bool) {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let edit_times: Vec<u64> = (0..edits).map(|k| 500 + 1500 * k).collect();
        let editing_until = edit_times.last().copied().unwrap_or(0) + 1000;
        let mut contests = Contests::default();
        let (mut corrections, mut alerts) = (0, 0);
        let mut drifted = false;
        let mut last_pass = 0;
        for pass in (250..editing_until + 3_600_000).step_by(1000) {
            drifted |= edit_times.iter().any(|e| *e > last_pass && *e <= pass);
            last_pass = pass;
            if !drifted {
                if pass > editing_until {
                    return (corrections, alerts, true);
                }
                contests.record("langfuse", &report(Vec::new()), INTERVAL, at(pass));
                continue;
            }
            let action = if hold_of(&contests, at(pass)).is_some() {
                DriftOutcome::Alerted
            } else {
                drifted = false;
                DriftOutcome::Corrected
            };
            if pass <= editing_until {
                match action {
                    DriftOutcome::Corrected => corrections += 1,
                    _ => alerts += 1,
                }
            }
            contests.record("langfuse", &report(vec![(scale_drift(), action)]), INTERVAL, at(pass));
        }
        (corrections, alerts, false)
    }

    #[test]
    fn ten_edits_in_15_seconds_cost_at_most_6_corrections_and_every_held_pass_alerts() {
        let (corrections, alerts, restored) = tug_of_war(10);
        assert!(corrections <= 6, "{corrections} corrections for 10 edits");
        assert!(alerts >= 2, "held passes still alert ({alerts})");
        assert!(restored, "the desired state is restored once the person stops");
    }

    #[test]
    fn two_corrections_in_the_window_are_not_contested() {
        assert_eq!(tug_of_war(2), (2, 0, true));
    }

    #[test]
    fn the_hold_doubles_on_each_repeat_up_to_an_hour() {
        let t0 = Instant::now();
        let mut contests = Contests::default();
        let mut now = t0;
        let mut holds = Vec::new();
        for _ in 0..12 {
            // Three corrections one interval apart start a hold; the next correction comes when it ends.
            for _ in 0..CORRECTIONS {
                let corrected = report(vec![(scale_drift(), DriftOutcome::Corrected)]);
                contests.record("langfuse", &corrected, INTERVAL, now);
                now += INTERVAL;
            }
            let until = contests.apps["clickhouse"].hold_until.expect("a hold");
            holds.push(until.duration_since(now - INTERVAL).as_secs());
            now = until;
        }
        assert_eq!(&holds[..5], &[5, 10, 20, 40, 80]);
        assert_eq!(*holds.last().unwrap(), 3600, "capped at an hour: {holds:?}");
    }

    #[test]
    fn a_quiet_window_forgets_the_contest() {
        let t0 = Instant::now();
        let mut contests = Contests::default();
        let corrected = report(vec![(scale_drift(), DriftOutcome::Corrected)]);
        for k in 0..3 {
            contests.record("langfuse", &corrected, INTERVAL, t0 + INTERVAL * k);
        }
        let first = hold_of(&contests, t0 + INTERVAL * 2).expect("contested");
        assert!(
            first.contains("alice@contoso.com") && first.contains("next correction in 5s"),
            "{first}"
        );
        // Long after the hold and a whole window without corrections: back to the first hold length.
        let later = t0 + INTERVAL * 100;
        for k in 0..3 {
            contests.record("langfuse", &corrected, INTERVAL, later + INTERVAL * k);
        }
        let again = hold_of(&contests, later + INTERVAL * 2).expect("contested again");
        assert!(again.contains("next correction in 5s"), "{again}");
    }
}
