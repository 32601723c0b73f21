/*
 * parker.pml — the futex parker of src/util/parker.c, checked with spin.
 *
 * What is modelled: one parking thread and UNPARKERS unparking threads on
 * one state word (EMPTY, NOTIFIED, PARKED, ELSEWHERE) with exactly the
 * parker's atomic operations; the futex as the kernel does it (FUTEX_WAIT
 * compares the word and sleeps in one step, FUTEX_WAKE wakes the sleeper),
 * with one spurious futex return allowed; and the "elsewhere" sleep of the
 * multi_thread worker in the I/O driver, whose wake-up (an eventfd) stays
 * set until the driver consumes it. Each unparker publishes an item and
 * then unparks; the parking thread parks (on the futex or in the driver,
 * either way each time) until it has seen every item.
 *
 * What is checked:
 *  - no lost wake-up: the parking thread always sees every item and ends
 *    (a sleep nobody ends is an invalid end state);
 *  - a futex park returns only after an unpark: futex parks returned never
 *    exceed unparks made;
 *  - the state word is EMPTY whenever the parking thread is running (its
 *    park consumed the unpark) unless an unpark came since.
 *
 * spin-config:
 * spin-config: -DUNPARKERS=3
 */
#ifndef UNPARKERS
#define UNPARKERS 2
#endif

#define EMPTY 0
#define NOTIFIED 1
#define PARKED 2
#define ELSEWHERE 3

byte state = EMPTY;
byte published = 0;
byte unparks = 0;
byte futex_returns = 0;
bool futex_sleeping = false;  /* the parking thread is in FUTEX_WAIT */
bool driver_wake = false;     /* the driver's eventfd */
bool spurious_left = true;

/* FUTEX_WAIT(expect): compare and sleep in one step; returns at once if
 * the word changed; otherwise sleeps until FUTEX_WAKE (or spuriously). */
inline futex_wait(expect) {
    atomic {
        if
        :: state == expect -> futex_sleeping = true
        :: else -> skip
        fi
    }
    if
    :: !futex_sleeping -> skip
    :: atomic { spurious_left -> spurious_left = false; futex_sleeping = false }
    fi
}

inline futex_wake() {
    futex_sleeping = false
}

/* weft__parker_unpark */
inline unpark() {
    byte prev;
    atomic { prev = state; state = NOTIFIED; unparks++ }
    if
    :: prev == PARKED -> futex_wake()
    :: prev == ELSEWHERE -> driver_wake = true  /* weft__driver_unpark */
    :: else -> skip
    fi
}

proctype Unparker() {
    published++;
    unpark()
}

active proctype Parker() {
    byte seen = 0;
    bool woke;
    do
    :: seen == UNPARKERS -> break
    :: else ->
        woke = false;
        if
        :: true -> /* weft__parker_park */
            /* consume_notification: CAS NOTIFIED -> EMPTY */
            atomic {
                if
                :: state == NOTIFIED -> state = EMPTY; woke = true
                :: else -> skip
                fi
            }
            /* enter: CAS EMPTY -> PARKED, or (an unpark came) exchange to EMPTY */
            if
            :: woke -> skip
            :: else ->
                atomic {
                    if
                    :: state == EMPTY -> state = PARKED
                    :: else -> assert(state == NOTIFIED); state = EMPTY; woke = true
                    fi
                }
            fi;
            do
            :: woke -> break
            :: else ->
                futex_wait(PARKED);
                atomic {
                    if
                    :: state == NOTIFIED -> state = EMPTY; woke = true
                    :: else -> assert(state == PARKED)
                    fi
                }
            od;
            futex_returns++;
            assert(futex_returns <= unparks)
        :: true -> /* begin_elsewhere, sleep in the driver, end_elsewhere */
            atomic {
                if
                :: state == NOTIFIED -> state = EMPTY; woke = true
                :: else -> skip
                fi
            }
            if
            :: woke -> skip
            :: else ->
                atomic {
                    if
                    :: state == EMPTY -> state = ELSEWHERE
                    :: else -> assert(state == NOTIFIED); state = EMPTY; woke = true
                    fi
                }
            fi;
            if
            :: woke -> skip
            :: else ->
                atomic { driver_wake -> driver_wake = false };
                state = EMPTY  /* end_elsewhere: an exchange to EMPTY */
            fi
        fi;
        seen = published
    od;
    assert(seen == UNPARKERS)
}

init {
    byte i;
    atomic {
        for (i : 1 .. UNPARKERS) { run Unparker() }
    }
}
