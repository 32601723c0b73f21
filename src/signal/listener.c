/* The public face of the signal registry: listeners, their recv futures,
 * and ctrl_c. */
#include <errno.h>
#include <signal.h>

#include "signal/signal.h"
#include "sync/waitq.h"
#include "weft/signal.h"

int weft_signal_init(weft_signal *s, int signum) {
    if (!s) return -EINVAL;
    s->signum = 0;
    s->seen = 0;
    int err = weft__signal_check(signum);
    if (err) return err;
    /* The count before the handler is installed: every delivery the
     * handler records from now on is one this listener sees. */
    uint64_t seen = weft__signal_count(signum);
    err = weft__signal_acquire(signum);
    if (err) return err;
    s->seen = seen;
    s->signum = signum;
    return 0;
}

void weft_signal_destroy(weft_signal *s) {
    if (!s || !s->signum) return;
    int signum = s->signum;
    s->signum = 0;
    weft__signal_close_listener(signum, s);
    weft__signal_release(signum);
}

int weft_signal_signum(const weft_signal *s) { return s && s->signum ? s->signum : -EBADF; }

/* ---- recv --------------------------------------------------------------- */

static weft_poll recv_poll(weft_future *f, weft_context *cx) {
    weft_signal_recv *r = (weft_signal_recv *)f;
    if (!r->sig) {
        r->result = -EINVAL;
        return WEFT_READY;
    }
    int signum = r->sig->signum;
    if (!signum) {
        weft__signal_cancel(&r->node);
        r->result = -EBADF;
        return WEFT_READY;
    }
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    bool closed;
    if (weft__signal_poll(signum, &r->sig->seen, &r->node, cx, &closed) == WEFT_PENDING) {
        cx->budget++;
        return WEFT_PENDING;
    }
    r->result = closed ? -EBADF : 0;
    return WEFT_READY;
}

static void recv_drop(weft_future *f) { weft__signal_cancel(&((weft_signal_recv *)f)->node); }

static const weft_future_vtable recv_vtable = {recv_poll, recv_drop, "weft_signal_recv"};

weft_future *weft_signal_recv_init(weft_signal_recv *f, weft_signal *s) {
    weft_future_init(&f->base, &recv_vtable);
    f->sig = s;
    node_init(&f->node);
    f->node.flags = WEFT__SIG_NODE_RECV;
    f->result = 0;
    return &f->base;
}

/* ---- ctrl_c ------------------------------------------------------------- */

static weft_poll ctrl_c_poll(weft_future *f, weft_context *cx) {
    weft_ctrl_c *c = (weft_ctrl_c *)f;
    if (!c->sig.signum) {
        int err = weft_signal_init(&c->sig, SIGINT);
        if (err) {
            c->result = err;
            return WEFT_READY;
        }
        weft_signal_recv_init(&c->recv, &c->sig);
    }
    if (weft_future_poll(&c->recv.base, cx) == WEFT_PENDING) return WEFT_PENDING;
    c->result = c->recv.result;
    weft_signal_destroy(&c->sig);
    return WEFT_READY;
}

static void ctrl_c_drop(weft_future *f) {
    weft_ctrl_c *c = (weft_ctrl_c *)f;
    if (!c->sig.signum) return;
    weft_future_drop(&c->recv.base);
    weft_signal_destroy(&c->sig);
}

static const weft_future_vtable ctrl_c_vtable = {ctrl_c_poll, ctrl_c_drop, "weft_ctrl_c"};

weft_future *weft_ctrl_c_init(weft_ctrl_c *f) {
    weft_future_init(&f->base, &ctrl_c_vtable);
    f->sig.signum = 0;
    f->sig.seen = 0;
    f->result = 0;
    return &f->base;
}
