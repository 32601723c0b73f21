//! Tokio twin of bench/resolve/bench_resolve.c: 1,000 concurrent name
//! lookups on a current_thread runtime.
//!
//!     tokio_resolve [--n N] [--rounds R] NAME...
//!
//! Each round spawns N tasks (default 1,000), task i awaiting
//! tokio::net::lookup_host("NAME[i % count]:80") — getaddrinfo on a
//! spawn_blocking thread per lookup, Tokio's only resolver — and joins
//! them in order; a round is timed from the first spawn to the last join.
//! The thread count (/proc/self/status, Threads:) is sampled after the 1st,
//! 100th, 200th, ... join, as on the weft side. One line per round:
//!     RESULT resolve_tokio round=<r> secs=<wall> cpu=<cpu> threads=<peak>
//! with cpu the process's user + system time (getrusage, all threads).
//!
//! Written for Rust 1.63 (Debian bookworm's rustc).

use std::time::Instant;

const DEFAULT_N: usize = 1_000;
const DEFAULT_ROUNDS: usize = 5;
const SAMPLE_EVERY: usize = 100;

fn usage() -> ! {
    eprintln!("usage: tokio_resolve [--n N] [--rounds R] NAME...");
    std::process::exit(2);
}

/// User + system time of every thread of the process, as the C twin reads it.
fn cpu_secs() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_utime.tv_sec as f64 + ru.ru_utime.tv_usec as f64 * 1e-6 + ru.ru_stime.tv_sec as f64
        + ru.ru_stime.tv_usec as f64 * 1e-6
}

/// The Threads: line of /proc/self/status, or 0.
fn threads_now() -> usize {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Threads:") {
            return rest.trim().parse().unwrap_or(0);
        }
    }
    0
}

fn main() {
    let mut n = DEFAULT_N;
    let mut rounds = DEFAULT_ROUNDS;
    let mut texts: Vec<String> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--n" => n = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage()),
            "--rounds" => rounds = it.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage()),
            _ if a.starts_with('-') => usage(),
            _ => texts.push(format!("{}:80", a)),
        }
    }
    if texts.is_empty() || n < 1 || rounds < 1 {
        usage();
    }
    eprintln!("tokio_resolve: lookup_host, {} lookups over {} names, {} rounds", n, texts.len(), rounds);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        for round in 0..rounds {
            let mut peak = 0;
            let wall0 = Instant::now();
            let cpu0 = cpu_secs();
            let mut handles = Vec::with_capacity(n);
            for i in 0..n {
                let text = texts[i % texts.len()].clone();
                handles.push(tokio::spawn(async move {
                    match tokio::net::lookup_host(text.as_str()).await {
                        Ok(addrs) => Ok(addrs.count()),
                        Err(e) => Err(format!("{}: {}", text, e)),
                    }
                }));
            }
            for (i, h) in handles.into_iter().enumerate() {
                match h.await.unwrap() {
                    Ok(count) if count >= 1 => {}
                    Ok(_) => {
                        eprintln!("tokio_resolve: no address");
                        std::process::exit(1);
                    }
                    Err(e) => {
                        eprintln!("tokio_resolve: {}", e);
                        std::process::exit(1);
                    }
                }
                if i == 0 || (i + 1) % SAMPLE_EVERY == 0 {
                    peak = peak.max(threads_now());
                }
            }
            let wall = wall0.elapsed().as_secs_f64();
            let cpu = cpu_secs() - cpu0;
            println!(
                "RESULT resolve_tokio round={} secs={:.6} cpu={:.6} threads={} n={}",
                round, wall, cpu, peak, n
            );
        }
    });
}
