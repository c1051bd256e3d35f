//! Contested apps: when a person (or another tool) keeps changing what the operator keeps
//! correcting, the operator alerts and backs off instead of hammering ARM: after 3 corrections of
//! an app within 10 intervals, its corrections are held for 5 intervals, doubling each time (at most
//! an hour). Its drift is still reported at every pass.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use aca_reconcile::{Action, PassReport};
use tokio::time::Instant;

const CORRECTIONS: usize = 3;
const WINDOW_INTERVALS: u32 = 10;
const FIRST_HOLD_INTERVALS: u32 = 5;
const MAX_HOLD: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
struct AppContest {
    corrections: VecDeque<Instant>,
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
        for (d, action) in &report.actions {
            if *action == Action::Corrected
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
            if c.corrections.is_empty() {
                c.level = 0;
            }
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
