/* The service toolkit from fibers: every blocking-style call of signals
 * (recv, ctrl_c), child processes (wait, child output, command output, the
 * pipes through the stream calls and weft_fiber_shutdown), cancellation
 * tokens, task trackers (wait, fibers spawned through a tracker), copy,
 * copy_bidirectional, sendfile, framing (read, write, send, flush) and
 * name lookups, with real programs, sockets and files: results and errors
 * as the futures say, -EPERM outside a fiber. The cancellation of each is
 * tests/test_fiber_toolkit_cancel.c.
 * weft-test: threaded  weft-test: io  weft-test: timeout=300 */
#include <fcntl.h>

#include "fiber_support.h"
#include "process_support.h"
#include "weft/frame.h"

static weft_runtime *g_rt;

/* ---- signals ----------------------------------------------------------------------- */

static atomic_int listening;

static void *signal_body(void *arg) {
    (void)arg;
    weft_signal s;
    FCHECK_EQ(weft_signal_init(&s, SIGUSR1), 0);
    atomic_store(&listening, 1);
    FCHECK_EQ(weft_fiber_signal_recv(&s), 0); /* the test thread sends it */
    weft_signal_destroy(&s);
    FCHECK_EQ(weft_fiber_signal_recv(&s), -EBADF);
    FCHECK_EQ(weft_fiber_signal_recv(NULL), -EINVAL);
    /* ctrl_c: listening from its call on; SIGINT's default is back after. */
    atomic_store(&listening, 2);
    FCHECK_EQ(weft_fiber_ctrl_c(), 0);
    FCHECK(disposition(SIGINT) == (void *)SIG_DFL);
    return (void *)1;
}

static void *send_signals(void *arg) {
    (void)arg;
    WAIT_UNTIL(atomic_load(&listening) == 1);
    /* Deliveries until the fiber has seen one (it started listening at
     * signal_init, so the first already counts; repeats coalesce). */
    while (atomic_load(&listening) == 1) {
        kill(getpid(), SIGUSR1);
        sleep_ms(5);
    }
    WAIT_UNTIL(disposition(SIGINT) != (void *)SIG_DFL); /* ctrl_c listens */
    kill(getpid(), SIGINT);
    return NULL;
}

static void test_signals(void **state) {
    (void)state;
    g_rt = rt_new();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, send_signals, NULL), 0);
    /* The signals go to the sender thread, which does not block them:
     * this thread waits in a futex that ThreadSanitizer's deferred signal
     * delivery would never interrupt. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    assert_int_equal((uintptr_t)run_fiber(g_rt, signal_body, NULL), 1);
    pthread_join(th, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    weft_runtime_destroy(g_rt);
}

/* ---- child processes ------------------------------------------------------------------ */

static weft_command *sh(const char *script) {
    weft_command *c;
    FCHECK_EQ(weft_command_create(&c, "/bin/sh"), 0);
    FCHECK_EQ(weft_command_add_arg(c, "-c"), 0);
    FCHECK_EQ(weft_command_add_arg(c, script), 0);
    return c;
}

static void *process_body(void *arg) {
    (void)arg;
    weft_child child;
    weft_exit_status st;

    /* Exit codes and signals. */
    weft_command *c = sh("exit 3");
    FCHECK_EQ(weft_command_spawn(c, NULL, &child), 0);
    FCHECK_EQ(weft_fiber_child_wait(&child, &st), 0);
    FCHECK_EQ(st.code, 3);
    FCHECK_EQ(st.signal, 0);
    FCHECK_EQ(weft_fiber_child_wait(&child, NULL), 0); /* kept for every later wait */
    weft_child_close(&child);
    FCHECK_EQ(weft_fiber_child_wait(&child, &st), -EBADF);
    weft_command_destroy(c);
    c = sh("sleep 30");
    FCHECK_EQ(weft_command_spawn(c, NULL, &child), 0);
    FCHECK_EQ(weft_child_kill(&child, SIGTERM), 0);
    FCHECK_EQ(weft_fiber_child_wait(&child, &st), 0);
    FCHECK_EQ(st.signal, SIGTERM);
    FCHECK_EQ(st.code, -1);
    weft_child_close(&child);
    weft_command_destroy(c);

    /* cat through both pipes, with the stream calls of weft/fiber.h. */
    FCHECK_EQ(weft_command_create(&c, "/bin/cat"), 0);
    weft_command_set_stdin(c, WEFT_STDIO_PIPE);
    weft_command_set_stdout(c, WEFT_STDIO_PIPE);
    FCHECK_EQ(weft_command_spawn(c, NULL, &child), 0);
    FCHECK_EQ(weft_fiber_write_all(&child.in.stream, "hello", 5, NULL), 0);
    FCHECK_EQ(weft_fiber_write(&child.in.stream, " cat", 4), 4);
    FCHECK_EQ(weft_fiber_shutdown(&child.in.stream), 0); /* end of file for cat */
    char buf[16] = {0};
    FCHECK_EQ(weft_fiber_read_exact(&child.out.stream, buf, 9, NULL), 0);
    FCHECK(!memcmp(buf, "hello cat", 9));
    FCHECK_EQ(weft_fiber_read(&child.out.stream, buf, sizeof buf), 0);
    FCHECK_EQ(weft_fiber_child_wait(&child, &st), 0);
    FCHECK(weft_exit_status_success(&st));
    weft_child_close(&child);

    /* wait with output: stdin closed, both pipes read at once (a flood of
     * stderr does not block the child on a full pipe). */
    weft_command_set_stdin(c, WEFT_STDIO_PIPE);
    weft_command_set_stdout(c, WEFT_STDIO_PIPE);
    weft_command_destroy(c);
    c = sh("head -c 300000 /dev/zero >&2; echo out");
    weft_command_set_stdin(c, WEFT_STDIO_PIPE);
    weft_command_set_stdout(c, WEFT_STDIO_PIPE);
    weft_command_set_stderr(c, WEFT_STDIO_PIPE);
    FCHECK_EQ(weft_command_spawn(c, NULL, &child), 0);
    weft_output out;
    FCHECK_EQ(weft_fiber_child_output(&child, &out), 0);
    FCHECK_EQ(out.out_len, 4);
    FCHECK(!strcmp(out.out, "out\n"));
    FCHECK_EQ(out.err_len, 300000);
    FCHECK(weft_exit_status_success(&out.status));
    weft_output_destroy(&out);
    weft_child_close(&child);
    FCHECK_EQ(weft_fiber_child_output(&child, &out), -EBADF); /* closed */
    weft_output_destroy(&out);
    weft_command_destroy(c);

    /* command output. */
    c = sh("printf hi; printf oops >&2; exit 1");
    FCHECK_EQ(weft_fiber_command_output(c, &out), 0);
    FCHECK_EQ(out.status.code, 1);
    FCHECK(!strcmp(out.out, "hi"));
    FCHECK(!strcmp(out.err, "oops"));
    weft_output_destroy(&out);
    FCHECK_EQ(weft_fiber_command_output(c, NULL), 0); /* the output discarded */
    weft_command_destroy(c);
    FCHECK_EQ(weft_command_create(&c, "/nonexistent/weft-program"), 0);
    FCHECK_EQ(weft_fiber_command_output(c, &out), -ENOENT);
    weft_output_destroy(&out); /* empty: nothing to free, safe */
    weft_command_destroy(c);
    return (void *)1;
}

static void test_processes(void **state) {
    (void)state;
    warm_up_signals(); /* weft's service thread keeps two descriptors */
    int fds = fd_count();
    g_rt = rt_new();
    assert_int_equal((uintptr_t)run_fiber(g_rt, process_body, NULL), 1);
    WAIT_UNTIL(children_in_state(0) == 0);
    assert_int_equal(children_in_state(0), 0);
    weft_runtime_destroy(g_rt);
    WAIT_UNTIL(fd_count() <= fds);
    assert_int_equal(fd_count(), fds);
}

/* ---- cancellation tokens and task trackers -------------------------------------------- */

static weft_cancel_token root, leaf;
static atomic_int token_woken;

static void *token_waiter(void *arg) {
    (void)arg;
    FCHECK_EQ(weft_fiber_cancel_token_cancelled(&leaf), 0);
    atomic_fetch_add(&token_woken, 1);
    return NULL;
}

static atomic_int worker_runs, worker_done;

static void *tracked_worker(void *arg) {
    atomic_fetch_add(&worker_runs, 1);
    if (weft_fiber_sleep((uint64_t)(uintptr_t)arg) == 0) atomic_fetch_add(&worker_done, 1);
    return NULL;
}

static atomic_int arg_drops;
static void count_arg_drop(void *arg) {
    (void)arg;
    atomic_fetch_add(&arg_drops, 1);
}

static void *shutdown_body(void *arg) {
    (void)arg;
    /* A token: the waiter fibers wake when the root is cancelled. */
    FCHECK_EQ(weft_cancel_token_init(&root), 0);
    FCHECK_EQ(weft_cancel_token_child(&leaf, &root), 0);
    weft_join_handle w[3];
    for (int i = 0; i < 3; i++) w[i] = weft_fiber_spawn(g_rt, token_waiter, NULL, NULL);
    FCHECK_EQ(weft_fiber_sleep(5), 0);
    FCHECK_EQ(atomic_load(&token_woken), 0);
    weft_cancel_token_cancel(&root);
    for (int i = 0; i < 3; i++) FCHECK_EQ(weft_fiber_join(&w[i], NULL), 0);
    FCHECK_EQ(atomic_load(&token_woken), 3);
    FCHECK_EQ(weft_fiber_cancel_token_cancelled(&leaf), 0); /* already: at once */
    weft_cancel_token empty = {0};
    FCHECK_EQ(weft_fiber_cancel_token_cancelled(&empty), -EINVAL);
    weft_cancel_token_destroy(&leaf);
    weft_cancel_token_destroy(&root);

    /* A tracker: fibers spawned through it, closed, waited for. */
    weft_task_tracker *tr;
    FCHECK_EQ(weft_task_tracker_create(&tr), 0);
    for (uintptr_t i = 0; i < 8; i++)
        weft_join_handle_detach_value(weft_task_tracker_spawn_fiber(tr, g_rt, tracked_worker,
                                                                    (void *)(i * 3), NULL));
    FCHECK(weft_task_tracker_len(tr) >= 1);
    weft_task_tracker_close(tr);
    FCHECK_EQ(weft_fiber_task_tracker_wait(tr), 0);
    FCHECK_EQ(atomic_load(&worker_done), 8); /* every one had finished */
    FCHECK_EQ(weft_task_tracker_len(tr), 0);
    FCHECK_EQ(weft_fiber_task_tracker_wait(tr), 0); /* closed and empty: at once */
    /* A tracked fiber that is aborted stops counting. */
    weft_task_tracker_reopen(tr);
    weft_join_handle h = weft_task_tracker_spawn_fiber(tr, g_rt, tracked_worker, (void *)1000000, NULL);
    FCHECK_EQ(weft_fiber_sleep(5), 0);
    FCHECK_EQ(weft_task_tracker_len(tr), 1);
    weft_join_handle_abort(&h);
    FCHECK_EQ(weft_fiber_join(&h, NULL), -ECANCELED);
    weft_task_tracker_close(tr);
    FCHECK_EQ(weft_fiber_task_tracker_wait(tr), 0);
    FCHECK_EQ(atomic_load(&worker_done), 8);
    /* A spawn that cannot happen is not counted and drops its argument. */
    weft_fiber_options o = {.arg_drop = count_arg_drop};
    h = weft_task_tracker_spawn_fiber(NULL, g_rt, tracked_worker, NULL, &o);
    FCHECK_EQ(weft_fiber_join(&h, NULL), -EINVAL);
    h = weft_task_tracker_spawn_fiber(tr, NULL, tracked_worker, NULL, &o);
    FCHECK_EQ(weft_fiber_join(&h, NULL), -EINVAL);
    h = weft_task_tracker_spawn_fiber(tr, g_rt, NULL, NULL, &o);
    FCHECK_EQ(weft_fiber_join(&h, NULL), -EINVAL);
    FCHECK_EQ(atomic_load(&arg_drops), 3);
    FCHECK_EQ(weft_task_tracker_len(tr), 0);
    FCHECK_EQ(weft_fiber_task_tracker_wait(NULL), -EINVAL);
    weft_task_tracker_destroy(tr);
    FCHECK_EQ(atomic_load(&worker_runs), 9);
    return (void *)1;
}

static void test_tokens_and_trackers(void **state) {
    (void)state;
    g_rt = rt_new();
    assert_int_equal((uintptr_t)run_fiber(g_rt, shutdown_body, NULL), 1);
    weft_runtime_destroy(g_rt);
}

/* ---- copy, copy_bidirectional, sendfile ----------------------------------------------- */

static weft_unix_stream p1a, p1b, p2a, p2b; /* p1a <-> p1b, p2a <-> p2b */

static void *bidi_proxy(void *arg) {
    (void)arg;
    uint64_t ab = 0, ba = 0;
    int rc = weft_fiber_copy_bidirectional(&p1b.stream, &p2a.stream, NULL, &ab, &ba);
    FCHECK_EQ(rc, 0);
    FCHECK_EQ(ab, 5);
    FCHECK_EQ(ba, 3);
    return (void *)1;
}

static void *copy_proxy(void *arg) {
    (void)arg;
    uint64_t total = 0;
    FCHECK_EQ(weft_fiber_copy(&p1b.stream, &p2a.stream, &total), 0);
    FCHECK_EQ(total, 100000);
    return (void *)1;
}

static void *read_99000(void *arg) {
    FCHECK_EQ(weft_fiber_read_exact(&p1b.stream, arg, 99000, NULL), 0);
    return (void *)1;
}

static void *copy_body(void *arg) {
    const char *dir = arg;
    char buf[64];
    /* copy_bidirectional: bytes and half-closes both ways. */
    FCHECK_EQ(weft_unix_stream_pair(&p1a, &p1b, g_rt), 0);
    FCHECK_EQ(weft_unix_stream_pair(&p2a, &p2b, g_rt), 0);
    weft_join_handle proxy = weft_fiber_spawn(g_rt, bidi_proxy, NULL, NULL);
    FCHECK_EQ(weft_fiber_write_all(&p1a.stream, "hello", 5, NULL), 0);
    FCHECK_EQ(weft_fiber_shutdown(&p1a.stream), 0);
    FCHECK_EQ(weft_fiber_read_exact(&p2b.stream, buf, 5, NULL), 0);
    FCHECK(!memcmp(buf, "hello", 5));
    FCHECK_EQ(weft_fiber_read(&p2b.stream, buf, sizeof buf), 0); /* the half-close came through */
    FCHECK_EQ(weft_fiber_write_all(&p2b.stream, "abc", 3, NULL), 0);
    FCHECK_EQ(weft_fiber_shutdown(&p2b.stream), 0);
    FCHECK_EQ(weft_fiber_read_exact(&p1a.stream, buf, 3, NULL), 0);
    FCHECK_EQ(weft_fiber_read(&p1a.stream, buf, sizeof buf), 0);
    void *ok = NULL;
    FCHECK_EQ(weft_fiber_join(&proxy, &ok), 0);
    FCHECK(ok == (void *)1);
    FCHECK_EQ(weft_fiber_copy_bidirectional(NULL, &p1a.stream, NULL, NULL, NULL), -EINVAL);
    weft_unix_stream_close(&p1a);
    weft_unix_stream_close(&p1b);
    weft_unix_stream_close(&p2a);
    weft_unix_stream_close(&p2b);

    /* copy: one way, until the source ends. */
    FCHECK_EQ(weft_unix_stream_pair(&p1a, &p1b, g_rt), 0);
    FCHECK_EQ(weft_unix_stream_pair(&p2a, &p2b, g_rt), 0);
    proxy = weft_fiber_spawn(g_rt, copy_proxy, NULL, NULL);
    unsigned char *big = malloc(100000), *got = malloc(100000);
    for (int i = 0; i < 100000; i++) big[i] = (unsigned char)(i * 7);
    FCHECK_EQ(weft_fiber_write_all(&p1a.stream, big, 100000, NULL), 0);
    FCHECK_EQ(weft_fiber_shutdown(&p1a.stream), 0);
    FCHECK_EQ(weft_fiber_read_exact(&p2b.stream, got, 100000, NULL), 0);
    FCHECK(!memcmp(big, got, 100000));
    FCHECK_EQ(weft_fiber_join(&proxy, &ok), 0);
    FCHECK(ok == (void *)1);
    weft_unix_stream_close(&p1a);
    weft_unix_stream_close(&p1b);
    weft_unix_stream_close(&p2a);
    weft_unix_stream_close(&p2b);

    /* sendfile: a file's range to a Unix stream (the kernel path), more
     * than the socket holds, so a reader fiber drains it meanwhile. */
    char path[300];
    snprintf(path, sizeof path, "%s/send", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FCHECK(fd >= 0);
    FCHECK_EQ(write(fd, big, 100000), 100000);
    FCHECK_EQ(weft_unix_stream_pair(&p1a, &p1b, g_rt), 0);
    memset(got, 0, 100000);
    weft_join_handle rdr = weft_fiber_spawn(g_rt, read_99000, got, NULL);
    uint64_t done = 0;
    FCHECK_EQ(weft_fiber_sendfile(&p1a.stream, fd, 1000, WEFT_SENDFILE_TO_END, &done), 0);
    FCHECK_EQ(done, 99000);
    FCHECK_EQ(weft_fiber_join(&rdr, &ok), 0);
    FCHECK(ok == (void *)1);
    FCHECK(!memcmp(got, big + 1000, 99000));
    FCHECK_EQ(lseek(fd, 0, SEEK_CUR), 100000); /* its position did not move */
    /* The file ends before the count: -ENODATA after what it had. */
    FCHECK_EQ(weft_fiber_sendfile(&p1a.stream, fd, 99990, 100, &done), -ENODATA);
    FCHECK_EQ(done, 10);
    FCHECK_EQ(weft_fiber_read_exact(&p1b.stream, got, 10, NULL), 0);
    FCHECK(!memcmp(got, big + 99990, 10));
    /* A descriptor that cannot be read at an offset, a bad offset. */
    int pfd[2];
    FCHECK_EQ(pipe2(pfd, O_CLOEXEC), 0);
    FCHECK_EQ(weft_fiber_sendfile(&p1a.stream, pfd[0], 0, 10, &done), -ESPIPE);
    FCHECK_EQ(done, 0);
    FCHECK_EQ(weft_fiber_sendfile(&p1a.stream, fd, -1, 10, NULL), -EINVAL);
    close(pfd[0]);
    close(pfd[1]);
    close(fd);
    free(big);
    free(got);
    weft_unix_stream_close(&p1a);
    weft_unix_stream_close(&p1b);
    return (void *)1;
}

static void test_copies(void **state) {
    (void)state;
    g_rt = rt_new();
    char dir[] = "/tmp/weft-fiber-toolkit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal((uintptr_t)run_fiber(g_rt, copy_body, dir), 1);
    char path[300];
    snprintf(path, sizeof path, "%s/send", dir);
    unlink(path);
    rmdir(dir);
    weft_runtime_destroy(g_rt);
}

/* ---- framing -------------------------------------------------------------------------- */

static void *frame_body(void *arg) {
    (void)arg;
    weft_lines_codec lines;
    FCHECK_EQ(weft_lines_codec_init(&lines, 16, 0), 0);
    FCHECK_EQ(weft_unix_stream_pair(&p1a, &p1b, g_rt), 0);
    weft_framed_writer w;
    weft_framed_reader r;
    FCHECK_EQ(weft_framed_writer_init(&w, &p1a.stream, &lines.codec, 0), 0);
    FCHECK_EQ(weft_framed_reader_init(&r, &p1b.stream, &lines.codec, 0), 0);

    FCHECK_EQ(weft_fiber_framed_write(&w, "one", 3), 0);
    FCHECK_EQ(weft_framed_writer_buffered(&w), 4); /* accepted, not yet written */
    bool accepted = false;
    FCHECK_EQ(weft_fiber_framed_send(&w, "two", 3, &accepted), 0);
    FCHECK(accepted);
    FCHECK_EQ(weft_framed_writer_buffered(&w), 0);
    FCHECK_EQ(weft_fiber_framed_write(&w, "three", 5), 0);
    FCHECK_EQ(weft_fiber_framed_write(&w, "a line longer than sixteen", 26), -EMSGSIZE);
    FCHECK_EQ(weft_fiber_framed_send(&w, "bad\nline", 8, &accepted), -EINVAL);
    FCHECK(!accepted);
    FCHECK_EQ(weft_fiber_framed_flush(&w), 0);

    const unsigned char *data = NULL;
    size_t len = 0;
    const char *want[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
        FCHECK_EQ(weft_fiber_framed_read(&r, &data, &len), 1);
        FCHECK_EQ(len, strlen(want[i]));
        FCHECK(!memcmp(data, want[i], len));
    }
    /* A peer that ends mid-frame; then the clean end after a frame. */
    FCHECK_EQ(weft_fiber_write_all(&p1a.stream, "four\nfiv", 9, NULL), 0);
    FCHECK_EQ(weft_fiber_shutdown(&p1a.stream), 0);
    FCHECK_EQ(weft_fiber_framed_read(&r, &data, &len), 1);
    FCHECK_EQ(len, 4);
    data = NULL;
    FCHECK_EQ(weft_fiber_framed_read(&r, &data, &len), -WEFT_ETRUNCATED);
    FCHECK(data == NULL); /* written only for a frame */
    weft_framed_reader_destroy(&r);
    weft_framed_writer_destroy(&w);
    FCHECK_EQ(weft_fiber_framed_read(&r, &data, &len), -EBADF);
    FCHECK_EQ(weft_fiber_framed_flush(&w), -EBADF);
    weft_unix_stream_close(&p1a);
    weft_unix_stream_close(&p1b);

    /* Length-prefixed frames, and a frame over the maximum read. */
    weft_length_codec lc;
    FCHECK_EQ(weft_length_codec_init(&lc, 2, WEFT_BIG_ENDIAN, 8), 0);
    FCHECK_EQ(weft_unix_stream_pair(&p1a, &p1b, g_rt), 0);
    FCHECK_EQ(weft_framed_writer_init(&w, &p1a.stream, &lc.codec, 0), 0);
    FCHECK_EQ(weft_framed_reader_init(&r, &p1b.stream, &lc.codec, 0), 0);
    FCHECK_EQ(weft_fiber_framed_send(&w, "12345678", 8, NULL), 0);
    FCHECK_EQ(weft_fiber_framed_read(&r, &data, &len), 1);
    FCHECK_EQ(len, 8);
    FCHECK_EQ(weft_fiber_write_all(&p1a.stream, "\0\x09", 2, NULL), 0);
    FCHECK_EQ(weft_fiber_framed_read(&r, &data, &len), -EMSGSIZE);
    weft_framed_reader_destroy(&r);
    weft_framed_writer_destroy(&w);
    weft_unix_stream_close(&p1a);
    weft_unix_stream_close(&p1b);
    return (void *)1;
}

static void test_framing(void **state) {
    (void)state;
    g_rt = rt_new();
    assert_int_equal((uintptr_t)run_fiber(g_rt, frame_body, NULL), 1);
    weft_runtime_destroy(g_rt);
}

/* ---- name lookups ---------------------------------------------------------------------- */

static void *resolve_body(void *arg) {
    (void)arg;
    weft_sockaddr out[4];
    char buf[WEFT_SOCKADDR_STRLEN];
    FCHECK_EQ(weft_fiber_resolve("127.0.0.1:80", out, 4), 1);
    weft_sockaddr_format(&out[0], buf, sizeof buf);
    FCHECK(!strcmp(buf, "127.0.0.1:80"));
    FCHECK(weft_fiber_resolve("localhost:7", out, 4) >= 1); /* the runtime's resolver */
    FCHECK_EQ(weft_sockaddr_port(&out[0]), 7);
    FCHECK_EQ(weft_fiber_resolve("no-port-here", out, 4), -EINVAL);
    FCHECK_EQ(weft_fiber_resolve("127.0.0.1:80", out, 0), -ENOSPC);
    FCHECK_EQ(weft_fiber_resolve("weft-no-such-host.invalid:80", out, 4) < 0, 1);
    return (void *)1;
}

static void test_resolve(void **state) {
    (void)state;
    g_rt = rt_new();
    assert_int_equal((uintptr_t)run_fiber(g_rt, resolve_body, NULL), 1);
    weft_runtime_destroy(g_rt);
}

/* ---- outside a fiber --------------------------------------------------------------------- */

static void test_outside_a_fiber(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_signal s = {0};
    assert_int_equal(weft_fiber_signal_recv(&s), -EPERM);
    assert_int_equal(weft_fiber_ctrl_c(), -EPERM);
    assert_ptr_equal(disposition(SIGINT), (void *)SIG_DFL);
    weft_child c = {0};
    weft_exit_status st = {.code = 77};
    assert_int_equal(weft_fiber_child_wait(&c, &st), -EPERM);
    assert_int_equal(st.code, 77);
    weft_output o = {.out_len = 9};
    assert_int_equal(weft_fiber_child_output(&c, &o), -EPERM);
    assert_int_equal(o.out_len, 0); /* emptied: destroying it is safe */
    weft_command *cmd;
    assert_int_equal(weft_command_create(&cmd, "/bin/true"), 0);
    assert_int_equal(weft_fiber_command_output(cmd, &o), -EPERM);
    assert_int_equal(children_in_state(0), 0); /* nothing spawned */
    weft_command_destroy(cmd);
    weft_cancel_token t;
    assert_int_equal(weft_cancel_token_init(&t), 0);
    assert_int_equal(weft_fiber_cancel_token_cancelled(&t), -EPERM);
    weft_cancel_token_destroy(&t); /* the wait left nothing behind */
    weft_task_tracker *tr;
    assert_int_equal(weft_task_tracker_create(&tr), 0);
    assert_int_equal(weft_fiber_task_tracker_wait(tr), -EPERM);
    weft_task_tracker_destroy(tr);
    weft_unix_stream a, b;
    assert_int_equal(weft_unix_stream_pair(&a, &b, rt), 0);
    uint64_t n = 5;
    assert_int_equal(weft_fiber_copy(&a.stream, &b.stream, &n), -EPERM);
    assert_int_equal(n, 0);
    assert_int_equal(weft_fiber_copy_bidirectional(&a.stream, &b.stream, NULL, &n, NULL), -EPERM);
    assert_int_equal(weft_fiber_sendfile(&a.stream, 0, 0, 1, &n), -EPERM);
    assert_int_equal(weft_fiber_write(&a.stream, "x", 1), -EPERM);
    assert_int_equal(weft_fiber_flush(&a.stream), -EPERM);
    assert_int_equal(weft_fiber_shutdown(&a.stream), -EPERM);
    weft_lines_codec lines;
    weft_lines_codec_init(&lines, 8, 0);
    weft_framed_reader r;
    weft_framed_writer w;
    assert_int_equal(weft_framed_reader_init(&r, &b.stream, &lines.codec, 0), 0);
    assert_int_equal(weft_framed_writer_init(&w, &a.stream, &lines.codec, 0), 0);
    assert_int_equal(weft_fiber_framed_read(&r, NULL, NULL), -EPERM);
    assert_int_equal(weft_fiber_framed_write(&w, "x", 1), -EPERM);
    bool acc = true;
    assert_int_equal(weft_fiber_framed_send(&w, "x", 1, &acc), -EPERM);
    assert_false(acc);
    assert_int_equal(weft_fiber_framed_flush(&w), -EPERM);
    assert_int_equal(weft_framed_writer_buffered(&w), 0);
    weft_framed_reader_destroy(&r);
    weft_framed_writer_destroy(&w);
    weft_unix_stream_close(&a);
    weft_unix_stream_close(&b);
    weft_sockaddr out[1];
    assert_int_equal(weft_fiber_resolve("127.0.0.1:1", out, 1), -EPERM);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals),
        cmocka_unit_test(test_processes),
        cmocka_unit_test(test_tokens_and_trackers),
        cmocka_unit_test(test_copies),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_outside_a_fiber),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
