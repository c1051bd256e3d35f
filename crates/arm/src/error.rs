//! The client's side of the typed ARM errors (the errors themselves live in `aca-arm-api`):
//! turning a failure of azure_core's HTTP pipeline into an [`ArmError`].

use aca_arm_api::{ArmError, Cause, Fenced};

/// The error for a failure of the HTTP pipeline itself (no response). The message reads the
/// whole chain on one line (the outermost is often only "will not be retried"); the chain itself
/// stays the error's source, and a kind the client does not know is a `Pipeline` error.
pub(crate) fn from_pipeline(e: azure_core::Error) -> ArmError {
    use azure_core::error::ErrorKind;
    // The fence's refusal, however deep the retry policy wrapped it.
    let mut link: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = link {
        if let Some(why) = err.downcast_ref::<Fenced>() {
            return ArmError::Fenced(why.clone());
        }
        link = err.source();
    }
    let message = chain_text(&e);
    match e.kind() {
        ErrorKind::HttpResponse { status, .. } => ArmError::from_status(u16::from(*status), &[], None),
        ErrorKind::Io | ErrorKind::Connection => ArmError::Transient {
            status: None,
            message,
            cause: Some(Cause::new(e)),
        },
        ErrorKind::Credential => ArmError::Credential {
            message,
            cause: Some(Cause::new(e)),
        },
        _ => ArmError::Pipeline {
            message,
            cause: Cause::new(e),
        },
    }
}

/// `outer: cause: cause…` on one line.
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_failure_keeps_its_cause_chain_and_is_no_configuration_error() {
        use azure_core::error::ErrorKind;
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = from_pipeline(azure_core::Error::with_error(ErrorKind::Io, io, "will not be retried"));
        assert_eq!(e.kind(), "transient");
        assert!(e.to_string().contains("will not be retried: reset by peer"), "{e}");
        let cause = e.source().expect("the pipeline's error is the source");
        assert_eq!(cause.to_string(), "will not be retried");
        assert_eq!(cause.source().expect("and its cause").to_string(), "reset by peer");

        let odd = azure_core::Error::with_message(ErrorKind::DataConversion, "bad header");
        let e = from_pipeline(odd);
        assert_eq!(e.kind(), "pipeline");
        assert!(e.source().is_some());
    }
}
