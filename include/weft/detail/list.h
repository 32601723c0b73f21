/*
 * weft/detail/list.h — the link of weft's intrusive lists, embedded in
 * public structs (wait nodes, timers, JoinSet slots). Private: only weft's
 * own code touches the links; the list operations are internal.
 */
#ifndef WEFT_DETAIL_LIST_H
#define WEFT_DETAIL_LIST_H

/** Links of a circular doubly linked intrusive list. Private. */
typedef struct weft_link {
    struct weft_link *prev, *next;
} weft_link;

#endif /* WEFT_DETAIL_LIST_H */
