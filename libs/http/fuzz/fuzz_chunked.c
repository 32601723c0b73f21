/*
 * Fuzz target: the chunked decoder. Differential: the input decoded in one
 * piece and decoded one byte at a time (and in pieces whose sizes come
 * from the first byte) must give the same data, the same end and the same
 * verdict: the decoder's state machine must not depend on how the bytes
 * arrive.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weft/http.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

typedef struct outcome {
    int verdict;      /* last return: DONE, MORE (ran out) or an error */
    size_t consumed;  /* bytes used up */
    uint64_t sum;     /* a hash of the data, in order */
    size_t data;      /* data bytes */
} outcome;

static outcome run(const char *buf, size_t size, size_t step) {
    weft_http_chunked d;
    weft_http_chunked_init(&d, 300);
    outcome o = {WEFT_HTTP_CHUNKED_MORE, 0, 1469598103934665603ull, 0};
    size_t pos = 0, avail = 0;
    for (;;) {
        if (pos == avail) {
            if (avail == size) break;
            avail = avail + step > size ? size : avail + step;
        }
        size_t used, off, n;
        int r = weft_http_chunked_decode(&d, buf + pos, avail - pos, &used, &off, &n);
        CHECK(used <= avail - pos);
        if (r == WEFT_HTTP_CHUNKED_DATA) {
            CHECK(n > 0 && off + n == used);
            for (size_t i = 0; i < n; i++) o.sum = (o.sum ^ (uint8_t)buf[pos + off + i]) * 1099511628211ull;
            o.data += n;
        }
        pos += used;
        if (r < 0 || r == WEFT_HTTP_CHUNKED_DONE) {
            o.verdict = r;
            break;
        }
        if (r == WEFT_HTTP_CHUNKED_MORE) CHECK(pos == avail);
    }
    o.consumed = pos;
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;
    outcome whole = run(buf, size, size ? size : 1);
    outcome bytes = run(buf, size, 1);
    size_t step = size ? 1 + data[0] % 17 : 1;
    outcome pieces = run(buf, size, step);
    CHECK(whole.verdict == bytes.verdict && whole.verdict == pieces.verdict);
    CHECK(whole.data == bytes.data && whole.data == pieces.data);
    CHECK(whole.sum == bytes.sum && whole.sum == pieces.sum);
    /* Errors may be noticed at slightly different bytes only if the
     * decoder looked ahead; it does not: the same byte every time. */
    CHECK(whole.consumed == bytes.consumed && whole.consumed == pieces.consumed);
    return 0;
}
