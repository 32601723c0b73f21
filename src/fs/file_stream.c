/*
 * A file as a weft_stream: reads and writes at the cursor.
 *
 * Reads. Bytes come from the read-ahead buffer when it has them (no
 * system call at all). When it is empty, the reader takes the cursor and
 * tries preadv2(RWF_NOWAIT) inline: into the buffer for a small read (a
 * window that doubles while the reads stay sequential, 16 KiB to 128 KiB),
 * straight into the caller's buffer for a large one (at most 1 MiB per
 * call: a runtime thread copies no more than that in one poll). Only if the pages are
 * not in memory does a fill go to the pool; the reader then waits for it
 * (its waker in rd_waker) and is served from the buffer when it lands. A
 * dropped read loses nothing: the fill lands in the buffer for the next.
 *
 * Writes. The byte-stream contract says poll_write must take the bytes or
 * wait having taken none, and may not touch the caller's buffer after it
 * returns; so a write copies the bytes and returns at once, and a pool
 * thread writes them (write-behind). While it does, further writes gather
 * in a second buffer (up to 1 MiB), which the same pool trip writes next:
 * many small writes cost one trip, not one each. An error is kept for the
 * next write or flush; poll_flush waits until nothing is in flight.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/fs.h"

#define WINDOW_MIN (16 * 1024)
#define WINDOW_MAX (128 * 1024)
#define DIRECT_MIN (64 * 1024) /* a read this large skips the read-ahead buffer */
#define FILL_MAX (1024 * 1024) /* the largest fill of one pool trip */
#define WRITE_CHUNK_MAX (1024 * 1024)

static int grow(unsigned char **buf, size_t *cap, size_t want) {
    if (*cap >= want) return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < want) c *= 2;
    unsigned char *p = realloc(*buf, c);
    if (!p) return -ENOMEM;
    *buf = p;
    *cap = c;
    return 0;
}

/* Under the lock, with bytes buffered: serves them. */
static size_t serve(weft__file *f, void *buf, size_t len) {
    size_t n = f->rend - f->rpos;
    if (n > len) n = len;
    memcpy(buf, f->rbuf + f->rpos, n);
    f->rpos += n;
    f->pos += n;
    return n;
}

/* Ends an inline step: the cursor is free again, waiters look again. */
static void end_inline_locked_then_wake(weft__file *f) {
    pthread_mutex_unlock(&f->lock);
    weft__file_end_inline(f);
}

static weft_poll file_poll_read(weft_stream *s, weft_context *cx, void *buf, size_t len,
                                ssize_t *res) {
    weft__file *f = ((weft_file *)s)->core;
    if (WEFT_UNLIKELY(!f || !(f->flags & WEFT__FILE_READ))) {
        *res = -EBADF;
        return WEFT_READY;
    }
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    for (;;) {
        pthread_mutex_lock(&f->lock);
        if (f->busy != WEFT__BUSY_NONE) {
            weft_waker old = weft_waker_replace(&f->rd_waker, &cx->waker);
            pthread_mutex_unlock(&f->lock);
            weft_waker_drop(old);
            cx->budget++;
            return WEFT_PENDING;
        }
        if (len == 0) {
            pthread_mutex_unlock(&f->lock);
            *res = 0;
            return WEFT_READY;
        }
        if (f->rend > f->rpos) {
            *res = (ssize_t)serve(f, buf, len);
            pthread_mutex_unlock(&f->lock);
            return WEFT_READY;
        }
        if (f->read_err || f->eof) {
            *res = f->read_err;
            f->read_err = 0;
            f->eof = false;
            pthread_mutex_unlock(&f->lock);
            return WEFT_READY;
        }
        /* The kernel is needed: take the cursor. */
        f->busy = WEFT__BUSY_INLINE;
        bool seekable = (f->flags & WEFT__FILE_SEEKABLE) != 0;
        bool direct = len >= DIRECT_MIN;
        if (seekable && f->pos == f->seq_end && f->seq_end > 0)
            f->window = f->window * 2 > WINDOW_MAX ? WINDOW_MAX : f->window * 2;
        else
            f->window = WINDOW_MIN;
        size_t want = direct ? (len < FILL_MAX ? len : FILL_MAX) : (len > f->window ? len : f->window);
        uint64_t pos = f->pos;
        uint32_t gen = f->gen;
        bool nowait = seekable && atomic_load_explicit(&f->nowait, memory_order_relaxed);
        if (grow(&f->rbuf, &f->rcap, want) != 0) {
            f->busy = WEFT__BUSY_NONE; /* nothing changed: no waiter to tell */
            pthread_mutex_unlock(&f->lock);
            *res = -ENOMEM;
            return WEFT_READY;
        }
        pthread_mutex_unlock(&f->lock);

        if (nowait) {
            ssize_t n = direct ? weft__fs_pread_nowait(f->fd, buf, want, pos)
                               : weft__fs_pread_nowait(f->fd, f->rbuf, want, pos);
            if (n >= 0 || (n != -EAGAIN && n != -EOPNOTSUPP)) {
                pthread_mutex_lock(&f->lock);
                if (n > 0 && direct) {
                    f->pos += (uint64_t)n;
                    f->seq_end = f->pos;
                    *res = n;
                } else if (n > 0) {
                    f->rpos = 0;
                    f->rend = (size_t)n;
                    f->seq_end = pos + (uint64_t)n;
                    *res = (ssize_t)serve(f, buf, len);
                    if (f->gen != gen) weft__file_discard_read(f); /* written meanwhile */
                } else {
                    *res = n; /* 0: the end; or the error */
                }
                end_inline_locked_then_wake(f);
                return WEFT_READY;
            }
            if (n == -EOPNOTSUPP) {
                atomic_store_explicit(&f->nowait, false, memory_order_relaxed);
            }
        }
        /* To the pool: a fill of the buffer, which this reader then waits for. */
        weft__fs_op *op = cx->runtime ? weft__fs_op_new(WEFT__FS_FILL, NULL, NULL) : NULL;
        if (!op) {
            weft__file_end_inline(f);
            *res = cx->runtime ? -ENOMEM : -EINVAL;
            return WEFT_READY;
        }
        op->data = f->rbuf;
        op->cap = want;
        op->off = pos;
        op->gen = gen;
        op->cursor = true;
        int err = weft__file_submit(f, cx->runtime, op);
        weft__fs_op_release(op); /* the file's waiters hear of its end */
        if (err) {
            *res = err;
            return WEFT_READY;
        }
        /* Loop: wait for it (or find it already done). */
    }
}

static weft_poll file_poll_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                                 ssize_t *res) {
    weft__file *f = ((weft_file *)s)->core;
    if (WEFT_UNLIKELY(!f || !(f->flags & WEFT__FILE_WRITE))) {
        *res = -EBADF;
        return WEFT_READY;
    }
    if (len == 0) {
        *res = 0;
        return WEFT_READY;
    }
    if (!cx->runtime) {
        *res = -EINVAL;
        return WEFT_READY;
    }
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    bool append = (f->flags & WEFT__FILE_APPEND) != 0;
    size_t n = len < WRITE_CHUNK_MAX ? len : WRITE_CHUNK_MAX;
    pthread_mutex_lock(&f->lock);
    if (f->write_err) {
        *res = f->write_err;
        f->write_err = 0;
        pthread_mutex_unlock(&f->lock);
        return WEFT_READY;
    }
    if (f->busy == WEFT__BUSY_POOL && f->writing && f->plen < WRITE_CHUNK_MAX) {
        /* Gather behind the write in flight: its pool trip takes these next. */
        if (n > WRITE_CHUNK_MAX - f->plen) n = WRITE_CHUNK_MAX - f->plen;
        if (grow(&f->pbuf, &f->pcap, f->plen + n) != 0) {
            pthread_mutex_unlock(&f->lock);
            *res = -ENOMEM;
            return WEFT_READY;
        }
        if (f->plen == 0) f->poff = f->pos;
        memcpy(f->pbuf + f->plen, buf, n);
        f->plen += n;
        if (!append) f->pos += n;
        pthread_mutex_unlock(&f->lock);
        *res = (ssize_t)n;
        return WEFT_READY;
    }
    if (f->busy != WEFT__BUSY_NONE) {
        weft_waker old = weft_waker_replace(&f->wr_waker, &cx->waker);
        pthread_mutex_unlock(&f->lock);
        weft_waker_drop(old);
        cx->budget++;
        return WEFT_PENDING;
    }
    /* Take the cursor, copy, and hand the bytes to a pool thread. */
    weft__fs_op *op = weft__fs_op_new(WEFT__FS_WRITE_BEHIND, NULL, NULL);
    if (!op || grow(&f->wbuf, &f->wcap, n) != 0) {
        pthread_mutex_unlock(&f->lock);
        if (op) weft__fs_op_release(op);
        *res = -ENOMEM;
        return WEFT_READY;
    }
    weft__file_discard_read(f); /* the bytes at the cursor change */
    memcpy(f->wbuf, buf, n);
    f->wlen = n;
    f->woff = f->pos;
    if (!append) f->pos += n;
    f->writing = true;
    f->busy = WEFT__BUSY_INLINE;
    pthread_mutex_unlock(&f->lock);
    op->cursor = true;
    int err = weft__file_submit(f, cx->runtime, op);
    weft__fs_op_release(op);
    if (err) {
        pthread_mutex_lock(&f->lock); /* not taken after all */
        f->writing = false;
        if (!append) f->pos -= n;
        pthread_mutex_unlock(&f->lock);
        *res = err;
        return WEFT_READY;
    }
    *res = (ssize_t)n;
    return WEFT_READY;
}

static int write_all(weft__file *f, const unsigned char *p, size_t len, uint64_t off) {
    bool positional = (f->flags & (WEFT__FILE_SEEKABLE | WEFT__FILE_APPEND)) == WEFT__FILE_SEEKABLE;
    size_t done = 0;
    while (done < len) {
        ssize_t n = positional ? pwrite(f->fd, p + done, len - done, (off_t)(off + done))
                               : write(f->fd, p + done, len - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        done += (size_t)n;
    }
    return 0;
}

void weft__file_exec_write_behind(weft__fs_op *op) {
    weft__file *f = op->file;
    bool append = (f->flags & (WEFT__FILE_APPEND | WEFT__FILE_SEEKABLE)) ==
                  (WEFT__FILE_APPEND | WEFT__FILE_SEEKABLE);
    for (;;) {
        /* wbuf is this trip's alone: writers fill pbuf, under the lock. */
        int err = write_all(f, f->wbuf, f->wlen, f->woff);
        off_t end = append && !err ? lseek(f->fd, 0, SEEK_CUR) : -1;
        pthread_mutex_lock(&f->lock);
        if (end >= 0) f->pos = (uint64_t)end;
        if (err) {
            f->write_err = err; /* for the next write or flush; what gathered is lost */
            f->plen = 0;
        }
        if (err || f->plen == 0) {
            f->writing = false;
            f->wlen = 0;
            pthread_mutex_unlock(&f->lock);
            op->res = err;
            return;
        }
        unsigned char *b = f->wbuf;
        size_t c = f->wcap;
        f->wbuf = f->pbuf;
        f->wcap = f->pcap;
        f->wlen = f->plen;
        f->woff = f->poff;
        f->pbuf = b;
        f->pcap = c;
        f->plen = 0;
        pthread_mutex_unlock(&f->lock);
    }
}

static weft_poll file_poll_flush(weft_stream *s, weft_context *cx, int *res) {
    weft__file *f = ((weft_file *)s)->core;
    if (WEFT_UNLIKELY(!f)) {
        *res = -EBADF;
        return WEFT_READY;
    }
    int r = weft__file_begin(f, WEFT__BEGIN_DRAIN, NULL, &f->wr_waker, cx);
    if (r == 1) return WEFT_PENDING;
    if (r < 0) {
        *res = r;
        return WEFT_READY;
    }
    pthread_mutex_lock(&f->lock);
    *res = f->write_err;
    f->write_err = 0;
    pthread_mutex_unlock(&f->lock);
    return WEFT_READY;
}

const weft_stream_vtable weft__file_stream_vtable = {
    "weft_file", WEFT_STREAM_SPLIT_SAFE, file_poll_read, NULL, file_poll_write, NULL,
    file_poll_flush, file_poll_flush,
};
