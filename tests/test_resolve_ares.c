/* weft-ares, the c-ares resolver, against a DNS server of our own (real
 * packets on a loopback UDP socket, tests/dns_server.h) and temporary
 * hosts and resolv.conf files: names from the hosts file (and the file
 * read again when it changes), numeric hosts, "localhost", names from DNS
 * (A and AAAA, connect by name), unknown names and every error code, a
 * server that never answers (-ETIMEDOUT in the configured time), search
 * domains (option, resolv.conf, LOCALDOMAIN), cancellation mid-lookup (and
 * a storm of it), 2,000 concurrent lookups with no thread added, 1,000
 * lookups of the names of this machine's own /etc/hosts (the default
 * hosts file) with no thread added, lookups from fibers (and a fiber
 * cancelled mid-lookup), and the runtime destroyed with lookups in
 * flight. Both runtimes, both backends.
 * weft-test: io
 * weft-test: threaded
 * weft-test: timeout=600 */
#include <dirent.h>
#include <sys/stat.h>

#include "dns_server.h"
#include "fiber_support.h"
#include "net_support.h"
#include "net/resolver.h"
#include "ares_internal.h"

static const dns_record table[] = {
    {"web.test", DNS_A, "10.0.0.1", 0},
    {"web.test", DNS_AAAA, "fd00::1", 0},
    {"v4only.test", DNS_A, "10.0.0.2", 0},
    {"local.test", DNS_A, "127.0.0.1", 0},
    {"web.example.test", DNS_A, "10.0.0.7", 0},
    {"shadowed.test", DNS_A, "10.0.0.99", 0},
    {"empty.test", 16, NULL, 0}, /* a name with a TXT record only */
    {"broken.test", 0, NULL, 2}, /* SERVFAIL */
    {"refused.test", 0, NULL, 5},
};
#define NTABLE (sizeof table / sizeof *table)

/* ---- helpers ----------------------------------------------------------------- */

static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A temporary file holding `text`; its path in `path` (64 bytes). */
static void temp_file(char *path, const char *text) {
    strcpy(path, "/tmp/weft-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, text);
}

typedef struct env {
    weft_runtime *rt;
    dns_server srv;
    char hosts[64];
    weft_ares_options o;
} env;

static const char hosts_text[] = "# test hosts\n"
                                 "10.1.2.3   alpha alpha.hosts.test  # comment\n"
                                 "fd00::7    alpha\n"
                                 "10.9.9.9\tbeta\n"
                                 "10.0.0.50  shadowed.test\n"
                                 "not-an-address gamma\n";

/* A runtime of the suite's flavour, the DNS server (configured by the
 * caller through `srv` first) and a c-ares resolver using both. */
static void env_start(env *e, const weft_ares_options *extra) {
    e->rt = rt_new();
    assert_int_equal(dns_server_start(&e->srv, table, NTABLE, 0), 0);
    temp_file(e->hosts, hosts_text);
    e->o = extra ? *extra : (weft_ares_options){0};
    e->o.servers = e->srv.addr_text;
    e->o.hosts_path = e->hosts;
    if (!e->o.timeout_ms) e->o.timeout_ms = 5000;
    if (!e->o.attempts) e->o.attempts = 3;
    /* Hermetic: no search domain from this machine's resolv.conf, unless
     * the test is about them. */
    if (!e->o.search && !e->o.resolv_conf_path && !getenv("LOCALDOMAIN")) e->o.search = "";
    assert_string_equal(weft_resolver_name(e->rt), "getaddrinfo");
    assert_int_equal(weft_ares_install(e->rt, &e->o), 0);
    assert_string_equal(weft_resolver_name(e->rt), "c-ares");
}

static void env_stop(env *e) {
    weft_runtime_destroy(e->rt);
    dns_server_stop(&e->srv);
    unlink(e->hosts);
}

typedef struct resolve_out {
    int result;
    weft_sockaddr addrs[16];
    uint64_t ms;
} resolve_out;

typedef struct resolve_task {
    WEFT_CORO_FIELDS;
    const char *text;
    resolve_out *out;
    weft_resolve r;
    uint64_t t0;
} resolve_task;

WEFT_ASYNC(resolve_task, NULL) {
    WEFT_BEGIN();
    self->t0 = weft_clock_ms();
    WEFT_AWAIT(weft_resolve_init(&self->r, self->text, self->out->addrs, 16));
    self->out->result = self->r.result;
    self->out->ms = weft_clock_ms() - self->t0;
    WEFT_END();
}

/* Resolves `text` in a task of `rt` (a worker, on multi_thread). */
static int resolve(weft_runtime *rt, const char *text, resolve_out *out) {
    resolve_task t;
    resolve_task_start(&t);
    t.text = text;
    t.out = out;
    memset(out, 0, sizeof *out);
    assert_int_equal(run_as_task(rt, &t, sizeof t), 0);
    return out->result;
}

/* True if the answer holds the address `want` ("10.0.0.1:80"). */
static bool has(const resolve_out *o, const char *want) {
    for (int i = 0; i < o->result; i++) {
        char buf[WEFT_SOCKADDR_STRLEN];
        weft_sockaddr_format(&o->addrs[i], buf, sizeof buf);
        if (strcmp(buf, want) == 0) return true;
    }
    return false;
}

/* ---- names from the hosts file, numeric hosts, localhost ------------------------- */

static void test_hosts_file(void **state) {
    (void)state;
    env e = {0};
    env_start(&e, NULL);
    resolve_out o;
    assert_int_equal(resolve(e.rt, "alpha:80", &o), 2); /* both lines, in order */
    assert_true(has(&o, "10.1.2.3:80"));
    assert_true(has(&o, "[fd00::7]:80"));
    assert_int_equal(o.addrs[0].u.sa.sa_family, AF_INET);
    assert_int_equal(resolve(e.rt, "ALPHA.Hosts.Test:443", &o), 1); /* an alias, any case */
    assert_true(has(&o, "10.1.2.3:443"));
    assert_int_equal(resolve(e.rt, "beta:http", &o), 1); /* a service name */
    assert_true(has(&o, "10.9.9.9:80"));
    /* The hosts file comes before DNS (the server has another address). */
    assert_int_equal(resolve(e.rt, "shadowed.test:1", &o), 1);
    assert_true(has(&o, "10.0.0.50:1"));
    /* None of them asked the name server. */
    assert_int_equal(atomic_load(&e.srv.questions), 0);
    /* A line with a malformed address is skipped, not fatal. */
    assert_int_equal(resolve(e.rt, "gamma:1", &o), -WEFT_ENOTFOUND);

    /* The file is read again when it changes. */
    write_file(e.hosts, "10.4.4.4 alpha\n");
    struct timespec later[2] = {{0, UTIME_OMIT}, {time(NULL) + 10, 0}};
    utimensat(AT_FDCWD, e.hosts, later, 0);
    assert_int_equal(resolve(e.rt, "alpha:80", &o), 1);
    assert_true(has(&o, "10.4.4.4:80"));
    assert_int_equal(resolve(e.rt, "beta:80", &o), -WEFT_ENOTFOUND); /* gone: asked DNS */
    env_stop(&e);
}

static void test_numeric_and_localhost(void **state) {
    (void)state;
    env e = {0};
    env_start(&e, NULL);
    resolve_out o;
    /* Numeric host and port: answered on the spot, no resolver. */
    uint64_t lookups = atomic_load(&weft__lookup_count);
    assert_int_equal(resolve(e.rt, "127.0.0.1:99", &o), 1);
    assert_int_equal(resolve(e.rt, "[::1]:99", &o), 1);
    assert_int_equal(atomic_load(&weft__lookup_count), lookups);
    /* A numeric host with a service name: the resolver, but no DNS. */
    assert_int_equal(resolve(e.rt, "127.0.0.1:http", &o), 1);
    assert_true(has(&o, "127.0.0.1:80"));
    assert_int_equal(resolve(e.rt, "[::1]:https", &o), 1);
    assert_true(has(&o, "[::1]:443"));
    assert_int_equal(resolve(e.rt, "127.0.0.1:weft-no-such-service", &o), -WEFT_ENOSERVICE);
    assert_int_equal(resolve(e.rt, "alpha:weft-no-such-service", &o), -WEFT_ENOSERVICE);
    /* localhost: the loopback though the hosts file does not list it. */
    assert_int_equal(resolve(e.rt, "localhost:7", &o), 2);
    assert_true(has(&o, "127.0.0.1:7"));
    assert_true(has(&o, "[::1]:7"));
    assert_int_equal(atomic_load(&e.srv.questions), 0);
    env_stop(&e);
}

/* ---- names from DNS ------------------------------------------------------------------ */

typedef struct connect_case {
    WEFT_CORO_FIELDS;
    weft_tcp_listener l;
    weft_tcp_connect c;
    weft_tcp_accept a;
    char text[64];
} connect_case;

WEFT_ASYNC(connect_case, NULL) {
    WEFT_BEGIN();
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 8), 0);
    snprintf(self->text, sizeof self->text, "local.test:%u", weft_tcp_listener_port(&self->l));
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, self->text));
    assert_int_equal(self->c.result, 0);
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
    assert_int_equal(self->a.result, 0);
    weft_tcp_stream_close(&self->a.stream);
    weft_tcp_stream_close(&self->c.stream);
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, "nowhere.test:80"));
    assert_int_equal(self->c.result, -WEFT_ENOTFOUND);
    weft_tcp_listener_close(&self->l);
    WEFT_END();
}

static void test_dns_answers(void **state) {
    (void)state;
    env e = {0};
    env_start(&e, NULL);
    resolve_out o;
    assert_int_equal(resolve(e.rt, "web.test:8080", &o), 2);
    assert_true(has(&o, "10.0.0.1:8080"));
    assert_true(has(&o, "[fd00::1]:8080"));
    assert_int_equal(atomic_load(&e.srv.questions), 2); /* A and AAAA */
    assert_int_equal(resolve(e.rt, "WEB.test.:1", &o), 2); /* fully qualified, any case */
    assert_int_equal(resolve(e.rt, "v4only.test:0", &o), 1);
    assert_true(has(&o, "10.0.0.2:0"));
    /* Connect by name goes through the runtime's resolver. */
    unsigned before = atomic_load(&e.srv.questions);
    connect_case c;
    connect_case_start(&c);
    assert_int_equal(run_as_task(e.rt, &c, sizeof c), 0);
    assert_true(atomic_load(&e.srv.questions) >= before + 4);
    env_stop(&e);
}

/* Answers that come a while after the questions: the driver has served
 * the new socket's first readiness (nothing to read yet) and must be
 * waiting on it again when they arrive. If it were not, the answers would
 * be found only when its timer next fired (c-ares' timeout, 20 s here):
 * each lookup must complete with no timer firing at all. */
static void test_late_answers(void **state) {
    (void)state;
    env e = {0};
    e.srv.delay_ms = 50;
    weft_ares_options opts = {.timeout_ms = 20000, .attempts = 1};
    env_start(&e, &opts);
    resolve_out o;
    for (int i = 0; i < 3; i++) { /* c-ares opens a new socket for each */
        weft_runtime_stats st0, st1;
        weft_runtime_stats_get(e.rt, &st0);
        assert_int_equal(resolve(e.rt, "web.test:80", &o), 2);
        weft_runtime_stats_get(e.rt, &st1);
        assert_int_equal(st1.timers_fired, st0.timers_fired);
        assert_int_equal(atomic_load(&e.srv.questions), 2u * (unsigned)(i + 1));
    }
    env_stop(&e);
}

static void test_errors(void **state) {
    (void)state;
    env e = {0};
    env_start(&e, NULL);
    resolve_out o;
    assert_int_equal(resolve(e.rt, "nowhere.test:80", &o), -WEFT_ENOTFOUND);
    assert_int_equal(resolve(e.rt, "empty.test:80", &o), -WEFT_ENOADDRESS);
    assert_int_equal(resolve(e.rt, "broken.test:80", &o), -WEFT_ERESOLVER_AGAIN);
    /* c-ares 1.18 reports a refusal as it does a failure; so does glibc
     * (EAI_AGAIN). */
    assert_int_equal(resolve(e.rt, "refused.test:80", &o), -WEFT_ERESOLVER_AGAIN);
    /* Every answer was heard at once, none asked again after a timeout
     * (c-ares opens a new socket for each of these lookups: each one's
     * first readiness is served): an A and an AAAA question per lookup,
     * asked again at once on a failure, once per attempt (3). */
    assert_int_equal(atomic_load(&e.srv.questions), 2 + 2 + 6 + 6);
    assert_int_equal(resolve(e.rt, "x.onion:80", &o), -WEFT_ENOTFOUND); /* never asked */
    assert_int_equal(atomic_load(&e.srv.questions), 16);
    /* The whole mapping. */
    assert_int_equal(weft__ares_error(ARES_SUCCESS), 0);
    assert_int_equal(weft__ares_error(ARES_ENOTFOUND), -WEFT_ENOTFOUND);
    assert_int_equal(weft__ares_error(ARES_ENODATA), -WEFT_ENOADDRESS);
    assert_int_equal(weft__ares_error(ARES_ETIMEOUT), -ETIMEDOUT);
    assert_int_equal(weft__ares_error(ARES_ESERVFAIL), -WEFT_ERESOLVER_AGAIN);
    assert_int_equal(weft__ares_error(ARES_ECONNREFUSED), -WEFT_ERESOLVER_AGAIN);
    assert_int_equal(weft__ares_error(ARES_EREFUSED), -WEFT_ERESOLVER_FAIL);
    assert_int_equal(weft__ares_error(ARES_EBADRESP), -WEFT_ERESOLVER_FAIL);
    assert_int_equal(weft__ares_error(ARES_EFORMERR), -WEFT_ERESOLVER_FAIL);
    assert_int_equal(weft__ares_error(ARES_ENOMEM), -ENOMEM);
    assert_int_equal(weft__ares_error(ARES_ESERVICE), -WEFT_ENOSERVICE);
    assert_int_equal(weft__ares_error(ARES_EBADNAME), -EINVAL);
    assert_int_equal(weft__ares_error(ARES_ECANCELLED), -ECANCELED);
    assert_int_equal(weft__ares_error(ARES_EDESTRUCTION), -ESHUTDOWN);
    assert_int_equal(weft__ares_error(12345), -WEFT_ERESOLVER_FAIL);
    env_stop(&e);
}

static void test_install_errors(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    assert_int_equal(weft_ares_install(NULL, NULL), -EINVAL);
    weft_ares_options o = {.servers = "not an address"};
    assert_int_equal(weft_ares_install(rt, &o), -EINVAL);
    o = (weft_ares_options){.servers = ""};
    assert_int_equal(weft_ares_install(rt, &o), -EINVAL);
    o = (weft_ares_options){.resolv_conf_path = "/nonexistent/weft/resolv.conf"};
    assert_int_equal(weft_ares_install(rt, &o), -ENOENT);
    o = (weft_ares_options){.search = "a b c d e f g"}; /* more than resolv.conf's six */
    assert_int_equal(weft_ares_install(rt, &o), -EINVAL);
    /* Nothing was installed by the failures. */
    assert_string_equal(weft_resolver_name(rt), "getaddrinfo");
    assert_int_equal(weft_ares_install(rt, NULL), 0);
    assert_string_equal(weft_resolver_name(rt), "c-ares");
    assert_non_null(weft_ares_version());
    /* And back to getaddrinfo: "localhost" through the system resolver. */
    assert_int_equal(weft_getaddrinfo_install(rt, NULL), 0);
    assert_string_equal(weft_resolver_name(rt), "getaddrinfo");
    resolve_out out;
    assert_true(resolve(rt, "localhost:1", &out) >= 1);
    weft_runtime_destroy(rt);
}

/* ---- a server that never answers ----------------------------------------------------- */

static void test_timeout(void **state) {
    (void)state;
    env e = {0};
    e.srv.silent = true;
    weft_ares_options o = {.timeout_ms = 100, .attempts = 2};
    env_start(&e, &o);
    resolve_out out;
    weft_runtime_stats st0, st1;
    weft_runtime_stats_get(e.rt, &st0);
    uint64_t t0 = weft_clock_ms();
    assert_int_equal(resolve(e.rt, "web.test:80", &out), -ETIMEDOUT);
    uint64_t took = weft_clock_ms() - t0;
    /* Two tries of 100 then 200 ms: about 300 ms, never less than the
     * first try; the upper bound only says it did end by its own timer. */
    assert_true(took >= 100);
    assert_true(took < 10000);
    assert_int_equal(atomic_load(&e.srv.questions), 4); /* A and AAAA, twice */
    /* The driver's timer ends about once per c-ares timeout (twice when it
     * ends just early): it is not pushed back, nor does it spin at 1 ms. */
    weft_runtime_stats_get(e.rt, &st1);
    assert_true(st1.timers_fired - st0.timers_fired <= 8);
    env_stop(&e);
}

/* ---- search domains ------------------------------------------------------------------ */

static void test_search_option(void **state) {
    (void)state;
    env e = {0};
    weft_ares_options o = {.search = "corp.test, example.test"};
    env_start(&e, &o);
    resolve_out out;
    assert_int_equal(resolve(e.rt, "web:80", &out), 1);
    assert_true(has(&out, "10.0.0.7:80"));
    assert_int_equal(resolve(e.rt, "nothere:80", &out), -WEFT_ENOTFOUND);
    /* With a dot (ndots 1) the name is tried as it is first. */
    assert_int_equal(resolve(e.rt, "web.test:80", &out), 2);
    /* web.corp.test, web.example.test; nothere.corp.test,
     * nothere.example.test, nothere; web.test: A and AAAA each, none
     * asked twice. */
    assert_int_equal(atomic_load(&e.srv.questions), 12);
    env_stop(&e);
}

static void test_search_resolv_conf(void **state) {
    (void)state;
    char conf[64];
    temp_file(conf, "search example.test\noptions ndots:1 timeout:5 attempts:2\nnameserver 127.0.0.1\n");
    env e = {0};
    weft_ares_options o = {.resolv_conf_path = conf};
    env_start(&e, &o);
    resolve_out out;
    assert_int_equal(resolve(e.rt, "web:80", &out), 1);
    assert_true(has(&out, "10.0.0.7:80"));
    env_stop(&e);
    unlink(conf);
}

static void test_search_localdomain(void **state) {
    (void)state;
    char conf[64];
    temp_file(conf, "nameserver 127.0.0.1\n");
    setenv("LOCALDOMAIN", "example.test", 1); /* this test's own process, before any thread */
    env e = {0};
    weft_ares_options o = {.resolv_conf_path = conf};
    env_start(&e, &o);
    resolve_out out;
    assert_int_equal(resolve(e.rt, "web:80", &out), 1);
    assert_true(has(&out, "10.0.0.7:80"));
    env_stop(&e);
    unlink(conf);
}

/* ---- cancellation ----------------------------------------------------------------------- */

typedef struct wait_questions {
    WEFT_CORO_FIELDS;
    dns_server *srv;
    unsigned want;
    weft_sleep s;
} wait_questions;

WEFT_ASYNC(wait_questions, NULL) {
    WEFT_BEGIN();
    while (atomic_load(&self->srv->questions) < self->want) WEFT_AWAIT(weft_sleep_init(&self->s, 2));
    WEFT_END();
}

static void wait_for_questions(weft_runtime *rt, dns_server *srv, unsigned want) {
    wait_questions w;
    wait_questions_start(&w);
    w.srv = srv;
    w.want = want;
    assert_int_equal(weft_block_on(rt, &w.base), 0);
}

#define NCANCEL 10

static void test_cancel_mid_lookup(void **state) {
    (void)state;
    env e = {0};
    e.srv.hold = UINT32_MAX; /* answers held until released */
    env_start(&e, NULL);
    static resolve_out outs[NCANCEL];
    weft_join_handle h[NCANCEL];
    for (int i = 0; i < NCANCEL; i++) {
        resolve_task t;
        resolve_task_start(&t);
        t.text = "web.test:80";
        t.out = &outs[i];
        outs[i].result = 1;
        h[i] = weft_spawn_raw(e.rt, &t, sizeof t, 0, 0, NULL);
    }
    wait_for_questions(e.rt, &e.srv, 2 * NCANCEL);
    /* Every lookup is in flight, its questions held: drop them all. */
    for (int i = 0; i < NCANCEL; i++) weft_join_handle_abort(&h[i]);
    for (int i = 0; i < NCANCEL; i++) {
        assert_int_equal(weft_block_on(e.rt, &h[i].base), 0);
        assert_int_equal(h[i].result, -ECANCELED);
        assert_int_equal(outs[i].result, 1); /* never written */
    }
    /* The answers come after: discarded, their queries freed. */
    dns_server_release(&e.srv);
    resolve_out o;
    assert_int_equal(resolve(e.rt, "v4only.test:80", &o), 1);
    assert_true(atomic_load(&e.srv.answers) >= 2 * NCANCEL + 2);
    env_stop(&e);
}

/* Lookups dropped at random moments (a timeout of 0-3 ms) while answers
 * arrive: every one ends (answered, or timed out and discarded), nothing
 * leaks, and TSan sees no race between a drop and an answer. */
typedef struct storm_task {
    WEFT_CORO_FIELDS;
    unsigned seed, i;
    weft_timeout t;
    weft_resolve r;
    weft_sockaddr out[4];
    atomic_uint *answered, *dropped;
} storm_task;

WEFT_ASYNC(storm_task, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 20; self->i++) {
        self->seed = self->seed * 1103515245u + 12345u;
        WEFT_AWAIT(weft_timeout_init(&self->t, weft_resolve_init(&self->r, "web.test:80", self->out, 4),
                                     (self->seed >> 16) % 4));
        if (self->t.result == 0) {
            assert_int_equal(self->r.result, 2);
            atomic_fetch_add(self->answered, 1);
        } else {
            atomic_fetch_add(self->dropped, 1);
        }
    }
    WEFT_END();
}

static void test_cancel_storm(void **state) {
    (void)state;
    env e = {0};
    env_start(&e, NULL);
    static atomic_uint answered, dropped;
    weft_join_handle h[50];
    for (unsigned i = 0; i < 50; i++) {
        storm_task t;
        storm_task_start(&t);
        t.seed = i;
        t.answered = &answered;
        t.dropped = &dropped;
        h[i] = weft_spawn_raw(e.rt, &t, sizeof t, 0, 0, NULL);
    }
    for (unsigned i = 0; i < 50; i++) {
        assert_int_equal(weft_block_on(e.rt, &h[i].base), 0);
        assert_int_equal(h[i].result, 0);
    }
    assert_int_equal(atomic_load(&answered) + atomic_load(&dropped), 1000);
    env_stop(&e);
}

/* ---- 2,000 lookups at once, no thread added ------------------------------------------ */

#define NMANY 1000
static atomic_int max_threads;
static atomic_uint many_ok;

static void sample_threads(void *arg) {
    (void)arg;
    int n = thread_count();
    int m = atomic_load(&max_threads);
    while (n > m && !atomic_compare_exchange_weak(&max_threads, &m, n)) {
    }
}

typedef struct many_task {
    WEFT_CORO_FIELDS;
    char text[64];
    char want[64];
    weft_resolve r;
    weft_sockaddr out[4];
    bool sample;
} many_task;

WEFT_ASYNC(many_task, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_resolve_init(&self->r, self->text, self->out, 4));
    if (self->sample) sample_threads(NULL);
    if (self->r.result >= 1) {
        char buf[WEFT_SOCKADDR_STRLEN];
        weft_sockaddr_format(&self->out[0], buf, sizeof buf);
        if (strcmp(buf, self->want) == 0) atomic_fetch_add(&many_ok, 1);
        else fprintf(stderr, "%s: %s, want %s\n", self->text, buf, self->want);
    } else {
        fprintf(stderr, "%s: %s\n", self->text, weft_strerror(self->r.result));
    }
    WEFT_END();
}

static dns_record many_table[NMANY];
static char many_names[NMANY][32], many_addrs[NMANY][32];

static void test_many_no_thread(void **state) {
    (void)state;
    /* 1,000 names in the hosts file, 1,000 in DNS (A only: AAAA is NODATA). */
    size_t cap = NMANY * 40 + 1;
    char *hosts = malloc(cap);
    size_t at = 0;
    for (int i = 0; i < NMANY; i++) {
        at += (size_t)snprintf(hosts + at, cap - at, "10.1.%d.%d host%d.test\n", i / 250, i % 250, i);
        snprintf(many_names[i], sizeof many_names[i], "dns%d.test", i);
        snprintf(many_addrs[i], sizeof many_addrs[i], "10.2.%d.%d", i / 250, i % 250);
        many_table[i] = (dns_record){many_names[i], DNS_A, many_addrs[i], 0};
    }
    weft_runtime *rt = rt_new();
    dns_server srv = {0};
    srv.hold = 2 * NMANY; /* answer once every question is in */
    srv.on_held = sample_threads;
    assert_int_equal(dns_server_start(&srv, many_table, NMANY, 0), 0);
    char hosts_path[64];
    temp_file(hosts_path, hosts);
    free(hosts);
    weft_ares_options o = {.servers = srv.addr_text, .hosts_path = hosts_path, .timeout_ms = 20000,
                           .attempts = 2};
    assert_int_equal(weft_ares_install(rt, &o), 0);
    int base = thread_count();
    atomic_store(&max_threads, base);
    atomic_store(&many_ok, 0);
    weft_join_handle *h = calloc(2 * NMANY, sizeof *h);
    for (int i = 0; i < 2 * NMANY; i++) {
        many_task t;
        many_task_start(&t);
        int k = i % NMANY;
        if (i < NMANY) {
            snprintf(t.text, sizeof t.text, "host%d.test:80", k);
            snprintf(t.want, sizeof t.want, "10.1.%d.%d:80", k / 250, k % 250);
        } else {
            snprintf(t.text, sizeof t.text, "dns%d.test:80", k);
            snprintf(t.want, sizeof t.want, "10.2.%d.%d:80", k / 250, k % 250);
        }
        t.sample = k % 50 == 0;
        h[i] = weft_spawn_raw(rt, &t, sizeof t, 0, 0, NULL);
    }
    for (int i = 0; i < 2 * NMANY; i++) {
        assert_int_equal(weft_block_on(rt, &h[i].base), 0);
        assert_int_equal(h[i].result, 0);
    }
    free(h);
    fprintf(stderr, "questions %u answers %u ok %u\n", atomic_load(&srv.questions), atomic_load(&srv.answers), atomic_load(&many_ok));
    assert_int_equal(atomic_load(&many_ok), 2 * NMANY);
    /* Sampled while all 2,000 DNS questions were held (every lookup in
     * flight at once), and after the hosts-file lookups: not one more
     * thread than before they started. */
    assert_int_equal(atomic_load(&max_threads), base);
    assert_int_equal(atomic_load(&srv.questions), 2 * NMANY);
    weft_runtime_destroy(rt);
    dns_server_stop(&srv);
    unlink(hosts_path);
}

/* ---- /etc/hosts itself: 1,000 lookups at once, no thread added ------------------------ */

typedef struct hosts_name {
    char text[300]; /* "name:80" */
    char want[WEFT_SOCKADDR_STRLEN];
} hosts_name;

/* The names of /etc/hosts (but "localhost", which c-ares answers without
 * the file) with the first address the file gives each. */
static int etc_hosts_names(hosts_name *out, int cap) {
    FILE *f = fopen("/etc/hosts", "r");
    if (!f) return 0;
    char line[1024];
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *save = NULL, *addr = strtok_r(line, " \t\r\n", &save);
        weft_sockaddr sa;
        if (!addr || weft_sockaddr_ip(&sa, addr, 80) != 0) continue;
        char *name;
        while (n < cap && (name = strtok_r(NULL, " \t\r\n", &save))) {
            if (strcasecmp(name, "localhost") == 0 || strlen(name) > 250) continue;
            bool seen = false;
            for (int i = 0; i < n && !seen; i++)
                seen = strncasecmp(out[i].text, name, strlen(name)) == 0 && out[i].text[strlen(name)] == ':';
            if (seen) continue;
            snprintf(out[n].text, sizeof out[n].text, "%s:80", name);
            weft_sockaddr_format(&sa, out[n].want, sizeof out[n].want);
            n++;
        }
    }
    fclose(f);
    return n;
}

typedef struct etc_task {
    WEFT_CORO_FIELDS;
    const hosts_name *h;
    weft_resolve r;
    weft_sockaddr out[16];
} etc_task;

WEFT_ASYNC(etc_task, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_resolve_init(&self->r, self->h->text, self->out, 16));
    sample_threads(NULL);
    bool found = false;
    for (int i = 0; i < self->r.result; i++) {
        char buf[WEFT_SOCKADDR_STRLEN];
        weft_sockaddr_format(&self->out[i], buf, sizeof buf);
        found = found || strcmp(buf, self->h->want) == 0;
    }
    if (found) atomic_fetch_add(&many_ok, 1);
    else fprintf(stderr, "%s: %d, want %s\n", self->h->text, self->r.result, self->h->want);
    WEFT_END();
}

static void test_etc_hosts_no_thread(void **state) {
    (void)state;
    static hosts_name names[64];
    int n = etc_hosts_names(names, 64);
    if (n == 0) fail_msg("/etc/hosts names no host but localhost: this test needs one (ip6-localhost, the machine's name)");
    /* The default hosts file; a name server of our own that must not be
     * asked (every name is in the file). */
    weft_runtime *rt = rt_new();
    dns_server srv = {0};
    assert_int_equal(dns_server_start(&srv, table, NTABLE, 0), 0);
    weft_ares_options o = {.servers = srv.addr_text, .search = ""};
    assert_int_equal(weft_ares_install(rt, &o), 0);
    int base = thread_count();
    atomic_store(&max_threads, base);
    atomic_store(&many_ok, 0);
    weft_join_handle *h = calloc(NMANY, sizeof *h);
    for (int i = 0; i < NMANY; i++) {
        etc_task t;
        etc_task_start(&t);
        t.h = &names[i % n];
        h[i] = weft_spawn_raw(rt, &t, sizeof t, 0, 0, NULL);
    }
    sample_threads(NULL); /* while they run */
    for (int i = 0; i < NMANY; i++) {
        assert_int_equal(weft_block_on(rt, &h[i].base), 0);
        assert_int_equal(h[i].result, 0);
    }
    free(h);
    sample_threads(NULL);
    assert_int_equal(atomic_load(&many_ok), NMANY);
    assert_int_equal(atomic_load(&max_threads), base); /* not one thread more */
    assert_int_equal(atomic_load(&srv.questions), 0);
    weft_runtime_destroy(rt);
    dns_server_stop(&srv);
}

/* ---- from fibers ---------------------------------------------------------------------- */

static env *fiber_env;
static atomic_int fiber_phase;
static int fiber_rc;

static void *fiber_lookups(void *arg) {
    (void)arg;
    weft_sockaddr out[4];
    FCHECK_EQ(weft_fiber_resolve("alpha:80", out, 4), 2);   /* the hosts file */
    FCHECK_EQ(weft_fiber_resolve("web.test:80", out, 4), 2); /* DNS */
    FCHECK_EQ(weft_fiber_resolve("nowhere.test:80", out, 4), -WEFT_ENOTFOUND);
    return (void *)1;
}

static void *fiber_held_lookup(void *arg) {
    weft_sockaddr *out = arg;
    atomic_store(&fiber_phase, 1);
    fiber_rc = weft_fiber_resolve("web.test:80", out, 4);
    return NULL;
}

static void test_fiber_lookups(void **state) {
    (void)state;
    env e = {0};
    env_start(&e, NULL);
    fiber_env = &e;
    assert_int_equal((uintptr_t)run_fiber(e.rt, fiber_lookups, NULL), 1);
    env_stop(&e);

    /* A fiber aborted while its lookup waits for a held answer. */
    env e2 = {0};
    e2.srv.hold = UINT32_MAX;
    env_start(&e2, NULL);
    static weft_sockaddr out[4];
    memset(out, 0xab, sizeof out);
    fiber_rc = 1;
    weft_join_handle h = weft_fiber_spawn(e2.rt, fiber_held_lookup, out, NULL);
    wait_for_questions(e2.rt, &e2.srv, 2);
    weft_join_handle_abort(&h);
    assert_int_equal(weft_block_on(e2.rt, &h.base), 0);
    assert_int_equal(h.result, -ECANCELED);
    assert_int_equal(fiber_rc, -ECANCELED);
    unsigned char *p = (unsigned char *)out;
    for (size_t i = 0; i < sizeof out; i++) assert_int_equal(p[i], 0xab); /* untouched */
    dns_server_release(&e2.srv); /* the late answer is discarded, its query freed */
    resolve_out o;
    assert_int_equal(resolve(e2.rt, "v4only.test:80", &o), 1);
    env_stop(&e2);
}

/* ---- the runtime destroyed with lookups in flight ------------------------------------ */

static void test_destroy_in_flight(void **state) {
    (void)state;
    int fds = fd_count();
    env e = {0};
    e.srv.silent = true;
    env_start(&e, NULL);
    static resolve_out outs[20];
    for (int i = 0; i < 20; i++) {
        resolve_task t;
        resolve_task_start(&t);
        t.text = i % 2 ? "web.test:80" : "v4only.test:80";
        t.out = &outs[i];
        weft_join_handle_detach_value(weft_spawn_raw(e.rt, &t, sizeof t, 0, 0, NULL));
    }
    wait_for_questions(e.rt, &e.srv, 40);
    /* The tasks are dropped, their lookups cancelled, the channel and its
     * socket closed; ASan sees every query freed. */
    env_stop(&e);
    assert_int_equal(fd_count_settled(fds), fds);
}

/* A block_on future waiting for a lookup when another thread destroys
 * the runtime: block_on returns -ESHUTDOWN, the lookup was completed by
 * the shutdown, and dropping the future afterwards is safe. */
typedef struct blocked {
    weft_runtime *rt;
    resolve_task t;
    resolve_out out;
    int rc;
} blocked;

static void *block_on_thread(void *arg) {
    blocked *b = arg;
    b->rc = weft_block_on(b->rt, &b->t.base);
    return NULL;
}

static void test_destroy_under_block_on(void **state) {
    (void)state;
    env e = {0};
    e.srv.silent = true;
    env_start(&e, NULL);
    blocked *b = calloc(1, sizeof *b);
    b->rt = e.rt;
    resolve_task_start(&b->t);
    b->t.text = "web.test:80";
    b->t.out = &b->out;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, block_on_thread, b), 0);
    while (atomic_load(&e.srv.questions) < 2) usleep(1000);
    env_stop(&e);
    pthread_join(th, NULL);
    assert_int_equal(b->rc, -ESHUTDOWN);
    weft_future_drop(&b->t.base); /* after the runtime is gone */
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hosts_file),
        cmocka_unit_test(test_numeric_and_localhost),
        cmocka_unit_test(test_dns_answers),
        cmocka_unit_test(test_late_answers),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_install_errors),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_search_option),
        cmocka_unit_test(test_search_resolv_conf),
        cmocka_unit_test(test_search_localdomain),
        cmocka_unit_test(test_cancel_mid_lookup),
        cmocka_unit_test(test_cancel_storm),
        cmocka_unit_test(test_many_no_thread),
        cmocka_unit_test(test_etc_hosts_no_thread),
        cmocka_unit_test(test_fiber_lookups),
        cmocka_unit_test(test_destroy_in_flight),
        cmocka_unit_test(test_destroy_under_block_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
