/* archive.h - the retention archive's on-disk format, shared by the
 * `archive` output that writes it and `wharf archive verify|cat` that read it.
 *
 * An archive is a directory an auditor can check without wharf:
 *
 *   PATH/MANIFEST.jsonl                       one JSON line per closed segment
 *   PATH/YYYY/MM/DD/<host>-<seq>.ndjson.zst   standard zstd frames of NDJSON
 *   PATH/YYYY/MM/DD/<host>-<seq>.ndjson.zst.open   the segment being written
 *
 * A segment is a series of zstd frames (content checksums on), one per
 * ~1 MiB of events, ended by a zstd skippable frame holding the frame index
 * (offset, size, event count, earliest and latest @timestamp of each frame),
 * so readers skip frames outside a time range and `zstd -dc` ignores it.
 *
 * The manifest is append-only. Its first line names the archive; each
 * segment line carries the segment's SHA-256 and a chain value
 *
 *   chain = SHA-256(prev "|" seq "|" sha256 "|" count "|" first "|" last)
 *
 * over the lowercase hex / decimal / RFC 3339 text of those fields, starting
 * from SHA-256("wharf-archive|" archive_id). Deleting segments by retention
 * appends a chained prune line. With a signing key, lines carry an Ed25519
 * signature of their chain value (the 64 hex characters). */
#ifndef WHARF_ARCHIVE_H
#define WHARF_ARCHIVE_H

#include "wharf/buf.h"
#include "wharf/timefmt.h"

#include <stddef.h>
#include <stdint.h>

#define WHARF_ARCHIVE_MANIFEST "MANIFEST.jsonl"
#define WHARF_ARCHIVE_HEX_LEN  64 /* a SHA-256 in hex */
#define WHARF_ARCHIVE_ID_LEN   32 /* 128 random bits in hex */
#define WHARF_ARCHIVE_SIG_LEN  88 /* an Ed25519 signature in base64 */
#define WHARF_ARCHIVE_KEY_LEN  16 /* key fingerprint: hex of SHA-256 of the raw public key */
#define WHARF_ARCHIVE_FILE_MAX 256
#define WHARF_ARCHIVE_SUFFIX   ".ndjson.zst"
#define WHARF_ARCHIVE_OPEN     ".open"
#define WHARF_ARCHIVE_UNLISTED ".unlisted" /* a file wharf found and did not write */

typedef enum wharf_archive_line_type {
    WHARF_ARCHIVE_INVALID = 0, /* not a manifest line (edited, or not JSON) */
    WHARF_ARCHIVE_HEADER,      /* first line: archive_id, chain start */
    WHARF_ARCHIVE_SEGMENT,     /* a closed segment */
    WHARF_ARCHIVE_PRUNE,       /* segments from..to deleted by retention */
    WHARF_ARCHIVE_SEAL,        /* a signature of the head at shutdown, not chained */
} wharf_archive_line_type;

typedef char wharf_archive_hex_t[WHARF_ARCHIVE_HEX_LEN + 1];
typedef char wharf_archive_ts_t[WHARF_TIME_TEXT_LEN + 1];

typedef struct wharf_archive_line {
    wharf_archive_line_type type;
    char archive_id[WHARF_ARCHIVE_ID_LEN + 1]; /* HEADER */
    char host[64];                             /* HEADER */
    uint64_t seq;                              /* SEGMENT; PRUNE, SEAL: the head's seq */
    char file[WHARF_ARCHIVE_FILE_MAX];         /* SEGMENT: relative to the archive */
    wharf_archive_hex_t sha256;                /* SEGMENT: of the stored bytes */
    uint64_t bytes, count;                     /* SEGMENT */
    wharf_archive_ts_t first, last;            /* SEGMENT: earliest, latest @timestamp */
    wharf_archive_ts_t at;                     /* when the line was written */
    uint64_t from, to;                         /* PRUNE: seqs deleted */
    wharf_archive_hex_t pruned_chain;          /* PRUNE: chain value of line `to` */
    wharf_archive_hex_t chain;                 /* every type */
    char sig[WHARF_ARCHIVE_SIG_LEN + 1];       /* "" when unsigned */
    char key[WHARF_ARCHIVE_KEY_LEN + 1];
} wharf_archive_line_t;

/* The chain's start for an archive id. */
void wharf_archive_chain_start(const char *archive_id, wharf_archive_hex_t out);
/* The chain value of a SEGMENT or PRUNE line after prev; a HEADER's is its
 * start, a SEAL's is prev. */
void wharf_archive_chain_next(const char *prev, const wharf_archive_line_t *l,
                              wharf_archive_hex_t out);

/* Appends the line as JSON and '\n'. */
void wharf_archive_line_format(const wharf_archive_line_t *l, wharf_buf_t *out);
/* Parses one line (without its '\n'); 0, or WHARF_EPARSE with l->type
 * WHARF_ARCHIVE_INVALID. */
int wharf_archive_line_parse(const char *s, size_t n, wharf_archive_line_t *l);

/* The manifest read whole. A last line without '\n' (a torn append, or a
 * truncation) is left out and reported in torn / complete_len. */
typedef struct wharf_archive_manifest {
    wharf_archive_line_t *lines;
    size_t n;
    size_t complete_len; /* bytes up to the end of the last complete line */
    int torn;            /* bytes follow the last complete line */
} wharf_archive_manifest_t;

int wharf_archive_manifest_read(const char *archive, wharf_archive_manifest_t *m);
void wharf_archive_manifest_free(wharf_archive_manifest_t *m);

/* One zstd frame of a segment. */
typedef struct wharf_archive_frame {
    uint64_t offset, size, count;
    wharf_archive_ts_t first, last; /* "" when no event had a @timestamp */
} wharf_archive_frame_t;

/* Appends the skippable frame holding the index of frames[0..n). */
void wharf_archive_index_format(const wharf_archive_frame_t *frames, size_t n, wharf_buf_t *out);
/* Reads the index at the end of a closed segment (an open file); *frames
 * is malloc'd. 0, WHARF_EPARSE when the segment ends in no valid index, or
 * an I/O error. */
int wharf_archive_index_read(int fd, wharf_archive_frame_t **frames, size_t *n);
/* SHA-256 of a file's bytes in hex, and its size. */
int wharf_archive_sha256_file(const char *path, wharf_archive_hex_t out, uint64_t *size);
/* Walks the data frames at the start of data, decompressing each (which
 * checks its content checksum) to count its events and times; stops at the
 * first incomplete or corrupt frame or at a skippable frame. *frames is
 * malloc'd; *valid_end is where the last good data frame ends. */
int wharf_archive_frames_scan(const char *data, size_t len, wharf_archive_frame_t **frames,
                              size_t *n, size_t *valid_end);
/* Counts the events (lines) of NDJSON text into f and widens its span. */
void wharf_archive_frame_account(const char *text, size_t len, wharf_archive_frame_t *f);
/* Decompresses one frame into out (appended). 0 or WHARF_EPARSE. */
int wharf_archive_frame_decompress(const char *data, size_t len, wharf_buf_t *out);

/* The @timestamp of one NDJSON event line, as the 30-character UTC text
 * wharf writes; 0 when the line has none that parses. */
int wharf_archive_event_time(const char *line, size_t len, wharf_archive_ts_t out);
/* Widens [first, last] to include ts ("" bounds are empty). */
void wharf_archive_span_add(wharf_archive_ts_t first, wharf_archive_ts_t last,
                            const wharf_archive_ts_t ts);

/* A 32-byte digest in lowercase hex. */
void wharf_archive_hex32(const unsigned char md[32], wharf_archive_hex_t out);
/* SHA-256 of data in hex. */
void wharf_archive_sha256_hex(const void *data, size_t len, wharf_archive_hex_t out);

/* Ed25519 keys (PEM). Errors are negative codes; err gets a message for the
 * operator. */
typedef struct wharf_archive_key wharf_archive_key_t;
int wharf_archive_key_load(const char *path, int private_key, wharf_archive_key_t **out, char *err,
                           size_t err_len);
void wharf_archive_key_free(wharf_archive_key_t *k);
const char *wharf_archive_key_id(const wharf_archive_key_t *k);
/* Signs the chain value (its 64 hex characters); sig gets base64. */
int wharf_archive_sign(wharf_archive_key_t *k, const char *chain,
                       char sig[WHARF_ARCHIVE_SIG_LEN + 1]);
/* 1 when sig is k's signature of chain, else 0. */
int wharf_archive_sig_ok(wharf_archive_key_t *k, const char *chain, const char *sig);

#endif
