//! What the daemon thinks, at a glance: per stack and per app conditions (Kubernetes shape), the
//! last pass, the next one, the last drift of each field, the last steps and any migration under
//! way. Kept by the daemon ([`StatusBoard`]), served as JSON at `GET /status` and as a read-only
//! page at `GET /` ([`router`]), printed by `aca-operator status`.

mod conditions;
pub mod model;
pub mod page;
#[cfg(test)]
mod page_tests;
mod scrub;
mod serve;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Mutex;

use aca_model::desired::{CorrectionWindow, DesiredState};
use aca_reconcile::{PassReport, StepEvent, StepOutcome};
use time::OffsetDateTime;

use crate::error::TokenError;

pub use model::{Hold, PassContext, SCHEMA, StatusDoc};
pub use serve::{Access, router};

use conditions::initial_conditions;
use model::{AppStatus, StackStatus, StepRecord, rfc3339};

/// The daemon's status, shared between the scheduler (writer) and the listener (reader).
#[derive(Debug, Default)]
pub struct StatusBoard {
    stacks: Mutex<Vec<StackStatus>>,
    /// Stack → app → correction window, to date the end of window holds.
    windows: Mutex<BTreeMap<String, BTreeMap<String, CorrectionWindow>>>,
}

impl StatusBoard {
    /// Follows the desired state: new stacks and apps start `Unknown`, removed ones go, the others
    /// keep their history.
    pub fn set_stacks(&self, desired: &DesiredState) {
        let now = OffsetDateTime::now_utc();
        *self.windows.lock().expect("status lock") = desired
            .stacks
            .iter()
            .map(|s| {
                let windows = s
                    .apps
                    .iter()
                    .filter_map(|a| Some((a.key.clone(), a.correction_window.or(s.correction_window)?)))
                    .collect();
                (s.name.clone(), windows)
            })
            .collect();
        let mut stacks = self.stacks.lock().expect("status lock");
        let mut old: Vec<StackStatus> = std::mem::take(&mut *stacks);
        // Kept until the next reload: no room left over from growing.
        stacks.reserve_exact(desired.stacks.len());
        for stack in &desired.stacks {
            let mut status = match old.iter().position(|s| s.name == stack.name) {
                Some(i) => old.swap_remove(i),
                None => StackStatus {
                    name: stack.name.clone(),
                    mode: String::new(),
                    conditions: initial_conditions(now),
                    last_pass: None,
                    next_reconcile: None,
                    apps: Vec::new(),
                    recent_drifts: Vec::new(),
                    recent_steps: Vec::new(),
                    migration: None,
                },
            };
            status.mode = stack.mode.as_str().to_string();
            let mut apps = std::mem::take(&mut status.apps);
            status.apps = stack
                .apps
                .iter()
                .map(|spec| {
                    let mut app = match apps.iter().position(|a| a.key == spec.key) {
                        Some(i) => apps.swap_remove(i),
                        None => AppStatus {
                            key: spec.key.clone(),
                            name: String::new(),
                            mode: String::new(),
                            conditions: initial_conditions(now),
                            drifts: Default::default(),
                        },
                    };
                    app.name = spec.name.clone();
                    app.mode = stack.mode_of(spec).as_str().to_string();
                    app
                })
                .collect();
            stacks.push(status);
        }
    }

    /// One call per executor event of a pass of `stack`.
    pub fn step_event(&self, stack: &str, event: &StepEvent) {
        let (step, state, detail) = match event {
            StepEvent::Started { step, .. } => (*step, "running", String::new()),
            StepEvent::Waiting { .. } => return,
            StepEvent::Finished { step, outcome } => match outcome {
                StepOutcome::Done(d) => (*step, "done", d.clone()),
                StepOutcome::Skipped(d) => (*step, "skipped", d.clone()),
            },
            StepEvent::Failed { step, error } => (*step, "failed", error.to_string()),
        };
        let now = OffsetDateTime::now_utc();
        let record = StepRecord {
            at: rfc3339(now),
            app: step.app().map(str::to_string),
            kind: step.kind().to_string(),
            step: scrub::scrub(&step.to_string()).into_owned(),
            state: state.to_string(),
            detail: scrub::scrub(&detail).into_owned(),
        };
        let mut stacks = self.stacks.lock().expect("status lock");
        if let Some(s) = stacks.iter_mut().find(|s| s.name == stack) {
            s.apply_step(record, now);
        }
    }

    /// One call per finished pass.
    pub fn pass_finished(&self, report: &PassReport, ctx: &PassContext) {
        let now = OffsetDateTime::now_utc();
        let mut ctx = ctx.clone();
        ctx.windows = self
            .windows
            .lock()
            .expect("status lock")
            .get(&report.stack)
            .cloned()
            .unwrap_or_default();
        let mut stacks = self.stacks.lock().expect("status lock");
        if let Some(s) = stacks.iter_mut().find(|s| s.name == report.stack) {
            s.apply_pass(report, &ctx, now);
        }
    }

    pub fn snapshot(&self) -> StatusDoc {
        StatusDoc {
            schema: SCHEMA.to_string(),
            generated_at: rfc3339(OffsetDateTime::now_utc()),
            stacks: self.stacks.lock().expect("status lock").clone(),
        }
    }
}

/// A wall-clock time `in` from now, for the next reconcile and the end of a hold.
pub fn from_now(d: std::time::Duration) -> OffsetDateTime {
    OffsetDateTime::now_utc() + d
}

/// The listener's token: from `file` when given, else `ACA_STATUS_TOKEN`; `None` when neither.
pub fn token(file: Option<&std::path::Path>) -> Result<Option<String>, TokenError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let token = text.trim().to_string();
        if token.is_empty() {
            return Err(TokenError::Empty {
                path: path.to_path_buf(),
            });
        }
        return Ok(Some(token));
    }
    Ok(std::env::var("ACA_STATUS_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty()))
}

/// The status routes for a listener on `addr`, with its access rule; an error when the token file
/// cannot be read.
pub fn routes_for(
    addr: std::net::SocketAddr,
    token_file: Option<&std::path::Path>,
    board: &std::sync::Arc<StatusBoard>,
) -> Result<axum::Router, TokenError> {
    let access = Access::for_listener(addr, token(token_file)?);
    if matches!(access, Access::Refused) {
        tracing::warn!(event = "status_refused", addr = %addr,
            "/status and / are not served on a non-loopback listener without a token (ACA_STATUS_TOKEN or --status-token-file)");
    }
    Ok(router(board.clone(), access))
}

/// The daemon's side of a pass: its stack hold, contested apps (why, time left), the next pass.
pub fn context(
    stack_hold: Option<String>,
    contests: std::collections::BTreeMap<String, (String, std::time::Duration)>,
    next_in: std::time::Duration,
) -> PassContext {
    PassContext {
        stack_hold,
        app_holds: contests
            .into_iter()
            .map(|(app, (message, left))| {
                let hold = Hold {
                    reason: "Contested",
                    message,
                    until: Some(from_now(left)),
                };
                (app, hold)
            })
            .collect(),
        next_reconcile: Some(from_now(next_in)),
        windows: BTreeMap::new(),
    }
}
