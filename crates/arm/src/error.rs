//! The client's side of the typed ARM errors (the errors themselves live in `aca-arm-api`):
//! turning a failure of azure_core's HTTP pipeline into an [`ArmError`].

use aca_arm_api::{ArmError, Fenced};

/// The error for a failure of the HTTP pipeline itself (no response).
pub(crate) fn from_pipeline(e: &azure_core::Error) -> ArmError {
    use azure_core::error::ErrorKind;
    // The fence's refusal, however deep the retry policy wrapped it.
    let mut link: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = link {
        if let Some(why) = err.downcast_ref::<Fenced>() {
            return ArmError::Fenced(why.clone());
        }
        link = err.source();
    }
    // The outermost message is often only "will not be retried": keep the causes too.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    match e.kind() {
        ErrorKind::Io | ErrorKind::Connection => ArmError::Transient { status: None, message },
        ErrorKind::Credential => ArmError::Credential(message),
        ErrorKind::HttpResponse { status, .. } => ArmError::from_status(u16::from(*status), &[], None),
        _ => ArmError::Config(message),
    }
}
