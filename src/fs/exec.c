/*
 * Running an operation's system calls, synchronously, on the thread that
 * calls weft__fs_exec (a blocking-pool thread). One small function per
 * opcode; the multi-step ones are in tree.c and copy.c, the cursor's
 * write-behind loop in file_stream.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"

int weft__fs_data_reserve(weft__fs_op *op, size_t need) {
    if (need >= SIZE_MAX / 2) return -ENOMEM;
    if (need + 1 <= op->cap) return 0;
    unsigned char *p = realloc(op->data, need + 1);
    if (!p) return -ENOMEM;
    op->data = p;
    op->cap = need + 1;
    op->owns_data = true;
    return 0;
}

/* One read at `off` (or at the descriptor's offset once pread says ESPIPE). */
static ssize_t read_at_or_cursor(int fd, void *buf, size_t len, uint64_t off, bool *positional) {
    for (;;) {
        ssize_t n = *positional ? pread(fd, buf, len, (off_t)off) : read(fd, buf, len);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno == ESPIPE && *positional) {
            *positional = false; /* a pipe or a terminal: read where it is */
            continue;
        }
        return -errno;
    }
}

int64_t weft__fs_read_to_end(weft__fs_op *op, int fd, uint64_t off, bool positional) {
    /* The size, when the file has one, makes it one read (and one more to
     * see the end), with the buffer allocated once at the right size. */
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > off + op->len &&
        (uint64_t)st.st_size - off < SIZE_MAX / 2 &&
        weft__fs_data_reserve(op, (size_t)((uint64_t)st.st_size - off)) != 0)
        return -ENOMEM;
    for (;;) {
        size_t room = op->cap ? op->cap - 1 - op->len : 0; /* one byte kept for the NUL */
        if (room == 0) {
            /* Full (at the size the file said, maybe): look for more
             * before growing the buffer. */
            unsigned char probe[512];
            ssize_t n = read_at_or_cursor(fd, probe, sizeof probe, off + op->len, &positional);
            if (n < 0) return n;
            if (n == 0) break;
            size_t grow = op->len < 4096 ? 4096 : op->len;
            if (weft__fs_data_reserve(op, op->len + grow) != 0) return -ENOMEM;
            memcpy(op->data + op->len, probe, (size_t)n);
            op->len += (size_t)n;
            continue;
        }
        ssize_t n = read_at_or_cursor(fd, op->data + op->len, room, off + op->len, &positional);
        if (n < 0) return n;
        if (n == 0) break;
        op->len += (size_t)n;
    }
    if (weft__fs_data_reserve(op, op->len) != 0) return -ENOMEM;
    op->data[op->len] = 0;
    return (int64_t)op->len;
}

/* The kind of a freshly opened descriptor, as WEFT__FILE_* bits. */
static uint32_t file_kind(int fd, const struct statx *sx) {
    uint32_t k = 0;
    if (lseek(fd, 0, SEEK_CUR) >= 0) k |= WEFT__FILE_SEEKABLE;
    if (S_ISREG(sx->stx_mode)) k |= WEFT__FILE_NOWAIT;
    if (weft__fs_statx_is_local(fd, sx)) k |= WEFT__FILE_LOCAL;
    return k;
}

static void exec_open(weft__fs_op *op, bool dir) {
    int fd;
    do fd = open(op->path, op->flags | O_CLOEXEC | (dir ? O_DIRECTORY : 0), op->mode);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        op->res = -errno;
        return;
    }
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO, &sx) != 0) {
        op->res = -errno;
        close(fd);
        return;
    }
    if (!dir && S_ISDIR(sx.stx_mode)) { /* opened read-only: the kernel allows it, weft does not */
        op->res = -EISDIR;
        close(fd);
        return;
    }
    op->out_fd = fd;
    op->res2 = file_kind(fd, &sx);
    op->res = 0;
}

static void exec_read_file(weft__fs_op *op) {
    int fd = op->out_fd;
    if (fd >= 0) {
        fcntl(fd, F_SETFL, 0); /* opened inline, O_NONBLOCK: plain blocking reads from here */
    } else {
        do fd = open(op->path, O_RDONLY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            op->res = -errno;
            return;
        }
        op->out_fd = fd;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            op->res = -EISDIR;
            return; /* out_fd is closed when the operation is freed */
        }
    }
    op->res = weft__fs_read_to_end(op, fd, 0, true);
    op->out_fd = -1;
    close(fd);
}

static void exec_write_file(weft__fs_op *op) {
    int fd;
    do fd = open(op->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        op->res = -errno;
        return;
    }
    size_t done = 0;
    int err = 0;
    while (done < op->len) {
        ssize_t n = write(fd, op->data + done, op->len - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            err = -errno;
            break;
        }
        done += (size_t)n;
    }
    if (close(fd) != 0 && !err && errno != EINTR) err = -errno;
    op->res = err;
}

static int64_t ok_or_errno(int rc) { return rc == 0 ? 0 : -errno; }

static void exec_pwrite(weft__fs_op *op) {
    size_t done = 0;
    while (done < op->len) {
        ssize_t n = pwrite(op->fd, op->data + done, op->len - done, (off_t)(op->off + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            op->res = -errno;
            return;
        }
        done += (size_t)n;
    }
    op->res = (int64_t)done;
}

static void exec_readlink(weft__fs_op *op) {
    for (size_t cap = 256;; cap *= 2) {
        if (weft__fs_data_reserve(op, cap) != 0) {
            op->res = -ENOMEM;
            return;
        }
        ssize_t n = readlink(op->path, (char *)op->data, op->cap - 1);
        if (n < 0) {
            op->res = -errno;
            return;
        }
        if ((size_t)n < op->cap - 1) {
            op->data[n] = 0;
            op->res = 0;
            return;
        }
        if (cap > (1u << 20)) {
            op->res = -ENAMETOOLONG;
            return;
        }
    }
}

static void exec_fill(weft__fs_op *op) {
    if (op->file->flags & WEFT__FILE_DIR) {
        weft__dir_exec_stream(op);
        return;
    }
    bool positional = (op->file->flags & WEFT__FILE_SEEKABLE) != 0;
    ssize_t n;
    for (;;) {
        n = positional ? pread(op->fd, op->data, op->cap, (off_t)op->off) : read(op->fd, op->data, op->cap);
        if (n >= 0 || errno != EINTR) break;
    }
    if (n < 0 && errno == ESPIPE && positional) /* a device that seeks but has no pread */
        n = read(op->fd, op->data, op->cap);
    op->res = n < 0 ? -errno : n;
}

void weft__fs_exec(weft__fs_op *op) {
    switch (op->code) {
    case WEFT__FS_OPEN: exec_open(op, false); break;
    case WEFT__FS_OPEN_DIR: exec_open(op, true); break;
    case WEFT__FS_READ_FILE: exec_read_file(op); break;
    case WEFT__FS_WRITE_FILE: exec_write_file(op); break;
    case WEFT__FS_STAT: op->res = weft__fs_statx(AT_FDCWD, op->path, 0, &op->meta); break;
    case WEFT__FS_LSTAT:
        op->res = weft__fs_statx(AT_FDCWD, op->path, AT_SYMLINK_NOFOLLOW, &op->meta);
        break;
    case WEFT__FS_MKDIR: op->res = ok_or_errno(mkdir(op->path, op->mode)); break;
    case WEFT__FS_MKDIR_ALL: op->res = weft__fs_mkdir_all(op->path, op->mode); break;
    case WEFT__FS_UNLINK: op->res = ok_or_errno(unlink(op->path)); break;
    case WEFT__FS_RMDIR: op->res = ok_or_errno(rmdir(op->path)); break;
    case WEFT__FS_RMDIR_ALL: op->res = weft__fs_remove_dir_all(op->path); break;
    case WEFT__FS_RENAME: op->res = ok_or_errno(rename(op->path, op->path2)); break;
    case WEFT__FS_LINK: op->res = ok_or_errno(link(op->path, op->path2)); break;
    case WEFT__FS_SYMLINK: op->res = ok_or_errno(symlink(op->path, op->path2)); break;
    case WEFT__FS_CHMOD: op->res = ok_or_errno(chmod(op->path, op->mode)); break;
    case WEFT__FS_COPY: op->res = weft__fs_copy_file(op->path, op->path2); break;
    case WEFT__FS_REALPATH: {
        char *p = realpath(op->path, NULL);
        op->res = p ? 0 : -errno;
        op->data = (unsigned char *)p;
        op->owns_data = p != NULL;
        break;
    }
    case WEFT__FS_READLINK: exec_readlink(op); break;
    case WEFT__FS_PREAD: {
        ssize_t n;
        do n = pread(op->fd, op->data, op->len, (off_t)op->off);
        while (n < 0 && errno == EINTR);
        op->res = n < 0 ? -errno : n;
        break;
    }
    case WEFT__FS_PWRITE: exec_pwrite(op); break;
    case WEFT__FS_FSTAT: op->res = weft__fs_statx(op->fd, "", AT_EMPTY_PATH, &op->meta); break;
    case WEFT__FS_FSYNC: op->res = ok_or_errno(fsync(op->fd)); break;
    case WEFT__FS_FDATASYNC: op->res = ok_or_errno(fdatasync(op->fd)); break;
    case WEFT__FS_FTRUNCATE: op->res = ok_or_errno(ftruncate(op->fd, (off_t)op->len)); break;
    case WEFT__FS_FILL: exec_fill(op); break;
    case WEFT__FS_WRITE_BEHIND: weft__file_exec_write_behind(op); break;
    case WEFT__FS_READ_TO_END:
        op->res = weft__fs_read_to_end(op, op->fd, op->off,
                                       (op->file->flags & WEFT__FILE_SEEKABLE) != 0);
        break;
    case WEFT__FS_LSEEK: {
        off_t r = lseek(op->fd, (off_t)op->off, op->flags);
        op->res = r < 0 ? -errno : (int64_t)r;
        break;
    }
    }
}
