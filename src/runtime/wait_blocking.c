/* weft_wait_blocking: drive one future on a plain thread, parking on a
 * condition variable between polls. The parker is reference counted (each
 * clone of its waker holds one), so a waker that outlives the call is
 * harmless. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "weft/runtime.h"
#include "weft/sync.h"

typedef struct parker {
    unsigned refs; /* atomic */
    bool notified; /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} parker;

static const weft_waker_vtable parker_vtable;

static void parker_unref(parker *p) {
    if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

static weft_waker parker_clone(void *d) {
    __atomic_add_fetch(&((parker *)d)->refs, 1, __ATOMIC_RELAXED);
    return (weft_waker){&parker_vtable, d};
}

static void parker_wake_by_ref(void *d) {
    parker *p = d;
    pthread_mutex_lock(&p->mu);
    p->notified = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void parker_wake(void *d) {
    parker_wake_by_ref(d);
    parker_unref(d);
}

static void parker_drop(void *d) { parker_unref(d); }

static const weft_waker_vtable parker_vtable = {parker_clone, parker_wake, parker_wake_by_ref,
                                                parker_drop};

int weft_wait_blocking(weft_future *f) {
    if (weft_runtime_current()) return -EDEADLK;
    parker *p = malloc(sizeof *p);
    if (!p) return -ENOMEM;
    p->refs = 1;
    p->notified = false;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    weft_waker w = {&parker_vtable, p};
    for (;;) {
        weft_context cx = weft_context_make(w);
        if (weft_future_poll(f, &cx) == WEFT_READY) break;
        pthread_mutex_lock(&p->mu);
        while (!p->notified) pthread_cond_wait(&p->cv, &p->mu);
        p->notified = false;
        pthread_mutex_unlock(&p->mu);
    }
    parker_unref(p);
    return 0;
}
