//! The library's source files import each other without cycles: every `crate::`/`super::`
//! path, and every `pub use child::` re-export of a `mod.rs`, is an edge from one file to the
//! file of the module it names; no file may reach itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `src/a/b.rs` -> ["a", "b"]; `src/a/mod.rs` -> ["a"]; `src/lib.rs` -> [].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // Binaries are crates of their own.
            if path.file_name().is_some_and(|n| n != "bin") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Identifier-separated paths after `crate::` or `super::` in `text`.
fn paths_after<'a>(text: &'a str, root: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let needle = format!("{root}::");
    let mut rest = text;
    while let Some(i) = rest.find(&needle) {
        let before = rest[..i].chars().last();
        rest = &rest[i + needle.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut segs = Vec::new();
        let mut s = rest;
        loop {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            if end == 0 {
                break;
            }
            segs.push(&s[..end]);
            s = &s[end..];
            match s.strip_prefix("::") {
                Some(next) => s = next,
                None => break,
            }
        }
        out.push(segs);
    }
    out
}

#[test]
fn source_files_import_each_other_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_path(f.strip_prefix(&src).unwrap()), f.clone()))
        .collect();
    let file_of = |target: &[String]| {
        (1..=target.len())
            .rev()
            .find_map(|n| modules.get(&target[..n]).cloned())
    };
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for f in &files {
        let me = module_path(f.strip_prefix(&src).unwrap());
        let text: String = std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let mut targets: Vec<Vec<String>> = Vec::new();
        for segs in paths_after(&text, "crate") {
            targets.push(segs.iter().map(|s| s.to_string()).collect());
        }
        // `super` is the parent module, whether this file is `x.rs` or `x/mod.rs`; a glob
        // (`use super::*` of a test module) is the file itself.
        for segs in paths_after(&text, "super")
            .into_iter()
            .filter(|s| !s.is_empty())
        {
            let mut t = me[..me.len().saturating_sub(1)].to_vec();
            t.extend(segs.iter().map(|s| s.to_string()));
            targets.push(t);
        }
        if f.ends_with("mod.rs") || f.ends_with("lib.rs") {
            for line in text.lines() {
                if let Some(rest) = line.trim_start().strip_prefix("pub use ")
                    && let Some((child, _)) = rest.split_once("::")
                    && child.chars().all(|c| c.is_alphanumeric() || c == '_')
                {
                    let mut t = me.clone();
                    t.push(child.to_owned());
                    targets.push(t);
                }
            }
        }
        let out = edges.entry(f.clone()).or_default();
        for t in targets {
            if let Some(g) = file_of(&t)
                && &g != f
            {
                out.insert(g);
            }
        }
    }
    // A cycle is a file that reaches itself.
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<(PathBuf, Vec<PathBuf>)> = edges[start]
            .iter()
            .map(|n| (n.clone(), vec![start.clone(), n.clone()]))
            .collect();
        while let Some((node, trail)) = todo.pop() {
            assert!(
                &node != start,
                "import cycle: {}",
                trail
                    .iter()
                    .map(|p| p.strip_prefix(&src).unwrap().display().to_string())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            );
            if seen.insert(node.clone()) {
                for next in edges.get(&node).into_iter().flatten() {
                    let mut t = trail.clone();
                    t.push(next.clone());
                    todo.push((next.clone(), t));
                }
            }
        }
    }
    assert!(edges.len() > 40, "found only {} source files", edges.len());
}
