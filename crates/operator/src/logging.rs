//! Logs: JSON lines (one object per event, fields flattened) for machines, human text on a terminal.
//! They go to stderr; stdout carries command output (plans, exports).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(with_libraries_quiet(filter)).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    } else {
        builder
            .with_ansi(crate::color::stderr())
            .with_target(false)
            .compact()
            .try_init()
    };
    // A second initialisation (tests, demo) keeps the first subscriber.
    let _ = result;
}

/// The Azure SDK logs each request itself, in its own shape and with the query string; our
/// `aca::arm` line already says the same in ours (path only, WARN for failures). Its lines are kept
/// to WARN and above unless the filter names an SDK crate (to debug the SDK itself).
fn with_libraries_quiet(filter: &str) -> String {
    const SDK: [&str; 3] = ["azure_core", "azure_identity", "typespec_client_core"];
    if SDK.iter().any(|c| filter.contains(c)) {
        return filter.to_string();
    }
    let mut out = filter.to_string();
    for crate_name in SDK {
        out.push_str(&format!(",{crate_name}=warn"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_libraries_quiet;

    #[test]
    fn the_sdks_own_request_lines_stay_quiet_unless_asked_for() {
        assert_eq!(
            with_libraries_quiet("debug"),
            "debug,azure_core=warn,azure_identity=warn,typespec_client_core=warn"
        );
        assert_eq!(with_libraries_quiet("info,azure_core=debug"), "info,azure_core=debug");
        assert!(tracing_subscriber::EnvFilter::try_new(with_libraries_quiet("info,aca::arm=debug")).is_ok());
    }
}
