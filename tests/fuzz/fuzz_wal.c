/* fuzz_wal.c - libFuzzer target for reading buffer segments.
 *
 * Recovery reads whatever a crash, a full disk or a bad sector left in
 * data_dir/buffer, so the record scanner must take any bytes: every byte
 * after the segment header is accounted for exactly once, either inside a
 * valid record or in a reported damaged range, in order; records it accepts
 * re-encode to the same bytes. Seeds: tests/fuzz/corpus/wal/ (segments
 * written by wharf). */
#define _GNU_SOURCE
#include "wharf/buf.h"
#include "wharf/wal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct walk {
    const uint8_t *data;
    uint64_t next; /* the offset the next record or damage must start at */
    wharf_buf_t reencoded;
} walk_t;

static void walk_record(void *arg, uint64_t off, const wharf_wal_record_t *r,
                        const wharf_buf_t *payload)
{
    walk_t *w = arg;
    if (off != w->next || payload->len != r->length)
        abort();
    w->reencoded.len = 0;
    wharf_wal_encode(&w->reencoded, r, payload->data);
    if (memcmp(w->reencoded.data, w->data + off, w->reencoded.len) != 0)
        abort();
    w->next = off + WHARF_WAL_RECORD_HEADER + r->length;
}

static void walk_damage(void *arg, uint64_t off, uint64_t len, int torn)
{
    walk_t *w = arg;
    (void)torn;
    if (off != w->next || len == 0)
        abort();
    w->next = off + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("segment", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    walk_t w = {data, WHARF_WAL_SEGMENT_HEADER, {NULL, 0, 0}};
    wharf_buf_t payload, scratch;
    wharf_buf_init(&payload);
    wharf_buf_init(&scratch);
    wharf_wal_visitor_t v = {&w, walk_record, walk_damage};
    if (wharf_wal_scan(fd, size, &v, &payload, &scratch) != 0)
        abort();
    if (size > WHARF_WAL_SEGMENT_HEADER && w.next != size)
        abort();
    wharf_buf_free(&payload);
    wharf_buf_free(&scratch);
    wharf_buf_free(&w.reencoded);
    close(fd);
    return 0;
}
