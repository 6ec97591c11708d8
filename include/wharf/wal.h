/* wal.h - the on-disk format of the disk buffer: segments and records.
 *
 * A segment file DIR/<seq, 16 decimal digits>.wal starts with a 16-byte
 * header ("WHARFWAL", u32 version, u32 zero) followed by records:
 *
 *   0  u32 magic      "WHFR", lets a reader find the next record after damage
 *   4  u32 length     payload bytes
 *   8  u32 crc32c     over bytes 0..7, 12..31 and the payload
 *  12  u8  type       WHARF_WAL_EVENTS | WHARF_WAL_CHECKPOINT
 *  13  u8[3]          zero
 *  16  u32 events     events in the payload (0 for a checkpoint)
 *  20  u32 raw_length payload length before compression
 *  24  u64 first      sequence number of the first event; for a checkpoint,
 *                     the sequence number the next event will get
 *  32  payload        events: one zstd frame of NDJSON; checkpoint: the
 *                     input positions as JSON (wharf/positions.h)
 *
 * All integers little-endian. Event sequence numbers count every event ever
 * committed, so an output's lag is a subtraction. */
#ifndef WHARF_WAL_H
#define WHARF_WAL_H

#include "wharf/buf.h"

#include <stddef.h>
#include <stdint.h>

#define WHARF_WAL_SEGMENT_HEADER 16
#define WHARF_WAL_RECORD_HEADER  32
#define WHARF_WAL_MAGIC          0x52464857u /* "WHFR" */
#define WHARF_WAL_MAX_PAYLOAD    (64u << 20)
#define WHARF_WAL_SUFFIX         ".wal"

enum { WHARF_WAL_EVENTS = 1, WHARF_WAL_CHECKPOINT = 2 };

typedef struct wharf_wal_record {
    uint8_t type;
    uint32_t length; /* payload */
    uint32_t events;
    uint32_t raw_length;
    uint64_t first;
} wharf_wal_record_t;

/* Writes the segment header into out (WHARF_WAL_SEGMENT_HEADER bytes). */
void wharf_wal_segment_header(unsigned char *out);
/* 1 when the first bytes are a segment header this version reads. */
int wharf_wal_segment_header_ok(const unsigned char *hdr, size_t n);

/* Appends header + payload to out. */
void wharf_wal_encode(wharf_buf_t *out, const wharf_wal_record_t *r, const void *payload);

/* What wharf_wal_read found at an offset. */
typedef enum wharf_wal_status {
    WHARF_WAL_OK,      /* a valid record */
    WHARF_WAL_END,     /* offset is the end of the segment */
    WHARF_WAL_TORN,    /* header or payload runs past the end of the segment */
    WHARF_WAL_CORRUPT, /* bad magic, length or checksum */
} wharf_wal_status;

/* Reads the record at off in a segment of `size` bytes open as fd. On OK
 * fills r and, when payload is not NULL, replaces payload's contents with the
 * record's payload. Returns a status, or a negative errno on I/O failure. */
int wharf_wal_read(int fd, uint64_t size, uint64_t off, wharf_wal_record_t *r,
                   wharf_buf_t *payload);
/* After damage at off: the offset of the next valid record, or size when
 * none follows. */
int64_t wharf_wal_resync(int fd, uint64_t size, uint64_t off, wharf_buf_t *scratch);

/* Walks the records of a segment after its header, in order. */
typedef struct wharf_wal_visitor {
    void *arg;
    /* A valid record at off; payload holds its payload. */
    void (*record)(void *arg, uint64_t off, const wharf_wal_record_t *r,
                   const wharf_buf_t *payload);
    /* Bytes [off, off + len) are no record. torn: no valid record follows. */
    void (*damage)(void *arg, uint64_t off, uint64_t len, int torn);
} wharf_wal_visitor_t;

/* Returns 0 or a negative errno; payload and scratch are work buffers. */
int wharf_wal_scan(int fd, uint64_t size, const wharf_wal_visitor_t *v, wharf_buf_t *payload,
                   wharf_buf_t *scratch);

/* "DIR/<seq>.wal" into out. */
int wharf_wal_segment_path(const char *dir, uint64_t seq, char *out, size_t n);
/* The sequence number of a segment file name, or 0 when it is not one. */
uint64_t wharf_wal_segment_seq(const char *name);

#endif
