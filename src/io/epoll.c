/* The epoll backend: an epoll instance plus an eventfd for wakeups. Each
 * descriptor is added once, edge-triggered, for read, write and peer
 * hang-up; it is never re-armed (the registration remembers readiness).
 * The event's data is the registration pointer (NULL: the wakeup). */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/driver.h"
#include "io/registration.h"

#define MAX_EVENTS 256

static int epoll_init(weft_driver *d) {
    d->poll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (d->poll_fd < 0) return -errno;
    d->wake_fd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->wake_fd[0] < 0) {
        int err = -errno;
        close(d->poll_fd);
        d->poll_fd = -1;
        return err;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(d->poll_fd, EPOLL_CTL_ADD, d->wake_fd[0], &ev) < 0) {
        int err = -errno;
        close(d->poll_fd);
        close(d->wake_fd[0]);
        d->poll_fd = d->wake_fd[0] = -1;
        return err;
    }
    return 0;
}

static void epoll_shutdown(weft_driver *d) {
    if (d->poll_fd >= 0) close(d->poll_fd);
    d->poll_fd = -1;
}

static void epoll_free_wakeup(weft_driver *d) {
    if (d->wake_fd[0] >= 0) close(d->wake_fd[0]);
    d->wake_fd[0] = -1;
}

static inline uint32_t to_ready(uint32_t e) {
    uint32_t b = 0;
    if (e & (EPOLLIN | EPOLLPRI)) b |= WEFT_IO_READABLE;
    if (e & EPOLLOUT) b |= WEFT_IO_WRITABLE;
    if (e & EPOLLRDHUP) b |= WEFT_IO_READ_CLOSED;
    if (e & EPOLLHUP) b |= WEFT_IO_READ_CLOSED | WEFT_IO_WRITE_CLOSED;
    if (e & EPOLLERR) b |= WEFT_IO_ERROR;
    return b;
}

static int epoll_wait_events(weft_driver *d, int timeout_ms) {
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(d->poll_fd, evs, MAX_EVENTS, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        weft_io_reg *r = evs[i].data.ptr;
        if (WEFT_LIKELY(r != NULL)) {
            weft__io_set_ready(r, to_ready(evs[i].events));
        } else {
            uint64_t v;
            ssize_t rd = read(d->wake_fd[0], &v, sizeof v); /* resets the counter */
            (void)rd;
        }
    }
    return n;
}

static void epoll_wakeup(weft_driver *d) {
    uint64_t one = 1;
    ssize_t r = write(d->wake_fd[0], &one, sizeof one);
    (void)r; /* EAGAIN means the counter is already non-zero: the wake is pending */
}

static int epoll_add(weft_driver *d, weft_io_reg *r) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = r};
    if (epoll_ctl(d->poll_fd, EPOLL_CTL_ADD, r->fd, &ev) < 0) return -errno;
    return 0;
}

static void epoll_del(weft_driver *d, weft_io_reg *r) {
    if (d->poll_fd >= 0) epoll_ctl(d->poll_fd, EPOLL_CTL_DEL, r->fd, NULL);
}

const weft_driver_backend weft__epoll_backend = {
    .name = "epoll",
    .init = epoll_init,
    .shutdown = epoll_shutdown,
    .free_wakeup = epoll_free_wakeup,
    .wait = epoll_wait_events,
    .wakeup = epoll_wakeup,
    .add = epoll_add,
    .del = epoll_del,
    .interest = NULL,
};
