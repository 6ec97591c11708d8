/* parser_keys.c - a set of short strings, each with an id (the order they
 * were added in), in an open-addressed hash table built at load: the keys a
 * rule's fields read (and their leading components), the exact keys of a
 * field's map. On the hot path a lookup is one hash and mostly one
 * comparison, instead of a scan of the list. The strings are not copied:
 * they belong to the rule. */
#include "parser_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int parser_keys_init(parser_keys_t *k, size_t max)
{
    size_t slots = 8;
    while (slots < 2 * max)
        slots *= 2;
    memset(k, 0, sizeof(*k));
    if (max > INT16_MAX)
        return -ENOMEM;
    k->keys = calloc(max + 1, sizeof(*k->keys));
    k->slots = malloc(slots * sizeof(*k->slots));
    if (k->keys == NULL || k->slots == NULL)
        return -ENOMEM;
    memset(k->slots, 0xff, slots * sizeof(*k->slots));
    k->mask = slots - 1;
    k->cap = max;
    return 0;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t keys_slot(const parser_keys_t *k, const char *s, size_t n)
{
    size_t h = parser_text_hash(s, n) & k->mask;
    while (k->slots[h] >= 0 &&
           !(k->keys[k->slots[h]].len == n && memcmp(k->keys[k->slots[h]].ptr, s, n) == 0))
        h = (h + 1) & k->mask;
    return h;
}

int parser_keys_find(const parser_keys_t *k, const char *s, size_t n)
{
    return k->slots != NULL ? k->slots[keys_slot(k, s, n)] : -1;
}

int parser_keys_add(parser_keys_t *k, const char *s, size_t n)
{
    size_t h = keys_slot(k, s, n);
    if (k->slots[h] >= 0 || k->n == k->cap)
        return k->slots[h];
    k->keys[k->n] = (wharf_str_t){s, n};
    k->slots[h] = (int16_t)k->n;
    return (int)k->n++;
}

void parser_keys_free(parser_keys_t *k)
{
    free(k->keys);
    free(k->slots);
}
