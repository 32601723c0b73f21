/* The futures over a connection: connect, command, disconnect. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redis_internal.h"

/* ---- command ------------------------------------------------------------ */

/* Commands whose replies hiredis does not deliver once to one callback:
 * (P)SUBSCRIBE calls it for every message, MONITOR for every line,
 * (P)UNSUBSCRIBE never. They cannot be a one-reply future (subscriptions
 * have their own API). */
static bool refused(const char *name, size_t len) {
    static const char *const names[] = {"subscribe", "psubscribe", "unsubscribe", "punsubscribe",
                                        "monitor"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (len == strlen(names[i]) && strncasecmp(name, names[i], len) == 0) return true;
    return false;
}

/* The command's name: argv[0], or the first bulk string of a formatted
 * command ("*N\r\n$len\r\nNAME\r\n..."). */
static bool refused_command(const weft_redis_command *f) {
    if (!f->cmd) return refused(f->argv[0], f->argvlen ? f->argvlen[0] : strlen(f->argv[0]));
    const char *p = strchr(f->cmd, '$');
    if (!p) return false;
    size_t len = strtoul(p + 1, NULL, 10);
    const char *name = strchr(p, '\n');
    return name && refused(name + 1, len);
}

/* Sends the command (lock held). Returns 0 or -errno. */
static int send_command(weft_redis_command *f, weft_redis *c, weft_context *cx) {
    if (c->close_requested) return -EBADF;
    if (!c->ac) return c->error ? c->error : -ENOTCONN;
    if (c->disconnect_requested) return -ENOTCONN;
    struct weft__redis_op *op = calloc(1, sizeof *op);
    if (!op) return -ENOMEM;
    int rc;
    if (f->cmd) {
        rc = redisAsyncFormattedCommand(c->ac, weft__redis_on_reply, op, f->cmd, (size_t)f->cmdlen);
    } else {
        size_t lens[64];
        size_t *lp = NULL;
        if (!f->argvlen) { /* NUL-terminated arguments */
            lp = f->argc <= 64 ? lens : malloc(sizeof *lp * (size_t)f->argc);
            if (!lp) {
                free(op);
                return -ENOMEM;
            }
            for (int i = 0; i < f->argc; i++) lp[i] = strlen(f->argv[i]);
        }
        rc = redisAsyncCommandArgv(c->ac, weft__redis_on_reply, op, f->argc, f->argv,
                                   f->argvlen ? f->argvlen : lp);
        if (lp && lp != lens) free(lp);
    }
    if (rc != REDIS_OK) {
        free(op);
        return -EINVAL;
    }
    op->waker = weft_waker_clone(&cx->waker);
    f->op = op;
    return 0;
}

static weft_poll command_poll(weft_future *base, weft_context *cx) {
    weft_redis_command *f = (weft_redis_command *)base;
    weft_redis *c = f->conn;
    if (!f->op) {
        int err = !c ? -EINVAL : f->cmdlen < 0 ? f->cmdlen : (!f->cmd && (f->argc <= 0 || !f->argv)) ? -EINVAL : 0;
        if (err == 0 && refused_command(f)) err = -EINVAL;
        if (err == 0) {
            if (!weft_coop_spend(cx)) return WEFT_PENDING;
            pthread_mutex_lock(&c->lock);
            err = send_command(f, c, cx);
            pthread_mutex_unlock(&c->lock);
        }
        free(f->cmd);
        f->cmd = NULL;
        if (err < 0) {
            f->result = err;
            return WEFT_READY;
        }
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
        return WEFT_PENDING;
    }
    pthread_mutex_lock(&c->lock);
    struct weft__redis_op *op = f->op;
    bool done = op->done;
    if (done) {
        f->reply = op->reply;
        f->result = op->result;
    } else {
        weft_waker_store(&op->waker, &cx->waker);
    }
    pthread_mutex_unlock(&c->lock);
    if (!done) return WEFT_PENDING;
    free(op);
    f->op = NULL;
    weft__redis_unref(c);
    return WEFT_READY;
}

static void command_drop(weft_future *base) {
    weft_redis_command *f = (weft_redis_command *)base;
    free(f->cmd);
    f->cmd = NULL;
    struct weft__redis_op *op = f->op;
    if (!op) return;
    weft_redis *c = f->conn;
    pthread_mutex_lock(&c->lock);
    bool done = op->done;
    weft_waker w = weft_waker_take(&op->waker);
    if (!done) op->dropped = true; /* the callback frees it and the reply */
    pthread_mutex_unlock(&c->lock);
    weft_waker_drop(w);
    if (done) {
        if (op->reply) freeReplyObject(op->reply);
        free(op);
    }
    f->op = NULL;
    weft__redis_unref(c);
}

static const weft_future_vtable command_vtable = {command_poll, command_drop, "weft_redis_command"};

static void command_init(weft_redis_command *f, weft_redis *c) {
    weft_future_init(&f->base, &command_vtable);
    f->conn = c;
    f->argc = 0;
    f->argv = NULL;
    f->argvlen = NULL;
    f->cmd = NULL;
    f->cmdlen = 0;
    f->op = NULL;
    f->reply = NULL;
    f->result = 0;
}

weft_future *weft_redis_command_init(weft_redis_command *f, weft_redis *c, int argc,
                                     const char **argv, const size_t *argvlen) {
    command_init(f, c);
    f->argc = argc;
    f->argv = argv;
    f->argvlen = argvlen;
    return &f->base;
}

weft_future *weft_redis_vcommandf_init(weft_redis_command *f, weft_redis *c, const char *fmt,
                                       va_list ap) {
    command_init(f, c);
    char *cmd = NULL;
    int len = fmt ? redisvFormatCommand(&cmd, fmt, ap) : -1;
    if (len == -2) f->cmdlen = -ENOMEM;
    else if (len < 0) f->cmdlen = -EINVAL;
    else {
        f->cmd = cmd;
        f->cmdlen = len;
    }
    return &f->base;
}

weft_future *weft_redis_commandf_init(weft_redis_command *f, weft_redis *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    weft_future *r = weft_redis_vcommandf_init(f, c, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- connect ------------------------------------------------------------ */

enum { CONNECT_START, CONNECT_RESOLVE, CONNECT_WAIT };

/* Creates the context and attaches it (stage RESOLVE done or unix). */
static int connect_attach(weft_redis_connect *f, weft_context *cx, redisAsyncContext *ac) {
    if (!ac) return -ENOMEM;
    if (ac->err) {
        int err = weft__redis_map_error(ac->c.err, ac->c.errstr);
        redisAsyncFree(ac);
        return err ? err : -EIO;
    }
    int err = weft_redis_attach(&f->conn, cx->runtime, ac);
    if (err < 0) redisAsyncFree(ac);
    return err;
}

static weft_poll connect_poll(weft_future *base, weft_context *cx) {
    weft_redis_connect *f = (weft_redis_connect *)base;
    int err = 0;
    switch (f->stage) {
    case CONNECT_START:
        if (!f->addr[0]) {
            f->result = -EINVAL;
            return WEFT_READY;
        }
        if (!cx->runtime) {
            f->result = -EINVAL;
            return WEFT_READY;
        }
        if (strncmp(f->addr, "unix:", 5) == 0) {
            err = connect_attach(f, cx, redisAsyncConnectUnix(f->addr + 5));
            if (err < 0) break;
            f->stage = CONNECT_WAIT;
            goto wait;
        }
        weft_resolve_init(&f->resolve, f->addr, &f->sa, 1);
        f->stage = CONNECT_RESOLVE;
        /* fall through */
    case CONNECT_RESOLVE: {
        if (weft_future_poll(&f->resolve.base, cx) == WEFT_PENDING) return WEFT_PENDING;
        if (f->resolve.result < 0) {
            err = f->resolve.result;
            break;
        }
        if (f->resolve.result == 0) {
            err = -WEFT_ENOADDRESS;
            break;
        }
        char ip[INET6_ADDRSTRLEN];
        const void *a = f->sa.u.sa.sa_family == AF_INET6 ? (const void *)&f->sa.u.in6.sin6_addr
                                                         : (const void *)&f->sa.u.in4.sin_addr;
        inet_ntop(f->sa.u.sa.sa_family, a, ip, sizeof ip);
        err = connect_attach(f, cx, redisAsyncConnect(ip, weft_sockaddr_port(&f->sa)));
        if (err < 0) break;
        f->stage = CONNECT_WAIT;
    }
        /* fall through */
    case CONNECT_WAIT:
    wait: {
        weft_redis *c = f->conn;
        pthread_mutex_lock(&c->lock);
        int state = c->state;
        err = c->error;
        if (state == WEFT__REDIS_CONNECTING && !err) weft_waker_store(&c->state_waiter, &cx->waker);
        pthread_mutex_unlock(&c->lock);
        if (state == WEFT__REDIS_CONNECTED && !err) {
            f->result = 0;
            return WEFT_READY;
        }
        if (state == WEFT__REDIS_CONNECTING && !err) return WEFT_PENDING;
        if (!err) err = -ECONNRESET;
        weft_redis_close(c);
        f->conn = NULL;
        break;
    }
    }
    f->conn = NULL;
    f->result = err;
    return WEFT_READY;
}

static void connect_drop(weft_future *base) {
    weft_redis_connect *f = (weft_redis_connect *)base;
    if (f->stage == CONNECT_RESOLVE) weft_future_drop(&f->resolve.base);
    if (f->stage == CONNECT_WAIT && f->conn) {
        weft_redis_close(f->conn);
        f->conn = NULL;
    }
}

static const weft_future_vtable connect_vtable = {connect_poll, connect_drop, "weft_redis_connect"};

weft_future *weft_redis_connect_init(weft_redis_connect *f, const char *addr) {
    weft_future_init(&f->base, &connect_vtable);
    f->addr[0] = 0;
    if (addr && strlen(addr) < sizeof f->addr) strcpy(f->addr, addr);
    f->stage = CONNECT_START;
    f->conn = NULL;
    f->result = 0;
    return &f->base;
}

/* ---- disconnect --------------------------------------------------------- */

static weft_poll disconnect_poll(weft_future *base, weft_context *cx) {
    weft_redis_disconnect *f = (weft_redis_disconnect *)base;
    weft_redis *c = f->conn;
    if (!c) {
        f->result = -EINVAL;
        return WEFT_READY;
    }
    pthread_mutex_lock(&c->lock);
    if (!f->sent) {
        f->sent = true;
        c->disconnect_requested = true;
        weft_waker_wake_by_ref(&c->driver);
    }
    bool done = c->ac == NULL;
    int err = c->error;
    if (!done) weft_waker_store(&c->state_waiter, &cx->waker);
    pthread_mutex_unlock(&c->lock);
    if (!done) return WEFT_PENDING;
    f->result = err;
    return WEFT_READY;
}

static const weft_future_vtable disconnect_vtable = {disconnect_poll, NULL, "weft_redis_disconnect"};

weft_future *weft_redis_disconnect_init(weft_redis_disconnect *f, weft_redis *c) {
    weft_future_init(&f->base, &disconnect_vtable);
    f->conn = c;
    f->sent = false;
    f->result = 0;
    return &f->base;
}
