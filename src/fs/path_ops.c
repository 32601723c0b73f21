/*
 * The futures on paths. Each copies its paths into the operation it
 * submits (a dropped future's operation may still be running). Reading a
 * whole file and reading metadata try the non-blocking way first: a path
 * in the dentry cache, an inode and pages in memory (inline.c), which is
 * the common case for the files a service reads over and over.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/req.h"

/* Ends the future with `val` (read before the operation is let go). */
#define FINISH(f, val)                                  \
    do {                                                \
        __typeof__((f)->result) v_ = (val);             \
        weft__fs_req_release(&(f)->req);                \
        (f)->result = v_;                               \
        return WEFT_READY;                              \
    } while (0)

typedef struct path_fut {
    weft_future base;
    weft_fs_req req;
} path_fut;

static void path_drop(weft_future *fut) { weft__fs_req_release(&((path_fut *)fut)->req); }

/* Submits the request's operation: 0, or -errno (nothing submitted). */
static int submit_req(weft_fs_req *r, weft_context *cx, weft__fs_op **out) {
    weft__fs_op *op = weft__fs_op_new((weft__fs_opcode)r->code, r->path, r->path2);
    if (!op) return -ENOMEM;
    op->mode = (uint32_t)r->arg;
    r->op = op;
    *out = op;
    return weft__fs_submit(cx->runtime, op);
}

/* The first poll's checks: a runtime, the paths the operation needs. */
static int check_req(weft_fs_req *r, weft_context *cx, bool two_paths) {
    r->started = 1;
    if (!cx->runtime || !r->path || (two_paths && !r->path2)) return -EINVAL;
    return 0;
}

/* ---- the operations with nothing but a result ------------------------------------- */

/* create_dir, remove, rename, link, set_permissions: a header, the
 * request, an int result. */
typedef struct simple_fut {
    weft_future base;
    weft_fs_req req;
    int result;
} simple_fut;

static weft_poll simple_poll(weft_future *fut, weft_context *cx) {
    simple_fut *f = (simple_fut *)fut;
    weft__fs_op *op = f->req.op;
    if (weft__fs_first_poll_yields(&f->req, cx)) return WEFT_PENDING;
    if (!op) {
        int code = f->req.code;
        bool two = code == WEFT__FS_RENAME || code == WEFT__FS_LINK || code == WEFT__FS_SYMLINK;
        int err = check_req(&f->req, cx, two);
        if (!err && (f->req.arg & ~(uint64_t)07777)) err = -EINVAL;
        if (!err) err = submit_req(&f->req, cx, &op);
        if (err) FINISH(f, err);
    }
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    FINISH(f, (int)op->res);
}

static const weft_future_vtable create_dir_vtable = {simple_poll, path_drop, "weft_fs_create_dir"};
static const weft_future_vtable remove_vtable = {simple_poll, path_drop, "weft_fs_remove"};
static const weft_future_vtable rename_vtable = {simple_poll, path_drop, "weft_fs_rename"};
static const weft_future_vtable link_vtable = {simple_poll, path_drop, "weft_fs_link"};
static const weft_future_vtable chmod_vtable = {simple_poll, path_drop, "weft_fs_set_permissions"};

static weft_future *simple_init(void *fut, const weft_future_vtable *vt, int code, const char *p1,
                                const char *p2, uint64_t arg) {
    simple_fut *f = fut;
    weft_future_init(&f->base, vt);
    weft__fs_req_init(&f->req, code, p1, p2, arg);
    f->result = 0;
    return &f->base;
}

_Static_assert(offsetof(weft_fs_create_dir, result) == offsetof(simple_fut, result), "layout");
_Static_assert(offsetof(weft_fs_remove, result) == offsetof(simple_fut, result), "layout");
_Static_assert(offsetof(weft_fs_rename, result) == offsetof(simple_fut, result), "layout");
_Static_assert(offsetof(weft_fs_link, result) == offsetof(simple_fut, result), "layout");
_Static_assert(offsetof(weft_fs_set_permissions, result) == offsetof(simple_fut, result), "layout");

weft_future *weft_fs_create_dir_init(weft_fs_create_dir *f, const char *path, uint32_t mode) {
    return simple_init(f, &create_dir_vtable, WEFT__FS_MKDIR, path, NULL, mode ? mode : 0777);
}
weft_future *weft_fs_create_dir_all_init(weft_fs_create_dir *f, const char *path, uint32_t mode) {
    return simple_init(f, &create_dir_vtable, WEFT__FS_MKDIR_ALL, path, NULL, mode ? mode : 0777);
}
weft_future *weft_fs_remove_file_init(weft_fs_remove *f, const char *path) {
    return simple_init(f, &remove_vtable, WEFT__FS_UNLINK, path, NULL, 0);
}
weft_future *weft_fs_remove_dir_init(weft_fs_remove *f, const char *path) {
    return simple_init(f, &remove_vtable, WEFT__FS_RMDIR, path, NULL, 0);
}
weft_future *weft_fs_remove_dir_all_init(weft_fs_remove *f, const char *path) {
    return simple_init(f, &remove_vtable, WEFT__FS_RMDIR_ALL, path, NULL, 0);
}
weft_future *weft_fs_rename_init(weft_fs_rename *f, const char *from, const char *to) {
    return simple_init(f, &rename_vtable, WEFT__FS_RENAME, from, to, 0);
}
weft_future *weft_fs_hard_link_init(weft_fs_link *f, const char *existing, const char *link) {
    return simple_init(f, &link_vtable, WEFT__FS_LINK, existing, link, 0);
}
weft_future *weft_fs_symlink_init(weft_fs_link *f, const char *target, const char *link) {
    return simple_init(f, &link_vtable, WEFT__FS_SYMLINK, target, link, 0);
}
weft_future *weft_fs_set_permissions_init(weft_fs_set_permissions *f, const char *path,
                                          uint32_t mode) {
    return simple_init(f, &chmod_vtable, WEFT__FS_CHMOD, path, NULL, mode);
}

/* ---- read and write a whole file ---------------------------------------------------- */

static weft_poll fs_read_poll(weft_future *fut, weft_context *cx) {
    weft_fs_read *f = (weft_fs_read *)fut;
    weft__fs_op *op = f->req.op;
    if (weft__fs_first_poll_yields(&f->req, cx)) return WEFT_PENDING;
    if (!op) {
        int err = check_req(&f->req, cx, false);
        if (err) FINISH(f, err);
        op = weft__fs_op_new(WEFT__FS_READ_FILE, f->req.path, NULL);
        if (!op) FINISH(f, -ENOMEM);
        f->req.op = op;
        struct statx sx;
        int fd = weft__fs_open_cached(f->req.path, O_RDONLY, &sx, true);
        if (fd >= 0 && S_ISDIR(sx.stx_mode)) {
            close(fd);
            FINISH(f, -EISDIR);
        }
        if (fd >= 0) {
            int64_t n = weft__fs_read_to_end_nowait(op, fd, 0, sx.stx_size);
            if (n != -EAGAIN && n != -EOPNOTSUPP) {
                close(fd);
                if (n >= 0) {
                    f->data = op->data;
                    op->data = NULL;
                    op->owns_data = false;
                }
                FINISH(f, n);
            }
            op->out_fd = fd; /* the pool reads on from op->len */
        } else if (fd != -EAGAIN) {
            FINISH(f, fd);
        }
        err = weft__fs_submit(cx->runtime, op);
        if (err) FINISH(f, err);
    }
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    if (op->res >= 0) {
        f->data = op->data;
        op->data = NULL;
        op->owns_data = false;
    }
    FINISH(f, op->res);
}

static const weft_future_vtable fs_read_vtable = {fs_read_poll, path_drop, "weft_fs_read"};

weft_future *weft_fs_read_init(weft_fs_read *f, const char *path) {
    weft_future_init(&f->base, &fs_read_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_READ_FILE, path, NULL, 0);
    f->data = NULL;
    f->result = 0;
    return &f->base;
}

static weft_poll fs_write_poll(weft_future *fut, weft_context *cx) {
    weft_fs_write *f = (weft_fs_write *)fut;
    weft__fs_op *op = f->req.op;
    if (weft__fs_first_poll_yields(&f->req, cx)) return WEFT_PENDING;
    if (!op) {
        int err = check_req(&f->req, cx, false);
        if (!err && !f->buf && f->len) err = -EINVAL;
        if (err) FINISH(f, err);
        op = weft__fs_op_new(WEFT__FS_WRITE_FILE, f->req.path, NULL);
        if (!op) FINISH(f, -ENOMEM);
        f->req.op = op;
        if (f->len) {
            op->data = malloc(f->len); /* the caller's bytes may go before the write ends */
            if (!op->data) FINISH(f, -ENOMEM);
            op->owns_data = true;
            memcpy(op->data, f->buf, f->len);
        }
        op->len = f->len;
        err = weft__fs_submit(cx->runtime, op);
        if (err) FINISH(f, err);
    }
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    FINISH(f, (int)op->res);
}

static const weft_future_vtable fs_write_vtable = {fs_write_poll, path_drop, "weft_fs_write"};

weft_future *weft_fs_write_init(weft_fs_write *f, const char *path, const void *buf, size_t len) {
    weft_future_init(&f->base, &fs_write_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_WRITE_FILE, path, NULL, 0);
    f->buf = buf;
    f->len = len;
    f->result = 0;
    return &f->base;
}

/* ---- metadata ------------------------------------------------------------------------- */

static weft_poll fs_metadata_poll(weft_future *fut, weft_context *cx) {
    weft_fs_metadata *f = (weft_fs_metadata *)fut;
    weft__fs_op *op = f->req.op;
    if (weft__fs_first_poll_yields(&f->req, cx)) return WEFT_PENDING;
    if (!op) {
        int err = check_req(&f->req, cx, false);
        if (err) FINISH(f, err);
        err = weft__fs_stat_cached(f->req.path, f->req.code == WEFT__FS_STAT, &f->meta);
        if (err != -EAGAIN) FINISH(f, err);
        err = submit_req(&f->req, cx, &op);
        if (err) FINISH(f, err);
    }
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    if (op->res == 0) f->meta = op->meta;
    FINISH(f, (int)op->res);
}

static const weft_future_vtable fs_metadata_vtable = {fs_metadata_poll, path_drop,
                                                      "weft_fs_metadata"};

weft_future *weft_fs_metadata_init(weft_fs_metadata *f, const char *path) {
    weft_future_init(&f->base, &fs_metadata_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_STAT, path, NULL, 0);
    f->result = 0;
    memset(&f->meta, 0, sizeof f->meta);
    return &f->base;
}

weft_future *weft_fs_symlink_metadata_init(weft_fs_metadata *f, const char *path) {
    weft_fs_metadata_init(f, path);
    f->req.code = WEFT__FS_LSTAT;
    return &f->base;
}

/* ---- copy, canonicalize, read_link ------------------------------------------------------ */

static weft_poll copy_poll(weft_future *fut, weft_context *cx) {
    weft_fs_copy *f = (weft_fs_copy *)fut;
    weft__fs_op *op = f->req.op;
    if (weft__fs_first_poll_yields(&f->req, cx)) return WEFT_PENDING;
    if (!op) {
        int err = check_req(&f->req, cx, true);
        if (!err) err = submit_req(&f->req, cx, &op);
        if (err) FINISH(f, err);
    }
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    FINISH(f, op->res);
}

static const weft_future_vtable copy_vtable = {copy_poll, path_drop, "weft_fs_copy"};

weft_future *weft_fs_copy_init(weft_fs_copy *f, const char *from, const char *to) {
    weft_future_init(&f->base, &copy_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_COPY, from, to, 0);
    f->result = 0;
    return &f->base;
}

/* canonicalize and read_link: a string result taken from the operation. */
static weft_poll string_poll(weft_future *fut, weft_context *cx, char **out, int *result) {
    path_fut *f = (path_fut *)fut;
    weft__fs_op *op = f->req.op;
    if (weft__fs_first_poll_yields(&f->req, cx)) return WEFT_PENDING;
    if (!op) {
        int err = check_req(&f->req, cx, false);
        if (!err) err = submit_req(&f->req, cx, &op);
        if (err) {
            weft__fs_req_release(&f->req);
            *result = err;
            return WEFT_READY;
        }
    }
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    *result = (int)op->res;
    if (op->res == 0) {
        *out = (char *)op->data;
        op->data = NULL;
        op->owns_data = false;
    }
    weft__fs_req_release(&f->req);
    return WEFT_READY;
}

static weft_poll canonicalize_poll(weft_future *fut, weft_context *cx) {
    weft_fs_canonicalize *f = (weft_fs_canonicalize *)fut;
    return string_poll(fut, cx, &f->path, &f->result);
}

static weft_poll read_link_poll(weft_future *fut, weft_context *cx) {
    weft_fs_read_link *f = (weft_fs_read_link *)fut;
    return string_poll(fut, cx, &f->target, &f->result);
}

static const weft_future_vtable canonicalize_vtable = {canonicalize_poll, path_drop,
                                                       "weft_fs_canonicalize"};
static const weft_future_vtable read_link_vtable = {read_link_poll, path_drop, "weft_fs_read_link"};

weft_future *weft_fs_canonicalize_init(weft_fs_canonicalize *f, const char *path) {
    weft_future_init(&f->base, &canonicalize_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_REALPATH, path, NULL, 0);
    f->path = NULL;
    f->result = 0;
    return &f->base;
}

weft_future *weft_fs_read_link_init(weft_fs_read_link *f, const char *path) {
    weft_future_init(&f->base, &read_link_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_READLINK, path, NULL, 0);
    f->target = NULL;
    f->result = 0;
    return &f->base;
}
