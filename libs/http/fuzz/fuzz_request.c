/*
 * Fuzz target: the request parser and, for a complete head, the body
 * framing after it. Besides "no crash, no read out of bounds", it checks
 * the parser's promises: a complete head's length is within the input and
 * within the limit, every string points inside the head, and parsing any
 * prefix of a complete head answers "incomplete" (two readers of one
 * stream fed in different pieces must agree).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weft/http.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void inside(const char *p, size_t n, const char *buf, size_t len) {
    if (n == 0) return;
    CHECK(p >= buf && p + n <= buf + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;
    weft_http_head h;
    weft_http_header hdrs[32];
    size_t limit = 2048;
    int r = weft_http_parse_request(&h, buf, size, hdrs, 32, limit);
    if (r == -EAGAIN) {
        CHECK(size < limit);
        return 0;
    }
    if (r < 0) {
        CHECK(r == -EBADMSG || r == -EMSGSIZE || r == -E2BIG || r == -ENOTSUP ||
              r == -EPROTONOSUPPORT);
        return 0;
    }
    CHECK((size_t)r <= size && (size_t)r <= limit);
    CHECK(h.num_headers <= 32);
    inside(h.method, h.method_len, buf, (size_t)r);
    inside(h.target, h.target_len, buf, (size_t)r);
    for (size_t i = 0; i < h.num_headers; i++) {
        CHECK(h.headers[i].name_len > 0);
        inside(h.headers[i].name, h.headers[i].name_len, buf, (size_t)r);
        inside(h.headers[i].value, h.headers[i].value_len, buf, (size_t)r);
    }
    CHECK(!(h.chunked && h.content_length >= 0));
    /* Prefixes: a few, spread over the head (all of them is quadratic). */
    for (size_t cut = 0; cut < (size_t)r; cut += 1 + (size_t)r / 7) {
        weft_http_head h2;
        int r2 = weft_http_parse_request(&h2, buf, cut, hdrs, 32, limit);
        CHECK(r2 == -EAGAIN);
    }
    /* The body that follows. */
    if (h.body == WEFT_HTTP_BODY_CHUNKED) {
        weft_http_chunked d;
        weft_http_chunked_init(&d, 512);
        size_t pos = (size_t)r;
        for (;;) {
            size_t used, off, n;
            int c = weft_http_chunked_decode(&d, buf + pos, size - pos, &used, &off, &n);
            CHECK(used <= size - pos);
            if (c == WEFT_HTTP_CHUNKED_DATA) CHECK(off + n == used && n > 0);
            pos += used;
            if (c != WEFT_HTTP_CHUNKED_DATA) break;
        }
    }
    return 0;
}
