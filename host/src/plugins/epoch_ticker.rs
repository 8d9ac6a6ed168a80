//! The engine's epoch ticker, awake only while some call into a plugin may still be running.
//!
//! Deadlines are counted in epoch ticks, so a thread must increment the engine's epoch every
//! `tick` while a call could still overrun. Before, it woke every tick forever (1000 wake-ups a
//! second with the default 1 ms, on the gateway's own core when pinned, whether or not any
//! plugin ran). Now every place that enters a plugin arms its deadline through
//! [`EpochArm::arm`], which also records "keep ticking until this deadline could have passed";
//! the ticker parks once that moment is `idle_after` behind it and nothing was armed since, and
//! the next `arm` wakes it.
//!
//! Cost per call (hot path): one relaxed load, at most one `fetch_max`, one load of the parked
//! flag; an `unpark` (a futex wake) only on the first call after an idle period.
//! Correctness: an armed deadline always fires on time, because the ticker cannot park before
//! the tick that deadline ends on (Dekker-style: the caller publishes its deadline, then reads
//! `parked`; the ticker publishes `parked`, then re-reads the deadline; one sees the other).

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store};

/// What the ticker and the callers share.
struct Shared {
    /// Ticks done so far (mirrors the increments made to the engine's epoch).
    ticks: AtomicU64,
    /// The tick up to which the ticker must keep running: the latest armed deadline.
    keep_until: AtomicU64,
    parked: AtomicBool,
    stop: AtomicBool,
    thread: OnceLock<Thread>,
}

/// Sets a store's epoch deadline and keeps the ticker awake until it could have passed.
/// Cheap to clone (one `Arc`); every plugin instance holds one.
#[derive(Clone)]
pub struct EpochArm(Arc<Shared>);

impl EpochArm {
    /// Sets `store`'s deadline `ticks` ticks from now (as `Store::set_epoch_deadline`) and
    /// wakes the ticker if it was parked. Called right before every entry into a plugin.
    pub fn arm<T>(&self, store: &mut Store<T>, ticks: u64) {
        store.set_epoch_deadline(ticks);
        let s = &*self.0;
        // +2: the caller's view of `ticks` may lag the ticker's by an increment in flight.
        let until = s
            .ticks
            .load(Ordering::Relaxed)
            .saturating_add(ticks)
            .saturating_add(2);
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
}

/// The ticker thread; dropping it stops the thread.
pub struct EpochTicker {
    arm: EpochArm,
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts the ticker thread for `engine`, ticking every `tick`, parking once no deadline
    /// has been armed for `idle_after` past the last armed one.
    pub fn start(engine: Engine, tick: Duration, idle_after: Duration) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            ticks: AtomicU64::new(0),
            keep_until: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            thread: OnceLock::new(),
        });
        let idle_ticks = u64::try_from(idle_after.as_nanos() / tick.as_nanos().max(1))
            .unwrap_or(u64::MAX)
            .max(1);
        let handle = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("wasmgate-epoch".into())
                .spawn(move || run(&engine, tick, idle_ticks, &shared))?
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

/// Keeps the epoch equal to the number of whole ticks since the ticker last (re)started.
/// `sleep` overshoots (timer slack, scheduling), so a late wake-up increments several times:
/// deadlines follow the wall time, not the number of wake-ups. Time spent parked is not
/// caught up (nothing was armed, so no deadline was counting).
fn run(engine: &Engine, tick: Duration, idle_ticks: u64, s: &Shared) {
    let tick_nanos = tick.as_nanos().max(1);
    let mut start = Instant::now();
    let mut done: u128 = 0;
    let mut ticks = s.ticks.load(Ordering::Relaxed);
    while !s.stop.load(Ordering::Relaxed) {
        std::thread::sleep(tick);
        let due = start.elapsed().as_nanos() / tick_nanos;
        while done < due {
            engine.increment_epoch();
            done += 1;
            ticks += 1;
            s.ticks.store(ticks, Ordering::Relaxed);
        }
        if ticks
            <= s.keep_until
                .load(Ordering::SeqCst)
                .saturating_add(idle_ticks)
        {
            continue;
        }
        s.parked.store(true, Ordering::SeqCst);
        if ticks
            <= s.keep_until
                .load(Ordering::SeqCst)
                .saturating_add(idle_ticks)
        {
            // A deadline was armed meanwhile; whoever armed it may not have seen `parked`.
            s.parked.store(false, Ordering::SeqCst);
            continue;
        }
        while s.parked.load(Ordering::SeqCst) && !s.stop.load(Ordering::Relaxed) {
            std::thread::park();
        }
        // Count from now on: the epoch resumes where it stopped.
        start = Instant::now();
        done = 0;
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

    #[test]
    fn an_idle_ticker_parks_and_an_armed_deadline_still_interrupts_a_runaway_call() {
        let engine = engine();
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

        let wasm = wat::parse_str(r#"(module (func (export "spin") (loop br 0)))"#).expect("wat");
        let module = Module::new(&engine, wasm).expect("module");
        let mut store = Store::new(&engine, ());
        store.epoch_deadline_trap();
        ticker.arm().arm(&mut store, 5);
        let instance = Instance::new(&mut store, &module, &[]).expect("instance");
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .expect("export");
        let err = spin
            .call(&mut store, ())
            .expect_err("the deadline interrupts the loop");
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
    fn dropping_a_parked_ticker_stops_its_thread() {
        let ticker =
            EpochTicker::start(engine(), Duration::from_millis(1), Duration::ZERO).expect("ticker");
        assert!(wait_until(|| ticker.arm().is_parked()));
        drop(ticker);
    }
}
