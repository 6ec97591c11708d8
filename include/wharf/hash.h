/* hash.h - a fast hash of short byte strings for in-memory tables (the
 * writer's cache of dynamic keys, the parsers' key and routing tables):
 * eight bytes per multiply, the last partial word read overlapping so that
 * no byte loop runs, the high half folded into the low bits. Never stored:
 * what is persisted (file fingerprints) uses wharf_fingerprint.
 *
 * Unseeded, anyone can compute colliding strings offline; that is fine for
 * tables whose keys come from wharf's own configuration. A table that grows
 * with names taken from log messages passes a random seed, which enters
 * before the first multiply. */
#ifndef WHARF_HASH_H
#define WHARF_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t wharf_hash_bytes_seeded(const char *s, size_t n, uint64_t seed)
{
    const uint64_t mul = UINT64_C(0x9E3779B97F4A7C15);
    uint64_t h = ((n + 1) * mul) ^ seed, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        h = (h ^ w) * mul;
    }
    if (i < n) {
        if (n >= 8) {
            memcpy(&w, s + n - 8, 8);
        } else if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, s, 4);
            memcpy(&b, s + n - 4, 4);
            w = (uint64_t)a << 32 | b;
        } else {
            w = (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[n / 2] << 8 |
                (unsigned char)s[n - 1];
        }
        h = (h ^ w) * mul;
    }
    return h ^ h >> 32;
}

static inline uint64_t wharf_hash_bytes(const char *s, size_t n)
{
    return wharf_hash_bytes_seeded(s, n, 0);
}

#endif
