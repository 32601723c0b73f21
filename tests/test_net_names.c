/* Addresses as text, everywhere one is accepted: a malformed address
 * ("300.1.1.1:80", "1.2.3:80", ...) is -EINVAL from every entry point
 * (parse, resolve, connect, TCP and UDP bind, UDP connect, the socket
 * builder's bind) before anything is created or looked up; host names and
 * service names work in all of them; resolver failures are weft's own
 * codes (-WEFT_ENOTFOUND, -WEFT_ENOADDRESS, -WEFT_ENOSERVICE, ...), never
 * -ENOENT. Only "localhost" (from /etc/hosts) is looked up for real; the
 * mapping of every EAI_* answer is checked directly.
 * weft-test: io */
#include <netdb.h>

#include "net_support.h"
#include "net/net.h"

static const char *malformed[] = {
    "300.1.1.1:80",   "256.1.1.1:80",   "1.2.3:80",        "127.1:80",      "2130706433:80",
    "0x7f.0.0.1:80",  "0x7f000001:80",  "1.2.3.4.5:80",    "1.2.3.4.:80",   "[1.2.3.4]:80",
    "[localhost]:80", "[::1",           "[::1]80",         "::1:80",        "127.0.0.1",
    "127.0.0.1:",     "127.0.0.1:65536", "127.0.0.1:-1",   "127.0.0.1:8x",  "localhost",
    "localhost:",     "localhost:99999", "localhost:0x10", "localhost:ht tp", "exa mple.com:80",
    ":80",            "",               "host:80:80",      "a..b:80x",      "localhost:_http",
};
#define NMALFORMED (sizeof malformed / sizeof *malformed)

/* ---- the mapping of getaddrinfo's answers ----------------------------------- */

static void test_gai_mapping(void **state) {
    (void)state;
    assert_int_equal(weft__gai_error(EAI_NONAME, 0), -WEFT_ENOTFOUND);
#ifdef EAI_NODATA
    assert_int_equal(weft__gai_error(EAI_NODATA, 0), -WEFT_ENOADDRESS);
#endif
#ifdef EAI_ADDRFAMILY
    assert_int_equal(weft__gai_error(EAI_ADDRFAMILY, 0), -WEFT_ENOADDRESS);
#endif
    assert_int_equal(weft__gai_error(EAI_SERVICE, 0), -WEFT_ENOSERVICE);
    assert_int_equal(weft__gai_error(EAI_AGAIN, 0), -WEFT_ERESOLVER_AGAIN);
    assert_int_equal(weft__gai_error(EAI_FAIL, 0), -WEFT_ERESOLVER_FAIL);
    assert_int_equal(weft__gai_error(EAI_MEMORY, 0), -ENOMEM);
    assert_int_equal(weft__gai_error(EAI_SYSTEM, EMFILE), -EMFILE);
    assert_int_equal(weft__gai_error(EAI_SYSTEM, 0), -WEFT_ERESOLVER_FAIL);
    assert_int_equal(weft__gai_error(EAI_FAMILY, 0), -EINVAL);
    assert_int_equal(weft__gai_error(12345, 0), -WEFT_ERESOLVER_FAIL);
    /* Each has a name of its own. */
    int codes[] = {WEFT_ENOTFOUND, WEFT_ENOADDRESS, WEFT_ENOSERVICE, WEFT_ERESOLVER_AGAIN,
                   WEFT_ERESOLVER_FAIL};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        const char *m = weft_strerror(-codes[i]);
        assert_non_null(m);
        for (size_t j = 0; j < i; j++) assert_string_not_equal(m, weft_strerror(-codes[j]));
    }
}

/* ---- malformed: -EINVAL everywhere, nothing created or looked up ------------- */

typedef struct malformed_case {
    WEFT_CORO_FIELDS;
    weft_resolve r;
    weft_tcp_connect c;
    weft_sockaddr out[4];
    weft_tcp_listener l;
    weft_udp_socket u, bound;
    weft_tcp_socket ts;
    uint64_t offloads;
    size_t regs;
    int fds;
    size_t i;
} malformed_case;

#define EINVAL_(expr, text)                                                              \
    do {                                                                                 \
        int e_ = (expr);                                                                 \
        if (e_ != -EINVAL) fail_msg("%s with \"%s\" = %d, want -EINVAL", #expr, text, e_); \
    } while (0)

WEFT_ASYNC(malformed_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_udp_bind(&self->bound, cx->runtime, "127.0.0.1:0"), 0);
    assert_int_equal(weft_tcp_socket_open_v4(&self->ts), 0);
    self->offloads = atomic_load(&weft__offload_count);
    self->regs = registrations(cx->runtime);
    self->fds = fd_count();
    for (self->i = 0; self->i < NMALFORMED; self->i++) {
        const char *text = malformed[self->i];
        weft_sockaddr a;
        EINVAL_(weft_sockaddr_parse(&a, text), text);
        EINVAL_(weft_tcp_listener_bind(&self->l, cx->runtime, text, 8), text);
        EINVAL_(weft_udp_bind(&self->u, cx->runtime, text), text);
        EINVAL_(weft_udp_connect(&self->bound, text), text);
        EINVAL_(weft_tcp_socket_bind(&self->ts, text), text);
        WEFT_AWAIT(weft_resolve_init(&self->r, malformed[self->i], self->out, 4));
        EINVAL_(self->r.result, malformed[self->i]);
        WEFT_AWAIT(weft_tcp_connect_init(&self->c, malformed[self->i]));
        EINVAL_(self->c.result, malformed[self->i]);
        assert_int_equal(registrations(cx->runtime), self->regs);
        assert_int_equal(fd_count(), self->fds);
    }
    assert_int_equal(weft_sockaddr_parse(self->out, NULL), -EINVAL);
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, NULL, 8), -EINVAL);
    assert_int_equal(weft_udp_bind(&self->u, cx->runtime, NULL), -EINVAL);
    /* Not one of them reached the resolver. */
    assert_int_equal(atomic_load(&weft__offload_count), self->offloads);
    weft_udp_close(&self->bound);
    weft_tcp_socket_close(&self->ts);
    WEFT_END();
}

static void test_malformed_everywhere(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    malformed_case *t = calloc(1, sizeof *t);
    malformed_case_start(t);
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    free(t);
    weft_runtime_destroy(rt);
}

/* ---- names and service names wherever an address is accepted ----------------- */

typedef struct names_case {
    WEFT_CORO_FIELDS;
    weft_resolve r;
    weft_sockaddr out[8];
    weft_tcp_listener l;
    weft_tcp_connect c;
    weft_tcp_accept a;
    weft_udp_socket u1, u2, v6;
    weft_tcp_socket ts;
    weft_dgram_send s;
    weft_dgram_recv rv;
    char text[64];
    unsigned char buf[8];
    uint64_t offloads;
} names_case;

static bool is_loopback(const weft_sockaddr *a) {
    if (a->u.sa.sa_family == AF_INET) return (ntohl(a->u.in4.sin_addr.s_addr) >> 24) == 127;
    if (a->u.sa.sa_family == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr);
    return false;
}

WEFT_ASYNC(names_case, NULL) {
    WEFT_BEGIN();
    /* Service names: resolved with the host (numeric or not). */
    self->offloads = atomic_load(&weft__offload_count);
    WEFT_AWAIT(weft_resolve_init(&self->r, "127.0.0.1:80", self->out, 8));
    assert_int_equal(self->r.result, 1);
    assert_int_equal(atomic_load(&weft__offload_count), self->offloads); /* numeric: on the spot */
    WEFT_AWAIT(weft_resolve_init(&self->r, "127.0.0.1:http", self->out, 8));
    assert_int_equal(self->r.result, 1);
    assert_int_equal(weft_sockaddr_port(&self->out[0]), 80);
    WEFT_AWAIT(weft_resolve_init(&self->r, "localhost:http", self->out, 8));
    assert_true(self->r.result >= 1);
    assert_int_equal(weft_sockaddr_port(&self->out[0]), 80);
    assert_true(is_loopback(&self->out[0]));
    WEFT_AWAIT(weft_resolve_init(&self->r, "localhost:weft-no-such-service", self->out, 8));
    assert_int_equal(self->r.result, -WEFT_ENOSERVICE);

    /* TCP bind by name, then connect by name. */
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "localhost:0", 8), 0);
    assert_int_equal(weft_tcp_listener_local_addr(&self->l, &self->out[0]), 0);
    assert_true(is_loopback(&self->out[0]));
    snprintf(self->text, sizeof self->text, "localhost:%u", weft_tcp_listener_port(&self->l));
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, self->text));
    assert_int_equal(self->c.result, 0);
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
    assert_int_equal(self->a.result, 0);
    weft_tcp_stream_close(&self->a.stream);
    weft_tcp_stream_close(&self->c.stream);
    weft_tcp_listener_close(&self->l);
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "localhost:weft-no-such-service", 8),
                     -WEFT_ENOSERVICE);
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, "localhost:weft-no-such-service"));
    assert_int_equal(self->c.result, -WEFT_ENOSERVICE);

    /* UDP bind and connect by name: a datagram goes through. */
    assert_int_equal(weft_udp_bind(&self->u1, cx->runtime, "localhost:0"), 0);
    assert_int_equal(weft_udp_bind(&self->u2, cx->runtime, "localhost:0"), 0);
    assert_int_equal(weft_udp_local_addr(&self->u2, &self->out[0]), 0);
    snprintf(self->text, sizeof self->text, "localhost:%u", weft_sockaddr_port(&self->out[0]));
    assert_int_equal(weft_udp_connect(&self->u1, self->text), 0);
    WEFT_AWAIT(weft_udp_send_init(&self->s, &self->u1, "name", 4));
    assert_int_equal(self->s.result, 4);
    WEFT_AWAIT(weft_udp_recv_init(&self->rv, &self->u2, self->buf, sizeof self->buf));
    assert_int_equal(self->rv.result, 4);
    assert_memory_equal(self->buf, "name", 4);
    assert_int_equal(weft_udp_connect(&self->u1, "localhost:weft-no-such-service"), -WEFT_ENOSERVICE);
    /* No address of the socket's family: an IPv6 socket told an IPv4 peer. */
    if (weft_udp_bind(&self->v6, cx->runtime, "[::1]:0") == 0) {
        assert_int_equal(weft_udp_connect(&self->v6, "127.0.0.1:9"), -WEFT_ENOADDRESS);
        weft_udp_close(&self->v6);
    }
    weft_udp_close(&self->u1);
    weft_udp_close(&self->u2);

    /* The socket builder binds by name, within its family. */
    assert_int_equal(weft_tcp_socket_open_v4(&self->ts), 0);
    assert_int_equal(weft_tcp_socket_bind(&self->ts, "localhost:0"), 0);
    assert_int_equal(weft_tcp_socket_local_addr(&self->ts, &self->out[0]), 0);
    assert_int_equal(self->out[0].u.sa.sa_family, AF_INET);
    weft_tcp_socket_close(&self->ts);
    if (weft_tcp_socket_open_v6(&self->ts) == 0) {
        assert_int_equal(weft_tcp_socket_bind(&self->ts, "127.0.0.1:0"), -WEFT_ENOADDRESS);
        weft_tcp_socket_close(&self->ts);
    }
    WEFT_END();
}

static void test_names_everywhere(void **state) {
    (void)state;
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    names_case *t = calloc(1, sizeof *t);
    names_case_start(t);
    assert_int_equal(weft_block_on(rt, &t->base), 0);
    free(t);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count_settled(fds), fds); /* lookups ran on the blocking pool */
}

/* ---- an unknown host: weft's code, not -ENOENT ----------------------------------- */

typedef struct unknown_case {
    WEFT_CORO_FIELDS;
    weft_resolve r;
    weft_tcp_connect c;
    weft_timeout t;
    weft_sockaddr out[2];
    int result;
} unknown_case;

/* Without a name server the lookup says "try again" (or takes longer than
 * the limit); with one, "not found". Never -ENOENT. */
static void check_unknown(int result) {
    if (result != -WEFT_ENOTFOUND && result != -WEFT_ERESOLVER_AGAIN && result != -ETIMEDOUT)
        fail_msg("unknown host: %d (%s)", result, weft_strerror(result));
}

WEFT_ASYNC(unknown_case, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_resolve_init(&self->r, "weft-no-such-host.invalid:80", self->out, 2), 15000));
    check_unknown(self->t.result ? self->t.result : self->r.result);
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_tcp_connect_init(&self->c, "weft-no-such-host.invalid:80"), 15000));
    check_unknown(self->t.result ? self->t.result : self->c.result);
    WEFT_END();
}

static void test_unknown_host(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    unknown_case t;
    memset(&t, 0, sizeof t);
    unknown_case_start(&t);
    assert_int_equal(weft_block_on(rt, &t.base), 0);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gai_mapping),
        cmocka_unit_test(test_malformed_everywhere),
        cmocka_unit_test(test_names_everywhere),
        cmocka_unit_test(test_unknown_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
