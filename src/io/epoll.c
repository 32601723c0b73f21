/* The epoll backend: an epoll instance plus an eventfd for wakeups. */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/driver.h"

#define WAKE_TOKEN ((uint64_t)0)

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
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TOKEN};
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

static int epoll_wait_events(weft_driver *d, int timeout_ms) {
    struct epoll_event evs[256];
    int n = epoll_wait(d->poll_fd, evs, 256, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 == WAKE_TOKEN) {
            uint64_t v;
            while (read(d->wake_fd[0], &v, sizeof v) > 0) {}
        }
    }
    return n;
}

static void epoll_wakeup(weft_driver *d) {
    uint64_t one = 1;
    ssize_t r = write(d->wake_fd[0], &one, sizeof one);
    (void)r; /* EAGAIN means the counter is already non-zero: the wake is pending */
}

const weft_driver_backend weft__epoll_backend = {
    "epoll", epoll_init, epoll_shutdown, epoll_free_wakeup, epoll_wait_events, epoll_wakeup,
};
