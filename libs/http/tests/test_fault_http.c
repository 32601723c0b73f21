/* Allocation and socket failures inside libweft-http, one at a time at
 * every point a request passes through: on the server (connection setup,
 * buffers, the response, the task spawn itself) a failure ends that
 * connection — the client sees a whole answer or the connection closing,
 * never a hang — and the server goes on serving; on the client (URL,
 * connection, request buffer) the fetch fails with -ENOMEM. LeakSanitizer
 * (make check's asan run) proves nothing leaks on any of these paths.
 * weft-test: io  weft-test: timeout=300 */
#include "fault.h"
#include "http_support.h"

static void hello(weft_http_request *req, weft_http_response *res) {
    weft_http_response_add_header(res, "X-Extra", "a field that needs a buffer");
    weft_http_response_send(res, 200, "text/plain", "hello", 5);
}

static test_server ts;
static char buf[8192];

static void test_server_alloc_failures(void **state) {
    (void)state;
    weft_http_server_options o = {.handler = {.fn = hello}};
    test_server_start(&ts, &o);
    int answered = 0, closed = 0;
    for (unsigned k = 0;; k++) {
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = k, .count = 1});
        int fd = raw_connect(ts.port);
        raw_sends(fd, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        bool eof;
        raw_recv(fd, buf, sizeof buf, SIZE_MAX, 10000, &eof);
        close(fd);
        unsigned failed = fault_failed(FAULT_ANY_ALLOC);
        fault_disarm(FAULT_ANY_ALLOC);
        assert_true(eof); /* an answer and a close, or a close: never a hang */
        if (strstr(buf, "\r\n\r\nhello")) answered++;
        else closed++;
        if (failed == 0) break; /* past the last allocation a request makes */
        assert_true(k < 200);
    }
    assert_true(closed > 0);
    assert_true(answered > 0);
    /* the server is unharmed */
    int fd = raw_connect(ts.port);
    raw_sends(fd, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    bool eof;
    raw_recv(fd, buf, sizeof buf, SIZE_MAX, 10000, &eof);
    close(fd);
    assert_non_null(strstr(buf, "X-Extra: a field"));
    test_server_stop(&ts);
}

static void test_server_read_write_failures(void **state) {
    (void)state;
    weft_http_server_options o = {.handler = {.fn = hello}};
    test_server_start(&ts, &o);
    fault_fn fns[] = {FAULT_READ, FAULT_SEND, FAULT_WRITE};
    for (size_t i = 0; i < 3; i++) {
        fault_arm(fns[i], (fault_rule){.err = ECONNRESET, .count = 1});
        int fd = raw_connect(ts.port);
        raw_sends(fd, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        bool eof;
        raw_recv(fd, buf, sizeof buf, SIZE_MAX, 10000, &eof);
        close(fd);
        fault_disarm(fns[i]);
        assert_true(eof);
    }
    for (int i = 0; i < 2000 && test_server_stats(&ts).active > 0; i++) usleep(10000);
    assert_int_equal(test_server_stats(&ts).active, 0);
    test_server_stop(&ts);
}

static void test_client_alloc_failures(void **state) {
    (void)state;
    weft_http_server_options o = {.handler = {.fn = hello}};
    test_server_start(&ts, &o);
    weft_runtime *rt;
    assert_int_equal(weft_runtime_create(&rt, NULL), 0); /* current_thread: allocations on this thread */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/x", ts.port);
    int ok = 0, enomem = 0;
    for (unsigned k = 0;; k++) {
        weft_http_client *c;
        assert_int_equal(weft_http_client_create(&c, NULL), 0);
        weft_http_client_request rq = {.url = url};
        weft_http_fetch f;
        fault_arm(FAULT_ANY_ALLOC, (fault_rule){.err = ENOMEM, .skip = k, .count = 1, .this_thread = true});
        assert_int_equal(weft_block_on(rt, weft_http_fetch_init(&f, c, &rq)), 0);
        weft_http_read_body rb = {0};
        if (f.result == 0) {
            assert_int_equal(weft_block_on(rt, weft_http_read_body_init(&rb, f.response.body, 100)), 0);
            free(rb.data);
            weft_http_client_response_destroy(&f.response);
        }
        unsigned failed = fault_failed(FAULT_ANY_ALLOC);
        fault_disarm(FAULT_ANY_ALLOC);
        weft_http_client_destroy(c);
        if (f.result == 0 && rb.result == 0) ok++;
        else if (f.result == -ENOMEM || rb.result == -ENOMEM) enomem++;
        else fail_msg("k=%u: fetch %d, body %d", k, f.result, rb.result);
        if (failed == 0) break;
        assert_true(k < 200);
    }
    assert_true(enomem > 0);
    assert_true(ok > 0);
    weft_runtime_destroy(rt);
    test_server_stop(&ts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_alloc_failures),
        cmocka_unit_test(test_server_read_write_failures),
        cmocka_unit_test(test_client_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
