/* Sockets under faults: registration with the reactor failing (epoll_ctl
 * ENOMEM/ENOSPC; on the poll backend the registry's growth failing) in
 * every opening verb; accept's EMFILE/ENFILE (reported once, backs off,
 * recovers) and ECONNABORTED (skipped); read/write/readv/writev/datagram
 * EINTR (retried), ECONNRESET/EPIPE/EIO (reported to that stream only);
 * socket()/socketpair()/connect() failing. Each time the error reaches
 * the caller, no descriptor or registration is left behind, and the
 * runtime (and the listener, and the other streams) keep working.
 * weft-test: io */
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>

#include "fault.h"
#include "net_support.h"
#include "io/registration.h"

static weft_runtime *rt;

static bool poll_backend(void) { return strcmp(backend_name(rt), "poll") == 0; }

/* Runs one future to completion on the test thread (the root future). */
static void run(weft_future *f) { assert_int_equal(weft_block_on(rt, f), 0); }

static void nap(void) {
    weft_sleep s;
    run(weft_sleep_init(&s, 1));
}

/* ---- making the next registration fail ------------------------------------------- */

#define POLL_REGISTRY_CAP 64 /* the poll backend's registry grows from 64 by doubling */
static weft_udp_socket pad[POLL_REGISTRY_CAP];
static int npad;

/* Makes the next registration fail and returns the error it will report:
 * epoll: the next EPOLL_CTL_ADD fails with `err`. poll: the registry is
 * filled to its capacity, so the next registration must grow it, and that
 * realloc (on this thread: the root future's) fails: -ENOMEM. */
static int arm_register_fault(int err) {
    if (!poll_backend()) {
        fault_arm(FAULT_EPOLL_CTL, (fault_rule){.err = err, .op = EPOLL_CTL_ADD, .count = 1});
        return -err;
    }
    assert_true(registrations(rt) <= POLL_REGISTRY_CAP);
    while (registrations(rt) < POLL_REGISTRY_CAP)
        assert_int_equal(weft_udp_bind(&pad[npad++], rt, "127.0.0.1:0"), 0);
    nap(); /* a driver turn sizes its pollfd set for them */
    fault_arm(FAULT_REALLOC, (fault_rule){.err = ENOMEM, .count = 1, .this_thread = true});
    return -ENOMEM;
}

static void disarm_register_fault(void) {
    assert_int_equal(fault_failed(poll_backend() ? FAULT_REALLOC : FAULT_EPOLL_CTL), 1);
    fault_disarm_all();
    while (npad > 0) weft_udp_close(&pad[--npad]);
}

static bool fd_is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

/* A connected TCP pair through `l`. */
static void tcp_pair(weft_tcp_listener *l, weft_tcp_stream *client, weft_tcp_stream *server) {
    weft_sockaddr a;
    assert_int_equal(weft_tcp_listener_local_addr(l, &a), 0);
    weft_tcp_connect c;
    run(weft_tcp_connect_addr_init(&c, &a));
    assert_int_equal(c.result, 0);
    *client = c.stream;
    weft_tcp_accept acc;
    run(weft_tcp_accept_init(&acc, l));
    assert_int_equal(acc.result, 0);
    *server = acc.stream;
}

/* Bytes go from `from` to `to`, intact. */
static void check_flow(weft_stream *from, weft_stream *to) {
    static const char msg[] = "weft fault";
    weft_write_all w;
    run(weft_write_all_init(&w, from, msg, sizeof msg));
    assert_int_equal(w.result, 0);
    char buf[sizeof msg] = {0};
    weft_read_exact r;
    run(weft_read_exact_init(&r, to, buf, sizeof buf));
    assert_int_equal(r.result, 0);
    assert_memory_equal(buf, msg, sizeof msg);
}

static void setup_rt(void) { rt = rt_new(); }
static void teardown_rt(void) {
    fault_disarm_all();
    weft_runtime_destroy(rt);
    rt = NULL;
}

/* ---- registration ------------------------------------------------------------------ */

static void test_register_fails_in_every_opening_verb(void **state) {
    (void)state;
    setup_rt();
    char upath[64];
    snprintf(upath, sizeof upath, "@weft-fault-%d", (int)getpid());
    int errs[] = {ENOMEM, ENOSPC};
    for (int i = 0; i < 2; i++) {
        int fds = fd_count();
        size_t regs = registrations(rt);
        int want;
        /* TCP listener: nothing left open. */
        weft_tcp_listener l;
        want = arm_register_fault(errs[i]);
        assert_int_equal(weft_tcp_listener_bind(&l, rt, "127.0.0.1:0", 16), want);
        disarm_register_fault();
        assert_null(l.io.reg);
        /* UDP, Unix listener, Unix datagram. */
        weft_udp_socket u;
        want = arm_register_fault(errs[i]);
        assert_int_equal(weft_udp_bind(&u, rt, "127.0.0.1:0"), want);
        disarm_register_fault();
        weft_unix_listener ul;
        want = arm_register_fault(errs[i]);
        assert_int_equal(weft_unix_listener_bind(&ul, rt, upath, 16), want);
        disarm_register_fault();
        weft_unix_datagram ud;
        want = arm_register_fault(errs[i]);
        assert_int_equal(weft_unix_datagram_unbound(&ud, rt), want);
        disarm_register_fault();
        /* Pairs: the first or the second registration fails. */
        for (unsigned k = 0; k < 2; k++) {
            weft_unix_stream a, b;
            if (!poll_backend()) {
                fault_arm(FAULT_EPOLL_CTL, (fault_rule){.err = errs[i], .op = EPOLL_CTL_ADD, .skip = k, .count = 1});
                want = -errs[i];
            } else {
                want = arm_register_fault(errs[i]);
                if (k == 1) { /* room for exactly one */
                    weft_udp_close(&pad[--npad]);
                }
            }
            assert_int_equal(weft_unix_stream_pair(&a, &b, rt), want);
            disarm_register_fault();
            assert_int_equal(registrations(rt), regs);
            assert_int_equal(fd_count(), fds);
        }
        /* Adopting a descriptor: it is not closed on failure (documented). */
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        weft_unix_stream us;
        want = arm_register_fault(errs[i]);
        assert_int_equal(weft_unix_stream_adopt(&us, rt, sv[0]), want);
        disarm_register_fault();
        assert_true(fd_is_open(sv[0]));
        weft_async_fd af;
        want = arm_register_fault(errs[i]);
        assert_int_equal(weft_async_fd_adopt(&af, rt, sv[1]), want);
        disarm_register_fault();
        assert_true(fd_is_open(sv[1]));
        close(sv[0]);
        close(sv[1]);
        assert_int_equal(registrations(rt), regs);
        assert_int_equal(fd_count(), fds);
    }
    teardown_rt();
}

static void test_register_fails_in_connect_and_accept(void **state) {
    (void)state;
    setup_rt();
    weft_tcp_listener l;
    assert_int_equal(weft_tcp_listener_bind(&l, rt, "127.0.0.1:0", 16), 0);
    weft_sockaddr a;
    assert_int_equal(weft_tcp_listener_local_addr(&l, &a), 0);
    int fds = fd_count();
    size_t regs = registrations(rt);

    /* connect: the half-made socket is closed, the error is the result. */
    weft_tcp_connect c;
    weft_tcp_connect_addr_init(&c, &a);
    int want = arm_register_fault(ENOMEM);
    run(&c.base);
    disarm_register_fault();
    assert_int_equal(c.result, want);
    assert_null(c.stream.io.reg);
    /* The refused attempt completed in the kernel and waits in the queue:
     * take it out (and close it) so that the listener is as before. */
    weft_tcp_accept acc;
    run(weft_tcp_accept_init(&acc, &l));
    assert_int_equal(acc.result, 0);
    weft_tcp_stream_close(&acc.stream);
    assert_int_equal(fd_count(), fds);
    assert_int_equal(registrations(rt), regs);

    /* accept: the accepted connection is closed, the error reported, and
     * the listener serves the next connection. */
    weft_tcp_stream client, server;
    run(weft_tcp_connect_addr_init(&c, &a));
    assert_int_equal(c.result, 0);
    client = c.stream;
    want = arm_register_fault(ENOSPC);
    run(weft_tcp_accept_init(&acc, &l));
    disarm_register_fault();
    assert_int_equal(acc.result, want);
    assert_null(acc.stream.io.reg);
    /* The client sees its connection closed. */
    char byte;
    weft_read rd;
    run(weft_read_init(&rd, &client.stream, &byte, 1));
    assert_true(rd.result == 0 || rd.result == -ECONNRESET);
    weft_tcp_stream_close(&client);
    assert_int_equal(fd_count(), fds);
    assert_int_equal(registrations(rt), regs);

    tcp_pair(&l, &client, &server);
    check_flow(&client.stream, &server.stream);
    check_flow(&server.stream, &client.stream);
    weft_tcp_stream_close(&client);
    weft_tcp_stream_close(&server);

    /* Unix connect, the same. */
    char upath[64];
    snprintf(upath, sizeof upath, "@weft-fault-c-%d", (int)getpid());
    weft_unix_listener ul;
    assert_int_equal(weft_unix_listener_bind(&ul, rt, upath, 16), 0);
    fds = fd_count();
    weft_unix_connect uc;
    weft_unix_connect_init(&uc, upath);
    want = arm_register_fault(ENOMEM);
    run(&uc.base);
    disarm_register_fault();
    assert_int_equal(uc.result, want);
    weft_unix_accept ua;
    run(weft_unix_accept_init(&ua, &ul));
    assert_int_equal(ua.result, 0);
    weft_unix_stream_close(&ua.stream);
    assert_int_equal(fd_count(), fds);
    weft_unix_listener_close(&ul);
    weft_tcp_listener_close(&l);
    teardown_rt();
}

/* ---- accept errors ------------------------------------------------------------------- */

static void test_accept_exhaustion_reported_once(void **state) {
    (void)state;
    setup_rt();
    int errs[] = {EMFILE, ENFILE};
    weft_tcp_listener l;
    assert_int_equal(weft_tcp_listener_bind(&l, rt, "127.0.0.1:0", 16), 0);
    weft_sockaddr a;
    assert_int_equal(weft_tcp_listener_local_addr(&l, &a), 0);
    for (int i = 0; i < 2; i++) {
        weft_tcp_connect c;
        run(weft_tcp_connect_addr_init(&c, &a));
        assert_int_equal(c.result, 0);
        /* Four failures: the first reported, three absorbed by the back-off. */
        fault_arm(FAULT_ACCEPT, (fault_rule){.err = errs[i], .count = 4, .fd = FAULT_FD(l.io.reg->fd)});
        weft_tcp_accept acc;
        run(weft_tcp_accept_init(&acc, &l));
        assert_int_equal(acc.result, -errs[i]);
        assert_int_equal(fault_failed(FAULT_ACCEPT), 1);
        run(weft_tcp_accept_init(&acc, &l));
        assert_int_equal(acc.result, 0);
        assert_int_equal(fault_failed(FAULT_ACCEPT), 4);
        fault_disarm(FAULT_ACCEPT);
        check_flow(&c.stream.stream, &acc.stream.stream);
        weft_tcp_stream_close(&acc.stream);
        weft_tcp_stream_close(&c.stream);
        /* The success re-armed the report: the next loop sees it again. */
    }
    weft_tcp_listener_close(&l);
    teardown_rt();
}

static void test_accept_aborted_connections_skipped(void **state) {
    (void)state;
    setup_rt();
    weft_tcp_listener l;
    assert_int_equal(weft_tcp_listener_bind(&l, rt, "127.0.0.1:0", 16), 0);
    weft_sockaddr a;
    assert_int_equal(weft_tcp_listener_local_addr(&l, &a), 0);
    weft_tcp_connect c;
    run(weft_tcp_connect_addr_init(&c, &a));
    assert_int_equal(c.result, 0);
    fault_arm(FAULT_ACCEPT, (fault_rule){.err = ECONNABORTED, .count = 3, .fd = FAULT_FD(l.io.reg->fd)});
    weft_tcp_accept acc;
    run(weft_tcp_accept_init(&acc, &l));
    assert_int_equal(fault_failed(FAULT_ACCEPT), 3);
    fault_disarm(FAULT_ACCEPT);
    assert_int_equal(acc.result, 0);
    check_flow(&acc.stream.stream, &c.stream.stream);
    weft_tcp_stream_close(&acc.stream);
    weft_tcp_stream_close(&c.stream);
    weft_tcp_listener_close(&l);
    teardown_rt();
}

/* ---- reads and writes ------------------------------------------------------------------ */

typedef struct two_pairs {
    weft_tcp_listener l;
    weft_tcp_stream c1, s1, c2, s2;
} two_pairs;

static void pairs_open(two_pairs *p) {
    assert_int_equal(weft_tcp_listener_bind(&p->l, rt, "127.0.0.1:0", 16), 0);
    tcp_pair(&p->l, &p->c1, &p->s1);
    tcp_pair(&p->l, &p->c2, &p->s2);
}
static void pairs_close(two_pairs *p) {
    weft_tcp_stream_close(&p->c1);
    weft_tcp_stream_close(&p->s1);
    weft_tcp_stream_close(&p->c2);
    weft_tcp_stream_close(&p->s2);
    weft_tcp_listener_close(&p->l);
}

/* An error on s1's reads reaches that read only; the other connection and
 * the next read of s1 work. */
static void read_error(fault_fn fn, int err, bool vectored) {
    two_pairs p;
    pairs_open(&p);
    static const char msg[] = "abc";
    weft_write_all w;
    run(weft_write_all_init(&w, &p.c1.stream, msg, sizeof msg));
    fault_arm(fn, (fault_rule){.err = err, .count = 1, .fd = FAULT_FD(weft_tcp_stream_fd(&p.s1))});
    char buf[sizeof msg] = {0};
    ssize_t got;
    struct iovec iov[2] = {{buf, 1}, {buf + 1, sizeof buf - 1}};
    if (vectored) {
        weft_readv r;
        run(weft_readv_init(&r, &p.s1.stream, iov, 2));
        got = r.result;
    } else {
        weft_read r;
        run(weft_read_init(&r, &p.s1.stream, buf, sizeof buf));
        got = r.result;
    }
    assert_int_equal(fault_failed(fn), 1);
    fault_disarm(fn);
    assert_int_equal(got, -err);
    check_flow(&p.c2.stream, &p.s2.stream); /* the other connection: untouched */
    weft_read_exact re;
    run(weft_read_exact_init(&re, &p.s1.stream, buf, sizeof buf)); /* the data is still there */
    assert_int_equal(re.result, 0);
    assert_memory_equal(buf, msg, sizeof msg);
    pairs_close(&p);
}

/* EINTR is retried inside the operation: the caller never sees it. */
static void read_eintr(fault_fn fn, bool vectored) {
    two_pairs p;
    pairs_open(&p);
    static const char msg[] = "abc";
    weft_write_all w;
    run(weft_write_all_init(&w, &p.c1.stream, msg, sizeof msg));
    fault_arm(fn, (fault_rule){.err = EINTR, .count = 3, .fd = FAULT_FD(weft_tcp_stream_fd(&p.s1))});
    char buf[sizeof msg] = {0};
    struct iovec iov[2] = {{buf, 1}, {buf + 1, sizeof buf - 1}};
    ssize_t got;
    if (vectored) {
        weft_readv r;
        run(weft_readv_init(&r, &p.s1.stream, iov, 2));
        got = r.result;
    } else {
        weft_read r;
        run(weft_read_init(&r, &p.s1.stream, buf, sizeof buf));
        got = r.result;
    }
    assert_int_equal(fault_failed(fn), 3);
    fault_disarm(fn);
    assert_int_equal(got, sizeof msg);
    assert_memory_equal(buf, msg, sizeof msg);
    pairs_close(&p);
}

static void test_read_faults(void **state) {
    (void)state;
    setup_rt();
    for (int v = 0; v < 2; v++) {
        fault_fn fn = v ? FAULT_READV : FAULT_READ;
        read_eintr(fn, v);
        read_error(fn, ECONNRESET, v);
        read_error(fn, EIO, v);
    }
    teardown_rt();
}

static void write_fault(fault_fn fn, int err, bool vectored) {
    two_pairs p;
    pairs_open(&p);
    static const char msg[] = "hello";
    fault_arm(fn, (fault_rule){.err = err, .count = err == EINTR ? 3 : 1,
                               .fd = FAULT_FD(weft_tcp_stream_fd(&p.c1))});
    ssize_t got;
    struct iovec iov[2] = {{(void *)msg, 2}, {(void *)(msg + 2), sizeof msg - 2}};
    if (vectored) {
        weft_writev w;
        run(weft_writev_init(&w, &p.c1.stream, iov, 2));
        got = w.result;
    } else {
        weft_write w;
        run(weft_write_init(&w, &p.c1.stream, msg, sizeof msg));
        got = w.result;
    }
    assert_int_equal(fault_failed(fn), err == EINTR ? 3 : 1);
    fault_disarm(fn);
    if (err == EINTR) {
        assert_int_equal(got, sizeof msg);
        char buf[sizeof msg];
        weft_read_exact r;
        run(weft_read_exact_init(&r, &p.s1.stream, buf, sizeof buf));
        assert_int_equal(r.result, 0);
        assert_memory_equal(buf, msg, sizeof msg);
    } else {
        assert_int_equal(got, -err);
        check_flow(&p.c2.stream, &p.s2.stream);
        check_flow(&p.c1.stream, &p.s1.stream); /* the next write of c1 works */
    }
    pairs_close(&p);
}

static void test_write_faults(void **state) {
    (void)state;
    setup_rt();
    /* TCP streams write with send / sendmsg (MSG_NOSIGNAL). */
    int errs[] = {EINTR, EPIPE, ECONNRESET, EIO};
    for (int i = 0; i < 4; i++) {
        write_fault(FAULT_SEND, errs[i], false);
        write_fault(FAULT_SENDMSG, errs[i], true);
    }
    teardown_rt();
}

static void test_datagram_faults(void **state) {
    (void)state;
    setup_rt();
    weft_udp_socket a, b;
    assert_int_equal(weft_udp_bind(&a, rt, "127.0.0.1:0"), 0);
    assert_int_equal(weft_udp_bind(&b, rt, "127.0.0.1:0"), 0);
    weft_sockaddr aa, ba;
    assert_int_equal(weft_udp_local_addr(&a, &aa), 0);
    assert_int_equal(weft_udp_local_addr(&b, &ba), 0);
    assert_int_equal(weft_udp_connect_addr(&a, &ba), 0);
    char msg[] = "dgram", buf[16];
    weft_dgram_send s;
    weft_dgram_recv r;
    /* EINTR: retried. */
    fault_arm(FAULT_SEND, (fault_rule){.err = EINTR, .count = 2});
    run(weft_udp_send_init(&s, &a, msg, sizeof msg));
    assert_int_equal(fault_failed(FAULT_SEND), 2);
    assert_int_equal(s.result, sizeof msg);
    fault_arm(FAULT_SENDTO, (fault_rule){.err = EINTR, .count = 2});
    run(weft_udp_send_to_init(&s, &b, msg, sizeof msg, &aa));
    assert_int_equal(fault_failed(FAULT_SENDTO), 2);
    assert_int_equal(s.result, sizeof msg);
    fault_arm(FAULT_RECVMSG, (fault_rule){.err = EINTR, .count = 2, .fd = FAULT_FD(b.io.reg->fd)});
    run(weft_udp_recv_init(&r, &b, buf, sizeof buf));
    assert_int_equal(fault_failed(FAULT_RECVMSG), 2);
    assert_int_equal(r.result, sizeof msg);
    /* Errors: reported, the socket keeps working. */
    fault_arm(FAULT_RECVMSG, (fault_rule){.err = ECONNREFUSED, .count = 1, .fd = FAULT_FD(a.io.reg->fd)});
    run(weft_udp_recv_init(&r, &a, buf, sizeof buf));
    assert_int_equal(r.result, -ECONNREFUSED);
    fault_arm(FAULT_SEND, (fault_rule){.err = ENOBUFS, .count = 1});
    run(weft_udp_send_init(&s, &a, msg, sizeof msg));
    assert_int_equal(s.result, -ENOBUFS);
    fault_disarm_all();
    run(weft_udp_recv_init(&r, &a, buf, sizeof buf)); /* b's send_to above */
    assert_int_equal(r.result, sizeof msg);
    run(weft_udp_send_init(&s, &a, msg, sizeof msg));
    run(weft_udp_recv_init(&r, &b, buf, sizeof buf));
    assert_int_equal(r.result, sizeof msg);
    weft_udp_close(&a);
    weft_udp_close(&b);
    teardown_rt();
}

/* ---- socket(), socketpair(), connect() ------------------------------------------------- */

static void test_socket_creation_faults(void **state) {
    (void)state;
    setup_rt();
    weft_tcp_listener l;
    assert_int_equal(weft_tcp_listener_bind(&l, rt, "127.0.0.1:0", 16), 0);
    weft_sockaddr a;
    assert_int_equal(weft_tcp_listener_local_addr(&l, &a), 0);
    char upath[64];
    snprintf(upath, sizeof upath, "@weft-fault-s-%d", (int)getpid());
    int fds = fd_count();
    size_t regs = registrations(rt);
    int errs[] = {EMFILE, ENFILE};
    for (int i = 0; i < 2; i++) {
        int e = errs[i];
        weft_tcp_listener l2;
        weft_udp_socket u;
        weft_unix_listener ul;
        weft_unix_stream x, y;
        weft_tcp_connect c;
        weft_unix_connect uc;
        fault_arm(FAULT_SOCKET, (fault_rule){.err = e});
        assert_int_equal(weft_tcp_listener_bind(&l2, rt, "127.0.0.1:0", 16), -e);
        assert_int_equal(weft_udp_bind(&u, rt, "127.0.0.1:0"), -e);
        assert_int_equal(weft_unix_listener_bind(&ul, rt, upath, 16), -e);
        run(weft_tcp_connect_addr_init(&c, &a));
        assert_int_equal(c.result, -e);
        run(weft_tcp_connect_init(&c, "127.0.0.1:1"));
        assert_int_equal(c.result, -e);
        run(weft_unix_connect_init(&uc, upath));
        assert_int_equal(uc.result, -e);
        fault_disarm(FAULT_SOCKET);
        fault_arm(FAULT_SOCKETPAIR, (fault_rule){.err = e});
        assert_int_equal(weft_unix_stream_pair(&x, &y, rt), -e);
        fault_disarm(FAULT_SOCKETPAIR);
        assert_int_equal(fd_count(), fds);
        assert_int_equal(registrations(rt), regs);
    }
    /* connect(2) itself fails: that error, and the socket is closed. */
    int cerrs[] = {ENETUNREACH, ECONNREFUSED, EACCES};
    for (int i = 0; i < 3; i++) {
        weft_tcp_connect c;
        fault_arm(FAULT_CONNECT, (fault_rule){.err = cerrs[i], .count = 1});
        run(weft_tcp_connect_addr_init(&c, &a));
        assert_int_equal(fault_failed(FAULT_CONNECT), 1);
        fault_disarm(FAULT_CONNECT);
        assert_int_equal(c.result, -cerrs[i]);
        assert_int_equal(fd_count(), fds);
        assert_int_equal(registrations(rt), regs);
    }
    /* And everything works again. */
    weft_tcp_stream x, y;
    tcp_pair(&l, &x, &y);
    check_flow(&x.stream, &y.stream);
    weft_tcp_stream_close(&x);
    weft_tcp_stream_close(&y);
    weft_tcp_listener_close(&l);
    teardown_rt();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_fails_in_every_opening_verb),
        cmocka_unit_test(test_register_fails_in_connect_and_accept),
        cmocka_unit_test(test_accept_exhaustion_reported_once),
        cmocka_unit_test(test_accept_aborted_connections_skipped),
        cmocka_unit_test(test_read_faults),
        cmocka_unit_test(test_write_faults),
        cmocka_unit_test(test_datagram_faults),
        cmocka_unit_test(test_socket_creation_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
