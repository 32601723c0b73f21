/* Running the example programs (examples/<name>) from a test: start one
 * with its output on pipes, read the port it announces, talk to it over
 * plain sockets with time limits, signal it and collect its exit status. */
#ifndef WEFT_TEST_EXAMPLE_SUPPORT_H
#define WEFT_TEST_EXAMPLE_SUPPORT_H

#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include "net_support.h"

/* Generous: the machine may be loaded; no test waits this long unless it fails. */
#define EX_WAIT_MS 20000

/* The path of examples/<name> next to this test's build directory, or
 * false if that example was not built. */
static inline __attribute__((unused)) bool example_path(const char *name, char *out, size_t cap) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = 0;
    snprintf(out, cap, "%s/../examples/%s", dirname(exe), name);
    return access(out, X_OK) == 0;
}

typedef struct example {
    pid_t pid;
    int out, err; /* its stdout and stderr */
    unsigned port;
} example;

/* Reads what `fd` has until EOF (or the first line, if `line`) or until
 * `ms` pass. */
static inline __attribute__((unused)) size_t ex_slurp(int fd, char *buf, size_t cap, int ms, bool line) {
    size_t n = 0;
    uint64_t end = mono_ns() + (uint64_t)ms * 1000000u;
    while (n < cap - 1 && mono_ns() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)((end - mono_ns()) / 1000000u) + 1) <= 0) break;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        if (line && memchr(buf, '\n', n)) break;
    }
    buf[n] = 0;
    return n;
}

/* Starts `args` (args[0] the program) and reads the "listening on PORT" it
 * prints first. */
static inline __attribute__((unused)) example ex_start(char *const args[]) {
    int po[2], pe[2];
    assert_int_equal(pipe2(po, O_CLOEXEC), 0);
    assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
    fflush(NULL);
    example ex = {.pid = fork()};
    assert_true(ex.pid >= 0);
    if (ex.pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execv(args[0], args);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    ex.out = po[0];
    ex.err = pe[0];
    char line[128];
    ex_slurp(ex.out, line, sizeof line, EX_WAIT_MS, true);
    if (sscanf(line, "listening on %u", &ex.port) != 1) fail_msg("%s said \"%s\"", args[0], line);
    return ex;
}

/* Waits for the program to exit; returns its status (128 + signal if a
 * signal ended it). Kills it and fails after EX_WAIT_MS. */
static inline __attribute__((unused)) int ex_wait(example *ex) {
    int status = 0;
    for (int i = 0; i < EX_WAIT_MS / 10; i++) {
        if (waitpid(ex->pid, &status, WNOHANG) == ex->pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(ex->pid, SIGKILL);
    waitpid(ex->pid, &status, 0);
    fail_msg("the example did not exit");
    return -1;
}

/* Sends SIGINT, checks that the program exits with status 0, and returns
 * what it wrote to stderr (in `errs`). */
static inline __attribute__((unused)) void ex_stop(example *ex, char *errs, size_t cap) {
    kill(ex->pid, SIGINT);
    int code = ex_wait(ex);
    ex_slurp(ex->err, errs, cap, 1000, false);
    if (code != 0) fail_msg("exit status %d; stderr: %s", code, errs);
    close(ex->out);
    close(ex->err);
}

/* A blocking TCP connection to 127.0.0.1:port. */
static inline __attribute__((unused)) int ex_connect(unsigned port) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    weft_sockaddr a;
    assert_int_equal(weft_sockaddr_ip(&a, "127.0.0.1", (uint16_t)port), 0);
    assert_int_equal(connect(c, &a.u.sa, a.len), 0);
    return c;
}

static inline __attribute__((unused)) void ex_send(int fd, const char *text) {
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = send(fd, text + done, len - done, MSG_NOSIGNAL);
        assert_true(w > 0);
        done += (size_t)w;
    }
}

/* Reads exactly `len` bytes (or fewer at EOF, or after `ms` without a
 * byte); returns the count. */
static inline __attribute__((unused)) size_t ex_read(int fd, void *buf, size_t len, int ms) {
    size_t got = 0;
    while (got < len) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, ms) <= 0) break;
        ssize_t r = read(fd, (char *)buf + got, len - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

/* Reads the next line ("\n" included, NUL-terminated) within `ms`; false
 * at EOF or when none comes. One byte at a time: nothing past the line is
 * consumed. */
static inline __attribute__((unused)) bool ex_read_line(int fd, char *line, size_t cap, int ms) {
    size_t n = 0;
    while (n < cap - 1) {
        if (ex_read(fd, line + n, 1, ms) != 1) break;
        if (line[n++] == '\n') {
            line[n] = 0;
            return true;
        }
    }
    line[n] = 0;
    return false;
}

/* True if the peer closes the connection (EOF or reset) within `ms`,
 * whatever it sends first. */
static inline __attribute__((unused)) bool ex_closes(int fd, int ms) {
    char buf[4096];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, ms) <= 0) return false;
        if (read(fd, buf, sizeof buf) <= 0) return true;
    }
}

#endif
