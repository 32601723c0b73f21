/* The out-of-line part of the wait lists: the bulk release, and the misuse
 * report. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sync/waitq.h"

void weft__sync_misuse(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("weft: misuse: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    abort();
}

void weft__wait_release_all(weft_spinlock *lock, weft_link *list, uint32_t state,
                            wake_batch *wb) {
    if (weft__list_empty(list)) return;
    weft_link local;
    weft__list_init(&local);
    weft__list_splice_back(&local, list);
    /* Give every node its final state at once (a dropped or polled node
     * settles itself from here on), then unlink and wake them in batches. */
    for (weft_link *l = local.next; l != &local; l = l->next)
        node_set(node_of(l), state | WN_RELEASING);
    while (!weft__list_empty(&local)) {
        if (wb_full(wb)) {
            wb_flush(lock, wb);
            continue; /* owners may have settled nodes meanwhile */
        }
        weft_wait_node *n = node_of(local.next);
        weft__list_remove(&n->link);
        node_complete(n, state, wb);
    }
}
