/* xorshift.h - the unit tests' "random" numbers: xorshift64*, one stream
 * per test program, the same on every run so that a failure reproduces. */
#ifndef WHARF_TEST_XORSHIFT_H
#define WHARF_TEST_XORSHIFT_H

#include <stdint.h>

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static inline uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

#endif
