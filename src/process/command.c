/* The command builder: program, arguments, environment changes, working
 * directory, standard streams. Setters record their first error, which
 * the spawn reports. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "process/command.h"

int weft_command_create(weft_command **out, const char *program) {
    if (!out) return -EINVAL;
    *out = NULL;
    if (!program) return -EINVAL;
    weft_command *c = calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    c->argv = calloc(4, sizeof *c->argv);
    c->program = strdup(program);
    if (!c->argv || !c->program) {
        free(c->argv);
        free(c->program);
        free(c);
        return -ENOMEM;
    }
    c->argv_cap = 4;
    c->argv[0] = c->program;
    c->argc = 1;
    *out = c;
    return 0;
}

void weft_command_destroy(weft_command *c) {
    if (!c) return;
    for (size_t i = 1; i < c->argc; i++) free(c->argv[i]);
    free(c->argv);
    free(c->program);
    for (size_t i = 0; i < c->nenv; i++) free(c->env[i].kv);
    free(c->env);
    free(c->cwd);
    free(c);
}

/* Records the first error; returns `err`. */
static int fail(weft_command *c, int err) {
    if (!c->error) c->error = err;
    return err;
}

static int add_arg(weft_command *c, const char *arg) {
    if (!arg) return fail(c, -EINVAL);
    if (c->argc + 1 >= c->argv_cap) { /* room for the NULL terminator */
        size_t cap = c->argv_cap * 2;
        char **a = realloc(c->argv, cap * sizeof *a);
        if (!a) return fail(c, -ENOMEM);
        c->argv = a;
        c->argv_cap = cap;
    }
    char *copy = strdup(arg);
    if (!copy) return fail(c, -ENOMEM);
    c->argv[c->argc++] = copy;
    c->argv[c->argc] = NULL;
    return 0;
}

int weft_command_add_arg(weft_command *c, const char *arg) {
    if (!c) return -EINVAL;
    return add_arg(c, arg);
}

int weft_command_add_args(weft_command *c, const char *const *args, size_t n) {
    if (!c) return -EINVAL;
    if (!args && n) return fail(c, -EINVAL);
    for (size_t i = 0; i < n; i++) {
        int err = add_arg(c, args[i]);
        if (err) return err;
    }
    return 0;
}

static bool key_ok(const char *key) { return key && *key && !strchr(key, '='); }

/* Sets (value != NULL) or removes the variable `key`. */
static int env_op(weft_command *c, const char *key, const char *value) {
    if (!key_ok(key)) return fail(c, -EINVAL);
    size_t klen = strlen(key);
    size_t vlen = value ? strlen(value) : 0;
    char *kv = malloc(klen + 1 + vlen + 1);
    if (!kv) return fail(c, -ENOMEM);
    memcpy(kv, key, klen);
    kv[klen] = '=';
    if (value) memcpy(kv + klen + 1, value, vlen);
    kv[klen + 1 + vlen] = 0;
    for (size_t i = 0; i < c->nenv; i++) {
        if (c->env[i].klen == klen && memcmp(c->env[i].kv, key, klen) == 0) {
            free(c->env[i].kv);
            c->env[i].kv = kv;
            c->env[i].set = value != NULL;
            return 0;
        }
    }
    if (c->nenv == c->env_cap) {
        size_t cap = c->env_cap ? c->env_cap * 2 : 8;
        weft__env_op *e = realloc(c->env, cap * sizeof *e);
        if (!e) {
            free(kv);
            return fail(c, -ENOMEM);
        }
        c->env = e;
        c->env_cap = cap;
    }
    c->env[c->nenv++] = (weft__env_op){kv, klen, value != NULL};
    return 0;
}

int weft_command_set_env(weft_command *c, const char *key, const char *value) {
    if (!c) return -EINVAL;
    if (!value) return fail(c, -EINVAL);
    return env_op(c, key, value);
}

int weft_command_remove_env(weft_command *c, const char *key) {
    if (!c) return -EINVAL;
    return env_op(c, key, NULL);
}

int weft_command_clear_env(weft_command *c) {
    if (!c) return -EINVAL;
    /* Earlier settings go too: the environment starts empty from here. */
    for (size_t i = 0; i < c->nenv; i++) free(c->env[i].kv);
    c->nenv = 0;
    c->env_clear = true;
    return 0;
}

int weft_command_set_cwd(weft_command *c, const char *dir) {
    if (!c) return -EINVAL;
    if (!dir) return fail(c, -EINVAL);
    char *copy = strdup(dir);
    if (!copy) return fail(c, -ENOMEM);
    free(c->cwd);
    c->cwd = copy;
    return 0;
}

static int set_stdio(weft_command *c, int which, weft_stdio how) {
    if (!c) return -EINVAL;
    if (how != WEFT_STDIO_INHERIT && how != WEFT_STDIO_NULL && how != WEFT_STDIO_PIPE)
        return fail(c, -EINVAL);
    c->stdio[which] = how;
    c->stdio_set[which] = true;
    return 0;
}

int weft_command_set_stdin(weft_command *c, weft_stdio how) { return set_stdio(c, 0, how); }
int weft_command_set_stdout(weft_command *c, weft_stdio how) { return set_stdio(c, 1, how); }
int weft_command_set_stderr(weft_command *c, weft_stdio how) { return set_stdio(c, 2, how); }

int weft_command_set_kill_on_drop(weft_command *c, bool on) {
    if (!c) return -EINVAL;
    c->kill_on_drop = on;
    return 0;
}

void weft__command_output_stdio(const weft_command *cmd, weft_stdio stdio[3]) {
    static const weft_stdio dflt[3] = {WEFT_STDIO_NULL, WEFT_STDIO_PIPE, WEFT_STDIO_PIPE};
    for (int i = 0; i < 3; i++) stdio[i] = cmd->stdio_set[i] ? cmd->stdio[i] : dflt[i];
}
