/* The chapters that follow the core tour, in order. */
#include "tour/chapters.h"

#include "tour/mutex.h"

void tour_extra_chapters(weft_runtime *rt, FILE *out) {
    tour_mutex(rt, out);
}
