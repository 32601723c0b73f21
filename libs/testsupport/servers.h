/*
 * Test servers for the adapter tests: redis-server and PostgreSQL started
 * by scripts/test-servers/ on 127.0.0.1, on a free port, in a temporary
 * directory, stopped and removed at exit. A test that cannot get its
 * server fails with the reason (the script's message): it never passes
 * without having run.
 */
#ifndef WEFT_TEST_SERVERS_H
#define WEFT_TEST_SERVERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct test_server {
    char kind[16];
    char dir[256];
    int port;
    pid_t pid;     /* the server's process, for the tests that kill it */
    pid_t owner;   /* the process that started it (only it stops it) */
    char why[512]; /* why it could not start */
} test_server;

/* A port nobody listens on right now (the kernel's choice for port 0). */
static inline __attribute__((unused)) int test_free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

/* Starts a server of `kind` ("redis" or "postgres"). Returns true, or
 * false with the reason in s->why. Tries a few ports (another process may
 * take the one chosen between the choice and the server's bind). */
static inline __attribute__((unused)) bool test_server_start(test_server *s, const char *kind) {
    memset(s, 0, sizeof *s);
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    for (int attempt = 0; attempt < 4; attempt++) {
        snprintf(s->dir, sizeof s->dir, "/tmp/weft-%s.XXXXXX", kind);
        if (!mkdtemp(s->dir)) {
            snprintf(s->why, sizeof s->why, "mkdtemp: %s", strerror(errno));
            return false;
        }
        s->port = test_free_port();
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "bash %s/scripts/test-servers/%s.sh start %s %d 2>&1", WEFT_SOURCE_DIR,
                 kind, s->dir, s->port);
        fflush(NULL);
        FILE *p = popen(cmd, "r");
        if (!p) {
            snprintf(s->why, sizeof s->why, "popen: %s", strerror(errno));
            return false;
        }
        size_t n = fread(s->why, 1, sizeof s->why - 1, p);
        s->why[n] = 0;
        int st = pclose(p);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            char pidfile[300];
            snprintf(pidfile, sizeof pidfile, "%s/pid", s->dir);
            FILE *f = fopen(pidfile, "r");
            if (f) {
                if (fscanf(f, "%d", &s->pid) != 1) s->pid = 0;
                fclose(f);
            }
            s->owner = getpid();
            s->why[0] = 0;
            return true;
        }
        snprintf(cmd, sizeof cmd, "bash %s/scripts/test-servers/%s.sh stop %s >/dev/null 2>&1",
                 WEFT_SOURCE_DIR, kind, s->dir);
        if (system(cmd) != 0) { /* nothing more to do */
        }
    }
    return false;
}

/* Stops the server and removes its directory (only from the process that
 * started it: the tests' forked children share the struct). */
static inline __attribute__((unused)) void test_server_stop(test_server *s) {
    if (!s->dir[0] || s->owner != getpid()) return;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "bash %s/scripts/test-servers/%s.sh stop %s >/dev/null 2>&1",
             WEFT_SOURCE_DIR, s->kind, s->dir);
    fflush(NULL);
    if (system(cmd) != 0) { /* reported by the script */
    }
    s->dir[0] = 0;
}

/* Kills the server at once (SIGKILL), as a crash would. */
static inline __attribute__((unused)) void test_server_kill(test_server *s) {
    if (s->pid > 0) kill(s->pid, SIGKILL);
}

/* The shared server of a test program: started once in main, before the
 * tests fork, and stopped at exit. */
static test_server test_srv;
static void test_srv_stop_at_exit(void) { test_server_stop(&test_srv); }

/* Starts the program's shared server or fails the whole program, saying why. */
static inline __attribute__((unused)) void test_srv_require(const char *kind) {
    if (!test_server_start(&test_srv, kind)) {
        fprintf(stderr, "FAILED: could not start the %s test server: %s\n", kind, test_srv.why);
        exit(1);
    }
    atexit(test_srv_stop_at_exit);
}

#endif
