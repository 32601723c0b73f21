/*
 * The built-in codecs: lines (LF or CRLF, a maximum length) and
 * length-prefixed frames (1/2/4/8-byte big or little endian lengths, a
 * maximum size). Both reject an oversized frame as soon as the bytes show
 * it, so a reader never buffers more than one maximal frame.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "weft/frame.h"

/* ---- lines ---------------------------------------------------------------------- */

static int lines_decode(const weft_codec *c, const unsigned char *buf, size_t len, size_t seen,
                        bool eof, weft_decoded *out) {
    const weft_lines_codec *lc = (const weft_lines_codec *)c;
    /* No "\n" in buf[0..seen): the scan resumes there, so a line that
     * arrives a byte at a time costs O(length) in all. */
    const unsigned char *nl = seen < len ? memchr(buf + seen, '\n', len - seen) : NULL;
    if (nl) {
        size_t end = (size_t)(nl - buf);
        size_t line = end > 0 && buf[end - 1] == '\r' ? end - 1 : end;
        if (line > lc->max_len) return -EMSGSIZE;
        out->consumed = end + 1;
        out->frame_off = 0;
        out->frame_len = line;
        return 1;
    }
    /* No ending yet: the line is at least this long (a last "\r" may be
     * the start of its "\r\n"). */
    size_t at_least = len > 0 && buf[len - 1] == '\r' ? len - 1 : len;
    if (at_least > lc->max_len) return -EMSGSIZE;
    if (eof && len > 0 && (lc->flags & WEFT_LINES_FINAL_UNTERMINATED)) {
        out->consumed = len;
        out->frame_off = 0;
        out->frame_len = at_least;
        return 1;
    }
    out->need = 0;
    return 0;
}

static ssize_t lines_encoded_max(const weft_codec *c, const void *payload, size_t len) {
    const weft_lines_codec *lc = (const weft_lines_codec *)c;
    if (len > lc->max_len) return -EMSGSIZE;
    /* A "\n" inside, or a "\r" at the end, would not read back as written. */
    if (len && (memchr(payload, '\n', len) || ((const unsigned char *)payload)[len - 1] == '\r'))
        return -EINVAL;
    return (ssize_t)(len + ((lc->flags & WEFT_LINES_CRLF) ? 2 : 1));
}

static ssize_t lines_encode(const weft_codec *c, const void *payload, size_t len, unsigned char *dst) {
    const weft_lines_codec *lc = (const weft_lines_codec *)c;
    if (len) memcpy(dst, payload, len);
    size_t n = len;
    if (lc->flags & WEFT_LINES_CRLF) dst[n++] = '\r';
    dst[n++] = '\n';
    return (ssize_t)n;
}

static const weft_codec_vtable lines_vtable = {"weft_lines_codec", lines_decode, lines_encoded_max,
                                               lines_encode};

int weft_lines_codec_init(weft_lines_codec *c, size_t max_len, uint32_t flags) {
    if (!c) return -EINVAL;
    c->codec.vt = NULL;
    if (max_len == 0 || max_len > (size_t)SSIZE_MAX - 2 ||
        (flags & ~(uint32_t)(WEFT_LINES_CRLF | WEFT_LINES_FINAL_UNTERMINATED)))
        return -EINVAL;
    c->max_len = max_len;
    c->flags = flags;
    c->codec.vt = &lines_vtable;
    return 0;
}

/* ---- length-prefixed ------------------------------------------------------------------- */

static uint64_t get_len(const unsigned char *p, unsigned width, weft_byte_order order) {
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++) {
        unsigned k = order == WEFT_BIG_ENDIAN ? i : width - 1 - i;
        v = (v << 8) | p[k];
    }
    return v;
}

static void put_len(unsigned char *p, uint64_t v, unsigned width, weft_byte_order order) {
    for (unsigned i = 0; i < width; i++) {
        unsigned k = order == WEFT_BIG_ENDIAN ? width - 1 - i : i;
        p[k] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static int length_decode(const weft_codec *c, const unsigned char *buf, size_t len, size_t seen,
                         bool eof, weft_decoded *out) {
    (void)seen, (void)eof;
    const weft_length_codec *lc = (const weft_length_codec *)c;
    if (len < lc->width) {
        out->need = lc->width;
        return 0;
    }
    uint64_t n = get_len(buf, lc->width, lc->order);
    if (n > lc->max_frame) return -EMSGSIZE; /* before a byte of it is buffered */
    size_t total = lc->width + (size_t)n;      /* max_frame leaves room for the header */
    if (len < total) {
        out->need = total;
        return 0;
    }
    out->consumed = total;
    out->frame_off = lc->width;
    out->frame_len = (size_t)n;
    return 1;
}

static ssize_t length_encoded_max(const weft_codec *c, const void *payload, size_t len) {
    (void)payload;
    const weft_length_codec *lc = (const weft_length_codec *)c;
    if ((uint64_t)len > lc->max_frame) return -EMSGSIZE;
    return (ssize_t)(lc->width + len);
}

static ssize_t length_encode(const weft_codec *c, const void *payload, size_t len, unsigned char *dst) {
    const weft_length_codec *lc = (const weft_length_codec *)c;
    put_len(dst, (uint64_t)len, lc->width, lc->order);
    if (len) memcpy(dst + lc->width, payload, len);
    return (ssize_t)(lc->width + len);
}

static const weft_codec_vtable length_vtable = {"weft_length_codec", length_decode,
                                                length_encoded_max, length_encode};

int weft_length_codec_init(weft_length_codec *c, unsigned width, weft_byte_order order,
                           uint64_t max_frame) {
    if (!c) return -EINVAL;
    c->codec.vt = NULL;
    if ((width != 1 && width != 2 && width != 4 && width != 8) ||
        (order != WEFT_BIG_ENDIAN && order != WEFT_LITTLE_ENDIAN) || max_frame == 0)
        return -EINVAL;
    uint64_t expressible = width == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * width)) - 1;
    uint64_t addressable = (uint64_t)SSIZE_MAX - 8; /* a frame with its header fits a size */
    if (max_frame > expressible) max_frame = expressible;
    if (max_frame > addressable) max_frame = addressable;
    c->max_frame = max_frame;
    c->width = (uint8_t)width;
    c->order = order;
    c->codec.vt = &length_vtable;
    return 0;
}
