/* The background reaper: children whose handle was closed before they
 * were reaped (see process.h). It runs on weft's service thread, so it
 * works whatever happens to the runtimes. */
#include <pthread.h>
#include <signal.h>

#include "io/handle.h"
#include "process/process.h"
#include "signal/signal.h"

/* SIGCHLD-mode orphans (and pidfd orphans the service could not take). */
static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;
static weft_link orphans = {&orphans, &orphans};

static void pidfd_orphan_ready(weft__service_watch *w) {
    struct weft__child *k = weft__container_of(w, struct weft__child, watch);
    /* Readable means exited (or reaped by somebody else: ECHILD). */
    if (!weft__child_try_reap(k)) return;
    weft__service_del(w);
    weft__child_free(k);
}

void weft__process_on_sigchld(void) {
    pthread_mutex_lock(&orphans_lock);
    weft__list_for_each_safe(l, tmp, &orphans) {
        struct weft__child *k = weft__container_of(l, struct weft__child, orphan);
        if (!weft__child_try_reap(k)) continue;
        weft__list_remove(l);
        weft__child_free(k);
    }
    pthread_mutex_unlock(&orphans_lock);
}

void weft__child_orphan(struct weft__child *k) {
    if (k->pidfd >= 0) {
        /* Out of the runtime's reactor (waking any future still parked on
         * it), into the service thread's. */
        if (k->reg.reg) weft__handle_into_fd(&k->reg);
        k->watch.fd = k->pidfd;
        k->watch.ready = pidfd_orphan_ready;
        if (weft__service_add(&k->watch) == 0) return; /* it may run and free k at once */
        /* The service thread cannot take it: fall back to SIGCHLD (if even
         * that fails, the next SIGCHLD or orphan sweeps it). */
        if (!k->sigchld_held && weft__signal_acquire(SIGCHLD) == 0) {
            spin_lock(&k->lock);
            k->sigchld_held = true;
            spin_unlock(&k->lock);
        }
    }
    pthread_mutex_lock(&orphans_lock);
    weft__list_push_back(&orphans, &k->orphan);
    pthread_mutex_unlock(&orphans_lock);
    /* It may have exited before it joined the list, its SIGCHLD already
     * dispatched: sweep once now. */
    weft__process_on_sigchld();
}
