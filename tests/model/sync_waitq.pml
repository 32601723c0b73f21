/*
 * sync_waitq.pml — the wait-node protocol of weft's sync primitives
 * (src/sync/waitq.h, src/sync/semaphore.c), checked with spin.
 *
 * What is modelled: a FIFO batch semaphore under a lock; waiters that
 * acquire 1 or 2 permits, can be dropped (cancelled) at any moment, and
 * poll with the lock-free fast path (reading their node's state without
 * the lock); releasers that hand permits to queued waiters in FIFO order,
 * unlocking to wake after each completed waiter (a wake batch of one, the
 * worst case for the flush windows); and shutdown (weft_semaphore_shutdown), which marks every queued
 * node CLOSED|RELEASING, moves them to a list of its own and unlinks them
 * one by one with the lock dropped in between, while their owners may
 * settle (unlink) them themselves.
 *
 * What is checked:
 *  - permits are conserved: when everyone is done, available permits ==
 *    initial + added (none lost to a drop racing a hand-off, none doubled);
 *  - the fast path is sound: a node read as DONE or CLOSED without the lock
 *    is in no list (its owner may free it at once);
 *  - a node is only touched by a releaser while it is still linked (the
 *    owner has not settled it and so cannot have freed it);
 *  - no lost wake-up: a waiter that waits (does not drop) is always woken
 *    eventually (otherwise the run ends with it blocked: an invalid end
 *    state);
 *  - FIFO: permits only ever go to the oldest queued waiter (assign picks
 *    the head; a later waiter is completed only once it is the head).
 *
 * Configurations (scripts/check-model.sh runs each): three waiters wanting
 * 1, 2 and 1 permits, one attempt each; and two waiters reusing their node
 * for a second attempt.
 * spin-config:
 * spin-config: -DW=2 -DROUNDS=2
 *
 * Mutations checked to fail: a drop that finds DONE and does not pass the
 * permits on (conservation), publishing DONE before unlinking (fast path),
 * a closer whose nodes' owners do not settle them (linked node).
 */

#ifndef W
#define W 3          /* waiters */
#endif
#ifndef ROUNDS
#define ROUNDS 1     /* acquisitions each waiter attempts (2: nodes are reused) */
#endif
#define P 2          /* initial permits */

#define IDLE 0
#define QUEUED 1
#define DONE 2
#define CLOSED 3
#define REL 8        /* RELEASING: still linked in the closer's list */

#define NOLIST 0
#define INQ 1        /* in the semaphore's FIFO */
#define INLQ 2       /* in the closer's local list */

/*
 * Every critical section of the real code (lock ... unlock, with no unlock
 * inside) is one atomic step here: inside the lock nothing else touches the
 * primitive, and the only lock-free access, the owner's read of its node's
 * state, sees each critical section's writes all at once or not at all
 * (each writes a node's state at most once). The windows where the real
 * code drops the lock (to wake a batch) are real interleaving points here.
 */
byte permits = P;
byte added;
bool closed;
byte st[W];          /* node state (read without the lock by its owner) */
byte got[W];         /* permits assigned to a queued node */
byte need[W];
bool woken[W];       /* the task's wake flag (wakers are per task) */
byte inlist[W];      /* which list the node is linked in */
byte qserial[W];     /* FIFO position: the order nodes were queued in */
byte serial;
byte qlen, lqlen;
byte finished;

/* The oldest node of list `which`; W if empty. */
inline oldest(which, res) {
    res = W;
    k = 0;
    do
    :: k < W ->
        if
        :: inlist[k] == which && (res == W || qserial[k] < qserial[res]) -> res = k
        :: else -> skip
        fi;
        k++
    :: else -> break
    od;
    k = 0 /* dead from here: keep the state vector canonical */
}

inline unlink_q(id) { assert(inlist[id] == INQ); inlist[id] = NOLIST; qlen-- }
inline unlink_lq(id) { assert(inlist[id] == INLQ); inlist[id] = NOLIST; lqlen-- }

/* Hands available permits to the queue head(s), one completed waiter per
 * critical section, waking it with the lock dropped (a full wake batch). */
inline assign() {
    do
    :: atomic {
        if
        :: permits > 0 && qlen > 0 ->
            oldest(INQ, j);
            assert(j < W && st[j] == QUEUED);
            if
            :: permits < need[j] - got[j] ->
                got[j] = got[j] + permits;
                permits = 0;
                j = W
            :: else ->
                permits = permits - (need[j] - got[j]);
                got[j] = need[j];
                unlink_q(j);
                st[j] = DONE        /* the last touch of the node */
            fi
        :: else -> j = W
        fi
       }
       if
       :: j == W -> j = 0; break
       :: else -> woken[j] = true  /* the waker taken from the node, lock dropped */
       fi
    od
}

/* Under the lock: settles a node a bulk release left linked. */
inline settle(id, s) {
    s = st[id];
    if
    :: s >= REL -> unlink_lq(id); s = s - REL; st[id] = s
    :: else -> skip
    fi
}

/* The owner frees (or reuses) its node: it must be in no list. */
inline node_free(id) { assert(inlist[id] == NOLIST) }

proctype waiter(byte i) {
    byte k, j, s, give, r;
    need[i] = 1 + i % 2;
    do
    :: r < ROUNDS ->
        /* first poll */
        atomic {
            r++;
            st[i] = IDLE;
            got[i] = 0;
            woken[i] = false;
            if
            :: closed -> s = CLOSED
            :: !closed && qlen == 0 && permits >= need[i] ->
                permits = permits - need[i];
                s = DONE
            :: else ->
                if
                :: qlen == 0 -> got[i] = permits; permits = 0
                :: else -> skip
                fi;
                inlist[i] = INQ;
                qlen++;
                serial++;
                qserial[i] = serial;
                st[i] = QUEUED;
                s = QUEUED
            fi
        }
        if
        :: s == CLOSED -> goto next
        :: s == DONE -> goto hold
        :: else -> skip
        fi;
waiting:
        if
        :: woken[i] -> /* polled again */
            woken[i] = false;
            s = st[i];               /* the lock-free fast path */
            if
            :: s == DONE -> node_free(i); goto hold
            :: s == CLOSED -> node_free(i); goto next
            :: else ->
                atomic { settle(i, s) }
                if
                :: s == DONE -> goto hold
                :: s == CLOSED -> goto next
                :: else -> goto waiting
                fi
            fi
        :: true -> /* dropped, at any moment */
            s = st[i];
            if
            :: s == CLOSED -> node_free(i); goto next
            :: else ->
                atomic {
                    settle(i, s);
                    give = 0;
                    if
                    :: s == QUEUED -> unlink_q(i); give = got[i]
                    :: s == DONE -> give = need[i]  /* handed over, never seen: pass on */
                    :: else -> skip
                    fi;
                    st[i] = IDLE;
                    permits = permits + give
                }
                assign();
                node_free(i);
                goto next
            fi
        fi;
hold:
        node_free(i);
        permits = permits + need[i];  /* a single step: atomic */
        assign();
next:
        s = 0;
        give = 0
    :: else -> break
    od;
    finished++
}

proctype adder() {
    byte k, j;
    atomic { permits++; added++ }
    assign();
    finished++
}

proctype closer() {
    byte k, j, back;
    atomic {
        closed = true;
        back = 0;
        k = 0;
        do
        :: k < W ->
            if
            :: inlist[k] == INQ ->
                back = back + got[k];
                inlist[k] = INLQ;
                st[k] = CLOSED + REL
            :: else -> skip
            fi;
            k++
        :: else -> break
        od;
        permits = permits + back;
        lqlen = qlen;
        qlen = 0
    }
    do
    :: atomic {
        if
        :: lqlen > 0 ->
            oldest(INLQ, j);
            assert(j < W && st[j] == CLOSED + REL); /* still linked: not freed */
            unlink_lq(j);
            st[j] = CLOSED
        :: else -> j = W
        fi
       }
       if
       :: j == W -> break
       :: else -> woken[j] = true
       fi
    od;
    finished++
}

init {
    byte i;
    atomic {
        i = 0;
        do
        :: i < W -> run waiter(i); i++
        :: else -> break
        od;
        run adder();
        run closer()
    }
    finished == W + 2;
    /* Conservation: everything released, nothing queued. */
    assert(qlen == 0 && lqlen == 0);
    assert(permits == P + added)
}
