//! What a plugin writes to `wasi:cli/stdout` and `wasi:cli/stderr`: cut into lines and written
//! to the gateway log with the middleware, plugin and content hash, under a byte budget per
//! configured middleware so a chatty plugin cannot flood the log.
//!
//! Runs inside the guest's write call (a request thread): a line split and, per complete line,
//! one short uncontended lock of the middleware's budget and one `tracing` event. Nothing blocks
//! on I/O: the log writer is the gateway's own.

use std::sync::Mutex;
use std::time::Instant;

/// Bytes of plugin output a middleware may log per second, on average...
pub const OUTPUT_BYTES_PER_SECOND: u64 = 16 << 10;
/// ...and at once, after a quiet period.
pub const OUTPUT_BURST_BYTES: u64 = 64 << 10;
/// A line longer than this is logged in pieces of this size (the host holds at most this much
/// of an unfinished line per stream and instance).
const MAX_LINE_BYTES: usize = 4 << 10;

/// Which of the plugin's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Who wrote, for the log line's fields.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub middleware: &'a str,
    pub plugin: &'a str,
    pub hash: &'a str,
}

/// A token bucket of log bytes, shared by every instance of one configured middleware.
#[derive(Debug)]
pub struct OutputBudget {
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    /// Bytes dropped since output last went through.
    dropped: u64,
}

/// What the budget says about one line.
enum Take {
    Log { dropped_before: u64 },
    Drop { first: bool },
}

impl Default for OutputBudget {
    fn default() -> Self {
        OutputBudget {
            state: Mutex::new(Bucket {
                tokens: OUTPUT_BURST_BYTES as f64,
                refilled: Instant::now(),
                dropped: 0,
            }),
        }
    }
}

impl OutputBudget {
    fn take(&self, bytes: usize) -> Take {
        // A panic cannot leave the bucket half-updated in a way that matters (plain numbers).
        let mut b = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(b.refilled).as_secs_f64() * OUTPUT_BYTES_PER_SECOND as f64;
        b.tokens = (b.tokens + refill).min(OUTPUT_BURST_BYTES as f64);
        b.refilled = now;
        let cost = bytes as f64;
        // Once dropping, go on dropping until half the burst is back: one notice when it
        // starts and one count when it ends, not a pair per line the refill lets through.
        let resume_at = if b.dropped > 0 {
            OUTPUT_BURST_BYTES as f64 / 2.0
        } else {
            0.0
        };
        if b.tokens >= cost.max(resume_at) {
            b.tokens -= cost;
            Take::Log {
                dropped_before: std::mem::take(&mut b.dropped),
            }
        } else {
            let first = b.dropped == 0;
            b.dropped = b.dropped.saturating_add(bytes as u64);
            Take::Drop { first }
        }
    }
}

/// One instance's unfinished lines (an instance serves one call at a time: no lock). A line is
/// logged when its newline comes or it reaches 4 KiB, not on a flush: Rust's std flushes stderr
/// after every piece of an `eprintln!`. What an instance leaves unfinished when it is dropped
/// is not logged.
#[derive(Debug, Default)]
pub struct PluginOutput {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl PluginOutput {
    /// Takes bytes the guest wrote; logs every complete line (and 4 KiB parts of longer ones).
    pub fn write(&mut self, budget: &OutputBudget, who: Writer<'_>, stream: Stream, bytes: &[u8]) {
        let buf = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        for mut piece in bytes.split_inclusive(|b| *b == b'\n') {
            // A piece longer than the room left is logged in parts of a full line each.
            while !piece.is_empty() {
                let room = MAX_LINE_BYTES.saturating_sub(buf.len()).max(1);
                let (now, rest) = piece.split_at(piece.len().min(room));
                buf.extend_from_slice(now);
                if buf.ends_with(b"\n") || buf.len() >= MAX_LINE_BYTES {
                    emit(budget, who, stream, buf);
                    buf.clear();
                }
                piece = rest;
            }
        }
    }
}

/// One log line, if the budget allows; control characters are replaced so a plugin cannot
/// forge log lines or terminal escapes.
fn emit(budget: &OutputBudget, who: Writer<'_>, stream: Stream, line: &[u8]) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Writer {
        middleware,
        plugin,
        hash,
    } = who;
    let stream_name = stream.name();
    match budget.take(line.len() + 1) {
        Take::Log { dropped_before } => {
            if dropped_before > 0 {
                tracing::warn!(
                    middleware,
                    plugin,
                    hash,
                    "dropped {dropped_before} bytes of plugin output over the budget of \
                     {OUTPUT_BYTES_PER_SECOND} bytes/s"
                );
            }
            let text: String = String::from_utf8_lossy(line)
                .chars()
                .map(|c| {
                    if c.is_control() && c != '\t' {
                        '\u{fffd}'
                    } else {
                        c
                    }
                })
                .collect();
            match stream {
                Stream::Stdout => {
                    tracing::info!(middleware, plugin, hash, stream = stream_name, "{text}")
                }
                Stream::Stderr => {
                    tracing::warn!(middleware, plugin, hash, stream = stream_name, "{text}")
                }
            }
        }
        Take::Drop { first: true } => tracing::warn!(
            middleware,
            plugin,
            hash,
            "plugin output over the budget of {OUTPUT_BYTES_PER_SECOND} bytes/s \
             (bursts of {OUTPUT_BURST_BYTES}): dropping it"
        ),
        Take::Drop { first: false } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHO: Writer<'static> = Writer {
        middleware: "m",
        plugin: "p",
        hash: "h",
    };

    #[test]
    fn the_budget_lets_a_burst_through_then_drops_and_counts() {
        let budget = OutputBudget::default();
        assert!(matches!(
            budget.take(OUTPUT_BURST_BYTES as usize),
            Take::Log { dropped_before: 0 }
        ));
        assert!(matches!(budget.take(10_000), Take::Drop { first: true }));
        assert!(matches!(budget.take(10_000), Take::Drop { first: false }));
    }

    #[test]
    fn long_lines_are_cut_and_partial_lines_wait_for_their_end() {
        let budget = OutputBudget::default();
        let mut out = PluginOutput::default();
        out.write(&budget, WHO, Stream::Stdout, b"par");
        assert_eq!(out.stdout, b"par");
        out.write(&budget, WHO, Stream::Stdout, b"tial\nnext");
        assert_eq!(out.stdout, b"next");
        out.write(
            &budget,
            WHO,
            Stream::Stderr,
            &vec![b'x'; 3 * MAX_LINE_BYTES + 5],
        );
        assert_eq!(
            out.stderr.len(),
            5,
            "whole pieces were logged, the rest waits"
        );
    }
}
