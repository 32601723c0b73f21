//! Tokio counterparts of weft's sync benchmarks: `tokio_sync_bench <name> [--n N]`.
//!
//! Each benchmark does the same work as bench/weft/<name>.c on a
//! current_thread runtime, times only its measured section (inside
//! block_on: runtime creation and teardown are not timed), and prints one
//! line:
//!     RESULT <name> secs=<wall> cpu=<process cpu>
//!
//! Written for Rust 1.63 (Debian bookworm's rustc).

use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, Mutex, Notify, Semaphore};

fn cpu_secs() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

struct Watch {
    wall: Instant,
    cpu: f64,
}

impl Watch {
    fn start() -> Watch {
        Watch { wall: Instant::now(), cpu: cpu_secs() }
    }
    fn report(&self, name: &str) {
        println!("RESULT {} secs={:.6} cpu={:.6}", name, self.wall.elapsed().as_secs_f64(), cpu_secs() - self.cpu);
    }
}

const TASKS: usize = 1000;

async fn mpsc_bounded_1to1(n: u64) {
    let w = Watch::start();
    let (tx, mut rx) = mpsc::channel::<u64>(1024);
    tokio::spawn(async move {
        for i in 0..n {
            tx.send(i).await.unwrap();
        }
    });
    let mut sum = 0u64;
    while let Some(v) = rx.recv().await {
        sum += v;
    }
    w.report("sync_mpsc_bounded_1to1");
    assert_eq!(sum, n * (n - 1) / 2);
}

async fn mpsc_bounded_4to1(n: u64) {
    let w = Watch::start();
    let (tx, mut rx) = mpsc::channel::<u64>(1024);
    let per = n / 4;
    for _ in 0..4 {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..per {
                tx.send(i).await.unwrap();
            }
        });
    }
    drop(tx);
    let (mut sum, mut count) = (0u64, 0u64);
    while let Some(v) = rx.recv().await {
        sum += v;
        count += 1;
    }
    w.report("sync_mpsc_bounded_4to1");
    assert_eq!(count, per * 4);
    assert_eq!(sum, 4 * (per * (per - 1) / 2));
}

async fn mpsc_unbounded_1to1(n: u64) {
    let w = Watch::start();
    let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
    tokio::spawn(async move {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    let mut sum = 0u64;
    while let Some(v) = rx.recv().await {
        sum += v;
    }
    w.report("sync_mpsc_unbounded_1to1");
    assert_eq!(sum, n * (n - 1) / 2);
}

async fn oneshot_reqrep(n: u64) {
    let w = Watch::start();
    let (tx, mut rx) = mpsc::channel::<(u64, oneshot::Sender<u64>)>(16);
    let server = tokio::spawn(async move {
        while let Some((x, reply)) = rx.recv().await {
            let _ = reply.send(x + 1);
        }
    });
    let mut sum = 0u64;
    for i in 0..n {
        let (rtx, rrx) = oneshot::channel();
        tx.send((i, rtx)).await.unwrap();
        sum += rrx.await.unwrap();
    }
    drop(tx);
    server.await.unwrap();
    w.report("sync_oneshot_reqrep");
    assert_eq!(sum, n * (n + 1) / 2);
}

async fn semaphore_contend(n: u64) {
    let w = Watch::start();
    let sem = Arc::new(Semaphore::new(10));
    let rounds = n as usize / TASKS;
    let mut hs = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let sem = sem.clone();
        hs.push(tokio::spawn(async move {
            for _ in 0..rounds {
                let p = sem.acquire().await.unwrap();
                tokio::task::yield_now().await;
                drop(p);
            }
            rounds
        }));
    }
    let mut total = 0;
    for h in hs {
        total += h.await.unwrap();
    }
    w.report("sync_semaphore_contend");
    assert_eq!(total, rounds * TASKS);
    assert_eq!(sem.available_permits(), 10);
}

async fn mutex_contend(n: u64) {
    let w = Watch::start();
    let m = Arc::new(Mutex::new(0u64));
    let rounds = n as usize / TASKS;
    let mut hs = Vec::with_capacity(TASKS);
    for _ in 0..TASKS {
        let m = m.clone();
        hs.push(tokio::spawn(async move {
            for _ in 0..rounds {
                let mut g = m.lock().await;
                *g += 1;
                tokio::task::yield_now().await;
                drop(g);
            }
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    w.report("sync_mutex_contend");
    assert_eq!(*m.lock().await, (rounds * TASKS) as u64);
}

async fn notify_pingpong(n: u64) {
    let w = Watch::start();
    let ping = Arc::new(Notify::new());
    let pong = Arc::new(Notify::new());
    let (ping2, pong2) = (ping.clone(), pong.clone());
    let h = tokio::spawn(async move {
        for _ in 0..n {
            ping2.notified().await;
            pong2.notify_one();
        }
    });
    for _ in 0..n {
        ping.notify_one();
        pong.notified().await;
    }
    h.await.unwrap();
    w.report("sync_notify_pingpong");
}

fn usage() -> ! {
    eprintln!(
        "usage: tokio_sync_bench <sync_mpsc_bounded_1to1|sync_mpsc_bounded_4to1|sync_mpsc_unbounded_1to1|\
         sync_oneshot_reqrep|sync_semaphore_contend|sync_mutex_contend|sync_notify_pingpong> [--n N]"
    );
    std::process::exit(2);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| usage());
    let mut n: Option<u64> = None;
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().and_then(|s| s.parse().ok())) {
            ("--n", Some(v)) => n = Some(v),
            _ => usage(),
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let size = |d: u64| n.unwrap_or(d);
    match name.as_str() {
        "sync_mpsc_bounded_1to1" => rt.block_on(mpsc_bounded_1to1(size(10_000_000))),
        "sync_mpsc_bounded_4to1" => rt.block_on(mpsc_bounded_4to1(size(10_000_000))),
        "sync_mpsc_unbounded_1to1" => rt.block_on(mpsc_unbounded_1to1(size(4_000_000))),
        "sync_oneshot_reqrep" => rt.block_on(oneshot_reqrep(size(1_000_000))),
        "sync_semaphore_contend" => rt.block_on(semaphore_contend(size(2_000_000))),
        "sync_mutex_contend" => rt.block_on(mutex_contend(size(2_000_000))),
        "sync_notify_pingpong" => rt.block_on(notify_pingpong(size(1_000_000))),
        _ => usage(),
    }
}
