/* Counting a test process's open descriptors, to show that nothing leaks
 * one: the count, a listing for when it is wrong, and a wait for it to
 * settle. Shared by the network, file, process and signal tests. */
#ifndef WEFT_TEST_FD_SUPPORT_H
#define WEFT_TEST_FD_SUPPORT_H

#include <dirent.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

/* Open descriptors of this process (/proc/self/fd, minus the directory
 * stream used to list it). */
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

/* Waits (up to 30 s) for the descriptor count to come back to `want` and
 * returns the count then, listing the descriptors on stderr if it did not.
 * A runtime's wakeup descriptor goes with its memory, at the last
 * reference, and a waker or a blocking-pool job holds one: a pool thread,
 * or weft's signal thread dropping the waker clone it woke a future
 * through, can free the runtime a moment after weft_runtime_destroy
 * returns. */
static inline __attribute__((unused)) int fd_count_settled(int want) {
    int n = fd_count();
    for (int i = 0; i < 3000 && n != want; i++) {
        usleep(10000);
        n = fd_count();
    }
    if (n != want) fd_dump("the count did not come back");
    return n;
}

#endif
