/*
 * The Date field (RFC 9110 6.6.1), formatted once per second per thread:
 * every response needs it and strftime/gmtime_r cost more than the rest
 * of a small response's head. A thread-local cache needs no lock on the
 * multi_thread runtime.
 */
#include <time.h>

#include "http_internal.h"

void weft__http_format_date(long long t, char out[30]) {
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char *p = out;
    const char *d = days[tm.tm_wday], *m = months[tm.tm_mon];
    *p++ = d[0]; *p++ = d[1]; *p++ = d[2]; *p++ = ','; *p++ = ' ';
    *p++ = (char)('0' + tm.tm_mday / 10); *p++ = (char)('0' + tm.tm_mday % 10); *p++ = ' ';
    *p++ = m[0]; *p++ = m[1]; *p++ = m[2]; *p++ = ' ';
    int y = tm.tm_year + 1900;
    *p++ = (char)('0' + y / 1000 % 10); *p++ = (char)('0' + y / 100 % 10);
    *p++ = (char)('0' + y / 10 % 10); *p++ = (char)('0' + y % 10); *p++ = ' ';
    *p++ = (char)('0' + tm.tm_hour / 10); *p++ = (char)('0' + tm.tm_hour % 10); *p++ = ':';
    *p++ = (char)('0' + tm.tm_min / 10); *p++ = (char)('0' + tm.tm_min % 10); *p++ = ':';
    *p++ = (char)('0' + tm.tm_sec / 10); *p++ = (char)('0' + tm.tm_sec % 10);
    *p++ = ' '; *p++ = 'G'; *p++ = 'M'; *p++ = 'T'; *p = 0;
}

const char *weft__http_date(void) {
    static __thread long long cached = -1;
    static __thread char text[30];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != cached) {
        cached = ts.tv_sec;
        weft__http_format_date(cached, text);
    }
    return text;
}
