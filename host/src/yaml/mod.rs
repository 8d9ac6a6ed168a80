//! The line-keeping YAML reader under the config layer:
//!
//! - `tree`: saphyr-parser events -> a node tree that keeps lines (also the line index), with
//!   `scalar` resolving plain scalars the YAML 1.2 core-schema way;
//! - `de`: a serde deserializer over that tree, so the config's raw model keeps derive +
//!   `deny_unknown_fields` while errors know their key path and line;
//! - `case_fold`: Traefik's reading of keys (any case) and of a scalar where a list is expected;
//! - `source`: key path -> file and line, for errors found at any stage;
//! - `report`: collects located errors while a config is resolved, so one load reports every
//!   problem; `error`: the located error (`file:line: key: reason`) and the sorted list.
//!
//! Knows YAML, files and lines; nothing of Traefik's keys.

pub(crate) mod case_fold;
pub(crate) mod de;
pub mod error;
pub(crate) mod report;
pub(crate) mod scalar;
pub(crate) mod source;
pub(crate) mod tree;

#[cfg(test)]
mod tests;

pub use error::{ConfigError, ConfigErrors};
