//! The small surface of ARM the reconciler uses, from `aca-arm-api` (the client crate implements
//! it; tests implement it in memory). Nothing else in this crate talks to ARM.

pub use aca_arm_api::{ArmApi, ArmError, ArmResult, RevisionAction, Tagged};
