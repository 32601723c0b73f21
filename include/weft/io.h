/**
 * @file
 * weft/io.h — asynchronous byte streams and the reactor's public face.
 *
 *  - weft_stream: the reader/writer interface every byte stream implements
 *    (TCP, Unix, files, and later TLS), a vtable of poll_read /
 *    poll_write / poll_flush / poll_shutdown in the style of Tokio's
 *    AsyncRead / AsyncWrite.
 *  - Futures over any weft_stream: read, readv, read_exact, write, writev,
 *    write_all, flush, shutdown, copy.
 *  - A buffered reader (read_until, read_line) and a buffered writer.
 *  - split: two halves of one stream that two tasks can use at once.
 *  - weft_async_fd: any non-blocking descriptor registered with the reactor,
 *    with readiness futures (Tokio's AsyncFd).
 *
 * The byte-stream contract (see docs/io.md):
 *
 *  - poll_read(buf, len) touches `buf` only during the call. It returns
 *    WEFT_READY with *res = bytes read (> 0), 0 at end of stream, or -errno;
 *    or WEFT_PENDING after arranging a wake-up, having read nothing.
 *  - poll_write(buf, len) reads `buf` only during the call. WEFT_READY with
 *    *res = bytes accepted (> 0 when len > 0) or -errno; or WEFT_PENDING,
 *    having accepted nothing.
 *  - A zero-length read or write moves nothing and answers at once whether
 *    the stream is usable: 0, or -EBADF for an empty stream (buffered
 *    streams probe the stream under them this way).
 *  - Hence every read and write future here is cancel-safe: dropping one
 *    that is pending loses no data and leaves the stream usable. (read_exact,
 *    write_all and copy make several calls; dropping them loses nothing
 *    either, but the bytes already moved are reported only through their
 *    `done` / `total` fields.) A completion-based backend (io_uring) keeps
 *    this contract by reading into runtime-owned buffers and copying out.
 *  - One task at a time may read a stream, and one at a time may write it
 *    (split gives each half its own waker slot). A second concurrent reader
 *    replaces the first one's waker. (Futures with a struct of their own —
 *    accept, datagram send/recv, connect, async_fd readiness — have no
 *    such limit: any number of them may wait on one socket, and readiness
 *    wakes all of them.)
 *  - An operation on an empty stream (closed, given back with _into_fd,
 *    moved into split halves, a buffered stream destroyed, a split half
 *    closed) is ready at once with -EBADF.
 *
 * Errors are negative errno values. Every future here must be polled inside
 * a runtime (its leaf operations spend the cooperative budget). Futures run
 * on the thread that polls them; a stream is used by one task per
 * direction at a time.
 */
#ifndef WEFT_IO_H
#define WEFT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "detail/copy.h"
#include "detail/io.h"
#include "future.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

struct weft_runtime;

/* ------------------------------------------------------------------------ */
/* Readiness                                                                 */
/* ------------------------------------------------------------------------ */

/** @defgroup readiness Readiness
 * @{ */
/** Readiness bits kept by each registration (set by the reactor). */
enum {
    WEFT_IO_READABLE = 1u << 0,     /**< a read may make progress */
    WEFT_IO_WRITABLE = 1u << 1,     /**< a write may make progress */
    WEFT_IO_READ_CLOSED = 1u << 2,  /**< the peer closed its write side (reads will see EOF) */
    WEFT_IO_WRITE_CLOSED = 1u << 3, /**< writing is no longer possible (hang-up) */
    WEFT_IO_ERROR = 1u << 4,        /**< an error is pending on the descriptor */
};

/** Directions a task can wait for. */
typedef enum weft_interest {
    WEFT_INTEREST_READ = 1,
    WEFT_INTEREST_WRITE = 2,
} weft_interest;

/**
 * A readiness observation: the bits seen and the registration's tick at that
 * moment. Pass it back to clear the readiness after an operation returned
 * EAGAIN: the clear takes effect only if no new event arrived since (the
 * tick is unchanged), so readiness that arrives between a failed operation
 * and the clear is never lost.
 */
typedef struct weft_io_ready {
    uint32_t ready; /**< WEFT_IO_* bits */
    uint32_t tick;  /**< the registration's event count when it was seen */
} weft_io_ready;

/** @} */

/* ------------------------------------------------------------------------ */
/* The stream interface                                                      */
/* ------------------------------------------------------------------------ */

/** @defgroup stream Byte streams: the interface
 * @{ */
typedef struct weft_stream weft_stream;

/** weft_stream_vtable.flags */
enum {
    /** Reads and writes may run at once from two threads without a lock
     *  (separate waker slots per direction); split then needs no lock. */
    WEFT_STREAM_SPLIT_SAFE = 1u << 0,
};

/**
 * The operations of a byte stream. Each poll function follows the contract
 * at the top of this file; none blocks. `poll_readv`/`poll_writev` may be
 * NULL (callers then use the first non-empty buffer). A read-only stream's
 * poll_write returns READY with -EBADF, and vice versa.
 */
typedef struct weft_stream_vtable {
    const char *name; /**< the stream type's name, for messages */
    uint32_t flags;   /**< WEFT_STREAM_* */
    /** Reads at most `len` bytes into `buf`, as the contract above says. */
    weft_poll (*poll_read)(weft_stream *s, weft_context *cx, void *buf, size_t len, ssize_t *res);
    /** Scatter read; may be NULL. */
    weft_poll (*poll_readv)(weft_stream *s, weft_context *cx, const struct iovec *iov, int iovcnt,
                            ssize_t *res);
    /** Writes at most `len` bytes from `buf`, as the contract above says. */
    weft_poll (*poll_write)(weft_stream *s, weft_context *cx, const void *buf, size_t len,
                            ssize_t *res);
    /** Gather write; may be NULL. */
    weft_poll (*poll_writev)(weft_stream *s, weft_context *cx, const struct iovec *iov, int iovcnt,
                             ssize_t *res);
    /** Pushes buffered bytes down to the OS; *res = 0 or -errno. */
    weft_poll (*poll_flush)(weft_stream *s, weft_context *cx, int *res);
    /** Flushes, then shuts the write direction down; *res = 0 or -errno. */
    weft_poll (*poll_shutdown)(weft_stream *s, weft_context *cx, int *res);
} weft_stream_vtable;

/** The header of every byte stream: embed it first (TCP and Unix streams,
 *  buffered readers and writers, split halves all start with one). */
struct weft_stream {
    const weft_stream_vtable *vt; /**< @private */
};

/** Calls the stream's poll_read. Runtime thread; see the contract above. */
static inline weft_poll weft_stream_poll_read(weft_stream *s, weft_context *cx, void *buf,
                                              size_t len, ssize_t *res) {
    return s->vt->poll_read(s, cx, buf, len, res);
}
/** Calls the stream's poll_write. Runtime thread; see the contract above. */
static inline weft_poll weft_stream_poll_write(weft_stream *s, weft_context *cx, const void *buf,
                                               size_t len, ssize_t *res) {
    return s->vt->poll_write(s, cx, buf, len, res);
}
/** Calls the stream's poll_readv (or poll_read on the first non-empty
 *  buffer); -EINVAL for a NULL stream, -EBADF for one with no vtable.
 *  Runtime thread. */
WEFT_API weft_poll weft_stream_poll_readv(weft_stream *s, weft_context *cx, const struct iovec *iov,
                                          int iovcnt, ssize_t *res);
/** Calls the stream's poll_writev (or poll_write on the first non-empty
 *  buffer), with the same checks. Runtime thread. */
WEFT_API weft_poll weft_stream_poll_writev(weft_stream *s, weft_context *cx,
                                           const struct iovec *iov, int iovcnt, ssize_t *res);

/** @} */

/* ------------------------------------------------------------------------ */
/* Futures over any stream                                                   */
/* ------------------------------------------------------------------------ */

/** @defgroup stream_futures Reading and writing any stream
 * @{ */
/**
 * Reads at most `len` bytes. Output `result`: bytes read (> 0), 0 at end of
 * stream (or when len is 0), or -errno (-ECONNRESET, -ESHUTDOWN when the
 * runtime was destroyed, -EBADF for an empty stream, ...). Cancel-safe.
 * `polls` counts its polls. Polled on a runtime thread.
 */
typedef struct weft_read {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *s; /**< @private */
    void *buf; /**< @private */
    size_t len; /**< @private */
    ssize_t result; /**< output */
    uint32_t polls; /**< how many times it was polled (observability) */
} weft_read;

/** Initialises a read of `len` bytes into `buf` from `s` (no work; -EINVAL
 *  at the first poll if `s` is NULL). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_read_init(weft_read *f, weft_stream *s, void *buf, size_t len);

/** Scatter read: like weft_read over `iov` (which must outlive the future). */
typedef struct weft_readv {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *s; /**< @private */
    const struct iovec *iov; /**< @private */
    int iovcnt; /**< @private */
    ssize_t result; /**< output: bytes, 0 at EOF, or -errno */
} weft_readv;

/** Initialises a scatter read (no work). Returns `&f->base`. Cancel-safe.
 *  Any thread; poll it on a runtime thread. */
WEFT_API weft_future *weft_readv_init(weft_readv *f, weft_stream *s, const struct iovec *iov,
                                      int iovcnt);

/**
 * Reads exactly `len` bytes. Output `result`: 0, -ENODATA if the stream
 * ended first, or -errno; `done` is the number of bytes stored in `buf`.
 * Dropping it loses no data from the stream, but the `done` bytes already
 * read are in `buf`, not in the stream.
 */
typedef struct weft_read_exact {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *s; /**< @private */
    unsigned char *buf; /**< @private */
    size_t len; /**< @private */
    size_t done;    /**< bytes read so far */
    int result;     /**< output */
} weft_read_exact;

/** Initialises a read_exact (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_read_exact_init(weft_read_exact *f, weft_stream *s, void *buf,
                                           size_t len);

/**
 * Writes at most `len` bytes. Output `result`: bytes written (> 0 when
 * len > 0) or -errno (-EPIPE, -ECONNRESET, ...). Never raises SIGPIPE.
 * Cancel-safe.
 */
typedef struct weft_write {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *s; /**< @private */
    const void *buf; /**< @private */
    size_t len; /**< @private */
    ssize_t result; /**< output */
} weft_write;

/** Initialises a write (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_write_init(weft_write *f, weft_stream *s, const void *buf, size_t len);

/** Gather write: like weft_write over `iov` (which must outlive the future). */
typedef struct weft_writev {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *s; /**< @private */
    const struct iovec *iov; /**< @private */
    int iovcnt; /**< @private */
    ssize_t result; /**< output: bytes written or -errno */
} weft_writev;

/** Initialises a gather write (no work). Returns `&f->base`. Cancel-safe.
 *  Any thread. */
WEFT_API weft_future *weft_writev_init(weft_writev *f, weft_stream *s, const struct iovec *iov,
                                       int iovcnt);

/**
 * Writes all `len` bytes. Output `result`: 0 or -errno; `done` counts bytes
 * written (all of them on success). Dropping it stops after `done` bytes.
 */
typedef struct weft_write_all {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *s; /**< @private */
    const unsigned char *buf; /**< @private */
    size_t len; /**< @private */
    size_t done;   /**< bytes written so far */
    int result;    /**< output */
} weft_write_all;

/** Initialises a write_all (no work). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_write_all_init(weft_write_all *f, weft_stream *s, const void *buf,
                                          size_t len);

/** Flush or shutdown of a stream. Output `result`: 0 or -errno. Cancel-safe. */
typedef struct weft_flush {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *s; /**< @private */
    bool shutdown; /**< @private */
    int result; /**< output */
} weft_flush;

/** Initialises a flush (pushes buffered bytes to the OS; no work yet).
 *  Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_flush_init(weft_flush *f, weft_stream *s);
/** Initialises a shutdown: flush, then close the write direction (the peer
 *  reads EOF; reading still works). Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_shutdown_init(weft_flush *f, weft_stream *s);

/**
 * Copies from `r` to `w` until `r` ends, then flushes `w` (it does not shut
 * `w` down). Output `result`: 0 or -errno; `total`: bytes copied (written to
 * `w`). Buffered writers are flushed whenever `r` has nothing to read, so
 * nothing sits in a buffer while the copy waits. Dropping it may lose the
 * bytes read from `r` but not yet written (at most the buffer's size).
 */
typedef struct weft_copy {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *r; /**< @private */
    weft_stream *w; /**< @private */
    unsigned char *buf; /**< @private */
    size_t cap; /**< @private */
    size_t pos; /**< @private */
    size_t end; /**< @private */
    uint64_t total;   /**< output: bytes copied */
    int result;       /**< output */
    bool owned; /**< @private */
    bool read_done; /**< @private */
    bool need_flush; /**< @private */
} weft_copy;

/**
 * Initialises a copy through `buf` of `cap` bytes, or, if `buf` is NULL, an
 * 8 KiB buffer allocated at the first poll and freed when the copy ends or
 * is dropped (-ENOMEM if that fails). Returns `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_copy_init(weft_copy *f, weft_stream *r, weft_stream *w, void *buf,
                                     size_t cap);

/** @} */

/* ------------------------------------------------------------------------ */
/* Copying both ways                                                         */
/* ------------------------------------------------------------------------ */

/** @defgroup copy_bidirectional Copying both ways (proxies)
 * @{ */

/** A direction of weft_copy_bidirectional, as its activity hook is told. */
typedef enum weft_copy_direction {
    WEFT_COPY_A_TO_B = 0, /**< bytes read from `a`, written to `b` */
    WEFT_COPY_B_TO_A = 1, /**< bytes read from `b`, written to `a` */
} weft_copy_direction;

/** Options of weft_copy_bidirectional. Zero-initialised (or a NULL pointer) means defaults. */
typedef struct weft_copy_bidirectional_options {
    /** Bytes of buffer for each direction (both are allocated together at
     *  the first poll); 0: 8 KiB. */
    size_t buf_size;
    /**
     * 0: no limit. Otherwise the copy ends with -ETIMEDOUT once no byte has
     * been read or written, either way, for this many milliseconds: a proxy
     * drops a connection nobody uses without a watchdog task. The timer is
     * moved only when it fires (one timer per idle period, not one per
     * read).
     */
    uint64_t idle_timeout_ms;
    /**
     * Called after bytes were written, with the direction and their count
     * (metering, a last-seen time in a connection table). NULL: none. It runs
     * inside the copy's poll, on the polling thread: it must not block and
     * must not touch the copy or its streams.
     */
    void (*on_activity)(void *arg, weft_copy_direction dir, size_t bytes);
    /** The first argument of on_activity. */
    void *activity_arg;
} weft_copy_bidirectional_options;

/**
 * Copies `a` to `b` and `b` to `a` at once, until both directions have
 * ended (Tokio's copy_bidirectional). When one side says end of stream,
 * the copy writes out what it still holds for the other side, flushes and
 * shuts that side's write direction down (weft_shutdown_init: the peer
 * reads EOF), and goes on copying the other direction until it ends too:
 * half-closes travel through, both ways.
 *
 * Output `result`: 0 when both directions ended; the first error of either
 * side otherwise (-ECONNRESET, -EPIPE, ...: the copy stops there, with
 * both directions), -ETIMEDOUT after the idle timeout, -ENOMEM (no
 * buffer), -EINVAL (a NULL stream). `a_to_b` and `b_to_a` count the bytes
 * written to `b` and to `a`; they are valid at any time, also after an
 * error or a drop.
 *
 * Buffered writers are flushed whenever their source has nothing to read,
 * so nothing waits in a buffer while the copy does. Not cancel-safe for
 * the bytes in flight: dropping it loses what was read and not yet
 * written (at most buf_size per direction); the counts say how far each
 * direction got. The streams are the caller's: close them after. One
 * allocation (both buffers), made at the first poll and freed when it
 * completes or is dropped. Poll it on a runtime thread (the idle timer
 * needs one); `a` and `b` must each be read and written by this copy
 * alone while it runs.
 */
typedef struct weft_copy_bidirectional {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *a; /**< @private */
    weft_stream *b; /**< @private */
    weft_copy_half ab; /**< @private */
    weft_copy_half ba; /**< @private */
    size_t cap; /**< @private */
    weft_copy_bidirectional_options opts; /**< @private */
    uint64_t last_ms; /**< @private the last activity (weft_clock_ms) */
    weft_sleep idle; /**< @private */
    bool timer_armed; /**< @private */
    uint64_t a_to_b; /**< output: bytes written to `b` */
    uint64_t b_to_a; /**< output: bytes written to `a` */
    int result; /**< output: 0 or -errno */
} weft_copy_bidirectional;

/**
 * Initialises a copy between `a` and `b` with `opts` (copied; may be NULL).
 * Does no work. Returns `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_copy_bidirectional_init(weft_copy_bidirectional *f, weft_stream *a,
                                                   weft_stream *b,
                                                   const weft_copy_bidirectional_options *opts);

/** @} */

/* ------------------------------------------------------------------------ */
/* Sending a file                                                            */
/* ------------------------------------------------------------------------ */

/** @defgroup sendfile Sending a file to a stream (zero copy)
 * @{ */

/** weft_sendfile's `count` for "up to the end of the file". */
#define WEFT_SENDFILE_TO_END UINT64_MAX

/**
 * Sends `count` bytes of the descriptor `fd`, from `offset`, to the stream
 * `s`. When `s` is a TCP or Unix stream (or the write half of one) the
 * kernel moves the bytes itself (sendfile(2): no copy through user
 * memory); otherwise — any other stream (a buffered writer, a future TLS
 * stream), or a descriptor sendfile refuses — it reads the range with
 * pread(2) into a 64 KiB buffer and writes it to the stream. `fd` is read
 * at explicit offsets: its file position does not move, and any number of
 * sends may share one descriptor.
 *
 * Output `result`: 0 when `count` bytes were sent (or the end of the file
 * was reached, with WEFT_SENDFILE_TO_END); -ENODATA if the file ended
 * first; -EPIPE, -ECONNRESET, ... from the stream; -ESPIPE if `fd` cannot
 * be read at an offset (a pipe, a socket); -EBADF, -EINVAL (a NULL
 * stream, a negative offset), -ENOMEM (no buffer for the fallback). `done`
 * counts the bytes the stream accepted — also after an error or a drop —
 * and `zero_copy` says whether the kernel path carried them.
 *
 * Cancel-safe in the sense of write_all: dropping it stops after `done`
 * bytes, which the stream has; nothing else was taken. To go on, send
 * again from offset + done. The file's pages are read on the polling
 * thread (by the kernel, or by pread): data that is not in the page cache
 * holds that thread while the disk reads it, as any file read does.
 * Runtime thread; the stream is written by this future alone while it
 * runs.
 */
typedef struct weft_sendfile {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_stream *s; /**< @private */
    int fd; /**< @private */
    int64_t offset; /**< @private */
    uint64_t count; /**< @private */
    unsigned char *buf; /**< @private the fallback's buffer */
    size_t pos; /**< @private */
    size_t end; /**< @private */
    bool fallback; /**< @private */
    bool started; /**< @private */
    bool zero_copy; /**< output: the kernel path carried every byte sent (false once the fallback carried one) */
    uint64_t done; /**< output: bytes the stream accepted */
    int result; /**< output: 0 or -errno */
} weft_sendfile;

/**
 * Initialises a send of `count` bytes (or WEFT_SENDFILE_TO_END) of `fd`
 * from `offset` to `s`. `fd` stays the caller's, open for as long as the
 * future runs. Does no work. Returns `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_sendfile_init(weft_sendfile *f, weft_stream *s, int fd, int64_t offset,
                                         uint64_t count);

/** @} */

/* ------------------------------------------------------------------------ */
/* Buffered reader and writer                                                */
/* ------------------------------------------------------------------------ */

/** @defgroup bufio Buffered reader and writer
 * @{ */
/**
 * A buffered reader over `inner`. It is itself a weft_stream: reads come
 * from its buffer, writes go straight to `inner`. Owned by one task at a
 * time; `inner` must outlive it. After weft_bufreader_destroy every
 * operation on it returns -EBADF.
 */
typedef struct weft_bufreader {
    weft_stream stream; /**< the byte-stream interface: pass `&s->stream` to any stream function */
    weft_stream *inner; /**< @private */
    unsigned char *buf; /**< @private */
    size_t cap; /**< @private */
    size_t pos; /**< @private */
    size_t end; /**< @private */
    bool owned; /**< @private */
} weft_bufreader;

/**
 * Initialises `b` over `inner` with the buffer `buf` of `cap` bytes, or, if
 * `buf` is NULL, an allocated one of `cap` bytes (8 KiB if cap is 0).
 * Returns 0 or -ENOMEM / -EINVAL (then `b` is empty). Any thread.
 */
WEFT_API int weft_bufreader_init(weft_bufreader *b, weft_stream *inner, void *buf, size_t cap);
/**
 * Releases the buffer if it was allocated (buffered bytes are discarded)
 * and empties `b`: later operations on it return -EBADF, and destroying it
 * again does nothing. It does not close `inner`. No future may be using
 * it. Any thread.
 */
WEFT_API void weft_bufreader_destroy(weft_bufreader *b);
/** Bytes buffered and not yet read (0 once destroyed). Any thread. */
static inline size_t weft_bufreader_buffered(const weft_bufreader *b) { return b->end - b->pos; }

/**
 * Reads up to and including the byte `delim` into `out` (at most `cap`
 * bytes). Output: `result` = bytes stored (0 at end of stream with nothing
 * left) or -errno; `found` = whether the last byte stored is `delim`. When
 * neither `delim` nor the end comes within min(cap, buffer size) bytes, that
 * many bytes are stored with found == false (call again for the rest).
 * Cancel-safe: bytes leave the reader's buffer only when it completes.
 */
typedef struct weft_read_until {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_bufreader *b; /**< @private */
    unsigned char *out; /**< @private */
    size_t cap; /**< @private */
    int delim; /**< @private */
    bool nul;      /**< @private read_line: NUL-terminate */
    bool found;    /**< output */
    ssize_t result; /**< output */
} weft_read_until;

/** Initialises a read_until (-EBADF at the first poll if `b` is destroyed).
 *  Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_read_until_init(weft_read_until *f, weft_bufreader *b, int delim,
                                           void *out, size_t cap);
/**
 * Initialises a read_line: read_until '\n' storing at most cap-1 bytes and a
 * terminating NUL (`result` excludes the NUL; the '\n' is kept). cap >= 2.
 * Returns `&f->base`. Cancel-safe, as read_until. Any thread.
 */
WEFT_API weft_future *weft_read_line_init(weft_read_until *f, weft_bufreader *b, char *out,
                                          size_t cap);

/**
 * A buffered writer over `inner`: small writes gather in its buffer and
 * reach `inner` when it fills, on flush, or on shutdown. It is itself a
 * weft_stream (reads go straight to `inner`). Flush before destroying it,
 * or the buffered bytes are lost. After weft_bufwriter_destroy every
 * operation on it returns -EBADF.
 */
typedef struct weft_bufwriter {
    weft_stream stream; /**< the byte-stream interface: pass `&s->stream` to any stream function */
    weft_stream *inner; /**< @private */
    unsigned char *buf; /**< @private */
    size_t cap; /**< @private */
    size_t pos; /**< @private buf[pos..len) is waiting to be written */
    size_t len; /**< @private */
    bool owned; /**< @private */
} weft_bufwriter;

/** Initialises `b` like weft_bufreader_init. Returns 0, -ENOMEM or -EINVAL. Any thread. */
WEFT_API int weft_bufwriter_init(weft_bufwriter *b, weft_stream *inner, void *buf, size_t cap);
/**
 * Releases the buffer if it was allocated (unflushed bytes are discarded)
 * and empties `b`: later operations on it return -EBADF, and destroying it
 * again does nothing. It does not close `inner`. No future may be using
 * it. Any thread.
 */
WEFT_API void weft_bufwriter_destroy(weft_bufwriter *b);

/** @} */

/* ------------------------------------------------------------------------ */
/* split                                                                     */
/* ------------------------------------------------------------------------ */

/** @defgroup split Split halves
 * @{ */
struct weft__split_core;

/** One half of a split stream: a weft_stream that only reads or only writes. */
typedef struct weft_split_half {
    weft_stream stream; /**< the byte-stream interface: pass `&s->stream` to any stream function */
    weft_stream *inner; /**< @private */
    struct weft__split_core *core; /**< @private NULL when the inner stream is split-safe */
} weft_split_half;

/**
 * Splits `s` into a read half and a write half that two tasks may use at
 * once (each may run on any thread). Streams flagged WEFT_STREAM_SPLIT_SAFE
 * (TCP, Unix) are split without a lock or allocation; others get a small
 * shared lock held during each poll call. `s` must outlive both halves and
 * is still the owner (close it after closing both halves). Returns 0,
 * -ENOMEM, -EINVAL (a NULL argument) or -EBADF (a stream never opened;
 * the halves are then empty). For TCP
 * and Unix streams, weft_tcp_stream_into_split gives owned halves instead.
 * Any thread.
 */
WEFT_API int weft_stream_split(weft_stream *s, weft_split_half *rd, weft_split_half *wr);
/** Releases a half (the lock is freed with the second half); operations on
 *  it then return -EBADF, and closing it again does nothing. It does not
 *  close the inner stream. No future may be using it. Any thread. */
WEFT_API void weft_split_half_destroy(weft_split_half *h);

/** @} */

/* ------------------------------------------------------------------------ */
/* Registering any descriptor                                                */
/* ------------------------------------------------------------------------ */

/** @defgroup async_fd Async descriptors
 * @{ */
/** A descriptor registered with a runtime's reactor (like Tokio's AsyncFd).
 *  Zero-initialised, it is empty. */
typedef struct weft_async_fd {
    weft_io_handle io; /**< @private */
} weft_async_fd;

/**
 * Takes over `fd` (any pollable descriptor: pipe, eventfd, signalfd,
 * socket, tty...) and registers it with `rt` (NULL: the runtime of the
 * calling task), making it non-blocking and close-on-exec. Its readiness
 * starts as "maybe readable and writable": try the operation first and
 * wait only when it returns EAGAIN. Returns 0, -EBADF (not an open
 * descriptor), -EINVAL (no runtime), -EPERM (the descriptor cannot be
 * polled, e.g. a regular file), -ENOMEM or -ESHUTDOWN. On failure `fd` is
 * not closed and its flags are as they were. Any thread.
 */
WEFT_API int weft_async_fd_adopt(weft_async_fd *a, struct weft_runtime *rt, int fd);
/**
 * Deregisters and closes the descriptor; `a` is then empty (its operations
 * return -EBADF, closing it again does nothing). A readiness future still
 * waiting on it is woken and completes with -EBADF. Any thread, but not
 * while another thread is polling or dropping a future on `a`.
 */
WEFT_API void weft_async_fd_close(weft_async_fd *a);
/**
 * Deregisters the descriptor and returns it, still open (and still
 * non-blocking); `a` is then empty, as after close. -EBADF if `a` is
 * empty. Any thread, with the same rule as weft_async_fd_close.
 */
WEFT_API int weft_async_fd_into_fd(weft_async_fd *a);
/** The descriptor, or -EBADF if `a` is empty. Do not close it. Any thread. */
WEFT_API int weft_async_fd_fd(const weft_async_fd *a);

/**
 * Waits until the descriptor is ready for `interest`. Output: `result` 0,
 * -ESHUTDOWN (the runtime is gone) or -EBADF (`a` is empty or was closed
 * while waiting); `ready` the readiness seen. Readiness may be spurious:
 * after the operation you then try returns EAGAIN, call
 * weft_async_fd_clear_ready(&fd, &f.ready) and wait again. Any number of
 * tasks may wait on one descriptor at once; readiness wakes all of them.
 * Cancel-safe (dropping it leaves the descriptor's waiter list).
 */
typedef struct weft_async_fd_ready {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_async_fd *fd; /**< @private */
    weft_interest interest; /**< @private */
    weft_io_waiter wait; /**< @private private */
    weft_io_ready ready; /**< output */
    int result;          /**< output */
} weft_async_fd_ready;

/** Initialises a readiness wait (no work). Returns `&f->base`. Any thread;
 *  poll it on a runtime thread. */
WEFT_API weft_future *weft_async_fd_ready_init(weft_async_fd_ready *f, weft_async_fd *a,
                                               weft_interest interest);
/** Clears the readiness `r` was observed with, unless an event arrived
 *  since. Does nothing on an empty `a`. Any thread. */
WEFT_API void weft_async_fd_clear_ready(weft_async_fd *a, const weft_io_ready *r);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_IO_H */
