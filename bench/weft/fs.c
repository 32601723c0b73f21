/*
 * bench_fs <row> [--blocking] [--n N] [--mt W]: file benchmarks.
 *
 * Rows (each repeated N times inside one measured section):
 *   fs_read_4k   read a whole 4 KiB file by path        (weft_fs_read)
 *   fs_read_1m   read a whole 1 MiB file by path
 *   fs_seq_4k    open a 4 KiB file, read it 512 bytes at a time to the end, close
 *   fs_seq_1m    the same over a 1 MiB file (2,049 reads)
 *   fs_metadata  metadata of a path                      (weft_fs_metadata)
 *   fs_read_dir  open a directory of 10,000 entries, read every entry (name
 *                and type), close
 *
 * Without --blocking the work runs as a weft future on a current_thread
 * runtime (multi_thread with --mt W); with --blocking it is the same work
 * with plain blocking system calls on the main thread (the floor). The
 * Tokio twin is bench/peers/tokio_fs. Files are created in a temporary
 * directory under /tmp and read once before the measured section, so
 * every side reads from the page cache.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <weft.h>

#include "bench_common.h"

enum { ROW_READ_4K, ROW_READ_1M, ROW_SEQ_4K, ROW_SEQ_1M, ROW_METADATA, ROW_READ_DIR, ROWS };
static const struct {
    const char *name;
    long n;
} rows[ROWS] = {
    {"fs_read_4k", 20000}, {"fs_read_1m", 1000},  {"fs_seq_4k", 20000},
    {"fs_seq_1m", 200},    {"fs_metadata", 50000}, {"fs_read_dir", 100},
};

#define SMALL_READ 512
#define DIR_ENTRIES 10000

static char dir[64], f4k[96], f1m[96], many[96];

/* ---- setup ------------------------------------------------------------------ */

static void write_file(const char *path, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    unsigned char buf[4096];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 31 + 7);
    for (size_t done = 0; done < len; done += sizeof buf)
        if (write(fd, buf, len - done < sizeof buf ? len - done : sizeof buf) < 0) exit(1);
    close(fd);
}

static long read_all_blocking(const char *path);

static void setup(void) {
    strcpy(dir, "/tmp/weft-bench-fs-XXXXXX");
    if (!mkdtemp(dir)) exit(1);
    snprintf(f4k, sizeof f4k, "%s/f4k", dir);
    snprintf(f1m, sizeof f1m, "%s/f1m", dir);
    snprintf(many, sizeof many, "%s/many", dir);
    write_file(f4k, 4096);
    write_file(f1m, 1 << 20);
    mkdir(many, 0755);
    for (int i = 0; i < DIR_ENTRIES; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/entry-%05d", many, i);
        close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    }
    /* Warm the page cache and the dentry cache. */
    read_all_blocking(f4k);
    read_all_blocking(f1m);
    DIR *d = opendir(many);
    while (readdir(d)) {
    }
    closedir(d);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void cleanup(void) { nftw(dir, rm_one, 64, FTW_DEPTH | FTW_PHYS); }

/* ---- the floor: plain blocking calls ------------------------------------------- */

/* What std::fs::read does: open, fstat for the size, read to the end, close. */
static long read_all_blocking(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    fstat(fd, &st);
    size_t cap = (size_t)st.st_size + 1, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (len == cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    long sum = buf[0] + (long)len;
    free(buf);
    return sum;
}

static long seq_blocking(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char buf[SMALL_READ];
    long sum = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) sum += n + buf[0];
    close(fd);
    return sum;
}

static long run_blocking(int row, long n) {
    long sum = 0;
    for (long i = 0; i < n; i++) {
        switch (row) {
        case ROW_READ_4K: sum += read_all_blocking(f4k); break;
        case ROW_READ_1M: sum += read_all_blocking(f1m); break;
        case ROW_SEQ_4K: sum += seq_blocking(f4k); break;
        case ROW_SEQ_1M: sum += seq_blocking(f1m); break;
        case ROW_METADATA: {
            struct stat st;
            stat(f1m, &st);
            sum += st.st_size;
            break;
        }
        case ROW_READ_DIR: {
            DIR *d = opendir(many);
            struct dirent *e;
            while ((e = readdir(d)))
                if (e->d_name[0] != '.') sum += 1 + (e->d_type == DT_REG);
            closedir(d);
            break;
        }
        }
    }
    return sum;
}

/* ---- weft ------------------------------------------------------------------------ */

typedef struct root {
    WEFT_CORO_FIELDS;
    int row;
    long n, i;
    union {
        weft_fs_read r;
        weft_file_open o;
        weft_read rd;
        weft_fs_metadata m;
        weft_read_dir_open od;
        weft_read_dir_next nx;
    } u;
    weft_file f;
    weft_read_dir d;
    unsigned char buf[SMALL_READ];
    long sum;
    int err;
} root;

WEFT_ASYNC(root, NULL) {
    WEFT_BEGIN();
    for (self->i = 0; self->i < self->n; self->i++) {
        switch (self->row) {
        case ROW_READ_4K:
        case ROW_READ_1M:
            WEFT_AWAIT(weft_fs_read_init(&self->u.r, self->row == ROW_READ_4K ? f4k : f1m));
            if (self->u.r.result < 0) {
                self->err = (int)self->u.r.result;
                WEFT_RETURN();
            }
            self->sum += self->u.r.data[0] + self->u.r.result;
            free(self->u.r.data);
            break;
        case ROW_SEQ_4K:
        case ROW_SEQ_1M:
            WEFT_AWAIT(weft_file_open_init(&self->u.o, self->row == ROW_SEQ_4K ? f4k : f1m, NULL));
            if (self->u.o.result < 0) {
                self->err = self->u.o.result;
                WEFT_RETURN();
            }
            self->f = self->u.o.file;
            for (;;) {
                WEFT_AWAIT(weft_read_init(&self->u.rd, &self->f.stream, self->buf, sizeof self->buf));
                if (self->u.rd.result <= 0) break;
                self->sum += self->u.rd.result + self->buf[0];
            }
            weft_file_close(&self->f);
            break;
        case ROW_METADATA:
            WEFT_AWAIT(weft_fs_metadata_init(&self->u.m, f1m));
            self->sum += (long)self->u.m.meta.size;
            break;
        case ROW_READ_DIR:
            WEFT_AWAIT(weft_read_dir_open_init(&self->u.od, many));
            if (self->u.od.result < 0) {
                self->err = self->u.od.result;
                WEFT_RETURN();
            }
            self->d = self->u.od.dir;
            for (;;) {
                WEFT_AWAIT(weft_read_dir_next_init(&self->u.nx, &self->d));
                if (self->u.nx.result <= 0) break;
                self->sum += 1 + (self->u.nx.entry.type == WEFT_FILE_TYPE_FILE);
            }
            weft_read_dir_close(&self->d);
            break;
        }
    }
    WEFT_END();
}

static void usage(void) {
    fprintf(stderr, "usage: bench_fs <fs_read_4k|fs_read_1m|fs_seq_4k|fs_seq_1m|fs_metadata|fs_read_dir> "
                    "[--blocking] [--n N] [--mt W]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    int row = -1;
    for (int r = 0; r < ROWS; r++)
        if (!strcmp(argv[1], rows[r].name)) row = r;
    if (row < 0) usage();
    long n = rows[row].n;
    bool blocking = false;
    unsigned mt = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--blocking")) blocking = true;
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atol(argv[++i]);
        else if (!strcmp(argv[i], "--mt") && i + 1 < argc) mt = (unsigned)atoi(argv[++i]);
        else usage();
    }
    setup();
    long sum = 0;
    double wall, cpu;
    if (blocking) {
        bench_stopwatch sw = bench_start();
        sum = run_blocking(row, n);
        wall = bench_wall(&sw);
        cpu = bench_cpu(&sw);
    } else {
        weft_runtime_options o = {0};
        if (mt) {
            o.flavor = WEFT_MULTI_THREAD;
            o.workers = mt;
        }
        weft_runtime *rt;
        if (weft_runtime_create(&rt, &o) != 0) return 1;
        root r;
        memset(&r, 0, sizeof r);
        root_start(&r);
        r.row = row;
        r.n = n;
        bench_stopwatch sw = bench_start();
        weft_block_on(rt, &r.base);
        wall = bench_wall(&sw);
        cpu = bench_cpu(&sw);
        weft_runtime_destroy(rt);
        if (r.err) {
            fprintf(stderr, "bench_fs: %s\n", weft_strerror(r.err));
            cleanup();
            return 1;
        }
        sum = r.sum;
    }
    cleanup();
    /* Both sides compute the same sum: a check that the same work was done. */
    printf("RESULT %s secs=%.6f cpu=%.6f n=%ld per_op_us=%.3f sum=%ld\n", rows[row].name, wall, cpu,
           n, wall / (double)n * 1e6, sum);
    return 0;
}
