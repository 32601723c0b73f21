/**
 * @file
 * weft/value.h — values that own memory.
 *
 * Task outputs, JoinSet outputs and channel messages are fixed-size values
 * that weft copies bytewise. A value that owns something (a heap pointer, a
 * descriptor) can be given a destructor where it is handed to weft; weft
 * then runs it exactly once for every value that nobody takes: an output
 * that is never joined, a message that is never received, a watch value
 * that is overwritten, a broadcast slot that is reused, and everything left
 * when the owner (task, set, channel) goes away. A value that somebody
 * takes is theirs: weft never runs the destructor on it.
 *
 * Where one value reaches several receivers (broadcast, watch), each
 * receiver gets a copy made by the clone function (bytewise if NULL); the
 * channel's own copy is destroyed when it is replaced or the channel goes.
 */
#ifndef WEFT_VALUE_H
#define WEFT_VALUE_H

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup values Values that own memory
 * @{ */

/** Destroys the value at `value` (releases what it owns; not the value's own bytes). */
typedef void (*weft_drop_fn)(void *value);

/** Makes `dst` (uninitialised, the value's size) an independent copy of `src`. */
typedef void (*weft_clone_fn)(void *dst, const void *src);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_VALUE_H */
