/* Task state transitions: each one is a single CAS (or atomic RMW) on the
 * state word. See state.h for the meaning of each transition. */
#include "task/state.h"

#include <assert.h>

#define LOAD(st) atomic_load_explicit((st), memory_order_acquire)
#define CAS(st, cur, next)                                                              \
    atomic_compare_exchange_weak_explicit((st), (cur), (next), memory_order_acq_rel,   \
                                          memory_order_acquire)

tr_run weft__transition_to_running(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    tr_run r;
    do {
        assert(cur & ST_NOTIFIED);
        if (cur & (ST_RUNNING | ST_COMPLETE)) {
            /* Run elsewhere (shutdown took it) or finished: drop the queue's ref. */
            next = cur - ST_REF_ONE;
            r = st_refs(next) == 0 ? TR_RUN_DEALLOC : TR_RUN_FAILED;
        } else {
            next = (cur & ~(uint64_t)ST_NOTIFIED) | ST_RUNNING;
            r = (cur & ST_CANCELLED) ? TR_RUN_CANCELLED : TR_RUN_SUCCESS;
        }
    } while (!CAS(st, &cur, next));
    return r;
}

tr_idle weft__transition_to_idle(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    tr_idle r;
    do {
        assert(cur & ST_RUNNING);
        if (cur & ST_CANCELLED) return TR_IDLE_CANCELLED;
        next = cur & ~(uint64_t)ST_RUNNING;
        if (next & ST_NOTIFIED) {
            r = TR_IDLE_OK_NOTIFIED; /* woken during the poll: our ref goes back to a queue */
        } else {
            next -= ST_REF_ONE;
            r = st_refs(next) == 0 ? TR_IDLE_OK_DEALLOC : TR_IDLE_OK;
        }
    } while (!CAS(st, &cur, next));
    return r;
}

uint64_t weft__transition_to_complete(weft_state *st) {
    uint64_t prev = atomic_fetch_xor_explicit(st, ST_RUNNING | ST_COMPLETE, memory_order_acq_rel);
    assert((prev & ST_RUNNING) && !(prev & ST_COMPLETE));
    return prev ^ (ST_RUNNING | ST_COMPLETE);
}

bool weft__transition_to_terminal(weft_state *st, uint64_t count) {
    uint64_t prev = atomic_fetch_sub_explicit(st, count * ST_REF_ONE, memory_order_acq_rel);
    assert(st_refs(prev) >= count);
    return st_refs(prev) == count;
}

tr_wake weft__transition_to_notified_by_val(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    tr_wake r;
    do {
        if (cur & ST_RUNNING) {
            /* The poller will see NOTIFIED at idle and reschedule; the waker's ref goes. */
            next = (cur | ST_NOTIFIED) - ST_REF_ONE;
            assert(st_refs(next) > 0);
            r = TR_WAKE_DO_NOTHING;
        } else if (cur & (ST_COMPLETE | ST_NOTIFIED)) {
            next = cur - ST_REF_ONE;
            r = st_refs(next) == 0 ? TR_WAKE_DEALLOC : TR_WAKE_DO_NOTHING;
        } else {
            next = cur | ST_NOTIFIED; /* the waker's ref becomes the queue's */
            r = TR_WAKE_SUBMIT;
        }
    } while (!CAS(st, &cur, next));
    return r;
}

tr_wake weft__transition_to_notified_by_ref(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    tr_wake r;
    do {
        if (cur & (ST_COMPLETE | ST_NOTIFIED)) return TR_WAKE_DO_NOTHING;
        if (cur & ST_RUNNING) {
            next = cur | ST_NOTIFIED;
            r = TR_WAKE_DO_NOTHING;
        } else {
            next = (cur | ST_NOTIFIED) + ST_REF_ONE;
            r = TR_WAKE_SUBMIT;
        }
    } while (!CAS(st, &cur, next));
    return r;
}

bool weft__transition_to_notified_and_cancel(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    bool submit;
    do {
        if (cur & (ST_CANCELLED | ST_COMPLETE)) return false;
        if (cur & (ST_RUNNING | ST_NOTIFIED)) {
            /* The poller sees CANCELLED at idle, or the queued run sees it at start. */
            next = cur | ST_CANCELLED;
            submit = false;
        } else {
            next = (cur | ST_CANCELLED | ST_NOTIFIED) + ST_REF_ONE;
            submit = true;
        }
    } while (!CAS(st, &cur, next));
    return submit;
}

bool weft__transition_to_shutdown(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    bool own;
    do {
        own = !(cur & (ST_RUNNING | ST_COMPLETE));
        next = cur | ST_CANCELLED | (own ? ST_RUNNING : 0);
    } while (!CAS(st, &cur, next));
    return own;
}

bool weft__drop_join_handle_fast(weft_state *st) {
    /* A plain load first: a CAS that fails still costs a locked operation. */
    if (atomic_load_explicit(st, memory_order_relaxed) != ST_INITIAL) return false;
    uint64_t cur = ST_INITIAL;
    uint64_t next = (ST_INITIAL - ST_REF_ONE) & ~(uint64_t)ST_JOIN_INTEREST;
    return atomic_compare_exchange_strong_explicit(st, &cur, next, memory_order_acq_rel,
                                                   memory_order_acquire);
}

uint64_t weft__transition_to_join_handle_dropped(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    do {
        assert((cur & ST_JOIN_INTEREST) && !(cur & ST_JOIN_WAKER) && st_refs(cur) >= 1);
        next = (cur & ~(uint64_t)ST_JOIN_INTEREST) - ST_REF_ONE;
    } while (!CAS(st, &cur, next));
    return cur;
}

uint64_t weft__transition_to_join_interest_dropped(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    do {
        assert(cur & ST_JOIN_INTEREST);
        next = cur & ~(uint64_t)ST_JOIN_INTEREST;
        if (!(cur & ST_COMPLETE)) next &= ~(uint64_t)ST_JOIN_WAKER; /* the handle takes its waker back */
    } while (!CAS(st, &cur, next));
    return cur;
}

bool weft__set_join_waker(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    do {
        assert((cur & ST_JOIN_INTEREST) && !(cur & ST_JOIN_WAKER));
        if (cur & ST_COMPLETE) return false;
        next = cur | ST_JOIN_WAKER;
    } while (!CAS(st, &cur, next));
    return true;
}

bool weft__unset_join_waker(weft_state *st) {
    uint64_t cur = LOAD(st), next;
    do {
        /* Once the task completed, its side may already have cleared
         * JOIN_WAKER (it woke the waker): the slot is the handle's again. */
        if (cur & ST_COMPLETE) return false;
        assert((cur & ST_JOIN_INTEREST) && (cur & ST_JOIN_WAKER));
        next = cur & ~(uint64_t)ST_JOIN_WAKER;
    } while (!CAS(st, &cur, next));
    return true;
}

uint64_t weft__unset_waker_after_complete(weft_state *st) {
    uint64_t prev = atomic_fetch_and_explicit(st, ~(uint64_t)ST_JOIN_WAKER, memory_order_acq_rel);
    assert((prev & ST_COMPLETE) && (prev & ST_JOIN_WAKER));
    return prev & ~(uint64_t)ST_JOIN_WAKER;
}

void weft__ref_inc(weft_state *st) { atomic_fetch_add_explicit(st, ST_REF_ONE, memory_order_relaxed); }

bool weft__ref_dec(weft_state *st) {
    uint64_t prev = atomic_fetch_sub_explicit(st, ST_REF_ONE, memory_order_acq_rel);
    assert(st_refs(prev) >= 1);
    return st_refs(prev) == 1;
}
