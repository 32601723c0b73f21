/* weft's service thread (see service.h): an epoll loop over the signal
 * eventfd and the pidfds of orphaned children. */
#include "signal/service.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "runtime/rt.h"
#include "signal/signal.h"

_Atomic int weft__service_wake_fd = -1;

static pthread_mutex_t service_lock = PTHREAD_MUTEX_INITIALIZER;
static bool running;    /* under service_lock */
static int epoll_fd = -1; /* set once per process (per fork child) under service_lock */
static bool atfork_set;

#define EVENTS 32

static void *service_main(void *arg) {
    int ep = (int)(intptr_t)arg;
    struct epoll_event ev[EVENTS];
    for (;;) {
        int n = epoll_wait(ep, ev, EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            /* ENOMEM: the kernel is short of memory for the event list;
             * try again shortly rather than spin. Nothing else can happen
             * to a descriptor only this file touches. */
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
            continue;
        }
        for (int i = 0; i < n; i++) {
            weft__service_watch *w = ev[i].data.ptr;
            if (!w) {
                uint64_t v;
                ssize_t r = read(atomic_load_explicit(&weft__service_wake_fd, memory_order_relaxed),
                                 &v, sizeof v);
                (void)r; /* EAGAIN: another wake already drained it */
                weft__signal_dispatch();
            } else {
                w->ready(w);
            }
        }
    }
    return NULL;
}

/* In a child made by fork(): the thread did not come along, and the
 * descriptors are shared with the parent (its handler must not wake the
 * parent's thread). Start afresh on next need. */
static void after_fork_child(void) {
    int fd = atomic_exchange_explicit(&weft__service_wake_fd, -1, memory_order_relaxed);
    if (fd >= 0) close(fd);
    if (epoll_fd >= 0) close(epoll_fd);
    epoll_fd = -1;
    running = false;
    pthread_mutex_init(&service_lock, NULL);
    weft__signal_after_fork();
}

int weft__service_start(void) {
    pthread_mutex_lock(&service_lock);
    int err = 0;
    if (running) goto out;
    if (!atfork_set) {
        err = -pthread_atfork(NULL, NULL, after_fork_child);
        if (err) goto out;
        atfork_set = true;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        err = -errno;
        goto out;
    }
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
        err = -errno;
        close(ep);
        goto out;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0) {
        err = -errno;
        close(efd);
        close(ep);
        goto out;
    }
    pthread_t th;
    err = weft__thread_start(&th, true, service_main, (void *)(intptr_t)ep);
    if (err) {
        close(efd);
        close(ep);
        goto out;
    }
    epoll_fd = ep;
    running = true;
    atomic_store_explicit(&weft__service_wake_fd, efd, memory_order_release);
    /* Deliveries recorded before the handler could wake anybody. */
    uint64_t one = 1;
    ssize_t r = write(efd, &one, sizeof one);
    (void)r;
out:
    pthread_mutex_unlock(&service_lock);
    return err;
}

int weft__service_add(weft__service_watch *w) {
    int err = weft__service_start();
    if (err) return err;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    pthread_mutex_lock(&service_lock);
    int ep = epoll_fd;
    pthread_mutex_unlock(&service_lock);
    return epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

void weft__service_del(weft__service_watch *w) {
    /* On the service thread, which only runs while epoll_fd is set. */
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
}
