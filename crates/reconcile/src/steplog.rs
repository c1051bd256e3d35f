//! Logs every executed step with its result, and a long wait's progress (at most every few
//! seconds), then forwards the event to the caller's display.

use std::sync::Mutex;
use std::time::Duration;

use aca_model::desired::Stack;
use tokio::time::Instant;

use crate::execute::{StepEvent, StepOutcome};

/// Between two progress lines of one wait.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

pub struct StepLog<'a> {
    stack: &'a Stack,
    forward: &'a (dyn Fn(&StepEvent) + Send + Sync),
    enabled: bool,
    /// When the current step started, and when its wait last logged progress.
    clock: Mutex<(Instant, Instant)>,
}

impl<'a> StepLog<'a> {
    pub fn new(stack: &'a Stack, forward: &'a (dyn Fn(&StepEvent) + Send + Sync), enabled: bool) -> Self {
        let now = Instant::now();
        StepLog {
            stack,
            forward,
            enabled,
            clock: Mutex::new((now, now)),
        }
    }

    pub fn event(&self, e: &StepEvent) {
        if self.enabled {
            self.log(e);
        }
        (self.forward)(e);
    }

    fn log(&self, e: &StepEvent) {
        let stack = self.stack.name.as_str();
        let now = Instant::now();
        let mut clock = self.clock.lock().unwrap_or_else(|p| p.into_inner());
        match e {
            StepEvent::Started { index, total, step } => {
                *clock = (now, now);
                tracing::info!(
                    event = "step",
                    phase = "started",
                    stack,
                    index = index + 1,
                    total,
                    kind = step.kind(),
                    app = step.app().unwrap_or("-"),
                    "{step}"
                );
            }
            StepEvent::Waiting { step, detail } => {
                if now.duration_since(clock.1) >= PROGRESS_EVERY {
                    clock.1 = now;
                    let waited_s = now.duration_since(clock.0).as_secs();
                    tracing::info!(
                        event = "step",
                        phase = "waiting",
                        stack,
                        kind = step.kind(),
                        app = step.app().unwrap_or("-"),
                        waited_s,
                        "{detail} ({waited_s}s so far)"
                    );
                }
            }
            StepEvent::Finished { step, outcome } => {
                let elapsed_ms = now.duration_since(clock.0).as_millis() as u64;
                let (result, text) = match outcome {
                    StepOutcome::Done(t) => ("done", t),
                    StepOutcome::Skipped(t) => ("skipped", t),
                };
                tracing::info!(
                    event = "step",
                    phase = "finished",
                    stack,
                    kind = step.kind(),
                    app = step.app().unwrap_or("-"),
                    result,
                    elapsed_ms,
                    "{text}"
                );
            }
            StepEvent::Failed { step, error } => {
                let elapsed_ms = now.duration_since(clock.0).as_millis() as u64;
                tracing::error!(event = "step", phase = "failed", stack, kind = step.kind(),
                    app = step.app().unwrap_or("-"), elapsed_ms, error = %error, "{step}: {error}");
            }
        }
    }
}
