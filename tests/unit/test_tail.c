/* test_tail.c - the file tailer in oneshot mode (no loop): line splitting
 * and offsets, open lines, over-long lines, read_from_end, saved positions
 * and their fingerprints, copytruncate; and live passes on a libuv loop,
 * which read a bounded number of bytes in turns. A small decoder records
 * every line it is given; the pipeline has no outputs, so a commit always
 * succeeds. */
#include "wharf/common.h"
#include "wharf/pipeline.h"
#include "wharf/positions.h"
#include "wharf/tail.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

/* ---- a recording decoder ------------------------------------------------- */

typedef struct rec {
    char *path;
    char *text;
    size_t len;
    uint64_t off;
    int truncated;
} rec_t;

typedef struct recorder {
    rec_t *v;
    size_t n, cap;
    int opens, closes, flushes;
    const char *ignore; /* basename the decoder declines */
    uint64_t safe;      /* what safe_offset reports */
} recorder_t;

static int rec_open(void *arg, wharf_tail_file_t *f)
{
    recorder_t *r = arg;
    r->opens++;
    const char *base = strrchr(f->path, '/');
    base = base ? base + 1 : f->path;
    if (r->ignore != NULL && strcmp(base, r->ignore) == 0)
        return 1;
    f->user = r;
    return 0;
}

static void rec_line(void *arg, wharf_tail_file_t *f, const char *line, size_t len, uint64_t off,
                     int truncated)
{
    recorder_t *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        assert_non_null(r->v);
    }
    rec_t *x = &r->v[r->n++];
    x->path = strdup(f->path);
    x->text = malloc(len + 1);
    assert_non_null(x->text);
    memcpy(x->text, line, len);
    x->text[len] = '\0';
    x->len = len;
    x->off = off;
    x->truncated = truncated;
}

static uint64_t rec_safe_offset(void *arg, wharf_tail_file_t *f)
{
    return ((recorder_t *)arg)->safe;
}

static void rec_flush(void *arg, wharf_tail_file_t *f)
{
    ((recorder_t *)arg)->flushes++;
}

static void rec_close(void *arg, wharf_tail_file_t *f)
{
    ((recorder_t *)arg)->closes++;
    f->user = NULL;
}

static void rec_clear(recorder_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].path);
        free(r->v[i].text);
    }
    r->n = 0;
}

static void rec_free(recorder_t *r)
{
    rec_clear(r);
    free(r->v);
    r->v = NULL;
    r->cap = 0;
}

/* ---- a tail over one temp directory ---------------------------------------- */

typedef struct harness {
    char *dir;
    char glob[4096];
    char *globv[1];
    wharf_strv_t globs;
    wharf_positions_t pos; /* what the tail starts from */
    wharf_pipeline_t *pipe;
    wharf_tail_t *tail;
    recorder_t rec;
    char *scratch[4]; /* freed at teardown */
    uv_loop_t *loop;  /* live passes (&live_loop); NULL: oneshot */
    uv_loop_t live_loop;
} harness_t;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void h_init(harness_t *h)
{
    memset(h, 0, sizeof(*h));
    char tmpl[] = "/tmp/wharf-test-tail-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    h->dir = strdup(d);
    snprintf(h->glob, sizeof(h->glob), "%s/*.log", h->dir);
    h->globv[0] = h->glob;
    h->globs.v = h->globv;
    h->globs.n = 1;
    wharf_positions_init(&h->pos);
    h->rec.safe = UINT64_MAX;
}

/* A tail (and its own pipeline, without a buffer: the recorder emits no
 * events, so nothing is ever committed) starting from h->pos. */
static void h_start(harness_t *h, int read_from_end, uint64_t max_line_bytes)
{
    assert_int_equal(wharf_pipeline_new("test-host", NULL, &h->pipe), 0);
    wharf_tail_opts_t opts = {
        .input_id = "test",
        .globs = &h->globs,
        .read_from_end = read_from_end,
        .max_line_bytes = max_line_bytes,
        .rotate_wait_ms = 0,
        .rescan_ms = 1000,
    };
    wharf_tail_decoder_t dec = {&h->rec,   rec_open,  rec_line, rec_safe_offset,
                                rec_flush, rec_close, NULL};
    assert_int_equal(wharf_tail_new(h->loop, h->pipe, &h->pos, &opts, &dec, &h->tail), 0);
}

static void h_read(harness_t *h)
{
    assert_int_equal(wharf_tail_read_all(h->tail), 0);
}

/* Positions as the agent puts them in a checkpoint. */
static void h_positions(harness_t *h, wharf_positions_t *out)
{
    wharf_positions_init(out);
    assert_int_equal(wharf_tail_positions(h->tail, out), 0);
}

static void h_stop(harness_t *h)
{
    if (h->tail != NULL) {
        wharf_tail_stop(h->tail);
        if (h->loop != NULL) /* the closed handles' callbacks */
            assert_int_equal(uv_run(h->loop, UV_RUN_DEFAULT), 0);
        wharf_tail_free(h->tail);
        h->tail = NULL;
    }
    wharf_pipeline_free(h->pipe);
    h->pipe = NULL;
}

/* Stops the tail and makes the next one start from its positions, through
 * the checkpoint form as a restart would. */
static void h_restart_from_saved(harness_t *h)
{
    wharf_positions_t saved;
    wharf_buf_t text;
    wharf_buf_init(&text);
    h_positions(h, &saved);
    wharf_positions_serialize(&saved, &text);
    wharf_positions_free(&saved);
    h_stop(h);
    wharf_positions_free(&h->pos);
    wharf_positions_init(&h->pos);
    assert_int_equal(wharf_positions_parse(&h->pos, text.data, text.len), 0);
    wharf_buf_free(&text);
}

static void h_free(harness_t *h)
{
    h_stop(h);
    if (h->loop != NULL)
        assert_int_equal(uv_loop_close(h->loop), 0);
    wharf_positions_free(&h->pos);
    rec_free(&h->rec);
    for (size_t i = 0; i < 4; i++)
        free(h->scratch[i]);
    nftw(h->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(h->dir);
}

static int setup(void **state)
{
    harness_t *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -1;
    h_init(h);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    h_free(*state);
    free(*state);
    return 0;
}

static void h_path(const harness_t *h, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", h->dir, name);
}

static void write_at(const harness_t *h, const char *name, const char *data, size_t n, int flags)
{
    char path[4096];
    h_path(h, name, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

static void put(const harness_t *h, const char *name, const char *s)
{
    write_at(h, name, s, strlen(s), O_TRUNC);
}

static void append(const harness_t *h, const char *name, const char *s)
{
    write_at(h, name, s, strlen(s), O_APPEND);
}

static void truncate_file(const harness_t *h, const char *name)
{
    char path[4096];
    h_path(h, name, path, sizeof(path));
    assert_int_equal(truncate(path, 0), 0);
}

static struct stat stat_file(const harness_t *h, const char *name)
{
    char path[4096];
    struct stat st;
    h_path(h, name, path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    return st;
}

static void check_rec_n(const harness_t *h, size_t i, const char *name, const char *text,
                        size_t len, uint64_t off, int truncated)
{
    if (i >= h->rec.n)
        fail_msg("line #%zu \"%.*s\" was not delivered (%zu lines were)", i, (int)len, text,
                 h->rec.n);
    const rec_t *r = &h->rec.v[i];
    if (r->len != len || memcmp(r->text, text, len) != 0)
        fail_msg("line #%zu is \"%.*s\" (%zu bytes), want \"%.*s\" (%zu bytes)", i,
                 (int)(r->len > 80 ? 80 : r->len), r->text, r->len, (int)(len > 80 ? 80 : len),
                 text, len);
    if (r->off != off)
        fail_msg("line #%zu \"%.*s\": offset %llu, want %llu", i, (int)(len > 80 ? 80 : len), text,
                 (unsigned long long)r->off, (unsigned long long)off);
    if (r->truncated != truncated)
        fail_msg("line #%zu (%zu bytes at %llu): truncated=%d, want %d", i, r->len,
                 (unsigned long long)r->off, r->truncated, truncated);
    if (name != NULL) {
        char path[4096];
        h_path(h, name, path, sizeof(path));
        assert_string_equal(r->path, path);
    }
}

#define CHECK_REC(h, i, name, lit, off, trunc)                                                     \
    check_rec_n((h), (i), (name), (lit), sizeof(lit) - 1, (off), (trunc))

static const wharf_position_t *find_pos(const harness_t *h, const wharf_positions_t *p,
                                        const char *name)
{
    struct stat st = stat_file(h, name);
    return wharf_positions_find(p, "test", (uint64_t)st.st_dev, (uint64_t)st.st_ino);
}

static uint64_t saved_offset(harness_t *h, const char *name)
{
    wharf_positions_t p;
    h_positions(h, &p);
    const wharf_position_t *e = find_pos(h, &p, name);
    if (e == NULL) {
        wharf_positions_free(&p);
        fail_msg("no position for %s", name);
    }
    uint64_t off = e->offset;
    wharf_positions_free(&p);
    return off;
}

static char *repeat(harness_t *h, char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    for (size_t i = 0; i < 4; i++) {
        if (h->scratch[i] == NULL) {
            h->scratch[i] = s;
            return s;
        }
    }
    fail_msg("too many scratch buffers");
    return NULL;
}

/* ---- line splitting --------------------------------------------------------- */

static void test_lines_and_offsets(void **state)
{
    harness_t *h = *state;
    const char content[] = "one\ntwo\n\nthree\r\nx\0y\n";
    write_at(h, "a.log", content, sizeof(content) - 1, O_TRUNC);
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 5);
    CHECK_REC(h, 0, "a.log", "one", 0, 0);
    CHECK_REC(h, 1, "a.log", "two", 4, 0);
    CHECK_REC(h, 2, "a.log", "", 8, 0);
    CHECK_REC(h, 3, "a.log", "three\r", 9, 0);
    CHECK_REC(h, 4, "a.log", "x\0y", 16, 0);
    assert_int_equal(h->rec.opens, 1);

    /* positions: identity and the committed offset */
    wharf_positions_t p;
    h_positions(h, &p);
    assert_true(wharf_positions_has_input(&p, "test"));
    assert_int_equal(p.n, 1);
    struct stat st = stat_file(h, "a.log");
    const wharf_position_t *e =
        wharf_positions_find(&p, "test", (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    assert_non_null(e);
    char path[4096];
    h_path(h, "a.log", path, sizeof(path));
    assert_string_equal(e->path, path);
    assert_int_equal(e->offset, 20);
    assert_int_equal(e->fp_len, 20);
    assert_int_equal(e->fp_hash, wharf_fingerprint(content, 20));
    wharf_positions_free(&p);

    /* nothing new: nothing delivered again */
    h_read(h);
    assert_int_equal(h->rec.n, 5);
    /* appended lines continue the offsets */
    append(h, "a.log", "four\nfive\n");
    h_read(h);
    assert_int_equal(h->rec.n, 7);
    CHECK_REC(h, 5, "a.log", "four", 20, 0);
    CHECK_REC(h, 6, "a.log", "five", 25, 0);
    assert_int_equal(saved_offset(h, "a.log"), 30);
}

/* Enough lines that the read buffer (max_line_bytes + 256 KiB) is refilled
 * many times, with lines straddling every refill. */
static void test_many_lines_across_reads(void **state)
{
    harness_t *h = *state;
    size_t n = 20000;
    char *data = h->scratch[0] = malloc(n * 48);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(data + len, "line %06zu %.*s\n", i, (int)(i % 29),
                               "abcdefghijklmnopqrstuvwxyz0123");
    write_at(h, "big.log", data, len, O_TRUNC);
    h_start(h, 0, 100);
    h_read(h);
    assert_int_equal(h->rec.n, n);
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        char want[64];
        int wl =
            sprintf(want, "line %06zu %.*s", i, (int)(i % 29), "abcdefghijklmnopqrstuvwxyz0123");
        check_rec_n(h, i, "big.log", want, (size_t)wl, off, 0);
        off += (uint64_t)wl + 1;
    }
    assert_int_equal(off, len);
    assert_int_equal(saved_offset(h, "big.log"), len);
}

/* ---- open (unterminated) lines --------------------------------------------- */

static void test_unterminated_line(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "a\nb\npart");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    CHECK_REC(h, 0, "a.log", "a", 0, 0);
    CHECK_REC(h, 1, "a.log", "b", 2, 0);
    /* the open line is not committed */
    assert_int_equal(saved_offset(h, "a.log"), 4);
    h_read(h);
    assert_int_equal(h->rec.n, 2);

    /* the same instance delivers it once it is complete */
    append(h, "a.log", "ial\nc");
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 2, "a.log", "partial", 4, 0);
    assert_int_equal(saved_offset(h, "a.log"), 12);
}

static void test_unterminated_line_after_restart(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "a\nb\npart");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    h_restart_from_saved(h);
    rec_clear(&h->rec);

    append(h, "a.log", "ial\n");
    /* read_from_end does not matter: the input has started before */
    h_start(h, 1, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 1);
    CHECK_REC(h, 0, "a.log", "partial", 4, 0);
    assert_int_equal(saved_offset(h, "a.log"), 12);

    /* and a second restart delivers nothing again */
    h_restart_from_saved(h);
    rec_clear(&h->rec);
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 0);
    assert_int_equal(saved_offset(h, "a.log"), 12);
}

/* What the decoder still holds (safe_offset) bounds the saved offset. */
static void test_safe_offset_bounds_positions(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "aaa\nbbb\nccc\n");
    h_start(h, 0, 1024);
    h->rec.safe = 4; /* "bbb" is a part the decoder is still joining */
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    assert_int_equal(saved_offset(h, "a.log"), 4);
    h->rec.safe = UINT64_MAX;
    h_read(h);
    assert_int_equal(saved_offset(h, "a.log"), 12);
}

/* ---- over-long lines ---------------------------------------------------------- */

/* A line over max_line_bytes, longer than the read buffer. */
static void test_long_line_beyond_buffer(void **state)
{
    harness_t *h = *state;
    size_t big = 300000; /* > 16 + 256 KiB */
    char *x = repeat(h, 'x', big);
    put(h, "a.log", "s\n");
    append(h, "a.log", x);
    append(h, "a.log", "\nafter\n");
    h_start(h, 0, 16);
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 0, "a.log", "s", 0, 0);
    CHECK_REC(h, 1, "a.log", "xxxxxxxxxxxxxxxx", 2, 1);
    CHECK_REC(h, 2, "a.log", "after", 2 + big + 1, 0);
    assert_int_equal(saved_offset(h, "a.log"), 2 + big + 1 + 6);
}

/* tail.h: `truncated` is set when a line "was cut at max_line_bytes"; issue 2:
 * "Any line longer than max_line_bytes is cut there and tagged truncated".
 * This holds whatever the line's length relative to the read buffer. */
static void test_long_line_within_buffer(void **state)
{
    harness_t *h = *state;
    char *x40 = repeat(h, 'x', 40);
    put(h, "a.log", "short\n");
    append(h, "a.log", x40);
    append(h, "a.log", "\nafter\n");
    h_start(h, 0, 16);
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 0, "a.log", "short", 0, 0);
    CHECK_REC(h, 1, "a.log", "xxxxxxxxxxxxxxxx", 6, 1);
    CHECK_REC(h, 2, "a.log", "after", 47, 0);
    assert_int_equal(saved_offset(h, "a.log"), 53);
}

static void test_long_line_boundary(void **state)
{
    harness_t *h = *state;
    /* exactly max_line_bytes: whole, not truncated */
    put(h, "a.log", "0123456789abcdef\n0123456789abcdefg\nok\n");
    h_start(h, 0, 16);
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 0, "a.log", "0123456789abcdef", 0, 0);
    /* one byte more: cut */
    CHECK_REC(h, 1, "a.log", "0123456789abcdef", 17, 1);
    CHECK_REC(h, 2, "a.log", "ok", 35, 0);
}

/* An over-long line that is still open when the read ends: its first
 * max_line_bytes go out now, the rest is skipped when it arrives. */
static void test_long_open_line_skipped_later(void **state)
{
    harness_t *h = *state;
    char *y40 = repeat(h, 'y', 40);
    put(h, "a.log", "abc\n");
    append(h, "a.log", y40);
    h_start(h, 0, 16);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    CHECK_REC(h, 0, "a.log", "abc", 0, 0);
    CHECK_REC(h, 1, "a.log", "yyyyyyyyyyyyyyyy", 4, 1);
    /* the cut line is not committed past its start */
    assert_int_equal(saved_offset(h, "a.log"), 4);
    append(h, "a.log", "yyy\nz\n");
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 2, "a.log", "z", 48, 0);
    assert_int_equal(saved_offset(h, "a.log"), 50);
}

/* ---- where a file is started ------------------------------------------------- */

static void test_read_from_end_first_start(void **state)
{
    harness_t *h = *state;
    put(h, "old.log", "old1\nold2\n");
    h_start(h, 1, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 0);
    assert_int_equal(saved_offset(h, "old.log"), 10);
    /* lines written after the start are read */
    append(h, "old.log", "new\n");
    h_read(h);
    assert_int_equal(h->rec.n, 1);
    CHECK_REC(h, 0, "old.log", "new", 10, 0);
    /* a file created after the first scan is read from its start */
    put(h, "later.log", "n1\nn2\n");
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 1, "later.log", "n1", 0, 0);
    CHECK_REC(h, 2, "later.log", "n2", 3, 0);
}

static void test_read_from_beginning_first_start(void **state)
{
    harness_t *h = *state;
    put(h, "old.log", "old1\nold2\n");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    CHECK_REC(h, 0, "old.log", "old1", 0, 0);
    CHECK_REC(h, 1, "old.log", "old2", 5, 0);
}

/* read_from applies to the first start only: an input that has run before
 * reads a file it has no position for from its beginning. */
static void test_read_from_end_not_first_start(void **state)
{
    harness_t *h = *state;
    assert_int_equal(wharf_positions_add_input(&h->pos, "test"), 0);
    put(h, "new.log", "n1\nn2\n");
    h_start(h, 1, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    CHECK_REC(h, 0, "new.log", "n1", 0, 0);
    CHECK_REC(h, 1, "new.log", "n2", 3, 0);
}

static void test_resume_from_saved_position(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "first\nsecond\n");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    h_restart_from_saved(h);
    rec_clear(&h->rec);
    append(h, "a.log", "third\n");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 1);
    CHECK_REC(h, 0, "a.log", "third", 13, 0);
}

/* The file at the saved (dev, ino) has other content now: inode reused or
 * file rewritten in place. It is read from 0. */
static void test_fingerprint_mismatch_reads_from_start(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "first content\n");
    struct stat before = stat_file(h, "a.log");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 1);
    h_restart_from_saved(h);
    rec_clear(&h->rec);
    assert_int_equal(h->pos.n, 1);
    assert_int_equal(h->pos.v[0].offset, 14);

    put(h, "a.log", "other content, longer\nline2\n"); /* O_TRUNC: same inode */
    struct stat after = stat_file(h, "a.log");
    assert_int_equal(after.st_ino, before.st_ino);
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    CHECK_REC(h, 0, "a.log", "other content, longer", 0, 0);
    CHECK_REC(h, 1, "a.log", "line2", 22, 0);
    assert_int_equal(saved_offset(h, "a.log"), 28);
}

/* A saved offset past the end of the file is not trusted either. */
static void test_saved_offset_past_end(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "abc\n");
    struct stat st = stat_file(h, "a.log");
    char path[4096];
    h_path(h, "a.log", path, sizeof(path));
    wharf_position_t pos = {
        "test", path, (uint64_t)st.st_dev, (uint64_t)st.st_ino, wharf_fingerprint("abc\n", 4),
        4,      100};
    assert_int_equal(wharf_positions_add(&h->pos, &pos), 0);
    assert_int_equal(wharf_positions_add_input(&h->pos, "test"), 0);
    h_start(h, 1, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 1);
    CHECK_REC(h, 0, "a.log", "abc", 0, 0);
}

/* A hand-made matching position is honoured (fingerprint over fp_len bytes
 * of a file that has grown since). */
static void test_saved_position_with_shorter_fingerprint(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "abc\ndef\nghi\n");
    struct stat st = stat_file(h, "a.log");
    char path[4096];
    h_path(h, "a.log", path, sizeof(path));
    wharf_position_t pos = {
        "test", path, (uint64_t)st.st_dev, (uint64_t)st.st_ino, wharf_fingerprint("abc\n", 4),
        4,      4};
    assert_int_equal(wharf_positions_add(&h->pos, &pos), 0);
    assert_int_equal(wharf_positions_add_input(&h->pos, "test"), 0);
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    CHECK_REC(h, 0, "a.log", "def", 4, 0);
    CHECK_REC(h, 1, "a.log", "ghi", 8, 0);
    /* the fingerprint saved now covers the file's head as read */
    wharf_positions_t p;
    h_positions(h, &p);
    const wharf_position_t *e = find_pos(h, &p, "a.log");
    assert_non_null(e);
    assert_int_equal(e->offset, 12);
    assert_int_equal(e->fp_len, 12);
    assert_int_equal(e->fp_hash, wharf_fingerprint("abc\ndef\nghi\n", 12));
    wharf_positions_free(&p);
}

/* ---- copytruncate ------------------------------------------------------------- */

static void test_copytruncate_shorter(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "l1\nl2\nl3\n");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    truncate_file(h, "a.log");
    append(h, "a.log", "n1\nn2\n");
    h_read(h);
    assert_int_equal(h->rec.n, 5);
    CHECK_REC(h, 3, "a.log", "n1", 0, 0);
    CHECK_REC(h, 4, "a.log", "n2", 3, 0);
    assert_int_equal(h->rec.flushes, 1);
    assert_int_equal(saved_offset(h, "a.log"), 6);
}

static void test_copytruncate_longer(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "aa\n");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 1);
    truncate_file(h, "a.log");
    append(h, "a.log", "bbbbbb\ncc\n");
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 1, "a.log", "bbbbbb", 0, 0);
    CHECK_REC(h, 2, "a.log", "cc", 7, 0);
    assert_int_equal(h->rec.flushes, 1);
}

static void test_copytruncate_then_written_later(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "l1\nl2\n");
    h_start(h, 0, 1024);
    h_read(h);
    truncate_file(h, "a.log");
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    append(h, "a.log", "x\n");
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 2, "a.log", "x", 0, 0);
}

/* The file is truncated and refilled to exactly the size it had been read
 * to: the size alone does not tell, the head does. */
static void test_copytruncate_same_size(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "aa\nbb\n");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    truncate_file(h, "a.log");
    append(h, "a.log", "cc\ndd\n");
    h_read(h);
    assert_int_equal(h->rec.n, 4);
    CHECK_REC(h, 2, "a.log", "cc", 0, 0);
    CHECK_REC(h, 3, "a.log", "dd", 3, 0);
}

/* Regression (test_rotation under load): logrotate's copy was found by the
 * scan its inotify event started, still empty, and read from 0 once
 * written: every line of it came twice. An empty new rotated file waits;
 * once written, it is recognised as the copy and read from where the
 * original was read to. */
static void test_copytruncate_copy_found_empty(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "l1\nl2\n");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    put(h, "a.log.1", "");
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    put(h, "a.log.1", "l1\nl2\n");
    truncate_file(h, "a.log");
    append(h, "a.log", "n1\n");
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 2, "a.log", "n1", 0, 0);
    h_read(h);
    assert_int_equal(h->rec.n, 3);
}

/* ---- discovery ------------------------------------------------------------------ */

static void test_discovery(void **state)
{
    harness_t *h = *state;
    put(h, "c-json.log", "live\n");
    put(h, "c-json.log.1", "docker rotated\n");
    put(h, "0.log.20240101-120000", "kubelet rotated\n");
    put(h, "c-json.log.2.gz", "compressed\n");
    put(h, "c-json.log.old", "not a rotation suffix\n");
    put(h, "notes.txt", "not a log\n");
    put(h, "ignored.log", "declined by the decoder\n");
    char sub[4096];
    h_path(h, "subdir.log", sub, sizeof(sub));
    assert_int_equal(mkdir(sub, 0755), 0); /* a directory matching the glob */
    h->rec.ignore = "ignored.log";
    h_start(h, 0, 1024);
    h_read(h);
    /* order between files is not specified: look each up */
    assert_int_equal(h->rec.n, 3);
    int seen = 0;
    for (size_t i = 0; i < h->rec.n; i++) {
        const char *base = strrchr(h->rec.v[i].path, '/') + 1;
        if (strcmp(base, "c-json.log") == 0) {
            CHECK_REC(h, i, NULL, "live", 0, 0);
            seen |= 1;
        } else if (strcmp(base, "c-json.log.1") == 0) {
            CHECK_REC(h, i, NULL, "docker rotated", 0, 0);
            seen |= 2;
        } else if (strcmp(base, "0.log.20240101-120000") == 0) {
            CHECK_REC(h, i, NULL, "kubelet rotated", 0, 0);
            seen |= 4;
        } else {
            fail_msg("unexpected file %s", h->rec.v[i].path);
        }
    }
    assert_int_equal(seen, 7);
    assert_int_equal(h->rec.opens, 4);
    /* the declined file has no position */
    wharf_positions_t p;
    h_positions(h, &p);
    assert_int_equal(p.n, 3);
    assert_null(find_pos(h, &p, "ignored.log"));
    wharf_positions_free(&p);
    /* a second pass opens nothing again */
    h_read(h);
    assert_int_equal(h->rec.opens, 4);
    assert_int_equal(h->rec.n, 3);
    h_stop(h);
    assert_int_equal(h->rec.closes, 3);
}

/* A file that disappears is let go; nothing breaks. */
static void test_file_removed(void **state)
{
    harness_t *h = *state;
    put(h, "a.log", "a\n");
    put(h, "b.log", "b\n");
    h_start(h, 0, 1024);
    h_read(h);
    assert_int_equal(h->rec.n, 2);
    char path[4096];
    h_path(h, "a.log", path, sizeof(path));
    assert_int_equal(unlink(path), 0);
    append(h, "b.log", "b2\n");
    h_read(h);
    assert_int_equal(h->rec.n, 3);
    CHECK_REC(h, 2, "b.log", "b2", 2, 0);
}

/* Bytes of the lines recorded from index from on. */
static uint64_t rec_bytes(const harness_t *h, size_t from)
{
    uint64_t n = 0;
    for (size_t i = from; i < h->rec.n; i++)
        n += h->rec.v[i].len + 1;
    return n;
}

/* Writes name with n_lines lines of 1 KiB: "<name> <number> xxx...". */
static void put_kib_lines(const harness_t *h, const char *name, size_t n_lines)
{
    char *data = malloc(n_lines * 1024);
    assert_non_null(data);
    for (size_t i = 0; i < n_lines; i++) {
        char *line = data + i * 1024;
        memset(line, 'x', 1023);
        int w = snprintf(line, 1023, "%s %zu ", name, i);
        line[w] = 'x';
        line[1023] = '\n';
    }
    write_at(h, name, data, n_lines * 1024, O_TRUNC);
    free(data);
}

/* A live pass reads about 8 MiB over all files, however many have a
 * backlog (the loop's timers, signals and the API wait for a pass), and the
 * next pass starts with the file the budget ran out before: three files of
 * 5 MiB take three passes, none skipped, each file's lines in order. */
static void test_live_pass_budget_in_turns(void **state)
{
    harness_t *h = *state;
    const size_t lines = 5 * 1024; /* 5 MiB per file */
    const char *names[] = {"a.log", "b.log", "c.log"};
    for (size_t i = 0; i < 3; i++)
        put_kib_lines(h, names[i], lines);
    assert_int_equal(uv_loop_init(&h->live_loop), 0);
    h->loop = &h->live_loop;
    h_start(h, 0, 64 * 1024);
    assert_int_equal(wharf_tail_start(h->tail), 0); /* the first pass */
    uint64_t first = rec_bytes(h, 0);
    if (first < (8u << 20) || first > (8u << 20) + 320 * 1024)
        fail_msg("the first pass read %llu bytes, want 8 MiB and at most one read more",
                 (unsigned long long)first);
    int touched[3] = {0};
    for (size_t i = 0; i < h->rec.n; i++)
        for (size_t k = 0; k < 3; k++)
            touched[k] |= strncmp(h->rec.v[i].text, names[k], 5) == 0;
    assert_int_equal(touched[0] + touched[1] + touched[2], 2);
    size_t untouched = !touched[0] ? 0 : !touched[1] ? 1 : 2, at = h->rec.n;
    assert_int_equal(uv_run(h->loop, UV_RUN_NOWAIT), 1); /* the second pass */
    assert_true(h->rec.n > at);
    char want[32];
    snprintf(want, sizeof(want), "%s 0 ", names[untouched]);
    if (strncmp(h->rec.v[at].text, want, strlen(want)) != 0)
        fail_msg("the second pass began with \"%.12s\", want the file the first did not "
                 "reach, %s",
                 h->rec.v[at].text, names[untouched]);
    for (int turn = 0; turn < 10 && h->rec.n < 3 * lines; turn++)
        uv_run(h->loop, UV_RUN_NOWAIT);
    assert_int_equal(h->rec.n, 3 * lines);
    size_t next[3] = {0};
    for (size_t i = 0; i < h->rec.n; i++) {
        const rec_t *r = &h->rec.v[i];
        size_t k = (size_t)(strrchr(r->path, '/')[1] - 'a');
        assert_true(k < 3);
        char head[32];
        snprintf(head, sizeof(head), "%s %zu ", names[k], next[k]);
        if (r->len != 1023 || strncmp(r->text, head, strlen(head)) != 0 || r->off != next[k] * 1024)
            fail_msg("line #%zu of %s: \"%.16s\" at %llu, want \"%s\" at %zu", i, names[k], r->text,
                     (unsigned long long)r->off, head, next[k] * 1024);
        next[k]++;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines_and_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_lines_across_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_line_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_safe_offset_bounds_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_beyond_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_within_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_open_line_skipped_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_from_end_first_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_from_beginning_first_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_from_end_not_first_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_from_saved_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint_mismatch_reads_from_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_saved_offset_past_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saved_position_with_shorter_fingerprint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_copytruncate_shorter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copytruncate_longer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copytruncate_then_written_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copytruncate_same_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copytruncate_copy_found_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_pass_budget_in_turns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
