/*
 * http_hello: a small HTTP/1.1 server — "Hello, World!" on every path and
 * a JSON answer on /json — with keep-alive, pipelining and a graceful
 * shutdown on SIGINT/SIGTERM. The one to copy.
 *
 *     http_hello [--port 8080] [--threads N]    (N > 1: the multi_thread runtime)
 *     curl -i localhost:8080/json
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "weft.h"
#include "weft/http.h"

static void hello(weft_http_request *req, weft_http_response *res) {
    if (strcmp(req->path, "/json") == 0) {
        static const char json[] = "{\"message\":\"Hello, World!\"}";
        weft_http_response_send(res, 200, "application/json", json, sizeof json - 1);
    } else {
        weft_http_response_send(res, 200, "text/plain", "Hello, World!", 13);
    }
}

/* Waits for SIGINT or SIGTERM (through a signalfd), then shuts the server
 * down, giving requests in flight 5 seconds. */
typedef struct until_signal {
    WEFT_CORO_FIELDS;
    weft_async_fd sig;
    weft_async_fd_ready ready;
    weft_http_server *srv;
    weft_http_server_shutdown shutdown;
} until_signal;

WEFT_ASYNC(until_signal, NULL) {
    WEFT_BEGIN();
    for (;;) {
        WEFT_AWAIT(weft_async_fd_ready_init(&self->ready, &self->sig, WEFT_INTEREST_READ));
        if (self->ready.result < 0) break;
        struct signalfd_siginfo si;
        if (read(weft_async_fd_fd(&self->sig), &si, sizeof si) == (ssize_t)sizeof si) break;
        weft_async_fd_clear_ready(&self->sig, &self->ready.ready); /* readiness was stale */
    }
    WEFT_AWAIT(weft_http_server_shutdown_init(&self->shutdown, self->srv, 5000));
    WEFT_END();
}

int main(int argc, char **argv) {
    int port = 8080, threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
    }
    /* Block the signals before any thread starts, so only the signalfd sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    weft_runtime *rt;
    weft_runtime_options ro = {.flavor = threads > 1 ? WEFT_MULTI_THREAD : WEFT_CURRENT_THREAD,
                               .workers = (unsigned)threads};
    int r = weft_runtime_create(&rt, &ro);
    if (r) return fprintf(stderr, "runtime: %s\n", weft_strerror(r)), 1;
    weft_http_server_options opts = {.handler = {.fn = hello}};
    weft_http_server *srv;
    char addr[32];
    snprintf(addr, sizeof addr, "0.0.0.0:%d", port);
    if ((r = weft_http_server_create(&srv, rt, &opts)) || (r = weft_http_server_listen(srv, addr, 0))) {
        fprintf(stderr, "http_hello: %s: %s\n", addr, weft_strerror(r));
        return 1;
    }
    printf("listening on %u\n", weft_http_server_port(srv));
    fflush(stdout);

    until_signal main_task;
    until_signal_start(&main_task);
    main_task.srv = srv;
    main_task.sig = (weft_async_fd){0};
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0 || weft_async_fd_adopt(&main_task.sig, rt, sfd) < 0) return perror("signalfd"), 1;
    weft_block_on(rt, &main_task.base);
    weft_async_fd_close(&main_task.sig);
    weft_http_server_destroy(srv);
    weft_runtime_destroy(rt);
    return 0;
}
