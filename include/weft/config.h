/*
 * weft/config.h — the macros every public header uses: symbol export,
 * branch hints, and WEFT_CHECKS, which selects the checks that inline code
 * in the headers performs (see docs/api.md, "Checks").
 */
#ifndef WEFT_CONFIG_H
#define WEFT_CONFIG_H


#ifndef WEFT_CHECKS
#ifdef NDEBUG
#define WEFT_CHECKS 0
#else
#define WEFT_CHECKS 1
#endif
#endif

#if defined(__GNUC__)
#define WEFT_API __attribute__((visibility("default")))
#define WEFT_LIKELY(x) __builtin_expect(!!(x), 1)
#define WEFT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define WEFT_API
#define WEFT_LIKELY(x) (x)
#define WEFT_UNLIKELY(x) (x)
#endif

#endif /* WEFT_CONFIG_H */
