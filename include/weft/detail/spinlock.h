/*
 * weft/detail/spinlock.h — the lock word embedded in weft's public structs
 * (semaphores, channels, ...). Private: use the functions of the type that
 * contains it, never the lock itself.
 */
#ifndef WEFT_SPINLOCK_H
#define WEFT_SPINLOCK_H

#include <stdint.h>

/** A small spinlock word guarding a primitive's state. Private. */
typedef struct weft_spinlock {
    uint32_t locked;
} weft_spinlock;

#endif
