/* The tour's mutex chapter (examples/tour/mutex.c) runs, narrates, and
 * what it measured agrees with its narration. */
#include "support.h"

#include "../examples/tour/mutex.c"

static void test_tour_mutex(void **state) {
    (void)state;
    weft_runtime *rt = rt_new_single(); /* step 1 locks a pthread mutex in a task: keep it on one thread */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    int rc = tour_mutex(rt, out);
    fclose(out);
    fwrite(text, 1, len, stdout);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(text, "FIFO"));
    assert_non_null(strstr(text, "EBUSY"));
    free(text);
    weft_runtime_destroy(rt);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tour_mutex)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
