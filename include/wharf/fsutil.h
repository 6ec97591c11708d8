/* fsutil.h - small file-system helpers with errors as negative errno. */
#ifndef WHARF_FSUTIL_H
#define WHARF_FSUTIL_H

#include <stddef.h>

/* write(2) until done; retries EINTR. Returns bytes written (len unless an
 * error stopped it part-way) or -errno when nothing was written. */
long wharf_write_full(int fd, const void *data, size_t len);
/* 0 when all len bytes were written, else -errno of the write that failed
 * (ENOSPC, EIO, ...; what came before it may be in the file). */
int wharf_write_all(int fd, const void *data, size_t len);
/* mkdir -p. */
int wharf_mkdir_p(const char *path, unsigned mode);
/* mkdir -p of the directory part of a file path. */
int wharf_mkdir_parent(const char *file_path, unsigned mode);
/* Replaces path with data atomically: temp file, fsync, rename, fsync dir. */
int wharf_write_file_atomic(const char *path, const void *data, size_t len);
/* Reads a whole (small) file; *out is malloc'd and NUL-terminated. */
int wharf_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
