/*
 * Child processes inside: the shared part of a child (its "core"), the
 * reap, and the hand-over of children whose handle was closed (orphans)
 * to weft's service thread.
 *
 * A core belongs to the child handle until weft_child_close; then either
 * it is freed at once (the status was collected) or it becomes an orphan,
 * owned by the reaper, which frees it once the child is reaped:
 *  - pidfd mode: the pidfd leaves the runtime's reactor and is watched by
 *    the service thread (signal/service.h); readable means exited.
 *  - SIGCHLD mode (no pidfd): the core joins the orphan list, swept with
 *    waitpid(pid, WNOHANG) after every SIGCHLD the service thread
 *    dispatches, and once when it joins (it may have exited already).
 * A pid is only ever waited for by its own core (waitid(P_PID, pid)), and
 * signalled while the core's lock shows it unreaped, so weft never reaps
 * or signals a process that reused the id.
 */
#ifndef WEFT_PROCESS_PROCESS_H
#define WEFT_PROCESS_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "io/registration.h"
#include "signal/service.h"
#include "util/list.h"
#include "util/spinlock.h"
#include "weft/process.h"

struct weft__child {
    pid_t pid;
    int pidfd;                 /* -1: SIGCHLD mode */
    weft_io_handle reg;        /* pidfd registered with the spawning runtime */
    weft_spinlock lock;        /* the reap (and signals sent before it) */
    _Atomic bool reaped;       /* status or error is final */
    bool kill_on_drop;
    bool sigchld_held;         /* holds a SIGCHLD listener (released when reaped) */
    int error;                 /* 0, or why no status will come (-ECHILD) */
    weft_exit_status status;
    weft__service_watch watch; /* orphan in pidfd mode */
    weft_link orphan;          /* orphan in SIGCHLD mode */
};

/* Collects the status if the child exited: 1 (reaped: status or error
 * final), 0 (still running). Any thread. */
int weft__child_try_reap(struct weft__child *c);

/* Frees a core whose child was reaped (closes its pidfd). */
void weft__child_free(struct weft__child *c);

/* Hands a core whose handle was closed to the background reaper. */
void weft__child_orphan(struct weft__child *c);

/* The service thread dispatched a SIGCHLD: sweep the SIGCHLD-mode orphans. */
void weft__process_on_sigchld(void);

/* Spawns with stdio[] in place of the command's (output() defaults). */
int weft__command_spawn(weft_command *cmd, struct weft_runtime *rt, weft_child *child,
                        const weft_stdio stdio[3]);
/* The stdio output() uses: the command's where set, else null / pipe / pipe. */
void weft__command_output_stdio(const weft_command *cmd, weft_stdio stdio[3]);

/* Fills a pipe handle around a registered descriptor (its vtable). */
void weft__child_pipe_setup(weft_child_pipe *p, bool write_end);

/* pidfd_open / pidfd_send_signal, through the C library when it has them
 * (glibc 2.36), else the system call. */
int weft__pidfd_open(pid_t pid);
int weft__pidfd_send_signal(int pidfd, int sig);

#endif
