/*
 * The blocking-pool backend: each operation is one call on the runtime's
 * blocking pool (weft_spawn_blocking, detached), which runs its system
 * calls and completes it. An operation the pool cancels before it starts
 * (the runtime is being destroyed) completes with -ESHUTDOWN.
 */
#include <errno.h>

#include "fs/fs.h"
#include "sched/blocking_pool.h"

/* The operation being submitted on this thread: a failed spawn cancels
 * it synchronously, and then it must not complete (submit reports the
 * error instead and the caller keeps the operation). */
static _Thread_local weft__fs_op *tls_submitting;

static void *pool_run(void *arg) {
    weft__fs_op *op = arg;
    weft__fs_exec(op);
    weft__fs_op_complete(op);
    return NULL;
}

static void pool_cancel(void *arg) {
    weft__fs_op *op = arg;
    if (op == tls_submitting) return; /* the spawn failed: submit says why */
    op->res = -ESHUTDOWN;
    weft__fs_op_complete(op);
}

static int pool_submit(struct weft_runtime *rt, weft__fs_op *op) {
    tls_submitting = op;
    int err = weft__blocking_detached(rt, pool_run, pool_cancel, op);
    tls_submitting = NULL;
    return err;
}

const weft__fs_backend weft__fs_pool_backend = {"blocking pool", pool_submit};
