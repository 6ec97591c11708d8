/* json_keyset.c - (object, member name) pairs for dropping repeated names
 * (wharf/json_keyset.h).
 *
 * An open-addressing table with linear probing, kept at most half full.
 * Resetting does not touch the slots: a slot whose object was numbered
 * before the reset counts as free, so a set that once grew for a huge
 * message costs nothing more per message afterwards. */
#include "wharf/json_keyset.h"

#include "wharf/alloc.h"
#include "wharf/hash.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define KEYSET_MIN_CAP 64

struct wharf_json_keyset_slot {
    uint64_t obj; /* free when below the set's live_from */
    uint64_t hash;
    size_t off, len; /* the name in the set's names */
};

static uint64_t keyset_seed(const wharf_json_keyset_t *ks)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
        return seed;
    /* no entropy yet (early boot): the set's address and the clock still
     * differ from one process to the next */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)(uintptr_t)ks ^ (uint64_t)ts.tv_nsec << 20 ^ (uint64_t)ts.tv_sec;
}

void wharf_json_keyset_init(wharf_json_keyset_t *ks)
{
    memset(ks, 0, sizeof(*ks));
    wharf_buf_init(&ks->names);
    ks->next_obj = 1;
    ks->live_from = 1;
    ks->seed = keyset_seed(ks);
}

void wharf_json_keyset_free(wharf_json_keyset_t *ks)
{
    free(ks->slots);
    wharf_buf_free(&ks->names);
    memset(ks, 0, sizeof(*ks));
}

void wharf_json_keyset_reset(wharf_json_keyset_t *ks)
{
    ks->live_from = ks->next_obj;
    ks->n = 0;
    ks->names.len = 0;
}

uint64_t wharf_json_keyset_object(wharf_json_keyset_t *ks)
{
    return ks->next_obj++;
}

static size_t keyset_home(const wharf_json_keyset_t *ks, uint64_t hash)
{
    return (size_t)hash & (ks->cap - 1);
}

/* Doubles the table (or makes the first one), moving the live slots. */
static void keyset_grow(wharf_json_keyset_t *ks)
{
    size_t old_cap = ks->cap;
    wharf_json_keyset_slot_t *old = ks->slots;
    ks->cap = old_cap ? old_cap * 2 : KEYSET_MIN_CAP;
    ks->slots = wharf_xcalloc(ks->cap, sizeof(*ks->slots));
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].obj < ks->live_from)
            continue;
        size_t j = keyset_home(ks, old[i].hash);
        while (ks->slots[j].obj != 0)
            j = (j + 1) & (ks->cap - 1);
        ks->slots[j] = old[i];
    }
    free(old);
}

int wharf_json_keyset_add(wharf_json_keyset_t *ks, uint64_t obj, const char *name, size_t len)
{
    if (2 * (ks->n + 1) > ks->cap)
        keyset_grow(ks);
    uint64_t hash =
        wharf_hash_bytes_seeded(name, len, ks->seed) ^ obj * UINT64_C(0xff51afd7ed558ccd);
    size_t i = keyset_home(ks, hash);
    for (;; i = (i + 1) & (ks->cap - 1)) {
        wharf_json_keyset_slot_t *s = &ks->slots[i];
        if (s->obj < ks->live_from)
            break;
        if (s->hash == hash && s->obj == obj && s->len == len &&
            (len == 0 || memcmp(ks->names.data + s->off, name, len) == 0))
            return 0;
    }
    wharf_json_keyset_slot_t *s = &ks->slots[i];
    s->obj = obj;
    s->hash = hash;
    s->off = ks->names.len;
    s->len = len;
    wharf_buf_append(&ks->names, name, len);
    ks->n++;
    return 1;
}
