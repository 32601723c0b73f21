/*
 * loadgen_tls: closed-loop TLS echo load generator for bench/tls/run.sh.
 * Plain OpenSSL and epoll (it does not use weft, so it measures weft and
 * its peer alike).
 *
 *   loadgen_tls --port P --conns N --size S --secs T [--warmup W]
 *               [--threads K] [--server-pid PID] [--cafile CA]
 *               [--suite TLS_AES_128_GCM_SHA256]
 *
 * Opens N TLS 1.3 connections to 127.0.0.1:P (verifying the server as
 * "localhost" against CA, offering only the one cipher suite), then each
 * keeps one message of S bytes in flight: write it, read S bytes back,
 * check every byte, repeat. After W seconds of warm-up it counts T
 * seconds and prints one line:
 *
 *   LOAD conns=N size=S msgs_per_sec=... mb_per_sec=... p50_us=... p99_us=...
 *        server_cpu_pct=... errors=0 suite=...
 *
 * (mb_per_sec: payload echoed, counted once.) The server's CPU time is read
 * from /proc/PID/stat at the edges of the measured interval. Exit status 1
 * when a connection failed or an echo was wrong.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static int g_port, g_conns = 1, g_size = 64, g_threads = 1;
static double g_secs = 3, g_warmup = 0.5;
static const char *g_ca, *g_suite = "TLS_AES_128_GCM_SHA256";
static int g_server_pid;
static SSL_CTX *g_ctx;
static atomic_int g_measuring, g_stop, g_errors;

#define HIST_US 200000
typedef struct worker {
    pthread_t th;
    int first, count;
    uint64_t msgs;
    uint32_t *hist; /* latency in microseconds, measured messages only */
} worker;

typedef struct conn {
    SSL *ssl;
    int fd;
    unsigned char *out, *in;
    size_t off;
    bool reading;
    uint32_t events;
    uint64_t t0, seq;
} conn;

static conn *g_c;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen_tls: %s: %s\n", what, strerror(errno));
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void conn_open(conn *c, uint64_t id) {
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) die("socket");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->ssl = SSL_new(g_ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    SSL_set1_host(c->ssl, "localhost");
    if (SSL_connect(c->ssl) != 1) die("TLS handshake");
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->out = malloc((size_t)g_size);
    c->in = malloc((size_t)g_size);
    for (int i = 0; i < g_size; i++) c->out[i] = (unsigned char)(id * 131 + (uint64_t)i * 7);
}

/* Advances one connection as far as it goes without waiting; returns the
 * epoll events it now waits for. */
static uint32_t step(conn *c, worker *w) {
    for (;;) {
        if (g_stop) return EPOLLIN;
        size_t n;
        int r;
        if (!c->reading) {
            if (c->off == 0) {
                c->seq++;
                memcpy(c->out, &c->seq, g_size >= 8 ? 8 : (size_t)g_size);
                c->t0 = now_ns();
            }
            r = SSL_write_ex(c->ssl, c->out + c->off, (size_t)g_size - c->off, &n);
            if (r == 1) {
                c->off += n;
                if (c->off == (size_t)g_size) {
                    c->off = 0;
                    c->reading = true;
                }
                continue;
            }
        } else {
            r = SSL_read_ex(c->ssl, c->in + c->off, (size_t)g_size - c->off, &n);
            if (r == 1) {
                c->off += n;
                if (c->off == (size_t)g_size) {
                    if (memcmp(c->in, c->out, (size_t)g_size) != 0) {
                        fprintf(stderr, "loadgen_tls: wrong echo\n");
                        atomic_fetch_add(&g_errors, 1);
                        exit(1);
                    }
                    if (g_measuring) {
                        uint64_t us = (now_ns() - c->t0) / 1000;
                        w->hist[us < HIST_US ? us : HIST_US - 1]++;
                        w->msgs++;
                    }
                    c->off = 0;
                    c->reading = false;
                }
                continue;
            }
        }
        switch (SSL_get_error(c->ssl, r)) {
        case SSL_ERROR_WANT_READ: return EPOLLIN;
        case SSL_ERROR_WANT_WRITE: return EPOLLOUT;
        default:
            fprintf(stderr, "loadgen_tls: connection failed\n");
            ERR_print_errors_fp(stderr);
            atomic_fetch_add(&g_errors, 1);
            exit(1);
        }
    }
}

static void *run(void *arg) {
    worker *w = arg;
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int i = w->first; i < w->first + w->count; i++) {
        conn *c = &g_c[i];
        c->events = step(c, w);
        struct epoll_event ev = {.events = c->events, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
    }
    struct epoll_event evs[256];
    while (!g_stop) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            uint32_t want = step(c, w);
            if (want != c->events) {
                c->events = want;
                struct epoll_event ev = {.events = want, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
        }
    }
    close(ep);
    return NULL;
}

static long server_cpu_ticks(void) {
    if (!g_server_pid) return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", g_server_pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    long utime = 0, stime = 0;
    /* after ") ": state(3) ... utime is field 14, stime 15 */
    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime, &stime);
    return utime + stime;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--port")) g_port = atoi(v);
        else if (!strcmp(a, "--conns")) g_conns = atoi(v);
        else if (!strcmp(a, "--size")) g_size = atoi(v);
        else if (!strcmp(a, "--secs")) g_secs = atof(v);
        else if (!strcmp(a, "--warmup")) g_warmup = atof(v);
        else if (!strcmp(a, "--threads")) g_threads = atoi(v);
        else if (!strcmp(a, "--server-pid")) g_server_pid = atoi(v);
        else if (!strcmp(a, "--cafile")) g_ca = v;
        else if (!strcmp(a, "--suite")) g_suite = v;
        else {
            fprintf(stderr, "loadgen_tls: unknown option %s\n", a);
            return 2;
        }
    }
    if (!g_port || g_conns < 1 || g_size < 1 || g_threads < 1) {
        fprintf(stderr, "usage: loadgen_tls --port P --conns N --size S --secs T [--warmup W] "
                        "[--threads K] [--server-pid PID] [--cafile CA] [--suite SUITE]\n");
        return 2;
    }
    if (g_threads > g_conns) g_threads = g_conns;
    g_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(g_ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(g_ctx, g_suite);
    SSL_CTX_set_mode(g_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (g_ca) {
        if (SSL_CTX_load_verify_locations(g_ctx, g_ca, NULL) != 1) die("cafile");
        SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, NULL);
    }
    g_c = calloc((size_t)g_conns, sizeof *g_c);
    for (int i = 0; i < g_conns; i++) conn_open(&g_c[i], (uint64_t)i);
    const char *suite = SSL_get_cipher_name(g_c[0].ssl);

    worker *ws = calloc((size_t)g_threads, sizeof *ws);
    int per = g_conns / g_threads, extra = g_conns % g_threads, at = 0;
    for (int t = 0; t < g_threads; t++) {
        ws[t].first = at;
        ws[t].count = per + (t < extra);
        at += ws[t].count;
        ws[t].hist = calloc(HIST_US, sizeof *ws[t].hist);
        pthread_create(&ws[t].th, NULL, run, &ws[t]);
    }
    sleep_s(g_warmup);
    long cpu0 = server_cpu_ticks();
    uint64_t t0 = now_ns();
    atomic_store(&g_measuring, 1);
    sleep_s(g_secs);
    atomic_store(&g_measuring, 0);
    uint64_t t1 = now_ns();
    long cpu1 = server_cpu_ticks();
    atomic_store(&g_stop, 1);
    uint64_t msgs = 0;
    static uint64_t hist[HIST_US];
    for (int t = 0; t < g_threads; t++) {
        pthread_join(ws[t].th, NULL);
        msgs += ws[t].msgs;
        for (int i = 0; i < HIST_US; i++) hist[i] += ws[t].hist[i];
    }
    double secs = (double)(t1 - t0) / 1e9;
    uint64_t p50 = 0, p99 = 0, seen = 0;
    for (int i = 0; i < HIST_US; i++) {
        seen += hist[i];
        if (!p50 && seen * 2 >= msgs) p50 = (uint64_t)i;
        if (!p99 && seen * 100 >= msgs * 99) {
            p99 = (uint64_t)i;
            break;
        }
    }
    double cpu_pct = g_server_pid ? (double)(cpu1 - cpu0) / (double)sysconf(_SC_CLK_TCK) / secs * 100 : 0;
    printf("LOAD conns=%d size=%d msgs_per_sec=%.0f mb_per_sec=%.1f p50_us=%llu p99_us=%llu "
           "server_cpu_pct=%.0f errors=%d suite=%s\n",
           g_conns, g_size, (double)msgs / secs, (double)msgs * g_size / secs / 1e6,
           (unsigned long long)p50, (unsigned long long)p99, cpu_pct, atomic_load(&g_errors), suite);
    fflush(stdout);
    _exit(msgs > 0 && !g_errors ? 0 : 1); /* connections close with the process */
}
