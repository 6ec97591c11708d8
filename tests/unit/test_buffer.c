/* test_buffer.c - the disk buffer: commits read back through cursors (whole
 * blocks and in pieces), what a reopen restores (checkpoint, event numbers,
 * acked cursors), segment rolls and the checkpoint each segment starts with,
 * trimming, recovery from a torn tail at every byte, corrupt records and
 * damaged files, when_full block and drop_oldest, and READ_ONLY opens that
 * must not touch a byte.
 *
 * Each test works in its own temp directory. The test keeps a model of what
 * it committed: block k holds the lines {"n":E,"r":"<hash of E>"} for its
 * events E and the checkpoint "ckpt-<id>", so any read-back is compared byte
 * for byte with what the model says it must be. */
#include "wharf/buf.h"
#include "wharf/buffer.h"
#include "wharf/common.h"
#include "wharf/compressor.h"
#include "wharf/config.h"
#include "wharf/log.h"
#include "wharf/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

/* ---- the model: what was committed ------------------------------------------- */

typedef struct block {
    uint64_t first; /* event number of its first line */
    uint32_t n;     /* lines (events); 0: a checkpoint-only commit */
    unsigned ck;    /* its checkpoint is "ckpt-<ck>" */
} block_t;

/* Every file of the buffer directory: names, sizes and bytes. */
typedef struct snapshot {
    wharf_buf_t summary; /* "name size\n" per file, sorted: for the message */
    wharf_buf_t bytes;   /* all contents, in the same order */
} snapshot_t;

/* The records of a segment file, as wharf_wal_scan walks them. */
typedef struct scanned {
    uint64_t off;
    wharf_wal_record_t r;
    char payload[64]; /* checkpoints only, NUL-terminated */
} scanned_t;

typedef struct scan {
    scanned_t *v;
    size_t n, cap;
    size_t n_damage;
    uint64_t damage_off, damage_len;
    int damage_torn;
} scan_t;

typedef struct harness {
    char *root;         /* mkdtemp, removed at teardown */
    char dir[PATH_MAX]; /* the buffer: root/buffer */
    wharf_conf_buffer_t conf;
    wharf_buffer_t *b;
    block_t *blocks;
    size_t n_blocks, cap_blocks;
    uint64_t next_event;
    unsigned next_ck;
    /* scratch, freed at teardown even when an assertion fails */
    wharf_buf_t text, want, layout;
    wharf_buf_t pristine, saved_cursors; /* files before a test damages them */
    snapshot_t before, after;
    scan_t scan;
    wharf_buf_t scan_payload, scan_scratch;
} harness_t;

static uint64_t mix(uint64_t x)
{
    /* splitmix64: the "r" of a line depends on its number only, so zstd
     * cannot shrink the lines to nothing and a line read back can be checked
     * against its number */
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static void put_line(wharf_buf_t *out, uint64_t n)
{
    char tmp[64];
    int k = snprintf(tmp, sizeof(tmp), "{\"n\":%" PRIu64 ",\"r\":\"%016" PRIx64 "\"}\n", n, mix(n));
    wharf_buf_append(out, tmp, (size_t)k);
}

/* The NDJSON of block k. */
static void block_text(const harness_t *h, size_t k, wharf_buf_t *out)
{
    out->len = 0;
    for (uint32_t i = 0; i < h->blocks[k].n; i++)
        put_line(out, h->blocks[k].first + i);
}

static void ckpt_text(unsigned ck, char *out, size_t n)
{
    snprintf(out, n, "ckpt-%u", ck);
}

/* Lines in the k-th block of a test: 1..11, varied. */
static uint32_t lines_for(size_t k)
{
    return (uint32_t)(1 + (k * 7) % 11);
}

static uint64_t total_events(const harness_t *h)
{
    uint64_t n = 0;
    for (size_t k = 0; k < h->n_blocks; k++)
        n += h->blocks[k].n;
    return n;
}

/* Forgets blocks [n, n_blocks): a recovery cut them. */
static void model_cut(harness_t *h, size_t n)
{
    h->n_blocks = n;
    h->next_event = n > 0 ? h->blocks[n - 1].first + h->blocks[n - 1].n : 0;
}

/* ---- the harness ------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int setup(void **state)
{
    harness_t *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -1;
    char tmpl[] = "/tmp/wharf-test-buffer-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (d == NULL) {
        free(h);
        return -1;
    }
    h->root = strdup(d);
    snprintf(h->dir, sizeof(h->dir), "%s/buffer", d);
    h->conf.segment_size = 64 << 10;
    h->conf.max_size = 1 << 20;
    h->conf.when_full = WHARF_WHEN_FULL_BLOCK;
    h->conf.fsync = WHARF_FSYNC_NEVER;
    h->conf.fsync_interval_ms = 1000;
    h->conf.compression_level = 1;
    wharf_buf_t *bufs[] = {&h->text,         &h->want,          &h->layout,
                           &h->pristine,     &h->saved_cursors, &h->before.summary,
                           &h->before.bytes, &h->after.summary, &h->after.bytes,
                           &h->scan_payload, &h->scan_scratch};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        wharf_buf_init(bufs[i]);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    harness_t *h = *state;
    wharf_buffer_close(h->b);
    nftw(h->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(h->root);
    free(h->blocks);
    wharf_buf_t *bufs[] = {&h->text,         &h->want,          &h->layout,
                           &h->pristine,     &h->saved_cursors, &h->before.summary,
                           &h->before.bytes, &h->after.summary, &h->after.bytes,
                           &h->scan_payload, &h->scan_scratch};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        wharf_buf_free(bufs[i]);
    free(h->scan.v);
    free(h);
    return 0;
}

static void h_open_flags(harness_t *h, int flags)
{
    assert_null(h->b);
    int rc = wharf_buffer_open(h->dir, &h->conf, flags, &h->b);
    if (rc != 0)
        fail_msg("wharf_buffer_open(%s, flags %d): %s", h->dir, flags, wharf_strerror(rc));
}

static void h_open(harness_t *h)
{
    h_open_flags(h, 0);
}

static void h_close(harness_t *h)
{
    wharf_buffer_close(h->b);
    h->b = NULL;
}

static void h_reopen(harness_t *h)
{
    h_close(h);
    h_open(h);
}

/* The model takes the block of n lines just committed. */
static void h_model_add(harness_t *h, uint32_t n)
{
    if (h->n_blocks == h->cap_blocks) {
        h->cap_blocks = h->cap_blocks ? h->cap_blocks * 2 : 64;
        h->blocks = realloc(h->blocks, h->cap_blocks * sizeof(*h->blocks));
        assert_non_null(h->blocks);
    }
    h->blocks[h->n_blocks++] = (block_t){h->next_event, n, h->next_ck};
    h->next_event += n;
    h->next_ck++;
}

/* The next block's lines into text and its checkpoint into ck. */
static void h_block_text(harness_t *h, uint32_t n, char ck[32])
{
    h->text.len = 0;
    for (uint32_t i = 0; i < n; i++)
        put_line(&h->text, h->next_event + i);
    ckpt_text(h->next_ck, ck, 32);
}

/* Commits the next block of n lines; on success the model has it. */
static int h_try_commit(harness_t *h, uint32_t n)
{
    char ck[32];
    h_block_text(h, n, ck);
    int rc = wharf_buffer_commit(h->b, h->text.data, h->text.len, n, ck, strlen(ck));
    if (rc != 0)
        return rc;
    h_model_add(h, n);
    return 0;
}

static void h_commit(harness_t *h, uint32_t n)
{
    int rc = h_try_commit(h, n);
    if (rc != 0)
        fail_msg("commit #%zu (%u lines): %s", h->n_blocks, n, wharf_strerror(rc));
}

static wharf_buffer_cursor_t *h_cursor(harness_t *h, const char *id)
{
    wharf_buffer_cursor_t *c = NULL;
    assert_int_equal(wharf_buffer_cursor_open(h->b, id, &c), 0);
    assert_non_null(c);
    return c;
}

static void seg_path(const harness_t *h, uint64_t seq, char *out)
{
    assert_int_equal(wharf_wal_segment_path(h->dir, seq, out, PATH_MAX), 0);
}

static void cursors_path(const harness_t *h, char *out)
{
    int n = snprintf(out, PATH_MAX, "%s/cursors.json", h->dir);
    assert_true(n > 0 && n < PATH_MAX);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return (uint64_t)st.st_size;
}

static uint64_t seg_file_size(const harness_t *h, uint64_t seq)
{
    char path[PATH_MAX];
    seg_path(h, seq, path);
    return file_size(path);
}

static void read_file(const char *path, wharf_buf_t *out)
{
    out->len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        fail_msg("open %s: %s", path, strerror(errno));
    for (;;) {
        wharf_buf_reserve(out, 65536);
        ssize_t k = read(fd, out->data + out->len, out->cap - out->len);
        assert_true(k >= 0);
        if (k == 0)
            break;
        out->len += (size_t)k;
    }
    close(fd);
}

static void write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    if (fd < 0)
        fail_msg("open %s: %s", path, strerror(errno));
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

/* The segment numbers in the buffer directory, sorted. */
static size_t list_segments(const harness_t *h, uint64_t *out, size_t max)
{
    DIR *d = opendir(h->dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq = wharf_wal_segment_seq(de->d_name);
        if (seq == 0)
            continue;
        assert_true(n < max);
        size_t i = n++;
        for (; i > 0 && out[i - 1] > seq; i--)
            out[i] = out[i - 1];
        out[i] = seq;
    }
    closedir(d);
    return n;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void snapshot_take(harness_t *h, snapshot_t *s)
{
    s->summary.len = 0;
    s->bytes.len = 0;
    char *names[64];
    size_t n = 0;
    DIR *d = opendir(h->dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        assert_true(n < 64);
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names);
    wharf_buf_t *file = &h->layout;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], line[PATH_MAX + 32];
        int np = snprintf(path, sizeof(path), "%s/%s", h->dir, names[i]);
        assert_true(np > 0 && (size_t)np < sizeof(path));
        read_file(path, file);
        int k = snprintf(line, sizeof(line), "%s %zu\n", names[i], file->len);
        wharf_buf_append(&s->summary, line, (size_t)k);
        wharf_buf_append(&s->bytes, file->data, file->len);
        free(names[i]);
    }
    wharf_buf_putc(&s->summary, '\0');
}

static void assert_same_snapshot(const snapshot_t *before, const snapshot_t *after)
{
    assert_string_equal(after->summary.data, before->summary.data);
    assert_int_equal(after->bytes.len, before->bytes.len);
    assert_memory_equal(after->bytes.data, before->bytes.data, before->bytes.len);
}

/* ---- reading through a cursor --------------------------------------------------------- */

/* The cursor hands out exactly the blocks [from, to) of the model that have
 * events, except block `skip` (SIZE_MAX: none), taking `piece` bytes per
 * consume (0: the whole rest at once), and is then at the end. Returns the
 * events read. */
static uint64_t expect_blocks_skip(harness_t *h, wharf_buffer_cursor_t *c, size_t from, size_t to,
                                   size_t skip, size_t piece)
{
    uint64_t events = 0;
    for (size_t k = from; k < to; k++) {
        if (h->blocks[k].n == 0 || k == skip)
            continue;
        block_text(h, k, &h->want);
        size_t taken = 0;
        while (taken < h->want.len) {
            wharf_str_t s = {NULL, 0};
            int rc = wharf_buffer_cursor_peek(c, &s);
            if (rc != 1)
                fail_msg("block %zu (events %" PRIu64 "..%" PRIu64 "): peek returned %d after %zu "
                         "of its %zu bytes",
                         k, h->blocks[k].first, h->blocks[k].first + h->blocks[k].n - 1, rc, taken,
                         h->want.len);
            if (s.len != h->want.len - taken || memcmp(s.ptr, h->want.data + taken, s.len) != 0)
                fail_msg("block %zu, after %zu bytes: got %zu bytes \"%.*s\", want %zu bytes "
                         "\"%.*s\"",
                         k, taken, s.len, (int)(s.len > 120 ? 120 : s.len), s.ptr,
                         h->want.len - taken,
                         (int)(h->want.len - taken > 120 ? 120 : h->want.len - taken),
                         h->want.data + taken);
            size_t n = piece == 0 || piece > s.len ? s.len : piece;
            wharf_buffer_cursor_consume(c, n);
            taken += n;
        }
        events += h->blocks[k].n;
    }
    wharf_str_t s = {NULL, 0};
    int rc = wharf_buffer_cursor_peek(c, &s);
    if (rc != 0)
        fail_msg("after block %zu the cursor should be at the end; peek returned %d with %zu "
                 "bytes \"%.*s\"",
                 to - 1, rc, s.len, (int)(s.len > 120 ? 120 : s.len), s.ptr ? s.ptr : "");
    return events;
}

static uint64_t expect_blocks(harness_t *h, wharf_buffer_cursor_t *c, size_t from, size_t to,
                              size_t piece)
{
    return expect_blocks_skip(h, c, from, to, SIZE_MAX, piece);
}

/* Reads just the next block (whole) and checks it is block k. */
static void expect_one_block(harness_t *h, wharf_buffer_cursor_t *c, size_t k)
{
    block_text(h, k, &h->want);
    wharf_str_t s = {NULL, 0};
    assert_int_equal(wharf_buffer_cursor_peek(c, &s), 1);
    if (s.len != h->want.len || memcmp(s.ptr, h->want.data, s.len) != 0)
        fail_msg("want block %zu \"%.*s\", got %zu bytes \"%.*s\"", k, (int)h->want.len,
                 h->want.data, s.len, (int)(s.len > 120 ? 120 : s.len), s.ptr);
    wharf_buffer_cursor_consume(c, s.len);
}

/* ---- what the buffer reports ---------------------------------------------------------- */

static void expect_checkpoint(const harness_t *h, const char *want)
{
    const wharf_buf_t *ck = wharf_buffer_checkpoint(h->b);
    if (ck->len != strlen(want) || (ck->len > 0 && memcmp(ck->data, want, ck->len) != 0))
        fail_msg("checkpoint is \"%.*s\" (%zu bytes), want \"%s\"", (int)ck->len,
                 ck->len ? ck->data : "", ck->len, want);
}

/* The checkpoint of the model's last block ("" when there is none). */
static void expect_last_checkpoint(const harness_t *h)
{
    char want[32] = "";
    if (h->n_blocks > 0)
        ckpt_text(h->blocks[h->n_blocks - 1].ck, want, sizeof(want));
    expect_checkpoint(h, want);
}

static wharf_buffer_stats_t stats(const harness_t *h)
{
    wharf_buffer_stats_t st;
    memset(&st, 0xa5, sizeof(st));
    wharf_buffer_stats(h->b, &st);
    return st;
}

static wharf_buffer_cursor_info_t info(const wharf_buffer_cursor_t *c)
{
    wharf_buffer_cursor_info_t ci;
    memset(&ci, 0, sizeof(ci));
    wharf_buffer_cursor_info(c, &ci);
    return ci;
}

static wharf_buffer_segment_info_t seg_info(const harness_t *h, size_t i)
{
    wharf_buffer_segment_info_t si;
    memset(&si, 0xa5, sizeof(si));
    assert_true(i < wharf_buffer_n_segments(h->b));
    wharf_buffer_segment(h->b, i, &si);
    return si;
}

/* The sum of the segment files' sizes is what the buffer counts, and each
 * segment's size is its file's. */
static void expect_sizes_match_files(const harness_t *h)
{
    uint64_t seqs[256];
    size_t n = list_segments(h, seqs, 256);
    assert_int_equal(n, wharf_buffer_n_segments(h->b));
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        wharf_buffer_segment_info_t si = seg_info(h, i);
        assert_int_equal(si.seq, seqs[i]);
        uint64_t sz = seg_file_size(h, seqs[i]);
        if (si.bytes != sz)
            fail_msg("segment %" PRIu64 ": %" PRIu64 " bytes counted, file has %" PRIu64, si.seq,
                     si.bytes, sz);
        sum += sz;
    }
    assert_int_equal(stats(h).bytes, sum);
}

/* ---- walking segment files with wharf_wal_scan ---------------------------------------- */

static void scan_record(void *arg, uint64_t off, const wharf_wal_record_t *r,
                        const wharf_buf_t *payload)
{
    scan_t *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        assert_non_null(s->v);
    }
    scanned_t *x = &s->v[s->n++];
    memset(x, 0, sizeof(*x));
    x->off = off;
    x->r = *r;
    if (r->type == WHARF_WAL_CHECKPOINT) {
        assert_true(payload->len < sizeof(x->payload));
        if (payload->len > 0) /* an empty payload's data may be NULL */
            memcpy(x->payload, payload->data, payload->len);
    }
}

static void scan_damage(void *arg, uint64_t off, uint64_t len, int torn)
{
    scan_t *s = arg;
    s->n_damage++;
    s->damage_off = off;
    s->damage_len = len;
    s->damage_torn = torn;
}

/* Walks segment seq into h->scan; its header must be a good one. */
static scan_t *scan_segment(harness_t *h, uint64_t seq)
{
    scan_t *s = &h->scan;
    s->n = 0;
    s->n_damage = 0;
    s->damage_off = s->damage_len = 0;
    s->damage_torn = 0;
    char path[PATH_MAX];
    seg_path(h, seq, path);
    uint64_t size = file_size(path);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    unsigned char hdr[WHARF_WAL_SEGMENT_HEADER], good[WHARF_WAL_SEGMENT_HEADER];
    ssize_t got = pread(fd, hdr, sizeof(hdr), 0);
    wharf_wal_visitor_t v = {s, scan_record, scan_damage};
    int rc = wharf_wal_scan(fd, size, &v, &h->scan_payload, &h->scan_scratch);
    close(fd);
    assert_int_equal(rc, 0);
    assert_int_equal(got, (ssize_t)sizeof(hdr));
    wharf_wal_segment_header(good);
    assert_memory_equal(hdr, good, sizeof(hdr));
    assert_int_equal(wharf_wal_segment_header_ok(hdr, sizeof(hdr)), 1);
    return s;
}

/* The index of the block whose checkpoint is "ckpt-<ck>". */
static size_t block_of_ckpt(const harness_t *h, const char *payload)
{
    unsigned ck;
    if (sscanf(payload, "ckpt-%u", &ck) != 1)
        fail_msg("checkpoint payload \"%s\" is none of the test's", payload);
    for (size_t k = 0; k < h->n_blocks; k++)
        if (h->blocks[k].ck == ck)
            return k;
    fail_msg("checkpoint \"%s\" belongs to no block of the model", payload);
    return 0;
}

/* Walks every segment file: each starts with a checkpoint record carrying the
 * checkpoint of the last commit before it (first = the next event), then
 * holds the commits that follow, in order: an events record (first, events,
 * raw_length as committed) when the block has events, then its checkpoint.
 * Together the segments hold the model's blocks up to its last one, the
 * figures the buffer reports per segment match, and no file is damaged. */
static void expect_layout(harness_t *h)
{
    size_t n_segs = wharf_buffer_n_segments(h->b);
    assert_true(n_segs > 0);
    size_t k = SIZE_MAX; /* the next block expected */
    wharf_buf_t *text = &h->layout;
    for (size_t i = 0; i < n_segs; i++) {
        wharf_buffer_segment_info_t si = seg_info(h, i);
        if (i > 0)
            assert_int_equal(si.seq, seg_info(h, i - 1).seq + 1);
        const scan_t *sc = scan_segment(h, si.seq);
        if (sc->n_damage != 0)
            fail_msg("segment %" PRIu64 ": %zu damaged ranges, the last at %" PRIu64, si.seq,
                     sc->n_damage, sc->damage_off);
        assert_true(sc->n > 0);
        /* the checkpoint it starts with */
        const scanned_t *x = &sc->v[0];
        if (x->r.type != WHARF_WAL_CHECKPOINT || x->off != WHARF_WAL_SEGMENT_HEADER)
            fail_msg("segment %" PRIu64 " starts with a record of type %u at %" PRIu64, si.seq,
                     x->r.type, x->off);
        size_t start = x->payload[0] == '\0' ? 0 : block_of_ckpt(h, x->payload) + 1;
        if (k != SIZE_MAX && start != k)
            fail_msg("segment %" PRIu64 " starts with checkpoint \"%s\", want the one of block %zu",
                     si.seq, x->payload, k - 1);
        k = start;
        uint64_t next = k < h->n_blocks ? h->blocks[k].first : h->next_event;
        assert_int_equal(x->r.first, next);
        assert_int_equal(x->r.events, 0);
        assert_int_equal(si.first_event, next);
        uint64_t events = 0, raw = 0, stored = 0;
        for (size_t j = 1; j < sc->n; j++) {
            if (k >= h->n_blocks)
                fail_msg("segment %" PRIu64 " has a record at %" PRIu64 " after the last block",
                         si.seq, sc->v[j].off);
            const block_t *bl = &h->blocks[k];
            x = &sc->v[j];
            if (bl->n > 0) {
                block_text(h, k, text);
                if (x->r.type != WHARF_WAL_EVENTS || x->r.first != bl->first ||
                    x->r.events != bl->n || x->r.raw_length != text->len)
                    fail_msg("segment %" PRIu64 " at %" PRIu64 ": record type %u first %" PRIu64
                             " events %u raw %u, want block %zu: events record first %" PRIu64
                             " events %u raw %zu",
                             si.seq, x->off, x->r.type, x->r.first, x->r.events, x->r.raw_length, k,
                             bl->first, bl->n, text->len);
                events += bl->n;
                raw += text->len;
                stored += x->r.length;
                assert_true(++j < sc->n);
                x = &sc->v[j];
            }
            char ck[32];
            ckpt_text(bl->ck, ck, sizeof(ck));
            if (x->r.type != WHARF_WAL_CHECKPOINT || strcmp(x->payload, ck) != 0 ||
                x->r.first != bl->first + bl->n)
                fail_msg("segment %" PRIu64 " at %" PRIu64 ": record type %u \"%s\" first %" PRIu64
                         ", want the checkpoint \"%s\" first %" PRIu64 " of block %zu",
                         si.seq, x->off, x->r.type, x->payload, x->r.first, ck, bl->first + bl->n,
                         k);
            k++;
        }
        const scanned_t *last = &sc->v[sc->n - 1];
        assert_int_equal(si.bytes, last->off + WHARF_WAL_RECORD_HEADER + last->r.length);
        assert_int_equal(si.bytes, seg_file_size(h, si.seq));
        assert_int_equal(si.records, sc->n);
        assert_int_equal(si.events, events);
        assert_int_equal(si.raw_bytes, raw);
        assert_int_equal(si.stored_bytes, stored);
        assert_int_equal(si.corrupt_records, 0);
    }
    if (k != h->n_blocks)
        fail_msg("the segments end at block %zu, the model has %zu", k, h->n_blocks);
    wharf_buffer_stats_t st = stats(h);
    assert_int_equal(st.segments, n_segs);
    assert_int_equal(st.next_event, h->next_event);
}

/* ---- commit and read back ------------------------------------------------------------ */

static void test_commit_read_back(void **state)
{
    harness_t *h = *state;
    h_open(h);
    expect_checkpoint(h, "");
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    for (size_t k = 0; k < 40; k++)
        h_commit(h, lines_for(k));
    expect_last_checkpoint(h);
    assert_int_equal(expect_blocks(h, c, 0, 40, 0), h->next_event);

    wharf_buffer_stats_t st = stats(h);
    assert_int_equal(st.next_event, h->next_event);
    assert_int_equal(st.events, h->next_event);
    assert_int_equal(st.segments, 1);
    uint64_t raw = 0;
    for (size_t k = 0; k < h->n_blocks; k++) {
        block_text(h, k, &h->want);
        raw += h->want.len;
    }
    assert_int_equal(st.raw_bytes, raw);
    assert_true(st.stored_bytes > 0 && st.stored_bytes < raw);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(st.torn_bytes, 0);
    assert_int_equal(st.dropped_events, 0);
    expect_sizes_match_files(h);
    expect_layout(h);

    /* read, not acked: the saved position has not moved */
    wharf_buffer_cursor_info_t ci = info(c);
    assert_string_equal(ci.id, "out");
    assert_int_equal(ci.pos.event, 0);
    assert_int_equal(ci.lag_events, h->next_event);
    assert_int_equal(ci.lag_bytes, st.bytes - ci.pos.offset);
    wharf_buffer_cursor_ack(c);
    ci = info(c);
    assert_int_equal(ci.pos.segment, 1);
    assert_int_equal(ci.pos.offset, st.bytes);
    assert_int_equal(ci.pos.event, h->next_event);
    assert_int_equal(ci.lag_events, 0);
    assert_int_equal(ci.lag_bytes, 0);
    assert_int_equal(ci.dropped_events, 0);
}

static void test_consume_in_pieces(void **state)
{
    harness_t *h = *state;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    for (size_t k = 0; k < 30; k++)
        h_commit(h, lines_for(k));
    /* 10 bytes at a time: every peek shows exactly the rest of the block */
    expect_blocks(h, c, 0, 30, 10);
    /* more commits after the cursor reached the end */
    for (size_t k = 30; k < 35; k++)
        h_commit(h, lines_for(k));
    expect_blocks(h, c, 30, 35, 7);
    h_commit(h, 11);
    expect_blocks(h, c, 35, 36, 1);

    /* a peek without consume does not move; consuming 0 bytes neither */
    h_commit(h, 3);
    block_text(h, 36, &h->want);
    wharf_str_t s1, s2;
    assert_int_equal(wharf_buffer_cursor_peek(c, &s1), 1);
    wharf_buffer_cursor_consume(c, 0);
    assert_int_equal(wharf_buffer_cursor_peek(c, &s2), 1);
    assert_int_equal(s1.len, h->want.len);
    assert_int_equal(s2.len, h->want.len);
    assert_memory_equal(s2.ptr, h->want.data, h->want.len);
    /* an ack in the middle of a block stays at the block's start */
    wharf_buffer_cursor_consume(c, 5);
    wharf_buffer_cursor_ack(c);
    assert_int_equal(info(c).pos.event, h->blocks[36].first);
    assert_int_equal(info(c).lag_events, 3);
    /* the ack does not reset what was taken of the block */
    assert_int_equal(wharf_buffer_cursor_peek(c, &s1), 1);
    assert_int_equal(s1.len, h->want.len - 5);
    assert_memory_equal(s1.ptr, h->want.data + 5, s1.len);
    wharf_buffer_cursor_consume(c, s1.len);
    expect_blocks(h, c, 37, 37, 0);
    wharf_buffer_cursor_ack(c);
    assert_int_equal(info(c).pos.event, h->next_event);
    assert_int_equal(info(c).lag_events, 0);
}

static void test_checkpoint_only_commits(void **state)
{
    harness_t *h = *state;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    h_commit(h, 2);
    h_commit(h, 0);
    h_commit(h, 0);
    h_commit(h, 4);
    h_commit(h, 0);
    expect_last_checkpoint(h);
    assert_int_equal(stats(h).next_event, 6);
    assert_int_equal(stats(h).events, 6);
    /* the cursor sees the two blocks with events only */
    assert_int_equal(expect_blocks(h, c, 0, h->n_blocks, 0), 6);
    expect_layout(h);
    h_reopen(h);
    expect_checkpoint(h, "ckpt-4");
    assert_int_equal(stats(h).next_event, 6);
    expect_layout(h);
}

/* ---- commits compressed on the worker thread ------------------------------------------ */

/* Commits the next block of n lines the way the pipeline does: the
 * compressor first syncs what the buffer owes, then compresses; the buffer
 * takes the events buf, and whatever the test gets back in its place is
 * scribbled over, so a cursor that still pointed into it would read junk. */
static void h_commit_frame(harness_t *h, wharf_compressor_t *z, uint32_t n)
{
    char ck[32];
    h_block_text(h, n, ck);
    wharf_compressor_start(z, wharf_buffer_sync_owed(h->b), h->text.data, h->text.len);
    wharf_str_t frame = {NULL, 0};
    int sync_err = -1;
    assert_int_equal(wharf_compressor_wait(z, &frame, &sync_err), 0);
    assert_int_equal(sync_err, 0);
    assert_int_equal(frame.len > 0, n > 0);
    wharf_commit_t c = {h->text.data, h->text.len, n,          frame.ptr,
                        frame.len,    ck,          strlen(ck), &h->text};
    int rc = wharf_buffer_commit_frame(h->b, &c);
    if (rc != 0)
        fail_msg("commit_frame #%zu (%u lines): %s", h->n_blocks, n, wharf_strerror(rc));
    if (h->text.cap > 0)
        memset(h->text.data, 'X', h->text.cap);
    h_model_add(h, n);
}

static wharf_compressor_t *h_compressor(void)
{
    wharf_compressor_t *z = NULL;
    assert_int_equal(wharf_compressor_new(1, NULL, NULL, &z), 0);
    return z;
}

static void test_commit_frame_reads_back(void **state)
{
    harness_t *h = *state;
    h->conf.fsync = WHARF_FSYNC_BATCH;
    h_open(h);
    wharf_compressor_t *z = h_compressor();
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    /* the new segment's header is owed a sync, once */
    assert_true(wharf_buffer_sync_owed(h->b) >= 0);
    assert_int_equal(wharf_buffer_sync_owed(h->b), -1);
    for (size_t k = 0; k < 60; k++)
        h_commit_frame(h, z, k % 7 == 3 ? 0 : lines_for(k));
    /* the last commit is owed its fdatasync once, then nothing */
    assert_true(wharf_buffer_sync_owed(h->b) >= 0);
    assert_int_equal(wharf_buffer_sync_owed(h->b), -1);
    expect_last_checkpoint(h);
    assert_int_equal(expect_blocks(h, c, 0, h->n_blocks, 0), h->next_event);
    expect_sizes_match_files(h);
    expect_layout(h);
    wharf_compressor_free(z);
    h_reopen(h);
    expect_last_checkpoint(h);
    assert_int_equal(stats(h).next_event, h->next_event);
    expect_layout(h);
}

/* Reads the rest of block k, `taken` bytes of which the cursor had already
 * consumed, and checks it byte for byte. */
static void expect_rest_of_block(harness_t *h, wharf_buffer_cursor_t *c, size_t k, size_t taken)
{
    block_text(h, k, &h->want);
    wharf_str_t s = {NULL, 0};
    assert_int_equal(wharf_buffer_cursor_peek(c, &s), 1);
    if (s.len != h->want.len - taken || memcmp(s.ptr, h->want.data + taken, s.len) != 0)
        fail_msg("block %zu after %zu bytes: got %zu bytes \"%.*s\", want \"%.*s\"", k, taken,
                 s.len, (int)(s.len > 120 ? 120 : s.len), s.ptr, (int)(h->want.len - taken),
                 h->want.data + taken);
    wharf_buffer_cursor_consume(c, s.len);
}

/* Regression: a cursor reads the last commit's events in place; a commit
 * arriving while it is in the middle of that block replaces them. The rest
 * of the block must still come out, from either kind of commit. */
static void test_partly_read_last_commit_survives_next_commit(void **state)
{
    harness_t *h = *state;
    h_open(h);
    wharf_compressor_t *z = h_compressor();
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    wharf_str_t s = {NULL, 0};

    h_commit_frame(h, z, 12);
    assert_int_equal(wharf_buffer_cursor_peek(c, &s), 1);
    wharf_buffer_cursor_consume(c, 7);
    h_commit_frame(h, z, 9); /* takes the events buf of block 0 */
    expect_rest_of_block(h, c, 0, 7);

    assert_int_equal(wharf_buffer_cursor_peek(c, &s), 1);
    wharf_buffer_cursor_consume(c, 30);
    h_commit(h, 5); /* a copying commit */
    h_commit(h, 4);
    expect_rest_of_block(h, c, 1, 30);
    expect_blocks(h, c, 2, 4, 3);
    assert_int_equal(wharf_buffer_cursor_peek(c, &s), 0);
    wharf_buffer_cursor_ack(c);
    assert_int_equal(info(c).pos.event, h->next_event);
    wharf_compressor_free(z);
}

/* A frame a reader would refuse as corrupt is refused with nothing written. */
static void test_commit_frame_too_big(void **state)
{
    harness_t *h = *state;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    h_commit(h, 3);
    wharf_buffer_stats_t before = stats(h);
    size_t big = (size_t)WHARF_WAL_MAX_PAYLOAD + 1;
    char *frame = calloc(1, big);
    assert_non_null(frame);
    wharf_commit_t commit = {"x\n", 2, 1, frame, big, "ckpt-big", 8, NULL};
    assert_int_equal(wharf_buffer_commit_frame(h->b, &commit), WHARF_ETOOBIG);
    free(frame);
    wharf_buffer_stats_t after = stats(h);
    assert_int_equal(after.bytes, before.bytes);
    assert_int_equal(after.next_event, before.next_event);
    expect_last_checkpoint(h);
    expect_sizes_match_files(h);
    h_commit(h, 2);
    assert_int_equal(expect_blocks(h, c, 0, h->n_blocks, 0), 5);
    expect_layout(h);
}

/* wharf_buffer_commit takes events up to WHARF_WAL_MAX_PAYLOAD bytes; zstd
 * makes incompressible bytes a little larger, and a record longer than
 * WHARF_WAL_MAX_PAYLOAD is "corrupt" to every reader. Such a commit must
 * either be refused with nothing written, or read back. */
static void test_commit_max_payload_reads_back(void **state)
{
    harness_t *h = *state;
    h->conf.max_size = (uint64_t)1 << 30;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    size_t len = WHARF_WAL_MAX_PAYLOAD;
    char *data = malloc(len);
    assert_non_null(data);
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
    for (size_t i = 0; i + 8 <= len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(data + i, &x, 8);
    }
    data[len - 1] = '\n';
    uint64_t before = seg_file_size(h, 1);
    int rc = wharf_buffer_commit(h->b, data, len, 1, "big", 3);
    if (rc != 0) {
        /* refused: nothing written */
        free(data);
        assert_int_equal(seg_file_size(h, 1), before);
        assert_int_equal(stats(h).next_event, 0);
        expect_checkpoint(h, "");
        return;
    }
    wharf_str_t s = {NULL, 0};
    rc = wharf_buffer_cursor_peek(c, &s);
    int same = rc == 1 && s.len == len && memcmp(s.ptr, data, len) == 0;
    free(data);
    if (!same)
        fail_msg("a commit of %zu bytes returned 0, but the cursor gets %d (%zu bytes); "
                 "corrupt_records %" PRIu64,
                 len, rc, s.len, stats(h).corrupt_records);
}

/* ---- reopen ---------------------------------------------------------------------------- */

static void test_reopen_restores(void **state)
{
    harness_t *h = *state;
    h->conf.fsync = WHARF_FSYNC_BATCH;
    /* a fresh buffer: one segment holding an empty checkpoint */
    h_open(h);
    h_reopen(h);
    expect_checkpoint(h, "");
    assert_int_equal(stats(h).next_event, 0);
    assert_int_equal(wharf_buffer_n_segments(h->b), 1);
    assert_int_equal(seg_file_size(h, 1), WHARF_WAL_SEGMENT_HEADER + WHARF_WAL_RECORD_HEADER);
    expect_layout(h);

    for (size_t k = 0; k < 25; k++)
        h_commit(h, lines_for(k));
    wharf_buffer_stats_t before = stats(h);
    h_reopen(h);
    expect_last_checkpoint(h);
    expect_checkpoint(h, "ckpt-24");
    wharf_buffer_stats_t st = stats(h);
    assert_int_equal(st.next_event, h->next_event);
    assert_int_equal(st.next_event, total_events(h));
    assert_int_equal(st.events, h->next_event);
    assert_int_equal(st.bytes, before.bytes);
    assert_int_equal(st.raw_bytes, before.raw_bytes);
    assert_int_equal(st.stored_bytes, before.stored_bytes);
    assert_int_equal(st.torn_bytes, 0);
    assert_int_equal(st.corrupt_records, 0);
    expect_layout(h);

    /* numbering goes on where it stopped */
    for (size_t k = 25; k < 30; k++)
        h_commit(h, lines_for(k));
    h_reopen(h);
    expect_checkpoint(h, "ckpt-29");
    assert_int_equal(stats(h).next_event, total_events(h));
    expect_layout(h);
}

static void test_segment_roll(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 64 << 10;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    size_t k = 0;
    while (wharf_buffer_n_segments(h->b) < 4) {
        h_commit(h, 40 + (uint32_t)(k % 23));
        k++;
        assert_true(k < 2000);
    }
    /* a few commits into the fourth */
    for (size_t i = 0; i < 3; i++, k++)
        h_commit(h, 40);
    for (size_t i = 0; i < 4; i++) {
        wharf_buffer_segment_info_t si = seg_info(h, i);
        assert_int_equal(si.seq, i + 1);
        if (si.bytes > h->conf.segment_size)
            fail_msg("segment %zu is %" PRIu64 " bytes, segment_size %" PRIu64, i, si.bytes,
                     h->conf.segment_size);
        if (i < 3) /* it rolled because the next commit did not fit */
            assert_true(si.bytes > h->conf.segment_size / 2);
    }
    expect_layout(h);
    expect_sizes_match_files(h);
    expect_blocks(h, c, 0, h->n_blocks, 0);

    /* the same after a reopen */
    wharf_buffer_segment_info_t was[4];
    for (size_t i = 0; i < 4; i++)
        was[i] = seg_info(h, i);
    h_reopen(h);
    assert_int_equal(wharf_buffer_n_segments(h->b), 4);
    for (size_t i = 0; i < 4; i++) {
        wharf_buffer_segment_info_t si = seg_info(h, i);
        assert_memory_equal(&si, &was[i], sizeof(si));
    }
    expect_last_checkpoint(h);
    assert_int_equal(stats(h).next_event, h->next_event);
    expect_layout(h);
}

/* The end of a cursor's line in cursors.json when its output is up. */
#define HEALTHY ",\"dropped\":0,\"down_since_ms\":0,\"undeliverable\":0,\"error\":\"\"}"

static void test_cursor_resumes_at_ack(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048; /* positions in several segments */
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    wharf_buffer_cursor_t *other = h_cursor(h, "other");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    for (size_t k = 0; k < 60; k++)
        h_commit(h, lines_for(k));
    assert_true(wharf_buffer_n_segments(h->b) >= 3);

    for (size_t k = 0; k < 20; k++)
        expect_one_block(h, c, k);
    /* 10 bytes of block 20: the ack stays at its start */
    wharf_str_t s;
    assert_int_equal(wharf_buffer_cursor_peek(c, &s), 1);
    wharf_buffer_cursor_consume(c, 10);
    wharf_buffer_cursor_ack(c);
    wharf_buffer_cursor_info_t acked = info(c);
    assert_int_equal(acked.pos.event, h->blocks[20].first);
    /* read further without an ack: not saved */
    wharf_buffer_cursor_consume(c, s.len - 10);
    for (size_t k = 21; k < 35; k++)
        expect_one_block(h, c, k);
    /* "other" read everything and acked */
    expect_blocks(h, other, 0, h->n_blocks, 0);
    wharf_buffer_cursor_ack(other);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);

    char path[PATH_MAX], want[512];
    cursors_path(h, path);
    wharf_buffer_cursor_info_t oi = info(other);
    snprintf(want, sizeof(want),
             "{\"version\":1,\"outputs\":[\n"
             "{\"id\":\"out\",\"segment\":%" PRIu64 ",\"offset\":%" PRIu64
             ",\"event\":%" PRIu64 HEALTHY ",\n"
             "{\"id\":\"other\",\"segment\":%" PRIu64 ",\"offset\":%" PRIu64
             ",\"event\":%" PRIu64 HEALTHY "]}\n",
             acked.pos.segment, acked.pos.offset, acked.pos.event, oi.pos.segment, oi.pos.offset,
             oi.pos.event);
    read_file(path, &h->text);
    wharf_buf_putc(&h->text, '\0');
    assert_string_equal(h->text.data, want);

    h_reopen(h);
    assert_int_equal(wharf_buffer_n_saved_cursors(h->b), 2);
    c = h_cursor(h, "out");
    wharf_buffer_cursor_info_t ci = info(c);
    assert_memory_equal(&ci.pos, &acked.pos, sizeof(ci.pos));
    assert_int_equal(ci.lag_events, h->next_event - h->blocks[20].first);
    /* block 20 whole again, and everything after it */
    expect_blocks(h, c, 20, h->n_blocks, 0);
    other = h_cursor(h, "other");
    expect_blocks(h, other, h->n_blocks, h->n_blocks, 0);
    /* both go on with new commits */
    h_commit(h, 4);
    expect_blocks(h, c, h->n_blocks - 1, h->n_blocks, 0);
    expect_blocks(h, other, h->n_blocks - 1, h->n_blocks, 3);
}

/* An output's health is saved with its cursor, read back by a read-only open
 * (`wharf buffer stat`) and by the next start; a change of health alone is
 * saved; a cursors.json from before health existed loads as healthy. */
static void test_cursor_health_saved(void **state)
{
    harness_t *h = *state;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "siem");
    h_commit(h, 3);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    wharf_buffer_health_t down = {1795000000123, 7, "brokers \"down\""};
    wharf_buffer_cursor_set_health(c, &down);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    h_close(h);

    h_open_flags(h, WHARF_BUFFER_READ_ONLY);
    assert_int_equal(wharf_buffer_n_saved_cursors(h->b), 1);
    wharf_buffer_cursor_info_t si;
    wharf_buffer_saved_cursor(h->b, 0, &si);
    assert_int_equal(si.health.down_since_ms, down.down_since_ms);
    assert_int_equal(si.health.undeliverable, 7);
    assert_string_equal(si.health.error, "brokers \"down\"");
    h_close(h);

    h_open(h);
    c = h_cursor(h, "siem");
    assert_int_equal(info(c).health.undeliverable, 7);
    wharf_buffer_health_t up = {0, 7, ""};
    wharf_buffer_cursor_set_health(c, &up);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    char path[PATH_MAX], want[256];
    cursors_path(h, path);
    snprintf(
        want, sizeof(want),
        "{\"version\":1,\"outputs\":[\n{\"id\":\"siem\",\"segment\":1,\"offset\":%" PRIu64
        ",\"event\":0,\"dropped\":0,\"down_since_ms\":0,\"undeliverable\":7,\"error\":\"\"}]}\n",
        info(c).pos.offset);
    read_file(path, &h->text);
    wharf_buf_putc(&h->text, '\0');
    assert_string_equal(h->text.data, want);
    h_close(h);

    static const char old[] = "{\"version\":1,\"outputs\":[{\"id\":\"siem\",\"segment\":1,"
                              "\"offset\":16,\"event\":0,\"dropped\":2}]}\n";
    write_file(path, old, sizeof(old) - 1);
    h_open(h);
    c = h_cursor(h, "siem");
    wharf_buffer_cursor_info_t ci = info(c);
    assert_int_equal(ci.dropped_events, 2);
    assert_int_equal(ci.health.down_since_ms, 0);
    assert_int_equal(ci.health.undeliverable, 0);
    assert_string_equal(ci.health.error, "");
}

static void test_new_output_starts_at_end(void **state)
{
    harness_t *h = *state;
    h_open(h);
    wharf_buffer_cursor_t *old = h_cursor(h, "old");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    for (size_t k = 0; k < 10; k++)
        h_commit(h, lines_for(k));
    h_reopen(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "new");
    wharf_buffer_cursor_info_t ci = info(c);
    assert_int_equal(ci.pos.event, h->next_event);
    assert_int_equal(ci.pos.segment, 1);
    assert_int_equal(ci.pos.offset, seg_file_size(h, 1));
    assert_int_equal(ci.lag_events, 0);
    assert_int_equal(ci.lag_bytes, 0);
    expect_blocks(h, c, 10, 10, 0); /* nothing */
    h_commit(h, 5);
    h_commit(h, 2);
    expect_blocks(h, c, 10, 12, 0);
    /* the saved one starts where it was: the beginning */
    old = h_cursor(h, "old");
    expect_blocks(h, old, 0, 12, 0);
}

/* ---- trim -------------------------------------------------------------------------------- */

/* Commits until the buffer has n segments: the last commit is alone in the
 * last one. Bounded, so that a buffer that never rolls fails the test rather
 * than fill the disk. */
static void commit_until_segments(harness_t *h, size_t n)
{
    size_t k = 0;
    while (wharf_buffer_n_segments(h->b) < n) {
        if (++k > 10000)
            fail_msg("%zu commits and still %zu segments of %" PRIu64 " bytes", k - 1,
                     wharf_buffer_n_segments(h->b), h->conf.segment_size);
        h_commit(h, lines_for(h->n_blocks));
    }
}

/* Commits until the buffer has n segments and the last one has a few commits. */
static void fill_segments(harness_t *h, size_t n)
{
    commit_until_segments(h, n);
    h_commit(h, 3);
    h_commit(h, 5);
}

/* Reads and acks block by block until the acked position is in segment seq. */
static size_t read_into_segment(harness_t *h, wharf_buffer_cursor_t *c, size_t k, uint64_t seq)
{
    while (info(c).pos.segment < seq) {
        assert_true(k < h->n_blocks);
        expect_one_block(h, c, k++);
        wharf_str_t s;
        wharf_buffer_cursor_peek(c, &s); /* onto the next record, maybe in the next segment */
        wharf_buffer_cursor_ack(c);
    }
    return k;
}

static void test_trim_deletes_passed_segments(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    fill_segments(h, 5);
    uint64_t seqs[16];
    assert_int_equal(list_segments(h, seqs, 16), 5);

    /* nothing acked: nothing goes */
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    assert_int_equal(wharf_buffer_trim(h->b), 0);
    assert_int_equal(list_segments(h, seqs, 16), 5);

    /* acked into segment 3: 1 and 2 go */
    size_t k = read_into_segment(h, c, 0, 3);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    assert_int_equal(wharf_buffer_trim(h->b), 0);
    assert_int_equal(list_segments(h, seqs, 16), 3);
    assert_int_equal(seqs[0], 3);
    assert_int_equal(seqs[2], 5);
    assert_int_equal(wharf_buffer_n_segments(h->b), 3);
    assert_int_equal(seg_info(h, 0).seq, 3);
    expect_sizes_match_files(h);
    uint64_t in_segs = 0;
    for (size_t i = 0; i < 3; i++)
        in_segs += seg_info(h, i).events;
    assert_int_equal(stats(h).events, in_segs);
    assert_int_equal(stats(h).next_event, h->next_event);
    expect_layout(h);

    /* acked to the very end: only the last remains, never the last */
    expect_blocks(h, c, k, h->n_blocks, 0);
    wharf_buffer_cursor_ack(c);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    assert_int_equal(wharf_buffer_trim(h->b), 0);
    assert_int_equal(list_segments(h, seqs, 16), 1);
    assert_int_equal(seqs[0], 5);
    assert_int_equal(wharf_buffer_n_segments(h->b), 1);
    assert_int_equal(stats(h).events, seg_info(h, 0).events);
    assert_int_equal(stats(h).bytes, seg_file_size(h, 5));
    expect_layout(h);
    assert_int_equal(wharf_buffer_trim(h->b), 0);
    assert_int_equal(list_segments(h, seqs, 16), 1);

    /* after a reopen: the checkpoint survived the deletions, numbering goes on */
    h_reopen(h);
    expect_last_checkpoint(h);
    assert_int_equal(stats(h).next_event, h->next_event);
    c = h_cursor(h, "out");
    h_commit(h, 6);
    expect_blocks(h, c, h->n_blocks - 1, h->n_blocks, 0);
    expect_layout(h);
}

static void test_trim_slow_cursor_holds(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    wharf_buffer_cursor_t *fast = h_cursor(h, "fast");
    wharf_buffer_cursor_t *slow = h_cursor(h, "slow");
    fill_segments(h, 4);
    expect_blocks(h, fast, 0, h->n_blocks, 0);
    wharf_buffer_cursor_ack(fast);
    for (size_t k = 0; k < 2; k++)
        expect_one_block(h, slow, k);
    wharf_buffer_cursor_ack(slow);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    assert_int_equal(wharf_buffer_trim(h->b), 0);
    uint64_t seqs[16];
    assert_int_equal(list_segments(h, seqs, 16), 4); /* slow is in segment 1 */

    size_t k = read_into_segment(h, slow, 2, 2);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    assert_int_equal(wharf_buffer_trim(h->b), 0);
    assert_int_equal(list_segments(h, seqs, 16), 3);
    assert_int_equal(seqs[0], 2);

    /* a reopen keeps the hold */
    h_reopen(h);
    fast = h_cursor(h, "fast");
    slow = h_cursor(h, "slow");
    assert_int_equal(wharf_buffer_trim(h->b), 0);
    assert_int_equal(list_segments(h, seqs, 16), 3);
    expect_blocks(h, fast, h->n_blocks, h->n_blocks, 0);
    expect_blocks(h, slow, k, h->n_blocks, 0);
    wharf_buffer_cursor_ack(slow);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    assert_int_equal(wharf_buffer_trim(h->b), 0);
    assert_int_equal(list_segments(h, seqs, 16), 1);
    assert_int_equal(seqs[0], 4);
    expect_layout(h);
}

/* ---- torn tail ------------------------------------------------------------------------------ */

static void test_torn_tail_every_offset(void **state)
{
    harness_t *h = *state;
    h_open(h);
    h_cursor(h, "reader");
    wharf_buffer_cursor_t *tail = h_cursor(h, "tail");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0); /* at the start */
    for (size_t k = 0; k < 5; k++)
        h_commit(h, lines_for(k));
    uint64_t prev_end = seg_file_size(h, 1);
    h_commit(h, 9);
    uint64_t end = seg_file_size(h, 1);
    /* "tail" delivered the commit that is torn below */
    expect_blocks(h, tail, 0, 6, 0);
    wharf_buffer_cursor_ack(tail);
    assert_int_equal(info(tail).pos.offset, end);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    h_close(h);
    char seg[PATH_MAX], cur[PATH_MAX];
    seg_path(h, 1, seg);
    cursors_path(h, cur);
    wharf_buf_t *pristine = &h->pristine, *cursors = &h->saved_cursors;
    read_file(seg, pristine);
    read_file(cur, cursors);
    assert_int_equal(pristine->len, end);

    for (uint64_t cut = prev_end; cut < end; cut++) {
        write_file(seg, pristine->data, cut);
        write_file(cur, cursors->data, cursors->len);
        model_cut(h, 5);
        h_open(h);
        expect_last_checkpoint(h);
        expect_checkpoint(h, "ckpt-4");
        wharf_buffer_stats_t st = stats(h);
        if (st.next_event != h->blocks[4].first + h->blocks[4].n || st.torn_bytes != cut - prev_end)
            fail_msg("cut at %" PRIu64 " (commit %" PRIu64 "..%" PRIu64 "): next_event %" PRIu64
                     " torn_bytes %" PRIu64 ", want %" PRIu64 " and %" PRIu64,
                     cut, prev_end, end, st.next_event, st.torn_bytes, h->next_event,
                     cut - prev_end);
        assert_int_equal(st.events, h->next_event);
        assert_int_equal(st.corrupt_records, 0);
        assert_int_equal(st.bytes, prev_end);
        assert_int_equal(seg_file_size(h, 1), prev_end);
        read_file(seg, &h->text);
        assert_memory_equal(h->text.data, pristine->data, prev_end);

        /* "tail" pointed into the cut: it is at the new end */
        tail = h_cursor(h, "tail");
        wharf_buffer_cursor_info_t ti = info(tail);
        assert_int_equal(ti.pos.segment, 1);
        assert_int_equal(ti.pos.offset, prev_end);
        assert_int_equal(ti.pos.event, h->next_event);
        assert_int_equal(ti.lag_events, 0);
        /* a new commit reuses the cut events' numbers and reads back */
        wharf_buffer_cursor_t *c = h_cursor(h, "reader");
        h_commit(h, 4);
        expect_last_checkpoint(h);
        expect_blocks(h, c, 0, h->n_blocks, 3);
        expect_blocks(h, tail, h->n_blocks - 1, h->n_blocks, 0);
        expect_layout(h);
        h_close(h);
    }
}

/* The last segment holds only the start checkpoint written by a roll and one
 * commit: cut anywhere in it, even in the header or the checkpoint. */
static void test_torn_tail_in_rolled_segment(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    h_cursor(h, "reader");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    commit_until_segments(h, 2);
    size_t n = h->n_blocks; /* the last one is alone in segment 2 */
    char ck[32];
    ckpt_text(h->blocks[n - 2].ck, ck, sizeof(ck));
    uint64_t ck_end = WHARF_WAL_SEGMENT_HEADER + WHARF_WAL_RECORD_HEADER + strlen(ck);
    uint64_t end = seg_file_size(h, 2);
    h_close(h);
    char seg[PATH_MAX], cur[PATH_MAX];
    seg_path(h, 2, seg);
    cursors_path(h, cur);
    wharf_buf_t *pristine = &h->pristine, *cursors = &h->saved_cursors;
    read_file(seg, pristine);
    read_file(cur, cursors);

    for (uint64_t cut = 0; cut < end; cut++) {
        write_file(seg, pristine->data, cut);
        write_file(cur, cursors->data, cursors->len);
        model_cut(h, n - 1);
        h_open(h);
        expect_checkpoint(h, ck);
        wharf_buffer_stats_t st = stats(h);
        uint64_t keep = cut >= ck_end ? ck_end : WHARF_WAL_SEGMENT_HEADER;
        uint64_t torn = cut > keep ? cut - keep : 0;
        if (st.next_event != h->next_event || st.torn_bytes != torn)
            fail_msg("cut at %" PRIu64 ": next_event %" PRIu64 " torn_bytes %" PRIu64
                     ", want %" PRIu64 " and %" PRIu64,
                     cut, st.next_event, st.torn_bytes, h->next_event, torn);
        /* whatever was left, segment 2 is its header and the start checkpoint again */
        assert_int_equal(wharf_buffer_n_segments(h->b), 2);
        read_file(seg, &h->text);
        assert_int_equal(h->text.len, ck_end);
        assert_memory_equal(h->text.data, pristine->data, ck_end);
        wharf_buffer_segment_info_t si = seg_info(h, 1);
        assert_int_equal(si.bytes, ck_end);
        assert_int_equal(si.records, 1);
        assert_int_equal(si.events, 0);
        assert_int_equal(si.first_event, h->next_event);
        expect_sizes_match_files(h);

        wharf_buffer_cursor_t *c = h_cursor(h, "reader");
        h_commit(h, 2);
        expect_blocks(h, c, 0, h->n_blocks, 0);
        expect_layout(h);
        h_close(h);
    }
}

/* ---- corrupt records ---------------------------------------------------------------------- */

/* Flips a byte of the events record of a block in the middle of segment
 * seq: in the middle of its payload, or in its CRC field; returns the block,
 * and the record's offset and size. */
static size_t corrupt_middle_block(harness_t *h, uint64_t seq, int at_crc, uint64_t *off,
                                   uint64_t *size)
{
    const scan_t *sc = scan_segment(h, seq);
    size_t ev[256], n_ev = 0;
    for (size_t j = 0; j < sc->n; j++)
        if (sc->v[j].r.type == WHARF_WAL_EVENTS && n_ev < 256)
            ev[n_ev++] = j;
    assert_true(n_ev >= 3);
    const scanned_t *x = &sc->v[ev[n_ev / 2]];
    assert_true(ev[n_ev / 2] + 1 < sc->n); /* its checkpoint follows */
    size_t k = SIZE_MAX;
    for (size_t i = 0; i < h->n_blocks; i++)
        if (h->blocks[i].n > 0 && h->blocks[i].first == x->r.first)
            k = i;
    assert_true(k != SIZE_MAX);
    *off = x->off;
    *size = WHARF_WAL_RECORD_HEADER + x->r.length;
    uint64_t at = at_crc ? x->off + 9 : x->off + WHARF_WAL_RECORD_HEADER + x->r.length / 2;

    char path[PATH_MAX];
    seg_path(h, seq, path);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char byte;
    assert_int_equal(pread(fd, &byte, 1, (off_t)at), 1);
    byte ^= 0x5a;
    assert_int_equal(pwrite(fd, &byte, 1, (off_t)at), 1);
    close(fd);
    return k;
}

enum { CORRUPT_LAST_SEGMENT = 1, CORRUPT_CRC = 2, CORRUPT_COUNT_AFTER_READ = 4 };

static void corrupt_case(harness_t *h, int how)
{
    h->conf.segment_size = 4096;
    h_open(h);
    h_cursor(h, "reader");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    fill_segments(h, 3);
    for (size_t i = 0; i < 4; i++)
        h_commit(h, lines_for(h->n_blocks));
    assert_int_equal(wharf_buffer_n_segments(h->b), 3);
    h_close(h);
    uint64_t seq = how & CORRUPT_LAST_SEGMENT ? 3 : 1;
    uint64_t off, size;
    size_t k = corrupt_middle_block(h, seq, how & CORRUPT_CRC, &off, &size);
    uint32_t lost = h->blocks[k].n;

    h_open(h);
    wharf_buffer_stats_t st = stats(h);
    assert_int_equal(st.corrupt_records, 1);
    assert_int_equal(st.corrupt_bytes, size);
    assert_int_equal(st.torn_bytes, 0);
    assert_int_equal(st.next_event, h->next_event);
    assert_int_equal(st.events, h->next_event - lost);
    expect_last_checkpoint(h);
    wharf_buffer_segment_info_t si = seg_info(h, (size_t)seq - 1);
    assert_int_equal(si.corrupt_records, 1);
    const scan_t *sc = scan_segment(h, seq);
    assert_int_equal(sc->n_damage, 1);
    assert_int_equal(sc->damage_off, off);
    assert_int_equal(sc->damage_len, size);
    assert_int_equal(sc->damage_torn, 0);
    assert_int_equal(si.records, sc->n);
    assert_int_equal(si.bytes, seg_file_size(h, seq)); /* nothing cut */
    uint64_t events = 0;
    for (size_t j = 0; j < sc->n; j++)
        events += sc->v[j].r.events;
    assert_int_equal(si.events, events);

    /* every other block, exactly */
    wharf_buffer_cursor_t *c = h_cursor(h, "reader");
    assert_int_equal(expect_blocks_skip(h, c, 0, h->n_blocks, k, 0), h->next_event - lost);
    if (how & CORRUPT_COUNT_AFTER_READ) {
        /* the record was counted at open; reading past it is no second one */
        st = stats(h);
        assert_int_equal(st.corrupt_records, 1);
        assert_int_equal(st.corrupt_bytes, size);
        return;
    }
    h_commit(h, 3);
    expect_blocks(h, c, h->n_blocks - 1, h->n_blocks, 0);
    wharf_buffer_cursor_ack(c);
    assert_int_equal(info(c).lag_events, 0);
}

static void test_corrupt_record_first_segment(void **state)
{
    corrupt_case(*state, 0);
}

static void test_corrupt_record_last_segment(void **state)
{
    corrupt_case(*state, CORRUPT_LAST_SEGMENT);
}

static void test_corrupt_record_crc_field(void **state)
{
    corrupt_case(*state, CORRUPT_CRC);
}

/* Damage that appears while the buffer is open: the cursor skips exactly
 * that record and counts it. */
static void test_corrupt_record_found_while_reading(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 4096;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "reader");
    fill_segments(h, 3);
    uint64_t off, size;
    size_t k = corrupt_middle_block(h, 2, 0, &off, &size);
    assert_int_equal(stats(h).corrupt_records, 0);
    assert_int_equal(expect_blocks_skip(h, c, 0, h->n_blocks, k, 0),
                     h->next_event - h->blocks[k].n);
    wharf_buffer_stats_t st = stats(h);
    assert_int_equal(st.corrupt_records, 1);
    assert_int_equal(st.corrupt_bytes, size);
    assert_int_equal(st.next_event, h->next_event);
    h_commit(h, 3);
    expect_blocks(h, c, h->n_blocks - 1, h->n_blocks, 0);
}

/* wharf_buffer_stats: corrupt_records counts records "found at open or while
 * reading"; one damaged record found at open and then skipped by a cursor is
 * still one. */
static void test_corrupt_record_counted_once(void **state)
{
    corrupt_case(*state, CORRUPT_COUNT_AFTER_READ);
}

/* ---- damaged files --------------------------------------------------------------------------- */

static void test_garbage_header_old_segment(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    h_cursor(h, "reader");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    fill_segments(h, 3);
    h_close(h);
    char path[PATH_MAX];
    seg_path(h, 1, path);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "garbage-garbage!", 16, 0), 16);
    close(fd);

    h_open(h);
    expect_last_checkpoint(h);
    wharf_buffer_stats_t st = stats(h);
    assert_int_equal(st.next_event, h->next_event);
    assert_int_equal(st.events, h->next_event);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(st.torn_bytes, 0);
    /* the header was rewritten, the records kept */
    expect_layout(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "reader");
    expect_blocks(h, c, 0, h->n_blocks, 0);
    h_commit(h, 2);
    expect_blocks(h, c, h->n_blocks - 1, h->n_blocks, 0);
}

static void test_garbage_extra_segment(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    h_cursor(h, "reader");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    fill_segments(h, 2);
    h_close(h);
    /* a segment 3 of 200 bytes without a single record */
    unsigned char junk[200];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)('a' + (i * 7) % 26);
    char path[PATH_MAX];
    seg_path(h, 3, path);
    write_file(path, junk, sizeof(junk));

    h_open(h);
    expect_last_checkpoint(h);
    wharf_buffer_stats_t st = stats(h);
    assert_int_equal(st.next_event, h->next_event);
    assert_int_equal(st.torn_bytes, sizeof(junk) - WHARF_WAL_SEGMENT_HEADER);
    assert_int_equal(wharf_buffer_n_segments(h->b), 3);
    /* segment 3 is now a header and the last checkpoint */
    char ck[32];
    ckpt_text(h->blocks[h->n_blocks - 1].ck, ck, sizeof(ck));
    assert_int_equal(seg_file_size(h, 3),
                     WHARF_WAL_SEGMENT_HEADER + WHARF_WAL_RECORD_HEADER + strlen(ck));
    expect_layout(h);
    expect_sizes_match_files(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "reader");
    expect_blocks(h, c, 0, h->n_blocks, 0);
    h_commit(h, 7);
    expect_blocks(h, c, h->n_blocks - 1, h->n_blocks, 0);
    expect_layout(h);
}

static void test_zero_length_last_segment(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    h_cursor(h, "reader");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    fill_segments(h, 2);
    h_close(h);
    char path[PATH_MAX];
    seg_path(h, 3, path);
    write_file(path, "", 0);

    h_open(h);
    expect_last_checkpoint(h);
    wharf_buffer_stats_t st = stats(h);
    assert_int_equal(st.next_event, h->next_event);
    assert_int_equal(st.events, h->next_event);
    assert_int_equal(st.torn_bytes, 0);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(wharf_buffer_n_segments(h->b), 3);
    wharf_buffer_segment_info_t si = seg_info(h, 2);
    assert_int_equal(si.first_event, h->next_event);
    assert_int_equal(si.records, 1);
    expect_layout(h);
    expect_sizes_match_files(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "reader");
    expect_blocks(h, c, 0, h->n_blocks, 0);
    h_commit(h, 3);
    expect_blocks(h, c, h->n_blocks - 1, h->n_blocks, 0);
    expect_layout(h);
}

static void test_zero_length_only_segment(void **state)
{
    harness_t *h = *state;
    assert_int_equal(mkdir(h->dir, 0750), 0);
    char path[PATH_MAX];
    seg_path(h, 1, path);
    write_file(path, "", 0);
    h_open(h);
    expect_checkpoint(h, "");
    assert_int_equal(stats(h).next_event, 0);
    assert_int_equal(seg_file_size(h, 1), WHARF_WAL_SEGMENT_HEADER + WHARF_WAL_RECORD_HEADER);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    h_commit(h, 4);
    h_commit(h, 1);
    expect_blocks(h, c, 0, 2, 0);
    expect_layout(h);
}

#define JUNK(s)                                                                                    \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

static const struct {
    const char *text;
    size_t len;
} junk_cursors[] = {
    JUNK(""),
    JUNK("garbage"),
    JUNK("\x00\xff\x01{"),
    JUNK("{\"version\":1,\"outputs\":[{\"id\":\"out\",\"segment\":1,"),
    JUNK("{\"version\":1,\"outputs\":{}}"),
    JUNK("[1,2,3]"),
    JUNK("{\"version\":1,\"outputs\":[{\"id\":7}]}"),
    JUNK("{\"version\":1,\"outputs\":[{\"id\":\"out\",\"segment\":-1,\"offset\":0,\"event\":0,"
         "\"dropped\":0}]}"),
};

/* The cursor hands out blocks [j, n_blocks) for some j, exactly; returns j. */
static size_t expect_some_tail(harness_t *h, wharf_buffer_cursor_t *c)
{
    wharf_str_t s = {NULL, 0};
    int rc = wharf_buffer_cursor_peek(c, &s);
    assert_true(rc == 0 || rc == 1);
    size_t j = h->n_blocks;
    for (size_t k = 0; rc == 1 && k < h->n_blocks && j == h->n_blocks; k++) {
        block_text(h, k, &h->want);
        if (h->blocks[k].n > 0 && s.len == h->want.len && memcmp(s.ptr, h->want.data, s.len) == 0)
            j = k;
    }
    if (rc == 1 && j == h->n_blocks)
        fail_msg("the cursor hands out \"%.*s\", none of the committed blocks",
                 (int)(s.len > 120 ? 120 : s.len), s.ptr);
    expect_blocks(h, c, j, h->n_blocks, 0);
    return j;
}

/* A cursors.json that cannot be read: open succeeds, the buffer is intact,
 * a cursor reads committed blocks exactly (where it starts is the next
 * test's business), and the next save writes a good file again. */
static void test_junk_cursors_file(void **state)
{
    harness_t *h = *state;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    for (size_t k = 0; k < 8; k++)
        h_commit(h, lines_for(k));
    for (size_t k = 0; k < 4; k++)
        expect_one_block(h, c, k);
    wharf_buffer_cursor_ack(c);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    h_close(h);
    char path[PATH_MAX];
    cursors_path(h, path);
    for (size_t i = 0; i < sizeof(junk_cursors) / sizeof(junk_cursors[0]); i++) {
        write_file(path, junk_cursors[i].text, junk_cursors[i].len);
        h_open(h);
        expect_last_checkpoint(h);
        assert_int_equal(stats(h).next_event, h->next_event);
        assert_int_equal(stats(h).events, h->next_event);
        assert_int_equal(wharf_buffer_n_saved_cursors(h->b), 0);
        expect_layout(h);
        c = h_cursor(h, "out");
        wharf_buffer_cursor_info_t ci = info(c);
        assert_string_equal(ci.id, "out");
        assert_int_equal(ci.dropped_events, 0);
        expect_some_tail(h, c);
        h_commit(h, 2);
        expect_blocks(h, c, h->n_blocks - 1, h->n_blocks, 0);
        wharf_buffer_cursor_ack(c);
        assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
        char want[256];
        snprintf(want, sizeof(want),
                 "{\"version\":1,\"outputs\":[\n{\"id\":\"out\",\"segment\":1,\"offset\":%" PRIu64
                 ",\"event\":%" PRIu64 HEALTHY "]}\n",
                 seg_file_size(h, 1), h->next_event);
        read_file(path, &h->text);
        wharf_buf_putc(&h->text, '\0');
        assert_string_equal(h->text.data, want);
        h_reopen(h);
        assert_int_equal(wharf_buffer_n_saved_cursors(h->b), 1);
        c = h_cursor(h, "out");
        assert_int_equal(info(c).pos.event, h->next_event);
        expect_blocks(h, c, h->n_blocks, h->n_blocks, 0);
        h_close(h);
    }
}

/* cursor.c: "Losing cursors means re-sending, never losing: start them
 * over", and the log says "every output re-sends the whole buffer": an output
 * whose cursor was in an unreadable cursors.json reads the buffer from its
 * start, not only what is committed from now on. */
static void test_junk_cursors_file_resends_buffer(void **state)
{
    harness_t *h = *state;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "out");
    for (size_t k = 0; k < 8; k++)
        h_commit(h, lines_for(k));
    for (size_t k = 0; k < 3; k++)
        expect_one_block(h, c, k);
    wharf_buffer_cursor_ack(c);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    h_close(h);
    char path[PATH_MAX];
    cursors_path(h, path);
    write_file(path, "{\"version\":1,\"outp", 18);
    h_open(h);
    c = h_cursor(h, "out");
    wharf_buffer_cursor_info_t ci = info(c);
    if (ci.pos.event != 0)
        fail_msg("with cursors.json unreadable, output \"out\" starts at event %" PRIu64
                 " of %" PRIu64 ": events 0..%" PRIu64 " are never delivered",
                 ci.pos.event, h->next_event, ci.pos.event - 1);
    assert_int_equal(expect_some_tail(h, c), 0);
}

/* ---- when_full ---------------------------------------------------------------------------------
 */

static void test_when_full_block(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 4096;
    h->conf.max_size = 16384;
    h->conf.when_full = WHARF_WHEN_FULL_BLOCK;
    h->conf.fsync = WHARF_FSYNC_BATCH;
    h_open(h);
    wharf_buffer_cursor_t *slow = h_cursor(h, "slow");
    int rc = 0;
    for (size_t i = 0; i < 5000 && rc == 0; i++) {
        rc = h_try_commit(h, lines_for(h->n_blocks));
        if (rc == 0 && stats(h).bytes > h->conf.max_size)
            fail_msg("after commit %zu the buffer is %" PRIu64 " bytes, max_size %" PRIu64, i,
                     stats(h).bytes, h->conf.max_size);
    }
    assert_int_equal(rc, WHARF_EFULL);
    assert_true(wharf_buffer_n_segments(h->b) >= 3);
    assert_true(h->n_blocks > 40);

    /* full: nothing is written, whatever is tried */
    snapshot_take(h, &h->before);
    wharf_buffer_stats_t st0 = stats(h);
    uint32_t failed = lines_for(h->n_blocks);
    for (int i = 0; i < 3; i++)
        assert_int_equal(h_try_commit(h, failed), WHARF_EFULL);
    assert_int_equal(h_try_commit(h, 11), WHARF_EFULL);
    assert_int_equal(h_try_commit(h, 40), WHARF_EFULL);
    snapshot_take(h, &h->after);
    assert_same_snapshot(&h->before, &h->after);
    wharf_buffer_stats_t st1 = stats(h);
    assert_memory_equal(&st1, &st0, sizeof(st0));
    expect_last_checkpoint(h);
    expect_sizes_match_files(h);
    expect_layout(h);

    /* the output catches up: room again */
    expect_blocks(h, slow, 0, h->n_blocks, 10);
    wharf_buffer_cursor_ack(slow);
    assert_int_equal(info(slow).lag_events, 0);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    assert_int_equal(wharf_buffer_trim(h->b), 0);
    assert_int_equal(wharf_buffer_n_segments(h->b), 1);
    size_t from = h->n_blocks;
    for (size_t i = 0; i < 10; i++)
        h_commit(h, lines_for(h->n_blocks));
    expect_blocks(h, slow, from, h->n_blocks, 0);
    expect_layout(h);
    expect_sizes_match_files(h);
    assert_int_equal(stats(h).dropped_events, 0);
}

static void test_when_full_drop_oldest(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 4096;
    h->conf.max_size = 16384;
    h->conf.when_full = WHARF_WHEN_FULL_DROP_OLDEST;
    h_open(h);
    wharf_buffer_cursor_t *slow = h_cursor(h, "slow");
    wharf_buffer_cursor_t *fast = h_cursor(h, "fast");
    /* slow holds part of block 0 and then stops */
    h_commit(h, 5);
    wharf_str_t s;
    assert_int_equal(wharf_buffer_cursor_peek(slow, &s), 1);
    wharf_buffer_cursor_consume(slow, 10);
    expect_blocks(h, fast, 0, 1, 0);
    for (size_t i = 0; i < 300; i++) {
        h_commit(h, lines_for(h->n_blocks));
        if (stats(h).bytes > h->conf.max_size)
            fail_msg("after commit %zu the buffer is %" PRIu64 " bytes, max_size %" PRIu64, i,
                     stats(h).bytes, h->conf.max_size);
        /* fast keeps up and never loses anything */
        expect_blocks(h, fast, h->n_blocks - 1, h->n_blocks, 0);
        wharf_buffer_cursor_ack(fast);
    }
    assert_true(seg_info(h, 0).seq > 3); /* segments were dropped */
    expect_sizes_match_files(h);
    expect_layout(h);

    uint64_t dropped = info(slow).dropped_events;
    uint64_t oldest = seg_info(h, 0).first_event;
    assert_true(dropped > 0);
    assert_int_equal(dropped, oldest);
    /* its saved place moved to the oldest segment left */
    wharf_buffer_cursor_info_t ci = info(slow);
    assert_int_equal(ci.pos.segment, seg_info(h, 0).seq);
    assert_int_equal(ci.pos.offset, WHARF_WAL_SEGMENT_HEADER);
    assert_int_equal(ci.pos.event, oldest);
    assert_int_equal(ci.lag_events, h->next_event - oldest);
    assert_int_equal(ci.lag_bytes, stats(h).bytes - WHARF_WAL_SEGMENT_HEADER);
    assert_int_equal(info(fast).dropped_events, 0);
    assert_int_equal(stats(h).dropped_events, dropped);
    assert_int_equal(stats(h).events, h->next_event - oldest);

    /* slow reads exactly the events that are left */
    size_t k0 = 0;
    while (k0 < h->n_blocks && h->blocks[k0].first < oldest)
        k0++;
    assert_int_equal(h->blocks[k0].first, oldest);
    /* two blocks now, then more commits drop the segment it reads in */
    expect_one_block(h, slow, k0);
    expect_one_block(h, slow, k0 + 1);
    uint64_t read = h->blocks[k0].n + h->blocks[k0 + 1].n;
    uint64_t at = h->blocks[k0 + 2].first;
    for (size_t i = 0; i < 150; i++) {
        h_commit(h, lines_for(h->n_blocks));
        expect_blocks(h, fast, h->n_blocks - 1, h->n_blocks, 0);
        wharf_buffer_cursor_ack(fast);
    }
    oldest = seg_info(h, 0).first_event;
    assert_true(oldest > at);
    uint64_t dropped2 = info(slow).dropped_events;
    assert_int_equal(dropped2, dropped + (oldest - at));
    assert_int_equal(stats(h).dropped_events, dropped2);
    k0 = 0;
    while (k0 < h->n_blocks && h->blocks[k0].first < oldest)
        k0++;
    assert_int_equal(h->blocks[k0].first, oldest);
    read += expect_blocks(h, slow, k0, h->n_blocks, 0);
    /* every event committed was either read or counted as dropped */
    assert_int_equal(read + dropped2, h->next_event);
    assert_int_equal(info(fast).dropped_events, 0);

    /* the count is saved with the cursor */
    wharf_buffer_cursor_ack(slow);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    h_reopen(h);
    slow = h_cursor(h, "slow");
    ci = info(slow);
    assert_int_equal(ci.dropped_events, dropped2);
    assert_int_equal(ci.pos.event, h->next_event);
    assert_int_equal(ci.lag_events, 0);
    expect_blocks(h, slow, h->n_blocks, h->n_blocks, 0);
}

/* ---- READ_ONLY ----------------------------------------------------------------------------------
 */

static void test_read_only_torn_tail(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    wharf_buffer_cursor_t *c = h_cursor(h, "reader");
    fill_segments(h, 2);
    for (size_t k = 0; k < 3; k++)
        expect_one_block(h, c, k);
    wharf_buffer_cursor_ack(c);
    wharf_buffer_cursor_info_t acked = info(c);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    uint64_t last = seg_info(h, wharf_buffer_n_segments(h->b) - 1).seq;
    uint64_t prev_end = seg_file_size(h, last);
    h_commit(h, 8);
    uint64_t end = seg_file_size(h, last);
    h_close(h);
    /* torn in the middle of the last commit */
    char seg[PATH_MAX];
    seg_path(h, last, seg);
    uint64_t cut = prev_end + (end - prev_end) / 2;
    assert_int_equal(truncate(seg, (off_t)cut), 0);
    model_cut(h, h->n_blocks - 1);

    snapshot_take(h, &h->before);
    h_open_flags(h, WHARF_BUFFER_READ_ONLY);
    expect_last_checkpoint(h);
    wharf_buffer_stats_t st = stats(h);
    assert_int_equal(st.next_event, h->next_event);
    assert_int_equal(st.torn_bytes, cut - prev_end);
    assert_int_equal(st.corrupt_records, 0);
    assert_int_equal(seg_info(h, wharf_buffer_n_segments(h->b) - 1).bytes, prev_end);
    assert_int_equal(wharf_buffer_n_saved_cursors(h->b), 1);
    wharf_buffer_cursor_info_t ci;
    wharf_buffer_saved_cursor(h->b, 0, &ci);
    assert_string_equal(ci.id, "reader");
    assert_memory_equal(&ci.pos, &acked.pos, sizeof(ci.pos));
    assert_int_equal(ci.lag_events, h->next_event - h->blocks[3].first);
    assert_int_equal(ci.dropped_events, 0);
    /* nothing writes */
    assert_int_equal(wharf_buffer_commit(h->b, "{\"n\":1}\n", 8, 1, "x", 1), -EINVAL);
    assert_int_equal(stats(h).next_event, h->next_event);
    assert_int_equal(wharf_buffer_tick(h->b), 0);
    /* reading is fine; saving does nothing */
    c = h_cursor(h, "reader");
    expect_blocks(h, c, 3, h->n_blocks, 4);
    wharf_buffer_cursor_ack(c);
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    h_close(h);
    snapshot_take(h, &h->after);
    assert_same_snapshot(&h->before, &h->after);

    /* a second read-only open sees the same */
    h_open_flags(h, WHARF_BUFFER_READ_ONLY);
    assert_int_equal(stats(h).torn_bytes, cut - prev_end);
    h_close(h);
    snapshot_take(h, &h->after);
    assert_same_snapshot(&h->before, &h->after);
    /* and a writable one cuts */
    h_open(h);
    assert_int_equal(seg_file_size(h, last), prev_end);
    expect_layout(h);
}

static void test_read_only_damaged_files(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    h_cursor(h, "reader");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    fill_segments(h, 3);
    h_close(h);
    char path[PATH_MAX];
    /* a garbage header on segment 1, junk as segment 4, an empty segment 5 */
    seg_path(h, 1, path);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "garbage-garbage!", 16, 0), 16);
    close(fd);
    seg_path(h, 4, path);
    write_file(path, "not a segment, not a record", 27);
    seg_path(h, 5, path);
    write_file(path, "", 0);
    snapshot_take(h, &h->before);

    h_open_flags(h, WHARF_BUFFER_READ_ONLY);
    expect_last_checkpoint(h);
    assert_int_equal(stats(h).next_event, h->next_event);
    assert_int_equal(stats(h).events, h->next_event);
    assert_int_equal(wharf_buffer_n_segments(h->b), 5);
    wharf_buffer_cursor_t *c = h_cursor(h, "reader");
    expect_blocks(h, c, 0, h->n_blocks, 0);
    h_close(h);
    snapshot_take(h, &h->after);
    assert_same_snapshot(&h->before, &h->after);
}

/* A read-only open (`wharf buffer stat`, run next to a live agent) must not
 * delete segments either: the writer's outputs still need them. */
static void test_read_only_trim_deletes_nothing(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    h_cursor(h, "reader");
    assert_int_equal(wharf_buffer_save_cursors(h->b), 0);
    fill_segments(h, 3);
    h_close(h);
    snapshot_take(h, &h->before);
    h_open_flags(h, WHARF_BUFFER_READ_ONLY);
    wharf_buffer_trim(h->b);
    assert_int_equal(wharf_buffer_n_segments(h->b), 3);
    h_close(h);
    snapshot_take(h, &h->after);
    assert_same_snapshot(&h->before, &h->after);
}

/* A segment listed and then gone before it is opened (a running wharf
 * deleted it while `wharf buffer stat` read the directory; a dangling link
 * stands in for that moment here): a read-only open counts the buffer
 * without it, as if it had been deleted before the listing (regression:
 * the open failed, and test_buffer_full's stat loop with it, by chance). */
static void test_read_only_segment_gone(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    fill_segments(h, 3);
    wharf_buffer_segment_info_t first;
    wharf_buffer_segment(h->b, 0, &first);
    h_close(h);
    char path[PATH_MAX];
    seg_path(h, first.seq, path);
    assert_int_equal(unlink(path), 0);
    h_open_flags(h, WHARF_BUFFER_READ_ONLY);
    wharf_buffer_stats_t deleted = stats(h);
    size_t n = wharf_buffer_n_segments(h->b);
    h_close(h);
    assert_int_equal(symlink("/nonexistent/wharf-segment", path), 0);
    h_open_flags(h, WHARF_BUFFER_READ_ONLY);
    wharf_buffer_stats_t gone = stats(h);
    assert_int_equal(wharf_buffer_n_segments(h->b), n);
    assert_true(gone.events > 0);
    assert_int_equal(gone.events, deleted.events);
    assert_int_equal(gone.bytes, deleted.bytes);
    assert_int_equal(gone.next_event, deleted.next_event);
    h_close(h);
    assert_int_equal(unlink(path), 0);
}

/* Torn while a roll wrote the new segment's start checkpoint: a read-only
 * open reports that segment as a writable one would leave it, starting at
 * the next event (not at event 0). */
static void test_read_only_torn_segment_start(void **state)
{
    harness_t *h = *state;
    h->conf.segment_size = 2048;
    h_open(h);
    commit_until_segments(h, 2);
    h_close(h);
    model_cut(h, h->n_blocks - 1);
    char path[PATH_MAX];
    seg_path(h, 2, path);
    assert_int_equal(truncate(path, WHARF_WAL_SEGMENT_HEADER + 20), 0);
    snapshot_take(h, &h->before);
    h_open_flags(h, WHARF_BUFFER_READ_ONLY);
    expect_last_checkpoint(h);
    assert_int_equal(stats(h).next_event, h->next_event);
    assert_int_equal(stats(h).torn_bytes, 20);
    wharf_buffer_segment_info_t si = seg_info(h, 1);
    assert_int_equal(si.seq, 2);
    assert_int_equal(si.events, 0);
    assert_int_equal(si.first_event, h->next_event);
    h_close(h);
    snapshot_take(h, &h->after);
    assert_same_snapshot(&h->before, &h->after);
    /* what a writable open makes of it */
    h_open(h);
    assert_int_equal(seg_info(h, 1).first_event, h->next_event);
    expect_layout(h);
}

int main(void)
{
    wharf_log_set_level(WHARF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consume_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_only_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_frame_reads_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partly_read_last_commit_survives_next_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_commit_frame_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_max_payload_reads_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_restores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_roll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_resumes_at_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_health_saved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_output_starts_at_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_deletes_passed_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim_slow_cursor_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_in_rolled_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_first_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_last_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_crc_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_found_while_reading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_counted_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_header_old_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_extra_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_last_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_only_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junk_cursors_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junk_cursors_file_resends_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_when_full_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_when_full_drop_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_damaged_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_trim_deletes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_segment_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_torn_segment_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
