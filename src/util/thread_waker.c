/* The reference-counted thread waker; see thread_waker.h. */
#include "util/thread_waker.h"

#include <stdlib.h>

static const weft_waker_vtable thread_waker_vtable;

weft_thread_waker *weft__thread_waker_new(void) {
    weft_thread_waker *tw = malloc(sizeof *tw);
    if (!tw) return NULL;
    atomic_init(&tw->refs, 1);
    weft__parker_init(&tw->parker);
    return tw;
}

void weft__thread_waker_release(weft_thread_waker *tw) {
    if (atomic_fetch_sub_explicit(&tw->refs, 1, memory_order_acq_rel) == 1) free(tw);
}

weft_waker weft__thread_waker_get(weft_thread_waker *tw) { return (weft_waker){&thread_waker_vtable, tw}; }

void weft__thread_waker_park(weft_thread_waker *tw) { weft__parker_park(&tw->parker); }

static weft_waker tw_clone(void *p) {
    atomic_fetch_add_explicit(&((weft_thread_waker *)p)->refs, 1, memory_order_relaxed);
    return (weft_waker){&thread_waker_vtable, p};
}
/* The unpark touches the parker before the reference is dropped: the
 * parked thread may release its own reference as soon as it wakes. */
static void tw_wake_by_ref(void *p) { weft__parker_unpark(&((weft_thread_waker *)p)->parker); }
static void tw_wake(void *p) {
    tw_wake_by_ref(p);
    weft__thread_waker_release(p);
}
static void tw_drop(void *p) { weft__thread_waker_release(p); }

static const weft_waker_vtable thread_waker_vtable = {tw_clone, tw_wake, tw_wake_by_ref, tw_drop};
