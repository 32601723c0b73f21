/* Socket addresses: numeric parsing ("1.2.3.4:80", "[::1]:80"), Unix paths,
 * formatting, and the "host:port" split shared with connect and resolve. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

/* Parses a decimal port (1-5 digits, <= 65535). */
static int parse_port(const char *s, uint16_t *out) {
    if (!*s) return -EINVAL;
    unsigned v = 0;
    int digits = 0;
    for (; *s; s++, digits++) {
        if (*s < '0' || *s > '9' || digits >= 5) return -EINVAL;
        v = v * 10 + (unsigned)(*s - '0');
    }
    if (v > 65535) return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

static int ip_into(weft_sockaddr *out, const char *ip, uint16_t port, bool v6_only) {
    memset(out, 0, sizeof *out);
    if (!v6_only && inet_pton(AF_INET, ip, &out->u.in4.sin_addr) == 1) {
        out->u.in4.sin_family = AF_INET;
        out->u.in4.sin_port = htons(port);
        out->len = sizeof out->u.in4;
        return 0;
    }
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    size_t n = strlen(ip);
    if (n >= sizeof buf) return -EINVAL;
    memcpy(buf, ip, n + 1);
    char *pct = strchr(buf, '%');
    uint32_t scope = 0;
    if (pct) {
        *pct++ = 0;
        if (!*pct) return -EINVAL;
        char *end;
        unsigned long v = strtoul(pct, &end, 10);
        if (*end == 0 && end != pct) scope = (uint32_t)v;
        else if (!(scope = if_nametoindex(pct))) return -EINVAL;
    }
    if (inet_pton(AF_INET6, buf, &out->u.in6.sin6_addr) != 1) return -EINVAL;
    out->u.in6.sin6_family = AF_INET6;
    out->u.in6.sin6_port = htons(port);
    out->u.in6.sin6_scope_id = scope;
    out->len = sizeof out->u.in6;
    return 0;
}

bool weft__is_ipv4_literal(const char *host) {
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1;
}

bool weft__is_hostname(const char *host) {
    size_t n = strlen(host);
    if (n == 0 || n > 253) return false;
    for (const char *p = host; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

/*
 * A host that is not a dotted quad but that the resolver would still read
 * as a number ("300.1.1.1", "1.2.3", "127.1", "2130706433", "0x7f.1"): no
 * DNS name ends in an all-numeric label (RFC 3696), so such a host is a
 * malformed address, never a name to look up.
 */
static bool looks_numeric(const char *host) {
    size_t n = strlen(host);
    if (n && host[n - 1] == '.') n--; /* a fully qualified name's root dot */
    size_t start = n;
    while (start > 0 && host[start - 1] != '.') start--;
    const char *label = host + start;
    size_t len = n - start;
    if (len == 0) return false;
    size_t i = 0;
    bool hex = len > 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X');
    if (hex) i = 2;
    for (; i < len; i++) {
        char c = label[i];
        bool digit = c >= '0' && c <= '9';
        bool xdigit = digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (hex ? !xdigit : !digit) return false;
    }
    return true;
}

/* A service name as /etc/services spells them: a letter, then letters,
 * digits and '-'. ("8x" or "0x10" is a mistyped port, not a name.) */
static bool is_service_name(const char *s, size_t cap) {
    size_t n = strlen(s);
    if (n == 0 || n >= cap) return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (p == s ? !alpha : !(alpha || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return true;
}

int weft__hostport_parse(weft__hostport *hp, const char *text) {
    memset(hp, 0, sizeof *hp);
    if (!text) return -EINVAL;
    const char *h, *colon;
    size_t hlen;
    bool bracketed = false;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') return -EINVAL;
        h = text + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
        bracketed = true;
    } else {
        colon = strrchr(text, ':');
        if (!colon) return -EINVAL;
        h = text;
        hlen = (size_t)(colon - text);
        if (memchr(h, ':', hlen)) return -EINVAL; /* unbracketed IPv6 */
    }
    if (hlen == 0 || hlen >= sizeof hp->host) return -EINVAL;
    memcpy(hp->host, h, hlen);
    hp->host[hlen] = 0;

    const char *port = colon + 1;
    if (parse_port(port, &hp->port) == 0) {
        hp->service[0] = 0;
    } else if (is_service_name(port, sizeof hp->service)) {
        strcpy(hp->service, port);
    } else {
        return -EINVAL;
    }

    if (bracketed) {
        /* A bracketed host must be IPv6. */
        if (ip_into(&hp->addr, hp->host, hp->port, true)) return -EINVAL;
        hp->numeric_host = true;
    } else if (weft__is_ipv4_literal(hp->host)) {
        ip_into(&hp->addr, hp->host, hp->port, false);
        hp->numeric_host = true;
    } else if (looks_numeric(hp->host) || !weft__is_hostname(hp->host)) {
        return -EINVAL;
    }
    hp->numeric = hp->numeric_host && !hp->service[0];
    return 0;
}

int weft_sockaddr_parse(weft_sockaddr *out, const char *text) {
    weft__hostport hp;
    int err = weft__hostport_parse(&hp, text);
    if (!err && !hp.numeric) err = -EINVAL; /* names are for weft_resolve */
    if (err) {
        if (out) memset(out, 0, sizeof *out);
        return err;
    }
    if (!out) return -EINVAL;
    *out = hp.addr;
    return 0;
}

int weft_sockaddr_ip(weft_sockaddr *out, const char *ip, uint16_t port) {
    if (!ip) return -EINVAL;
    return ip_into(out, ip, port, false);
}

int weft_sockaddr_unix(weft_sockaddr *out, const char *path) {
    memset(out, 0, sizeof *out);
    if (!path) return -EINVAL;
    size_t n = strlen(path);
    out->u.un.sun_family = AF_UNIX;
    if (n >= sizeof out->u.un.sun_path) return -ENAMETOOLONG;
    if (path[0] == '@') {
        /* Abstract: "\0name", and the length counts exactly the name. */
        memcpy(out->u.un.sun_path + 1, path + 1, n - 1);
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        if (n == 0) return -EINVAL;
        memcpy(out->u.un.sun_path, path, n + 1);
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

int weft_sockaddr_format(const weft_sockaddr *a, char *buf, size_t cap) {
    char ip[INET6_ADDRSTRLEN];
    int n;
    switch (a->u.sa.sa_family) {
    case AF_INET:
        inet_ntop(AF_INET, &a->u.in4.sin_addr, ip, sizeof ip);
        n = snprintf(buf, cap, "%s:%u", ip, ntohs(a->u.in4.sin_port));
        break;
    case AF_INET6:
        inet_ntop(AF_INET6, &a->u.in6.sin6_addr, ip, sizeof ip);
        if (a->u.in6.sin6_scope_id)
            n = snprintf(buf, cap, "[%s%%%u]:%u", ip, a->u.in6.sin6_scope_id,
                         ntohs(a->u.in6.sin6_port));
        else
            n = snprintf(buf, cap, "[%s]:%u", ip, ntohs(a->u.in6.sin6_port));
        break;
    case AF_UNIX: {
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if (a->len <= off) {
            n = snprintf(buf, cap, "(unnamed)");
        } else if (a->u.un.sun_path[0] == 0) {
            n = snprintf(buf, cap, "@%.*s", (int)(a->len - off - 1), a->u.un.sun_path + 1);
        } else {
            n = snprintf(buf, cap, "%.*s", (int)strnlen(a->u.un.sun_path, a->len - off),
                         a->u.un.sun_path);
        }
        break;
    }
    default: return -EAFNOSUPPORT;
    }
    if (n < 0 || (size_t)n >= cap) return -ENOSPC;
    return n;
}

uint16_t weft_sockaddr_port(const weft_sockaddr *a) {
    switch (a->u.sa.sa_family) {
    case AF_INET: return ntohs(a->u.in4.sin_port);
    case AF_INET6: return ntohs(a->u.in6.sin6_port);
    default: return 0;
    }
}

void weft_sockaddr_set_port(weft_sockaddr *a, uint16_t port) {
    switch (a->u.sa.sa_family) {
    case AF_INET: a->u.in4.sin_port = htons(port); break;
    case AF_INET6: a->u.in6.sin6_port = htons(port); break;
    default: break;
    }
}

bool weft_sockaddr_equal(const weft_sockaddr *a, const weft_sockaddr *b) {
    if (a->u.sa.sa_family != b->u.sa.sa_family) return false;
    switch (a->u.sa.sa_family) {
    case AF_INET:
        return a->u.in4.sin_port == b->u.in4.sin_port &&
               a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
    case AF_INET6:
        return a->u.in6.sin6_port == b->u.in6.sin6_port &&
               memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, sizeof(struct in6_addr)) == 0 &&
               a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id;
    case AF_UNIX:
        return a->len == b->len &&
               memcmp(a->u.un.sun_path, b->u.un.sun_path,
                      a->len - offsetof(struct sockaddr_un, sun_path)) == 0;
    default: return false;
    }
}
