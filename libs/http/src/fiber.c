/* The fiber-style calls: weft_await over the futures of the same name. */
#include <errno.h>

#include "server.h"

WEFT_API int weft_http_fiber_fetch(weft_http_client *c, const weft_http_client_request *req,
                                   weft_http_client_response *out) {
    if (!out) return -EINVAL;
    weft_http_fetch f;
    int r = weft_await(weft_http_fetch_init(&f, c, req));
    if (r) return r;
    if (f.result == 0) *out = f.response;
    return f.result;
}

WEFT_API ssize_t weft_http_fiber_read_body(weft_stream *body, char **data, size_t max) {
    if (!data) return -EINVAL;
    *data = NULL;
    weft_http_read_body f;
    int r = weft_await(weft_http_read_body_init(&f, body, max));
    if (r) return r;
    if (f.result) return f.result;
    *data = f.data;
    return (ssize_t)f.len;
}

WEFT_API int weft_http_fiber_server_shutdown(weft_http_server *srv, uint64_t grace_ms) {
    weft_http_server_shutdown f;
    int r = weft_await(weft_http_server_shutdown_init(&f, srv, grace_ms));
    return r ? r : f.result;
}

WEFT_API const char *weft_http_request_header(const weft_http_request *req, const char *name) {
    if (!req || !req->head) return NULL;
    const weft_http_header *f = weft_http_head_find(req->head, name);
    return f ? f->value : NULL;
}
