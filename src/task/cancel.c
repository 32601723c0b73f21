/*
 * Cancellation tokens: a tree of reference-counted nodes, one spinlock per
 * node, and the wait lists of src/sync (intrusive nodes in the futures).
 *
 * Each node's lock guards its `parent` pointer, its `children` list, its
 * `waiters` list and the setting of `cancelled`; a child's `sibling` link
 * is guarded by the lock of the list it is in (its parent's, or nobody's
 * while it sits in a canceller's private work list). Locks are taken
 * ancestor first. The tree only ever changes by adding leaves and by
 * moving a node up to its grandparent, so "is an ancestor of" is never
 * reversed and that order cannot deadlock.
 *
 * Two counts per node:
 *   handles  the weft_cancel_token values on it; when it falls to 0 the
 *            node leaves the tree (detach);
 *   refs     who may still touch its memory: 1 for all the handles
 *            together, 1 per child whose `parent` points at it, and
 *            temporary ones (a canceller's work list, a detach that must
 *            drop the child's lock to take the parent's first).
 *
 * Cancel: under the node's lock, set `cancelled`, move the children to a
 * private work list (each child locked in turn: marked cancelled, made
 * parentless, referenced by the list) and release the waiters; then do
 * the same for every node of the work list. No recursion, so a deep tree
 * costs no stack. A child that is marked cancelled but not yet processed
 * keeps its children until the work list reaches it; a detach of such a
 * node leaves them alone.
 *
 * Detach: a node with a parent moves its children to that parent (both
 * locked, parent first) and unlinks itself; a root's children become
 * roots. Either way the node's memory goes with its last reference.
 */
#include <errno.h>
#include <stdlib.h>

#include "sync/waitq.h"
#include "util/list.h"
#include "weft/cancel.h"

typedef struct weft__cancel_node cnode;

struct weft__cancel_node {
    weft_spinlock lock;
    uint32_t cancelled; /* atomic; set under lock */
    uint64_t handles;   /* atomic */
    uint64_t refs;      /* atomic */
    cnode *parent;      /* under lock; holds a ref on the parent */
    weft_link children; /* under lock */
    weft_link sibling;  /* in the parent's children, or in a work list */
    weft_link waiters;  /* weft_wait_node of weft_cancelled futures */
};

#define sibling_of(l) weft__container_of(l, cnode, sibling)

static cnode *cnode_new(void) {
    cnode *n = malloc(sizeof *n);
    if (!n) return NULL;
    spin_init(&n->lock);
    n->cancelled = 0;
    n->handles = 1;
    n->refs = 1;
    n->parent = NULL;
    weft__list_init(&n->children);
    weft__link_clear(&n->sibling);
    weft__list_init(&n->waiters);
    return n;
}

static inline void cnode_ref(cnode *n) { __atomic_add_fetch(&n->refs, 1, __ATOMIC_RELAXED); }

static void cnode_unref_n(cnode *n, uint64_t k) {
    if (k == 0) return;
    if (__atomic_sub_fetch(&n->refs, k, __ATOMIC_ACQ_REL) != 0) return;
    free(n);
}

static inline void cnode_unref(cnode *n) { cnode_unref_n(n, 1); }

static inline bool cnode_is_cancelled(const cnode *n) {
    return __atomic_load_n(&n->cancelled, __ATOMIC_ACQUIRE) != 0;
}

/*
 * Under x's lock: moves x's children to `work`, each marked cancelled,
 * parentless and referenced by the work list. Returns how many references
 * their parent pointers held on x (dropped by the caller after unlocking).
 */
static uint64_t take_children_locked(cnode *x, weft_link *work) {
    uint64_t n = 0;
    weft_link *l;
    while ((l = weft__list_pop_front(&x->children))) {
        cnode *c = sibling_of(l);
        spin_lock(&c->lock);
        c->parent = NULL;
        __atomic_store_n(&c->cancelled, 1, __ATOMIC_RELEASE);
        cnode_ref(c);
        spin_unlock(&c->lock);
        weft__list_push_back(work, &c->sibling);
        n++;
    }
    return n;
}

/* Cancels the node's waiters and children (x is marked cancelled; its lock
 * is held and still held on return, though released in between to wake). */
static uint64_t cancel_locked(cnode *x, weft_link *work, wake_batch *wb) {
    uint64_t parent_refs = take_children_locked(x, work);
    weft__wait_release_all(&x->lock, &x->waiters, WN_DONE, wb);
    return parent_refs;
}

static void cancel_node(cnode *n) {
    if (cnode_is_cancelled(n)) return;
    weft_link work;
    weft__list_init(&work);
    wake_batch wb;
    wb_init(&wb);
    spin_lock(&n->lock);
    if (n->cancelled) {
        spin_unlock(&n->lock);
        return;
    }
    __atomic_store_n(&n->cancelled, 1, __ATOMIC_RELEASE);
    uint64_t drops = cancel_locked(n, &work, &wb);
    spin_unlock(&n->lock);
    wb_wake(&wb);
    cnode_unref_n(n, drops); /* never the last: the caller's handle holds one */
    weft_link *l;
    while ((l = weft__list_pop_front(&work))) {
        cnode *c = sibling_of(l);
        spin_lock(&c->lock);
        drops = cancel_locked(c, &work, &wb);
        spin_unlock(&c->lock);
        wb_wake(&wb);
        cnode_unref_n(c, drops); /* never the last: the work list holds one */
        cnode_unref(c);
    }
}

/* The last handle is gone: leave the tree. */
static void detach(cnode *n) {
    for (;;) {
        spin_lock(&n->lock);
        if (!weft__list_empty(&n->waiters))
            weft__sync_misuse("weft_cancel_token_destroy of the last handle of a token that "
                              "futures still wait on (%p)", (void *)n);
        cnode *p = n->parent;
        if (!p) {
            /* A root (or a node a canceller detached). Its children become
             * roots — unless it is cancelled: then they are, or are about to
             * be, a canceller's, which cancels them. */
            uint64_t moved = 0;
            if (!n->cancelled) {
                weft_link *l;
                while ((l = weft__list_pop_front(&n->children))) {
                    cnode *c = sibling_of(l);
                    spin_lock(&c->lock);
                    c->parent = NULL;
                    spin_unlock(&c->lock);
                    moved++;
                }
            }
            spin_unlock(&n->lock);
            cnode_unref_n(n, moved + 1); /* the children's refs and the handles' */
            return;
        }
        /* The parent is locked first: keep it alive while n's lock is let go. */
        cnode_ref(p);
        spin_unlock(&n->lock);
        spin_lock(&p->lock);
        spin_lock(&n->lock);
        if (n->parent != p) { /* p left the tree meanwhile: n moved up; again */
            spin_unlock(&n->lock);
            spin_unlock(&p->lock);
            cnode_unref(p);
            continue;
        }
        /* p has not cancelled n yet (that would have made n parentless), so
         * n's children, if any, move up to p; if p is marked cancelled and
         * waiting in a work list, its turn will cancel them. */
        weft__list_remove(&n->sibling);
        n->parent = NULL;
        uint64_t moved = 0;
        weft_link *l;
        while ((l = weft__list_pop_front(&n->children))) {
            cnode *c = sibling_of(l);
            spin_lock(&c->lock);
            c->parent = p;
            spin_unlock(&c->lock);
            weft__list_push_back(&p->children, &c->sibling);
            moved++;
        }
        __atomic_add_fetch(&p->refs, moved, __ATOMIC_RELAXED);
        spin_unlock(&n->lock);
        spin_unlock(&p->lock);
        cnode_unref_n(p, 2); /* ours, and n's parent pointer */
        cnode_unref_n(n, moved + 1);
        return;
    }
}

/* ---- handles ---------------------------------------------------------------- */

int weft_cancel_token_init(weft_cancel_token *t) {
    if (!t) return -EINVAL;
    t->node = cnode_new();
    return t->node ? 0 : -ENOMEM;
}

int weft_cancel_token_clone(weft_cancel_token *dst, const weft_cancel_token *src) {
    if (!dst) return -EINVAL;
    cnode *n = src ? src->node : NULL;
    dst->node = n;
    if (!n) return -EINVAL;
    __atomic_add_fetch(&n->handles, 1, __ATOMIC_RELAXED); /* src's handle keeps it above 0 */
    return 0;
}

int weft_cancel_token_child(weft_cancel_token *child, const weft_cancel_token *parent) {
    if (!child) return -EINVAL;
    child->node = NULL;
    cnode *p = parent ? parent->node : NULL;
    if (!p) return -EINVAL;
    cnode *c = cnode_new();
    if (!c) return -ENOMEM;
    spin_lock(&p->lock);
    if (p->cancelled) {
        c->cancelled = 1; /* born cancelled, in no tree */
    } else {
        c->parent = p;
        cnode_ref(p);
        weft__list_push_back(&p->children, &c->sibling);
    }
    spin_unlock(&p->lock);
    child->node = c;
    return 0;
}

void weft_cancel_token_cancel(const weft_cancel_token *t) {
    if (t && t->node) cancel_node(t->node);
}

bool weft_cancel_token_is_cancelled(const weft_cancel_token *t) {
    return t && t->node && cnode_is_cancelled(t->node);
}

void weft_cancel_token_destroy(weft_cancel_token *t) {
    if (!t || !t->node) return;
    cnode *n = t->node;
    t->node = NULL;
    if (__atomic_sub_fetch(&n->handles, 1, __ATOMIC_ACQ_REL) == 0) detach(n);
}

/* ---- waiting ---------------------------------------------------------------- */

static weft_poll cancelled_poll(weft_future *f, weft_context *cx) {
    weft_cancelled *c = (weft_cancelled *)f;
    cnode *n = c->node;
    if (WEFT_UNLIKELY(!n)) {
        c->result = -EINVAL;
        return WEFT_READY;
    }
    if (!weft_coop_spend(cx)) return WEFT_PENDING;
    weft_wait_node *w = &c->wait;
    uint32_t st = node_load(w);
    if (st == WN_DONE || (st == WN_IDLE && cnode_is_cancelled(n))) goto ready;
    spin_lock(&n->lock);
    st = node_state_locked(w);
    if (st == WN_DONE || n->cancelled) {
        if (st == WN_QUEUED) weft__list_remove(&w->link); /* not reached: cancel empties the list */
        spin_unlock(&n->lock);
        goto ready;
    }
    weft_waker old = node_park_locked(&n->waiters, w, cx);
    spin_unlock(&n->lock);
    waker_release(old);
    return WEFT_PENDING;
ready:
    node_set(w, WN_IDLE);
    waker_release(weft_waker_take(&w->waker));
    c->result = 0;
    return WEFT_READY;
}

static void cancelled_drop(weft_future *f) {
    weft_cancelled *c = (weft_cancelled *)f;
    if (c->node) node_cancel(&c->node->lock, &c->wait);
}

static const weft_future_vtable cancelled_vtable = {cancelled_poll, cancelled_drop, "weft_cancelled"};

weft_future *weft_cancel_token_cancelled_init(weft_cancelled *f, const weft_cancel_token *t) {
    weft_future_init(&f->base, &cancelled_vtable);
    f->node = t ? t->node : NULL;
    node_init(&f->wait);
    f->result = 0;
    return &f->base;
}

/* ---- until_cancelled ---------------------------------------------------------- */

static weft_poll until_poll(weft_future *f, weft_context *cx) {
    weft_until_cancelled *u = (weft_until_cancelled *)f;
    if (weft_future_poll(&u->cancelled.base, cx) == WEFT_READY) {
        u->result = u->cancelled.result ? u->cancelled.result : -ECANCELED;
        weft_future_drop(u->inner);
        return WEFT_READY;
    }
    if (weft_future_poll(u->inner, cx) == WEFT_PENDING) return WEFT_PENDING;
    weft_future_drop(&u->cancelled.base); /* leaves the wait list */
    u->result = 0;
    return WEFT_READY;
}

static void until_drop(weft_future *f) {
    weft_until_cancelled *u = (weft_until_cancelled *)f;
    weft_future_drop(&u->cancelled.base);
    weft_future_drop(u->inner);
}

static const weft_future_vtable until_vtable = {until_poll, until_drop, "weft_until_cancelled"};

weft_future *weft_until_cancelled_init(weft_until_cancelled *f, const weft_cancel_token *t,
                                       weft_future *inner) {
    weft_future_init(&f->base, &until_vtable);
    weft_cancel_token_cancelled_init(&f->cancelled, t);
    f->inner = inner;
    f->result = 0;
    return &f->base;
}

/* ---- for the tests ------------------------------------------------------------ */

/* How many children the token's node has right now (0 for an empty token). */
size_t weft__cancel_token_children(const weft_cancel_token *t);
size_t weft__cancel_token_children(const weft_cancel_token *t) {
    if (!t || !t->node) return 0;
    size_t n = 0;
    spin_lock(&t->node->lock);
    for (weft_link *l = t->node->children.next; l != &t->node->children; l = l->next) n++;
    spin_unlock(&t->node->lock);
    return n;
}
