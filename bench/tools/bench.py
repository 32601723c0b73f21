#!/usr/bin/env python3
"""Runs weft's benchmarks against their peers and writes docs/benchmarks.md.

Called by bench/run.sh (which builds everything first); usable directly:

    python3 bench/tools/bench.py --weft-bin build/release/bench \
        --tokio-bin build/peers/tokio/release/tokio_bench --out docs/benchmarks.md

Every benchmark program, on either side, prints exactly one line
    RESULT <name> secs=<wall seconds> [cpu=<cpu seconds>] [key=value ...]
on stdout, timing only its measured section itself. The runner adds the
peak RSS of the process (ru_maxrss from wait4), runs weft and each peer
alternately for every benchmark in every round (the order flips each
round), and reports medians.

Adding a row: append a Bench(...) to BENCHES. A command is a list of
argv templates; {weft_bin}, {tokio_bin}, {root} and any --var KEY=VALUE
given on the command line are substituted. A peer is any program that
prints the RESULT line: a future echo-server suite would point `weft` and
each peer at a driver script that starts the server, runs the load
generator and prints RESULT itself. Give the row a `suite` name and enable
it with BENCH_SUITES (default: "ct,mt,sync,fiber,fs").

The output file is shared: the runner owns only the blocks between
`<!-- bench.py:KEY -->` and `<!-- /bench.py:KEY -->` (KEY = intro,
suite=<name>, measures). A run rewrites the block of each suite it ran, plus
intro and measures, and keeps everything else as it is: other suites'
blocks, the notes between `<!-- notes -->` and `<!-- /notes -->`, and any
section someone else's script or hand put outside the markers (echo, ...).

Environment (read by run.sh and passed on as options):
    BENCH_ROUNDS   rounds (default 5)
    BENCH_ROUNDS_<SUITE>  rounds for one suite (BENCH_ROUNDS_MT=3, ...)
    BENCH_ONLY     comma-separated benchmark names or fnmatch patterns
    BENCH_SUITES   comma-separated suites (default "ct,mt,sync,fiber,process,fs";
                   "mt" is the multi_thread variants, with BENCH_MT workers,
                   default nproc; "process" spawns /bin/true against tokio::process;
                   "fs" files against tokio::fs and plain blocking calls)
    BENCH_SCALE    with mt: also run every mt row with this many workers
                   (default 1) and write a "1 -> N workers" table; 0: don't
    BENCH_QUIET    before each run, wait (up to BENCH_QUIET_WAIT seconds,
                   default 30) until the machine's CPU use by others is below
                   this fraction (default 0.15; 0: don't wait): on a shared
                   machine a run that competes with another program for the
                   cores measures the other program. Runs that started on a
                   busy machine anyway are counted in the suite's header.
"""

import argparse
import datetime
import fnmatch
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------


class Bench:
    def __init__(self, name, weft, peers, measures, suite="ct", headline="secs",
                 goal=None, extras=(), mem_goal=None, note=None, scale="secs",
                 variant_of=None, sched=False, floor=1.0, floor_peers=None):
        self.name = name            # row name (unique)
        self.weft = weft            # argv template list
        self.peers = peers          # {peer name: argv template list}
        self.measures = measures    # one paragraph for "what each benchmark measures"
        self.suite = suite          # "ct", "mt", later "echo", "sync", ...
        self.headline = headline    # metric judged against floor/goal: "secs" or "cpu"
        self.goal = goal            # ratio goal on the headline metric (floor is 1.0)
        self.extras = extras        # extra RESULT keys to report (medians)
        self.mem_goal = mem_goal    # bytes_per_task goal, if the row reports it
        self.note = note            # short remark shown under the table
        self.scale = scale          # metric of the scaling table: "secs" or an extra (wall secs)
        self.variant_of = variant_of  # (row name, workers) of a scaling run; not a table row
        self.sched = sched          # mt: also count system calls per task (strace pass)
        self.floor = floor          # ratio every row must meet (None: none, e.g. fibers/futures)
        self.floor_peers = floor_peers  # peers the floor applies to; None: all (others are references)


def W(prog, *args):
    return ["{weft_bin}/bench_" + prog] + list(args)


def TOKIO(sub, *args):
    return ["{tokio_bin}", sub] + list(args)


MEASURES = {
    "spawn_many": "The root future spawns 1,000,000 tasks that each return a constant, "
                  "keeping the join handles in an array, then awaits every handle in order "
                  "and sums the outputs. Measures spawn (allocation, scheduling), one poll "
                  "per task, completion and joining.",
    "yield_many": "1,000 tasks each yield 1,000 times (1,000,000 yields), all joined. weft "
                  "uses WEFT_YIELD() (wake self, return pending); Tokio uses "
                  "tokio::task::yield_now(), which in 1.24 defers the wake-up until the "
                  "scheduler next turns its driver. Measures the cost of a reschedule.",
    "ping_pong": "1,000 pairs of tasks; in each pair one task notifies its partner and "
                 "waits for the reply, 1,000 round trips per pair (1,000,000 in total, two "
                 "wake-ups each). Both sides use the same hand-written mechanism, a "
                 "'signal': an atomic flag plus a waker slot with futures' AtomicWaker "
                 "protocol (bench/weft/bench_common.h, bench/peers/tokio/src/common.rs), "
                 "not Tokio's sync primitives, since weft has no sync module yet. Measures "
                 "wake-up and reschedule of a parked task.",
    "chained_spawn": "Each task spawns the next one (detached) and finishes, 1,000,000 deep; "
                     "the last notifies a signal the root awaits (Tokio's own "
                     "chained_spawn benchmark, with the signal in place of a oneshot). "
                     "Measures spawn-from-a-task with at most two live tasks.",
    "timers": "One spawned task owns 1,000,000 sleeps of 1-1,000 ms (splitmix64 sequence, "
              "same seed on both sides) in one array. In batches of 1,000 it creates each "
              "sleep and polls it once (inserting it in the timer wheel), drops the odd "
              "ones of the batch (cancelling 500,000 timers before they can fire), and "
              "yields; then it awaits the 500,000 remaining sleeps until all fired. Wall "
              "time includes waiting about 1 s for the last deadline, so the judged ratio "
              "is CPU time; insert/cancel/arm/fire give the phases' wall times.",
    "idle_tasks": "Spawns 1,000,000 detached tasks that each sleep 2 s, then count down; the "
                  "last wakes the root. bytes/task = (VmHWM at the end - VmRSS before "
                  "spawning) / 1,000,000, read from /proc/self/status inside the program: "
                  "the task allocation, its future and timer entry, and allocator slack (no "
                  "join handles are kept on either side). Wall time includes the 2 s sleep, "
                  "so the judged time ratio is CPU time.",
    "remote_spawn": "K threads outside the runtime (plain threads, not workers; K = 1, 2, 4, 8 "
                    "in rows /1t ... /8t) each spawn 1,000,000 / K empty detached tasks at the "
                    "same time, released together by a barrier; each task decrements a shared "
                    "counter and the last one notifies a signal that the root future awaits "
                    "in block_on on the main thread. Timed from the barrier to block_on's "
                    "return, so spawning and running overlap; spawn is the wall time until the "
                    "last spawner thread has made its last spawn. Every spawn takes the path for "
                    "foreign threads (weft: the mutex-protected inject queue plus a wake-up of "
                    "the runtime; Tokio: its inject queue plus an unpark); with K > 1 the "
                    "spawners contend for it, with K > 2 they also compete for the 2 cores. "
                    "Model: tokio/benches/remote_spawn.rs (12,800 tasks per iteration there, "
                    "joined by handles afterwards; here a counter says when all have run).",
    "spawn_many_remote_idle": "100 iterations of: the main thread, outside the runtime, spawns "
                              "10,000 empty tasks onto the idle runtime (keeping the join "
                              "handles), then block_on runs a root future that awaits every "
                              "handle in order. 1,000,000 tasks, all timed; spawn/join are the "
                              "two phases' wall times. On current_thread the tasks run only "
                              "once block_on is entered; on multi_thread the workers start "
                              "running them while the main thread is still spawning. Model: "
                              "tokio/benches/rt_multi_threaded.rs, spawn_many_remote_idle.",
}

MT_MEASURES = ("The same programs with `--mt W`: weft creates its runtime with "
               "`weft_runtime_options{.flavor = WEFT_MULTI_THREAD, .workers = W}`, Tokio with "
               "`Builder::new_multi_thread().worker_threads(W).enable_all()`. On both sides "
               "`block_on` polls the root future on the main thread, outside the W workers, "
               "and the spawned tasks run on the workers; remote_spawn's spawner threads are "
               "outside the runtime on both sides.")

MEASURES["process_spawn"] = (
    "2,000 times: spawn /bin/true and wait for its exit status, one child at a time "
    "(process_spawn/16: from 16 tasks at once, 16 children in flight), each task reusing "
    "one command (weft_command_spawn + weft_child_wait; tokio::process::Command::spawn + "
    "Child::wait). The wall time is mostly the child's own exec, dynamic loading and "
    "exit, the same program on both sides; the CPU time is the parent process's alone "
    "(the children are other processes), i.e. what the runtime spends per child: the "
    "spawn, learning of the exit (weft: a pidfd in the reactor; Tokio 1.24: SIGCHLD and "
    "its signal driver) and the reap. The judged ratio is CPU.")

BENCHES = [
    Bench("spawn_many", W("spawn_many"), {"tokio": TOKIO("spawn_many")},
          MEASURES["spawn_many"], goal=0.5),
    Bench("yield_many", W("yield_many"), {"tokio": TOKIO("yield_many")},
          MEASURES["yield_many"]),
    Bench("ping_pong", W("ping_pong"), {"tokio": TOKIO("ping_pong")},
          MEASURES["ping_pong"]),
    Bench("chained_spawn", W("chained_spawn"), {"tokio": TOKIO("chained_spawn")},
          MEASURES["chained_spawn"]),
    Bench("timers", W("timers"), {"tokio": TOKIO("timers")},
          MEASURES["timers"], headline="cpu", goal=0.5,
          extras=("insert", "cancel", "arm", "fire"), scale="arm"),
    Bench("idle_tasks", W("idle_tasks"), {"tokio": TOKIO("idle_tasks")},
          MEASURES["idle_tasks"], headline="cpu", extras=("spawn", "bytes_per_task"),
          mem_goal=256, scale="spawn"),
] + [
    Bench("remote_spawn/%dt" % _k, W("remote_spawn", "--threads", str(_k)),
          {"tokio": TOKIO("remote_spawn", "--threads", str(_k))}, MEASURES["remote_spawn"],
          extras=("spawn",))
    for _k in (1, 2, 4, 8)
] + [
    Bench("spawn_many_remote_idle", W("spawn_many_remote_idle"),
          {"tokio": TOKIO("spawn_many_remote_idle")}, MEASURES["spawn_many_remote_idle"],
          extras=("spawn", "join")),
]

# Child processes (suite "process"): spawn + wait of /bin/true against
# tokio::process, on current_thread and (the /mt rows) multi_thread.
for _k, _tag in ((1, ""), (16, "/16")):
    _args = ["--threads", str(_k)] if _k > 1 else []
    BENCHES.append(Bench("process_spawn" + _tag, W("process_spawn", *_args),
                         {"tokio": TOKIO("process_spawn", *_args)}, MEASURES["process_spawn"],
                         suite="process", headline="cpu"))
    BENCHES.append(Bench("process_spawn" + _tag + "/mt", W("process_spawn", *_args) + ["--mt", "{mt}"],
                         {"tokio": TOKIO("process_spawn", *_args) + ["--mt", "{mt}"]},
                         MEASURES["process_spawn"], suite="process", headline="cpu"))

# Sync primitives and channels (suite "sync"): bench/weft/sync_*.c against
# bench/peers/tokio_sync (tokio::sync), both on current_thread.
SYNC_ROWS = [
    ("sync_mpsc_bounded_1to1", "mpsc bounded (capacity 1024), one producer task, one consumer task, 10M messages"),
    ("sync_mpsc_bounded_4to1", "mpsc bounded, four producer tasks, one consumer, 10M messages in all"),
    ("sync_mpsc_unbounded_1to1", "mpsc unbounded, one producer, one consumer, 4M messages"),
    ("sync_oneshot_reqrep", "request/reply: a fresh oneshot per request, answered by a server task over an mpsc, 1M round trips"),
    ("sync_semaphore_contend", "1,000 tasks contending for a semaphore of 10 permits, 2M acquire/release in all"),
    ("sync_mutex_contend", "1,000 tasks contending for one mutex, 2M lock/unlock in all"),
    ("sync_notify_pingpong", "two tasks waking each other through two Notify, 1M round trips"),
]
for _name, _what in SYNC_ROWS:
    BENCHES.append(Bench(_name, W(_name), {"tokio": ["{tokio_sync_bin}", _name]},
                         _what + ". weft's primitive against the tokio::sync one.", suite="sync"))

# Files (suite "fs"): bench/weft/fs.c against tokio::fs (bench/peers/tokio_fs)
# and against the same work in plain blocking system calls (bench_fs
# --blocking), all on current_thread. The floor is Tokio; the blocking
# calls are the reference the ratio is stated against.
FS_ROWS = [
    ("fs_read_4k", "Read a whole 4 KiB file by path, 20,000 times (weft_fs_read; tokio::fs::read; "
                   "open + fstat + read to the end + close)."),
    ("fs_read_1m", "Read a whole 1 MiB file by path, 1,000 times."),
    ("fs_seq_4k", "Open a 4 KiB file, read it 512 bytes at a time to the end, close; 20,000 times "
                  "(weft_read on the file stream; AsyncReadExt::read on tokio::fs::File; read(2))."),
    ("fs_seq_1m", "The same over a 1 MiB file (2,049 reads of 512 bytes per file), 200 times."),
    ("fs_metadata", "Metadata of a path, 50,000 times (weft_fs_metadata; tokio::fs::metadata; stat(2))."),
    ("fs_read_dir", "Open a directory of 10,000 entries, read every entry's name and type, close; "
                    "100 times (weft_read_dir_next; ReadDir::next_entry + DirEntry::file_type; "
                    "opendir/readdir)."),
]
for _name, _what in FS_ROWS:
    BENCHES.append(Bench(_name, W("fs", _name),
                         {"tokio": ["{tokio_fs_bin}", _name],
                          "blocking": W("fs", _name, "--blocking")},
                         _what + " Files in a directory under /tmp, read once before the "
                         "measured section (so from the page cache on every side).",
                         suite="fs", floor_peers=("tokio",)))

# The mt rows whose system calls per task are counted (one untimed run of
# each side under `strace -f -c` after the timed rounds; BENCH_STRACE=0 skips).
SCHED_ROWS = ("spawn_many", "chained_spawn")
# Goal for the round spread (slowest / fastest wall time) of those rows.
SPREAD_GOAL = 1.5
# Fibers (suite "fiber"): weft's fiber programs against the same programs
# written with weft's coroutines and future tasks, current_thread. The
# ratios are fiber / future: the price of a stack, judged by the goals.
FIBER_MEASURES = {
    "fiber_switch": "A fiber awaits, 10,000,000 times, a future that is pending on its first poll "
                    "and ready on its second; its future is polled by hand in a loop (no scheduler). "
                    "Each await is one suspend and one resume of the fiber. Peer: the same loop as a "
                    "coroutine (WEFT_AWAIT). ns = per await; raw_ns = the bare context switch pair "
                    "under it (goal: at most 10 ns).",
    "fiber_yield_many": "yield_many with fibers: 1,000 fiber tasks each call weft_fiber_yield 1,000 "
                        "times. Peer: yield_many (coroutine tasks, WEFT_YIELD). Measures a reschedule "
                        "plus a suspend and resume of the fiber.",
    "fiber_spawn_many": "spawn_many with fibers: the root spawns 1,000,000 fibers whose function "
                        "returns at once, then joins every handle in order. A fiber takes a stack from "
                        "the pool when it starts and gives it back when it returns. Peer: spawn_many "
                        "(future tasks). Goal: at most 2x.",
    "fiber_idle": "100,000 fibers each sleep 2 s (weft_fiber_sleep); bytes_per_task = (VmHWM at the "
                  "end - VmRSS before spawning) / 100,000: task, fiber future, the stack pages it "
                  "touched. Goal: at most 8 KiB per idle fiber. Peer: idle_tasks --n 100000 "
                  "(coroutine tasks sleeping the same way).",
}
BENCHES += [
    Bench("fiber_switch", W("fiber_switch"), {"coroutine": W("fiber_switch", "--coro")},
          FIBER_MEASURES["fiber_switch"], suite="fiber", extras=("ns", "raw_ns"), floor=None),
    Bench("fiber_yield_many", W("fiber_yield_many"), {"coroutine tasks": W("yield_many")},
          FIBER_MEASURES["fiber_yield_many"], suite="fiber", floor=None),
    Bench("fiber_spawn_many", W("fiber_spawn_many"), {"future tasks": W("spawn_many")},
          FIBER_MEASURES["fiber_spawn_many"], suite="fiber", headline="cpu", goal=2.0, floor=None),
    Bench("fiber_idle", W("fiber_idle"), {"coroutine tasks": W("idle_tasks", "--n", "100000")},
          FIBER_MEASURES["fiber_idle"], suite="fiber", headline="cpu",
          extras=("spawn", "bytes_per_task"), mem_goal=8192, floor=None),
]

# The same rows on the multi_thread schedulers (suite "mt").
for _b in [b for b in BENCHES if b.suite == "ct"]:
    BENCHES.append(Bench(
        _b.name + "/mt", _b.weft + ["--mt", "{mt}"],
        {p: argv + ["--mt", "{mt}"] for p, argv in _b.peers.items()},
        MT_MEASURES, suite="mt", headline=_b.headline, goal=None, extras=_b.extras,
        scale=_b.scale, sched=_b.name in SCHED_ROWS))


def scale_variant(b, workers):
    """The run of mt row `b` with `workers` workers, for the scaling table."""
    def fix(argv):
        return [t.replace("{mt}", str(workers)) for t in argv]
    return Bench("%s@%dw" % (b.name, workers), fix(b.weft),
                 {p: fix(argv) for p, argv in b.peers.items()}, b.measures, suite=b.suite,
                 headline=b.headline, extras=b.extras, scale=b.scale,
                 variant_of=(b.name, workers))

# ---------------------------------------------------------------------------
# Running one program
# ---------------------------------------------------------------------------

RESULT_RE = re.compile(r"^RESULT\s+(\S+)\s*(.*)$")


RUSAGE_RE = re.compile(r"^RUSAGE maxrss_kib=(\d+) utime=([\d.]+) stime=([\d.]+)"
                       r"(?: nvcsw=(\d+) nivcsw=(\d+))?$")


def build_rusage_helper(tools_dir):
    """Compiles bench/tools/rusage.c into tools_dir (if out of date); returns its path."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rusage.c")
    exe = os.path.join(tools_dir, "rusage")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(tools_dir, exist_ok=True)
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-O2", "-o", exe, src], check=True)
    return exe


def run_once(argv, timeout, helper, env=None):
    """Runs argv under the rusage helper; returns a dict with secs, cpu,
    rss_kib, extras, or error."""
    if os.sep in argv[0] and not os.access(argv[0], os.X_OK):
        return {"error": "not built: %s" % argv[0]}
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen([helper] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, start_new_session=True)
    except OSError as e:
        return {"error": "cannot run %s: %s" % (helper, e.strerror)}
    timed_out = []

    def kill():
        timed_out.append(True)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        out, err = proc.communicate()
    finally:
        timer.cancel()
    out = out.decode(errors="replace")
    err_lines = [l for l in err.decode(errors="replace").splitlines() if l.strip()]
    res = {"elapsed": time.monotonic() - t0}
    for l in err_lines:
        m = RUSAGE_RE.match(l.strip())
        if m:
            res["rss_kib"] = int(m.group(1))
            res["ucpu"] = float(m.group(2)) + float(m.group(3))
            if m.group(4) is not None:
                res["nvcsw"] = int(m.group(4))
                res["nivcsw"] = int(m.group(5))
    err_lines = [l for l in err_lines if not l.startswith("RUSAGE ")]
    if timed_out:
        res["error"] = "timed out after %ds" % timeout
        return res
    if proc.returncode != 0:
        rc = proc.returncode
        how = ("killed by signal %d" % (rc - 128) if rc > 128 else "exit %d" % rc)
        last = err_lines[-1:] or [""]
        res["error"] = "%s: %s" % (how, last[0][:160])
        return res
    lines = [m for m in (RESULT_RE.match(l) for l in out.splitlines()) if m]
    if len(lines) != 1:
        res["error"] = "expected one RESULT line, got %d" % len(lines)
        return res
    kv = {}
    for tok in lines[0].group(2).split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            kv[k] = v
    try:
        res["secs"] = float(kv.pop("secs"))
    except (KeyError, ValueError):
        res["error"] = "RESULT line without secs="
        return res
    if "cpu" in kv:
        try:
            res["cpu"] = float(kv.pop("cpu"))
        except ValueError:
            pass
    res["extras"] = kv
    return res


def cpu_busy(dt=0.25):
    """Fraction of the machine's CPU time used over the next `dt` seconds
    (by anyone: the runner itself is idle meanwhile)."""
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait
    try:
        t0, i0 = read()
        time.sleep(dt)
        t1, i1 = read()
    except (OSError, ValueError, IndexError):
        return 0.0
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(threshold, max_wait):
    """Waits until cpu_busy() < threshold; False if it never was within
    max_wait seconds."""
    if threshold <= 0:
        return True
    deadline = time.monotonic() + max_wait
    while True:
        if cpu_busy() < threshold:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def count_syscalls(argv, timeout):
    """Runs argv once under `strace -f -c` (untimed); returns (system calls,
    tasks from the RESULT line's n=, top calls) or None if strace is missing
    or the run failed."""
    import shutil
    import tempfile
    if not shutil.which("strace"):
        return None
    with tempfile.NamedTemporaryFile(prefix="bench-strace-", suffix=".txt", delete=False) as f:
        path = f.name
    try:
        proc = subprocess.run(["strace", "-f", "-c", "-o", path] + argv, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, timeout=timeout * 4)
        if proc.returncode != 0:
            return None
        n = None
        for l in proc.stdout.decode(errors="replace").splitlines():
            m = RESULT_RE.match(l)
            if m:
                for tok in m.group(2).split():
                    if tok.startswith("n="):
                        n = int(tok[2:])
        calls, top = None, []
        with open(path) as f:
            for l in f:
                parts = l.split()
                if not parts or parts[0].startswith(("%", "-")):
                    continue
                # % time, seconds, usecs/call, calls, [errors], syscall
                if parts[-1] == "total" and len(parts) >= 5 and parts[3].isdigit():
                    calls = int(parts[3])
                elif len(parts) >= 5 and parts[3].isdigit():
                    top.append((int(parts[3]), parts[-1]))
        if calls is None or not n:
            return None
        top.sort(reverse=True)
        return {"calls": calls, "n": n, "top": top[:3]}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Statistics and formatting
# ---------------------------------------------------------------------------


def med(xs):
    return statistics.median(xs) if xs else None


def spread(xs):
    """Interquartile range over median (robust to one odd round)."""
    if len(xs) < 3:
        return None
    q = statistics.quantiles(xs, n=4)
    m = statistics.median(xs)
    return (q[2] - q[0]) / m if m else None


def fnum(x, digits=3):
    if x is None:
        return "n/a"
    if x >= 100:
        return "%.1f" % x
    if x >= 10:
        return "%.2f" % x
    return ("%." + str(digits) + "f") % x


def fmib(kib):
    return "n/a" if kib is None else "%.1f MiB" % (kib / 1024.0)


def fratio(r):
    return "n/a" if r is None else "%.2f" % r


def mark(ok):
    return "✓" if ok else "✗"


def collect(runs, key):
    return [r[key] for r in runs if "error" not in r and key in r]


def collect_extra(runs, key):
    out = []
    for r in runs:
        if "error" in r:
            continue
        v = r.get("extras", {}).get(key)
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            pass
    return out


# ---------------------------------------------------------------------------
# Machine description
# ---------------------------------------------------------------------------


def sh(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, timeout=20).stdout.strip()
    except Exception:
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def c_compiler(build_dir):
    cc, flags = None, ""
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_C_COMPILER:"):
                    cc = line.split("=", 1)[1].strip()
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    flags = line.split("=", 1)[1].strip()
    except OSError:
        pass
    ver = sh([cc or "cc", "--version"]).splitlines()
    return (ver[0] if ver else (cc or "cc")), flags


def rustc_version(target_dir):
    try:
        with open(os.path.join(target_dir, ".rustc_info.json")) as f:
            info = json.load(f)
        for out in info.get("outputs", {}).values():
            s = out.get("stdout", "")
            if s.startswith("rustc "):
                return s.splitlines()[0]
    except (OSError, ValueError):
        pass
    return sh(["rustc", "--version"]) or "rustc (unknown)"


def tokio_version(lock_path):
    try:
        text = open(lock_path).read()
        m = re.search(r'name = "tokio"\nversion = "([^"]+)"', text)
        if m:
            return m.group(1)
    except OSError:
        pass
    return "?"


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def suite_rounds(suite, default):
    v = os.environ.get("BENCH_ROUNDS_" + re.sub(r"\W", "_", suite).upper(), "")
    try:
        return int(v) if v else default
    except ValueError:
        return default


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.getcwd())
    ap.add_argument("--weft-bin", required=True, help="directory with bench_<name> programs")
    ap.add_argument("--weft-build", default=None, help="CMake build dir (for compiler info)")
    ap.add_argument("--tokio-bin", required=True)
    ap.add_argument("--tokio-target", default=None, help="cargo target dir (for rustc info)")
    ap.add_argument("--tokio-lock", default=None)
    ap.add_argument("--cargo", default="cargo")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "5")))
    ap.add_argument("--warmup", type=int, default=int(os.environ.get("BENCH_WARMUP", "0")),
                    help="uncounted rounds run first")
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""))
    ap.add_argument("--suites", default=os.environ.get("BENCH_SUITES", "ct,mt,sync,fiber,process,fs"))
    ap.add_argument("--mt", type=int, default=int(os.environ.get("BENCH_MT", "0") or 0))
    ap.add_argument("--scale", type=int, default=int(os.environ.get("BENCH_SCALE", "1") or 0),
                    help="also run the mt rows with this many workers (0: no scaling table)")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("BENCH_TIMEOUT", "180")))
    ap.add_argument("--out", default="docs/benchmarks.md")
    ap.add_argument("--json", default=None, help="also write raw results here")
    ap.add_argument("--tools-dir", default="build/bench-tools",
                    help="where the rusage helper is compiled")
    ap.add_argument("--var", action="append", default=[], help="KEY=VALUE for command templates")
    ap.add_argument("--quiet", type=float, default=float(os.environ.get("BENCH_QUIET", "0.15") or 0),
                    help="wait before each run until others use less than this CPU fraction (0: no)")
    ap.add_argument("--quiet-wait", type=float, default=float(os.environ.get("BENCH_QUIET_WAIT", "30")),
                    help="longest wait for a quiet machine before one run, seconds")
    a = ap.parse_args()

    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mt = a.mt or nproc
    subst = {"weft_bin": a.weft_bin, "tokio_bin": a.tokio_bin, "root": a.root, "mt": str(mt)}
    for kv in a.var:
        k, _, v = kv.partition("=")
        subst[k] = v

    suites = [s.strip() for s in a.suites.split(",") if s.strip()]
    only = [p.strip() for p in a.only.split(",") if p.strip()]
    benches = [b for b in BENCHES if b.suite in suites
               and (not only or any(fnmatch.fnmatch(b.name, p) for p in only))]
    if not benches:
        print("bench: nothing selected (BENCH_ONLY=%r BENCH_SUITES=%r)" % (a.only, a.suites),
              file=sys.stderr)
        return 2
    rounds = {s: suite_rounds(s, a.rounds) for s in suites}

    # Every mt row also runs with a.scale workers, right after the row itself
    # in every round, for the scaling table.
    scale = a.scale if a.scale > 0 and a.scale != mt else 0
    runs = []
    for b in benches:
        runs.append(b)
        if scale and b.suite == "mt":
            runs.append(scale_variant(b, scale))

    def argv_of(tmpl):
        return [t.format(**subst) for t in tmpl]

    helper = build_rusage_helper(a.tools_dir)

    # results[bench][side] = list of run dicts
    results = {b.name: {s: [] for s in ["weft"] + list(b.peers)} for b in runs}
    started = datetime.datetime.now(datetime.timezone.utc)
    for rnd in range(-a.warmup, max(rounds.values())):
        for b in runs:
            if rnd >= rounds[b.suite]:
                continue
            sides = [("weft", b.weft)] + list(b.peers.items())
            if rnd % 2 != 0:
                sides.reverse()
            for side, tmpl in sides:
                quiet = wait_quiet(a.quiet, a.quiet_wait)
                r = run_once(argv_of(tmpl), a.timeout, helper)
                if not quiet:
                    r["busy_start"] = True
                if rnd >= 0:
                    results[b.name][side].append(r)
                if "error" in r:
                    desc = "FAILED (%s)" % r["error"]
                else:
                    desc = "%.3fs cpu %.3fs rss %s" % (r["secs"], r.get("cpu", float("nan")),
                                                       fmib(r.get("rss_kib")))
                    bpt = r.get("extras", {}).get("bytes_per_task")
                    if bpt:
                        desc += " %s B/task" % bpt
                label = ("round %d/%d" % (rnd + 1, rounds[b.suite]) if rnd >= 0 else "warm-up")
                print("%-11s %-24s %-6s %s" % (label, b.name, side, desc), flush=True)
    # System calls per task for the scheduler rows: one untimed run per side.
    syscalls = {}
    if os.environ.get("BENCH_STRACE", "1") != "0":
        for b in benches:
            if not b.sched:
                continue
            for side, tmpl in [("weft", b.weft)] + list(b.peers.items()):
                c = count_syscalls(argv_of(tmpl), a.timeout)
                syscalls.setdefault(b.name, {})[side] = c
                print("strace      %-24s %-6s %s" % (
                    b.name, side, "n/a" if c is None else "%d calls, %.4f per task (%s)" % (
                        c["calls"], c["calls"] / c["n"],
                        ", ".join("%s %d" % (k, v) for v, k in c["top"]))), flush=True)
    finished = datetime.datetime.now(datetime.timezone.utc)

    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump({"started": started.isoformat(), "mt": mt, "scale": scale,
                       "rounds": rounds, "results": results, "syscalls": syscalls}, f, indent=1)

    info = run_info(a, started, finished, nproc)
    blocks = [("intro", render_intro())]
    for suite in suites:
        rows = [b for b in benches if b.suite == suite]
        if not rows:
            continue
        variants = [b for b in runs if b.suite == suite and b.variant_of]
        blocks.append(("suite=" + suite,
                       render_suite(a, suite, rows, variants, results, info, rounds[suite],
                                    mt, scale, syscalls)))
    blocks.append(("measures", render_measures()))
    old = open(a.out).read() if os.path.exists(a.out) else None
    md = merge_doc(old, blocks)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(md)
    os.replace(tmp, a.out)
    print("bench: wrote %s (sections: %s)" % (a.out, ", ".join(k for k, _ in blocks)))
    failed = sum(1 for b in runs for s in results[b.name].values()
                 for r in s if "error" in r)
    if failed:
        print("bench: %d run(s) failed; see the table" % failed, file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------
# The document: blocks owned by the runner, everything else kept
# ---------------------------------------------------------------------------

NOTES_DEFAULT = "## Notes\n\n<!-- notes -->\n_(none yet)_\n<!-- /notes -->\n"
# Headings the runner wrote before it marked its blocks (dropped when such a
# file is first converted; any other "## " section is kept).
LEGACY_HEADINGS = {"Results", "Memory per idle task", "Details", "What each benchmark measures"}


def _open(key):
    return "<!-- bench.py:%s -->" % key


def _close(key):
    return "<!-- /bench.py:%s -->" % key


def _block(key, body):
    return "%s\n%s\n%s" % (_open(key), body.strip("\n"), _close(key))


def _find(doc, key):
    """(start, end) of the block `key` in doc, markers included, or None."""
    i = doc.find(_open(key))
    if i < 0:
        return None
    j = doc.find(_close(key), i)
    if j < 0:
        return None
    return i, j + len(_close(key))


def convert_legacy(old):
    """A file written before the runner marked its blocks: keep the notes and
    any section the runner did not write; drop the rest."""
    notes = None
    m = re.search(r"(?:## Notes\s*\n\s*)?<!-- notes -->.*?<!-- /notes -->\n?", old, re.S)
    if m:
        notes = m.group(0)
        if not notes.startswith("## Notes"):
            notes = "## Notes\n\n" + notes
        old = old[:m.start()] + old[m.end():]
    kept = []
    for sec in re.split(r"(?m)^(?=## )", old):
        if not sec.startswith("## "):
            continue
        title = sec[3:].splitlines()[0].strip()
        if title in LEGACY_HEADINGS or title == "Notes":
            continue
        kept.append(sec.rstrip("\n") + "\n")
    doc = "# Benchmarks\n\n"
    for sec in kept:
        doc += sec + "\n"
    doc += notes.rstrip("\n") + "\n" if notes else NOTES_DEFAULT
    return doc


def merge_doc(old, blocks):
    """Replaces or inserts the runner's blocks in `old` (None: a new file)."""
    if old is None or "<!-- bench.py:" not in old:
        doc = convert_legacy(old) if old is not None else "# Benchmarks\n\n" + NOTES_DEFAULT
    else:
        doc = old
    for key, body in blocks:
        text = _block(key, body)
        span = _find(doc, key)
        if span:
            doc = doc[:span[0]] + text + doc[span[1]:]
            continue
        # Where a new block goes: intro after the title; a suite after the
        # last suite block (else after intro); measures after the last
        # suite block. Failing that, before "## Notes" (else at the end).
        at = None
        if key == "intro":
            m = re.search(r"(?m)^# .*\n", doc)
            at = m.end() if m else 0
        else:
            ends = [m.end() for m in re.finditer(r"<!-- /bench\.py:suite=[^>]* -->", doc)]
            if ends:
                at = max(ends)
            elif _find(doc, "intro"):
                at = _find(doc, "intro")[1]
            if key != "measures" and _find(doc, "measures") and (
                    at is None or _find(doc, "measures")[0] < at):
                at = _find(doc, "measures")[0]
        if at is None:
            m = re.search(r"(?m)^## Notes\s*$", doc)
            at = m.start() if m else len(doc)
        doc = doc[:at].rstrip("\n") + "\n\n" + text + "\n\n" + doc[at:].lstrip("\n")
    return doc.rstrip("\n") + "\n"


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

SUITE_TITLES = {"ct": "current_thread", "mt": "multi_thread, {mt} workers",
                "sync": "sync primitives and channels, current_thread",
                "fiber": "fibers against weft's own coroutines and future tasks, current_thread",
                "process": "child processes",
                "fs": "files, current_thread (Tokio and plain blocking calls)"}


def run_info(a, started, finished, nproc):
    cc, build_type = c_compiler(a.weft_build or os.path.dirname(a.weft_bin.rstrip("/")))
    commit = sh(["git", "rev-parse", "--short", "HEAD"], cwd=a.root) or "?"
    dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"], cwd=a.root)
    return {
        "started": started, "finished": finished, "nproc": nproc,
        "cc": cc, "build_type": build_type, "commit": commit, "dirty": bool(dirty),
        "rustc": rustc_version(a.tokio_target or ""),
        "cargo": sh([a.cargo, "--version"]) or a.cargo,
        "tokio": tokio_version(a.tokio_lock or ""),
    }


def render_intro():
    return ("Written by `make bench` (`bench/run.sh`, `bench/tools/bench.py`). Method: "
            "weft and each peer run side by side in alternating rounds "
            "in one run on one machine, and the ratios are what count.\n\n"
            "The runner rewrites only the blocks between `<!-- bench.py:… -->` markers, and "
            "of the suites only those it ran (`BENCH_SUITES`, default `ct,mt,sync,fiber,fs`), so each suite "
            "section carries its own date and settings. Everything outside the markers is kept: "
            "the notes at the end (edit them freely) and sections that other scripts or people "
            "add (put them outside the markers).")


def round_spread(xs):
    """Slowest / fastest round."""
    return max(xs) / min(xs) if xs and min(xs) > 0 else None


def render_sched(benches, results, syscalls):
    """The scheduler table of the mt suite: round spread, context switches,
    system calls per task."""
    L = ["### Scheduler behaviour", "",
         "Per row and side: the round spread (slowest / fastest wall time over the rounds; "
         "goal ≤ %.1f on the rows marked *), the medians of the voluntary and involuntary "
         "context switches of the whole process (`wait4` rusage: every thread, creation and "
         "teardown included), and for the rows marked * the system calls per task of one "
         "untimed run under `strace -f -c` (every thread, whole process; the most frequent "
         "calls in brackets)." % SPREAD_GOAL, "",
         "| benchmark | side | round spread | vol. ctx switches | invol. ctx switches "
         "| syscalls / task | top syscalls |",
         "|---|---|--:|--:|--:|--:|---|"]
    for b in benches:
        for side in ["weft"] + list(b.peers):
            runs = results[b.name][side]
            sp = round_spread(collect(runs, "secs"))
            vc, ic = med(collect(runs, "nvcsw")), med(collect(runs, "nivcsw"))
            c = syscalls.get(b.name, {}).get(side)
            spread_s = fratio(sp)
            if b.sched and sp is not None:
                spread_s += " " + mark(sp <= SPREAD_GOAL)
            L.append("| %s%s | %s | %s | %s | %s | %s | %s |" % (
                b.name, " *" if b.sched else "", side, spread_s,
                "n/a" if vc is None else "%.0f" % vc, "n/a" if ic is None else "%.0f" % ic,
                "–" if not b.sched else ("n/a" if c is None else "%.4f" % (c["calls"] / c["n"])),
                "" if not c else ", ".join("%s %d" % (k, v) for v, k in c["top"])))
    L.append("")
    return L


def render_suite(a, suite, benches, variants, results, info, rounds, mt, scale, syscalls=None):
    title = SUITE_TITLES.get(suite, suite).format(mt=mt)
    peers = sorted({p for b in benches for p in b.peers})
    spent = sum(r.get("elapsed", 0.0) for b in benches + variants
                for side in results[b.name].values() for r in side)
    L = []
    L.append("## Suite `%s`: %s" % (suite, title))
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append("| date | %s (this suite: %.0f s of a %.0f s run) |"
             % (info["started"].strftime("%Y-%m-%d %H:%M UTC"), spent,
                (info["finished"] - info["started"]).total_seconds()))
    L.append("| machine | %s, nproc %d, Linux %s |" % (cpu_model(), info["nproc"], platform.release()))
    L.append("| rounds | %d per benchmark and side%s; weft and the peer alternate, the order flips each round; medians shown |"
             % (rounds, " (after %d warm-up)" % a.warmup if a.warmup else ""))
    busy = sum(1 for b in benches + variants for side in results[b.name].values()
               for r in side if r.get("busy_start"))
    total = sum(len(side) for b in benches + variants for side in results[b.name].values())
    if a.quiet > 0:
        L.append("| quiet machine | each run waited (up to %.0f s) until other programs used under %.0f%% of the CPU; "
                 "%d of %d runs started on a busier machine anyway |" % (a.quiet_wait, a.quiet * 100, busy, total))
    L.append("| weft | git %s%s, %s, CMake %s |" % (info["commit"], "+dirty" if info["dirty"] else "",
                                                   info["cc"], info["build_type"] or "?"))
    if "tokio" in peers:
        L.append("| tokio | %s (Debian librust-tokio-dev, built offline), %s, %s, release, lto=fat, codegen-units=1 |"
                 % (info["tokio"], info["rustc"], info["cargo"]))
    if suite == "fiber":
        L.append("| scheduler | current_thread on both sides (`weft_runtime_create(&rt, NULL)`); the peers "
                 "are weft's own coroutine and future-task programs, so ratios are fiber / future "
                 "and judged by the goals, not by a floor of 1 |")
    elif suite in ("ct", "sync", "fs"):
        L.append("| scheduler | current_thread on both sides (`weft_runtime_create(&rt, NULL)`; "
                 "`Builder::new_current_thread().enable_all()`) |")
    elif suite == "process":
        L.append("| scheduler | current_thread on both sides; the `/mt` rows multi_thread with %d workers "
                 "on both sides |" % mt)
    elif suite == "mt":
        L.append("| scheduler | multi_thread with %d workers on both sides (`.flavor = WEFT_MULTI_THREAD, "
                 ".workers = %d`; `Builder::new_multi_thread().worker_threads(%d).enable_all()`); "
                 "block_on's future runs on the main thread, outside the workers, on both sides |"
                 % (mt, mt, mt))
    L.append("| allocator | glibc malloc on both sides |")
    L.append("")

    # ---- main table
    L.append("### Results")
    L.append("")
    L.append("Wall and CPU are seconds of the measured section, timed inside each program "
             "(runtime creation and teardown excluded). Ratios are weft / peer: below 1 means "
             "weft is faster. Peak RSS is the whole process (`wait4` rusage, via `bench/tools/rusage.c`). The judged "
             "ratio is in **bold**; floor: ≤ 1.00 on every row%s; goal as listed. Noise is the "
             "larger of the two sides' interquartile range / median of the judged metric over "
             "the rounds." % (
                 " against %s (the other peers are references: their ratio is stated, not judged)"
                 % ", ".join(sorted({p for b in benches if b.floor_peers for p in b.floor_peers}))
                 if any(b.floor_peers for b in benches) else ""))
    L.append("")
    L.append("| benchmark | peer | weft wall | peer wall | wall ratio | weft CPU | peer CPU | CPU ratio "
             "| weft peak RSS | peer peak RSS | floor ≤ 1 | goal | noise |")
    L.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|:-:|:-:|--:|")
    failures = []
    for b in benches:
        w = results[b.name]["weft"]
        for p in b.peers:
            pr = results[b.name][p]
            ws, ps = collect(w, "secs"), collect(pr, "secs")
            wc, pc = collect(w, "cpu"), collect(pr, "cpu")
            wr, prr = collect(w, "rss_kib"), collect(pr, "rss_kib")
            wall_ratio = med(ws) / med(ps) if ws and ps and med(ps) else None
            cpu_ratio = med(wc) / med(pc) if wc and pc and med(pc) else None
            judged = cpu_ratio if b.headline == "cpu" else wall_ratio
            jw, jp = (wc, pc) if b.headline == "cpu" else (ws, ps)
            noise = max([s for s in (spread(jw), spread(jp)) if s is not None], default=None)
            wall_s, cpu_s = fratio(wall_ratio), fratio(cpu_ratio)
            if b.headline == "cpu":
                cpu_s = "**%s**" % cpu_s
            else:
                wall_s = "**%s**" % wall_s
            floor = ("–" if b.floor is None else
                     "n/a" if judged is None else mark(judged <= b.floor))
            if b.floor_peers is not None and p not in b.floor_peers:
                floor = "–"  # a reference, not a goal
            goal = "–" if b.goal is None else (
                "≤ %.2f %s" % (b.goal, "n/a" if judged is None else mark(judged <= b.goal)))
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                b.name, p, fnum(med(ws)), fnum(med(ps)), wall_s, fnum(med(wc)), fnum(med(pc)), cpu_s,
                fmib(med(wr)), fmib(med(prr)), floor, goal,
                "n/a" if noise is None else "%.0f%%" % (noise * 100)))
    for b in benches + variants:
        for side, runs in results[b.name].items():
            errs = [r["error"] for r in runs if "error" in r]
            if errs:
                failures.append("%s / %s: %d of %d runs failed (%s)"
                                % (b.name, side, len(errs), len(runs), errs[0]))
    L.append("")
    if failures:
        L.append("Failed runs (medians above use the runs that succeeded):")
        L.append("")
        for f in failures:
            L.append("- " + f)
        L.append("")
    notes = [b for b in benches if b.note]
    for b in notes:
        L.append("- %s: %s" % (b.name, b.note))
    if notes:
        L.append("")

    # ---- memory per task
    mem_rows = [b for b in benches if b.mem_goal is not None]
    if mem_rows:
        L.append("### Memory per idle task")
        L.append("")
        L.append("(peak RSS - RSS before spawning) / tasks, measured inside each program; "
                 "goals as listed (Tokio 1.24's task is about 1.4 KB).")
        L.append("")
        L.append("| benchmark | peer | weft B/task | peer B/task | ratio | goal |")
        L.append("|---|---|--:|--:|--:|:-:|")
        for b in mem_rows:
            wv = med(collect_extra(results[b.name]["weft"], "bytes_per_task"))
            for p in b.peers:
                pv = med(collect_extra(results[b.name][p], "bytes_per_task"))
                L.append("| %s | %s | %s | %s | %s | ≤ %d %s |" % (
                    b.name, p, "n/a" if wv is None else "%.0f" % wv,
                    "n/a" if pv is None else "%.0f" % pv,
                    fratio(wv / pv if wv is not None and pv else None), b.mem_goal,
                    "n/a" if wv is None else mark(wv <= b.mem_goal)))
        L.append("")

    # ---- phases / extras
    ext_rows = [b for b in benches if b.extras]
    if ext_rows:
        L.append("### Details")
        L.append("")
        L.append("Medians of the extra values the programs report (seconds unless named).")
        L.append("")
        L.append("| benchmark | value | weft | %s |" % " | ".join(peers))
        L.append("|---|---|--:|%s" % ("--:|" * len(peers)))
        for b in ext_rows:
            for k in b.extras:
                cells = [fnum(med(collect_extra(results[b.name]["weft"], k)), 4)]
                for p in peers:
                    cells.append(fnum(med(collect_extra(results[b.name].get(p, []), k)), 4)
                                 if p in b.peers else "–")
                L.append("| %s | %s | %s |" % (b.name, k, " | ".join(cells)))
        L.append("")

    # ---- scheduler behaviour (mt)
    if suite == "mt":
        L.extend(render_sched(benches, results, syscalls or {}))

    # ---- scaling
    if variants:
        L.extend(render_scaling(benches, variants, results, mt, scale, info["nproc"]))
    return "\n".join(L)


def scale_values(runs, metric):
    return collect(runs, "secs") if metric == "secs" else collect_extra(runs, metric)


def render_scaling(benches, variants, results, mt, scale, nproc):
    peers = sorted({p for b in benches for p in b.peers})
    by_row = {v.variant_of[0]: v for v in variants}
    L = []
    L.append("### Scaling: %d → %d workers" % (scale, mt))
    L.append("")
    L.append("Every row above was also run with %d worker%s on both sides, in the same rounds "
             "(right after the %d-worker run). Medians of wall seconds: of the measured section, "
             "except timers (its arm phase: inserting and cancelling the timers) and idle_tasks "
             "(its spawn phase), whose measured sections are mostly sleeping. Speed-up = time "
             "with %d / time with %d (above 1: faster with more workers). nproc is %d, and the "
             "main thread (block_on's future) and remote_spawn's spawner threads compete with "
             "the workers for those cores."
             % (scale, "" if scale == 1 else "s", mt, scale, mt, nproc))
    L.append("")
    head = "| benchmark | metric | weft %dw | weft %dw | weft speed-up" % (scale, mt)
    rule = "|---|---|--:|--:|--:"
    for p in peers:
        head += " | %s %dw | %s %dw | %s speed-up" % (p, scale, p, mt, p)
        rule += "|--:|--:|--:"
    for p in peers:
        head += " | weft/%s at %dw | weft/%s at %dw" % (p, scale, p, mt)
        rule += "|--:|--:"
    L.append(head + " |")
    L.append(rule + "|")
    for b in benches:
        v = by_row.get(b.name)
        if not v:
            continue
        metric = b.scale
        cells = []
        meds = {}
        for side in ["weft"] + peers:
            lo = med(scale_values(results[v.name].get(side, []), metric))
            hi = med(scale_values(results[b.name].get(side, []), metric))
            meds[side] = (lo, hi)
            cells += [fnum(lo), fnum(hi), "n/a" if not (lo and hi) else "%.2f×" % (lo / hi)]
        for p in peers:
            for i in (0, 1):
                wv, pv = meds["weft"][i], meds[p][i]
                cells.append(fratio(wv / pv if wv is not None and pv else None))
        L.append("| %s | %s | %s |" % (b.name, "wall" if metric == "secs" else metric,
                                       " | ".join(cells)))
    L.append("")
    return L


def render_measures():
    L = []
    L.append("## What each benchmark measures")
    L.append("")
    L.append("Each benchmark is written twice, doing the same work: C in `bench/weft/<name>.c`, "
             "Rust in `bench/peers/tokio/src/main.rs` (`tokio_bench <name>`). Each program prints "
             "one `RESULT <name> secs=… cpu=… key=value…` line. Run one by hand with "
             "`build/release/bench/bench_<name> [--n N] [--mt W] [--threads K] [--iters I]` or "
             "`build/peers/tokio/release/tokio_bench <name> [--n N] [--mt W] [--threads K] [--iters I]`.")
    L.append("")
    L.append("The file rows (suite `fs`) are `bench/weft/fs.c` (`bench_fs <row>`; `bench_fs <row> "
             "--blocking` is the same work in plain blocking system calls) and "
             "`bench/peers/tokio_fs` (`tokio_fs_bench <row>`); each prints the checksum of what "
             "it read (`sum=`), the same on every side.")
    L.append("")
    seen = set()
    for b in BENCHES:
        if b.measures in seen:
            continue
        seen.add(b.measures)
        name = b.name
        if b.measures == MEASURES.get("remote_spawn"):
            name = "remote_spawn/Kt"
        elif b.measures == MT_MEASURES:
            name = "… /mt"
        L.append("- **%s**: %s" % (name, b.measures))
    L.append("")
    L.append("Asymmetries that remain: a weft join handle is a 40-byte future while a Tokio "
             "JoinHandle is one pointer, so spawn_many's handle array is 40 MB on weft's side "
             "and 8 MB on Tokio's (it shows in peak RSS, not in idle_tasks, which keeps no "
             "handles); each side uses its own idiomatic yield (see yield_many); the signal "
             "in ping_pong and chained_spawn uses atomics on both sides although the runtime "
             "is single-threaded (so the same code serves the multi_thread rows); weft's "
             "timers insert pass polls each new sleep with a copy of the task's context "
             "whose cooperative budget is full, so every first poll registers its timer "
             "(Tokio's Sleep spends budget only when it completes, so its pass never runs "
             "short either); Tokio is compiled with LTO, weft is a static library without "
             "LTO.")
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
