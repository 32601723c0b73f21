/* Internal declarations shared by libweft-http's files. */
#ifndef WEFT_HTTP_INTERNAL_H
#define WEFT_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "weft/http.h"

/* weft_http_head.flags */
enum {
    WEFT__HTTP_HAS_CL = 1u << 0,
    WEFT__HTTP_HAS_TE = 1u << 1,
    WEFT__HTTP_HAS_HOST = 1u << 2,
    WEFT__HTTP_CONN_CLOSE = 1u << 3,
    WEFT__HTTP_CONN_KEEP = 1u << 4,
    WEFT__HTTP_CONN_UPGRADE = 1u << 5,
    WEFT__HTTP_HAS_UPGRADE = 1u << 6,
    WEFT__HTTP_BAD_EXPECT = 1u << 7,
};

bool weft__http_is_tchar(unsigned char c);
/* Case-insensitive compare of a[0..alen) with the lower-case literal `lit`. */
bool weft__http_name_eq(const char *a, size_t alen, const char *lit, size_t llen);

/* The Date field value for now ("Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes),
 * formatted once per second per thread. */
const char *weft__http_date(void);
/* Formats `t` (seconds since the epoch) as an IMF-fixdate into out[30]. */
void weft__http_format_date(long long t, char out[30]);

#endif
