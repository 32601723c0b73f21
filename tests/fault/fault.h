/*
 * Fault injection for the tests: makes chosen system calls and allocator
 * calls fail on demand, with a chosen errno.
 *
 * How: the test_fault_* executables are linked with -Wl,--wrap=SYM for each
 * function below, so every call to SYM made by the test or by the objects
 * of libweft.a (undefined references resolved at that link) goes to
 * __wrap_SYM in fault.c, which decides and then calls __real_SYM. Calls made
 * inside shared libraries (libc itself, cmocka) are not affected.
 *
 * A rule selects calls of one function (a "slot"): optionally only those on
 * one descriptor, one epoll_ctl operation, one thread, allocations of at
 * least some size. Among the selected calls, counted from the moment the
 * rule is armed, the first `skip` go through and the next `count` fail with
 * `err` (count 0: every one until disarmed). A selected call may also run a
 * hook first, to make something happen at that exact point.
 *
 * Disarmed, a wrapper costs one relaxed atomic load. Every field is atomic,
 * so arming, disarming and the wrapped calls may race (arm or disarm while
 * the library is quiet for a deterministic test).
 */
#ifndef WEFT_TEST_FAULT_H
#define WEFT_TEST_FAULT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum fault_fn {
    FAULT_EPOLL_CREATE, /* epoll_create1 */
    FAULT_EPOLL_CTL,
    FAULT_EPOLL_WAIT,
    FAULT_POLL,
    FAULT_ACCEPT, /* accept and accept4 */
    FAULT_READ,
    FAULT_WRITE,
    FAULT_READV,
    FAULT_WRITEV,
    FAULT_SEND,
    FAULT_SENDTO,
    FAULT_SENDMSG,
    FAULT_RECV,
    FAULT_RECVMSG,
    FAULT_EVENTFD,
    FAULT_PIPE, /* pipe and pipe2 */
    FAULT_SOCKET,
    FAULT_SOCKETPAIR,
    FAULT_CONNECT,
    FAULT_PIDFD_OPEN,
    FAULT_POSIX_SPAWN, /* posix_spawn and posix_spawnp (the error is the return value) */
    FAULT_PTHREAD_CREATE,
    FAULT_MALLOC,
    FAULT_CALLOC,
    FAULT_REALLOC,
    FAULT_ALIGNED_ALLOC,
    FAULT_ANY_ALLOC, /* every allocator call above, counted together */
    FAULT_SENDFILE,
    FAULT_PREAD,
    FAULT_FN_COUNT
} fault_fn;

/* What to fail. Zero-initialise, then set what matters: `{.err = ENOMEM}`
 * fails the next call from any thread. */
typedef struct fault_rule {
    int err;          /* errno of the failure (0: never fail, only run the hook) */
    unsigned skip;    /* selected calls let through before the failures */
    unsigned count;   /* selected calls that fail (0: all of them) */
    int fd;           /* FAULT_FD(n): only calls on descriptor n (epoll_ctl: the
                         target descriptor; sendfile: the input one); 0: any */
    int op;           /* epoll_ctl only: this operation (EPOLL_CTL_ADD, ...); 0: any */
    size_t min_size;  /* allocators only: requests of at least this many bytes */
    bool this_thread; /* only calls from the thread that arms the rule */
    void (*hook)(void *arg); /* run by a selected call that fails (or, with err 0,
                                by the calls `skip`..`skip+count`), before it returns */
    void *hook_arg;
} fault_rule;

/* A descriptor number for fault_rule.fd (so that 0 can mean "any"). */
#define FAULT_FD(n) ((n) + 1)

/* Arms `fn` with `rule` (replacing its rule), counting from now. Any thread. */
void fault_arm(fault_fn fn, fault_rule rule);
/* Disarms `fn` (its counters stay readable). Any thread. */
void fault_disarm(fault_fn fn);
/* Disarms every slot. */
void fault_disarm_all(void);
/* Calls of `fn` selected by its rule since it was last armed (an
 * observing rule, err 0, counts the calls a site makes), and those failed. */
unsigned fault_selected(fault_fn fn);
unsigned fault_failed(fault_fn fn);

#endif
