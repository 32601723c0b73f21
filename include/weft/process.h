/**
 * @file
 * weft/process.h — child processes (Tokio's tokio::process): build a
 * command, spawn it, talk to it through pipes that are weft streams, wait
 * for its exit status, signal it, collect its output.
 *
 *     weft_command *cmd;
 *     weft_command_create(&cmd, "/bin/cat");
 *     weft_command_set_stdin(cmd, WEFT_STDIO_PIPE);
 *     weft_command_set_stdout(cmd, WEFT_STDIO_PIPE);
 *     weft_child child;
 *     int err = weft_command_spawn(cmd, NULL, &child);   // -ENOENT: no such program
 *     ...
 *     WEFT_AWAIT(weft_write_all_init(&self->wr, &child.in.stream, "hi\n", 3));
 *     WEFT_AWAIT(weft_shutdown_init(&self->sh, &child.in.stream)); // EOF to cat
 *     WEFT_AWAIT(weft_read_exact_init(&self->rd, &child.out.stream, self->buf, 3));
 *     WEFT_AWAIT(weft_child_wait_init(&self->wait, &child));
 *     // self->wait.status.code == 0
 *     weft_child_close(&child);
 *     weft_command_destroy(cmd);
 *
 * Spawning. posix_spawn (the C library's vfork and exec, safe in a
 * multi-threaded process): a program that cannot be run is reported by
 * the spawn itself (-ENOENT, -EACCES, -ENOEXEC, -E2BIG, ...), never as an
 * exit status. A program name without '/' is looked up in the PATH of the
 * calling process. Every descriptor weft creates is close-on-exec, so a
 * child inherits only its three standard streams and the application's
 * own descriptors that are not close-on-exec. The child starts with no
 * signal blocked (whatever thread spawned it: weft's workers block every
 * signal) and with SIGPIPE at its default action; signals ignored by the
 * parent stay ignored, handled ones are reset to default by exec.
 *
 * Waiting. Where the kernel has pidfds (Linux 5.3 and later) each child
 * gets one, watched by the runtime that spawned it: no signal is involved
 * and SIGCHLD is left alone. Otherwise weft listens for SIGCHLD (through
 * weft/signal.h, with its rules) while such children exist. Either way
 * the exit status is collected exactly once and kept: dropping a wait
 * future never loses it, and every later wait (or try_wait) gets it.
 *
 * No zombies. A child whose handle is closed before its exit status was
 * collected is reaped in the background by weft's own thread, whatever
 * happens to the runtimes. A child never reaped is one the application
 * still holds the handle of.
 *
 * Coexistence: a process that reaps children itself with waitpid(-1), or
 * sets SIGCHLD to SIG_IGN (the kernel then reaps them), takes exit
 * statuses weft needs: waits then fail with -ECHILD.
 *
 * Threads: a command is used by one thread at a time; a child handle and
 * its pipes follow the handle rules of weft/net.h (plain values; close
 * them from any thread, not while another thread polls a future on
 * them). Futures are polled on a runtime thread.
 */
#ifndef WEFT_PROCESS_H
#define WEFT_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "detail/io.h"
#include "detail/wait_node.h"
#include "future.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

struct weft_runtime;

/** @defgroup process Child processes
 * @{ */

/** What a child's standard stream is connected to. */
typedef enum weft_stdio {
    WEFT_STDIO_INHERIT = 0, /**< the parent's own descriptor (the default for spawn) */
    WEFT_STDIO_NULL,        /**< /dev/null */
    WEFT_STDIO_PIPE,        /**< a pipe whose other end is a weft stream of the child handle */
} weft_stdio;

/**
 * How a child ended. Exactly one of `code` (>= 0) and `signal` (> 0)
 * says it: an exit with a code (the low 8 bits of what it passed to
 * exit), or termination by a signal.
 */
typedef struct weft_exit_status {
    int code;         /**< the exit code (0..255), or -1 if a signal ended it */
    int signal;       /**< the signal that ended it, or 0 */
    bool core_dumped; /**< the signal produced a core dump */
} weft_exit_status;

/** True if the child exited with code 0. Any thread. */
static inline bool weft_exit_status_success(const weft_exit_status *s) {
    return s->signal == 0 && s->code == 0;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * A command: a program, its arguments, environment, working directory and
 * standard streams (Tokio's Command). weft allocates it; one command may
 * spawn any number of children. Setters record the first error they meet
 * (-ENOMEM, -EINVAL) and spawning the command returns it, so a builder
 * chain may check once, at the spawn.
 */
typedef struct weft_command weft_command;

/**
 * Creates a command that runs `program` (a path, or a name looked up in
 * PATH) with argv[0] = program. Returns 0, -EINVAL (NULL argument) or
 * -ENOMEM (then *out is NULL). Any thread.
 */
WEFT_API int weft_command_create(weft_command **out, const char *program);
/** Frees the command (children it spawned are not affected). NULL does
 *  nothing. Any thread, not while a future that uses it is pending. */
WEFT_API void weft_command_destroy(weft_command *c);
/** Appends one argument (copied). 0, -EINVAL or -ENOMEM. Any thread. */
WEFT_API int weft_command_add_arg(weft_command *c, const char *arg);
/** Appends `n` arguments (copied). 0, -EINVAL or -ENOMEM. Any thread. */
WEFT_API int weft_command_add_args(weft_command *c, const char *const *args, size_t n);
/**
 * Sets an environment variable for the child (copied; the last setting of
 * a key wins). The child's environment is the parent's at spawn time
 * (unless cleared) with these changes. 0, -EINVAL (a NULL or empty key, or
 * a key with '=') or -ENOMEM. Any thread.
 */
WEFT_API int weft_command_set_env(weft_command *c, const char *key, const char *value);
/** Removes `key` from the child's environment. 0, -EINVAL or -ENOMEM. Any thread. */
WEFT_API int weft_command_remove_env(weft_command *c, const char *key);
/** Starts the child's environment empty (only the variables set after
 *  this call). 0 or -EINVAL. Any thread. */
WEFT_API int weft_command_clear_env(weft_command *c);
/** Runs the child in directory `dir` (copied; a missing directory fails
 *  the spawn with -ENOENT). 0, -EINVAL or -ENOMEM. Any thread. */
WEFT_API int weft_command_set_cwd(weft_command *c, const char *dir);
/** Connects the child's standard input. 0 or -EINVAL. Any thread. */
WEFT_API int weft_command_set_stdin(weft_command *c, weft_stdio how);
/** Connects the child's standard output. 0 or -EINVAL. Any thread. */
WEFT_API int weft_command_set_stdout(weft_command *c, weft_stdio how);
/** Connects the child's standard error. 0 or -EINVAL. Any thread. */
WEFT_API int weft_command_set_stderr(weft_command *c, weft_stdio how);
/**
 * Kill on drop: when the handle of a child spawned from this command is
 * closed before the child's exit status was collected, weft sends it
 * SIGKILL (and reaps it in the background, as any child). Off by default:
 * the child then runs on. 0 or -EINVAL. Any thread.
 */
WEFT_API int weft_command_set_kill_on_drop(weft_command *c, bool on);

/* ------------------------------------------------------------------------ */
/* Children and their pipes                                                  */
/* ------------------------------------------------------------------------ */

/**
 * Our end of a pipe to a child's standard stream: a weft_stream (read end
 * for the child's stdout and stderr, write end for its stdin), usable with
 * every helper of weft/io.h (read_exact, bufreader, copy, ...). Writing to
 * a child that closed its end gives -EPIPE and never raises SIGPIPE.
 * weft_shutdown on the write end closes it: the child reads end of file.
 * Zero-initialised, a pipe is empty; its operations then return -EBADF.
 * Take a pipe out of its child handle by copying the field and zeroing it
 * (it is a plain handle); it then lives on after the child handle closes.
 */
typedef struct weft_child_pipe {
    weft_stream stream; /**< the byte-stream interface: pass `&p->stream` to any stream function */
    weft_io_handle io; /**< @private */
} weft_child_pipe;

/** Closes the pipe (the child sees end of file or -EPIPE); the handle is
 *  then empty. Closing an empty pipe does nothing. Any thread. */
WEFT_API void weft_child_pipe_close(weft_child_pipe *p);
/** Deregisters the pipe and returns its descriptor, open and
 *  non-blocking; the handle is then empty. -EBADF if empty. Any thread. */
WEFT_API int weft_child_pipe_into_fd(weft_child_pipe *p);
/** The descriptor, or -EBADF if the pipe is empty. Any thread. */
WEFT_API int weft_child_pipe_fd(const weft_child_pipe *p);

struct weft__child;

/**
 * A running (or finished, not yet closed) child process. Filled by
 * weft_command_spawn; zero-initialised or after weft_child_close it is
 * empty (operations return -EBADF). `in`, `out` and `err` are the pipes
 * asked for with WEFT_STDIO_PIPE (empty otherwise).
 */
typedef struct weft_child {
    struct weft__child *core; /**< @private */
    weft_child_pipe in;  /**< write end of the child's stdin pipe */
    weft_child_pipe out; /**< read end of the child's stdout pipe */
    weft_child_pipe err; /**< read end of the child's stderr pipe */
} weft_child;

/**
 * Spawns the command as a child watched by runtime `rt` (NULL: the
 * runtime of the calling task). Returns 0 with `*child` filled, or -errno
 * with `*child` empty and nothing left behind: the command's recorded
 * error, -ENOENT / -EACCES / -ENOEXEC (the program cannot be run; also a
 * missing working directory), -EMFILE, -ENOMEM, -EAGAIN, -EINVAL (NULL
 * argument, no runtime), -ESHUTDOWN (the runtime is being destroyed).
 * Blocks the calling thread until the child has called exec (as long as
 * the kernel takes to start a program, well under a millisecond). Any
 * thread.
 */
WEFT_API int weft_command_spawn(weft_command *cmd, struct weft_runtime *rt, weft_child *child);

/** The child's process id; -ESRCH once its exit status was collected
 *  (the id may then belong to another process), -EBADF if `c` is empty.
 *  Any thread. */
WEFT_API pid_t weft_child_pid(const weft_child *c);
/**
 * Sends signal `sig` (0 only checks) to the child. Returns 0; -ESRCH if
 * its exit status was already collected; -EINVAL for a signal number out
 * of range; -EBADF if `c` is empty; or the kernel's error. Never signals
 * another process that reused the child's id. Any thread.
 */
WEFT_API int weft_child_kill(weft_child *c, int sig);
/**
 * Collects the exit status if the child has exited, without waiting.
 * Returns 1 with `*status` filled (also on every later call), 0 if it
 * still runs, or -errno (-EBADF, -ECHILD: somebody else reaped it). Any
 * thread.
 */
WEFT_API int weft_child_try_wait(weft_child *c, weft_exit_status *status);
/**
 * Closes the child handle and the pipes still in it. A child whose exit
 * status was not collected gets SIGKILL if its command asked for kill on
 * drop, and is reaped in the background when it exits (never left a
 * zombie). A wait future still pending on `c` completes with -EBADF.
 * Closing an empty handle does nothing. Any thread, not while another
 * thread polls a future on `c`.
 */
WEFT_API void weft_child_close(weft_child *c);

/**
 * Waits for the child to exit. Output: `result` 0 with `status` filled,
 * -EBADF (the handle is empty or was closed meanwhile), -ECHILD (somebody
 * else reaped the child), -ESHUTDOWN (the runtime the child was spawned
 * on was destroyed; weft_child_try_wait still works). Cancel-safe: the
 * exit status is collected only by a poll that returns it, and then kept
 * in the handle for every later wait. Any number of futures may wait on
 * one child at once. Polled on a runtime thread.
 */
typedef struct weft_child_wait {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_child *child; /**< @private */
    weft_io_waiter wait; /**< @private pidfd readiness */
    weft_wait_node node; /**< @private SIGCHLD deliveries (no pidfd) */
    uint64_t seen; /**< @private */
    bool armed; /**< @private */
    weft_exit_status status; /**< output: how the child ended */
    int result; /**< output: 0 or -errno */
} weft_child_wait;

/** Initialises a wait for `c` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_child_wait_init(weft_child_wait *f, weft_child *c);

/* ------------------------------------------------------------------------ */
/* Collecting output                                                         */
/* ------------------------------------------------------------------------ */

/**
 * What a child wrote and how it ended. `out` and `err` are allocated, NUL
 * terminated (the NUL not counted in the length), or NULL when that stream
 * was not a pipe. Free them with weft_output_destroy.
 */
typedef struct weft_output {
    weft_exit_status status; /**< how the child ended */
    char *out;      /**< everything it wrote to stdout (NULL if not piped) */
    size_t out_len; /**< bytes in `out` */
    char *err;      /**< everything it wrote to stderr (NULL if not piped) */
    size_t err_len; /**< bytes in `err` */
} weft_output;

/** Frees the buffers of `o` and empties it; doing it again does nothing.
 *  Any thread. */
WEFT_API void weft_output_destroy(weft_output *o);

/**
 * Collects everything a spawned child writes to its stdout and stderr
 * pipes, then its exit status (Tokio's wait_with_output). It first closes
 * the child's stdin pipe, if any (the child reads end of file), then reads
 * both pipes at once, whichever has data, so a child that fills one pipe
 * while weft would be waiting on the other cannot deadlock it; it waits
 * for the exit once both pipes reached end of file. Output `result`: 0 or
 * -errno (-ENOMEM, a read error, or an error of weft_child_wait);
 * `output`: yours after completion whatever the result (destroy it).
 * Dropping it loses the bytes read so far (the child runs on; its handle
 * is still yours). Polled on a runtime thread.
 */
typedef struct weft_child_output {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_child *child; /**< @private */
    weft_child_wait wait; /**< @private */
    size_t cap[2]; /**< @private */
    uint8_t reading; /**< @private bit i: pipe i (out, err) not at end of file */
    bool started; /**< @private */
    weft_output output; /**< output: the bytes and the exit status */
    int result; /**< output: 0 or -errno */
} weft_child_output;

/** Initialises a wait-with-output on `c` (no work). Returns `&f->base`.
 *  Any thread. */
WEFT_API weft_future *weft_child_output_init(weft_child_output *f, weft_child *c);

/**
 * Runs a command to completion and collects its output (Tokio's
 * Command::output): at its first poll it spawns `cmd` on the polling
 * task's runtime with stdout and stderr piped and stdin from /dev/null,
 * unless the command set them otherwise, then does what
 * weft_child_output does and closes the child. Output `result`: 0, an
 * error of weft_command_spawn (the program cannot be run) or of
 * weft_child_output; `output`: yours after completion whatever the result.
 * Dropping it closes the child (kill on drop applies; otherwise it is
 * reaped in the background). `cmd` must outlive the future's first poll.
 * Polled on a runtime thread.
 */
typedef struct weft_command_output {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_command *cmd; /**< @private */
    weft_child child; /**< @private */
    weft_child_output collect; /**< @private */
    bool spawned; /**< @private */
    weft_output output; /**< output: the bytes and the exit status */
    int result; /**< output: 0 or -errno */
} weft_command_output;

/** Initialises an output future for `cmd` (no work). Returns `&f->base`.
 *  Any thread. */
WEFT_API weft_future *weft_command_output_init(weft_command_output *f, weft_command *cmd);

/** @} */

/* ------------------------------------------------------------------------ */
/* Blocking-style calls for fibers                                           */
/* ------------------------------------------------------------------------ */

/** @defgroup process_fiber Child processes from fibers
 * Blocking-style calls for fibers (weft/fiber.h): each is weft_await over
 * the future of the same name, so it suspends the fiber, never the thread.
 * Each returns what the future's `result` says, or -ECANCELED (the fiber
 * was cancelled: the future was dropped, with the cancel-safety it
 * documents: a dropped wait loses no exit status, the handle keeps it for
 * the next wait; a dropped command output closes its child, which is
 * reaped in the background) or -EPERM (not called from a fiber). The
 * pipes of a child are weft streams: read and write them with
 * weft_fiber_read, weft_fiber_write_all, weft_fiber_read_line and close
 * the child's stdin with weft_fiber_shutdown (weft/fiber.h). Fiber only.
 * @{ */

/** Waits for the child to exit (weft_child_wait): 0 with `*status` (may be
 *  NULL) filled, -EBADF, -ECHILD or -ESHUTDOWN. `*status` is written only
 *  on success. */
WEFT_API int weft_fiber_child_wait(weft_child *c, weft_exit_status *status);

/**
 * Closes the child's stdin pipe, collects its stdout and stderr pipes and
 * waits for its exit (weft_child_output): 0 or -errno. `*out` is yours
 * whatever the call returns: destroy it with weft_output_destroy (it is
 * empty when the fiber was cancelled; the bytes read so far are lost, the
 * child runs on and its handle is still yours).
 */
WEFT_API int weft_fiber_child_output(weft_child *c, weft_output *out);

/**
 * Runs `cmd` to completion and collects its output (weft_command_output:
 * stdout and stderr piped, stdin from /dev/null unless the command says
 * otherwise): 0, an error of weft_command_spawn (the program cannot be
 * run) or of weft_child_output. `*out` is yours whatever the call returns
 * (empty when the fiber was cancelled: the child was closed, killed if its
 * command asked for kill on drop, and is reaped in the background).
 */
WEFT_API int weft_fiber_command_output(weft_command *cmd, weft_output *out);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_PROCESS_H */
