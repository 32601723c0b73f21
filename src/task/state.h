/*
 * The task state word: flags in the low bits, reference count above them,
 * all in one atomic 64-bit word so that every transition is a single CAS.
 * The transition names, without the weft__ prefix, are the names used by the Promela model
 * (tests/model/task_state.pml).
 *
 * References: one for the owned-task list (released when the task
 * completes), one for the join handle, one for each waker, and one for each
 * time the task sits in a run queue (the "notified" reference, which the
 * poll that follows consumes).
 */
#ifndef WEFT_TASK_STATE_H
#define WEFT_TASK_STATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum {
    ST_RUNNING = 1u << 0,       /* a thread is polling (or cancelling) the future */
    ST_COMPLETE = 1u << 1,      /* the future is done or dropped; output stored */
    ST_NOTIFIED = 1u << 2,      /* the task is, or is about to be, in a run queue */
    ST_JOIN_INTEREST = 1u << 3, /* a join handle exists */
    ST_JOIN_WAKER = 1u << 4,    /* the join waker slot is set and owned by the task side */
    ST_CANCELLED = 1u << 5,     /* abort requested */
};
#define ST_REF_SHIFT 6
#define ST_REF_ONE (UINT64_C(1) << ST_REF_SHIFT)
#define ST_FLAGS_MASK (ST_REF_ONE - 1)

/* Initial state: owned-list ref, join-handle ref, run-queue ref; notified. */
#define ST_INITIAL (3 * ST_REF_ONE | ST_JOIN_INTEREST | ST_NOTIFIED)

typedef _Atomic uint64_t weft_state;

static inline uint64_t st_refs(uint64_t s) { return s >> ST_REF_SHIFT; }

/* Results of weft__transition_to_running. */
typedef enum { TR_RUN_SUCCESS, TR_RUN_CANCELLED, TR_RUN_FAILED, TR_RUN_DEALLOC } tr_run;
/* Results of weft__transition_to_idle. */
typedef enum { TR_IDLE_OK, TR_IDLE_OK_NOTIFIED, TR_IDLE_OK_DEALLOC, TR_IDLE_CANCELLED } tr_idle;
/* Results of the wake transitions. */
typedef enum { TR_WAKE_DO_NOTHING, TR_WAKE_SUBMIT, TR_WAKE_DEALLOC } tr_wake;

/* The poller takes the task: consumes NOTIFIED; if the task is already
 * running or complete the queue's reference is dropped (FAILED, or DEALLOC
 * if it was the last). */
tr_run weft__transition_to_running(weft_state *st);
/* After a pending poll: clears RUNNING. OK drops the queue's reference,
 * OK_NOTIFIED keeps it for re-scheduling (woken during the poll), CANCELLED
 * keeps RUNNING set so the caller cancels the task. */
tr_idle weft__transition_to_idle(weft_state *st);
/* RUNNING -> COMPLETE. Returns the state after the transition. */
uint64_t weft__transition_to_complete(weft_state *st);
/* Drops `count` references after completion; true if the task must be freed. */
bool weft__transition_to_terminal(weft_state *st, uint64_t count);
/* A waker wakes and is consumed (its reference moves to the queue or is dropped). */
tr_wake weft__transition_to_notified_by_val(weft_state *st);
/* A waker wakes and is kept (a new reference is taken for the queue if needed). */
tr_wake weft__transition_to_notified_by_ref(weft_state *st);
/* Abort: true if the caller must schedule the task (a reference was taken). */
bool weft__transition_to_notified_and_cancel(weft_state *st);
/* Runtime shutdown: true if the caller now owns the task (RUNNING set) and
 * must cancel it; false if it is running elsewhere or already complete. */
bool weft__transition_to_shutdown(weft_state *st);
/* Join handle drop, fast path: only valid from ST_INITIAL. */
bool weft__drop_join_handle_fast(weft_state *st);
/* Join handle drop while JOIN_WAKER is clear (the slot is the handle's and
 * already emptied): clears JOIN_INTEREST and drops the handle's reference
 * in one CAS. Returns the state before (free the task if it had 1 ref). */
uint64_t weft__transition_to_join_handle_dropped(weft_state *st);
/* Join handle drop while its waker is published: clears JOIN_INTEREST (and
 * JOIN_WAKER if not complete, handing the slot back to the handle), keeping
 * the handle's reference. Returns the state before the transition. */
uint64_t weft__transition_to_join_interest_dropped(weft_state *st);
/* Join handle publishes its waker: false if the task completed meanwhile. */
bool weft__set_join_waker(weft_state *st);
/* Join handle takes its waker slot back: false if the task completed. */
bool weft__unset_join_waker(weft_state *st);
/* After completion the task side releases JOIN_WAKER; returns state after. */
uint64_t weft__unset_waker_after_complete(weft_state *st);
/* Reference counting. weft__ref_dec returns true when the count reached zero. */
void weft__ref_inc(weft_state *st);
bool weft__ref_dec(weft_state *st);

#endif
