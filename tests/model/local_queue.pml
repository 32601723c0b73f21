/*
 * local_queue.pml — the steal protocol of the work-stealing ring
 * (src/sched/mt/local_queue.c), checked with spin.
 *
 * What is modelled: the ring with CAP slots; `head` as the pair (steal,
 * real) changed only by compare-and-swap of the whole pair, `tail` written
 * only by the owner; the owner pushing PUSHES tasks (overflowing half the
 * ring plus the new task to the inject queue when it is full, or the one
 * task when a steal is in progress) and popping at any moment in between;
 * STEALERS stealers each claiming half the tasks with a CAS on real, copying
 * the claimed slots one by one (the owner may run between any two copies),
 * then moving steal up to real with a CAS loop. Indices do not wrap (the
 * model is too short to reach 2^32); slots do (index % CAP).
 *
 * What is checked:
 *  - every pushed task is taken exactly once (by a pop, a steal or the
 *    inject queue) and none is lost: at the end all are taken;
 *  - a slot is never overwritten while a stealer or popper still has to
 *    read it: what it reads is the task pushed at that index;
 *  - the ring never holds more than CAP tasks counted from `steal`.
 *
 * Configurations: one stealer against 7 pushes into 4 slots (overflow
 * reached), and two stealers against 4 pushes into 2 slots. Mutations
 * caught: the owner checking room from `real` instead of `steal`, a
 * stealer that does not back off while another steal is in progress, an
 * overflow that forgets the new task.
 *
 * spin-config:
 * spin-config: -DCAP=2 -DSTEALERS=2 -DPUSHES=4
 */
#ifndef CAP
#define CAP 4
#endif
#ifndef PUSHES
#define PUSHES 7
#endif
#ifndef STEALERS
#define STEALERS 1
#endif
#define MAXIDX 16

byte hsteal = 0, hreal = 0;   /* head */
byte tail = 0;
byte buffer[CAP];
byte id_at[MAXIDX];           /* ghost: the task pushed at each index */
byte taken[PUSHES + 1];       /* ghost: how often each task was taken */
byte ntaken = 0;
bool owner_done = false;
byte stealers_done = 0;

inline take(id) {
    atomic {
        assert(id >= 1 && id <= PUSHES);
        taken[id]++;
        assert(taken[id] == 1);
        ntaken++
    }
}

/* weft__local_queue_pop (owner): a CAS loop on head; the owner is the
 * only writer of tail, so reading it inside the CAS step changes nothing. */
inline pop() {
    ok = false;
    atomic {
        r = hreal;
        if
        :: r == tail -> skip           /* empty */
        :: else ->
            if
            :: hsteal == r -> hsteal = r + 1; hreal = r + 1
            :: else -> hreal = r + 1
            fi;
            ok = true
        fi
    };
    if
    :: ok ->
        /* The CAS took slot r; read it (nobody may overwrite it). */
        got = buffer[r % CAP];
        assert(got == id_at[r]);
        take(got)
    :: else -> skip
    fi
}

/* weft__local_queue_push_back (owner), task `id`. */
inline push(id) {
    pushed = false;
    do
    :: pushed -> break
    :: else ->
        atomic { s = hsteal; r = hreal };
        if
        :: tail - s < CAP ->
            buffer[tail % CAP] = id;
            id_at[tail] = id;
            tail++;
            pushed = true
        :: else ->
            if
            :: s != r ->
                take(id);               /* straight to the inject queue */
                pushed = true
            :: else ->
                /* push_overflow: CAS (r, r) -> (r + CAP/2, r + CAP/2) */
                atomic {
                    if
                    :: hsteal == r && hreal == r ->
                        hsteal = r + CAP / 2; hreal = r + CAP / 2; pushed = true
                    :: else -> skip
                    fi
                };
                if
                :: pushed ->
                    i = 0;
                    do
                    :: i < CAP / 2 ->
                        assert(buffer[(r + i) % CAP] == id_at[r + i]);
                        take(buffer[(r + i) % CAP]);
                        i++
                    :: else -> break
                    od;
                    take(id)
                :: else -> skip       /* a stealer moved head: retry */
                fi
            fi
        fi
    od;
    assert(tail - hsteal <= CAP)
}

active proctype Owner() {
    byte id = 1;
    byte s, r, i, got;
    bool ok, pushed;
    do
    :: id <= PUSHES -> push(id); id++
    :: id <= PUSHES -> pop()
    :: id > PUSHES -> break
    od;
    owner_done = true;
    /* Drain what is left once the stealers are done. */
    stealers_done == STEALERS;
    do
    :: hreal != tail -> pop()
    :: else -> break
    od;
    assert(ntaken == PUSHES)
}

/* steal_half: claim, copy, release. */
proctype Stealer() {
    byte s, r, t, n, first, i, got;
    bool claimed;
    do
    :: owner_done -> break
    :: else ->
        claimed = false;
        atomic { s = hsteal; r = hreal };
        t = tail;                            /* a separate load, as in C */
        if
        :: s == r && t != r ->
            n = t - r;
            n = n - n / 2;
            first = r;
            /* CAS: advance real, keep steal; fails if head moved */
            atomic {
                if
                :: hsteal == s && hreal == r -> hreal = r + n; claimed = true
                :: else -> skip
                fi
            }
        :: else -> skip
        fi;
        if
        :: claimed ->
            i = 0;
            do
            :: i < n ->
                got = buffer[(first + i) % CAP];
                assert(got == id_at[first + i]);   /* not overwritten */
                take(got);
                i++
            :: else -> break
            od;
            /* release: steal catches up with real (CAS loop) */
            atomic { assert(hsteal == first); hsteal = hreal }
        :: else -> skip
        fi
    od;
    stealers_done++
}

init {
    byte i;
    atomic {
        for (i : 1 .. STEALERS) { run Stealer() }
    }
}
