//! Config errors in the `file:line: key: reason` shape that `wasmgate check` prints.

use std::fmt;
use std::path::PathBuf;

/// One problem in the configuration, located at a file, a line (1-based) and a dotted key path.
///
/// Display: `file:line: key: reason`; the line is left out when unknown (`file: key: reason`) and
/// the key when the problem is not under one (malformed YAML: `file:line: reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as it was named: the path given to `config::load`, or a provider file joined
    /// onto the directory of the file that named it.
    pub file: PathBuf,
    /// 1-based line of the key (or of the sequence item) the error is about.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `http.routers.api.service`; sequence items as `servers[1]`.
    pub key: String,
    /// What is wrong, for a person.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one load, in source order (main file first, then provider files in the
/// order they were read; by line within a file). Never empty when returned by `config::load`.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Errors gathered while loading, each tagged with the index of its file in load order so that
/// they can be put in source order at the end.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    entries: Vec<(usize, ConfigError)>,
}

impl Diagnostics {
    /// Records an error found in the file with load-order index `file_index`.
    pub(crate) fn push(&mut self, file_index: usize, error: ConfigError) {
        self.entries.push((file_index, error));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lets `explain` reword every error found (the config layer's "not supported yet").
    pub(crate) fn reword(&mut self, mut explain: impl FnMut(&mut ConfigError)) {
        for (_, error) in &mut self.entries {
            explain(error);
        }
    }

    /// Sorts by (file, line); errors without a line come last within their file. The sort is
    /// stable, so errors on one line keep the order in which they were found.
    pub(crate) fn into_sorted(mut self) -> ConfigErrors {
        self.entries
            .sort_by_key(|(file, error)| (*file, error.line.unwrap_or(usize::MAX)));
        ConfigErrors(self.entries.into_iter().map(|(_, e)| e).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: Option<usize>, key: &str) -> ConfigError {
        ConfigError {
            file: PathBuf::from("conf/dynamic.yml"),
            line,
            key: key.to_string(),
            reason: "service \"nope\" is not defined".to_string(),
        }
    }

    #[test]
    fn display_has_file_line_key_reason() {
        assert_eq!(
            error(Some(14), "http.routers.api.service").to_string(),
            "conf/dynamic.yml:14: http.routers.api.service: service \"nope\" is not defined"
        );
        assert_eq!(
            error(None, "entryPoints").to_string(),
            "conf/dynamic.yml: entryPoints: service \"nope\" is not defined"
        );
        assert_eq!(
            error(Some(3), "").to_string(),
            "conf/dynamic.yml:3: service \"nope\" is not defined"
        );
    }

    #[test]
    fn diagnostics_sort_by_file_then_line() {
        let mut diagnostics = Diagnostics::default();
        diagnostics.push(1, error(Some(2), "b"));
        diagnostics.push(0, error(None, "c"));
        diagnostics.push(0, error(Some(9), "a"));
        diagnostics.push(0, error(Some(1), "d"));
        let keys: Vec<String> = diagnostics
            .into_sorted()
            .0
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, ["d", "a", "c", "b"]);
    }
}
