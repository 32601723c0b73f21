/*
 * Support for weft-tls's tests: a throw-away PKI made with OpenSSL's API
 * (a CA, certificates for localhost / 127.0.0.1, an expired one, one from
 * an untrusted CA, a client certificate, one for another name), real peer
 * programs (openssl s_server / s_client, curl) started on loopback with
 * their output in a file, and fiber helpers for connected pairs.
 */
#ifndef WEFT_TLS_TEST_SUPPORT_H
#define WEFT_TLS_TEST_SUPPORT_H

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fiber_support.h"
#include "net_support.h"
#include "weft/fiber.h"
#include "weft/tls.h"

extern char **environ;

/* Reads a whole file into a NUL-terminated buffer (the caller frees). */
static inline __attribute__((unused)) char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    size_t cap = 4096, n = 0, r;
    char *b = malloc(cap);
    while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) b = realloc(b, cap *= 2);
    }
    b[n] = 0;
    fclose(f);
    return b;
}

/* ---- the PKI --------------------------------------------------------------------- */

static char pki_dir[64];

/* "<pki dir>/<name>" in one of 16 rotating buffers. */
static inline __attribute__((unused)) const char *pki_file(const char *name) {
    static char bufs[16][128];
    static unsigned next;
    char *b = bufs[next++ % 16];
    snprintf(b, sizeof bufs[0], "%s/%s", pki_dir, name);
    return b;
}

static int pki_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void pki_cleanup(void) {
    if (pki_dir[0]) nftw(pki_dir, pki_rm, 8, FTW_DEPTH | FTW_PHYS);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
    X509V3_CTX v;
    X509V3_set_ctx_nodb(&v);
    X509V3_set_ctx(&v, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A certificate for `key` named `cn` with alternative names `san`, valid
 * from `from` to `to` days from now, signed by issuer (NULL: itself). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *san, X509 *issuer,
                       EVP_PKEY *issuer_key, long from, long to, bool ca) {
    static long serial = 1;
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++ + (long)getpid() * 100);
    X509_gmtime_adj(X509_getm_notBefore(x), from * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), to * 86400);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"weft tests", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    add_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (ca) {
        add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
        add_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    if (san) add_ext(x, issuer, NID_subject_alt_name, san);
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static void write_pem(const char *name, X509 *cert, EVP_PKEY *key) {
    FILE *f = fopen(pki_file(name), "w");
    assert_non_null(f);
    if (cert) assert_int_equal(PEM_write_X509(f, cert), 1);
    if (key) assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
}

/* A leaf signed by (ca, ca_key) written to <base>.pem and <base>.key. */
static void make_leaf(const char *base, const char *cn, const char *san, X509 *ca, EVP_PKEY *ca_key,
                      long from, long to) {
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    X509 *x = make_cert(k, cn, san, ca, ca_key, from, to, false);
    char name[64];
    snprintf(name, sizeof name, "%s.pem", base);
    write_pem(name, x, NULL);
    snprintf(name, sizeof name, "%s.key", base);
    write_pem(name, NULL, k);
    X509_free(x);
    EVP_PKEY_free(k);
}

/*
 * Makes the PKI once per test process (every test runs in a process of
 * its own), in a temporary directory removed at exit:
 *   ca.pem                the trusted CA
 *   server.pem/.key       localhost, 127.0.0.1 and ::1, signed by the CA
 *   expired.pem/.key      the same names, expired yesterday
 *   untrusted.pem/.key    the same names, signed by another CA
 *   client.pem/.key       a client ("weft client"), signed by the CA
 *   alt.pem/.key          alt.test, signed by the CA (SNI)
 *   chain.pem/.key        server.pem followed by ca.pem; server.key
 */
static inline __attribute__((unused)) void pki_make(void) {
    if (pki_dir[0]) return;
    snprintf(pki_dir, sizeof pki_dir, "/tmp/weft-tls-test-XXXXXX");
    assert_non_null(mkdtemp(pki_dir));
    atexit(pki_cleanup);
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *other_key = EVP_EC_gen("P-256");
    assert_non_null(ca_key);
    assert_non_null(other_key);
    X509 *ca = make_cert(ca_key, "weft test CA", NULL, NULL, NULL, -1, 30, true);
    X509 *other = make_cert(other_key, "an untrusted CA", NULL, NULL, NULL, -1, 30, true);
    write_pem("ca.pem", ca, NULL);
    write_pem("other-ca.pem", other, NULL);
    const char *san = "DNS:localhost,IP:127.0.0.1,IP:::1";
    make_leaf("server", "localhost", san, ca, ca_key, -1, 30);
    make_leaf("expired", "localhost", san, ca, ca_key, -3, -1);
    make_leaf("untrusted", "localhost", san, other, other_key, -1, 30);
    make_leaf("client", "weft client", NULL, ca, ca_key, -1, 30);
    make_leaf("alt", "alt.test", "DNS:alt.test", ca, ca_key, -1, 30);
    /* chain.pem: the leaf then its CA, as servers send them */
    FILE *out = fopen(pki_file("chain.pem"), "w"), *in;
    assert_non_null(out);
    const char *parts[] = {"server.pem", "ca.pem"};
    for (int i = 0; i < 2; i++) {
        in = fopen(pki_file(parts[i]), "r");
        assert_non_null(in);
        char b[4096];
        size_t n;
        while ((n = fread(b, 1, sizeof b, in)) > 0) fwrite(b, 1, n, out);
        fclose(in);
    }
    fclose(out);
    /* chain.key: server.key, under the name server_ctx("chain") looks for */
    char *key = slurp(pki_file("server.key"));
    out = fopen(pki_file("chain.key"), "w");
    assert_non_null(out);
    fputs(key, out);
    fclose(out);
    free(key);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
}

/* ---- contexts ------------------------------------------------------------------------ */

/* A server context with <base>.pem / <base>.key; `o` (may be NULL) gives
 * the other options. */
static inline __attribute__((unused)) weft_tls_context *server_ctx(const char *base,
                                                                   weft_tls_options *o) {
    pki_make();
    weft_tls_options opts = o ? *o : (weft_tls_options){0};
    char cert[64], key[64];
    snprintf(cert, sizeof cert, "%s.pem", base);
    snprintf(key, sizeof key, "%s.key", base);
    opts.cert_file = pki_file(cert);
    opts.key_file = pki_file(key);
    if (!opts.ca_file) opts.ca_file = pki_file("ca.pem");
    weft_tls_context *ctx = NULL;
    int err = weft_tls_context_create(&ctx, WEFT_TLS_SERVER, &opts);
    if (err) print_message("server context: %s (%s)\n", weft_strerror(err), weft_tls_context_error_detail());
    assert_int_equal(err, 0);
    return ctx;
}

/* A client context that trusts the test CA only. */
static inline __attribute__((unused)) weft_tls_context *client_ctx(weft_tls_options *o) {
    pki_make();
    weft_tls_options opts = o ? *o : (weft_tls_options){0};
    if (!opts.ca_file) opts.ca_file = pki_file("ca.pem");
    opts.no_default_ca = true;
    weft_tls_context *ctx = NULL;
    int err = weft_tls_context_create(&ctx, WEFT_TLS_CLIENT, &opts);
    if (err) print_message("client context: %s (%s)\n", weft_strerror(err), weft_tls_context_error_detail());
    assert_int_equal(err, 0);
    return ctx;
}

/* ---- peer programs ------------------------------------------------------------------- */

typedef struct peer {
    pid_t pid;
    int in;             /* its standard input (write end), or -1 */
    char out[160];      /* its standard output and error, in a file */
} peer;

static inline __attribute__((unused)) const char *program(const char *path, const char *what) {
    if (!path || !path[0] || access(path, X_OK) != 0) {
        fail_msg("%s is not installed: run scripts/deps.sh as root (it installs openssl and curl)",
                 what);
    }
    return path;
}

/* Starts argv (argv[0] a full path) with its output in a fresh file. */
static inline __attribute__((unused)) void peer_start(peer *p, char *const argv[]) {
    pki_make();
    static int n;
    snprintf(p->out, sizeof p->out, "%s/peer-%d.out", pki_dir, n++);
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    int outfd = open(p->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(outfd >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outfd, 1);
    posix_spawn_file_actions_adddup2(&fa, outfd, 2);
    posix_spawn_file_actions_addchdir_np(&fa, pki_dir);
    int rc = posix_spawn(&p->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    close(outfd);
    if (rc != 0) fail_msg("cannot start %s: %s", argv[0], strerror(rc));
    p->in = fds[1];
}

/* Waits (up to `ms`) for `needle` in the peer's output; returns the output
 * (the caller frees) or NULL on time-out. */
static inline __attribute__((unused)) char *peer_wait_for(peer *p, const char *needle, int ms) {
    for (int t = 0; t < ms; t += 10) {
        char *o = slurp(p->out);
        if (strstr(o, needle)) return o;
        free(o);
        int status;
        if (p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            o = slurp(p->out);
            if (strstr(o, needle)) return o;
            free(o);
            return NULL;
        }
        usleep(10000);
    }
    return NULL;
}

/* Closes its input, then waits for it (up to `ms`, then SIGKILL). Returns
 * its exit status as waitpid gives it, or -1 if it was killed. */
static inline __attribute__((unused)) int peer_stop(peer *p, int ms) {
    if (p->in >= 0) close(p->in);
    p->in = -1;
    if (p->pid <= 0) return 0;
    int status = 0;
    for (int t = 0; t < ms; t += 10) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            return status;
        }
        usleep(10000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    return -1;
}

/* Writes text to the peer's standard input. */
static inline __attribute__((unused)) void peer_say(peer *p, const char *text) {
    assert_int_equal(write(p->in, text, strlen(text)), (ssize_t)strlen(text));
}

/*
 * Starts `openssl s_server` on 127.0.0.1 (a free port) with the given
 * certificate base and extra arguments (NULL-terminated), and returns its
 * port once it listens.
 */
static inline __attribute__((unused)) uint16_t s_server_start(peer *p, const char *base,
                                                              const char *const *extra) {
    pki_make();
    const char *openssl = program(WEFT_TEST_OPENSSL, "openssl");
    char cert[64], key[64];
    snprintf(cert, sizeof cert, "%s.pem", base);
    snprintf(key, sizeof key, "%s.key", base);
    char *argv[40];
    int n = 0;
    argv[n++] = (char *)openssl;
    argv[n++] = "s_server";
    argv[n++] = "-accept";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "-cert";
    argv[n++] = (char *)pki_file(cert);
    argv[n++] = "-key";
    argv[n++] = (char *)pki_file(key);
    for (; extra && *extra && n < 38; extra++) argv[n++] = (char *)*extra;
    argv[n] = NULL;
    peer_start(p, argv);
    char *o = peer_wait_for(p, "ACCEPT", 10000);
    if (!o) {
        char *all = slurp(p->out);
        peer_stop(p, 100);
        fail_msg("openssl s_server did not start: %s", all);
    }
    char *a = strstr(o, "ACCEPT");
    char *colon = strchr(a, '\n');
    if (colon) *colon = 0;
    colon = strrchr(a, ':');
    uint16_t port = colon ? (uint16_t)atoi(colon + 1) : 0;
    free(o);
    assert_true(port > 0);
    return port;
}

/* ---- fiber helpers ---------------------------------------------------------------------- */

/* A connected TCP pair on loopback, from a fiber: *c the client side, *s
 * the server side. */
static inline __attribute__((unused)) void tcp_pair(weft_tcp_stream *c, weft_tcp_stream *s) {
    weft_tcp_listener l = {0};
    FCHECK_EQ(weft_tcp_listener_bind(&l, NULL, "127.0.0.1:0", 16), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", weft_tcp_listener_port(&l));
    FCHECK_EQ(weft_fiber_connect(c, addr), 0);
    FCHECK_EQ(weft_fiber_accept(&l, s), 0);
    weft_tcp_listener_close(&l);
}

/* Connects to 127.0.0.1:port from a fiber. */
static inline __attribute__((unused)) int tcp_connect_port(weft_tcp_stream *c, uint16_t port) {
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    return weft_fiber_connect(c, addr);
}

/* Runs both handshakes at once (one fiber, a join of the two futures):
 * returns the client's result and stores the server's in *server_rc. */
static inline __attribute__((unused)) int handshake_both(weft_tls_stream *client,
                                                         weft_tls_stream *server, int *server_rc) {
    weft_tls_handshake hc, hs;
    weft_join j;
    weft_future *kids[2];
    FCHECK_EQ(weft_await(WEFT_JOIN(&j, kids, weft_tls_handshake_init(&hc, client),
                                   weft_tls_handshake_init(&hs, server))),
              0);
    if (server_rc) *server_rc = hs.result;
    return hc.result;
}

#endif
