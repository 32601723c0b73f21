/*
 * The system calls that cannot block, made inline in a poll so that the
 * common case (pages, dentries and inodes in memory) never pays a trip to
 * the blocking pool. Each returns -EAGAIN when the kernel says it would
 * have to wait, or cannot promise it would not: the caller then does the
 * same work on the pool, where blocking is allowed.
 *
 *  - Opens: openat2(2) with RESOLVE_CACHED (the lookup fails with EAGAIN
 *    unless every component is in the dentry cache) and O_NONBLOCK (a
 *    lease break or a device that would wait says EWOULDBLOCK); the same
 *    pair io_uring uses for its own inline open. O_CREAT and O_TRUNC are
 *    refused by the kernel in this mode (they write). Only regular files
 *    and directories are kept: a FIFO or a device is closed again and
 *    opened on the pool, where its open may wait as it should.
 *  - Metadata: statx(2) of an open descriptor (or an O_PATH one opened as
 *    above) with AT_STATX_DONT_SYNC, which reads the inode in memory. On a
 *    local file system that is the exact answer; a network file system
 *    could answer from a stale cache, so there it is done on the pool.
 *  - Reads: preadv2(2) with RWF_NOWAIT, which returns EAGAIN rather than
 *    wait for pages that are not in the page cache (and a short count for
 *    a range only partly there). File systems that cannot say answer
 *    EOPNOTSUPP; the file then stops trying.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fs/fs.h"

bool weft__fs_inline_disabled;

/* Cleared when the kernel has no openat2 (before 5.6) or no RESOLVE_CACHED
 * (before 5.12, which says EINVAL): opens and path metadata then always
 * go to the pool. */
static atomic_bool openat2_cached_ok = true;

#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif

static int openat2_cached(const char *path, int flags) {
    if (weft__fs_inline_disabled || !atomic_load_explicit(&openat2_cached_ok, memory_order_relaxed))
        return -EAGAIN;
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_CACHED};
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd >= 0) return fd;
    int e = errno;
    switch (e) {
    case ENOSYS:
    case E2BIG:
        atomic_store_explicit(&openat2_cached_ok, false, memory_order_relaxed);
        return -EAGAIN;
    case EINVAL: /* maybe no RESOLVE_CACHED: let the pool's open(2) decide */
    case EAGAIN:
    case EINTR:
    case ENXIO:  /* a FIFO with no reader, opened non-blocking for writing */
    case ENOMEM:
    case EMFILE: /* the pool reports these */
    case ENFILE:
        return -EAGAIN;
    default:
        return -e; /* ENOENT, ENOTDIR, EACCES, ELOOP, EISDIR, ...: the real answer */
    }
}

bool weft__fs_statx_is_local(int fd, const struct statx *sx) {
    if (sx->stx_dev_major != 0) return true; /* on a block device */
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return false;
    switch ((unsigned long)fs.f_type) {
    case TMPFS_MAGIC:
    case RAMFS_MAGIC:
    case BTRFS_SUPER_MAGIC: /* subvolumes have anonymous device numbers */
    case OVERLAYFS_SUPER_MAGIC:
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
        return true;
    default:
        return false;
    }
}

int weft__fs_open_cached(const char *path, int flags, struct statx *sx, bool private_fd) {
    if (flags & (O_CREAT | O_TRUNC)) return -EAGAIN;
    int fd = openat2_cached(path, flags | O_NONBLOCK);
    if (fd < 0) return fd;
    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
              STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO, sx) != 0 ||
        !(S_ISREG(sx->stx_mode) || S_ISDIR(sx->stx_mode))) {
        close(fd);
        return -EAGAIN;
    }
    /* Back to the flags asked for (F_SETFL keeps only these bits). */
    if (!private_fd && fcntl(fd, F_SETFL, flags & (O_APPEND | O_NOATIME)) != 0) {
        close(fd);
        return -EAGAIN;
    }
    return fd;
}

int weft__fs_stat_cached(const char *path, bool follow, weft_metadata *out) {
    int fd = openat2_cached(path, O_PATH | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) return fd;
    struct statx sx;
    int err = 0;
    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
        err = -EAGAIN;
    else if (!weft__fs_statx_is_local(fd, &sx))
        err = -EAGAIN;
    close(fd);
    if (!err) weft__fs_meta_from_statx(out, &sx);
    return err;
}

int weft__fs_fstat_cached(int fd, weft_metadata *out) {
    if (weft__fs_inline_disabled) return -EAGAIN;
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
        return -EAGAIN;
    weft__fs_meta_from_statx(out, &sx);
    return 0;
}

ssize_t weft__fs_pread_nowait(int fd, void *buf, size_t len, uint64_t off) {
    if (weft__fs_inline_disabled) return -EAGAIN;
    struct iovec iov = {buf, len};
    ssize_t n = preadv2(fd, &iov, 1, (off_t)off, RWF_NOWAIT);
    if (n >= 0) return n;
    int e = errno;
    if (e == EAGAIN || e == EINTR) return -EAGAIN;
    return -e; /* EOPNOTSUPP: the caller stops trying; anything else is the answer */
}
