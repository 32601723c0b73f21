/*
 * From OpenSSL's failure reports to weft's error values. OpenSSL keeps its
 * errors in a queue per thread; a stream may be polled on any worker, so
 * each SSL call starts with an empty queue (ERR_clear_error) and its
 * failure is classified — and described into the stream — before the poll
 * returns.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls_internal.h"

void weft__tls_set_detail(weft__tls_conn *c, const char *text) {
    snprintf(c->detail, sizeof c->detail, "%s", text);
}

void weft__tls_describe(char *buf, size_t cap, const char *prefix) {
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    char code[64];
    if (!reason && e) {
        ERR_error_string_n(e, code, sizeof code);
        reason = code;
    }
    if (prefix && reason)
        snprintf(buf, cap, "%s: %s", prefix, reason);
    else
        snprintf(buf, cap, "%s", prefix ? prefix : reason ? reason : "");
}

/* Received fatal alerts are reported as reasons SSL_AD_REASON_OFFSET +
 * the alert's number ("tlsv1 alert unknown ca"). */
static bool is_alert_reason(int reason) {
    return reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256;
}

int weft__tls_error(weft__tls_conn *c, int ret, int sslerr, bool handshake) {
    (void)ret;
    if (c->io_err) { /* the inner stream failed: its error says it best */
        snprintf(c->detail, sizeof c->detail, "the underlying stream failed: %s",
                 weft_strerror(c->io_err));
        return c->io_err;
    }
    unsigned long e = ERR_peek_last_error();
    int lib = e ? ERR_GET_LIB(e) : 0;
    int reason = e ? ERR_GET_REASON(e) : 0;
    if (e && (reason == ERR_R_MALLOC_FAILURE || (ERR_SYSTEM_ERROR(e) && reason == ENOMEM))) {
        weft__tls_describe(c->detail, sizeof c->detail, NULL);
        return -ENOMEM;
    }
    if (lib == ERR_LIB_SSL && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        long v = SSL_get_verify_result(c->ssl);
        snprintf(c->detail, sizeof c->detail, "certificate verify failed: %s",
                 v != X509_V_OK ? X509_verify_cert_error_string(v) : "rejected");
        return -WEFT_ETLS_VERIFY;
    }
    if (c->eof || (lib == ERR_LIB_SSL && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
        (sslerr == SSL_ERROR_SYSCALL && !e)) {
        /* The transport ended: during the handshake that is a connection
         * the peer dropped; after it, data that may have been cut short. */
        weft__tls_set_detail(c, handshake ? "the peer closed the connection during the handshake"
                                          : "unexpected eof while reading (no close_notify)");
        return handshake ? -ECONNRESET : -WEFT_ETLS_TRUNCATED;
    }
    weft__tls_describe(c->detail, sizeof c->detail, NULL);
    if (lib == ERR_LIB_SSL && is_alert_reason(reason)) return -WEFT_ETLS_ALERT;
    if (!c->detail[0]) weft__tls_set_detail(c, "unknown TLS failure");
    return handshake ? -WEFT_ETLS_HANDSHAKE : -WEFT_ETLS_PROTOCOL;
}
