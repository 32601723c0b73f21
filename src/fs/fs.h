/*
 * Files: the internal interface.
 *
 * Three layers:
 *
 *  - The operation (weft__fs_op): one system call or a short sequence of
 *    them (open + fstat, read to the end, a recursive removal, ...) with
 *    its arguments and results, shared by the future that waits for it and
 *    the backend that runs it (two references: either may let go first).
 *    weft__fs_exec runs an operation synchronously; the result fields are
 *    written by the thread that runs it and read by the waiter after
 *    `done`, under the operation's lock.
 *  - The backend (weft__fs_backend): runs operations off the runtime
 *    threads and calls weft__fs_op_complete when each ends. Today that is
 *    the blocking pool (pool.c); an io_uring backend implements the same
 *    `submit` (mapping the opcodes it can to SQEs, handing the others to
 *    weft__fs_exec on the pool) and nothing above it changes.
 *  - The file (weft__file): a descriptor with its cursor, read-ahead and
 *    write-behind buffers, the operation at the cursor in flight, and the
 *    tasks waiting for it; shared, by reference, by the handle, the
 *    futures using it and the operations in flight, so that a descriptor is
 *    closed only when nothing can still use it.
 *
 * inline.c holds the system calls that cannot block and so run in the poll
 * itself (RWF_NOWAIT reads, RESOLVE_CACHED opens, statx of an inode in
 * memory); see docs/fs.md.
 */
#ifndef WEFT_FS_INTERNAL_H
#define WEFT_FS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/list.h"
#include "util/spinlock.h"
#include "weft/fs.h"

struct weft_runtime;

/* ---- operations ------------------------------------------------------------ */

typedef enum weft__fs_opcode {
    /* on paths */
    WEFT__FS_OPEN,         /* path, flags, mode -> out_fd (+ the file's kind in res2) */
    WEFT__FS_OPEN_DIR,     /* path -> out_fd */
    WEFT__FS_READ_FILE,    /* path (or out_fd + data so far) -> data, res = bytes */
    WEFT__FS_WRITE_FILE,   /* path, data, len */
    WEFT__FS_STAT,         /* path -> meta */
    WEFT__FS_LSTAT,        /* path -> meta */
    WEFT__FS_MKDIR,        /* path, mode */
    WEFT__FS_MKDIR_ALL,    /* path, mode */
    WEFT__FS_UNLINK,       /* path */
    WEFT__FS_RMDIR,        /* path */
    WEFT__FS_RMDIR_ALL,    /* path */
    WEFT__FS_RENAME,       /* path -> path2 */
    WEFT__FS_LINK,         /* path (existing) -> path2 */
    WEFT__FS_SYMLINK,      /* path (target) -> path2 */
    WEFT__FS_CHMOD,        /* path, mode */
    WEFT__FS_COPY,         /* path -> path2, res = bytes */
    WEFT__FS_REALPATH,     /* path -> data (a string) */
    WEFT__FS_READLINK,     /* path -> data (a string) */
    /* on an open file (fd); `file` holds a reference */
    WEFT__FS_PREAD,        /* fd, data (owned), len, off -> res */
    WEFT__FS_PWRITE,       /* fd, data (owned), len, off -> res */
    WEFT__FS_FSTAT,        /* fd -> meta */
    WEFT__FS_FSYNC,        /* fd */
    WEFT__FS_FDATASYNC,    /* fd */
    WEFT__FS_FTRUNCATE,    /* fd, len */
    /* at the cursor: the file is busy while they run */
    WEFT__FS_FILL,         /* read-ahead into the file's buffer (getdents64 for a directory) */
    WEFT__FS_WRITE_BEHIND, /* the file's accepted bytes, until none are left */
    WEFT__FS_READ_TO_END,  /* fd from off, data so far -> data, res = bytes */
    WEFT__FS_LSEEK,        /* fd, off, whence (in flags) -> res = position */
} weft__fs_opcode;

typedef struct weft__fs_op weft__fs_op;
struct weft__file;

struct weft__fs_op {
    weft__fs_opcode code;
    _Atomic uint32_t refs;    /* the waiter's and the backend's */
    weft_spinlock lock;       /* guards done and waker */
    bool done;
    bool owns_data;           /* free(data) when the operation is freed */
    bool cursor;              /* an operation at the file's cursor (the file is busy) */
    weft_waker waker;         /* the waiting task, while it waits */
    struct weft__file *file;  /* a reference, or NULL */
    int fd;                   /* the descriptor worked on (borrowed from `file`) */
    int out_fd;               /* a descriptor the operation opened, until taken (-1: none) */
    int flags;
    uint32_t mode;
    uint32_t gen;             /* the file's generation when a fill started */
    uint64_t off;
    uint64_t len;
    unsigned char *data;
    size_t cap;               /* bytes allocated at data */
    int64_t res;              /* the result: >= 0 or -errno */
    int64_t res2;             /* a second result (the kind of file opened; a new position) */
    weft_metadata meta;
    char *path;
    char *path2;
    char storage[];           /* the copies of path and path2 */
};

/* A new operation with copies of `path` and `path2` (either may be NULL),
 * one reference (the caller's). NULL if memory runs out. */
weft__fs_op *weft__fs_op_new(weft__fs_opcode code, const char *path, const char *path2);
/* Hands `op` to the backend of `rt` (which takes a second reference).
 * Returns 0, or -errno if it could not start (-ESHUTDOWN, -ENOMEM,
 * -WEFT_ENOTHREAD, -EINVAL without a runtime); `op` then did not run and
 * the caller still holds its one reference. */
int weft__fs_submit(struct weft_runtime *rt, weft__fs_op *op);
/* The backend's end of an operation (any thread): publishes it, wakes
 * the waiter, lets go of the backend's reference. */
void weft__fs_op_complete(weft__fs_op *op);
/* READY once the operation has completed; otherwise keeps cx's waker. */
weft_poll weft__fs_op_poll(weft__fs_op *op, weft_context *cx);
/* The waiter lets go (after taking the results it wants, or on drop):
 * whatever the operation still owns is released when both have let go. */
void weft__fs_op_release(weft__fs_op *op);
/* Runs the operation's system calls on the calling thread (may block). */
void weft__fs_exec(weft__fs_op *op);

/* ---- backends ----------------------------------------------------------------- */

typedef struct weft__fs_backend {
    const char *name;
    /* Starts `op` (which holds a reference for the backend): 0, and later
     * weft__fs_op_complete(op) exactly once, from any thread; or -errno
     * and never (the caller then drops the backend's reference). */
    int (*submit)(struct weft_runtime *rt, weft__fs_op *op);
} weft__fs_backend;

extern const weft__fs_backend weft__fs_pool_backend;
/* Operations handed to a backend (tests: count pool trips). */
extern _Atomic uint64_t weft__fs_submitted;

/* ---- what runs inline (inline.c) --------------------------------------------- */

/* Every one returns -EAGAIN when the call would have to wait (or the
 * kernel cannot say), meaning: do it on the pool. */

/* open(2) of `path` resolved from the dentry cache only, non-blocking
 * (RESOLVE_CACHED | O_NONBLOCK, as io_uring's inline open); O_NONBLOCK is
 * cleared again unless `private_fd` (a descriptor weft reads and closes
 * itself: the flag changes nothing for a regular file). Only regular files
 * and directories are kept (anything else is closed again: -EAGAIN).
 * Returns the descriptor and its statx (mask: type, mode, size, dev) in
 * *sx, or -errno. */
struct statx;
int weft__fs_open_cached(const char *path, int flags, struct statx *sx, bool private_fd);
/* The metadata of a path found in the dentry cache, from the inode in
 * memory (local file systems only). */
int weft__fs_stat_cached(const char *path, bool follow, weft_metadata *out);
/* statx(2) of an open descriptor from memory (local file systems only). */
int weft__fs_fstat_cached(int fd, weft_metadata *out);
/* preadv2(2) with RWF_NOWAIT: bytes, 0 at the end, -EAGAIN if the pages
 * are not in memory, -EOPNOTSUPP if the file system cannot say. */
ssize_t weft__fs_pread_nowait(int fd, void *buf, size_t len, uint64_t off);
/* Whether the file system of `sx` answers statx from memory with nothing
 * to refresh (a local file system: block device or tmpfs). */
bool weft__fs_statx_is_local(int fd, const struct statx *sx);
/* Turns the inline paths off (tests: force every operation to the pool). */
extern bool weft__fs_inline_disabled;

/* ---- metadata (meta.c) ------------------------------------------------------- */

void weft__fs_meta_from_statx(weft_metadata *m, const struct statx *sx);
weft_file_type weft__fs_type_from_mode(uint32_t mode);
weft_file_type weft__fs_type_from_dtype(unsigned char d_type);
/* statx(2) of dirfd/path with `flags`, converted. 0 or -errno. */
int weft__fs_statx(int dirfd, const char *path, int flags, weft_metadata *out);

/* ---- the multi-step operations (tree.c, copy.c, readall.c) -------------------- */

int weft__fs_mkdir_all(const char *path, uint32_t mode);
int weft__fs_remove_dir_all(const char *path);
int64_t weft__fs_copy_file(const char *from, const char *to);
/* Reads `fd` from `off` to the end into op->data (growing it; op->len
 * bytes already there). Returns the total or -errno. */
int64_t weft__fs_read_to_end(weft__fs_op *op, int fd, uint64_t off, bool positional);
/* Grows op->data to at least `need` bytes (+1 for a NUL). 0 or -ENOMEM. */
int weft__fs_data_reserve(weft__fs_op *op, size_t need);

/* ---- files ---------------------------------------------------------------- */

enum {
    WEFT__FILE_READ = 1u << 0,     /* open for reading */
    WEFT__FILE_WRITE = 1u << 1,    /* open for writing */
    WEFT__FILE_APPEND = 1u << 2,   /* O_APPEND */
    WEFT__FILE_SEEKABLE = 1u << 3, /* positional I/O works (not a pipe or terminal) */
    WEFT__FILE_DIR = 1u << 4,      /* a directory being read (weft_read_dir) */
    WEFT__FILE_NOWAIT = 1u << 5,   /* a regular file: RWF_NOWAIT reads are worth trying */
    WEFT__FILE_LOCAL = 1u << 6,    /* statx from memory is exact (local file system) */
};

/* What runs at the cursor (weft__file.busy). */
enum {
    WEFT__BUSY_NONE = 0,
    WEFT__BUSY_INLINE, /* a poller is making a non-blocking call */
    WEFT__BUSY_POOL,   /* an operation at the cursor runs on the backend */
};

typedef struct weft__file {
    pthread_mutex_t lock;     /* everything below but fd, flags and refs */
    _Atomic uint32_t refs;    /* the handle, each future holding it, each operation */
    int fd;                   /* set at creation; once the handle is closed (or the
                                 descriptor given back) and nothing is in flight, it is
                                 taken out under the lock and closed (-1); else closed
                                 with the last reference */
    uint32_t flags;           /* WEFT__FILE_*; immutable */
    bool closed;              /* the handle was closed or given back */
    atomic_bool nowait;       /* RWF_NOWAIT reads are worth trying (cleared on EOPNOTSUPP) */
    int busy;                 /* WEFT__BUSY_* */
    unsigned running;         /* operations on the backend holding fd (the cursor's included) */
    uint64_t pos;             /* the cursor (seekable files) */
    /* read-ahead: rbuf[rpos, rend) are the file's bytes at pos (directories:
     * getdents64 records not yet returned) */
    unsigned char *rbuf;
    size_t rcap, rpos, rend;
    size_t window;            /* bytes the next fill asks for */
    uint64_t seq_end;         /* where the last fill ended: a fill there is sequential */
    bool eof;                 /* the last fill found the end: the next read says 0 */
    int read_err;             /* a fill's error, for the next read */
    uint32_t gen;             /* +1 whenever bytes change behind the cursor (write_at, set_len) */
    /* write-behind: wbuf is being written at woff; pbuf gathers what is
     * accepted meanwhile, for poff */
    unsigned char *wbuf;
    size_t wcap, wlen;
    uint64_t woff;
    unsigned char *pbuf;
    size_t pcap, plen;
    uint64_t poff;
    int write_err;            /* a write-behind error, for the next write or flush */
    bool writing;             /* the operation at the cursor is the write-behind */
    struct weft__dir *dir;    /* a directory's batches of entries (read_dir.c), or NULL */
    weft_waker rd_waker;      /* the stream's reader, waiting for the cursor */
    weft_waker wr_waker;      /* the stream's writer (and flush) */
    weft_link waiters;        /* weft_fs_waiter nodes of futures */
} weft__file;

/* A file over `fd` (taken: closed with the last reference) with flags. */
weft__file *weft__file_new(int fd, uint32_t flags, uint64_t pos);
void weft__file_ref(weft__file *f);
void weft__file_unref(weft__file *f);
/* Closes the handle's side: wakes every waiter, drops the handle's reference. */
void weft__file_close(weft__file *f);

/* How a future waits for the file before it starts (weft__file_begin). */
enum {
    WEFT__BEGIN_AFTER_CURSOR, /* no operation at the cursor in flight */
    WEFT__BEGIN_CURSOR,       /* the same, then the caller owns the cursor (busy = INLINE) */
    WEFT__BEGIN_DRAIN,        /* nothing at all in flight (flush) */
};
/* Under no lock: 0 when the file is in the state `mode` asks (for
 * BEGIN_CURSOR the caller now owns the cursor: end it with
 * weft__file_end_inline or hand it to an operation with
 * weft__file_submit_cursor); 1 (pending) with `w` queued (or, if w is
 * NULL, the stream slot `slot` set); -EBADF if the handle was closed. */
int weft__file_begin(weft__file *f, int mode, weft_fs_waiter *w, weft_waker *slot,
                     weft_context *cx);
/* Unlinks `w` if queued (a drop, or the end of the wait). */
void weft__file_forget(weft__file *f, weft_fs_waiter *w);
/* Gives back a cursor taken with BEGIN_CURSOR and wakes the waiters. */
void weft__file_end_inline(weft__file *f);
/* Submits an operation on the file (op->file set, op->cursor says whether
 * it holds the cursor). 0, or -errno (the cursor, if held, is given back). */
int weft__file_submit(weft__file *f, struct weft_runtime *rt, weft__fs_op *op);
/* The end of an operation on the file, on the thread that ran it:
 * applies a cursor operation's result, wakes the waiters. */
void weft__file_op_end(weft__fs_op *op);
/* Wakes every waiter of the file (under no lock). */
void weft__file_wake_all(weft__file *f);
/* Drops buffered read-ahead (the bytes behind it changed). Under the lock. */
void weft__file_discard_read(weft__file *f);
/* The write-behind loop, on the pool thread (WEFT__FS_WRITE_BEHIND). */
void weft__file_exec_write_behind(weft__fs_op *op);

extern const weft_stream_vtable weft__file_stream_vtable;

/* Directories (read_dir.c): the pool side of reading entries ahead
 * (WEFT__FS_FILL on a directory), and freeing the batches. */
void weft__dir_exec_stream(weft__fs_op *op);
void weft__dir_free(struct weft__dir *d);

/* ---- the futures' shared steps (req.c) ------------------------------------------- */

/* Takes a reference on the handle's file at the first poll: 0, -EINVAL
 * (no runtime), or -EBADF (an empty handle). */
int weft__fs_req_start(weft_fs_req *r, weft__file *core, weft_context *cx);
/* Lets go of everything the request holds (a drop, or the end). */
void weft__fs_req_release(weft_fs_req *r);

#endif
