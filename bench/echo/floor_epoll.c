/*
 * floor_epoll: the smallest readiness-based echo server we know how to write,
 * kept as the floor that weft's echo server is measured against (CPU time per
 * echoed message, syscalls per message).
 *
 * One thread, one level-triggered epoll set. When a connection is readable it
 * does exactly one read(2) into a shared 64 KiB buffer and one write(2) of
 * what it read: one read + one write per message, plus epoll_wait(2) shared by
 * every connection that was ready at once. With level triggering there is no
 * read that ends in EAGAIN: the next readiness report says when to read again.
 * A short write (the peer's receive window is full; it does not happen to a
 * closed-loop client) keeps the rest in a per-connection buffer, stops reading
 * that connection and waits for EPOLLOUT.
 *
 * usage: floor_epoll [--port P] (default 0: any free port)
 * Listens on 127.0.0.1 only, prints "listening on PORT", and serves until
 * SIGINT or SIGTERM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

typedef struct {
    int fd;
    char *pending;          /* unwritten tail after a short write, or NULL */
    size_t pending_len, pending_off;
} conn;

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void conn_close(int ep, conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->pending);
    free(c);
}

int main(int argc, char **argv)
{
    int port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else { fprintf(stderr, "usage: floor_epoll [--port P]\n"); return 2; }
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_signal };   /* no SA_RESTART */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, SOMAXCONN) != 0) {
        perror("floor_epoll: bind/listen");
        return 1;
    }
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);
    printf("listening on %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };  /* NULL: the listener */
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    static char buf[BUF_SIZE];
    struct epoll_event evs[256];
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("floor_epoll: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;   /* EAGAIN, or EMFILE: try again on the next wake-up */
                    conn *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    struct epoll_event cev = { .events = EPOLLIN, .data.ptr = nc };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            if (c->pending) {
                /* Writable again: flush the tail, then read again. */
                ssize_t w = write(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
                if (w < 0 && errno != EAGAIN && errno != EINTR) { conn_close(ep, c); continue; }
                if (w > 0) c->pending_off += (size_t)w;
                if (c->pending_off == c->pending_len) {
                    free(c->pending);
                    c->pending = NULL;
                    struct epoll_event cev = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
                }
                continue;
            }
            ssize_t r = read(c->fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                conn_close(ep, c);   /* EOF or error */
                continue;
            }
            ssize_t w = write(c->fd, buf, (size_t)r);
            if (w == r) continue;
            if (w < 0 && errno != EAGAIN && errno != EINTR) { conn_close(ep, c); continue; }
            if (w < 0) w = 0;
            c->pending_len = (size_t)(r - w);
            c->pending_off = 0;
            c->pending = malloc(c->pending_len);
            memcpy(c->pending, buf + w, c->pending_len);
            struct epoll_event cev = { .events = EPOLLOUT, .data.ptr = c };
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
        }
    }
    return 0;
}
