/* sync_notify_pingpong: two tasks bounce N round trips through two Notify:
 * ping does notify_one(ping) then awaits notified(pong); pong awaits
 * notified(ping) then does notify_one(pong). Tokio twin:
 * tokio_sync_bench sync_notify_pingpong. */
#include "sync_bench.h"

#define DEFAULT_N 1000000L

typedef struct pair {
    weft_notify ping, pong;
} pair;

typedef struct ponger {
    WEFT_CORO_FIELDS;
    pair *p;
    long i, n;
    weft_notified nf;
    int out;
} ponger;

WEFT_ASYNC(ponger, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->n; self->i++) {
        WEFT_AWAIT(weft_notify_notified_init(&self->nf, &self->p->ping));
        weft_notify_one(&self->p->pong);
    }
    WEFT_END();
}

typedef struct root {
    WEFT_CORO_FIELDS;
    long n, i;
    pair p;
    ponger pg;
    weft_notified nf;
    weft_join_handle h;
    sb_watch w;
} root;

WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    self->w = sb_start();
    weft_notify_init(&self->p.ping);
    weft_notify_init(&self->p.pong);
    ponger_start(&self->pg);
    self->pg.p = &self->p;
    self->pg.n = self->n;
    self->h = WEFT_SPAWN(cx->runtime, &self->pg, out, NULL);
    for (self->i = 0; self->i < self->n; self->i++) {
        weft_notify_one(&self->p.ping);
        WEFT_AWAIT(weft_notify_notified_init(&self->nf, &self->p.pong));
    }
    WEFT_AWAIT(&self->h.base);
    sb_report("sync_notify_pingpong", &self->w);
    WEFT_END();
}

int main(int argc, char **argv) {
    root r;
    memset(&r, 0, sizeof r);
    root_start(&r);
    r.n = sb_size(argc, argv, DEFAULT_N);
    sb_run(&r.base);
    return 0;
}
