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
    {"path", WHARF_CK_STR, offsetof(file_opts_t, path), 1, NULL, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static int file_output_open(file_output_t *f)
{
    int rc = wharf_mkdir_parent(f->path, 0750);
    if (rc < 0)
        return rc;
    int fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
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
    file_output_write,
    file_output_sync,
    file_output_reopen,
    file_output_destroy,
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
    {"file", file_keys, sizeof(file_opts_t), NULL},
    file_output_create,
};
