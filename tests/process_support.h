/* Test support for signals and child processes: descriptor and zombie
 * counts, signal dispositions, bounded waits for something that happens
 * on another thread. */
#ifndef WEFT_TEST_PROCESS_SUPPORT_H
#define WEFT_TEST_PROCESS_SUPPORT_H

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "fd_support.h"
#include "support.h"

static inline __attribute__((unused)) void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0) {
    }
}

/* Polls `cond` every 5 ms for up to 30 s (the machine is shared and slow
 * at times: the bound is only there so that a failure ends). */
#define WAIT_UNTIL(cond)                                             \
    do {                                                             \
        for (int w_ = 0; w_ < 6000 && !(cond); w_++) sleep_ms(5);    \
    } while (0)

/* Children of this process in state `state` ('Z': zombies), or with any
 * state when `state` is 0, read from /proc. */
static inline __attribute__((unused)) int children_in_state(char state) {
    DIR *d = opendir("/proc");
    if (!d) return -1;
    int n = 0;
    pid_t me = getpid();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        /* pid (comm) state ppid ...: comm may hold spaces and parentheses. */
        char *rp = strrchr(buf, ')');
        if (!rp) continue;
        char st;
        int ppid;
        if (sscanf(rp + 1, " %c %d", &st, &ppid) != 2) continue;
        if (ppid == me && (state == 0 || st == state)) n++;
    }
    closedir(d);
    return n;
}

/* True while process `pid` exists (a zombie included). */
static inline __attribute__((unused)) bool pid_exists(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    return access(path, F_OK) == 0;
}

/* The handler currently installed for `sig` (SIG_DFL, SIG_IGN or a function). */
static inline __attribute__((unused)) void *disposition(int sig) {
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return (sa.sa_flags & SA_SIGINFO) ? (void *)sa.sa_sigaction : (void *)sa.sa_handler;
}

/* Starts weft's service thread (its two descriptors stay for the life of
 * the process), so that descriptor counts taken afterwards compare. */
static inline __attribute__((unused)) void warm_up_signals(void) {
    weft_signal s;
    assert_int_equal(weft_signal_init(&s, SIGWINCH), 0);
    weft_signal_destroy(&s);
}

#endif
