/*
 * The hierarchical timing wheel (see wheel.h and docs/time.md).
 *
 * Placement. An entry due at `when` goes to the level of the highest bit in
 * which `when` differs from the wheel's time `elapsed`, six bits per level,
 * and to the slot given by `when`'s six bits at that level. So a level-L
 * entry shares every bit above level L with `elapsed`: it is due within the
 * current level-(L+1) slot, and its own level-L slot lies ahead of the one
 * `elapsed` is in. Two consequences carry the whole design:
 *
 *  - The lowest non-empty level holds the earliest slot, so the next slot
 *    to process is one bit scan on one occupancy mask.
 *  - When `elapsed` reaches the start of a level-L slot, its entries differ
 *    from `elapsed` only below level L: re-placing them puts every one at a
 *    finer level (or fires it), at most once per level.
 *
 * Advancing jumps from occupied slot to occupied slot, never walking empty
 * milliseconds, so a jump of hours costs what the entries it passes cost.
 * Entries fire in deadline order (ties in insertion order), because a slot
 * only fires entries due exactly at its start and cascades the rest.
 *
 * The top level also holds entries more than 64^6 ms ahead: their slot
 * index wraps, the level is treated as a ring, and such an entry is
 * re-placed (not fired) each time its slot comes round until it is in range.
 *
 * The current level-0 slot holds the entries that were already due when
 * inserted; it is the first slot the next advance processes.
 *
 * A slot is an intrusive list (util/list.h): appending (FIFO) and
 * unlinking are O(1).
 */
#include <assert.h>

#include "runtime/rt.h"
#include "time/wheel.h"

#define BITS 6 /* log2(WEFT_WHEEL_SLOTS) */
#define TOP (WEFT_WHEEL_LEVELS - 1)
#define SLOT_MASK ((uint64_t)WEFT_WHEEL_SLOTS - 1)

_Static_assert(WEFT_WHEEL_SLOTS == 1 << BITS, "occupancy masks are 64-bit words");

static inline weft_link *slot_head(weft_wheel *w, unsigned idx) {
    return &w->slots[idx / WEFT_WHEEL_SLOTS][idx % WEFT_WHEEL_SLOTS];
}

#define entry_of(l) weft__container_of(l, weft_timer_entry, link)

static void link_tail(weft_wheel *w, weft_timer_entry *e, unsigned idx) {
    e->slot = idx;
    weft__list_push_back(slot_head(w, idx), &e->link);
    w->occupied[idx / WEFT_WHEEL_SLOTS] |= 1ull << (idx % WEFT_WHEEL_SLOTS);
}

static void unlink_entry(weft_wheel *w, weft_timer_entry *e) {
    weft__list_remove(&e->link);
    if (weft__list_empty(slot_head(w, e->slot)))
        w->occupied[e->slot / WEFT_WHEEL_SLOTS] &= ~(1ull << (e->slot % WEFT_WHEEL_SLOTS));
}

static inline unsigned level_for(uint64_t elapsed, uint64_t when) {
    /* OR-ing the slot mask makes "same millisecond" land on level 0. */
    uint64_t diff = (elapsed ^ when) | SLOT_MASK;
    unsigned level = (63u - (unsigned)__builtin_clzll(diff)) / BITS;
    return level > TOP ? TOP : level;
}

/* Links `e` where it belongs relative to the wheel's current time. */
static void place(weft_wheel *w, weft_timer_entry *e) {
    uint64_t when = e->deadline > w->elapsed ? e->deadline : w->elapsed;
    unsigned level = level_for(w->elapsed, when);
    unsigned slot = (unsigned)((when >> (level * BITS)) & SLOT_MASK);
    link_tail(w, e, level * WEFT_WHEEL_SLOTS + slot);
}

/* The next slot to process and the time at which it starts. */
static bool next_expiration(const weft_wheel *w, unsigned *idx, uint64_t *at) {
    for (unsigned level = 0; level < WEFT_WHEEL_LEVELS; level++) {
        uint64_t occ = w->occupied[level];
        if (!occ) continue;
        unsigned shift = level * BITS;
        unsigned cur = (unsigned)((w->elapsed >> shift) & SLOT_MASK);
        /* Scan the ring from the current slot at level 0 (it holds what is
         * due now) and from the one after it elsewhere: a top-level entry
         * in the current slot is a whole turn away, so it comes last. */
        unsigned from = (cur + (level > 0)) & (unsigned)SLOT_MASK;
        uint64_t rot = from ? (occ >> from) | (occ << (64 - from)) : occ;
        unsigned slot = (from + (unsigned)__builtin_ctzll(rot)) & (unsigned)SLOT_MASK;
        uint64_t span = 1ull << (shift + BITS); /* one turn of this level */
        uint64_t start = (w->elapsed & ~(span - 1)) + ((uint64_t)slot << shift);
        if (start < w->elapsed || (start == w->elapsed && level > 0)) {
            /* Only the top level wraps: the slot comes round next turn. */
            assert(level == TOP);
            start = start > UINT64_MAX - span ? UINT64_MAX : start + span;
        }
        *idx = level * WEFT_WHEEL_SLOTS + slot;
        *at = start;
        return true;
    }
    return false;
}

static void fire(weft_wheel *w, weft_timer_entry *e) {
    e->wheel = NULL;
    e->fired = 1;
    w->count--;
    /* Last touch of `e`: once woken, its owner may re-arm or free it. */
    weft_waker_wake(weft_waker_take(&e->waker));
}

static size_t slot_length(weft_wheel *w, unsigned idx) {
    size_t n = 0;
    weft__list_for_each_safe(l, next, slot_head(w, idx)) n++;
    return n;
}

/* Fires or cascades every entry of slot `idx`, whose start is w->elapsed.
 * Entries are unlinked one at a time, so the wheel is consistent whenever
 * a waker runs. */
static size_t process_slot(weft_wheel *w, unsigned idx) {
    /* A top-level entry still out of range goes back to this same slot;
     * counting first keeps us from meeting it again in this pass. */
    size_t todo = idx / WEFT_WHEEL_SLOTS == TOP ? slot_length(w, idx) : SIZE_MAX;
    size_t fired = 0;
    weft_link *head = slot_head(w, idx);
    while (todo-- > 0 && !weft__list_empty(head)) {
        weft_timer_entry *e = entry_of(head->next);
        unlink_entry(w, e);
        if (e->deadline <= w->elapsed) {
            fire(w, e);
            fired++;
        } else {
            assert(idx / WEFT_WHEEL_SLOTS > 0);
            place(w, e);
            assert(e->slot / WEFT_WHEEL_SLOTS < idx / WEFT_WHEEL_SLOTS || e->slot / WEFT_WHEEL_SLOTS == TOP);
        }
    }
    return fired;
}

void weft__wheel_init(weft_wheel *w, uint64_t now_ms) {
    *w = (weft_wheel){0};
    w->elapsed = now_ms;
    for (unsigned l = 0; l < WEFT_WHEEL_LEVELS; l++)
        for (unsigned i = 0; i < WEFT_WHEEL_SLOTS; i++) weft__list_init(&w->slots[l][i]);
}

void weft__wheel_insert(weft_wheel *w, weft_timer_entry *e) {
    assert(e->wheel == NULL && "timer entry inserted while already in a wheel");
    place(w, e);
    e->wheel = w;
    e->fired = 0;
    w->count++;
}

void weft__wheel_remove(weft_wheel *w, weft_timer_entry *e) {
    assert(e->wheel == w && "timer entry removed from a wheel it is not in");
    unlink_entry(w, e);
    e->wheel = NULL;
    w->count--;
}

uint64_t weft__wheel_next_deadline(const weft_wheel *w) {
    unsigned idx;
    uint64_t at;
    return next_expiration(w, &idx, &at) ? at : UINT64_MAX;
}

size_t weft__wheel_advance(weft_wheel *w, uint64_t now_ms) {
    /* Time does not go back; an earlier `now` fires nothing (never early). */
    if (now_ms < w->elapsed) return 0;
    size_t fired = 0;
    unsigned idx;
    uint64_t at;
    while (next_expiration(w, &idx, &at) && at <= now_ms) {
        w->elapsed = at;
        fired += process_slot(w, idx);
    }
    w->elapsed = now_ms;
    w->fired += fired;
    return fired;
}

void weft__wheel_clear(weft_wheel *w) {
    for (unsigned level = 0; level < WEFT_WHEEL_LEVELS; level++) {
        while (w->occupied[level]) {
            unsigned idx = level * WEFT_WHEEL_SLOTS + (unsigned)__builtin_ctzll(w->occupied[level]);
            weft_timer_entry *e = entry_of(slot_head(w, idx)->next);
            unlink_entry(w, e);
            e->wheel = NULL;
            w->count--;
            weft_waker_drop(weft_waker_take(&e->waker));
        }
    }
    if (w->homed > 0 && w->rt && !w->orphaned) {
        weft__runtime_ref(w->rt);
        w->orphaned = true;
    }
}
