/*
 * libuv echo server: the libuv peer of weft's echo benchmark (bench/echo/).
 *
 * The standard libuv pattern (uv_tcp_init/uv_listen/uv_accept,
 * uv_read_start, write back what was read, uv_close on EOF), with one change
 * to keep malloc off the per-message path: each connection owns a 64 KiB
 * read buffer that alloc_cb hands out every time (libuv's suggested size),
 * and the echo is written with uv_try_write, which libuv's own uv_write also
 * attempts first on an idle stream. Only when the kernel takes less than
 * everything (not seen with a closed-loop client) is the rest copied into a
 * per-connection spill buffer and queued with uv_write on the connection's
 * one uv_write_t, and reading stops until that write completes, so the read
 * buffer is never overwritten under a queued write. libuv's example echo
 * server instead mallocs a buffer per read and a uv_write_t per write.
 *
 * usage: libuv_echo [--port P] (default 0: any free port)
 * Listens on 127.0.0.1 only, prints "listening on PORT", serves until
 * SIGINT/SIGTERM (default action: the process ends).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF_SIZE 65536

typedef struct {
    uv_tcp_t tcp;          /* first: the handle pointer is the conn pointer */
    uv_write_t wreq;
    char buf[BUF_SIZE];
    char *spill;
    size_t spill_cap;
} conn;

static uv_loop_t *loop;

static void on_close(uv_handle_t *h)
{
    conn *c = (conn *)h;
    free(c->spill);
    free(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    (void)suggested;
    conn *c = (conn *)h;
    *out = uv_buf_init(c->buf, BUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void on_write(uv_write_t *req, int status)
{
    conn *c = req->data;
    if (status < 0) {
        if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    conn *c = (conn *)s;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);   /* UV_EOF or an error */
        return;
    }
    if (n == 0) return;   /* EAGAIN */
    uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
    int w = uv_try_write(s, &out, 1);
    if (w == n) return;
    if (w < 0 && w != UV_EAGAIN) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (w < 0) w = 0;
    size_t rest = (size_t)(n - w);
    if (c->spill_cap < rest) {
        free(c->spill);
        c->spill = malloc(rest);
        c->spill_cap = rest;
    }
    memcpy(c->spill, b->base + w, rest);
    uv_read_stop(s);
    uv_buf_t tail = uv_buf_init(c->spill, (unsigned)rest);
    c->wreq.data = c;
    if (uv_write(&c->wreq, s, &tail, 1, on_write) != 0) uv_close((uv_handle_t *)s, on_close);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0) return;
    conn *c = malloc(sizeof *c);
    c->spill = NULL;
    c->spill_cap = 0;
    uv_tcp_init(loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else { fprintf(stderr, "usage: libuv_echo [--port P]\n"); return 2; }
    }
    loop = uv_default_loop();
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    int r = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (r == 0) r = uv_listen((uv_stream_t *)&server, 4096, on_connection);
    if (r != 0) {
        fprintf(stderr, "libuv_echo: bind/listen: %s\n", uv_strerror(r));
        return 1;
    }
    int len = sizeof addr;
    uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &len);
    printf("listening on %d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
