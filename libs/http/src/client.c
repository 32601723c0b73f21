/*
 * The client: a pool of keep-alive connections per scheme://host:port, and
 * the fetch coroutine (connect or reuse, send the request, read the
 * response head; the body is read through the response's stream).
 *
 * A connection goes back to the pool only when its response body was read
 * to the end and both sides allow keep-alive; an idle connection older
 * than idle_timeout_ms is closed instead of reused. A reused connection
 * the server had closed meanwhile fails at once (a write error, or the
 * end of the stream before any byte of a response): the request is then
 * sent again on a new connection, once, if its body can be sent again (it
 * is not a stream).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http_internal.h"
#include "weft.h"

#define C_READ_MIN 4096
#define C_BODY_ROOM 4096
#define KEY_MAX 320

typedef struct weft__http_cconn {
    struct weft__http_cconn *next; /* in the pool's idle list */
    weft_http_client *client;
    char key[KEY_MAX];             /* scheme://host:port */
    weft_tcp_stream tcp;
    weft_stream *s;
    bool wrapped;
    char *rbuf;
    size_t rcap, rpos, rend;
    weft_http_header *hdrs;
    uint64_t idle_since;
    /* the response body */
    weft_stream body;
    weft_http_body_kind kind;
    uint64_t left;
    weft_http_chunked ck;
    size_t ck_pending;
    bool done, keep_alive;
    int error;
    weft_sleep sleep;
    bool armed;
} cconn;

struct weft_http_client {
    weft_http_client_options opts;
    pthread_mutex_t lock;
    cconn *idle;
    size_t nidle;
};

WEFT_API int weft_http_client_create(weft_http_client **out, const weft_http_client_options *opts) {
    if (!out) return -EINVAL;
    weft_http_client *c = calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    if (opts) c->opts = *opts;
    weft_http_client_options *o = &c->opts;
    if (!o->max_idle_per_host) o->max_idle_per_host = 8;
    if (!o->max_idle) o->max_idle = 256;
    if (!o->idle_timeout_ms) o->idle_timeout_ms = 60000;
    if (!o->connect_timeout_ms) o->connect_timeout_ms = 10000;
    if (!o->timeout_ms) o->timeout_ms = 30000;
    if (!o->body_timeout_ms) o->body_timeout_ms = 30000;
    if (!o->max_head_bytes) o->max_head_bytes = 64 * 1024;
    if (!o->max_headers) o->max_headers = 100;
    if (o->max_redirects < 0) o->max_redirects = 0;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

static void cconn_free(cconn *k) {
    if (!k) return;
    if (k->armed) weft_future_drop(&k->sleep.base);
    if (k->wrapped) k->client->opts.https->close(k->client->opts.https->arg, k->s);
    weft_tcp_stream_close(&k->tcp);
    free(k->rbuf);
    free(k->hdrs);
    free(k);
}

WEFT_API void weft_http_client_destroy(weft_http_client *c) {
    if (!c) return;
    cconn *k = c->idle;
    while (k) {
        cconn *n = k->next;
        cconn_free(k);
        k = n;
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

WEFT_API size_t weft_http_client_idle(const weft_http_client *c) {
    if (!c) return 0;
    pthread_mutex_lock((pthread_mutex_t *)&c->lock);
    size_t n = c->nidle;
    pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
    return n;
}

/* Whether an idle connection is still usable: a peek that finds the end
 * of the stream (the server closed it while it sat in the pool) or bytes
 * nobody asked for says no. Wrapped streams are not peeked (their bytes
 * are the wrapper's). */
static bool still_open(cconn *k) {
    if (k->wrapped) return true;
    int fd = weft_tcp_stream_fd(&k->tcp);
    if (fd < 0) return false;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Takes an idle connection for `key`, newest first; closes expired ones. */
static cconn *pool_take(weft_http_client *c, const char *key) {
    uint64_t now = weft_clock_ms();
    cconn *found = NULL, *expired = NULL;
    pthread_mutex_lock(&c->lock);
    for (cconn **pp = &c->idle; *pp;) {
        cconn *k = *pp;
        bool mine = !found && strcmp(k->key, key) == 0;
        if (now - k->idle_since > c->opts.idle_timeout_ms || (mine && !still_open(k))) {
            *pp = k->next;
            c->nidle--;
            k->next = expired;
            expired = k;
            continue;
        }
        if (mine) {
            *pp = k->next;
            c->nidle--;
            found = k;
            continue;
        }
        pp = &k->next;
    }
    pthread_mutex_unlock(&c->lock);
    while (expired) {
        cconn *n = expired->next;
        cconn_free(expired);
        expired = n;
    }
    return found;
}

/* Puts `k` back, or closes it when the pool is full for its key or in all. */
static void pool_put(weft_http_client *c, cconn *k) {
    k->idle_since = weft_clock_ms();
    size_t same = 0;
    pthread_mutex_lock(&c->lock);
    for (cconn *i = c->idle; i; i = i->next) same += strcmp(i->key, k->key) == 0;
    bool keep = same < c->opts.max_idle_per_host && c->nidle < c->opts.max_idle;
    if (keep) {
        k->next = c->idle;
        c->idle = k;
        c->nidle++;
    }
    pthread_mutex_unlock(&c->lock);
    if (!keep) cconn_free(k);
}

/* ---- the response body ------------------------------------------------------------- */

static cconn *body_cconn(weft_stream *s) { return (cconn *)((char *)s - offsetof(cconn, body)); }

static weft_poll cbody_fail(cconn *k, int err, ssize_t *res) {
    k->error = err;
    k->keep_alive = false;
    if (k->armed) {
        weft_future_drop(&k->sleep.base);
        k->armed = false;
    }
    *res = err;
    return WEFT_READY;
}

static weft_poll cbody_poll_read(weft_stream *s, weft_context *cx, void *buf, size_t len,
                                 ssize_t *res) {
    cconn *k = body_cconn(s);
    if (k->error) {
        *res = k->error;
        return WEFT_READY;
    }
    if (k->done || len == 0) {
        *res = 0;
        return WEFT_READY;
    }
    for (;;) {
        while (k->rpos < k->rend) {
            size_t avail = k->rend - k->rpos;
            if (k->kind == WEFT_HTTP_BODY_LENGTH || k->kind == WEFT_HTTP_BODY_CLOSE) {
                size_t n = len < avail ? len : avail;
                if (k->kind == WEFT_HTTP_BODY_LENGTH && n > k->left) n = (size_t)k->left;
                memcpy(buf, k->rbuf + k->rpos, n);
                k->rpos += n;
                if (k->kind == WEFT_HTTP_BODY_LENGTH && (k->left -= n) == 0) k->done = true;
                *res = (ssize_t)n;
                return WEFT_READY;
            }
            if (k->ck_pending) {
                size_t n = len < k->ck_pending ? len : k->ck_pending;
                memcpy(buf, k->rbuf + k->rpos, n);
                k->rpos += n;
                k->ck_pending -= n;
                *res = (ssize_t)n;
                return WEFT_READY;
            }
            size_t used, off, dlen;
            int r = weft_http_chunked_decode(&k->ck, k->rbuf + k->rpos, avail, &used, &off, &dlen);
            if (r < 0) return cbody_fail(k, -EBADMSG, res);
            if (r == WEFT_HTTP_CHUNKED_DATA) {
                k->rpos += off;
                k->ck_pending = dlen;
                continue;
            }
            k->rpos += used;
            if (r == WEFT_HTTP_CHUNKED_DONE) {
                k->done = true;
                if (k->rpos != k->rend) k->keep_alive = false; /* bytes nobody asked for */
                *res = 0;
                return WEFT_READY;
            }
        }
        k->rpos = k->rend = 0;
        ssize_t got;
        if (weft_stream_poll_read(k->s, cx, k->rbuf, k->rcap, &got) == WEFT_PENDING) {
            if (!k->armed) {
                weft_sleep_init(&k->sleep, k->client->opts.body_timeout_ms);
                k->armed = true;
            }
            if (weft_future_poll(&k->sleep.base, cx) == WEFT_READY) {
                k->armed = false;
                return cbody_fail(k, -ETIMEDOUT, res);
            }
            return WEFT_PENDING;
        }
        if (k->armed) {
            weft_future_drop(&k->sleep.base);
            k->armed = false;
        }
        if (got < 0) return cbody_fail(k, (int)got, res);
        if (got == 0) {
            if (k->kind == WEFT_HTTP_BODY_CLOSE) {
                k->done = true;
                k->keep_alive = false;
                *res = 0;
                return WEFT_READY;
            }
            return cbody_fail(k, -ECONNRESET, res); /* the server went away mid-body */
        }
        k->rend = (size_t)got;
    }
}

static weft_poll cbody_poll_write(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                                  ssize_t *res) {
    *res = -EBADF;
    return WEFT_READY;
}
static weft_poll cbody_poll_flush(weft_stream *s, weft_context *cx, int *res) {
    *res = -EBADF;
    return WEFT_READY;
}
static const weft_stream_vtable cbody_vtable = {"weft_http_client_body", 0, cbody_poll_read, NULL,
                                                cbody_poll_write, NULL, cbody_poll_flush,
                                                cbody_poll_flush};

WEFT_API void weft_http_client_response_destroy(weft_http_client_response *r) {
    if (!r || !r->conn) return;
    cconn *k = r->conn;
    r->conn = NULL;
    r->body = NULL;
    if (k->armed) {
        weft_future_drop(&k->sleep.base);
        k->armed = false;
    }
    if (k->done && k->keep_alive && !k->error && k->rpos == k->rend) pool_put(k->client, k);
    else cconn_free(k);
}

/* ---- URLs ------------------------------------------------------------------------ */

typedef struct url_parts {
    bool https;
    char host[256];      /* without brackets */
    char authority[300]; /* as in the URL: the Host field */
    char hostport[300];  /* for connect: "host:port" ("[v6]:port") */
    const char *path;    /* from the '/' (or "/" when absent) */
    uint16_t port;
} url_parts;

static int url_parse(const char *url, url_parts *u) {
    memset(u, 0, sizeof *u);
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        p = url + 8;
        u->https = true;
    } else {
        return -EINVAL;
    }
    const char *end = p + strcspn(p, "/?#");
    size_t alen = (size_t)(end - p);
    if (alen == 0 || alen >= sizeof u->authority) return -EINVAL;
    if (memchr(p, '@', alen)) return -EINVAL; /* userinfo: not supported */
    memcpy(u->authority, p, alen);
    const char *hs = p, *he;
    const char *portp = NULL;
    if (*p == '[') {
        he = memchr(p, ']', alen);
        if (!he) return -EINVAL;
        hs = p + 1;
        if (he + 1 < end) {
            if (he[1] != ':') return -EINVAL;
            portp = he + 2;
        }
    } else {
        const char *colon = memchr(p, ':', alen);
        he = colon ? colon : end;
        if (colon) portp = colon + 1;
    }
    size_t hl = (size_t)(he - hs);
    if (hl == 0 || hl >= sizeof u->host) return -EINVAL;
    memcpy(u->host, hs, hl);
    unsigned long port = u->https ? 443 : 80;
    if (portp) {
        if (portp == end) return -EINVAL;
        port = 0;
        for (const char *q = portp; q < end; q++) {
            if (*q < '0' || *q > '9') return -EINVAL;
            port = port * 10 + (unsigned long)(*q - '0');
            if (port > 65535) return -EINVAL;
        }
    }
    u->port = (uint16_t)port;
    for (size_t i = 0; i < hl; i++) {
        unsigned char ch = (unsigned char)u->host[i];
        if (ch <= 0x20 || ch == 0x7f) return -EINVAL;
    }
    snprintf(u->hostport, sizeof u->hostport, *p == '[' ? "[%s]:%u" : "%s:%u", u->host, u->port);
    u->path = *end == '/' ? end : (*end == '?' ? end : "/");
    for (const char *q = u->path; *q && *q != '#'; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f) return -EINVAL;
    return 0;
}

/* ---- the request ----------------------------------------------------------------- */

static bool method_ok(const char *m) {
    if (!*m) return false;
    for (; *m; m++)
        if (!weft__http_is_tchar((unsigned char)*m)) return false;
    return true;
}

static bool idempotent(const char *m) {
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
           !strcmp(m, "OPTIONS") || !strcmp(m, "TRACE");
}

/* Appends to the fetch's write buffer. */
static int wput(weft_http_fetch *f, const void *p, size_t n, size_t *cap) {
    if (f->wlen + n > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < f->wlen + n) c *= 2;
        char *q = realloc(f->wbuf, c);
        if (!q) return -ENOMEM;
        f->wbuf = q;
        *cap = c;
    }
    memcpy(f->wbuf + f->wlen, p, n);
    f->wlen += n;
    return 0;
}
#define WPUT_S(f, s, cap) wput((f), (s), strlen(s), (cap))

/* The request head (and a small body from memory) in f->wbuf. */
static int build_request(weft_http_fetch *f, const url_parts *u) {
    const weft_http_client_request *rq = f->req;
    size_t cap = 0;
    f->wlen = 0;
    const char *path = u->path;
    size_t plen = strcspn(path, "#");
    int r = 0;
    r |= WPUT_S(f, f->method, &cap);
    r |= wput(f, " ", 1, &cap);
    if (*path == '?') r |= wput(f, "/", 1, &cap);
    r |= wput(f, path, plen, &cap);
    r |= WPUT_S(f, " HTTP/1.1\r\nHost: ", &cap);
    r |= WPUT_S(f, u->authority, &cap);
    r |= wput(f, "\r\n", 2, &cap);
    for (size_t i = 0; i < rq->num_headers; i++) {
        const weft_http_header *h = &rq->headers[i];
        if (!h->name || !h->value || h->name_len == 0) return -EINVAL;
        for (uint32_t j = 0; j < h->name_len; j++)
            if (!weft__http_is_tchar((unsigned char)h->name[j])) return -EINVAL;
        for (uint32_t j = 0; j < h->value_len; j++) {
            unsigned char ch = (unsigned char)h->value[j];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return -EINVAL;
        }
        if (weft__http_name_eq(h->name, h->name_len, "host", 4) ||
            weft__http_name_eq(h->name, h->name_len, "content-length", 14) ||
            weft__http_name_eq(h->name, h->name_len, "transfer-encoding", 17))
            continue;
        r |= wput(f, h->name, h->name_len, &cap);
        r |= wput(f, ": ", 2, &cap);
        r |= wput(f, h->value, h->value_len, &cap);
        r |= wput(f, "\r\n", 2, &cap);
    }
    char num[64];
    if (rq->body_stream) {
        if (rq->body_stream_len >= 0) {
            snprintf(num, sizeof num, "Content-Length: %lld\r\n", (long long)rq->body_stream_len);
            r |= WPUT_S(f, num, &cap);
        } else {
            r |= WPUT_S(f, "Transfer-Encoding: chunked\r\n", &cap);
        }
    } else if (rq->body || rq->body_len || !strcmp(f->method, "POST") || !strcmp(f->method, "PUT") ||
               !strcmp(f->method, "PATCH")) {
        snprintf(num, sizeof num, "Content-Length: %zu\r\n", rq->body ? rq->body_len : (size_t)0);
        r |= WPUT_S(f, num, &cap);
    }
    r |= wput(f, "\r\n", 2, &cap);
    if (!rq->body_stream && rq->body && rq->body_len) r |= wput(f, rq->body, rq->body_len, &cap);
    return r ? -ENOMEM : 0;
}

static uint64_t remaining(const weft_http_fetch *f) {
    uint64_t now = weft_clock_ms();
    return f->deadline > now ? f->deadline - now : 1;
}

static void fetch_cleanup(weft_http_fetch *self) {
    if (self->conn) cconn_free(self->conn);
    self->conn = NULL;
    free(self->url);
    free(self->wbuf);
    self->url = NULL;
    self->wbuf = NULL;
}

/* Connects (or wraps) a new connection for `u`. */
static cconn *cconn_new(weft_http_client *c, const char *key) {
    cconn *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    k->client = c;
    snprintf(k->key, sizeof k->key, "%s", key);
    k->rbuf = malloc(C_READ_MIN);
    k->hdrs = malloc(c->opts.max_headers * sizeof *k->hdrs);
    if (!k->rbuf || !k->hdrs) {
        free(k->rbuf);
        free(k->hdrs);
        free(k);
        return NULL;
    }
    k->rcap = C_READ_MIN;
    k->body.vt = &cbody_vtable;
    return k;
}

/* Parses the response head in the connection's buffer: 1, 0 (more), or an error. */
static int take_response(weft_http_fetch *f) {
    cconn *k = f->conn;
    weft_http_client_options *o = &f->client->opts;
    int r = weft_http_parse_response(&f->response.head, k->rbuf + k->rpos, k->rend - k->rpos, k->hdrs,
                                     o->max_headers, o->max_head_bytes, f->head_request);
    if (r == -EAGAIN) return 0;
    if (r < 0) return r;
    k->rpos += (size_t)r;
    return 1;
}

/* Room to read more of a head. */
static int head_room(cconn *k, size_t limit) {
    if (k->rpos > 0) {
        memmove(k->rbuf, k->rbuf + k->rpos, k->rend - k->rpos);
        k->rend -= k->rpos;
        k->rpos = 0;
    }
    if (k->rend < k->rcap) return 0;
    if (k->rcap >= limit + C_BODY_ROOM) return -EMSGSIZE;
    size_t cap = k->rcap * 2 < limit + C_BODY_ROOM ? k->rcap * 2 : limit + C_BODY_ROOM;
    char *p = realloc(k->rbuf, cap);
    if (!p) return -ENOMEM;
    k->rbuf = p;
    k->rcap = cap;
    return 0;
}

/* Resolves a Location against the current URL: absolute http(s) URLs and
 * absolute paths only. */
static char *redirect_target(const char *cur, const char *loc, size_t len) {
    if (len >= 7 && (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0))
        return strndup(loc, len);
    if (len == 0 || loc[0] != '/' || (len > 1 && loc[1] == '/')) return NULL;
    url_parts u;
    if (url_parse(cur, &u) != 0) return NULL;
    size_t n = strlen(u.authority) + len + 16;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s://%s%.*s", u.https ? "https" : "http", u.authority, (int)len, loc);
    return out;
}

WEFT_ASYNC(weft_http_fetch, fetch_cleanup) {
    WEFT_BEGIN();
    if (!self->client || !self->req || !self->req->url) {
        self->result = -EINVAL;
        WEFT_RETURN();
    }
    self->method = self->req->method ? self->req->method : "GET";
    if (!method_ok(self->method)) {
        self->result = -EINVAL;
        WEFT_RETURN();
    }
    self->head_request = strcmp(self->method, "HEAD") == 0;
    self->url = strdup(self->req->url);
    if (!self->url) {
        self->result = -ENOMEM;
        WEFT_RETURN();
    }
    for (;;) { /* one round per redirect */
        {
            url_parts u;
            self->err = url_parse(self->url, &u);
            if (self->err == 0 && u.https && !self->client->opts.https) self->err = -EPROTONOSUPPORT;
            if (self->err == 0) self->err = build_request(self, &u);
            if (self->err) {
                self->result = self->err;
                WEFT_RETURN();
            }
        }
    again:
        /* ---- a connection: pooled, or new ---- */
        {
            url_parts u;
            url_parse(self->url, &u);
            char key[KEY_MAX];
            snprintf(key, sizeof key, "%s://%s", u.https ? "https" : "http", u.hostport);
            self->conn = self->attempt == 0 ? pool_take(self->client, key) : NULL;
            self->reused = self->conn != NULL;
            if (!self->conn) {
                self->conn = cconn_new(self->client, key);
                if (!self->conn) {
                    self->result = -ENOMEM;
                    WEFT_RETURN();
                }
                weft_tcp_connect_init(&self->op.connect, u.hostport);
            }
        }
        if (!self->reused) {
            WEFT_AWAIT(weft_timeout_init(&self->limit, &self->op.connect.base,
                                         self->client->opts.connect_timeout_ms));
            self->err = self->limit.result ? self->limit.result : self->op.connect.result;
            if (self->err) {
                self->result = self->err;
                WEFT_RETURN();
            }
            self->conn->tcp = self->op.connect.stream;
            weft_tcp_stream_set_nodelay(&self->conn->tcp, true);
            self->conn->s = &self->conn->tcp.stream;
            if (strncasecmp(self->url, "https://", 8) == 0) {
                url_parts u;
                url_parse(self->url, &u);
                weft_tcp_stream tcp = self->conn->tcp;
                self->conn->tcp.io.reg = NULL;
                weft_stream *s = NULL;
                self->err = self->client->opts.https->open(self->client->opts.https->arg, u.host, &tcp, &s);
                if (self->err || !s) {
                    self->result = self->err ? self->err : -EINVAL;
                    WEFT_RETURN();
                }
                self->conn->s = s;
                self->conn->wrapped = true;
            }
        }
        self->conn->rpos = self->conn->rend = 0;

        /* ---- the request ---- */
        self->reading = false;
        self->deadline = weft_clock_ms() + self->client->opts.timeout_ms;
        WEFT_AWAIT(weft_timeout_init(&self->limit,
                                     weft_write_all_init(&self->op.write, self->conn->s, self->wbuf, self->wlen),
                                     remaining(self)));
        self->err = self->limit.result ? self->limit.result : self->op.write.result;
        if (self->err) goto failed;
        if (self->req->body_stream) {
            /* The body from a stream: chunked, or as it comes with a length. */
            {
                char *p = realloc(self->wbuf, 4096 + 32);
                if (!p) {
                    self->result = -ENOMEM;
                    WEFT_RETURN();
                }
                self->wbuf = p;
            }
            for (;;) {
                WEFT_AWAIT(weft_timeout_init(&self->limit,
                                             weft_read_init(&self->op.read, self->req->body_stream,
                                                            self->wbuf + 16, 4096),
                                             self->client->opts.body_timeout_ms));
                self->err = self->limit.result ? self->limit.result : (int)(self->op.read.result < 0 ? self->op.read.result : 0);
                if (self->err) goto failed_final;
                {
                    size_t n = (size_t)self->op.read.result;
                    self->body_eof = n == 0;
                    if (self->req->body_stream_len < 0) {
                        char frame[16];
                        int fl = snprintf(frame, sizeof frame, "%zx\r\n", n);
                        memcpy(self->wbuf + 16 - fl, frame, (size_t)fl);
                        memcpy(self->wbuf + 16 + n, "\r\n", 2); /* n == 0: "0\r\n\r\n" */
                        self->wlen = (size_t)fl + n + 2;
                        memmove(self->wbuf, self->wbuf + 16 - fl, self->wlen);
                    } else {
                        memmove(self->wbuf, self->wbuf + 16, n);
                        self->wlen = n;
                    }
                }
                if (self->wlen) {
                    WEFT_AWAIT(weft_timeout_init(&self->limit,
                                                 weft_write_all_init(&self->op.write, self->conn->s,
                                                                     self->wbuf, self->wlen),
                                                 self->client->opts.body_timeout_ms));
                    self->err = self->limit.result ? self->limit.result : self->op.write.result;
                    if (self->err) goto failed_final;
                }
                if (self->body_eof) break;
            }
        }
        if (self->conn->wrapped) {
            /* A wrapped stream (TLS) may hold what it took until flushed;
             * the server must have the whole request before we wait for
             * its answer. */
            WEFT_AWAIT(weft_timeout_init(&self->limit, weft_flush_init(&self->op.flush, self->conn->s),
                                         remaining(self)));
            self->err = self->limit.result ? self->limit.result : self->op.flush.result;
            if (self->err) {
                if (self->req->body_stream) goto failed_final;
                goto failed;
            }
        }

        /* ---- the response head (skipping 1xx) ---- */
        self->reading = true;
        for (;;) {
            self->err = take_response(self);
            if (self->err == 1) {
                if (self->response.head.status >= 100 && self->response.head.status < 200 &&
                    self->response.head.status != 101)
                    continue; /* 100 Continue and friends: the real one follows */
                break;
            }
            if (self->err < 0) goto failed_final;
            self->err = head_room(self->conn, self->client->opts.max_head_bytes);
            if (self->err) goto failed_final;
            WEFT_AWAIT(weft_timeout_init(&self->limit,
                                         weft_read_init(&self->op.read, self->conn->s,
                                                        self->conn->rbuf + self->conn->rend,
                                                        self->conn->rcap - self->conn->rend),
                                         remaining(self)));
            self->err = self->limit.result ? self->limit.result : (int)self->op.read.result;
            if (self->err == 0) self->err = -ECONNRESET; /* closed before a response */
            if (self->err < 0) {
                if (self->conn->rend == 0) goto failed; /* nothing came: maybe a stale connection */
                goto failed_final;
            }
            self->conn->rend += (size_t)self->op.read.result;
        }
        {
            cconn *k = self->conn;
            weft_http_head *h = &self->response.head;
            k->kind = h->body;
            k->left = h->body == WEFT_HTTP_BODY_LENGTH ? (uint64_t)h->content_length : 0;
            k->done = h->body == WEFT_HTTP_BODY_NONE;
            k->keep_alive = h->keep_alive && h->status != 101; /* an upgraded connection is not HTTP any more */
            k->error = 0;
            k->ck_pending = 0;
            if (h->body == WEFT_HTTP_BODY_CHUNKED) weft_http_chunked_init(&k->ck, 0);
            self->response.status = h->status;
            self->response.body = &k->body;
            self->response.conn = k;
            self->conn = NULL;
        }
        /* ---- a redirect to follow? ---- */
        {
            int st = self->response.status;
            bool redirect = st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
            const weft_http_header *loc = weft_http_head_find(&self->response.head, "location");
            if (!redirect || !loc || self->client->opts.max_redirects == 0 ||
                !(strcmp(self->method, "GET") == 0 || self->head_request) || self->req->body_stream)
                break;
            if (self->response.redirects >= self->client->opts.max_redirects) {
                weft_http_client_response_destroy(&self->response);
                self->result = -ELOOP;
                WEFT_RETURN();
            }
            char *next = redirect_target(self->url, loc->value, loc->value_len);
            if (!next) break; /* a Location we do not follow: hand the 3xx over */
            free(self->url);
            self->url = next;
            self->response.redirects++;
        }
        /* Read the redirect's body away so its connection can be reused. */
        while (!self->response.conn->done) {
            WEFT_AWAIT(weft_read_init(&self->op.read, self->response.body, self->wbuf, self->wlen));
            if (self->op.read.result <= 0) break;
        }
        {
            int redirects = self->response.redirects;
            weft_http_client_response_destroy(&self->response);
            memset(&self->response, 0, sizeof self->response);
            self->response.redirects = redirects;
            self->attempt = 0;
        }
        continue;

    failed:
        /* A reused connection that turned out closed: once more on a new
         * one, if the request can be sent again — always when writing it
         * failed, and when the connection ended before any answer only if
         * the method is idempotent (the server may have acted on it). */
        if (self->reused && self->attempt == 0 && !self->req->body_stream &&
            (!self->reading || idempotent(self->method))) {
            cconn_free(self->conn);
            self->conn = NULL;
            self->attempt = 1;
            goto again;
        }
    failed_final:
        self->result = self->err;
        WEFT_RETURN();
    }
    self->result = 0;
    WEFT_END();
}

WEFT_API weft_future *weft_http_fetch_init(weft_http_fetch *f, weft_http_client *c,
                                           const weft_http_client_request *req) {
    memset(f, 0, sizeof *f);
    weft_http_fetch_start(f);
    f->client = c;
    f->req = req;
    return &f->base;
}
