//! `validate`: loads each file on its own and reports; never contacts ARM.

use std::process::ExitCode;

use aca_model::desired::Loaded;

use super::load_paths;

use crate::cli::ValidateArgs;

pub fn run(args: &ValidateArgs) -> ExitCode {
    let mut failed = false;
    for path in &args.files {
        match load_paths(std::slice::from_ref(path)) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    eprintln!("{w}");
                }
                println!("{}: ok: {}", path.display(), summary(&loaded));
            }
            Err(e) => {
                failed = true;
                eprintln!("{e}");
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

fn summary(loaded: &Loaded) -> String {
    let stacks = &loaded.state.stacks;
    let apps: usize = stacks.iter().map(|s| s.apps.len()).sum();
    let names: Vec<&str> = stacks.iter().map(|s| s.name.as_str()).collect();
    let warnings = loaded.warnings.len();
    format!(
        "{} stack{} ({}), {apps} app{}, {warnings} warning{}",
        stacks.len(),
        plural(stacks.len()),
        names.join(", "),
        plural(apps),
        plural(warnings)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
