/*
 * The futures on files: open, read_at, write_at, read_to_end, seek, sync,
 * set_len, metadata. Each has the same shape:
 *
 *   1. first poll: take a reference on the handle's file (req.c);
 *   2. wait until no operation at the cursor is in flight (its node in the
 *      file's waiter list), so that it sees every write accepted before it;
 *   3. try the system call inline when it cannot block (inline.c);
 *   4. otherwise submit an operation and wait for it (its waker in the
 *      operation); a drop lets go of it, and what it produced is released
 *      when the pool thread is done with it.
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

/* First poll: the file's reference. Returns nonzero (and has finished `f`)
 * on failure. */
#define START(f, handle)                                                              \
    do {                                                                              \
        if (weft__fs_first_poll_yields(&(f)->req, cx)) return WEFT_PENDING;           \
        if (!(f)->req.started) {                                                      \
            int e_ = (handle) ? weft__fs_req_start(&(f)->req, (handle)->core, cx)     \
                              : ((f)->req.started = 1, -EINVAL);                      \
            if (e_) FINISH(f, e_);                                                    \
        }                                                                             \
    } while (0)

/* Step 2: wait for the cursor (mode: WEFT__BEGIN_*). */
#define WAIT_FILE(f, mode)                                                        \
    do {                                                                          \
        int b_ = weft__file_begin((f)->req.core, (mode), &(f)->req.wait, NULL, cx); \
        if (b_ == 1) return WEFT_PENDING;                                         \
        if (b_ < 0) FINISH(f, b_);                                                \
    } while (0)

static void req_drop(weft_future *fut) {
    /* Every file future starts with its header and then its request. */
    struct {
        weft_future base;
        weft_fs_req req;
    } *f = (void *)fut;
    weft__fs_req_release(&f->req);
}

/* ---- open ------------------------------------------------------------------ */

/* open(2) flags and the file's access bits from Rust's OpenOptions rules. */
static int open_flags(const weft_open_options *o, int *flags, uint32_t *access) {
    bool writes = o->write || o->append;
    if (!o->read && !writes) return -EINVAL;
    if (!writes && (o->truncate || o->create || o->create_new)) return -EINVAL;
    if (o->append && o->truncate && !o->create_new) return -EINVAL;
    const int extra = O_NOFOLLOW | O_NOATIME | O_NOCTTY | O_SYNC | O_DSYNC;
    if (o->flags & ~extra) return -EINVAL;
    if (o->mode & ~07777u) return -EINVAL;
    int fl = o->read && writes ? O_RDWR : writes ? O_WRONLY : O_RDONLY;
    if (o->append) fl |= O_APPEND;
    if (o->create_new) fl |= O_CREAT | O_EXCL;
    else {
        if (o->create) fl |= O_CREAT;
        if (o->truncate) fl |= O_TRUNC;
    }
    *flags = fl | o->flags;
    *access = (o->read ? WEFT__FILE_READ : 0) | (writes ? WEFT__FILE_WRITE : 0) |
              (o->append ? WEFT__FILE_APPEND : 0);
    return 0;
}

/* The handle over a descriptor just opened (closed on failure). */
static int open_done(weft_file_open *f, int fd, uint32_t flags) {
    weft__file *core = weft__file_new(fd, flags, 0);
    if (!core) {
        close(fd);
        return -ENOMEM;
    }
    f->file.stream.vt = &weft__file_stream_vtable;
    f->file.core = core;
    return 0;
}

static weft_poll open_poll(weft_future *fut, weft_context *cx) {
    weft_file_open *f = (weft_file_open *)fut;
    int flags;
    uint32_t access;
    if (weft__fs_first_poll_yields(&f->req, cx)) return WEFT_PENDING;
    if (!f->req.op) {
        f->req.started = 1;
        int err = !cx->runtime || !f->req.path ? -EINVAL : open_flags(&f->opts, &flags, &access);
        if (err) FINISH(f, err);
        struct statx sx;
        int fd = weft__fs_open_cached(f->req.path, flags, &sx, false);
        if (fd >= 0) {
            uint32_t kind = WEFT__FILE_SEEKABLE | WEFT__FILE_NOWAIT; /* a regular file */
            if (S_ISDIR(sx.stx_mode)) {
                close(fd);
                FINISH(f, -EISDIR);
            }
            if (weft__fs_statx_is_local(fd, &sx)) kind |= WEFT__FILE_LOCAL;
            FINISH(f, open_done(f, fd, access | kind));
        }
        if (fd != -EAGAIN) FINISH(f, fd);
        weft__fs_op *op = weft__fs_op_new(WEFT__FS_OPEN, f->req.path, NULL);
        if (!op) FINISH(f, -ENOMEM);
        op->flags = flags;
        op->mode = f->opts.mode ? f->opts.mode : 0666;
        op->res2 = access;
        f->req.op = op;
        err = weft__fs_submit(cx->runtime, op);
        if (err) FINISH(f, err);
    }
    weft__fs_op *op = f->req.op;
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    if (op->res < 0) FINISH(f, (int)op->res);
    int fd = op->out_fd;
    op->out_fd = -1; /* ours now */
    (void)open_flags(&f->opts, &flags, &access);
    FINISH(f, open_done(f, fd, access | (uint32_t)op->res2));
}

static const weft_future_vtable open_vtable = {open_poll, req_drop, "weft_file_open"};

weft_future *weft_file_open_init(weft_file_open *f, const char *path, const weft_open_options *opts) {
    weft_future_init(&f->base, &open_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_OPEN, path, NULL, 0);
    if (opts) f->opts = *opts;
    else f->opts = (weft_open_options){.read = true};
    f->result = 0;
    f->file = (weft_file){{&weft__file_stream_vtable}, NULL};
    return &f->base;
}

weft_future *weft_file_create_init(weft_file_open *f, const char *path) {
    weft_open_options o = {.write = true, .create = true, .truncate = true};
    return weft_file_open_init(f, path, &o);
}

/* ---- read_at / write_at ------------------------------------------------------------ */

static weft_poll read_at_poll(weft_future *fut, weft_context *cx) {
    weft_file_read_at *f = (weft_file_read_at *)fut;
    START(f, f->file);
    if (!f->req.op) {
        WAIT_FILE(f, WEFT__BEGIN_AFTER_CURSOR);
        weft__file *core = f->req.core;
        if (!(core->flags & WEFT__FILE_READ)) FINISH(f, -EBADF);
        if (f->len == 0) FINISH(f, 0);
        if (atomic_load_explicit(&core->nowait, memory_order_relaxed)) {
            ssize_t n = weft__fs_pread_nowait(core->fd, f->buf,
                                              f->len < WEFT__FS_INLINE_MAX ? f->len : WEFT__FS_INLINE_MAX,
                                              f->req.arg);
            if (n == -EOPNOTSUPP) atomic_store_explicit(&core->nowait, false, memory_order_relaxed);
            else if (n != -EAGAIN) FINISH(f, n);
        }
        weft__fs_op *op = weft__fs_op_new(WEFT__FS_PREAD, NULL, NULL);
        if (!op) FINISH(f, -ENOMEM);
        f->req.op = op;
        op->len = f->len < WEFT__FS_PREAD_MAX ? f->len : WEFT__FS_PREAD_MAX;
        op->off = f->req.arg;
        op->data = malloc(op->len);
        if (!op->data) FINISH(f, -ENOMEM);
        op->owns_data = true;
        int err = weft__file_submit(core, cx->runtime, op);
        if (err) FINISH(f, err);
    }
    weft__fs_op *op = f->req.op;
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    if (op->res > 0) memcpy(f->buf, op->data, (size_t)op->res);
    FINISH(f, op->res);
}

static const weft_future_vtable read_at_vtable = {read_at_poll, req_drop, "weft_file_read_at"};

weft_future *weft_file_read_at_init(weft_file_read_at *f, weft_file *file, void *buf, size_t len,
                                    uint64_t offset) {
    weft_future_init(&f->base, &read_at_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_PREAD, NULL, NULL, offset);
    f->file = file;
    f->buf = buf;
    f->len = len;
    f->result = 0;
    return &f->base;
}

static weft_poll write_at_poll(weft_future *fut, weft_context *cx) {
    weft_file_write_at *f = (weft_file_write_at *)fut;
    START(f, f->file);
    if (!f->req.op) {
        WAIT_FILE(f, WEFT__BEGIN_AFTER_CURSOR);
        weft__file *core = f->req.core;
        if (!(core->flags & WEFT__FILE_WRITE)) FINISH(f, -EBADF);
        if (f->len == 0) FINISH(f, 0);
        if (f->req.arg > INT64_MAX || f->len > (uint64_t)INT64_MAX - f->req.arg) FINISH(f, -EFBIG);
        weft__fs_op *op = weft__fs_op_new(WEFT__FS_PWRITE, NULL, NULL);
        if (!op) FINISH(f, -ENOMEM);
        f->req.op = op;
        op->len = f->len;
        op->off = f->req.arg;
        op->data = malloc(f->len);
        if (!op->data) FINISH(f, -ENOMEM);
        op->owns_data = true;
        memcpy(op->data, f->buf, f->len);
        int err = weft__file_submit(core, cx->runtime, op);
        if (err) FINISH(f, err);
    }
    weft__fs_op *op = f->req.op;
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    FINISH(f, op->res);
}

static const weft_future_vtable write_at_vtable = {write_at_poll, req_drop, "weft_file_write_at"};

weft_future *weft_file_write_at_init(weft_file_write_at *f, weft_file *file, const void *buf,
                                     size_t len, uint64_t offset) {
    weft_future_init(&f->base, &write_at_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_PWRITE, NULL, NULL, offset);
    f->file = file;
    f->buf = buf;
    f->len = len;
    f->result = 0;
    return &f->base;
}

/* ---- read_to_end ------------------------------------------------------------------ */

static weft_poll read_to_end_poll(weft_future *fut, weft_context *cx) {
    weft_file_read_to_end *f = (weft_file_read_to_end *)fut;
    START(f, f->file);
    if (!f->req.op) {
        WAIT_FILE(f, WEFT__BEGIN_CURSOR); /* the cursor is ours until we give it back */
        weft__file *core = f->req.core;
        if (!(core->flags & WEFT__FILE_READ)) {
            weft__file_end_inline(core);
            FINISH(f, -EBADF);
        }
        weft__fs_op *op = weft__fs_op_new(WEFT__FS_READ_TO_END, NULL, NULL);
        if (!op) {
            weft__file_end_inline(core);
            FINISH(f, -ENOMEM);
        }
        f->req.op = op;
        /* What the read-ahead holds comes first. */
        pthread_mutex_lock(&core->lock);
        int err = core->read_err;
        size_t have = core->rend - core->rpos;
        op->off = core->pos;
        if (!err && weft__fs_data_reserve(op, have) != 0) err = -ENOMEM;
        if (!err && have) {
            memcpy(op->data, core->rbuf + core->rpos, have);
            op->len = have;
        }
        weft__file_discard_read(core); /* the bytes are in op->data; the cursor moves at the end */
        pthread_mutex_unlock(&core->lock);
        if (err) {
            weft__file_end_inline(core);
            FINISH(f, err);
        }
        bool seekable = (core->flags & WEFT__FILE_SEEKABLE) != 0;
        if (seekable && atomic_load_explicit(&core->nowait, memory_order_relaxed)) {
            int64_t n = weft__fs_read_to_end_nowait(op, core->fd, op->off, UINT64_MAX);
            if (n == -EOPNOTSUPP) atomic_store_explicit(&core->nowait, false, memory_order_relaxed);
            else if (n != -EAGAIN) {
                pthread_mutex_lock(&core->lock);
                if (n >= 0) core->pos = op->off + (uint64_t)n;
                pthread_mutex_unlock(&core->lock);
                weft__file_end_inline(core);
                if (n >= 0) {
                    f->data = op->data;
                    op->data = NULL;
                    op->owns_data = false;
                }
                FINISH(f, n);
            }
        }
        op->cursor = true;
        err = weft__file_submit(core, cx->runtime, op);
        if (err) FINISH(f, err);
    }
    weft__fs_op *op = f->req.op;
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    if (op->res >= 0) {
        f->data = op->data;
        op->data = NULL;
        op->owns_data = false;
    }
    FINISH(f, op->res);
}

static const weft_future_vtable read_to_end_vtable = {read_to_end_poll, req_drop,
                                                      "weft_file_read_to_end"};

weft_future *weft_file_read_to_end_init(weft_file_read_to_end *f, weft_file *file) {
    weft_future_init(&f->base, &read_to_end_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_READ_TO_END, NULL, NULL, 0);
    f->file = file;
    f->data = NULL;
    f->result = 0;
    return &f->base;
}

/* ---- seek --------------------------------------------------------------------------- */

static weft_poll seek_poll(weft_future *fut, weft_context *cx) {
    weft_file_seek *f = (weft_file_seek *)fut;
    START(f, f->file);
    if (!f->req.op) {
        if (f->whence != SEEK_SET && f->whence != SEEK_CUR && f->whence != SEEK_END &&
            f->whence != SEEK_DATA && f->whence != SEEK_HOLE)
            FINISH(f, -EINVAL);
        WAIT_FILE(f, WEFT__BEGIN_CURSOR);
        weft__file *core = f->req.core;
        if (!(core->flags & WEFT__FILE_SEEKABLE)) {
            weft__file_end_inline(core);
            FINISH(f, -ESPIPE);
        }
        if (f->whence == SEEK_SET || f->whence == SEEK_CUR) {
            pthread_mutex_lock(&core->lock);
            int64_t base = f->whence == SEEK_SET ? 0 : (int64_t)core->pos;
            int64_t to;
            int64_t r;
            if (__builtin_add_overflow(base, f->offset, &to) || to < 0) {
                r = -EINVAL;
            } else {
                uint64_t delta = (uint64_t)to - core->pos;
                if ((uint64_t)to >= core->pos && delta <= core->rend - core->rpos)
                    core->rpos += (size_t)delta; /* still inside the read-ahead */
                else
                    weft__file_discard_read(core);
                core->pos = (uint64_t)to;
                r = to;
            }
            pthread_mutex_unlock(&core->lock);
            weft__file_end_inline(core);
            FINISH(f, r);
        }
        weft__fs_op *op = weft__fs_op_new(WEFT__FS_LSEEK, NULL, NULL);
        if (!op) {
            weft__file_end_inline(core);
            FINISH(f, -ENOMEM);
        }
        f->req.op = op;
        op->off = (uint64_t)f->offset;
        op->flags = f->whence;
        op->cursor = true; /* SEEK_DATA / SEEK_HOLE search from `offset`, as lseek(2) does */
        int err = weft__file_submit(core, cx->runtime, op);
        if (err) FINISH(f, err);
    }
    weft__fs_op *op = f->req.op;
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    FINISH(f, op->res);
}

static const weft_future_vtable seek_vtable = {seek_poll, req_drop, "weft_file_seek"};

weft_future *weft_file_seek_init(weft_file_seek *f, weft_file *file, int64_t offset, int whence) {
    weft_future_init(&f->base, &seek_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_LSEEK, NULL, NULL, 0);
    f->file = file;
    f->offset = offset;
    f->whence = whence;
    f->result = 0;
    return &f->base;
}

/* ---- sync, set_len, metadata ------------------------------------------------------------ */

/* Waits for the cursor, then runs `code` on the pool; f has `req` and `result`. */
#define SIMPLE_FILE_OP(f, code, prepare)                                             \
    do {                                                                             \
        START(f, f->file);                                                           \
        if (!(f)->req.op) {                                                          \
            WAIT_FILE(f, WEFT__BEGIN_AFTER_CURSOR);                                  \
            weft__file *core = (f)->req.core;                                        \
            prepare;                                                                 \
            weft__fs_op *op = weft__fs_op_new((code), NULL, NULL);                   \
            if (!op) FINISH(f, -ENOMEM);                                             \
            (f)->req.op = op;                                                        \
            op->len = (f)->req.arg;                                                  \
            int err_ = weft__file_submit(core, cx->runtime, op);                     \
            if (err_) FINISH(f, err_);                                               \
        }                                                                            \
        if (weft__fs_op_poll((f)->req.op, cx) == WEFT_PENDING) return WEFT_PENDING;  \
    } while (0)

static weft_poll sync_poll(weft_future *fut, weft_context *cx) {
    weft_file_sync *f = (weft_file_sync *)fut;
    SIMPLE_FILE_OP(f, f->req.code, {
        /* A write-behind error nobody heard of yet comes first. */
        pthread_mutex_lock(&core->lock);
        int werr = core->write_err;
        core->write_err = 0;
        pthread_mutex_unlock(&core->lock);
        if (werr) FINISH(f, werr);
    });
    FINISH(f, (int)f->req.op->res);
}

static const weft_future_vtable sync_vtable = {sync_poll, req_drop, "weft_file_sync"};

weft_future *weft_file_sync_all_init(weft_file_sync *f, weft_file *file) {
    weft_future_init(&f->base, &sync_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_FSYNC, NULL, NULL, 0);
    f->file = file;
    f->result = 0;
    return &f->base;
}

weft_future *weft_file_sync_data_init(weft_file_sync *f, weft_file *file) {
    weft_file_sync_all_init(f, file);
    f->req.code = WEFT__FS_FDATASYNC;
    return &f->base;
}

static weft_poll set_len_poll(weft_future *fut, weft_context *cx) {
    weft_file_set_len *f = (weft_file_set_len *)fut;
    SIMPLE_FILE_OP(f, WEFT__FS_FTRUNCATE, {
        if (!(core->flags & WEFT__FILE_WRITE) || f->req.arg > INT64_MAX) FINISH(f, -EINVAL);
    });
    FINISH(f, (int)f->req.op->res);
}

static const weft_future_vtable set_len_vtable = {set_len_poll, req_drop, "weft_file_set_len"};

weft_future *weft_file_set_len_init(weft_file_set_len *f, weft_file *file, uint64_t len) {
    weft_future_init(&f->base, &set_len_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_FTRUNCATE, NULL, NULL, len);
    f->file = file;
    f->result = 0;
    return &f->base;
}

static weft_poll metadata_poll(weft_future *fut, weft_context *cx) {
    weft_file_metadata *f = (weft_file_metadata *)fut;
    SIMPLE_FILE_OP(f, WEFT__FS_FSTAT, {
        if ((core->flags & WEFT__FILE_LOCAL) && weft__fs_fstat_cached(core->fd, &f->meta) == 0)
            FINISH(f, 0);
    });
    weft__fs_op *op = f->req.op;
    if (op->res == 0) f->meta = op->meta;
    FINISH(f, (int)op->res);
}

static const weft_future_vtable metadata_vtable = {metadata_poll, req_drop, "weft_file_metadata"};

weft_future *weft_file_metadata_init(weft_file_metadata *f, weft_file *file) {
    weft_future_init(&f->base, &metadata_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_FSTAT, NULL, NULL, 0);
    f->file = file;
    f->result = 0;
    memset(&f->meta, 0, sizeof f->meta);
    return &f->base;
}
