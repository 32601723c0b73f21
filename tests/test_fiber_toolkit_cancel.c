/* The service toolkit's fiber calls, cancelled: a fiber aborted while it
 * waits in each of them (a signal, ctrl_c, a child's exit, a child's
 * output, a command's output, a token, a tracker, a copy each way, a
 * sendfile, a framed read, send and flush, a name lookup) gets -ECANCELED,
 * so does its next await, it unwinds once, and the wait leaves nothing
 * behind: no descriptor, no child, no listener or wait-list entry (a
 * token or tracker destroyed afterwards would abort on a leftover waiter),
 * and no byte unaccounted for (what a copy, sendfile or framed writer
 * reported is exactly what the peer can read or what stays buffered).
 * Both runtimes.
 * weft-test: threaded  weft-test: io  weft-test: timeout=300 */
#include <fcntl.h>

#include "fiber_support.h"
#include "process_support.h"
#include "weft/frame.h"

#define BIG (4u << 20) /* more than a socket buffer holds */

typedef struct case_env case_env;

typedef struct toolkit_case {
    const char *name;
    void (*setup)(case_env *e);
    int (*await_it)(case_env *e); /* in the fiber: the call under test */
    void (*check)(case_env *e);   /* after the abort */
    bool (*pending)(case_env *e); /* may be NULL: true once the call surely waits */
} toolkit_case;

struct case_env {
    weft_runtime *rt;
    atomic_int phase; /* 1: the fiber is about to wait */
    int rc, later;
    atomic_int released;
    weft_signal sig;
    weft_command *cmd;
    weft_child child;
    pid_t pid;
    weft_output out;
    weft_cancel_token token;
    weft_task_tracker *tracker;
    weft_unix_stream a, b, c, d;
    uint64_t n1, n2;
    int fd;
    char path[64];
    weft_lines_codec lines;
    weft_framed_reader rd;
    weft_framed_writer wr;
    unsigned char *buf;
    bool accepted;
    weft_sockaddr addrs[4];
};

/* ---- helpers --------------------------------------------------------------------------- */

/* Runs fn(e) in a fiber of its own and returns what it returned. */
static void *run_fiber_env(case_env *e, weft_fiber_fn fn) { return run_fiber(e->rt, fn, e); }

/* Reads what `s` holds now, without waiting (the writer is gone or idle). */
static uint64_t drain(weft_unix_stream *s) {
    int fd = weft_unix_stream_fd(s);
    char buf[65536];
    uint64_t n = 0;
    ssize_t r;
    while ((r = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) n += (uint64_t)r;
    return n;
}

static void close_pairs(case_env *e) {
    weft_unix_stream_close(&e->a);
    weft_unix_stream_close(&e->b);
    weft_unix_stream_close(&e->c);
    weft_unix_stream_close(&e->d);
}

static void setup_pairs(case_env *e) {
    assert_int_equal(weft_unix_stream_pair(&e->a, &e->b, e->rt), 0);
    assert_int_equal(weft_unix_stream_pair(&e->c, &e->d, e->rt), 0);
}

/* ---- signals --------------------------------------------------------------------------- */

static void setup_signal(case_env *e) { assert_int_equal(weft_signal_init(&e->sig, SIGUSR2), 0); }
static int await_signal(case_env *e) { return weft_fiber_signal_recv(&e->sig); }
static void *recv_signal(void *arg) { return (void *)(intptr_t)weft_fiber_signal_recv(&((case_env *)arg)->sig); }
static void check_signal(case_env *e) {
    /* The dropped recv consumed nothing: the listener sees the next delivery. */
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    assert_int_equal((intptr_t)run_fiber_env(e, recv_signal), 0);
    weft_signal_destroy(&e->sig);
    assert_ptr_equal(disposition(SIGUSR2), (void *)SIG_DFL);
}

static void setup_nothing(case_env *e) { (void)e; }
static int await_ctrl_c(case_env *e) {
    (void)e;
    return weft_fiber_ctrl_c();
}
static void check_ctrl_c(case_env *e) {
    (void)e;
    assert_ptr_equal(disposition(SIGINT), (void *)SIG_DFL); /* it stopped listening */
}

/* ---- child processes ------------------------------------------------------------------ */

static void spawn_child(case_env *e, const char *script, bool pipe_out) {
    assert_int_equal(weft_command_create(&e->cmd, "/bin/sh"), 0);
    assert_int_equal(weft_command_add_arg(e->cmd, "-c"), 0);
    assert_int_equal(weft_command_add_arg(e->cmd, script), 0);
    assert_int_equal(weft_command_set_kill_on_drop(e->cmd, true), 0);
    if (pipe_out) assert_int_equal(weft_command_set_stdout(e->cmd, WEFT_STDIO_PIPE), 0);
    assert_int_equal(weft_command_spawn(e->cmd, e->rt, &e->child), 0);
    e->pid = weft_child_pid(&e->child);
}

static void setup_sleeper(case_env *e) { spawn_child(e, "exec sleep 30", false); }
static int await_child_wait(case_env *e) {
    weft_exit_status st = {.code = 77};
    int rc = weft_fiber_child_wait(&e->child, &st);
    FCHECK_EQ(st.code, 77); /* not written */
    return rc;
}
static void *wait_child(void *arg) {
    case_env *e = arg;
    weft_exit_status st;
    FCHECK_EQ(weft_fiber_child_wait(&e->child, &st), 0);
    return (void *)(intptr_t)st.signal;
}
static void check_child_wait(case_env *e) {
    /* The dropped wait lost nothing: the child runs, and its status comes
     * to the next wait. */
    assert_true(pid_exists(e->pid));
    assert_int_equal(weft_child_kill(&e->child, SIGKILL), 0);
    assert_int_equal((intptr_t)run_fiber_env(e, wait_child), SIGKILL);
    weft_child_close(&e->child);
    weft_command_destroy(e->cmd);
}

static void setup_talker(case_env *e) { spawn_child(e, "echo partial; exec sleep 30", true); }
static int await_child_output(case_env *e) {
    e->out.out_len = 99;
    int rc = weft_fiber_child_output(&e->child, &e->out);
    FCHECK(e->out.out == NULL && e->out.out_len == 0); /* emptied: what was read is freed */
    return rc;
}
static void check_closed_child(case_env *e) {
    assert_true(pid_exists(e->pid)); /* it runs on; its handle is ours */
    weft_child_close(&e->child);      /* kill on drop, reaped in the background */
    weft_command_destroy(e->cmd);
}

static void setup_command(case_env *e) {
    assert_int_equal(weft_command_create(&e->cmd, "/bin/sleep"), 0);
    assert_int_equal(weft_command_add_arg(e->cmd, "30"), 0);
    assert_int_equal(weft_command_set_kill_on_drop(e->cmd, true), 0);
}
static int await_command_output(case_env *e) {
    int rc = weft_fiber_command_output(e->cmd, &e->out);
    FCHECK(e->out.out == NULL && e->out.err == NULL);
    return rc;
}
static void check_command(case_env *e) {
    /* The dropped output closed its child: killed (kill on drop), reaped. */
    weft_command_destroy(e->cmd);
}

/* ---- tokens and trackers ---------------------------------------------------------------- */

static void setup_token(case_env *e) { assert_int_equal(weft_cancel_token_init(&e->token), 0); }
static int await_token(case_env *e) { return weft_fiber_cancel_token_cancelled(&e->token); }
static void check_token(case_env *e) {
    /* Destroying the last handle of a token that a wait still waits on
     * aborts the process: the dropped wait left its list. */
    assert_false(weft_cancel_token_is_cancelled(&e->token));
    weft_cancel_token_destroy(&e->token);
}

static void setup_tracker(case_env *e) { assert_int_equal(weft_task_tracker_create(&e->tracker), 0); }
static int await_tracker(case_env *e) { return weft_fiber_task_tracker_wait(e->tracker); }
static void check_tracker(case_env *e) {
    weft_task_tracker_close(e->tracker);
    weft_task_tracker_destroy(e->tracker); /* aborts if a wait were left */
}

/* ---- copies ------------------------------------------------------------------------------ */

static int await_copy(case_env *e) {
    FCHECK_EQ(weft_fiber_write_all(&e->a.stream, "hello", 5, NULL), 0);
    /* b -> c until b ends, which it does not. */
    return weft_fiber_copy(&e->b.stream, &e->c.stream, &e->n1);
}
static void check_copy(case_env *e) {
    assert_true(e->n1 <= 5);
    assert_int_equal(drain(&e->d), e->n1); /* what it reported is what arrived */
    close_pairs(e);
}

static int await_bidi(case_env *e) {
    FCHECK_EQ(weft_fiber_write_all(&e->a.stream, "hello", 5, NULL), 0);
    FCHECK_EQ(weft_fiber_write_all(&e->d.stream, "abc", 3, NULL), 0);
    return weft_fiber_copy_bidirectional(&e->b.stream, &e->c.stream, NULL, &e->n1, &e->n2);
}
static void check_bidi(case_env *e) {
    assert_true(e->n1 <= 5 && e->n2 <= 3);
    assert_int_equal(drain(&e->d), e->n1);
    assert_int_equal(drain(&e->a), e->n2);
    close_pairs(e);
}

static void setup_file(case_env *e) {
    setup_pairs(e);
    strcpy(e->path, "/tmp/weft-fiber-send-XXXXXX");
    e->fd = mkstemp(e->path);
    assert_true(e->fd >= 0);
    assert_int_equal(ftruncate(e->fd, BIG), 0);
}
static int await_sendfile(case_env *e) {
    return weft_fiber_sendfile(&e->a.stream, e->fd, 0, WEFT_SENDFILE_TO_END, &e->n1);
}
static void check_sendfile(case_env *e) {
    /* It stopped when the socket was full: the peer has exactly `done`. */
    assert_true(e->n1 > 0 && e->n1 < BIG);
    assert_int_equal(drain(&e->b), e->n1);
    close(e->fd);
    unlink(e->path);
    close_pairs(e);
}

/* ---- framing ------------------------------------------------------------------------------- */

static void setup_frames(case_env *e) {
    setup_pairs(e);
    assert_int_equal(weft_lines_codec_init(&e->lines, BIG, 0), 0);
    assert_int_equal(weft_framed_reader_init(&e->rd, &e->b.stream, &e->lines.codec, 0), 0);
    assert_int_equal(weft_framed_writer_init(&e->wr, &e->a.stream, &e->lines.codec, 0), 0);
    e->buf = malloc(BIG);
    memset(e->buf, 'x', BIG);
}
static void teardown_frames(case_env *e) {
    weft_framed_reader_destroy(&e->rd);
    weft_framed_writer_destroy(&e->wr);
    free(e->buf);
    close_pairs(e);
}

static int await_framed_read(case_env *e) {
    FCHECK_EQ(weft_fiber_write_all(&e->a.stream, "par", 3, NULL), 0);
    const unsigned char *data = NULL;
    int rc = weft_fiber_framed_read(&e->rd, &data, NULL);
    FCHECK(data == NULL);
    return rc;
}
static void *read_frame(void *arg) {
    case_env *e = arg;
    const unsigned char *data;
    size_t len;
    FCHECK_EQ(weft_fiber_framed_read(&e->rd, &data, &len), 1);
    FCHECK_EQ(len, 7);
    FCHECK(!memcmp(data, "partial", 7));
    return (void *)1;
}
static void check_framed_read(case_env *e) {
    /* The bytes the dropped read took stay in the reader. */
    assert_int_equal(write(weft_unix_stream_fd(&e->a), "tial\n", 5), 5);
    assert_int_equal((uintptr_t)run_fiber_env(e, read_frame), 1);
    teardown_frames(e);
}

static int await_framed_send(case_env *e) {
    /* Accepted at once, then the flush waits: the socket holds less. */
    return weft_fiber_framed_send(&e->wr, e->buf, BIG - 1, &e->accepted);
}
/* What the flush did not write stays buffered: with what the peer got,
 * the whole line. */
static void check_framed_flush(case_env *e) {
    size_t left = weft_framed_writer_buffered(&e->wr);
    assert_true(left > 0);
    assert_int_equal(drain(&e->b) + left, BIG); /* the line and its "\n" */
    teardown_frames(e);
}
static void check_framed_send(case_env *e) {
    assert_true(e->accepted); /* in the writer: nothing lost */
    check_framed_flush(e);
}

static int await_framed_flush(case_env *e) {
    FCHECK_EQ(weft_fiber_framed_write(&e->wr, e->buf, BIG - 1), 0);
    FCHECK_EQ(weft_framed_writer_buffered(&e->wr), BIG);
    return weft_fiber_framed_flush(&e->wr);
}

/* ---- a name lookup that never ends on its own ---------------------------------------------- */

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static weft_lookup *held;
static atomic_int held_cancels, held_starts;

static int held_start(void *self, weft_lookup *l) {
    (void)self;
    pthread_mutex_lock(&held_lock);
    held = l;
    pthread_mutex_unlock(&held_lock);
    atomic_fetch_add(&held_starts, 1);
    return 0;
}
/* Completes the held lookup once, whoever comes first. */
static void held_finish(int result) {
    pthread_mutex_lock(&held_lock);
    weft_lookup *l = held;
    held = NULL;
    pthread_mutex_unlock(&held_lock);
    if (l) weft_lookup_complete(l, result);
}
static void held_cancel(void *self, weft_lookup *l) {
    (void)self;
    (void)l;
    atomic_fetch_add(&held_cancels, 1);
    held_finish(-ECANCELED);
}
static void held_shutdown(void *self) {
    (void)self;
    held_finish(-ESHUTDOWN);
}
static const weft_resolver_vtable held_vt = {"held", held_start, held_cancel, held_shutdown, NULL};

static void setup_resolver(case_env *e) {
    static int self;
    assert_int_equal(weft_resolver_install(e->rt, &held_vt, &self), 0);
    atomic_store(&held_cancels, 0);
    atomic_store(&held_starts, 0);
    memset(e->addrs, 0xab, sizeof e->addrs);
}
static int await_resolve(case_env *e) { return weft_fiber_resolve("held.test:80", e->addrs, 4); }
static void check_resolve(case_env *e) {
    assert_int_equal(atomic_load(&held_starts), 1);
    assert_int_equal(atomic_load(&held_cancels), 1); /* the resolver was told */
    pthread_mutex_lock(&held_lock);
    assert_null(held); /* and completed it */
    pthread_mutex_unlock(&held_lock);
    unsigned char *p = (unsigned char *)e->addrs;
    for (size_t i = 0; i < sizeof e->addrs; i++) assert_int_equal(p[i], 0xab); /* untouched */
}

static bool ctrl_c_listens(case_env *e) {
    (void)e;
    return disposition(SIGINT) != (void *)SIG_DFL;
}
static bool child_spawned(case_env *e) {
    (void)e;
    return children_in_state(0) == 1;
}
static bool lookup_started(case_env *e) {
    (void)e;
    return atomic_load(&held_starts) == 1;
}

static const toolkit_case cases[] = {
    {"signal recv", setup_signal, await_signal, check_signal, NULL},
    {"ctrl_c", setup_nothing, await_ctrl_c, check_ctrl_c, ctrl_c_listens},
    {"child wait", setup_sleeper, await_child_wait, check_child_wait, NULL},
    {"child output", setup_talker, await_child_output, check_closed_child, NULL},
    {"command output", setup_command, await_command_output, check_command, child_spawned},
    {"cancel token", setup_token, await_token, check_token, NULL},
    {"tracker wait", setup_tracker, await_tracker, check_tracker, NULL},
    {"copy", setup_pairs, await_copy, check_copy, NULL},
    {"copy_bidirectional", setup_pairs, await_bidi, check_bidi, NULL},
    {"sendfile", setup_file, await_sendfile, check_sendfile, NULL},
    {"framed read", setup_frames, await_framed_read, check_framed_read, NULL},
    {"framed send", setup_frames, await_framed_send, check_framed_send, NULL},
    {"framed flush", setup_frames, await_framed_flush, check_framed_flush, NULL},
    {"resolve", setup_resolver, await_resolve, check_resolve, lookup_started},
};

/* ---- the fiber under test ------------------------------------------------------------------ */

static const toolkit_case *current;

static void *case_body(void *arg) {
    case_env *e = arg;
    char *held_mem = malloc(64); /* what the fiber holds in its locals */
    FCHECK(held_mem);
    atomic_store(&e->phase, 1);
    e->rc = current->await_it(e);
    e->later = weft_fiber_sleep(1); /* at once: cancelled */
    free(held_mem);
    atomic_fetch_add(&e->released, 1);
    return NULL;
}

/* Lets the runtime run until the fiber has reached its wait, and a little
 * more (the wait may take a few polls to be pending: a child's output
 * reads what is there first). Whether the abort finds the call pending or
 * about to be, the call must return -ECANCELED and leave nothing. */
static void wait_for_phase(case_env *e, const toolkit_case *c) {
    for (int i = 0; atomic_load(&e->phase) < 1 || (c->pending && !c->pending(e) && i < 30000); i++) {
        weft_sleep s;
        assert_int_equal(weft_block_on(e->rt, weft_sleep_init(&s, 1)), 0);
    }
    weft_sleep s;
    assert_int_equal(weft_block_on(e->rt, weft_sleep_init(&s, 20)), 0);
}

static void run_case(const toolkit_case *c) {
    int fds = fd_count();
    case_env *e = calloc(1, sizeof *e);
    e->rt = rt_new();
    current = c;
    c->setup(e);
    weft_join_handle h = weft_fiber_spawn(e->rt, case_body, e, NULL);
    wait_for_phase(e, c);
    weft_join_handle_abort(&h);
    assert_int_equal(weft_block_on(e->rt, &h.base), 0);
    if (h.result != -ECANCELED || e->rc != -ECANCELED)
        fail_msg("case %s: join %d, call %d", c->name, h.result, e->rc);
    assert_int_equal(e->later, -ECANCELED);
    assert_int_equal(atomic_load(&e->released), 1);
    c->check(e);
    weft_runtime_destroy(e->rt);
    free(e);
    WAIT_UNTIL(children_in_state(0) == 0);
    if (children_in_state(0) != 0) fail_msg("case %s: a child is left", c->name);
    WAIT_UNTIL(fd_count() <= fds);
    if (fd_count() != fds) fail_msg("case %s: %d descriptors, %d before", c->name, fd_count(), fds);
}

static void test_abort_mid_call(void **state) {
    (void)state;
    warm_up_signals(); /* weft's service thread keeps two descriptors */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abort_mid_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
