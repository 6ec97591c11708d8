/* test_archive.c - the retention archive's format (wharf/archive.h): chain
 * values against independently computed SHA-256s (Python's hashlib), the
 * manifest line round trip and what a parse refuses, the frame index, frame
 * scanning over a torn frame, event times, and Ed25519 signatures. */
#include "wharf/archive.h"
#include "wharf/common.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define ID     "00112233445566778899aabbccddeeff"
#define START  "37b1920b0c190765383e9db586fc5f4fcb7ba3d4b2f52b971bf340841dab5bff"
#define CHAIN1 "936d59032ca119793658a08203dc3c96460d2ed24339b50a4e5b8297b8eac467"
#define PRUNED "aaba8267de99a6a2b3217c18cc7b237655d7a693075dd0a039de4639515dbeee"
#define T0     "2026-11-20T08:00:00.000000000Z"
#define T2     "2026-11-20T08:00:02.000000000Z"

static wharf_archive_line_t segment_line(void)
{
    wharf_archive_line_t l;
    memset(&l, 0, sizeof(l));
    l.type = WHARF_ARCHIVE_SEGMENT;
    l.seq = 1;
    snprintf(l.file, sizeof(l.file), "2026/11/20/h-00000001.ndjson.zst");
    memset(l.sha256, 'a', 64);
    for (int i = 1; i < 64; i += 2)
        l.sha256[i] = 'b';
    l.bytes = 1234;
    l.count = 3;
    snprintf(l.first, sizeof(l.first), T0);
    snprintf(l.last, sizeof(l.last), T2);
    snprintf(l.at, sizeof(l.at), T2);
    return l;
}

/* hashlib.sha256(b"wharf-archive|" + id), then the documented text forms. */
static void test_chain_values(void **state)
{
    (void)state;
    wharf_archive_hex_t start, c1, c2;
    wharf_archive_chain_start(ID, start);
    assert_string_equal(start, START);
    wharf_archive_line_t l = segment_line();
    wharf_archive_chain_next(start, &l, c1);
    assert_string_equal(c1, CHAIN1);
    wharf_archive_line_t p;
    memset(&p, 0, sizeof(p));
    p.type = WHARF_ARCHIVE_PRUNE;
    p.from = p.to = 1;
    memcpy(p.pruned_chain, c1, sizeof(c1));
    wharf_archive_chain_next(c1, &p, c2);
    assert_string_equal(c2, PRUNED);
    p.type = WHARF_ARCHIVE_SEAL; /* a seal does not move the chain */
    wharf_archive_chain_next(c2, &p, c1);
    assert_string_equal(c1, PRUNED);
}

static void test_line_round_trip(void **state)
{
    (void)state;
    wharf_archive_line_t l = segment_line(), back;
    memcpy(l.chain, CHAIN1, 65);
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_archive_line_format(&l, &b);
    assert_true(b.len > 0 && b.data[b.len - 1] == '\n');
    const char *want =
        "{\"type\":\"segment\",\"seq\":1,\"file\":\"2026/11/20/h-00000001.ndjson.zst\","
        "\"sha256\":\"abababababababababababababababababababababababababababababab"
        "abab\",\"bytes\":1234,\"count\":3,\"first\":\"" T0 "\",\"last\":\"" T2 "\",\"at\":\"" T2
        "\",\"chain\":\"" CHAIN1 "\"}\n";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    assert_int_equal(wharf_archive_line_parse(b.data, b.len - 1, &back), 0);
    assert_int_equal(back.type, WHARF_ARCHIVE_SEGMENT);
    assert_int_equal(back.seq, 1);
    assert_int_equal(back.count, 3);
    assert_int_equal(back.bytes, 1234);
    assert_string_equal(back.file, l.file);
    assert_string_equal(back.sha256, l.sha256);
    assert_string_equal(back.first, T0);
    assert_string_equal(back.chain, CHAIN1);
    assert_string_equal(back.sig, "");
    wharf_buf_free(&b);
}

/* Each edit that keeps valid JSON but breaks the shape is refused. */
static void test_line_parse_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"type\":\"segment\",\"seq\":1}",
        "{\"type\":\"nope\",\"at\":\"" T0 "\",\"chain\":\"" CHAIN1 "\"}",
        "{\"type\":\"header\",\"version\":1,\"archive_id\":\"XYZ\",\"host\":\"h\",\"at\":\"" T0
        "\",\"chain\":\"" START "\"}",
        "{\"type\":\"header\",\"version\":1,\"archive_id\":\"" ID "\",\"host\":\"h\",\"at\":\"" T0
        "\",\"chain\":\"" START "0\"}",
        "{\"type\":\"prune\",\"from\":-1,\"to\":2,\"pruned_chain\":\"" CHAIN1 "\",\"at\":\"" T0
        "\",\"chain\":\"" START "\"}",
        "{\"type\":\"seal\",\"seq\":3,\"at\":\"" T0 "\",\"chain\":\"" START "\",\"sig\":\"x\"}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wharf_archive_line_t l;
        assert_int_equal(wharf_archive_line_parse(bad[i], strlen(bad[i]), &l), WHARF_EPARSE);
        assert_int_equal(l.type, WHARF_ARCHIVE_INVALID);
    }
    const char *header = "{\"type\":\"header\",\"version\":1,\"archive_id\":\"" ID
                         "\",\"host\":\"h\",\"at\":\"" T0 "\",\"chain\":\"" START "\"}";
    wharf_archive_line_t h;
    assert_int_equal(wharf_archive_line_parse(header, strlen(header), &h), 0);
    assert_string_equal(h.archive_id, ID);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static size_t compress_frame(const char *text, char *out, size_t cap)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    size_t n = ZSTD_compress2(c, out, cap, text, strlen(text));
    ZSTD_freeCCtx(c);
    assert_false(ZSTD_isError(n));
    return n;
}

/* Two frames, the second torn; then the index appended and read back. */
static void test_frames_and_index(void **state)
{
    (void)state;
    const char *f1 = "{\"@timestamp\":\"" T2 "\",\"message\":\"b\"}\n"
                     "{\"message\":\"no time\",\"@timestamp\":\"2026-11-20T09:00:00+01:00\"}\n";
    const char *f2 = "{\"@timestamp\":\"" T0 "\",\"message\":\"a\"}\n";
    char buf[4096];
    size_t n1 = compress_frame(f1, buf, sizeof(buf));
    size_t n2 = compress_frame(f2, buf + n1, sizeof(buf) - n1);
    wharf_archive_frame_t *frames = NULL;
    size_t n = 0, end = 0;
    assert_int_equal(wharf_archive_frames_scan(buf, n1 + n2 - 3, &frames, &n, &end), 0);
    assert_int_equal(n, 1);
    assert_int_equal(end, n1);
    assert_int_equal(frames[0].count, 2);
    assert_string_equal(frames[0].first, "2026-11-20T08:00:00.000000000Z");
    assert_string_equal(frames[0].last, T2);
    free(frames);

    assert_int_equal(wharf_archive_frames_scan(buf, n1 + n2, &frames, &n, &end), 0);
    assert_int_equal(n, 2);
    assert_int_equal(frames[1].offset, n1);
    assert_int_equal(frames[1].count, 1);
    wharf_buf_t seg;
    wharf_buf_init(&seg);
    wharf_buf_append(&seg, buf, n1 + n2);
    wharf_archive_index_format(frames, n, &seg);
    free(frames);
    /* zstd itself skips the index frame */
    wharf_buf_t text;
    wharf_buf_init(&text);
    assert_int_equal(wharf_archive_frame_decompress(seg.data, seg.len, &text), 0);
    assert_int_equal(text.len, strlen(f1) + strlen(f2));
    char path[] = "/tmp/wharf-test-archive-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    write_bytes(path, seg.data, seg.len);
    assert_int_equal(wharf_archive_index_read(fd, &frames, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(frames[0].size, n1);
    assert_int_equal(frames[1].offset, n1);
    assert_string_equal(frames[1].first, T0);
    free(frames);
    write_bytes(path, seg.data, seg.len - 1); /* no index any more */
    assert_int_equal(wharf_archive_index_read(fd, &frames, &n), WHARF_EPARSE);
    close(fd);
    unlink(path);
    wharf_buf_free(&seg);
    wharf_buf_free(&text);
}

static void test_event_time(void **state)
{
    (void)state;
    wharf_archive_ts_t ts;
    const char *fast = "{\"@timestamp\":\"" T0 "\",\"x\":1}";
    assert_int_equal(wharf_archive_event_time(fast, strlen(fast), ts), 1);
    assert_string_equal(ts, T0);
    const char *later = "{\"x\":1,\"@timestamp\":\"2026-11-20T08:00:00.5-02:00\"}";
    assert_int_equal(wharf_archive_event_time(later, strlen(later), ts), 1);
    assert_string_equal(ts, "2026-11-20T10:00:00.500000000Z");
    const char *none = "{\"x\":1}";
    assert_int_equal(wharf_archive_event_time(none, strlen(none), ts), 0);
}

static void test_signatures(void **state)
{
    (void)state;
    char dir[] = "/tmp/wharf-test-keys-XXXXXX", cmd[1024], key_a[64], key_b[64], pub_a[64];
    assert_non_null(mkdtemp(dir));
    snprintf(key_a, sizeof(key_a), "%s/a.pem", dir);
    snprintf(key_b, sizeof(key_b), "%s/b.pem", dir);
    snprintf(pub_a, sizeof(pub_a), "%s/a.pub", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl genpkey -algorithm ed25519 -out %s && openssl genpkey -algorithm ed25519 "
             "-out %s && openssl pkey -in %s -pubout -out %s",
             key_a, key_b, key_a, pub_a);
    assert_int_equal(system(cmd), 0);
    wharf_archive_key_t *a = NULL, *b = NULL, *pa = NULL;
    char err[512], sig[WHARF_ARCHIVE_SIG_LEN + 1];
    assert_int_equal(wharf_archive_key_load(key_a, 1, &a, err, sizeof(err)), 0);
    assert_int_equal(wharf_archive_key_load(key_b, 1, &b, err, sizeof(err)), 0);
    assert_int_equal(wharf_archive_key_load(pub_a, 0, &pa, err, sizeof(err)), 0);
    assert_string_equal(wharf_archive_key_id(a), wharf_archive_key_id(pa));
    assert_string_not_equal(wharf_archive_key_id(a), wharf_archive_key_id(b));
    assert_int_equal(wharf_archive_sign(a, CHAIN1, sig), 0);
    assert_int_equal(strlen(sig), WHARF_ARCHIVE_SIG_LEN);
    assert_int_equal(wharf_archive_sig_ok(pa, CHAIN1, sig), 1);
    assert_int_equal(wharf_archive_sig_ok(b, CHAIN1, sig), 0);
    assert_int_equal(wharf_archive_sig_ok(pa, START, sig), 0);
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_int_equal(wharf_archive_sig_ok(pa, CHAIN1, sig), 0);
    /* a public key cannot sign; a missing file says how to make one */
    wharf_archive_key_t *none = NULL;
    assert_int_equal(wharf_archive_key_load(pub_a, 1, &none, err, sizeof(err)), -EINVAL);
    assert_int_equal(wharf_archive_key_load("/nonexistent.pem", 1, &none, err, sizeof(err)),
                     -EINVAL);
    assert_null(none);
    assert_non_null(strstr(err, "openssl genpkey -algorithm ed25519"));
    wharf_archive_key_free(a);
    wharf_archive_key_free(b);
    wharf_archive_key_free(pa);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_values),       cmocka_unit_test(test_line_round_trip),
        cmocka_unit_test(test_line_parse_refuses), cmocka_unit_test(test_frames_and_index),
        cmocka_unit_test(test_event_time),         cmocka_unit_test(test_signatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
