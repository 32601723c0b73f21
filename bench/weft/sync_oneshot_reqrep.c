/* sync_oneshot_reqrep: N request/reply round trips. The root task creates a
 * oneshot per request, sends {x, reply sender} to a server task over a
 * bounded mpsc (capacity 16) and awaits the reply; the server answers x+1
 * on the oneshot. Tokio twin: tokio_sync_bench sync_oneshot_reqrep. */
#include "sync_bench.h"

#define DEFAULT_N 1000000L

typedef struct request {
    uint64_t x;
    weft_oneshot_tx *reply;
} request;

typedef struct server {
    WEFT_CORO_FIELDS;
    weft_mpsc_rx *rx;
    request rq;
    weft_mpsc_recv r;
    int out;
} server;

WEFT_ASYNC(server, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_mpsc_recv_init(&self->r, self->rx, &self->rq));
        if (self->r.result != 0) break;
        uint64_t answer = self->rq.x + 1;
        weft_oneshot_send(self->rq.reply, &answer);
        weft_oneshot_tx_destroy(&self->rq.reply);
    }
    weft_mpsc_rx_destroy(&self->rx);
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    uint64_t n, i, answer, sum;
    weft_mpsc_tx *tx;
    weft_oneshot_rx *reply_rx;
    request rq;
    server srv;
    weft_mpsc_send s;
    weft_oneshot_recv r;
    weft_join_handle h;
    sb_watch w;
} root;

WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    self->w = sb_start();
    server_start(&self->srv);
    SB_CHECK(weft_mpsc_create(sizeof(request), 16, NULL, &self->tx, &self->srv.rx) == 0);
    self->h = WEFT_SPAWN(cx->runtime, &self->srv, out, NULL);
    for (self->i = 0; self->i < self->n; self->i++) {
        SB_CHECK(weft_oneshot_create(sizeof(uint64_t), NULL, &self->rq.reply, &self->reply_rx) == 0);
        self->rq.x = self->i;
        WEFT_AWAIT(weft_mpsc_send_init(&self->s, self->tx, &self->rq));
        WEFT_AWAIT(weft_oneshot_recv_init(&self->r, self->reply_rx, &self->answer));
        SB_CHECK(self->r.result == 0);
        self->sum += self->answer;
        weft_oneshot_rx_destroy(&self->reply_rx);
    }
    weft_mpsc_tx_destroy(&self->tx);
    WEFT_AWAIT(&self->h.base);
    sb_report("sync_oneshot_reqrep", &self->w);
    SB_CHECK(self->sum == self->n * (self->n + 1) / 2);
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
