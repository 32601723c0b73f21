/* Blocking-style calls for fibers over the framed reader's and writer's
 * futures (weft/frame.h): each awaits the future of the same name and
 * returns what it reports. */
#include "weft/fiber.h"
#include "weft/frame.h"

int weft_fiber_framed_read(weft_framed_reader *r, const unsigned char **data, size_t *len) {
    weft_framed_read f;
    int rc = weft_await(weft_framed_read_init(&f, r));
    if (rc) return rc;
    if (f.result == 1) {
        if (data) *data = f.data;
        if (len) *len = f.len;
    }
    return f.result;
}

int weft_fiber_framed_write(weft_framed_writer *w, const void *payload, size_t len) {
    weft_framed_write f;
    int rc = weft_await(weft_framed_write_init(&f, w, payload, len));
    return rc ? rc : f.result;
}

int weft_fiber_framed_send(weft_framed_writer *w, const void *payload, size_t len,
                           bool *accepted) {
    weft_framed_write f;
    int rc = weft_await(weft_framed_send_init(&f, w, payload, len));
    if (accepted) *accepted = f.accepted; /* also after a drop during the flush */
    return rc ? rc : f.result;
}

int weft_fiber_framed_flush(weft_framed_writer *w) {
    weft_framed_flush f;
    int rc = weft_await(weft_framed_flush_init(&f, w));
    return rc ? rc : f.result;
}
