/* The fiber examples as programs, against real clients over loopback:
 * examples/fiber_chat (three chat clients), examples/fiber_proxy (in
 * front of examples/fiber_echo_server, with its idle timeout and grace
 * period) and examples/fiber_http (keep-alive, a POST body, malformed
 * requests). Each is stopped with SIGINT and must exit with status 0.
 * Skipped in builds without the examples.
 * weft-test: io  weft-test: timeout=240 */
#include "example_support.h"

/* ---- fiber_chat -------------------------------------------------------------------- */

/* Reads lines from `fd` until one equals `want`; fails if none does. Every
 * line skipped is checked against `never` (may be NULL). */
static void expect_line(int fd, const char *want, const char *never) {
    char line[2048];
    while (ex_read_line(fd, line, sizeof line, EX_WAIT_MS)) {
        if (never && strcmp(line, never) == 0) fail_msg("got \"%s\" while waiting for \"%s\"", line, want);
        if (strcmp(line, want) == 0) return;
    }
    fail_msg("no \"%s\" (last read: \"%s\")", want, line);
}

/* Sends `text` from `from` again and again until `to` receives it as
 * `seen`: then the server's fiber for `to` is subscribed to the chat. */
static void wait_subscribed(int from, const char *text, int to, const char *seen) {
    char line[2048];
    for (int i = 0; i < 100; i++) {
        ex_send(from, text);
        while (ex_read_line(to, line, sizeof line, 200))
            if (strcmp(line, seen) == 0) return;
    }
    fail_msg("\"%s\" never arrived", seen);
}

static void test_chat_three_clients(void **state) {
    (void)state;
    char path[4096], errs[4096];
    if (!example_path("fiber_chat", path, sizeof path)) skip();
    char *args[] = {path, NULL};
    example ex = ex_start(args);
    /* Connected one after the other, accepted in that order: clients 1, 2, 3. */
    int a = ex_connect(ex.port), b = ex_connect(ex.port), c = ex_connect(ex.port);
    wait_subscribed(a, "sync\n", b, "1: sync\n");
    wait_subscribed(a, "sync\n", c, "1: sync\n");
    wait_subscribed(c, "sync\n", a, "3: sync\n");

    /* A line goes to the others, not back to its sender (CRLF or LF). */
    ex_send(a, "hello from a\r\n");
    expect_line(b, "1: hello from a\n", NULL);
    expect_line(c, "1: hello from a\n", NULL);
    ex_send(b, "hi from b\n");
    expect_line(a, "2: hi from b\n", "1: hello from a\n"); /* a's own line would have come first */
    expect_line(c, "2: hi from b\n", NULL);

    /* Leaving is announced. */
    close(c);
    expect_line(a, "* client 3 left\n", NULL);
    expect_line(b, "* client 3 left\n", NULL);

    /* A line over the server's limit ends that client's session, only. */
    char big[1500];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ex_send(b, big);
    assert_true(ex_closes(b, EX_WAIT_MS));
    expect_line(a, "* client 2 left\n", NULL);
    close(b);

    /* A fourth client still chats with the first. */
    int d = ex_connect(ex.port);
    wait_subscribed(d, "sync\n", a, "4: sync\n");
    ex_send(a, "bye\n");
    expect_line(d, "1: bye\n", NULL);

    /* Ctrl-C: every client's connection is closed, and the server exits 0. */
    ex_stop(&ex, errs, sizeof errs);
    assert_true(ex_closes(a, EX_WAIT_MS));
    assert_true(ex_closes(d, EX_WAIT_MS));
    close(a);
    close(d);
}

/* ---- fiber_proxy ------------------------------------------------------------------- */

/* Sends `len` bytes of pattern(id, .) through `fd` and reads them back. */
static void round_trip(int fd, uint32_t id, size_t len) {
    unsigned char *out = malloc(len), *in = malloc(len);
    for (size_t i = 0; i < len; i++) out[i] = pattern(id, i);
    size_t sent = 0, got = 0;
    while (got < len) { /* interleaved: neither side's buffers fill up */
        if (sent < len) {
            ssize_t w = send(fd, out + sent, len - sent < 65536 ? len - sent : 65536, MSG_NOSIGNAL);
            assert_true(w > 0);
            sent += (size_t)w;
        }
        size_t r = ex_read(fd, in + got, sent - got, EX_WAIT_MS);
        assert_true(r > 0);
        got += r;
    }
    assert_memory_equal(in, out, len);
    free(out);
    free(in);
}

static void test_proxy_echo_idle_and_grace(void **state) {
    (void)state;
    char proxy[4096], echo[4096], errs[4096], upstream[64];
    if (!example_path("fiber_proxy", proxy, sizeof proxy) || !example_path("fiber_echo_server", echo, sizeof echo))
        skip();
    char *echo_args[] = {echo, NULL};
    example up = ex_start(echo_args);
    snprintf(upstream, sizeof upstream, "127.0.0.1:%u", up.port);
    char *args[] = {proxy, "127.0.0.1:0", upstream, "1", NULL}; /* idle timeout: 1 s */
    example ex = ex_start(args);

    /* Bytes go through both ways, several connections at once. */
    int a = ex_connect(ex.port), b = ex_connect(ex.port);
    round_trip(a, 1, 1 << 20);
    round_trip(b, 2, 1000);
    round_trip(a, 3, 10);
    /* A half-close travels through: the echo server sees EOF and closes. */
    shutdown(a, SHUT_WR);
    assert_true(ex_closes(a, EX_WAIT_MS));
    close(a);

    /* A pair that stays silent is closed after the idle timeout (never before). */
    round_trip(b, 4, 5);
    uint64_t t0 = mono_ns();
    assert_true(ex_closes(b, EX_WAIT_MS));
    assert_true(mono_ns() - t0 >= 500000000u); /* 1 s after the last byte moved, which was before t0 */
    close(b);

    /* An upstream that refuses: the client is closed, the proxy says why. */
    char *refused_args[] = {proxy, "127.0.0.1:0", "127.0.0.1:1", NULL};
    example bad = ex_start(refused_args);
    int c = ex_connect(bad.port);
    assert_true(ex_closes(c, EX_WAIT_MS));
    close(c);
    ex_stop(&bad, errs, sizeof errs);
    assert_non_null(strstr(errs, "fiber_proxy: 127.0.0.1:1:"));

    /* Ctrl-C: a connection in use goes on during the grace period; the
     * proxy exits 0 as soon as it ends. */
    int d = ex_connect(ex.port);
    round_trip(d, 5, 100);
    kill(ex.pid, SIGINT);
    round_trip(d, 6, 100000);
    close(d);
    assert_int_equal(ex_wait(&ex), 0);
    close(ex.out);
    close(ex.err);

    /* One that outlives the grace period is closed, and the exit is 0. */
    char *long_idle[] = {proxy, "127.0.0.1:0", upstream, "600", NULL};
    ex = ex_start(long_idle);
    int e = ex_connect(ex.port);
    round_trip(e, 7, 100);
    ex_stop(&ex, errs, sizeof errs);
    assert_true(ex_closes(e, EX_WAIT_MS));
    close(e);

    ex_stop(&up, errs, sizeof errs);
}

/* ---- fiber_http -------------------------------------------------------------------- */

/* Reads exactly the bytes of `want` and compares. */
static void expect_bytes(int fd, const char *want) {
    size_t len = strlen(want);
    char *got = calloc(1, len + 1);
    size_t n = ex_read(fd, got, len, EX_WAIT_MS);
    if (n != len || memcmp(got, want, len) != 0) fail_msg("got \"%s\", wanted \"%s\"", got, want);
    free(got);
}

/* Waits until the server has read every byte this client sent on `fd`: its
 * end of the connection (in /proc/net/tcp, IPv4 loopback) has nothing left
 * to receive. */
static void wait_server_read(int fd) {
    struct sockaddr_in me, peer;
    socklen_t len = sizeof me;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &len), 0);
    len = sizeof peer;
    assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
    for (int i = 0; i < EX_WAIT_MS / 10; i++) {
        FILE *f = fopen("/proc/net/tcp", "r");
        assert_non_null(f);
        char line[512];
        bool drained = false;
        while (fgets(line, sizeof line, f)) {
            unsigned local_port, remote_port, tx, rx;
            if (sscanf(line, " %*d: %*x:%x %*x:%x %*x %x:%x", &local_port, &remote_port, &tx, &rx) == 4 &&
                local_port == ntohs(peer.sin_port) && remote_port == ntohs(me.sin_port))
                drained = rx == 0;
        }
        fclose(f);
        if (drained) return;
        usleep(10000);
    }
    fail_msg("the server did not read the request");
}

#define OK_HELLO "HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: keep-alive\r\n\r\nhello\n"
#define BAD "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"

static void test_http_keep_alive_post_and_errors(void **state) {
    (void)state;
    char path[4096];
    if (!example_path("fiber_http", path, sizeof path)) skip();
    char *args[] = {path, NULL};
    example ex = ex_start(args);

    /* Keep-alive: several requests on one connection, one of them a POST. */
    int a = ex_connect(ex.port);
    ex_send(a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_bytes(a, OK_HELLO);
    ex_send(a, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length:  9\r\n\r\nsome ");
    usleep(10000); /* the body in two pieces */
    ex_send(a, "text");
    expect_bytes(a, "HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: keep-alive\r\n\r\nsome text");
    ex_send(a, "GET /nothing HTTP/1.1\r\n\r\n");
    expect_bytes(a, "HTTP/1.1 404 Not Found\r\ncontent-length: 10\r\nconnection: keep-alive\r\n\r\nnot found\n");
    /* Pipelined: two requests in one write, answered in order. */
    ex_send(a, "GET / HTTP/1.1\r\n\r\nPOST /echo HTTP/1.1\r\ncontent-length: 2\r\n\r\nok");
    expect_bytes(a, OK_HELLO "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok");
    /* "Connection: close" is answered, then the connection closes. */
    ex_send(a, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    expect_bytes(a, "HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nhello\n");
    assert_true(ex_closes(a, EX_WAIT_MS));
    close(a);

    /* HTTP/1.0 closes unless it asks for keep-alive. */
    int b = ex_connect(ex.port);
    ex_send(b, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    expect_bytes(b, OK_HELLO "HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nhello\n");
    assert_true(ex_closes(b, EX_WAIT_MS));
    close(b);

    /* Malformed requests get 400 and a close. */
    const char *bad[] = {
        "NONSENSE\r\n\r\n",                                           /* no path, no version */
        "\r\n",                                                       /* an empty request line */
        "POST /echo HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",         /* a bad length */
        "POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", /* over the body limit */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int c = ex_connect(ex.port);
        ex_send(c, bad[i]);
        expect_bytes(c, BAD);
        assert_true(ex_closes(c, EX_WAIT_MS));
        close(c);
    }
    /* A header line over the limit, too. */
    int c = ex_connect(ex.port);
    char *huge = malloc(10000);
    memset(huge, 'h', 9999);
    huge[9999] = 0;
    ex_send(c, "GET / HTTP/1.1\r\nX-Huge: ");
    ex_send(c, huge);
    expect_bytes(c, BAD);
    assert_true(ex_closes(c, EX_WAIT_MS));
    close(c);
    free(huge);
    /* A body cut short by the client: 400 (to a half-closed socket), close. */
    c = ex_connect(ex.port);
    ex_send(c, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort");
    shutdown(c, SHUT_WR);
    expect_bytes(c, BAD);
    assert_true(ex_closes(c, EX_WAIT_MS));
    close(c);

    /* Ctrl-C: an idle keep-alive connection is closed; one whose request
     * is under way gets its answer, then is closed; the exit is 0. */
    int idle = ex_connect(ex.port);
    ex_send(idle, "GET / HTTP/1.1\r\n\r\n");
    expect_bytes(idle, OK_HELLO);
    int busy = ex_connect(ex.port);
    ex_send(busy, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
    wait_server_read(busy); /* the request is under way: its head is read */
    kill(ex.pid, SIGINT);
    assert_true(ex_closes(idle, EX_WAIT_MS));
    ex_send(busy, "cde"); /* after the shutdown began (idle was closed): the answer says so */
    expect_bytes(busy, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nabcde");
    assert_true(ex_closes(busy, EX_WAIT_MS));
    close(idle);
    close(busy);
    assert_int_equal(ex_wait(&ex), 0);
    close(ex.out);
    close(ex.err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_three_clients),
        cmocka_unit_test(test_proxy_echo_idle_and_grace),
        cmocka_unit_test(test_http_keep_alive_post_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
