//! Helpers shared by the Tokio benchmarks. Each has a C twin in
//! bench/weft/bench_common.h; keep the two in step.
//!
//! Written for Rust 1.63 (Debian bookworm's rustc): no let-else, no
//! std::future::poll_fn, no std::hint::black_box.

use std::cell::UnsafeCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Seconds on the process CPU clock (user + system, all threads).
pub fn cpu_secs() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Wall clock and CPU clock at the start of a measured section.
pub struct Stopwatch {
    wall: Instant,
    cpu: f64,
}

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch { wall: Instant::now(), cpu: cpu_secs() }
    }
    /// (wall seconds, cpu seconds) since start.
    pub fn read(&self) -> (f64, f64) {
        (self.wall.elapsed().as_secs_f64(), cpu_secs() - self.cpu)
    }
}

/// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), or 0.
pub fn proc_status_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(field) {
            if let Some(rest) = rest.strip_prefix(':') {
                let num: String = rest.trim().chars().take_while(|c| c.is_ascii_digit()).collect();
                return num.parse().unwrap_or(0);
            }
        }
    }
    0
}

/// splitmix64: the deterministic sequence both sides draw durations from.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Prints the one line the runner reads.
pub fn report(name: &str, wall: f64, cpu: f64, extras: &[(&str, String)]) {
    let mut line = format!("RESULT {} secs={:.6} cpu={:.6}", name, wall, cpu);
    for (k, v) in extras {
        line.push_str(&format!(" {}={}", k, v));
    }
    println!("{}", line);
}

// ---------------------------------------------------------------------------
// Signal: a flag plus one waker slot, the minimal "wake the other task"
// mechanism. The waker slot follows futures' AtomicWaker protocol (a
// WAITING/REGISTERING/WAKING state word), except that wake() wakes by
// reference and keeps the waker, so a task that waits on the same signal
// again does not clone its waker again. C twin: bench_signal.
// ---------------------------------------------------------------------------

const WAITING: usize = 0;
const REGISTERING: usize = 1;
const WAKING: usize = 2;

pub struct Signal {
    flag: AtomicBool,
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// The waker slot is only touched by whoever owns the REGISTERING or WAKING
// bit of `state`.
unsafe impl Sync for Signal {}
unsafe impl Send for Signal {}

impl Signal {
    pub fn new() -> Signal {
        Signal { flag: AtomicBool::new(false), state: AtomicUsize::new(WAITING), waker: UnsafeCell::new(None) }
    }

    /// Sets the flag and wakes the registered waiter, if any.
    pub fn notify(&self) {
        self.flag.store(true, Ordering::Release);
        if self.state.fetch_or(WAKING, Ordering::AcqRel) == WAITING {
            if let Some(w) = unsafe { &*self.waker.get() } {
                w.wake_by_ref();
            }
            self.state.fetch_and(!WAKING, Ordering::Release);
        }
    }

    fn register(&self, w: &Waker) {
        match self.state.compare_exchange(WAITING, REGISTERING, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => {
                let slot = unsafe { &mut *self.waker.get() };
                let same = match slot {
                    Some(old) => old.will_wake(w),
                    None => false,
                };
                if !same {
                    *slot = Some(w.clone());
                }
                if self
                    .state
                    .compare_exchange(REGISTERING, WAITING, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // A notify() came in while we registered: it left the
                    // wake-up to us.
                    let taken = slot.take();
                    self.state.swap(WAITING, Ordering::AcqRel);
                    if let Some(t) = taken {
                        t.wake();
                    }
                }
            }
            Err(s) if s & WAKING != 0 => w.wake_by_ref(),
            Err(_) => {}
        }
    }

    /// Consumes the flag if it is set.
    fn take_flag(&self) -> bool {
        self.flag.load(Ordering::Acquire) && self.flag.swap(false, Ordering::AcqRel)
    }

    /// A future that is ready once the flag is set, and clears it.
    pub fn wait(&self) -> Wait<'_> {
        Wait { sig: self }
    }
}

pub struct Wait<'a> {
    sig: &'a Signal,
}

impl<'a> Future for Wait<'a> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let sig = self.sig;
        if sig.take_flag() {
            return Poll::Ready(());
        }
        sig.register(cx.waker());
        if sig.take_flag() {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// Leaks `v` for the rest of the process: the Rust twin of a C pointer to
/// shared state that outlives every task (no reference counting per task).
pub fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}
