/**
 * @file
 * weft/frame.h — framing: messages over a byte stream (Tokio-util's
 * codec, FramedRead and FramedWrite). A codec says where a frame ends in
 * the bytes read and how a frame is written; a framed reader turns any
 * weft_stream into a sequence of frames, and a framed writer turns frames
 * into bytes.
 *
 *     weft_lines_codec lines;
 *     weft_lines_codec_init(&lines, 1024, 0);             // lines of at most 1 KiB
 *     weft_framed_reader rd;
 *     weft_framed_reader_init(&rd, &conn.stream, &lines.codec, 0);
 *     for (;;) {
 *         WEFT_AWAIT(weft_framed_read_init(&self->f, &rd));
 *         if (self->f.result <= 0) break;                 // 0: the peer closed; < 0: error
 *         handle(self->f.data, self->f.len);              // the line, without its "\n"
 *     }
 *
 * Built in: lines (LF or CRLF, a maximum length) and length-prefixed
 * frames (a 1, 2, 4 or 8-byte length, big or little endian, a maximum
 * size). Write your own codec by filling a weft_codec_vtable: a decoder
 * that looks at the buffered bytes and says "need more", "a frame of n
 * bytes" or an error, and an encoder that writes a frame into the
 * writer's buffer.
 *
 * The promises:
 *  - Nothing is lost. A read that is dropped loses nothing (the bytes stay
 *    in the reader's buffer for the next one). A write either accepts the
 *    whole frame into the writer's buffer (ready, result 0) or nothing;
 *    accepted bytes are written by the next write or flush, or stay
 *    counted by weft_framed_writer_buffered until they are.
 *  - A peer that vanishes in the middle of a frame is an error: the end of
 *    the stream inside a frame is -WEFT_ETRUNCATED, a reset -ECONNRESET;
 *    never a short frame. The end of the stream between frames is a clean
 *    end (result 0).
 *  - Frames longer than the codec's maximum are -EMSGSIZE, detected as
 *    soon as the bytes show it (a length prefix at once, a line once it
 *    has more than the maximum without its end), never after buffering
 *    an unbounded amount.
 *  - No allocation per frame: the reader's and the writer's buffers grow
 *    (doubling) to the largest frame seen and are reused.
 *
 * Threads: a reader is used by one task at a time, and so is a writer
 * (read with one task and write with another, over split halves or over
 * a TCP or Unix stream, which allow it). Codecs are immutable after init
 * and may be shared by any number of readers and writers on any threads.
 */
#ifndef WEFT_FRAME_H
#define WEFT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "future.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Codecs                                                                    */
/* ------------------------------------------------------------------------ */

/** @defgroup codec Codecs: where frames begin and end
 * @{ */

typedef struct weft_codec weft_codec;

/** What a decoder found (filled by weft_codec_vtable.decode). */
typedef struct weft_decoded {
    /** A frame: how many bytes it takes from the stream (its header,
     *  payload and terminator), at least 1. */
    size_t consumed;
    /** A frame: where its payload starts, counted from the first byte shown. */
    size_t frame_off;
    /** A frame: the payload's length (frame_off + frame_len <= consumed). */
    size_t frame_len;
    /** More bytes needed: the total number of bytes the decoder needs to see,
     *  if it knows (a length prefix tells it); 0 if it does not. The reader
     *  grows its buffer to it at once. */
    size_t need;
} weft_decoded;

/**
 * The operations of a codec. A codec that only decodes (or only encodes)
 * may leave the other side's functions NULL; a reader or writer refuses it
 * at init with -EINVAL.
 */
typedef struct weft_codec_vtable {
    /** The codec's name, for messages. */
    const char *name;
    /**
     * Looks at `buf[0..len)`, the bytes the reader holds; the first one is
     * the first byte of the next frame. `seen` of them were shown before
     * without completing a frame (so a scan may resume there); `eof` says
     * the stream ended after them. Returns 1 for a frame (fill
     * `out->consumed`, `frame_off`, `frame_len`), 0 when more bytes are
     * needed (`out->need` may say how many in all), or a negative error
     * (-EMSGSIZE for a frame over the maximum, -EPROTO for malformed
     * bytes, ...), which the reader reports and keeps. Returning 0 with
     * `eof` and bytes left makes the reader report -WEFT_ETRUNCATED. Must
     * not block, allocate or keep `buf`.
     */
    int (*decode)(const weft_codec *c, const unsigned char *buf, size_t len, size_t seen, bool eof,
                  weft_decoded *out);
    /** The most bytes the frame of a `len`-byte payload takes, or a
     *  negative error if this codec cannot carry it (-EMSGSIZE). */
    ssize_t (*encoded_max)(const weft_codec *c, const void *payload, size_t len);
    /** Writes the frame of the payload into `dst`, which has room for
     *  encoded_max bytes. Returns the bytes written (at most encoded_max),
     *  or a negative error (nothing is then accepted). */
    ssize_t (*encode)(const weft_codec *c, const void *payload, size_t len, unsigned char *dst);
} weft_codec_vtable;

/** The header of every codec: embed it first in your codec's struct and
 *  point it at your vtable (or use a built-in codec's init). */
struct weft_codec {
    const weft_codec_vtable *vt; /**< the codec's operations */
};

/** weft_lines_codec flags. */
enum {
    /** Write lines ending in "\r\n" (reading always accepts "\n" and "\r\n"). */
    WEFT_LINES_CRLF = 1u << 0,
    /** At the end of the stream, a last line without its "\n" is a line
     *  (otherwise it is -WEFT_ETRUNCATED). */
    WEFT_LINES_FINAL_UNTERMINATED = 1u << 1,
};

/**
 * Lines: a frame is the bytes before a "\n", without the "\n" and without
 * a "\r" just before it. A line longer than `max_len` (not counting its
 * ending) is -EMSGSIZE, reported as soon as more than `max_len` bytes have
 * come without an ending. Encoding a payload that contains "\n" is
 * -EINVAL, and one longer than `max_len` -EMSGSIZE.
 */
typedef struct weft_lines_codec {
    weft_codec codec; /**< the codec interface: pass `&c->codec` */
    size_t max_len;   /**< @private */
    uint32_t flags;   /**< @private */
} weft_lines_codec;

/** Initialises a lines codec: `max_len` >= 1, `flags` a set of WEFT_LINES_*.
 *  Returns 0, or -EINVAL (the codec is then unusable: readers and writers
 *  refuse it). Any thread. */
WEFT_API int weft_lines_codec_init(weft_lines_codec *c, size_t max_len, uint32_t flags);

/** The byte order of a length prefix. */
typedef enum weft_byte_order {
    WEFT_BIG_ENDIAN = 0,    /**< most significant byte first (network order) */
    WEFT_LITTLE_ENDIAN = 1, /**< least significant byte first */
} weft_byte_order;

/**
 * Length-prefixed frames: a `width`-byte unsigned length (1, 2, 4 or 8
 * bytes, in `order`) followed by that many bytes of payload. A length over
 * `max_frame` is -EMSGSIZE as soon as the prefix is read (nothing of the
 * payload is buffered). Encoding a longer payload is -EMSGSIZE.
 */
typedef struct weft_length_codec {
    weft_codec codec;      /**< the codec interface: pass `&c->codec` */
    uint64_t max_frame;    /**< @private */
    uint8_t width;         /**< @private */
    weft_byte_order order; /**< @private */
} weft_length_codec;

/**
 * Initialises a length codec. `max_frame` >= 1 is the largest payload
 * accepted (capped at what `width` bytes can say). Returns 0, or -EINVAL
 * for another width or byte order, or a max_frame of 0 (the codec is then
 * unusable). Any thread.
 */
WEFT_API int weft_length_codec_init(weft_length_codec *c, unsigned width, weft_byte_order order,
                                    uint64_t max_frame);

/** @} */

/* ------------------------------------------------------------------------ */
/* Framed reader                                                             */
/* ------------------------------------------------------------------------ */

/** @defgroup framed_reader Framed reader
 * @{ */

/**
 * Reads frames from a stream with a codec. It lives in your memory:
 * `_init` it, read frames with weft_framed_read, `_destroy` it. After
 * destroy (or a failed init) every read returns -EBADF.
 */
typedef struct weft_framed_reader {
    weft_stream *s; /**< @private */
    const weft_codec *codec; /**< @private */
    unsigned char *buf; /**< @private */
    size_t cap; /**< @private */
    size_t pos; /**< @private */
    size_t end; /**< @private */
    size_t seen; /**< @private */
    size_t max_buffer; /**< @private */
    int error; /**< @private a decoding error, kept */
    bool eof; /**< @private */
    bool decoded_eof; /**< @private */
} weft_framed_reader;

/**
 * Initialises `r` to read frames from `s` with `codec` (both must outlive
 * it). `max_buffer` caps the reader's buffer (0: no cap of its own — the
 * built-in codecs' maxima bound it; give one for a decoder of your own
 * that has no maximum). Nothing is allocated until the first read. Returns
 * 0, or -EINVAL (a NULL argument, or a codec without a decoder; `r` is then
 * empty). Any thread.
 */
WEFT_API int weft_framed_reader_init(weft_framed_reader *r, weft_stream *s, const weft_codec *codec,
                                     size_t max_buffer);

/** Frees the buffer (bytes not yet returned as frames are discarded) and
 *  empties `r`; destroying it again does nothing. No read may be pending.
 *  It does not close the stream. Any thread. */
WEFT_API void weft_framed_reader_destroy(weft_framed_reader *r);

/** Bytes read from the stream and not yet returned in frames. Any thread
 *  (while no read runs). */
WEFT_API size_t weft_framed_reader_buffered(const weft_framed_reader *r);

/**
 * Reads the next frame. Output `result`:
 *   1  a frame: `data` and `len` are its payload, inside the reader's
 *      buffer: valid until the next read on this reader is polled, or the
 *      reader is destroyed (copy what you keep);
 *   0  the stream ended between two frames (a clean end);
 *   -WEFT_ETRUNCATED  the stream ended inside a frame;
 *   -EMSGSIZE  a frame over the codec's maximum (or over max_buffer);
 *   the decoder's own errors; -ENOMEM (the buffer could not grow);
 *   the stream's errors (-ECONNRESET, -EBADF, ...).
 * A decoding error (EMSGSIZE, ETRUNCATED, the codec's) is kept: every
 * later read returns it. The stream's errors are not kept.
 * Cancel-safe: a read dropped before it is ready loses nothing; the bytes
 * it read stay buffered for the next read. Bytes that arrive together are
 * split into frames without further system calls. Runtime thread.
 */
typedef struct weft_framed_read {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_framed_reader *r; /**< @private */
    const unsigned char *data; /**< output: the frame's payload (see above) */
    size_t len; /**< output: its length */
    int result; /**< output: 1, 0 or a negative error */
} weft_framed_read;

/** Initialises a read of the next frame of `r`. Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_framed_read_init(weft_framed_read *f, weft_framed_reader *r);

/** @} */

/* ------------------------------------------------------------------------ */
/* Framed writer                                                             */
/* ------------------------------------------------------------------------ */

/** @defgroup framed_writer Framed writer
 * @{ */

/**
 * Writes frames to a stream with a codec, through a buffer: a write
 * encodes the frame into the buffer, and writes buffered bytes to the
 * stream first only when the buffer is over its high-water mark; a flush
 * writes everything and flushes the stream. After destroy (or a failed
 * init) every operation returns -EBADF.
 */
typedef struct weft_framed_writer {
    weft_stream *s; /**< @private */
    const weft_codec *codec; /**< @private */
    unsigned char *buf; /**< @private */
    size_t cap; /**< @private */
    size_t pos; /**< @private buf[pos..len) is waiting to be written */
    size_t len; /**< @private */
    size_t high_water; /**< @private */
} weft_framed_writer;

/**
 * Initialises `w` to write frames to `s` with `codec` (both must outlive
 * it). `high_water` (0: 8 KiB) is how many bytes may wait in the buffer
 * before a write first writes them out. Nothing is allocated until the
 * first write. Returns 0, or -EINVAL (a NULL argument, or a codec without
 * an encoder; `w` is then empty). Any thread.
 */
WEFT_API int weft_framed_writer_init(weft_framed_writer *w, weft_stream *s, const weft_codec *codec,
                                     size_t high_water);

/** Frees the buffer and empties `w`; destroying it again does nothing.
 *  Bytes still buffered are discarded: flush first, or read their count
 *  with weft_framed_writer_buffered. No future may be using `w`. It does
 *  not close the stream. Any thread. */
WEFT_API void weft_framed_writer_destroy(weft_framed_writer *w);

/** Bytes accepted (in frames) and not yet written to the stream. Any
 *  thread (while no write or flush runs). */
WEFT_API size_t weft_framed_writer_buffered(const weft_framed_writer *w);

/**
 * Writes one frame: ready with `result` 0 once the whole frame is in the
 * writer's buffer (accepted: it reaches the stream with a later write or
 * flush). If the buffer holds more than the high-water mark it first
 * writes buffered bytes to the stream (waiting for room there). Errors:
 * the codec's (-EMSGSIZE, -EINVAL), the stream's while making room
 * (-EPIPE, -ECONNRESET, ...), -ENOMEM, -EBADF; on error nothing of this
 * frame was accepted. Cancel-safe: a write dropped before it is ready
 * accepted nothing (bytes it wrote out were older frames, which are
 * done). `payload` is read only during the ready poll. Runtime thread.
 */
typedef struct weft_framed_write {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_framed_writer *w; /**< @private */
    const void *payload; /**< @private */
    size_t len; /**< @private */
    bool flush; /**< @private send: flush after accepting */
    bool accepted; /**< output: the frame is in the writer (send: even if the flush failed or was dropped) */
    int result; /**< output: 0 or a negative error */
} weft_framed_write;

/** Initialises a write of the frame `payload[0..len)` (which must stay
 *  valid until the future is ready or dropped). Does no work. Returns
 *  `&f->base`. Any thread. */
WEFT_API weft_future *weft_framed_write_init(weft_framed_write *f, weft_framed_writer *w,
                                             const void *payload, size_t len);

/**
 * Initialises a send: a write of the frame, then a flush (the frame and
 * everything before it reaches the stream). `result` 0 when flushed. If
 * the write part fails nothing was accepted (`accepted` false); if the
 * flush part fails or the future is dropped after `accepted` became true,
 * the frame is in the writer and goes out with the next write or flush —
 * it is not lost, and weft_framed_writer_buffered counts it. Returns
 * `&f->base`. Any thread.
 */
WEFT_API weft_future *weft_framed_send_init(weft_framed_write *f, weft_framed_writer *w,
                                            const void *payload, size_t len);

/**
 * Writes every buffered byte to the stream, then flushes the stream.
 * Output `result`: 0, or the stream's error (the bytes not written stay
 * buffered, counted by weft_framed_writer_buffered, for a later flush).
 * Cancel-safe: a flush dropped early leaves the unwritten bytes buffered.
 * Runtime thread.
 */
typedef struct weft_framed_flush {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_framed_writer *w; /**< @private */
    int result; /**< output: 0 or a negative error */
} weft_framed_flush;

/** Initialises a flush of `w`. Does no work. Returns `&f->base`. Any thread. */
WEFT_API weft_future *weft_framed_flush_init(weft_framed_flush *f, weft_framed_writer *w);

/** @} */

/* ------------------------------------------------------------------------ */
/* Blocking-style calls for fibers                                           */
/* ------------------------------------------------------------------------ */

/** @defgroup frame_fiber Framing from fibers
 * Blocking-style calls for fibers (weft/fiber.h): each is weft_await over
 * the future of the same name, so it suspends the fiber, never the thread.
 * Each returns what the future's `result` says, or -ECANCELED (the fiber
 * was cancelled: the future was dropped, with the cancel-safety it
 * documents: a dropped read loses no byte, a dropped write accepted
 * nothing, a dropped flush leaves the unwritten bytes buffered) or -EPERM
 * (not called from a fiber). Fiber only.
 * @{ */

/**
 * Reads the next frame of `r` (weft_framed_read): 1 with the payload in
 * `*data` and `*len` (inside the reader's buffer, valid until the next read
 * of `r`), 0 at a clean end of the stream, -WEFT_ETRUNCATED, -EMSGSIZE, the
 * codec's or the stream's error. `*data` and `*len` are written only when
 * it returns 1.
 */
WEFT_API int weft_fiber_framed_read(weft_framed_reader *r, const unsigned char **data, size_t *len);

/** Writes one frame into the writer (weft_framed_write; it reaches the
 *  stream with a later write or flush): 0 once accepted, or an error with
 *  nothing of the frame accepted. */
WEFT_API int weft_fiber_framed_write(weft_framed_writer *w, const void *payload, size_t len);

/**
 * Writes one frame and flushes the writer (weft_framed_send_init): 0 once
 * the frame and everything before it reached the stream. `*accepted` (may
 * be NULL) says whether the frame is in the writer — also when the flush
 * failed or the fiber was cancelled during it: then the frame goes out
 * with the next write or flush (weft_framed_writer_buffered counts it).
 */
WEFT_API int weft_fiber_framed_send(weft_framed_writer *w, const void *payload, size_t len,
                                    bool *accepted);

/** Writes every buffered byte and flushes the stream (weft_framed_flush):
 *  0 or the stream's error (the bytes not written stay buffered). */
WEFT_API int weft_fiber_framed_flush(weft_framed_writer *w);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_FRAME_H */
