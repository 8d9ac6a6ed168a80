//! The engine's epoch ticker: wakes a few times per deadline while plugin calls are armed, and
//! not at all once none is.
//!
//! Deadlines are counted in epoch ticks (`plugins.epochTick`, default 1 ms). The ticker used to
//! wake every tick while plugins ran: 1000 wake-ups a second on the worker's core under load,
//! 2–4% of a plugin path's CPU (bench/README). Now:
//! - every entry into a plugin arms its deadline through [`EpochArm::arm`], which counts it from
//!   the *real* tick (read from the clock), not from the epoch the ticker last wrote: the epoch
//!   may lag real time by a whole wake-up period and no deadline fires early;
//! - the ticker sleeps `max(tick, shortest armed deadline / WAKES_PER_DEADLINE)` and catches the
//!   epoch up to real time at each wake-up, so a runaway call is stopped at most an eighth of
//!   its deadline (plus scheduling delay) after it, never before. With the default 50 ms
//!   deadline it wakes every 6 ms (≈ 160 wake-ups a second instead of 1000); deadlines of up to
//!   `WAKES_PER_DEADLINE` ticks keep one wake-up per tick;
//! - it parks once the last armed deadline is `idle_after` behind it and nothing was armed
//!   since; the next `arm` wakes it.
//!
//! Cost per call (hot path): one clock read (vDSO), one division, a few relaxed loads, at most
//! one `fetch_max`, one load of the parked flag; an `unpark` (a futex wake) only on the first
//! call after an idle period.
//! Correctness: an armed deadline always fires, because the ticker cannot park before the tick
//! that deadline ends on (Dekker-style: the caller publishes its deadline, then reads `parked`;
//! the ticker publishes `parked`, then re-reads the deadline; one sees the other).

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store};

/// Wake-ups of the ticker within the shortest armed deadline: how late (as a share of its
/// deadline) a runaway call may be stopped.
const WAKES_PER_DEADLINE: u64 = 8;

/// Longest sleep between two wake-ups, whatever the deadlines (bounds how long an idle ticker
/// takes to park).
const MAX_SLEEP: Duration = Duration::from_millis(100);

/// `anchor_ns` while the ticker is parked: the epoch is frozen, real time is not counted.
const NO_ANCHOR: u64 = u64::MAX;

/// What the ticker and the callers share.
struct Shared {
    /// Ticks done so far (mirrors the increments made to the engine's epoch; written after
    /// each increment, so the engine's epoch is never behind it).
    ticks: AtomicU64,
    /// The real tick up to which the ticker must keep running: the latest armed deadline.
    keep_until: AtomicU64,
    parked: AtomicBool,
    stop: AtomicBool,
    thread: OnceLock<Thread>,
    /// The clock's zero for `anchor_ns`.
    origin: Instant,
    tick_ns: u64,
    /// Nanoseconds after `origin` at which real tick 0 lies: the real tick now is
    /// `(now - anchor) / tick`, which the epoch reaches at the ticker's next wake-up.
    /// [`NO_ANCHOR`] while parked (the epoch resumes from where it stopped).
    anchor_ns: AtomicU64,
    /// The shortest deadline ever armed, in ticks: sets the wake-up period. Never raised (a
    /// reload to longer deadlines keeps the shorter period: more wake-ups, never a late stop).
    /// Until the first arm the ticker sleeps [`MAX_SLEEP`], so the very first call may be
    /// stopped up to that much late.
    shortest: AtomicU64,
    /// Wake-ups so far (tests and diagnostics).
    wakes: AtomicU64,
}

impl Shared {
    fn nanos_now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Sets a store's epoch deadline and keeps the ticker awake until it could have passed.
/// Cheap to clone (one `Arc`); every plugin instance holds one.
#[derive(Clone)]
pub struct EpochArm(Arc<Shared>);

impl EpochArm {
    /// Sets `store`'s deadline `ticks` real ticks from now and wakes the ticker if it was
    /// parked. Called right before every entry into a plugin.
    pub fn arm<T>(&self, store: &mut Store<T>, ticks: u64) {
        let s = &*self.0;
        // Acquire: the engine's epoch, read by `set_epoch_deadline`, is then at least this.
        let epoch = s.ticks.load(Ordering::Acquire);
        let anchor = s.anchor_ns.load(Ordering::Acquire);
        let now = if anchor == NO_ANCHOR {
            epoch
        } else {
            (s.nanos_now().saturating_sub(anchor) / s.tick_ns).max(epoch)
        };
        // Relative to the engine's epoch, which lags the real tick by `now - epoch` (at most
        // one wake-up period): the deadline lies `ticks` real ticks ahead.
        store.set_epoch_deadline(ticks.saturating_add(now - epoch));
        if ticks < s.shortest.load(Ordering::Relaxed) {
            s.shortest.fetch_min(ticks, Ordering::Relaxed);
        }
        // +2: an increment in flight, and the real tick's rounding.
        let until = now.saturating_add(ticks).saturating_add(2);
        if s.keep_until.load(Ordering::Relaxed) < until {
            s.keep_until.fetch_max(until, Ordering::SeqCst);
        }
        if s.parked.load(Ordering::SeqCst)
            && s.parked.swap(false, Ordering::SeqCst)
            && let Some(t) = s.thread.get()
        {
            t.unpark();
        }
    }

    /// Whether the ticker is parked (tests and diagnostics).
    pub fn is_parked(&self) -> bool {
        self.0.parked.load(Ordering::SeqCst)
    }

    /// The ticker's wake-ups so far (tests and diagnostics).
    pub fn wakes(&self) -> u64 {
        self.0.wakes.load(Ordering::Relaxed)
    }

    /// Epoch ticks done so far (tests and diagnostics).
    pub fn ticks(&self) -> u64 {
        self.0.ticks.load(Ordering::Relaxed)
    }
}

/// The ticker thread; dropping it stops the thread.
pub struct EpochTicker {
    arm: EpochArm,
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts the ticker thread for `engine`, ticking every `tick` (waking less often when
    /// every armed deadline is long), parking once no deadline has been armed for
    /// `idle_after` past the last armed one.
    pub fn start(engine: Engine, tick: Duration, idle_after: Duration) -> std::io::Result<Self> {
        let tick_ns = u64::try_from(tick.as_nanos()).unwrap_or(u64::MAX).max(1);
        let shared = Arc::new(Shared {
            ticks: AtomicU64::new(0),
            keep_until: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            thread: OnceLock::new(),
            origin: Instant::now(),
            tick_ns,
            anchor_ns: AtomicU64::new(0),
            shortest: AtomicU64::new(u64::MAX),
            wakes: AtomicU64::new(0),
        });
        let idle_ticks = u64::try_from(idle_after.as_nanos() / u128::from(tick_ns))
            .unwrap_or(u64::MAX)
            .max(1);
        let handle = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("wasmgate-epoch".into())
                .spawn(move || run(&engine, idle_ticks, &shared))?
        };
        let _ = shared.thread.set(handle.thread().clone());
        Ok(EpochTicker {
            arm: EpochArm(shared),
            handle: Some(handle),
        })
    }

    pub fn arm(&self) -> &EpochArm {
        &self.arm
    }
}

/// Keeps the epoch equal to the number of whole ticks since the ticker last (re)started, plus
/// the ticks done before. `sleep` overshoots (timer slack, scheduling), and the period is
/// several ticks when deadlines are long, so a wake-up increments as many times as ticks went
/// by: deadlines follow the wall time, not the number of wake-ups. Time spent parked is not
/// caught up (nothing was armed, so no deadline was counting).
fn run(engine: &Engine, idle_ticks: u64, s: &Shared) {
    let tick_ns = s.tick_ns;
    let max_every = (u64::try_from(MAX_SLEEP.as_nanos()).unwrap_or(u64::MAX) / tick_ns).max(1);
    let mut ticks = s.ticks.load(Ordering::Relaxed);
    let mut start = s.nanos_now();
    s.anchor_ns.store(start, Ordering::Release);
    let mut done: u64 = 0;
    while !s.stop.load(Ordering::Relaxed) {
        let every = (s.shortest.load(Ordering::Relaxed) / WAKES_PER_DEADLINE).clamp(1, max_every);
        std::thread::sleep(Duration::from_nanos(tick_ns.saturating_mul(every)));
        s.wakes.fetch_add(1, Ordering::Relaxed);
        let due = s.nanos_now().saturating_sub(start) / tick_ns;
        while done < due {
            engine.increment_epoch();
            done += 1;
            ticks += 1;
            s.ticks.store(ticks, Ordering::Release);
        }
        if ticks
            <= s.keep_until
                .load(Ordering::SeqCst)
                .saturating_add(idle_ticks)
        {
            continue;
        }
        let anchor = s.anchor_ns.swap(NO_ANCHOR, Ordering::SeqCst);
        s.parked.store(true, Ordering::SeqCst);
        if ticks
            <= s.keep_until
                .load(Ordering::SeqCst)
                .saturating_add(idle_ticks)
        {
            // A deadline was armed meanwhile; whoever armed it may not have seen `parked`.
            s.parked.store(false, Ordering::SeqCst);
            s.anchor_ns.store(anchor, Ordering::SeqCst);
            continue;
        }
        while s.parked.load(Ordering::SeqCst) && !s.stop.load(Ordering::Relaxed) {
            std::thread::park();
        }
        // Count from now on: the epoch resumes where it stopped.
        start = s.nanos_now();
        done = 0;
        s.anchor_ns.store(
            start.saturating_sub(ticks.saturating_mul(tick_ns)),
            Ordering::SeqCst,
        );
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.arm.0.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.handle.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Config, Instance, Module};

    fn engine() -> Engine {
        let mut config = Config::new();
        config.epoch_interruption(true);
        Engine::new(&config).expect("engine")
    }

    fn wait_until(mut done: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    /// A ticker of 1 ms ticks (parking after 20 ms idle) once it has parked.
    fn parked_ticker(engine: &Engine) -> EpochTicker {
        let ticker = EpochTicker::start(
            engine.clone(),
            Duration::from_millis(1),
            Duration::from_millis(20),
        )
        .expect("ticker");
        assert!(
            wait_until(|| ticker.arm().is_parked()),
            "the idle ticker never parked"
        );
        ticker
    }

    /// Runs a guest loop that never ends under a deadline of `ticks`; the trap it ends with.
    fn spin_until_interrupted(engine: &Engine, arm: &EpochArm, ticks: u64) -> wasmtime::Error {
        let wasm = wat::parse_str(r#"(module (func (export "spin") (loop br 0)))"#).expect("wat");
        let module = Module::new(engine, wasm).expect("module");
        let mut store = Store::new(engine, ());
        store.epoch_deadline_trap();
        arm.arm(&mut store, 1000);
        let instance = Instance::new(&mut store, &module, &[]).expect("instance");
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .expect("export");
        arm.arm(&mut store, ticks);
        spin.call(&mut store, ())
            .expect_err("the deadline interrupts the loop")
    }

    #[test]
    fn an_idle_ticker_parks_and_an_armed_deadline_still_interrupts_a_runaway_call() {
        let engine = engine();
        let ticker = parked_ticker(&engine);

        let err = spin_until_interrupted(&engine, ticker.arm(), 5);
        assert_eq!(
            err.downcast_ref::<wasmtime::Trap>(),
            Some(&wasmtime::Trap::Interrupt)
        );
        assert!(
            wait_until(|| ticker.arm().is_parked()),
            "the ticker did not park again after the call"
        );
    }

    #[test]
    fn with_only_long_deadlines_armed_the_ticker_wakes_once_per_several_ticks_and_still_interrupts()
    {
        let engine = engine();
        let ticker = parked_ticker(&engine);
        let arm = ticker.arm();
        let (wakes, ticks) = (arm.wakes(), arm.ticks());

        // 200 ticks: a wake-up every 25 ticks.
        let err = spin_until_interrupted(&engine, arm, 200);
        assert_eq!(
            err.downcast_ref::<wasmtime::Trap>(),
            Some(&wasmtime::Trap::Interrupt)
        );
        let (woke, ticked) = (arm.wakes() - wakes, arm.ticks() - ticks);
        assert!(
            ticked >= 200,
            "interrupted after {ticked} ticks, before its deadline"
        );
        assert!(
            woke * 4 < ticked,
            "{woke} wake-ups for {ticked} ticks: the ticker woke every tick"
        );
    }

    #[test]
    fn dropping_a_parked_ticker_stops_its_thread() {
        let ticker =
            EpochTicker::start(engine(), Duration::from_millis(1), Duration::ZERO).expect("ticker");
        assert!(wait_until(|| ticker.arm().is_parked()));
        drop(ticker);
    }
}
