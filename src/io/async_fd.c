/* weft_async_fd: any pollable descriptor registered with the reactor, with
 * a readiness future and the tick-checked clear (Tokio's AsyncFd). */
#include <errno.h>
#include <fcntl.h>

#include "io/registration.h"

int weft_async_fd_open(weft_async_fd *a, weft_runtime *rt, int fd) {
    a->io.reg = NULL;
    if (fd < 0) return -EBADF;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return -errno;
    return weft__io_register(rt, fd, WEFT_IO_READABLE | WEFT_IO_WRITABLE, &a->io.reg);
}

void weft_async_fd_close(weft_async_fd *a) {
    if (!a->io.reg) return;
    weft__io_deregister(a->io.reg);
    a->io.reg = NULL;
}

int weft_async_fd_release(weft_async_fd *a) {
    if (!a->io.reg) return -EBADF;
    int fd = a->io.reg->fd;
    a->io.reg->close_fd = false;
    weft__io_deregister(a->io.reg);
    a->io.reg = NULL;
    return fd;
}

int weft_async_fd_fd(const weft_async_fd *a) { return a->io.reg ? a->io.reg->fd : -1; }

static weft_poll ready_poll(weft_future *f, weft_context *cx) {
    weft_async_fd_ready *r = (weft_async_fd_ready *)f;
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    bool sd;
    if (weft__io_poll_ready(r->fd->io.reg, cx, (int)r->interest, &r->ready, &sd) == WEFT_PENDING) {
        cx->budget++;
        return WEFT_PENDING;
    }
    r->result = sd ? -ESHUTDOWN : 0;
    return WEFT_READY;
}
static void ready_drop(weft_future *f) {
    weft_async_fd_ready *r = (weft_async_fd_ready *)f;
    if (f->state == WEFT_FUTURE_PENDING && r->fd->io.reg) weft__io_forget(r->fd->io.reg, (int)r->interest);
}
static const weft_future_vtable ready_vtable = {ready_poll, ready_drop, "weft_async_fd_ready"};

weft_future *weft_async_fd_ready_init(weft_async_fd_ready *f, weft_async_fd *a,
                                      weft_interest interest) {
    weft_future_init(&f->base, &ready_vtable);
    f->fd = a;
    f->interest = interest;
    f->ready = (weft_io_ready){0, 0};
    f->result = 0;
    return &f->base;
}

void weft_async_fd_clear_ready(weft_async_fd *a, const weft_io_ready *r) {
    if (a->io.reg) weft__io_clear_ready(a->io.reg, r);
}
