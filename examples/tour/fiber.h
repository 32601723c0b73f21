/* Tour chapter: the same task as a coroutine and as a fiber. */
#ifndef WEFT_TOUR_FIBER_H
#define WEFT_TOUR_FIBER_H

#include <stdio.h>

#include "weft.h"

/* Runs one task both ways and 1,000 of each asleep; narrates polls and memory. */
void tour_fiber(weft_runtime *rt, FILE *out);

#endif
