/* crc32c.c - CRC-32C with the SSE 4.2 instruction when the CPU has it, and a
 * slice-by-8 table otherwise (see wharf/crc32c.h).
 *
 * Every buffer record is checksummed when written and when read back, so
 * this runs over every compressed byte twice; the hardware path keeps it
 * well under a cycle per byte. */
#include "wharf/crc32c.h"

#include <string.h>

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t crc32c_table[8][256];

static void crc32c_init_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc32c_table[t][i] =
                (crc32c_table[t - 1][i] >> 8) ^ crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
}

static uint32_t crc32c_soft(uint32_t crc, const unsigned char *p, size_t n)
{
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc; /* little-endian: the low 4 bytes take the running CRC */
        crc = crc32c_table[7][w & 0xff] ^ crc32c_table[6][(w >> 8) & 0xff] ^
              crc32c_table[5][(w >> 16) & 0xff] ^ crc32c_table[4][(w >> 24) & 0xff] ^
              crc32c_table[3][(w >> 32) & 0xff] ^ crc32c_table[2][(w >> 40) & 0xff] ^
              crc32c_table[1][(w >> 48) & 0xff] ^ crc32c_table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p,
                                                            size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n--)
        crc = _mm_crc32_u8(crc, *p++);
    return crc;
}

static int crc32c_have_hw(void)
{
    return __builtin_cpu_supports("sse4.2");
}
#else
static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p, size_t n)
{
    return crc32c_soft(crc, p, n);
}

static int crc32c_have_hw(void)
{
    return 0;
}
#endif

/* 0: not chosen yet, 1: hardware, 2: table (built). wharf checksums on its
 * loop thread only. */
static int crc32c_impl;
static int crc32c_table_ready;

uint32_t wharf_crc32c_portable(uint32_t crc, const void *data, size_t n)
{
    if (!crc32c_table_ready) {
        crc32c_init_table();
        crc32c_table_ready = 1;
    }
    return ~crc32c_soft(~crc, data, n);
}

uint32_t wharf_crc32c(uint32_t crc, const void *data, size_t n)
{
    if (crc32c_impl == 0)
        crc32c_impl = crc32c_have_hw() ? 1 : 2;
    if (crc32c_impl == 2)
        return wharf_crc32c_portable(crc, data, n);
    return ~crc32c_hw(~crc, data, n);
}
