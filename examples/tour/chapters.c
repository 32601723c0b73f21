/* The chapters that follow the core tour, in order. */
#include "tour/chapters.h"

void tour_extra_chapters(weft_runtime *rt, FILE *out) {
    (void)rt;
    (void)out;
}
