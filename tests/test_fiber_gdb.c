/* The gdb helper (scripts/gdb/weft-fibers.py): gdb runs this program in
 * "target" mode, stops it while a fiber is suspended three calls deep, and
 * `weft-fibers` lists the fiber while `weft-fiber-bt` prints its
 * backtrace through those calls. Skipped when gdb is missing or may not
 * trace (a container without ptrace), and in sanitizer builds. */
#include "fiber/fiber.h"
#include "fiber_support.h"

static gate_state gs;
static weft_runtime *the_runtime;
static weft_fiber *the_fiber;

static __attribute__((noinline)) int innermost_wait(void) {
    gate g;
    return weft_await(gate_init(&g, &gs));
}
static __attribute__((noinline)) int middle_of_the_fiber(int depth) {
    int rc = depth > 0 ? middle_of_the_fiber(depth - 1) : innermost_wait();
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return rc;
}
static void *fiber_body(void *arg) {
    (void)arg;
    the_fiber = weft__fiber_running();
    return (void *)(intptr_t)middle_of_the_fiber(2);
}

/* gdb stops here, with the fiber suspended. */
__attribute__((noinline)) void fiber_is_suspended(void) { __asm__ volatile("" ::: "memory"); }

static int target(void) {
    weft_runtime_options o = {0};
    if (weft_runtime_create(&the_runtime, &o) != 0) return 1;
    gate_state_init(&gs);
    weft_join_handle h = weft_fiber_spawn(the_runtime, fiber_body, NULL, NULL);
    while (atomic_load(&gs.polls) == 0) {
        weft_sleep s;
        weft_block_on(the_runtime, weft_sleep_init(&s, 1));
    }
    fiber_is_suspended();
    gate_open(&gs);
    weft_block_on(the_runtime, &h.base);
    weft_runtime_destroy(the_runtime);
    return 0;
}

static void test_gdb_helper(void **state) {
    (void)state;
#if FIBER_TEST_SANITIZED
    skip();
#else
    if (system("command -v gdb > /dev/null 2>&1") != 0) skip();
    char self[4096], script[4096], cmd[16384];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = 0;
    /* The script next to this source file: <repo>/tests/ -> <repo>/scripts/gdb/. */
    snprintf(script, sizeof script, "%s", __FILE__);
    char *slash = strrchr(script, '/');
    assert_non_null(slash);
    snprintf(slash, sizeof script - (size_t)(slash - script), "/../scripts/gdb/weft-fibers.py");
    snprintf(cmd, sizeof cmd,
             "gdb -nx -batch -ex 'set debuginfod enabled off' -ex 'break fiber_is_suspended' -ex run "
             "-ex 'source %s' -ex 'weft-fibers the_runtime' -ex 'weft-fiber-bt the_fiber' "
             "-ex 'bt 1' -ex kill --args %s target 2>&1",
             script, self);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[65536];
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = 0;
    pclose(p);
    if (strstr(out, "ptrace") && strstr(out, "not permitted")) skip();
    if (!strstr(out, "1 fiber task(s)") || !strstr(out, "suspended on gate") ||
        !strstr(out, "innermost_wait") || !strstr(out, "middle_of_the_fiber") ||
        !strstr(out, "fiber_body") || !strstr(out, "weft__fiber_entry"))
        fail_msg("gdb output:\n%s", out);
    /* The thread's own registers are back: its backtrace is the test's. */
    const char *after = strstr(out, "weft__fiber_entry");
    assert_non_null(strstr(after, "fiber_is_suspended"));
#endif
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "target")) return target();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gdb_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
