/*
 * http_get: fetches URLs with weft's HTTP client and prints each status
 * line, header fields and body; the connections are pooled, so several
 * URLs on one host share one connection. Fiber style.
 *
 *     http_get [-L] URL...        (-L: follow up to 5 redirects)
 */
#include <stdio.h>
#include <string.h>

#include "weft.h"
#include "weft/http.h"

typedef struct args {
    int argc;
    char **argv;
    int status;
} args;

static void *get_all(void *arg) {
    args *a = arg;
    bool follow = a->argc > 1 && strcmp(a->argv[1], "-L") == 0;
    weft_http_client_options opts = {.max_redirects = follow ? 5 : 0};
    weft_http_client *client;
    if (weft_http_client_create(&client, &opts)) return NULL;
    for (int i = follow ? 2 : 1; i < a->argc; i++) {
        weft_http_client_request req = {.url = a->argv[i]};
        weft_http_client_response res;
        int r = weft_http_fiber_fetch(client, &req, &res);
        if (r < 0) {
            fprintf(stderr, "%s: %s\n", a->argv[i], weft_strerror(r));
            a->status = 1;
            continue;
        }
        printf("HTTP/1.%d %d %.*s\n", res.head.version, res.status, (int)res.head.reason_len, res.head.reason);
        for (size_t h = 0; h < res.head.num_headers; h++)
            printf("%.*s: %.*s\n", (int)res.head.headers[h].name_len, res.head.headers[h].name,
                   (int)res.head.headers[h].value_len, res.head.headers[h].value);
        printf("\n");
        /* The body as it comes, through the response's stream. */
        char buf[16384];
        ssize_t n;
        while ((n = weft_fiber_read(res.body, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
        if (n < 0) {
            fprintf(stderr, "%s: body: %s\n", a->argv[i], weft_strerror((int)n));
            a->status = 1;
        }
        weft_http_client_response_destroy(&res); /* the connection goes back to the pool */
    }
    weft_http_client_destroy(client);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: http_get [-L] URL...\n");
        return 2;
    }
    args a = {argc, argv, 0};
    weft_runtime *rt;
    if (weft_runtime_create(&rt, NULL)) return 1;
    weft_fiber f;
    weft_block_on(rt, weft_fiber_init(&f, get_all, &a, NULL));
    weft_runtime_destroy(rt);
    return a.status;
}
