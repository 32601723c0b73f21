/*
 * The stack pool. A slab is one mapping holding `count` stacks, each
 * `stride` = guard + size bytes, guard first (stacks grow down, so the
 * guard is below each stack). One mapping per slab rather than per stack:
 * every mapping is an entry in the kernel's per-process map table, limited
 * to vm.max_map_count (65,530 by default), and 100,000 fibers must not
 * run into it.
 *
 * The guard is installed with madvise(MADV_GUARD_INSTALL) (Linux 6.13+),
 * which marks the pages inaccessible without splitting the mapping; older
 * kernels (and emulators that accept the call without doing it) get
 * mprotect(PROT_NONE), which splits it in two per stack, so there the
 * number of stacks is bounded by the map table (about 32,000).
 *
 * Slabs grow geometrically (each new slab as large as the class's stacks
 * so far, up to 1,024 stacks) so that the number of mappings stays small.
 * They are never unmapped: the guard-hit lookup in the SIGSEGV handler
 * walks them without a lock.
 *
 * Each thread keeps a few idle stacks of its own (the last ones its
 * fibers gave back), taken and given without a lock or an atomic
 * instruction: a thread that runs one short fiber after another reuses
 * the same stack, whose top is still in its cache.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fiber/fiber.h"
#include "fiber/stack.h"
#include "util/spinlock.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define MAX_CLASSES 16
#define SLAB_MIN_STACKS 4
#define SLAB_MAX_STACKS 1024

typedef struct weft__stack_class {
    size_t size;
    weft__stack *hot, *cold; /* idle stacks: with their pages / given back */
    size_t nhot, ncold, total;
} stack_class;

/* A thread's own idle stacks. `n` is written by the thread only; the
 * stats read it from others (relaxed). Listed in pool.caches while the
 * thread lives. */
#define THREAD_CACHE 8
typedef struct thread_cache {
    weft__stack *stacks[THREAD_CACHE];
    _Atomic unsigned n;
    bool listed;
    struct thread_cache *prev, *next;
} thread_cache;

typedef struct slab {
    struct slab *next; /* published list, newest first */
    uintptr_t base;
    size_t stride, count, size;
    weft__stack stacks[];
} slab;

static struct {
    weft_spinlock lock;          /* classes' lists and counts */
    pthread_mutex_t grow;        /* one slab mapped at a time */
    stack_class classes[MAX_CLASSES];
    unsigned nclasses;
    size_t in_use, slabs;
    _Atomic(slab *) published;   /* every slab, for the guard lookup */
    int guard_mode;              /* 0 unknown, 1 madvise, 2 mprotect */
    thread_cache *caches;        /* under lock */
    pthread_once_t key_once;
    pthread_key_t key;           /* empties a thread's cache when it exits */
} pool = {.grow = PTHREAD_MUTEX_INITIALIZER, .key_once = PTHREAD_ONCE_INIT};

static _Thread_local thread_cache tcache __attribute__((tls_model("initial-exec")));

static size_t page_size(void) {
    static _Atomic size_t cached; /* any thread may be first: the same value */
    size_t ps = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!ps) {
        long p = sysconf(_SC_PAGESIZE);
        ps = p > 0 ? (size_t)p : 4096;
        atomic_store_explicit(&cached, ps, memory_order_relaxed);
    }
    return ps;
}

size_t weft__stack_round(size_t requested) {
    if (requested > WEFT_FIBER_STACK_MAX) return 0;
    if (requested < WEFT_FIBER_STACK_MIN) requested = WEFT_FIBER_STACK_MIN;
    size_t ps = page_size();
    return (requested + ps - 1) & ~(ps - 1);
}

/* The class of `size`, created if new; NULL if all classes are taken.
 * Under the lock. */
static stack_class *class_of(size_t size) {
    for (unsigned i = 0; i < pool.nclasses; i++)
        if (pool.classes[i].size == size) return &pool.classes[i];
    if (pool.nclasses == MAX_CLASSES) return NULL;
    stack_class *c = &pool.classes[pool.nclasses++];
    c->size = size;
    return c;
}

static weft__stack *pop(stack_class *c) {
    weft__stack *s = c->hot;
    if (s) {
        c->hot = s->next_free;
        c->nhot--;
    } else if ((s = c->cold)) {
        c->cold = s->next_free;
        c->ncold--;
    }
    if (s) pool.in_use++;
    return s;
}

/* True if the kernel refuses to read the byte at `addr` (EFAULT): a
 * guard is really there. A write to a pipe makes the kernel read it. */
static bool unreadable(uintptr_t addr) {
    int p[2];
    if (pipe(p) != 0) return true; /* cannot tell: trust the kernel */
    bool refused = write(p[1], (const void *)addr, 1) < 0 && errno == EFAULT;
    close(p[0]);
    close(p[1]);
    return refused;
}

static int install_guard(uintptr_t at, size_t len) {
    if (pool.guard_mode != 2) {
        if (madvise((void *)at, len, MADV_GUARD_INSTALL) == 0) {
            /* The first time, check that the guard is real: an emulator
             * (qemu-user) accepts the call and ignores it. */
            if (pool.guard_mode == 1 || unreadable(at)) {
                pool.guard_mode = 1;
                return 0;
            }
        } else if (pool.guard_mode == 1 || errno != EINVAL) {
            return -ENOMEM;
        }
        pool.guard_mode = 2; /* guards by mprotect from now on */
    }
    return mprotect((void *)at, len, PROT_NONE) == 0 ? 0 : -ENOMEM;
}

/* Maps a slab for class `c` (whose size is `size`). Under pool.grow. */
static slab *map_slab(size_t size, size_t have) {
    size_t count = have < SLAB_MIN_STACKS ? SLAB_MIN_STACKS : have;
    if (count > SLAB_MAX_STACKS) count = SLAB_MAX_STACKS;
    size_t stride = WEFT_FIBER_GUARD + size;
    if (stride > SIZE_MAX / count) return NULL;
    for (; count >= 1; count /= 2) {
        slab *sl = malloc(sizeof *sl + count * sizeof(weft__stack));
        if (!sl) return NULL;
        void *m = mmap(NULL, stride * count, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            free(sl);
            continue; /* try a smaller slab */
        }
        /* Huge pages would make one touched page of each stack cost 2 MiB. */
        (void)madvise(m, stride * count, MADV_NOHUGEPAGE);
        sl->base = (uintptr_t)m;
        sl->stride = stride;
        sl->count = count;
        sl->size = size;
        size_t i;
        for (i = 0; i < count; i++) {
            uintptr_t at = sl->base + i * stride;
            if (install_guard(at, WEFT_FIBER_GUARD) != 0) break;
            sl->stacks[i].lo = (void *)(at + WEFT_FIBER_GUARD);
            sl->stacks[i].hi = (void *)(at + stride);
        }
        if (i < count) { /* never hand out a stack without its guard */
            munmap(m, stride * count);
            free(sl);
            return NULL;
        }
        return sl;
    }
    return NULL;
}

static void release_to_pool(weft__stack *s);

/* A thread exits: its idle stacks go back to the pool. */
static void cache_flush(void *p) {
    thread_cache *tc = p;
    unsigned n = atomic_load_explicit(&tc->n, memory_order_relaxed);
    atomic_store_explicit(&tc->n, 0, memory_order_relaxed);
    spin_lock(&pool.lock);
    if (tc->prev) tc->prev->next = tc->next;
    else pool.caches = tc->next;
    if (tc->next) tc->next->prev = tc->prev;
    tc->listed = false;
    spin_unlock(&pool.lock);
    for (unsigned i = 0; i < n; i++) release_to_pool(tc->stacks[i]);
}

static void make_key(void) { pthread_key_create(&pool.key, cache_flush); }

static weft__stack *cache_take(size_t size) {
    unsigned n = atomic_load_explicit(&tcache.n, memory_order_relaxed);
    for (unsigned i = n; i-- > 0;) {
        weft__stack *s = tcache.stacks[i];
        if (s->cls->size != size) continue;
        tcache.stacks[i] = tcache.stacks[n - 1];
        atomic_store_explicit(&tcache.n, n - 1, memory_order_relaxed);
        return s;
    }
    return NULL;
}

static bool cache_give(weft__stack *s) {
    unsigned n = atomic_load_explicit(&tcache.n, memory_order_relaxed);
    if (n == THREAD_CACHE) return false;
    if (!tcache.listed) {
        pthread_once(&pool.key_once, make_key);
        if (pthread_setspecific(pool.key, &tcache) != 0) return false;
        spin_lock(&pool.lock);
        tcache.prev = NULL;
        tcache.next = pool.caches;
        if (pool.caches) pool.caches->prev = &tcache;
        pool.caches = &tcache;
        tcache.listed = true;
        spin_unlock(&pool.lock);
    }
    tcache.stacks[n] = s;
    atomic_store_explicit(&tcache.n, n + 1, memory_order_relaxed);
    return true;
}

int weft__stack_acquire(size_t size, weft__stack **out) {
    weft__stack *mine = cache_take(size);
    if (mine) {
        *out = mine;
        return 0;
    }
    spin_lock(&pool.lock);
    stack_class *c = class_of(size);
    weft__stack *s = c ? pop(c) : NULL;
    size_t have = c ? c->total : 0;
    spin_unlock(&pool.lock);
    if (s) {
        *out = s;
        return 0;
    }
    if (!c) return -ENOMEM;

    pthread_mutex_lock(&pool.grow);
    spin_lock(&pool.lock); /* another thread may have grown the class meanwhile */
    s = pop(c);
    have = c->total;
    spin_unlock(&pool.lock);
    if (!s) {
        /* The first stacks: from now on a guard hit must be recognised. */
        weft__overflow_install();
        slab *sl = map_slab(size, have);
        if (sl) {
            for (size_t i = 0; i < sl->count; i++) sl->stacks[i].cls = c;
            sl->next = atomic_load_explicit(&pool.published, memory_order_relaxed);
            atomic_store_explicit(&pool.published, sl, memory_order_release);
            spin_lock(&pool.lock);
            /* All but the first go to the cold list: untouched pages. */
            for (size_t i = sl->count; i-- > 1;) {
                sl->stacks[i].next_free = c->cold;
                c->cold = &sl->stacks[i];
                c->ncold++;
            }
            c->total += sl->count;
            pool.slabs++;
            pool.in_use++;
            spin_unlock(&pool.lock);
            s = &sl->stacks[0];
        }
    }
    pthread_mutex_unlock(&pool.grow);
    if (!s) return -ENOMEM;
    *out = s;
    return 0;
}

void weft__stack_release(weft__stack *s) {
    if (!cache_give(s)) release_to_pool(s);
}

static void release_to_pool(weft__stack *s) {
    stack_class *c = s->cls;
    spin_lock(&pool.lock);
    bool keep = c->nhot < WEFT_FIBER_HOT_STACKS;
    if (keep) {
        s->next_free = c->hot;
        c->hot = s;
        c->nhot++;
        pool.in_use--;
    }
    spin_unlock(&pool.lock);
    if (keep) return;
    /* Enough hot stacks: give this one's pages back (the guard stays). */
    (void)madvise(s->lo, (size_t)((char *)s->hi - (char *)s->lo), MADV_DONTNEED);
    spin_lock(&pool.lock);
    s->next_free = c->cold;
    c->cold = s;
    c->ncold++;
    pool.in_use--;
    spin_unlock(&pool.lock);
}

size_t weft__stack_guard_hit(const void *addr) {
    uintptr_t a = (uintptr_t)addr;
    for (slab *sl = atomic_load_explicit(&pool.published, memory_order_acquire); sl; sl = sl->next) {
        if (a < sl->base || a - sl->base >= sl->stride * sl->count) continue;
        return (a - sl->base) % sl->stride < WEFT_FIBER_GUARD ? sl->size : 0;
    }
    return 0;
}

void weft__stack_stats_get(weft__stack_stats *out) {
    spin_lock(&pool.lock);
    /* Stacks in threads' caches left the pool as in use, but are idle. */
    size_t cached = 0;
    for (thread_cache *tc = pool.caches; tc; tc = tc->next)
        cached += atomic_load_explicit(&tc->n, memory_order_relaxed);
    out->in_use = pool.in_use - cached;
    out->hot = cached;
    out->cold = 0;
    for (unsigned i = 0; i < pool.nclasses; i++) {
        out->hot += pool.classes[i].nhot;
        out->cold += pool.classes[i].ncold;
    }
    out->slabs = pool.slabs;
    spin_unlock(&pool.lock);
}
