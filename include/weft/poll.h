/**
 * @file
 * weft/poll.h — the result of polling a future.
 */
#ifndef WEFT_POLL_H
#define WEFT_POLL_H


#ifdef __cplusplus
extern "C" {
#endif

/** @addtogroup future
 * @{ */

/** The result of a poll. */
typedef enum weft_poll {
    WEFT_PENDING = 0, /**< not done; the future arranged to be woken */
    WEFT_READY = 1,   /**< done; the output fields are valid */
} weft_poll;

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_POLL_H */
