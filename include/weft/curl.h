/**
 * @file
 * weft/curl.h — libcurl's multi_socket interface driven by a weft runtime
 * (libweft-curl, pkg-config weft-curl, CMake weft::curl): every transfer
 * (a CURL easy handle you set up as usual) as a weft future.
 *
 *     weft_curl *m;
 *     weft_curl_create(&m, rt);                  // one per runtime is enough
 *     CURL *e = curl_easy_init();
 *     curl_easy_setopt(e, CURLOPT_URL, "http://127.0.0.1:8080/");
 *     curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
 *     ...
 *     WEFT_AWAIT(weft_curl_perform_init(&self->t, m, e));
 *     // self->t.result == 0: the transfer ran; self->t.code is its CURLcode,
 *     // self->t.status the HTTP response code
 *
 * How it works: a weft_curl owns a CURLM and one task on its runtime, the
 * driver. libcurl tells the driver which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION) and when to time out (CURLMOPT_TIMERFUNCTION);
 * the driver keeps the sockets in an epoll set of its own, which is
 * registered with the runtime's reactor as one descriptor, sleeps on a
 * weft timer for curl's timeout, calls curl_multi_socket_action for what
 * became ready and completes the futures of finished transfers. (An epoll
 * set of its own: libcurl opens and closes its sockets itself, and a
 * descriptor number it closed must never stay registered with the
 * reactor, where a new socket could get the same number.)
 *
 * Threads: a CURLM is not thread-safe. Each weft_curl has a lock, and
 * every call into its CURLM — the driver's, a transfer starting, a
 * transfer dropped — is made under it; the lock is held only for the
 * length of those calls (libcurl's multi calls do not block), so transfer
 * futures of any tasks on any thread may share one weft_curl. One per
 * runtime is the simple choice; several spread the work of many transfers
 * over several drivers (the lock is then per driver).
 *
 * The callbacks you set on an easy handle (write, read, header, progress,
 * ...) run on the driver's thread, inside its lock: they must not block,
 * nor start or drop a transfer of the same weft_curl.
 */
#ifndef WEFT_CURL_H
#define WEFT_CURL_H

#include <stdbool.h>

#include <curl/curl.h>

#include "future.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup curl HTTP and more (libcurl adapter)
 * @{ */

/** A libcurl multi handle driven by a weft runtime (opaque). */
typedef struct weft_curl weft_curl;

/**
 * Creates a multi handle driven by `rt` (spawns its driver task there).
 * Calls curl_global_init(CURL_GLOBAL_DEFAULT) the first time (libcurl
 * counts the calls; weft never calls curl_global_cleanup). Returns 0,
 * -EINVAL (NULL argument), -ENOMEM, -EMFILE or -ESHUTDOWN. Any thread
 * (one outside the runtime must hold a reference to it).
 */
WEFT_API int weft_curl_create(weft_curl **out, weft_runtime *rt);

/**
 * Destroys the handle: every transfer still running is removed from it
 * and its future completes with -EBADF; the driver then frees the CURLM
 * and ends. The easy handles stay yours. NULL does nothing. Any thread
 * (not from a callback of one of its transfers); never waits.
 */
WEFT_API void weft_curl_destroy(weft_curl *m);

/**
 * Sets a multi option (curl_multi_setopt: CURLMOPT_MAX_TOTAL_CONNECTIONS,
 * CURLMOPT_MAX_HOST_CONNECTIONS, CURLMOPT_PIPELINING, ...) under the
 * handle's lock. The socket and timer options are the driver's:
 * -EINVAL. Returns 0, -EINVAL or -EBADF (destroyed). Any thread.
 */
WEFT_API int weft_curl_setopt_long(weft_curl *m, CURLMoption opt, long value);

/** Transfers running now. Any thread; may be stale. */
WEFT_API int weft_curl_running(weft_curl *m);

/**
 * Performs the transfer set up on `easy`. Output: `result` 0 when libcurl
 * finished it — `code` is then its CURLcode (CURLE_OK, or why it failed:
 * CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, ...) and `status` the
 * protocol's response code (CURLINFO_RESPONSE_CODE, 0 if none) — or
 * -errno when it could not run: -EBADF (the weft_curl was destroyed),
 * -ESHUTDOWN (its runtime is gone), -EALREADY (`easy` is in another
 * transfer), -ENOMEM, -EINVAL.
 *
 * The transfer starts at the first poll. Cancel-safe in the sense that
 * matters for a transfer: dropping the future removes `easy` from the
 * multi handle at once (curl_multi_remove_handle, under the lock), so the
 * easy handle is yours again when the drop returns (reuse it or
 * curl_easy_cleanup it) and the weft_curl goes on with its other
 * transfers; what was already sent or received stays sent or received.
 * While it runs, the adapter uses the easy handle's CURLOPT_PRIVATE (it
 * gives yours back when the transfer ends). Polled on a runtime thread.
 */
typedef struct weft_curl_perform {
    weft_future base; /**< the future header: await or drop the future through `&f->base` */
    weft_curl *multi;                      /**< @private */
    CURL *easy;                            /**< @private */
    void *user_private;                    /**< @private */
    struct weft_curl_perform *prev;        /**< @private in the running list */
    struct weft_curl_perform *next;        /**< @private */
    bool started;                          /**< @private only the future's poll and drop touch it */
    bool added;                            /**< @private guarded by the weft_curl's lock */
    bool done;                             /**< @private */
    weft_waker waker;                      /**< @private */
    CURLcode code;                         /**< output: libcurl's result */
    long status;                           /**< output: the response code */
    int result;                            /**< output: 0, or -errno if it could not run */
} weft_curl_perform;

/** Initialises a transfer of `easy` on `m`. Does no work. Returns
 *  `&f->base`. Any thread. */
WEFT_API weft_future *weft_curl_perform_init(weft_curl_perform *f, weft_curl *m, CURL *easy);

/** Fiber-style transfer (weft/fiber.h): awaits weft_curl_perform and
 *  returns its `result` (with `*code` and `*status`, either may be NULL),
 *  or -ECANCELED (the fiber was cancelled: the transfer was removed) or
 *  -EPERM (not in a fiber). Fiber only. */
WEFT_API int weft_fiber_curl_perform(weft_curl *m, CURL *easy, CURLcode *code, long *status);

/** @} */

#ifdef __cplusplus
}
#endif
#endif /* WEFT_CURL_H */
