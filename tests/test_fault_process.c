/* Child processes and signals when things fail:
 *  - every scenario of test_process.c again with pidfd_open failing
 *    (ENOSYS, as on a kernel without pidfds): children are waited for and
 *    reaped through SIGCHLD, and SIGCHLD's action is back to what it was
 *    once the last of them is reaped;
 *  - pidfd_open failing for one child only (it alone uses SIGCHLD);
 *  - the application's own SIGCHLD handler, chained while weft listens;
 *  - pipes, registrations, posix_spawn and allocations failing in the
 *    spawn: the error comes back and nothing is left (no descriptor, no
 *    child, no memory: LeakSanitizer in the ASan build);
 *  - weft's service thread failing to start.
 * weft-test: io
 * weft-test: threaded
 * weft-test: timeout=900 */
#include "process_cases.h"

#include <sys/epoll.h>

#include "fault.h"
#include "process/process.h"

static int sigchld_mode(void **state) {
    (void)state;
    fault_arm(FAULT_PIDFD_OPEN, (fault_rule){.err = ENOSYS});
    return 0;
}

/* Every SIGCHLD child reaped: SIGCHLD's default is back. */
static int sigchld_restored(void **state) {
    (void)state;
    fault_disarm_all();
    assert_ptr_equal(disposition(SIGCHLD), (void *)SIG_DFL);
    return 0;
}

#define SIGCHLD_CASE(t) cmocka_unit_test_setup_teardown(t, sigchld_mode, sigchld_restored)

/* ---- one child without a pidfd ---------------------------------------------- */

typedef struct wait_case {
    WEFT_CORO_FIELDS;
    weft_child *child;
    weft_child_wait w;
} wait_case;

WEFT_ASYNC(wait_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_child_wait_init(&self->w, self->child));
    WEFT_END();
}

/* Waits on the child's runtime (a current_thread runtime watches its
 * children only while something runs in it). */
static weft_exit_status wait_now(weft_runtime *rt, weft_child *c) {
    wait_case w;
    wait_case_start(&w);
    w.child = c;
    assert_int_equal(weft_block_on(rt, &w.base), 0);
    assert_int_equal(w.w.result, 0);
    return w.w.status;
}

static void test_pidfd_fails_for_one_child(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    weft_command *c = cmd_new("/bin/sh", "-c", "exit 6", NULL);
    weft_child one, two;
    fault_arm(FAULT_PIDFD_OPEN, (fault_rule){.err = EMFILE, .count = 1});
    assert_int_equal(weft_command_spawn(c, rt, &one), 0);
    assert_int_equal(weft_command_spawn(c, rt, &two), 0);
    fault_disarm_all();
    assert_true(one.core->pidfd < 0);  /* SIGCHLD */
    assert_true(two.core->pidfd >= 0); /* the next one asked again */
    assert_ptr_not_equal(disposition(SIGCHLD), (void *)SIG_DFL);
    assert_int_equal(wait_now(rt, &one).code, 6);
    assert_int_equal(wait_now(rt, &two).code, 6);
    assert_ptr_equal(disposition(SIGCHLD), (void *)SIG_DFL);
    weft_child_close(&one);
    weft_child_close(&two);
    weft_command_destroy(c);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ENOSYS is remembered: later spawns do not ask for a pidfd again. */
static void test_enosys_remembered(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    weft_command *c = cmd_new("/bin/true", NULL);
    weft_child one, two;
    fault_arm(FAULT_PIDFD_OPEN, (fault_rule){.err = ENOSYS});
    assert_int_equal(weft_command_spawn(c, rt, &one), 0);
    assert_int_equal(weft_command_spawn(c, rt, &two), 0);
    assert_int_equal(fault_selected(FAULT_PIDFD_OPEN), 1);
    fault_disarm_all();
    assert_true(one.core->pidfd < 0 && two.core->pidfd < 0);
    assert_int_equal(wait_now(rt, &one).code, 0);
    assert_int_equal(wait_now(rt, &two).code, 0);
    weft_child_close(&one);
    weft_child_close(&two);
    weft_command_destroy(c);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- the application's SIGCHLD handler ---------------------------------------- */

static atomic_int app_sigchld;
static void app_on_sigchld(int sig) {
    (void)sig;
    atomic_fetch_add(&app_sigchld, 1);
}

static void test_app_sigchld_handler_chained(void **state) {
    (void)state;
    baseline b = baseline_take();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = app_on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    assert_int_equal(sigaction(SIGCHLD, &sa, NULL), 0);
    weft_runtime *rt = rt_new();
    for (int i = 0; i < 20; i++) {
        weft_command *c = cmd_new("/bin/true", NULL);
        weft_exit_status st = status_of(rt, c);
        assert_true(weft_exit_status_success(&st));
    }
    WAIT_UNTIL(atomic_load(&app_sigchld) >= 1);
    assert_true(atomic_load(&app_sigchld) >= 1);
    /* Its own handler is back (with its flags) once weft stops listening. */
    assert_ptr_equal(disposition(SIGCHLD), (void *)app_on_sigchld);
    struct sigaction now;
    sigaction(SIGCHLD, NULL, &now);
    assert_true(now.sa_flags & SA_NOCLDSTOP);
    signal(SIGCHLD, SIG_DFL);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- failures inside the spawn leave nothing ------------------------------------- */

static weft_command *piped_cat(void) {
    weft_command *c = cmd_new("/bin/cat", NULL);
    weft_command_set_stdin(c, WEFT_STDIO_PIPE);
    weft_command_set_stdout(c, WEFT_STDIO_PIPE);
    weft_command_set_stderr(c, WEFT_STDIO_PIPE);
    return c;
}

/* Spawns with `fn` armed by `rule` on this thread: 0 (then the child is
 * finished off: stdin closed, waited, closed) or the spawn's error. */
static int spawn_under(weft_runtime *rt, weft_command *c, fault_fn fn, fault_rule rule) {
    weft_child child;
    rule.this_thread = true;
    fault_arm(fn, rule);
    int err = weft_command_spawn(c, rt, &child);
    fault_disarm_all();
    if (err) {
        assert_null(child.core);
        assert_int_equal(weft_child_pipe_fd(&child.in), -EBADF);
        return err;
    }
    weft_child_pipe_close(&child.in);
    assert_int_equal(wait_now(rt, &child).code, 0);
    weft_child_close(&child);
    return 0;
}

static void test_spawn_failures_leave_nothing(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    weft_command *c = piped_cat();
    /* Each of the three pipes failing. */
    for (unsigned k = 0; k < 3; k++)
        assert_int_equal(spawn_under(rt, c, FAULT_PIPE, (fault_rule){.err = EMFILE, .skip = k, .count = 1}),
                         -EMFILE);
    assert_int_equal(spawn_under(rt, c, FAULT_PIPE, (fault_rule){.err = EMFILE, .skip = 3, .count = 1}), 0);
    /* The C library refusing to start a process. */
    assert_int_equal(spawn_under(rt, c, FAULT_POSIX_SPAWN, (fault_rule){.err = EAGAIN}), -EAGAIN);
    /* The reactor refusing a pipe (epoll): the error; refusing the pidfd
     * (the fourth registration): the child is waited through SIGCHLD. */
    for (unsigned k = 0; k < 4; k++) {
        int err = spawn_under(rt, c, FAULT_EPOLL_CTL,
                              (fault_rule){.err = ENOMEM, .op = EPOLL_CTL_ADD, .skip = k, .count = 1});
        assert_true(err == 0 || err == -ENOMEM);
        if (k == 3) assert_int_equal(err, 0);
    }
    /* Every allocation in turn (until one spawn needs no more). */
    int ok = 0;
    for (unsigned k = 0; k < 200 && ok < 3; k++) {
        int err = spawn_under(rt, c, FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = k, .count = 1});
        assert_true(err == 0 || err == -ENOMEM);
        if (err == 0) ok++;
    }
    assert_int_equal(ok, 3);
    weft_command_destroy(c);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- the service thread cannot start ------------------------------------------------- */

static void test_service_cannot_start(void **state) {
    (void)state;
    weft_runtime *rt = rt_new(); /* its own threads first */
    int fds = fd_count();
    weft_signal s;
    fault_arm(FAULT_PTHREAD_CREATE, (fault_rule){.err = EAGAIN, .this_thread = true});
    assert_int_equal(weft_signal_init(&s, SIGUSR1), -EAGAIN);
    fault_disarm_all();
    assert_int_equal(weft_signal_signum(&s), -EBADF);
    assert_ptr_equal(disposition(SIGUSR1), (void *)SIG_DFL);
    assert_int_equal(fd_count(), fds);
    fault_arm(FAULT_EVENTFD, (fault_rule){.err = EMFILE, .this_thread = true});
    assert_int_equal(weft_signal_init(&s, SIGUSR1), -EMFILE);
    fault_disarm_all();
    assert_int_equal(fd_count(), fds);
    /* A child that could only be waited for through SIGCHLD: not left
     * behind when that fails too. */
    weft_command *c = cmd_new("/bin/sleep", "1000", NULL);
    weft_child child;
    fault_arm(FAULT_PIDFD_OPEN, (fault_rule){.err = ENOSYS});
    fault_arm(FAULT_PTHREAD_CREATE, (fault_rule){.err = EAGAIN, .this_thread = true});
    assert_int_equal(weft_command_spawn(c, rt, &child), -EAGAIN);
    fault_disarm_all();
    assert_null(child.core);
    assert_int_equal(children_in_state(0), 0);
    assert_int_equal(fd_count(), fds);
    /* Once it can start, everything works. */
    assert_int_equal(weft_signal_init(&s, SIGUSR1), 0);
    weft_signal_destroy(&s);
    weft_command_destroy(c);
    c = cmd_new("/bin/true", NULL);
    assert_int_equal(status_of(rt, c).code, 0);
    weft_runtime_destroy(rt);
    WAIT_UNTIL(children_in_state(0) == 0);
    assert_int_equal(children_in_state(0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        SIGCHLD_CASE(test_cat_both_pipes),
        SIGCHLD_CASE(test_pipeline_with_copy),
        SIGCHLD_CASE(test_exit_codes_and_signals),
        SIGCHLD_CASE(test_epipe_without_sigpipe),
        SIGCHLD_CASE(test_output_floods),
        SIGCHLD_CASE(test_wait_with_output),
        SIGCHLD_CASE(test_spawn_errors),
        SIGCHLD_CASE(test_env_args_cwd),
        SIGCHLD_CASE(test_stdio_null_and_inherit),
        SIGCHLD_CASE(test_kill_and_try_wait),
        SIGCHLD_CASE(test_kill_on_drop),
        SIGCHLD_CASE(test_thousand_children),
        SIGCHLD_CASE(test_cancel_every_future),
        SIGCHLD_CASE(test_concurrent_waits),
        SIGCHLD_CASE(test_child_outlives_runtime),
        cmocka_unit_test(test_pidfd_fails_for_one_child),
        cmocka_unit_test(test_enosys_remembered),
        cmocka_unit_test(test_app_sigchld_handler_chained),
        cmocka_unit_test(test_spawn_failures_leave_nothing),
        cmocka_unit_test(test_service_cannot_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
