//! The layer rule, checked: every `crate::`, `super::`, `self::` and child-module path in
//! `host/src` (outside `#[cfg(test)]` items) is an edge from its file to the file that defines
//! the item, and
//!
//! - an edge between two layers must point down [`LAYERS`] (see ARCHITECTURE.md);
//! - the files must form no import cycle.
//!
//! Re-exports (`pub use`) are followed to the file that defines the item, so a facade `mod.rs`
//! does not hide or invent a cycle. Test code may reach anywhere (a config test may call
//! `load`), so `#[cfg(test)]` items are not read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The layers from top to bottom: a module may use the ones after it, never one before it.
/// `tls`, `tcp` and `admin` are the places ARCHITECTURE.md reserves for those capabilities.
const LAYERS: &[&str] = &[
    "app",
    "providers",
    "proxy",
    "tls",
    "tcp",
    "udp",
    "router",
    "plugins",
    "lb",
    "upstream",
    "admin",
    "config",
    "yaml",
];

/// Files that belong to no layer: the library root and this check. The binary's own modules
/// (`mod x;` in `main.rs`) are skipped too: `main.rs` uses the library from outside.
const OUTSIDE: &[&str] = &["", "layering"];

/// Cycles known and accepted, each with its reason. A cycle not listed here fails the check,
/// and so does an entry that no longer matches a cycle (remove it).
const ACCEPTED_CYCLES: &[(&[&str], &str)] = &[];

/// One source file as a module: `proxy::snapshot` for `proxy/snapshot.rs`, `proxy` for
/// `proxy/mod.rs`.
struct SourceFile {
    module: Vec<String>,
    path: PathBuf,
    /// Non-test code with comments removed and string contents blanked.
    code: String,
}

/// A `use` tree flattened: (path, re-exported).
type UsePath = (Vec<String>, bool);

fn source_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let main = code_only(&std::fs::read_to_string(root.join("main.rs")).expect("read main.rs"));
    let binary_modules: Vec<String> = main
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';'))
        .map(|m| m.trim().to_string())
        .collect();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&root).expect("under src");
            let mut module: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            if module == ["main"] || binary_modules.contains(&module[0]) {
                continue;
            }
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            out.push(SourceFile {
                module,
                path: rel.to_path_buf(),
                code: without_test_items(&code_only(&text)),
            });
        }
    }
    out.sort_by(|a, b| a.module.cmp(&b.module));
    out
}

/// Removes comments and blanks string and char literal contents (so braces and `::` inside
/// them do not count), keeping everything else.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A char literal ('a', '\n', '\u{..}'); a lifetime has no closing quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Drops every item marked `#[cfg(test)]` (a `mod tests { .. }`, a `use`, a function).
fn without_test_items(code: &str) -> String {
    let marker = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at]);
        let item = &rest[at + marker.len()..];
        let end = match (item.find(';'), item.find('{')) {
            (Some(semi), Some(brace)) if semi < brace => semi + 1,
            (Some(semi), None) => semi + 1,
            (_, Some(brace)) => {
                let mut depth = 0usize;
                let mut end = item.len();
                for (k, ch) in item[brace..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = brace + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, None) => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Parses a path or use tree starting at `s` (after `use`, or at `crate::`...), appending each
/// leaf path to `out`.
fn parse_tree(s: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut path = prefix.to_vec();
    let mut k = 0;
    loop {
        while k < chars.len() && chars[k].1.is_whitespace() {
            k += 1;
        }
        if k < chars.len() && chars[k].1 == '{' {
            // A group: a, b::c, {d, e}, self
            k += 1;
            loop {
                while k < chars.len() && (chars[k].1.is_whitespace() || chars[k].1 == ',') {
                    k += 1;
                }
                if k >= chars.len() || chars[k].1 == '}' {
                    k += 1;
                    break;
                }
                let used = parse_tree(&s[chars[k].0..], &path, out);
                let end = chars[k].0 + used;
                while k < chars.len() && chars[k].0 < end {
                    k += 1;
                }
            }
            return chars.get(k).map_or(s.len(), |c| c.0);
        }
        let start = k;
        while k < chars.len() && is_ident_char(chars[k].1) {
            k += 1;
        }
        if k == start {
            // `*` or something that ends the path.
            if k < chars.len() && chars[k].1 == '*' {
                k += 1;
            }
            break;
        }
        let ident: String = chars[start..k].iter().map(|c| c.1).collect();
        if ident != "self" || path.is_empty() {
            path.push(ident);
        }
        if chars.get(k).map(|c| c.1) == Some(':') && chars.get(k + 1).map(|c| c.1) == Some(':') {
            k += 2;
            continue;
        }
        // `as name`: skip the alias.
        let mut m = k;
        while m < chars.len() && chars[m].1.is_whitespace() {
            m += 1;
        }
        if s[chars.get(m).map_or(s.len(), |c| c.0)..].starts_with("as ") {
            m += 3;
            while m < chars.len() && chars[m].1.is_whitespace() {
                m += 1;
            }
            while m < chars.len() && is_ident_char(chars[m].1) {
                m += 1;
            }
            k = m;
        }
        break;
    }
    out.push(path);
    chars.get(k).map_or(s.len(), |c| c.0)
}

/// Every path a file names: `use` trees (re-exported or not) and inline `crate::`/`super::`
/// paths.
fn paths_of(code: &str) -> Vec<UsePath> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let before_ok = i == 0 || !is_ident_char(bytes[i - 1] as char) && bytes[i - 1] != b':';
        if before_ok && code[i..].starts_with("use ") {
            let head = code[..i].trim_end();
            let public = head.ends_with("pub") || head.ends_with("pub(crate)");
            let mut leaves = Vec::new();
            let used = parse_tree(&code[i + 4..], &[], &mut leaves);
            out.extend(leaves.into_iter().map(|p| (p, public)));
            i += 4 + used.max(1);
            continue;
        }
        if before_ok {
            for start in ["crate::", "super::", "self::"] {
                if code[i..].starts_with(start) {
                    let mut leaves = Vec::new();
                    let used = parse_tree(&code[i..], &[], &mut leaves);
                    out.extend(leaves.into_iter().map(|p| (p, false)));
                    i += used.max(1);
                    break;
                }
            }
        }
        i += code[i..].chars().next().map_or(1, char::len_utf8);
    }
    out
}

struct Graph {
    files: Vec<SourceFile>,
    index: HashMap<Vec<String>, usize>,
    /// Per file: item name -> absolute path it re-exports.
    reexports: Vec<HashMap<String, Vec<String>>>,
}

impl Graph {
    fn new() -> Self {
        let files = source_files();
        let index = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        let mut graph = Graph {
            files,
            index,
            reexports: Vec::new(),
        };
        graph.reexports = (0..graph.files.len())
            .map(|i| {
                paths_of(&graph.files[i].code)
                    .into_iter()
                    .filter(|(_, public)| *public)
                    .filter_map(|(p, _)| {
                        let abs = graph.absolute(i, &p)?;
                        Some((abs.last()?.clone(), abs))
                    })
                    .collect()
            })
            .collect();
        graph
    }

    /// `path` as written in file `from`, made absolute (without `crate`); `None` for paths
    /// into other crates.
    fn absolute(&self, from: usize, path: &[String]) -> Option<Vec<String>> {
        let here = &self.files[from].module;
        let first = path.first()?;
        match first.as_str() {
            "crate" => Some(path[1..].to_vec()),
            "self" => Some(here.iter().chain(&path[1..]).cloned().collect()),
            "super" => {
                let mut base = here.clone();
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                Some(base.into_iter().chain(rest.iter().cloned()).collect())
            }
            // A child module named without `self::` (edition 2018 paths).
            child => {
                let mut candidate = here.clone();
                candidate.push(child.to_string());
                self.index
                    .contains_key(&candidate)
                    .then(|| here.iter().chain(path).cloned().collect())
            }
        }
    }

    /// The file that defines what `abs` names, following re-exports.
    fn defining_file(&self, abs: &[String]) -> Option<usize> {
        let mut abs = abs.to_vec();
        for _ in 0..8 {
            let (file, depth) = (0..=abs.len())
                .rev()
                .find_map(|n| self.index.get(&abs[..n]).map(|&f| (f, n)))?;
            // One segment after the module: an item that may be re-exported from elsewhere.
            if depth + 1 == abs.len()
                && let Some(target) = self.reexports[file].get(&abs[depth])
                && *target != abs
            {
                abs = target.clone();
                continue;
            }
            return Some(file);
        }
        None
    }

    /// Edges from each file: (target file, counts for cycles).
    fn edges(&self) -> Vec<BTreeMap<usize, bool>> {
        (0..self.files.len())
            .map(|i| {
                let mut to = BTreeMap::new();
                for (path, public) in paths_of(&self.files[i].code) {
                    let Some(abs) = self.absolute(i, &path) else {
                        continue;
                    };
                    let Some(target) = self.defining_file(&abs) else {
                        continue;
                    };
                    if target != i {
                        // A re-export is followed by whoever uses it; for cycles it is not
                        // an edge of its own.
                        *to.entry(target).or_insert(false) |= !public;
                    }
                }
                to
            })
            .collect()
    }

    fn layer(&self, file: usize) -> &str {
        self.files[file].module.first().map_or("", String::as_str)
    }

    fn name(&self, file: usize) -> String {
        self.files[file].path.display().to_string()
    }
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &[BTreeMap<usize, bool>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [BTreeMap<usize, bool>],
        next: usize,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on_stack: Vec<bool>,
        found: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let targets: Vec<usize> = s.edges[v]
            .iter()
            .filter(|(_, counts)| **counts)
            .map(|(t, _)| *t)
            .collect();
        for w in targets {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort_unstable();
                s.found.push(component);
            }
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        next: 0,
        index: vec![None; n],
        low: vec![0; n],
        stack: Vec::new(),
        on_stack: vec![false; n],
        found: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn every_module_is_in_a_layer() {
    let graph = Graph::new();
    let strays: BTreeSet<String> = (0..graph.files.len())
        .filter(|&f| {
            let layer = graph.layer(f);
            !LAYERS.contains(&layer) && !OUTSIDE.contains(&layer)
        })
        .map(|f| graph.name(f))
        .collect();
    assert!(
        strays.is_empty(),
        "modules outside every layer (add them to a layer in ARCHITECTURE.md and LAYERS): {strays:?}"
    );
}

#[test]
fn imports_only_point_down_the_layers() {
    let graph = Graph::new();
    let edges = graph.edges();
    let rank = |f: usize| LAYERS.iter().position(|l| *l == graph.layer(f));
    let mut upward = Vec::new();
    for (from, to) in edges.iter().enumerate() {
        for &target in to.keys() {
            if let (Some(a), Some(b)) = (rank(from), rank(target))
                && a > b
            {
                upward.push(format!("{} -> {}", graph.name(from), graph.name(target)));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports pointing up the layers {LAYERS:?}:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_import_cycles_between_files() {
    let graph = Graph::new();
    let found: Vec<Vec<String>> = cycles(&graph.edges())
        .into_iter()
        .map(|c| c.iter().map(|&f| graph.name(f)).collect())
        .collect();
    let accepted = |c: &Vec<String>| ACCEPTED_CYCLES.iter().any(|(files, _)| files == c);
    let new: Vec<String> = found
        .iter()
        .filter(|c| !accepted(c))
        .map(|c| c.join(", "))
        .collect();
    assert!(
        new.is_empty(),
        "files importing each other:\n{}",
        new.join("\n")
    );
    for (files, _) in ACCEPTED_CYCLES {
        assert!(
            found.iter().any(|c| c == files),
            "{files:?} no longer form a cycle: remove them from ACCEPTED_CYCLES"
        );
    }
}

#[test]
fn the_check_sees_edges() {
    // Guards the parser: a check that finds nothing would pass trivially.
    let graph = Graph::new();
    let edges = graph.edges();
    let find = |m: &str| {
        let module: Vec<String> = m.split("::").map(String::from).collect();
        graph.index[&module]
    };
    let handler = find("proxy::handler");
    assert!(edges[handler].contains_key(&find("proxy::snapshot")));
    assert!(edges[find("app::build")].contains_key(&find("proxy::snapshot")));
    assert!(edges[find("config::load")].contains_key(&find("yaml::tree")));
    let mut leaves = Vec::new();
    parse_tree("crate::a::{b, c::{d, e as f}, self};", &[], &mut leaves);
    let flat: Vec<String> = leaves.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        flat,
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "crate::a"
        ]
    );
}
