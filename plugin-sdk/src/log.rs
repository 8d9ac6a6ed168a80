//! Logging and the monotonic clock: host imports in the component, stderr and `Instant` natively.

/// Severity of a log line; the host maps it onto its own levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation worth recording.
    Info,
    /// Something unexpected the plugin recovered from.
    Warn,
    /// Something failed.
    Error,
}

/// Write one log line, attributed by the host to this middleware and plugin.
///
/// Cost: one host call; the host drops lines below the gateway's level. Natively the line goes
/// to stderr (shown by `cargo test` for failing tests).
pub fn log(level: Level, msg: &str) {
    imp::log(level, msg);
}

/// Nanoseconds on a monotonic clock: only differences are meaningful (the origin is fixed per
/// gateway process in the component, per test process natively). Never decreases.
pub fn monotonic_now() -> u64 {
    imp::monotonic_now()
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Level;
    use crate::guest::wit::{clock, log, types::LogLevel};

    pub(super) fn log(level: Level, msg: &str) {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        log::log(level, msg);
    }

    pub(super) fn monotonic_now() -> u64 {
        clock::monotonic_now()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Level;
    use std::sync::OnceLock;
    use std::time::Instant;

    pub(super) fn log(level: Level, msg: &str) {
        eprintln!("[plugin {level:?}] {msg}");
    }

    pub(super) fn monotonic_now() -> u64 {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let elapsed = ORIGIN.get_or_init(Instant::now).elapsed();
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Log at [`Level::Trace`] with `format!` arguments (formatted in the guest before the host call).
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log($crate::Level::Trace, &::std::format!($($arg)+)) };
}

/// Log at [`Level::Debug`] with `format!` arguments (formatted in the guest before the host call).
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log($crate::Level::Debug, &::std::format!($($arg)+)) };
}

/// Log at [`Level::Info`] with `format!` arguments (formatted in the guest before the host call).
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log($crate::Level::Info, &::std::format!($($arg)+)) };
}

/// Log at [`Level::Warn`] with `format!` arguments (formatted in the guest before the host call).
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log($crate::Level::Warn, &::std::format!($($arg)+)) };
}

/// Log at [`Level::Error`] with `format!` arguments (formatted in the guest before the host call).
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log($crate::Level::Error, &::std::format!($($arg)+)) };
}
