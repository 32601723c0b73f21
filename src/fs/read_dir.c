/*
 * Reading a directory. The handle is a weft__file flagged as a directory:
 * its read-ahead buffer holds raw getdents64(2) records, 64 KiB at a time
 * (about two thousand entries of short names), filled by one pool trip,
 * with the type of every entry the file system left unknown looked up on
 * that same trip. Each next future then takes one entry from memory. A
 * dropped next loses nothing: a batch being read lands in the buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/req.h"

#define DIR_BATCH (64 * 1024)

/* Ends the future with `val` (read before the operation is let go). */
#define FINISH(f, val)                                  \
    do {                                                \
        __typeof__((f)->result) v_ = (val);             \
        weft__fs_req_release(&(f)->req);                \
        (f)->result = v_;                               \
        return WEFT_READY;                              \
    } while (0)

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int dir_handle(weft_read_dir_open *f, int fd) {
    weft__file *core = weft__file_new(fd, WEFT__FILE_DIR | WEFT__FILE_READ, 0);
    if (!core) {
        close(fd);
        return -ENOMEM;
    }
    f->dir.core = core;
    return 0;
}

static weft_poll open_poll(weft_future *fut, weft_context *cx) {
    weft_read_dir_open *f = (weft_read_dir_open *)fut;
    weft__fs_op *op = f->req.op;
    if (!op) {
        f->req.started = 1;
        if (!cx->runtime || !f->req.path) FINISH(f, -EINVAL);
        struct statx sx;
        int fd = weft__fs_open_cached(f->req.path, O_RDONLY | O_DIRECTORY, &sx);
        if (fd >= 0) FINISH(f, dir_handle(f, fd));
        if (fd != -EAGAIN) FINISH(f, fd);
        op = weft__fs_op_new(WEFT__FS_OPEN_DIR, f->req.path, NULL);
        if (!op) FINISH(f, -ENOMEM);
        f->req.op = op;
        op->flags = O_RDONLY;
        int err = weft__fs_submit(cx->runtime, op);
        if (err) FINISH(f, err);
    }
    if (weft__fs_op_poll(op, cx) == WEFT_PENDING) return WEFT_PENDING;
    if (op->res < 0) FINISH(f, (int)op->res);
    int fd = op->out_fd;
    op->out_fd = -1;
    FINISH(f, dir_handle(f, fd));
}

static void req_drop(weft_future *fut) { weft__fs_req_release(&((weft_read_dir_open *)fut)->req); }

static const weft_future_vtable open_vtable = {open_poll, req_drop, "weft_read_dir_open"};

weft_future *weft_read_dir_open_init(weft_read_dir_open *f, const char *path) {
    weft_future_init(&f->base, &open_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_OPEN_DIR, path, NULL, 0);
    f->result = 0;
    f->dir.core = NULL;
    return &f->base;
}

/* Under the lock: the next record that is not "." or "..", or NULL. */
static struct linux_dirent64 *next_record(weft__file *d) {
    while (d->rpos < d->rend) {
        struct linux_dirent64 *r = (struct linux_dirent64 *)(d->rbuf + d->rpos);
        d->rpos += r->d_reclen;
        const char *n = r->d_name;
        if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
        return r;
    }
    return NULL;
}

static weft_poll next_poll(weft_future *fut, weft_context *cx) {
    weft_read_dir_next *f = (weft_read_dir_next *)fut;
    if (!f->req.started) {
        int err = f->dir ? weft__fs_req_start(&f->req, f->dir->core, cx) : (f->req.started = 1, -EINVAL);
        if (err) FINISH(f, err);
    }
    weft__file *d = f->req.core;
    for (;;) {
        weft_waker old = WEFT_WAKER_NONE;
        pthread_mutex_lock(&d->lock);
        if (d->closed) {
            pthread_mutex_unlock(&d->lock);
            FINISH(f, -EBADF);
        }
        if (d->busy != WEFT__BUSY_NONE) { /* a batch is being read */
            old = weft_waker_replace(&f->req.wait.waker, &cx->waker);
            if (!weft__link_is_linked(&f->req.wait.link))
                weft__list_push_back(&d->waiters, &f->req.wait.link);
            pthread_mutex_unlock(&d->lock);
            weft_waker_drop(old);
            return WEFT_PENDING;
        }
        struct linux_dirent64 *r = next_record(d);
        if (r) {
            size_t n = strlen(r->d_name);
            int res = 1;
            if (n >= sizeof f->entry.name) {
                res = -ENAMETOOLONG; /* cannot be stored: reported, and skipped */
            } else {
                memcpy(f->entry.name, r->d_name, n + 1);
                f->entry.type = weft__fs_type_from_dtype(r->d_type);
                f->entry.ino = r->d_ino;
            }
            pthread_mutex_unlock(&d->lock);
            FINISH(f, res);
        }
        if (d->read_err || d->eof) {
            int res = d->read_err; /* an error once; the end for good */
            d->read_err = 0;
            pthread_mutex_unlock(&d->lock);
            FINISH(f, res);
        }
        /* Empty: one pool trip for the next batch. */
        if (!d->rbuf) {
            d->rbuf = malloc(DIR_BATCH);
            if (!d->rbuf) {
                pthread_mutex_unlock(&d->lock);
                FINISH(f, -ENOMEM);
            }
            d->rcap = DIR_BATCH;
        }
        d->busy = WEFT__BUSY_INLINE;
        uint32_t gen = d->gen;
        pthread_mutex_unlock(&d->lock);
        weft__fs_op *op = weft__fs_op_new(WEFT__FS_FILL, NULL, NULL);
        if (!op) {
            weft__file_end_inline(d);
            FINISH(f, -ENOMEM);
        }
        op->data = d->rbuf;
        op->cap = d->rcap;
        op->gen = gen;
        op->cursor = true;
        int err = weft__file_submit(d, cx->runtime, op);
        weft__fs_op_release(op);
        if (err) FINISH(f, err);
    }
}

static void next_drop(weft_future *fut) { weft__fs_req_release(&((weft_read_dir_next *)fut)->req); }

static const weft_future_vtable next_vtable = {next_poll, next_drop, "weft_read_dir_next"};

weft_future *weft_read_dir_next_init(weft_read_dir_next *f, weft_read_dir *dir) {
    weft_future_init(&f->base, &next_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_FILL, NULL, NULL, 0);
    f->dir = dir;
    f->result = 0;
    memset(&f->entry, 0, sizeof f->entry);
    return &f->base;
}

void weft_read_dir_close(weft_read_dir *d) {
    if (!d || !d->core) return;
    weft__file *core = d->core;
    d->core = NULL;
    weft__file_close(core);
}
