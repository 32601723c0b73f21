/*
 * weft/detail/copy.h — the state of one direction of a
 * weft_copy_bidirectional, embedded in it twice. Private: its fields are
 * not part of the API; read the copy's own output fields.
 */
#ifndef WEFT_DETAIL_COPY_H
#define WEFT_DETAIL_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One direction of a bidirectional copy: its buffer and where it stands. Private. */
typedef struct weft_copy_half {
    unsigned char *buf; /* cap bytes */
    size_t pos, end;    /* buf[pos..end) read, not written yet */
    bool read_done;     /* the source said end of stream */
    bool shut_done;     /* the destination was shut down: this direction is over */
    bool need_flush;    /* bytes were written since the last flush */
} weft_copy_half;

#endif /* WEFT_DETAIL_COPY_H */
