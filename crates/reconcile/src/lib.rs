//! The reconcile core: observe a stack's live state, diff it against the fields the YAML declares,
//! plan ordered steps that keep the invariants at every step, execute them, and report each drift.
//! It talks to ARM only through [`ArmApi`].

pub mod api;
pub mod approval;
pub mod diff;
mod digest;
pub mod drift;
pub mod execute;
pub mod finding;
pub mod image;
pub mod invariants;
pub mod layout;
pub mod observe;
pub mod pass;
pub mod patch;
pub mod plan;
pub mod playbook;
pub mod preflight;
pub mod reflector;
pub mod resolve;
mod steplog;
pub mod timings;

pub use api::ArmApi;
pub use approval::{Approval, NotApproved};
pub use diff::{Diff, diff_stack, diff_stack_with};
pub use drift::{Drift, DriftSeverity, Fix};
pub use execute::{ExecError, ExecSettings, Executor, StepEvent, StepOutcome, WriteGate};
pub use invariants::{Binding, Bindings, Breach, Repair};
pub use observe::{Observed, observe};
pub use pass::{DriftOutcome, OnFound, PassError, PassOptions, PassReport, SharedBindings, run_pass};
pub use plan::{Plan, Step, plan, plan_rollback, plan_with_holds};
pub use preflight::{Finding, Level, preflight};
pub use reflector::{Reflector, Refreshed, Resynced};
