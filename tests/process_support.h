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

#include "support.h"

static inline __attribute__((unused)) int fd_count(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        n++;
    }
    closedir(d);
    return n - 1;
}

/* Prints every open descriptor (what it is, its fdinfo) to stderr: what a
 * failed descriptor count shows, so that a leak names itself. */
static inline __attribute__((unused)) void fd_dump(const char *why) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    fprintf(stderr, "open descriptors (%s):\n", why);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[300], target[256] = "?", info[512] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n >= 0) target[n] = 0;
        snprintf(path, sizeof path, "/proc/self/fdinfo/%s", e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            size_t len = fread(info, 1, sizeof info - 1, f);
            info[len] = 0;
            fclose(f);
            for (char *q = info; *q; q++)
                if (*q == '\n' || *q == '\t') *q = ' ';
        }
        fprintf(stderr, "  fd %s -> %s  [%s]\n", e->d_name, target, info);
    }
    closedir(d);
}

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

/* Waits (up to 30 s) for the descriptor count to come back to `want` and
 * returns the count then, listing the descriptors on stderr if it did not.
 * A runtime's wakeup descriptor goes with its memory, at the last
 * reference, and a waker is one: weft's signal thread wakes a future
 * waiting for a signal (or, without pidfds, for a child) through a clone
 * of its waker, which it drops just after the wake, so the future can
 * complete and its runtime be destroyed first; the descriptor is closed
 * a moment after weft_runtime_destroy returns. */
static inline __attribute__((unused)) int fd_count_settled(int want) {
    WAIT_UNTIL(fd_count() == want);
    int n = fd_count();
    if (n != want) fd_dump("the count did not come back");
    return n;
}

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
