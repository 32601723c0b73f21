/* Blocking-style calls over tasks (weft/task.h). */
#include "weft/fiber.h"

int weft_fiber_join_task(weft_join_handle *h, void *out) {
    h->out = out;
    int rc = weft_await(&h->base);
    return rc ? rc : h->result;
}

int weft_fiber_join(weft_join_handle *h, void **value) {
    if (!value) return weft_fiber_join_task(h, NULL); /* out_drop destroys the output */
    weft_fiber_output o = {NULL, 0};
    int rc = weft_fiber_join_task(h, &o);
    *value = o.value;
    return rc ? rc : o.error;
}
