/**
 * @file
 * weft/fs.h — files and directories (Tokio's tokio::fs).
 *
 *  - weft_file: an open file, a handle that owns its descriptor. It is a
 *    weft_stream (reads and writes at its cursor), so every future of
 *    weft/io.h works on it: read, read_exact, write_all, copy, the buffered
 *    reader's read_line, ... It also has positional reads and writes,
 *    read_to_end, seek, sync, set_len and metadata futures.
 *  - Futures on paths: read or write a whole file, metadata, create and
 *    remove directories (also recursively), rename, copy, links,
 *    permissions, canonicalize.
 *  - weft_read_dir: the entries of a directory, one future per entry.
 *
 * Every call that may wait for the disk is a future. A system call that
 * cannot block (a read of pages already in memory with RWF_NOWAIT, a path
 * lookup with RESOLVE_CACHED, a metadata read of an inode in memory) runs
 * inline in the poll; everything else runs on the runtime's blocking pool,
 * never on a runtime thread (docs/fs.md says which calls run where).
 *
 * Cancellation: dropping a future never leaks a descriptor or memory. An
 * operation already running on a pool thread completes there and its
 * result is released (an open whose future was dropped closes the file it
 * opened; a read's buffer is freed). Each future says what a drop leaves.
 *
 * Paths and buffers given to a future must stay valid until it completes
 * or is dropped (weft copies what a running operation still needs).
 * Errors are negative errno values (-ENOENT, -EISDIR, -ENOTDIR, -EEXIST,
 * -ENOTEMPTY, -EACCES, ...); -EINVAL for a malformed argument, -EBADF for
 * an empty handle, -ESHUTDOWN if the runtime is being destroyed, -ENOMEM,
 * -WEFT_ENOTHREAD. Every future must be polled by a runtime (it needs the
 * runtime's blocking pool): polled with no runtime it fails with -EINVAL.
 */
#ifndef WEFT_FS_H
#define WEFT_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "detail/fs.h"
#include "future.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Metadata                                                                  */
/* ------------------------------------------------------------------------ */

/** @defgroup fs_metadata File metadata
 * @{ */

/** What a directory entry or a path names. */
typedef enum weft_file_type {
    WEFT_FILE_TYPE_UNKNOWN = 0,  /**< the file system did not say (not returned by metadata) */
    WEFT_FILE_TYPE_FILE,         /**< a regular file */
    WEFT_FILE_TYPE_DIR,          /**< a directory */
    WEFT_FILE_TYPE_SYMLINK,      /**< a symbolic link */
    WEFT_FILE_TYPE_FIFO,         /**< a named pipe */
    WEFT_FILE_TYPE_SOCKET,       /**< a Unix socket */
    WEFT_FILE_TYPE_CHAR_DEVICE,  /**< a character device */
    WEFT_FILE_TYPE_BLOCK_DEVICE, /**< a block device */
} weft_file_type;

/** The type's name ("file", "dir", "symlink", ...; "unknown" for anything
 *  else). Never NULL. Any thread. */
WEFT_API const char *weft_file_type_name(weft_file_type t);

/** What stat(2) tells about a file (filled from statx(2)). */
typedef struct weft_metadata {
    weft_file_type type;     /**< what the file is */
    uint32_t mode;           /**< permission bits, setuid, setgid and sticky (st_mode & 07777) */
    uint64_t size;           /**< size in bytes (a symbolic link: the length of its target) */
    uint64_t blocks;         /**< 512-byte blocks allocated */
    uint32_t block_size;     /**< the preferred I/O size */
    uint32_t uid;            /**< owner */
    uint32_t gid;            /**< group */
    uint64_t nlink;          /**< hard links */
    uint64_t ino;            /**< inode number */
    uint64_t dev;            /**< device of the file system (makedev(major, minor)) */
    uint64_t rdev;           /**< the device a device file stands for */
    struct timespec atime;   /**< last access */
    struct timespec mtime;   /**< last modification of the contents */
    struct timespec ctime;   /**< last change of the inode */
    struct timespec btime;   /**< creation, if has_btime */
    bool has_btime;          /**< whether the file system reports a creation time */
} weft_metadata;

/** @} */

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

/** @defgroup fs_file Files
 * @{ */

/**
 * How to open a file (Rust's OpenOptions). Zero-initialise and set what
 * you need: `weft_open_options o = {.write = true, .create = true};`.
 * Rules (else -EINVAL): at least one of read, write, append; truncate,
 * create and create_new need write or append; truncate and append exclude
 * each other. Every file is opened close-on-exec.
 */
typedef struct weft_open_options {
    bool read;        /**< open for reading */
    bool write;       /**< open for writing (at the cursor) */
    bool append;      /**< every write goes to the end of the file (implies writing) */
    bool truncate;    /**< truncate an existing file to length 0 */
    bool create;      /**< create the file if it does not exist */
    bool create_new;  /**< create the file; -EEXIST if it exists (also for a symbolic link) */
    uint32_t mode;    /**< permissions of a file created, before the umask; 0 means 0666 */
    int flags;        /**< more open(2) flags: only O_NOFOLLOW, O_NOATIME, O_NOCTTY, O_SYNC, O_DSYNC (else -EINVAL) */
} weft_open_options;

struct weft__file;

/**
 * An open file: a handle that owns a descriptor (opened by
 * weft_file_open_init's future or weft_file_adopt; ended by
 * weft_file_close or weft_file_into_fd). Zero-initialised it is empty.
 *
 * It is a weft_stream: pass `&file.stream` to weft_read, weft_write_all,
 * weft_copy, weft_bufreader_init, ... Reads and writes go through the
 * file's cursor, which weft keeps itself: small sequential reads are
 * served from a read-ahead buffer (filled without blocking when the pages
 * are in memory), and a write is copied and accepted at once, then
 * written by a pool thread while the next one is accepted ("write-behind":
 * an error is reported by the next write or flush; flush with weft_flush
 * to wait for the bytes to reach the file). One operation at the cursor
 * runs at a time; positional reads and writes (read_at, write_at) wait
 * for it and then run in parallel with each other.
 *
 * Like every handle, a file is a plain value: move it into a task while
 * no future uses it. Close it from any thread, but not while another
 * thread polls or drops a future that uses it.
 */
typedef struct weft_file {
    weft_stream stream;       /**< the byte-stream interface: pass `&f->stream` to any stream function */
    struct weft__file *core;  /**< @private shared with operations in flight; NULL when empty */
} weft_file;

/**
 * Opens a file. Output: `result` 0 or -errno (-ENOENT, -EACCES, -EEXIST
 * for create_new, -EISDIR when the path is a directory, -ENOTDIR, -ELOOP
 * with O_NOFOLLOW on a symbolic link, -EINVAL for options that break the
 * rules), and `file`, the open file, when `result` is 0: move it out and
 * close it. Cancel-safe: a drop closes the file if it was already opened
 * (on the pool thread, when the open completes).
 */
typedef struct weft_file_open {
    weft_future base;          /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;           /**< @private */
    weft_open_options opts;    /**< @private */
    int result;                /**< output */
    weft_file file;            /**< output when result == 0 */
} weft_file_open;

/** Initialises an open of `path` with `opts` (copied; NULL: read only). No
 *  work. Returns `&f->base`. Any thread; poll it on a runtime thread. */
WEFT_API weft_future *weft_file_open_init(weft_file_open *f, const char *path,
                                          const weft_open_options *opts);
/** Initialises an open for writing that creates the file or truncates it
 *  (Rust's File::create). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_file_create_init(weft_file_open *f, const char *path);

/**
 * Takes over `fd`, a descriptor you opened (a regular file, usually),
 * making it close-on-exec. Its cursor starts at the descriptor's offset;
 * its access mode (read, write, append) is the descriptor's. Returns 0,
 * -EBADF (not an open descriptor, or an O_PATH one), -EISDIR (a
 * directory), -ENOMEM. On failure `fd` stays yours, its flags unchanged.
 * Pipes and terminals are better served by weft_async_fd. Any thread.
 */
WEFT_API int weft_file_adopt(weft_file *f, int fd);
/**
 * Closes the file; `f` is then empty (its operations return -EBADF;
 * closing it again does nothing). A future waiting to start on it is
 * woken and completes with -EBADF. Bytes accepted by a write that have not
 * reached the file yet are still written, and the descriptor is closed
 * when the operations in flight end; their errors are lost (flush first
 * to see them). With none in flight (after a flush) the descriptor is
 * closed before this returns. Any thread, but not while another thread
 * polls or drops a future that uses `f`.
 */
WEFT_API void weft_file_close(weft_file *f);
/**
 * Gives the descriptor back, open, with its offset set to the file's
 * cursor; `f` is then empty, as after close. -EBADF if `f` is empty,
 * -EBUSY while an operation is in flight on it (await weft_flush on the
 * file first: after it, none is). Any thread, with weft_file_close's rule.
 */
WEFT_API int weft_file_into_fd(weft_file *f);
/** The descriptor (for fcntl and the like; do not close it), or -EBADF if
 *  `f` is empty. Any thread. */
WEFT_API int weft_file_fd(const weft_file *f);

/**
 * Reads at most `len` bytes at `offset` (pread(2)), without moving the
 * cursor. Output `result`: bytes read, 0 at the end of the file (or when
 * len is 0), or -errno (-EBADF for a file not open for reading, -EISDIR).
 * Waits first for the operation at the cursor in flight, if any (so it
 * sees bytes written before it). Cancel-safe: a drop loses nothing (a read
 * running on a pool thread reads into weft's own buffer, freed when it
 * ends). `buf` must outlive the future.
 */
typedef struct weft_file_read_at {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    weft_file *file;   /**< @private */
    void *buf;         /**< @private */
    size_t len;        /**< @private */
    ssize_t result;    /**< output */
} weft_file_read_at;

/** Initialises a read at `offset` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_file_read_at_init(weft_file_read_at *f, weft_file *file, void *buf,
                                             size_t len, uint64_t offset);

/**
 * Writes `len` bytes at `offset` (pwrite(2), repeated until all are
 * written), without moving the cursor. Output `result`: `len`, or -errno
 * (-EBADF for a file not open for writing, -ENOSPC, -EFBIG, ...). A file
 * opened for appending writes at its end instead (as pwrite(2) does on
 * Linux). Not cancel-safe: the bytes are copied at the first poll and a
 * drop does not stop a write running on a pool thread.
 */
typedef struct weft_file_write_at {
    weft_future base;     /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;      /**< @private */
    weft_file *file;      /**< @private */
    const void *buf;      /**< @private */
    size_t len;           /**< @private */
    ssize_t result;       /**< output */
} weft_file_write_at;

/** Initialises a write at `offset` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_file_write_at_init(weft_file_write_at *f, weft_file *file,
                                              const void *buf, size_t len, uint64_t offset);

/**
 * Reads from the cursor to the end of the file. Output `result`: the
 * number of bytes read or -errno; `data`: those bytes in a buffer
 * allocated with malloc (NUL-terminated, so text can be used as a string;
 * free it), NULL on error. The cursor ends at the end of the file. A drop
 * loses the bytes read so far (the cursor is past them) and frees them.
 */
typedef struct weft_file_read_to_end {
    weft_future base;     /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;      /**< @private */
    weft_file *file;      /**< @private */
    unsigned char *data;  /**< output: malloc'd, NUL-terminated; yours to free */
    ssize_t result;       /**< output: bytes read or -errno */
} weft_file_read_to_end;

/** Initialises a read to the end (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_file_read_to_end_init(weft_file_read_to_end *f, weft_file *file);

/**
 * Moves the cursor (lseek(2)): `whence` is SEEK_SET, SEEK_CUR, SEEK_END,
 * SEEK_DATA or SEEK_HOLE. Output `result`: the new position, or -errno
 * (-EINVAL for a negative position or a bad whence, -ESPIPE for a pipe,
 * -ENXIO from SEEK_DATA/SEEK_HOLE past the end). SEEK_SET and SEEK_CUR
 * need no system call; the others ask the file system on the pool.
 * Waits for the operation at the cursor in flight first. Cancel-safe: a
 * drop before it completes leaves the cursor where it was.
 */
typedef struct weft_file_seek {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    weft_file *file;   /**< @private */
    int64_t offset;    /**< @private */
    int whence;        /**< @private */
    int64_t result;    /**< output: the new position or -errno */
} weft_file_seek;

/** Initialises a seek (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_file_seek_init(weft_file_seek *f, weft_file *file, int64_t offset,
                                          int whence);

/**
 * Waits for the writes accepted so far, then fsync(2) (sync_all: data and
 * metadata) or fdatasync(2) (sync_data). Output `result`: 0 or -errno; an
 * error of an earlier write that nobody was told of yet is reported here
 * first. A drop does not stop a sync already running.
 */
typedef struct weft_file_sync {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    weft_file *file;   /**< @private */
    int result;        /**< output */
} weft_file_sync;

/** Initialises an fsync (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_file_sync_all_init(weft_file_sync *f, weft_file *file);
/** Initialises an fdatasync (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_file_sync_data_init(weft_file_sync *f, weft_file *file);

/**
 * Truncates or extends the file to `len` bytes (ftruncate(2)); the cursor
 * does not move. Waits for the writes accepted so far first. Output
 * `result`: 0 or -errno (-EINVAL for a file not open for writing, or
 * `len` above INT64_MAX). A drop does not stop a truncation already
 * running.
 */
typedef struct weft_file_set_len {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    weft_file *file;   /**< @private */
    int result;        /**< output */
} weft_file_set_len;

/** Initialises a set_len (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_file_set_len_init(weft_file_set_len *f, weft_file *file, uint64_t len);

/**
 * The metadata of the open file (fstat), after the writes accepted so
 * far. Output: `result` 0 or -errno, `meta`. Cancel-safe.
 */
typedef struct weft_file_metadata {
    weft_future base;     /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;      /**< @private */
    weft_file *file;      /**< @private */
    int result;           /**< output */
    weft_metadata meta;   /**< output when result == 0 */
} weft_file_metadata;

/** Initialises a metadata query on an open file (no work). Returns
 *  `&f->base`. Any thread. */
WEFT_API weft_future *weft_file_metadata_init(weft_file_metadata *f, weft_file *file);

/** @} */

/* ------------------------------------------------------------------------ */
/* Paths                                                                     */
/* ------------------------------------------------------------------------ */

/** @defgroup fs_path Operations on paths
 * @{ */

/**
 * Reads a whole file. Output `result`: its size in bytes or -errno
 * (-ENOENT, -EISDIR for a directory, ...); `data`: the bytes, in a buffer
 * allocated with malloc and NUL-terminated (free it), NULL on error.
 * Cancel-safe: a drop frees what was read and closes the file.
 */
typedef struct weft_fs_read {
    weft_future base;     /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;      /**< @private */
    unsigned char *data;  /**< output: malloc'd, NUL-terminated; yours to free */
    ssize_t result;       /**< output: bytes read or -errno */
} weft_fs_read;

/** Initialises a read of the file at `path` (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_read_init(weft_fs_read *f, const char *path);

/**
 * Writes a whole file: creates it (mode 0666 before the umask) or
 * truncates it, and writes `len` bytes. Output `result`: 0 or -errno. The
 * bytes are copied at the first poll; a drop does not stop a write
 * already running on a pool thread.
 */
typedef struct weft_fs_write {
    weft_future base;   /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;    /**< @private */
    const void *buf;    /**< @private */
    size_t len;         /**< @private */
    int result;         /**< output */
} weft_fs_write;

/** Initialises a write of `len` bytes from `buf` to the file at `path`
 *  (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_write_init(weft_fs_write *f, const char *path, const void *buf,
                                         size_t len);

/** The metadata of a path. Output: `result` 0 or -errno (-ENOENT,
 *  -ENOTDIR, -ELOOP, -EACCES, ...), `meta`. Cancel-safe. */
typedef struct weft_fs_metadata {
    weft_future base;     /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;      /**< @private */
    int result;           /**< output */
    weft_metadata meta;   /**< output when result == 0 */
} weft_fs_metadata;

/** Initialises a stat of `path`, following symbolic links (no work).
 *  Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_metadata_init(weft_fs_metadata *f, const char *path);
/** Initialises an lstat of `path`: a symbolic link itself is described
 *  (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_symlink_metadata_init(weft_fs_metadata *f, const char *path);

/**
 * Creates a directory. Output `result`: 0 or -errno: -EEXIST if the path
 * exists (create_dir), -ENOENT if a parent is missing (create_dir),
 * -ENOTDIR if a parent is not a directory, -EEXIST if create_dir_all
 * meets something that is not a directory. A drop does not stop a
 * creation already running.
 */
typedef struct weft_fs_create_dir {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    int result;        /**< output */
} weft_fs_create_dir;

/** Initialises a mkdir of `path` with permissions `mode` before the umask
 *  (0 means 0777). No work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_create_dir_init(weft_fs_create_dir *f, const char *path,
                                              uint32_t mode);
/** Initialises a recursive mkdir (mkdir -p): creates every missing parent;
 *  an existing directory is success. No work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_create_dir_all_init(weft_fs_create_dir *f, const char *path,
                                                  uint32_t mode);

/**
 * Removes a file or a directory. Output `result`: 0 or -errno: remove_file
 * on a directory is -EISDIR; remove_dir on a file is -ENOTDIR and on a
 * directory that is not empty -ENOTEMPTY; remove_dir_all on a file is
 * -ENOTDIR (on a symbolic link it removes the link, never what it points
 * to, and it never follows a link inside the tree either). A drop does not
 * stop a removal already running.
 */
typedef struct weft_fs_remove {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    int result;        /**< output */
} weft_fs_remove;

/** Initialises an unlink of a file (or symbolic link). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_remove_file_init(weft_fs_remove *f, const char *path);
/** Initialises an rmdir of an empty directory. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_remove_dir_init(weft_fs_remove *f, const char *path);
/** Initialises the removal of a directory and everything in it (rm -r).
 *  Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_remove_dir_all_init(weft_fs_remove *f, const char *path);

/** Renames (moves) `from` to `to`, replacing `to` if it exists (rename(2)
 *  rules: -EISDIR, -ENOTEMPTY, -EXDEV across file systems, ...). Output
 *  `result`: 0 or -errno. A drop does not stop a rename already running. */
typedef struct weft_fs_rename {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    int result;        /**< output */
} weft_fs_rename;

/** Initialises a rename (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_rename_init(weft_fs_rename *f, const char *from, const char *to);

/** Creates a link. Output `result`: 0 or -errno (-EEXIST if the new path
 *  exists). A drop does not stop it once running. */
typedef struct weft_fs_link {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    int result;        /**< output */
} weft_fs_link;

/** Initialises a hard link `link` to the existing file `existing` (link(2)).
 *  Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_hard_link_init(weft_fs_link *f, const char *existing,
                                             const char *link);
/** Initialises a symbolic link `link` whose target is the text `target`
 *  (symlink(2)). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_symlink_init(weft_fs_link *f, const char *target, const char *link);

/** Sets the permission bits (chmod(2); `mode` & 07777, else -EINVAL).
 *  Output `result`: 0 or -errno. A drop does not stop it once running. */
typedef struct weft_fs_set_permissions {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    int result;        /**< output */
} weft_fs_set_permissions;

/** Initialises a chmod (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_set_permissions_init(weft_fs_set_permissions *f, const char *path,
                                                   uint32_t mode);

/**
 * Copies the contents of the file `from` to `to` (created or truncated;
 * given `from`'s permission bits), in the kernel (copy_file_range(2))
 * where the file systems allow it, else by reading and writing. Output
 * `result`: the bytes copied, or -errno (-EINVAL if `from` is not a
 * regular file or `to` is the same file, -EISDIR, -ENOENT, ...). A drop
 * does not stop a copy already running.
 */
typedef struct weft_fs_copy {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    int64_t result;    /**< output: bytes copied or -errno */
} weft_fs_copy;

/** Initialises a copy (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_copy_init(weft_fs_copy *f, const char *from, const char *to);

/**
 * The absolute path with every symbolic link, "." and ".." resolved
 * (realpath(3)). Output: `result` 0 or -errno (-ENOENT if any component is
 * missing); `path`: malloc'd, yours to free. Cancel-safe.
 */
typedef struct weft_fs_canonicalize {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    char *path;        /**< output: malloc'd; yours to free */
    int result;        /**< output */
} weft_fs_canonicalize;

/** Initialises a canonicalize (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_canonicalize_init(weft_fs_canonicalize *f, const char *path);

/** The target of a symbolic link (readlink(2)). Output: `result` 0 or
 *  -errno (-EINVAL if `path` is not a link); `target`: malloc'd and
 *  NUL-terminated, yours to free. Cancel-safe. */
typedef struct weft_fs_read_link {
    weft_future base;  /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;   /**< @private */
    char *target;      /**< output: malloc'd; yours to free */
    int result;        /**< output */
} weft_fs_read_link;

/** Initialises a readlink (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_fs_read_link_init(weft_fs_read_link *f, const char *path);

/** @} */

/* ------------------------------------------------------------------------ */
/* Directories                                                               */
/* ------------------------------------------------------------------------ */

/** @defgroup fs_read_dir Reading directories
 * @{ */

/** One entry of a directory ("." and ".." are never returned). */
typedef struct weft_dir_entry {
    char name[256];       /**< the entry's name (NUL-terminated; not a path) */
    weft_file_type type;  /**< what it is (a symbolic link is not followed) */
    uint64_t ino;         /**< its inode number */
} weft_dir_entry;

/**
 * An open directory being read: a handle that owns a directory
 * descriptor (opened by weft_read_dir_open_init's future, ended by
 * weft_read_dir_close). Entries are read from the kernel in large batches,
 * one pool trip for hundreds of them. Zero-initialised it is empty.
 */
typedef struct weft_read_dir {
    struct weft__file *core;  /**< @private NULL when empty */
} weft_read_dir;

/**
 * Opens a directory for reading. Output: `result` 0 or -errno (-ENOENT,
 * -ENOTDIR for a file, -EACCES, ...), `dir` when `result` is 0 (move it
 * out; close it). Cancel-safe: a drop closes the directory if it was
 * already opened.
 */
typedef struct weft_read_dir_open {
    weft_future base;   /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;    /**< @private */
    int result;         /**< output */
    weft_read_dir dir;  /**< output when result == 0 */
} weft_read_dir_open;

/** Initialises the opening of the directory `path` (no work). Returns
 *  `&f->base`. Any thread. */
WEFT_API weft_future *weft_read_dir_open_init(weft_read_dir_open *f, const char *path);

/**
 * The next entry. Output `result`: 1 and `entry` set, 0 at the end (and
 * every time after), or -errno (-EBADF for an empty or closed handle).
 * Entries created or removed while the directory is read may or may not
 * be seen (readdir(3) rules). Cancel-safe: a drop loses no entry (a batch
 * being read lands in the handle for the next call). One task at a time
 * reads a directory.
 */
typedef struct weft_read_dir_next {
    weft_future base;      /**< the future header: await or drop the future through `&f->base` */
    weft_fs_req req;       /**< @private */
    weft_read_dir *dir;    /**< @private */
    int result;            /**< output */
    weft_dir_entry entry;  /**< output when result == 1 */
} weft_read_dir_next;

/** Initialises a read of the next entry of `dir` (no work). Returns
 *  `&f->base`. Any thread. */
WEFT_API weft_future *weft_read_dir_next_init(weft_read_dir_next *f, weft_read_dir *dir);

/**
 * Closes the directory; `d` is then empty (closing it again does
 * nothing). A next future still waiting on it completes with -EBADF; a
 * batch being read on a pool thread closes the descriptor when it ends.
 * Any thread, but not while another thread polls or drops a future that
 * uses `d`.
 */
WEFT_API void weft_read_dir_close(weft_read_dir *d);

/** @} */

/* ------------------------------------------------------------------------ */
/* Blocking-style calls for fibers                                           */
/* ------------------------------------------------------------------------ */

/** @defgroup fs_fiber Files from fibers
 * Blocking-style calls for fibers (weft/fiber.h): each is weft_await over
 * the future of the same name, so it suspends the fiber, never the thread.
 * Each returns what the future's `result` says, or -ECANCELED (the fiber
 * was cancelled: the future was dropped, with the cancel-safety it
 * documents: an open is closed, a buffer read is freed) or -EPERM (not
 * called from a fiber). Outputs are stored only on success. Fiber only.
 * @{ */

/** Opens `path` with `opts` (NULL: read only) into `*out` (weft_file_open). 0 or -errno. */
WEFT_API int weft_fiber_file_open(weft_file *out, const char *path, const weft_open_options *opts);
/** Creates or truncates `path` for writing into `*out` (weft_file_create_init). 0 or -errno. */
WEFT_API int weft_fiber_file_create(weft_file *out, const char *path);
/** Waits until the writes accepted on `f` are written and nothing is in
 *  flight on it (weft_flush on the file). 0 or the pending write error. */
WEFT_API int weft_fiber_file_flush(weft_file *f);
/** Reads at most `len` bytes at `offset` (weft_file_read_at): bytes, 0 at the end, or -errno. */
WEFT_API ssize_t weft_fiber_file_read_at(weft_file *f, void *buf, size_t len, uint64_t offset);
/** Writes `len` bytes at `offset` (weft_file_write_at): `len` or -errno. */
WEFT_API ssize_t weft_fiber_file_write_at(weft_file *f, const void *buf, size_t len, uint64_t offset);
/** Reads from the cursor to the end (weft_file_read_to_end): the byte
 *  count, with the malloc'd, NUL-terminated bytes in `*data` (free them);
 *  or -errno. */
WEFT_API ssize_t weft_fiber_file_read_to_end(weft_file *f, unsigned char **data);
/** Moves the cursor (weft_file_seek): the new position or -errno. */
WEFT_API int64_t weft_fiber_file_seek(weft_file *f, int64_t offset, int whence);
/** fsync after the accepted writes (weft_file_sync_all_init). 0 or -errno. */
WEFT_API int weft_fiber_file_sync_all(weft_file *f);
/** fdatasync after the accepted writes (weft_file_sync_data_init). 0 or -errno. */
WEFT_API int weft_fiber_file_sync_data(weft_file *f);
/** Truncates or extends to `len` bytes (weft_file_set_len). 0 or -errno. */
WEFT_API int weft_fiber_file_set_len(weft_file *f, uint64_t len);
/** The metadata of the open file into `*out` (weft_file_metadata). 0 or -errno. */
WEFT_API int weft_fiber_file_metadata(weft_file *f, weft_metadata *out);

/** Reads the whole file at `path` (weft_fs_read): the byte count, with the
 *  malloc'd, NUL-terminated bytes in `*data` (free them); or -errno. */
WEFT_API ssize_t weft_fiber_fs_read(const char *path, unsigned char **data);
/** Creates or truncates `path` and writes `len` bytes (weft_fs_write). 0 or -errno. */
WEFT_API int weft_fiber_fs_write(const char *path, const void *buf, size_t len);
/** The metadata of `path`, following links (weft_fs_metadata). 0 or -errno. */
WEFT_API int weft_fiber_fs_metadata(const char *path, weft_metadata *out);
/** The metadata of `path` itself (weft_fs_symlink_metadata_init). 0 or -errno. */
WEFT_API int weft_fiber_fs_symlink_metadata(const char *path, weft_metadata *out);
/** mkdir (weft_fs_create_dir_init; mode 0 means 0777). 0 or -errno. */
WEFT_API int weft_fiber_fs_create_dir(const char *path, uint32_t mode);
/** mkdir -p (weft_fs_create_dir_all_init). 0 or -errno. */
WEFT_API int weft_fiber_fs_create_dir_all(const char *path, uint32_t mode);
/** Removes a file or link (weft_fs_remove_file_init). 0 or -errno. */
WEFT_API int weft_fiber_fs_remove_file(const char *path);
/** Removes an empty directory (weft_fs_remove_dir_init). 0 or -errno. */
WEFT_API int weft_fiber_fs_remove_dir(const char *path);
/** Removes a directory and everything in it (weft_fs_remove_dir_all_init). 0 or -errno. */
WEFT_API int weft_fiber_fs_remove_dir_all(const char *path);
/** Renames `from` to `to` (weft_fs_rename). 0 or -errno. */
WEFT_API int weft_fiber_fs_rename(const char *from, const char *to);
/** Makes a hard link (weft_fs_hard_link_init). 0 or -errno. */
WEFT_API int weft_fiber_fs_hard_link(const char *existing, const char *link);
/** Makes a symbolic link (weft_fs_symlink_init). 0 or -errno. */
WEFT_API int weft_fiber_fs_symlink(const char *target, const char *link);
/** chmod (weft_fs_set_permissions). 0 or -errno. */
WEFT_API int weft_fiber_fs_set_permissions(const char *path, uint32_t mode);
/** Copies a file's contents (weft_fs_copy): the bytes copied or -errno. */
WEFT_API int64_t weft_fiber_fs_copy(const char *from, const char *to);
/** The canonical absolute path (weft_fs_canonicalize) into `*out` (malloc'd; free it). 0 or -errno. */
WEFT_API int weft_fiber_fs_canonicalize(const char *path, char **out);
/** A link's target (weft_fs_read_link) into `*out` (malloc'd; free it). 0 or -errno. */
WEFT_API int weft_fiber_fs_read_link(const char *path, char **out);
/** Opens the directory `path` into `*out` (weft_read_dir_open). 0 or -errno. */
WEFT_API int weft_fiber_read_dir_open(weft_read_dir *out, const char *path);
/** The next entry of `d` into `*out` (weft_read_dir_next): 1, 0 at the end, or -errno. */
WEFT_API int weft_fiber_read_dir_next(weft_read_dir *d, weft_dir_entry *out);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_FS_H */
