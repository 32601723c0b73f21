/* The out-of-line part of the wait lists: the bulk release. */
#include "sync/waitq.h"

void weft__wait_release_all(weft_spinlock *lock, weft_link *list, uint32_t state,
                            wake_batch *wb) {
    if (wl_empty(list)) return;
    weft_link local;
    wl_move(&local, list);
    /* Give every node its final state at once (a dropped or polled node
     * settles itself from here on), then unlink and wake them in batches. */
    for (weft_link *l = local.next; l != &local; l = l->next)
        node_set(node_of(l), state | WN_RELEASING);
    while (!wl_empty(&local)) {
        if (wb_full(wb)) {
            wb_flush(lock, wb);
            continue; /* owners may have settled nodes meanwhile */
        }
        weft_wait_node *n = wl_front(&local);
        wl_unlink(n);
        node_complete(n, state, wb);
    }
}
