/**
 * @file
 * weft/error.h — error values.
 *
 * Every weft function that can fail returns a negative number: -errno where
 * the operating system has the meaning (-ECONNRESET, -ETIMEDOUT, -EINVAL,
 * -ECANCELED, ...), or one of weft's own codes below, negated, where it
 * has none. weft's codes lie above every errno value, so the two never
 * collide, and weft_strerror names both.
 */
#ifndef WEFT_ERROR_H
#define WEFT_ERROR_H

#include <errno.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup errors Errors
 * @{ */

/** weft's own error codes (functions return them negated: -WEFT_ECLOSED). */
enum weft_error {
    WEFT_ERROR_FIRST = 10000,
    /** The other side of a channel is gone, or the primitive was closed. */
    WEFT_ECLOSED = WEFT_ERROR_FIRST,
    /** A broadcast receiver fell behind and missed messages. */
    WEFT_ELAGGED,
    /** A host name does not exist (the resolver answered "no such name"). */
    WEFT_ENOTFOUND,
    /** A host name exists but has no address of the family asked for. */
    WEFT_ENOADDRESS,
    /** A service name ("http") is not known. */
    WEFT_ENOSERVICE,
    /** The name servers could not be reached or did not answer; try again later. */
    WEFT_ERESOLVER_AGAIN,
    /** Name resolution failed for good (a server refused, a malformed answer). */
    WEFT_ERESOLVER_FAIL,
    /** There is nothing to wait for (an empty JoinSet). */
    WEFT_EEMPTY,
    /** The blocking pool could not start a thread, and none is running. */
    WEFT_ENOTHREAD,
    /** A stream ended in the middle of a frame (framed readers, weft/frame.h). */
    WEFT_ETRUNCATED,
    /** TLS: the peer's certificate did not verify (untrusted issuer,
     *  expired, not for this host name, ...). */
    WEFT_ETLS_VERIFY,
    /** TLS: the handshake failed (no common version, cipher suite or
     *  application protocol; a malformed handshake message). */
    WEFT_ETLS_HANDSHAKE,
    /** TLS: the peer aborted the connection with a fatal alert (it did not
     *  trust our certificate, say). */
    WEFT_ETLS_ALERT,
    /** TLS: the peer broke the protocol after the handshake (a malformed,
     *  unexpected or forged record). */
    WEFT_ETLS_PROTOCOL,
    /** TLS: the connection ended without close_notify, so the data may have
     *  been cut short. */
    WEFT_ETLS_TRUNCATED,
    /** TLS: a certificate, key, CA or cipher list was rejected. */
    WEFT_ETLS_CONFIG,
    WEFT_ERROR_LAST = WEFT_ETLS_CONFIG,
};

/**
 * The message for an error value returned by weft: a negative errno or a
 * negated weft code (a positive value is read as its negation). Never
 * NULL; the string is static. Any thread.
 */
WEFT_API const char *weft_strerror(int err);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_ERROR_H */
