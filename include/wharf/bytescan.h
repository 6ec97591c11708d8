/* bytescan.h - where the next byte that JSON cares about is.
 *
 * Every byte wharf ships is scanned twice: by the Docker line reader, which
 * stops at '"' and '\\', and by the JSON writer, which also stops at control
 * bytes (to escape them) and non-ASCII bytes (to check their UTF-8). Log
 * text is long and mostly plain, so both scans test sixteen bytes per step
 * with SSE2 where the compiler targets it (every x86-64) and eight per step
 * in a 64-bit word elsewhere. The _portable versions are the word-at-a-time
 * code, always built, so that tests compare the two on every machine.
 *
 * Each returns the index of the first such byte in p[0..n), or n. Neither
 * reads outside p[0..n). */
#ifndef WHARF_BYTESCAN_H
#define WHARF_BYTESCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The word-at-a-time test: bit 7 of each byte of the result is set for the
 * bytes of x that equal c, and possibly for a byte above one that does (a
 * borrow); so the lowest set byte is always exact. */
static inline uint64_t wharf_scan_word_eq(uint64_t x, unsigned char c)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    uint64_t y = x ^ (ones * c);
    return (y - ones) & ~y & highs;
}

/* Bytes below 0x20 or at or above 0x80, exact in the lowest set byte as above. */
static inline uint64_t wharf_scan_word_unsafe(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    return (((x - ones * 0x20) & ~x) | x) & highs;
}

/* The first byte index in a word's flag bits (little-endian load). */
static inline size_t wharf_scan_word_first(uint64_t flags)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (size_t)__builtin_clzll(flags) / 8;
#else
    return (size_t)__builtin_ctzll(flags) / 8;
#endif
}

static inline int wharf_scan_byte_unsafe(unsigned char c)
{
    return c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

/* The flags of the word at p. */
static inline uint64_t wharf_scan_word(const char *p, int unsafe)
{
    uint64_t x;
    memcpy(&x, p, 8);
    uint64_t f = wharf_scan_word_eq(x, '"') | wharf_scan_word_eq(x, '\\');
    return unsafe ? f | wharf_scan_word_unsafe(x) : f;
}

/* Words of 8, then one last word that overlaps the ones already found
 * clean (its flags there are zero); 4 to 7 bytes are one word made of the
 * first four and the last four. So only texts shorter than 4 bytes take
 * the byte loop: most names and values are short. */
static inline size_t wharf_scan_words(const char *p, size_t n, int unsafe)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t f = wharf_scan_word(p + i, unsafe);
        if (f != 0)
            return i + wharf_scan_word_first(f);
    }
    if (i == n)
        return n;
    if (n >= 8) {
        uint64_t f = wharf_scan_word(p + n - 8, unsafe);
        return f != 0 ? n - 8 + wharf_scan_word_first(f) : n;
    }
    if (n >= 4) {
        char w[8];
        memcpy(w, p, 4);
        memcpy(w + 4, p + n - 4, 4);
        uint64_t f = wharf_scan_word(w, unsafe);
        size_t k = f != 0 ? wharf_scan_word_first(f) : 8;
        return k < 4 ? k : n - 8 + k;
    }
    if (unsafe)
        while (i < n && !wharf_scan_byte_unsafe((unsigned char)p[i]))
            i++;
    else
        while (i < n && p[i] != '"' && p[i] != '\\')
            i++;
    return i;
}

static inline size_t wharf_scan_quote_bslash_portable(const char *p, size_t n)
{
    return wharf_scan_words(p, n, 0);
}

static inline size_t wharf_scan_json_unsafe_portable(const char *p, size_t n)
{
    return wharf_scan_words(p, n, 1);
}

#if defined(__SSE2__)

/* Flags of the 16 bytes at p: '"' and '\\', plus (unsafe) every byte that
 * is below 0x20 or at or above 0x80 - as signed bytes, all of those are
 * less than 0x20. */
static inline unsigned wharf_scan_block(const char *p, int unsafe)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit =
        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    if (unsafe)
        hit = _mm_or_si128(hit, _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
    return (unsigned)_mm_movemask_epi8(hit);
}

/* Blocks of 16, then one last block that overlaps the ones already found
 * clean (its bits there are zero), so short tails cost no byte loop; strings
 * shorter than a block go to the portable code. */
static inline size_t wharf_scan_sse2(const char *p, size_t n, int unsafe)
{
    if (n < 16)
        return unsafe ? wharf_scan_json_unsafe_portable(p, n)
                      : wharf_scan_quote_bslash_portable(p, n);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        unsigned m = wharf_scan_block(p + i, unsafe);
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
    }
    if (i == n)
        return n;
    unsigned m = wharf_scan_block(p + n - 16, unsafe);
    return m != 0 ? n - 16 + (size_t)__builtin_ctz(m) : n;
}

static inline size_t wharf_scan_quote_bslash(const char *p, size_t n)
{
    return wharf_scan_sse2(p, n, 0);
}

static inline size_t wharf_scan_json_unsafe(const char *p, size_t n)
{
    return wharf_scan_sse2(p, n, 1);
}

#else

static inline size_t wharf_scan_quote_bslash(const char *p, size_t n)
{
    return wharf_scan_quote_bslash_portable(p, n);
}

static inline size_t wharf_scan_json_unsafe(const char *p, size_t n)
{
    return wharf_scan_json_unsafe_portable(p, n);
}

#endif

#endif
