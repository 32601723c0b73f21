/* Blocking-style calls for fibers over the child-process futures
 * (weft/process.h): each awaits the future of the same name and returns
 * what it reports. */
#include <string.h>

#include "weft/fiber.h"
#include "weft/process.h"

int weft_fiber_child_wait(weft_child *c, weft_exit_status *status) {
    weft_child_wait f;
    int rc = weft_await(weft_child_wait_init(&f, c));
    if (rc) return rc;
    if (f.result == 0 && status) *status = f.status;
    return f.result;
}

int weft_fiber_child_output(weft_child *c, weft_output *out) {
    weft_child_output f;
    int rc = weft_await(weft_child_output_init(&f, c));
    /* A completed future hands its output over whatever its result; a
     * dropped one has freed what it had read. */
    if (out) {
        if (rc == 0) *out = f.output;
        else memset(out, 0, sizeof *out);
    } else if (rc == 0) {
        weft_output_destroy(&f.output);
    }
    return rc ? rc : f.result;
}

int weft_fiber_command_output(weft_command *cmd, weft_output *out) {
    weft_command_output f;
    int rc = weft_await(weft_command_output_init(&f, cmd));
    if (out) {
        if (rc == 0) *out = f.output;
        else memset(out, 0, sizeof *out);
    } else if (rc == 0) {
        weft_output_destroy(&f.output);
    }
    return rc ? rc : f.result;
}
