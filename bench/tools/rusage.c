/*
 * rusage — runs a program and reports its peak RSS and CPU time.
 *
 *     rusage PROGRAM [ARGS...]
 *
 * Runs PROGRAM as a child (stdout and stderr pass through), waits for it
 * with wait4, then prints on stderr one line
 *     RUSAGE maxrss_kib=<peak RSS> utime=<s> stime=<s> nvcsw=<n> nivcsw=<n>
 * (nvcsw/nivcsw: voluntary and involuntary context switches of the child
 * and all its threads)
 * and exits with the child's status (128 + signal if it was killed).
 *
 * Why not measure from python directly: Linux carries the RSS high-water
 * mark of the address space a process had before exec into ru_maxrss, so a
 * child forked from the python runner reports at least python's ~16 MB.
 * This helper is small, so that floor drops to about 1 MB, the same on
 * every side. Compiled on the fly by bench/tools/bench.py.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: rusage PROGRAM [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("rusage: fork");
        return 127;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror("rusage: exec");
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("rusage: wait4");
        return 127;
    }
    fprintf(stderr, "\nRUSAGE maxrss_kib=%ld utime=%.6f stime=%.6f nvcsw=%ld nivcsw=%ld\n", ru.ru_maxrss,
            ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6,
            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6, ru.ru_nvcsw, ru.ru_nivcsw);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}
