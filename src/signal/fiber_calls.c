/* Blocking-style calls for fibers over the signal futures (weft/signal.h):
 * each awaits the future of the same name and returns what it reports. */
#include "weft/fiber.h"
#include "weft/signal.h"

int weft_fiber_signal_recv(weft_signal *s) {
    weft_signal_recv f;
    int rc = weft_await(weft_signal_recv_init(&f, s));
    return rc ? rc : f.result;
}

int weft_fiber_ctrl_c(void) {
    weft_ctrl_c f;
    int rc = weft_await(weft_ctrl_c_init(&f));
    return rc ? rc : f.result;
}
