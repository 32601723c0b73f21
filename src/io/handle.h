/*
 * What every handle that owns a registered descriptor shares: taking a
 * descriptor over (adopt), closing, giving the descriptor back (_into_fd),
 * and reading it. An empty handle (reg == NULL) answers -EBADF.
 */
#ifndef WEFT_IO_HANDLE_H
#define WEFT_IO_HANDLE_H

#include "io/registration.h"

/* A descriptor's flags before adopt changed them (restored on failure). */
typedef struct weft__fd_flags {
    int status; /* F_GETFL */
    int fd;     /* F_GETFD */
} weft__fd_flags;

/* Makes `fd` non-blocking and close-on-exec, saving its flags in *saved.
 * 0, or -EBADF (not an open descriptor) / -errno; on failure nothing changed. */
int weft__fd_prepare(int fd, weft__fd_flags *saved);
/* Puts back the flags weft__fd_prepare saved. */
void weft__fd_restore(int fd, const weft__fd_flags *saved);

/* The descriptor, or -EBADF if the handle is empty. */
static inline int weft__handle_fd(const weft_io_handle *io) {
    return io->reg ? io->reg->fd : -EBADF;
}

/* Empties the handle and drops its use of the registration (the last use
 * deregisters it and closes the descriptor). Does nothing when empty. */
void weft__handle_close(weft_io_handle *io);

/* Empties the handle and returns its descriptor, open: -EBADF when empty,
 * -EBUSY when split halves still share it (the handle is left as it was). */
int weft__handle_into_fd(weft_io_handle *io);

#endif
