//! Whether output is coloured: `--color auto|always|never` (or `ACA_COLOR`), and the `NO_COLOR`
//! convention (<https://no-color.org>): in `auto`, a set, non-empty `NO_COLOR` turns colour off.
//! Chosen once at start-up; read by the plan renderer and the text log format.

use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    Always,
    Never,
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Records the choice for the whole process (the first call wins).
pub fn init(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

fn enabled(is_terminal: bool) -> bool {
    decide(
        CHOICE.get().copied().unwrap_or_default(),
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        is_terminal,
    )
}

fn decide(choice: ColorChoice, no_color: bool, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && !no_color,
    }
}

/// Colour for what goes to stdout (plans, the demo).
pub fn stdout() -> bool {
    enabled(std::io::stdout().is_terminal())
}

/// Colour for what goes to stderr (text logs).
pub fn stderr() -> bool {
    enabled(std::io::stderr().is_terminal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_wins_only_in_auto() {
        assert!(decide(ColorChoice::Auto, false, true));
        assert!(!decide(ColorChoice::Auto, true, true));
        assert!(!decide(ColorChoice::Auto, false, false));
        assert!(decide(ColorChoice::Always, true, false));
        assert!(!decide(ColorChoice::Never, false, true));
    }
}
