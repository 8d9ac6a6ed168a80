//! Test fixture `tag-v1`: sets `x-plugin-version: 1` on every response (see `tag.rs`).

const VERSION: &str = "1";
include!("tag.rs");
