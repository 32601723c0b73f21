/*
 * The shared file (weft__file): references, the cursor's owner, waiting
 * for it, the end of operations; and the handle's functions (open,
 * adopt, close, into_fd). See fs.h for the fields and docs/fs.md for the
 * design.
 *
 * Who waits for what: a future that must not overlap the operation at the
 * cursor (every file operation) queues its node in `waiters` while
 * `busy` is set; the stream's poll_read and poll_write, which have no
 * struct of their own, keep their waker in rd_waker / wr_waker. The end of
 * every operation, and close, wake all of them; each looks at the state
 * again under the lock. A waiter queues under the lock that the ender
 * holds when it clears `busy`, so a wake-up cannot be lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"

#define FILE_WINDOW_MIN (16 * 1024)

weft__file *weft__file_new(int fd, uint32_t flags, uint64_t pos) {
    weft__file *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    pthread_mutex_init(&f->lock, NULL);
    atomic_init(&f->refs, 1);
    f->fd = fd;
    f->flags = flags;
    f->pos = pos;
    atomic_init(&f->nowait, (flags & WEFT__FILE_NOWAIT) != 0);
    f->window = FILE_WINDOW_MIN;
    f->rd_waker = WEFT_WAKER_NONE;
    f->wr_waker = WEFT_WAKER_NONE;
    weft__list_init(&f->waiters);
    return f;
}

void weft__file_ref(weft__file *f) { atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed); }

void weft__file_unref(weft__file *f) {
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1) return;
    if (f->fd >= 0) close(f->fd);
    weft__dir_free(f->dir);
    free(f->rbuf);
    free(f->wbuf);
    free(f->pbuf);
    weft_waker_drop(f->rd_waker);
    weft_waker_drop(f->wr_waker);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static bool has_waiters(const weft__file *f) {
    return !weft__list_empty(&f->waiters) || !weft_waker_is_none(&f->rd_waker) ||
           !weft_waker_is_none(&f->wr_waker);
}

/* Wakes everybody waiting, outside the lock (which the caller does not
 * hold). The nodes queued now are moved to a private list and their wakers
 * taken in batches under the lock; an owner that drops its node meanwhile
 * unlinks it from that list under the same lock. */
void weft__file_wake_all(weft__file *f) {
    weft_link mine;
    weft__list_init(&mine);
    pthread_mutex_lock(&f->lock);
    weft__list_splice_back(&mine, &f->waiters);
    weft_waker rd = weft_waker_take(&f->rd_waker), wr = weft_waker_take(&f->wr_waker);
    pthread_mutex_unlock(&f->lock);
    weft_waker_wake(rd);
    weft_waker_wake(wr);
    for (;;) {
        weft_waker batch[16];
        int n = 0;
        pthread_mutex_lock(&f->lock);
        weft_link *l;
        while (n < 16 && (l = weft__list_pop_front(&mine))) {
            weft_fs_waiter *w = weft__container_of(l, weft_fs_waiter, link);
            batch[n++] = weft_waker_take(&w->waker);
        }
        pthread_mutex_unlock(&f->lock);
        for (int i = 0; i < n; i++) weft_waker_wake(batch[i]);
        if (n < 16) return;
    }
}

int weft__file_begin(weft__file *f, int mode, weft_fs_waiter *w, weft_waker *slot,
                     weft_context *cx) {
    weft_waker old = WEFT_WAKER_NONE;
    int r;
    pthread_mutex_lock(&f->lock);
    if (f->closed) {
        r = -EBADF;
        if (w && weft__link_is_linked(&w->link)) {
            weft__list_remove(&w->link);
            old = weft_waker_take(&w->waker);
        }
    } else if (f->busy == WEFT__BUSY_NONE && (mode != WEFT__BEGIN_DRAIN || f->running == 0)) {
        r = 0;
        if (mode == WEFT__BEGIN_CURSOR) f->busy = WEFT__BUSY_INLINE;
        if (w && weft__link_is_linked(&w->link)) {
            weft__list_remove(&w->link);
            old = weft_waker_take(&w->waker);
        }
    } else {
        r = 1;
        if (w) {
            old = weft_waker_replace(&w->waker, &cx->waker);
            if (!weft__link_is_linked(&w->link)) weft__list_push_back(&f->waiters, &w->link);
            w->queued = 1;
        } else {
            old = weft_waker_replace(slot, &cx->waker);
        }
    }
    pthread_mutex_unlock(&f->lock);
    weft_waker_drop(old);
    return r;
}

void weft__file_forget(weft__file *f, weft_fs_waiter *w) {
    weft_waker old = WEFT_WAKER_NONE;
    pthread_mutex_lock(&f->lock);
    if (weft__link_is_linked(&w->link)) weft__list_remove(&w->link);
    old = weft_waker_take(&w->waker);
    pthread_mutex_unlock(&f->lock);
    weft_waker_drop(old);
}

void weft__file_end_inline(weft__file *f) {
    pthread_mutex_lock(&f->lock);
    f->busy = WEFT__BUSY_NONE;
    bool wake = has_waiters(f);
    pthread_mutex_unlock(&f->lock);
    if (wake) weft__file_wake_all(f);
}

/* Under the lock: the descriptor of a closed file that nothing uses any
 * more (nothing in flight, nobody at the cursor), taken out for the caller
 * to close once it has dropped the lock; -1 otherwise. The references still
 * held then (an operation that is ending, a future that will find the
 * handle closed) never touch the descriptor again, so it is closed when
 * its last user ends, not when the last reference goes: after a flush,
 * weft_file_close closes it before it returns. */
static int take_unused_fd(weft__file *f) {
    if (!f->closed || f->busy != WEFT__BUSY_NONE || f->running > 0) return -1;
    int fd = f->fd;
    f->fd = -1;
    return fd;
}

void weft__file_discard_read(weft__file *f) {
    f->rpos = f->rend = 0;
    f->eof = false;
    f->read_err = 0;
}

int weft__file_submit(weft__file *f, struct weft_runtime *rt, weft__fs_op *op) {
    weft__file_ref(f);
    op->file = f;
    op->fd = f->fd;
    pthread_mutex_lock(&f->lock);
    f->running++;
    if (op->cursor) f->busy = WEFT__BUSY_POOL;
    pthread_mutex_unlock(&f->lock);
    int err = weft__fs_submit(rt, op);
    if (err) {
        pthread_mutex_lock(&f->lock);
        f->running--;
        if (op->cursor) f->busy = WEFT__BUSY_NONE;
        bool wake = has_waiters(f);
        pthread_mutex_unlock(&f->lock);
        if (wake) weft__file_wake_all(f);
        op->cursor = false; /* nothing to apply when it is freed */
    }
    return err;
}

/* A fill's bytes (or end, or error) become the read-ahead, unless bytes
 * behind the cursor changed while it ran (then they may be stale). */
static void apply_fill(weft__file *f, weft__fs_op *op) {
    if (op->gen != f->gen) return;
    weft__file_discard_read(f);
    if (op->res > 0) {
        f->rend = (size_t)op->res;
        f->seq_end = op->off + (uint64_t)op->res;
    } else if (op->res == 0) {
        f->eof = true;
    } else {
        f->read_err = (int)op->res;
    }
}

void weft__file_op_end(weft__fs_op *op) {
    weft__file *f = op->file;
    pthread_mutex_lock(&f->lock);
    switch (op->code) {
    case WEFT__FS_FILL:
        if (!(f->flags & WEFT__FILE_DIR)) apply_fill(f, op);
        else if (op->res < 0) f->read_err = (int)op->res; /* cancelled before it ran */
        break;
    case WEFT__FS_READ_TO_END:
        if (op->res >= 0) f->pos = op->off + (uint64_t)op->res;
        break;
    case WEFT__FS_LSEEK:
        if (op->res >= 0) {
            f->pos = (uint64_t)op->res;
            weft__file_discard_read(f);
        }
        break;
    case WEFT__FS_WRITE_BEHIND:
        if (f->writing) { /* cancelled before it ran (the runtime is going away) */
            f->writing = false;
            f->write_err = (int)op->res;
            f->plen = 0;
        }
        break;
    case WEFT__FS_PWRITE:
    case WEFT__FS_FTRUNCATE:
        f->gen++;
        weft__file_discard_read(f);
        break;
    default: break;
    }
    if (op->cursor) f->busy = WEFT__BUSY_NONE;
    op->cursor = false;
    f->running--;
    int fd = take_unused_fd(f); /* the last operation of a closed file */
    bool wake = has_waiters(f);
    pthread_mutex_unlock(&f->lock);
    if (fd >= 0) close(fd);
    if (wake) weft__file_wake_all(f);
}

void weft__file_close(weft__file *f) {
    pthread_mutex_lock(&f->lock);
    f->closed = true;
    int fd = take_unused_fd(f); /* else the last operation in flight closes it */
    pthread_mutex_unlock(&f->lock);
    if (fd >= 0) close(fd);
    weft__file_wake_all(f);
    weft__file_unref(f);
}

/* ---- the handle ------------------------------------------------------------- */

static void handle_set(weft_file *h, weft__file *core) {
    h->stream.vt = &weft__file_stream_vtable;
    h->core = core;
}

int weft_file_adopt(weft_file *h, int fd) {
    if (!h) return -EINVAL;
    handle_set(h, NULL);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_PATH)) return -EBADF;
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_INO, &sx) != 0) return -errno;
    if (S_ISDIR(sx.stx_mode)) return -EISDIR;
    uint32_t flags = 0;
    int acc = fl & O_ACCMODE;
    if (acc == O_RDONLY || acc == O_RDWR) flags |= WEFT__FILE_READ;
    if (acc == O_WRONLY || acc == O_RDWR) flags |= WEFT__FILE_WRITE;
    if (fl & O_APPEND) flags |= WEFT__FILE_APPEND | WEFT__FILE_WRITE;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    if (pos >= 0) flags |= WEFT__FILE_SEEKABLE;
    if (S_ISREG(sx.stx_mode) && !(fl & O_DIRECT)) flags |= WEFT__FILE_NOWAIT;
    if (weft__fs_statx_is_local(fd, &sx)) flags |= WEFT__FILE_LOCAL;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0) return -EBADF;
    if (!(fdfl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) != 0) return -errno;
    weft__file *core = weft__file_new(fd, flags, pos >= 0 ? (uint64_t)pos : 0);
    if (!core) {
        fcntl(fd, F_SETFD, fdfl); /* as it was */
        return -ENOMEM;
    }
    handle_set(h, core);
    return 0;
}

void weft_file_close(weft_file *h) {
    if (!h || !h->core) return;
    weft__file *core = h->core;
    h->core = NULL;
    weft__file_close(core);
}

int weft_file_into_fd(weft_file *h) {
    if (!h || !h->core) return -EBADF;
    weft__file *f = h->core;
    pthread_mutex_lock(&f->lock);
    if (f->busy != WEFT__BUSY_NONE || f->running > 0) {
        pthread_mutex_unlock(&f->lock);
        return -EBUSY;
    }
    f->closed = true;
    int fd = f->fd;
    f->fd = -1; /* nothing uses it: nothing is in flight and the handle is closed */
    uint64_t pos = f->pos;
    bool seek = (f->flags & WEFT__FILE_SEEKABLE) != 0;
    pthread_mutex_unlock(&f->lock);
    if (seek) lseek(fd, (off_t)pos, SEEK_SET); /* the descriptor's offset is the cursor */
    h->core = NULL;
    weft__file_wake_all(f);
    weft__file_unref(f);
    return fd;
}

int weft_file_fd(const weft_file *h) { return h && h->core ? h->core->fd : -EBADF; }
