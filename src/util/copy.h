/*
 * Copying a value of a size known only at run time (a task's output, a
 * channel message). Most are a word or two: those sizes are copied with a
 * fixed-size memcpy the compiler turns into a load and a store, instead of
 * a call into the library's general memcpy.
 */
#ifndef WEFT_UTIL_COPY_H
#define WEFT_UTIL_COPY_H

#include <stddef.h>
#include <string.h>

static inline void weft__copy_value(void *dst, const void *src, size_t size) {
    switch (size) {
    case 0: return;
    case 4: memcpy(dst, src, 4); return;
    case 8: memcpy(dst, src, 8); return;
    case 16: memcpy(dst, src, 16); return;
    default: memcpy(dst, src, size); return;
    }
}

#endif
