/* The child-process scenarios, shared by test_process.c (pidfd waits) and
 * test_fault_process.c (the same scenarios with pidfd_open failing: SIGCHLD
 * waits). Each test_* function here is a complete cmocka test. */
#ifndef WEFT_TEST_PROCESS_CASES_H
#define WEFT_TEST_PROCESS_CASES_H

#include "process_support.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

/* A command for `prog` with the NULL-terminated arguments that follow. */
static weft_command *cmd_new(const char *prog, ...) {
    weft_command *c;
    assert_int_equal(weft_command_create(&c, prog), 0);
    va_list ap;
    va_start(ap, prog);
    const char *a;
    while ((a = va_arg(ap, const char *))) assert_int_equal(weft_command_add_arg(c, a), 0);
    va_end(ap);
    return c;
}

/* The state every test starts from and must end in: weft's service thread
 * started (it keeps two descriptors), no child. */
typedef struct baseline {
    int fds;
} baseline;

static baseline baseline_take(void) {
    warm_up_signals();
    assert_int_equal(children_in_state(0), 0);
    return (baseline){fd_count()};
}

/* Children closed without a wait are reaped in the background: wait for
 * it. The destroyed runtime's wakeup descriptor may outlive
 * weft_runtime_destroy for a moment (see fd_count_settled). */
static void baseline_check(baseline b) {
    WAIT_UNTIL(children_in_state(0) == 0);
    assert_int_equal(children_in_state(0), 0);
    assert_int_equal(fd_count_settled(b.fds), b.fds);
}

/* ---- cat: both pipes, with every kind of helper --------------------------- */

#define CAT_BYTES (300 * 1000)

typedef struct feeder {
    WEFT_CORO_FIELDS;
    weft_stream *to;
    const unsigned char *data;
    size_t len;
    weft_write_all w;
    weft_flush sh;
    int out;
} feeder;

WEFT_ASYNC(feeder, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_write_all_init(&self->w, self->to, self->data, self->len));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_shutdown_init(&self->sh, self->to)); /* EOF to the child */
    self->out = self->sh.result;
    WEFT_END();
}

typedef struct cat_case {
    WEFT_CORO_FIELDS;
    weft_command *cmd;
    weft_child child;
    unsigned char *data, *back;
    feeder f;
    weft_join_handle h;
    weft_bufreader br;
    weft_read_until line;
    char first[64];
    weft_read_exact rx;
    weft_read rd;
    weft_child_wait wait;
} cat_case;

WEFT_ASYNC(cat_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_command_set_stdin(self->cmd, WEFT_STDIO_PIPE), 0);
    assert_int_equal(weft_command_set_stdout(self->cmd, WEFT_STDIO_PIPE), 0);
    assert_int_equal(weft_command_spawn(self->cmd, NULL, &self->child), 0);
    assert_true(weft_child_pid(&self->child) > 0);
    assert_true(weft_child_pipe_fd(&self->child.in) > 2);
    assert_int_equal(weft_child_pipe_fd(&self->child.err), -EBADF); /* not piped */
    /* More than the pipes hold: writing and reading must overlap. */
    for (size_t i = 0; i < CAT_BYTES; i++) self->data[i] = (unsigned char)(i * 7 + i / 251);
    memcpy(self->data, "first line\n", 11);
    {
        feeder t;
        feeder_start(&t);
        t.to = &self->child.in.stream;
        t.data = self->data;
        t.len = CAT_BYTES;
        t.out = 1;
        self->h = WEFT_SPAWN(cx->runtime, &t, out, &self->f.out);
    }
    assert_int_equal(weft_bufreader_init(&self->br, &self->child.out.stream, NULL, 4096), 0);
    WEFT_AWAIT(weft_read_line_init(&self->line, &self->br, self->first, sizeof self->first));
    assert_int_equal(self->line.result, 11);
    assert_string_equal(self->first, "first line\n");
    memcpy(self->back, self->first, 11);
    WEFT_AWAIT(weft_read_exact_init(&self->rx, &self->br.stream, self->back + 11, CAT_BYTES - 11));
    assert_int_equal(self->rx.result, 0);
    assert_memory_equal(self->back, self->data, CAT_BYTES);
    WEFT_AWAIT(weft_read_init(&self->rd, &self->br.stream, self->back, 16));
    assert_int_equal(self->rd.result, 0); /* end of file: cat exited */
    WEFT_AWAIT(&self->h.base);
    assert_int_equal(self->f.out, 0);
    WEFT_AWAIT(weft_child_wait_init(&self->wait, &self->child));
    assert_int_equal(self->wait.result, 0);
    assert_true(weft_exit_status_success(&self->wait.status));
    weft_bufreader_destroy(&self->br);
    /* The write end is gone (shut down), the read end still open. */
    assert_int_equal(weft_child_pipe_fd(&self->child.in), -EBADF);
    weft_child_close(&self->child);
    assert_int_equal(weft_child_pid(&self->child), -EBADF);
    WEFT_END();
}

static void test_cat_both_pipes(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    cat_case c;
    memset(&c, 0, sizeof c);
    cat_case_start(&c);
    c.cmd = cmd_new("/bin/cat", NULL);
    c.data = malloc(CAT_BYTES);
    c.back = malloc(CAT_BYTES);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    free(c.data);
    free(c.back);
    weft_command_destroy(c.cmd);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* A pipeline: sh's stdout copied into cat's stdin with weft_copy. */
typedef struct pipeline_case {
    WEFT_CORO_FIELDS;
    weft_child a, b;
    weft_copy cp;
    weft_flush sh;
    weft_child_output out;
} pipeline_case;

WEFT_ASYNC(pipeline_case, NULL) {
    WEFT_BEGIN();
    {
        weft_command *ca = cmd_new("/bin/sh", "-c", "for i in 1 2 3; do echo line $i; done", NULL);
        weft_command *cb = cmd_new("cat", NULL); /* found in PATH */
        assert_int_equal(weft_command_set_stdout(ca, WEFT_STDIO_PIPE), 0);
        assert_int_equal(weft_command_set_stdin(cb, WEFT_STDIO_PIPE), 0);
        assert_int_equal(weft_command_set_stdout(cb, WEFT_STDIO_PIPE), 0);
        assert_int_equal(weft_command_spawn(ca, cx->runtime, &self->a), 0);
        assert_int_equal(weft_command_spawn(cb, cx->runtime, &self->b), 0);
        weft_command_destroy(ca);
        weft_command_destroy(cb);
    }
    WEFT_AWAIT(weft_copy_init(&self->cp, &self->a.out.stream, &self->b.in.stream, NULL, 0));
    assert_int_equal(self->cp.result, 0);
    assert_int_equal(self->cp.total, 21);
    WEFT_AWAIT(weft_shutdown_init(&self->sh, &self->b.in.stream));
    assert_int_equal(self->sh.result, 0);
    WEFT_AWAIT(weft_child_output_init(&self->out, &self->b));
    assert_int_equal(self->out.result, 0);
    assert_string_equal(self->out.output.out, "line 1\nline 2\nline 3\n");
    assert_int_equal(self->out.output.out_len, 21);
    assert_null(self->out.output.err);
    assert_true(weft_exit_status_success(&self->out.output.status));
    weft_output_destroy(&self->out.output);
    weft_output_destroy(&self->out.output); /* twice: nothing */
    WEFT_AWAIT(weft_child_output_init(&self->out, &self->a)); /* collects only the status */
    assert_int_equal(self->out.result, 0);
    assert_true(weft_exit_status_success(&self->out.output.status));
    assert_int_equal(self->out.output.out_len, 0); /* copied away already */
    weft_output_destroy(&self->out.output);
    weft_child_close(&self->a);
    weft_child_close(&self->b);
    WEFT_END();
}

static void test_pipeline_with_copy(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    pipeline_case c;
    memset(&c, 0, sizeof c);
    pipeline_case_start(&c);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- exit codes and signals --------------------------------------------------- */

typedef struct status_case {
    WEFT_CORO_FIELDS;
    weft_command *cmd;
    weft_child child;
    weft_child_wait w;
    weft_exit_status st;
    int result;
} status_case;

WEFT_ASYNC(status_case, NULL) {
    WEFT_BEGIN();
    self->result = weft_command_spawn(self->cmd, cx->runtime, &self->child);
    if (self->result) WEFT_RETURN();
    WEFT_AWAIT(weft_child_wait_init(&self->w, &self->child));
    self->result = self->w.result;
    self->st = self->w.status;
    weft_child_close(&self->child);
    WEFT_END();
}

static weft_exit_status status_of(weft_runtime *rt, weft_command *cmd) {
    status_case c;
    memset(&c, 0, sizeof c);
    status_case_start(&c);
    c.cmd = cmd;
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    assert_int_equal(c.result, 0);
    weft_command_destroy(cmd);
    return c.st;
}

static void test_exit_codes_and_signals(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    weft_exit_status st = status_of(rt, cmd_new("/bin/true", NULL));
    assert_true(weft_exit_status_success(&st));
    assert_int_equal(st.code, 0);
    assert_int_equal(st.signal, 0);
    st = status_of(rt, cmd_new("/bin/false", NULL));
    assert_false(weft_exit_status_success(&st));
    assert_int_equal(st.code, 1);
    st = status_of(rt, cmd_new("/bin/sh", "-c", "exit 3", NULL));
    assert_int_equal(st.code, 3);
    st = status_of(rt, cmd_new("/bin/sh", "-c", "exit 255", NULL));
    assert_int_equal(st.code, 255);
    st = status_of(rt, cmd_new("/bin/sh", "-c", "kill -TERM $$", NULL));
    assert_int_equal(st.code, -1);
    assert_int_equal(st.signal, SIGTERM);
    assert_false(weft_exit_status_success(&st));
    st = status_of(rt, cmd_new("/bin/sh", "-c", "kill -KILL $$", NULL));
    assert_int_equal(st.signal, SIGKILL);
    assert_false(st.core_dumped);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- EPIPE, never SIGPIPE --------------------------------------------------------- */

typedef struct epipe_case {
    WEFT_CORO_FIELDS;
    const char *prog;
    weft_child child;
    unsigned char *big;
    weft_write_all w;
    weft_read_exact rx;
    weft_child_wait wait;
    char head[16];
} epipe_case;

WEFT_ASYNC(epipe_case, NULL) {
    WEFT_BEGIN();
    {
        /* head reads 10 bytes, prints them and exits; true reads nothing. */
        weft_command *c = strcmp(self->prog, "head") == 0 ? cmd_new("head", "-c", "10", NULL)
                                                          : cmd_new("/bin/true", NULL);
        assert_int_equal(weft_command_set_stdin(c, WEFT_STDIO_PIPE), 0);
        assert_int_equal(weft_command_set_stdout(c, WEFT_STDIO_PIPE), 0);
        assert_int_equal(weft_command_spawn(c, cx->runtime, &self->child), 0);
        weft_command_destroy(c);
    }
    /* Far more than a pipe holds: the writes outlast the reader. */
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->child.in.stream, self->big, 4 << 20));
    assert_int_equal(self->w.result, -EPIPE);
    assert_true(self->w.done < (4u << 20));
    if (strcmp(self->prog, "head") == 0) {
        WEFT_AWAIT(weft_read_exact_init(&self->rx, &self->child.out.stream, self->head, 10));
        assert_int_equal(self->rx.result, 0);
        assert_memory_equal(self->head, self->big, 10);
    }
    /* The stream stays usable, answering -EPIPE again. */
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->child.in.stream, self->big, 10));
    assert_int_equal(self->w.result, -EPIPE);
    WEFT_AWAIT(weft_child_wait_init(&self->wait, &self->child));
    assert_int_equal(self->wait.result, 0);
    assert_int_equal(self->wait.status.code, 0);
    weft_child_close(&self->child);
    WEFT_END();
}

static void test_epipe_without_sigpipe(void **state) {
    (void)state;
    /* SIGPIPE at its default: one raised would end the test. */
    assert_ptr_equal(disposition(SIGPIPE), (void *)SIG_DFL);
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    unsigned char *big = calloc(1, 4 << 20);
    memcpy(big, "0123456789", 10);
    const char *progs[] = {"true", "head"};
    for (int round = 0; round < 6; round++) {
        epipe_case c;
        memset(&c, 0, sizeof c);
        epipe_case_start(&c);
        c.prog = progs[round % 2];
        c.big = big;
        if (round < 2) assert_int_equal(weft_block_on(rt, &c.base), 0); /* on this thread */
        else assert_int_equal(run_as_task(rt, &c, sizeof c), 0);          /* on a task */
    }
    free(big);
    /* Nothing left pending on this thread either. */
    sigset_t pend;
    sigpending(&pend);
    assert_false(sigismember(&pend, SIGPIPE));
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- output: floods on both pipes ---------------------------------------------------- */

typedef struct output_case {
    WEFT_CORO_FIELDS;
    weft_command *cmd;
    weft_command_output o;
} output_case;

WEFT_ASYNC(output_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_command_output_init(&self->o, self->cmd));
    WEFT_END();
}

static void run_output_case(weft_runtime *rt, weft_command *cmd, weft_command_output *o) {
    output_case c;
    output_case_start(&c);
    c.cmd = cmd;
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    *o = c.o;
}

static bool all_bytes(const char *p, size_t n, char v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return false;
    return true;
}

static void test_output_floods(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    weft_command_output o;
    /* Megabytes on stderr first, while stdout waits: a reader of stdout
     * alone would deadlock with the child. */
    weft_command *c = cmd_new("/bin/sh", "-c",
                              "head -c 5000000 /dev/zero | tr '\\0' e >&2; "
                              "head -c 3000000 /dev/zero | tr '\\0' o; echo done >&2; exit 7",
                              NULL);
    run_output_case(rt, c, &o);
    assert_int_equal(o.result, 0);
    assert_int_equal(o.output.status.code, 7);
    assert_int_equal(o.output.out_len, 3000000);
    assert_int_equal(o.output.err_len, 5000005);
    assert_true(all_bytes(o.output.out, 3000000, 'o'));
    assert_true(all_bytes(o.output.err, 5000000, 'e'));
    assert_string_equal(o.output.err + 5000000, "done\n");
    assert_int_equal(o.output.out[o.output.out_len], 0);
    weft_output_destroy(&o.output);
    weft_command_destroy(c);
    /* stdin is /dev/null by default for output(): cat ends at once. */
    c = cmd_new("/bin/cat", NULL);
    run_output_case(rt, c, &o);
    assert_int_equal(o.result, 0);
    assert_int_equal(o.output.out_len, 0);
    assert_string_equal(o.output.out, "");
    weft_output_destroy(&o.output);
    /* Streams the command set itself are respected: stdout to /dev/null. */
    assert_int_equal(weft_command_set_stdout(c, WEFT_STDIO_NULL), 0);
    run_output_case(rt, c, &o);
    assert_int_equal(o.result, 0);
    assert_null(o.output.out);
    assert_non_null(o.output.err);
    weft_output_destroy(&o.output);
    weft_command_destroy(c);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* wait_with_output after writing to stdin. */
typedef struct wwo_case {
    WEFT_CORO_FIELDS;
    weft_child child;
    weft_write_all w;
    weft_child_output out;
} wwo_case;

WEFT_ASYNC(wwo_case, NULL) {
    WEFT_BEGIN();
    {
        weft_command *c = cmd_new("/bin/sh", "-c", "cat; echo err >&2", NULL);
        weft_command_set_stdin(c, WEFT_STDIO_PIPE);
        weft_command_set_stdout(c, WEFT_STDIO_PIPE);
        weft_command_set_stderr(c, WEFT_STDIO_PIPE);
        assert_int_equal(weft_command_spawn(c, cx->runtime, &self->child), 0);
        weft_command_destroy(c);
    }
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->child.in.stream, "xyz", 3));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_child_output_init(&self->out, &self->child)); /* closes stdin first */
    assert_int_equal(self->out.result, 0);
    assert_string_equal(self->out.output.out, "xyz");
    assert_string_equal(self->out.output.err, "err\n");
    weft_output_destroy(&self->out.output);
    weft_child_close(&self->child);
    WEFT_END();
}

static void test_wait_with_output(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    wwo_case c;
    memset(&c, 0, sizeof c);
    wwo_case_start(&c);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- programs that cannot run, bad input ---------------------------------------------- */

static int spawn_err(weft_runtime *rt, weft_command *c) {
    weft_child child;
    memset(&child, 0xff, sizeof child);
    int err = weft_command_spawn(c, rt, &child);
    assert_true(err < 0);
    assert_null(child.core); /* left empty */
    assert_int_equal(weft_child_pid(&child), -EBADF);
    assert_int_equal(weft_child_pipe_fd(&child.out), -EBADF);
    weft_child_close(&child); /* nothing */
    return err;
}

static void test_spawn_errors(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    weft_command *c = cmd_new("/nonexistent/weft-prog", NULL);
    weft_command_set_stdout(c, WEFT_STDIO_PIPE); /* its pipes are undone too */
    weft_command_set_stdin(c, WEFT_STDIO_PIPE);
    assert_int_equal(spawn_err(rt, c), -ENOENT);
    weft_command_destroy(c);
    c = cmd_new("weft-no-such-program-in-path", NULL);
    assert_int_equal(spawn_err(rt, c), -ENOENT);
    weft_command_destroy(c);
    c = cmd_new("/tmp", NULL); /* a directory */
    assert_int_equal(spawn_err(rt, c), -EACCES);
    weft_command_destroy(c);
    char path[64];
    snprintf(path, sizeof path, "/tmp/weft-noexec-%d", (int)getpid());
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
    close(fd);
    c = cmd_new(path, NULL); /* not executable */
    assert_int_equal(spawn_err(rt, c), -EACCES);
    weft_command_destroy(c);
    unlink(path);
    c = cmd_new("/bin/true", NULL);
    assert_int_equal(weft_command_set_cwd(c, "/nonexistent-dir"), 0);
    assert_int_equal(spawn_err(rt, c), -ENOENT);
    weft_command_destroy(c);
    /* A setter's error is kept and reported by the spawn. */
    c = cmd_new("/bin/true", NULL);
    assert_int_equal(weft_command_set_env(c, "A=B", "x"), -EINVAL);
    assert_int_equal(weft_command_set_env(c, "OK", "fine"), 0);
    assert_int_equal(spawn_err(rt, c), -EINVAL);
    weft_command_destroy(c);
    c = cmd_new("/bin/true", NULL);
    assert_int_equal(weft_command_set_stdout(c, (weft_stdio)7), -EINVAL);
    assert_int_equal(spawn_err(rt, c), -EINVAL);
    assert_int_equal(weft_command_add_arg(c, NULL), -EINVAL);
    assert_int_equal(weft_command_set_env(c, "", "x"), -EINVAL);
    assert_int_equal(weft_command_remove_env(c, NULL), -EINVAL);
    weft_command_destroy(c);
    /* NULLs. */
    weft_command *none = (weft_command *)1;
    assert_int_equal(weft_command_create(&none, NULL), -EINVAL);
    assert_null(none);
    assert_int_equal(weft_command_create(NULL, "x"), -EINVAL);
    weft_command_destroy(NULL);
    weft_child child;
    assert_int_equal(weft_command_spawn(NULL, rt, &child), -EINVAL);
    assert_int_equal(weft_child_kill(NULL, SIGTERM), -EINVAL);
    assert_int_equal(weft_child_kill(&child, SIGTERM), -EBADF);
    assert_int_equal(weft_child_try_wait(&child, NULL), -EBADF);
    /* No runtime: from a plain thread with rt NULL. */
    c = cmd_new("/bin/true", NULL);
    assert_int_equal(spawn_err(NULL, c), -EINVAL);
    /* output() reports the spawn's error. */
    weft_command_output o;
    weft_command_destroy(c);
    c = cmd_new("/nonexistent/weft-prog", NULL);
    run_output_case(rt, c, &o);
    assert_int_equal(o.result, -ENOENT);
    assert_null(o.output.out);
    weft_output_destroy(&o.output);
    weft_command_destroy(c);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- environment, arguments, working directory, standard streams ---------------------- */

static char *out_of(weft_runtime *rt, weft_command *c) {
    weft_command_output o;
    run_output_case(rt, c, &o);
    assert_int_equal(o.result, 0);
    assert_true(weft_exit_status_success(&o.output.status));
    char *s = o.output.out;
    free(o.output.err);
    weft_command_destroy(c);
    return s;
}

static void test_env_args_cwd(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    setenv("WEFT_T1", "from-parent", 1);
    setenv("WEFT_T3", "from-parent", 1);
    /* Cleared, then one variable. */
    weft_command *c = cmd_new("/usr/bin/env", NULL);
    weft_command_set_env(c, "GONE", "x");
    weft_command_clear_env(c); /* also drops what was set before */
    weft_command_set_env(c, "A", "1");
    char *s = out_of(rt, c);
    assert_string_equal(s, "A=1\n");
    free(s);
    /* Inherited, with one removed, one added, one overridden. */
    c = cmd_new("/bin/sh", "-c", "echo \"${WEFT_T1-unset} $WEFT_T2 $WEFT_T3\"", NULL);
    weft_command_remove_env(c, "WEFT_T1");
    weft_command_set_env(c, "WEFT_T2", "added");
    weft_command_set_env(c, "WEFT_T3", "first");
    weft_command_set_env(c, "WEFT_T3", "overridden"); /* the last wins */
    s = out_of(rt, c);
    assert_string_equal(s, "unset added overridden\n");
    free(s);
    c = cmd_new("/bin/sh", "-c", "echo $WEFT_T1", NULL);
    s = out_of(rt, c);
    assert_string_equal(s, "from-parent\n");
    free(s);
    /* Arguments are passed as they are. */
    c = cmd_new("/bin/sh", "-c", "printf '%s|' \"$0\" \"$@\"", "zero", NULL);
    const char *more[] = {"a b", "", "*"};
    assert_int_equal(weft_command_add_args(c, more, 3), 0);
    s = out_of(rt, c);
    assert_string_equal(s, "zero|a b||*|");
    free(s);
    /* Working directory. */
    c = cmd_new("/bin/pwd", NULL);
    weft_command_set_cwd(c, "/tmp");
    s = out_of(rt, c);
    assert_string_equal(s, "/tmp\n");
    free(s);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

static void test_stdio_null_and_inherit(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    /* stdin /dev/null on a plain spawn. */
    weft_command *c = cmd_new("/bin/sh", "-c", "cat; echo end", NULL);
    weft_command_set_stdin(c, WEFT_STDIO_NULL);
    char *s = out_of(rt, c);
    assert_string_equal(s, "end\n");
    free(s);
    /* stdout to /dev/null, stderr piped. */
    c = cmd_new("/bin/sh", "-c", "echo hidden; echo shown >&2", NULL);
    weft_command_set_stdout(c, WEFT_STDIO_NULL);
    weft_command_output o;
    run_output_case(rt, c, &o);
    assert_int_equal(o.result, 0);
    assert_null(o.output.out);
    assert_string_equal(o.output.err, "shown\n");
    weft_output_destroy(&o.output);
    weft_command_destroy(c);
    /* Inherited stderr: ours, pointed at a file for the test. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/weft-inherit-%d", (int)getpid());
    int file = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(file >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(file, 2);
    c = cmd_new("/bin/sh", "-c", "echo inherited >&2", NULL);
    weft_exit_status st = status_of(rt, c);
    dup2(saved, 2);
    close(saved);
    assert_true(weft_exit_status_success(&st));
    char buf[64] = {0};
    assert_int_equal(pread(file, buf, sizeof buf - 1, 0), 10);
    assert_string_equal(buf, "inherited\n");
    close(file);
    unlink(path);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- kill, try_wait, kill on drop ------------------------------------------------------ */

typedef struct kill_case {
    WEFT_CORO_FIELDS;
    weft_child child;
    weft_child_wait w;
    pid_t pid;
} kill_case;

WEFT_ASYNC(kill_case, NULL) {
    WEFT_BEGIN();
    {
        weft_command *c = cmd_new("/bin/sleep", "1000", NULL);
        assert_int_equal(weft_command_spawn(c, cx->runtime, &self->child), 0);
        weft_command_destroy(c);
    }
    self->pid = weft_child_pid(&self->child);
    assert_true(self->pid > 0);
    {
        weft_exit_status st;
        assert_int_equal(weft_child_try_wait(&self->child, &st), 0); /* running */
    }
    assert_int_equal(weft_child_kill(&self->child, 0), 0);
    assert_int_equal(weft_child_kill(&self->child, -1), -EINVAL);
    assert_int_equal(weft_child_kill(&self->child, NSIG), -EINVAL);
    assert_int_equal(weft_child_kill(&self->child, SIGTERM), 0);
    WEFT_AWAIT(weft_child_wait_init(&self->w, &self->child));
    assert_int_equal(self->w.result, 0);
    assert_int_equal(self->w.status.signal, SIGTERM);
    /* Reaped: the id is no longer its own. */
    assert_int_equal(weft_child_pid(&self->child), -ESRCH);
    assert_int_equal(weft_child_kill(&self->child, SIGTERM), -ESRCH);
    {
        weft_exit_status st;
        assert_int_equal(weft_child_try_wait(&self->child, &st), 1);
        assert_int_equal(st.signal, SIGTERM);
    }
    /* A later wait gets the same status. */
    WEFT_AWAIT(weft_child_wait_init(&self->w, &self->child));
    assert_int_equal(self->w.result, 0);
    assert_int_equal(self->w.status.signal, SIGTERM);
    weft_child_close(&self->child);
    assert_false(pid_exists(self->pid));
    WEFT_END();
}

static void test_kill_and_try_wait(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    kill_case c;
    memset(&c, 0, sizeof c);
    kill_case_start(&c);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_runtime_destroy(rt);
    baseline_check(b);
}

static pid_t spawn_sleeper(weft_runtime *rt, bool kill_on_drop, weft_child *child) {
    weft_command *c = cmd_new("/bin/sleep", "1000", NULL);
    weft_command_set_kill_on_drop(c, kill_on_drop);
    assert_int_equal(weft_command_spawn(c, rt, child), 0);
    weft_command_destroy(c);
    return weft_child_pid(child);
}

static void test_kill_on_drop(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    weft_child child;
    /* Killed at close, then reaped in the background. */
    pid_t pid = spawn_sleeper(rt, true, &child);
    weft_child_close(&child);
    WAIT_UNTIL(!pid_exists(pid));
    assert_false(pid_exists(pid));
    /* Without kill on drop it runs on (not a zombie), and is reaped when
     * it ends. */
    pid = spawn_sleeper(rt, false, &child);
    weft_child_close(&child);
    assert_true(pid_exists(pid));
    assert_int_equal(children_in_state('Z'), 0);
    assert_int_equal(kill(pid, SIGTERM), 0); /* not reaped yet: still our child's id */
    WAIT_UNTIL(!pid_exists(pid));
    assert_false(pid_exists(pid));
    /* Kill on drop of a child that already exited: nothing to kill. */
    weft_command *c = cmd_new("/bin/true", NULL);
    weft_command_set_kill_on_drop(c, true);
    assert_int_equal(weft_command_spawn(c, rt, &child), 0);
    pid = weft_child_pid(&child);
    weft_command_destroy(c);
    WAIT_UNTIL(children_in_state('Z') == 1);
    weft_child_close(&child);
    assert_false(pid_exists(pid)); /* reaped by the close itself */
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- 1,000 children ------------------------------------------------------------------- */

#define MANY_TASKS 20
#define MANY_EACH 50

typedef struct many_task {
    WEFT_CORO_FIELDS;
    weft_command *cmd;
    int i, waited;
    weft_child child;
    weft_child_wait w;
    weft_timeout t;
    int out;
} many_task;

WEFT_ASYNC(many_task, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < MANY_EACH; self->i++) {
        assert_int_equal(weft_command_spawn(self->cmd, cx->runtime, &self->child), 0);
        switch (self->i % 3) {
        case 0: /* waited for */
            WEFT_AWAIT(weft_child_wait_init(&self->w, &self->child));
            assert_int_equal(self->w.result, 0);
            assert_true(weft_exit_status_success(&self->w.status));
            self->waited++;
            break;
        case 1: /* a wait dropped at once, then the handle closed */
            WEFT_AWAIT(weft_timeout_init(&self->t, weft_child_wait_init(&self->w, &self->child), 0));
            break;
        default: /* closed without a wait: reaped in the background */
            break;
        }
        weft_child_close(&self->child);
    }
    self->out = self->waited;
    WEFT_END();
}

typedef struct many_case {
    WEFT_CORO_FIELDS;
    weft_command *cmd;
    many_task tasks[MANY_TASKS];
    weft_join_handle h[MANY_TASKS];
    int i;
} many_case;

WEFT_ASYNC(many_case, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < MANY_TASKS; self->i++) {
        many_task t;
        memset(&t, 0, sizeof t);
        many_task_start(&t);
        t.cmd = self->cmd;
        self->h[self->i] = WEFT_SPAWN(cx->runtime, &t, out, &self->tasks[self->i].out);
    }
    for (self->i = 0; self->i < MANY_TASKS; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->h[self->i].result, 0);
        assert_int_equal(self->tasks[self->i].out, (MANY_EACH + 2) / 3);
    }
    WEFT_END();
}

static void test_thousand_children(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    many_case c;
    memset(&c, 0, sizeof c);
    many_case_start(&c);
    c.cmd = cmd_new("/bin/true", NULL);
    assert_int_equal(weft_block_on(rt, &c.base), 0);
    weft_command_destroy(c.cmd);
    weft_runtime_destroy(rt);
    baseline_check(b); /* no zombie: no child at all */
}

/* ---- every future cancelled mid-flight ------------------------------------------------- */

typedef struct cancel_case {
    WEFT_CORO_FIELDS;
    weft_command *cmd;
    weft_child child;
    weft_child_wait w;
    weft_child_output cwo;
    weft_command_output o;
    weft_read rd;
    weft_timeout t;
    char buf[16];
    pid_t pid;
} cancel_case;

WEFT_ASYNC(cancel_case, NULL) {
    WEFT_BEGIN();
    /* A wait dropped while the child runs: the next wait gets the status. */
    {
        weft_command *c = cmd_new("/bin/sh", "-c", "read x; echo \"got $x\"; exit 4", NULL);
        weft_command_set_stdin(c, WEFT_STDIO_PIPE);
        weft_command_set_stdout(c, WEFT_STDIO_PIPE);
        assert_int_equal(weft_command_spawn(c, cx->runtime, &self->child), 0);
        weft_command_destroy(c);
    }
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_child_wait_init(&self->w, &self->child), 20));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    /* A read dropped before the data: the data is read later. */
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_read_init(&self->rd, &self->child.out.stream, self->buf, 16), 20));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    /* A wait-with-output dropped before the exit (it closed stdin: the
     * child reads end of file, answers and exits). */
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_child_output_init(&self->cwo, &self->child), 0));
    WEFT_AWAIT(weft_child_wait_init(&self->w, &self->child));
    assert_int_equal(self->w.result, 0);
    assert_int_equal(self->w.status.code, 4);
    weft_child_close(&self->child);

    /* output() dropped mid-flight: the child runs on and is reaped later. */
    self->cmd = cmd_new("/bin/sh", "-c", "echo started; sleep 0.2", NULL);
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_command_output_init(&self->o, self->cmd), 20));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    weft_command_destroy(self->cmd);
    /* ... and with kill on drop: killed, then reaped. */
    self->cmd = cmd_new("/bin/sleep", "1000", NULL);
    weft_command_set_kill_on_drop(self->cmd, true);
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_command_output_init(&self->o, self->cmd), 20));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    weft_command_destroy(self->cmd);
    /* A wait pending when the handle is closed completes with -EBADF. */
    self->pid = spawn_sleeper(cx->runtime, true, &self->child);
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_child_wait_init(&self->w, &self->child), 10));
    weft_child_close(&self->child);
    WEFT_AWAIT(weft_child_wait_init(&self->w, &self->child));
    assert_int_equal(self->w.result, -EBADF);
    WEFT_END();
}

static void test_cancel_every_future(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    for (int i = 0; i < 3; i++) {
        cancel_case c;
        memset(&c, 0, sizeof c);
        cancel_case_start(&c);
        assert_int_equal(run_as_task(rt, &c, sizeof c), 0);
    }
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- several waits on one child, a close under a pending wait ---------------------------- */

typedef struct waiter_task {
    WEFT_CORO_FIELDS;
    weft_child *child;
    weft_child_wait w;
    int out;
} waiter_task;

WEFT_ASYNC(waiter_task, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_child_wait_init(&self->w, self->child));
    self->out = self->w.result ? self->w.result : self->w.status.code;
    WEFT_END();
}

typedef struct waiters_case {
    WEFT_CORO_FIELDS;
    weft_child child;
    weft_write_all wr;
    waiter_task tasks[6];
    weft_join_handle h[6];
    weft_sleep s;
    int i;
} waiters_case;

WEFT_ASYNC(waiters_case, NULL) {
    WEFT_BEGIN();
    {
        weft_command *c = cmd_new("/bin/sh", "-c", "read x; exit 9", NULL);
        weft_command_set_stdin(c, WEFT_STDIO_PIPE);
        assert_int_equal(weft_command_spawn(c, cx->runtime, &self->child), 0);
        weft_command_destroy(c);
    }
    for (self->i = 0; self->i < 6; self->i++) {
        waiter_task t;
        waiter_task_start(&t);
        t.child = &self->child;
        t.out = -1000;
        self->h[self->i] = WEFT_SPAWN(cx->runtime, &t, out, &self->tasks[self->i].out);
    }
    WEFT_AWAIT(weft_sleep_init(&self->s, 20)); /* (waiting or not, they all get it) */
    WEFT_AWAIT(weft_write_all_init(&self->wr, &self->child.in.stream, "go\n", 3));
    for (self->i = 0; self->i < 6; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->tasks[self->i].out, 9);
    }
    weft_child_close(&self->child);
    WEFT_END();
}

static void test_concurrent_waits(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    for (int i = 0; i < 5; i++) {
        waiters_case c;
        memset(&c, 0, sizeof c);
        waiters_case_start(&c);
        assert_int_equal(weft_block_on(rt, &c.base), 0);
    }
    weft_runtime_destroy(rt);
    baseline_check(b);
}

/* ---- a child outliving its runtime ---------------------------------------------------------- */

static void test_child_outlives_runtime(void **state) {
    (void)state;
    baseline b = baseline_take();
    weft_runtime *rt = rt_new();
    weft_child child, other;
    weft_command *c = cmd_new("/bin/sh", "-c", "read x; exit 5", NULL);
    weft_command_set_stdin(c, WEFT_STDIO_PIPE);
    assert_int_equal(weft_command_spawn(c, rt, &child), 0);
    pid_t pid = spawn_sleeper(rt, false, &other);
    weft_runtime_destroy(rt);
    /* Its pipe still closes, try_wait still works. */
    weft_exit_status st;
    assert_int_equal(weft_child_try_wait(&child, &st), 0);
    weft_child_pipe_close(&child.in);
    WAIT_UNTIL(weft_child_try_wait(&child, &st) == 1);
    assert_int_equal(weft_child_try_wait(&child, &st), 1);
    assert_int_equal(st.code, 5);
    weft_child_close(&child);
    /* A child left running is still reaped in the background. */
    weft_child_close(&other);
    kill(pid, SIGTERM);
    weft_command_destroy(c);
    baseline_check(b);
}

#endif
