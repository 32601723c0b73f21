/* Helpers shared by the channels. */
#ifndef WEFT_SYNC_CHAN_H
#define WEFT_SYNC_CHAN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/waitq.h"
#include "weft/channel.h"

/* Copies one element; the common sizes get a fixed-size (inlined) copy. */
static inline void copy_elem(void *dst, const void *src, size_t n) {
    switch (n) {
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    case 16: memcpy(dst, src, 16); break;
    default: memcpy(dst, src, n); break;
    }
}

/* Reference counts of the shared channel objects. */
static inline void chan_ref(uint32_t *refs) { __atomic_add_fetch(refs, 1, __ATOMIC_RELAXED); }
static inline bool chan_unref(uint32_t *refs) {
    return __atomic_sub_fetch(refs, 1, __ATOMIC_ACQ_REL) == 0;
}

/* Rounds a size up for the storage that follows a channel header. */
#define CHAN_ALIGN 16
static inline size_t chan_align(size_t n) { return (n + CHAN_ALIGN - 1) & ~(size_t)(CHAN_ALIGN - 1); }

#endif
