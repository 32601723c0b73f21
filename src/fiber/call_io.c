/* Blocking-style calls over the I/O and network futures (weft/io.h, weft/net.h). */
#include "weft/fiber.h"

ssize_t weft_fiber_read(weft_stream *s, void *buf, size_t len) {
    weft_read f;
    int rc = weft_await(weft_read_init(&f, s, buf, len));
    return rc ? rc : f.result;
}

int weft_fiber_read_exact(weft_stream *s, void *buf, size_t len, size_t *done) {
    weft_read_exact f;
    int rc = weft_await(weft_read_exact_init(&f, s, buf, len));
    if (done) *done = f.done; /* what a dropped read_exact had stored too */
    return rc ? rc : f.result;
}

ssize_t weft_fiber_read_line(weft_bufreader *b, char *out, size_t cap) {
    weft_read_until f;
    int rc = weft_await(weft_read_line_init(&f, b, out, cap));
    return rc ? rc : f.result;
}

int weft_fiber_write_all(weft_stream *s, const void *buf, size_t len, size_t *done) {
    weft_write_all f;
    int rc = weft_await(weft_write_all_init(&f, s, buf, len));
    if (done) *done = f.done;
    return rc ? rc : f.result;
}

int weft_fiber_accept(weft_tcp_listener *l, weft_tcp_stream *out) {
    weft_tcp_accept f;
    int rc = weft_await(weft_tcp_accept_init(&f, l));
    if (rc) return rc;
    if (f.result == 0) *out = f.stream;
    return f.result;
}

int weft_fiber_connect(weft_tcp_stream *out, const char *addr) {
    weft_tcp_connect f;
    int rc = weft_await(weft_tcp_connect_init(&f, addr));
    if (rc) return rc;
    if (f.result == 0) *out = f.stream;
    return f.result;
}
