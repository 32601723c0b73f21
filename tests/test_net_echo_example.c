/* The echo examples as a user runs them (examples/echo_server,
 * examples/echo_client): the server serves, stops with status 0 on
 * SIGTERM, and every set-up failure ends it with a message and status 1 (2
 * for usage) instead of a crash or a hang: a port in use, a malformed
 * address, bad arguments. On SIGINT it stops gracefully: it answers the
 * request it was answering, closes every connection with EOF and exits 0;
 * a connection that does not finish within the grace period, or a second
 * signal, makes it close what is left and exit 0. The client stops on
 * SIGINT after the round trips in flight and exits 0. Skipped in builds
 * without the examples.
 * weft-test: io  weft-test: timeout=180 */
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>

#include "net_support.h"

static char server_path[4096], client_path[4096];

static bool find_server(void) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = 0;
    char *dir = dirname(exe);
    snprintf(server_path, sizeof server_path, "%s/../examples/echo_server", dir);
    snprintf(client_path, sizeof client_path, "%s/../examples/echo_client", dir);
    return access(server_path, X_OK) == 0 && access(client_path, X_OK) == 0;
}

/* Starts the server with `args`; its stdout and stderr come back through
 * *out and *err (non-blocking pipes). */
static pid_t start(char *const args[], int *out, int *err) {
    int po[2], pe[2];
    assert_int_equal(pipe2(po, O_CLOEXEC), 0);
    assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execv(args[0], args);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    *out = po[0];
    *err = pe[0];
    return pid;
}

/* Reads what `fd` has until EOF (or the first line, if `line`) or until
 * `ms` pass. */
static void slurp(int fd, char *buf, size_t cap, int ms, bool line) {
    size_t n = 0;
    uint64_t end = mono_ns() + (uint64_t)ms * 1000000u;
    while (n < cap - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)((end - mono_ns()) / 1000000u);
        if (mono_ns() >= end || poll(&p, 1, left) <= 0) break;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        if (line && memchr(buf, '\n', n)) break;
    }
    buf[n] = 0;
}

static int wait_exit(pid_t pid) {
    int status = 0;
    for (int i = 0; i < 2000; i++) { /* 20 s */
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("echo_server did not exit");
    return -1;
}

static int run_to_exit(char *const args[], char *err_text, size_t cap) {
    int out, err;
    pid_t pid = start(args, &out, &err);
    int code = wait_exit(pid);
    slurp(err, err_text, cap, 1000, false);
    close(out);
    close(err);
    return code;
}

static void test_echo_server_example(void **state) {
    (void)state;
    if (!find_server()) {
        print_message("skipped: %s not built\n", server_path);
        skip();
    }
    char line[64], errs[512];
    /* Serves, then stops cleanly on SIGTERM. */
    char *args[] = {server_path, NULL};
    int out, err;
    pid_t pid = start(args, &out, &err);
    slurp(out, line, sizeof line, 20000, true);
    unsigned port = 0;
    if (sscanf(line, "listening on %u", &port) != 1) fail_msg("server said \"%s\"", line);
    {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        weft_sockaddr a;
        assert_int_equal(weft_sockaddr_ip(&a, "127.0.0.1", (uint16_t)port), 0);
        assert_int_equal(connect(c, &a.u.sa, a.len), 0);
        assert_int_equal(write(c, "ping", 4), 4);
        char back[4];
        size_t got = 0;
        while (got < 4) {
            ssize_t r = read(c, back + got, 4 - got);
            assert_true(r > 0);
            got += (size_t)r;
        }
        assert_memory_equal(back, "ping", 4);
        close(c);
    }
    /* A second server on the same port: reported, status 1. */
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%u", port);
    char *busy[] = {server_path, "--port", port_text, NULL};
    assert_int_equal(run_to_exit(busy, errs, sizeof errs), 1);
    assert_non_null(strstr(errs, "bind"));
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
    close(out);
    close(err);

    /* Malformed address, bad arguments. */
    char *bad_host[] = {server_path, "--host", "300.1.1.1", NULL};
    assert_int_equal(run_to_exit(bad_host, errs, sizeof errs), 1);
    assert_non_null(strstr(errs, "300.1.1.1"));
    char *bad_port[] = {server_path, "--port", "8o8o", NULL};
    assert_int_equal(run_to_exit(bad_port, errs, sizeof errs), 2);
    char *big_port[] = {server_path, "--port", "70000", NULL};
    assert_int_equal(run_to_exit(big_port, errs, sizeof errs), 2);
    char *no_value[] = {server_path, "--buf", NULL};
    assert_int_equal(run_to_exit(no_value, errs, sizeof errs), 2);
}

/* ---- stopping gracefully ------------------------------------------------------------ */

/* Starts the server with `extra` arguments and returns its port. */
static pid_t start_server(char *const extra[], int *out, int *err, unsigned *port) {
    char *args[16] = {server_path};
    int n = 1;
    for (int i = 0; extra && extra[i] && n < 15; i++) args[n++] = extra[i];
    args[n] = NULL;
    pid_t pid = start(args, out, err);
    char line[64];
    slurp(*out, line, sizeof line, 20000, true);
    if (sscanf(line, "listening on %u", port) != 1) fail_msg("server said \"%s\"", line);
    return pid;
}

static int connect_to(unsigned port) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    weft_sockaddr a;
    assert_int_equal(weft_sockaddr_ip(&a, "127.0.0.1", (uint16_t)port), 0);
    assert_int_equal(connect(c, &a.u.sa, a.len), 0);
    return c;
}

/* Reads until EOF (or `ms` without a byte); returns the count, checking
 * every byte against pattern(id, .). -1 on a wrong byte or an error. */
static long read_to_eof(int fd, uint32_t id, int ms) {
    unsigned char buf[65536];
    long got = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, ms) <= 0) return -2; /* no EOF came */
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0) return -1;
        if (r == 0) return got;
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != pattern(id, (uint64_t)got + (uint64_t)i)) return -1;
        got += r;
    }
}

/* Sends pattern(id, .) without reading until the kernel takes no more (the
 * server is blocked writing the echo back to us); returns the count. */
static long fill(int fd, uint32_t id) {
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    unsigned char buf[65536];
    long sent = 0;
    for (;;) {
        for (size_t i = 0; i < sizeof buf; i++) buf[i] = pattern(id, (uint64_t)sent + i);
        ssize_t w = write(fd, buf, sizeof buf);
        if (w > 0) {
            sent += w;
            continue;
        }
        assert_true(w < 0 && errno == EAGAIN);
        /* Full for now: wait a while for the server to make room again. */
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, 300) <= 0) break;
    }
    fcntl(fd, F_SETFL, fl);
    return sent;
}

static void test_echo_server_sigint_finishes_requests(void **state) {
    (void)state;
    if (!find_server()) skip();
    int out, err;
    unsigned port;
    char *extra[] = {"--grace", "20000", "--buf", "4096", NULL};
    pid_t pid = start_server(extra, &out, &err, &port);
    int a = connect_to(port);
    assert_int_equal(write(a, "ping", 4), 4);
    char back[4];
    assert_int_equal(read(a, back, 4), 4);
    /* b: much more than the buffers hold, never read: the server is in the
     * middle of writing an echo back when the signal comes. */
    int b = connect_to(port);
    long sent = fill(b, 5);
    assert_true(sent > 0);
    kill(pid, SIGINT);
    /* a, idle, is closed with EOF; b gets the echo of everything the server
     * had read (a prefix of what was sent, byte for byte), then EOF. */
    assert_int_equal(read_to_eof(a, 0, 20000), 0);
    long got = read_to_eof(b, 5, 20000);
    if (got <= 0) fail_msg("b: %ld (%s)", got, strerror(errno));
    assert_true(got <= sent);
    assert_int_equal(wait_exit(pid), 0);
    char errs[1024];
    slurp(err, errs, sizeof errs, 1000, false);
    assert_non_null(strstr(errs, "shutting down (2 connections open)"));
    assert_null(strstr(errs, "closing"));
    close(a);
    close(b);
    close(out);
    close(err);
}

static void test_echo_server_grace_and_second_signal(void **state) {
    (void)state;
    if (!find_server()) skip();
    for (int second = 0; second < 2; second++) {
        int out, err;
        unsigned port;
        char *extra[] = {"--grace", second ? "600000" : "300", "--workers", second ? "2" : "0", NULL};
        char **args = extra;
        if (!second) extra[2] = NULL; /* current_thread */
        pid_t pid = start_server(args, &out, &err, &port);
        int b = connect_to(port);
        assert_true(fill(b, 6) > 0); /* and never read: it cannot finish */
        kill(pid, SIGINT);
        if (second) {
            usleep(100000);
            kill(pid, SIGINT); /* within a ten-minute grace period */
        }
        assert_int_equal(wait_exit(pid), 0);
        char errs[1024];
        slurp(err, errs, sizeof errs, 1000, false);
        assert_non_null(strstr(errs, second ? "second signal; closing 1 connections"
                                            : "grace period over; closing 1 connections"));
        close(b);
        close(out);
        close(err);
    }
}

/* True once the process catches SIGINT (weft's signal listener is in place). */
static bool catches_sigint(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool yes = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long long mask;
        if (sscanf(line, "SigCgt: %llx", &mask) == 1) yes = mask & (1ull << (SIGINT - 1));
    }
    fclose(f);
    return yes;
}

static void test_echo_client_sigint(void **state) {
    (void)state;
    if (!find_server()) skip();
    int out, err;
    unsigned port;
    pid_t srv = start_server(NULL, &out, &err, &port);
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%u", port);
    char *args[] = {client_path, "--port", port_text, "--conns", "10", "--msgs", "100000000",
                    "--size", "100", NULL};
    int cout, cerr;
    /* The client's latency table is sized for every message it may send:
     * 4 GB of address space it never touches (it is stopped long before). */
    pid_t cl = start(args, &cout, &cerr);
    for (int i = 0; i < 2000 && !catches_sigint(cl); i++) usleep(10000);
    usleep(200000); /* let it run a little; any moment is a fine moment to stop */
    kill(cl, SIGINT);
    int code = wait_exit(cl);
    char text[2048], etext[2048];
    slurp(cout, text, sizeof text, 1000, false);
    slurp(cerr, etext, sizeof etext, 1000, false);
    if (code != 0) fail_msg("echo_client exited with %d: %s%s", code, text, etext);
    assert_non_null(strstr(text, "errors: 0 failed connections, 0 mismatched messages"));
    assert_non_null(strstr(text, "stopped by a signal: 0 connections cut off"));
    kill(srv, SIGTERM);
    assert_int_equal(wait_exit(srv), 0);
    close(cout);
    close(cerr);
    close(out);
    close(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_server_example),
        cmocka_unit_test(test_echo_server_sigint_finishes_requests),
        cmocka_unit_test(test_echo_server_grace_and_second_signal),
        cmocka_unit_test(test_echo_client_sigint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
