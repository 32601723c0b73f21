/* Adopting, closing and giving back the descriptor of a handle. */
#include "io/handle.h"

#include <errno.h>
#include <fcntl.h>

int weft__fd_prepare(int fd, weft__fd_flags *saved) {
    if (fd < 0) return -EBADF;
    saved->status = fcntl(fd, F_GETFL);
    if (saved->status < 0) return -errno;
    saved->fd = fcntl(fd, F_GETFD);
    if (saved->fd < 0) return -errno;
    if (!(saved->status & O_NONBLOCK) && fcntl(fd, F_SETFL, saved->status | O_NONBLOCK) < 0)
        return -errno;
    if (!(saved->fd & FD_CLOEXEC) && fcntl(fd, F_SETFD, saved->fd | FD_CLOEXEC) < 0) {
        int err = -errno;
        fcntl(fd, F_SETFL, saved->status);
        return err;
    }
    return 0;
}

void weft__fd_restore(int fd, const weft__fd_flags *saved) {
    fcntl(fd, F_SETFL, saved->status);
    fcntl(fd, F_SETFD, saved->fd);
}

void weft__handle_close(weft_io_handle *io) {
    weft_io_reg *r = io->reg;
    if (!r) return;
    io->reg = NULL;
    weft__io_unshare(r);
}

int weft__handle_into_fd(weft_io_handle *io) {
    weft_io_reg *r = io->reg;
    if (!r) return -EBADF;
    if (atomic_load_explicit(&r->users, memory_order_acquire) > 1) return -EBUSY;
    int fd = r->fd;
    io->reg = NULL;
    r->close_fd = false;
    weft__io_deregister(r);
    return fd;
}
