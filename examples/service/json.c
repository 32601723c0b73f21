/*
 * A strict JSON validator (RFC 8259): a recursive descent over the text
 * that builds nothing. Depth is bounded, so hostile input cannot exhaust
 * the (fiber's) stack.
 */
#include "json.h"

#include <stdint.h>

enum { MAX_DEPTH = 64 };

typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool literal(cursor *c, const char *word) {
    for (; *word; word++, c->p++)
        if (c->p >= c->end || *c->p != (unsigned char)*word) return false;
    return true;
}

static bool hex4(cursor *c) {
    for (int i = 0; i < 4; i++, c->p++) {
        if (c->p >= c->end) return false;
        unsigned char h = *c->p;
        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return false;
    }
    return true;
}

/* One UTF-8 sequence of two to four bytes starting at c->p (>= 0x80). */
static bool utf8(cursor *c) {
    unsigned char b = *c->p;
    int n;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf) n = 1, cp = b & 0x1f;
    else if (b >= 0xe0 && b <= 0xef) n = 2, cp = b & 0x0f;
    else if (b >= 0xf0 && b <= 0xf4) n = 3, cp = b & 0x07;
    else return false;
    c->p++;
    for (int i = 0; i < n; i++, c->p++) {
        if (c->p >= c->end || (*c->p & 0xc0) != 0x80) return false;
        cp = (cp << 6) | (*c->p & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) return false;
    return !(cp >= 0xd800 && cp <= 0xdfff);
}

static bool string(cursor *c) {
    c->p++; /* the opening quote */
    while (c->p < c->end) {
        unsigned char b = *c->p;
        if (b == '"') {
            c->p++;
            return true;
        }
        if (b < 0x20) return false;
        if (b == '\\') {
            if (++c->p >= c->end) return false;
            switch (*c->p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                c->p++;
                break;
            case 'u':
                c->p++;
                if (!hex4(c)) return false;
                break;
            default:
                return false;
            }
        } else if (b >= 0x80) {
            if (!utf8(c)) return false;
        } else {
            c->p++;
        }
    }
    return false;
}

static bool digits(cursor *c) {
    const unsigned char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    return c->p > start;
}

static bool number(cursor *c) {
    if (*c->p == '-') c->p++;
    if (c->p < c->end && *c->p == '0') c->p++; /* no leading zeros */
    else if (!digits(c)) return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!digits(c)) return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (!digits(c)) return false;
    }
    return true;
}

static bool value(cursor *c, int depth);

/* An object or an array: members separated by commas, no trailing comma. */
static bool container(cursor *c, int depth, bool object) {
    if (depth >= MAX_DEPTH) return false;
    char close = object ? '}' : ']';
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        if (object) {
            if (c->p >= c->end || *c->p != '"' || !string(c)) return false;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':') return false;
            c->p++;
        }
        if (!value(c, depth + 1)) return false;
        if (c->p >= c->end) return false;
        if (*c->p == close) {
            c->p++;
            return true;
        }
        if (*c->p != ',') return false;
        c->p++;
        skip_ws(c);
    }
}

/* A value with the whitespace around it. */
static bool value(cursor *c, int depth) {
    skip_ws(c);
    if (c->p >= c->end) return false;
    bool ok;
    switch (*c->p) {
    case '{': ok = container(c, depth, true); break;
    case '[': ok = container(c, depth, false); break;
    case '"': ok = string(c); break;
    case 't': ok = literal(c, "true"); break;
    case 'f': ok = literal(c, "false"); break;
    case 'n': ok = literal(c, "null"); break;
    default: ok = (*c->p == '-' || (*c->p >= '0' && *c->p <= '9')) && number(c); break;
    }
    skip_ws(c);
    return ok;
}

bool json_is_object(const char *s, size_t len) {
    cursor c = {(const unsigned char *)s, (const unsigned char *)s + len};
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{') return false;
    return value(&c, 0) && c.p == c.end;
}
