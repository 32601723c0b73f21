/* Tour chapters contributed by the parts of weft they show. */
#ifndef WEFT_TOUR_CHAPTERS_H
#define WEFT_TOUR_CHAPTERS_H

#include <stdio.h>

#include "weft.h"

/* Runs the chapters after the core ones (networking, sync, ...). */
void tour_extra_chapters(weft_runtime *rt, FILE *out);

#endif
