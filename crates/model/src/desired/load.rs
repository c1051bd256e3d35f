//! Loading desired-state files: read, parse, walk, validate; every problem reported, never the first only.

use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Diagnostics, Severity};
use super::types::{DesiredState, Stack};
use super::yaml::{self, Loc};
use super::{schema, validate};

/// A desired state that loaded without errors, and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub state: DesiredState,
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: no desired-state files (*.yaml, *.yml) in this directory")]
    EmptyDirectory { path: String },
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

impl LoadError {
    /// The diagnostics (errors first), when the files were read but are not valid.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            LoadError::Invalid(d) => d,
            _ => &[],
        }
    }
}

fn render(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let mut out: Vec<String> = diags.iter().map(ToString::to_string).collect();
    out.push(format!("{errors} error{}", if errors == 1 { "" } else { "s" }));
    out.join("\n")
}

/// Checks a caller adds to validation: knowledge of particular software (the reconcile crate's
/// playbooks), which this crate does not have. Run on each stack whose own fields read cleanly;
/// `index` is the stack's position in its file, for `stacks[i]` paths.
pub trait StackRules: Sync {
    fn check(&self, stack: &Stack, index: usize) -> Vec<Diagnostic>;
}

/// Loads one document from text; `file` names it in messages.
pub fn load_str(text: &str, file: &str) -> Result<Loaded, LoadError> {
    load_str_with(text, file, &[])
}

/// [`load_str`] with extra rules.
pub fn load_str_with(text: &str, file: &str, rules: &[&dyn StackRules]) -> Result<Loaded, LoadError> {
    let diags = read_one(text, file, rules);
    finish(diags.0, diags.1)
}

/// Loads one file.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    load_paths(&[path.to_path_buf()])
}

/// The files `load_paths` reads for `paths`: each file as given, each directory's
/// `*.yaml`/`*.yml` sorted by name (an empty directory is an error).
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|source| LoadError::Io {
                    path: p.display().to_string(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml") && f.is_file())
                .collect();
            if found.is_empty() {
                return Err(LoadError::EmptyDirectory {
                    path: p.display().to_string(),
                });
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// Loads files and directories (each directory's `*.yaml`/`*.yml`, sorted by name) into one state.
/// Stack names must be unique over all of them.
pub fn load_paths(paths: &[PathBuf]) -> Result<Loaded, LoadError> {
    load_paths_with(paths, &[])
}

/// [`load_paths`] with extra rules.
pub fn load_paths_with(paths: &[PathBuf], rules: &[&dyn StackRules]) -> Result<Loaded, LoadError> {
    let files = expand_paths(paths)?;
    let mut state = DesiredState::default();
    let mut diags = Vec::new();
    for f in &files {
        let name = f.display().to_string();
        let bytes = std::fs::read(f).map_err(|source| LoadError::Io {
            path: name.clone(),
            source,
        })?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                diags.push(not_utf8(&name, e.as_bytes(), e.utf8_error().valid_up_to()));
                continue;
            }
        };
        let (s, d) = read_one(&text, &name, rules);
        state.stacks.extend(s.stacks);
        diags.extend(d);
    }
    finish(state, diags)
}

/// The error for a file that is not UTF-8, at the line and column of its first bad byte.
fn not_utf8(file: &str, bytes: &[u8], valid_up_to: usize) -> Diagnostic {
    let valid = String::from_utf8_lossy(&bytes[..valid_up_to]);
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let loc = Loc {
        line: valid.matches('\n').count() as u64 + 1,
        column: valid[line_start..].chars().count() as u64 + 1,
    };
    let mut d = Diagnostics::new(file);
    d.error(
        loc,
        "",
        format!("byte 0x{:02X} is not UTF-8 text", bytes[valid_up_to]),
        Some("save the file as UTF-8 (desired-state files are YAML, which is read as UTF-8)".into()),
    );
    d.items.remove(0)
}

fn finish(mut state: DesiredState, mut diags: Vec<Diagnostic>) -> Result<Loaded, LoadError> {
    // Each stack with its index in its own file, for the `stacks[i]` of messages.
    let indexed: Vec<(usize, &super::Stack)> = state
        .stacks
        .iter()
        .enumerate()
        .map(|(i, s)| (state.stacks[..i].iter().filter(|o| o.source == s.source).count(), s))
        .collect();
    let mut cross = Vec::new();
    validate::check_across_stacks(&indexed, &mut |stack, loc, path, message| {
        cross.push(Diagnostic {
            severity: Severity::Error,
            file: stack.source.clone(),
            loc,
            path,
            message,
            hint: None,
        });
    });
    diags.extend(cross);
    if diags.iter().any(|d| d.severity == Severity::Error) {
        diags.sort_by(|a, b| (a.severity, &a.file, a.loc).cmp(&(b.severity, &b.file, b.loc)));
        return Err(LoadError::Invalid(diags));
    }
    // Each file's stacks gave back their room as they were read (`read_text`); the list of them
    // is what grew here.
    state.stacks.shrink_to_fit();
    Ok(Loaded { state, warnings: diags })
}

/// Reads and checks one file's text: the state it could read and every diagnostic.
fn read_one(text: &str, file: &str, rules: &[&dyn StackRules]) -> (DesiredState, Vec<Diagnostic>) {
    let tabs = tab_indented_lines(text);
    if tabs.is_empty() {
        return read_text(text, file, rules);
    }
    // YAML forbids tabs in indentation. Report each, then read the rest as if each tab were a few
    // spaces, so the other problems are reported too. The width chosen gives the fewest further
    // errors; on a tie, the one that lines the tabbed lines up with the line above (a sibling key).
    let mut best: Option<((usize, usize), DesiredState, Vec<Diagnostic>)> = None;
    for width in [2, 4, 8] {
        let expanded = expand_leading_tabs(text, width);
        let (state, mut diags) = read_text(&expanded, file, rules);
        restore_columns(&mut diags, text, width);
        let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
        let score = (errors, misaligned(&expanded, &tabs));
        if best.as_ref().is_none_or(|(b, _, _)| score < *b) {
            best = Some((score, state, diags));
        }
    }
    let (_, state, mut diags) = best.expect("three widths were tried");
    let mut tab_diags = Diagnostics::new(file);
    for loc in tabs {
        tab_diags.error(
            loc,
            "",
            "tab character in indentation (YAML allows only spaces there)",
            Some("indent with spaces; the rest of the file was checked reading each tab as spaces".into()),
        );
    }
    diags.extend(tab_diags.items);
    (state, diags)
}

fn read_text(text: &str, file: &str, rules: &[&dyn StackRules]) -> (DesiredState, Vec<Diagnostic>) {
    let mut d = Diagnostics::new(file);
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err((message, loc)) => {
            d.error(loc, "", format!("YAML syntax error: {message}"), None);
            return (DesiredState::default(), d.items);
        }
    };
    let mut state = schema::read_document(&mut d, &root, file);
    // File by file, so the next file's parse reuses the room instead of all of it piling up.
    state.release_spare_capacity();
    // Cross-field checks only make sense on a stack whose own fields read cleanly.
    if d.error_count() == 0 {
        for (i, stack) in state.stacks.iter().enumerate() {
            validate::check_stack(&mut d, stack, i);
            for rule in rules {
                d.items.extend(rule.check(stack, i));
            }
        }
    }
    (state, d.items)
}

/// Lines whose indentation contains a tab, with the tab's location.
fn tab_indented_lines(text: &str) -> Vec<Loc> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        if indent.len() < line.len()
            && let Some(col) = indent.find('\t')
        {
            out.push(Loc {
                line: i as u64 + 1,
                column: col as u64 + 1,
            });
        }
    }
    out
}

/// Maps columns in the tab-expanded text back to the file as written (a tab is one column there).
fn restore_columns(diags: &mut [Diagnostic], original: &str, width: usize) {
    let lines: Vec<&str> = original.lines().collect();
    for d in diags {
        let Some(line) = lines.get(d.loc.line as usize - 1) else {
            continue;
        };
        let tabs = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .filter(|c| *c == '\t')
            .count() as u64;
        let shift = tabs * (width as u64 - 1);
        if d.loc.column > shift {
            d.loc.column -= shift;
        }
    }
}

/// How many of the tabbed lines do not share the indentation of the non-blank line above them.
fn misaligned(expanded: &str, tabs: &[Loc]) -> usize {
    let lines: Vec<&str> = expanded.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    tabs.iter()
        .filter(|loc| {
            let i = loc.line as usize - 1;
            let above = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
            above.is_none_or(|a| indent(a) != indent(lines[i]))
        })
        .count()
}

fn expand_leading_tabs(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
        out.push_str(&line[..indent_len].replace('\t', &" ".repeat(width)));
        out.push_str(&line[indent_len..]);
    }
    out
}
