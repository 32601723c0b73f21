/* Child processes with real programs: cat through both pipes, a pipeline
 * through weft_copy, exit codes and signals, EPIPE without SIGPIPE, a
 * flood of stderr, programs that cannot run, environment, working
 * directory and standard streams, kill and kill on drop, 1,000 children
 * (no zombie left), every future cancelled mid-flight, concurrent waits,
 * a child outliving its runtime. Every test checks that no descriptor
 * leaked and no child is left.
 * weft-test: io
 * weft-test: threaded
 * weft-test: timeout=600 */
#include "process_cases.h"

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cat_both_pipes),
        cmocka_unit_test(test_pipeline_with_copy),
        cmocka_unit_test(test_exit_codes_and_signals),
        cmocka_unit_test(test_epipe_without_sigpipe),
        cmocka_unit_test(test_output_floods),
        cmocka_unit_test(test_wait_with_output),
        cmocka_unit_test(test_spawn_errors),
        cmocka_unit_test(test_env_args_cwd),
        cmocka_unit_test(test_stdio_null_and_inherit),
        cmocka_unit_test(test_kill_and_try_wait),
        cmocka_unit_test(test_kill_on_drop),
        cmocka_unit_test(test_thousand_children),
        cmocka_unit_test(test_cancel_every_future),
        cmocka_unit_test(test_concurrent_waits),
        cmocka_unit_test(test_child_outlives_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
