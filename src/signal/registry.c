/*
 * The signal registry (see signal.h): weft's handler, installing it and
 * putting the previous action back, the delivery counters and the wait
 * lists.
 *
 * The action weft's handler chains to is read by the handler at any time,
 * on any thread, while installs and removals happen on other threads. It
 * is therefore kept in records that are never changed or freed once
 * published: each slot keeps every distinct action it ever replaced (a
 * program that creates and destroys the only listener a million times
 * still has one record: the same default action each time), and the
 * handler reads the current one through an atomic pointer.
 */
#include "signal/signal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process/process.h"
#include "signal/service.h"
#include "sync/waitq.h"
#include "weft/signal.h"

typedef struct prev_action {
    struct prev_action *next;
    struct sigaction sa;
} prev_action;

typedef struct sig_slot {
    weft_spinlock lock;  /* gen and waiters */
    uint64_t gen;        /* deliveries dispatched */
    weft_link waiters;   /* weft_wait_node of the futures waiting */
    unsigned listeners;  /* under reg_lock */
    prev_action *_Atomic prev; /* what weft's handler chains to (NULL: nothing yet) */
    prev_action *records;      /* every record of this slot, under reg_lock */
} sig_slot;

static sig_slot slots[NSIG];
static _Atomic uint64_t pending; /* bit signum-1: delivered, not yet dispatched */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

static void slots_init(void) {
    for (int i = 0; i < NSIG; i++) {
        spin_init(&slots[i].lock);
        weft__list_init(&slots[i].waiters);
    }
}

static inline sig_slot *slot(int signum) {
    pthread_once(&slots_once, slots_init);
    return &slots[signum];
}

int weft__signal_check(int s) {
    if (s <= 0 || s >= NSIG) return -EINVAL;
    switch (s) {
    case SIGKILL: case SIGSTOP:                          /* cannot be caught */
    case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: /* returning re-runs the fault */
        return -EINVAL;
    default: break;
    }
    if (s > 31 && s < SIGRTMIN) return -EINVAL; /* the C library's own */
    return 0;
}

/* ---- the handler -------------------------------------------------------- */

static bool is_function(const struct sigaction *sa) {
    return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

static void handler(int sig, siginfo_t *info, void *uctx) {
    int saved = errno;
    atomic_fetch_or_explicit(&pending, (uint64_t)1 << (sig - 1), memory_order_release);
    int fd = atomic_load_explicit(&weft__service_wake_fd, memory_order_relaxed);
    if (fd >= 0) {
        uint64_t one = 1;
        ssize_t r = write(fd, &one, sizeof one); /* EAGAIN: a wake is already due */
        (void)r;
    }
    const prev_action *p = atomic_load_explicit(&slots[sig].prev, memory_order_acquire);
    errno = saved;
    if (p && is_function(&p->sa)) {
        if (p->sa.sa_flags & SA_SIGINFO) p->sa.sa_sigaction(sig, info, uctx);
        else p->sa.sa_handler(sig);
    }
    errno = saved;
}

static bool is_ours(const struct sigaction *sa) {
    return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == handler;
}

static bool same_action(const struct sigaction *a, const struct sigaction *b) {
    return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags &&
           memcmp(&a->sa_mask, &b->sa_mask, sizeof a->sa_mask) == 0;
}

/* The record of `sa` in `sl` (made if new). reg_lock held. */
static prev_action *record_for(sig_slot *sl, const struct sigaction *sa) {
    for (prev_action *r = sl->records; r; r = r->next)
        if (same_action(&r->sa, sa)) return r;
    prev_action *r = malloc(sizeof *r);
    if (!r) return NULL;
    r->sa = *sa;
    r->next = sl->records;
    sl->records = r;
    return r;
}

/* reg_lock held. */
static int install(int sig) {
    sig_slot *sl = &slots[sig];
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) < 0) return -errno;
    if (is_ours(&cur)) return 0; /* left in place by an application that chained to it */
    prev_action *rec = record_for(sl, &cur);
    if (!rec) return -ENOMEM;
    atomic_store_explicit(&sl->prev, rec, memory_order_release);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    if (is_function(&cur)) {
        /* Keep what the application's handler was promised. */
        sa.sa_mask = cur.sa_mask;
        sa.sa_flags = SA_SIGINFO | (cur.sa_flags & (SA_RESTART | SA_ONSTACK | SA_NOCLDSTOP));
    } else {
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    }
    if (sigaction(sig, &sa, NULL) < 0) return -errno;
    return 0;
}

/* reg_lock held. */
static void uninstall(int sig) {
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) < 0 || !is_ours(&cur)) return; /* replaced: leave theirs */
    const prev_action *p = atomic_load_explicit(&slots[sig].prev, memory_order_relaxed);
    if (p) sigaction(sig, &p->sa, NULL);
    /* `prev` stays: a handler still running on another thread, or an
     * application handler that chained to weft's, may still read it. */
}

int weft__signal_acquire(int signum) {
    int err = weft__signal_check(signum);
    if (err) return err;
    sig_slot *sl = slot(signum);
    /* The thread first, so that no delivery recorded by the handler waits. */
    err = weft__service_start();
    if (err) return err;
    pthread_mutex_lock(&reg_lock);
    if (sl->listeners == 0) err = install(signum);
    if (!err) sl->listeners++;
    pthread_mutex_unlock(&reg_lock);
    return err;
}

void weft__signal_release(int signum) {
    sig_slot *sl = slot(signum);
    pthread_mutex_lock(&reg_lock);
    if (sl->listeners > 0 && --sl->listeners == 0) uninstall(signum);
    pthread_mutex_unlock(&reg_lock);
}

uint64_t weft__signal_count(int signum) {
    sig_slot *sl = slot(signum);
    spin_lock(&sl->lock);
    uint64_t g = sl->gen;
    spin_unlock(&sl->lock);
    return g;
}

/* ---- waiting ------------------------------------------------------------ */

weft_poll weft__signal_poll(int signum, uint64_t *seen, weft_wait_node *node, weft_context *cx,
                            bool *closed) {
    sig_slot *sl = slot(signum);
    *closed = false;
    /* A node parked on another signal (its listener changed) leaves it first. */
    if (node->need && node->need != (size_t)signum) weft__signal_cancel(node);
    weft_waker old = WEFT_WAKER_NONE;
    spin_lock(&sl->lock);
    uint32_t st = node_state_locked(node);
    if (st == WN_CLOSED || sl->gen != *seen) {
        if (st == WN_CLOSED) *closed = true;
        else *seen = sl->gen;
        if (st == WN_QUEUED) weft__list_remove(&node->link);
        node_set(node, WN_IDLE);
        node->need = 0;
        spin_unlock(&sl->lock);
        waker_release(weft_waker_take(&node->waker));
        return WEFT_READY;
    }
    old = node_park_locked(&sl->waiters, node, cx);
    node->need = (size_t)signum;
    spin_unlock(&sl->lock);
    waker_release(old);
    return WEFT_PENDING;
}

void weft__signal_cancel(weft_wait_node *node) {
    if (node->need) {
        node_cancel(&slot((int)node->need)->lock, node);
        node->need = 0;
    } else {
        waker_release(weft_waker_take(&node->waker));
    }
}

/* Bumps nothing: wakes every waiter of `sl`, which re-polls. */
static void release_all(sig_slot *sl, bool count) {
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&sl->lock);
    if (count) sl->gen++;
    weft__wait_release_all(&sl->lock, &sl->waiters, WN_IDLE, &wb);
    spin_unlock(&sl->lock);
    wb_wake(&wb);
}

void weft__signal_wake_all(int signum) { release_all(slot(signum), false); }

void weft__signal_close_listener(int signum, const void *owner) {
    sig_slot *sl = slot(signum);
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&sl->lock);
again:
    weft__list_for_each_safe(l, tmp, &sl->waiters) {
        weft_wait_node *n = node_of(l);
        if (!(n->flags & WEFT__SIG_NODE_RECV)) continue;
        if (weft__container_of(n, weft_signal_recv, node)->sig != owner) continue;
        if (wb_full(&wb)) {
            wb_flush(&sl->lock, &wb); /* the list may have changed meanwhile */
            goto again;               /* (closed nodes left it: this ends) */
        }
        weft__list_remove(&n->link);
        node_complete(n, WN_CLOSED, &wb);
    }
    spin_unlock(&sl->lock);
    wb_wake(&wb);
}

void weft__signal_dispatch(void) {
    uint64_t m = atomic_exchange_explicit(&pending, 0, memory_order_acquire);
    while (m) {
        int sig = __builtin_ctzll(m) + 1;
        m &= m - 1;
        release_all(slot(sig), true);
        if (sig == SIGCHLD) weft__process_on_sigchld();
    }
}

void weft__signal_after_fork(void) {
    pthread_mutex_init(&reg_lock, NULL);
    for (int i = 0; i < NSIG; i++) spin_init(&slots[i].lock);
}
