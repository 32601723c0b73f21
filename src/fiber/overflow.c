/*
 * Stack overflow: a fiber that runs off the bottom of its stack touches
 * the guard region below it and takes a SIGSEGV. The handler runs on an
 * alternate signal stack (the fiber's own stack is exhausted), recognises
 * a guard hit by its address, and stops the process with a message that
 * says so. Any other SIGSEGV goes to the handler that was installed
 * before weft's (or to the default action, which ends the process as it
 * would have without weft).
 *
 * The handler is installed once, when the first fiber stack is taken;
 * each thread that resumes a fiber gets an alternate signal stack the
 * first time it does (unless it already has one, which it keeps).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fiber/fiber.h"
#include "fiber/stack.h"

static struct sigaction previous;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;

/* ---- the message, with async-signal-safe formatting only -------------------- */

static size_t put_str(char *buf, size_t at, size_t cap, const char *s) {
    while (*s && at < cap) buf[at++] = *s++;
    return at;
}

static size_t put_hex(char *buf, size_t at, size_t cap, uintptr_t v) {
    char tmp[2 + 2 * sizeof v];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    at = put_str(buf, at, cap, "0x");
    while (n && at < cap) buf[at++] = tmp[--n];
    return at;
}

static size_t put_dec(char *buf, size_t at, size_t cap, size_t v) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && at < cap) buf[at++] = tmp[--n];
    return at;
}

static void report_overflow(const void *addr, size_t stack_size) {
    char msg[512];
    size_t cap = sizeof msg - 1, n = 0;
    n = put_str(msg, n, cap, "weft: fiber stack overflow: access at ");
    n = put_hex(msg, n, cap, (uintptr_t)addr);
    n = put_str(msg, n, cap, " hit the guard page below a fiber stack of ");
    n = put_dec(msg, n, cap, stack_size);
    n = put_str(msg, n, cap, " bytes");
    const weft_fiber *f = weft__fiber_running();
    if (f) {
        n = put_str(msg, n, cap, " (fiber ");
        n = put_hex(msg, n, cap, (uintptr_t)f);
        n = put_str(msg, n, cap, ", fn ");
        n = put_hex(msg, n, cap, (uintptr_t)f->ctl.fn);
        n = put_str(msg, n, cap, ")");
    }
    n = put_str(msg, n, cap,
                ". Give it a larger stack: weft_fiber_options.stack_size, or "
                "weft_runtime_options.fiber_stack_size for every fiber of a runtime.\n");
    msg[n] = 0;
    ssize_t unused = write(STDERR_FILENO, msg, n);
    (void)unused;
}

static void on_segv(int sig, siginfo_t *si, void *uctx) {
    size_t size = weft__stack_guard_hit(si->si_addr);
    if (size) {
        report_overflow(si->si_addr, size);
        /* abort() would run on this alternate stack too; restore the
         * default action of SIGABRT so nothing intercepts it. */
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    /* Not ours: whatever handled SIGSEGV before weft does. */
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) {
            previous.sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
        return;
    }
    /* Default: re-arm it and return; the faulting access repeats and the
     * process ends with SIGSEGV, as it would have without weft. */
    signal(SIGSEGV, SIG_DFL);
}

static void free_altstack(void *mem) {
    stack_t ss = {.ss_flags = SS_DISABLE};
    stack_t cur;
    /* Only if the thread still uses ours (it may have installed its own). */
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == mem) sigaltstack(&ss, NULL);
    munmap(mem, WEFT__ALTSTACK_SIZE);
}

static void install(void) {
    pthread_key_create(&altstack_key, free_altstack);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous);
}

void weft__overflow_install(void) { pthread_once(&installed, install); }

_Thread_local bool weft__overflow_thread_ready WEFT__TLS_IE;

void weft__overflow_thread_slow(void) {
    weft__overflow_install();
    weft__errno_addr = &errno;
    weft__overflow_thread_ready = true;
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) return; /* has one */
    void *mem = mmap(NULL, WEFT__ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return; /* an overflow then ends in a plain SIGSEGV */
    stack_t ss = {.ss_sp = mem, .ss_size = WEFT__ALTSTACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(mem, WEFT__ALTSTACK_SIZE);
        return;
    }
    pthread_setspecific(altstack_key, mem); /* unmapped when the thread exits */
}
