/*
 * The service's handler: one fiber per request, straight-line code. Each
 * Redis call suspends the fiber (not the thread) until its reply; calls
 * from many requests at once share one connection and leave in one write.
 */
#include "items.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "weft.h"

static void send_json(weft_http_response *res, int status, const char *json, size_t len) {
    weft_http_response_send(res, status, "application/json", json, len);
}

static void send_error(weft_http_response *res, int status, const char *msg) {
    char body[160];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", msg);
    send_json(res, status, body, (size_t)n);
}

static void method_not_allowed(weft_http_response *res, const char *allow) {
    weft_http_response_add_header(res, "Allow", allow);
    send_error(res, 405, "method not allowed");
}

/* Runs a command (argv strings with lengths, binary-safe). Returns the
 * reply (free it), or NULL after answering 503: Redis is gone, or refused
 * the command. */
static redisReply *redis(items_store *st, weft_http_response *res, int argc, const char **argv,
                         const size_t *lens) {
    redisReply *r = NULL;
    int e = weft_fiber_redis_command(st->redis, &r, argc, argv, lens);
    if (e < 0 || !r || r->type == REDIS_REPLY_ERROR) {
        if (e == -ECANCELED) return NULL; /* the server is cancelling us: answer nothing */
        fprintf(stderr, "service: redis %s: %s\n", argv[0],
                e < 0 ? weft_strerror(e) : r ? r->str : "no reply");
        if (r) freeReplyObject(r);
        send_error(res, 503, "store unavailable");
        return NULL;
    }
    return r;
}

static bool valid_id(const char *id) {
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '-' || ch == '_' || ch == '.';
        if (!ok) return false;
    }
    return n >= 1 && n <= 64;
}

static void get_item(items_store *st, const char *id, weft_http_response *res) {
    redisReply *r = redis(st, res, 3, (const char *[]){"HGET", st->hash, id}, NULL);
    if (!r) return;
    if (r->type == REDIS_REPLY_STRING) send_json(res, 200, r->str, r->len);
    else send_error(res, 404, "not found");
    freeReplyObject(r);
}

static void put_item(items_store *st, weft_http_request *req, const char *id,
                     weft_http_response *res) {
    char *body = NULL;
    ssize_t n = weft_http_fiber_read_body(req->body, &body, ITEMS_MAX_BODY);
    if (n == -EFBIG) {
        send_error(res, 413, "item too large");
        return;
    }
    if (n < 0) return; /* the server answers 400 or 408 for a body that broke off */
    if (!json_is_object(body, (size_t)n)) {
        free(body);
        send_error(res, 400, "the body must be a JSON object");
        return;
    }
    const char *argv[] = {"HSET", st->hash, id, body};
    const size_t lens[] = {4, strlen(st->hash), strlen(id), (size_t)n};
    redisReply *r = redis(st, res, 4, argv, lens);
    if (r) {
        /* HSET counts the fields it added: 1 for a new item, 0 for a replaced one. */
        bool created = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        if (created) {
            char loc[96];
            snprintf(loc, sizeof loc, "/items/%s", id);
            weft_http_response_add_header(res, "Location", loc);
        }
        send_json(res, created ? 201 : 200, body, (size_t)n);
        freeReplyObject(r);
    }
    free(body);
}

static void delete_item(items_store *st, const char *id, weft_http_response *res) {
    redisReply *r = redis(st, res, 3, (const char *[]){"HDEL", st->hash, id}, NULL);
    if (!r) return;
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) weft_http_response_send(res, 204, NULL, "", 0);
    else send_error(res, 404, "not found");
    freeReplyObject(r);
}

/* Every item, as one object: the ids are plain (checked on the way in) and
 * the items are JSON already, so they are pasted in as they are. Fields
 * that someone else put in the hash are left out unless they look the
 * same. */
static void list_items(items_store *st, weft_http_response *res) {
    redisReply *r = redis(st, res, 2, (const char *[]){"HGETALL", st->hash}, NULL);
    if (!r) return;
    size_t cap = 3;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        cap += r->element[i]->len + r->element[i + 1]->len + 4;
    char *out = malloc(cap);
    if (!out) {
        freeReplyObject(r);
        send_error(res, 500, "out of memory");
        return;
    }
    size_t len = 0;
    out[len++] = '{';
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        if (!valid_id(r->element[i]->str) ||
            !json_is_object(r->element[i + 1]->str, r->element[i + 1]->len))
            continue;
        if (len > 1) out[len++] = ',';
        len += (size_t)sprintf(out + len, "\"%s\":", r->element[i]->str);
        memcpy(out + len, r->element[i + 1]->str, r->element[i + 1]->len);
        len += r->element[i + 1]->len;
    }
    out[len++] = '}';
    out[len++] = '\n';
    send_json(res, 200, out, len);
    free(out);
    freeReplyObject(r);
}

static void health(items_store *st, weft_http_response *res) {
    redisReply *r = redis(st, res, 1, (const char *[]){"PING"}, NULL);
    if (!r) return;
    send_json(res, 200, "{\"status\":\"ok\"}\n", 16);
    freeReplyObject(r);
}

void items_handle(weft_http_request *req, weft_http_response *res) {
    items_store *st = req->user;
    const char *m = req->method;
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0; /* the server sends HEAD no body */
    if (strcmp(req->path, "/health") == 0) {
        if (get) health(st, res);
        else method_not_allowed(res, "GET, HEAD");
    } else if (strcmp(req->path, "/items") == 0) {
        if (get) list_items(st, res);
        else method_not_allowed(res, "GET, HEAD");
    } else if (strncmp(req->path, "/items/", 7) == 0) {
        const char *id = req->path + 7;
        if (!valid_id(id)) send_error(res, 400, "an id is 1 to 64 of A-Z a-z 0-9 - _ .");
        else if (get) get_item(st, id, res);
        else if (strcmp(m, "PUT") == 0) put_item(st, req, id, res);
        else if (strcmp(m, "DELETE") == 0) delete_item(st, id, res);
        else method_not_allowed(res, "GET, HEAD, PUT, DELETE");
    } else {
        send_error(res, 404, "not found");
    }
}
