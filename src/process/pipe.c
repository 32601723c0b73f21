/*
 * Our ends of the pipes to a child's standard streams, as weft streams.
 *
 * Writing to a pipe whose reader is gone raises SIGPIPE in the writing
 * thread (MSG_NOSIGNAL is for sockets only), and weft changes no
 * process-wide signal setting. So a write blocks SIGPIPE in the calling
 * thread for its duration and, when it fails with EPIPE, takes the SIGPIPE
 * it raised off the thread before unblocking (the method of OpenSSL and
 * git). A SIGPIPE already pending before the write is left alone.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "io/handle.h"
#include "process/process.h"

static ssize_t write_nosigpipe(int fd, void *arg) {
    const struct iovec *v = arg;
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    bool was_pending = false;
    if (sigismember(&old, SIGPIPE)) { /* blocked already (weft's own threads) */
        sigset_t p;
        sigpending(&p);
        was_pending = sigismember(&p, SIGPIPE);
    }
    ssize_t n = write(fd, v->iov_base, v->iov_len);
    int err = n < 0 ? errno : 0;
    if (err == EPIPE && !was_pending) {
        static const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    if (!sigismember(&old, SIGPIPE)) pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n < 0 ? -err : n;
}

static inline weft_io_reg *reg_of(weft_stream *s) { return ((weft_child_pipe *)s)->io.reg; }

static weft_poll reader_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    return weft__io_read(reg_of(s), cx, buf, len, res);
}
static weft_poll reader_readv(weft_stream *s, weft_context *cx, const struct iovec *iov, int iovcnt,
                              ssize_t *res) {
    return weft__io_readv(reg_of(s), cx, iov, iovcnt, res);
}
static weft_poll no_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                          ssize_t *res) {
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll no_read(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res) {
    *res = -EBADF;
    return WEFT_READY;
}

static weft_poll writer_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                              ssize_t *res) {
    weft_io_reg *r = reg_of(s);
    if (len == 0 || !r) {
        *res = r ? 0 : -EBADF;
        return WEFT_READY;
    }
    struct iovec v = {(void *)buf, len};
    return weft__io_op(r, cx, WEFT_INTEREST_WRITE, NULL, write_nosigpipe, &v, res);
}

static weft_poll flush(weft_stream *s, weft_context *cx, int *res) {
    *res = reg_of(s) ? 0 : -EBADF;
    return WEFT_READY;
}

/* The write end's shutdown is its close: a pipe has no half to keep. */
static weft_poll writer_shutdown(weft_stream *s, weft_context *cx, int *res) {
    weft_child_pipe *p = (weft_child_pipe *)s;
    *res = p->io.reg ? 0 : -EBADF;
    weft__handle_close(&p->io);
    return WEFT_READY;
}
static weft_poll reader_shutdown(weft_stream *s, weft_context *cx, int *res) {
    *res = -EBADF;
    return WEFT_READY;
}

static const weft_stream_vtable reader_vtable = {
    "weft_child_pipe (read end)", 0, reader_read, reader_readv, no_write, NULL, flush, reader_shutdown,
};
static const weft_stream_vtable writer_vtable = {
    "weft_child_pipe (write end)", 0, no_read, NULL, writer_write, NULL, flush, writer_shutdown,
};

void weft__child_pipe_setup(weft_child_pipe *p, bool write_end) {
    p->stream.vt = write_end ? &writer_vtable : &reader_vtable;
}

void weft_child_pipe_close(weft_child_pipe *p) {
    if (p) weft__handle_close(&p->io);
}

int weft_child_pipe_into_fd(weft_child_pipe *p) { return p ? weft__handle_into_fd(&p->io) : -EINVAL; }

int weft_child_pipe_fd(const weft_child_pipe *p) { return p ? weft__handle_fd(&p->io) : -EINVAL; }
