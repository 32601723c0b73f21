/*
 * The multi handle, libcurl's socket and timer callbacks, and the driver
 * task that calls curl_multi_socket_action.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "curl_internal.h"

/* ---- libcurl's callbacks (called inside curl_multi_*, lock held) ---------- */

static void wake_driver(weft_curl *m) {
    if (!m->in_driver) weft_waker_wake_by_ref(&m->driver);
}

/* Watch `s` for what curl wants, in the driver's own epoll set. A
 * non-NULL `socketp` marks a socket already in the set. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
    weft_curl *m = userp;
    if (what == CURL_POLL_REMOVE) {
        /* The socket may already be closed (then it left the set by itself). */
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, s, NULL);
        curl_multi_assign(m->multi, s, NULL);
        return 0;
    }
    struct epoll_event ev = {0};
    if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
    ev.data.fd = s;
    if (socketp) {
        epoll_ctl(m->epfd, EPOLL_CTL_MOD, s, &ev);
    } else if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, s, &ev) == 0 ||
               (errno == EEXIST && epoll_ctl(m->epfd, EPOLL_CTL_MOD, s, &ev) == 0)) {
        curl_multi_assign(m->multi, s, m);
    }
    wake_driver(m);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
    weft_curl *m = userp;
    if (timeout_ms < 0) {
        m->timer_set = false;
    } else {
        m->timer_set = true;
        m->timer_deadline = weft_clock_ms() + (uint64_t)timeout_ms;
        wake_driver(m);
    }
    return 0;
}

/* ---- transfers ------------------------------------------------------------ */

void weft__curl_detach(weft_curl *m, weft_curl_perform *f) {
    if (f->prev) f->prev->next = f->next;
    else m->head = f->next;
    if (f->next) f->next->prev = f->prev;
    f->prev = f->next = NULL;
    if (m->multi) curl_multi_remove_handle(m->multi, f->easy);
    curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f->user_private);
    f->added = false;
}

static void complete(weft_curl_perform *f) {
    f->done = true;
    weft_waker_wake(weft_waker_take(&f->waker));
}

void weft__curl_fail_all(weft_curl *m, int err) {
    while (m->head) {
        weft_curl_perform *f = m->head;
        weft__curl_detach(m, f);
        f->result = err;
        complete(f);
    }
}

/* Completes the transfers libcurl says are done. */
static void harvest(weft_curl *m) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        weft_curl_perform *f = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
        if (!f) continue;
        CURLcode code = msg->data.result; /* msg is invalid once the handle is removed */
        long status = 0;
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
        weft__curl_detach(m, f);
        f->code = code;
        f->status = status;
        f->result = 0;
        complete(f);
    }
}

/* ---- the driver ------------------------------------------------------------- */

typedef struct driver_task {
    weft_future base;
    weft_curl *m;
} driver_task;

/* Frees the CURLM (lock held): transfers still in it fail with `err`. */
static void shut(weft_curl *m, int err) {
    if (!m->error) m->error = err;
    weft__curl_fail_all(m, m->error);
    if (m->ready_active) weft_future_drop(&m->ready.base);
    if (m->sleep_active) weft_future_drop(&m->sleep.base);
    m->ready_active = m->sleep_active = false;
    if (m->multi) curl_multi_cleanup(m->multi);
    m->multi = NULL;
    weft_async_fd_close(&m->afd); /* closes epfd */
    m->epfd = -1;
    weft_waker_drop(weft_waker_take(&m->driver));
}

/* Runs socket actions for every socket the epoll set reports: returns how
 * many it found (0: nothing ready now). */
static int dispatch_sockets(weft_curl *m) {
    struct epoll_event evs[64];
    int n = epoll_wait(m->epfd, evs, 64, 0);
    for (int i = 0; i < n && m->multi; i++) {
        int flags = 0;
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) flags |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
        if (evs[i].events & EPOLLERR) flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(m->multi, evs[i].data.fd, flags, &m->running);
    }
    return n < 0 ? 0 : n;
}

static weft_poll driver_poll(weft_future *base, weft_context *cx) {
    weft_curl *m = ((driver_task *)base)->m;
    pthread_mutex_lock(&m->lock);
    m->in_driver = true;
    weft_waker_store(&m->driver, &cx->waker);
    for (int round = 0; m->multi && !m->destroyed; round++) {
        if (round == 32) { /* let other tasks run; come back at once */
            weft_waker_wake_by_ref(&cx->waker);
            break;
        }
        bool moved = false;
        if (m->timer_set && weft_clock_ms() >= m->timer_deadline) {
            m->timer_set = false;
            curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &m->running);
            moved = true;
        }
        if (dispatch_sockets(m) > 0) moved = true;
        harvest(m);
        if (moved) continue;
        /* Nothing to do now: wait for a socket (the epoll set turning
         * readable) or for curl's timeout. */
        if (!m->ready_active) {
            weft_async_fd_ready_init(&m->ready, &m->afd, WEFT_INTEREST_READ);
            m->ready_active = true;
        }
        if (weft_future_poll(&m->ready.base, cx) == WEFT_READY) {
            m->ready_active = false;
            if (m->ready.result < 0) { /* the runtime is going away */
                shut(m, m->ready.result);
                break;
            }
            /* Readiness of the set may be stale: if it has nothing, clear
             * it (unless a new event came since) and wait again. */
            if (dispatch_sockets(m) == 0) weft_async_fd_clear_ready(&m->afd, &m->ready.ready);
            harvest(m);
            continue;
        }
        if (m->timer_set) {
            if (!m->sleep_active || m->sleep.deadline != m->timer_deadline) {
                if (m->sleep_active) weft_future_drop(&m->sleep.base);
                weft_sleep_until_init(&m->sleep, m->timer_deadline);
                m->sleep_active = true;
            }
            if (weft_future_poll(&m->sleep.base, cx) == WEFT_READY) {
                m->sleep_active = false;
                continue;
            }
        } else if (m->sleep_active) {
            weft_future_drop(&m->sleep.base);
            m->sleep_active = false;
        }
        break;
    }
    if (m->destroyed && m->multi) shut(m, -EBADF);
    m->in_driver = false;
    bool done = m->multi == NULL;
    pthread_mutex_unlock(&m->lock);
    if (!done) return WEFT_PENDING;
    weft__curl_unref(m);
    return WEFT_READY;
}

/* The driver is dropped with its runtime: transfers fail with -ESHUTDOWN. */
static void driver_drop(weft_future *base) {
    weft_curl *m = ((driver_task *)base)->m;
    pthread_mutex_lock(&m->lock);
    m->in_driver = true;
    shut(m, m->destroyed ? -EBADF : -ESHUTDOWN);
    m->in_driver = false;
    pthread_mutex_unlock(&m->lock);
    weft__curl_unref(m);
}

static const weft_future_vtable driver_vtable = {driver_poll, driver_drop, "weft_curl driver"};

/* ---- the handle --------------------------------------------------------------- */

void weft__curl_unref(weft_curl *m) {
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1) return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;
static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

int weft_curl_create(weft_curl **out, weft_runtime *rt) {
    if (!out || !rt) return -EINVAL;
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) return -ENOMEM;
    weft_curl *m = calloc(1, sizeof *m);
    if (!m) return -ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    atomic_init(&m->refs, 2); /* the handle and the driver */
    m->epfd = epoll_create1(EPOLL_CLOEXEC);
    int err = m->epfd < 0 ? -errno : 0;
    m->multi = err ? NULL : curl_multi_init();
    if (!err && !m->multi) err = -ENOMEM;
    if (!err) err = weft_async_fd_adopt(&m->afd, rt, m->epfd);
    if (err) {
        if (m->multi) curl_multi_cleanup(m->multi);
        if (m->epfd >= 0) close(m->epfd);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return err;
    }
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    driver_task d = {WEFT_FUTURE_INIT(&driver_vtable), m};
    weft_join_handle h = weft_spawn_raw(rt, &d, sizeof d, 0, 0, NULL);
    if (h.state == WEFT_JOIN_FAILED) { /* the driver's drop freed the CURLM */
        err = h.result;
        weft__curl_unref(m);
        return err;
    }
    weft_join_handle_detach(&h);
    *out = m;
    return 0;
}

void weft_curl_destroy(weft_curl *m) {
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    m->destroyed = true;
    if (!m->error) m->error = -EBADF;
    if (m->multi) weft__curl_fail_all(m, -EBADF);
    weft_waker_wake_by_ref(&m->driver);
    pthread_mutex_unlock(&m->lock);
    weft__curl_unref(m);
}

int weft_curl_setopt_long(weft_curl *m, CURLMoption opt, long value) {
    if (!m) return -EINVAL;
    if (opt == CURLMOPT_SOCKETFUNCTION || opt == CURLMOPT_SOCKETDATA ||
        opt == CURLMOPT_TIMERFUNCTION || opt == CURLMOPT_TIMERDATA)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    int err = !m->multi || m->destroyed ? -EBADF
              : curl_multi_setopt(m->multi, opt, value) == CURLM_OK ? 0
                                                                    : -EINVAL;
    pthread_mutex_unlock(&m->lock);
    return err;
}

int weft_curl_running(weft_curl *m) {
    if (!m) return 0;
    pthread_mutex_lock(&m->lock);
    int n = 0;
    for (weft_curl_perform *f = m->head; f; f = f->next) n++;
    pthread_mutex_unlock(&m->lock);
    return n;
}
