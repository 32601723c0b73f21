/* The command's fields, shared by the builder (command.c) and the spawn
 * (spawn.c). */
#ifndef WEFT_PROCESS_COMMAND_H
#define WEFT_PROCESS_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "weft/process.h"

/* One change to the inherited environment: "KEY=VALUE" to set, or the key
 * (followed by '=') to remove. */
typedef struct weft__env_op {
    char *kv;
    size_t klen;
    bool set;
} weft__env_op;

struct weft_command {
    char *program;
    char **argv; /* argv[0] is program; NULL-terminated */
    size_t argc, argv_cap;
    weft__env_op *env;
    size_t nenv, env_cap;
    bool env_clear;
    char *cwd;
    weft_stdio stdio[3];
    bool stdio_set[3];
    bool kill_on_drop;
    int error; /* the first error a setter met */
};

#endif
