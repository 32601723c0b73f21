/* The echo server example as a user runs it (examples/echo_server): it
 * serves, stops with status 0 on SIGTERM, and every set-up failure ends it
 * with a message and status 1 (2 for usage) instead of a crash or a hang:
 * a port in use, a malformed address, bad arguments. Skipped in builds
 * without the examples.
 * weft-test: io  weft-test: timeout=120 */
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>

#include "net_support.h"

static char server_path[4096];

static bool find_server(void) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = 0;
    snprintf(server_path, sizeof server_path, "%s/../examples/echo_server", dirname(exe));
    return access(server_path, X_OK) == 0;
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
        execv(server_path, args);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_server_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
