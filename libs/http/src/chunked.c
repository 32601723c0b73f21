/*
 * The chunked transfer-coding decoder (RFC 9112 7.1): an incremental state
 * machine over the framing bytes, handing out the data as spans of the
 * caller's buffer (no copy). Strict: hex digits only in the size (no sign,
 * no leading whitespace, no overflow), chunk extensions bounded in length,
 * CRLF exactly after the size line and after the data, trailer fields
 * checked like header fields (token name, colon, no obs-fold, no bare CR
 * or LF) and bounded in size.
 */
#include <errno.h>
#include <string.h>

#include "http_internal.h"

enum {
    CK_SIZE0,     /* first hex digit of a chunk size */
    CK_SIZE,      /* more hex digits, or ';', or CR */
    CK_EXT,       /* in a chunk extension, until CR */
    CK_SIZE_LF,   /* LF after the size line */
    CK_DATA,      /* `remaining` bytes of data */
    CK_DATA_CR,   /* CR after the data */
    CK_DATA_LF,   /* LF after the data */
    CK_TR_START,  /* start of a trailer line: CR (end) or a field name */
    CK_TR_NAME,   /* field name, until ':' */
    CK_TR_VALUE,  /* field value, until CR */
    CK_TR_LF,     /* LF after a trailer field */
    CK_END_LF,    /* LF after the final empty line */
    CK_DONE,
};

/* A chunk-size line longer than this (digits and extensions) is refused:
 * extensions are meaningless to us and unbounded ones are a resource
 * attack. */
#define CK_LINE_MAX 4096

WEFT_API void weft_http_chunked_init(weft_http_chunked *d, size_t max_trailer) {
    memset(d, 0, sizeof *d);
    d->max_trailer = max_trailer ? max_trailer : 8192;
}

static inline int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

WEFT_API int weft_http_chunked_decode(weft_http_chunked *d, const char *buf, size_t len,
                                      size_t *consumed, size_t *data_off, size_t *data_len) {
    size_t i = 0;
    *data_off = 0;
    *data_len = 0;
    if (d->state == CK_DONE) {
        *consumed = 0;
        return WEFT_HTTP_CHUNKED_DONE;
    }
    while (i < len) {
        unsigned char ch = (unsigned char)buf[i];
        switch (d->state) {
        case CK_SIZE0: {
            int v = hexval(ch);
            if (v < 0) goto bad;
            d->remaining = (uint64_t)v;
            d->line = 1;
            d->state = CK_SIZE;
            i++;
            break;
        }
        case CK_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                if (d->remaining >> 59) goto bad; /* would pass 2^63 */
                d->remaining = d->remaining << 4 | (uint64_t)v;
                if (++d->line > CK_LINE_MAX) goto toolong;
                i++;
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                /* BWS before ';' is tolerated by RFC 9112; extensions are skipped. */
                d->state = CK_EXT;
            } else if (ch == '\r') {
                d->state = CK_SIZE_LF;
                i++;
            } else {
                goto bad;
            }
            break;
        }
        case CK_EXT:
            if (ch == '\r') {
                d->state = CK_SIZE_LF;
            } else if (ch == '\n' || (ch < 0x20 && ch != '\t') || ch == 0x7f) {
                goto bad;
            } else if (++d->line > CK_LINE_MAX) {
                goto toolong;
            }
            i++;
            break;
        case CK_SIZE_LF:
            if (ch != '\n') goto bad;
            i++;
            if (d->remaining == 0) {
                d->state = CK_TR_START;
            } else {
                d->state = CK_DATA;
            }
            break;
        case CK_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > d->remaining) n = (size_t)d->remaining;
            d->remaining -= n;
            if (d->remaining == 0) d->state = CK_DATA_CR;
            d->total += n;
            *data_off = i;
            *data_len = n;
            *consumed = i + n;
            return WEFT_HTTP_CHUNKED_DATA;
        }
        case CK_DATA_CR:
            if (ch != '\r') goto bad;
            d->state = CK_DATA_LF;
            i++;
            break;
        case CK_DATA_LF:
            if (ch != '\n') goto bad;
            d->state = CK_SIZE0;
            i++;
            break;
        case CK_TR_START:
            if (ch == '\r') {
                d->state = CK_END_LF;
                i++;
                break;
            }
            if (!weft__http_is_tchar(ch)) goto bad; /* obs-fold, whitespace, junk */
            d->state = CK_TR_NAME;
            d->trailers++;
            /* fall through: the byte is counted as part of the name */
            __attribute__((fallthrough));
        case CK_TR_NAME:
            if (ch == ':') {
                d->state = CK_TR_VALUE;
            } else if (!weft__http_is_tchar(ch)) {
                goto bad;
            }
            if (++d->trailer_bytes > d->max_trailer) goto toolong;
            i++;
            break;
        case CK_TR_VALUE:
            if (ch == '\r') {
                d->state = CK_TR_LF;
            } else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                goto bad;
            }
            if (++d->trailer_bytes > d->max_trailer) goto toolong;
            i++;
            break;
        case CK_TR_LF:
            if (ch != '\n') goto bad;
            d->state = CK_TR_START;
            i++;
            break;
        case CK_END_LF:
            if (ch != '\n') goto bad;
            d->state = CK_DONE;
            *consumed = i + 1;
            return WEFT_HTTP_CHUNKED_DONE;
        default:
            goto bad;
        }
    }
    *consumed = i;
    return WEFT_HTTP_CHUNKED_MORE;
bad:
    d->state = CK_DONE + 1;
    *consumed = i;
    return -EBADMSG;
toolong:
    d->state = CK_DONE + 1;
    *consumed = i;
    return -EMSGSIZE;
}

WEFT_API bool weft_http_chunked_is_done(const weft_http_chunked *d) { return d->state == CK_DONE; }
