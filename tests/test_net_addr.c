/* Addresses and names: numeric parsing (IPv4, IPv6, "[::1]:port", scopes),
 * malformed input, formatting and round trips, Unix addresses; resolution
 * of a name off the runtime's thread (numeric addresses never take that
 * path), and connect by name.
 * weft-test: io  weft-test: threaded */
#include "net_support.h"
#include "net/net.h"

static void test_parse_valid(void **state) {
    (void)state;
    weft_sockaddr a;
    char text[WEFT_SOCKADDR_STRLEN];
    static const struct {
        const char *in, *out;
        int family;
        uint16_t port;
    } cases[] = {
        {"127.0.0.1:80", "127.0.0.1:80", AF_INET, 80},
        {"0.0.0.0:0", "0.0.0.0:0", AF_INET, 0},
        {"255.255.255.255:65535", "255.255.255.255:65535", AF_INET, 65535},
        {"[::1]:8080", "[::1]:8080", AF_INET6, 8080},
        {"[::]:1", "[::]:1", AF_INET6, 1},
        {"[2001:db8::1]:443", "[2001:db8::1]:443", AF_INET6, 443},
        {"[::ffff:1.2.3.4]:9", "[::ffff:1.2.3.4]:9", AF_INET6, 9},
        {"[fe80::1%1]:22", "[fe80::1%1]:22", AF_INET6, 22},
        {"[fe80::1%lo]:22", "[fe80::1%1]:22", AF_INET6, 22},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int err = weft_sockaddr_parse(&a, cases[i].in);
        if (err) fail_msg("parse(\"%s\") = %d", cases[i].in, err);
        assert_int_equal(a.u.sa.sa_family, cases[i].family);
        assert_int_equal(weft_sockaddr_port(&a), cases[i].port);
        assert_true(weft_sockaddr_format(&a, text, sizeof text) > 0);
        assert_string_equal(text, cases[i].out);
        weft_sockaddr b;
        assert_int_equal(weft_sockaddr_parse(&b, text), 0);
        assert_true(weft_sockaddr_equal(&a, &b));
    }
    assert_int_equal(weft_sockaddr_ip(&a, "::1", 5), 0);
    assert_int_equal(a.u.sa.sa_family, AF_INET6);
    weft_sockaddr_set_port(&a, 6);
    assert_int_equal(weft_sockaddr_port(&a), 6);
    assert_int_equal(weft_sockaddr_format(&a, text, 4), -ENOSPC);
}

static void test_parse_malformed(void **state) {
    (void)state;
    static const char *bad[] = {
        "",           "127.0.0.1",      "127.0.0.1:",       ":80",          "127.0.0.1:65536",
        "127.0.0.1:-1", "127.0.0.1:+1", "127.0.0.1:8 0",    "127.0.0.1:0x10", "1.2.3:80",
        "1.2.3.4.5:80", "256.1.1.1:80", "::1:80",           "[::1]",        "[::1]:",
        "[::1]80",    "[::1:80",        "::1]:80",          "[1.2.3.4]:80", "[::g]:80",
        "localhost:80", "[fe80::1%]:1", "[fe80::1%nosuchif0]:1", "127.0.0.1:123456",
    };
    weft_sockaddr a;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int err = weft_sockaddr_parse(&a, bad[i]);
        if (err != -EINVAL) fail_msg("parse(\"%s\") = %d, want -EINVAL", bad[i], err);
    }
    assert_int_equal(weft_sockaddr_parse(&a, NULL), -EINVAL);
    assert_int_equal(weft_sockaddr_ip(&a, "nope", 1), -EINVAL);
}

static void test_unix_addresses(void **state) {
    (void)state;
    weft_sockaddr a;
    char text[128];
    assert_int_equal(weft_sockaddr_unix(&a, "/tmp/x.sock"), 0);
    assert_int_equal(weft_sockaddr_format(&a, text, sizeof text), 11);
    assert_string_equal(text, "/tmp/x.sock");
    assert_int_equal(weft_sockaddr_unix(&a, "@abstract"), 0);
    assert_int_equal(a.u.un.sun_path[0], 0);
    assert_true(weft_sockaddr_format(&a, text, sizeof text) > 0);
    assert_string_equal(text, "@abstract");
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    assert_int_equal(weft_sockaddr_unix(&a, longp), -ENAMETOOLONG);
    assert_int_equal(weft_sockaddr_unix(&a, ""), -EINVAL);
}

/* ---- resolution ------------------------------------------------------------ */

typedef struct resolve_case {
    WEFT_CORO_FIELDS;
    weft_resolve r;
    weft_sockaddr out[8];
    uint64_t offloads;
    weft_tcp_listener l;
    weft_tcp_accept a;
    weft_tcp_connect c;
    weft_timeout t;
    char target[64];
    int unknown_result;
} resolve_case;

WEFT_ASYNC(resolve_case, NULL) {
    WEFT_BEGIN();
    /* Numeric: answered on the spot, no thread. */
    self->offloads = atomic_load(&weft__offload_count);
    WEFT_AWAIT(weft_resolve_init(&self->r, "127.0.0.1:99", self->out, 8));
    assert_int_equal(self->r.result, 1);
    assert_int_equal(weft_sockaddr_port(&self->out[0]), 99);
    WEFT_AWAIT(weft_resolve_init(&self->r, "[::1]:7", self->out, 8));
    assert_int_equal(self->r.result, 1);
    assert_int_equal(self->out[0].u.sa.sa_family, AF_INET6);
    WEFT_AWAIT(weft_resolve_init(&self->r, "bad name:1", self->out, 8));
    assert_int_equal(self->r.result, -EINVAL);
    WEFT_AWAIT(weft_resolve_init(&self->r, "localhost", self->out, 8));
    assert_int_equal(self->r.result, -EINVAL);
    assert_int_equal(atomic_load(&weft__offload_count), self->offloads);

    /* A name: resolved on another thread; the runtime thread did not block. */
    WEFT_AWAIT(weft_resolve_init(&self->r, "localhost:4242", self->out, 8));
    assert_true(self->r.result >= 1);
    assert_int_equal(weft_sockaddr_port(&self->out[0]), 4242);
    assert_int_equal(atomic_load(&weft__offload_count), self->offloads + 1);

    /* connect by name reaches a listener on loopback. */
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 8), 0);
    snprintf(self->target, sizeof self->target, "localhost:%u", weft_tcp_listener_port(&self->l));
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, self->target));
    assert_int_equal(self->c.result, 0);
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
    assert_int_equal(self->a.result, 0);
    weft_tcp_stream_close(&self->a.stream);
    weft_tcp_stream_close(&self->c.stream);
    weft_tcp_listener_close(&self->l);

    /* An unknown name fails (or the lookup is abandoned by the time limit:
     * the thread finishes on its own and frees the request). */
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_resolve_init(&self->r, "weft-no-such-host.invalid:80", self->out, 8), 5000));
    self->unknown_result = self->t.result ? self->t.result : self->r.result;
    assert_true(self->unknown_result == -WEFT_ENOTFOUND ||
                self->unknown_result == -WEFT_ERESOLVER_AGAIN || self->unknown_result == -ETIMEDOUT);
    WEFT_END();
}

static void test_resolve(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    resolve_case t;
    memset(&t, 0, sizeof t);
    resolve_case_start(&t);
    assert_int_equal(weft_block_on(rt, &t.base), 0);
    weft_runtime_destroy(rt);
}

/* Dropping a lookup before it completes: nothing leaks, nothing is woken
 * after the runtime is gone. */
typedef struct drop_lookup {
    WEFT_CORO_FIELDS;
    weft_resolve r;
    weft_sockaddr out[2];
    weft_yield_now y;
} drop_lookup;

WEFT_ASYNC(drop_lookup, NULL) {
    WEFT_BEGIN();
    weft_resolve_init(&self->r, "localhost:1", self->out, 2);
    (void)weft_future_poll(&self->r.base, cx);
    weft_future_drop(&self->r.base);
    WEFT_AWAIT(weft_yield_now_init(&self->y));
    WEFT_END();
}

static void test_resolve_dropped(void **state) {
    (void)state;
    for (int i = 0; i < 20; i++) {
        weft_runtime *rt = rt_new();
        drop_lookup t;
        memset(&t, 0, sizeof t);
        drop_lookup_start(&t);
        assert_int_equal(weft_block_on(rt, &t.base), 0);
        weft_runtime_destroy(rt);
    }
    usleep(200 * 1000); /* let the detached lookups finish before exit */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_unix_addresses),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_resolve_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
