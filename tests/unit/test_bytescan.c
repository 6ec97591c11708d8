/* test_bytescan.c - the JSON byte scans (bytescan.h): the fast and the
 * portable version against a byte-by-byte answer, for every position of a
 * special byte in strings of every length up to 80 at every alignment, for
 * each kind of special byte, and on random text; plus the boundaries of the
 * byte classes (0x1f/0x20, 0x7f/0x80) and a string with none. */
#include "../helpers/xorshift.h"
#include "wharf/bytescan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

typedef size_t (*scan_fn)(const char *p, size_t n);

static const struct {
    const char *name;
    scan_fn fn;
    int unsafe; /* also stops at control and non-ASCII bytes */
} scans[] = {
    {"wharf_scan_quote_bslash", wharf_scan_quote_bslash, 0},
    {"wharf_scan_quote_bslash_portable", wharf_scan_quote_bslash_portable, 0},
    {"wharf_scan_json_unsafe", wharf_scan_json_unsafe, 1},
    {"wharf_scan_json_unsafe_portable", wharf_scan_json_unsafe_portable, 1},
};

#define N_SCANS (sizeof(scans) / sizeof(scans[0]))

static size_t scan_reference(const char *p, size_t n, int unsafe)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\' || (unsafe && (c < 0x20 || c >= 0x80)))
            return i;
    }
    return n;
}

/* The string is copied to the end of a heap block of exactly its size, so
 * that ASan and valgrind see any read past it. */
static void check_all_scans(const char *text, size_t n)
{
    char *p = malloc(n > 0 ? n : 1);
    assert_non_null(p);
    memcpy(p, text, n);
    for (size_t s = 0; s < N_SCANS; s++) {
        size_t want = scan_reference(p, n, scans[s].unsafe);
        size_t got = scans[s].fn(p, n);
        if (got != want)
            fail_msg("%s on %zu bytes: %zu, expected %zu", scans[s].name, n, got, want);
    }
    free(p);
}

static void test_special_at_every_position(void **state)
{
    (void)state;
    const unsigned char specials[] = {'"', '\\', 0x00, 0x0a, 0x1f, 0x80, 0xc3, 0xff};
    char text[96];
    for (size_t k = 0; k < sizeof(specials); k++)
        for (size_t off = 0; off < 16; off++)
            for (size_t n = 0; n <= 80; n++)
                for (size_t at = 0; at <= n; at++) {
                    memset(text, 'a', sizeof(text));
                    if (at < n)
                        text[off + at] = (char)specials[k];
                    check_all_scans(text + off, n);
                }
}

static void test_class_boundaries(void **state)
{
    (void)state;
    char text[40];
    for (int c = 0; c < 256; c++) {
        memset(text, 'x', sizeof(text));
        text[20] = (char)c;
        text[33] = '"';
        check_all_scans(text, sizeof(text));
        size_t want_unsafe = (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') ? 20 : 33;
        assert_int_equal(wharf_scan_json_unsafe(text, sizeof(text)), want_unsafe);
        assert_int_equal(wharf_scan_quote_bslash(text, sizeof(text)),
                         c == '"' || c == '\\' ? 20 : 33);
    }
}

static void test_no_special_byte(void **state)
{
    (void)state;
    const char *plain = "GET /index.html HTTP/1.1 200 1234 Mozilla/5.0 (X11; Linux x86_64)";
    size_t n = strlen(plain);
    assert_int_equal(wharf_scan_json_unsafe(plain, n), n);
    assert_int_equal(wharf_scan_quote_bslash(plain, n), n);
    assert_int_equal(wharf_scan_json_unsafe(plain, 0), 0);
}

/* Mostly printable text with a special byte now and then, several per
 * string or none. */
static void test_random_text(void **state)
{
    (void)state;
    char text[300];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rng_next() % sizeof(text));
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rng_next();
            text[i] = r % 97 == 0 ? (char)(r >> 8) : (char)(0x20 + (r >> 8) % 95);
        }
        check_all_scans(text, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_special_at_every_position),
        cmocka_unit_test(test_class_boundaries),
        cmocka_unit_test(test_no_special_byte),
        cmocka_unit_test(test_random_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
