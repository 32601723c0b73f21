//! Tokio counterparts of weft's benchmarks: `tokio_bench <name> [--mt N]`.
//!
//! Each benchmark does the same work as bench/weft/<name>.c, times only its
//! measured section (inside block_on: runtime creation and teardown are not
//! timed), and prints one line:
//!     RESULT <name> secs=<wall> cpu=<process cpu> [key=value ...]
//!
//! Without --mt the runtime is current_thread; `--mt N` selects the
//! multi_thread scheduler with N workers (every benchmark is Send-safe).
//! `--threads K` (remote_spawn) and `--iters I` (spawn_many_remote_idle)
//! set what only those two take.

mod common;

use common::{leak, proc_status_kib, report, Signal, SplitMix64, Stopwatch};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

const SPAWN_MANY_N: usize = 1_000_000;
const YIELD_TASKS: usize = 1_000;
const YIELD_EACH: usize = 1_000;
const PING_PAIRS: usize = 1_000;
const PING_ROUNDS: usize = 1_000; // per pair: 1,000,000 round trips in total
const CHAIN_N: usize = 1_000_000;
const TIMERS_N: usize = 1_000_000;
const TIMERS_SEED: u64 = 0x5eed_7153;
const IDLE_N: usize = 1_000_000;
const IDLE_SLEEP_MS: u64 = 2_000;
const REMOTE_SPAWN_N: usize = 1_000_000;
const REMOTE_SPAWN_THREADS: usize = 1;
const REMOTE_IDLE_N: usize = 10_000; // per iteration, as in tokio/benches
const REMOTE_IDLE_ITERS: usize = 100;
const PROCESS_SPAWN_N: usize = 2_000;

fn usage() -> ! {
    eprintln!(
        "usage: tokio_bench <spawn_many|yield_many|ping_pong|chained_spawn|timers|idle_tasks|\
         remote_spawn|spawn_many_remote_idle|process_spawn> [--mt N] [--n N] [--threads K] [--iters I]"
    );
    std::process::exit(2);
}

struct Args {
    name: String,
    mt: Option<usize>,
    n: Option<usize>, // overrides the size (for quick runs)
    threads: Option<usize>,
    iters: Option<usize>,
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let name = match it.next() {
        Some(n) => n,
        None => usage(),
    };
    let mut args = Args { name, mt: None, n: None, threads: None, iters: None };
    while let Some(a) = it.next() {
        let v: Option<usize> = it.next().and_then(|s| s.parse().ok());
        match (a.as_str(), v) {
            ("--mt", Some(v)) => args.mt = Some(v),
            ("--n", Some(v)) => args.n = Some(v),
            ("--threads", Some(v)) => args.threads = Some(v.max(1)),
            ("--iters", Some(v)) => args.iters = Some(v.max(1)),
            _ => usage(),
        }
    }
    args
}

fn runtime(mt: Option<usize>) -> tokio::runtime::Runtime {
    match mt {
        None => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread().worker_threads(n.max(1)).enable_all().build(),
    }
    .expect("runtime")
}

fn main() {
    let args = parse_args();
    let rt = runtime(args.mt);
    let flavor = match args.mt {
        None => "current_thread".to_string(),
        Some(n) => format!("multi_thread:{}", n),
    };
    let n = args.n;
    match args.name.as_str() {
        "spawn_many" => rt.block_on(spawn_many(n.unwrap_or(SPAWN_MANY_N))),
        "yield_many" => rt.block_on(yield_many(n.unwrap_or(YIELD_TASKS), YIELD_EACH)),
        "ping_pong" => rt.block_on(ping_pong(PING_PAIRS, n.unwrap_or(PING_PAIRS * PING_ROUNDS) / PING_PAIRS)),
        "chained_spawn" => rt.block_on(chained_spawn(n.unwrap_or(CHAIN_N))),
        "timers" => rt.block_on(async { tokio::spawn(timers(n.unwrap_or(TIMERS_N))).await.unwrap() }),
        "idle_tasks" => rt.block_on(idle_tasks(n.unwrap_or(IDLE_N))),
        "remote_spawn" => {
            remote_spawn(&rt, n.unwrap_or(REMOTE_SPAWN_N), args.threads.unwrap_or(REMOTE_SPAWN_THREADS))
        }
        "process_spawn" => rt.block_on(process_spawn(
            n.unwrap_or(PROCESS_SPAWN_N),
            args.threads.unwrap_or(1),
        )),
        "spawn_many_remote_idle" => {
            spawn_many_remote_idle(&rt, n.unwrap_or(REMOTE_IDLE_N), args.iters.unwrap_or(REMOTE_IDLE_ITERS))
        }
        _ => usage(),
    }
    eprintln!("tokio_bench {}: {}", args.name, flavor);
    drop(rt);
}

// ---------------------------------------------------------------------------
// spawn_many: spawn N trivial tasks from the root, then await every handle.
// ---------------------------------------------------------------------------
async fn spawn_many(n: usize) {
    let sw = Stopwatch::start();
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        handles.push(tokio::spawn(async { 1u32 }));
    }
    let mut sum = 0u64;
    for h in handles {
        sum += h.await.unwrap() as u64;
    }
    let (wall, cpu) = sw.read();
    assert_eq!(sum, n as u64);
    report("spawn_many", wall, cpu, &[("n", n.to_string())]);
}

// ---------------------------------------------------------------------------
// yield_many: T tasks each yield Y times (tokio::task::yield_now), all joined.
// ---------------------------------------------------------------------------
async fn yield_many(tasks: usize, each: usize) {
    let sw = Stopwatch::start();
    let mut handles = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        handles.push(tokio::spawn(async move {
            for _ in 0..each {
                tokio::task::yield_now().await;
            }
            1u32
        }));
    }
    let mut sum = 0u64;
    for h in handles {
        sum += h.await.unwrap() as u64;
    }
    let (wall, cpu) = sw.read();
    assert_eq!(sum, tasks as u64);
    report("yield_many", wall, cpu, &[("tasks", tasks.to_string()), ("yields", (tasks * each).to_string())]);
}

// ---------------------------------------------------------------------------
// ping_pong: P pairs; in each, `ping` notifies, then waits for `pong`;
// R round trips per pair. The pair shares two Signals (flag + waker slot).
// ---------------------------------------------------------------------------
struct Pair {
    ping: Signal,
    pong: Signal,
}

async fn ping_pong(pairs: usize, rounds: usize) {
    let sw = Stopwatch::start();
    let mut handles = Vec::with_capacity(2 * pairs);
    for _ in 0..pairs {
        let pair = Arc::new(Pair { ping: Signal::new(), pong: Signal::new() });
        let a = pair.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..rounds {
                a.ping.notify();
                a.pong.wait().await;
            }
            1u32
        }));
        let b = pair;
        handles.push(tokio::spawn(async move {
            for _ in 0..rounds {
                b.ping.wait().await;
                b.pong.notify();
            }
            1u32
        }));
    }
    let mut sum = 0u64;
    for h in handles {
        sum += h.await.unwrap() as u64;
    }
    let (wall, cpu) = sw.read();
    assert_eq!(sum, 2 * pairs as u64);
    report(
        "ping_pong",
        wall,
        cpu,
        &[("pairs", pairs.to_string()), ("round_trips", (pairs * rounds).to_string())],
    );
}

// ---------------------------------------------------------------------------
// chained_spawn: each task spawns the next (detached), N deep; the last one
// notifies the Signal the root awaits. (Tokio's own benches/rt_*.rs model.)
// ---------------------------------------------------------------------------
fn chain(done: &'static Signal, n: usize) {
    if n == 0 {
        done.notify();
    } else {
        drop(tokio::spawn(async move { chain(done, n - 1) }));
    }
}

async fn chained_spawn(n: usize) {
    let done = leak(Signal::new());
    let sw = Stopwatch::start();
    chain(done, n);
    done.wait().await;
    let (wall, cpu) = sw.read();
    report("chained_spawn", wall, cpu, &[("n", n.to_string())]);
}

// ---------------------------------------------------------------------------
// timers: one spawned task owns N sleeps of 1..=1000 ms (splitmix64
// sequence), all in one array (no Box per sleep).
//   arm:  in batches of 1,000: create each sleep and poll it once (which
//         registers it in the wheel), then drop the odd-numbered sleeps of
//         the batch (cancel: none can have fired, the task has not yielded
//         since inserting them), then yield (tokio::task::yield_now) so the
//         runtime turns its driver between batches, as it would in a server.
//   fire: await the even-numbered sleeps in index order until all fired.
// secs covers both phases, so it includes waiting for the last deadline
// (about 1 s); cpu is the work.
// ---------------------------------------------------------------------------
const TIMERS_BATCH: usize = 1_000;

/// Polls a pinned future once: Ready(true) if it completed, Ready(false)
/// if it is pending (and has registered the task's waker).
struct PollOnce<'a, F: Future>(Pin<&'a mut F>);

impl<'a, F: Future> Future for PollOnce<'a, F> {
    type Output = bool;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        Poll::Ready(self.0.as_mut().poll(cx).is_ready())
    }
}

async fn timers(n: usize) {
    let sw = Stopwatch::start();
    let mut rng = SplitMix64(TIMERS_SEED);
    // Allocated once, never resized: its elements never move, so pinning
    // them in place is sound.
    let mut sleeps: Vec<Option<Sleep>> = Vec::with_capacity(n);
    let mut fired_early = vec![false; n];
    let (mut t_insert, mut t_cancel) = (0.0f64, 0.0f64);
    let mut cancelled = 0usize;
    let mut lo = 0usize;
    while lo < n {
        let hi = (lo + TIMERS_BATCH).min(n);
        let t0 = sw.read().0;
        for i in lo..hi {
            let ms = 1 + rng.next() % 1000;
            sleeps.push(Some(tokio::time::sleep(Duration::from_millis(ms))));
            let s = unsafe { Pin::new_unchecked(sleeps[i].as_mut().unwrap()) };
            if PollOnce(s).await {
                fired_early[i] = true;
            }
        }
        let t1 = sw.read().0;
        for i in lo..hi {
            if i % 2 == 1 {
                if !fired_early[i] {
                    cancelled += 1;
                }
                sleeps[i] = None; // drop in place: cancels the timer
            }
        }
        let t2 = sw.read().0;
        t_insert += t1 - t0;
        t_cancel += t2 - t1;
        lo = hi;
        tokio::task::yield_now().await;
    }
    let t_arm = sw.read().0;
    let mut fired = 0usize;
    for i in (0..n).step_by(2) {
        if !fired_early[i] {
            let s = unsafe { Pin::new_unchecked(sleeps[i].as_mut().unwrap()) };
            s.await;
        }
        sleeps[i] = None;
        fired += 1;
    }
    let (wall, cpu) = sw.read();
    assert_eq!(fired + cancelled, n);
    report(
        "timers",
        wall,
        cpu,
        &[
            ("n", n.to_string()),
            ("insert", format!("{:.6}", t_insert)),
            ("cancel", format!("{:.6}", t_cancel)),
            ("arm", format!("{:.6}", t_arm)),
            ("fire", format!("{:.6}", wall - t_arm)),
            ("cancelled", cancelled.to_string()),
            ("fired", fired.to_string()),
        ],
    );
}

// ---------------------------------------------------------------------------
// idle_tasks: N detached tasks each sleep 2 s, then count down; the last one
// notifies the root. Memory: (VmHWM at the end - VmRSS before spawning) / N.
// ---------------------------------------------------------------------------
struct Idle {
    left: AtomicUsize,
    done: Signal,
}

async fn idle_tasks(n: usize) {
    let shared = leak(Idle { left: AtomicUsize::new(n), done: Signal::new() });
    let base_kib = proc_status_kib("VmRSS");
    let sw = Stopwatch::start();
    for _ in 0..n {
        drop(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(IDLE_SLEEP_MS)).await;
            if shared.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                shared.done.notify();
            }
        }));
    }
    let spawned = sw.read().0;
    shared.done.wait().await;
    let (wall, cpu) = sw.read();
    let hwm_kib = proc_status_kib("VmHWM");
    let per_task = (hwm_kib.saturating_sub(base_kib)) as f64 * 1024.0 / n as f64;
    report(
        "idle_tasks",
        wall,
        cpu,
        &[
            ("n", n.to_string()),
            ("spawn", format!("{:.6}", spawned)),
            ("base_kib", base_kib.to_string()),
            ("hwm_kib", hwm_kib.to_string()),
            ("bytes_per_task", format!("{:.1}", per_task)),
        ],
    );
}

// ---------------------------------------------------------------------------
// remote_spawn: K threads outside the runtime (std::thread, not workers)
// each spawn N/K trivial detached tasks at once, released by a barrier; each
// task counts down, the last notifies the Signal that block_on awaits on the
// main thread. Timed from the barrier to block_on's return; spawn= is the
// wall time until the last spawner thread has made its last spawn. Model:
// tokio/benches/remote_spawn.rs (which joins handles afterwards instead).
// ---------------------------------------------------------------------------
struct Remote {
    left: AtomicUsize,
    done: Signal,
}

fn remote_spawn(rt: &tokio::runtime::Runtime, n: usize, k: usize) {
    let n = n - n % k; // every thread spawns as many
    let shared = leak(Remote { left: AtomicUsize::new(n), done: Signal::new() });
    let barrier = Arc::new(std::sync::Barrier::new(k + 1));
    let threads: Vec<_> = (0..k)
        .map(|_| {
            let handle = rt.handle().clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..n / k {
                    drop(handle.spawn(async move {
                        if shared.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                            shared.done.notify();
                        }
                    }));
                }
                std::time::Instant::now()
            })
        })
        .collect();
    barrier.wait();
    let sw = Stopwatch::start();
    let t0 = std::time::Instant::now();
    rt.block_on(shared.done.wait());
    let (wall, cpu) = sw.read();
    let mut last = t0;
    for t in threads {
        last = last.max(t.join().unwrap());
    }
    assert_eq!(shared.left.load(Ordering::Acquire), 0);
    report(
        "remote_spawn",
        wall,
        cpu,
        &[
            ("n", n.to_string()),
            ("threads", k.to_string()),
            ("spawn", format!("{:.6}", last.duration_since(t0).as_secs_f64())),
        ],
    );
}

// ---------------------------------------------------------------------------
// spawn_many_remote_idle: the main thread, outside the runtime, spawns N
// empty tasks onto the idle runtime (rt.spawn), keeping the handles; then
// block_on awaits every handle in order. I iterations, all timed. Model:
// tokio/benches/rt_multi_threaded.rs, spawn_many_remote_idle.
// ---------------------------------------------------------------------------
fn spawn_many_remote_idle(rt: &tokio::runtime::Runtime, n: usize, iters: usize) {
    let mut handles = Vec::with_capacity(n);
    let (mut t_spawn, mut t_join) = (0.0f64, 0.0f64);
    let sw = Stopwatch::start();
    for _ in 0..iters {
        let t0 = sw.read().0;
        for _ in 0..n {
            handles.push(rt.spawn(async {}));
        }
        let t1 = sw.read().0;
        rt.block_on(async {
            for h in handles.drain(..) {
                h.await.unwrap();
            }
        });
        t_spawn += t1 - t0;
        t_join += sw.read().0 - t1;
    }
    let (wall, cpu) = sw.read();
    report(
        "spawn_many_remote_idle",
        wall,
        cpu,
        &[
            ("n", n.to_string()),
            ("iters", iters.to_string()),
            ("tasks", (n * iters).to_string()),
            ("spawn", format!("{:.6}", t_spawn)),
            ("join", format!("{:.6}", t_join)),
        ],
    );
}

// ---------------------------------------------------------------------------
// process_spawn: spawn /bin/true and wait for its exit, N times, from K
// tasks at once (--threads K, default 1), each task reusing one Command.
// C twin: bench/weft/process_spawn.c.
// ---------------------------------------------------------------------------
async fn process_spawn(n: usize, k: usize) {
    let sw = Stopwatch::start();
    let per = n / k;
    let mut handles = Vec::with_capacity(k);
    for _ in 0..k {
        handles.push(tokio::spawn(async move {
            let mut cmd = tokio::process::Command::new("/bin/true");
            for _ in 0..per {
                let status = cmd.spawn().expect("spawn").wait().await.expect("wait");
                assert!(status.success());
            }
            1u32
        }));
    }
    let mut sum = 0u64;
    for h in handles {
        sum += h.await.unwrap() as u64;
    }
    let (wall, cpu) = sw.read();
    assert_eq!(sum, k as u64);
    report(
        "process_spawn",
        wall,
        cpu,
        &[("n", (per * k).to_string()), ("in_flight", k.to_string())],
    );
}
