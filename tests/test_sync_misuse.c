/* Misuse of the sync primitives is caught in every build, release included:
 * an unlock of what is not locked, a destroy of a locked or awaited
 * primitive abort (in a child process here) with a message naming the call;
 * out-of-range permit counts are error returns. `make check` also runs this
 * test against the release library.  weft-test: release */
#include "sync_support.h"

/* ---- Mutex --------------------------------------------------------------- */

static void mutex_unlock_unlocked(void) {
    weft_mutex m;
    weft_mutex_init(&m);
    weft_mutex_unlock(&m);
}

/* The fault as users meet it: a stray unlock would let two try_locks succeed. */
static void mutex_stray_unlock(void) {
    weft_mutex m;
    weft_mutex_init(&m);
    CHILD_CHECK(weft_mutex_try_lock(&m) == 0);
    weft_mutex_unlock(&m);
    weft_mutex_unlock(&m); /* aborts here, before the count reaches 2 */
    /* Without the check: both succeed, and this exits normally. */
    CHILD_CHECK(weft_mutex_try_lock(&m) != 0 || weft_mutex_try_lock(&m) != 0);
}

/* A lock handed to a waiter is locked: the waiter's unlock is fine, a second one is not. */
static void mutex_unlock_after_handoff(void) {
    weft_mutex m;
    weft_mutex_init(&m);
    hand h = {0};
    weft_mutex_lock l;
    weft_mutex_try_lock(&m);
    weft_mutex_lock_init(&l, &m);
    CHILD_CHECK(hand_poll(&h, &l.base) == WEFT_PENDING);
    weft_mutex_unlock(&m); /* handed to l */
    CHILD_CHECK(hand_poll(&h, &l.base) == WEFT_READY);
    weft_mutex_unlock(&m); /* l's unlock */
    weft_mutex_unlock(&m);
}

static void mutex_destroy_locked(void) {
    weft_mutex m;
    weft_mutex_init(&m);
    weft_mutex_try_lock(&m);
    weft_mutex_destroy(&m);
}

static void mutex_destroy_awaited(void) {
    weft_mutex m;
    weft_mutex_init(&m);
    weft_mutex_try_lock(&m);
    hand h = {0};
    weft_mutex_lock l;
    weft_mutex_lock_init(&l, &m);
    hand_poll(&h, &l.base);
    weft_mutex_unlock(&m); /* handed to l: still locked */
    weft_mutex_destroy(&m);
}

static void mutex_correct_use(void) {
    weft_mutex m;
    weft_mutex_init(&m);
    for (int i = 0; i < 3; i++) {
        CHILD_CHECK(weft_mutex_try_lock(&m) == 0);
        weft_mutex_unlock(&m);
    }
    weft_mutex_destroy(&m);
}

static void test_mutex(void **state) {
    (void)state;
    expect_misuse(mutex_unlock_unlocked, "weft_mutex_unlock of a mutex that is not locked");
    expect_misuse(mutex_stray_unlock, "weft_mutex_unlock of a mutex that is not locked");
    expect_misuse(mutex_unlock_after_handoff, "weft_mutex_unlock of a mutex that is not locked");
    expect_misuse(mutex_destroy_locked, "weft_mutex_destroy of a mutex that is locked or awaited");
    expect_misuse(mutex_destroy_awaited, "weft_mutex_destroy of a mutex that is locked or awaited");
    expect_no_misuse(mutex_correct_use);
}

/* ---- RwLock -------------------------------------------------------------- */

static void rw_read_unlock_unlocked(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 0);
    weft_rwlock_read_unlock(&rw);
}

static void rw_read_unlock_write_locked(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 0);
    weft_rwlock_try_write(&rw);
    weft_rwlock_read_unlock(&rw);
}

/* Two readers, then a writer collecting their permits: once they left, the
 * write lock is the writer's even before its future has seen it, so a
 * third read_unlock is refused although no permit is "available". */
static void rw_read_unlock_handed_to_writer(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 4);
    weft_rwlock_try_read(&rw);
    weft_rwlock_try_read(&rw);
    hand h = {0};
    weft_rwlock_lock w;
    weft_rwlock_write_init(&w, &rw);
    CHILD_CHECK(hand_poll(&h, &w.base) == WEFT_PENDING);
    weft_rwlock_read_unlock(&rw);
    weft_rwlock_read_unlock(&rw); /* the writer now holds it */
    weft_rwlock_read_unlock(&rw);
}

/* A write lock handed over but dropped unseen goes on: the rwlock is then unlocked. */
static void rw_write_unlock_after_dropped_handoff(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 4);
    weft_rwlock_try_read(&rw);
    hand h = {0};
    weft_rwlock_lock w;
    weft_rwlock_write_init(&w, &rw);
    CHILD_CHECK(hand_poll(&h, &w.base) == WEFT_PENDING);
    weft_rwlock_read_unlock(&rw);
    weft_future_drop(&w.base);
    CHILD_CHECK(weft_rwlock_try_read(&rw) == 0);
    weft_rwlock_read_unlock(&rw);
    weft_rwlock_write_unlock(&rw);
}

static void rw_write_unlock_unlocked(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 0);
    weft_rwlock_write_unlock(&rw);
}

static void rw_write_unlock_read_locked(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 0);
    weft_rwlock_try_read(&rw);
    weft_rwlock_write_unlock(&rw);
}

static void rw_write_unlock_twice(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 0);
    weft_rwlock_try_write(&rw);
    weft_rwlock_write_unlock(&rw);
    weft_rwlock_write_unlock(&rw);
}

static void rw_downgrade_unlocked(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 0);
    weft_rwlock_downgrade(&rw);
}

/* With two readers allowed, a reader's downgrade would leave the permit count plausible. */
static void rw_downgrade_read_locked(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 2);
    weft_rwlock_try_read(&rw);
    weft_rwlock_downgrade(&rw);
}

static void rw_destroy_read_locked(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 0);
    weft_rwlock_try_read(&rw);
    weft_rwlock_destroy(&rw);
}

/* Every legal sequence passes the checks, the write lock taken both ways. */
static void rw_correct_use(void) {
    weft_rwlock rw;
    weft_rwlock_init(&rw, 3);
    hand h = {0};
    weft_rwlock_lock w;
    weft_rwlock_try_read(&rw);
    weft_rwlock_write_init(&w, &rw);
    CHILD_CHECK(hand_poll(&h, &w.base) == WEFT_PENDING);
    weft_rwlock_read_unlock(&rw);
    CHILD_CHECK(hand_poll(&h, &w.base) == WEFT_READY);
    weft_rwlock_downgrade(&rw);
    CHILD_CHECK(weft_rwlock_try_read(&rw) == 0);
    weft_rwlock_read_unlock(&rw);
    weft_rwlock_read_unlock(&rw);
    CHILD_CHECK(weft_rwlock_try_write(&rw) == 0);
    weft_rwlock_write_unlock(&rw);
    weft_rwlock_destroy(&rw);
}

static void test_rwlock(void **state) {
    (void)state;
    expect_misuse(rw_read_unlock_unlocked, "weft_rwlock_read_unlock of an rwlock that has no reader");
    expect_misuse(rw_read_unlock_write_locked, "weft_rwlock_read_unlock of an rwlock that is write-locked");
    expect_misuse(rw_read_unlock_handed_to_writer, "weft_rwlock_read_unlock of an rwlock that is write-locked");
    expect_misuse(rw_write_unlock_after_dropped_handoff, "weft_rwlock_write_unlock of an rwlock that is not write-locked");
    expect_misuse(rw_write_unlock_unlocked, "weft_rwlock_write_unlock of an rwlock that is not write-locked");
    expect_misuse(rw_write_unlock_read_locked, "weft_rwlock_write_unlock of an rwlock that is not write-locked");
    expect_misuse(rw_write_unlock_twice, "weft_rwlock_write_unlock of an rwlock that is not write-locked");
    expect_misuse(rw_downgrade_unlocked, "weft_rwlock_downgrade of an rwlock that is not write-locked");
    expect_misuse(rw_downgrade_read_locked, "weft_rwlock_downgrade of an rwlock that is not write-locked");
    expect_misuse(rw_destroy_read_locked, "weft_rwlock_destroy of an rwlock that is locked or awaited");
    expect_no_misuse(rw_correct_use);

    weft_rwlock rw;
    assert_int_equal(weft_rwlock_init(&rw, WEFT_SEMAPHORE_MAX_PERMITS + 1), -EINVAL);
    assert_int_equal(rw.max_readers, WEFT_RWLOCK_MAX_READERS); /* usable */
    assert_int_equal(weft_rwlock_try_write(&rw), 0);
    weft_rwlock_write_unlock(&rw);
    weft_rwlock_destroy(&rw);
}

/* ---- Semaphore, Notify, Barrier ------------------------------------------ */

static void sem_destroy_awaited(void) {
    weft_semaphore s;
    weft_semaphore_init(&s, 0);
    hand h = {0};
    weft_semaphore_acquire a;
    weft_semaphore_acquire_init(&a, &s);
    hand_poll(&h, &a.base);
    weft_semaphore_destroy(&s);
}

static void notify_destroy_awaited(void) {
    weft_notify n;
    weft_notify_init(&n);
    hand h = {0};
    weft_notified f;
    weft_notify_notified_init(&f, &n);
    hand_poll(&h, &f.base);
    weft_notify_destroy(&n);
}

static void barrier_destroy_awaited(void) {
    weft_barrier b;
    weft_barrier_init(&b, 2);
    hand h = {0};
    weft_barrier_wait w;
    weft_barrier_wait_init(&w, &b);
    hand_poll(&h, &w.base);
    weft_barrier_destroy(&b);
}

static void test_destroy_awaited(void **state) {
    (void)state;
    expect_misuse(sem_destroy_awaited, "weft_semaphore_destroy of a semaphore that futures still wait on");
    expect_misuse(notify_destroy_awaited, "weft_notify_destroy of a notify that futures still wait on");
    expect_misuse(barrier_destroy_awaited, "weft_barrier_destroy of a barrier that futures still wait on");
}

static void test_semaphore_limits(void **state) {
    (void)state;
    weft_semaphore s;
    /* Too many permits at init: an error, and a semaphore that refuses acquires. */
    assert_int_equal(weft_semaphore_init(&s, WEFT_SEMAPHORE_MAX_PERMITS + 1), -EINVAL);
    assert_true(weft_semaphore_is_closed(&s));
    assert_int_equal(weft_semaphore_available(&s), 0);
    assert_int_equal(weft_semaphore_try_acquire(&s, 1), -WEFT_ECLOSED);
    weft_semaphore_destroy(&s);

    /* Adding past the limit: -EOVERFLOW, nothing added. */
    assert_int_equal(weft_semaphore_init(&s, WEFT_SEMAPHORE_MAX_PERMITS - 2), 0);
    assert_int_equal(weft_semaphore_add_permits(&s, 3), -EOVERFLOW);
    assert_int_equal(weft_semaphore_available(&s), WEFT_SEMAPHORE_MAX_PERMITS - 2);
    assert_int_equal(weft_semaphore_add_permits(&s, SIZE_MAX), -EOVERFLOW);
    assert_int_equal(weft_semaphore_add_permits(&s, 2), 0);
    assert_int_equal(weft_semaphore_available(&s), WEFT_SEMAPHORE_MAX_PERMITS);
    assert_int_equal(weft_semaphore_add_permits(&s, 1), -EOVERFLOW);

    /* Permits collected by a queued waiter count too: they are not held by anybody yet. */
    assert_int_equal(weft_semaphore_try_acquire(&s, WEFT_SEMAPHORE_MAX_PERMITS), 0);
    assert_int_equal(weft_semaphore_add_permits(&s, 5), 0);
    hand h = {0};
    weft_semaphore_acquire a;
    weft_semaphore_acquire_many_init(&a, &s, 10);
    assert_int_equal(hand_poll(&h, &a.base), WEFT_PENDING); /* collected the 5 */
    assert_int_equal(weft_semaphore_available(&s), 0);
    assert_int_equal(weft_semaphore_add_permits(&s, WEFT_SEMAPHORE_MAX_PERMITS - 4), -EOVERFLOW);
    assert_int_equal(hand_wakes(&h), 0); /* nothing was handed out */
    assert_int_equal(weft_semaphore_add_permits(&s, WEFT_SEMAPHORE_MAX_PERMITS - 5), 0);
    assert_int_equal(hand_poll(&h, &a.base), WEFT_READY);
    assert_int_equal(a.result, 0);
    assert_int_equal(weft_semaphore_available(&s), WEFT_SEMAPHORE_MAX_PERMITS - 10);
    hand_check_balanced(&h);
    weft_semaphore_destroy(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutex),
        cmocka_unit_test(test_rwlock),
        cmocka_unit_test(test_destroy_awaited),
        cmocka_unit_test(test_semaphore_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
