/*
 * items.h — the service's HTTP API: JSON items kept in one Redis hash.
 *
 *   GET    /items          every item: {"<id>": <item>, ...}
 *   GET    /items/<id>     the item (200), or 404
 *   PUT    /items/<id>     stores the body, a JSON object: 201 (new) or 200 (replaced); 400 if not JSON
 *   DELETE /items/<id>     204, or 404
 *   GET    /health         200 when Redis answers, 503 when it does not
 *
 * An <id> is 1 to 64 letters, digits, '-', '_' or '.'. Errors are JSON:
 * {"error": "..."}. When Redis fails the answer is 503.
 */
#ifndef SERVICE_ITEMS_H
#define SERVICE_ITEMS_H

#include "weft/http.h"
#include "weft/redis.h"

/* What the handler needs (weft_http_handler.user). Shared by every
 * connection, on any thread: the Redis connection is safe to share. */
typedef struct items_store {
    weft_redis *redis; /* one connection: concurrent commands are pipelined on it */
    const char *hash;  /* the Redis key of the hash that holds the items */
} items_store;

/* The largest item accepted (bigger bodies get 413). */
#define ITEMS_MAX_BODY (64 * 1024)

/* The handler: runs on a fiber per request (weft_http_handler.fiber). */
void items_handle(weft_http_request *req, weft_http_response *res);

#endif
