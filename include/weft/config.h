/**
 * @file
 * weft/config.h — the macros every public header uses: symbol export,
 * branch hints, and WEFT_CHECKS, which selects the checks that inline code
 * in the headers performs (see docs/api.md, "Checks").
 */
#ifndef WEFT_CONFIG_H
#define WEFT_CONFIG_H

/** @defgroup config Build configuration
 * @{ */


#ifndef WEFT_CHECKS
/**
 * 1 when the library's costly debug checks are compiled in (the default
 * without NDEBUG). It only affects how the library itself is built: the
 * inline code in the headers behaves the same either way.
 */
#ifdef NDEBUG
#define WEFT_CHECKS 0
#else
#define WEFT_CHECKS 1
#endif
#endif

/* weft needs GCC or Clang: the coroutines take label addresses (&&label)
 * and WEFT_SPAWN uses __typeof__. */
/** Marks a function exported from the shared library. */
#define WEFT_API __attribute__((visibility("default")))
/** Tells the compiler `x` is usually true. */
#define WEFT_LIKELY(x) __builtin_expect(!!(x), 1)
/** Tells the compiler `x` is usually false. */
#define WEFT_UNLIKELY(x) __builtin_expect(!!(x), 0)

/** @} */

#endif /* WEFT_CONFIG_H */
