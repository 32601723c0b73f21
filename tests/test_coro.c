/* Coroutines: awaits in loops, branches and switches; nested coroutines;
 * dropping mid-await drops the child once and runs the cleanup hook. */
#include "support.h"

/* A leaf that is pending `n` times (waking itself), then ready with `v`. */
typedef struct countdown {
    weft_future base;
    int n, v, out;
    int *drops;
} countdown;

static weft_poll countdown_poll(weft_future *f, weft_context *cx) {
    countdown *c = (countdown *)f;
    if (c->n-- > 0) {
        weft_waker_wake_by_ref(&cx->waker);
        return WEFT_PENDING;
    }
    c->out = c->v;
    return WEFT_READY;
}
static void countdown_drop(weft_future *f) {
    countdown *c = (countdown *)f;
    if (c->drops) (*c->drops)++;
}
static const weft_future_vtable countdown_vtable = {countdown_poll, countdown_drop, "countdown"};

static weft_future *countdown_init(countdown *c, int n, int v, int *drops) {
    weft_future_init(&c->base, &countdown_vtable);
    c->n = n;
    c->v = v;
    c->drops = drops;
    return &c->base;
}

/* Polls a future by hand with a no-op waker until ready; returns the polls. */
static int drive(weft_future *f) {
    weft_context cx = weft_context_make(weft_waker_noop());
    int polls = 1;
    while (weft_future_poll(f, &cx) == WEFT_PENDING) polls++;
    return polls;
}

/* ---- loops, branches, switch -------------------------------------------- */

typedef struct summer {
    WEFT_CORO_FIELDS;
    int n;         /* argument */
    int i, sum;    /* locals that live across awaits */
    union {        /* children awaited at different points share memory */
        countdown a;
        countdown b;
    } kid;
    int out;
} summer;

WEFT_ASYNC(summer, NULL) {
    WEFT_BEGIN();
    self->sum = 0;
    for (self->i = 0; self->i < self->n; self->i++) {
        if (self->i % 2 == 0) {
            WEFT_AWAIT(countdown_init(&self->kid.a, 1, self->i, NULL));
            self->sum += self->kid.a.out;
        } else {
            switch (self->i % 3) {
            case 0:
                WEFT_AWAIT(countdown_init(&self->kid.b, 2, 100, NULL));
                self->sum += self->kid.b.out;
                break;
            default:
                WEFT_AWAIT(countdown_init(&self->kid.b, 0, 1000, NULL));
                self->sum += self->kid.b.out;
                break;
            }
        }
    }
    self->out = self->sum;
    WEFT_END();
}

static void test_loops_branches_switch(void **state) {
    (void)state;
    summer s;
    summer_start(&s);
    s.n = 7;
    /* i=0,2,4,6 -> 0+2+4+6 = 12, 1 pending poll each; i=3 -> 100 (2 pending);
     * i=1,5 -> 1000 each (ready at once). */
    int polls = drive(&s.base);
    assert_int_equal(s.out, 12 + 100 + 2000);
    assert_int_equal(polls, 1 + 4 + 2);
    /* The struct is the "perfectly sized stack": no allocation per await. */
    assert_true(sizeof(summer) <= sizeof(weft_future) + sizeof(weft_coro) + 4 * sizeof(int) +
                                      sizeof(countdown) + 16);
}

/* ---- nested coroutines, cleanup on completion ---------------------------- */

typedef struct inner {
    WEFT_CORO_FIELDS;
    int v;
    countdown c;
    int out;
    int *cleanups;
} inner;

static void inner_cleanup(inner *self) { (*self->cleanups)++; }

WEFT_ASYNC(inner, inner_cleanup) {
    WEFT_BEGIN();
    WEFT_AWAIT(countdown_init(&self->c, 2, self->v, NULL));
    self->out = self->c.out * 2;
    WEFT_END();
}

static weft_future *inner_init(inner *in, int v, int *cleanups) {
    inner_start(in);
    in->v = v;
    in->cleanups = cleanups;
    return &in->base;
}

typedef struct outer {
    WEFT_CORO_FIELDS;
    inner in;
    int acc, k;
    int out;
    int *cleanups;
} outer;

WEFT_ASYNC(outer, NULL) {
    WEFT_BEGIN();
    for (self->k = 1; self->k <= 3; self->k++) {
        WEFT_AWAIT(inner_init(&self->in, self->k, self->cleanups));
        self->acc += self->in.out;
    }
    self->out = self->acc;
    WEFT_END();
}

static void test_nested(void **state) {
    (void)state;
    int cleanups = 0;
    outer o;
    outer_start(&o);
    o.acc = 0;
    o.cleanups = &cleanups;
    drive(&o.base);
    assert_int_equal(o.out, 2 + 4 + 6);
    assert_int_equal(cleanups, 3); /* once per inner, on completion */
    weft_future_drop(&o.base);     /* dropping a completed coroutine does nothing */
    assert_int_equal(cleanups, 3);
}

/* ---- drop mid-await ------------------------------------------------------ */

typedef struct holder {
    WEFT_CORO_FIELDS;
    countdown c;
    int *cleanups;
    int *child_drops;
    char *buffer; /* the coroutine's own resource, freed by cleanup */
} holder;

static void holder_cleanup(holder *self) {
    free(self->buffer);
    self->buffer = NULL;
    (*self->cleanups)++;
}

WEFT_ASYNC(holder, holder_cleanup) {
    WEFT_BEGIN();
    self->buffer = malloc(64);
    WEFT_AWAIT(countdown_init(&self->c, 1000, 1, self->child_drops));
    WEFT_END();
}

static void test_drop_mid_await(void **state) {
    (void)state;
    int cleanups = 0, child_drops = 0;
    holder h;
    holder_start(&h);
    h.cleanups = &cleanups;
    h.child_drops = &child_drops;
    h.buffer = NULL;
    weft_context cx = weft_context_make(weft_waker_noop());
    assert_int_equal(weft_future_poll(&h.base, &cx), WEFT_PENDING);
    assert_int_equal(weft_future_poll(&h.base, &cx), WEFT_PENDING);
    weft_future_drop(&h.base);
    assert_int_equal(child_drops, 1);
    assert_int_equal(cleanups, 1);
    assert_null(h.buffer); /* ASan would report the leak otherwise */

    /* Dropped before its first poll: cleanup still runs once, no child. */
    holder h2;
    holder_start(&h2);
    h2.cleanups = &cleanups;
    h2.child_drops = &child_drops;
    h2.buffer = NULL;
    weft_future_drop(&h2.base);
    assert_int_equal(cleanups, 2);
    assert_int_equal(child_drops, 1);

    /* Nested: dropping the outer mid-await drops the inner, which drops its leaf. */
    int inner_cleanups = 0;
    outer o;
    outer_start(&o);
    o.acc = 0;
    o.cleanups = &inner_cleanups;
    assert_int_equal(weft_future_poll(&o.base, &cx), WEFT_PENDING);
    weft_future_drop(&o.base);
    assert_int_equal(inner_cleanups, 1);
}

/* ---- coroutines as tasks on the runtime ----------------------------------- */

typedef struct spawner {
    WEFT_CORO_FIELDS;
    summer kids[3];
    weft_join_handle h[3];
    int outs[3];
    int i;
} spawner;

WEFT_ASYNC(spawner, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < 3; self->i++) {
        summer_start(&self->kids[self->i]);
        self->kids[self->i].n = 7;
        self->h[self->i] = WEFT_SPAWN(cx->runtime, &self->kids[self->i], out, &self->outs[self->i]);
    }
    for (self->i = 0; self->i < 3; self->i++) WEFT_AWAIT(&self->h[self->i].base);
    WEFT_END();
}

static void test_coroutines_as_tasks(void **state) {
    (void)state;
    weft_runtime *rt = rt_new();
    spawner s;
    spawner_start(&s);
    assert_int_equal(weft_block_on(rt, &s.base), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(s.outs[i], 2112);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loops_branches_switch),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_drop_mid_await),
        cmocka_unit_test(test_coroutines_as_tasks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
