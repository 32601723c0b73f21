/* The TCP socket builder: options before bind or connect, then a listener
 * or (through weft_tcp_socket_connect_init, in tcp.c) a stream. */
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

static int sfd(const weft_tcp_socket *s) {
    if (!s) return -EINVAL;
    return s->open ? s->fd : -EBADF;
}

static int open_family(weft_tcp_socket *s, int family) {
    if (!s) return -EINVAL;
    s->fd = -1;
    s->open = false;
    int fd = weft__socket(family, SOCK_STREAM, 0);
    if (fd < 0) return fd;
    s->fd = fd;
    s->open = true;
    return 0;
}

int weft_tcp_socket_open_v4(weft_tcp_socket *s) { return open_family(s, AF_INET); }
int weft_tcp_socket_open_v6(weft_tcp_socket *s) { return open_family(s, AF_INET6); }

int weft_tcp_socket_adopt(weft_tcp_socket *s, int fd) {
    if (!s) return -EINVAL;
    s->fd = -1;
    s->open = false;
    int err = weft__sock_check(fd, AF_INET, AF_INET6, SOCK_STREAM, 0);
    if (err) return err;
    weft__fd_flags saved;
    if ((err = weft__fd_prepare(fd, &saved))) return err;
    s->fd = fd;
    s->open = true;
    return 0;
}

static int set_bool(weft_tcp_socket *s, int level, int name, bool on) {
    int fd = sfd(s);
    return fd < 0 ? fd : weft__setsockopt_int(fd, level, name, on);
}

int weft_tcp_socket_set_reuseaddr(weft_tcp_socket *s, bool on) {
    return set_bool(s, SOL_SOCKET, SO_REUSEADDR, on);
}
int weft_tcp_socket_set_reuseport(weft_tcp_socket *s, bool on) {
    return set_bool(s, SOL_SOCKET, SO_REUSEPORT, on);
}
int weft_tcp_socket_set_v6only(weft_tcp_socket *s, bool on) {
    return set_bool(s, IPPROTO_IPV6, IPV6_V6ONLY, on);
}
int weft_tcp_socket_set_nodelay(weft_tcp_socket *s, bool on) {
    return set_bool(s, IPPROTO_TCP, TCP_NODELAY, on);
}
int weft_tcp_socket_set_keepalive(weft_tcp_socket *s, bool on) {
    return set_bool(s, SOL_SOCKET, SO_KEEPALIVE, on);
}

static int set_size(weft_tcp_socket *s, int name, size_t bytes) {
    int fd = sfd(s);
    if (fd < 0) return fd;
    if (bytes > INT_MAX) return -EINVAL;
    return weft__setsockopt_int(fd, SOL_SOCKET, name, (int)bytes);
}

static int get_size(const weft_tcp_socket *s, int name, size_t *bytes) {
    int fd = sfd(s);
    if (fd < 0) return fd;
    if (!bytes) return -EINVAL;
    int v = 0;
    int err = weft__getsockopt_int(fd, SOL_SOCKET, name, &v);
    if (!err) *bytes = v < 0 ? 0 : (size_t)v;
    return err;
}

int weft_tcp_socket_set_recv_buffer_size(weft_tcp_socket *s, size_t bytes) {
    return set_size(s, SO_RCVBUF, bytes);
}
int weft_tcp_socket_set_send_buffer_size(weft_tcp_socket *s, size_t bytes) {
    return set_size(s, SO_SNDBUF, bytes);
}
int weft_tcp_socket_recv_buffer_size(const weft_tcp_socket *s, size_t *bytes) {
    return get_size(s, SO_RCVBUF, bytes);
}
int weft_tcp_socket_send_buffer_size(const weft_tcp_socket *s, size_t *bytes) {
    return get_size(s, SO_SNDBUF, bytes);
}

int weft_tcp_socket_set_linger(weft_tcp_socket *s, bool on, unsigned seconds) {
    int fd = sfd(s);
    if (fd < 0) return fd;
    if (seconds > INT_MAX) return -EINVAL;
    struct linger lg = {on ? 1 : 0, (int)seconds};
    return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0 ? -errno : 0;
}

int weft_tcp_socket_setsockopt(weft_tcp_socket *s, int level, int name, const void *value,
                               socklen_t len) {
    int fd = sfd(s);
    if (fd < 0) return fd;
    return setsockopt(fd, level, name, value, len) < 0 ? -errno : 0;
}

int weft_tcp_socket_getsockopt(const weft_tcp_socket *s, int level, int name, void *value,
                               socklen_t *len) {
    int fd = sfd(s);
    if (fd < 0) return fd;
    if (!len) return -EINVAL;
    return getsockopt(fd, level, name, value, len) < 0 ? -errno : 0;
}

int weft_tcp_socket_bind_addr(weft_tcp_socket *s, const weft_sockaddr *addr) {
    int fd = sfd(s);
    if (fd < 0) return fd;
    if (!addr) return -EINVAL;
    return bind(fd, &addr->u.sa, addr->len) < 0 ? -errno : 0;
}

int weft_tcp_socket_bind(weft_tcp_socket *s, const char *addr) {
    int fd = sfd(s);
    if (fd < 0) return fd;
    int family;
    int err = weft__getsockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &family);
    if (err) return err;
    weft_sockaddr a;
    int n = weft__resolve_text(addr, family, SOCK_STREAM, true, &a, 1);
    if (n < 0) return n;
    return weft_tcp_socket_bind_addr(s, &a);
}

int weft_tcp_socket_local_addr(const weft_tcp_socket *s, weft_sockaddr *out) {
    int fd = sfd(s);
    if (fd < 0) {
        if (out) memset(out, 0, sizeof *out);
        return fd;
    }
    return weft__local_addr(fd, out);
}

int weft_tcp_socket_listen(weft_tcp_socket *s, weft_runtime *rt, int backlog,
                           weft_tcp_listener *l) {
    if (!l) return -EINVAL;
    memset(l, 0, sizeof *l);
    int fd = sfd(s);
    if (fd < 0) return fd;
    int err = weft__listen_fd(&l->io, rt, fd, backlog);
    if (err) return err;
    s->fd = -1;
    s->open = false;
    return 0;
}

int weft_tcp_socket_fd(const weft_tcp_socket *s) { return sfd(s); }

int weft_tcp_socket_into_fd(weft_tcp_socket *s) {
    int fd = sfd(s);
    if (fd < 0) return fd;
    s->fd = -1;
    s->open = false;
    return fd;
}

void weft_tcp_socket_close(weft_tcp_socket *s) {
    int fd = sfd(s);
    if (fd < 0) return;
    s->fd = -1;
    s->open = false;
    close(fd);
}
