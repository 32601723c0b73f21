/* Files: cancellation. Every future dropped mid-flight (its operation
 * running on a pool thread) leaks neither a descriptor nor memory, and the
 * operation's result is released when it ends: a dropped open closes the
 * file it opened, a dropped read_dir closes its directory. FIFOs make an
 * operation wait on its pool thread for as long as the test wants. A storm
 * of random operations under random timeouts checks every drop point.
 * weft-test: threaded  weft-test: timeout=300 */
#include <dirent.h>
#include <sys/syscall.h>

#include "fs_support.h"

/* Runs `inner` for one poll on the runtime, then drops it if pending.
 * Returns whether it was pending (in flight) when dropped. */
static bool poll_then_drop(weft_future *inner) {
    poll_once p;
    AWAIT(poll_once_init(&p, inner));
    return p.was_pending;
}

/* Opens the write end of a FIFO (blocks until a reader opens it) and
 * closes it: the reader's open returns, and its reads see the end. */
static void *fifo_writer(void *path) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    return NULL;
}

/* ---- a drop while the open waits on the pool -------------------------------------- */

/* The open of a FIFO for reading waits (on its pool thread) for a writer:
 * the future is certainly in flight when dropped. When the writer comes,
 * the open completes on the pool thread and the descriptor it opened is
 * closed there, since nobody takes it. */
static void test_dropped_open_closes_the_file(void **state) {
    (void)state;
    env_setup();
    assert_int_equal(mkfifo(P("fifo1"), 0600), 0);
    assert_int_equal(mkfifo(P("fifo2"), 0600), 0);
    int before = fd_count();
    weft_file_open o;
    assert_true(poll_then_drop(weft_file_open_init(&o, P("fifo1"), NULL)));
    weft_fs_read r;
    assert_true(poll_then_drop(weft_fs_read_init(&r, P("fifo2"))));
    /* A pool thread sits (or is about to sit) in open(2) on each FIFO; a
     * writer on each lets it go (each writer waits for its reader). */
    pthread_t w1, w2;
    pthread_create(&w1, NULL, fifo_writer, (void *)P("fifo1"));
    pthread_create(&w2, NULL, fifo_writer, (void *)P("fifo2"));
    pthread_join(w1, NULL);
    pthread_join(w2, NULL);
    /* Everything the operations opened is closed when they end. */
    assert_int_equal(fd_count_settled(before), before);
    env_teardown();
}

/* A read at the cursor of a FIFO waits on the pool for data; dropped, its
 * fill lands in the file's buffer later, and the next read gets it. */
static void test_dropped_read_loses_nothing(void **state) {
    (void)state;
    env_setup();
    assert_int_equal(mkfifo(P("fifo"), 0600), 0);
    int wfd = open(P("fifo"), O_RDWR | O_CLOEXEC); /* keeps the FIFO open both ways */
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("fifo"), NULL));
    assert_int_equal(o.result, 0);
    weft_file f = o.file;
    char buf[16];
    weft_read rd;
    assert_true(poll_then_drop(weft_read_init(&rd, &f.stream, buf, sizeof buf)));
    assert_int_equal(write(wfd, "late", 4), 4);
    AWAIT(weft_read_init(&rd, &f.stream, buf, sizeof buf));
    assert_int_equal(rd.result, 4);
    assert_memory_equal(buf, "late", 4);
    /* Dropped again, then the file closed while the fill still waits:
     * the descriptor is closed when the fill ends. */
    int before_close = fd_count();
    assert_true(poll_then_drop(weft_read_init(&rd, &f.stream, buf, sizeof buf)));
    weft_file_close(&f);
    assert_int_equal(fd_count(), before_close); /* still open: the fill uses it */
    assert_int_equal(write(wfd, "x", 1), 1);
    assert_int_equal(fd_count_settled(before_close - 1), before_close - 1);
    close(wfd);
    env_teardown();
}

/* into_fd while a write waits on the pool (a full FIFO) is -EBUSY; after
 * the reader drains it and a flush, the descriptor comes back. */
static void test_into_fd_busy_until_flushed(void **state) {
    (void)state;
    env_setup();
    assert_int_equal(mkfifo(P("fifo"), 0600), 0);
    int rfd = open(P("fifo"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    weft_open_options wo = {.write = true};
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("fifo"), &wo));
    assert_int_equal(o.result, 0);
    weft_file f = o.file;
    enum { BIG = 1 << 20 };
    unsigned char *big = malloc(BIG);
    memset(big, 'q', BIG);
    weft_write w;
    AWAIT(weft_write_init(&w, &f.stream, big, BIG));
    assert_int_equal(w.result, BIG); /* accepted; the pipe holds 64 KiB */
    assert_int_equal(weft_file_into_fd(&f), -EBUSY);
    size_t got = 0;
    while (got < BIG) {
        ssize_t n = read(rfd, big, BIG);
        if (n > 0) got += (size_t)n;
        else usleep(1000);
    }
    weft_flush fl;
    AWAIT(weft_flush_init(&fl, &f.stream));
    assert_int_equal(fl.result, 0);
    int fd = weft_file_into_fd(&f);
    assert_true(fd >= 0);
    close(fd);
    close(rfd);
    free(big);
    env_teardown();
}

/* A directory closed (or its open dropped) while its batches are being
 * read on the pool: the descriptor is closed when the trip ends, and the
 * batches are freed. */
static void test_dropped_read_dir_releases_the_directory(void **state) {
    (void)state;
    env_setup();
    assert_int_equal(mkdir(P("big"), 0755), 0);
    for (int i = 0; i < 20000; i++) {
        char n[64];
        snprintf(n, sizeof n, "big/a-rather-long-entry-name-%05d", i);
        make_file(P(n), 0, 0);
    }
    int before = fd_count();
    for (int round = 0; round < 20; round++) {
        weft_read_dir_open o;
        AWAIT(weft_read_dir_open_init(&o, P("big")));
        assert_int_equal(o.result, 0);
        weft_read_dir d = o.dir;
        weft_read_dir_next nx;
        if (round % 2) { /* one entry first, or none */
            AWAIT(weft_read_dir_next_init(&nx, &d));
            assert_int_equal(nx.result, 1);
        }
        if (round % 4 == 3) /* a next dropped while it waits, then the close */
            (void)poll_then_drop(weft_read_dir_next_init(&nx, &d));
        weft_read_dir_close(&d);
        weft_read_dir_open od; /* an open dropped after its first poll */
        if (poll_then_drop(weft_read_dir_open_init(&od, P("big")))) continue;
        if (od.result == 0) weft_read_dir_close(&od.dir);
    }
    assert_int_equal(fd_count_settled(before), before);
    env_teardown();
}

/* ---- every future, dropped after its first poll, everything on the pool --------------- */

typedef union any_fut {
    weft_future base;
    weft_file_open open;
    weft_file_read_at read_at;
    weft_file_write_at write_at;
    weft_file_read_to_end read_to_end;
    weft_file_seek seek;
    weft_file_sync sync;
    weft_file_set_len set_len;
    weft_file_metadata metadata;
    weft_fs_read read;
    weft_fs_write write;
    weft_fs_metadata stat;
    weft_fs_create_dir mkdir;
    weft_fs_remove remove;
    weft_fs_rename rename;
    weft_fs_link link;
    weft_fs_set_permissions chmod;
    weft_fs_copy copy;
    weft_fs_canonicalize canon;
    weft_fs_read_link readlink;
    weft_read_dir_open opendir;
    weft_read_dir_next next;
    weft_read rd;
    weft_write wr;
    weft_flush flush;
} any_fut;

enum { KINDS = 27 };

/* Paths that stay valid while any future uses them (P's buffers rotate
 * and are not for other threads). */
static char p_data[256], p_link[256], p_dir[256], p_deep[256], p_deep_abc[256];

static void fixed_paths(void) {
    snprintf(p_data, sizeof p_data, "%s/data", g.dir);
    snprintf(p_link, sizeof p_link, "%s/link", g.dir);
    snprintf(p_dir, sizeof p_dir, "%s/dir", g.dir);
    snprintf(p_deep, sizeof p_deep, "%s/deep", g.dir);
    snprintf(p_deep_abc, sizeof p_deep_abc, "%s/deep/a/b/c", g.dir);
}

/* Initialises future number `k` on the test's files; `n1` and `n2` (256
 * bytes each, the caller's, valid while the future lives) get the paths of
 * the files this one may create. */
static weft_future *init_kind(any_fut *u, int k, weft_file *f, weft_read_dir *d, void *buf,
                              size_t len, int i, char *n1, char *n2) {
    snprintf(n1, 256, "%s/tmp-%d-%d", g.dir, k, i);
    snprintf(n2, 256, "%s/tmp2-%d-%d", g.dir, k, i);
    const char *p1 = n1, *p2 = n2;
    switch (k) {
    case 0: return weft_file_open_init(&u->open, p_data, NULL);
    case 1: return weft_file_create_init(&u->open, p1);
    case 2: return weft_file_read_at_init(&u->read_at, f, buf, len, 1000);
    case 3: return weft_file_write_at_init(&u->write_at, f, buf, 100, 5000);
    case 4: return weft_file_read_to_end_init(&u->read_to_end, f);
    case 5: return weft_file_seek_init(&u->seek, f, 10, SEEK_END);
    case 6: return weft_file_sync_all_init(&u->sync, f);
    case 7: return weft_file_set_len_init(&u->set_len, f, 300000);
    case 8: return weft_file_metadata_init(&u->metadata, f);
    case 9: return weft_fs_read_init(&u->read, p_data);
    case 10: return weft_fs_write_init(&u->write, p1, buf, len);
    case 11: return weft_fs_metadata_init(&u->stat, p_data);
    case 12: return weft_fs_create_dir_init(&u->mkdir, p1, 0);
    case 13: return weft_fs_create_dir_all_init(&u->mkdir, p_deep_abc, 0);
    case 14: return weft_fs_remove_file_init(&u->remove, p1);
    case 15: return weft_fs_remove_dir_all_init(&u->remove, p_deep);
    case 16: return weft_fs_rename_init(&u->rename, p1, p2);
    case 17: return weft_fs_symlink_init(&u->link, "data", p1);
    case 18: return weft_fs_set_permissions_init(&u->chmod, p_data, 0644);
    case 19: return weft_fs_copy_init(&u->copy, p_data, p1);
    case 20: return weft_fs_canonicalize_init(&u->canon, p_data);
    case 21: return weft_fs_read_link_init(&u->readlink, p_link);
    case 22: return weft_read_dir_open_init(&u->opendir, p_dir);
    case 23: return weft_read_dir_next_init(&u->next, d);
    case 24: return weft_read_init(&u->rd, &f->stream, buf, 10);
    case 25: return weft_write_init(&u->wr, &f->stream, buf, 10);
    default: return weft_flush_init(&u->flush, &f->stream);
    }
}

/* Releases what a completed future of kind `k` handed over. */
static void take_output(any_fut *u, int k) {
    if (!weft_future_is_ready(&u->base)) return;
    switch (k) {
    case 0:
    case 1:
        if (u->open.result == 0) weft_file_close(&u->open.file);
        break;
    case 4: free(u->read_to_end.data); break;
    case 9: free(u->read.data); break;
    case 20: free(u->canon.path); break;
    case 21: free(u->readlink.target); break;
    case 22:
        if (u->opendir.result == 0) weft_read_dir_close(&u->opendir.dir);
        break;
    default: break;
    }
}

static void make_tree(void) {
    fixed_paths();
    make_file(P("data"), 256 * 1024, 3);
    assert_int_equal(symlink("data", P("link")), 0);
    assert_int_equal(mkdir(P("dir"), 0755), 0);
    for (int i = 0; i < 3000; i++) {
        char n[64];
        snprintf(n, sizeof n, "dir/e%d", i);
        int fd = open(P(n), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        close(fd);
    }
}

static void test_drop_every_future_on_the_pool(void **state) {
    (void)state;
    weft__fs_inline_disabled = true; /* every operation is a pool trip */
    env_setup();
    make_tree();
    weft_open_options rw = {.read = true, .write = true};
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("data"), &rw));
    weft_file f = o.file;
    weft_read_dir_open od;
    AWAIT(weft_read_dir_open_init(&od, P("dir")));
    weft_read_dir d = od.dir;
    static unsigned char buf[65536];
    int pending[KINDS] = {0};
    for (int i = 0; i < 40; i++) {
        for (int k = 0; k < KINDS; k++) {
            any_fut u;
            poll_once p;
            char n1[256], n2[256];
            AWAIT(poll_once_init(&p, init_kind(&u, k, &f, &d, buf, sizeof buf, i, n1, n2)));
            if (p.was_pending) pending[k]++;
            else take_output(&u, k);
        }
    }
    /* Each kind was caught in flight at least once (the first poll only
     * submits: the pool thread would have to finish before it returns). */
    for (int k = 0; k < KINDS; k++) {
        if (k == 26) continue; /* flush has nothing to wait for most of the time */
        if (!pending[k]) print_message("kind %d never pending\n", k);
    }
    weft_flush fl;
    AWAIT(weft_flush_init(&fl, &f.stream));
    weft_file_close(&f);
    weft_read_dir_close(&d);
    env_teardown(); /* no descriptor left; ASan: no memory left */
}

/* ---- a queued operation cancelled by the runtime's destruction ---------------------- */

typedef struct opener {
    WEFT_CORO_FIELDS;
    const char *path;
    weft_file_open o;
    weft_fs_metadata m;
    int result;
} opener;

WEFT_ASYNC(opener, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_file_open_init(&self->o, self->path, NULL));
    if (self->o.result == 0) weft_file_close(&self->o.file);
    WEFT_AWAIT(weft_fs_metadata_init(&self->m, self->path));
    WEFT_END();
}

/* True if a thread of this process is blocked in openat(2) (its
 * /proc/self/task/<tid>/syscall starts with the system call's number). */
static bool thread_in_openat(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[300], buf[32] = {0};
        snprintf(path, sizeof path, "/proc/self/task/%s/syscall", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(buf, sizeof buf, f)) found = atol(buf) == SYS_openat;
        fclose(f);
    }
    closedir(d);
    return found;
}


/* One pool thread, held by a FIFO open; a second operation queues behind
 * it; the runtime is destroyed with a time limit (the first cannot end):
 * the queued one is cancelled (-ESHUTDOWN for nobody: its task is gone)
 * and freed; the held one ends when a writer comes, and closes what it
 * opened. */
static void test_runtime_destroyed_with_operations_queued(void **state) {
    (void)state;
    weft__fs_inline_disabled = true;
    int fds = fd_count();
    strcpy(g.dir, "/tmp/weft-fs-XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    assert_int_equal(mkfifo(P("fifo"), 0600), 0);
    weft_runtime_options opts = test_runtime_options();
    opts.max_blocking = 1;
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, &opts), 0);
    opener a, b;
    opener_start(&a);
    a.path = P("fifo");
    opener_start(&b);
    b.path = P("fifo");
    uint64_t trips = pool_trips();
    WEFT_SPAWN_DETACHED(rt, &a);
    WEFT_SPAWN_DETACHED(rt, &b);
    /* Until both opens are submitted: one runs, the other is queued. */
    for (int i = 0; i < 10000 && pool_trips() - trips < 2; i++) {
        weft_sleep sl;
        assert_int_equal(weft_block_on(rt, weft_sleep_init(&sl, 1)), 0);
    }
    assert_int_equal(pool_trips() - trips, 2);
    /* Submitted is not started: wait until a pool thread sits in open(2)
     * (a thread still starting would find both queued, and destroy would
     * cancel both). */
    for (int i = 0; i < 10000 && !thread_in_openat(); i++) usleep(1000);
    assert_true(thread_in_openat());
    assert_int_equal(weft_runtime_destroy_timeout(rt, 50), -ETIMEDOUT);
    pthread_t w;
    pthread_create(&w, NULL, fifo_writer, (void *)P("fifo"));
    pthread_join(w, NULL);
    rm_rf(g.dir);
    assert_int_equal(fd_count_settled(fds), fds);
}

/* ---- the storm: random operations under random timeouts ----------------------------- */

typedef struct stormer {
    WEFT_CORO_FIELDS;
    weft_file *f;
    weft_read_dir *d;
    uint64_t seed;
    int i, k;
    any_fut u;
    weft_timeout t;
    unsigned char buf[8192];
    char n1[256], n2[256];
    atomic_int *timeouts;
} stormer;

static uint64_t next_rand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

WEFT_ASYNC(stormer, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 300; self->i++) {
        self->k = (int)(next_rand(&self->seed) % KINDS);
        /* A stream and a directory are read (written, flushed) by one task
         * at a time: those stay out of the storm. */
        if (self->k >= 23) self->k = 11;
        WEFT_AWAIT(weft_timeout_init(&self->t,
                                     init_kind(&self->u, self->k, self->f, self->d, self->buf,
                                               sizeof self->buf, self->i, self->n1, self->n2),
                                     next_rand(&self->seed) % 3));
        if (self->t.result == -ETIMEDOUT) atomic_fetch_add(self->timeouts, 1);
        else take_output(&self->u, self->k);
    }
    WEFT_END();
}

typedef struct storm {
    WEFT_CORO_FIELDS;
    stormer s[8];
    weft_join_handle h[8];
    int i;
} storm;

WEFT_ASYNC(storm, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 8; self->i++) self->h[self->i] = WEFT_SPAWN(cx->runtime, &self->s[self->i], i, NULL);
    for (self->i = 0; self->i < 8; self->i++) WEFT_AWAIT(&self->h[self->i].base);
    WEFT_END();
}

static void storm_run(void) {
    env_setup();
    make_tree();
    weft_open_options rw = {.read = true, .write = true};
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("data"), &rw));
    weft_file f = o.file;
    weft_read_dir_open od;
    AWAIT(weft_read_dir_open_init(&od, P("dir")));
    weft_read_dir d = od.dir;
    static storm st;
    memset(&st, 0, sizeof st);
    storm_start(&st);
    atomic_int timeouts = 0;
    for (int i = 0; i < 8; i++) {
        stormer_start(&st.s[i]);
        st.s[i].f = &f;
        st.s[i].d = &d;
        st.s[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        st.s[i].timeouts = &timeouts;
    }
    AWAIT(&st.base);
    print_message("storm: %d of 2400 operations timed out\n", atomic_load(&timeouts));
    weft_flush fl;
    AWAIT(weft_flush_init(&fl, &f.stream));
    weft_file_close(&f);
    weft_read_dir_close(&d);
    env_teardown();
}

static void test_storm(void **state) {
    (void)state;
    storm_run();
}

static void test_storm_pool_only(void **state) {
    (void)state;
    weft__fs_inline_disabled = true;
    storm_run();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropped_open_closes_the_file),
        cmocka_unit_test(test_dropped_read_loses_nothing),
        cmocka_unit_test(test_into_fd_busy_until_flushed),
        cmocka_unit_test(test_dropped_read_dir_releases_the_directory),
        cmocka_unit_test(test_drop_every_future_on_the_pool),
        cmocka_unit_test(test_runtime_destroyed_with_operations_queued),
        cmocka_unit_test(test_storm),
        cmocka_unit_test(test_storm_pool_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
