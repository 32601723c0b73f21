/* weft_async_fd: any pollable descriptor registered with the reactor, with
 * a readiness future and the tick-checked clear (Tokio's AsyncFd). */
#include <errno.h>
#include <fcntl.h>

#include "io/handle.h"
#include "io/registration.h"

int weft_async_fd_adopt(weft_async_fd *a, weft_runtime *rt, int fd) {
    if (!a) return -EINVAL;
    a->io.reg = NULL;
    weft__fd_flags saved;
    int err = weft__fd_prepare(fd, &saved);
    if (err) return err;
    err = weft__io_register(rt, fd, WEFT_IO_READABLE | WEFT_IO_WRITABLE, &a->io.reg);
    if (err) weft__fd_restore(fd, &saved);
    return err;
}

void weft_async_fd_close(weft_async_fd *a) {
    if (a) weft__handle_close(&a->io);
}

int weft_async_fd_into_fd(weft_async_fd *a) { return a ? weft__handle_into_fd(&a->io) : -EINVAL; }

int weft_async_fd_fd(const weft_async_fd *a) { return a ? weft__handle_fd(&a->io) : -EINVAL; }

static weft_poll ready_poll(weft_future *f, weft_context *cx) {
    weft_async_fd_ready *r = (weft_async_fd_ready *)f;
    weft_io_reg *reg = r->fd ? r->fd->io.reg : NULL;
    if (!reg) {
        r->result = r->fd ? -EBADF : -EINVAL;
        return WEFT_READY;
    }
    if (r->interest != WEFT_INTEREST_READ && r->interest != WEFT_INTEREST_WRITE) {
        r->result = -EINVAL;
        return WEFT_READY;
    }
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    int err;
    if (weft__io_poll_ready(reg, cx, (int)r->interest, &r->wait, &r->ready, &err) == WEFT_PENDING) {
        cx->budget++;
        return WEFT_PENDING;
    }
    r->result = err;
    return WEFT_READY;
}
static void ready_drop(weft_future *f) { weft__io_waiter_cancel(&((weft_async_fd_ready *)f)->wait); }
static const weft_future_vtable ready_vtable = {ready_poll, ready_drop, "weft_async_fd_ready"};

weft_future *weft_async_fd_ready_init(weft_async_fd_ready *f, weft_async_fd *a,
                                      weft_interest interest) {
    weft_future_init(&f->base, &ready_vtable);
    f->fd = a;
    f->interest = interest;
    weft__io_waiter_init(&f->wait);
    f->ready = (weft_io_ready){0, 0};
    f->result = 0;
    return &f->base;
}

void weft_async_fd_clear_ready(weft_async_fd *a, const weft_io_ready *r) {
    if (a && a->io.reg && r) weft__io_clear_ready(a->io.reg, r);
}
