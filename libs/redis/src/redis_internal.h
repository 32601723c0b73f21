/* The connection shared by the handle, its driver task and the command
 * futures. Everything below `lock` is guarded by it; hiredis is only
 * ever called with it held. */
#ifndef WEFT_REDIS_INTERNAL_H
#define WEFT_REDIS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "weft.h"
#include "weft/redis.h"

enum {
    WEFT__REDIS_CONNECTING = 0,
    WEFT__REDIS_CONNECTED = 1,
    WEFT__REDIS_CLOSED = 2, /* hiredis's context is freed */
};

struct weft_redis {
    atomic_int refs; /* the handle, the driver task, each command in flight */
    pthread_mutex_t lock;
    redisAsyncContext *ac; /* NULL once freed */
    weft_async_fd afd;
    int state;
    int error;        /* what commands get now: 0 while it works */
    char errstr[128]; /* hiredis's text for the failure */
    bool want_read, want_write;
    bool close_requested, disconnect_requested, disconnect_sent;
    bool attaching;       /* the driver was spawned, the context not handed over yet */
    bool in_driver;       /* the driver is inside hiredis: hooks need not wake it */
    weft_waker driver;    /* the driver task's waker */
    weft_waker state_waiter; /* a connect or disconnect future */
    /* The driver's readiness waits (it alone polls them). */
    weft_async_fd_ready rd, wr;
    bool rd_active, wr_active; /* initialised and pending */
    bool rd_seen, wr_seen;     /* readiness observed, not cleared yet */
    weft_io_ready rd_obs, wr_obs;
};

/* A command whose reply hiredis will deliver: hiredis holds it (as the
 * callback's privdata) until the reply or the context's end, so it
 * outlives a dropped future. Guarded by the connection's lock. */
struct weft__redis_op {
    redisReply *reply;
    int result;
    bool done;    /* reply or error stored */
    bool dropped; /* its future is gone: the reply is discarded */
    weft_waker waker;
};

void weft__redis_unref(weft_redis *c);
/* Maps hiredis's error (type and text) to -errno. */
int weft__redis_map_error(int type, const char *errstr);
/* Keeps hiredis from freeing `reply` when the running callback returns:
 * it is handed to the caller. */
void weft__redis_take_reply(void *reply);
/* Records why the context ends (its error), unless something already did. */
void weft__redis_context_ended(weft_redis *c, const redisAsyncContext *ac);
/* The reply callback of every command. */
void weft__redis_on_reply(redisAsyncContext *ac, void *reply, void *privdata);

#endif
