//! Config loader: [`load_from_str`] on any text never panics, gives the same answer twice, and
//! reports every problem as `file:line: key: reason` with a line inside the text, in source
//! order. A config that loads lets every router, service and middleware be located (the runtime
//! does that to report rule and plugin errors) and its rules parse or fail without panicking.

use std::path::Path;

use wasmgate::config::{ConfigErrors, LoadedConfig, load_from_str};
use wasmgate::router::Rule;

/// The file name the text is loaded as. Its directory does not exist, so a relative path in the
/// text names no file.
pub const CONFIG_NAME: &str = "/nonexistent-wasmgate-fuzz/gateway.yml";

/// The check libFuzzer and the corpus regression test run on one input. Config files are read
/// as UTF-8, so other bytes are not a config. Panics when a property fails.
///
/// Inputs that could name a file to read are skipped: the loader reads whatever
/// `providers.file.*` or `usersFile` names (`/dev/zero` and `/` included), which would make the
/// fuzzer's results depend on the machine's files; the loader's own tests cover those paths.
pub fn check_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if could_name_a_file(text) {
        return;
    }
    let first = load_from_str(CONFIG_NAME, text);
    let second = load_from_str(CONFIG_NAME, text);
    let last_line = line_count(text);
    match (first, second) {
        (Ok(config), Ok(again)) => {
            assert_eq!(
                format!("{config:?}"),
                format!("{again:?}"),
                "two loads differ"
            );
            check_loaded(&config, last_line);
        }
        (Err(errors), Err(again)) => {
            assert_eq!(errors.0, again.0, "two loads report different errors");
            check_errors(&errors, last_line);
        }
        (first, _) => panic!(
            "one load succeeded and the other failed (first: {})",
            if first.is_ok() { "ok" } else { "errors" }
        ),
    }
}

/// Whether the text may set a key the loader reads a file for: `providers` (file provider) or
/// `usersFile` (basicAuth / digestAuth), spelled out or hidden behind a YAML double-quoted escape
/// (`\x..`, `\u....`, `\U........`, an escaped line break joining two halves of a word).
pub fn could_name_a_file(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["providers", "usersfile", "\\x", "\\u", "\\\n", "\\\r"]
        .iter()
        .any(|needle| lower.contains(needle))
}

/// Lines as YAML counts them (LF, CRLF and a lone CR each end one), at least one.
fn line_count(text: &str) -> usize {
    let bytes = text.as_bytes();
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    breaks + 1
}

fn check_errors(errors: &ConfigErrors, last_line: usize) {
    assert!(!errors.0.is_empty(), "a failed load reports no error");
    let mut previous = 0;
    for error in &errors.0 {
        assert_eq!(error.file, Path::new(CONFIG_NAME), "{error}");
        assert!(!error.reason.is_empty(), "{error:?} has no reason");
        assert!(
            error.to_string().starts_with(CONFIG_NAME),
            "{error} does not start with its file"
        );
        let line = error.line.unwrap_or(usize::MAX);
        if let Some(line) = error.line {
            assert!(
                (1..=last_line).contains(&line),
                "{error}: line {line} is outside the text's {last_line} lines"
            );
        }
        assert!(line >= previous, "{error} is out of source order");
        previous = line;
    }
}

fn check_loaded(config: &LoadedConfig, last_line: usize) {
    assert_eq!(config.files(), vec![Path::new(CONFIG_NAME)]);
    let http = &config.dynamic.http;
    let mut located = Vec::new();
    for (name, router) in &http.routers {
        let _ = Rule::parse(&router.rule);
        located.push(config.error_at(&["http", "routers", name, "rule"], "rule"));
        for (i, _) in router.middlewares.iter().enumerate() {
            let index = i.to_string();
            let path = ["http", "routers", name, "middlewares", index.as_str()];
            located.push(config.error_at(&path, "middleware"));
        }
    }
    for name in http.services.keys() {
        located.push(config.error_at(&["http", "services", name], "service"));
    }
    for name in http.middlewares.keys() {
        located.push(config.error_at(&["http", "middlewares", name], "middleware"));
    }
    for error in &located {
        assert_eq!(error.file, Path::new(CONFIG_NAME), "{error}");
        if let Some(line) = error.line {
            assert!(
                (1..=last_line).contains(&line),
                "{error}: line {line} is outside the text's {last_line} lines"
            );
        }
    }
    let sorted = config.errors_in_source_order(located);
    let lines: Vec<usize> = sorted
        .0
        .iter()
        .map(|e| e.line.unwrap_or(usize::MAX))
        .collect();
    assert!(
        lines.is_sorted(),
        "errors_in_source_order is not sorted: {lines:?}"
    );
}
