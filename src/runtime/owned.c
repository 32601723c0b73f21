/* The owned-task list: every unfinished task of a runtime, in shards. */
#include "runtime/rt.h"

static weft_owned_shard *shard_of(weft_runtime *rt, const weft_task *t) {
    /* Tasks are separate allocations: the bits above the allocator's
     * granularity spread consecutive ones over the shards. */
    return &rt->owned[((uintptr_t)t >> 7) % WEFT_OWNED_SHARDS];
}

void weft__owned_init(weft_runtime *rt) {
    for (unsigned i = 0; i < WEFT_OWNED_SHARDS; i++) {
        spin_init(&rt->owned[i].lock);
        rt->owned[i].closed = false;
        rt->owned[i].head = NULL;
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
        t->owned_prev = NULL;
        t->owned_next = o->head;
        if (o->head) o->head->owned_prev = t;
        o->head = t;
        counter_add(&o->spawned, 1); /* one writer at a time: the lock holder */
    }
    spin_unlock(&o->lock);
    return ok;
}

/* A task removed by shutdown points at itself, so a later remove sees it gone. */
static bool listed(const weft_task *t) { return t->owned_next != t; }

static void unlink_locked(weft_owned_shard *o, weft_task *t) {
    if (t->owned_prev) t->owned_prev->owned_next = t->owned_next;
    else o->head = t->owned_next;
    if (t->owned_next) t->owned_next->owned_prev = t->owned_prev;
    t->owned_prev = t->owned_next = t;
}

bool weft__owned_complete(weft_runtime *rt, weft_task *t) {
    weft_owned_shard *o = shard_of(rt, t);
    spin_lock(&o->lock);
    bool was = listed(t);
    if (was) unlink_locked(o, t);
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
            weft_task *t = o->head;
            if (t) unlink_locked(o, t);
            spin_unlock(&o->lock);
            if (!t) break;
            /* We took the owned-list reference with the task. If we now own
             * the task, completing it releases that reference; a task running
             * elsewhere sees CANCELLED and completes itself. */
            if (weft__transition_to_shutdown(&t->state)) weft__task_shutdown(t);
            else weft__task_drop_ref(t);
        }
    }
}
