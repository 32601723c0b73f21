/* 1,000 concurrent echo connections over loopback, every byte verified; the
 * same with a server that echoes through weft_copy over split halves; no
 * descriptor or registration left behind.
 * weft-test: io  weft-test: timeout=300 */
#include "net_support.h"

#define CONNS 1000
#define MSGS 20

typedef struct client {
    WEFT_CORO_FIELDS;
    uint32_t id;
    const weft_sockaddr *target;
    weft_tcp_connect c;
    weft_tcp_stream s;
    union {
        weft_write_all w;
        weft_read_exact r;
    } op;
    int m;
    size_t len;
    uint64_t off;
    unsigned char out[2048], in[2048];
    int result; /* output: 0, or what went wrong */
} client;

static void client_cleanup(client *self) { weft_tcp_stream_close(&self->s); }

WEFT_ASYNC(client, client_cleanup) {
    WEFT_BEGIN();
    self->s.io.reg = NULL;
    WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, self->target));
    if (self->c.result) {
        self->result = self->c.result;
        WEFT_RETURN();
    }
    self->s = self->c.stream;
    for (self->m = 0; self->m < MSGS; self->m++) {
        self->len = 1 + (self->id * 7 + (uint32_t)self->m * 131) % sizeof self->out;
        for (size_t i = 0; i < self->len; i++) self->out[i] = pattern(self->id, self->off + i);
        WEFT_AWAIT(weft_write_all_init(&self->op.w, &self->s.stream, self->out, self->len));
        if (self->op.w.result) {
            self->result = self->op.w.result;
            WEFT_RETURN();
        }
        WEFT_AWAIT(weft_read_exact_init(&self->op.r, &self->s.stream, self->in, self->len));
        if (self->op.r.result) {
            self->result = self->op.r.result;
            WEFT_RETURN();
        }
        if (memcmp(self->in, self->out, self->len) != 0) {
            self->result = -EBADMSG;
            WEFT_RETURN();
        }
        self->off += self->len;
    }
    self->result = 0;
    WEFT_END();
}

/* A server that echoes with weft_copy over the two halves of the stream. */
typedef struct copy_conn {
    WEFT_CORO_FIELDS;
    weft_tcp_stream s, rd, wr;
    weft_copy cp;
    unsigned char buf[1500];
} copy_conn;

static void copy_conn_cleanup(copy_conn *self) {
    weft_tcp_stream_close(&self->rd);
    weft_tcp_stream_close(&self->wr);
}

WEFT_ASYNC(copy_conn, copy_conn_cleanup) {
    WEFT_BEGIN();
    weft_tcp_stream_into_split(&self->s, &self->rd, &self->wr);
    WEFT_AWAIT(weft_copy_init(&self->cp, &self->rd.stream, &self->wr.stream, self->buf, sizeof self->buf));
    WEFT_END();
}

typedef struct copy_server {
    WEFT_CORO_FIELDS;
    weft_tcp_listener *l;
    weft_tcp_accept acc;
    copy_conn conn;
} copy_server;

WEFT_ASYNC(copy_server, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_tcp_accept_init(&self->acc, self->l));
        if (self->acc.result < 0) continue;
        memset(&self->conn, 0, sizeof self->conn);
        copy_conn_start(&self->conn);
        self->conn.s = self->acc.stream;
        WEFT_SPAWN_DETACHED(cx->runtime, &self->conn);
    }
    WEFT_END();
}

typedef struct many {
    WEFT_CORO_FIELDS;
    int nconns;
    bool use_copy;
    weft_tcp_listener l;
    weft_sockaddr target;
    echo_server srv;
    copy_server csrv;
    weft_join_handle hs;
    client tmpl;
    weft_join_handle h[CONNS];
    int results[CONNS];
    int i, ok;
} many;

WEFT_ASYNC(many, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 4096), 0);
    assert_int_equal(weft_tcp_listener_local_addr(&self->l, &self->target), 0);
    if (self->use_copy) {
        copy_server_start(&self->csrv);
        self->csrv.l = &self->l;
        self->hs = WEFT_SPAWN(cx->runtime, &self->csrv, l, NULL);
    } else {
        echo_server_start(&self->srv);
        self->srv.l = &self->l;
        self->hs = WEFT_SPAWN(cx->runtime, &self->srv, accepted, NULL);
    }
    for (self->i = 0; self->i < self->nconns; self->i++) {
        memset(&self->tmpl, 0, sizeof self->tmpl);
        client_start(&self->tmpl);
        self->tmpl.id = (uint32_t)self->i;
        self->tmpl.target = &self->target;
        self->tmpl.result = -EINPROGRESS;
        self->h[self->i] = WEFT_SPAWN(cx->runtime, &self->tmpl, result, &self->results[self->i]);
    }
    for (self->i = 0; self->i < self->nconns; self->i++) {
        WEFT_AWAIT(&self->h[self->i].base);
        assert_int_equal(self->h[self->i].result, 0);
        if (self->results[self->i] == 0) self->ok++;
        else print_message("client %d: %s\n", self->i, weft_strerror(self->results[self->i]));
    }
    assert_int_equal(self->ok, self->nconns);
    weft_join_handle_abort(&self->hs);
    WEFT_AWAIT(&self->hs.base);
    weft_tcp_listener_close(&self->l);
    WEFT_END();
}

static void run_many(int n, bool use_copy) {
    raise_nofile(3 * CONNS + 64);
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    many *t = calloc(1, sizeof *t);
    many_start(t);
    t->nconns = n;
    t->use_copy = use_copy;
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    assert_int_equal(t->ok, n);
    weft_runtime_destroy(rt);
    free(t);
    assert_int_equal(fd_count(), fds);
}

static void test_thousand_echo_connections(void **state) {
    (void)state;
    run_many(CONNS, false);
}

static void test_echo_through_copy_and_split(void **state) {
    (void)state;
    run_many(300, true);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousand_echo_connections),
        cmocka_unit_test(test_echo_through_copy_and_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
