/* test_crc32c.c - CRC-32C, the checksum of disk buffer records: published
 * check values, incremental use (one call or two at any split must agree),
 * and the hardware path against the table path on random buffers of every
 * length up to 300 bytes at every alignment. */
#include "../helpers/xorshift.h"
#include "wharf/crc32c.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------ */

typedef uint32_t (*crc_fn)(uint32_t crc, const void *data, size_t n);

static const struct {
    const char *name;
    crc_fn fn;
} impls[] = {
    {"wharf_crc32c", wharf_crc32c},
    {"wharf_crc32c_portable", wharf_crc32c_portable},
};

#define N_IMPLS (sizeof(impls) / sizeof(impls[0]))

static void fill_random(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(rng_next() >> 56);
}

/* The CRC bit by bit, straight from the definition (reflected polynomial
 * 0x82f63b78, initial and final XOR 0xffffffff): what both fast paths must
 * equal. */
static uint32_t crc_reference(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
    }
    return ~crc;
}

static void check_vector(const void *data, size_t n, uint32_t want, const char *what)
{
    for (size_t i = 0; i < N_IMPLS; i++) {
        uint32_t got = impls[i].fn(0, data, n);
        if (got != want)
            fail_msg("%s(%s) = 0x%08x, want 0x%08x", impls[i].name, what, got, want);
    }
    uint32_t ref = crc_reference(0, data, n);
    if (ref != want)
        fail_msg("reference(%s) = 0x%08x, want 0x%08x", what, ref, want);
}

/* ---- known vectors ------------------------------------------------------ */

static void test_check_value(void **state)
{
    check_vector("123456789", 9, 0xE3069283u, "\"123456789\"");
}

static void test_empty(void **state)
{
    check_vector("", 0, 0, "empty");
    check_vector(NULL, 0, 0, "NULL, 0");
    /* no bytes leave any running value as it is */
    for (size_t i = 0; i < N_IMPLS; i++) {
        assert_int_equal(impls[i].fn(0xE3069283u, "", 0), 0xE3069283u);
        assert_int_equal(impls[i].fn(0xdeadbeefu, NULL, 0), 0xdeadbeefu);
    }
}

/* RFC 3720 (iSCSI), appendix B.4. */
static void test_rfc3720_vectors(void **state)
{
    unsigned char buf[32];
    memset(buf, 0, sizeof(buf));
    check_vector(buf, sizeof(buf), 0x8A9136AAu, "32 zero bytes");
    memset(buf, 0xff, sizeof(buf));
    check_vector(buf, sizeof(buf), 0x62A8AB43u, "32 0xff bytes");
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    check_vector(buf, sizeof(buf), 0x46DD794Eu, "bytes 0..31");
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    check_vector(buf, sizeof(buf), 0x113FDB5Cu, "bytes 31..0");
}

/* ---- incremental -------------------------------------------------------- */

static void check_every_split(const unsigned char *p, size_t n, const char *what)
{
    for (size_t i = 0; i < N_IMPLS; i++) {
        uint32_t whole = impls[i].fn(0, p, n);
        for (size_t cut = 0; cut <= n; cut++) {
            uint32_t two = impls[i].fn(impls[i].fn(0, p, cut), p + cut, n - cut);
            if (two != whole)
                fail_msg("%s over %s (%zu bytes) split at %zu: 0x%08x, one call: 0x%08x",
                         impls[i].name, what, n, cut, two, whole);
        }
        /* and one byte at a time */
        uint32_t crc = 0;
        for (size_t k = 0; k < n; k++)
            crc = impls[i].fn(crc, p + k, 1);
        if (crc != whole)
            fail_msg("%s over %s byte by byte: 0x%08x, one call: 0x%08x", impls[i].name, what, crc,
                     whole);
    }
}

static void test_incremental_check_string(void **state)
{
    check_every_split((const unsigned char *)"123456789", 9, "\"123456789\"");
    for (size_t i = 0; i < N_IMPLS; i++)
        assert_int_equal(impls[i].fn(impls[i].fn(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static void test_incremental_random(void **state)
{
    unsigned char buf[300];
    fill_random(buf, sizeof(buf));
    check_every_split(buf, sizeof(buf), "300 random bytes");
    /* three pieces, every pair of cuts, on a shorter buffer */
    for (size_t i = 0; i < N_IMPLS; i++) {
        uint32_t whole = impls[i].fn(0, buf, 40);
        for (size_t a = 0; a <= 40; a++)
            for (size_t b = a; b <= 40; b++) {
                uint32_t crc = impls[i].fn(0, buf, a);
                crc = impls[i].fn(crc, buf + a, b - a);
                crc = impls[i].fn(crc, buf + b, 40 - b);
                if (crc != whole)
                    fail_msg("%s over 40 bytes cut at %zu and %zu: 0x%08x, want 0x%08x",
                             impls[i].name, a, b, crc, whole);
            }
    }
}

/* ---- hardware == table ---------------------------------------------------- */

static void test_hw_equals_portable(void **state)
{
    /* 8 bytes of slack on each side for the unaligned starts */
    unsigned char *mem = malloc(300 + 16);
    assert_non_null(mem);
    for (size_t len = 0; len <= 300; len++) {
        for (size_t start = 0; start < 8; start++) {
            fill_random(mem, 300 + 16);
            const unsigned char *p = mem + start;
            uint32_t seed = start & 1 ? (uint32_t)rng_next() : 0;
            uint32_t hw = wharf_crc32c(seed, p, len);
            uint32_t sw = wharf_crc32c_portable(seed, p, len);
            uint32_t ref = crc_reference(seed, p, len);
            if (hw != sw || sw != ref) {
                free(mem);
                fail_msg("len %zu, start +%zu, seed 0x%08x: wharf_crc32c 0x%08x, portable 0x%08x, "
                         "bitwise 0x%08x",
                         len, start, seed, hw, sw, ref);
            }
        }
    }
    free(mem);
}

/* A flipped bit anywhere changes the checksum (what the buffer relies on). */
static void test_single_bit_flips_detected(void **state)
{
    unsigned char buf[64];
    fill_random(buf, sizeof(buf));
    uint32_t good = wharf_crc32c(0, buf, sizeof(buf));
    for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        uint32_t bad = wharf_crc32c(0, buf, sizeof(buf));
        uint32_t bad_sw = wharf_crc32c_portable(0, buf, sizeof(buf));
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        if (bad == good || bad != bad_sw)
            fail_msg("bit %zu flipped: 0x%08x (portable 0x%08x), unflipped 0x%08x", bit, bad,
                     bad_sw, good);
    }
    assert_int_equal(wharf_crc32c(0, buf, sizeof(buf)), good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_rfc3720_vectors),
        cmocka_unit_test(test_incremental_check_string),
        cmocka_unit_test(test_incremental_random),
        cmocka_unit_test(test_hw_equals_portable),
        cmocka_unit_test(test_single_bit_flips_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
