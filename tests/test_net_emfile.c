/* Accept when the process is out of descriptors (a lowered RLIMIT_NOFILE):
 * the error is reported once, the listener backs off instead of spinning,
 * and once descriptors are free again the queued connections are served.
 * weft-test: io  weft-test: timeout=120 */
#include <fcntl.h>

#include "net_support.h"

#define CLIENTS 4
#define MAX_FILL 4096

typedef struct emfile_case {
    WEFT_CORO_FIELDS;
    weft_tcp_listener l;
    weft_sockaddr target;
    weft_tcp_connect c;
    weft_tcp_stream clients[CLIENTS];
    echo_server srv;
    echo_stats st;
    weft_join_handle hs;
    weft_sleep sl;
    weft_timeout t;
    weft_write_all w;
    weft_read_exact r;
    weft_runtime_stats s0, s1;
    struct rlimit saved;
    int fill[MAX_FILL];
    int nfill, i;
    unsigned char buf[64];
} emfile_case;

WEFT_ASYNC(emfile_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 64), 0);
    assert_int_equal(weft_tcp_listener_local_addr(&self->l, &self->target), 0);
    /* The connections complete in the kernel and wait in the queue. */
    for (self->i = 0; self->i < CLIENTS; self->i++) {
        WEFT_AWAIT(weft_tcp_connect_addr_init(&self->c, &self->target));
        assert_int_equal(self->c.result, 0);
        self->clients[self->i] = self->c.stream;
    }
    /* Use up every descriptor under a lowered limit. */
    getrlimit(RLIMIT_NOFILE, &self->saved);
    {
        struct rlimit low = self->saved;
        low.rlim_cur = 128;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        int fd;
        while (self->nfill < MAX_FILL && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
            self->fill[self->nfill++] = fd;
        assert_int_equal(errno, EMFILE);
    }
    echo_server_start(&self->srv);
    self->srv.l = &self->l;
    self->srv.st = &self->st;
    self->hs = WEFT_SPAWN(cx->runtime, &self->srv, accepted, NULL);

    /* The server meets EMFILE: reported once, then quiet back-off. */
    WEFT_AWAIT(weft_sleep_init(&self->sl, 100));
    assert_int_equal(self->st.emfile, 1);
    assert_int_equal(self->st.accepted, 0);
    weft_runtime_stats_get(cx->runtime, &self->s0);
    WEFT_AWAIT(weft_sleep_init(&self->sl, 300));
    weft_runtime_stats_get(cx->runtime, &self->s1);
    assert_int_equal(self->st.emfile, 1);
    assert_int_equal(self->st.errors, 1);
    /* Backing off (5 ms doubling to 200 ms), not spinning: a handful of
     * retries in 300 ms, not thousands. */
    assert_true(self->s1.task_polls - self->s0.task_polls < 50);

    /* Descriptors come back: every queued connection is served. */
    for (self->i = 0; self->i < self->nfill; self->i++) close(self->fill[self->i]);
    self->nfill = 0;
    setrlimit(RLIMIT_NOFILE, &self->saved);
    for (self->i = 0; self->i < CLIENTS; self->i++) {
        memset(self->buf, 'a' + self->i, sizeof self->buf);
        WEFT_AWAIT(weft_write_all_init(&self->w, &self->clients[self->i].stream, self->buf,
                                       sizeof self->buf));
        assert_int_equal(self->w.result, 0);
        memset(self->buf, 0, sizeof self->buf);
        WEFT_AWAIT(weft_timeout_init(
            &self->t,
            weft_read_exact_init(&self->r, &self->clients[self->i].stream, self->buf, sizeof self->buf),
            20000));
        assert_int_equal(self->t.result, 0);
        assert_int_equal(self->r.result, 0);
        for (size_t k = 0; k < sizeof self->buf; k++) assert_int_equal(self->buf[k], 'a' + self->i);
    }
    assert_int_equal(self->st.accepted, CLIENTS);
    assert_int_equal(self->st.emfile, 1);
    for (self->i = 0; self->i < CLIENTS; self->i++) weft_tcp_stream_close(&self->clients[self->i]);
    weft_join_handle_abort(&self->hs);
    WEFT_AWAIT(&self->hs.base);
    weft_tcp_listener_close(&self->l);
    WEFT_END();
}

static void test_accept_emfile(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    emfile_case *t = calloc(1, sizeof *t);
    emfile_case_start(t);
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    weft_runtime_destroy(rt);
    free(t);
    assert_int_equal(fd_count(), fds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_emfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
