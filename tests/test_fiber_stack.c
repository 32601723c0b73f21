/* Fiber stacks: deep recursion to near the limit, with suspensions at the
 * bottom, comes back intact; a real overflow stops the process with a
 * message that says so (in a child process), also for a large frame that
 * jumps into the guard; stack sizes per spawn and per runtime are what
 * was asked; stacks are pooled and reused, and idle ones beyond the hot
 * set give their pages back.  weft-test: threaded  weft-test: timeout=300 */
#include <sys/resource.h>

#include "fiber/fiber.h"
#include "fiber/stack.h"
#include "fiber_support.h"

/* The usable size of the calling fiber's stack. */
static size_t my_stack_size(void) {
    weft_fiber *f = weft__fiber_running();
    FCHECK(f && f->ctl.run);
    return (size_t)((char *)f->ctl.run->stack->hi - (char *)f->ctl.run->stack->lo);
}

static void *report_size(void *arg) {
    (void)arg;
    return (void *)(uintptr_t)my_stack_size();
}

/* ---- recursion ------------------------------------------------------------- */

#define FRAME 1024

/* Each level keeps FRAME bytes live across the call below it and the
 * awaits at the bottom; the checksum proves they survived. */
static __attribute__((noinline)) unsigned recurse(int depth, int awaits) {
    volatile unsigned char buf[FRAME];
    for (int i = 0; i < FRAME; i++) buf[i] = (unsigned char)(depth * 31 + i);
    unsigned sum = 0;
    if (depth > 0) {
        sum = recurse(depth - 1, awaits);
    } else {
        for (int i = 0; i < awaits; i++) FCHECK_EQ(weft_fiber_sleep(1), 0);
    }
    for (int i = 0; i < FRAME; i++) {
        FCHECK_EQ(buf[i], (unsigned char)(depth * 31 + i));
        sum += buf[i];
    }
    return sum;
}

static unsigned expected_sum(int depth) {
    unsigned sum = 0;
    for (int d = 0; d <= depth; d++)
        for (int i = 0; i < FRAME; i++) sum += (unsigned char)(d * 31 + i);
    return sum;
}

static void *deep_body(void *arg) {
    (void)arg;
    /* Leave room for the frames above and the polls at the bottom (the
     * first poll of each sleep runs on this stack): 16 KiB, or 24 KiB
     * where sanitizers grow every frame. */
    size_t margin = FIBER_TEST_SANITIZED ? 24 * 1024 : 16 * 1024;
    size_t frame = FIBER_TEST_SANITIZED ? 2 * FRAME + 256 : FRAME + 128;
    int depth = (int)((my_stack_size() - margin) / frame);
    FCHECK(depth > 8);
    FCHECK_EQ(recurse(depth, 3), expected_sum(depth));
    return (void *)(uintptr_t)depth;
}

static void test_deep_recursion(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    size_t sizes[] = {64 * 1024, 256 * 1024, 1024 * 1024};
    for (size_t i = 0; i < 3; i++) {
        weft_fiber_options o = {.stack_size = sizes[i]};
        weft_join_handle hs[4];
        weft_fiber_output outs[4];
        for (int k = 0; k < 4; k++) { /* several at once, interleaving their suspensions */
            hs[k] = weft_fiber_spawn(rt, deep_body, NULL, &o);
            hs[k].out = &outs[k];
        }
        for (int k = 0; k < 4; k++) {
            assert_int_equal(weft_block_on(rt, &hs[k].base), 0);
            assert_int_equal(hs[k].result, 0);
            assert_true((uintptr_t)outs[k].value > 8);
        }
    }
    weft_runtime_destroy(rt);
}

/* ---- overflow ------------------------------------------------------------------ */

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static __attribute__((noinline)) unsigned runaway(unsigned n) {
    volatile unsigned char buf[512];
    buf[0] = (unsigned char)n;
    return runaway(n + 1) + buf[0]; /* not a tail call */
}

static void *overflow_body(void *arg) {
    (void)arg;
    return (void *)(uintptr_t)runaway(0);
}

static void overflow_child(void) {
    weft_runtime *rt = rt_new();
    weft_fiber_options o = {.stack_size = 64 * 1024};
    weft_join_handle h = weft_fiber_spawn(rt, overflow_body, NULL, &o);
    weft_block_on(rt, &h.base);
    weft_runtime_destroy(rt);
}

/* A frame larger than a page lands in the guard region, not just its
 * first page. */
static __attribute__((noinline)) void big_frame(void) {
    volatile unsigned char buf[12 * 1024];
    buf[0] = 1;
    (void)buf[0];
}

static void *big_frame_body(void *arg) {
    (void)arg;
    /* Use up all but a few KiB of the stack, then call the big frame. */
    size_t left = my_stack_size();
    volatile unsigned char *pad = __builtin_alloca(left - 6 * 1024);
    pad[0] = 1;
    big_frame();
    return NULL;
}

static void big_frame_child(void) {
    weft_runtime *rt = rt_new();
    weft_fiber_options o = {.stack_size = 64 * 1024};
    weft_join_handle h = weft_fiber_spawn(rt, big_frame_body, NULL, &o);
    weft_block_on(rt, &h.base);
    weft_runtime_destroy(rt);
}

/* Runs this test program again as `argv0 mode` (a fresh process, with
 * weft's handlers installed as in any application, not cmocka's) and
 * returns its stderr; *sig is the signal that ended it (0: it exited). */
static const char *argv0;
static const char *run_self_status(const char *mode, int *sig, int *exit_status) {
    static char buf[8192];
    int p[2];
    if (pipe(p) != 0) return "";
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        execl(argv0, argv0, mode, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    buf[n] = 0;
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    *sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    return buf;
}

static const char *run_self(const char *mode, int *sig) {
    int status;
    return run_self_status(mode, sig, &status);
}

static void expect_overflow_report(const char *mode) {
    int sig = 0;
    const char *err = run_self(mode, &sig);
#if FIBER_TEST_SANITIZED
    /* The sanitizers catch the fault first and report a stack overflow
     * (or a SEGV) themselves; the process must still end, not go on. */
    assert_true(sig != 0 || strstr(err, "stack-overflow") || strstr(err, "SEGV") ||
                strstr(err, "fiber stack overflow"));
#else
    if (!strstr(err, "weft: fiber stack overflow")) fail_msg("no overflow report; stderr: %s", err);
    assert_non_null(strstr(err, "guard page"));
    assert_non_null(strstr(err, "stack_size"));
    assert_int_equal(sig, SIGABRT);
#endif
}

static void test_overflow_stops_with_a_message(void **state) {
    (void)state;
    expect_overflow_report("overflow");
    expect_overflow_report("big-frame");
}

/* A SIGSEGV that is not a guard hit still ends the process as a SIGSEGV
 * (weft's handler passes it on). */
static void wild_write_child(void) {
    weft_runtime *rt = rt_new();
    weft_join_handle h = weft_fiber_spawn(rt, deep_body, NULL, NULL); /* installs the handler */
    weft_block_on(rt, &h.base);
    weft_runtime_destroy(rt);
    int *volatile p = (int *)(uintptr_t)16;
    *p = 1;
}

static void test_other_segv_passes_through(void **state) {
    (void)state;
#if !FIBER_TEST_SANITIZED
    int sig = 0;
    const char *err = run_self("wild-write", &sig);
    assert_int_equal(sig, SIGSEGV);
    assert_null(strstr(err, "fiber stack overflow"));
#endif
}

/* ---- a stack that cannot be mapped ---------------------------------------------- */

static int no_stack_arg_drops;
static void count_drop(void *arg) {
    (void)arg;
    no_stack_arg_drops++;
}

static void *must_not_run(void *arg) {
    (void)arg;
    abort();
}

/* With the address space limited, a 1 GiB stack cannot be mapped: the
 * fiber does not run, its arg goes to arg_drop, its output says -ENOMEM;
 * a small fiber still runs. Exits 0 when all of that held. */
static void no_stack_child(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f || fscanf(f, "%lu", &pages) != 1) exit(2);
    fclose(f);
    struct rlimit lim = {pages * (unsigned long)sysconf(_SC_PAGESIZE) + (256ul << 20), RLIM_INFINITY};
    lim.rlim_max = lim.rlim_cur;
    if (setrlimit(RLIMIT_AS, &lim) != 0) exit(3);
    weft_runtime_options ro = {0}; /* current_thread: no thread stacks to map */
    weft_runtime *rt;
    if (weft_runtime_create(&rt, &ro) != 0) exit(4);
    weft_fiber_options o = {.stack_size = (size_t)1 << 30, .arg_drop = count_drop};
    weft_join_handle h = weft_fiber_spawn(rt, must_not_run, NULL, &o);
    weft_fiber_output out = {(void *)1, 0};
    h.out = &out;
    if (weft_block_on(rt, &h.base) != 0 || h.result != 0) exit(5);
    if (out.error != -ENOMEM || out.value != NULL || no_stack_arg_drops != 1) exit(6);
    weft_fiber small;
    o.stack_size = 64 * 1024;
    if (weft_block_on(rt, weft_fiber_init(&small, report_size, NULL, &o)) != 0) exit(7);
    if (small.output.error != 0 || (uintptr_t)small.output.value != 64 * 1024) exit(8);
    weft_runtime_destroy(rt);
    exit(0);
}

static void test_no_stack(void **state) {
    (void)state;
#if FIBER_TEST_SANITIZED
    skip(); /* the sanitizers reserve terabytes of address space */
#else
    int sig = 0;
    int status = 0;
    const char *err = run_self_status("no-stack", &sig, &status);
    if (sig || status) fail_msg("child: signal %d, exit %d; stderr: %s", sig, status, err);
#endif
}

/* ---- sizes ---------------------------------------------------------------------- */

static void test_sizes(void **state) {
    (void)state;
    weft_runtime_options ro = test_runtime_options();
    ro.fiber_stack_size = 100 * 1024 + 1; /* rounded up to whole pages */
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, &ro), 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    assert_int_equal((uintptr_t)run_fiber(rt, report_size, NULL), (100 * 1024 + page) & ~(page - 1));
    weft_fiber_options o = {.stack_size = 512 * 1024};
    weft_join_handle h = weft_fiber_spawn(rt, report_size, NULL, &o);
    weft_fiber_output out;
    h.out = &out;
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal((uintptr_t)out.value, 512 * 1024);
    o.stack_size = 1; /* below the minimum: the minimum */
    h = weft_fiber_spawn(rt, report_size, NULL, &o);
    h.out = &out;
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    assert_int_equal((uintptr_t)out.value, WEFT_FIBER_STACK_MIN);
    weft_runtime_destroy(rt);

    rt = rt_new();
    assert_int_equal((uintptr_t)run_fiber(rt, report_size, NULL), WEFT_FIBER_STACK_DEFAULT);
    weft_runtime_destroy(rt);
}

/* ---- the pool --------------------------------------------------------------------- */

static void *nothing(void *arg) { return arg; }

static atomic_int holding;

static void *hold(void *arg) {
    atomic_fetch_add(&holding, 1);
    weft_semaphore_acquire a;
    FCHECK_EQ(weft_await(weft_semaphore_acquire_init(&a, arg)), 0);
    return NULL;
}

static void test_pool_reuse(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_fiber_options o = {.stack_size = 80 * 1024}; /* a size no other test uses */
    run_fiber(rt, nothing, NULL);
    weft__stack_stats before, after;
    weft__stack_stats_get(&before);
    for (int i = 0; i < 2000; i++) {
        weft_join_handle h = weft_fiber_spawn(rt, nothing, NULL, &o);
        assert_int_equal(weft_block_on(rt, &h.base), 0);
        assert_int_equal(h.result, 0);
    }
    weft__stack_stats_get(&after);
    assert_int_equal(after.in_use, before.in_use);
    assert_true(after.slabs <= before.slabs + 1); /* one stack, used 2,000 times */

    /* A burst: many alive at once, then all idle. The hot set keeps its
     * pages; the rest give them back. */
    int n = 3 * WEFT_FIBER_HOT_STACKS;
    weft_semaphore sem;
    weft_semaphore_init(&sem, 0);
    weft_join_handle *hs = calloc((size_t)n, sizeof *hs);
    atomic_store(&holding, 0);
    for (int i = 0; i < n; i++) hs[i] = weft_fiber_spawn(rt, hold, &sem, &o);
    weft__stack_stats_get(&after);
    if (!test_is_multi_thread()) /* nothing has run them yet: no stack taken */
        assert_int_equal(after.in_use, before.in_use);
    while (atomic_load(&holding) < n) {
        weft_sleep s;
        assert_int_equal(weft_block_on(rt, weft_sleep_init(&s, 1)), 0);
    }
    weft__stack_stats_get(&after);
    assert_true(after.in_use >= before.in_use + (size_t)n);
    weft_semaphore_add_permits(&sem, (size_t)n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(weft_block_on(rt, &hs[i].base), 0);
        assert_int_equal(hs[i].result, 0);
    }
    weft__stack_stats_get(&after);
    assert_int_equal(after.in_use, before.in_use);
    assert_true(after.hot <= (size_t)WEFT_FIBER_HOT_STACKS * 16); /* bounded per size */
    assert_true(after.cold >= (size_t)(n - WEFT_FIBER_HOT_STACKS));
    free(hs);
    weft_runtime_destroy(rt);
    weft_semaphore_destroy(&sem);
}

int main(int argc, char **argv) {
    argv0 = argv[0];
    if (argc > 1) { /* a child of run_self */
        if (!strcmp(argv[1], "overflow")) overflow_child();
        else if (!strcmp(argv[1], "big-frame")) big_frame_child();
        else if (!strcmp(argv[1], "wild-write")) wild_write_child();
        else if (!strcmp(argv[1], "no-stack")) no_stack_child();
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deep_recursion),
        cmocka_unit_test(test_overflow_stops_with_a_message),
        cmocka_unit_test(test_other_segv_passes_through),
        cmocka_unit_test(test_no_stack),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_pool_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
