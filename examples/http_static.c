/*
 * http_static: serves the files under a directory, with the zero-copy
 * file path (sendfile(2) from the page cache to the socket), Content-Length,
 * Last-Modified and If-Modified-Since (304), and single byte ranges
 * (Range: bytes=a-b, 206 / 416).
 *
 *     http_static [--port 8080] [--root .]
 *     curl -i localhost:8080/README.md
 *     curl -r 0-99 localhost:8080/README.md
 *
 * The handler is a plain function: open(2) and fstat(2) of a local file do
 * not wait for the network (for files on slow storage, do them on the
 * blocking pool from a future handler instead).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "weft/http.h"

static int g_root = -1; /* the directory served, opened once */

static const char *mime_type(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot) return "application/octet-stream";
    static const char *types[][2] = {
        {".html", "text/html"}, {".htm", "text/html"},  {".css", "text/css"},
        {".js", "text/javascript"}, {".json", "application/json"}, {".txt", "text/plain"},
        {".md", "text/markdown"}, {".c", "text/plain"}, {".h", "text/plain"},
        {".png", "image/png"}, {".jpg", "image/jpeg"}, {".svg", "image/svg+xml"},
    };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strcasecmp(dot, types[i][0]) == 0) return types[i][1];
    return "application/octet-stream";
}

static void http_date(time_t t, char out[64]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void fail(weft_http_response *res, int status) {
    const char *reason = weft_http_status_reason(status);
    weft_http_response_send(res, status, "text/plain", reason, strlen(reason));
}

static void serve_file(weft_http_request *req, weft_http_response *res) {
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        weft_http_response_add_header(res, "Allow", "GET, HEAD");
        return fail(res, 405);
    }
    /* The path under the root: no "..", no hidden files, "/" is index.html. */
    const char *rel = req->path + 1;
    if (*rel == 0) rel = "index.html";
    if (strstr(req->path, "/.") || strchr(req->path, '%')) return fail(res, 404);
    int fd = openat(g_root, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        return fail(res, 404);
    }
    char modified[64];
    http_date(st.st_mtime, modified);
    weft_http_response_add_header(res, "Last-Modified", modified);
    weft_http_response_add_header(res, "Accept-Ranges", "bytes");
    const char *since = weft_http_request_header(req, "If-Modified-Since");
    if (since && strcmp(since, modified) == 0) {
        close(fd);
        weft_http_response_set_status(res, 304);
        return;
    }
    weft_http_response_add_header(res, "Content-Type", mime_type(rel));
    uint64_t size = (uint64_t)st.st_size, from = 0, len = size;
    const char *range = weft_http_request_header(req, "Range");
    unsigned long long a, b;
    if (range && sscanf(range, "bytes=%llu-%llu", &a, &b) == 2 && !strchr(range, ',')) {
        if (a > b || a >= size) {
            close(fd);
            char cr[64];
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)size);
            weft_http_response_add_header(res, "Content-Range", cr);
            return fail(res, 416);
        }
        if (b >= size) b = size - 1;
        from = a;
        len = b - a + 1;
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", a, b, (unsigned long long)size);
        weft_http_response_add_header(res, "Content-Range", cr);
        weft_http_response_set_status(res, 206);
    }
    weft_http_response_set_body_file(res, fd, from, len); /* the server closes fd */
}

/* The main fiber: waits for SIGINT or SIGTERM, then shuts the server down. */
static void *until_signal(void *arg) {
    weft_http_server *srv = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    weft_async_fd sig = {0};
    if (weft_async_fd_adopt(&sig, NULL, signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) return NULL;
    for (;;) {
        weft_async_fd_ready ready;
        if (weft_await(weft_async_fd_ready_init(&ready, &sig, WEFT_INTEREST_READ)) || ready.result) break;
        struct signalfd_siginfo si;
        if (read(weft_async_fd_fd(&sig), &si, sizeof si) == (ssize_t)sizeof si) break;
        weft_async_fd_clear_ready(&sig, &ready.ready);
    }
    weft_async_fd_close(&sig);
    weft_http_fiber_server_shutdown(srv, 5000);
    return NULL;
}

int main(int argc, char **argv) {
    int port = 8080;
    const char *root = ".";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--root") == 0) root = argv[i + 1];
    }
    g_root = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_root < 0) return perror(root), 1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* only the signalfd sees them */

    weft_runtime *rt;
    weft_http_server *srv;
    weft_http_server_options opts = {.handler = {.fn = serve_file}};
    char addr[32];
    snprintf(addr, sizeof addr, "0.0.0.0:%d", port);
    int r;
    if ((r = weft_runtime_create(&rt, NULL)) || (r = weft_http_server_create(&srv, rt, &opts)) ||
        (r = weft_http_server_listen(srv, addr, 0))) {
        fprintf(stderr, "http_static: %s\n", weft_strerror(r));
        return 1;
    }
    printf("listening on %u, serving %s\n", weft_http_server_port(srv), root);
    fflush(stdout);
    weft_fiber main_fiber;
    weft_block_on(rt, weft_fiber_init(&main_fiber, until_signal, srv, NULL));
    weft_http_server_destroy(srv);
    weft_runtime_destroy(rt);
    close(g_root);
    return 0;
}
