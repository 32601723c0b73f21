/*
 * Collecting a child's output. Both pipes are read in every poll, each
 * until it says "nothing now" (it then holds the task's waker in its
 * reader slot) or end of file, so whichever the child writes to, its
 * bytes are taken: a child blocked writing megabytes to stderr is never
 * waiting on us while we wait on its stdout. The exit status is awaited
 * once both pipes ended.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "process/command.h"
#include "process/process.h"

#define FIRST_CAP 16384
#define MIN_ROOM 4096

void weft_output_destroy(weft_output *o) {
    if (!o) return;
    free(o->out);
    free(o->err);
    memset(o, 0, sizeof *o);
    o->status.code = -1;
}

static void output_reset(weft_output *o) {
    memset(o, 0, sizeof *o);
    o->status.code = -1;
}

/* ---- wait with output ------------------------------------------------------ */

static char **buf_of(weft_output *o, int i) { return i ? &o->err : &o->out; }
static size_t *len_of(weft_output *o, int i) { return i ? &o->err_len : &o->out_len; }

/* Reads pipe `i` until it has nothing now (pending) or ends. 0 (pending or
 * ended: see f->reading), or -errno. */
static int drain(weft_child_output *f, weft_context *cx, int i, bool *pending) {
    weft_child_pipe *p = i ? &f->child->err : &f->child->out;
    char **buf = buf_of(&f->output, i);
    size_t *len = len_of(&f->output, i);
    for (;;) {
        if (f->cap[i] - *len < MIN_ROOM) {
            size_t cap = f->cap[i] ? f->cap[i] * 2 : FIRST_CAP;
            char *b = realloc(*buf, cap);
            if (!b) return -ENOMEM;
            *buf = b;
            f->cap[i] = cap;
        }
        ssize_t n;
        /* One byte kept for the terminating NUL. */
        if (weft_stream_poll_read(&p->stream, cx, *buf + *len, f->cap[i] - *len - 1, &n) ==
            WEFT_PENDING) {
            *pending = true;
            return 0;
        }
        if (n < 0) return (int)n;
        if (n == 0) {
            f->reading &= (uint8_t)~(1u << i);
            return 0;
        }
        *len += (size_t)n;
    }
}

static void collect_release(weft_child_output *f) {
    for (int i = 0; i < 2; i++) {
        if (*buf_of(&f->output, i)) (*buf_of(&f->output, i))[*len_of(&f->output, i)] = 0;
    }
}

static weft_poll child_output_poll(weft_future *fut, weft_context *cx) {
    weft_child_output *f = (weft_child_output *)fut;
    if (!f->child) {
        f->result = -EINVAL;
        return WEFT_READY;
    }
    if (!f->started) {
        f->started = true;
        if (!f->child->core) {
            f->result = -EBADF;
            return WEFT_READY;
        }
        weft_child_pipe_close(&f->child->in); /* the child reads end of file */
        if (f->child->out.io.reg) f->reading |= 1;
        if (f->child->err.io.reg) f->reading |= 2;
        weft_child_wait_init(&f->wait, f->child);
    }
    bool pending = false;
    for (int i = 0; i < 2; i++) {
        if (!(f->reading & (1u << i))) continue;
        int err = drain(f, cx, i, &pending);
        if (err) {
            collect_release(f);
            f->result = err;
            return WEFT_READY;
        }
    }
    if (pending) return WEFT_PENDING;
    if (weft_future_poll(&f->wait.base, cx) == WEFT_PENDING) return WEFT_PENDING;
    collect_release(f);
    f->output.status = f->wait.status;
    f->result = f->wait.result;
    return WEFT_READY;
}

static void child_output_drop(weft_future *fut) {
    weft_child_output *f = (weft_child_output *)fut;
    if (f->started) weft_future_drop(&f->wait.base);
    weft_output_destroy(&f->output);
}

static const weft_future_vtable child_output_vtable = {child_output_poll, child_output_drop,
                                                       "weft_child_output"};

weft_future *weft_child_output_init(weft_child_output *f, weft_child *c) {
    weft_future_init(&f->base, &child_output_vtable);
    f->child = c;
    f->cap[0] = f->cap[1] = 0;
    f->reading = 0;
    f->started = false;
    output_reset(&f->output);
    f->result = 0;
    return &f->base;
}

/* ---- command output ---------------------------------------------------------- */

static weft_poll command_output_poll(weft_future *fut, weft_context *cx) {
    weft_command_output *f = (weft_command_output *)fut;
    if (!f->spawned) {
        if (!f->cmd) {
            f->result = -EINVAL;
            return WEFT_READY;
        }
        weft_stdio stdio[3];
        weft__command_output_stdio(f->cmd, stdio);
        int err = weft__command_spawn(f->cmd, cx->runtime, &f->child, stdio);
        if (err) {
            f->result = err;
            return WEFT_READY;
        }
        f->spawned = true;
        weft_child_output_init(&f->collect, &f->child);
    }
    if (weft_future_poll(&f->collect.base, cx) == WEFT_PENDING) return WEFT_PENDING;
    f->output = f->collect.output;
    output_reset(&f->collect.output);
    f->result = f->collect.result;
    weft_child_close(&f->child);
    return WEFT_READY;
}

static void command_output_drop(weft_future *fut) {
    weft_command_output *f = (weft_command_output *)fut;
    if (!f->spawned) return;
    weft_future_drop(&f->collect.base);
    weft_child_close(&f->child);
}

static const weft_future_vtable command_output_vtable = {command_output_poll, command_output_drop,
                                                         "weft_command_output"};

weft_future *weft_command_output_init(weft_command_output *f, weft_command *cmd) {
    weft_future_init(&f->base, &command_output_vtable);
    f->cmd = cmd;
    memset(&f->child, 0, sizeof f->child);
    f->spawned = false;
    output_reset(&f->output);
    f->result = 0;
    return &f->base;
}
