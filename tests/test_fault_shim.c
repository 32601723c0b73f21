/* The fault-injection shim itself (tests/fault): selection by count,
 * descriptor, operation, thread and size; hooks; exact counts under
 * concurrent callers; and that calls made inside libweft.a are wrapped.
 * weft-test: threaded */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "fault.h"
#include "support.h"

static void teardown_faults(void) { fault_disarm_all(); }

static void test_disarmed_passes_through(void **state) {
    (void)state;
    void *p = malloc(32);
    assert_non_null(p);
    free(p);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    close(fds[1]);
}

static void test_nth_call_fails_once(void **state) {
    (void)state;
    fault_arm(FAULT_PIPE, (fault_rule){.err = EMFILE, .skip = 1, .count = 1});
    int a[2], b[2], c[2];
    assert_int_equal(pipe(a), 0);
    errno = 0;
    assert_int_equal(pipe2(b, O_CLOEXEC), -1); /* pipe and pipe2 share the slot */
    assert_int_equal(errno, EMFILE);
    assert_int_equal(pipe(c), 0);
    assert_int_equal(fault_selected(FAULT_PIPE), 3);
    assert_int_equal(fault_failed(FAULT_PIPE), 1);
    fault_disarm(FAULT_PIPE);
    assert_int_equal(pipe(b), 0);
    assert_int_equal(fault_selected(FAULT_PIPE), 3); /* disarmed: not counted */
    for (int i = 0; i < 2; i++) close(a[i]), close(b[i]), close(c[i]);
    teardown_faults();
}

static void test_every_call_on_one_fd(void **state) {
    (void)state;
    int p[2], q[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pipe(q), 0);
    assert_int_equal(write(p[1], "ab", 2), 2);
    assert_int_equal(write(q[1], "cd", 2), 2);
    fault_arm(FAULT_READ, (fault_rule){.err = EIO, .fd = FAULT_FD(p[0])});
    char c;
    for (int i = 0; i < 3; i++) {
        errno = 0;
        assert_int_equal(read(p[0], &c, 1), -1);
        assert_int_equal(errno, EIO);
    }
    assert_int_equal(read(q[0], &c, 1), 1); /* another descriptor: untouched */
    assert_int_equal(fault_failed(FAULT_READ), 3);
    fault_disarm(FAULT_READ);
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'a');
    for (int i = 0; i < 2; i++) close(p[i]), close(q[i]);
}

static void test_epoll_ctl_by_op(void **state) {
    (void)state;
    int ep = epoll_create1(EPOLL_CLOEXEC), ev = eventfd(0, EFD_CLOEXEC);
    assert_true(ep >= 0 && ev >= 0);
    fault_arm(FAULT_EPOLL_CTL, (fault_rule){.err = ENOSPC, .op = EPOLL_CTL_ADD, .fd = FAULT_FD(ev)});
    struct epoll_event e = {.events = EPOLLIN};
    errno = 0;
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e), -1);
    assert_int_equal(errno, ENOSPC);
    fault_disarm(FAULT_EPOLL_CTL);
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e), 0);
    fault_arm(FAULT_EPOLL_CTL, (fault_rule){.err = ENOSPC, .op = EPOLL_CTL_ADD});
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_DEL, ev, NULL), 0); /* another op: untouched */
    fault_disarm(FAULT_EPOLL_CTL);
    close(ep);
    close(ev);
}

static void *malloc_once(void *arg) {
    void *p = malloc(16);
    *(bool *)arg = p != NULL;
    free(p);
    return NULL;
}

static bool malloc_on_thread(void) {
    bool ok = false;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, malloc_once, &ok), 0);
    pthread_join(th, NULL);
    return ok;
}

static void test_thread_filter(void **state) {
    (void)state;
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .this_thread = true});
    assert_true(malloc_on_thread()); /* another thread: untouched */
    errno = 0;
    assert_null(malloc(16));
    assert_int_equal(errno, ENOMEM);
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .count = 1});
    assert_false(malloc_on_thread()); /* any thread */
    void *p = malloc(16);
    assert_non_null(p);
    free(p);
    fault_disarm(FAULT_MALLOC);
}

static void test_alloc_size_and_kinds(void **state) {
    (void)state;
    fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .min_size = 4096});
    void *small = malloc(64), *c = calloc(8, 8), *r = realloc(NULL, 100);
    assert_non_null(small);
    assert_non_null(c);
    assert_non_null(r);
    assert_null(malloc(4096));
    assert_null(calloc(1024, 8));
    assert_null(realloc(NULL, 1 << 20));
    assert_null(aligned_alloc(64, 8192));
    assert_int_equal(fault_failed(FAULT_ANY_ALLOC), 4);
    fault_disarm(FAULT_ANY_ALLOC);
    free(small);
    free(c);
    free(r);
    fault_arm(FAULT_ALIGNED_ALLOC, (fault_rule){.err = ENOMEM, .count = 1});
    assert_non_null(c = malloc(8)); /* another kind: untouched */
    free(c);
    assert_null(aligned_alloc(16, 32));
    assert_non_null(c = aligned_alloc(16, 32));
    free(c);
    fault_disarm(FAULT_ALIGNED_ALLOC);
}

static void *thread_fn(void *arg) { return arg; }

static void test_pthread_create_returns_the_error(void **state) {
    (void)state;
    fault_arm(FAULT_PTHREAD_CREATE, (fault_rule){.err = EAGAIN, .count = 1});
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, thread_fn, NULL), EAGAIN);
    assert_int_equal(pthread_create(&th, NULL, thread_fn, NULL), 0);
    pthread_join(th, NULL);
    fault_disarm(FAULT_PTHREAD_CREATE);
}

/* A hook runs at the chosen call; what it calls is never selected. */
static void hook_allocates(void *arg) {
    void *p = malloc(8);
    *(bool *)arg = p != NULL;
    free(p);
}

static void test_hook(void **state) {
    (void)state;
    bool hook_ok = false;
    fault_arm(FAULT_MALLOC, (fault_rule){.skip = 1, .count = 1, .hook = hook_allocates, .hook_arg = &hook_ok});
    void *a = malloc(8);
    assert_false(hook_ok);
    void *b = malloc(8); /* err 0: the hook runs, then the call goes through */
    assert_true(hook_ok);
    assert_non_null(a);
    assert_non_null(b);
    free(a);
    free(b);
    assert_int_equal(fault_selected(FAULT_MALLOC), 2);
    assert_int_equal(fault_failed(FAULT_MALLOC), 0);
    fault_disarm(FAULT_MALLOC);
}

/* Many threads, one armed slot: exactly `count` calls fail. */
#define RACERS 4
#define CALLS 20000
static atomic_int null_seen;
static void *racer(void *arg) {
    (void)arg;
    for (int i = 0; i < CALLS; i++) {
        void *p = malloc(24);
        if (!p) atomic_fetch_add(&null_seen, 1);
        free(p);
    }
    return NULL;
}

static void test_exact_count_under_concurrency(void **state) {
    (void)state;
    atomic_store(&null_seen, 0);
    fault_arm(FAULT_MALLOC, (fault_rule){.err = ENOMEM, .skip = 1000, .count = 137, .min_size = 24});
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) assert_int_equal(pthread_create(&th[i], NULL, racer, NULL), 0);
    for (int i = 0; i < RACERS; i++) pthread_join(th[i], NULL);
    fault_disarm(FAULT_MALLOC);
    assert_int_equal(atomic_load(&null_seen), 137);
    assert_int_equal(fault_failed(FAULT_MALLOC), 137);
    assert_true(fault_selected(FAULT_MALLOC) >= RACERS * CALLS);
}

/* The library's own calls go through the shim (they are undefined
 * references of libweft.a's objects, wrapped at this link). */
static void test_library_calls_are_wrapped(void **state) {
    (void)state;
    weft_runtime_options o = test_runtime_options();
    fault_arm(FAULT_EVENTFD, (fault_rule){0});
    fault_arm(FAULT_PIPE, (fault_rule){0});
    fault_arm(FAULT_CALLOC, (fault_rule){0});
    fault_arm(FAULT_PTHREAD_CREATE, (fault_rule){0});
    weft_runtime *rt = NULL;
    assert_int_equal(weft_runtime_create(&rt, &o), 0);
    const char *be = getenv("WEFT_IO_BACKEND");
    bool poll_backend = be && strcmp(be, "poll") == 0;
    assert_int_equal(fault_selected(poll_backend ? FAULT_PIPE : FAULT_EVENTFD), 1);
    assert_true(fault_selected(FAULT_CALLOC) >= 1);
    assert_int_equal(fault_selected(FAULT_PTHREAD_CREATE), o.flavor == WEFT_MULTI_THREAD ? o.workers : 0);
    fault_disarm_all();
    weft_join_set *js;
    fault_arm(FAULT_CALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    assert_int_equal(weft_join_set_create(&js, rt, 0, NULL), -ENOMEM);
    assert_null(js);
    fault_disarm_all();
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disarmed_passes_through),
        cmocka_unit_test(test_nth_call_fails_once),
        cmocka_unit_test(test_every_call_on_one_fd),
        cmocka_unit_test(test_epoll_ctl_by_op),
        cmocka_unit_test(test_thread_filter),
        cmocka_unit_test(test_alloc_size_and_kinds),
        cmocka_unit_test(test_pthread_create_returns_the_error),
        cmocka_unit_test(test_hook),
        cmocka_unit_test(test_exact_count_under_concurrency),
        cmocka_unit_test(test_library_calls_are_wrapped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
