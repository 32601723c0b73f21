/*
 * A tiny DNS server for the resolver tests and benchmarks: a UDP socket on
 * loopback, served by a thread of its own, answering A and AAAA questions
 * from a table with real DNS packets (RFC 1035). A name in the table with
 * no record of the type asked is NODATA, a name not in it NXDOMAIN;
 * rcodes can be forced per name. It can also stay silent (a server that
 * never answers) or hold its answers until told (or until it has received
 * a number of questions), to keep lookups in flight.
 */
#ifndef WEFT_TEST_DNS_SERVER_H
#define WEFT_TEST_DNS_SERVER_H

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define DNS_A 1
#define DNS_AAAA 28

typedef struct dns_record {
    const char *name; /* lower case, no trailing dot */
    int type;         /* DNS_A, DNS_AAAA, or 0 with `rcode` set: the name answers that rcode */
    const char *addr; /* textual address for A/AAAA */
    int rcode;        /* with type 0: 2 SERVFAIL, 5 REFUSED, ... */
} dns_record;

typedef struct dns_held {
    uint8_t pkt[512];
    size_t len;
    struct sockaddr_storage from;
    socklen_t fromlen;
} dns_held;

typedef struct dns_server {
    int fd;
    uint16_t port;
    char addr_text[64]; /* "127.0.0.1:PORT", for weft_ares_options.servers */
    pthread_t th;
    int stop[2];
    const dns_record *table;
    size_t n;
    bool silent;        /* never answer */
    unsigned delay_ms;  /* wait this long before answering a batch of questions */
    unsigned hold;      /* > 0: keep answers until that many questions came, or dns_server_release */
    void (*on_held)(void *arg); /* called (on the server thread) when `hold` questions are held */
    void *on_held_arg;
    pthread_mutex_t lock;
    dns_held *held;
    size_t nheld, capheld;
    bool release;
    atomic_uint questions; /* received */
    atomic_uint answers;   /* sent */
    char last_name[256];   /* the last name asked (under lock) */
} dns_server;

/* Reads the question's name at `p` into `out` (lower case, dotted).
 * Returns the offset after it, or 0 if malformed. */
static inline size_t dns_read_name(const uint8_t *pkt, size_t len, size_t p, char *out, size_t cap) {
    size_t o = 0;
    while (p < len) {
        uint8_t l = pkt[p++];
        if (l == 0) {
            out[o] = 0;
            return p;
        }
        if (l > 63 || p + l > len || o + l + 2 > cap) return 0;
        if (o) out[o++] = '.';
        for (uint8_t i = 0; i < l; i++) out[o++] = (char)tolower(pkt[p + i]);
        p += l;
    }
    return 0;
}

static inline void put16(uint8_t *b, size_t at, uint16_t v) {
    b[at] = (uint8_t)(v >> 8);
    b[at + 1] = (uint8_t)v;
}

/* Builds the answer to the query `q` into `r`. Returns its length, 0 to
 * drop the query. */
static inline size_t dns_answer(dns_server *s, const uint8_t *q, size_t qlen, uint8_t *r, size_t cap) {
    if (qlen < 12 || (q[2] & 0x80)) return 0;
    char name[256];
    size_t end = dns_read_name(q, qlen, 12, name, sizeof name);
    if (!end || end + 4 > qlen) return 0;
    uint16_t qtype = (uint16_t)(q[end] << 8 | q[end + 1]);
    size_t qend = end + 4;
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_name, sizeof s->last_name, "%s", name);
    pthread_mutex_unlock(&s->lock);
    if (qend > cap) return 0;
    memcpy(r, q, qend);
    r[2] = (uint8_t)(0x80 | (q[2] & 0x01)); /* QR, RD as asked */
    r[3] = 0x80;                            /* RA, NOERROR */
    put16(r, 4, 1);
    put16(r, 6, 0);
    put16(r, 8, 0);
    put16(r, 10, 0);
    /* Drop anything after the question (an EDNS OPT record). */
    size_t o = qend;
    bool known = false;
    uint16_t an = 0;
    for (size_t i = 0; i < s->n; i++) {
        const dns_record *rec = &s->table[i];
        if (strcasecmp(rec->name, name) != 0) continue;
        known = true;
        if (rec->type == 0) {
            r[3] = (uint8_t)(0x80 | rec->rcode);
            return qend;
        }
        if (rec->type != qtype) continue;
        uint8_t addr[16];
        size_t alen = rec->type == DNS_A ? 4 : 16;
        if (inet_pton(rec->type == DNS_A ? AF_INET : AF_INET6, rec->addr, addr) != 1) continue;
        if (o + 12 + alen > cap) break;
        put16(r, o, 0xC00C); /* the question's name */
        put16(r, o + 2, qtype);
        put16(r, o + 4, 1);   /* IN */
        put16(r, o + 6, 0);
        put16(r, o + 8, 60);  /* TTL */
        put16(r, o + 10, (uint16_t)alen);
        memcpy(r + o + 12, addr, alen);
        o += 12 + alen;
        an++;
    }
    if (!known) r[3] = 0x80 | 3; /* NXDOMAIN */
    put16(r, 6, an);
    return o;
}

static inline void dns_reply(dns_server *s, const uint8_t *q, size_t qlen,
                             const struct sockaddr_storage *from, socklen_t fromlen) {
    uint8_t r[512];
    size_t n = dns_answer(s, q, qlen, r, sizeof r);
    if (n && sendto(s->fd, r, n, 0, (const struct sockaddr *)from, fromlen) == (ssize_t)n)
        atomic_fetch_add(&s->answers, 1);
}

/* Answers every held question (server thread). */
static inline void dns_flush(dns_server *s) {
    pthread_mutex_lock(&s->lock);
    dns_held *h = s->held;
    size_t n = s->nheld;
    s->held = NULL;
    s->nheld = s->capheld = 0;
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        dns_reply(s, h[i].pkt, h[i].len, &h[i].from, h[i].fromlen);
        /* In bursts the client's socket buffer could overflow: pace them. */
        if (i % 100 == 99) usleep(2000);
    }
    free(h);
}

static inline void *dns_server_main(void *arg) {
    dns_server *s = arg;
    bool fired = false;
    for (;;) {
        struct pollfd p[2] = {{s->fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
        /* A late answer: the client has waited for it a while. */
        if (s->delay_ms && poll(p, 2, -1) > 0 && !p[1].revents) usleep(s->delay_ms * 1000);
        if (poll(p, 2, -1) < 0) continue;
        if (p[1].revents) {
            char c;
            if (read(s->stop[0], &c, 1) == 1 && c == 'r') { /* release */
                pthread_mutex_lock(&s->lock);
                s->release = true;
                pthread_mutex_unlock(&s->lock);
                dns_flush(s);
                continue;
            }
            break;
        }
        for (;;) {
            dns_held h;
            h.fromlen = sizeof h.from;
            ssize_t n = recvfrom(s->fd, h.pkt, sizeof h.pkt, MSG_DONTWAIT, (struct sockaddr *)&h.from,
                                 &h.fromlen);
            if (n <= 0) break;
            h.len = (size_t)n;
            unsigned count = atomic_fetch_add(&s->questions, 1) + 1;
            if (s->silent) continue;
            pthread_mutex_lock(&s->lock);
            bool keep = s->hold && !s->release;
            if (keep) {
                if (s->nheld == s->capheld) {
                    s->capheld = s->capheld ? s->capheld * 2 : 64;
                    s->held = realloc(s->held, s->capheld * sizeof *s->held);
                }
                s->held[s->nheld++] = h;
            }
            pthread_mutex_unlock(&s->lock);
            if (!keep) dns_reply(s, h.pkt, h.len, &h.from, h.fromlen);
            if (keep && !fired && count >= s->hold) {
                fired = true;
                if (s->on_held) s->on_held(s->on_held_arg);
                pthread_mutex_lock(&s->lock);
                s->release = true;
                pthread_mutex_unlock(&s->lock);
                dns_flush(s);
            }
        }
    }
    return NULL;
}

/* Starts a server on 127.0.0.1 (port 0: any free port) with `table`.
 * Set `silent`, `hold`, `on_held` before calling. 0 or -errno. */
static inline int dns_server_start(dns_server *s, const dns_record *table, size_t n, uint16_t port) {
    s->table = table;
    s->n = n;
    pthread_mutex_init(&s->lock, NULL);
    s->held = NULL;
    s->nheld = s->capheld = 0;
    s->release = false;
    atomic_init(&s->questions, 0);
    atomic_init(&s->answers, 0);
    s->last_name[0] = 0;
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0) return -errno;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0) {
        int err = -errno;
        close(s->fd);
        return err;
    }
    /* Bursts of thousands of questions: a large buffer (forced when
     * allowed) so that none is dropped while the thread catches up. */
    int big = 4 << 20;
    if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    s->port = ntohs(a.sin_port);
    snprintf(s->addr_text, sizeof s->addr_text, "127.0.0.1:%u", s->port);
    if (pipe2(s->stop, O_CLOEXEC) != 0) {
        int err = -errno;
        close(s->fd);
        return err;
    }
    int err = pthread_create(&s->th, NULL, dns_server_main, s);
    if (err) {
        close(s->fd);
        close(s->stop[0]);
        close(s->stop[1]);
        return -err;
    }
    return 0;
}

/* Answers what is held and stops holding. Any thread. */
static inline void dns_server_release(dns_server *s) {
    ssize_t w = write(s->stop[1], "r", 1);
    (void)w;
}

static inline void dns_server_stop(dns_server *s) {
    ssize_t w = write(s->stop[1], "x", 1);
    (void)w;
    pthread_join(s->th, NULL);
    close(s->fd);
    close(s->stop[0]);
    close(s->stop[1]);
    free(s->held);
    pthread_mutex_destroy(&s->lock);
}

#endif
