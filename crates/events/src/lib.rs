//! The watch half of the operator's informer: Azure Event Grid resource events, delivered to an
//! Azure Storage queue, decoded into small [`ResourceEvent`]s. It knows nothing of stacks or the
//! controller: events only say *which* resource changed; the state is always read from ARM.
//!
//! - [`decode`]: pure, one queue message (plain JSON or base64; Event Grid or CloudEvents 1.0
//!   schema; one event or an array) into events, or a typed [`DecodeError`].
//! - [`reader`]: the loop that receives, decodes, hands on and deletes, degrading and recovering
//!   on its own when the queue cannot be read ([`reader::spawn`] gives a [`reader::Watch`]).
//! - [`AzureQueue`]: the queue on Azure Storage through the official `azure_storage_queue` client.

pub mod azure;
pub mod decode;
pub mod reader;

pub use azure::{AzureQueue, SetupError};
pub use decode::{DecodeError, EventKind, ResourceEvent, Subject, decode};
pub use reader::{Message, MessageQueue, QueueError, Settings, Watch, WatchSnapshot, WatchStats, spawn};
