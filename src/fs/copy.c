/*
 * Copying a file, on a pool thread: in the kernel with copy_file_range(2)
 * (no bytes through user space; reflinks on file systems that share
 * extents), falling back to read/write when the kernel cannot (another
 * file system, a file system without it, an old kernel). Like Rust's
 * fs::copy: `to` is created or truncated and given `from`'s permission
 * bits (when it is a regular file: copying to /dev/null leaves that
 * alone); copying a file onto itself is refused (it would truncate it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"

static int64_t copy_by_hand(int in, int out, int64_t done) {
    enum { BUF = 128 * 1024 };
    unsigned char *buf = malloc(BUF);
    if (!buf) return -ENOMEM;
    int64_t result = done;
    for (;;) {
        ssize_t n = read(in, buf, BUF);
        if (n < 0) {
            if (errno == EINTR) continue;
            result = -errno;
            break;
        }
        if (n == 0) break;
        for (ssize_t w = 0; w < n;) {
            ssize_t m = write(out, buf + w, (size_t)(n - w));
            if (m < 0) {
                if (errno == EINTR) continue;
                result = -errno;
                goto out;
            }
            w += m;
        }
        result += n;
    }
out:
    free(buf);
    return result;
}

static int64_t copy_fds(int in, int out) {
    int64_t done = 0;
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)1 << 30, 0);
        if (n > 0) {
            done += n;
            continue;
        }
        if (n == 0) return done;
        int e = errno;
        if (e == EINTR) continue;
        /* The kernel cannot do it for these two files: by hand, from where
         * it stopped (both offsets moved with what it copied). */
        if (e == EXDEV || e == EINVAL || e == EOPNOTSUPP || e == ENOSYS || e == EPERM ||
            e == ETXTBSY)
            return copy_by_hand(in, out, done);
        return -e;
    }
}

int64_t weft__fs_copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -errno;
    struct stat sin, sout;
    int64_t r;
    if (fstat(in, &sin) != 0) {
        r = -errno;
        goto close_in;
    }
    if (S_ISDIR(sin.st_mode)) {
        r = -EISDIR;
        goto close_in;
    }
    if (!S_ISREG(sin.st_mode)) {
        r = -EINVAL;
        goto close_in;
    }
    int out = open(to, O_WRONLY | O_CREAT | O_CLOEXEC, sin.st_mode & 07777);
    if (out < 0) {
        r = -errno;
        goto close_in;
    }
    if (fstat(out, &sout) != 0) {
        r = -errno;
        goto close_out;
    }
    if (sout.st_dev == sin.st_dev && sout.st_ino == sin.st_ino) {
        r = -EINVAL; /* the same file: truncating it would lose it */
        goto close_out;
    }
    if (S_ISREG(sout.st_mode) && ftruncate(out, 0) != 0) {
        r = -errno;
        goto close_out;
    }
    if (S_ISREG(sout.st_mode) && fchmod(out, sin.st_mode & 07777) != 0) {
        r = -errno;
        goto close_out;
    }
    r = copy_fds(in, out);
close_out:
    if (close(out) != 0 && r >= 0 && errno != EINTR) r = -errno;
close_in:
    close(in);
    return r;
}
