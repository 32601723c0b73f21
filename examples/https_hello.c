/*
 * https_hello: http_hello over TLS — "Hello, World!" on every path and a
 * JSON answer on /json, served over HTTPS by libweft-http with a weft-tls
 * stream on each connection (examples/https_streams.h), with a graceful
 * shutdown on Ctrl-C or SIGTERM.
 *
 *     openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
 *         -keyout key.pem -out cert.pem -days 1 -subj /CN=localhost
 *     https_hello --cert cert.pem --key key.pem [--port 8443] [--threads N]
 *                 [--tls13-ciphers TLS_AES_128_GCM_SHA256]
 *     curl -k https://localhost:8443/json
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "https_streams.h"
#include "shutdown_signal.h"
#include "weft.h"
#include "weft/http.h"
#include "weft/tls.h"

static void hello(weft_http_request *req, weft_http_response *res) {
    if (strcmp(req->path, "/json") == 0) {
        static const char json[] = "{\"message\":\"Hello, World!\"}";
        weft_http_response_send(res, 200, "application/json", json, sizeof json - 1);
    } else {
        weft_http_response_send(res, 200, "text/plain", "Hello, World!", 13);
    }
}

/* The root future: waits for SIGINT or SIGTERM, then shuts the server
 * down, giving requests in flight 5 seconds. */
typedef struct until_signal {
    WEFT_CORO_FIELDS;
    weft_http_server *srv;
    shutdown_signals *sigs;
    shutdown_signal sig;
    weft_http_server_shutdown shutdown;
} until_signal;

WEFT_ASYNC(until_signal, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(shutdown_signal_init(&self->sig, self->sigs));
    WEFT_AWAIT(weft_http_server_shutdown_init(&self->shutdown, self->srv, 5000));
    WEFT_END();
}

int main(int argc, char **argv) {
    int port = 8443, threads = 1;
    const char *cert = NULL, *key = NULL, *ciphers = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--cert") == 0) cert = argv[i + 1];
        else if (strcmp(argv[i], "--key") == 0) key = argv[i + 1];
        else if (strcmp(argv[i], "--tls13-ciphers") == 0) ciphers = argv[i + 1];
    }
    if (!cert || !key) {
        fprintf(stderr, "usage: https_hello --cert FILE --key FILE [--port N] [--threads N] "
                        "[--tls13-ciphers LIST]\n");
        return 2;
    }
    shutdown_signals sigs; /* SIGINT and SIGTERM: ours from here on */
    int r = shutdown_signals_listen(&sigs);
    if (r) return fprintf(stderr, "https_hello: signals: %s\n", weft_strerror(r)), 1;
    /* With a cipher list, TLS 1.3 only (the list is TLS 1.3's). */
    weft_tls_options to = {.cert_file = cert, .key_file = key,
                           .alpn = (const char *[]){"http/1.1", NULL},
                           .ciphersuites = ciphers,
                           .min_version = ciphers ? WEFT_TLS_1_3 : WEFT_TLS_VERSION_DEFAULT};
    weft_tls_context *tls;
    r = weft_tls_context_create(&tls, WEFT_TLS_SERVER, &to);
    if (r) return fprintf(stderr, "https_hello: tls: %s (%s)\n", weft_strerror(r), weft_tls_context_error_detail()), 1;

    weft_runtime *rt;
    weft_runtime_options ro = {.flavor = threads > 1 ? WEFT_MULTI_THREAD : WEFT_CURRENT_THREAD,
                               .workers = (unsigned)threads};
    if ((r = weft_runtime_create(&rt, &ro))) return fprintf(stderr, "runtime: %s\n", weft_strerror(r)), 1;
    weft_http_stream_factory https = https_streams(tls);
    weft_http_server_options opts = {.handler = {.fn = hello}, .streams = &https};
    weft_http_server *srv;
    char addr[32];
    snprintf(addr, sizeof addr, "0.0.0.0:%d", port);
    if ((r = weft_http_server_create(&srv, rt, &opts)) || (r = weft_http_server_listen(srv, addr, 0))) {
        fprintf(stderr, "https_hello: %s: %s\n", addr, weft_strerror(r));
        return 1;
    }
    until_signal main_task;
    until_signal_start(&main_task);
    main_task.srv = srv;
    main_task.sigs = &sigs;
    printf("listening on %u\n", weft_http_server_port(srv));
    fflush(stdout);
    weft_block_on(rt, &main_task.base);
    weft_http_server_destroy(srv);
    weft_runtime_destroy(rt);
    weft_tls_context_destroy(tls);
    shutdown_signals_destroy(&sigs);
    return 0;
}
