/* Unix domain sockets: stream listener/accept/connect on a filesystem path
 * and in the abstract namespace, socketpairs, split halves, datagrams
 * (bound, unbound, pairs), and connect errors.
 * weft-test: io */
#include <sys/stat.h>

#include "net_support.h"

typedef struct unix_stream_case {
    WEFT_CORO_FIELDS;
    const char *path;
    weft_unix_listener l;
    weft_unix_connect c;
    weft_unix_accept a;
    weft_unix_stream client, server, pa, pb;
    weft_write_all w;
    weft_read_exact r;
    weft_read rd;
    unsigned char out[100000], in[100000];
    int i;
} unix_stream_case;

WEFT_ASYNC(unix_stream_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_unix_listener_bind(&self->l, cx->runtime, self->path, 8), 0);
    {
        weft_sockaddr la;
        char text[128];
        assert_int_equal(weft_unix_listener_local_addr(&self->l, &la), 0);
        assert_true(weft_sockaddr_format(&la, text, sizeof text) > 0);
        assert_string_equal(text, self->path);
    }
    WEFT_AWAIT(weft_unix_connect_init(&self->c, self->path));
    assert_int_equal(self->c.result, 0);
    self->client = self->c.stream;
    WEFT_AWAIT(weft_unix_accept_init(&self->a, &self->l));
    assert_int_equal(self->a.result, 0);
    self->server = self->a.stream;
    /* Bulk both ways (larger than the socket buffers: partial writes). */
    for (size_t k = 0; k < sizeof self->out; k++) self->out[k] = pattern(11, k);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->client.stream, self->out, 1000));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_read_exact_init(&self->r, &self->server.stream, self->in, 1000));
    assert_int_equal(self->r.result, 0);
    assert_memory_equal(self->in, self->out, 1000);
    /* EOF after the peer closes. */
    weft_unix_stream_close(&self->client);
    WEFT_AWAIT(weft_read_init(&self->rd, &self->server.stream, self->in, sizeof self->in));
    assert_int_equal(self->rd.result, 0);
    weft_unix_stream_close(&self->server);
    weft_unix_listener_close(&self->l);

    /* Connect errors: nobody there, name too long. */
    WEFT_AWAIT(weft_unix_connect_init(&self->c, self->path[0] == '@' ? "@weft-nobody-here" : "/nonexistent/weft.sock"));
    assert_true(self->c.result == -ECONNREFUSED || self->c.result == -ENOENT);
    {
        char longp[200];
        memset(longp, 'x', sizeof longp - 1);
        longp[0] = '/';
        longp[sizeof longp - 1] = 0;
        WEFT_AWAIT(weft_unix_connect_init(&self->c, longp));
        assert_int_equal(self->c.result, -ENAMETOOLONG);
    }

    /* A socketpair, with a big transfer through the two halves of one end. */
    assert_int_equal(weft_unix_stream_pair(&self->pa, &self->pb, cx->runtime), 0);
    WEFT_AWAIT(weft_write_all_init(&self->w, &self->pa.stream, "pair", 4));
    assert_int_equal(self->w.result, 0);
    WEFT_AWAIT(weft_read_exact_init(&self->r, &self->pb.stream, self->in, 4));
    assert_int_equal(self->r.result, 0);
    assert_memory_equal(self->in, "pair", 4);
    weft_unix_stream_close(&self->pa);
    weft_unix_stream_close(&self->pb);
    WEFT_END();
}

static void run_stream(const char *path) {
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    unix_stream_case *t = calloc(1, sizeof *t);
    unix_stream_case_start(t);
    t->path = path;
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    weft_runtime_destroy(rt);
    free(t);
    assert_int_equal(fd_count(), fds);
}

static void test_unix_stream_abstract(void **state) {
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@weft-test-%d", (int)getpid());
    run_stream(name);
}

static void test_unix_stream_path(void **state) {
    (void)state;
    char dir[] = "/tmp/weft-unix-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/s.sock", dir);
    run_stream(path);
    unlink(path);
    rmdir(dir);
}

/* ---- datagrams -------------------------------------------------------------- */

typedef struct unix_dgram_case {
    WEFT_CORO_FIELDS;
    char name_a[64], name_b[64];
    weft_unix_datagram a, b, u, pa, pb;
    weft_sockaddr addr_b;
    weft_dgram_send s;
    weft_dgram_recv r;
    unsigned char in[256];
    int i;
} unix_dgram_case;

WEFT_ASYNC(unix_dgram_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_unix_datagram_bind(&self->a, cx->runtime, self->name_a), 0);
    assert_int_equal(weft_unix_datagram_bind(&self->b, cx->runtime, self->name_b), 0);
    assert_int_equal(weft_unix_datagram_local_addr(&self->b, &self->addr_b), 0);
    for (self->i = 0; self->i < 50; self->i++) {
        WEFT_AWAIT(weft_unix_datagram_send_to_init(&self->s, &self->a, &self->i, sizeof self->i, &self->addr_b));
        assert_int_equal(self->s.result, (ssize_t)sizeof self->i);
        WEFT_AWAIT(weft_unix_datagram_recv_from_init(&self->r, &self->b, self->in, sizeof self->in));
        assert_int_equal(self->r.result, (ssize_t)sizeof self->i);
        assert_memory_equal(self->in, &self->i, sizeof self->i);
        {
            char text[80];
            assert_true(weft_sockaddr_format(&self->r.from, text, sizeof text) > 0);
            assert_string_equal(text, self->name_a);
        }
    }
    /* Unbound sender, connected. */
    assert_int_equal(weft_unix_datagram_unbound(&self->u, cx->runtime), 0);
    assert_int_equal(weft_unix_datagram_connect(&self->u, self->name_b), 0);
    WEFT_AWAIT(weft_unix_datagram_send_init(&self->s, &self->u, "hi", 2));
    assert_int_equal(self->s.result, 2);
    WEFT_AWAIT(weft_unix_datagram_recv_init(&self->r, &self->b, self->in, sizeof self->in));
    assert_int_equal(self->r.result, 2);
    /* A pair. */
    assert_int_equal(weft_unix_datagram_pair(&self->pa, &self->pb, cx->runtime), 0);
    WEFT_AWAIT(weft_unix_datagram_send_init(&self->s, &self->pa, "pair", 4));
    WEFT_AWAIT(weft_unix_datagram_recv_init(&self->r, &self->pb, self->in, sizeof self->in));
    assert_int_equal(self->r.result, 4);
    assert_memory_equal(self->in, "pair", 4);
    weft_unix_datagram_close(&self->a);
    weft_unix_datagram_close(&self->b);
    weft_unix_datagram_close(&self->u);
    weft_unix_datagram_close(&self->pa);
    weft_unix_datagram_close(&self->pb);
    WEFT_END();
}

static void test_unix_datagram(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    unix_dgram_case t;
    memset(&t, 0, sizeof t);
    unix_dgram_case_start(&t);
    snprintf(t.name_a, sizeof t.name_a, "@weft-dgram-a-%d", (int)getpid());
    snprintf(t.name_b, sizeof t.name_b, "@weft-dgram-b-%d", (int)getpid());
    assert_int_equal(weft_block_on(rt, &t.base), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_stream_abstract),
        cmocka_unit_test(test_unix_stream_path),
        cmocka_unit_test(test_unix_datagram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
