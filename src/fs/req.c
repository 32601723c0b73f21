/* The steps every file-system future shares: its first poll takes a
 * reference on the file it works on; its end or drop lets go of the
 * operation, the wait node and the file. Plus the inline read-to-end
 * both weft_fs_read and weft_file_read_to_end start with. */
#include <errno.h>
#include <string.h>

#include "fs/fs.h"
#include "fs/req.h"

void weft__fs_req_init(weft_fs_req *r, int code, const char *path, const char *path2,
                       uint64_t arg) {
    memset(r, 0, sizeof *r);
    r->wait.waker = WEFT_WAKER_NONE;
    r->code = code;
    r->path = path;
    r->path2 = path2;
    r->arg = arg;
}

int weft__fs_req_start(weft_fs_req *r, weft__file *core, weft_context *cx) {
    r->started = 1;
    if (!cx->runtime) return -EINVAL;
    if (!core) return -EBADF;
    weft__file_ref(core);
    r->core = core;
    return 0;
}

void weft__fs_req_release(weft_fs_req *r) {
    if (r->core && r->wait.queued) weft__file_forget(r->core, &r->wait); /* never queued: nothing to undo */
    weft__fs_op_release(r->op);
    r->op = NULL;
    if (r->core) weft__file_unref(r->core);
    r->core = NULL;
}

int64_t weft__fs_read_to_end_nowait(weft__fs_op *op, int fd, uint64_t off, uint64_t size) {
    weft_metadata m;
    /* The size is only a hint (the loop reads to the end whatever it says),
     * so an inode in memory that may be stale is good enough. */
    if (size == UINT64_MAX) size = weft__fs_fstat_cached(fd, &m) == 0 ? m.size : 0;
    if (size > off + op->len && size - off < SIZE_MAX / 2 &&
        weft__fs_data_reserve(op, (size_t)(size - off)) != 0)
        return -ENOMEM;
    size_t limit = op->len + WEFT__FS_INLINE_MAX;
    for (;;) {
        if (op->len >= limit) return -EAGAIN; /* enough for one poll: the pool reads on */
        size_t room = op->cap ? op->cap - 1 - op->len : 0;
        if (room > limit - op->len) room = limit - op->len;
        if (room == 0) {
            unsigned char probe[512];
            ssize_t n = weft__fs_pread_nowait(fd, probe, sizeof probe, off + op->len);
            if (n <= 0) {
                if (n < 0) return n;
                break;
            }
            size_t grow = op->len < 4096 ? 4096 : op->len;
            if (weft__fs_data_reserve(op, op->len + grow) != 0) return -ENOMEM;
            memcpy(op->data + op->len, probe, (size_t)n);
            op->len += (size_t)n;
            continue;
        }
        ssize_t n = weft__fs_pread_nowait(fd, op->data + op->len, room, off + op->len);
        if (n < 0) return n;
        if (n == 0) break;
        op->len += (size_t)n;
    }
    if (weft__fs_data_reserve(op, op->len) != 0) return -ENOMEM;
    op->data[op->len] = 0;
    return (int64_t)op->len;
}
