/* UDP over IPv4 and IPv6 loopback: send_to/recv_from round trips, connected
 * send/recv, truncation, a recv cancelled by a timeout and the datagram
 * that comes later received, ICMP errors as -ECONNREFUSED.
 * weft-test: io */
#include "net_support.h"

#define ROUNDS 200

typedef struct udp_case {
    WEFT_CORO_FIELDS;
    const char *bind_addr;
    weft_udp_socket a, b;
    weft_sockaddr addr_a, addr_b, dead;
    weft_dgram_send s;
    weft_dgram_recv r;
    weft_timeout t;
    int i;
    size_t n;
    bool skipped;
    unsigned char out[1200], in[1200];
} udp_case;

WEFT_ASYNC(udp_case, NULL) {
    WEFT_BEGIN();
    {
        int err = weft_udp_bind(&self->a, cx->runtime, self->bind_addr);
        if (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT) {
            print_message("skipped: no IPv6 loopback on this machine (%s)\n", weft_strerror(err));
            self->skipped = true;
            WEFT_RETURN();
        }
        assert_int_equal(err, 0);
        assert_int_equal(weft_udp_bind(&self->b, cx->runtime, self->bind_addr), 0);
        assert_int_equal(weft_udp_local_addr(&self->a, &self->addr_a), 0);
        assert_int_equal(weft_udp_local_addr(&self->b, &self->addr_b), 0);
        assert_true(weft_sockaddr_port(&self->addr_a) != 0);
    }
    /* Round trips a -> b -> a with send_to / recv_from. */
    for (self->i = 0; self->i < ROUNDS; self->i++) {
        self->n = 1 + (size_t)self->i * 5 % sizeof self->out;
        for (size_t k = 0; k < self->n; k++) self->out[k] = pattern((uint32_t)self->i, k);
        WEFT_AWAIT(weft_udp_send_to_init(&self->s, &self->a, self->out, self->n, &self->addr_b));
        assert_int_equal(self->s.result, (ssize_t)self->n);
        WEFT_AWAIT(weft_udp_recv_from_init(&self->r, &self->b, self->in, sizeof self->in));
        assert_int_equal(self->r.result, (ssize_t)self->n);
        assert_true(weft_sockaddr_equal(&self->r.from, &self->addr_a));
        assert_memory_equal(self->in, self->out, self->n);
        /* and back */
        WEFT_AWAIT(weft_udp_send_to_init(&self->s, &self->b, self->in, self->n, &self->r.from));
        assert_int_equal(self->s.result, (ssize_t)self->n);
        WEFT_AWAIT(weft_udp_recv_from_init(&self->r, &self->a, self->in, sizeof self->in));
        assert_int_equal(self->r.result, (ssize_t)self->n);
        assert_true(weft_sockaddr_equal(&self->r.from, &self->addr_b));
        assert_memory_equal(self->in, self->out, self->n);
    }
    /* Connected: send / recv, and truncation of a datagram too large. */
    assert_int_equal(weft_udp_connect_addr(&self->a, &self->addr_b), 0);
    assert_int_equal(weft_udp_connect_addr(&self->b, &self->addr_a), 0);
    WEFT_AWAIT(weft_udp_send_init(&self->s, &self->a, "0123456789", 10));
    assert_int_equal(self->s.result, 10);
    WEFT_AWAIT(weft_udp_recv_init(&self->r, &self->b, self->in, 4));
    assert_int_equal(self->r.result, 4);
    assert_true(self->r.truncated);
    assert_memory_equal(self->in, "0123", 4);

    /* A recv cancelled by a timeout; the datagram sent later arrives whole. */
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_udp_recv_init(&self->r, &self->a, self->in, sizeof self->in), 20));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    WEFT_AWAIT(weft_udp_send_init(&self->s, &self->b, "late", 4));
    assert_int_equal(self->s.result, 4);
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_udp_recv_init(&self->r, &self->a, self->in, sizeof self->in), 10000));
    assert_int_equal(self->t.result, 0);
    assert_int_equal(self->r.result, 4);
    assert_memory_equal(self->in, "late", 4);

    /* Sending to a closed port on loopback: the ICMP error comes back as
     * -ECONNREFUSED on the connected socket, and nothing crashes or spins. */
    self->dead = self->addr_b;
    weft_udp_close(&self->b);
    assert_int_equal(weft_udp_connect_addr(&self->a, &self->dead), 0);
    WEFT_AWAIT(weft_udp_send_init(&self->s, &self->a, "x", 1));
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_udp_recv_init(&self->r, &self->a, self->in, sizeof self->in), 2000));
    assert_int_equal(self->t.result, 0);
    assert_int_equal(self->r.result, -ECONNREFUSED);
    weft_udp_close(&self->a);
    WEFT_END();
}

static void run_udp(const char *addr) {
    int fds = fd_count();
    weft_runtime *rt = rt_new();
    udp_case t;
    memset(&t, 0, sizeof t);
    udp_case_start(&t);
    t.bind_addr = addr;
    assert_int_equal(weft_block_on(rt, &t.base), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(fd_count(), fds);
    if (t.skipped) skip();
}

static void test_udp_ipv4(void **state) {
    (void)state;
    run_udp("127.0.0.1:0");
}

static void test_udp_ipv6(void **state) {
    (void)state;
    run_udp("[::1]:0");
}

static void test_udp_bad_address(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    weft_udp_socket u;
    size_t regs = registrations(rt);
    assert_int_equal(weft_udp_bind(&u, rt, "127.0.0.1"), -EINVAL);
    assert_int_equal(weft_udp_bind(&u, rt, "300.1.1.1:0"), -EINVAL);
    assert_int_equal(weft_udp_bind(&u, rt, "[::1]"), -EINVAL);
    assert_int_equal(weft_udp_bind(&u, rt, "1.2.3:0"), -EINVAL);
    assert_int_equal(registrations(rt), regs);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_ipv4),
        cmocka_unit_test(test_udp_ipv6),
        cmocka_unit_test(test_udp_bad_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
