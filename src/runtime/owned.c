/* The owned-task list: every unfinished task of a runtime, in shards. */
#include "runtime/rt.h"
#include "util/list.h"

static weft_owned_shard *shard_of(weft_runtime *rt, const weft_task *t) {
    /* Tasks are separate allocations: the bits above the allocator's
     * granularity spread consecutive ones over the shards. */
    return &rt->owned[((uintptr_t)t >> 7) % WEFT_OWNED_SHARDS];
}

void weft__owned_init(weft_runtime *rt) {
    for (unsigned i = 0; i < WEFT_OWNED_SHARDS; i++) {
        spin_init(&rt->owned[i].lock);
        rt->owned[i].closed = false;
        weft__list_init(&rt->owned[i].tasks);
        atomic_init(&rt->owned[i].spawned, 0);
        atomic_init(&rt->owned[i].completed, 0);
    }
}

void weft__owned_counts(const weft_runtime *rt, uint64_t *spawned, uint64_t *completed) {
    *spawned = *completed = 0;
    for (unsigned i = 0; i < WEFT_OWNED_SHARDS; i++) {
        *spawned += atomic_load_explicit(&rt->owned[i].spawned, memory_order_relaxed);
        *completed += atomic_load_explicit(&rt->owned[i].completed, memory_order_relaxed);
    }
}

bool weft__owned_insert(weft_runtime *rt, weft_task *t) {
    weft_owned_shard *o = shard_of(rt, t);
    spin_lock(&o->lock);
    bool ok = !o->closed;
    if (ok) {
        weft__list_push_back(&o->tasks, &t->owned);
        counter_add(&o->spawned, 1); /* one writer at a time: the lock holder */
    }
    spin_unlock(&o->lock);
    return ok;
}

bool weft__owned_complete(weft_runtime *rt, weft_task *t) {
    weft_owned_shard *o = shard_of(rt, t);
    spin_lock(&o->lock);
    /* A task taken by shutdown is no longer linked. */
    bool was = weft__link_is_linked(&t->owned);
    if (was) weft__list_remove(&t->owned);
    counter_add(&o->completed, 1);
    spin_unlock(&o->lock);
    return was;
}

void weft__owned_close_and_shutdown(weft_runtime *rt) {
    for (unsigned i = 0; i < WEFT_OWNED_SHARDS; i++) {
        spin_lock(&rt->owned[i].lock);
        rt->owned[i].closed = true;
        spin_unlock(&rt->owned[i].lock);
    }
    /* Cancelling a task may drop others' join handles or wake tasks, never
     * insert (the shards are closed), so each shard only shrinks. */
    for (unsigned i = 0; i < WEFT_OWNED_SHARDS; i++) {
        weft_owned_shard *o = &rt->owned[i];
        for (;;) {
            spin_lock(&o->lock);
            weft_link *l = weft__list_pop_front(&o->tasks);
            spin_unlock(&o->lock);
            if (!l) break;
            weft_task *t = weft__container_of(l, weft_task, owned);
            /* We took the owned-list reference with the task. If we now own
             * the task, completing it releases that reference; a task running
             * elsewhere sees CANCELLED and completes itself. */
            if (weft__transition_to_shutdown(&t->state)) weft__task_shutdown(t);
            else weft__task_drop_ref(t);
        }
    }
}
