/*
 * The hiredis adapter against a real redis-server (started on 127.0.0.1,
 * on a free port, by scripts/test-servers/redis.sh; the program fails if
 * it cannot start one). Every test runs on the runtime WEFT_TEST_RUNTIME
 * names, and on the poll backend too.
 * weft-test: threaded
 */
#include "adapter_support.h"
#include "servers.h"
#include "weft/redis.h"

static char addr[64];

/* ---- basics ---------------------------------------------------------------- */

static void *basics_fiber(void *arg) {
    weft_redis *c = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&c, addr), 0);
    if (!c) return NULL;
    CHECK(weft_redis_is_connected(c));
    redisReply *r = NULL;
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "SET %s %b", "basics", "v\0x", (size_t)3), 0);
    CHECK(r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0);
    freeReplyObject(r);
    const char *argv[] = {"GET", "basics"};
    CHECK_EQ(weft_fiber_redis_command(c, &r, 2, argv, NULL), 0);
    CHECK(r && r->type == REDIS_REPLY_STRING && r->len == 3 && memcmp(r->str, "v\0x", 3) == 0);
    freeReplyObject(r);
    /* A server error is a reply. */
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "NOSUCHCOMMAND"), 0);
    CHECK(r && r->type == REDIS_REPLY_ERROR);
    freeReplyObject(r);
    /* A command hiredis refuses: a bad format. */
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, NULL), -EINVAL);
    /* Commands that are not one reply: refused, nothing sent. */
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "SUBSCRIBE x"), -EINVAL);
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "monitor"), -EINVAL);
    const char *unsub[] = {"PUNSUBSCRIBE"};
    CHECK_EQ(weft_fiber_redis_command(c, &r, 1, unsub, NULL), -EINVAL);
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "PING"), 0); /* still a plain connection */
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    weft_redis_close(c);
    return NULL;
}
static void test_basics(void **state) { run_fiber_test(basics_fiber, NULL); }

static void *by_name_fiber(void *arg) {
    char a[64];
    snprintf(a, sizeof a, "localhost:%d", test_srv.port);
    weft_redis *c = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&c, a), 0);
    redisReply *r = NULL;
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "PING"), 0);
    CHECK(r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0);
    freeReplyObject(r);
    weft_redis_close(c);
    /* Errors of the address and of the connect. */
    CHECK_EQ(weft_fiber_redis_connect(&c, "no-port"), -EINVAL);
    CHECK(c == NULL);
    CHECK_EQ(weft_fiber_redis_connect(&c, "unix:/nonexistent/redis.sock"), -ENOENT);
    snprintf(a, sizeof a, "127.0.0.1:%d", test_free_port());
    CHECK_EQ(weft_fiber_redis_connect(&c, a), -ECONNREFUSED);
    CHECK(c == NULL);
    return NULL;
}
static void test_connect_by_name_and_errors(void **state) { run_fiber_test(by_name_fiber, NULL); }

/* ---- many at once ---------------------------------------------------------- */

typedef struct worker {
    weft_redis *c;
    int id, n;
} worker;

/* Each worker sets and reads back its own keys, and counts in a shared one. */
static void *worker_fiber(void *arg) {
    worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        char key[32], val[32];
        snprintf(key, sizeof key, "w%d:%d", w->id, i);
        snprintf(val, sizeof val, "%d-%d", w->id, i * 7);
        redisReply *r = NULL;
        CHECK_EQ(weft_fiber_redis_commandf(w->c, &r, "SET %s %s", key, val), 0);
        freeReplyObject(r);
        CHECK_EQ(weft_fiber_redis_commandf(w->c, &r, "GET %s", key), 0);
        CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, val) == 0);
        freeReplyObject(r);
        CHECK_EQ(weft_fiber_redis_commandf(w->c, &r, "INCR many:counter"), 0);
        freeReplyObject(r);
    }
    return NULL;
}

static void *many_fiber(void *arg) {
    weft_redis *c = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&c, addr), 0);
    redisReply *r = NULL;
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "DEL many:counter"), 0);
    freeReplyObject(r);
    enum { WORKERS = 32, EACH = 100 };
    worker ws[WORKERS];
    for (int i = 0; i < WORKERS; i++) ws[i] = (worker){c, i, EACH};
    fibers_run_all(worker_fiber, ws, sizeof ws[0], WORKERS);
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "GET many:counter"), 0);
    CHECK(r && r->type == REDIS_REPLY_STRING && atoi(r->str) == WORKERS * EACH);
    freeReplyObject(r);
    weft_redis_close(c);
    return NULL;
}
static void test_many_tasks_one_connection(void **state) { run_fiber_test(many_fiber, NULL); }

/* 2000 commands in flight at once from one task: pipelined, answered in order. */
enum { PIPE = 2000 };
typedef struct pipeline {
    WEFT_CORO_FIELDS;
    weft_redis_connect conn;
    weft_redis *c;
    weft_redis_command *cmds;
    weft_future **kids;
    weft_join join;
    int ok;
} pipeline;

WEFT_ASYNC(pipeline, NULL) {
    WEFT_BEGIN();
    WEFT_AWAIT(weft_redis_connect_init(&self->conn, addr));
    CHECK_EQ(self->conn.result, 0);
    self->c = self->conn.conn;
    if (!self->c) WEFT_RETURN();
    for (int i = 0; i < PIPE; i++)
        self->kids[i] = weft_redis_commandf_init(&self->cmds[i], self->c, "ECHO %d", i);
    WEFT_AWAIT(weft_join_init(&self->join, self->kids, PIPE));
    for (int i = 0; i < PIPE; i++) {
        redisReply *r = self->cmds[i].reply;
        CHECK_EQ(self->cmds[i].result, 0);
        if (r && r->type == REDIS_REPLY_STRING && atoi(r->str) == i) self->ok++;
        freeReplyObject(r);
    }
    weft_redis_close(self->c);
    WEFT_END();
}

static void test_pipeline(void **state) {
    weft_runtime *rt = rt_new();
    pipeline p;
    pipeline_start(&p);
    p.cmds = calloc(PIPE, sizeof *p.cmds);
    p.kids = calloc(PIPE, sizeof *p.kids);
    p.ok = 0;
    assert_int_equal(run_as_task(rt, &p, sizeof p), 0);
    weft_runtime_destroy(rt);
    assert_int_equal(atomic_load(&check_failures), 0);
    free(p.cmds);
    free(p.kids);
}

/* ---- cancellation and timeouts ---------------------------------------------- */

/* Commands dropped mid-flight (by a timeout) lose their replies, and the
 * replies of the others still reach the right futures: the server answers
 * in order and each dropped command's reply is discarded when it comes. */
static void *cancel_fiber(void *arg) {
    weft_redis *c = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&c, addr), 0);
    if (!c) return NULL;
    /* BLPOP with a 1 s server timeout: it holds the connection's queue. */
    weft_redis_command blpop;
    weft_timeout t;
    weft_redis_commandf_init(&blpop, c, "BLPOP cancel:nothing 1");
    CHECK_EQ(weft_await(weft_timeout_init(&t, &blpop.base, 50)), 0);
    CHECK_EQ(t.result, -ETIMEDOUT);
    /* The next command's reply is its own, not BLPOP's nil. */
    redisReply *r = NULL;
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "ECHO after-blpop"), 0);
    CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "after-blpop") == 0);
    freeReplyObject(r);
    /* Many dropped at random points: every survivor gets its own reply. */
    int dropped = 0;
    for (int round = 0; round < 200; round++) {
        weft_redis_command cmd;
        weft_timeout t2;
        weft_redis_commandf_init(&cmd, c, "ECHO r%d", round);
        /* 0 ms: dropped after its first poll (sent), before its reply. */
        CHECK_EQ(weft_await(weft_timeout_init(&t2, &cmd.base, (uint64_t)(round % 3 == 0))), 0);
        if (t2.result == 0) {
            char want[16];
            snprintf(want, sizeof want, "r%d", round);
            CHECK(cmd.reply && strcmp(cmd.reply->str, want) == 0);
            freeReplyObject(cmd.reply);
        } else {
            dropped++;
        }
        char want[16];
        snprintf(want, sizeof want, "check%d", round);
        CHECK_EQ(weft_fiber_redis_commandf(c, &r, "ECHO %s", want), 0);
        CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, want) == 0);
        freeReplyObject(r);
    }
    CHECK(dropped > 0); /* the case this test is for happened */
    weft_redis_close(c);
    return NULL;
}
static void test_cancel_mid_flight(void **state) { run_fiber_test(cancel_fiber, NULL); }

/* A connect dropped before it completes leaves nothing behind. */
static void *connect_cancel_fiber(void *arg) {
    for (int i = 0; i < 50; i++) {
        weft_redis_connect f;
        weft_timeout t;
        CHECK_EQ(weft_await(weft_timeout_init(&t, weft_redis_connect_init(&f, addr), 0)), 0);
        if (t.result == 0) {
            CHECK_EQ(f.result, 0);
            weft_redis_close(f.conn);
        } else {
            CHECK_EQ(t.result, -ETIMEDOUT);
        }
    }
    return NULL;
}
static void test_connect_cancelled(void **state) { run_fiber_test(connect_cancel_fiber, NULL); }

/* ---- ends ------------------------------------------------------------------ */

/* The server killed while commands wait: every one completes with an
 * error, none hangs, and the connection then says why. */
typedef struct blocked {
    weft_redis *c;
    int result;
} blocked;

static void *blocked_fiber(void *arg) {
    blocked *b = arg;
    redisReply *r = NULL;
    b->result = weft_fiber_redis_commandf(b->c, &r, "BLPOP killed:nothing 0");
    if (r) freeReplyObject(r);
    return NULL;
}

static test_server own;
static void *killed_fiber(void *arg) {
    char a[64];
    snprintf(a, sizeof a, "127.0.0.1:%d", own.port);
    weft_redis *c = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&c, a), 0);
    if (!c) return NULL;
    enum { N = 50 };
    blocked bs[N];
    weft_join_handle hs[N];
    for (int i = 0; i < N; i++) {
        bs[i] = (blocked){c, 1};
        hs[i] = weft_fiber_spawn(weft_runtime_current(), blocked_fiber, &bs[i], NULL);
    }
    /* A subscription on a second connection. */
    weft_redis *sc = NULL;
    weft_redis_sub *sub = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&sc, a), 0);
    const char *ch[] = {"killed:chan"};
    CHECK_EQ(weft_redis_subscribe(&sub, sc, 1, ch, false), 0);
    /* Let them all be sent (the first blocks the server's queue). */
    redisReply *r = NULL;
    weft_fiber_sleep(200);
    test_server_kill(&own);
    for (int i = 0; i < N; i++) {
        weft_join_wait w;
        weft_timeout t;
        CHECK_EQ(weft_await(weft_timeout_init(&t, weft_join_wait_init(&w, &hs[i]), 10000)), 0);
        CHECK_EQ(t.result, 0); /* no hang */
        CHECK_EQ(bs[i].result, -ECONNRESET);
    }
    CHECK(!weft_redis_is_connected(c));
    redisReply *m = NULL;
    CHECK_EQ(weft_fiber_redis_sub_next(sub, &m), 0); /* the confirmation came before */
    freeReplyObject(m);
    CHECK_EQ(weft_fiber_redis_sub_next(sub, &m), -ECONNRESET);
    weft_redis_sub_close(sub);
    weft_redis_close(sc);
    char why[128];
    CHECK_EQ(weft_redis_errstr(c, why, sizeof why), -ECONNRESET);
    CHECK(why[0] != 0);
    /* Later commands fail at once with the same error. */
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "PING"), -ECONNRESET);
    weft_redis_close(c);
    return NULL;
}
static void test_server_killed(void **state) {
    if (!test_server_start(&own, "redis")) fail_msg("no redis-server: %s", own.why);
    run_fiber_test(killed_fiber, NULL);
    test_server_stop(&own);
}

/* Closing the handle completes the waiting commands with -EBADF. */
static void *close_fiber(void *arg) {
    weft_redis *c = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&c, addr), 0);
    if (!c) return NULL;
    enum { N = 10 };
    blocked bs[N];
    weft_join_handle hs[N];
    for (int i = 0; i < N; i++) {
        bs[i] = (blocked){c, 1};
        hs[i] = weft_fiber_spawn(weft_runtime_current(), blocked_fiber, &bs[i], NULL);
    }
    weft_fiber_sleep(100);
    weft_redis_close(c);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(weft_fiber_join(&hs[i], NULL), 0);
        CHECK_EQ(bs[i].result, -EBADF);
    }
    return NULL;
}
static void test_close_with_commands_waiting(void **state) { run_fiber_test(close_fiber, NULL); }

/* A clean disconnect delivers the replies already asked for, then
 * refuses new commands. */
static void *disconnect_fiber(void *arg) {
    weft_redis *c = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&c, addr), 0);
    if (!c) return NULL;
    weft_redis_command cmds[3];
    weft_future *kids[4];
    weft_redis_disconnect d;
    for (int i = 0; i < 3; i++) kids[i] = weft_redis_commandf_init(&cmds[i], c, "ECHO d%d", i);
    kids[3] = weft_redis_disconnect_init(&d, c);
    weft_join j;
    CHECK_EQ(weft_await(weft_join_init(&j, kids, 4)), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(cmds[i].result, 0);
        CHECK(cmds[i].reply && cmds[i].reply->type == REDIS_REPLY_STRING);
        freeReplyObject(cmds[i].reply);
    }
    CHECK_EQ(d.result, 0);
    CHECK(!weft_redis_is_connected(c));
    redisReply *r = NULL;
    CHECK_EQ(weft_fiber_redis_commandf(c, &r, "PING"), -ENOTCONN);
    CHECK_EQ(weft_fiber_redis_disconnect(c), 0);
    weft_redis_close(c);
    return NULL;
}
static void test_disconnect(void **state) { run_fiber_test(disconnect_fiber, NULL); }

/* The runtime destroyed under an open connection with a command waiting:
 * the command's task is dropped, the connection then reports -ESHUTDOWN,
 * and closing it afterwards is safe. */
static weft_redis *orphan;
static void *orphan_fiber(void *arg) {
    CHECK_EQ(weft_fiber_redis_connect(&orphan, addr), 0);
    if (!orphan) return NULL;
    blocked *b = arg;
    b->c = orphan;
    weft_join_handle h = weft_fiber_spawn(weft_runtime_current(), blocked_fiber, b, NULL);
    weft_join_handle_detach(&h);
    weft_fiber_sleep(50);
    return NULL;
}
static void test_runtime_destroyed(void **state) {
    weft_runtime *rt = rt_new();
    blocked b = {NULL, 1};
    weft_join_handle h = weft_fiber_spawn(rt, orphan_fiber, &b, NULL);
    assert_int_equal(weft_block_on(rt, &h.base), 0);
    weft_runtime_destroy(rt);
    assert_non_null(orphan);
    assert_false(weft_redis_is_connected(orphan));
    assert_int_equal(weft_redis_errstr(orphan, NULL, 0), -ESHUTDOWN);
    weft_redis_close(orphan);
    assert_int_equal(atomic_load(&check_failures), 0);
}

/* ---- pub/sub ------------------------------------------------------------------ */

static bool is_push(redisReply *r, const char *kind, const char *name) {
    return r && r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
           strcmp(r->element[0]->str, kind) == 0 && strcmp(r->element[1]->str, name) == 0;
}

static void *pubsub_fiber(void *arg) {
    weft_redis *sc = NULL, *pc = NULL;
    CHECK_EQ(weft_fiber_redis_connect(&sc, addr), 0);
    CHECK_EQ(weft_fiber_redis_connect(&pc, addr), 0);
    if (!sc || !pc) return NULL;
    const char *chans[] = {"chan:a", "chan:b"};
    weft_redis_sub *s = NULL, *ps = NULL;
    CHECK_EQ(weft_redis_subscribe(&s, sc, 2, chans, false), 0);
    const char *dup[] = {"x", "x"};
    weft_redis_sub *bad = NULL;
    CHECK_EQ(weft_redis_subscribe(&bad, sc, 2, dup, false), -EINVAL);
    const char *pats[] = {"news.*"};
    CHECK_EQ(weft_redis_subscribe(&ps, sc, 1, pats, true), 0);
    redisReply *r = NULL;
    CHECK_EQ(weft_fiber_redis_sub_next(s, &r), 0);
    CHECK(is_push(r, "subscribe", "chan:a"));
    freeReplyObject(r);
    CHECK_EQ(weft_fiber_redis_sub_next(s, &r), 0);
    CHECK(is_push(r, "subscribe", "chan:b"));
    freeReplyObject(r);
    CHECK_EQ(weft_fiber_redis_sub_next(ps, &r), 0);
    CHECK(is_push(r, "psubscribe", "news.*"));
    freeReplyObject(r);
    /* A read dropped by a timeout takes nothing. */
    weft_redis_sub_next nx;
    weft_timeout t;
    CHECK_EQ(weft_await(weft_timeout_init(&t, weft_redis_sub_next_init(&nx, s), 20)), 0);
    CHECK_EQ(t.result, -ETIMEDOUT);
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(weft_fiber_redis_commandf(pc, &r, "PUBLISH %s m%d", chans[i % 2], i), 0);
        CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
        freeReplyObject(r);
    }
    CHECK_EQ(weft_fiber_redis_commandf(pc, &r, "PUBLISH news.today hello"), 0);
    freeReplyObject(r);
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(weft_fiber_redis_sub_next(s, &r), 0);
        char want[16];
        snprintf(want, sizeof want, "m%d", i);
        CHECK(is_push(r, "message", chans[i % 2]) && strcmp(r->element[2]->str, want) == 0);
        freeReplyObject(r);
    }
    CHECK_EQ(weft_fiber_redis_sub_next(ps, &r), 0);
    CHECK(r && r->elements == 4 && strcmp(r->element[0]->str, "pmessage") == 0 &&
          strcmp(r->element[3]->str, "hello") == 0);
    freeReplyObject(r);
    /* Closed with messages still queued and more on their way. */
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(weft_fiber_redis_commandf(pc, &r, "PUBLISH chan:a late%d", i), 0);
        freeReplyObject(r);
    }
    weft_redis_sub_close(s);
    /* The connection closed under a subscription: its reader learns it. */
    weft_redis_close(sc);
    CHECK_EQ(weft_fiber_redis_sub_next(ps, &r), -EBADF);
    weft_redis_sub_close(ps);
    weft_redis_close(pc);
    return NULL;
}
static void test_pubsub(void **state) { run_fiber_test(pubsub_fiber, NULL); }

/* Misuse: NULL handles and contexts. */
static void test_bad_arguments(void **state) {
    weft_redis *c = (weft_redis *)1;
    assert_int_equal(weft_redis_attach(&c, NULL, NULL), -EINVAL);
    assert_int_equal(weft_redis_errstr(NULL, NULL, 0), -EINVAL);
    assert_false(weft_redis_is_connected(NULL));
    weft_redis_close(NULL);
    weft_runtime *rt = rt_new();
    weft_redis_command cmd;
    assert_int_equal(weft_block_on(rt, weft_redis_commandf_init(&cmd, NULL, "PING")), 0);
    assert_int_equal(cmd.result, -EINVAL);
    redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", test_srv.port);
    assert_non_null(ac);
    ac->ev.data = ac; /* as if another event library had it */
    assert_int_equal(weft_redis_attach(&c, rt, ac), -EINVAL);
    ac->ev.data = NULL;
    redisAsyncFree(ac);
    weft_runtime_destroy(rt);
}

int main(void) {
    test_srv_require("redis");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", test_srv.port);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basics),
        cmocka_unit_test(test_connect_by_name_and_errors),
        cmocka_unit_test(test_many_tasks_one_connection),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_cancel_mid_flight),
        cmocka_unit_test(test_connect_cancelled),
        cmocka_unit_test(test_server_killed),
        cmocka_unit_test(test_close_with_commands_waiting),
        cmocka_unit_test(test_disconnect),
        cmocka_unit_test(test_runtime_destroyed),
        cmocka_unit_test(test_pubsub),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
