//! The workspace's shape, checked: no source file under `crates/` or `tests/` longer than
//! [`MAX_LINES`] (pure tables and files being split are listed in [`ALLOWED_LONG`]), and no import
//! circle between the modules of a crate. The rules are in docs/testing.md ("Structure").
//!
//! Edges come from the paths a file names: `crate::a::b`, `super::x`, `self::y` (in `use` lines,
//! braces included, and inline). A file's module is its path under `src/`; an edge between two
//! modules counts at the first level where their paths differ, between siblings (so `crate::a::x` in
//! `src/b/c.rs` is `b → a` among the crate's top-level modules). Code after a file's inline
//! `#[cfg(test)] mod … {` is a test module and is not read, nor are files named `tests.rs` or
//! `*_tests.rs` (test modules may reach anywhere); paths through re-exports at the crate root
//! (`crate::Thing`) name no module and give no edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines a source file may have.
const MAX_LINES: usize = 500;

/// Files allowed past [`MAX_LINES`], each with the reason. Tables stay; the others are being split
/// by the helper named, and the coordinator empties those entries after merging.
const ALLOWED_LONG: &[(&str, &str)] = &[];

/// Circles being broken by another helper (each entry the modules, sorted, joined by spaces); the
/// coordinator empties this after merging.
const ALLOWED_CIRCLES: &[(&str, &str)] = &[];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    assert!(
        files.len() > 50,
        "the walk found only {} files under {}",
        files.len(),
        root.display()
    );
    let allowed: BTreeMap<&str, &str> = ALLOWED_LONG.iter().copied().collect();
    let mut too_long = Vec::new();
    let mut allowed_but_short = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let lines = std::fs::read_to_string(file).unwrap().lines().count();
        match (lines > MAX_LINES, allowed.contains_key(relative.as_str())) {
            (true, false) => too_long.push(format!("{relative}: {lines} lines")),
            (false, true) => allowed_but_short.push(relative),
            _ => {}
        }
    }
    assert!(
        too_long.is_empty(),
        "files over {MAX_LINES} lines (split them by job, see docs/testing.md):\n{}",
        too_long.join("\n")
    );
    allowed_but_short.extend(allowed.keys().filter(|f| !root.join(f).exists()).map(|f| f.to_string()));
    assert!(
        allowed_but_short.is_empty(),
        "remove from ALLOWED_LONG (now within the limit or gone): {allowed_but_short:?}"
    );
}

#[test]
fn no_import_circle_between_the_modules_of_a_crate() {
    let root = workspace_root();
    let mut src_dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    src_dirs.push(root.join("tests/src"));
    assert!(src_dirs.len() >= 7, "found only {src_dirs:?}");
    let allowed: BTreeSet<&str> = ALLOWED_CIRCLES.iter().map(|(c, _)| *c).collect();
    let mut seen = BTreeSet::new();
    let mut circles = Vec::new();
    for src in &src_dirs {
        let mut files = Vec::new();
        rust_files(src, &mut files);
        let sources: Vec<(Vec<String>, String)> = files
            .iter()
            .map(|f| {
                (
                    module_path(f.strip_prefix(src).unwrap()),
                    std::fs::read_to_string(f).unwrap(),
                )
            })
            .collect();
        let crate_src = src.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        for circle in find_circles(&sources) {
            let mut members: Vec<&String> = circle[1..].iter().collect();
            members.sort();
            let key = format!(
                "{crate_src}: {}",
                members.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" ")
            );
            if !allowed.contains(key.as_str()) {
                circles.push(format!("{crate_src}: {} (key `{key}`)", circle.join(" → ")));
            }
            seen.insert(key);
        }
    }
    assert!(
        circles.is_empty(),
        "import circles between modules:\n{}",
        circles.join("\n")
    );
    let gone: Vec<&&str> = allowed.iter().filter(|c| !seen.contains(**c)).collect();
    assert!(
        gone.is_empty(),
        "remove from ALLOWED_CIRCLES (no longer a circle): {gone:?}"
    );
}

/// `a/b.rs` → `[a, b]`, `a/mod.rs` → `[a]`, `lib.rs` and `main.rs` → `[]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") || (parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main")) {
        parts.pop();
    }
    parts
}

/// Each circle as the modules on it (sibling names joined by their parent path), first one repeated.
fn find_circles(sources: &[(Vec<String>, String)]) -> Vec<Vec<String>> {
    let modules: BTreeSet<Vec<String>> = sources
        .iter()
        .flat_map(|(path, _)| (1..=path.len()).map(move |n| path[..n].to_vec()))
        .collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, text) in sources {
        // Test modules may reach anywhere: they are not part of the crate's layering.
        if from.last().is_some_and(|m| m == "tests" || m.ends_with("_tests")) {
            continue;
        }
        for target in referenced_paths(from, text) {
            // The longest prefix of the target that is a module the crate has.
            let Some(to) = (1..=target.len())
                .rev()
                .map(|n| target[..n].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common < from.len() && common < to.len() {
                edges
                    .entry(from[..=common].to_vec())
                    .or_default()
                    .insert(to[..=common].to_vec());
            }
        }
    }
    let mut circles = Vec::new();
    let mut reported: BTreeSet<BTreeSet<Vec<String>>> = BTreeSet::new();
    for start in edges.keys() {
        if let Some(mut circle) = path_back(&edges, start) {
            let members: BTreeSet<Vec<String>> = circle.iter().cloned().collect();
            if reported.insert(members) {
                circle.push(start.clone());
                circles.push(circle.iter().map(|m| m.join("::")).collect());
            }
        }
    }
    circles
}

/// The shortest chain of edges from `start` back to itself (breadth first), without the return step.
fn path_back(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>, start: &Vec<String>) -> Option<Vec<Vec<String>>> {
    let mut came_from: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.clone()]);
    while let Some(node) = queue.pop_front() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                let mut chain = vec![node.clone()];
                while let Some(prev) = came_from.get(chain.last().unwrap()) {
                    chain.push(prev.clone());
                }
                chain.reverse();
                return Some(chain);
            }
            if !came_from.contains_key(next) && next != start {
                came_from.insert(next.clone(), node.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}

/// Absolute module paths (`crate` dropped) named by `crate::`, `super::` and `self::` in `text`,
/// the code of the module at `module`.
fn referenced_paths(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod ") && next.trim_end().ends_with('{'))
        {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line.split(" //").next().unwrap_or(""));
        code.push('\n');
    }
    let bytes = code.as_bytes();
    let mut paths = Vec::new();
    for (i, _) in code.match_indices("::") {
        let start = code[..i]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(0, |(p, c)| p + c.len_utf8());
        if start > 0 && bytes[start - 1] == b'$' || start > 1 && &bytes[start - 2..start] == b"::" {
            continue;
        }
        let base: Vec<String> = match &code[start..i] {
            "crate" => Vec::new(),
            "self" => module.to_vec(),
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            _ => continue,
        };
        let mut rest = &code[i + 2..];
        parse_tree(&mut rest, base, &mut paths);
    }
    paths
}

/// Reads `a::b::{c, d::e}` from `rest`, pushing every full path onto `out`.
fn parse_tree(rest: &mut &str, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        *rest = rest.trim_start();
        if let Some(inner) = rest.strip_prefix('{') {
            *rest = inner;
            loop {
                *rest = rest.trim_start();
                if let Some(after) = rest.strip_prefix('}') {
                    *rest = after;
                    return;
                }
                if rest.is_empty() {
                    return;
                }
                parse_tree(rest, prefix.clone(), out);
                *rest = rest.trim_start();
                if let Some(after) = rest.strip_prefix(',') {
                    *rest = after;
                }
            }
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            // `*` or anything else: the path ends here.
            *rest = rest.trim_start_matches('*');
            break;
        }
        let word = &rest[..end];
        *rest = &rest[end..];
        match word {
            "super" => {
                prefix.pop();
            }
            "self" => {}
            _ => prefix.push(word.to_string()),
        }
        match rest.strip_prefix("::") {
            Some(after) => *rest = after,
            None => break,
        }
    }
    // `x as y`: the alias is no module.
    if let Some(after) = rest.trim_start().strip_prefix("as ") {
        let after = after.trim_start();
        let end = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        *rest = &after[end..];
    }
    out.push(prefix);
}

#[cfg(test)]
mod checker {
    use super::*;

    fn file(path: &str, text: &str) -> (Vec<String>, String) {
        (module_path(Path::new(path)), text.to_string())
    }

    #[test]
    fn a_circle_between_two_files_is_found() {
        let sources = [
            file("lib.rs", "mod client;\nmod lro;\n"),
            file("client.rs", "use crate::lro::{LroSettings, retry_after};\n"),
            file("lro.rs", "use crate::client::ArmClient;\n"),
        ];
        assert_eq!(find_circles(&sources), vec![vec!["client", "lro", "client"]]);
    }

    #[test]
    fn a_circle_through_braces_super_and_sub_modules_is_found() {
        let sources = [
            file("a/mod.rs", "mod inner;\n"),
            file("a/inner.rs", "use crate::{x::Y, b::deep::{self, Z}};\n"),
            file("b/mod.rs", "pub mod deep;\n"),
            file("b/deep.rs", "fn f() { super::super::a::g() }\n"),
            file("c/mod.rs", "mod one; mod two;\n"),
            file("c/one.rs", "use super::two::T;\n"),
            file("c/two.rs", "fn f() -> self::Q { super::one::make() }\n"),
        ];
        let circles = find_circles(&sources);
        assert!(
            circles.contains(&vec!["a".into(), "b".into(), "a".into()]),
            "{circles:?}"
        );
        assert!(
            circles.contains(&vec!["c::one".into(), "c::two".into(), "c::one".into()]),
            "{circles:?}"
        );
        assert_eq!(circles.len(), 2, "{circles:?}");
    }

    #[test]
    fn one_way_edges_comments_and_inline_test_modules_make_no_circle() {
        let sources = [
            file(
                "client.rs",
                "use crate::config::LroSettings;\n// crate::lro::x in a comment\n",
            ),
            file(
                "lro.rs",
                "use crate::client::ArmClient; // crate::lro\nuse crate::config::LroSettings;\n",
            ),
            file(
                "config.rs",
                "pub struct LroSettings;\n#[cfg(test)]\nmod tests {\n    use crate::lro::x;\n}\n",
            ),
            file(
                "m.rs",
                "macro_rules! m { () => { $crate::client::X } }\nuse other::crate_like::y;\n",
            ),
        ];
        assert_eq!(find_circles(&sources), Vec::<Vec<String>>::new());
    }

    #[test]
    fn module_paths_follow_the_file_layout() {
        assert_eq!(module_path(Path::new("lib.rs")), Vec::<String>::new());
        assert_eq!(module_path(Path::new("a/mod.rs")), vec!["a"]);
        assert_eq!(module_path(Path::new("a/b.rs")), vec!["a", "b"]);
    }
}
