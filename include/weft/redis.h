/**
 * @file
 * weft/redis.h — hiredis's asynchronous API driven by a weft runtime
 * (libweft-redis, pkg-config weft-redis, CMake weft::redis): connections
 * and commands as weft futures.
 *
 *     weft_redis_connect c;               // in a coroutine's struct
 *     WEFT_AWAIT(weft_redis_connect_init(&self->c, "127.0.0.1:6379"));
 *     if (self->c.result < 0) ...         // -ECONNREFUSED, -WEFT_ENOTFOUND, ...
 *     self->conn = self->c.conn;
 *     WEFT_AWAIT(weft_redis_commandf_init(&self->cmd, self->conn, "GET %s", key));
 *     ... self->cmd.reply ...              // a redisReply *: yours, freeReplyObject it
 *     weft_redis_close(self->conn);
 *
 * How it works: attaching a redisAsyncContext to a runtime spawns one
 * small task on it, the connection's driver, which alone calls hiredis's
 * read and write handlers: it waits for the socket's readiness through a
 * weft_async_fd, and hiredis's callbacks complete the command futures.
 * Commands may be sent from any task on any thread: every call into
 * hiredis is made under the connection's lock, so one connection can be
 * shared by many tasks of both runtimes, and commands sent together are
 * pipelined (written in one go, answered in order). Subscriptions
 * (SUBSCRIBE, PSUBSCRIBE) are streams of messages: weft_redis_subscribe.
 *
 * Errors are negative errno values: -ECONNREFUSED and the other connect
 * errors, -ECONNRESET when the server closed the connection (or died),
 * -EPROTO for a protocol error, -ENOTCONN after weft_redis_disconnect,
 * -EBADF after weft_redis_close, -ESHUTDOWN once the runtime is
 * destroyed, -ENOMEM. weft_redis_errstr gives hiredis's own text. A
 * reply that carries the server's error (type REDIS_REPLY_ERROR) is a
 * reply: the command's `result` is 0.
 *
 * Needs hiredis's default reply objects (redisReply, freed with
 * freeReplyObject): a context with a custom reader is refused.
 */
#ifndef WEFT_REDIS_H
#define WEFT_REDIS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "future.h"
#include "net.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup redis Redis (hiredis adapter)
 * @{ */

/** A Redis connection driven by a weft runtime (opaque). */
typedef struct weft_redis weft_redis;

/** A command sent and awaiting its reply (private). */
struct weft__redis_op;

/**
 * Attaches `ac` (fresh from redisAsyncConnect or redisAsyncConnectUnix,
 * with no event library attached and no connect callback set) to `rt`:
 * spawns the connection's driver task on `rt`, which completes the
 * connection and then every command. On success the context is the
 * connection's (it frees it; do not call redisAsyncFree, and do not use
 * `ac` directly any more) and `*out` is the connection; end it with
 * weft_redis_close. Returns 0, -EINVAL (NULL argument, a context already
 * attached or with a connect callback, a custom reply reader), -EIO (the
 * context already failed: ac->err), -ENOMEM or -ESHUTDOWN; on failure
 * `ac` stays the caller's. Any thread (one outside the runtime must hold
 * a reference to it).
 */
WEFT_API int weft_redis_attach(weft_redis **out, weft_runtime *rt, redisAsyncContext *ac);

/**
 * Closes the connection and releases the caller's handle: the driver
 * frees hiredis's context at its next turn, every command still waiting
 * completes with -EBADF, and the handle must not be used again. NULL does
 * nothing. Any thread; never waits.
 */
WEFT_API void weft_redis_close(weft_redis *c);

/** True while the connection is established (connected and not yet
 *  disconnected, failed or closed). Any thread; may be stale. */
WEFT_API bool weft_redis_is_connected(weft_redis *c);

/**
 * Copies hiredis's text for the connection's failure ("Connection
 * refused", "Server closed the connection", ...) into `buf` (at most `cap`
 * bytes, NUL-terminated; empty while nothing failed). Returns the
 * connection's error (0 while it works, else the -errno commands now
 * get). Any thread.
 */
WEFT_API int weft_redis_errstr(weft_redis *c, char *buf, size_t cap);

/**
 * Connects to a Redis server: "host:port" (a name or an address; names
 * are looked up on the runtime's blocking pool, never on a runtime
 * thread) or "unix:/path/to/socket". Output: `result` 0 with `conn` the
 * connected handle (yours: weft_redis_close it), or -errno
 * (-ECONNREFUSED, -WEFT_ENOTFOUND, -EINVAL for a malformed address, ...)
 * with `conn` NULL. Dropping it before it is ready closes the half-made
 * connection (so a weft_timeout around it bounds the connect). Polled on
 * a runtime thread; it spawns the driver on the polling runtime.
 */
typedef struct weft_redis_connect {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    char addr[300];      /**< @private */
    int stage;           /**< @private */
    weft_resolve resolve; /**< @private */
    weft_sockaddr sa;    /**< @private */
    weft_redis *conn;    /**< output: the connection (on success) */
    int result;          /**< output: 0 or -errno */
} weft_redis_connect;

/** Initialises a connect to `addr` (copied; -EINVAL at the first poll if
 *  it is too long or NULL). Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_redis_connect_init(weft_redis_connect *f, const char *addr);

/**
 * Sends a command and waits for its reply. Output: `result` 0 with
 * `reply` the server's reply (yours: free it with freeReplyObject; an
 * error reply is a reply, of type REDIS_REPLY_ERROR), or -errno with
 * `reply` NULL: the connection failed or was closed before the reply came
 * (every command waiting then completes so), -ENOTCONN after a
 * disconnect, -EINVAL for a command hiredis refuses and for (P)SUBSCRIBE,
 * (P)UNSUBSCRIBE and MONITOR, whose replies are not one reply
 * (weft_redis_subscribe is for subscriptions), -ENOMEM.
 *
 * The command is sent at the first poll (the argument strings are copied
 * then). Cancel-safe in this sense: dropping it before its first poll
 * sends nothing; dropping it later does not unsend the command — the
 * server still runs it — but its reply is discarded when it comes, and
 * the connection stays usable for every other command.
 * Polled on a runtime thread of the connection's runtime or of another:
 * any number of command futures of any tasks may wait on one connection.
 */
typedef struct weft_redis_command {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_redis *conn;          /**< @private */
    int argc;                  /**< @private */
    const char **argv;         /**< @private */
    const size_t *argvlen;     /**< @private */
    char *cmd;                 /**< @private formatted by commandf */
    int cmdlen;                /**< @private length, or -errno of the formatting */
    struct weft__redis_op *op; /**< @private */
    redisReply *reply;         /**< output: the reply, yours to free */
    int result;                /**< output: 0 or -errno */
} weft_redis_command;

/**
 * Initialises a command from `argc` arguments (`argvlen[i]` bytes each, or
 * NUL-terminated strings if `argvlen` is NULL), binary-safe. The arrays
 * and strings must live until the first poll. Does no work. Returns
 * `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_redis_command_init(weft_redis_command *f, weft_redis *c, int argc,
                                              const char **argv, const size_t *argvlen);

/**
 * Initialises a command from a hiredis format ("SET %s %b", ...; see
 * redisCommand). The command is formatted here, at once (the arguments
 * are not kept); a bad format or no memory makes the first poll ready
 * with -EINVAL or -ENOMEM. Returns `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_redis_commandf_init(weft_redis_command *f, weft_redis *c,
                                               const char *fmt, ...);

/** weft_redis_commandf_init with a va_list. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_redis_vcommandf_init(weft_redis_command *f, weft_redis *c,
                                                const char *fmt, va_list ap);

/**
 * Disconnects cleanly: no new command is accepted (-ENOTCONN), the
 * replies of those already sent are awaited and delivered, then the
 * socket is closed. Output `result`: 0, or the connection's error if it
 * had failed. The handle must still be closed with weft_redis_close.
 * Dropping it does not stop the disconnect. One task at a time may await
 * a connection's connect or disconnect. Polled on a runtime thread.
 */
typedef struct weft_redis_disconnect {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_redis *conn; /**< @private */
    bool sent;        /**< @private */
    int result;       /**< output: 0 or -errno */
} weft_redis_disconnect;

/** Initialises a disconnect of `c`. Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_redis_disconnect_init(weft_redis_disconnect *f, weft_redis *c);

/* ---- pub/sub ------------------------------------------------------------ */

/** A subscription: the messages of some channels or patterns (opaque). */
typedef struct weft_redis_sub weft_redis_sub;

/**
 * Subscribes `c` to `n` channels (SUBSCRIBE), or to `n` patterns
 * (PSUBSCRIBE) if `pattern`, and returns the subscription, a stream of
 * what the server pushes for them (read it with weft_redis_sub_next).
 * Sent at once; the server's "subscribe" confirmations come first in the
 * stream. A subscribed connection takes no other command (Redis refuses
 * them): use a connection of its own for subscriptions. A channel must
 * not be in two subscriptions of one connection. Returns 0, -EINVAL,
 * -ENOMEM, or the connection's error (-ECONNRESET, -ENOTCONN, -EBADF).
 * Any thread.
 */
WEFT_API int weft_redis_subscribe(weft_redis_sub **out, weft_redis *c, int n,
                                  const char **channels, bool pattern);

/**
 * Unsubscribes (UNSUBSCRIBE or PUNSUBSCRIBE of its channels) and releases
 * the handle: messages not read yet, and those still on their way, are
 * freed. No weft_redis_sub_next may be waiting on it. NULL does nothing.
 * Any thread; never waits.
 */
WEFT_API void weft_redis_sub_close(weft_redis_sub *s);

/**
 * The next reply the server pushed for the subscription: an array
 * ["message", channel, payload], ["pmessage", pattern, channel, payload],
 * or a confirmation ["subscribe" | "psubscribe" | "unsubscribe" |
 * "punsubscribe", name, count]. Output: `result` 0 with `reply` (yours:
 * freeReplyObject), or -errno once the connection ended (-ECONNRESET,
 * -EBADF, -ESHUTDOWN, ...) and every message received before was read.
 * Cancel-safe: a dropped future takes nothing; messages wait in the
 * subscription, in order. One task at a time reads a subscription.
 * Polled on a runtime thread.
 */
typedef struct weft_redis_sub_next {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_redis_sub *sub; /**< @private */
    redisReply *reply;   /**< output: the message, yours */
    int result;          /**< output: 0 or -errno */
} weft_redis_sub_next;

/** Initialises a read of the next message of `s`. Does no work. Returns
 *  `&f->base`. Any thread. */
WEFT_API weft_future *weft_redis_sub_next_init(weft_redis_sub_next *f, weft_redis_sub *s);

/* ---- fiber-style calls: weft_await over the futures above (weft/fiber.h).
 * Each suspends the calling fiber, never the thread, and returns what the
 * future's `result` says, or -ECANCELED (the fiber was cancelled: the
 * future was dropped, with its documented cancel-safety) or -EPERM (not
 * in a fiber). Fiber only. */

/** Connects (weft_redis_connect): 0 and `*out`, or -errno. */
WEFT_API int weft_fiber_redis_connect(weft_redis **out, const char *addr);

/** Sends a command (weft_redis_command_init's arguments) and waits for
 *  its reply: 0 and `*reply` (yours), or -errno. */
WEFT_API int weft_fiber_redis_command(weft_redis *c, redisReply **reply, int argc,
                                      const char **argv, const size_t *argvlen);

/** Sends a formatted command (weft_redis_commandf_init): 0 and `*reply`
 *  (yours), or -errno. */
WEFT_API int weft_fiber_redis_commandf(weft_redis *c, redisReply **reply, const char *fmt, ...);

/** Disconnects cleanly (weft_redis_disconnect): 0 or -errno. */
WEFT_API int weft_fiber_redis_disconnect(weft_redis *c);

/** Reads the next message of a subscription (weft_redis_sub_next): 0 and
 *  `*reply` (yours), or -errno. */
WEFT_API int weft_fiber_redis_sub_next(weft_redis_sub *s, redisReply **reply);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_REDIS_H */
