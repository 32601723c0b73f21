/* Helpers for the file tests: a temporary directory removed afterwards,
 * paths in it, a runtime of the suite's flavour, awaiting one future with
 * block_on, a future that polls another once and then drops it, and the
 * descriptor count checked at the end of every test. */
#ifndef WEFT_TEST_FS_SUPPORT_H
#define WEFT_TEST_FS_SUPPORT_H

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "net_support.h"
#include "fs/fs.h"

typedef struct fs_env {
    char dir[64];
    int fds;
    weft_runtime *rt;
} fs_env;

static fs_env g;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

static inline __attribute__((unused)) void rm_rf(const char *path) {
    nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

/* The temporary directory under /tmp (a disk file system, where reads of
 * cached pages can be made without blocking) and the runtime. */
static inline __attribute__((unused)) void env_setup(void) {
    g.fds = fd_count();
    strcpy(g.dir, "/tmp/weft-fs-XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    g.rt = rt_new();
}

/* Destroys the runtime (every pool thread is joined), removes the
 * directory, and checks that no descriptor was left open. */
static inline __attribute__((unused)) void env_teardown(void) {
    weft_runtime_destroy(g.rt);
    g.rt = NULL;
    rm_rf(g.dir);
    assert_int_equal(fd_count_settled(g.fds), g.fds);
}

/* `name` inside the temporary directory (8 rotating buffers). */
static inline __attribute__((unused)) const char *P(const char *name) {
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ & 7];
    snprintf(b, 256, "%s/%s", g.dir, name);
    return b;
}

/* Runs one future to completion on the runtime (block_on). */
#define AWAIT(fut) assert_int_equal(weft_block_on(g.rt, (fut)), 0)

/* Creates `path` with `len` bytes of pattern(id, i), with plain system calls. */
static inline __attribute__((unused)) void make_file(const char *path, size_t len, uint32_t id) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    unsigned char buf[65536];
    for (size_t done = 0; done < len;) {
        size_t n = len - done < sizeof buf ? len - done : sizeof buf;
        for (size_t i = 0; i < n; i++) buf[i] = pattern(id, done + i);
        assert_int_equal(write(fd, buf, n), (ssize_t)n);
        done += n;
    }
    close(fd);
}

static inline __attribute__((unused)) bool check_pattern(const unsigned char *p, size_t len,
                                                         uint32_t id, uint64_t from) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern(id, from + i)) return false;
    return true;
}

/* The size of `path` by stat(2), or -1. */
static inline __attribute__((unused)) long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Whether RWF_NOWAIT reads work on the temporary directory's file system
 * (the inline path the tests count on). */
static inline __attribute__((unused)) bool nowait_supported(void) {
    const char *p = P(".nowait-probe");
    make_file(p, 16, 0);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    char b[16];
    struct iovec v = {b, sizeof b};
    ssize_t n = preadv2(fd, &v, 1, 0, RWF_NOWAIT);
    close(fd);
    unlink(p);
    return n == 16;
}

/* Polls `inner` once; if it is pending, drops it (cancellation mid-flight).
 * Output: `was_pending`. */
typedef struct poll_once {
    weft_future base;
    weft_future *inner;
    bool was_pending;
} poll_once;

static weft_poll poll_once_poll(weft_future *f, weft_context *cx) {
    poll_once *p = (poll_once *)f;
    if (weft_future_poll(p->inner, cx) == WEFT_PENDING) {
        weft_future_drop(p->inner);
        p->was_pending = true;
    }
    return WEFT_READY;
}
static const weft_future_vtable poll_once_vtable = {poll_once_poll, NULL, "poll_once"};

static inline __attribute__((unused)) weft_future *poll_once_init(poll_once *p, weft_future *inner) {
    weft_future_init(&p->base, &poll_once_vtable);
    p->inner = inner;
    p->was_pending = false;
    return &p->base;
}

static inline __attribute__((unused)) uint64_t pool_trips(void) {
    return atomic_load(&weft__fs_submitted);
}

#endif
