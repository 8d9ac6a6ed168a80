//! Collects located errors while the config is resolved, so that one load reports every problem
//! it can find instead of stopping at the first.

use serde::de::DeserializeOwned;

use super::de::{DeError, from_node};
use super::error::{ConfigError, Diagnostics};
use super::source::SourceMap;
use super::tree::{Node, Seg, TreeIssue, render_path};

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
                self.de_error(file, error);
                None
            }
        }
    }
}
