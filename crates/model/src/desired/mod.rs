//! The desired state: which stacks (an environment and its apps) the operator keeps, and how.
//!
//! Load with [`load_file`] / [`load_str`]. Loading never stops at the first problem: every error and
//! warning is returned with `file:line:column`, the field path and a hint. See
//! `docs/configuration.md` for the format.

mod diagnostic;
mod docs;
mod image;
mod keys;
mod load;
mod name_map;
mod reference;
mod schema;
mod types;
mod validate;
mod window;
pub mod yaml;

pub use diagnostic::{Diagnostic, Severity};
pub use docs::configuration_reference;
pub use keys::{KeyDoc, SCHEMA};
pub use load::{
    LoadError, Loaded, StackRules, expand_paths, load_file, load_paths, load_paths_with, load_str, load_str_with,
};
pub use name_map::NameMap;
pub use reference::{Reference, Segment, TemplateString, parse_template};
pub use schema::parse_duration;
pub use types::*;
pub use validate::{AppUrl, app_url, missing_tcp_port};
pub use window::CorrectionWindow;
