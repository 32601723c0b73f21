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

ssize_t weft_fiber_write(weft_stream *s, const void *buf, size_t len) {
    weft_write f;
    int rc = weft_await(weft_write_init(&f, s, buf, len));
    return rc ? rc : f.result;
}

int weft_fiber_flush(weft_stream *s) {
    weft_flush f;
    int rc = weft_await(weft_flush_init(&f, s));
    return rc ? rc : f.result;
}

int weft_fiber_shutdown(weft_stream *s) {
    weft_flush f;
    int rc = weft_await(weft_shutdown_init(&f, s));
    return rc ? rc : f.result;
}

int weft_fiber_copy(weft_stream *r, weft_stream *w, uint64_t *total) {
    weft_copy f;
    int rc = weft_await(weft_copy_init(&f, r, w, NULL, 0));
    if (total) *total = f.total; /* what a dropped copy had written too */
    return rc ? rc : f.result;
}

int weft_fiber_copy_bidirectional(weft_stream *a, weft_stream *b,
                                  const weft_copy_bidirectional_options *opts, uint64_t *a_to_b,
                                  uint64_t *b_to_a) {
    weft_copy_bidirectional f;
    int rc = weft_await(weft_copy_bidirectional_init(&f, a, b, opts));
    if (a_to_b) *a_to_b = f.a_to_b; /* valid after a drop too */
    if (b_to_a) *b_to_a = f.b_to_a;
    return rc ? rc : f.result;
}

int weft_fiber_sendfile(weft_stream *s, int fd, int64_t offset, uint64_t count, uint64_t *done) {
    weft_sendfile f;
    int rc = weft_await(weft_sendfile_init(&f, s, fd, offset, count));
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

int weft_fiber_resolve(const char *text, weft_sockaddr *out, size_t cap) {
    weft_resolve f;
    int rc = weft_await(weft_resolve_init(&f, text, out, cap));
    return rc ? rc : f.result;
}
