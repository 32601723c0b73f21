/* Blocking-style calls over the time futures (weft/time.h). */
#include "weft/fiber.h"
#include "weft/time.h"

int weft_fiber_sleep(uint64_t ms) {
    weft_sleep s;
    return weft_await(weft_sleep_init(&s, ms));
}

int weft_fiber_sleep_until(uint64_t deadline_ms) {
    weft_sleep s;
    return weft_await(weft_sleep_until_init(&s, deadline_ms));
}
