/* The fault-injection wrappers; see fault.h. Nothing here allocates. */
#include "fault.h"

#include <errno.h>
#include <poll.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

typedef struct slot {
    atomic_bool armed;
    atomic_int err, fd, op;
    atomic_uint skip, count;
    atomic_size_t min_size;
    atomic_bool this_thread;
    _Atomic unsigned long thread;
    _Atomic(void (*)(void *)) hook;
    _Atomic(void *) hook_arg;
    atomic_uint selected, failed;
} slot;

static slot slots[FAULT_FN_COUNT];

/* A hook may call into wrapped functions: those calls are never selected. */
static _Thread_local bool in_hook;

void fault_arm(fault_fn fn, fault_rule r) {
    slot *s = &slots[fn];
    atomic_store(&s->armed, false);
    atomic_store(&s->err, r.err);
    atomic_store(&s->fd, r.fd);
    atomic_store(&s->op, r.op);
    atomic_store(&s->skip, r.skip);
    atomic_store(&s->count, r.count);
    atomic_store(&s->min_size, r.min_size);
    atomic_store(&s->this_thread, r.this_thread);
    atomic_store(&s->thread, (unsigned long)pthread_self());
    atomic_store(&s->hook, r.hook);
    atomic_store(&s->hook_arg, r.hook_arg);
    atomic_store(&s->selected, 0);
    atomic_store(&s->failed, 0);
    atomic_store_explicit(&s->armed, true, memory_order_release);
}

void fault_disarm(fault_fn fn) { atomic_store(&slots[fn].armed, false); }

void fault_disarm_all(void) {
    for (int i = 0; i < FAULT_FN_COUNT; i++) fault_disarm((fault_fn)i);
}

unsigned fault_selected(fault_fn fn) { return atomic_load(&slots[fn].selected); }
unsigned fault_failed(fault_fn fn) { return atomic_load(&slots[fn].failed); }

/* The slow path of an armed slot: 0 to let the call through, else the
 * errno to fail it with. */
static __attribute__((noinline)) int decide_armed(slot *s, int fd, int op, size_t size) {
    if (in_hook) return 0;
    int want_fd = atomic_load_explicit(&s->fd, memory_order_relaxed);
    if (want_fd && want_fd != fd + 1) return 0;
    int want_op = atomic_load_explicit(&s->op, memory_order_relaxed);
    if (want_op && want_op != op) return 0;
    if (size < atomic_load_explicit(&s->min_size, memory_order_relaxed)) return 0;
    if (atomic_load_explicit(&s->this_thread, memory_order_relaxed) &&
        atomic_load_explicit(&s->thread, memory_order_relaxed) != (unsigned long)pthread_self())
        return 0;
    unsigned n = atomic_fetch_add(&s->selected, 1);
    unsigned skip = atomic_load_explicit(&s->skip, memory_order_relaxed);
    unsigned count = atomic_load_explicit(&s->count, memory_order_relaxed);
    if (n < skip || (count && n - skip >= count)) return 0;
    void (*hook)(void *) = atomic_load(&s->hook);
    if (hook) {
        in_hook = true;
        hook(atomic_load(&s->hook_arg));
        in_hook = false;
    }
    int err = atomic_load_explicit(&s->err, memory_order_relaxed);
    if (err) atomic_fetch_add(&s->failed, 1);
    return err;
}

static inline int decide(fault_fn fn, int fd, int op, size_t size) {
    slot *s = &slots[fn];
    if (__builtin_expect(!atomic_load_explicit(&s->armed, memory_order_acquire), 1)) return 0;
    return decide_armed(s, fd, op, size);
}

/* ---- the wrappers ----------------------------------------------------------- */

#define FAIL_IF(fn, fd, op, size, failed)        \
    do {                                         \
        int e_ = decide((fn), (fd), (op), (size)); \
        if (e_) {                                \
            errno = e_;                          \
            return (failed);                     \
        }                                        \
    } while (0)

int __real_epoll_create1(int flags);
int __wrap_epoll_create1(int flags) {
    FAIL_IF(FAULT_EPOLL_CREATE, -1, 0, 0, -1);
    return __real_epoll_create1(flags);
}

int __real_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
    FAIL_IF(FAULT_EPOLL_CTL, fd, op, 0, -1);
    return __real_epoll_ctl(epfd, op, fd, ev);
}

int __real_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout);
int __wrap_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout) {
    FAIL_IF(FAULT_EPOLL_WAIT, epfd, 0, 0, -1);
    return __real_epoll_wait(epfd, evs, max, timeout);
}

int __real_poll(struct pollfd *fds, nfds_t n, int timeout);
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout) {
    FAIL_IF(FAULT_POLL, -1, 0, 0, -1);
    return __real_poll(fds, n, timeout);
}

int __real_accept(int fd, struct sockaddr *a, socklen_t *l);
int __wrap_accept(int fd, struct sockaddr *a, socklen_t *l) {
    FAIL_IF(FAULT_ACCEPT, fd, 0, 0, -1);
    return __real_accept(fd, a, l);
}

int __real_accept4(int fd, struct sockaddr *a, socklen_t *l, int flags);
int __wrap_accept4(int fd, struct sockaddr *a, socklen_t *l, int flags) {
    FAIL_IF(FAULT_ACCEPT, fd, 0, 0, -1);
    return __real_accept4(fd, a, l, flags);
}

ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n) {
    FAIL_IF(FAULT_READ, fd, 0, 0, -1);
    return __real_read(fd, buf, n);
}

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n) {
    FAIL_IF(FAULT_WRITE, fd, 0, 0, -1);
    return __real_write(fd, buf, n);
}

ssize_t __real_readv(int fd, const struct iovec *iov, int n);
ssize_t __wrap_readv(int fd, const struct iovec *iov, int n) {
    FAIL_IF(FAULT_READV, fd, 0, 0, -1);
    return __real_readv(fd, iov, n);
}

ssize_t __real_writev(int fd, const struct iovec *iov, int n);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n) {
    FAIL_IF(FAULT_WRITEV, fd, 0, 0, -1);
    return __real_writev(fd, iov, n);
}

ssize_t __real_send(int fd, const void *buf, size_t n, int flags);
ssize_t __wrap_send(int fd, const void *buf, size_t n, int flags) {
    FAIL_IF(FAULT_SEND, fd, 0, 0, -1);
    return __real_send(fd, buf, n, flags);
}

ssize_t __real_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                      socklen_t tl);
ssize_t __wrap_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                      socklen_t tl) {
    FAIL_IF(FAULT_SENDTO, fd, 0, 0, -1);
    return __real_sendto(fd, buf, n, flags, to, tl);
}

ssize_t __real_sendmsg(int fd, const struct msghdr *m, int flags);
ssize_t __wrap_sendmsg(int fd, const struct msghdr *m, int flags) {
    FAIL_IF(FAULT_SENDMSG, fd, 0, 0, -1);
    return __real_sendmsg(fd, m, flags);
}

ssize_t __real_recv(int fd, void *buf, size_t n, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t n, int flags) {
    FAIL_IF(FAULT_RECV, fd, 0, 0, -1);
    return __real_recv(fd, buf, n, flags);
}

ssize_t __real_recvmsg(int fd, struct msghdr *m, int flags);
ssize_t __wrap_recvmsg(int fd, struct msghdr *m, int flags) {
    FAIL_IF(FAULT_RECVMSG, fd, 0, 0, -1);
    return __real_recvmsg(fd, m, flags);
}

int __real_eventfd(unsigned int initval, int flags);
int __wrap_eventfd(unsigned int initval, int flags) {
    FAIL_IF(FAULT_EVENTFD, -1, 0, 0, -1);
    return __real_eventfd(initval, flags);
}

int __real_pipe(int fds[2]);
int __wrap_pipe(int fds[2]) {
    FAIL_IF(FAULT_PIPE, -1, 0, 0, -1);
    return __real_pipe(fds);
}

int __real_pipe2(int fds[2], int flags);
int __wrap_pipe2(int fds[2], int flags) {
    FAIL_IF(FAULT_PIPE, -1, 0, 0, -1);
    return __real_pipe2(fds, flags);
}

int __real_socket(int domain, int type, int proto);
int __wrap_socket(int domain, int type, int proto) {
    FAIL_IF(FAULT_SOCKET, -1, 0, 0, -1);
    return __real_socket(domain, type, proto);
}

int __real_socketpair(int domain, int type, int proto, int sv[2]);
int __wrap_socketpair(int domain, int type, int proto, int sv[2]) {
    FAIL_IF(FAULT_SOCKETPAIR, -1, 0, 0, -1);
    return __real_socketpair(domain, type, proto, sv);
}

int __real_connect(int fd, const struct sockaddr *a, socklen_t l);
int __wrap_connect(int fd, const struct sockaddr *a, socklen_t l) {
    FAIL_IF(FAULT_CONNECT, fd, 0, 0, -1);
    return __real_connect(fd, a, l);
}

int __real_pidfd_open(pid_t pid, unsigned int flags);
int __wrap_pidfd_open(pid_t pid, unsigned int flags) {
    FAIL_IF(FAULT_PIDFD_OPEN, -1, 0, 0, -1);
    return __real_pidfd_open(pid, flags);
}

/* posix_spawn reports its error as the return value, not errno. */
int __real_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                       const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
int __wrap_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                       const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    int e = decide(FAULT_POSIX_SPAWN, -1, 0, 0);
    if (e) return e;
    return __real_posix_spawn(pid, path, fa, attr, argv, envp);
}

int __real_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
int __wrap_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
    int e = decide(FAULT_POSIX_SPAWN, -1, 0, 0);
    if (e) return e;
    return __real_posix_spawnp(pid, file, fa, attr, argv, envp);
}

/* pthread_create reports its error as the return value, not errno. */
int __real_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
    int e = decide(FAULT_PTHREAD_CREATE, -1, 0, 0);
    if (e) return e;
    return __real_pthread_create(th, attr, fn, arg);
}

/* Allocators: their own slot, then the shared one. */
static inline int decide_alloc(fault_fn fn, size_t size) {
    int e = decide(fn, -1, 0, size);
    return e ? e : decide(FAULT_ANY_ALLOC, -1, 0, size);
}

#define ALLOC_FAIL_IF(fn, size)             \
    do {                                    \
        int e_ = decide_alloc((fn), (size)); \
        if (e_) {                           \
            errno = e_;                     \
            return NULL;                    \
        }                                   \
    } while (0)

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n) {
    ALLOC_FAIL_IF(FAULT_MALLOC, n);
    return __real_malloc(n);
}

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size) {
    ALLOC_FAIL_IF(FAULT_CALLOC, size && n > SIZE_MAX / size ? SIZE_MAX : n * size);
    return __real_calloc(n, size);
}

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) {
    ALLOC_FAIL_IF(FAULT_REALLOC, n);
    return __real_realloc(p, n);
}

void *__real_aligned_alloc(size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n) {
    ALLOC_FAIL_IF(FAULT_ALIGNED_ALLOC, n);
    return __real_aligned_alloc(align, n);
}

ssize_t __real_sendfile(int out_fd, int in_fd, off_t *off, size_t n);
ssize_t __wrap_sendfile(int out_fd, int in_fd, off_t *off, size_t n) {
    FAIL_IF(FAULT_SENDFILE, in_fd, 0, 0, -1);
    return __real_sendfile(out_fd, in_fd, off, n);
}

ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off) {
    FAIL_IF(FAULT_PREAD, fd, 0, 0, -1);
    return __real_pread(fd, buf, n, off);
}
