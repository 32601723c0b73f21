/*
 * The zero-copy file path, behind one function: sendfile(2) from the file
 * to the socket when the connection is plain TCP (the pages go from the
 * page cache to the socket without a copy through user space), waiting
 * for writability through weft_tcp_stream_poll_io; otherwise (a TLS or
 * other wrapped stream) pread into the connection's scratch buffer and
 * write through the stream. When weft grows a sendfile future of its own,
 * this file is the one to change.
 */
#include <errno.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "server.h"

typedef struct sf_args {
    int fd;
    off_t off;
    size_t len;
} sf_args;

static ssize_t do_sendfile(int sock, void *arg) {
    sf_args *a = arg;
    ssize_t n = sendfile(sock, a->fd, &a->off, a->len);
    return n < 0 ? -errno : n;
}

weft_poll weft__http_send_file(weft__http_conn *c, weft_context *cx, int fd, uint64_t *off,
                               uint64_t len, ssize_t *res) {
    if (len == 0) {
        *res = 0;
        return WEFT_READY;
    }
    if (c->is_tcp) {
        sf_args a = {fd, (off_t)*off, len > (1u << 30) ? (1u << 30) : (size_t)len};
        if (weft_tcp_stream_poll_io(&c->tcp, cx, WEFT_INTEREST_WRITE, do_sendfile, &a, res) ==
            WEFT_PENDING)
            return WEFT_PENDING;
        if (*res > 0) *off += (uint64_t)*res;
        else if (*res == 0) *res = -ENODATA; /* the file is shorter than announced */
        return WEFT_READY;
    }
    /* A wrapped stream: through the scratch buffer, which holds bytes read
     * from the file but not yet taken by the stream (c->file.left counts
     * the bytes of the current block still to write). */
    size_t want = len < sizeof c->scratch ? (size_t)len : sizeof c->scratch;
    ssize_t n = pread(fd, c->scratch, want, (off_t)*off);
    if (n < 0) {
        *res = -errno;
        return WEFT_READY;
    }
    if (n == 0) {
        *res = -ENODATA;
        return WEFT_READY;
    }
    if (weft_stream_poll_write(c->s, cx, c->scratch, (size_t)n, res) == WEFT_PENDING)
        return WEFT_PENDING;
    if (*res > 0) *off += (uint64_t)*res;
    else if (*res == 0) *res = -EPIPE;
    return WEFT_READY;
}
