/*
 * The adapters' benchmark rows (bench/adapters/run.sh runs them):
 *   bench_adapters redis ADDR CLIENTS TOTAL   SET then GET, CLIENTS fibers with one
 *                                             command in flight each (as redis-benchmark -c)
 *   bench_adapters pq CONNINFO SECONDS        SELECT 1 in a loop on one connection
 *   bench_adapters curl CLIENTS TOTAL         GET /fixed/1000 from the in-process responder
 * Each prints "name: N ops/s". The runtime is WEFT_TEST_RUNTIME's (default current_thread).
 */
#include "http_responder.h"
#include "weft/curl.h"
#include "weft/pq.h"
#include "weft/redis.h"

static int clients, total, seconds;
static const char *target;
static double now_s(void) { return (double)weft_clock_ms() / 1000.0; }

/* ---- redis ---- */
static weft_redis *rconn;
static int rphase; /* 0 SET, 1 GET */
static void *redis_client(void *arg) {
    int n = total / clients;
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        int err = rphase == 0 ? weft_fiber_redis_commandf(rconn, &r, "SET key:%d xxx", i)
                              : weft_fiber_redis_commandf(rconn, &r, "GET key:%d", i);
        if (err < 0) { fprintf(stderr, "redis: %s\n", strerror(-err)); exit(1); }
        freeReplyObject(r);
    }
    return NULL;
}
static void *redis_main(void *arg) {
    if (weft_fiber_redis_connect(&rconn, target) < 0) { fprintf(stderr, "redis: no connect\n"); exit(1); }
    for (rphase = 0; rphase < 2; rphase++) {
        double t0 = now_s();
        fibers_run_all(redis_client, calloc((size_t)clients, 1), 1, clients);
        double dt = now_s() - t0;
        printf("redis_%s: %.0f ops/s\n", rphase ? "get" : "set", (total / clients * clients) / dt);
    }
    weft_redis_close(rconn);
    return NULL;
}

/* ---- pq ---- */
static void *pq_main(void *arg) {
    weft_pq *c = NULL;
    char msg[256];
    if (weft_fiber_pq_connect(&c, target, msg, sizeof msg) < 0) { fprintf(stderr, "pq: %s\n", msg); exit(1); }
    double t0 = now_s(), end = t0 + seconds;
    long n = 0;
    while (now_s() < end) {
        PGresult **rs; int k;
        if (weft_fiber_pq_query(c, "SELECT 1", &rs, &k) < 0) { fprintf(stderr, "pq: query failed\n"); exit(1); }
        weft_pq_results_free(rs, k);
        n++;
    }
    printf("pq_select1: %.0f ops/s\n", n / (now_s() - t0));
    weft_pq_close(c);
    return NULL;
}

/* ---- curl ---- */
static weft_curl *multi;
static int cport;
static size_t sink(char *p, size_t s, size_t n, void *a) { return s * n; }
static void *curl_client(void *arg) {
    CURL *e = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/fixed/1000", cport);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    for (int i = 0; i < total / clients; i++) {
        CURLcode code;
        if (weft_fiber_curl_perform(multi, e, &code, NULL) < 0 || code != CURLE_OK) {
            fprintf(stderr, "curl: transfer failed\n"); exit(1);
        }
    }
    curl_easy_cleanup(e);
    return NULL;
}
static void *curl_main(void *arg) {
    responder r;
    if (responder_start(&r) < 0) exit(1);
    cport = r.port;
    weft_curl_create(&multi, weft_runtime_current());
    double t0 = now_s();
    fibers_run_all(curl_client, calloc((size_t)clients, 1), 1, clients);
    printf("curl_get_1k: %.0f ops/s\n", (total / clients * clients) / (now_s() - t0));
    weft_curl_destroy(multi);
    responder_stop(&r);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: see the top of bench_adapters.c\n"); return 2; }
    weft_fiber_fn fn;
    if (strcmp(argv[1], "redis") == 0 && argc == 5) {
        target = argv[2]; clients = atoi(argv[3]); total = atoi(argv[4]); fn = redis_main;
    } else if (strcmp(argv[1], "pq") == 0) {
        target = argv[2]; seconds = atoi(argv[3]); fn = pq_main;
    } else if (strcmp(argv[1], "curl") == 0) {
        clients = atoi(argv[2]); total = atoi(argv[3]); fn = curl_main;
    } else return 2;
    weft_runtime *rt = rt_new();
    weft_join_handle h = weft_fiber_spawn(rt, fn, NULL, NULL);
    weft_block_on(rt, &h.base);
    weft_runtime_destroy(rt);
    return check_failures ? 1 : 0;
}
