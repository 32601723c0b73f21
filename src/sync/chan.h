/* Helpers shared by the channels: element copies, the message destructor
 * and clone function, reference counts. */
#ifndef WEFT_SYNC_CHAN_H
#define WEFT_SYNC_CHAN_H

#include <stdlib.h>
#include <string.h>

#include "sync/waitq.h"
#include "util/copy.h"
#include "weft/channel.h"
#include "weft/sync.h"

/* What a channel does with its messages (from weft_channel_options). */
typedef struct chan_value {
    size_t elem;
    weft_drop_fn drop;   /* NULL: messages own nothing */
    weft_clone_fn clone; /* NULL: bytewise copies */
} chan_value;

static inline void chan_value_init(chan_value *v, size_t elem, const weft_channel_options *opts) {
    v->elem = elem;
    v->drop = opts ? opts->drop : NULL;
    v->clone = opts ? opts->clone : NULL;
}

/* Destroys a message nobody took. */
static inline void chan_drop(const chan_value *v, void *msg) {
    if (v->drop) v->drop(msg);
}

/* Destroys `n` messages of a ring of `cap` elements starting at `head`. */
static inline void chan_drop_ring(const chan_value *v, unsigned char *ring, size_t cap, size_t head,
                                  size_t n) {
    if (!v->drop) return;
    for (size_t i = 0; i < n; i++) {
        size_t k = head + i;
        if (k >= cap) k -= cap;
        v->drop(ring + k * v->elem);
    }
}

/* Makes a receiver's own copy of `src` in `dst`. */
static inline void chan_clone(const chan_value *v, void *dst, const void *src) {
    if (v->clone) v->clone(dst, src);
    else weft__copy_value(dst, src, v->elem);
}

/* Reference counts of the shared channel objects. */
static inline void chan_ref(uint32_t *refs) { __atomic_add_fetch(refs, 1, __ATOMIC_RELAXED); }
static inline bool chan_unref(uint32_t *refs) {
    return __atomic_sub_fetch(refs, 1, __ATOMIC_ACQ_REL) == 0;
}

/* Takes the end out of the caller's handle `h` (an `end **`, which may be
 * NULL) and empties the handle: the value is NULL if there was none. */
#define CHAN_TAKE_END(h)                                   \
    __extension__({                                        \
        __typeof__(h) h_ = (h);                            \
        __typeof__(*h_) e_ = h_ ? *h_ : NULL;              \
        if (h_) *h_ = NULL;                                \
        e_;                                                \
    })

/* Rounds a size up for the storage that follows a channel header. */
#define CHAN_ALIGN 16
static inline size_t chan_align(size_t n) { return (n + CHAN_ALIGN - 1) & ~(size_t)(CHAN_ALIGN - 1); }

#endif
