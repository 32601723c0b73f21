/* Files: every operation on real files in a temporary directory, on the
 * suite's runtime; each test checks that no descriptor is left open.
 * weft-test: threaded  weft-test: timeout=180 */
#include "fs_support.h"

/* ---- open, write at the cursor, read back ---------------------------------------- */

static void test_write_then_read(void **state) {
    (void)state;
    env_setup();
    weft_file_open o;
    AWAIT(weft_file_create_init(&o, P("a.txt")));
    assert_int_equal(o.result, 0);
    weft_file f = o.file;
    weft_write_all w;
    AWAIT(weft_write_all_init(&w, &f.stream, "hello, ", 7));
    assert_int_equal(w.result, 0);
    AWAIT(weft_write_all_init(&w, &f.stream, "world\n", 6));
    assert_int_equal(w.result, 0);
    weft_flush fl;
    AWAIT(weft_flush_init(&fl, &f.stream));
    assert_int_equal(fl.result, 0);
    weft_file_close(&f);
    assert_int_equal(file_size(P("a.txt")), 13);

    AWAIT(weft_file_open_init(&o, P("a.txt"), NULL));
    assert_int_equal(o.result, 0);
    f = o.file;
    char buf[64] = {0};
    weft_read_exact rx;
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 5));
    assert_int_equal(rx.result, 0);
    assert_memory_equal(buf, "hello", 5);
    weft_read rd;
    AWAIT(weft_read_init(&rd, &f.stream, buf, sizeof buf));
    assert_int_equal(rd.result, 8);
    assert_memory_equal(buf, ", world\n", 8);
    AWAIT(weft_read_init(&rd, &f.stream, buf, sizeof buf));
    assert_int_equal(rd.result, 0); /* the end */
    AWAIT(weft_read_init(&rd, &f.stream, buf, sizeof buf));
    assert_int_equal(rd.result, 0); /* and again */
    weft_file_close(&f);

    weft_fs_read r;
    AWAIT(weft_fs_read_init(&r, P("a.txt")));
    assert_int_equal(r.result, 13);
    assert_string_equal((char *)r.data, "hello, world\n"); /* NUL-terminated */
    free(r.data);
    env_teardown();
}

/* A file that grows after a read saw its end is read on. */
static void test_read_after_end_sees_growth(void **state) {
    (void)state;
    env_setup();
    make_file(P("g"), 10, 1);
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("g"), NULL));
    weft_file f = o.file;
    unsigned char buf[64];
    weft_read rd;
    AWAIT(weft_read_init(&rd, &f.stream, buf, sizeof buf));
    assert_int_equal(rd.result, 10);
    AWAIT(weft_read_init(&rd, &f.stream, buf, sizeof buf));
    assert_int_equal(rd.result, 0);
    int fd = open(P("g"), O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "more", 4), 4);
    close(fd);
    AWAIT(weft_read_init(&rd, &f.stream, buf, sizeof buf));
    assert_int_equal(rd.result, 4);
    assert_memory_equal(buf, "more", 4);
    weft_file_close(&f);
    env_teardown();
}

/* ---- open options and open errors ---------------------------------------------------- */

static int open_with(const char *path, weft_open_options o) {
    weft_file_open f;
    AWAIT(weft_file_open_init(&f, path, &o));
    if (f.result == 0) weft_file_close(&f.file);
    return f.result;
}

static void test_open_errors(void **state) {
    (void)state;
    env_setup();
    make_file(P("file"), 3, 0);
    assert_int_equal(mkdir(P("dir"), 0755), 0);
    assert_int_equal(symlink(P("file"), P("link")), 0);

    /* Options that break the rules. */
    assert_int_equal(open_with(P("file"), (weft_open_options){0}), -EINVAL);
    assert_int_equal(open_with(P("file"), (weft_open_options){.read = true, .create = true}), -EINVAL);
    assert_int_equal(open_with(P("file"), (weft_open_options){.read = true, .truncate = true}), -EINVAL);
    assert_int_equal(open_with(P("file"), (weft_open_options){.append = true, .truncate = true}), -EINVAL);
    assert_int_equal(open_with(P("file"), (weft_open_options){.read = true, .flags = O_DIRECT}), -EINVAL);
    assert_int_equal(open_with(P("file"), (weft_open_options){.read = true, .flags = O_CREAT}), -EINVAL);
    assert_int_equal(open_with(P("new"), (weft_open_options){.write = true, .create = true, .mode = 010000}), -EINVAL);
    weft_file_open f;
    AWAIT(weft_file_open_init(&f, NULL, NULL));
    assert_int_equal(f.result, -EINVAL);

    /* What the file system says (every case also fails for root). */
    assert_int_equal(open_with(P("missing"), (weft_open_options){.read = true}), -ENOENT);
    assert_int_equal(open_with(P("dir"), (weft_open_options){.read = true}), -EISDIR);
    assert_int_equal(open_with(P("dir"), (weft_open_options){.write = true}), -EISDIR);
    assert_int_equal(open_with(P("file/x"), (weft_open_options){.read = true}), -ENOTDIR);
    assert_int_equal(open_with(P("file"), (weft_open_options){.write = true, .create_new = true}), -EEXIST);
    assert_int_equal(open_with(P("link"), (weft_open_options){.write = true, .create_new = true}), -EEXIST);
    assert_int_equal(open_with(P("link"), (weft_open_options){.read = true, .flags = O_NOFOLLOW}), -ELOOP);
    assert_int_equal(open_with(P("missing/x"), (weft_open_options){.write = true, .create = true}), -ENOENT);
    assert_int_equal(open_with("", (weft_open_options){.read = true}), -ENOENT);

    /* create_new creates; create keeps what is there; truncate empties it. */
    assert_int_equal(open_with(P("n"), (weft_open_options){.write = true, .create_new = true, .mode = 0600}), 0);
    struct stat st;
    assert_int_equal(stat(P("n"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600 & ~umask(022) & 0777);
    umask(022);
    assert_int_equal(open_with(P("file"), (weft_open_options){.write = true, .create = true}), 0);
    assert_int_equal(file_size(P("file")), 3);
    assert_int_equal(open_with(P("file"), (weft_open_options){.write = true, .truncate = true}), 0);
    assert_int_equal(file_size(P("file")), 0);
    env_teardown();
}

/* A file opened for reading cannot be written, and the other way round:
 * -EBADF at once, not from a write that was accepted first. */
static void test_access_mode_enforced(void **state) {
    (void)state;
    env_setup();
    make_file(P("f"), 100, 2);
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("f"), NULL));
    weft_file r = o.file;
    weft_write w;
    AWAIT(weft_write_init(&w, &r.stream, "x", 1));
    assert_int_equal(w.result, -EBADF);
    weft_file_write_at wa;
    AWAIT(weft_file_write_at_init(&wa, &r, "x", 1, 0));
    assert_int_equal(wa.result, -EBADF);
    weft_file_set_len sl;
    AWAIT(weft_file_set_len_init(&sl, &r, 0));
    assert_int_equal(sl.result, -EINVAL);
    weft_file_close(&r);

    weft_open_options wo = {.write = true};
    AWAIT(weft_file_open_init(&o, P("f"), &wo));
    weft_file wf = o.file;
    char buf[8];
    weft_read rd;
    AWAIT(weft_read_init(&rd, &wf.stream, buf, sizeof buf));
    assert_int_equal(rd.result, -EBADF);
    weft_file_read_at ra;
    AWAIT(weft_file_read_at_init(&ra, &wf, buf, sizeof buf, 0));
    assert_int_equal(ra.result, -EBADF);
    weft_file_read_to_end re;
    AWAIT(weft_file_read_to_end_init(&re, &wf));
    assert_int_equal(re.result, -EBADF);
    assert_null(re.data);
    weft_file_close(&wf);
    assert_int_equal(file_size(P("f")), 100);
    env_teardown();
}

/* ---- positional reads and writes, the cursor, seek ---------------------------------- */

static void test_read_at_write_at(void **state) {
    (void)state;
    env_setup();
    make_file(P("f"), 4096, 3);
    weft_open_options rw = {.read = true, .write = true};
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("f"), &rw));
    weft_file f = o.file;
    unsigned char buf[100];
    weft_file_read_at ra;
    AWAIT(weft_file_read_at_init(&ra, &f, buf, 100, 1000));
    assert_int_equal(ra.result, 100);
    assert_true(check_pattern(buf, 100, 3, 1000));
    AWAIT(weft_file_read_at_init(&ra, &f, buf, 100, 4050));
    assert_int_equal(ra.result, 46); /* short at the end */
    AWAIT(weft_file_read_at_init(&ra, &f, buf, 100, 5000));
    assert_int_equal(ra.result, 0);
    AWAIT(weft_file_read_at_init(&ra, &f, buf, 0, 0));
    assert_int_equal(ra.result, 0);

    weft_file_write_at wa;
    AWAIT(weft_file_write_at_init(&wa, &f, "XYZ", 3, 10));
    assert_int_equal(wa.result, 3);
    AWAIT(weft_file_write_at_init(&wa, &f, "end", 3, 8192)); /* past the end: a hole */
    assert_int_equal(wa.result, 3);
    assert_int_equal(file_size(P("f")), 8195);
    AWAIT(weft_file_write_at_init(&wa, &f, "x", 1, (uint64_t)INT64_MAX));
    assert_int_equal(wa.result, -EFBIG);

    /* The cursor did not move: a read at the cursor starts at 0 and sees
     * the positional write. */
    weft_read_exact rx;
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 16));
    assert_int_equal(rx.result, 0);
    assert_true(check_pattern(buf, 10, 3, 0));
    assert_memory_equal(buf + 10, "XYZ", 3);
    /* A positional write behind the read-ahead is seen by the next read
     * at the cursor (the buffered bytes are dropped). */
    AWAIT(weft_file_write_at_init(&wa, &f, "QQ", 2, 16));
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 4));
    assert_memory_equal(buf, "QQ", 2);
    weft_file_close(&f);
    env_teardown();
}

static void test_seek(void **state) {
    (void)state;
    env_setup();
    make_file(P("f"), 100000, 4);
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("f"), NULL));
    weft_file f = o.file;
    unsigned char buf[64];
    weft_read_exact rx;
    weft_file_seek sk;
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 10));
    AWAIT(weft_file_seek_init(&sk, &f, 0, SEEK_CUR));
    assert_int_equal(sk.result, 10);
    AWAIT(weft_file_seek_init(&sk, &f, 50, SEEK_CUR)); /* inside the read-ahead */
    assert_int_equal(sk.result, 60);
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 64));
    assert_true(check_pattern(buf, 64, 4, 60));
    AWAIT(weft_file_seek_init(&sk, &f, 90000, SEEK_SET));
    assert_int_equal(sk.result, 90000);
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 64));
    assert_true(check_pattern(buf, 64, 4, 90000));
    AWAIT(weft_file_seek_init(&sk, &f, -10, SEEK_END));
    assert_int_equal(sk.result, 99990);
    weft_read rd;
    AWAIT(weft_read_init(&rd, &f.stream, buf, 64));
    assert_int_equal(rd.result, 10);
    assert_true(check_pattern(buf, 10, 4, 99990));
    AWAIT(weft_file_seek_init(&sk, &f, 5, SEEK_SET)); /* backwards: outside the buffer */
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 8));
    assert_true(check_pattern(buf, 8, 4, 5));
    AWAIT(weft_file_seek_init(&sk, &f, 0, SEEK_DATA));
    assert_int_equal(sk.result, 0);
    AWAIT(weft_file_seek_init(&sk, &f, 0, SEEK_HOLE));
    assert_int_equal(sk.result, 100000);
    /* Errors leave the cursor where it was. */
    AWAIT(weft_file_seek_init(&sk, &f, 0, SEEK_CUR));
    int64_t here = sk.result;
    AWAIT(weft_file_seek_init(&sk, &f, -1, SEEK_SET));
    assert_int_equal(sk.result, -EINVAL);
    AWAIT(weft_file_seek_init(&sk, &f, INT64_MAX, SEEK_CUR));
    assert_int_equal(sk.result, -EINVAL);
    AWAIT(weft_file_seek_init(&sk, &f, 0, 42));
    assert_int_equal(sk.result, -EINVAL);
    AWAIT(weft_file_seek_init(&sk, &f, 200000, SEEK_DATA));
    assert_int_equal(sk.result, -ENXIO);
    AWAIT(weft_file_seek_init(&sk, &f, 0, SEEK_CUR));
    assert_int_equal(sk.result, here);
    weft_file_close(&f);
    env_teardown();
}

static void test_append(void **state) {
    (void)state;
    env_setup();
    make_file(P("log"), 5, 5);
    weft_open_options ao = {.read = true, .append = true};
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("log"), &ao));
    weft_file f = o.file;
    weft_write_all w;
    AWAIT(weft_write_all_init(&w, &f.stream, "abc", 3));
    AWAIT(weft_write_all_init(&w, &f.stream, "def", 3));
    weft_flush fl;
    AWAIT(weft_flush_init(&fl, &f.stream));
    assert_int_equal(fl.result, 0);
    assert_int_equal(file_size(P("log")), 11);
    weft_file_seek sk;
    AWAIT(weft_file_seek_init(&sk, &f, 0, SEEK_CUR));
    assert_int_equal(sk.result, 11); /* after an append, the cursor is at the end */
    /* A positional write to an append-mode file appends (pwrite on Linux). */
    weft_file_write_at wa;
    AWAIT(weft_file_write_at_init(&wa, &f, "g", 1, 0));
    assert_int_equal(file_size(P("log")), 12);
    weft_file_close(&f);
    weft_fs_read r;
    AWAIT(weft_fs_read_init(&r, P("log")));
    assert_int_equal(r.result, 12);
    assert_memory_equal(r.data + 5, "abcdefg", 7);
    free(r.data);
    env_teardown();
}

/* ---- sync, set_len, metadata -------------------------------------------------------- */

static void test_sync_set_len_metadata(void **state) {
    (void)state;
    env_setup();
    weft_open_options rw = {.read = true, .write = true, .create = true, .mode = 0640};
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("f"), &rw));
    assert_int_equal(o.result, 0);
    weft_file f = o.file;
    weft_write_all w;
    AWAIT(weft_write_all_init(&w, &f.stream, "0123456789", 10));
    weft_file_sync s;
    AWAIT(weft_file_sync_all_init(&s, &f));
    assert_int_equal(s.result, 0);
    weft_file_metadata m;
    AWAIT(weft_file_metadata_init(&m, &f)); /* sees the accepted write */
    assert_int_equal(m.result, 0);
    assert_int_equal(m.meta.size, 10);
    assert_int_equal(m.meta.type, WEFT_FILE_TYPE_FILE);
    assert_int_equal(m.meta.mode, 0640 & ~022);
    assert_int_equal(m.meta.nlink, 1);
    assert_true(m.meta.mtime.tv_sec > 1600000000);
    weft_file_set_len sl;
    AWAIT(weft_file_set_len_init(&sl, &f, 4));
    assert_int_equal(sl.result, 0);
    AWAIT(weft_file_metadata_init(&m, &f));
    assert_int_equal(m.meta.size, 4);
    AWAIT(weft_file_set_len_init(&sl, &f, 1 << 20));
    assert_int_equal(sl.result, 0);
    assert_int_equal(file_size(P("f")), 1 << 20);
    AWAIT(weft_file_set_len_init(&sl, &f, UINT64_MAX));
    assert_int_equal(sl.result, -EINVAL);
    AWAIT(weft_file_sync_data_init(&s, &f));
    assert_int_equal(s.result, 0);
    /* The cursor stayed at 10, past the end after the truncation to 4: the
     * bytes there now are the zeros of the extension. */
    unsigned char buf[4];
    weft_read_exact rx;
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 4));
    assert_int_equal(rx.result, 0);
    assert_memory_equal(buf, "\0\0\0\0", 4);
    weft_file_close(&f);

    weft_fs_metadata pm;
    AWAIT(weft_fs_metadata_init(&pm, P("f")));
    assert_int_equal(pm.result, 0);
    assert_int_equal(pm.meta.size, 1 << 20);
    assert_int_equal(symlink("f", P("l")), 0);
    AWAIT(weft_fs_metadata_init(&pm, P("l")));
    assert_int_equal(pm.meta.type, WEFT_FILE_TYPE_FILE);
    AWAIT(weft_fs_symlink_metadata_init(&pm, P("l")));
    assert_int_equal(pm.result, 0);
    assert_int_equal(pm.meta.type, WEFT_FILE_TYPE_SYMLINK);
    assert_int_equal(pm.meta.size, 1); /* the length of "f" */
    AWAIT(weft_fs_metadata_init(&pm, g.dir));
    assert_int_equal(pm.meta.type, WEFT_FILE_TYPE_DIR);
    AWAIT(weft_fs_metadata_init(&pm, "/dev/null"));
    assert_int_equal(pm.meta.type, WEFT_FILE_TYPE_CHAR_DEVICE);
    AWAIT(weft_fs_metadata_init(&pm, P("missing")));
    assert_int_equal(pm.result, -ENOENT);
    AWAIT(weft_fs_metadata_init(&pm, P("f/x")));
    assert_int_equal(pm.result, -ENOTDIR);
    assert_int_equal(symlink("loop", P("loop")), 0);
    AWAIT(weft_fs_metadata_init(&pm, P("loop")));
    assert_int_equal(pm.result, -ELOOP);
    AWAIT(weft_fs_metadata_init(&pm, NULL));
    assert_int_equal(pm.result, -EINVAL);
    assert_string_equal(weft_file_type_name(WEFT_FILE_TYPE_SYMLINK), "symlink");
    assert_string_equal(weft_file_type_name((weft_file_type)99), "unknown");
    env_teardown();
}

/* ---- directories, removal, rename, links, permissions ----------------------------- */

static int simple(weft_future *fut, int *result) {
    AWAIT(fut);
    return *result;
}
#define MKDIR(p, m) simple(weft_fs_create_dir_init(&cd, (p), (m)), &cd.result)
#define MKDIR_ALL(p) simple(weft_fs_create_dir_all_init(&cd, (p), 0), &cd.result)
#define RM(p) simple(weft_fs_remove_file_init(&rm, (p)), &rm.result)
#define RMDIR(p) simple(weft_fs_remove_dir_init(&rm, (p)), &rm.result)
#define RMDIR_ALL(p) simple(weft_fs_remove_dir_all_init(&rm, (p)), &rm.result)

static void test_dirs_and_removal(void **state) {
    (void)state;
    env_setup();
    weft_fs_create_dir cd;
    weft_fs_remove rm;
    assert_int_equal(MKDIR(P("d"), 0), 0);
    assert_int_equal(MKDIR(P("d"), 0), -EEXIST);
    assert_int_equal(MKDIR(P("no/d"), 0), -ENOENT);
    assert_int_equal(MKDIR(P("m"), 0700), 0);
    assert_int_equal(MKDIR(P("bad"), 010000), -EINVAL);
    struct stat st;
    assert_int_equal(stat(P("m"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(MKDIR_ALL(P("a/b/c/d")), 0);
    assert_int_equal(MKDIR_ALL(P("a/b/c/d")), 0); /* exists: fine */
    assert_int_equal(MKDIR_ALL(P("a//b/x/")), 0);
    assert_int_equal(stat(P("a/b/x"), &st), 0);
    make_file(P("file"), 1, 0);
    assert_int_equal(MKDIR_ALL(P("file")), -EEXIST);
    assert_int_equal(MKDIR_ALL(P("file/sub")), -ENOTDIR);
    assert_int_equal(MKDIR(P("file/sub"), 0), -ENOTDIR);
    assert_int_equal(MKDIR_ALL(""), -ENOENT);

    assert_int_equal(RMDIR(P("a")), -ENOTEMPTY);
    assert_int_equal(RMDIR(P("file")), -ENOTDIR);
    assert_int_equal(RM(P("d")), -EISDIR);
    assert_int_equal(RM(P("missing")), -ENOENT);
    assert_int_equal(RMDIR(P("d")), 0);
    assert_int_equal(RMDIR(P("d")), -ENOENT);

    /* remove_dir_all: a tree with files, and a link to a directory outside
     * it whose contents must survive. */
    assert_int_equal(MKDIR_ALL(P("keep")), 0);
    make_file(P("keep/precious"), 10, 1);
    for (int i = 0; i < 50; i++) {
        char n[64];
        snprintf(n, sizeof n, "a/b/f%d", i);
        make_file(P(n), 100, (uint32_t)i);
    }
    assert_int_equal(symlink(P("keep"), P("a/b/c/to_keep")), 0);
    assert_int_equal(mkfifo(P("a/fifo"), 0600), 0);
    assert_int_equal(RMDIR_ALL(P("a")), 0);
    assert_int_equal(stat(P("a"), &st), -1);
    assert_int_equal(file_size(P("keep/precious")), 10);
    assert_int_equal(RMDIR_ALL(P("a")), -ENOENT);
    assert_int_equal(RMDIR_ALL(P("file")), -ENOTDIR);
    assert_int_equal(symlink(P("keep"), P("lk")), 0);
    assert_int_equal(RMDIR_ALL(P("lk")), 0); /* removes the link only */
    assert_int_equal(lstat(P("lk"), &st), -1);
    assert_int_equal(file_size(P("keep/precious")), 10);
    assert_int_equal(RM(P("file")), 0);
    assert_int_equal(file_size(P("file")), -1);
    assert_int_equal(RM(NULL), -EINVAL);
    env_teardown();
}

static void test_rename_links_permissions(void **state) {
    (void)state;
    env_setup();
    make_file(P("a"), 10, 1);
    make_file(P("b"), 20, 2);
    weft_fs_rename rn;
    AWAIT(weft_fs_rename_init(&rn, P("a"), P("c")));
    assert_int_equal(rn.result, 0);
    assert_int_equal(file_size(P("a")), -1);
    assert_int_equal(file_size(P("c")), 10);
    AWAIT(weft_fs_rename_init(&rn, P("c"), P("b"))); /* replaces b */
    assert_int_equal(rn.result, 0);
    assert_int_equal(file_size(P("b")), 10);
    AWAIT(weft_fs_rename_init(&rn, P("missing"), P("x")));
    assert_int_equal(rn.result, -ENOENT);
    assert_int_equal(mkdir(P("d1"), 0755), 0);
    assert_int_equal(mkdir(P("d2"), 0755), 0);
    make_file(P("d2/x"), 1, 0);
    AWAIT(weft_fs_rename_init(&rn, P("d1"), P("d2")));
    assert_true(rn.result == -ENOTEMPTY || rn.result == -EEXIST);
    AWAIT(weft_fs_rename_init(&rn, P("b"), P("d1")));
    assert_int_equal(rn.result, -EISDIR);
    AWAIT(weft_fs_rename_init(&rn, P("d1"), P("b")));
    assert_int_equal(rn.result, -ENOTDIR);
    AWAIT(weft_fs_rename_init(&rn, P("b"), NULL));
    assert_int_equal(rn.result, -EINVAL);

    weft_fs_link ln;
    AWAIT(weft_fs_hard_link_init(&ln, P("b"), P("hard")));
    assert_int_equal(ln.result, 0);
    weft_fs_metadata m;
    AWAIT(weft_fs_metadata_init(&m, P("b")));
    assert_int_equal(m.meta.nlink, 2);
    AWAIT(weft_fs_hard_link_init(&ln, P("b"), P("hard")));
    assert_int_equal(ln.result, -EEXIST);
    AWAIT(weft_fs_symlink_init(&ln, "b", P("soft")));
    assert_int_equal(ln.result, 0);
    weft_fs_read_link rl;
    AWAIT(weft_fs_read_link_init(&rl, P("soft")));
    assert_int_equal(rl.result, 0);
    assert_string_equal(rl.target, "b");
    free(rl.target);
    AWAIT(weft_fs_read_link_init(&rl, P("b")));
    assert_int_equal(rl.result, -EINVAL);
    assert_null(rl.target);

    weft_fs_canonicalize cn;
    AWAIT(weft_fs_canonicalize_init(&cn, P("d1/../soft")));
    assert_int_equal(cn.result, 0);
    char want[300];
    char *real = realpath(P("b"), NULL);
    snprintf(want, sizeof want, "%s", real);
    free(real);
    assert_string_equal(cn.path, want);
    free(cn.path);
    AWAIT(weft_fs_canonicalize_init(&cn, P("nope/..")));
    assert_int_equal(cn.result, -ENOENT);

    weft_fs_set_permissions sp;
    AWAIT(weft_fs_set_permissions_init(&sp, P("b"), 0604));
    assert_int_equal(sp.result, 0);
    AWAIT(weft_fs_metadata_init(&m, P("b")));
    assert_int_equal(m.meta.mode, 0604);
    AWAIT(weft_fs_set_permissions_init(&sp, P("b"), 0170000));
    assert_int_equal(sp.result, -EINVAL);
    AWAIT(weft_fs_set_permissions_init(&sp, P("missing"), 0600));
    assert_int_equal(sp.result, -ENOENT);
    env_teardown();
}

/* ---- whole files, large files, copy ---------------------------------------------------- */

static void test_fs_read_write_whole(void **state) {
    (void)state;
    env_setup();
    weft_fs_write w;
    AWAIT(weft_fs_write_init(&w, P("w"), "contents", 8));
    assert_int_equal(w.result, 0);
    AWAIT(weft_fs_write_init(&w, P("w"), "new", 3)); /* truncates */
    assert_int_equal(w.result, 0);
    weft_fs_read r;
    AWAIT(weft_fs_read_init(&r, P("w")));
    assert_int_equal(r.result, 3);
    assert_string_equal((char *)r.data, "new");
    free(r.data);
    AWAIT(weft_fs_write_init(&w, P("empty"), NULL, 0));
    assert_int_equal(w.result, 0);
    AWAIT(weft_fs_read_init(&r, P("empty")));
    assert_int_equal(r.result, 0);
    assert_non_null(r.data);
    assert_int_equal(r.data[0], 0);
    free(r.data);
    AWAIT(weft_fs_read_init(&r, g.dir));
    assert_int_equal(r.result, -EISDIR);
    assert_null(r.data);
    AWAIT(weft_fs_read_init(&r, P("missing")));
    assert_int_equal(r.result, -ENOENT);
    AWAIT(weft_fs_write_init(&w, g.dir, "x", 1));
    assert_int_equal(w.result, -EISDIR);
    AWAIT(weft_fs_write_init(&w, P("no/x"), "x", 1));
    assert_int_equal(w.result, -ENOENT);
    AWAIT(weft_fs_write_init(&w, P("x"), NULL, 1));
    assert_int_equal(w.result, -EINVAL);
    /* A file whose size stat does not know (procfs). */
    AWAIT(weft_fs_read_init(&r, "/proc/self/status"));
    assert_true(r.result > 100);
    assert_non_null(strstr((char *)r.data, "Pid:"));
    free(r.data);
    env_teardown();
}

#define LARGE ((size_t)9 * 1024 * 1024 + 123)

static void test_large_files(void **state) {
    (void)state;
    env_setup();
    make_file(P("big"), LARGE, 7);
    weft_fs_read r;
    AWAIT(weft_fs_read_init(&r, P("big")));
    assert_int_equal(r.result, (ssize_t)LARGE);
    assert_true(check_pattern(r.data, LARGE, 7, 0));
    free(r.data);

    /* read_to_end from the middle, after a small read filled the read-ahead. */
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("big"), NULL));
    weft_file f = o.file;
    unsigned char head[100];
    weft_read_exact rx;
    AWAIT(weft_read_exact_init(&rx, &f.stream, head, sizeof head));
    assert_true(check_pattern(head, sizeof head, 7, 0));
    weft_file_read_to_end re;
    AWAIT(weft_file_read_to_end_init(&re, &f));
    assert_int_equal(re.result, (ssize_t)(LARGE - 100));
    assert_true(check_pattern(re.data, LARGE - 100, 7, 100));
    free(re.data);
    AWAIT(weft_file_read_to_end_init(&re, &f)); /* at the end: nothing */
    assert_int_equal(re.result, 0);
    free(re.data);
    weft_file_seek sk;
    AWAIT(weft_file_seek_init(&sk, &f, 0, SEEK_CUR));
    assert_int_equal(sk.result, (int64_t)LARGE);
    weft_file_close(&f);

    /* Through the kernel (same file system) and by hand (to tmpfs). */
    weft_fs_copy cp;
    AWAIT(weft_fs_copy_init(&cp, P("big"), P("copy")));
    assert_int_equal(cp.result, (int64_t)LARGE);
    AWAIT(weft_fs_read_init(&r, P("copy")));
    assert_int_equal(r.result, (ssize_t)LARGE);
    assert_true(check_pattern(r.data, LARGE, 7, 0));
    free(r.data);
    char shm[128];
    snprintf(shm, sizeof shm, "/dev/shm/weft-fs-copy-%d", getpid());
    AWAIT(weft_fs_copy_init(&cp, P("big"), shm));
    assert_int_equal(cp.result, (int64_t)LARGE);
    AWAIT(weft_fs_read_init(&r, shm));
    assert_int_equal(r.result, (ssize_t)LARGE);
    assert_true(check_pattern(r.data, LARGE, 7, 0));
    free(r.data);
    unlink(shm);

    /* weft_copy from one file stream into another (write-behind under a
     * reader that runs ahead). */
    AWAIT(weft_file_open_init(&o, P("big"), NULL));
    weft_file in = o.file;
    AWAIT(weft_file_create_init(&o, P("streamed")));
    weft_file out = o.file;
    weft_copy c;
    AWAIT(weft_copy_init(&c, &in.stream, &out.stream, NULL, 0));
    assert_int_equal(c.result, 0);
    assert_int_equal(c.total, LARGE);
    weft_file_close(&in);
    weft_file_close(&out); /* the copy flushed: everything is written */
    assert_int_equal(file_size(P("streamed")), (long long)LARGE);
    AWAIT(weft_fs_read_init(&r, P("streamed")));
    assert_true(check_pattern(r.data, LARGE, 7, 0));
    free(r.data);
    env_teardown();
}

static void test_copy_errors(void **state) {
    (void)state;
    env_setup();
    make_file(P("src"), 1000, 9);
    chmod(P("src"), 0751);
    weft_fs_copy cp;
    AWAIT(weft_fs_copy_init(&cp, P("src"), P("dst")));
    assert_int_equal(cp.result, 1000);
    struct stat st;
    assert_int_equal(stat(P("dst"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0751);
    make_file(P("dst"), 5000, 1); /* overwritten: truncated first */
    AWAIT(weft_fs_copy_init(&cp, P("src"), P("dst")));
    assert_int_equal(file_size(P("dst")), 1000);
    AWAIT(weft_fs_copy_init(&cp, P("src"), P("src")));
    assert_int_equal(cp.result, -EINVAL);
    assert_int_equal(file_size(P("src")), 1000); /* not lost */
    AWAIT(weft_fs_copy_init(&cp, g.dir, P("x")));
    assert_int_equal(cp.result, -EISDIR);
    AWAIT(weft_fs_copy_init(&cp, P("missing"), P("x")));
    assert_int_equal(cp.result, -ENOENT);
    AWAIT(weft_fs_copy_init(&cp, "/dev/null", P("x")));
    assert_int_equal(cp.result, -EINVAL); /* not a regular file */
    AWAIT(weft_fs_copy_init(&cp, P("src"), g.dir));
    assert_int_equal(cp.result, -EISDIR);
    AWAIT(weft_fs_copy_init(&cp, P("src"), P("no/x")));
    assert_int_equal(cp.result, -ENOENT);
    AWAIT(weft_fs_copy_init(&cp, P("src"), "/dev/null"));
    assert_int_equal(cp.result, 1000);
    env_teardown();
}

/* ---- read_dir ------------------------------------------------------------------------- */

static void test_read_dir_10000(void **state) {
    (void)state;
    env_setup();
    enum { N = 10000 };
    assert_int_equal(mkdir(P("many"), 0755), 0);
    for (int i = 0; i < N; i++) {
        char n[64];
        snprintf(n, sizeof n, "many/entry-%05d", i);
        int fd = open(P(n), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
    }
    assert_int_equal(mkdir(P("many/subdir"), 0755), 0);
    assert_int_equal(symlink("entry-00000", P("many/link")), 0);
    assert_int_equal(mkfifo(P("many/fifo"), 0600), 0);
    weft_read_dir_open o;
    uint64_t trips = pool_trips();
    AWAIT(weft_read_dir_open_init(&o, P("many")));
    assert_int_equal(o.result, 0);
    weft_read_dir d = o.dir;
    static bool seen[N];
    memset(seen, 0, sizeof seen);
    int files = 0, others = 0;
    weft_read_dir_next nx;
    for (;;) {
        AWAIT(weft_read_dir_next_init(&nx, &d));
        assert_true(nx.result >= 0);
        if (nx.result == 0) break;
        int i;
        if (sscanf(nx.entry.name, "entry-%05d", &i) == 1) {
            assert_false(seen[i]);
            seen[i] = true;
            assert_int_equal(nx.entry.type, WEFT_FILE_TYPE_FILE);
            assert_true(nx.entry.ino != 0);
            files++;
        } else {
            if (!strcmp(nx.entry.name, "subdir")) assert_int_equal(nx.entry.type, WEFT_FILE_TYPE_DIR);
            else if (!strcmp(nx.entry.name, "link")) assert_int_equal(nx.entry.type, WEFT_FILE_TYPE_SYMLINK);
            else if (!strcmp(nx.entry.name, "fifo")) assert_int_equal(nx.entry.type, WEFT_FILE_TYPE_FIFO);
            else fail_msg("unexpected entry %s", nx.entry.name);
            others++;
        }
    }
    assert_int_equal(files, N);
    assert_int_equal(others, 3);
    /* Batches: far fewer pool trips than entries (one per 64 KiB of records). */
    assert_true(pool_trips() - trips < 40);
    AWAIT(weft_read_dir_next_init(&nx, &d)); /* the end is sticky */
    assert_int_equal(nx.result, 0);
    weft_read_dir_close(&d);
    weft_read_dir_close(&d); /* again: nothing */
    AWAIT(weft_read_dir_next_init(&nx, &d));
    assert_int_equal(nx.result, -EBADF);
    AWAIT(weft_read_dir_next_init(&nx, NULL));
    assert_int_equal(nx.result, -EINVAL);

    /* Errors. */
    AWAIT(weft_read_dir_open_init(&o, P("missing")));
    assert_int_equal(o.result, -ENOENT);
    make_file(P("file"), 1, 0);
    AWAIT(weft_read_dir_open_init(&o, P("file")));
    assert_int_equal(o.result, -ENOTDIR);
    AWAIT(weft_read_dir_open_init(&o, NULL));
    assert_int_equal(o.result, -EINVAL);
    /* An empty directory. */
    assert_int_equal(mkdir(P("empty"), 0755), 0);
    AWAIT(weft_read_dir_open_init(&o, P("empty")));
    d = o.dir;
    AWAIT(weft_read_dir_next_init(&nx, &d));
    assert_int_equal(nx.result, 0);
    weft_read_dir_close(&d);
    env_teardown();
}

/* ---- adopt, into_fd, empty handles ---------------------------------------------------- */

static void test_adopt_into_fd(void **state) {
    (void)state;
    env_setup();
    make_file(P("f"), 1000, 11);
    int fd = open(P("f"), O_RDWR); /* no O_CLOEXEC: adopt sets it */
    assert_int_equal(lseek(fd, 100, SEEK_SET), 100);
    weft_file f;
    assert_int_equal(weft_file_adopt(&f, fd), 0);
    assert_int_equal(weft_file_fd(&f), fd);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    unsigned char buf[50];
    weft_read_exact rx;
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 50));
    assert_true(check_pattern(buf, 50, 11, 100)); /* from the descriptor's offset */
    weft_write_all w;
    AWAIT(weft_write_all_init(&w, &f.stream, "ZZ", 2)); /* at 150, write-behind */
    weft_flush fl;
    AWAIT(weft_flush_init(&fl, &f.stream));
    assert_int_equal(fl.result, 0);
    int back = weft_file_into_fd(&f);
    assert_int_equal(back, fd);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 152); /* the cursor */
    assert_int_equal(weft_file_into_fd(&f), -EBADF);
    assert_int_equal(weft_file_fd(&f), -EBADF);
    weft_file_close(&f); /* empty: nothing */
    char two[2];
    assert_int_equal(pread(fd, two, 2, 150), 2);
    assert_memory_equal(two, "ZZ", 2);
    close(fd);

    /* What adopt refuses, leaving the descriptor as it was. */
    assert_int_equal(weft_file_adopt(&f, -1), -EBADF);
    assert_int_equal(weft_file_adopt(&f, 12345), -EBADF);
    assert_int_equal(weft_file_adopt(NULL, 0), -EINVAL);
    int dfd = open(g.dir, O_RDONLY | O_DIRECTORY);
    assert_int_equal(weft_file_adopt(&f, dfd), -EISDIR);
    assert_false(fcntl(dfd, F_GETFD) & FD_CLOEXEC);
    close(dfd);
    int pfd = open(P("f"), O_PATH | O_CLOEXEC);
    assert_int_equal(weft_file_adopt(&f, pfd), -EBADF);
    close(pfd);
    assert_null(f.core);
    env_teardown();
}

/* Every operation on an empty handle (zeroed, closed, given back) is
 * -EBADF, never a crash. */
static void test_empty_handles(void **state) {
    (void)state;
    env_setup();
    weft_file zero;
    memset(&zero, 0, sizeof zero);
    weft_file closed;
    make_file(P("f"), 10, 0);
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("f"), NULL));
    closed = o.file;
    weft_file_close(&closed);
    weft_file *cases[] = {&zero, &closed};
    for (int i = 0; i < 2; i++) {
        weft_file *f = cases[i];
        char buf[4];
        weft_read rd;
        AWAIT(weft_read_init(&rd, &f->stream, buf, 4));
        assert_int_equal(rd.result, -EBADF);
        weft_write wr;
        AWAIT(weft_write_init(&wr, &f->stream, buf, 4));
        assert_int_equal(wr.result, -EBADF);
        weft_flush fl;
        AWAIT(weft_flush_init(&fl, &f->stream));
        assert_int_equal(fl.result, -EBADF);
        weft_file_read_at ra;
        AWAIT(weft_file_read_at_init(&ra, f, buf, 4, 0));
        assert_int_equal(ra.result, -EBADF);
        weft_file_write_at wa;
        AWAIT(weft_file_write_at_init(&wa, f, buf, 4, 0));
        assert_int_equal(wa.result, -EBADF);
        weft_file_read_to_end re;
        AWAIT(weft_file_read_to_end_init(&re, f));
        assert_int_equal(re.result, -EBADF);
        weft_file_seek sk;
        AWAIT(weft_file_seek_init(&sk, f, 0, SEEK_SET));
        assert_int_equal(sk.result, -EBADF);
        weft_file_sync sy;
        AWAIT(weft_file_sync_all_init(&sy, f));
        assert_int_equal(sy.result, -EBADF);
        weft_file_set_len sl;
        AWAIT(weft_file_set_len_init(&sl, f, 0));
        assert_int_equal(sl.result, -EBADF);
        weft_file_metadata md;
        AWAIT(weft_file_metadata_init(&md, f));
        assert_int_equal(md.result, -EBADF);
        assert_int_equal(weft_file_fd(f), -EBADF);
        assert_int_equal(weft_file_into_fd(f), -EBADF);
        weft_file_close(f);
    }
    /* NULL handles. */
    weft_file_read_at ra;
    AWAIT(weft_file_read_at_init(&ra, NULL, NULL, 0, 0));
    assert_int_equal(ra.result, -EINVAL);
    weft_file_metadata md;
    AWAIT(weft_file_metadata_init(&md, NULL));
    assert_int_equal(md.result, -EINVAL);
    assert_int_equal(weft_file_fd(NULL), -EBADF);
    weft_file_close(NULL);
    weft_read_dir_close(NULL);
    env_teardown();
}

/* Polled with no runtime (by hand): -EINVAL, nothing started. */
static void test_no_runtime(void **state) {
    (void)state;
    env_setup();
    weft_fs_read r;
    weft_fs_read_init(&r, P("x"));
    weft_context cx = {weft_waker_noop(), NULL, 128};
    assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_READY);
    assert_int_equal(r.result, -EINVAL);
    weft_file_open o;
    weft_file_open_init(&o, P("x"), NULL);
    assert_int_equal(weft_future_poll(&o.base, &cx), WEFT_READY);
    assert_int_equal(o.result, -EINVAL);
    env_teardown();
}

/* ---- the stream helpers over a file ------------------------------------------------------ */

static void test_bufreader_lines(void **state) {
    (void)state;
    env_setup();
    weft_fs_write w;
    char text[20000];
    size_t n = 0;
    for (int i = 0; i < 1000; i++) n += (size_t)snprintf(text + n, sizeof text - n, "line %d\n", i);
    AWAIT(weft_fs_write_init(&w, P("lines"), text, n));
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("lines"), NULL));
    weft_file f = o.file;
    weft_bufreader br;
    assert_int_equal(weft_bufreader_init(&br, &f.stream, NULL, 0), 0);
    char line[64];
    for (int i = 0; i < 1000; i++) {
        weft_read_until ru;
        AWAIT(weft_read_line_init(&ru, &br, line, sizeof line));
        char want[32];
        snprintf(want, sizeof want, "line %d\n", i);
        assert_string_equal(line, want);
    }
    weft_read_until ru;
    AWAIT(weft_read_line_init(&ru, &br, line, sizeof line));
    assert_int_equal(ru.result, 0);
    weft_bufreader_destroy(&br);
    weft_file_close(&f);
    env_teardown();
}

/* /dev/full fails every write with ENOSPC: a write-behind error reaches
 * the next flush (and is reported once). */
static void test_write_behind_error(void **state) {
    (void)state;
    env_setup();
    weft_open_options wo = {.write = true};
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, "/dev/full", &wo));
    assert_int_equal(o.result, 0);
    weft_file f = o.file;
    weft_write w;
    AWAIT(weft_write_init(&w, &f.stream, "abc", 3));
    assert_int_equal(w.result, 3); /* accepted */
    weft_flush fl;
    AWAIT(weft_flush_init(&fl, &f.stream));
    assert_int_equal(fl.result, -ENOSPC);
    AWAIT(weft_flush_init(&fl, &f.stream));
    assert_int_equal(fl.result, 0); /* reported once */
    AWAIT(weft_write_init(&w, &f.stream, "abc", 3));
    assert_int_equal(w.result, 3);
    weft_file_sync s;
    AWAIT(weft_file_sync_all_init(&s, &f)); /* the write's error comes first */
    assert_int_equal(s.result, -ENOSPC);
    /* The next write reports an error left by the one before it. */
    AWAIT(weft_write_init(&w, &f.stream, "abc", 3));
    assert_int_equal(w.result, 3);
    weft_file_metadata md;
    AWAIT(weft_file_metadata_init(&md, &f)); /* waits for the write to end */
    AWAIT(weft_write_init(&w, &f.stream, "abc", 3));
    assert_int_equal(w.result, -ENOSPC);
    weft_file_close(&f);
    env_teardown();
}

/* ---- the design: what costs a pool trip ------------------------------------------- */

/* A file in the page cache, on a file system that answers RWF_NOWAIT:
 * opening it, reading it 512 bytes at a time, reading it whole and its
 * metadata cost no pool trip at all. */
static void test_cached_reads_stay_inline(void **state) {
    (void)state;
    env_setup();
    if (!nowait_supported()) {
        print_message("RWF_NOWAIT not supported on %s: skipped\n", g.dir);
        env_teardown();
        return;
    }
    make_file(P("f"), 1 << 20, 12);
    weft_fs_read warm;
    AWAIT(weft_fs_read_init(&warm, P("f"))); /* pages and dentries in memory */
    free(warm.data);
    uint64_t trips = pool_trips();
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("f"), NULL));
    assert_int_equal(o.result, 0);
    weft_file f = o.file;
    unsigned char buf[512];
    size_t total = 0;
    for (;;) {
        weft_read rd;
        AWAIT(weft_read_init(&rd, &f.stream, buf, sizeof buf));
        assert_true(rd.result >= 0);
        if (rd.result == 0) break;
        assert_true(check_pattern(buf, (size_t)rd.result, 12, total));
        total += (size_t)rd.result;
    }
    assert_int_equal(total, 1 << 20);
    weft_file_close(&f);
    weft_fs_read r;
    AWAIT(weft_fs_read_init(&r, P("f")));
    assert_int_equal(r.result, 1 << 20);
    free(r.data);
    weft_fs_metadata m;
    AWAIT(weft_fs_metadata_init(&m, P("f")));
    assert_int_equal(m.meta.size, 1 << 20);
    assert_int_equal(pool_trips() - trips, 0);
    env_teardown();
}

/* With every call on the pool, small sequential reads still do not cost a
 * trip each: the read-ahead window (16 KiB doubling to 128 KiB) serves them. */
static void test_read_ahead_batches_small_reads(void **state) {
    (void)state;
    weft__fs_inline_disabled = true;
    env_setup();
    make_file(P("f"), 1 << 20, 13);
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("f"), NULL));
    weft_file f = o.file;
    uint64_t trips = pool_trips();
    unsigned char buf[512];
    size_t total = 0;
    int reads = 0;
    for (;;) {
        weft_read rd;
        AWAIT(weft_read_init(&rd, &f.stream, buf, sizeof buf));
        if (rd.result <= 0) break;
        assert_true(check_pattern(buf, (size_t)rd.result, 13, total));
        total += (size_t)rd.result;
        reads++;
    }
    assert_int_equal(total, 1 << 20);
    assert_int_equal(reads, 2048);
    uint64_t used = pool_trips() - trips;
    print_message("2048 reads of 512 bytes: %llu pool trips\n", (unsigned long long)used);
    assert_true(used <= 16); /* 16+32+64+128 KiB, then 128 KiB a trip, and the end */
    /* A seek resets the window: a small read elsewhere reads 16 KiB. */
    weft_file_seek sk;
    AWAIT(weft_file_seek_init(&sk, &f, 500000, SEEK_SET));
    weft_read_exact rx;
    AWAIT(weft_read_exact_init(&rx, &f.stream, buf, 100));
    assert_true(check_pattern(buf, 100, 13, 500000));
    weft_file_close(&f);
    env_teardown();
}

/* Small writes gather behind the one being written, and the same pool trip
 * writes them. Deterministically: the file is a FIFO whose pipe is full, so
 * the first write waits on its pool thread until the test drains the pipe;
 * the 9,999 writes after it are accepted meanwhile, and one trip writes
 * everything, in order. */
typedef struct drain {
    int fd;
    size_t want, got;
    unsigned char *buf;
} drain;

static void *drain_main(void *arg) {
    drain *d = arg;
    while (d->got < d->want) {
        ssize_t n = read(d->fd, d->buf + d->got, d->want - d->got);
        if (n <= 0) break;
        d->got += (size_t)n;
    }
    return NULL;
}

static void test_write_behind_batches_small_writes(void **state) {
    (void)state;
    env_setup();
    enum { WRITES = 10000, SIZE = 100 };
    assert_int_equal(mkfifo(P("fifo"), 0600), 0);
    int rfd = open(P("fifo"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    int fill = open(P("fifo"), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    unsigned char junk[4096];
    memset(junk, 'j', sizeof junk);
    size_t filled = 0;
    for (ssize_t n; (n = write(fill, junk, sizeof junk)) > 0;) filled += (size_t)n;
    close(fill);
    weft_open_options wo = {.write = true};
    weft_file_open o;
    AWAIT(weft_file_open_init(&o, P("fifo"), &wo));
    assert_int_equal(o.result, 0);
    weft_file f = o.file;
    uint64_t trips = pool_trips();
    unsigned char buf[SIZE];
    for (int i = 0; i < WRITES; i++) {
        for (int j = 0; j < SIZE; j++) buf[j] = pattern(14, (uint64_t)i * SIZE + (uint64_t)j);
        weft_write_all w;
        AWAIT(weft_write_all_init(&w, &f.stream, buf, SIZE));
        assert_int_equal(w.result, 0);
    }
    assert_int_equal(pool_trips() - trips, 1); /* the first write's trip is still waiting */
    fcntl(rfd, F_SETFL, 0);
    drain d = {rfd, filled + WRITES * SIZE, 0, malloc(filled + WRITES * SIZE)};
    pthread_t th;
    pthread_create(&th, NULL, drain_main, &d);
    weft_flush fl;
    AWAIT(weft_flush_init(&fl, &f.stream));
    assert_int_equal(fl.result, 0);
    pthread_join(th, NULL);
    assert_int_equal(pool_trips() - trips, 1);
    assert_int_equal(d.got, d.want);
    assert_true(check_pattern(d.buf + filled, WRITES * SIZE, 14, 0));
    free(d.buf);
    weft_file_close(&f);
    close(rfd);
    env_teardown();
}

/* ---- the cooperative budget ------------------------------------------------------- */

typedef struct flag_task {
    WEFT_CORO_FIELDS;
    atomic_bool *flag;
} flag_task;

WEFT_ASYNC(flag_task, NULL) {
    WEFT_BEGIN();
    atomic_store(self->flag, true);
    WEFT_END();
}

typedef struct busy_stat {
    WEFT_CORO_FIELDS;
    const char *path;
    atomic_bool flag;
    flag_task ft;
    weft_join_handle h;
    weft_fs_metadata m;
    long i;
    long *out; /* how many it made before the other task ran */
} busy_stat;

WEFT_ASYNC(busy_stat, NULL) {
    WEFT_BEGIN();
    flag_task_start(&self->ft);
    self->ft.flag = &self->flag;
    self->h = WEFT_SPAWN(cx->runtime, &self->ft, flag, NULL);
    /* Every metadata completes inline, yet the task yields after its
     * budget, so the other task runs on this one thread. */
    for (self->i = 0; self->i < 100000 && !atomic_load(&self->flag); self->i++)
        WEFT_AWAIT(weft_fs_metadata_init(&self->m, self->path));
    *self->out = self->i;
    WEFT_AWAIT(&self->h.base);
    WEFT_END();
}

static void test_inline_operations_spend_budget(void **state) {
    (void)state;
    env_setup();
    weft_runtime_destroy(g.rt);
    g.rt = rt_new_single();
    static busy_stat b;
    memset(&b, 0, sizeof b);
    busy_stat_start(&b);
    b.path = g.dir;
    long made = -1;
    b.out = &made;
    run_as_task(g.rt, &b, sizeof b);
    print_message("the other task ran after %ld inline operations\n", made);
    assert_true(made >= 0 && made < 100000);
    env_teardown();
}

/* Every test twice: as it comes (inline system calls where they cannot
 * block), and with everything on the blocking pool. */
static int pool_only(void **state) {
    (void)state;
    weft__fs_inline_disabled = true;
    return 0;
}
#define BOTH(t) cmocka_unit_test(t), {#t "/pool", t, pool_only, NULL, NULL}

int main(void) {
    const struct CMUnitTest tests[] = {
        BOTH(test_write_then_read),
        BOTH(test_read_after_end_sees_growth),
        BOTH(test_open_errors),
        BOTH(test_access_mode_enforced),
        BOTH(test_read_at_write_at),
        BOTH(test_seek),
        BOTH(test_append),
        BOTH(test_sync_set_len_metadata),
        BOTH(test_dirs_and_removal),
        BOTH(test_rename_links_permissions),
        BOTH(test_fs_read_write_whole),
        BOTH(test_large_files),
        BOTH(test_copy_errors),
        BOTH(test_read_dir_10000),
        BOTH(test_adopt_into_fd),
        BOTH(test_empty_handles),
        BOTH(test_no_runtime),
        BOTH(test_bufreader_lines),
        BOTH(test_write_behind_error),
        cmocka_unit_test(test_cached_reads_stay_inline),
        cmocka_unit_test(test_read_ahead_batches_small_reads),
        cmocka_unit_test(test_write_behind_batches_small_writes),
        cmocka_unit_test(test_inline_operations_spend_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
