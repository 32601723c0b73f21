/* Stands in for an adapter's tests when the library it adapts is not
 * installed: it fails and says what to install, so a missing dependency
 * never reads as a pass. */
#include <stdio.h>
int main(void) {
    fprintf(stderr, "FAILED: this test needs %s\n", WEFT_MISSING);
    return 1;
}
