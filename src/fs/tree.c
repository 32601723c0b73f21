/*
 * The operations on whole trees, run on a pool thread: mkdir -p and
 * rm -r. The removal never follows a symbolic link: it walks the tree
 * through descriptors opened with O_NOFOLLOW relative to their parent
 * (openat/unlinkat), so a link swapped in for a directory while it runs
 * cannot make it remove anything outside the tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* mkdir that counts an existing directory as done. */
static int mkdir_one(const char *path, uint32_t mode) {
    if (mkdir(path, mode) == 0) return 0;
    int e = errno;
    if (e == EEXIST) return is_dir(path) ? 0 : -EEXIST;
    return -e;
}

int weft__fs_mkdir_all(const char *path, uint32_t mode) {
    if (!path[0]) return -ENOENT;
    int err = mkdir_one(path, mode);
    if (err != -ENOENT) return err;
    /* A parent is missing: create each prefix in turn, then the path. */
    char *p = strdup(path);
    if (!p) return -ENOMEM;
    size_t n = strlen(p);
    err = 0;
    for (size_t i = 1; i < n && !err; i++) {
        if (p[i] != '/' || p[i - 1] == '/') continue;
        p[i] = 0;
        err = mkdir_one(p, mode);
        p[i] = '/';
        if (err == -ENOENT) err = 0; /* cannot happen walking forward; the last mkdir says */
    }
    free(p);
    return err ? err : mkdir_one(path, mode);
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static bool dot_or_dotdot(const char *n) {
    return n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0));
}

static int remove_contents(int dirfd);

/* Removes the entry `name` of `dirfd`, recursively if it is a directory. */
static int remove_entry(int dirfd, const char *name, unsigned char type) {
    if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -errno;
        type = (unsigned char)IFTODT(st.st_mode);
    }
    if (type == DT_DIR) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) return 0;
            if (errno != ENOTDIR && errno != ELOOP) return -errno;
            /* Replaced by something else meanwhile: remove that. */
        } else {
            int err = remove_contents(fd);
            close(fd);
            if (err) return err;
            if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return 0;
            return -errno;
        }
    }
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return 0;
    return -errno;
}

/* Empties the directory `dirfd`. Passes over it until a pass removes
 * nothing, since removing entries while reading may hide others. */
static int remove_contents(int dirfd) {
    enum { BUF = 32 * 1024 };
    unsigned char *buf = malloc(BUF);
    if (!buf) return -ENOMEM;
    int err = 0;
    for (bool removed = true; removed && !err;) {
        removed = false;
        if (lseek(dirfd, 0, SEEK_SET) < 0) {
            err = -errno;
            break;
        }
        for (;;) {
            ssize_t n = getdents64(dirfd, buf, BUF);
            if (n < 0) {
                if (errno == EINTR) continue;
                err = -errno;
                break;
            }
            if (n == 0) break;
            for (ssize_t at = 0; at < n && !err;) {
                struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + at);
                at += d->d_reclen;
                if (dot_or_dotdot(d->d_name)) continue;
                err = remove_entry(dirfd, d->d_name, d->d_type);
                removed = true;
            }
            if (err) break;
        }
    }
    free(buf);
    return err;
}

int weft__fs_remove_dir_all(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return -errno;
    if (S_ISLNK(st.st_mode)) return unlink(path) == 0 ? 0 : -errno; /* the link, not its target */
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -errno;
    int err = remove_contents(fd);
    close(fd);
    if (err) return err;
    return rmdir(path) == 0 ? 0 : -errno;
}
