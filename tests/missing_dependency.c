/* Built in place of a test whose optional dependency is not installed:
 * the test fails, naming what is missing, instead of passing silently. */
#include <stdio.h>

int main(void) {
    fprintf(stderr, "this test needs %s\n", WEFT_MISSING);
    return 1;
}
