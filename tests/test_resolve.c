/* The runtime's resolver hook (weft/resolver.h) and the getaddrinfo
 * resolver behind it.
 *
 * getaddrinfo is replaced in this program (the executable's definition
 * wins over libc's): names starting with "held" wait at a gate the test
 * opens, so lookups stay inside getaddrinfo as long as the test wants.
 * That shows the getaddrinfo resolver's bound (100 lookups, at most 4 in
 * getaddrinfo at once and at most 4 more threads), its option, that a
 * dropped lookup still queued never runs, and what runtime destruction
 * does to queued and running lookups. A resolver written here shows the
 * hook's contract: synchronous and threaded answers, refusals, the cancel
 * call, shutdown and free, connect by name through it, the address
 * filter, and a second completion caught.
 * weft-test: io
 * weft-test: threaded */
#include <dirent.h>
#include <dlfcn.h>
#include <netdb.h>

#include "net_support.h"
#include "net/net.h"

/* ---- getaddrinfo, held at a gate ---------------------------------------------- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gai_gate_open;
static int in_gai, max_in_gai, held_calls;

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
static gai_fn real_gai;
static pthread_once_t real_gai_once = PTHREAD_ONCE_INIT;
static void find_real_gai(void) { real_gai = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo"); }

/* Pool threads call it at once: the real function is looked up once. */
int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res) {
    pthread_once(&real_gai_once, find_real_gai);
    gai_fn real = real_gai;
    if (!node || strncmp(node, "held", 4) != 0) return real(node, service, hints, res);
    pthread_mutex_lock(&gate_lock);
    held_calls++;
    if (++in_gai > max_in_gai) max_in_gai = in_gai;
    pthread_cond_broadcast(&gate_cond);
    while (!gai_gate_open) pthread_cond_wait(&gate_cond, &gate_lock);
    in_gai--;
    pthread_mutex_unlock(&gate_lock);
    struct addrinfo h = *hints;
    h.ai_flags |= AI_NUMERICHOST;
    return real("127.0.0.1", service, &h, res);
}

static void gate_reset(void) {
    pthread_mutex_lock(&gate_lock);
    gai_gate_open = false;
    in_gai = max_in_gai = held_calls = 0;
    pthread_mutex_unlock(&gate_lock);
}

static void gate_release(void) {
    pthread_mutex_lock(&gate_lock);
    gai_gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static int gate_get(int *v) {
    pthread_mutex_lock(&gate_lock);
    int x = *v;
    pthread_mutex_unlock(&gate_lock);
    return x;
}

/* Waits until `n` calls are inside getaddrinfo at once. */
static void gate_wait_inside(int n) {
    pthread_mutex_lock(&gate_lock);
    while (in_gai < n) pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
}

/* Runs `rt` for `ms` milliseconds: tasks spawned on a current_thread
 * runtime are polled only inside block_on. */
static void run_for(weft_runtime *rt, uint64_t ms) {
    weft_sleep s;
    assert_int_equal(weft_block_on(rt, weft_sleep_init(&s, ms)), 0);
}

/* gate_wait_inside for lookups whose tasks only `rt` runs (nobody else
 * blocks on it meanwhile). */
static void gate_drive_inside(weft_runtime *rt, int n) {
    while (gate_get(&in_gai) < n) run_for(rt, 1);
}


static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* ---- a lookup in a task ------------------------------------------------------------- */

typedef struct lookup_task {
    WEFT_CORO_FIELDS;
    char text[64];
    weft_resolve r;
    weft_sockaddr out[4];
    int *result; /* written when it completes */
} lookup_task;

WEFT_ASYNC(lookup_task, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_resolve_init(&self->r, self->text, self->out, 4));
    *self->result = self->r.result;
    WEFT_END();
}

static weft_join_handle spawn_lookup(weft_runtime *rt, const char *text, int *result) {
    lookup_task t;
    lookup_task_start(&t);
    snprintf(t.text, sizeof t.text, "%s", text);
    t.result = result;
    *result = 1000; /* not completed */
    return weft_spawn_raw(rt, &t, sizeof t, 0, 0, NULL);
}

/* ---- the getaddrinfo resolver's bound ------------------------------------------------ */

#define NGAI 100

static void *nothing(void *arg) { return arg; }

static void run_bounded(weft_runtime *rt, int want_max) {
    /* ThreadSanitizer starts a thread of its own at the process's first
     * pthread_create (on current_thread, a lookup's): have it now. */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, nothing, NULL), 0);
    pthread_join(th, NULL);
    gate_reset();
    static int results[NGAI];
    weft_join_handle h[NGAI];
    int base = thread_count();
    for (int i = 0; i < NGAI; i++) h[i] = spawn_lookup(rt, "held.test:80", &results[i]);
    /* The first `want_max` are inside getaddrinfo; the others queue. */
    gate_drive_inside(rt, want_max);
    int during = thread_count();
    for (int i = 0; i < 20; i++) { /* give a wrong extra thread time to show up */
        run_for(rt, 1);
        assert_int_equal(gate_get(&in_gai), want_max);
    }
    assert_true(during <= base + want_max);
    gate_release();
    for (int i = 0; i < NGAI; i++) {
        assert_int_equal(weft_block_on(rt, &h[i].base), 0);
        assert_int_equal(results[i], 1);
    }
    assert_int_equal(gate_get(&max_in_gai), want_max);
    assert_int_equal(gate_get(&held_calls), NGAI);
}

static void test_gai_bounded(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    assert_string_equal(weft_resolver_name(rt), "getaddrinfo");
    run_bounded(rt, WEFT_GETADDRINFO_THREADS);
    weft_getaddrinfo_options o = {.max_threads = 2};
    assert_int_equal(weft_getaddrinfo_install(rt, &o), 0);
    run_bounded(rt, 2);
    assert_int_equal(weft_getaddrinfo_install(rt, NULL), 0); /* back to 4 */
    run_bounded(rt, WEFT_GETADDRINFO_THREADS);
    assert_int_equal(weft_getaddrinfo_install(NULL, NULL), -EINVAL);
    weft_runtime_destroy(rt);
}

/* Dropped while queued: never reaches getaddrinfo. Dropped while running:
 * finishes on its thread, its answer discarded. */
static void test_gai_cancel_queued(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    gate_reset();
    static int results[24];
    weft_join_handle h[24];
    for (int i = 0; i < 24; i++) h[i] = spawn_lookup(rt, "held.test:80", &results[i]);
    gate_drive_inside(rt, WEFT_GETADDRINFO_THREADS);
    for (int i = 0; i < 24; i++) weft_join_handle_abort(&h[i]);
    for (int i = 0; i < 24; i++) {
        assert_int_equal(weft_block_on(rt, &h[i].base), 0);
        assert_int_equal(h[i].result, -ECANCELED);
        assert_int_equal(results[i], 1000);
    }
    gate_release();
    /* A lookup after them waits for no dropped one. */
    int r;
    weft_join_handle last = spawn_lookup(rt, "localhost:1", &r);
    assert_int_equal(weft_block_on(rt, &last.base), 0);
    assert_true(r >= 1);
    assert_int_equal(gate_get(&held_calls), WEFT_GETADDRINFO_THREADS);
    weft_runtime_destroy(rt);
}

/* ---- destroy with lookups queued and running ------------------------------------------ */

/* A root future polling ten lookups side by side. */
typedef struct ten_lookups {
    weft_future base;
    weft_resolve r[10];
    weft_sockaddr out[10][2];
    bool done[10];
} ten_lookups;

static weft_poll ten_poll(weft_future *f, weft_context *cx) {
    ten_lookups *t = (ten_lookups *)f;
    bool all = true;
    for (int i = 0; i < 10; i++) {
        if (!t->done[i]) t->done[i] = weft_future_poll(&t->r[i].base, cx) == WEFT_READY;
        all = all && t->done[i];
    }
    return all ? WEFT_READY : WEFT_PENDING;
}

static void ten_drop(weft_future *f) {
    ten_lookups *t = (ten_lookups *)f;
    for (int i = 0; i < 10; i++) weft_future_drop(&t->r[i].base);
}

static const weft_future_vtable ten_vtable = {ten_poll, ten_drop, "ten_lookups"};

typedef struct blocker {
    weft_runtime *rt;
    ten_lookups *t;
    int rc;
} blocker;

static void *block_on_main(void *arg) {
    blocker *b = arg;
    b->rc = weft_block_on(b->rt, &b->t->base);
    return NULL;
}

static void *release_later(void *arg) {
    (void)arg;
    usleep(100000);
    gate_release();
    return NULL;
}

static void test_gai_destroy_queued(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    gate_reset();
    ten_lookups *t = calloc(1, sizeof *t);
    weft_future_init(&t->base, &ten_vtable);
    for (int i = 0; i < 10; i++) weft_resolve_init(&t->r[i], "held.test:80", t->out[i], 2);
    blocker b = {rt, t, 0};
    pthread_t th, rel;
    assert_int_equal(pthread_create(&th, NULL, block_on_main, &b), 0);
    gate_wait_inside(WEFT_GETADDRINFO_THREADS);
    /* Destroy waits for the calls inside getaddrinfo: let them out soon. */
    assert_int_equal(pthread_create(&rel, NULL, release_later, NULL), 0);
    weft_runtime_destroy(rt);
    pthread_join(th, NULL);
    pthread_join(rel, NULL);
    assert_int_equal(b.rc, -ESHUTDOWN);
    /* The queued six never ran; they completed with -ESHUTDOWN. The four
     * running finished. Poll them once more (no runtime needed: each is
     * complete) to read what they say. */
    assert_int_equal(gate_get(&held_calls), WEFT_GETADDRINFO_THREADS);
    weft_context cx = weft_context_make(weft_waker_noop());
    int shut = 0, ok = 0;
    for (int i = 0; i < 10; i++) {
        if (t->done[i]) continue;
        assert_int_equal(weft_future_poll(&t->r[i].base, &cx), WEFT_READY);
        if (t->r[i].result == -ESHUTDOWN) shut++;
        if (t->r[i].result == 1) ok++;
    }
    assert_int_equal(shut, 10 - WEFT_GETADDRINFO_THREADS);
    assert_int_equal(ok, WEFT_GETADDRINFO_THREADS);
    weft_future_drop(&t->base);
    free(t);
}

/* ---- a resolver of our own ------------------------------------------------------------- */

typedef struct my_resolver {
    pthread_mutex_t lock;
    atomic_int starts, cancels, shutdowns, frees;
    weft_lookup *kept; /* "never" lookups, completed by cancel or shutdown */
    bool check_accessors;
} my_resolver;

static void *answer_later(void *arg) {
    weft_lookup *l = arg;
    usleep(10000);
    weft_sockaddr a;
    weft_sockaddr_ip(&a, "10.0.0.9", 0);
    weft_lookup_add(l, &a.u.sa, a.len);
    weft_runtime *rt = weft_lookup_runtime(l);
    weft_lookup_complete(l, 0);
    weft_runtime_unref(rt); /* taken by start for this thread */
    return NULL;
}

static int my_start(void *self, weft_lookup *l) {
    my_resolver *m = self;
    atomic_fetch_add(&m->starts, 1);
    const char *host = weft_lookup_host(l);
    weft_sockaddr a;
    if (strcmp(host, "sync.test") == 0) {
        weft_sockaddr_ip(&a, "10.0.0.1", 9); /* the lookup's port replaces 9 */
        assert_true(weft_lookup_add(l, &a.u.sa, a.len));
        assert_false(weft_lookup_add(l, &a.u.sa, a.len)); /* a duplicate */
        weft_sockaddr_ip(&a, "::1", 0);
        assert_true(weft_lookup_add(l, &a.u.sa, a.len));
        weft_sockaddr_unix(&a, "/tmp/x");
        assert_false(weft_lookup_add(l, &a.u.sa, a.len)); /* not IP */
        weft_sockaddr_ip(&a, "10.0.0.2", 0);
        assert_false(weft_lookup_add(l, &a.u.sa, 3)); /* a wrong length */
        assert_false(weft_lookup_add(NULL, &a.u.sa, a.len));
        weft_lookup_complete(l, 0);
        return 0;
    }
    if (strcmp(host, "many.test") == 0) {
        for (int i = 0; i < 20; i++) {
            char ip[32];
            snprintf(ip, sizeof ip, "10.0.1.%d", i);
            weft_sockaddr_ip(&a, ip, 0);
            assert_true(weft_lookup_add(l, &a.u.sa, a.len) == (i < 16));
        }
        weft_lookup_complete(l, 0);
        return 0;
    }
    if (strcmp(host, "none.test") == 0) {
        weft_lookup_complete(l, 0); /* no address added */
        return 0;
    }
    if (strcmp(host, "custom.test") == 0) {
        weft_sockaddr_ip(&a, "127.0.0.1", 0);
        weft_lookup_add(l, &a.u.sa, a.len);
        weft_lookup_complete(l, 0);
        return 0;
    }
    if (strcmp(host, "thread.test") == 0) {
        weft_runtime_ref(weft_lookup_runtime(l));
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, answer_later, l), 0);
        pthread_detach(th);
        return 0;
    }
    if (strcmp(host, "never.test") == 0) {
        if (m->check_accessors) {
            assert_string_equal(weft_lookup_service(l), "http");
            assert_int_equal(weft_lookup_port(l), -1);
        } else {
            assert_string_equal(weft_lookup_service(l), "80");
            assert_int_equal(weft_lookup_port(l), 80);
        }
        assert_int_equal(weft_lookup_family(l), AF_UNSPEC);
        assert_int_equal(weft_lookup_socktype(l), SOCK_STREAM);
        assert_null(weft_lookup_data(l));
        pthread_mutex_lock(&m->lock);
        assert_null(m->kept);
        m->kept = l;
        weft_lookup_set_data(l, m);
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    if (strcmp(host, "twice.test") == 0) {
        weft_lookup_complete(l, -WEFT_ENOTFOUND);
        weft_lookup_complete(l, -WEFT_ENOTFOUND); /* a misuse: caught */
        return 0;
    }
    return -WEFT_ERESOLVER_FAIL; /* refused: the future fails with it */
}

/* Completes the kept lookup, if `l` is it (or any, for l NULL). */
static void my_release(my_resolver *m, weft_lookup *l, int err) {
    pthread_mutex_lock(&m->lock);
    weft_lookup *k = m->kept;
    if (k && (!l || k == l)) {
        assert_ptr_equal(weft_lookup_data(k), m);
        m->kept = NULL;
    } else {
        k = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    if (k) weft_lookup_complete(k, err);
}

static void my_cancel(void *self, weft_lookup *l) {
    my_resolver *m = self;
    atomic_fetch_add(&m->cancels, 1);
    my_release(m, l, -ECANCELED);
}

static void my_shutdown(void *self) {
    my_resolver *m = self;
    atomic_fetch_add(&m->shutdowns, 1);
    my_release(m, NULL, -ESHUTDOWN);
}

static void my_free(void *self) { atomic_fetch_add(&((my_resolver *)self)->frees, 1); }

static const weft_resolver_vtable my_vtable = {"custom", my_start, my_cancel, my_shutdown, my_free};

typedef struct custom_case {
    WEFT_CORO_FIELDS;
    my_resolver *m;
    weft_resolve r;
    weft_timeout t;
    weft_sockaddr out[20];
    weft_tcp_listener l;
    weft_tcp_connect c;
    weft_tcp_accept a;
    char text[64];
    char buf[WEFT_SOCKADDR_STRLEN];
} custom_case;

WEFT_ASYNC(custom_case, NULL) {
    WEFT_BEGIN();
    /* Answered inside start: the lookup's port on every address. */
    WEFT_AWAIT(weft_resolve_init(&self->r, "sync.test:8080", self->out, 20));
    assert_int_equal(self->r.result, 2);
    weft_sockaddr_format(&self->out[0], self->buf, sizeof self->buf);
    assert_string_equal(self->buf, "10.0.0.1:8080");
    weft_sockaddr_format(&self->out[1], self->buf, sizeof self->buf);
    assert_string_equal(self->buf, "[::1]:8080");
    /* At most 16 kept; the caller's capacity cuts further. */
    WEFT_AWAIT(weft_resolve_init(&self->r, "many.test:1", self->out, 20));
    assert_int_equal(self->r.result, 16);
    WEFT_AWAIT(weft_resolve_init(&self->r, "many.test:1", self->out, 3));
    assert_int_equal(self->r.result, 3);
    WEFT_AWAIT(weft_resolve_init(&self->r, "none.test:1", self->out, 20));
    assert_int_equal(self->r.result, -WEFT_ENOADDRESS);
    /* Answered from a thread of the resolver's. */
    WEFT_AWAIT(weft_resolve_init(&self->r, "thread.test:53", self->out, 20));
    assert_int_equal(self->r.result, 1);
    weft_sockaddr_format(&self->out[0], self->buf, sizeof self->buf);
    assert_string_equal(self->buf, "10.0.0.9:53");
    /* Refused by start. */
    WEFT_AWAIT(weft_resolve_init(&self->r, "other.test:1", self->out, 20));
    assert_int_equal(self->r.result, -WEFT_ERESOLVER_FAIL);
    /* Dropped while the resolver holds it: cancel is called, once. */
    WEFT_AWAIT(weft_timeout_init(&self->t, weft_resolve_init(&self->r, "never.test:80", self->out, 20), 10));
    assert_int_equal(self->t.result, -ETIMEDOUT);
    assert_int_equal(atomic_load(&self->m->cancels), 1);
    pthread_mutex_lock(&self->m->lock);
    assert_null(self->m->kept);
    pthread_mutex_unlock(&self->m->lock);
    /* Connect by name goes through the runtime's resolver. */
    assert_int_equal(weft_tcp_listener_bind(&self->l, cx->runtime, "127.0.0.1:0", 8), 0);
    snprintf(self->text, sizeof self->text, "custom.test:%u", weft_tcp_listener_port(&self->l));
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, self->text));
    assert_int_equal(self->c.result, 0);
    WEFT_AWAIT(weft_tcp_accept_init(&self->a, &self->l));
    assert_int_equal(self->a.result, 0);
    weft_tcp_stream_close(&self->a.stream);
    weft_tcp_stream_close(&self->c.stream);
    weft_tcp_listener_close(&self->l);
    WEFT_AWAIT(weft_tcp_connect_init(&self->c, "other.test:1"));
    assert_int_equal(self->c.result, -WEFT_ERESOLVER_FAIL);
    /* A numeric address never reaches it. */
    self->m->check_accessors = true;
    {
        int before = atomic_load(&self->m->starts);
        WEFT_AWAIT(weft_resolve_init(&self->r, "10.1.1.1:80", self->out, 20));
        assert_int_equal(self->r.result, 1);
        assert_int_equal(atomic_load(&self->m->starts), before);
    }
    WEFT_END();
}

static void test_custom_resolver(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    static my_resolver m;
    pthread_mutex_init(&m.lock, NULL);
    assert_int_equal(weft_resolver_install(rt, NULL, &m), -EINVAL);
    weft_resolver_vtable nostart = {"x", NULL, NULL, NULL, NULL};
    assert_int_equal(weft_resolver_install(rt, &nostart, &m), -EINVAL);
    assert_int_equal(weft_resolver_install(NULL, &my_vtable, &m), -EINVAL);
    assert_string_equal(weft_resolver_name(NULL), "");
    assert_int_equal(weft_resolver_install(rt, &my_vtable, &m), 0);
    assert_string_equal(weft_resolver_name(rt), "custom");
    custom_case c;
    custom_case_start(&c);
    c.m = &m;
    assert_int_equal(run_as_task(rt, &c, sizeof c), 0);
    assert_int_equal(atomic_load(&m.shutdowns), 0);
    /* A lookup the resolver still holds when the runtime goes: shutdown
     * completes it; the task waiting for it is dropped first. */
    m.check_accessors = true;
    int r;
    weft_join_handle_detach_value(spawn_lookup(rt, "never.test:http", &r));
    for (;;) {
        pthread_mutex_lock(&m.lock);
        bool kept = m.kept != NULL;
        pthread_mutex_unlock(&m.lock);
        if (kept) break;
        weft_yield_now y;
        weft_block_on(rt, weft_yield_now_init(&y));
        usleep(1000);
    }
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&m.shutdowns), 1);
    assert_int_equal(atomic_load(&m.frees), 1);
    assert_null(m.kept);
    assert_int_equal(r, 1000);
    pthread_mutex_destroy(&m.lock);
}

/* A resolver that completes a lookup twice is stopped with a message. */
static my_resolver twice_m;
static void complete_twice(void) {
    weft_runtime *rt = rt_new();
    pthread_mutex_init(&twice_m.lock, NULL);
    weft_resolver_install(rt, &my_vtable, &twice_m);
    int r;
    weft_join_handle h = spawn_lookup(rt, "twice.test:1", &r);
    weft_block_on(rt, &h.base);
}

static void test_complete_twice(void **state) {
    (void)state;
    int sig = 0;
    const char *err = run_in_child(complete_twice, &sig);
    assert_int_equal(sig, SIGABRT);
    assert_non_null(strstr(err, "weft_lookup_complete called twice"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gai_bounded),
        cmocka_unit_test(test_gai_cancel_queued),
        cmocka_unit_test(test_gai_destroy_queued),
        cmocka_unit_test(test_custom_resolver),
        cmocka_unit_test(test_complete_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
