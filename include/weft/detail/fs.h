/*
 * weft/detail/fs.h — the private types embedded in weft's public file and
 * directory structs. Their fields are not part of the API: use the
 * functions of the type that contains them.
 */
#ifndef WEFT_DETAIL_FS_H
#define WEFT_DETAIL_FS_H

#include <stdint.h>

#include "../waker.h"
#include "list.h"

struct weft__file;
struct weft__fs_op;

/**
 * The wait node of a file future that waits for its file to be free (no
 * operation at the cursor in flight). While it waits it is linked into the
 * file's waiter list; the end of every operation wakes the whole list, and
 * dropping the future unlinks it. Private.
 */
typedef struct weft_fs_waiter {
    weft_link link;    /* in the file's waiter list (under its lock) */
    weft_waker waker;  /* the waiting task's waker while linked */
    int queued;        /* it was ever linked (only its owner reads or writes this) */
} weft_fs_waiter;

/**
 * What every file-system future keeps: the operation it runs on the
 * blocking pool (NULL before and after), the file it works on (a reference
 * taken at its first poll), its wait node, and its arguments. Private.
 */
typedef struct weft_fs_req {
    struct weft__fs_op *op;    /* the operation in flight, or NULL */
    struct weft__file *core;   /* the file it holds a reference on, or NULL */
    weft_fs_waiter wait;       /* while it waits for the file to be free */
    const char *path;          /* first path argument (the caller's) */
    const char *path2;         /* second path argument (rename, links, copy) */
    uint64_t arg;              /* mode, length, offset... */
    int code;                  /* which operation */
    int started;               /* 0 before the first poll */
} weft_fs_req;

#endif /* WEFT_DETAIL_FS_H */
