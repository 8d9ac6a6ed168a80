//! The breaker's state (oxy's `cbreaker` state machine), one record per router in `kv`, changed
//! only by compare-and-swap so that concurrent instances agree on every transition:
//!
//! - **standby**: every request passes; outcomes are counted in the window and, at most once
//!   per `checkPeriod`, the expression is evaluated; if it holds, the breaker trips;
//! - **tripped**: every request is answered with `responseCode` for `fallbackDuration` (the
//!   window starts afresh: a new generation of counters);
//! - **recovering**: for `recoveryDuration`, a growing share of requests passes (oxy's ratio
//!   controller: at most 0.5 × elapsed / recoveryDuration of them); the expression holding
//!   again trips it again, and when the time is over it stands by.
//!
//! Times are the gateway's monotonic clock (`clock.monotonic-now`, one origin for every
//! instance), in nanoseconds.

/// Which state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Standby,
    Tripped,
    Recovering,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Standby => "standby",
            Phase::Tripped => "tripped",
            Phase::Recovering => "recovering",
        }
    }
}

/// The record; an absent one is a breaker in standby that never checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    pub phase: Phase,
    /// The window's generation: bumped when the breaker trips (oxy resets its metrics then).
    pub generation: u32,
    /// When tripped or recovering ends.
    pub until: u64,
    /// When recovering started.
    pub recovery_start: u64,
    /// The next check of the expression is due after this.
    pub next_check: u64,
}

/// Bytes of an encoded record.
const LEN: usize = 1 + 4 + 8 * 3;

impl State {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN);
        out.push(match self.phase {
            Phase::Standby => 0,
            Phase::Tripped => 1,
            Phase::Recovering => 2,
        });
        out.extend_from_slice(&self.generation.to_le_bytes());
        for n in [self.until, self.recovery_start, self.next_check] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out
    }

    /// The record in `bytes`; a malformed one reads as a fresh standby.
    pub fn decode(bytes: Option<&[u8]>) -> State {
        let Some(bytes) = bytes.filter(|b| b.len() == LEN) else {
            return State::default();
        };
        let u64_at = |at: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let mut generation = [0; 4];
        generation.copy_from_slice(&bytes[1..5]);
        State {
            phase: match bytes[0] {
                1 => Phase::Tripped,
                2 => Phase::Recovering,
                _ => Phase::Standby,
            },
            generation: u32::from_le_bytes(generation),
            until: u64_at(5),
            recovery_start: u64_at(13),
            next_check: u64_at(21),
        }
    }
}

/// What `on-request` hands `on-complete` (the request's scratch): the generation and next check
/// the request saw, and the router's key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub generation: u32,
    pub next_check: u64,
    pub prefix: String,
}

impl Ticket {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.prefix.len());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.next_check.to_le_bytes());
        out.extend_from_slice(self.prefix.as_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Ticket> {
        if bytes.len() < 12 {
            return None;
        }
        let mut generation = [0; 4];
        generation.copy_from_slice(&bytes[..4]);
        let mut next_check = [0; 8];
        next_check.copy_from_slice(&bytes[4..12]);
        Some(Ticket {
            generation: u32::from_le_bytes(generation),
            next_check: u64::from_le_bytes(next_check),
            prefix: String::from_utf8(bytes[12..].to_vec()).ok()?,
        })
    }
}
