/* Blocking-style calls for fibers over the cancellation-token and
 * task-tracker futures (weft/cancel.h, weft/tracker.h). */
#include "weft/cancel.h"
#include "weft/fiber.h"
#include "weft/tracker.h"

int weft_fiber_cancel_token_cancelled(const weft_cancel_token *t) {
    weft_cancelled f;
    int rc = weft_await(weft_cancel_token_cancelled_init(&f, t));
    return rc ? rc : f.result;
}

int weft_fiber_task_tracker_wait(weft_task_tracker *t) {
    weft_task_tracker_wait f;
    int rc = weft_await(weft_task_tracker_wait_init(&f, t));
    return rc ? rc : f.result;
}
