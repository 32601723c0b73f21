/* Idle-worker bookkeeping; see idle.h. */
#include "sched/mt/idle.h"

#include <errno.h>
#include <stdlib.h>

#define SEARCHING_MASK 0xffffu
#define UNPARKED_ONE (1u << 16)

static unsigned searching(uint32_t s) { return s & SEARCHING_MASK; }
static unsigned unparked(uint32_t s) { return s >> 16; }

int weft__idle_init(weft_idle *idle, unsigned num_workers) {
    idle->sleepers = calloc(num_workers, sizeof *idle->sleepers);
    if (!idle->sleepers) return -ENOMEM;
    atomic_init(&idle->state, num_workers * UNPARKED_ONE);
    idle->num_workers = num_workers;
    idle->num_sleepers = 0;
    pthread_mutex_init(&idle->lock, NULL);
    return 0;
}

void weft__idle_destroy(weft_idle *idle) {
    pthread_mutex_destroy(&idle->lock);
    free(idle->sleepers);
}

static bool should_wake(weft_idle *idle) {
    uint32_t s = atomic_load_explicit(&idle->state, memory_order_seq_cst);
    return searching(s) == 0 && unparked(s) < idle->num_workers;
}

int weft__idle_worker_to_notify(weft_idle *idle) {
    /* The fence pairs with the one in transition_to_parked: either the
     * parking worker sees our task in a queue, or we see it asleep. */
    atomic_thread_fence(memory_order_seq_cst);
    if (!should_wake(idle)) return -1;
    pthread_mutex_lock(&idle->lock);
    int index = -1;
    if (should_wake(idle) && idle->num_sleepers > 0) {
        atomic_fetch_add_explicit(&idle->state, UNPARKED_ONE + 1, memory_order_seq_cst);
        index = (int)idle->sleepers[--idle->num_sleepers];
    }
    pthread_mutex_unlock(&idle->lock);
    return index;
}

bool weft__idle_transition_to_parked(weft_idle *idle, unsigned index, bool is_searching) {
    pthread_mutex_lock(&idle->lock);
    uint32_t dec = UNPARKED_ONE + (is_searching ? 1 : 0);
    uint32_t prev = atomic_fetch_sub_explicit(&idle->state, dec, memory_order_seq_cst);
    idle->sleepers[idle->num_sleepers++] = index;
    pthread_mutex_unlock(&idle->lock);
    atomic_thread_fence(memory_order_seq_cst);
    return is_searching && searching(prev) == 1;
}

bool weft__idle_transition_to_searching(weft_idle *idle) {
    uint32_t s = atomic_load_explicit(&idle->state, memory_order_seq_cst);
    if (2 * searching(s) >= idle->num_workers) return false;
    atomic_fetch_add_explicit(&idle->state, 1, memory_order_seq_cst);
    return true;
}

bool weft__idle_transition_from_searching(weft_idle *idle) {
    uint32_t prev = atomic_fetch_sub_explicit(&idle->state, 1, memory_order_seq_cst);
    return searching(prev) == 1;
}

bool weft__idle_unpark_worker_by_id(weft_idle *idle, unsigned index) {
    pthread_mutex_lock(&idle->lock);
    bool found = false;
    for (unsigned i = 0; i < idle->num_sleepers; i++) {
        if (idle->sleepers[i] == index) {
            idle->sleepers[i] = idle->sleepers[--idle->num_sleepers];
            atomic_fetch_add_explicit(&idle->state, UNPARKED_ONE, memory_order_seq_cst);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&idle->lock);
    return found;
}

bool weft__idle_is_parked(weft_idle *idle, unsigned index) {
    pthread_mutex_lock(&idle->lock);
    bool found = false;
    for (unsigned i = 0; i < idle->num_sleepers && !found; i++) found = idle->sleepers[i] == index;
    pthread_mutex_unlock(&idle->lock);
    return found;
}

unsigned weft__idle_num_searching(weft_idle *idle) {
    return searching(atomic_load_explicit(&idle->state, memory_order_acquire));
}
