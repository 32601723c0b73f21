/* weft_wait_blocking: drive one future on a plain thread, parking between
 * polls. The parker is a reference-counted thread waker (each clone of its
 * waker holds one), so a waker that outlives the call is harmless. */
#include <errno.h>

#include "util/thread_waker.h"
#include "weft/runtime.h"
#include "weft/sync.h"

int weft_wait_blocking(weft_future *f) {
    if (weft_runtime_current()) return -EDEADLK;
    weft_thread_waker *tw = weft__thread_waker_new();
    if (!tw) return -ENOMEM;
    for (;;) {
        weft_context cx = weft_context_make(weft__thread_waker_get(tw));
        if (weft_future_poll(f, &cx) == WEFT_READY) break;
        weft__thread_waker_park(tw);
    }
    weft__thread_waker_release(tw);
    return 0;
}
