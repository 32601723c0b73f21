/* Helpers of the file-system futures (req.c). */
#ifndef WEFT_FS_REQ_H
#define WEFT_FS_REQ_H

#include "fs/fs.h"

/* Empties the request for a new future (no work). */
void weft__fs_req_init(weft_fs_req *r, int code, const char *path, const char *path2, uint64_t arg);
/* Reads `fd` from off + op->len to the end with RWF_NOWAIT reads into
 * op->data (NUL-terminated): the total, -EAGAIN when a read would block or
 * WEFT__FS_INLINE_MAX bytes were read (op->len bytes are in op->data:
 * continue on the pool), -EOPNOTSUPP, or
 * -errno. `size` is the file's size if known (UINT64_MAX: ask). */
int64_t weft__fs_read_to_end_nowait(weft__fs_op *op, int fd, uint64_t off, uint64_t size);

/* At a future's first poll: spends one unit of the cooperative budget
 * (a future that completes inline every time must still let other tasks
 * run). True if the budget is spent: the task was woken, return pending. */
static inline bool weft__fs_first_poll_yields(const weft_fs_req *r, weft_context *cx) {
    return !r->started && !weft_coop_spend(cx);
}

/* The most bytes an inline read copies in one poll (read_at, read_to_end,
 * fs_read): a runtime thread never spends more than a fraction of a
 * millisecond copying; what is left is read on the pool. */
#define WEFT__FS_INLINE_MAX ((size_t)4 << 20)

/* The largest read_at or write_at copy of one pool trip. */
#define WEFT__FS_PREAD_MAX ((size_t)4 << 20)

#endif
