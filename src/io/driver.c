/* Backend selection, the park/unpark handshake, and the registration
 * bookkeeping (live list, deferred release, shutdown). The handshake avoids
 * a system call per remote wake: only a wake that finds the thread PARKED
 * writes to the wakeup channel. */
#include "io/driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "io/registration.h"
#include "runtime/rt.h"

enum { PARK_EMPTY = 0, PARK_PARKED = 1, PARK_NOTIFIED = 2 };

/* Freed registrations kept for reuse (no malloc per connection). */
#define REG_CACHE_MAX 1024

static const weft_driver_backend *pick(weft_io_backend which) {
    if (which == WEFT_IO_DEFAULT) {
        const char *env = getenv("WEFT_IO_BACKEND");
        if (env && strcmp(env, "poll") == 0) which = WEFT_IO_POLL;
        else which = WEFT_IO_EPOLL;
    }
    switch (which) {
    case WEFT_IO_EPOLL: return &weft__epoll_backend;
    case WEFT_IO_POLL: return &weft__poll_backend;
    default: return NULL;
    }
}

int weft__driver_init(weft_driver *d, weft_io_backend which) {
    memset(d, 0, sizeof *d);
    d->poll_fd = d->wake_fd[0] = d->wake_fd[1] = -1;
    atomic_init(&d->park_state, PARK_EMPTY);
    atomic_init(&d->registrations, 0);
    atomic_init(&d->pending_count, 0);
    weft__list_init(&d->live);
    weft__list_init(&d->pending);
    weft__list_init(&d->cache);
    d->backend = pick(which);
    if (!d->backend) return -ENOTSUP;
    pthread_mutex_init(&d->reg_lock, NULL);
    int err = d->backend->init(d);
    if (err) {
        pthread_mutex_destroy(&d->reg_lock);
        d->backend = NULL;
        return err;
    }
    d->lock_init = true;
    return 0;
}

/* Frees every registration of `list`; returns how many. */
static size_t free_list(weft_link *list) {
    size_t n = 0;
    weft_link *l;
    while ((l = weft__list_pop_front(list))) {
        free(reg_of_node(l));
        n++;
    }
    return n;
}

/* Wakers woken per round of the shutdown (outside the driver's lock). */
#define SHUTDOWN_BATCH 64

void weft__driver_shutdown(weft_driver *d) {
    if (!d->backend) return;
    weft_waker batch[SHUTDOWN_BATCH];
    size_t n;
    pthread_mutex_lock(&d->reg_lock);
    d->shut_down = true; /* no new registration from here on */
    /* Wake every waiter, a batch at a time: the wakes run outside the lock
     * (a waker may end up closing a socket). A registration marked shut
     * down takes no new waiters, so the rounds end. */
    for (;;) {
        n = 0;
        weft__list_for_each_safe(l, tmp, &d->live) {
            n += weft__io_take_for_shutdown(reg_of_node(l), batch + n, SHUTDOWN_BATCH - n);
            if (n == SHUTDOWN_BATCH) break;
        }
        if (n < SHUTDOWN_BATCH) break;
        pthread_mutex_unlock(&d->reg_lock);
        for (size_t i = 0; i < n; i++) weft_waker_wake(batch[i]);
        pthread_mutex_lock(&d->reg_lock);
    }
    /* Live registrations belong to objects that will close them later;
     * they are unlisted now and freed by that close. */
    weft_link *l;
    while ((l = weft__list_pop_front(&d->live))) {
        weft_io_reg *r = reg_of_node(l);
        r->listed = false;
        d->backend->del(d, r);
    }
    atomic_store_explicit(&d->registrations, 0, memory_order_relaxed);
    weft_runtime *rt = weft__list_empty(&d->pending) ? NULL : reg_of_node(d->pending.next)->rt;
    atomic_store_explicit(&d->pending_count, 0, memory_order_relaxed);
    size_t unrefs = free_list(&d->pending);
    free_list(&d->cache);
    d->cache_len = 0;
    d->backend->shutdown(d);
    pthread_mutex_unlock(&d->reg_lock);
    for (size_t i = 0; i < n; i++) weft_waker_wake(batch[i]);
    /* Not the last references: the runtime's user handle is still held. */
    while (unrefs--) weft__runtime_unref(rt);
}

void weft__driver_free(weft_driver *d) {
    if (!d->backend) return;
    d->backend->free_wakeup(d);
    free_list(&d->cache);
    d->cache_len = 0;
    if (d->lock_init) pthread_mutex_destroy(&d->reg_lock);
    d->lock_init = false;
}

/* Frees the registrations deregistered before this turn: every event that
 * could name them was dispatched by an earlier wait. Driver thread. */
static void release_pending(weft_driver *d) {
    pthread_mutex_lock(&d->reg_lock);
    atomic_store_explicit(&d->pending_count, 0, memory_order_relaxed);
    weft_runtime *rt = NULL;
    size_t n = 0;
    weft_link *l;
    while ((l = weft__list_pop_front(&d->pending))) {
        weft_io_reg *r = reg_of_node(l);
        rt = r->rt;
        if (d->cache_len < REG_CACHE_MAX) {
            weft__list_push_front(&d->cache, l);
            d->cache_len++;
        } else {
            free(r);
        }
        n++;
    }
    pthread_mutex_unlock(&d->reg_lock);
    /* Never the last reference: the runtime is running. */
    while (n--) weft__runtime_unref(rt);
}

/* The backend's wait failed with something other than EINTR. ENOMEM is
 * the kernel short of memory for the event list: pause a millisecond so
 * that the caller's loop does not spin while it lasts. Anything else
 * (EBADF, EINVAL, EFAULT) means the driver's own descriptors are broken,
 * which no retry mends: stop with a message rather than spin. */
static void wait_failed(weft_driver *d, int err) {
    if (err == -ENOMEM) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        return;
    }
    fprintf(stderr, "weft: fatal: the %s driver's wait failed: %s\n", d->backend->name,
            weft_strerror(err));
    abort();
}

void weft__driver_park(weft_driver *d, int timeout_ms) {
    if (atomic_load_explicit(&d->pending_count, memory_order_relaxed)) release_pending(d);
    if (timeout_ms != 0) {
        int expect = PARK_EMPTY;
        if (!atomic_compare_exchange_strong(&d->park_state, &expect, PARK_PARKED)) {
            /* NOTIFIED: someone woke us before we slept; just collect events. */
            atomic_store(&d->park_state, PARK_EMPTY);
            timeout_ms = 0;
        }
    }
    int n = d->backend->wait(d, timeout_ms);
    if (timeout_ms != 0) atomic_store(&d->park_state, PARK_EMPTY);
    if (WEFT_UNLIKELY(n < 0)) wait_failed(d, n);
}

void weft__driver_unpark(weft_driver *d) {
    if (atomic_exchange(&d->park_state, PARK_NOTIFIED) == PARK_PARKED) d->backend->wakeup(d);
}

/* ---- registrations ------------------------------------------------------- */

weft_driver *weft__runtime_driver(weft_runtime *rt) { return rt->ops->driver(rt); }

int weft__io_register(weft_runtime *rt, int fd, uint32_t initial, weft_io_reg **out) {
    *out = NULL;
    if (!rt) rt = weft_runtime_current();
    if (!rt || fd < 0) return -EINVAL;
    weft_driver *d = weft__runtime_driver(rt);
    if (!d || !d->backend) return -EINVAL;
    int err = 0;
    pthread_mutex_lock(&d->reg_lock);
    if (d->shut_down) {
        err = -ESHUTDOWN;
        goto out;
    }
    weft_io_reg *r;
    weft_link *cached = weft__list_pop_front(&d->cache);
    if (cached) {
        r = reg_of_node(cached);
        d->cache_len--;
    } else if (!(r = malloc(sizeof *r))) {
        err = -ENOMEM;
        goto out;
    }
    atomic_init(&r->state, (uint64_t)(initial & REG_READY_MASK));
    spin_init(&r->lock);
    atomic_init(&r->users, 1);
    r->reader = r->writer = WEFT_WAKER_NONE;
    weft__list_init(&r->waiters);
    r->nwait[0] = r->nwait[1] = 0;
    r->driver = d;
    r->rt = rt;
    r->fd = fd;
    r->poll_index = -1;
    r->close_fd = true;
    err = d->backend->add(d, r);
    if (err) {
        if (d->cache_len < REG_CACHE_MAX) {
            weft__list_push_front(&d->cache, &r->node);
            d->cache_len++;
        } else {
            free(r);
        }
        goto out;
    }
    weft__list_push_back(&d->live, &r->node);
    r->listed = true;
    atomic_fetch_add_explicit(&d->registrations, 1, memory_order_relaxed);
    weft__runtime_ref(rt);
    *out = r;
out:
    pthread_mutex_unlock(&d->reg_lock);
    return err;
}

void weft__io_deregister(weft_io_reg *r) {
    weft_driver *d = r->driver;
    /* Nobody waits on it any more: whoever did is woken and finds the
     * handle closed. */
    weft__io_close_waiters(r);

    int fd = r->close_fd ? r->fd : -1;
    weft_runtime *rt = r->rt;
    pthread_mutex_lock(&d->reg_lock);
    if (r->listed) {
        d->backend->del(d, r);
        weft__list_remove(&r->node);
        r->listed = false;
        weft__list_push_back(&d->pending, &r->node);
        atomic_fetch_add_explicit(&d->pending_count, 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&d->registrations, 1, memory_order_relaxed);
        pthread_mutex_unlock(&d->reg_lock);
        if (fd >= 0) close(fd);
        return;
    }
    /* The driver shut down: no event can name it any more. */
    pthread_mutex_unlock(&d->reg_lock);
    if (fd >= 0) close(fd);
    free(r);
    weft__runtime_unref(rt); /* may free the runtime (and `d`) */
}

void weft__io_unshare(weft_io_reg *r) {
    if (atomic_fetch_sub_explicit(&r->users, 1, memory_order_acq_rel) == 1) weft__io_deregister(r);
}
