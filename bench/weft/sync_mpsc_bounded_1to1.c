/* sync_mpsc_bounded_1to1: one producer task sends N u64 through a bounded
 * mpsc of capacity 1024 (awaiting room), the root task receives them until
 * the channel closes. Tokio twin: tokio_sync_bench sync_mpsc_bounded_1to1. */
#include "sync_bench.h"

#define DEFAULT_N 10000000L
#define CAPACITY 1024

typedef struct producer {
    WEFT_CORO_FIELDS;
    weft_mpsc_tx *tx;
    uint64_t i, n;
    weft_mpsc_send s;
    int out;
} producer;

WEFT_ASYNC(producer, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->n; self->i++) {
        WEFT_AWAIT(weft_mpsc_send_init(&self->s, self->tx, &self->i));
        SB_CHECK(self->s.result == 0);
    }
    weft_mpsc_tx_destroy(&self->tx);
    WEFT_END();
}

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
    producer_start(&self->p);
    SB_CHECK(weft_mpsc_create(sizeof(uint64_t), CAPACITY, NULL, &self->p.tx, &self->rx) == 0);
    self->p.n = self->n;
    WEFT_SPAWN_DETACHED(cx->runtime, &self->p);
    for (;;) {
        WEFT_AWAIT(weft_mpsc_recv_init(&self->r, self->rx, &self->v));
        if (self->r.result != 0) break;
        self->sum += self->v;
    }
    weft_mpsc_rx_destroy(&self->rx);
    sb_report("sync_mpsc_bounded_1to1", &self->w);
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
