/*
 * Reading a directory. The handle is a weft__file flagged as a directory,
 * with a queue of batches of raw getdents64(2) records (32 KiB each, about
 * a thousand entries of short names).
 *
 * One pool trip streams: it reads batch after batch, publishing each to
 * the queue (and waking the reader) as soon as it is read, until the
 * directory ends or READY_MAX batches wait unread. The type of every entry
 * the file system left unknown is looked up on that same trip. Each next
 * future takes one entry from memory (a lock and a copy) while the kernel
 * reads the following ones on the pool thread: reading a long directory
 * costs about what the kernel spends in getdents64, and a handful of pool
 * trips at most. The trip starts as soon as the directory is opened, and
 * again whenever it stopped on a full queue and a batch was taken.
 *
 * A dropped next loses nothing (batches stay queued for the next call). A
 * closed handle stops the trip at its next batch; the descriptor is closed
 * when the trip ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/req.h"

#define BATCH (32 * 1024)
#define READY_MAX 6 /* batches read ahead, unread */

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

typedef struct dir_batch {
    struct dir_batch *next;
    size_t len;
    unsigned char data[BATCH];
} dir_batch;

/* Under the file's lock, except a batch the pool trip is filling (off
 * every list meanwhile). */
struct weft__dir {
    dir_batch *cur;     /* being read: cur->data[pos, cur->len) */
    size_t pos;
    dir_batch *head;    /* read ahead, in order */
    dir_batch *tail;
    dir_batch *spare;   /* read already: for the next batches */
    unsigned nready;
};

static void free_list(dir_batch *b) {
    while (b) {
        dir_batch *next = b->next;
        free(b);
        b = next;
    }
}

void weft__dir_free(struct weft__dir *d) {
    if (!d) return;
    free(d->cur);
    free_list(d->head);
    free_list(d->spare);
    free(d);
}

/* ---- the pool side ---------------------------------------------------------- */

/* getdents64 into `b`; entries of unknown type are looked up. */
static ssize_t read_batch(int fd, dir_batch *b) {
    ssize_t n;
    do n = getdents64(fd, b->data, sizeof b->data);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    for (ssize_t at = 0; at < n;) {
        struct linux_dirent64 *r = (struct linux_dirent64 *)(b->data + at);
        if (r->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(fd, r->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                r->d_type = (unsigned char)IFTODT(st.st_mode);
        }
        at += r->d_reclen;
    }
    return n;
}

static bool has_waiters(const weft__file *f) { return !weft__list_empty(&f->waiters); }

void weft__dir_exec_stream(weft__fs_op *op) {
    weft__file *f = op->file;
    struct weft__dir *d = f->dir;
    op->res = 0;
    for (;;) {
        pthread_mutex_lock(&f->lock);
        if (f->closed || d->nready >= READY_MAX) {
            pthread_mutex_unlock(&f->lock);
            return;
        }
        dir_batch *b = d->spare;
        if (b) d->spare = b->next;
        pthread_mutex_unlock(&f->lock);
        if (!b && !(b = malloc(sizeof *b))) {
            op->res = -ENOMEM;
            pthread_mutex_lock(&f->lock);
            f->read_err = -ENOMEM;
            pthread_mutex_unlock(&f->lock);
            return;
        }
        ssize_t n = read_batch(f->fd, b);
        pthread_mutex_lock(&f->lock);
        if (n > 0) {
            b->len = (size_t)n;
            b->next = NULL;
            if (d->tail) d->tail->next = b;
            else d->head = b;
            d->tail = b;
            d->nready++;
        } else {
            b->next = d->spare;
            d->spare = b;
            if (n == 0) f->eof = true;
            else f->read_err = (int)n;
        }
        bool wake = has_waiters(f);
        pthread_mutex_unlock(&f->lock);
        if (wake) weft__file_wake_all(f);
        if (n <= 0) return;
    }
}

/* ---- opening ---------------------------------------------------------------- */

/* Under the lock: starts the pool trip if it is not running and there is
 * more to read; the lock is dropped and taken again. 0 or -errno. */
static int start_stream(weft__file *f, struct weft_runtime *rt) {
    if (f->busy != WEFT__BUSY_NONE || f->eof || f->read_err || f->dir->nready >= READY_MAX) return 0;
    f->busy = WEFT__BUSY_INLINE; /* ours until the operation takes it */
    pthread_mutex_unlock(&f->lock);
    weft__fs_op *op = weft__fs_op_new(WEFT__FS_FILL, NULL, NULL);
    int err = -ENOMEM;
    if (op) {
        op->cursor = true;
        err = weft__file_submit(f, rt, op);
        weft__fs_op_release(op);
    } else {
        weft__file_end_inline(f);
    }
    pthread_mutex_lock(&f->lock);
    return err;
}

/* The handle over a directory descriptor just opened (closed on failure);
 * the first batches start on their way at once. */
static int dir_handle(weft_read_dir_open *f, int fd, struct weft_runtime *rt) {
    weft__file *core = weft__file_new(fd, WEFT__FILE_DIR | WEFT__FILE_READ, 0);
    struct weft__dir *d = calloc(1, sizeof *d);
    if (!core || !d) {
        free(d);
        if (core) weft__file_unref(core);
        else close(fd);
        return -ENOMEM;
    }
    core->dir = d;
    f->dir.core = core;
    pthread_mutex_lock(&core->lock);
    (void)start_stream(core, rt); /* a failure shows at the first next */
    pthread_mutex_unlock(&core->lock);
    return 0;
}

static weft_poll open_poll(weft_future *fut, weft_context *cx) {
    weft_read_dir_open *f = (weft_read_dir_open *)fut;
    weft__fs_op *op = f->req.op;
    if (weft__fs_first_poll_yields(&f->req, cx)) return WEFT_PENDING;
    if (!op) {
        f->req.started = 1;
        if (!cx->runtime || !f->req.path) FINISH(f, -EINVAL);
        struct statx sx;
        int fd = weft__fs_open_cached(f->req.path, O_RDONLY | O_DIRECTORY, &sx, false);
        if (fd >= 0) FINISH(f, dir_handle(f, fd, cx->runtime));
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
    FINISH(f, dir_handle(f, fd, cx->runtime));
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

/* ---- reading ------------------------------------------------------------------- */

/* Under the lock: the next record that is not "." or "..", or NULL when
 * the current batch is used up. */
static struct linux_dirent64 *next_record(struct weft__dir *d) {
    while (d->cur && d->pos < d->cur->len) {
        struct linux_dirent64 *r = (struct linux_dirent64 *)(d->cur->data + d->pos);
        d->pos += r->d_reclen;
        const char *n = r->d_name;
        if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
        return r;
    }
    return NULL;
}

/* The file's reference is taken only to wait: an entry found in memory
 * costs a lock and a copy. */
static weft_poll next_poll(weft_future *fut, weft_context *cx) {
    weft_read_dir_next *f = (weft_read_dir_next *)fut;
    weft__file *core = f->req.core;
    if (weft__fs_first_poll_yields(&f->req, cx)) return WEFT_PENDING;
    if (!core) {
        f->req.started = 1;
        if (!f->dir || !cx->runtime) FINISH(f, -EINVAL);
        core = f->dir->core; /* the handle is valid during this poll */
        if (!core) FINISH(f, -EBADF);
    }
    struct weft__dir *d = core->dir;
    pthread_mutex_lock(&core->lock);
    for (;;) {
        if (core->closed) {
            pthread_mutex_unlock(&core->lock);
            FINISH(f, -EBADF);
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
            pthread_mutex_unlock(&core->lock);
            FINISH(f, res);
        }
        if (d->head) { /* the next batch read ahead */
            if (d->cur) {
                d->cur->next = d->spare;
                d->spare = d->cur;
            }
            d->cur = d->head;
            d->head = d->head->next;
            if (!d->head) d->tail = NULL;
            d->nready--;
            d->pos = 0;
            (void)start_stream(core, cx->runtime); /* it stopped on a full queue */
            continue;
        }
        if (core->read_err || core->eof) {
            int res = core->read_err; /* an error once; the end for good */
            core->read_err = 0;
            pthread_mutex_unlock(&core->lock);
            FINISH(f, res);
        }
        if (core->busy == WEFT__BUSY_NONE) {
            int err = start_stream(core, cx->runtime);
            if (err) {
                pthread_mutex_unlock(&core->lock);
                FINISH(f, err);
            }
            continue;
        }
        /* The pool trip will publish a batch, or end: wait for it. */
        if (!f->req.core) {
            weft__file_ref(core);
            f->req.core = core;
        }
        weft_waker old = weft_waker_replace(&f->req.wait.waker, &cx->waker);
        if (!weft__link_is_linked(&f->req.wait.link)) weft__list_push_back(&core->waiters, &f->req.wait.link);
        f->req.wait.queued = 1;
        pthread_mutex_unlock(&core->lock);
        weft_waker_drop(old);
        return WEFT_PENDING;
    }
}

static void next_drop(weft_future *fut) { weft__fs_req_release(&((weft_read_dir_next *)fut)->req); }

static const weft_future_vtable next_vtable = {next_poll, next_drop, "weft_read_dir_next"};

weft_future *weft_read_dir_next_init(weft_read_dir_next *f, weft_read_dir *dir) {
    weft_future_init(&f->base, &next_vtable);
    weft__fs_req_init(&f->req, WEFT__FS_FILL, NULL, NULL, 0);
    f->dir = dir;
    f->result = 0;
    f->entry.name[0] = 0;
    f->entry.type = WEFT_FILE_TYPE_UNKNOWN;
    f->entry.ino = 0;
    return &f->base;
}

void weft_read_dir_close(weft_read_dir *d) {
    if (!d || !d->core) return;
    weft__file *core = d->core;
    d->core = NULL;
    weft__file_close(core);
}
