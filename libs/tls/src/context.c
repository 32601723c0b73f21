/*
 * TLS contexts: one SSL_CTX configured from weft_tls_options, the ALPN and
 * SNI callbacks, and the client-side session cache (the newest session of
 * each server name, so a new connection to that server resumes).
 *
 * A context is immutable after creation (the session cache has its own
 * lock, OpenSSL's SSL_CTX its own), so streams on any thread share it. It
 * is reference-counted: every stream holds a reference, so destroying the
 * context while streams live is safe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "tls_internal.h"

#define DEFAULT_CLIENT_SESSIONS 256

static __thread char create_error[256];

const char *weft_tls_context_error_detail(void) { return create_error; }

/* Records why a creation failed (OpenSSL's queue, or `what`) and maps the
 * error: a file that could not be opened keeps its errno. */
static int config_error(const char *what) {
    unsigned long first = ERR_peek_error(), last = ERR_peek_last_error();
    if (first && ERR_SYSTEM_ERROR(first)) { /* fopen and friends: keep errno */
        int sys = ERR_GET_REASON(first);
        snprintf(create_error, sizeof create_error, "%s: %s", what, strerror(sys));
        if (sys == ENOENT || sys == EACCES || sys == ENOMEM || sys == EISDIR || sys == ENOTDIR)
            return -sys;
        return -WEFT_ETLS_CONFIG;
    }
    weft__tls_describe(create_error, sizeof create_error, what);
    if (last && ERR_GET_REASON(last) == ERR_R_MALLOC_FAILURE) return -ENOMEM;
    return -WEFT_ETLS_CONFIG;
}

/* ---- PEM text -------------------------------------------------------------- */

static int use_cert_pem(SSL_CTX *ctx, const char *pem) {
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (!b) return 0;
    X509 *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
    int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    if (ok) {
        X509 *ca;
        SSL_CTX_clear_chain_certs(ctx);
        while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
            if (!SSL_CTX_add0_chain_cert(ctx, ca)) {
                X509_free(ca);
                ok = 0;
                break;
            }
        }
        if (ok) ERR_clear_error(); /* the end of the chain reads as an error */
    }
    BIO_free(b);
    return ok;
}

static int use_key_pem(SSL_CTX *ctx, const char *pem) {
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (!b) return 0;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    int ok = k && SSL_CTX_use_PrivateKey(ctx, k) == 1;
    EVP_PKEY_free(k);
    BIO_free(b);
    return ok;
}

static int add_ca_pem(SSL_CTX *ctx, const char *pem) {
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (!b) return 0;
    X509_STORE *st = SSL_CTX_get_cert_store(ctx);
    int n = 0, ok = 1;
    X509 *ca;
    while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (!X509_STORE_add_cert(st, ca)) ok = 0;
        X509_free(ca);
        n++;
    }
    BIO_free(b);
    if (ok && n > 0) ERR_clear_error();
    return ok && n > 0;
}

/* ---- ALPN ------------------------------------------------------------------ */

static int alpn_wire(weft_tls_context *c, const char *const *names) {
    size_t len = 0;
    for (size_t i = 0; names[i]; i++) {
        size_t n = strlen(names[i]);
        if (n == 0 || n > 255) {
            snprintf(create_error, sizeof create_error, "ALPN name %zu is empty or too long", i);
            return -EINVAL;
        }
        len += 1 + n;
    }
    if (len == 0) return 0;
    if (len > 65535) {
        snprintf(create_error, sizeof create_error, "ALPN list too long");
        return -EINVAL;
    }
    c->alpn = malloc(len);
    if (!c->alpn) return -ENOMEM;
    size_t at = 0;
    for (size_t i = 0; names[i]; i++) {
        size_t n = strlen(names[i]);
        c->alpn[at++] = (unsigned char)n;
        memcpy(c->alpn + at, names[i], n);
        at += n;
    }
    c->alpn_len = len;
    return 0;
}

/* Server: the first of our protocols that the client offers. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    weft_tls_context *c = arg;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, c->alpn, (unsigned)c->alpn_len, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = sel;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
}

/* ---- SNI ------------------------------------------------------------------- */

static int sni_select(SSL *ssl, int *alert, void *arg) {
    weft_tls_context *c = arg;
    weft__tls_conn *conn = SSL_get_app_data(ssl);
    if (!c->sni || !conn) return SSL_TLSEXT_ERR_OK;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    weft_tls_context *use = NULL;
    if (c->sni(c->sni_arg, name, &use) < 0) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (use && use != c && use != conn->sni_ctx) {
        if (use->role != WEFT_TLS_SERVER || !SSL_set_SSL_CTX(ssl, use->ctx)) {
            *alert = SSL_AD_INTERNAL_ERROR;
            return SSL_TLSEXT_ERR_ALERT_FATAL;
        }
        weft__tls_context_ref(use);
        if (conn->sni_ctx) weft_tls_context_destroy(conn->sni_ctx);
        conn->sni_ctx = use;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* ---- client session cache ---------------------------------------------------- */

/* OpenSSL hands every new session of a client connection here (for TLS
 * 1.3, when a ticket arrives after the handshake): keep the newest per
 * server name, evicting the least recently used name when full. */
static int session_new(SSL *ssl, SSL_SESSION *sess) {
    weft__tls_conn *conn = SSL_get_app_data(ssl);
    weft_tls_context *c = conn ? conn->ctx : NULL;
    if (!c || !conn->server_name || !c->resumption || !SSL_SESSION_is_resumable(sess)) return 0;
    size_t nlen = strlen(conn->server_name);
    int kept = 0;
    pthread_mutex_lock(&c->lock);
    weft__tls_session *e, **oldest = NULL;
    for (weft__tls_session **p = &c->sessions; (e = *p); p = &e->next) {
        if (strcmp(e->name, conn->server_name) == 0) break;
        if (!oldest || e->used < (*oldest)->used) oldest = p;
    }
    if (!e) {
        if (c->nsessions >= c->max_sessions && oldest) { /* forget the least recently used name */
            weft__tls_session *old = *oldest;
            *oldest = old->next;
            SSL_SESSION_free(old->sess);
            free(old);
            c->nsessions--;
        }
        e = malloc(sizeof *e + nlen + 1);
        if (e) {
            memcpy(e->name, conn->server_name, nlen + 1);
            e->sess = NULL;
            e->next = c->sessions;
            c->sessions = e;
            c->nsessions++;
        }
    }
    if (e) {
        SSL_SESSION_free(e->sess);
        e->sess = sess;
        e->used = ++c->clock;
        kept = 1; /* we keep OpenSSL's reference */
    }
    pthread_mutex_unlock(&c->lock);
    return kept;
}

SSL_SESSION *weft__tls_session_get(weft_tls_context *c, const char *name) {
    if (!c->resumption || !name) return NULL;
    SSL_SESSION *s = NULL;
    pthread_mutex_lock(&c->lock);
    for (weft__tls_session *e = c->sessions; e; e = e->next) {
        if (strcmp(e->name, name) == 0) {
            if (SSL_SESSION_is_resumable(e->sess) && SSL_SESSION_up_ref(e->sess)) s = e->sess;
            e->used = ++c->clock;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return s;
}

/* ---- create / destroy ---------------------------------------------------------- */

static int version_of(weft_tls_version v, int dflt) {
    switch (v) {
    case WEFT_TLS_1_2: return TLS1_2_VERSION;
    case WEFT_TLS_1_3: return TLS1_3_VERSION;
    default: return dflt;
    }
}

static int configure(weft_tls_context *c, const weft_tls_options *o) {
    SSL_CTX *ctx = c->ctx;
    bool server = c->role == WEFT_TLS_SERVER;

    if ((unsigned)o->min_version > WEFT_TLS_1_3 || (unsigned)o->max_version > WEFT_TLS_1_3) {
        snprintf(create_error, sizeof create_error, "unknown TLS version");
        return -EINVAL;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, version_of(o->min_version, TLS1_2_VERSION)) ||
        !SSL_CTX_set_max_proto_version(ctx, version_of(o->max_version, 0)))
        return config_error("protocol version");
    /* Renegotiation would need the write side inside a read (and is gone
     * from TLS 1.3): refuse it. Read-ahead fills OpenSSL's buffer with as
     * many records as one inner read brings. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_read_ahead(ctx, 1);

    if (o->cipher_list && !SSL_CTX_set_cipher_list(ctx, o->cipher_list))
        return config_error("cipher_list");
    if (o->ciphersuites && !SSL_CTX_set_ciphersuites(ctx, o->ciphersuites))
        return config_error("ciphersuites");

    /* Our certificate and key. */
    if (o->cert_file && SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1)
        return config_error("cert_file");
    if (!o->cert_file && o->cert_pem && !use_cert_pem(ctx, o->cert_pem))
        return config_error("cert_pem");
    if (o->key_file && SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1)
        return config_error("key_file");
    if (!o->key_file && o->key_pem && !use_key_pem(ctx, o->key_pem))
        return config_error("key_pem");
    bool has_cert = o->cert_file || o->cert_pem;
    bool has_key = o->key_file || o->key_pem;
    if (has_cert != has_key) {
        snprintf(create_error, sizeof create_error, "a certificate needs its key, and a key its certificate");
        return -EINVAL;
    }
    if (has_cert && SSL_CTX_check_private_key(ctx) != 1)
        return config_error("the key does not match the certificate");
    if (server && !has_cert && !o->sni) {
        snprintf(create_error, sizeof create_error, "a server needs a certificate (or an SNI callback)");
        return -EINVAL;
    }

    /* Whom we trust. */
    if (!o->no_default_ca && SSL_CTX_set_default_verify_paths(ctx) != 1)
        ERR_clear_error(); /* no system store: only what the options give */
    if ((o->ca_file || o->ca_dir) && SSL_CTX_load_verify_locations(ctx, o->ca_file, o->ca_dir) != 1)
        return config_error(o->ca_file ? "ca_file" : "ca_dir");
    if (o->ca_pem && !add_ca_pem(ctx, o->ca_pem)) return config_error("ca_pem");

    /* Verification. */
    switch (o->verify) {
    case WEFT_TLS_VERIFY_DEFAULT:
        SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
        break;
    case WEFT_TLS_VERIFY_NONE:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        break;
    case WEFT_TLS_VERIFY_OPTIONAL:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        break;
    case WEFT_TLS_VERIFY_REQUIRED:
        SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                       : SSL_VERIFY_PEER, NULL);
        break;
    default:
        snprintf(create_error, sizeof create_error, "unknown verify mode %d", (int)o->verify);
        return -EINVAL;
    }
    c->verify = o->verify;

    /* ALPN. */
    if (o->alpn) {
        int err = alpn_wire(c, o->alpn);
        if (err) return err;
        if (c->alpn) {
            if (server)
                SSL_CTX_set_alpn_select_cb(ctx, alpn_select, c);
            else if (SSL_CTX_set_alpn_protos(ctx, c->alpn, (unsigned)c->alpn_len) != 0)
                return config_error("alpn");
        }
    }

    /* SNI. */
    if (server) {
        c->sni = o->sni;
        c->sni_arg = o->sni_arg;
        SSL_CTX_set_tlsext_servername_callback(ctx, sni_select);
        SSL_CTX_set_tlsext_servername_arg(ctx, c);
    }

    /* Sessions. */
    c->resumption = !o->no_resumption;
    if (!c->resumption) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        if (server) SSL_CTX_set_num_tickets(ctx, 0);
    } else if (server) {
        /* Sessions of this context only: a random id context. */
        unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
        if (RAND_bytes(sid, sizeof sid) != 1 ||
            !SSL_CTX_set_session_id_context(ctx, sid, sizeof sid))
            return config_error("session id context");
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        if (o->session_cache_size) SSL_CTX_sess_set_cache_size(ctx, (long)o->session_cache_size);
    } else {
        c->max_sessions = o->session_cache_size ? o->session_cache_size : DEFAULT_CLIENT_SESSIONS;
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, session_new);
    }
    c->allow_truncation = o->allow_truncation;
    return 0;
}

static void context_free(weft_tls_context *c) {
    for (weft__tls_session *e = c->sessions, *n; e; e = n) {
        n = e->next;
        SSL_SESSION_free(e->sess);
        free(e);
    }
    SSL_CTX_free(c->ctx);
    free(c->alpn);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int weft_tls_context_create(weft_tls_context **out, weft_tls_role role,
                            const weft_tls_options *opts) {
    create_error[0] = 0;
    if (!out) return -EINVAL;
    *out = NULL;
    if (role != WEFT_TLS_CLIENT && role != WEFT_TLS_SERVER) {
        snprintf(create_error, sizeof create_error, "unknown role %d", (int)role);
        return -EINVAL;
    }
    static const weft_tls_options defaults;
    if (!opts) opts = &defaults;
    weft_tls_context *c = calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    atomic_init(&c->refs, 1);
    c->role = role;
    ERR_clear_error();
    c->ctx = SSL_CTX_new(TLS_method());
    if (!c->ctx) {
        int err = config_error("SSL_CTX_new");
        context_free(c);
        return err == -WEFT_ETLS_CONFIG ? -ENOMEM : err;
    }
    SSL_CTX_set_app_data(c->ctx, c);
    int err = configure(c, opts);
    ERR_clear_error();
    if (err) {
        context_free(c);
        return err;
    }
    *out = c;
    return 0;
}

void weft__tls_context_ref(weft_tls_context *c) {
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void weft_tls_context_destroy(weft_tls_context *c) {
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) context_free(c);
}

struct ssl_ctx_st *weft_tls_context_ssl_ctx(weft_tls_context *c) { return c ? c->ctx : NULL; }
