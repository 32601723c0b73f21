//! Tokio counterparts of weft's file benchmarks (bench/weft/fs.c):
//! `tokio_fs_bench <row> [--n N] [--mt W]`.
//!
//! Each row does the same work as bench_fs on a current_thread runtime
//! (multi_thread with --mt W), with tokio::fs, times only its measured
//! section (inside block_on), and prints one line:
//!     RESULT <name> secs=<wall> cpu=<process cpu> n=<N> per_op_us=<us> sum=<checksum>
//! The files are created under /tmp and read once first, as on weft's side.
//!
//! Written for Rust 1.63 (Debian bookworm's rustc).

use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::io::AsyncReadExt;

const SMALL_READ: usize = 512;
const DIR_ENTRIES: usize = 10_000;

fn cpu_secs() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn usage() -> ! {
    eprintln!("usage: tokio_fs_bench <fs_read_4k|fs_read_1m|fs_seq_4k|fs_seq_1m|fs_metadata|fs_read_dir> [--n N] [--mt W]");
    std::process::exit(2);
}

struct Files {
    dir: PathBuf,
    f4k: PathBuf,
    f1m: PathBuf,
    many: PathBuf,
}

fn write_file(path: &Path, len: usize) {
    let mut buf = vec![0u8; len];
    for (i, b) in buf.iter_mut().enumerate() {
        *b = ((i % 4096) * 31 + 7) as u8;
    }
    std::fs::write(path, &buf).expect("write");
}

fn setup() -> Files {
    let mut template = *b"/tmp/tokio-bench-fs-XXXXXX\0";
    let p = unsafe { libc::mkdtemp(template.as_mut_ptr() as *mut libc::c_char) };
    assert!(!p.is_null());
    let dir = PathBuf::from(std::str::from_utf8(&template[..template.len() - 1]).unwrap());
    let files = Files { f4k: dir.join("f4k"), f1m: dir.join("f1m"), many: dir.join("many"), dir };
    write_file(&files.f4k, 4096);
    write_file(&files.f1m, 1 << 20);
    std::fs::create_dir(&files.many).unwrap();
    for i in 0..DIR_ENTRIES {
        std::fs::File::create(files.many.join(format!("entry-{:05}", i))).unwrap();
    }
    // Warm the page cache and the dentry cache.
    std::fs::read(&files.f4k).unwrap();
    std::fs::read(&files.f1m).unwrap();
    for e in std::fs::read_dir(&files.many).unwrap() {
        e.unwrap();
    }
    files
}

async fn read_whole(path: &Path, n: usize) -> i64 {
    let mut sum = 0i64;
    for _ in 0..n {
        let v = tokio::fs::read(path).await.expect("read");
        sum += v[0] as i64 + v.len() as i64;
    }
    sum
}

async fn seq(path: &Path, n: usize) -> i64 {
    let mut sum = 0i64;
    let mut buf = [0u8; SMALL_READ];
    for _ in 0..n {
        let mut f = tokio::fs::File::open(path).await.expect("open");
        loop {
            let k = f.read(&mut buf).await.expect("read");
            if k == 0 {
                break;
            }
            sum += k as i64 + buf[0] as i64;
        }
    }
    sum
}

async fn metadata(path: &Path, n: usize) -> i64 {
    let mut sum = 0i64;
    for _ in 0..n {
        sum += tokio::fs::metadata(path).await.expect("metadata").len() as i64;
    }
    sum
}

async fn read_dir(path: &Path, n: usize) -> i64 {
    let mut sum = 0i64;
    for _ in 0..n {
        let mut rd = tokio::fs::read_dir(path).await.expect("read_dir");
        while let Some(e) = rd.next_entry().await.expect("next_entry") {
            let t = e.file_type().await.expect("file_type");
            sum += 1 + t.is_file() as i64;
        }
    }
    sum
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| usage());
    let mut n: Option<usize> = None;
    let mut mt: Option<usize> = None;
    while let Some(a) = args.next() {
        let v: Option<usize> = args.next().and_then(|s| s.parse().ok());
        match (a.as_str(), v) {
            ("--n", Some(v)) => n = Some(v),
            ("--mt", Some(v)) => mt = Some(v),
            _ => usage(),
        }
    }
    let default_n = match name.as_str() {
        "fs_read_4k" => 20_000,
        "fs_read_1m" => 1_000,
        "fs_seq_4k" => 20_000,
        "fs_seq_1m" => 200,
        "fs_metadata" => 50_000,
        "fs_read_dir" => 100,
        _ => usage(),
    };
    let n = n.unwrap_or(default_n);
    let files = setup();
    let rt = match mt {
        None => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(w) => tokio::runtime::Builder::new_multi_thread().worker_threads(w.max(1)).enable_all().build(),
    }
    .expect("runtime");
    let (wall, cpu, sum) = rt.block_on(async {
        let wall = Instant::now();
        let cpu = cpu_secs();
        let sum = match name.as_str() {
            "fs_read_4k" => read_whole(&files.f4k, n).await,
            "fs_read_1m" => read_whole(&files.f1m, n).await,
            "fs_seq_4k" => seq(&files.f4k, n).await,
            "fs_seq_1m" => seq(&files.f1m, n).await,
            "fs_metadata" => metadata(&files.f1m, n).await,
            _ => read_dir(&files.many, n).await,
        };
        (wall.elapsed().as_secs_f64(), cpu_secs() - cpu, sum)
    });
    drop(rt);
    std::fs::remove_dir_all(&files.dir).ok();
    println!(
        "RESULT {} secs={:.6} cpu={:.6} n={} per_op_us={:.3} sum={}",
        name,
        wall,
        cpu,
        n,
        wall / n as f64 * 1e6,
        sum
    );
}
