/* A CURLM driven by a weft runtime: shared by the handle, its driver task
 * and the transfer futures. Everything below `lock` is guarded by it, and
 * the CURLM is only called with it held. */
#ifndef WEFT_CURL_INTERNAL_H
#define WEFT_CURL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "weft.h"
#include "weft/curl.h"

struct weft_curl {
    atomic_int refs; /* the handle, the driver task, each running transfer */
    pthread_mutex_t lock;
    CURLM *multi;     /* NULL once freed */
    int epfd;         /* the epoll set of curl's sockets (level-triggered) */
    weft_async_fd afd; /* epfd, registered with the runtime's reactor */
    int error;        /* what new transfers get: 0, -EBADF, -ESHUTDOWN */
    bool destroyed;
    bool in_driver;
    int running;
    /* curl's timeout: none, or a weft_clock_ms deadline. */
    bool timer_set;
    uint64_t timer_deadline;
    weft_waker driver;
    weft_curl_perform *head; /* the transfers added to the multi handle */
    /* The driver's waits (it alone polls them). */
    weft_async_fd_ready ready;
    bool ready_active;
    weft_sleep sleep;
    bool sleep_active;
};

void weft__curl_unref(weft_curl *m);
/* Unlinks a transfer and gives the easy handle back (lock held). */
void weft__curl_detach(weft_curl *m, weft_curl_perform *f);
/* Completes every running transfer with `err` (lock held). */
void weft__curl_fail_all(weft_curl *m, int err);

#endif
