/* Metadata: statx(2) results as weft_metadata, and file types. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fs/fs.h"

weft_file_type weft__fs_type_from_mode(uint32_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return WEFT_FILE_TYPE_FILE;
    case S_IFDIR: return WEFT_FILE_TYPE_DIR;
    case S_IFLNK: return WEFT_FILE_TYPE_SYMLINK;
    case S_IFIFO: return WEFT_FILE_TYPE_FIFO;
    case S_IFSOCK: return WEFT_FILE_TYPE_SOCKET;
    case S_IFCHR: return WEFT_FILE_TYPE_CHAR_DEVICE;
    case S_IFBLK: return WEFT_FILE_TYPE_BLOCK_DEVICE;
    default: return WEFT_FILE_TYPE_UNKNOWN;
    }
}

weft_file_type weft__fs_type_from_dtype(unsigned char d_type) {
    switch (d_type) {
    case DT_REG: return WEFT_FILE_TYPE_FILE;
    case DT_DIR: return WEFT_FILE_TYPE_DIR;
    case DT_LNK: return WEFT_FILE_TYPE_SYMLINK;
    case DT_FIFO: return WEFT_FILE_TYPE_FIFO;
    case DT_SOCK: return WEFT_FILE_TYPE_SOCKET;
    case DT_CHR: return WEFT_FILE_TYPE_CHAR_DEVICE;
    case DT_BLK: return WEFT_FILE_TYPE_BLOCK_DEVICE;
    default: return WEFT_FILE_TYPE_UNKNOWN;
    }
}

const char *weft_file_type_name(weft_file_type t) {
    switch (t) {
    case WEFT_FILE_TYPE_FILE: return "file";
    case WEFT_FILE_TYPE_DIR: return "dir";
    case WEFT_FILE_TYPE_SYMLINK: return "symlink";
    case WEFT_FILE_TYPE_FIFO: return "fifo";
    case WEFT_FILE_TYPE_SOCKET: return "socket";
    case WEFT_FILE_TYPE_CHAR_DEVICE: return "char_device";
    case WEFT_FILE_TYPE_BLOCK_DEVICE: return "block_device";
    default: return "unknown";
    }
}

static struct timespec ts_of(const struct statx_timestamp *t) {
    return (struct timespec){.tv_sec = (time_t)t->tv_sec, .tv_nsec = (long)t->tv_nsec};
}

void weft__fs_meta_from_statx(weft_metadata *m, const struct statx *sx) {
    m->type = weft__fs_type_from_mode(sx->stx_mode);
    m->mode = sx->stx_mode & 07777;
    m->size = sx->stx_size;
    m->blocks = sx->stx_blocks;
    m->block_size = sx->stx_blksize;
    m->uid = sx->stx_uid;
    m->gid = sx->stx_gid;
    m->nlink = sx->stx_nlink;
    m->ino = sx->stx_ino;
    m->dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
    m->rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
    m->atime = ts_of(&sx->stx_atime);
    m->mtime = ts_of(&sx->stx_mtime);
    m->ctime = ts_of(&sx->stx_ctime);
    m->has_btime = (sx->stx_mask & STATX_BTIME) != 0;
    m->btime = m->has_btime ? ts_of(&sx->stx_btime) : (struct timespec){0, 0};
}

int weft__fs_statx(int dirfd, const char *path, int flags, weft_metadata *out) {
    struct statx sx;
    if (statx(dirfd, path, flags, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) return -errno;
    weft__fs_meta_from_statx(out, &sx);
    return 0;
}
