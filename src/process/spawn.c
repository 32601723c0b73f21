/*
 * Spawning: posix_spawn, which in glibc is clone(CLONE_VM|CLONE_VFORK)
 * then exec, running only async-signal-safe code in the child before the
 * exec and reporting an exec failure as the spawn's own error. That is
 * what a multi-threaded parent needs: no fork of the address space, no
 * malloc or lock in the child.
 *
 * Everything that can fail without a child existing (pipes, their
 * registrations, the environment, memory) is done before the spawn, so a
 * failed spawn leaves nothing. After it, the child gets a pidfd watched by
 * the runtime; without one (old kernel, no descriptor left, the runtime
 * refused it) it is waited for through SIGCHLD instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/handle.h"
#include "process/command.h"
#include "process/process.h"
#include "signal/signal.h"
#include "weft/runtime.h"

#if __has_include(<sys/pidfd.h>)
#include <sys/pidfd.h>
#define HAVE_PIDFD_WRAPPERS 1
#else
#include <sys/syscall.h>
#endif

int weft__pidfd_open(pid_t pid) {
#ifdef HAVE_PIDFD_WRAPPERS
    int fd = pidfd_open(pid, 0);
#else
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    return fd < 0 ? -errno : fd;
}

int weft__pidfd_send_signal(int pidfd, int sig) {
#ifdef HAVE_PIDFD_WRAPPERS
    int r = pidfd_send_signal(pidfd, sig, NULL, 0);
#else
    int r = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
#endif
    return r < 0 ? -errno : 0;
}

/* Once pidfd_open said ENOSYS, later spawns do not ask again. */
static _Atomic bool no_pidfd;

/* The child's environment: `environ` itself when the command changes
 * nothing; else a new array (*owned, free it) of pointers into environ and
 * into the command. NULL with -ENOMEM. */
static char **build_env(const weft_command *c, char ***owned) {
    *owned = NULL;
    if (!c->env_clear && c->nenv == 0) return environ;
    size_t n = 0;
    if (!c->env_clear)
        for (char **e = environ; *e; e++) n++;
    char **envp = malloc((n + c->nenv + 1) * sizeof *envp);
    if (!envp) return NULL;
    size_t k = 0;
    if (!c->env_clear) {
        for (char **e = environ; *e; e++) {
            bool changed = false;
            for (size_t i = 0; i < c->nenv && !changed; i++)
                changed = strncmp(*e, c->env[i].kv, c->env[i].klen + 1) == 0;
            if (!changed) envp[k++] = *e;
        }
    }
    for (size_t i = 0; i < c->nenv; i++)
        if (c->env[i].set) envp[k++] = c->env[i].kv;
    envp[k] = NULL;
    *owned = envp;
    return envp;
}

/* A descriptor numbered 3 or above (a pipe made while 0, 1 or 2 were
 * closed would collide with the dup2 targets). Closes `fd` if it moved. */
static int above_stdio(int fd) {
    if (fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int err = moved < 0 ? -errno : 0;
    close(fd);
    return moved < 0 ? err : moved;
}

typedef struct spawn_state {
    int child_end[3]; /* the pipe ends the child gets, -1 if none */
    weft_child_pipe *pipes[3];
} spawn_state;

/* Makes the pipe for stream `i`: the child's end in st->child_end[i], ours
 * registered with `rt` in *p. */
static int make_pipe(weft_runtime *rt, int i, weft_child_pipe *p, spawn_state *st) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) return -errno;
    int ours = i == 0 ? fds[1] : fds[0];
    int theirs = above_stdio(i == 0 ? fds[0] : fds[1]);
    if (theirs < 0) {
        close(ours);
        return theirs;
    }
    int err = 0;
    if (fcntl(ours, F_SETFL, O_NONBLOCK) < 0) err = -errno;
    if (!err) err = weft__io_register(rt, ours, WEFT_IO_READABLE | WEFT_IO_WRITABLE, &p->io.reg);
    if (err) {
        close(ours);
        close(theirs);
        return err;
    }
    weft__child_pipe_setup(p, i == 0);
    st->child_end[i] = theirs;
    return 0;
}

static void close_child_ends(spawn_state *st) {
    for (int i = 0; i < 3; i++)
        if (st->child_end[i] >= 0) close(st->child_end[i]);
}

static int run_spawn(const weft_command *c, const weft_stdio stdio[3], spawn_state *st,
                     char **envp, pid_t *pid) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int err = posix_spawn_file_actions_init(&fa);
    if (err) return -err;
    err = posix_spawnattr_init(&attr);
    if (err) {
        posix_spawn_file_actions_destroy(&fa);
        return -err;
    }
    static const int null_flags[3] = {O_RDONLY, O_WRONLY, O_WRONLY};
    for (int i = 0; i < 3 && !err; i++) {
        if (stdio[i] == WEFT_STDIO_PIPE) err = posix_spawn_file_actions_adddup2(&fa, st->child_end[i], i);
        else if (stdio[i] == WEFT_STDIO_NULL)
            err = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", null_flags[i], 0);
    }
    if (!err && c->cwd) err = posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
    /* No signal blocked in the child (the spawning thread may be a worker,
     * which blocks them all), and SIGPIPE at its default action. */
    sigset_t none, pipe_only;
    sigemptyset(&none);
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    if (!err) err = posix_spawnattr_setsigmask(&attr, &none);
    if (!err) err = posix_spawnattr_setsigdefault(&attr, &pipe_only);
    if (!err) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!err) {
        if (strchr(c->program, '/'))
            err = posix_spawn(pid, c->program, &fa, &attr, c->argv, envp);
        else
            err = posix_spawnp(pid, c->program, &fa, &attr, c->argv, envp);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return -err;
}

/* How the child will be waited for: a pidfd registered with `rt`, or, if
 * that cannot be had, SIGCHLD. Fails only if neither works. */
static int watch_child(weft_runtime *rt, struct weft__child *core) {
    if (!atomic_load_explicit(&no_pidfd, memory_order_relaxed)) {
        int fd = weft__pidfd_open(core->pid);
        if (fd == -ENOSYS) atomic_store_explicit(&no_pidfd, true, memory_order_relaxed);
        if (fd >= 0) {
            /* Not readable yet: a child just started has not exited, so
             * the first wait parks without asking waitid, and the exit's
             * event wakes it (epoll reports a pidfd already readable when
             * it is added, should the child be that quick). */
            if (weft__io_register(rt, fd, 0, &core->reg.reg) == 0) {
                core->pidfd = fd;
                return 0;
            }
            close(fd);
        }
    }
    int err = weft__signal_acquire(SIGCHLD);
    if (err) return err;
    core->sigchld_held = true;
    return 0;
}

int weft__command_spawn(weft_command *cmd, weft_runtime *rt, weft_child *child,
                        const weft_stdio stdio[3]) {
    if (!child) return -EINVAL;
    memset(child, 0, sizeof *child);
    if (!cmd) return -EINVAL;
    if (cmd->error) return cmd->error;
    if (!rt) rt = weft_runtime_current();
    if (!rt) return -EINVAL;

    struct weft__child *core = calloc(1, sizeof *core);
    if (!core) return -ENOMEM;
    core->pidfd = -1;
    spin_init(&core->lock);
    core->kill_on_drop = cmd->kill_on_drop;

    spawn_state st = {{-1, -1, -1}, {&child->in, &child->out, &child->err}};
    char **owned_env = NULL;
    char **envp = NULL;
    int err = 0;
    for (int i = 0; i < 3 && !err; i++)
        if (stdio[i] == WEFT_STDIO_PIPE) err = make_pipe(rt, i, st.pipes[i], &st);
    if (!err) {
        envp = build_env(cmd, &owned_env);
        if (!envp) err = -ENOMEM;
    }
    pid_t pid = -1;
    if (!err) err = run_spawn(cmd, stdio, &st, envp, &pid);
    close_child_ends(&st);
    free(owned_env);
    if (err) {
        for (int i = 0; i < 3; i++) weft_child_pipe_close(st.pipes[i]);
        free(core);
        memset(child, 0, sizeof *child);
        return err;
    }
    core->pid = pid;
    err = watch_child(rt, core);
    if (err) {
        /* No way to learn when it exits: do not leave it running. */
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        for (int i = 0; i < 3; i++) weft_child_pipe_close(st.pipes[i]);
        free(core);
        memset(child, 0, sizeof *child);
        return err;
    }
    child->core = core;
    return 0;
}

int weft_command_spawn(weft_command *cmd, weft_runtime *rt, weft_child *child) {
    if (!cmd) {
        if (child) memset(child, 0, sizeof *child);
        return -EINVAL;
    }
    return weft__command_spawn(cmd, rt, child, cmd->stdio);
}
