/* file.c - the `file` output: NDJSON appended to a file.
 *
 * Opened with O_APPEND so that several writers and logrotate's copytruncate
 * behave; reopened on SIGHUP so that rename-style rotation works too. A write
 * that the kernel accepted counts as delivered; sync() makes it durable and
 * runs before positions are saved. */
#include "wharf/common.h"
#include "wharf/fsutil.h"
#include "wharf/log.h"
#include "wharf/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct file_opts {
    char *path;
} file_opts_t;

typedef struct file_output {
    wharf_output_t base;
    const char *path;
    int fd;
} file_output_t;

static const wharf_conf_key_t file_keys[] = {
    {.name = "path", .kind = WHARF_CK_STR, .offset = offsetof(file_opts_t, path), .required = 1},
    {.name = NULL},
};

/* Offset just after the last '\n' before `size`, or 0. */
static off_t file_last_newline_end(int fd, off_t size)
{
    char buf[4096];
    while (size > 0) {
        off_t start = size > (off_t)sizeof(buf) ? size - (off_t)sizeof(buf) : 0;
        ssize_t n = pread(fd, buf, (size_t)(size - start), start);
        if (n <= 0)
            return -1;
        for (ssize_t i = n - 1; i >= 0; i--)
            if (buf[i] == '\n')
                return start + i + 1;
        size = start;
    }
    return 0;
}

/* A kill during a write leaves a partial last line. Its events were not
 * committed, so they will be written again: cut the fragment off so that the
 * file stays one valid JSON object per line. */
static int file_output_repair_tail(file_output_t *f, int fd)
{
    struct stat st;
    char last;
    if (fstat(fd, &st) < 0 || st.st_size == 0)
        return 0;
    if (pread(fd, &last, 1, st.st_size - 1) != 1 || last == '\n')
        return 0;
    off_t keep = file_last_newline_end(fd, st.st_size);
    if (keep < 0 || ftruncate(fd, keep) < 0)
        return -errno;
    wharf_log_warn("output file ended in a partial line (wharf stopped mid-write); removed it, "
                   "its events are written again",
                   "path=%s removed_bytes=%lld", f->path, (long long)(st.st_size - keep));
    return 0;
}

static int file_output_open(file_output_t *f)
{
    int rc = wharf_mkdir_parent(f->path, 0750);
    if (rc < 0)
        return rc;
    int fd = open(f->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    rc = file_output_repair_tail(f, fd);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    f->fd = fd;
    return 0;
}

static long file_output_write(wharf_output_t *o, const char *data, size_t len)
{
    file_output_t *f = (file_output_t *)o;
    return wharf_write_full(f->fd, data, len);
}

static int file_output_sync(wharf_output_t *o)
{
    file_output_t *f = (file_output_t *)o;
    return fdatasync(f->fd) < 0 ? -errno : 0;
}

static int file_output_reopen(wharf_output_t *o)
{
    file_output_t *f = (file_output_t *)o;
    int old = f->fd;
    int rc = file_output_open(f);
    if (rc < 0) {
        wharf_log_error("cannot reopen output file; still writing to the old one",
                        "output=%s path=%s error=\"%s\"", o->id, f->path, wharf_strerror(rc));
        return rc;
    }
    close(old);
    return 0;
}

static void file_output_destroy(wharf_output_t *o)
{
    file_output_t *f = (file_output_t *)o;
    close(f->fd);
    free(f);
}

static const wharf_output_ops_t file_output_ops = {
    file_output_write, file_output_sync, file_output_reopen, file_output_destroy, NULL,
};

static int file_output_create(const wharf_conf_section_t *sec, wharf_output_t **out)
{
    const file_opts_t *opts = sec->opts;
    file_output_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -ENOMEM;
    f->base.ops = &file_output_ops;
    f->base.id = sec->id;
    f->path = opts->path;
    int rc = file_output_open(f);
    if (rc < 0) {
        wharf_log_error("cannot open output file: check that its directory is writable",
                        "output=%s path=%s error=\"%s\"", sec->id, f->path, wharf_strerror(rc));
        free(f);
        return rc;
    }
    *out = &f->base;
    return 0;
}

const wharf_output_type_t wharf_output_file = {
    {"file", file_keys, sizeof(file_opts_t), NULL, NULL},
    file_output_create,
};
