/*
 * Every test of a file runs in a process of its own, as libuv's do: a test
 * that fails (cmocka jumps out of it, possibly from inside a runtime) or
 * crashes cannot leave state behind that fails the next one, and
 * LeakSanitizer reports each test's leaks on their own. Set
 * WEFT_TEST_INPROCESS=1 to run them all in one process (for a debugger).
 *
 * Include it after cmocka.h: it replaces cmocka_run_group_tests.
 */
#ifndef WEFT_TEST_ISOLATE_H
#define WEFT_TEST_ISOLATE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static inline __attribute__((unused)) int weft_test_run_isolated(const char *group,
                                                                 const struct CMUnitTest *tests,
                                                                 size_t n) {
    if (getenv("WEFT_TEST_INPROCESS")) return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) exit(_cmocka_run_group_tests(tests[i].name, &tests[i], 1, NULL, NULL) ? 1 : 0);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
        }
        if (WIFSIGNALED(status)) {
            fprintf(stderr, "[  CRASHED ] %s: signal %d (%s)\n", tests[i].name, WTERMSIG(status),
                    strsignal(WTERMSIG(status)));
            failed++;
        } else if (WEXITSTATUS(status) != 0) {
            failed++;
        }
    }
    printf("[==========] %s: %zu test(s) in separate processes, %d failed\n", group, n, failed);
    return failed;
}

#undef cmocka_run_group_tests
#define cmocka_run_group_tests(tests, setup, teardown) \
    weft_test_run_isolated(#tests, (tests), sizeof(tests) / sizeof((tests)[0]))

#endif
