//! Every failure the binary stops on, typed with its cause as the source, and the one place that
//! turns it into a line on stderr and an exit code ([`exit`]). The libraries' errors name no flag:
//! the flag a user should look at is added here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use aca_arm::ArmError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The ARM client refused its configuration (endpoint, credential, CA certificate).
    #[error("{}", with_flag(.0))]
    ArmSetup(#[source] ArmError),
    #[error(transparent)]
    Leader(#[from] LeaderError),
    #[error(transparent)]
    Events(#[from] EventsError),
    #[error("--listen-metrics {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    StatusToken(#[from] TokenError),
    /// `status` could not read the daemon's `/status`.
    #[error("{url}: {what}")]
    StatusFetch {
        url: String,
        what: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An ARM call of a one-shot command failed; `what` names the app or stack.
    #[error("{what}: {source}")]
    Arm {
        what: String,
        #[source]
        source: ArmError,
    },
    #[error("export refused: {0}")]
    ExportRefused(#[from] SharedStorage),
    /// The demo could not set up its simulator, client or example.
    #[error("demo: {0}")]
    Demo(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The desired state is invalid: its diagnostics are already printed where they were found.
    #[error("the desired state is invalid")]
    DesiredState,
}

/// The watch (`--events-queue`) could not start.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("--events-queue {url}: {}", with_flag(source))]
    Url {
        url: String,
        #[source]
        source: ArmError,
    },
    #[error("events queue {}", with_flag(.0))]
    Credential(#[source] ArmError),
    #[error(transparent)]
    Client(#[from] aca_events::SetupError),
}

/// Leader election could not start.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("--leader-election blob needs --lease-account")]
    NoAccount,
    #[error("--lease-account {account}: {}", with_flag(source))]
    Account {
        account: String,
        #[source]
        source: ArmError,
    },
    #[error("lease storage {}", with_flag(.0))]
    Credential(#[source] ArmError),
    #[error("--ca-cert {}: {source}", path.display())]
    CaCert {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("HTTP client for lease storage: {0}")]
    Http(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The lease blob or container client refused its URL or options.
    #[error("lease {what} {url}: {source}")]
    Blob {
        what: &'static str,
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A storage whose live layout cannot be exported safely: several apps, or more than one replica.
#[derive(Debug, thiserror::Error)]
#[error(
    "storage `{storage}` is mounted by {}: enforcing this layout would roll two revisions over the shared volume. \
     Declare it by hand: `exclusive: true` with one `singleton: true` app if one process must own it (ClickHouse), \
     or `exclusive: false` if concurrent writers are safe for it",
    mounters.join(", ")
)]
pub struct SharedStorage {
    pub storage: String,
    /// `name (up to N replicas)` of each app mounting it.
    pub mounters: Vec<String>,
}

/// The status listener's token file.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the status token file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the status token file {} is empty", path.display())]
    Empty { path: PathBuf },
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(1)
    }
}

/// Says what went wrong (unless it was said already) and gives the exit code.
pub fn exit(e: &CliError) -> ExitCode {
    if !matches!(e, CliError::DesiredState) {
        eprintln!("aca-operator: {e}");
    }
    e.exit_code()
}

/// The ARM client's message, with the command-line flag that changes what it refused.
fn with_flag(e: &ArmError) -> String {
    match e {
        ArmError::InsecureEndpoint { loopback: true, .. } => {
            format!("{e}: pass --allow-insecure-loopback to allow it")
        }
        ArmError::Credential { .. } => format!("{e} (choose the credential with --auth; see docs/security.md)"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_named_by_the_binary_not_the_client() {
        let e = CliError::ArmSetup(ArmError::InsecureEndpoint {
            url: "http://127.0.0.1:9/".into(),
            loopback: true,
        });
        assert!(e.to_string().contains("pass --allow-insecure-loopback"), "{e}");
        assert!(
            std::error::Error::source(&e).is_some(),
            "the client's error is kept as the source"
        );
        let e = CliError::ArmSetup(ArmError::Credential {
            message: "no token".into(),
            cause: None,
        });
        assert!(e.to_string().contains("--auth"), "{e}");
    }
}
