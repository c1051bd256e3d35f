//! A keyed reconcile controller after kube-runtime's: trigger streams in, one run per key at a
//! time out, with resync, backoff and concurrency caps. It knows nothing of Azure: a key is any
//! hashable value (for the operator, a stack name) and a group any string (its subscription).
//!
//! # The model
//!
//! - **Triggers are streams** ([`Controller::triggers`]): watch events name a key
//!   ([`Trigger::Key`]), leadership gained names all ([`Trigger::All`]), a desired-state reload
//!   replaces the set ([`Trigger::Keys`]). Where a trigger came from only shows in the
//!   [`Causes`] handed to the reconciler.
//! - **Time is the controller's**: a reconcile returns an [`Action`] (requeue after a duration,
//!   or await a change); every key that last succeeded also runs at least once per
//!   [`Config::resync`]. Every delay is jittered ([`Config::jitter`], from `fastrand`).
//! - **Errors go through one policy**: `error_policy(key, &error, failures) -> Action`, usually
//!   [`Backoff::on_error`] — a transient error is retried after an exponentially growing delay
//!   (reset by a success), a fatal one holds the key until a trigger names it. A panic or a
//!   timeout ([`Config::timeout`]) frees the key, is logged and counted ([`Stats`]), and is
//!   retried with [`Config::backoff`].
//! - **Concurrency is capped** in total ([`Config::concurrency`]) and per group
//!   ([`Config::group_concurrency`], see [`Controller::group_by`]). A key waiting for a slot
//!   stays queued (and keeps coalescing triggers); a full group does not block other groups.
//!
//! # States of a key
//!
//! | state | how a key gets there | a trigger naming it | time | guarantees |
//! |---|---|---|---|---|
//! | **idle** | succeeded with `AwaitChange` and no resync configured | → queued, due now | nothing | it runs again only on a trigger |
//! | **queued** | start, trigger, requeue or resync; or due and waiting for a slot | joins the run; a due time later than now moves to now | runs at its due time, as soon as the caps allow | one entry per key: many triggers make one run; the earliest due time wins; due keys start in due order |
//! | **running** | a slot freed and its time came | marks it to run again; many triggers mark it once | — | never two runs of a key at once; a trigger seen during a run makes exactly one more run right after it |
//! | **backing off** | failed and the policy (or a panic or timeout) asked `Requeue(d)` | joins the retry, does not hasten it | retried at `d` (jittered) after the failure | backoff is a floor: a throttled key is not hammered by events; failures grow the delay until a success resets it |
//! | **awaiting change** | failed and the policy asked `AwaitChange` (a fatal error) | → queued, due now (the change may fix it) | nothing: resync does not retry it | a fatal error never loops; a trigger seen during the failing run releases it at once |
//!
//! After any run: a success resets the failure count, then the key is requeued at the earlier of
//! its `Requeue(d)` and the resync (or idle), unless a trigger came during the run, which runs
//! it at once. A key removed from the set is forgotten at once, or, if running, when its run ends
//! (its outcome is dropped). At shutdown no new run starts; running ones get
//! [`Config::shutdown_timeout`] to finish and are then aborted.

mod action;
mod controller;
mod scheduler;
mod stats;

pub use action::{Action, Backoff, Cause, Causes, Request, Trigger};
pub use controller::{Config, Controller, Key};
pub use stats::{Stats, StatsSnapshot};
