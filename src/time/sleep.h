/*
 * Internal sleep operations, shared with interval and timeout, which wrap a
 * weft_sleep in their own futures.
 */
#ifndef WEFT_TIME_SLEEP_H
#define WEFT_TIME_SLEEP_H

#include "weft/time.h"

/* The poll of a sleep: ready once the deadline passed, else registered in
 * the runtime's wheel with the context's waker. Spends one unit of budget. */
weft_poll weft__sleep_poll(weft_sleep *s, weft_context *cx);

/* The drop of a sleep: leaves the wheel, releases the waker. */
void weft__sleep_drop(weft_future *f);

/* (Re)initialises `s` as a fresh, unregistered future of type `vt` due at
 * `deadline_ms`. `s` must not be in a wheel. */
void weft__sleep_arm(weft_sleep *s, const weft_future_vtable *vt, uint64_t deadline_ms);

#endif
