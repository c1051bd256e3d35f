//! Logs: JSON lines (one object per event, fields flattened) for machines, human text on a terminal.
//! They go to stderr; stdout carries command output (plans, exports).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
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
