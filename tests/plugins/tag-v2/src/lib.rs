//! Test fixture `tag-v2`: sets `x-plugin-version: 2` on every response (see `../tag-v1/src/tag.rs`).

const VERSION: &str = "2";
include!("../../tag-v1/src/tag.rs");
