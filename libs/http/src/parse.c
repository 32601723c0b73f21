/*
 * The HTTP/1.1 head parser: request and response lines and header fields,
 * zero-copy (every string points into the caller's buffer), one pass, no
 * allocation. It is strict where leniency lets two parsers disagree about
 * where a message ends (the root of request smuggling): CR must be
 * followed by LF, a line must end in CRLF (a bare LF is rejected), no
 * obs-fold, no whitespace between a field name and its colon, one
 * Content-Length value (repeats must agree), Transfer-Encoding and
 * Content-Length never together in a request, and "chunked" as the only
 * transfer coding. It never reads past `len`.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "http_internal.h"

/* tchar (RFC 9110 5.6.2): the characters of a token (method, field name). */
static const uint8_t tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

bool weft__http_is_tchar(unsigned char c) { return tchar[c] != 0; }

/* A field value byte: VCHAR, SP, HTAB or obs-text; never CR, LF, NUL or
 * another control. */
static inline bool value_char(unsigned char c) { return c >= 0x20 ? c != 0x7f : c == '\t'; }
/* A request-target byte: visible ASCII (no space, no control, no obs-text). */
static inline bool target_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

static inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

bool weft__http_name_eq(const char *a, size_t alen, const char *lit, size_t llen) {
    if (alen != llen) return false;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != (unsigned char)lit[i]) return false;
    return true;
}
#define NAME_IS(p, n, lit) weft__http_name_eq((p), (n), lit, sizeof(lit) - 1)

/* The parse position. `end` is the end of the bytes available; running out
 * is "incomplete" (-EAGAIN), unless the limit was hit (-EMSGSIZE). */
typedef struct cursor {
    const char *p, *end;
} cursor;

/* Expects CRLF at the cursor: 1 consumed, 0 incomplete, -EBADMSG. */
static inline int expect_crlf(cursor *c) {
    if (c->p >= c->end) return 0;
    if (*c->p != '\r') return -EBADMSG;
    if (c->p + 1 >= c->end) return 0;
    if (c->p[1] != '\n') return -EBADMSG;
    c->p += 2;
    return 1;
}

/* Parses "HTTP/1.x": 1 with *minor set, 0 incomplete, -EBADMSG,
 * -EPROTONOSUPPORT (HTTP/2.0, HTTP/1.2 and the like). */
static int parse_version(cursor *c, int *minor) {
    static const char pfx[] = "HTTP/";
    for (size_t i = 0; i < 5; i++) {
        if (c->p + i >= c->end) return 0;
        if (c->p[i] != pfx[i]) return -EBADMSG;
    }
    if (c->p + 8 > c->end) {
        /* Check what is there, so garbage fails before the rest arrives. */
        for (const char *q = c->p + 5; q < c->end; q++)
            if (!((*q >= '0' && *q <= '9') || (q == c->p + 6 && *q == '.'))) return -EBADMSG;
        return 0;
    }
    const char *v = c->p + 5;
    if (v[0] < '0' || v[0] > '9' || v[1] != '.' || v[2] < '0' || v[2] > '9') return -EBADMSG;
    if (v[0] != '1' || v[2] > '1') return -EPROTONOSUPPORT;
    *minor = v[2] - '0';
    c->p += 8;
    return 1;
}

/* Interprets one field for the message's framing and connection handling. */
static int note_field(weft_http_head *h, const weft_http_header *f, bool request) {
    const char *n = f->name, *v = f->value;
    size_t nl = f->name_len, vl = f->value_len;
    switch (lower((unsigned char)n[0])) {
    case 'c':
        if (NAME_IS(n, nl, "content-length")) {
            /* 1*DIGIT, or a list of identical values ("5, 5") that some
             * intermediaries produce; anything else is an error. */
            int64_t val = -1;
            size_t i = 0;
            while (i < vl) {
                int64_t x = 0;
                size_t start = i;
                while (i < vl && v[i] >= '0' && v[i] <= '9') {
                    if (x > (INT64_MAX - 9) / 10) return -EBADMSG;
                    x = x * 10 + (v[i] - '0');
                    i++;
                }
                if (i == start) return -EBADMSG;
                if (val >= 0 && x != val) return -EBADMSG;
                val = x;
                if (i == vl) break;
                while (i < vl && (v[i] == ' ' || v[i] == '\t')) i++;
                if (i == vl || v[i] != ',') return -EBADMSG;
                i++;
                while (i < vl && (v[i] == ' ' || v[i] == '\t')) i++;
            }
            if (val < 0) return -EBADMSG;
            if (h->content_length >= 0 && h->content_length != val) return -EBADMSG;
            h->content_length = val;
            h->flags |= WEFT__HTTP_HAS_CL;
        } else if (NAME_IS(n, nl, "connection")) {
            /* A comma-separated list of tokens. */
            size_t i = 0;
            while (i < vl) {
                while (i < vl && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
                size_t s = i;
                while (i < vl && v[i] != ',' && v[i] != ' ' && v[i] != '\t') i++;
                if (NAME_IS(v + s, i - s, "close")) h->flags |= WEFT__HTTP_CONN_CLOSE;
                else if (NAME_IS(v + s, i - s, "keep-alive")) h->flags |= WEFT__HTTP_CONN_KEEP;
                else if (NAME_IS(v + s, i - s, "upgrade")) h->flags |= WEFT__HTTP_CONN_UPGRADE;
            }
        }
        break;
    case 't':
        if (NAME_IS(n, nl, "transfer-encoding")) {
            /* Only "chunked", once: a request with any other coding is 501,
             * and a response with one we cannot decode is an error too. A
             * second Transfer-Encoding field ("chunked" twice would mean
             * chunked twice) is rejected. */
            if (h->flags & WEFT__HTTP_HAS_TE) return -EBADMSG;
            h->flags |= WEFT__HTTP_HAS_TE;
            if (!NAME_IS(v, vl, "chunked")) {
                /* "gzip, chunked" and the like: a coding we do not do. */
                for (size_t i = 0; i < vl; i++)
                    if (!weft__http_is_tchar((unsigned char)v[i]) && v[i] != ',' && v[i] != ' ' &&
                        v[i] != '\t')
                        return -EBADMSG;
                return -ENOTSUP;
            }
            h->chunked = true;
        }
        break;
    case 'e':
        if (request && NAME_IS(n, nl, "expect")) {
            if (NAME_IS(v, vl, "100-continue")) h->expect_continue = true;
            else h->flags |= WEFT__HTTP_BAD_EXPECT;
        }
        break;
    case 'h':
        if (request && NAME_IS(n, nl, "host")) {
            if (h->flags & WEFT__HTTP_HAS_HOST) return -EBADMSG; /* two Host fields */
            h->flags |= WEFT__HTTP_HAS_HOST;
        }
        break;
    case 'u':
        if (NAME_IS(n, nl, "upgrade")) h->flags |= WEFT__HTTP_HAS_UPGRADE;
        break;
    default:
        break;
    }
    return 0;
}

/* Parses header fields up to and including the empty line. Returns 1,
 * 0 incomplete, or an error. */
static int parse_fields(cursor *c, weft_http_head *h, weft_http_header *headers,
                        size_t max_headers, bool request) {
    h->headers = headers;
    h->num_headers = 0;
    for (;;) {
        if (c->p >= c->end) return 0;
        if (*c->p == '\r') return expect_crlf(c) == 1 ? 1 : (c->p + 1 >= c->end ? 0 : -EBADMSG);
        /* obs-fold (a line starting with whitespace) and anything that is
         * not a token start a field is an error. */
        const char *name = c->p;
        while (c->p < c->end && tchar[(unsigned char)*c->p]) c->p++;
        if (c->p >= c->end) return 0;
        if (*c->p != ':' || c->p == name) return -EBADMSG;
        size_t name_len = (size_t)(c->p - name);
        c->p++;
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++;
        const char *value = c->p;
        while (c->p < c->end && value_char((unsigned char)*c->p)) c->p++;
        if (c->p >= c->end) return 0;
        const char *vend = c->p;
        int r = expect_crlf(c);
        if (r <= 0) return r; /* a NUL, a bare CR or a bare LF in a value */
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t')) vend--;
        if (h->num_headers == max_headers) return -E2BIG;
        if (name_len > UINT32_MAX || (size_t)(vend - value) > UINT32_MAX) return -EMSGSIZE;
        weft_http_header *f = &headers[h->num_headers++];
        f->name = name;
        f->name_len = (uint32_t)name_len;
        f->value = value;
        f->value_len = (uint32_t)(vend - value);
        r = note_field(h, f, request);
        if (r < 0) return r;
    }
}

static void head_reset(weft_http_head *h) {
    memset(h, 0, sizeof *h);
    h->content_length = -1;
}

/* Maps "incomplete" to "too large" once `limit` bytes did not hold a head. */
static int finish(int r, cursor *c, const char *start, size_t len, size_t limit) {
    if (r == 0) return len >= limit ? -EMSGSIZE : -EAGAIN;
    if (r < 0) return r;
    size_t n = (size_t)(c->p - start);
    if (n > limit) return -EMSGSIZE;
    return (int)n;
}

WEFT_API int weft_http_parse_request(weft_http_head *h, const char *buf, size_t len,
                                     weft_http_header *headers, size_t max_headers,
                                     size_t max_head) {
    if (!h || (!buf && len) || (!headers && max_headers)) return -EINVAL;
    if (max_head == 0 || max_head > INT32_MAX) max_head = INT32_MAX;
    head_reset(h);
    size_t scan = len < max_head ? len : max_head;
    cursor c = {buf, buf + scan};
    /* Robustness (RFC 9112 2.2): empty lines before the request line are
     * ignored; they count against the limit. */
    int r;
    while (c.p < c.end && *c.p == '\r') {
        r = expect_crlf(&c);
        if (r <= 0) return finish(r, &c, buf, len, max_head);
    }
    const char *m = c.p;
    while (c.p < c.end && tchar[(unsigned char)*c.p]) c.p++;
    if (c.p >= c.end) return finish(0, &c, buf, len, max_head);
    if (*c.p != ' ' || c.p == m) return -EBADMSG;
    h->method = m;
    h->method_len = (uint32_t)(c.p - m);
    c.p++;
    const char *t = c.p;
    while (c.p < c.end && target_char((unsigned char)*c.p)) c.p++;
    if (c.p >= c.end) return finish(0, &c, buf, len, max_head);
    if (*c.p != ' ' || c.p == t) return -EBADMSG;
    h->target = t;
    h->target_len = (uint32_t)(c.p - t);
    c.p++;
    r = parse_version(&c, &h->version);
    if (r == 1) r = expect_crlf(&c);
    if (r == 1) r = parse_fields(&c, h, headers, max_headers, true);
    if (r != 1) return finish(r, &c, buf, len, max_head);
    /* Framing and the rules that keep two parsers in agreement. */
    if ((h->flags & WEFT__HTTP_HAS_TE) && (h->flags & WEFT__HTTP_HAS_CL)) return -EBADMSG;
    if ((h->flags & WEFT__HTTP_HAS_TE) && h->version == 0) return -EBADMSG;
    if (h->version == 1 && !(h->flags & WEFT__HTTP_HAS_HOST)) return -EBADMSG;
    if (h->chunked) h->body = WEFT_HTTP_BODY_CHUNKED;
    else if (h->content_length > 0) h->body = WEFT_HTTP_BODY_LENGTH;
    else h->body = WEFT_HTTP_BODY_NONE;
    if (h->content_length < 0 && !h->chunked) h->content_length = 0;
    h->keep_alive = h->version == 1 ? !(h->flags & WEFT__HTTP_CONN_CLOSE)
                                    : (h->flags & WEFT__HTTP_CONN_KEEP) && !(h->flags & WEFT__HTTP_CONN_CLOSE);
    h->upgrade = (h->flags & WEFT__HTTP_CONN_UPGRADE) && (h->flags & WEFT__HTTP_HAS_UPGRADE);
    h->expect_unknown = (h->flags & WEFT__HTTP_BAD_EXPECT) != 0;
    return finish(1, &c, buf, len, max_head);
}

WEFT_API int weft_http_parse_response(weft_http_head *h, const char *buf, size_t len,
                                      weft_http_header *headers, size_t max_headers,
                                      size_t max_head, bool head_request) {
    if (!h || (!buf && len) || (!headers && max_headers)) return -EINVAL;
    if (max_head == 0 || max_head > INT32_MAX) max_head = INT32_MAX;
    head_reset(h);
    size_t scan = len < max_head ? len : max_head;
    cursor c = {buf, buf + scan};
    int r = parse_version(&c, &h->version);
    if (r != 1) return finish(r, &c, buf, len, max_head);
    if (c.p >= c.end) return finish(0, &c, buf, len, max_head);
    if (*c.p++ != ' ') return -EBADMSG;
    int status = 0;
    for (int i = 0; i < 3; i++, c.p++) {
        if (c.p >= c.end) return finish(0, &c, buf, len, max_head);
        if (*c.p < '0' || *c.p > '9') return -EBADMSG;
        status = status * 10 + (*c.p - '0');
    }
    if (status < 100) return -EBADMSG;
    h->status = status;
    if (c.p >= c.end) return finish(0, &c, buf, len, max_head);
    if (*c.p == ' ') {
        c.p++;
        const char *reason = c.p;
        while (c.p < c.end && value_char((unsigned char)*c.p)) c.p++;
        if (c.p >= c.end) return finish(0, &c, buf, len, max_head);
        h->reason = reason;
        h->reason_len = (uint32_t)(c.p - reason);
    } else {
        h->reason = c.p;
    }
    r = expect_crlf(&c);
    if (r == 1) r = parse_fields(&c, h, headers, max_headers, false);
    if (r != 1) return finish(r, &c, buf, len, max_head);
    h->keep_alive = h->version == 1 ? !(h->flags & WEFT__HTTP_CONN_CLOSE)
                                    : (h->flags & WEFT__HTTP_CONN_KEEP) && !(h->flags & WEFT__HTTP_CONN_CLOSE);
    if (head_request || status / 100 == 1 || status == 204 || status == 304) {
        h->body = WEFT_HTTP_BODY_NONE;
    } else if (h->chunked) {
        /* Transfer-Encoding wins over Content-Length (RFC 9112 6.3), and
         * the connection must not be reused after such a message. */
        if (h->flags & WEFT__HTTP_HAS_CL) {
            h->keep_alive = false;
            h->content_length = -1;
        }
        h->body = WEFT_HTTP_BODY_CHUNKED;
    } else if (h->flags & WEFT__HTTP_HAS_CL) {
        h->body = h->content_length > 0 ? WEFT_HTTP_BODY_LENGTH : WEFT_HTTP_BODY_NONE;
    } else {
        h->body = WEFT_HTTP_BODY_CLOSE;
        h->keep_alive = false;
    }
    h->upgrade = status == 101;
    return finish(1, &c, buf, len, max_head);
}

WEFT_API const weft_http_header *weft_http_head_find(const weft_http_head *h, const char *name) {
    if (!h || !name) return NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i < h->num_headers; i++) {
        const weft_http_header *f = &h->headers[i];
        if (f->name_len != nl) continue;
        size_t j = 0;
        while (j < nl && lower((unsigned char)f->name[j]) == lower((unsigned char)name[j])) j++;
        if (j == nl) return f;
    }
    return NULL;
}

WEFT_API const char *weft_http_status_reason(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

WEFT_API int weft_http_error_status(int err) {
    switch (err) {
    case -EMSGSIZE: return 431;
    case -E2BIG: return 431;
    case -ENOTSUP: return 501;
    case -EPROTONOSUPPORT: return 505;
    case -EFBIG: return 413;
    case -ETIMEDOUT: return 408;
    default: return 400;
    }
}
