/* Operations: allocation, the two references, completion and waiting.
 * See fs.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/fs.h"
#include "runtime/rt.h"

_Atomic uint64_t weft__fs_submitted;

weft__fs_op *weft__fs_op_new(weft__fs_opcode code, const char *path, const char *path2) {
    size_t n1 = path ? strlen(path) + 1 : 0, n2 = path2 ? strlen(path2) + 1 : 0;
    weft__fs_op *op = calloc(1, sizeof *op + n1 + n2);
    if (!op) return NULL;
    op->code = code;
    atomic_init(&op->refs, 1);
    spin_init(&op->lock);
    op->waker = WEFT_WAKER_NONE;
    op->fd = -1;
    op->out_fd = -1;
    if (path) {
        op->path = op->storage;
        memcpy(op->path, path, n1);
    }
    if (path2) {
        op->path2 = op->storage + n1;
        memcpy(op->path2, path2, n2);
    }
    return op;
}

/* Releases what nobody took: a descriptor it opened, its buffer, its file. */
static void op_free(weft__fs_op *op) {
    if (op->out_fd >= 0) close(op->out_fd);
    if (op->owns_data) free(op->data);
    weft_waker_drop(op->waker);
    if (op->file) weft__file_unref(op->file);
    free(op);
}

static void op_unref(weft__fs_op *op) {
    if (atomic_fetch_sub_explicit(&op->refs, 1, memory_order_acq_rel) == 1) op_free(op);
}

int weft__fs_submit(weft_runtime *rt, weft__fs_op *op) {
    if (!rt) return -EINVAL;
    atomic_fetch_add_explicit(&op->refs, 1, memory_order_relaxed);
    int err = weft__fs_pool_backend.submit(rt, op);
    if (err) {
        atomic_fetch_sub_explicit(&op->refs, 1, memory_order_relaxed); /* never the last */
        return err;
    }
    atomic_fetch_add_explicit(&weft__fs_submitted, 1, memory_order_relaxed);
    return 0;
}

void weft__fs_op_complete(weft__fs_op *op) {
    if (op->file) weft__file_op_end(op);
    spin_lock(&op->lock);
    op->done = true;
    weft_waker w = weft_waker_take(&op->waker);
    spin_unlock(&op->lock);
    weft_waker_wake(w);
    op_unref(op);
}

weft_poll weft__fs_op_poll(weft__fs_op *op, weft_context *cx) {
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&op->lock);
    bool done = op->done;
    if (!done) old = weft_waker_replace(&op->waker, &cx->waker);
    spin_unlock(&op->lock);
    weft_waker_drop(old);
    return done ? WEFT_READY : WEFT_PENDING;
}

void weft__fs_op_release(weft__fs_op *op) {
    if (!op) return;
    spin_lock(&op->lock);
    weft_waker w = weft_waker_take(&op->waker);
    spin_unlock(&op->lock);
    weft_waker_drop(w);
    op_unref(op);
}
