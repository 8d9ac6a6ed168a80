//! The key-path -> line index over every file of one load, so that any error (found here or by
//! the lead's rule/plugin checks through `config::LoadedConfig::error_at`) can be located.
//!
//! Lookups walk the parsed trees: O(depth x keys per level), only on the error path.

use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::tree::{Node, Seg, Value, render_path};

/// One file read during a load, in load order (index 0 is the main file).
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    /// `None` for a file that is empty or failed to parse.
    pub(crate) root: Option<Node>,
}

/// Where a key path was found: the file, the line of the deepest key that exists, the rendered
/// key path and how many of its segments exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) file: usize,
    pub(crate) line: Option<usize>,
    pub(crate) key: String,
    depth: usize,
}

impl Location {
    /// Whether all `len` segments of the path looked up were found.
    pub(crate) fn is_complete(&self, len: usize) -> bool {
        self.depth == len
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file and returns its index.
    pub(crate) fn add(&mut self, path: PathBuf, root: Option<Node>) -> usize {
        self.files.push(SourceFile { path, root });
        self.files.len() - 1
    }

    pub(crate) fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The path of file `index`; an empty path for an index that was never added.
    pub(crate) fn path(&self, index: usize) -> &Path {
        self.files
            .get(index)
            .map_or(Path::new(""), |f| f.path.as_path())
    }

    pub(crate) fn root(&self, index: usize) -> Option<&Node> {
        self.files.get(index).and_then(|f| f.root.as_ref())
    }

    /// File `index`'s tree, to rewrite before the load reads it (a provider's namespace).
    pub(crate) fn root_mut(&mut self, index: usize) -> Option<&mut Node> {
        self.files.get_mut(index).and_then(|f| f.root.as_mut())
    }

    /// Locates `key_path` within file `index`. A segment under a sequence is read as an index
    /// (`["servers", "1"]` renders `servers[1]`). When only a prefix exists the line is the
    /// deepest existing key's (or `None` when not even the first segment exists).
    pub(crate) fn locate_in<S: AsRef<str>>(&self, index: usize, key_path: &[S]) -> Location {
        let mut segs = Vec::with_capacity(key_path.len());
        let mut line = None;
        let mut depth = 0;
        let mut node = self.root(index);
        for seg in key_path {
            let seg = seg.as_ref();
            let found = match node.map(|n| &n.value) {
                // Keys are read case-insensitively (Traefik's rule): a path spelt as the model
                // spells it finds the key as the file spells it.
                Some(Value::Map(entries)) => entries
                    .iter()
                    .find(|e| e.key == seg)
                    .or_else(|| entries.iter().find(|e| e.key.eq_ignore_ascii_case(seg)))
                    .map(|e| (Seg::Key(e.key.clone()), e.line, &e.value)),
                Some(Value::Seq(items)) => seg
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i).map(|item| (Seg::Index(i), item.line, item))),
                _ => None,
            };
            match found {
                Some((found_seg, found_line, child)) => {
                    segs.push(found_seg);
                    line = Some(found_line);
                    depth += 1;
                    node = Some(child);
                }
                None => {
                    segs.push(Seg::Key(seg.to_string()));
                    node = None;
                }
            }
        }
        Location {
            file: index,
            line,
            key: render_path(&segs),
            depth,
        }
    }

    /// Locates `key_path` in whichever file holds most of it (the main file on ties), which is
    /// the file that defined the router/service/middleware named in it.
    pub(crate) fn locate<S: AsRef<str>>(&self, key_path: &[S]) -> Location {
        let mut best = self.locate_in(0, key_path);
        for index in 1..self.files.len() {
            let candidate = self.locate_in(index, key_path);
            if candidate.depth > best.depth {
                best = candidate;
            }
        }
        best
    }

    /// Builds the error for a location.
    pub(crate) fn error_at(&self, location: Location, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path(location.file).to_path_buf(),
            line: location.line,
            key: location.key,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::tree::parse;

    fn map_of(files: &[(&str, &str)]) -> SourceMap {
        let mut map = SourceMap::default();
        for (name, text) in files {
            let tree = parse(text).ok().and_then(|t| t.root);
            map.add(PathBuf::from(name), tree);
        }
        map
    }

    #[test]
    fn locates_nested_keys_and_sequence_items() {
        let map = map_of(&[(
            "a.yml",
            "http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: x\n          - url: y\n",
        )]);
        let found = map.locate(&[
            "http",
            "services",
            "s",
            "loadBalancer",
            "servers",
            "1",
            "url",
        ]);
        assert_eq!(found.line, Some(7));
        assert_eq!(found.key, "http.services.s.loadBalancer.servers[1].url");
    }

    #[test]
    fn missing_tail_uses_deepest_existing_line() {
        let map = map_of(&[("a.yml", "http:\n  routers:\n    api:\n      service: s\n")]);
        let found = map.locate(&["http", "routers", "api", "rule"]);
        assert_eq!(found.line, Some(3));
        assert_eq!(found.key, "http.routers.api.rule");
        let nowhere = map.locate(&["entryPoints"]);
        assert_eq!((nowhere.file, nowhere.line), (0, None));
    }

    #[test]
    fn picks_the_file_that_defines_the_entity() {
        let map = map_of(&[
            (
                "main.yml",
                "entryPoints:\n  web:\n    address: :80\nhttp:\n  routers: {}\n",
            ),
            ("dyn.yml", "\nhttp:\n  routers:\n    api:\n      rule: x\n"),
        ]);
        let found = map.locate(&["http", "routers", "api", "rule"]);
        assert_eq!((found.file, found.line), (1, Some(5)));
        let error = map.error_at(found, "bad rule");
        assert_eq!(
            error.to_string(),
            "dyn.yml:5: http.routers.api.rule: bad rule"
        );
    }
}
