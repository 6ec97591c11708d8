/* wal.c - encode, read and re-synchronise buffer records (see wharf/wal.h).
 *
 * Reading is by offset with pread(2), never by a shared file position, so the
 * writer, every output's cursor and `wharf buffer stat` in another process
 * can read one segment at the same time. */
#include "wharf/wal.h"

#include "wharf/crc32c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const unsigned char wal_segment_magic[8] = {'W', 'H', 'A', 'R', 'F', 'W', 'A', 'L'};
#define WAL_VERSION 1u

static void wal_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void wal_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t wal_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t wal_get64(const unsigned char *p)
{
    return (uint64_t)wal_get32(p) | (uint64_t)wal_get32(p + 4) << 32;
}

void wharf_wal_segment_header(unsigned char *out)
{
    memcpy(out, wal_segment_magic, sizeof(wal_segment_magic));
    wal_put32(out + 8, WAL_VERSION);
    wal_put32(out + 12, 0);
}

int wharf_wal_segment_header_ok(const unsigned char *hdr, size_t n)
{
    return n >= WHARF_WAL_SEGMENT_HEADER &&
           memcmp(hdr, wal_segment_magic, sizeof(wal_segment_magic)) == 0 &&
           wal_get32(hdr + 8) == WAL_VERSION;
}

/* The checksum covers everything but itself. */
static uint32_t wal_checksum(const unsigned char *hdr, const void *payload, size_t len)
{
    uint32_t crc = wharf_crc32c(0, hdr, 8);
    crc = wharf_crc32c(crc, hdr + 12, WHARF_WAL_RECORD_HEADER - 12);
    return wharf_crc32c(crc, payload, len);
}

void wharf_wal_encode(wharf_buf_t *out, const wharf_wal_record_t *r, const void *payload)
{
    unsigned char hdr[WHARF_WAL_RECORD_HEADER] = {0};
    wal_put32(hdr, WHARF_WAL_MAGIC);
    wal_put32(hdr + 4, r->length);
    hdr[12] = r->type;
    wal_put32(hdr + 16, r->events);
    wal_put32(hdr + 20, r->raw_length);
    wal_put64(hdr + 24, r->first);
    wal_put32(hdr + 8, wal_checksum(hdr, payload, r->length));
    wharf_buf_append(out, hdr, sizeof(hdr));
    wharf_buf_append(out, payload, r->length);
}

static int wal_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            return -EIO; /* shrank under us: the caller's size is stale */
        got += (size_t)k;
    }
    return 0;
}

static int wal_header_plausible(const unsigned char *hdr)
{
    uint8_t type = hdr[12];
    return wal_get32(hdr) == WHARF_WAL_MAGIC && wal_get32(hdr + 4) <= WHARF_WAL_MAX_PAYLOAD &&
           (type == WHARF_WAL_EVENTS || type == WHARF_WAL_CHECKPOINT) && hdr[13] == 0 &&
           hdr[14] == 0 && hdr[15] == 0;
}

int wharf_wal_read(int fd, uint64_t size, uint64_t off, wharf_wal_record_t *r, wharf_buf_t *payload)
{
    unsigned char hdr[WHARF_WAL_RECORD_HEADER];
    if (off >= size)
        return WHARF_WAL_END;
    if (size - off < WHARF_WAL_RECORD_HEADER)
        return WHARF_WAL_TORN;
    int rc = wal_pread_full(fd, hdr, sizeof(hdr), off);
    if (rc < 0)
        return rc;
    if (!wal_header_plausible(hdr))
        return WHARF_WAL_CORRUPT;
    r->type = hdr[12];
    r->length = wal_get32(hdr + 4);
    r->events = wal_get32(hdr + 16);
    r->raw_length = wal_get32(hdr + 20);
    r->first = wal_get64(hdr + 24);
    if (size - off - WHARF_WAL_RECORD_HEADER < r->length)
        return WHARF_WAL_TORN;
    payload->len = 0;
    wharf_buf_reserve(payload, r->length);
    rc = wal_pread_full(fd, payload->data, r->length, off + WHARF_WAL_RECORD_HEADER);
    if (rc < 0)
        return rc;
    payload->len = r->length;
    if (wal_checksum(hdr, payload->data, r->length) != wal_get32(hdr + 8))
        return WHARF_WAL_CORRUPT;
    return WHARF_WAL_OK;
}

int64_t wharf_wal_resync(int fd, uint64_t size, uint64_t off, wharf_buf_t *scratch)
{
    unsigned char chunk[65536];
    const unsigned char magic[4] = {'W', 'H', 'F', 'R'};
    for (uint64_t base = off; base < size;) {
        size_t n = size - base < sizeof(chunk) ? (size_t)(size - base) : sizeof(chunk);
        int rc = wal_pread_full(fd, chunk, n, base);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i + sizeof(magic) <= n; i++) {
            if (memcmp(chunk + i, magic, sizeof(magic)) != 0)
                continue;
            wharf_wal_record_t r;
            rc = wharf_wal_read(fd, size, base + i, &r, scratch);
            if (rc < 0)
                return rc;
            if (rc == WHARF_WAL_OK)
                return (int64_t)(base + i);
        }
        /* The magic may straddle two chunks. */
        base += n > sizeof(magic) ? n - (sizeof(magic) - 1) : n;
    }
    return (int64_t)size;
}

int wharf_wal_scan(int fd, uint64_t size, const wharf_wal_visitor_t *v, wharf_buf_t *payload,
                   wharf_buf_t *scratch)
{
    uint64_t off = WHARF_WAL_SEGMENT_HEADER;
    while (off < size) {
        wharf_wal_record_t r;
        int st = wharf_wal_read(fd, size, off, &r, payload);
        if (st < 0)
            return st;
        if (st == WHARF_WAL_OK) {
            v->record(v->arg, off, &r, payload);
            off += WHARF_WAL_RECORD_HEADER + (uint64_t)r.length;
            continue;
        }
        int64_t next = wharf_wal_resync(fd, size, off + 1, scratch);
        if (next < 0)
            return (int)next;
        v->damage(v->arg, off, (uint64_t)next - off, (uint64_t)next == size);
        off = (uint64_t)next;
    }
    return 0;
}

int wharf_wal_segment_path(const char *dir, uint64_t seq, char *out, size_t n)
{
    int k = snprintf(out, n, "%s/%016" PRIu64 WHARF_WAL_SUFFIX, dir, seq);
    return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

uint64_t wharf_wal_segment_seq(const char *name)
{
    size_t len = strlen(name);
    if (len != 16 + strlen(WHARF_WAL_SUFFIX) || strcmp(name + 16, WHARF_WAL_SUFFIX) != 0)
        return 0;
    uint64_t seq = 0;
    for (size_t i = 0; i < 16; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        seq = seq * 10 + (uint64_t)(name[i] - '0');
    }
    return seq;
}
