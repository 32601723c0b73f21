/* Fiber-style calls: each awaits the future of the same name. */
#include <errno.h>

#include "redis_internal.h"

int weft_fiber_redis_connect(weft_redis **out, const char *addr) {
    if (!out) return -EINVAL;
    *out = NULL;
    weft_redis_connect f;
    int err = weft_await(weft_redis_connect_init(&f, addr));
    if (err < 0) return err;
    *out = f.conn;
    return f.result;
}

int weft_fiber_redis_command(weft_redis *c, redisReply **reply, int argc, const char **argv,
                             const size_t *argvlen) {
    if (reply) *reply = NULL;
    weft_redis_command f;
    int err = weft_await(weft_redis_command_init(&f, c, argc, argv, argvlen));
    if (err < 0) return err;
    if (reply) *reply = f.reply;
    else if (f.reply) freeReplyObject(f.reply);
    return f.result;
}

int weft_fiber_redis_commandf(weft_redis *c, redisReply **reply, const char *fmt, ...) {
    if (reply) *reply = NULL;
    weft_redis_command f;
    va_list ap;
    va_start(ap, fmt);
    weft_redis_vcommandf_init(&f, c, fmt, ap);
    va_end(ap);
    int err = weft_await(&f.base);
    if (err < 0) return err;
    if (reply) *reply = f.reply;
    else if (f.reply) freeReplyObject(f.reply);
    return f.result;
}

int weft_fiber_redis_disconnect(weft_redis *c) {
    weft_redis_disconnect f;
    int err = weft_await(weft_redis_disconnect_init(&f, c));
    return err < 0 ? err : f.result;
}
