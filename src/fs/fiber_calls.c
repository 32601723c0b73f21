/* Blocking-style calls for fibers over the file futures (weft/fs.h): each
 * awaits the future of the same name and returns what it reports. */
#include "weft/fiber.h"
#include "weft/fs.h"

/* Awaits `fut` (the future `f`) and returns its result, or weft_await's
 * error (-ECANCELED, -EPERM). */
#define AWAIT_RESULT(f, init) ({                \
    int rc_ = weft_await(init);                 \
    rc_ ? (__typeof__((f).result))rc_ : (f).result; \
})

int weft_fiber_file_open(weft_file *out, const char *path, const weft_open_options *opts) {
    weft_file_open f;
    int r = AWAIT_RESULT(f, weft_file_open_init(&f, path, opts));
    if (r == 0) *out = f.file;
    return r;
}

int weft_fiber_file_create(weft_file *out, const char *path) {
    weft_file_open f;
    int r = AWAIT_RESULT(f, weft_file_create_init(&f, path));
    if (r == 0) *out = f.file;
    return r;
}

int weft_fiber_file_flush(weft_file *file) {
    weft_flush f;
    return AWAIT_RESULT(f, weft_flush_init(&f, file ? &file->stream : NULL));
}

ssize_t weft_fiber_file_read_at(weft_file *file, void *buf, size_t len, uint64_t offset) {
    weft_file_read_at f;
    return AWAIT_RESULT(f, weft_file_read_at_init(&f, file, buf, len, offset));
}

ssize_t weft_fiber_file_write_at(weft_file *file, const void *buf, size_t len, uint64_t offset) {
    weft_file_write_at f;
    return AWAIT_RESULT(f, weft_file_write_at_init(&f, file, buf, len, offset));
}

ssize_t weft_fiber_file_read_to_end(weft_file *file, unsigned char **data) {
    weft_file_read_to_end f;
    ssize_t r = AWAIT_RESULT(f, weft_file_read_to_end_init(&f, file));
    if (r >= 0) *data = f.data;
    return r;
}

int64_t weft_fiber_file_seek(weft_file *file, int64_t offset, int whence) {
    weft_file_seek f;
    return AWAIT_RESULT(f, weft_file_seek_init(&f, file, offset, whence));
}

int weft_fiber_file_sync_all(weft_file *file) {
    weft_file_sync f;
    return AWAIT_RESULT(f, weft_file_sync_all_init(&f, file));
}

int weft_fiber_file_sync_data(weft_file *file) {
    weft_file_sync f;
    return AWAIT_RESULT(f, weft_file_sync_data_init(&f, file));
}

int weft_fiber_file_set_len(weft_file *file, uint64_t len) {
    weft_file_set_len f;
    return AWAIT_RESULT(f, weft_file_set_len_init(&f, file, len));
}

int weft_fiber_file_metadata(weft_file *file, weft_metadata *out) {
    weft_file_metadata f;
    int r = AWAIT_RESULT(f, weft_file_metadata_init(&f, file));
    if (r == 0) *out = f.meta;
    return r;
}

ssize_t weft_fiber_fs_read(const char *path, unsigned char **data) {
    weft_fs_read f;
    ssize_t r = AWAIT_RESULT(f, weft_fs_read_init(&f, path));
    if (r >= 0) *data = f.data;
    return r;
}

int weft_fiber_fs_write(const char *path, const void *buf, size_t len) {
    weft_fs_write f;
    return AWAIT_RESULT(f, weft_fs_write_init(&f, path, buf, len));
}

int weft_fiber_fs_metadata(const char *path, weft_metadata *out) {
    weft_fs_metadata f;
    int r = AWAIT_RESULT(f, weft_fs_metadata_init(&f, path));
    if (r == 0) *out = f.meta;
    return r;
}

int weft_fiber_fs_symlink_metadata(const char *path, weft_metadata *out) {
    weft_fs_metadata f;
    int r = AWAIT_RESULT(f, weft_fs_symlink_metadata_init(&f, path));
    if (r == 0) *out = f.meta;
    return r;
}

int weft_fiber_fs_create_dir(const char *path, uint32_t mode) {
    weft_fs_create_dir f;
    return AWAIT_RESULT(f, weft_fs_create_dir_init(&f, path, mode));
}

int weft_fiber_fs_create_dir_all(const char *path, uint32_t mode) {
    weft_fs_create_dir f;
    return AWAIT_RESULT(f, weft_fs_create_dir_all_init(&f, path, mode));
}

int weft_fiber_fs_remove_file(const char *path) {
    weft_fs_remove f;
    return AWAIT_RESULT(f, weft_fs_remove_file_init(&f, path));
}

int weft_fiber_fs_remove_dir(const char *path) {
    weft_fs_remove f;
    return AWAIT_RESULT(f, weft_fs_remove_dir_init(&f, path));
}

int weft_fiber_fs_remove_dir_all(const char *path) {
    weft_fs_remove f;
    return AWAIT_RESULT(f, weft_fs_remove_dir_all_init(&f, path));
}

int weft_fiber_fs_rename(const char *from, const char *to) {
    weft_fs_rename f;
    return AWAIT_RESULT(f, weft_fs_rename_init(&f, from, to));
}

int weft_fiber_fs_hard_link(const char *existing, const char *link) {
    weft_fs_link f;
    return AWAIT_RESULT(f, weft_fs_hard_link_init(&f, existing, link));
}

int weft_fiber_fs_symlink(const char *target, const char *link) {
    weft_fs_link f;
    return AWAIT_RESULT(f, weft_fs_symlink_init(&f, target, link));
}

int weft_fiber_fs_set_permissions(const char *path, uint32_t mode) {
    weft_fs_set_permissions f;
    return AWAIT_RESULT(f, weft_fs_set_permissions_init(&f, path, mode));
}

int64_t weft_fiber_fs_copy(const char *from, const char *to) {
    weft_fs_copy f;
    return AWAIT_RESULT(f, weft_fs_copy_init(&f, from, to));
}

int weft_fiber_fs_canonicalize(const char *path, char **out) {
    weft_fs_canonicalize f;
    int r = AWAIT_RESULT(f, weft_fs_canonicalize_init(&f, path));
    if (r == 0) *out = f.path;
    return r;
}

int weft_fiber_fs_read_link(const char *path, char **out) {
    weft_fs_read_link f;
    int r = AWAIT_RESULT(f, weft_fs_read_link_init(&f, path));
    if (r == 0) *out = f.target;
    return r;
}

int weft_fiber_read_dir_open(weft_read_dir *out, const char *path) {
    weft_read_dir_open f;
    int r = AWAIT_RESULT(f, weft_read_dir_open_init(&f, path));
    if (r == 0) *out = f.dir;
    return r;
}

int weft_fiber_read_dir_next(weft_read_dir *d, weft_dir_entry *out) {
    weft_read_dir_next f;
    int r = AWAIT_RESULT(f, weft_read_dir_next_init(&f, d));
    if (r == 1) *out = f.entry;
    return r;
}
