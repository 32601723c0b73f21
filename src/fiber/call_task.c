/* Blocking-style calls over tasks (weft/task.h). */
#include "weft/fiber.h"

int weft_fiber_join(weft_join_handle *h, void *out) {
    h->out = out;
    int rc = weft_await(&h->base);
    return rc ? rc : h->result;
}
