/* The transfer future, and its fiber-style call. */
#include <errno.h>

#include "curl_internal.h"

static weft_poll perform_poll(weft_future *base, weft_context *cx) {
    weft_curl_perform *f = (weft_curl_perform *)base;
    weft_curl *m = f->multi;
    /* `started` is the future's own (added and done change under the
     * lock, from the driver too: they are read only under it). */
    if (!f->started) {
        if (!m || !f->easy) {
            f->result = -EINVAL;
            return WEFT_READY;
        }
        if (!weft_coop_spend(cx)) return WEFT_PENDING;
        int err = 0;
        pthread_mutex_lock(&m->lock);
        if (!m->multi || m->destroyed) {
            err = m->error ? m->error : -EBADF;
        } else {
            f->user_private = NULL;
            curl_easy_getinfo(f->easy, CURLINFO_PRIVATE, (char **)&f->user_private);
            curl_easy_setopt(f->easy, CURLOPT_PRIVATE, (void *)f);
            CURLMcode mc = curl_multi_add_handle(m->multi, f->easy);
            if (mc != CURLM_OK) {
                curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f->user_private);
                err = mc == CURLM_OUT_OF_MEMORY            ? -ENOMEM
                      : mc == CURLM_ADDED_ALREADY          ? -EALREADY
                      : mc == CURLM_BAD_EASY_HANDLE        ? -EALREADY /* in another multi */
                                                           : -EINVAL;
            } else {
                f->added = true;
                f->started = true;
                f->prev = NULL;
                f->next = m->head;
                if (m->head) m->head->prev = f;
                m->head = f;
                f->waker = weft_waker_clone(&cx->waker);
                atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
            }
        }
        pthread_mutex_unlock(&m->lock);
        if (err) {
            f->result = err;
            return WEFT_READY;
        }
        return WEFT_PENDING;
    }
    pthread_mutex_lock(&m->lock);
    bool done = f->done;
    if (!done) weft_waker_store(&f->waker, &cx->waker);
    pthread_mutex_unlock(&m->lock);
    if (!done) return WEFT_PENDING;
    weft__curl_unref(m);
    return WEFT_READY;
}

static void perform_drop(weft_future *base) {
    weft_curl_perform *f = (weft_curl_perform *)base;
    weft_curl *m = f->multi;
    if (!m || !f->started) return; /* never started */
    pthread_mutex_lock(&m->lock);
    if (f->added) weft__curl_detach(m, f);
    weft_waker w = weft_waker_take(&f->waker);
    pthread_mutex_unlock(&m->lock);
    weft_waker_drop(w);
    weft__curl_unref(m);
}

static const weft_future_vtable perform_vtable = {perform_poll, perform_drop, "weft_curl_perform"};

weft_future *weft_curl_perform_init(weft_curl_perform *f, weft_curl *m, CURL *easy) {
    weft_future_init(&f->base, &perform_vtable);
    f->multi = m;
    f->easy = easy;
    f->user_private = NULL;
    f->prev = f->next = NULL;
    f->started = false;
    f->added = false;
    f->done = false;
    f->waker = WEFT_WAKER_NONE;
    f->code = CURLE_OK;
    f->status = 0;
    f->result = 0;
    return &f->base;
}

int weft_fiber_curl_perform(weft_curl *m, CURL *easy, CURLcode *code, long *status) {
    weft_curl_perform f;
    int err = weft_await(weft_curl_perform_init(&f, m, easy));
    if (err < 0) return err;
    if (code) *code = f.code;
    if (status) *status = f.status;
    return f.result;
}
