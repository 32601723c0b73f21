/* sync_mpsc_unbounded_1to1: one producer task sends N u64 through an
 * unbounded mpsc (try_send never waits, as Tokio's UnboundedSender::send),
 * the root task receives them until the channel closes. Tokio twin:
 * tokio_sync_bench sync_mpsc_unbounded_1to1. */
#include "sync_bench.h"

#define DEFAULT_N 4000000L

typedef struct producer {
    weft_future base;
    weft_mpsc_tx *tx;
    uint64_t n;
    int out;
} producer;

static weft_poll producer_poll(weft_future *f, weft_context *cx) {
    producer *p = (producer *)f;
    for (uint64_t i = 0; i < p->n; i++) SB_CHECK(weft_mpsc_try_send(p->tx, &i) == 0);
    weft_mpsc_tx_destroy(&p->tx);
    return WEFT_READY;
}
static const weft_future_vtable producer_vtable = {producer_poll, NULL, "producer"};

typedef struct root {
    WEFT_CORO_FIELDS;
    uint64_t n, v, sum;
    weft_mpsc_rx *rx;
    producer p;
    weft_mpsc_recv r;
    sb_watch w;
} root;

WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    self->w = sb_start();
    weft_future_init(&self->p.base, &producer_vtable);
    SB_CHECK(weft_mpsc_create(sizeof(uint64_t), WEFT_MPSC_UNBOUNDED, NULL, &self->p.tx, &self->rx) == 0);
    self->p.n = self->n;
    WEFT_SPAWN_DETACHED(cx->runtime, &self->p);
    for (;;) {
        WEFT_AWAIT(weft_mpsc_recv_init(&self->r, self->rx, &self->v));
        if (self->r.result != 0) break;
        self->sum += self->v;
    }
    weft_mpsc_rx_destroy(&self->rx);
    sb_report("sync_mpsc_unbounded_1to1", &self->w);
    SB_CHECK(self->sum == self->n * (self->n - 1) / 2);
    WEFT_END();
}

int main(int argc, char **argv) {
    root r;
    memset(&r, 0, sizeof r);
    root_start(&r);
    r.n = (uint64_t)sb_size(argc, argv, DEFAULT_N);
    sb_run(&r.base);
    return 0;
}
