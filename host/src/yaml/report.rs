//! Collects located errors while the config is resolved, so that one load reports every problem
//! it can find instead of stopping at the first.

use serde::de::DeserializeOwned;

use super::de::{DeError, from_node};
use super::error::{ConfigError, Diagnostics};
use super::source::SourceMap;
use super::tree::{Node, Seg, TreeIssue, render_path};

/// How many unknown keys of one entity are reported (each one more read of a copy).
const MAX_UNKNOWN_KEYS: usize = 32;

/// Locates errors against the files read so far and records them.
pub(crate) struct Reporter<'a> {
    pub(crate) sources: &'a SourceMap,
    pub(crate) diagnostics: &'a mut Diagnostics,
}

impl Reporter<'_> {
    /// An error at `key_path` in file `file` (line of the deepest existing key).
    pub(crate) fn at<S: AsRef<str>>(
        &mut self,
        file: usize,
        key_path: &[S],
        reason: impl Into<String>,
    ) {
        let location = self.sources.locate_in(file, key_path);
        let error = self.sources.error_at(location, reason);
        self.diagnostics.push(file, error);
    }

    /// A warning at `key_path` in file `file`: something that loads (as Traefik loads it) but
    /// will not work as the author may expect. Logged at once, located like an error
    /// (`file:line: key: reason`); `wasmgate check` prints it, `run` logs it at every load.
    pub(crate) fn warn<S: AsRef<str>>(
        &mut self,
        file: usize,
        key_path: &[S],
        reason: impl Into<String>,
    ) {
        let location = self.sources.locate_in(file, key_path);
        let warning = self.sources.error_at(location, reason);
        tracing::warn!("{warning}");
    }

    /// An error whose line and path are already known.
    pub(crate) fn exact(
        &mut self,
        file: usize,
        path: &[Seg],
        line: Option<usize>,
        reason: impl Into<String>,
    ) {
        let error = ConfigError {
            file: self.sources.path(file).to_path_buf(),
            line,
            key: render_path(path),
            reason: reason.into(),
        };
        self.diagnostics.push(file, error);
    }

    pub(crate) fn tree_issue(&mut self, file: usize, issue: TreeIssue) {
        self.exact(file, &issue.path, Some(issue.line), issue.reason);
    }

    pub(crate) fn de_error(&mut self, file: usize, error: DeError) {
        match error.location {
            Some((path, line)) => self.exact(file, &path, Some(line), error.reason),
            None => self.exact(file, &[], None, error.reason),
        }
    }

    /// Deserializes the entity at `key_path` (whose key is on `line`) or records why not.
    pub(crate) fn parse<T: DeserializeOwned>(
        &mut self,
        file: usize,
        node: &Node,
        key_path: &[&str],
        line: usize,
    ) -> Option<T> {
        let path: Vec<Seg> = key_path
            .iter()
            .map(|k| Seg::Key((*k).to_string()))
            .collect();
        match from_node(node, &path, line) {
            Ok(value) => Some(value),
            Err(error) => {
                self.every_unknown_key::<T>(file, node, &path, line, error);
                None
            }
        }
    }

    /// Reports `error` and, when it is an unknown key, every other unknown key of the entity
    /// too (serde stops at the first): the key is dropped from a copy of the node and the
    /// entity read again, up to [`MAX_UNKNOWN_KEYS`] times. Runs on the error path only.
    fn every_unknown_key<T: DeserializeOwned>(
        &mut self,
        file: usize,
        node: &Node,
        path: &[Seg],
        line: usize,
        mut error: DeError,
    ) {
        let mut copy: Option<Node> = None;
        for _ in 0..MAX_UNKNOWN_KEYS {
            let below = match &error.location {
                Some((at, _)) if error.reason.starts_with("unknown key \"") => {
                    at.strip_prefix(path).map(<[Seg]>::to_vec)
                }
                _ => None,
            };
            self.de_error(file, error);
            let Some(below) = below.filter(|b| !b.is_empty()) else {
                return;
            };
            let node = copy.get_or_insert_with(|| node.clone());
            if !super::tree::remove_at(node, &below) {
                return;
            }
            match from_node::<T>(node, path, line) {
                Ok(_) => return,
                Err(next) => error = next,
            }
        }
    }
}
