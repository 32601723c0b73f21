/*
 * sendfile: a range of a file to a stream. For TCP and Unix streams the
 * kernel moves the bytes (sendfile(2) on the socket's registration, which
 * waits for write readiness like any write); for every other stream, or a
 * descriptor sendfile refuses, pread(2) into a buffer and the stream's
 * poll_write.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "net/net.h"
#include "weft/io.h"

#define FALLBACK_BUF 65536
#define MAX_CHUNK 0x7ffff000u /* what one sendfile call moves at most */

/* The registration of a socket stream that can write, NULL for any other
 * stream; *sock says which it is. */
static weft_io_reg *socket_writer(weft_stream *s, bool *sock) {
    const weft_stream_vtable *vt = s->vt;
    *sock = vt == &weft__tcp_vtables[0] || vt == &weft__tcp_vtables[2] ||
            vt == &weft__unix_vtables[0] || vt == &weft__unix_vtables[2];
    return *sock ? ((weft__sock_stream *)s)->io.reg : NULL;
}

typedef struct sendfile_arg {
    int in_fd;
    off_t offset;
    size_t len;
} sendfile_arg;

/*
 * sendfile(2) has no MSG_NOSIGNAL: on a connection the peer has closed it
 * would raise SIGPIPE, which weft never does and which it must not cure by
 * changing the process's disposition. So SIGPIPE is blocked on this thread
 * around the call, and one that the call itself made pending is taken back
 * before the old mask returns (a SIGPIPE pending from before is left
 * alone).
 */
static ssize_t sendfile_nosignal(int out_fd, int in_fd, off_t *off, size_t len) {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n = sendfile(out_fd, in_fd, off, len);
    int err = errno;
    if (n < 0 && err == EPIPE && !was_pending) {
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return n;
}

static ssize_t do_sendfile(int out_fd, void *p) {
    sendfile_arg *a = p;
    off_t off = a->offset;
    ssize_t n = sendfile_nosignal(out_fd, a->in_fd, &off, a->len);
    return n < 0 ? -errno : n;
}

/* sendfile's answers that mean "not with these descriptors": use the copy. */
static bool refused(ssize_t err) {
    return err == -EINVAL || err == -ENOSYS || err == -EOPNOTSUPP || err == -ENOTSUP;
}

enum { STEP_PENDING, STEP_MORE, STEP_DONE };

/* Ends the send with `result` (frees the fallback's buffer). */
static int sf_finish(weft_sendfile *f, int result) {
    f->result = result;
    free(f->buf);
    f->buf = NULL;
    return STEP_DONE;
}

/* The file ended before `count` bytes. */
static int sf_eof(weft_sendfile *f) {
    return sf_finish(f, f->count == WEFT_SENDFILE_TO_END ? 0 : -ENODATA);
}

static int sf_kernel(weft_sendfile *f, weft_context *cx, uint64_t left) {
    bool sock;
    weft_io_reg *r = socket_writer(f->s, &sock);
    sendfile_arg a = {f->fd, (off_t)(f->offset + (int64_t)f->done),
                      left < MAX_CHUNK ? (size_t)left : MAX_CHUNK};
    ssize_t n;
    if (weft__io_op(r, cx, WEFT_INTEREST_WRITE, NULL, do_sendfile, &a, &n) == WEFT_PENDING)
        return STEP_PENDING;
    if (n > 0) {
        f->done += (uint64_t)n;
        return STEP_MORE;
    }
    if (n == 0) return sf_eof(f);
    if (refused(n)) {
        f->fallback = true; /* go on from the same place by copying */
        return STEP_MORE;
    }
    return sf_finish(f, (int)n);
}

static int sf_copy(weft_sendfile *f, weft_context *cx, uint64_t left) {
    if (!f->buf) {
        f->buf = malloc(FALLBACK_BUF);
        if (!f->buf) return sf_finish(f, -ENOMEM);
    }
    if (f->pos == f->end) {
        size_t want = left < FALLBACK_BUF ? (size_t)left : FALLBACK_BUF;
        ssize_t n;
        do n = pread(f->fd, f->buf, want, (off_t)(f->offset + (int64_t)f->done));
        while (n < 0 && errno == EINTR);
        if (n < 0) return sf_finish(f, -errno);
        if (n == 0) return sf_eof(f);
        f->pos = 0;
        f->end = (size_t)n;
    }
    ssize_t w;
    if (f->s->vt->poll_write(f->s, cx, f->buf + f->pos, f->end - f->pos, &w) == WEFT_PENDING)
        return STEP_PENDING;
    if (w <= 0) return sf_finish(f, w < 0 ? (int)w : -EPIPE); /* a stream that takes nothing is closed */
    f->pos += (size_t)w;
    f->done += (uint64_t)w;
    f->zero_copy = false;
    return STEP_MORE;
}

static weft_poll sf_poll(weft_future *fut, weft_context *cx) {
    weft_sendfile *f = (weft_sendfile *)fut;
    if (WEFT_UNLIKELY(!f->s || f->offset < 0)) {
        sf_finish(f, -EINVAL);
        return WEFT_READY;
    }
    if (WEFT_UNLIKELY(!f->s->vt || f->fd < 0)) {
        sf_finish(f, -EBADF);
        return WEFT_READY;
    }
    if (!f->started) {
        bool sock;
        socket_writer(f->s, &sock);
        f->fallback = !sock;
        f->zero_copy = sock;
        f->started = true;
    }
    for (;;) {
        if (f->count != WEFT_SENDFILE_TO_END && f->done >= f->count) {
            sf_finish(f, 0);
            return WEFT_READY;
        }
        uint64_t left = f->count == WEFT_SENDFILE_TO_END ? UINT64_MAX : f->count - f->done;
        int step = f->fallback ? sf_copy(f, cx, left) : sf_kernel(f, cx, left);
        if (step == STEP_PENDING) return WEFT_PENDING;
        if (step == STEP_DONE) return WEFT_READY;
    }
}

static void sf_drop(weft_future *fut) {
    weft_sendfile *f = (weft_sendfile *)fut;
    free(f->buf);
    f->buf = NULL;
}

static const weft_future_vtable sendfile_vtable = {sf_poll, sf_drop, "weft_sendfile"};

weft_future *weft_sendfile_init(weft_sendfile *f, weft_stream *s, int fd, int64_t offset,
                                uint64_t count) {
    weft_future_init(&f->base, &sendfile_vtable);
    f->s = s;
    f->fd = fd;
    f->offset = offset;
    f->count = count;
    f->buf = NULL;
    f->pos = f->end = 0;
    f->fallback = false;
    f->started = false;
    f->zero_copy = false;
    f->done = 0;
    f->result = 0;
    return &f->base;
}
