/* Files under failing allocations and a pool that cannot start a thread:
 * every allocation of a scenario is made to fail in turn (the k-th, for
 * k = 0, 1, ... until the scenario makes no more), inline and with
 * everything on the pool. Each operation then either succeeds or reports
 * -ENOMEM (or -WEFT_ENOTHREAD) to its caller; nothing leaks (LeakSanitizer
 * in the ASan build), no descriptor stays open, nothing hangs.
 * weft-test: threaded  weft-test: timeout=300 */
#include "fault.h"
#include "fs_support.h"

/* Runs `fut` with block_on; a block_on that could not start (its own
 * allocation failed) drops the future and counts as -ENOMEM. */
static int run(weft_future *fut) {
    int rc = weft_block_on(g.rt, fut);
    if (rc != 0) {
        weft_future_drop(fut);
        return -ENOMEM;
    }
    return 0;
}

static bool oom(long long r) { return r == -ENOMEM || r == -WEFT_ENOTHREAD; }

/* A step's result must be `ok` or an allocation error: says which it was if not. */
#define OK_OR_OOM(r, ok)                                                                    \
    do {                                                                                    \
        long long r_ = (long long)(r);                                                      \
        if (!(ok) && !oom(r_)) fail_msg("%s:%d: %s = %lld (%s)", __FILE__, __LINE__, #r, r_,  \
                                        weft_strerror((int)r_));                            \
    } while (0)

/* Each scenario returns how many of its steps completed; a failed step
 * must have failed with an allocation error. */

static int scenario_read_whole(void) {
    weft_fs_read r;
    if (run(weft_fs_read_init(&r, P("data"))) || r.result < 0) {
        OK_OR_OOM(r.result, r.result == 0);
        return 0;
    }
    assert_int_equal(r.result, 100000);
    assert_true(check_pattern(r.data, 100000, 1, 0));
    free(r.data);
    weft_fs_metadata m;
    if (run(weft_fs_metadata_init(&m, P("data"))) || m.result) {
        OK_OR_OOM(m.result, m.result == 0);
        return 1;
    }
    assert_int_equal(m.meta.size, 100000);
    return 2;
}

static int scenario_file(void) {
    weft_open_options rw = {.read = true, .write = true};
    weft_file_open o;
    if (run(weft_file_open_init(&o, P("data"), &rw)) || o.result) {
        OK_OR_OOM(o.result, o.result == 0);
        return 0;
    }
    weft_file f = o.file;
    int steps = 1;
    unsigned char buf[512];
    weft_read rd;
    if (!run(weft_read_init(&rd, &f.stream, buf, sizeof buf)) && rd.result > 0) {
        assert_true(check_pattern(buf, (size_t)rd.result, 1, 0));
        steps++;
    } else {
        OK_OR_OOM(rd.result, rd.result == 0);
    }
    weft_write_all w;
    if (!run(weft_write_all_init(&w, &f.stream, "abc", 3)) && w.result == 0) steps++;
    else OK_OR_OOM(w.result, w.result == 0);
    weft_file_read_at ra;
    if (!run(weft_file_read_at_init(&ra, &f, buf, 100, 50000)) && ra.result == 100) {
        assert_true(check_pattern(buf, 100, 1, 50000));
        steps++;
    } else {
        OK_OR_OOM(ra.result, ra.result == 0);
    }
    weft_file_read_to_end re;
    if (!run(weft_file_read_to_end_init(&re, &f)) && re.result >= 0) {
        free(re.data);
        steps++;
    } else {
        OK_OR_OOM(re.result, re.result == 0);
    }
    weft_flush fl;
    if (!run(weft_flush_init(&fl, &f.stream))) OK_OR_OOM(fl.result, fl.result == 0);
    weft_file_close(&f);
    return steps;
}

static int scenario_dir(void) {
    weft_read_dir_open o;
    if (run(weft_read_dir_open_init(&o, P("dir"))) || o.result) {
        OK_OR_OOM(o.result, o.result == 0);
        return 0;
    }
    weft_read_dir d = o.dir;
    int n = 0;
    for (;;) {
        weft_read_dir_next nx;
        if (run(weft_read_dir_next_init(&nx, &d))) break;
        if (nx.result <= 0) {
            OK_OR_OOM(nx.result, nx.result == 0);
            break;
        }
        n++;
    }
    weft_read_dir_close(&d);
    assert_true(n <= 200);
    return 1 + n;
}

static int scenario_tree(void) {
    weft_fs_create_dir cd;
    if (run(weft_fs_create_dir_all_init(&cd, P("t/a/b/c"), 0)) || cd.result) {
        OK_OR_OOM(cd.result, cd.result == 0);
        return 0;
    }
    weft_fs_copy cp;
    if (run(weft_fs_copy_init(&cp, P("data"), P("t/a/copy"))) || cp.result < 0)
        OK_OR_OOM(cp.result, cp.result == 0);
    weft_fs_canonicalize cn;
    if (!run(weft_fs_canonicalize_init(&cn, P("t/a/b/../b"))) && cn.result == 0) free(cn.path);
    else OK_OR_OOM(cn.result, cn.result == 0);
    weft_fs_remove rm;
    if (run(weft_fs_remove_dir_all_init(&rm, P("t"))) || rm.result) {
        OK_OR_OOM(rm.result, rm.result == 0);
        rm_rf(P("t"));
        return 1;
    }
    return 2;
}

static void fail_each_allocation(int (*scenario)(void), bool pool_only) {
    weft__fs_inline_disabled = pool_only;
    env_setup();
    make_file(P("data"), 100000, 1);
    assert_int_equal(mkdir(P("dir"), 0755), 0);
    for (int i = 0; i < 200; i++) {
        char n[32];
        snprintf(n, sizeof n, "dir/e%d", i);
        make_file(P(n), 0, 0);
    }
    /* The count with nothing open, taken before the unharmed run: right
     * after it, a descriptor may still be on its way to close(2) on a pool
     * thread (a read_dir batch that was ending when the handle closed). */
    int fds = fd_count();
    int full = scenario(); /* unharmed, for the count of steps */
    int left = fd_count_settled(fds);
    if (left != fds) fail_msg("unharmed: %d descriptors open, %d before", left, fds);
    unsigned k;
    for (k = 0; k < 400; k++) {
        make_file(P("data"), 100000, 1); /* the file scenario writes into it */
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = k, .count = 1});
        int steps = scenario();
        unsigned failed = fault_failed(FAULT_ANY_ALLOC);
        fault_disarm(FAULT_ANY_ALLOC);
        left = fd_count_settled(fds);
        if (left != fds) fail_msg("k=%u (%u failed): %d descriptors open, %d before", k, failed, left, fds);
        if (!failed) {
            if (steps != full) fail_msg("k=%u: %d steps of %d with no failure", k, steps, full);
            break; /* past the last allocation: all done */
        }
    }
    print_message("%s: %u allocations failed in turn\n", pool_only ? "pool" : "inline", k);
    assert_true(k < 400);
    env_teardown();
}

static void test_alloc_read_whole(void **s) { (void)s; fail_each_allocation(scenario_read_whole, false); }
static void test_alloc_read_whole_pool(void **s) { (void)s; fail_each_allocation(scenario_read_whole, true); }
static void test_alloc_file(void **s) { (void)s; fail_each_allocation(scenario_file, false); }
static void test_alloc_file_pool(void **s) { (void)s; fail_each_allocation(scenario_file, true); }
static void test_alloc_dir(void **s) { (void)s; fail_each_allocation(scenario_dir, false); }
static void test_alloc_dir_pool(void **s) { (void)s; fail_each_allocation(scenario_dir, true); }
static void test_alloc_tree(void **s) { (void)s; fail_each_allocation(scenario_tree, true); }

/* ---- when the descriptor is closed ---------------------------------------------------- */

/* A point a thread is held at until the test lets it go: a fault hook, or
 * the wake of a waker (the pool thread ending an operation wakes it after
 * the file's state says the operation is over). Each wait gives up after
 * 10 s so that a broken library fails the test instead of hanging it. */
typedef struct hold {
    atomic_int reached, released;
} hold;

static void wait_flag(atomic_int *flag) {
    for (int i = 0; i < 10000 && !atomic_load(flag); i++) usleep(1000);
}

static void hold_here(void *arg) {
    hold *h = arg;
    atomic_store(&h->reached, 1);
    wait_flag(&h->released);
}

static weft_waker hold_clone(void *p);
static void hold_drop(void *p) { (void)p; }
static const weft_waker_vtable hold_waker_vtable = {hold_clone, hold_here, hold_here, hold_drop};
static weft_waker hold_clone(void *p) { return (weft_waker){&hold_waker_vtable, p}; }

/* A context on the test's runtime whose waker holds the waking thread at `h`. */
static weft_context hold_cx(hold *h) {
    weft_context cx = weft_context_make((weft_waker){&hold_waker_vtable, h});
    cx.runtime = g.rt;
    return cx;
}

static bool fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

/* After a flush, nothing is in flight: close closes the descriptor before
 * it returns, although the pool thread of the write-behind that just ended
 * has not let go of it yet (it is held in the flusher's wake-up). */
static void test_close_after_flush_closes_at_once(void **state) {
    (void)state;
    env_setup();
    make_file(P("data"), 0, 0);
    weft_open_options ap = {.append = true}; /* the write-behind uses write(2) */
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("data"), &ap));
    assert_int_equal(o.result, 0);
    int fd = weft_file_fd(&o.file);
    hold in_write = {0}, in_wake = {0};
    fault_arm(FAULT_WRITE, (fault_rule){.fd = FAULT_FD(fd), .count = 1, .hook = hold_here,
                                        .hook_arg = &in_write});
    weft_write_all w;
    AWAIT(weft_write_all_init(&w, &o.file.stream, "abc", 3));
    assert_int_equal(w.result, 0);
    wait_flag(&in_write.reached); /* the write-behind is in write(2) */
    assert_true(atomic_load(&in_write.reached));
    weft_flush fl;
    weft_context cx = hold_cx(&in_wake);
    weft_future *fut = weft_flush_init(&fl, &o.file.stream);
    assert_int_equal(weft_future_poll(fut, &cx), WEFT_PENDING);
    atomic_store(&in_write.released, 1);
    wait_flag(&in_wake.reached); /* the write-behind has ended: its thread wakes us */
    assert_true(atomic_load(&in_wake.reached));
    assert_int_equal(weft_future_poll(fut, &cx), WEFT_READY);
    assert_int_equal(fl.result, 0);
    weft_file_close(&o.file);
    bool open_after_close = fd_is_open(fd);
    atomic_store(&in_wake.released, 1);
    fault_disarm(FAULT_WRITE);
    assert_false(open_after_close);
    env_teardown();
}

/* Closed while a read is on the pool: the descriptor stays open for the
 * read, and is closed as soon as it ends, though the read's future (not
 * yet polled again) still holds the file. */
static void test_close_during_read_closes_when_it_ends(void **state) {
    (void)state;
    weft__fs_inline_disabled = true; /* the read goes to the pool */
    env_setup();
    make_file(P("data"), 1000, 1);
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("data"), NULL));
    assert_int_equal(o.result, 0);
    int fd = weft_file_fd(&o.file);
    hold in_pread = {0}, in_wake = {0};
    fault_arm(FAULT_PREAD, (fault_rule){.fd = FAULT_FD(fd), .count = 1, .hook = hold_here,
                                        .hook_arg = &in_pread});
    unsigned char buf[100];
    weft_file_read_at ra;
    weft_context cx = hold_cx(&in_wake);
    weft_future *fut = weft_file_read_at_init(&ra, &o.file, buf, sizeof buf, 500);
    assert_int_equal(weft_future_poll(fut, &cx), WEFT_PENDING);
    wait_flag(&in_pread.reached);
    assert_true(atomic_load(&in_pread.reached));
    weft_file_close(&o.file);
    assert_true(fd_is_open(fd)); /* the read in flight still uses it */
    atomic_store(&in_pread.released, 1);
    wait_flag(&in_wake.reached); /* the read has ended: its thread wakes us */
    assert_true(atomic_load(&in_wake.reached));
    bool open_after_read = fd_is_open(fd);
    atomic_store(&in_wake.released, 1);
    fault_disarm(FAULT_PREAD);
    assert_false(open_after_read);
    assert_int_equal(weft_future_poll(fut, &cx), WEFT_READY);
    assert_int_equal(ra.result, 100);
    assert_true(check_pattern(buf, 100, 1, 500));
    env_teardown();
    weft__fs_inline_disabled = false;
}

/* A runtime whose pool cannot start a thread: operations that need the
 * pool report -WEFT_ENOTHREAD; those that run inline still work; and the
 * pool works once threads can be started again. */
static void test_no_pool_thread(void **state) {
    (void)state;
    env_setup();
    make_file(P("data"), 1000, 1);
    fault_arm(FAULT_PTHREAD_CREATE, (fault_rule){.err = EAGAIN});
    weft_fs_create_dir cd;
    AWAIT(weft_fs_create_dir_init(&cd, P("d"), 0));
    assert_int_equal(cd.result, -WEFT_ENOTHREAD);
    weft_open_options wo = {.write = true};
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("data"), &wo));
    if (o.result == 0) { /* opened inline: its write needs the pool */
        weft_write w;
        AWAIT(weft_write_init(&w, &o.file.stream, "x", 1));
        assert_int_equal(w.result, -WEFT_ENOTHREAD);
        weft_file_close(&o.file);
    } else {
        assert_int_equal(o.result, -WEFT_ENOTHREAD);
    }
    fault_disarm(FAULT_PTHREAD_CREATE);
    AWAIT(weft_fs_create_dir_init(&cd, P("d"), 0));
    assert_int_equal(cd.result, 0);
    env_teardown();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_read_whole),
        cmocka_unit_test(test_alloc_read_whole_pool),
        cmocka_unit_test(test_alloc_file),
        cmocka_unit_test(test_alloc_file_pool),
        cmocka_unit_test(test_alloc_dir),
        cmocka_unit_test(test_alloc_dir_pool),
        cmocka_unit_test(test_alloc_tree),
        cmocka_unit_test(test_no_pool_thread),
        cmocka_unit_test(test_close_after_flush_closes_at_once),
        cmocka_unit_test(test_close_during_read_closes_when_it_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
