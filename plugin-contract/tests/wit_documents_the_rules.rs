//! The WIT documents the rules the host enforces: each limit in this crate appears, with its
//! value, in the doc comment of the WIT item it governs, and no other status range is written
//! anywhere in the contract. Reads `wit/*.wit` as text; change a constant or the WIT's wording
//! and this names the item to fix.

use std::fs;
use std::path::Path;

use plugin_contract::{
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_REPLY_BODY, MAX_BODY_PEEK, MAX_HEADER_VALUE_BYTES,
    MAX_STATE_BYTES, MAX_STATUS, MIN_STATUS,
};

/// Every `.wit` file of the contract, concatenated (sorted by name, so messages are stable).
fn wit_text() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a wit/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wit"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .wit file in {}", dir.display());
    files
        .iter()
        .map(|path| fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `///` doc comment directly above the WIT item whose line starts with `item` (e.g.
/// `set-status:`, `record reply`), joined into one line.
fn doc_of(wit: &str, item: &str) -> String {
    let lines: Vec<&str> = wit.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|line| line.starts_with(item))
        .unwrap_or_else(|| panic!("no WIT item starting with {item:?}"));
    let mut doc: Vec<&str> = lines[..at]
        .iter()
        .rev()
        .take_while(|line| line.starts_with("///"))
        .map(|line| line.trim_start_matches('/').trim())
        .collect();
    doc.reverse();
    doc.join(" ")
}

fn kib(bytes: usize) -> String {
    assert_eq!(bytes % 1024, 0, "{bytes} is not a whole number of KiB");
    format!("{} KiB", bytes / 1024)
}

#[track_caller]
fn assert_documents(wit: &str, item: &str, phrase: &str) {
    let doc = doc_of(wit, item);
    assert!(
        doc.contains(phrase),
        "the WIT doc of `{item}` should say {phrase:?}; it says: {doc}"
    );
}

#[test]
fn set_status_and_reply_document_the_status_range_the_host_enforces() {
    let wit = wit_text();
    let range = format!("{MIN_STATUS}..={MAX_STATUS}");
    assert_documents(&wit, "set-status:", &format!("accepts {range}"));
    assert_documents(&wit, "record reply", &format!("status in {range}"));
}

#[test]
fn every_status_range_written_in_the_wit_is_the_enforced_one() {
    let wit = wit_text();
    let expected = format!("{MIN_STATUS}..={MAX_STATUS}");
    for (at, _) in wit.match_indices("..=") {
        let start = wit[..at]
            .rfind(|c: char| !c.is_ascii_digit())
            .map_or(0, |i| i + 1);
        let end = at
            + 3
            + wit[at + 3..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(wit.len() - at - 3);
        assert_eq!(&wit[start..end], expected, "a range in the WIT");
    }
}

#[test]
fn limits_are_documented_where_a_plugin_meets_them() {
    let wit = wit_text();
    let state = kib(MAX_STATE_BYTES);
    let header_value = kib(MAX_HEADER_VALUE_BYTES);
    assert_documents(&wit, "set-state:", &format!("at most {state}"));
    assert_documents(
        &wit,
        "limit-exceeded,",
        &format!("a header value over {header_value}"),
    );
    assert_documents(
        &wit,
        "limit-exceeded,",
        &format!("per-request state over {state}"),
    );
    assert_documents(
        &wit,
        "limit-exceeded,",
        &format!("default {DEFAULT_MAX_HEADERS} headers"),
    );
    assert_documents(
        &wit,
        "record reply",
        &format!("values of at most {header_value} each"),
    );
    assert_documents(
        &wit,
        "response-body-peek:",
        &format!("caps it at {MAX_BODY_PEEK}"),
    );
}

#[test]
fn reply_documents_the_default_budgets() {
    let wit = wit_text();
    assert_documents(
        &wit,
        "record reply",
        &format!(
            "default {DEFAULT_MAX_HEADERS} headers, body cap {}",
            kib(DEFAULT_MAX_REPLY_BODY)
        ),
    );
}

#[test]
fn outbound_http_documents_its_limits() {
    use plugin_contract::{
        MAX_SUBREQUEST_BODY, MAX_SUBREQUESTS_PER_MIDDLEWARE, MAX_SUBRESPONSE_BODY,
    };
    let wit = wit_text();
    assert_documents(
        &wit,
        "record subrequest",
        &format!("a body of at most {}", kib(MAX_SUBREQUEST_BODY)),
    );
    assert_eq!(MAX_SUBRESPONSE_BODY, 1024 * 1024);
    assert_documents(&wit, "max-response-body:", "caps it at 1 MiB");
    assert_documents(
        &wit,
        "too-many,",
        &format!("already sent {MAX_SUBREQUESTS_PER_MIDDLEWARE} subrequests"),
    );
}

#[test]
fn kv_documents_its_caps() {
    use plugin_contract::{
        MAX_KV_BYTES, MAX_KV_GET_MANY, MAX_KV_KEY_BYTES, MAX_KV_KEYS, MAX_KV_VALUE_BYTES,
    };
    let wit = wit_text();
    let caps = format!(
        "a key is 1 to {MAX_KV_KEY_BYTES} bytes, a value at most {MAX_KV_VALUE_BYTES} bytes, at \
         most {MAX_KV_KEYS} keys and {} MiB",
        MAX_KV_BYTES / (1024 * 1024)
    );
    assert_documents(&wit, "interface kv", &caps);
    assert_documents(
        &wit,
        "get-many:",
        &format!("at most {MAX_KV_GET_MANY} keys"),
    );
    assert_documents(
        &wit,
        "value-too-large",
        &format!("longer than {MAX_KV_VALUE_BYTES} bytes"),
    );
    assert_documents(
        &wit,
        "invalid-key",
        &format!("longer than {MAX_KV_KEY_BYTES} bytes"),
    );
}
