/* The out-of-line part of the wait lists: the bulk release. */
#include "sync/waitq.h"

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
