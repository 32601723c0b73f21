/* Files from fibers: every blocking-style call of weft/fs.h in a fiber
 * (results as the futures say, errors as the futures say); a fiber
 * cancelled while its open waits on the pool gets -ECANCELED and the file
 * the open made is closed; -EPERM outside a fiber.
 * weft-test: threaded  weft-test: timeout=180 */
#include "fiber_support.h"
#include "fs_support.h"

static void *calls_body(void *arg) {
    (void)arg;
    char p[16][256];
    const char *names[] = {"d",     "d/a/b", "d/w",   "d/x",    "d/link", "d/hard", "d/moved", "d/copy",
                           "d/a",   "missing", "d/file-as-dir/x", "", "", "", "", ""};
    for (int i = 0; i < 11; i++) snprintf(p[i], sizeof p[i], "%s/%s", g.dir, names[i]);

    FCHECK_EQ(weft_fiber_fs_create_dir(p[0], 0), 0);
    FCHECK_EQ(weft_fiber_fs_create_dir(p[0], 0), -EEXIST);
    FCHECK_EQ(weft_fiber_fs_create_dir_all(p[1], 0750), 0);
    FCHECK_EQ(weft_fiber_fs_write(p[2], "hello fiber", 11), 0);
    unsigned char *data = NULL;
    FCHECK_EQ(weft_fiber_fs_read(p[2], &data), 11);
    FCHECK(!memcmp(data, "hello fiber", 12)); /* NUL-terminated */
    free(data);
    FCHECK_EQ(weft_fiber_fs_read(p[9], &data), -ENOENT);

    /* An open file: the stream calls of weft/fiber.h work on it. */
    weft_file f;
    weft_open_options rw = {.read = true, .write = true, .create = true};
    FCHECK_EQ(weft_fiber_file_open(&f, p[3], &rw), 0);
    FCHECK_EQ(weft_fiber_write_all(&f.stream, "0123456789", 10, NULL), 0);
    FCHECK_EQ(weft_fiber_file_flush(&f), 0);
    FCHECK_EQ(weft_fiber_file_write_at(&f, "AB", 2, 3), 2);
    char buf[16] = {0};
    FCHECK_EQ(weft_fiber_file_read_at(&f, buf, 5, 1), 5);
    FCHECK(!memcmp(buf, "12AB5", 5));
    FCHECK_EQ(weft_fiber_file_seek(&f, 2, SEEK_SET), 2);
    FCHECK_EQ(weft_fiber_read(&f.stream, buf, 3), 3);
    FCHECK(!memcmp(buf, "2AB", 3));
    FCHECK_EQ(weft_fiber_file_read_to_end(&f, &data), 5);
    FCHECK(!memcmp(data, "56789", 5));
    free(data);
    FCHECK_EQ(weft_fiber_file_sync_all(&f), 0);
    FCHECK_EQ(weft_fiber_file_sync_data(&f), 0);
    FCHECK_EQ(weft_fiber_file_set_len(&f, 4), 0);
    weft_metadata m;
    FCHECK_EQ(weft_fiber_file_metadata(&f, &m), 0);
    FCHECK_EQ(m.size, 4);
    FCHECK_EQ(m.type, WEFT_FILE_TYPE_FILE);
    FCHECK_EQ(weft_fiber_file_seek(&f, -1, SEEK_SET), -EINVAL);
    weft_file_close(&f);
    FCHECK_EQ(weft_fiber_file_read_at(&f, buf, 1, 0), -EBADF);
    FCHECK_EQ(weft_fiber_file_create(&f, p[3]), 0); /* truncates */
    weft_file_close(&f);
    FCHECK_EQ(weft_fiber_file_open(&f, p[9], NULL), -ENOENT);
    FCHECK_EQ(weft_fiber_file_open(&f, p[0], NULL), -EISDIR);

    /* Paths. */
    FCHECK_EQ(weft_fiber_fs_symlink("w", p[4]), 0);
    char *s = NULL;
    FCHECK_EQ(weft_fiber_fs_read_link(p[4], &s), 0);
    FCHECK(!strcmp(s, "w"));
    free(s);
    FCHECK_EQ(weft_fiber_fs_canonicalize(p[4], &s), 0);
    FCHECK(strstr(s, "/d/w") != NULL);
    free(s);
    FCHECK_EQ(weft_fiber_fs_metadata(p[4], &m), 0);
    FCHECK_EQ(m.type, WEFT_FILE_TYPE_FILE);
    FCHECK_EQ(weft_fiber_fs_symlink_metadata(p[4], &m), 0);
    FCHECK_EQ(m.type, WEFT_FILE_TYPE_SYMLINK);
    FCHECK_EQ(weft_fiber_fs_hard_link(p[2], p[5]), 0);
    FCHECK_EQ(weft_fiber_fs_set_permissions(p[5], 0600), 0);
    FCHECK_EQ(weft_fiber_fs_metadata(p[2], &m), 0);
    FCHECK_EQ(m.mode, 0600);
    FCHECK_EQ(m.nlink, 2);
    FCHECK_EQ(weft_fiber_fs_rename(p[5], p[6]), 0);
    FCHECK_EQ(weft_fiber_fs_copy(p[6], p[7]), 11);
    FCHECK_EQ(weft_fiber_fs_remove_file(p[6]), 0);
    FCHECK_EQ(weft_fiber_fs_remove_file(p[6]), -ENOENT);
    FCHECK_EQ(weft_fiber_fs_remove_dir(p[8]), -ENOTEMPTY);
    FCHECK_EQ(weft_fiber_fs_remove_dir(p[1]), 0);

    /* Directories. */
    weft_read_dir d;
    FCHECK_EQ(weft_fiber_read_dir_open(&d, p[0]), 0);
    int n = 0, r;
    weft_dir_entry e;
    while ((r = weft_fiber_read_dir_next(&d, &e)) == 1) n++;
    FCHECK_EQ(r, 0);
    FCHECK_EQ(n, 5); /* a, w, x, link, copy */
    weft_read_dir_close(&d);
    FCHECK_EQ(weft_fiber_read_dir_open(&d, p[2]), -ENOTDIR);
    FCHECK_EQ(weft_fiber_fs_remove_dir_all(p[0]), 0);
    FCHECK_EQ(weft_fiber_fs_metadata(p[0], &m), -ENOENT);
    return (void *)1;
}

static void test_fiber_calls(void **state) {
    (void)state;
    env_setup();
    assert_int_equal((uintptr_t)run_fiber(g.rt, calls_body, NULL), 1);
    env_teardown();
}

static void test_fiber_calls_pool_only(void **state) {
    (void)state;
    weft__fs_inline_disabled = true;
    env_setup();
    assert_int_equal((uintptr_t)run_fiber(g.rt, calls_body, NULL), 1);
    env_teardown();
}

/* ---- a cancelled fiber ----------------------------------------------------------- */

static atomic_int open_result;

static void *open_fifo_body(void *arg) {
    weft_file f;
    int r = weft_fiber_file_open(&f, arg, NULL); /* waits on the pool for a writer */
    atomic_store(&open_result, r);
    if (r == 0) weft_file_close(&f);
    return NULL;
}

static void *fifo_writer(void *path) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    return NULL;
}

static void test_cancelled_fiber_closes_what_its_open_made(void **state) {
    (void)state;
    env_setup();
    static char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/fifo", g.dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int before = fd_count();
    atomic_store(&open_result, 1);
    uint64_t trips = pool_trips();
    weft_join_handle h = weft_fiber_spawn(g.rt, open_fifo_body, fifo, NULL);
    for (int i = 0; i < 10000 && pool_trips() == trips; i++) { /* until its open is on the pool */
        weft_sleep sl;
        AWAIT(weft_sleep_init(&sl, 1));
    }
    assert_int_equal(pool_trips() - trips, 1);
    weft_join_handle_abort(&h);
    AWAIT(&h.base);
    assert_int_equal(atomic_load(&open_result), -ECANCELED);
    pthread_t w;
    pthread_create(&w, NULL, fifo_writer, fifo); /* the open completes on the pool */
    pthread_join(w, NULL);
    assert_int_equal(fd_count_settled(before), before);
    env_teardown();
}

static void test_outside_a_fiber(void **state) {
    (void)state;
    env_setup();
    weft_metadata m;
    assert_int_equal(weft_fiber_fs_metadata(g.dir, &m), -EPERM);
    unsigned char *data = (unsigned char *)"untouched";
    assert_int_equal(weft_fiber_fs_read(g.dir, &data), -EPERM);
    assert_string_equal((char *)data, "untouched");
    env_teardown();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fiber_calls),
        cmocka_unit_test(test_fiber_calls_pool_only),
        cmocka_unit_test(test_cancelled_fiber_closes_what_its_open_made),
        cmocka_unit_test(test_outside_a_fiber),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
