/*
 * loadgen: closed-loop TCP echo load generator for bench/echo/run.sh.
 *
 * Plain C (pthreads + epoll, level-triggered); it does not use weft, so every
 * server is driven by the same client. N connections to HOST:PORT are split
 * round-robin over T load threads (default 1). Each connection keeps exactly
 * one message in flight: it writes S bytes, reads until the S bytes came back,
 * checks every byte, records the round-trip latency, and sends the next one.
 * The first W seconds are warm-up (not recorded); then it measures for D
 * seconds: a message counts when its echo completes inside that window.
 *
 * Output, one line on stdout:
 *   LOAD conns=N size=S msgs=M secs=D msgs_per_sec=R p50_us=.. p99_us=..
 *        errors=E p999_us=.. max_us=.. msgs_total=.. loadgen_cpu_pct=..
 *        [server_cpu_ms=.. server_cpu_pct=.. server_cpu_us_per_msg=..]
 * msgs_total counts every message echoed since the start (warm-up too).
 * loadgen_cpu_pct is this process's CPU time (all threads) over the measured
 * interval, in percent of one core: near 100 × T it means the load generator,
 * not the server, set the pace. With --server-pid, the server's utime+stime
 * (/proc/PID/stat, all its threads) is read at the start and the end of the
 * measured interval, so the CPU cost per echoed message covers exactly the
 * messages counted.
 *
 * With --perf-ctl CTL[,ACK] it sends "enable" and "disable" to a
 * `perf stat -D -1 --control fifo:CTL,ACK` at the same two instants, so a
 * syscall count covers the same messages.
 *
 * Latencies go into a log-linear histogram (64 sub-buckets per power of two,
 * under 1.6% relative error), one per thread, merged at the end.
 *
 * Exit status: 0 when every message came back intact (errors=0), 1 when a
 * connection failed, closed or echoed a wrong byte, 2 on bad usage or when
 * the connections could not be opened.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- histogram ---------------------------------------------------------- */

#define H_SUB_BITS 6
#define H_SUB (1 << H_SUB_BITS)              /* 64 sub-buckets per octave */
#define H_BUCKETS (2 * H_SUB + 58 * H_SUB)   /* values up to 2^64 ns */

typedef struct {
    uint64_t count[H_BUCKETS];
    uint64_t n, max;
} histogram;

static unsigned h_index(uint64_t v)
{
    if (v < 2 * H_SUB) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - H_SUB_BITS;     /* v >> shift is in [64, 127] */
    return 2 * H_SUB + (shift - 1) * H_SUB + (unsigned)((v >> shift) - H_SUB);
}

/* Midpoint of bucket i. */
static double h_value(unsigned i)
{
    if (i < 2 * H_SUB) return (double)i;
    unsigned shift = (i - 2 * H_SUB) / H_SUB + 1;
    uint64_t m = (i - 2 * H_SUB) % H_SUB + H_SUB;
    return (double)(m << shift) + (double)(1ull << shift) / 2.0;
}

static void h_record(histogram *h, uint64_t v)
{
    h->count[h_index(v)]++;
    h->n++;
    if (v > h->max) h->max = v;
}

static double h_quantile(const histogram *h, double q)
{
    if (h->n == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if (rank >= h->n) rank = h->n - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        seen += h->count[i];
        if (seen > rank) return h_value(i);
    }
    return (double)h->max;
}

/* ---- state -------------------------------------------------------------- */

enum { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };
static _Atomic int phase = PHASE_WARMUP;

typedef struct {
    int fd;
    unsigned id;
    uint64_t seq;          /* messages completed on this connection */
    const uint8_t *tx;     /* the message in flight */
    size_t sent, got;
    uint64_t t_send;       /* ns, monotonic */
    uint8_t *rx;
    int want_out;          /* EPOLLOUT registered (partial write) */
    int dead;
} conn;

typedef struct {
    pthread_t th;
    int ep;
    conn **conns;
    unsigned nconns;
    histogram hist;
    uint64_t msgs;          /* completed inside the measured window */
    uint64_t msgs_total;    /* completed since the start, warm-up included */
    uint64_t errors;
} worker;

static size_t msg_size = 64;
static uint8_t *pattern;   /* pattern[i] = i * 131 + (i >> 8), len size+256 */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* Each message starts at a different offset of the pattern, so an echo of a
 * stale or another connection's message does not compare equal. */
static const uint8_t *next_message(conn *c)
{
    return pattern + (c->id * 7u + c->seq * 13u) % 251u;
}

static void conn_fail(worker *w, conn *c, const char *why, int err)
{
    if (c->dead) return;
    if (atomic_load_explicit(&phase, memory_order_relaxed) == PHASE_STOP) {
        /* Failures after the end of the measurement do not count. */
    } else {
        w->errors++;
        if (w->errors <= 5)
            fprintf(stderr, "loadgen: conn %u: %s%s%s\n", c->id, why,
                    err ? ": " : "", err ? strerror(err) : "");
    }
    c->dead = 1;
    epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

static void set_out(worker *w, conn *c, int on)
{
    if (c->want_out == on) return;
    struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };
    if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl MOD");
    c->want_out = on;
}

/* Writes what is left of the message in flight. */
static void conn_send(worker *w, conn *c)
{
    while (c->sent < msg_size) {
        ssize_t n = write(c->fd, c->tx + c->sent, msg_size - c->sent);
        if (n > 0) { c->sent += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { set_out(w, c, 1); return; }
        conn_fail(w, c, "write", n < 0 ? errno : 0);
        return;
    }
    set_out(w, c, 0);
}

static void conn_start(worker *w, conn *c, uint64_t t)
{
    c->tx = next_message(c);
    c->sent = 0;
    c->got = 0;
    c->t_send = t;
    conn_send(w, c);
}

static void conn_readable(worker *w, conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->rx + c->got, msg_size - c->got);
        if (n > 0) {
            c->got += (size_t)n;
            if (c->got > c->sent) { conn_fail(w, c, "server sent bytes before they were sent to it", 0); return; }
            if (c->got < msg_size) continue;
            uint64_t t = now_ns();
            if (memcmp(c->rx, c->tx, msg_size) != 0) { conn_fail(w, c, "echo differs from the message sent", 0); return; }
            int ph = atomic_load_explicit(&phase, memory_order_relaxed);
            if (ph == PHASE_MEASURE) {
                h_record(&w->hist, t - c->t_send);
                w->msgs++;
            }
            c->seq++;
            w->msgs_total++;
            if (ph == PHASE_STOP) return;
            conn_start(w, c, t);
            return;  /* one message per wake-up per connection: fair */
        }
        if (n == 0) { conn_fail(w, c, "server closed the connection", 0); return; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        conn_fail(w, c, "read", errno);
        return;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    struct epoll_event evs[256];
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < w->nconns; i++) conn_start(w, w->conns[i], t0);
    while (atomic_load_explicit(&phase, memory_order_relaxed) != PHASE_STOP) {
        int n = epoll_wait(w->ep, evs, 256, 20);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c->dead) continue;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) conn_readable(w, c);
            if (!c->dead && c->want_out && (evs[i].events & EPOLLOUT)) conn_send(w, c);
        }
    }
    return NULL;
}

/* ---- /proc CPU readings ------------------------------------------------- */

/* utime+stime of PID (all threads), in clock ticks; -1 when unreadable. */
static long long proc_cpu_ticks(int pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');    /* comm may contain spaces */
    if (!p) return -1;
    unsigned long long ut = 0, st = 0;
    /* After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt
     * cminflt majflt cmajflt utime(14) stime(15). */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ---- main --------------------------------------------------------------- */

/* perf stat --control fifo:CTL,ACK: "enable"/"disable" commands, each
 * acknowledged with "ack". Lets the syscall count cover the measured window
 * exactly. */
static int perf_ctl = -1, perf_ack = -1;

static void perf_command(const char *cmd)
{
    if (perf_ctl < 0) return;
    if (write(perf_ctl, cmd, strlen(cmd)) < 0) die("write perf control fifo");
    if (perf_ack < 0) return;
    /* Wait for "ack" (5 s at most; before perf opened its end, read says EOF). */
    uint64_t deadline = now_ns() + 5000000000ull;
    char buf[64];
    while (now_ns() < deadline) {
        struct pollfd p = { .fd = perf_ack, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t n = read(perf_ack, buf, sizeof buf);
        if (n > 0) return;
        if (n == 0) sleep_s(0.01);
    }
    fprintf(stderr, "loadgen: no ack from perf for %s", cmd);
}

/* Opens the write end of a FIFO, waiting up to 5 s for its reader. */
static int open_fifo_writer(const char *path)
{
    for (int i = 0; i < 500; i++) {
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            return fd;
        }
        if (errno != ENXIO) break;
        sleep_s(0.01);
    }
    return -1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen --port P [--host 127.0.0.1] [--conns N=1] [--size S=64]\n"
            "               [--secs D=3] [--warmup W=0.5] [--threads T=1] [--server-pid PID]\n"
            "               [--perf-ctl CTL_FIFO[,ACK_FIFO]]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 0, server_pid = 0;
    unsigned nconns = 1, nthreads = 1;
    double secs = 3, warmup = 0.5;
    const char *perf_fifos = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage();
        if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--conns")) nconns = (unsigned)atoi(v);
        else if (!strcmp(a, "--size")) msg_size = (size_t)atol(v);
        else if (!strcmp(a, "--secs")) secs = atof(v);
        else if (!strcmp(a, "--warmup")) warmup = atof(v);
        else if (!strcmp(a, "--threads")) nthreads = (unsigned)atoi(v);
        else if (!strcmp(a, "--server-pid")) server_pid = atoi(v);
        else if (!strcmp(a, "--perf-ctl")) perf_fifos = v;
        else usage();
        i++;
    }
    if (port <= 0 || port > 65535 || nconns == 0 || msg_size == 0 || secs <= 0 || nthreads == 0) usage();
    if (nthreads > nconns) nthreads = nconns;

    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (perf_fifos) {
        char ctl[512], *comma;
        snprintf(ctl, sizeof ctl, "%s", perf_fifos);
        comma = strchr(ctl, ',');
        if (comma) *comma = 0;
        perf_ctl = open_fifo_writer(ctl);
        if (perf_ctl < 0) die("open perf control fifo (is perf running?)");
        if (comma && (perf_ack = open(comma + 1, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) die("open perf ack fifo");
    }

    pattern = malloc(msg_size + 256);
    if (!pattern) die("malloc");
    for (size_t i = 0; i < msg_size + 256; i++) pattern[i] = (uint8_t)(i * 131u + (i >> 8));

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "loadgen: bad host %s\n", host); return 2; }

    worker *ws = calloc(nthreads, sizeof *ws);
    conn *cs = calloc(nconns, sizeof *cs);
    uint8_t *rxmem = malloc((size_t)nconns * msg_size);
    if (!ws || !cs || !rxmem) die("calloc");
    for (unsigned t = 0; t < nthreads; t++) {
        ws[t].ep = epoll_create1(EPOLL_CLOEXEC);
        if (ws[t].ep < 0) die("epoll_create1");
        ws[t].conns = calloc(nconns / nthreads + 1, sizeof(conn *));
    }

    /* Connect everything first (blocking connect; the kernel completes the
     * handshake into the server's backlog even before it accepts). */
    for (unsigned i = 0; i < nconns; i++) {
        conn *c = &cs[i];
        c->id = i;
        c->rx = rxmem + (size_t)i * msg_size;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0) die("socket (is RLIMIT_NOFILE high enough?)");
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int tries = 0;
        while (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            if (errno == EINTR) continue;
            if ((errno == ECONNREFUSED || errno == EAGAIN) && ++tries < 50) {
                /* The listener may still be coming up, or its backlog full. */
                close(c->fd);
                c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                sleep_s(0.02);
                continue;
            }
            fprintf(stderr, "loadgen: connect %s:%d (connection %u): %s\n", host, port, i, strerror(errno));
            return 2;
        }
        if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) die("fcntl");
        worker *w = &ws[i % nthreads];
        w->conns[w->nconns++] = c;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl ADD");
    }

    for (unsigned t = 0; t < nthreads; t++)
        if (pthread_create(&ws[t].th, NULL, worker_main, &ws[t]) != 0) die("pthread_create");

    sleep_s(warmup);
    perf_command("enable\n");
    long long srv0 = server_pid ? proc_cpu_ticks(server_pid) : -1;
    double self0 = self_cpu_s();
    uint64_t m0 = now_ns();
    atomic_store(&phase, PHASE_MEASURE);
    sleep_s(secs);
    atomic_store(&phase, PHASE_STOP);
    uint64_t m1 = now_ns();
    double self1 = self_cpu_s();
    long long srv1 = server_pid ? proc_cpu_ticks(server_pid) : -1;
    perf_command("disable\n");

    histogram *all = calloc(1, sizeof *all);
    uint64_t msgs = 0, msgs_total = 0, errors = 0;
    for (unsigned t = 0; t < nthreads; t++) {
        pthread_join(ws[t].th, NULL);
        msgs += ws[t].msgs;
        msgs_total += ws[t].msgs_total;
        errors += ws[t].errors;
        for (unsigned i = 0; i < H_BUCKETS; i++) all->count[i] += ws[t].hist.count[i];
        all->n += ws[t].hist.n;
        if (ws[t].hist.max > all->max) all->max = ws[t].hist.max;
    }
    for (unsigned i = 0; i < nconns; i++)
        if (!cs[i].dead) close(cs[i].fd);

    double el = (double)(m1 - m0) / 1e9;
    printf("LOAD conns=%u size=%zu msgs=%llu secs=%.3f msgs_per_sec=%.0f p50_us=%.1f p99_us=%.1f errors=%llu"
           " p999_us=%.1f max_us=%.1f msgs_total=%llu loadgen_cpu_pct=%.0f",
           nconns, msg_size, (unsigned long long)msgs, el, (double)msgs / el,
           h_quantile(all, 0.50) / 1e3, h_quantile(all, 0.99) / 1e3, (unsigned long long)errors,
           h_quantile(all, 0.999) / 1e3, (double)all->max / 1e3, (unsigned long long)msgs_total, 100.0 * (self1 - self0) / el);
    if (srv0 >= 0 && srv1 >= 0) {
        double hz = (double)sysconf(_SC_CLK_TCK);
        double cpu_s = (double)(srv1 - srv0) / hz;
        printf(" server_cpu_ms=%.0f server_cpu_pct=%.0f server_cpu_us_per_msg=%.3f", cpu_s * 1e3,
               100.0 * cpu_s / el, msgs ? cpu_s * 1e6 / (double)msgs : 0.0);
    }
    printf("\n");
    fflush(stdout);
    return errors ? 1 : 0;
}
