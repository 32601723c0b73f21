/* An intrusive FIFO of tasks linked through weft_task.queue_next. Not
 * thread-safe: each queue has one owner or an external lock. A task is in
 * at most one queue at a time (the NOTIFIED bit guarantees it). */
#ifndef WEFT_SCHED_TASK_QUEUE_H
#define WEFT_SCHED_TASK_QUEUE_H

#include <stddef.h>

#include "task/task.h"

typedef struct weft_task_queue {
    weft_task *head, *tail;
} weft_task_queue;

static inline void task_queue_init(weft_task_queue *q) { q->head = q->tail = NULL; }

static inline bool task_queue_empty(const weft_task_queue *q) { return q->head == NULL; }

static inline void task_queue_push(weft_task_queue *q, weft_task *t) {
    t->queue_next = NULL;
    if (q->tail) q->tail->queue_next = t;
    else q->head = t;
    q->tail = t;
}

static inline weft_task *task_queue_pop(weft_task_queue *q) {
    weft_task *t = q->head;
    if (t) {
        q->head = t->queue_next;
        if (!q->head) q->tail = NULL;
    }
    return t;
}

/* Moves every task of `from` to the back of `q`. */
static inline void task_queue_append(weft_task_queue *q, weft_task_queue *from) {
    if (!from->head) return;
    if (q->tail) q->tail->queue_next = from->head;
    else q->head = from->head;
    q->tail = from->tail;
    from->head = from->tail = NULL;
}

#endif
