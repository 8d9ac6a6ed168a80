//! The fuzz corpora as regression tests: every kept seed and finding in `fuzz/corpus/<target>/`
//! goes through the same checks as the fuzz target (`fuzz/checks/`, included here by path), so
//! an input that once broke a property keeps being tried by the normal test suite. Fuzzing
//! itself: `bash scripts/fuzz.sh <target> [seconds]`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/checks/mod.rs"]
mod checks;

/// Fewer seeds than this means the corpus folder went missing or was emptied by mistake.
const MIN_SEEDS: usize = 20;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Runs every file of `fuzz/corpus/<target>/` through `check`, and fails naming each file that
/// breaks a property (all of them, not only the first).
fn replay(target: &str, check: fn(&[u8])) {
    let dir = repo_root().join("fuzz").join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= MIN_SEEDS,
        "{} holds {} seeds, expected at least {MIN_SEEDS}",
        dir.display(),
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-text panic)");
            failures.push(format!("{}: {message}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {target} corpus files fail:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn rule_parser_corpus_parses_or_errs_and_rules_keep_their_meaning() {
    replay("rule", checks::rule::check_rule);
}

#[test]
fn config_loader_corpus_loads_or_reports_located_errors() {
    replay("config", checks::config::check_config);
}

#[test]
fn path_normalisation_corpus_is_idempotent_and_leaves_no_dot_segment() {
    replay("path", checks::path::check_path);
}

#[test]
fn plugin_output_corpus_is_accepted_only_when_it_reparses_as_http() {
    replay("plugin_output", checks::plugin_output::check_plugin_output);
}

/// The fuzz targets load configs from text; that entry point must behave exactly as loading
/// the file does, for every test config the loader's own tests use (provider files included).
#[test]
fn config_loaded_from_text_equals_config_loaded_from_its_file() {
    let testdata = repo_root().join("host/src/config/testdata");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&testdata).expect("config testdata") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.push(path.join("gateway.yml"));
        } else if path.extension().is_some_and(|e| e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    assert!(files.len() >= 10, "only {} test configs", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("test config");
        let name = file.to_str().expect("UTF-8 path");
        let from_file = wasmgate::config::load(&file);
        let from_text = wasmgate::config::load_from_str(name, &text);
        match (from_file, from_text) {
            (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{name}"),
            (Err(a), Err(b)) => assert_eq!(a.0, b.0, "{name}"),
            (a, b) => panic!("{name}: from the file {a:?}, from its text {b:?}"),
        }
    }
}
