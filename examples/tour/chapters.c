/* The chapters that follow the core tour, in order. */
#include "tour/chapters.h"

#include "tour/fiber.h"
#include "tour/mutex.h"
#include "tour/net_trace.h"

void tour_extra_chapters(weft_runtime *rt, FILE *out) {
    tour_mutex(rt, out);
    tour_read_trace(rt, out);
    tour_fiber(rt, out);
}
