/*
 * The task state machine of src/task/state.c, checked by spin for every
 * interleaving of its actors: the scheduler that polls the task (Runner),
 * a holder of cloned wakers (Waker), the join handle (Handle: poll, abort,
 * take back its published waker when a join wait is dropped, drop), an
 * abort handle (AbortHandle: a reference taken while the join handle is
 * live, an abort, a drop) and runtime shutdown (Shutdown). Each `atomic` block is one CAS of
 * the C code, and carries the same name as the C function.
 *
 * Checked: the reference count never underflows and the task is freed
 * exactly once, never touched after; the future is polled only while
 * RUNNING, by one poller, never after it completed or was dropped, and is
 * dropped or completed exactly once; the join waker slot is written only by
 * its owner and dropped exactly once; the output is read only after
 * COMPLETE; no wake-up is lost (a wake that finds the task incomplete is
 * followed by a poll); nothing leaks (once every actor is done the task
 * memory is freed).
 *
 * Configurations (make check runs all): -DSHUTDOWN adds the shutdown actor;
 * -DABORT lets the handle abort; -DABORT_HANDLE adds the abort handle.
 * spin-config:
 * spin-config: -DABORT
 * spin-config: -DSHUTDOWN
 * spin-config: -DABORT -DSHUTDOWN
 * spin-config: -DABORT_HANDLE
 * spin-config: -DABORT_HANDLE -DSHUTDOWN
 */

#define RUNNING        1
#define COMPLETE       2
#define NOTIFIED       4
#define JOIN_INTEREST  8
#define JOIN_WAKER    16
#define CANCELLED     32
#define REF_ONE       64
#define INITIAL (3 * REF_ONE + JOIN_INTEREST + NOTIFIED)

#define refs(s)    ((s) / REF_ONE)
#define has(s, f)  (((s) & (f)) != 0)

#ifndef MAX_POLLS
#define MAX_POLLS 3
#endif

int  state = INITIAL;
byte queued = 1;            /* times the task sits in a run queue */
bool freed = false;
bool future_done = false;   /* the future returned READY */
bool future_dropped = false;
bool polling = false;       /* a poll is in progress */
byte polls = 0;
byte wakers = 0;            /* waker references held by the Waker actor */
bool wake_pending = false;  /* a wake found the task incomplete and no poll followed yet */
bool slot_full = false;     /* the join waker slot holds a waker */
bool owned_listed = true;   /* in the runtime's owned-task list */
bool output_read = false;
bool handle_done = false;
bool runner_done = false;
bool ah_taken = false;      /* the abort handle holds its reference */
bool ah_done = false;       /* ... and has dropped it (or was never taken) */

inline dealloc() {
    assert(!freed);
    assert(refs(state) == 0);
    freed = true
}

inline ref_dec_maybe_free() {
    assert(refs(state) >= 1);
    state = state - REF_ONE;
    if
    :: refs(state) == 0 -> dealloc()
    :: else -> skip
    fi
}

/* complete(): RUNNING -> COMPLETE, tell the join handle, release refs. */
/* Uses the caller's locals c_snap, c_after, c_listed. */
inline complete() {
    atomic { /* transition_to_complete */
        assert(!freed && has(state, RUNNING) && !has(state, COMPLETE));
        state = (state - RUNNING) | COMPLETE;
        polling = false;
        c_snap = state
    }
    if
    :: has(c_snap, JOIN_INTEREST) && has(c_snap, JOIN_WAKER) ->
        assert(!freed && slot_full);           /* wake the join waker: we may read the slot */
        atomic { /* unset_waker_after_complete */
            assert(has(state, COMPLETE) && has(state, JOIN_WAKER));
            state = state - JOIN_WAKER;
            c_after = state
        }
        if
        :: !has(c_after, JOIN_INTEREST) -> assert(!freed && slot_full); slot_full = false
        :: else -> skip
        fi
    :: else -> skip
    fi;
    atomic { c_listed = owned_listed; owned_listed = false };   /* weft__owned_remove */
    atomic { /* transition_to_terminal */
        assert(refs(state) >= (c_listed -> 2 : 1));
        state = state - (c_listed -> 2 : 1) * REF_ONE;
        if
        :: refs(state) == 0 -> dealloc()
        :: else -> skip
        fi
    }
}

inline cancel_and_complete() {
    assert(!future_done && !future_dropped);
    future_dropped = true;
    complete()
}

proctype Runner() {
    byte r;
    int c_snap, c_after;
    bool c_listed;
end_loop:
    do
    :: atomic { queued > 0 -> queued--;
        /* transition_to_running */
        assert(!freed && has(state, NOTIFIED));
        if
        :: has(state, RUNNING) || has(state, COMPLETE) ->
            state = state - REF_ONE;
            if
            :: refs(state) == 0 -> dealloc()
            :: else -> skip
            fi;
            r = 0                                     /* FAILED / DEALLOC */
        :: else ->
            state = (state - NOTIFIED) | RUNNING;
            assert(!polling);
            polling = true;
            wake_pending = false;
            r = (has(state, CANCELLED) -> 2 : 1)      /* CANCELLED : SUCCESS */
        fi
      }
      if
      :: r == 0 -> skip
      :: r == 2 -> cancel_and_complete()
      :: r == 1 ->
          /* the poll */
          assert(!future_done && !future_dropped);
          polls++;
          if
          :: polls >= MAX_POLLS -> future_done = true
          :: polls < MAX_POLLS -> future_done = true
          :: polls < MAX_POLLS ->            /* pending: hand a waker to the Waker */
              atomic { state = state + REF_ONE; wakers++ }
          :: polls < MAX_POLLS ->            /* pending: woke itself during the poll (by_ref) */
              atomic { /* transition_to_notified_by_ref while RUNNING */
                  state = state | NOTIFIED }
          fi;
          if
          :: future_done -> complete()
          :: else ->
              atomic { /* transition_to_idle */
                  assert(has(state, RUNNING));
                  if
                  :: has(state, CANCELLED) -> r = 2
                  :: else ->
                      state = state - RUNNING;
                      polling = false;
                      if
                      :: has(state, NOTIFIED) -> queued++; r = 3     /* OK_NOTIFIED: our ref re-queued */
                      :: else -> ref_dec_maybe_free(); r = 4          /* OK */
                      fi
                  fi
              }
              if
              :: r == 2 -> cancel_and_complete()
              :: else -> skip
              fi
          fi
      fi
    od
}

proctype Waker() {
end_loop:
    do
    :: atomic { wakers > 0 -> wakers--;
        /* transition_to_notified_by_val (consumes the waker) */
        assert(!freed);
        if
        :: !has(state, COMPLETE) -> wake_pending = true
        :: else -> skip
        fi;
        if
        :: has(state, RUNNING) ->
            state = (state | NOTIFIED) - REF_ONE;
            assert(refs(state) > 0)
        :: !has(state, RUNNING) && (has(state, COMPLETE) || has(state, NOTIFIED)) ->
            ref_dec_maybe_free()
        :: !has(state, RUNNING) && !has(state, COMPLETE) && !has(state, NOTIFIED) ->
            state = state | NOTIFIED;
            queued++
        fi }
    :: atomic { wakers > 0 ->
        /* transition_to_notified_by_ref, the waker kept */
        assert(!freed);
        if
        :: !has(state, COMPLETE) -> wake_pending = true
        :: else -> skip
        fi;
        if
        :: has(state, COMPLETE) || has(state, NOTIFIED) -> skip
        :: !has(state, COMPLETE) && !has(state, NOTIFIED) && has(state, RUNNING) ->
            state = state | NOTIFIED
        :: !has(state, COMPLETE) && !has(state, NOTIFIED) && !has(state, RUNNING) ->
            state = (state | NOTIFIED) + REF_ONE;
            queued++
        fi }
    :: atomic { wakers > 0 -> wakers--;   /* waker drop */
        assert(!freed);
        ref_dec_maybe_free() }
    od
}

/* After clearing JOIN_INTEREST, the slot is the handle's unless the task
 * completed with the waker still published (then the task side drops it). */
#ifndef SLOT_IS_OURS
#define SLOT_IS_OURS(p) (!(has(p, COMPLETE) && has(p, JOIN_WAKER)))
#endif

proctype Handle() {
    int prev, seen;
    bool done = false;
    do
    :: !done ->   /* poll: publish the waker, or read the output */
        if
        :: atomic { !has(state, COMPLETE) && !has(state, JOIN_WAKER) ->
               assert(!slot_full); slot_full = true }      /* the slot is ours: write it */
            atomic { /* set_join_waker */
                assert(has(state, JOIN_INTEREST));
                if
                :: !has(state, COMPLETE) -> state = state | JOIN_WAKER; prev = 1
                :: else -> prev = 0
                fi }
            if
            :: prev == 0 -> assert(!freed); slot_full = false   /* completed meanwhile: take it back */
            :: else -> skip
            fi
        :: atomic { has(state, COMPLETE) ->
               assert(future_done || future_dropped);
               output_read = true }
            done = true
        :: else -> skip
        fi
    :: !done ->   /* a join wait dropped: take the published waker back (unset_join_waker) */
        atomic {
            if
            :: has(state, JOIN_WAKER) && !has(state, COMPLETE) -> state = state - JOIN_WAKER; prev = 1
            :: else -> prev = 0
            fi }
        if
        :: prev == 1 -> assert(!freed && slot_full); slot_full = false
        :: else -> skip
        fi
#ifdef ABORT_HANDLE
    :: !done && !ah_taken ->   /* weft_abort_handle_init: a reference, under ours */
        atomic { assert(!freed && refs(state) >= 1); state = state + REF_ONE; ah_taken = true }
#endif
#ifdef ABORT
    :: !done ->   /* abort: transition_to_notified_and_cancel */
        atomic {
            assert(!freed);
            if
            :: has(state, CANCELLED) || has(state, COMPLETE) -> skip
            :: !has(state, CANCELLED) && !has(state, COMPLETE) && (has(state, RUNNING) || has(state, NOTIFIED)) ->
                state = state | CANCELLED
            :: !has(state, CANCELLED) && !has(state, COMPLETE) && !has(state, RUNNING) && !has(state, NOTIFIED) ->
                state = (state | CANCELLED | NOTIFIED) + REF_ONE;
                queued++
            fi }
#endif
    :: true -> break
    od;
    /* drop (join_handle.c: release) */
    atomic { /* drop_join_handle_fast */
        assert(!freed && has(state, JOIN_INTEREST));
        if
        :: state == INITIAL -> state = state - REF_ONE - JOIN_INTEREST; prev = -1
        :: else -> prev = 0
        fi }
    if
    :: prev == -1 -> skip
    :: else ->
        seen = state;                               /* a plain load: may go stale */
        if
        :: !has(seen, JOIN_WAKER) ->
            /* only the handle sets JOIN_WAKER: the slot stays ours. Empty
             * it, then interest and reference in one CAS
             * (transition_to_join_handle_dropped) */
            assert(!freed); slot_full = false;
            atomic {
                assert(!has(state, JOIN_WAKER) && refs(state) >= 1);
                prev = state;
                state = state - JOIN_INTEREST - REF_ONE;
                if
                :: refs(prev) == 1 -> dealloc()
                :: else -> skip
                fi }
        :: has(seen, JOIN_WAKER) ->
            atomic { /* transition_to_join_interest_dropped: keeps the reference */
                prev = state;
                state = state - JOIN_INTEREST;
                if
                :: !has(state, COMPLETE) && has(state, JOIN_WAKER) -> state = state - JOIN_WAKER
                :: else -> skip
                fi }
            if
            :: SLOT_IS_OURS(prev) -> assert(!freed); slot_full = false
            :: else -> skip                         /* the task side drops it */
            fi;
            atomic { ref_dec_maybe_free() }
        fi
    fi;
    handle_done = true
}

#ifdef ABORT_HANDLE
proctype AbortHandle() {
    do
    :: handle_done && !ah_taken -> break       /* never taken */
    :: ah_taken ->
        if
        :: atomic { /* weft_abort_handle_abort: transition_to_notified_and_cancel */
            assert(!freed);
            if
            :: has(state, CANCELLED) || has(state, COMPLETE) -> skip
            :: !has(state, CANCELLED) && !has(state, COMPLETE) && (has(state, RUNNING) || has(state, NOTIFIED)) ->
                state = state | CANCELLED
            :: !has(state, CANCELLED) && !has(state, COMPLETE) && !has(state, RUNNING) && !has(state, NOTIFIED) ->
                state = (state | CANCELLED | NOTIFIED) + REF_ONE;
                queued++
            fi }
        :: skip
        fi;
        atomic { ref_dec_maybe_free() }        /* weft_abort_handle_destroy */
        break
    od;
    ah_done = true
}
#endif

#ifdef SHUTDOWN
proctype Shutdown() {
    bool own, listed;
    int c_snap, c_after;
    bool c_listed;
    atomic { listed = owned_listed; owned_listed = false };   /* popped from the owned list */
    if
    :: listed ->
        atomic { /* transition_to_shutdown */
            assert(!freed);
            own = !has(state, RUNNING) && !has(state, COMPLETE);
            state = state | CANCELLED | (own -> RUNNING : 0);
            if
            :: own -> assert(!polling); polling = true
            :: else -> skip
            fi }
        if
        :: own -> cancel_and_complete()              /* releases the owned ref (unlisted) */
        :: else -> atomic { ref_dec_maybe_free() }
        fi
    :: else -> skip
    fi
}
#endif

init {
    atomic {
        run Runner();
        run Waker();
        run Handle();
#ifdef ABORT_HANDLE
        run AbortHandle();
#else
        ah_done = true;
#endif
#ifdef SHUTDOWN
        run Shutdown();
#endif
    }
    /* Every actor is done or blocked for good: check the end state. */
    timeout ->
    assert(queued == 0);
    assert(!wake_pending || future_done || future_dropped);  /* no lost wake-up */
    assert(wakers == 0 || !freed);
    if
    :: wakers == 0 && handle_done && ah_done && (future_done || future_dropped) ->
        assert(freed);                                        /* nothing leaks */
        assert(!slot_full)
    :: else -> skip
    fi
}
