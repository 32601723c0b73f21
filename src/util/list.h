/*
 * The intrusive list every part of weft uses: circular, doubly linked,
 * with a sentinel (the list head is itself a weft_link), so insert and
 * remove are O(1) and branch-free. Not thread-safe: the owner of the list
 * provides the lock. An unlinked node has NULL links, so "is it linked?"
 * needs no flag.
 */
#ifndef WEFT_UTIL_LIST_H
#define WEFT_UTIL_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "weft/detail/list.h"

/* The struct of type `type` whose member `member` is the link `l`. */
#define weft__container_of(l, type, member) ((type *)((char *)(l) - offsetof(type, member)))

static inline void weft__list_init(weft_link *head) { head->prev = head->next = head; }
static inline void weft__link_clear(weft_link *n) { n->prev = n->next = NULL; }
static inline bool weft__list_empty(const weft_link *head) { return head->next == head; }
static inline bool weft__link_is_linked(const weft_link *n) { return n->next != NULL; }

/* Inserts `n` before `pos` (at the back when `pos` is the head). */
static inline void weft__list_insert_before(weft_link *pos, weft_link *n) {
    n->prev = pos->prev;
    n->next = pos;
    pos->prev->next = n;
    pos->prev = n;
}

static inline void weft__list_push_back(weft_link *head, weft_link *n) { weft__list_insert_before(head, n); }
static inline void weft__list_push_front(weft_link *head, weft_link *n) { weft__list_insert_before(head->next, n); }

/* Unlinks `n` and clears its links. */
static inline void weft__list_remove(weft_link *n) {
    n->prev->next = n->next;
    n->next->prev = n->prev;
    weft__link_clear(n);
}

/* Unlinks and returns the first node, or NULL when empty. */
static inline weft_link *weft__list_pop_front(weft_link *head) {
    if (weft__list_empty(head)) return NULL;
    weft_link *n = head->next;
    weft__list_remove(n);
    return n;
}

/* Moves every node of `src` to the back of `dst`; `src` becomes empty. */
static inline void weft__list_splice_back(weft_link *dst, weft_link *src) {
    if (weft__list_empty(src)) return;
    src->next->prev = dst->prev;
    src->prev->next = dst;
    dst->prev->next = src->next;
    dst->prev = src->prev;
    weft__list_init(src);
}

/* Iterates over the nodes of `head`; `it` may be removed inside the loop
 * (the next node is read before the body runs). */
#define weft__list_for_each_safe(it, tmp, head) \
    for (weft_link *it = (head)->next, *tmp = it->next; it != (head); it = tmp, tmp = it->next)

#endif
