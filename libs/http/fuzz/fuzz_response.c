/* Fuzz target: the response parser, with and without HEAD, and the
 * framing it derives. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "weft/http.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *buf = (const char *)data;
    weft_http_head h;
    weft_http_header hdrs[32];
    for (int head = 0; head < 2; head++) {
        int r = weft_http_parse_response(&h, buf, size, hdrs, 32, 4096, head);
        if (r < 0) {
            CHECK(r == -EAGAIN || r == -EBADMSG || r == -EMSGSIZE || r == -E2BIG ||
                  r == -ENOTSUP || r == -EPROTONOSUPPORT);
            continue;
        }
        CHECK((size_t)r <= size);
        CHECK(h.status >= 100 && h.status <= 999);
        if (head) CHECK(h.body == WEFT_HTTP_BODY_NONE);
        if (h.body == WEFT_HTTP_BODY_CLOSE) CHECK(!h.keep_alive);
        if (h.body == WEFT_HTTP_BODY_LENGTH) CHECK(h.content_length > 0);
    }
    return 0;
}
