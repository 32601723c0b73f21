/* The tour's read trace (examples/tour/net_trace.c): a read that must wait
 * is polled exactly twice, and the narration says so.
 * weft-test: io */
#include "net_support.h"
#include "../examples/tour/net_trace.c"

static void test_tour_read_trace(void **state) {
    (void)state;
    int fds = fd_count();
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    weft_runtime *rt = rt_new();
    assert_int_equal(tour_read_trace(rt, out), 0);
    weft_runtime_destroy(rt);
    fclose(out);
    assert_non_null(strstr(text, "EAGAIN"));
    assert_non_null(strstr(text, "\"hello\""));
    assert_non_null(strstr(text, "read polled 2 times, task polled 2 times"));
    int lines = 0;
    for (char *p = text; *p; p++) lines += *p == '\n';
    assert_true(lines >= 11);
    free(text);
    assert_int_equal(fd_count(), fds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tour_read_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
