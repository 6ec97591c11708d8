/* event.c - field table lookups and dynamic fields for wharf_event_t. */
#include "wharf/event.h"

#include "wharf/json.h"

#include <string.h>

static const wharf_str_t field_path_strs[WHARF_F__COUNT] = {
#define WHARF_FIELD_PATH_STR(id, path) [WHARF_F_##id] = {(path), sizeof(path) - 1},
    WHARF_FIELDS(WHARF_FIELD_PATH_STR)
#undef WHARF_FIELD_PATH_STR
};

static const char *const tag_names[WHARF_TAG__COUNT] = {
#define WHARF_TAG_NAME(id, name) [WHARF_TAG_##id] = (name),
    WHARF_TAGS(WHARF_TAG_NAME)
#undef WHARF_TAG_NAME
};

const char *wharf_field_path(wharf_field_id f)
{
    return field_path_strs[f].ptr;
}

wharf_str_t wharf_field_path_str(wharf_field_id f)
{
    return field_path_strs[f];
}

const char *wharf_tag_name(wharf_tag t)
{
    return tag_names[t];
}

int wharf_field_lookup(const char *path, size_t len)
{
    for (int f = 0; f < WHARF_F__COUNT; f++)
        if (field_path_strs[f].len == len && memcmp(field_path_strs[f].ptr, path, len) == 0)
            return f;
    return -1;
}

/* How two paths stand: 1 the same, -1 one is the other plus more
 * components ("a" and "a.b": one would be a value and an object at once, a
 * duplicate key in the output), 0 neither. The common length's last byte
 * and the first tell most different paths apart before memcmp. */
static int path_relation(wharf_str_t a, wharf_str_t b)
{
    size_t m = a.len < b.len ? a.len : b.len;
    if (m == 0 || a.ptr[m - 1] != b.ptr[m - 1] || a.ptr[0] != b.ptr[0] ||
        memcmp(a.ptr, b.ptr, m) != 0)
        return 0;
    if (a.len == b.len)
        return 1;
    return (a.len > b.len ? a.ptr[m] : b.ptr[m]) == '.' ? -1 : 0;
}

static int path_nests(wharf_str_t a, wharf_str_t b)
{
    return path_relation(a, b) < 0;
}

/* path's dynamic slot: the one it has, else a new one; NULL when it nests
 * with a dynamic field the event has, or without memory. */
static wharf_value_t *event_dyn_slot(wharf_event_t *e, const char *path, size_t len)
{
    wharf_str_t p = {path, len};
    for (uint32_t i = 0; i < e->n_dyn; i++) {
        int rel = path_relation(e->dyn[i].path, p);
        if (rel != 0)
            return rel > 0 ? &e->dyn[i].value : NULL;
    }
    if (e->n_dyn == e->cap_dyn) {
        uint32_t cap = e->cap_dyn ? e->cap_dyn * 2 : 8;
        wharf_dyn_field_t *d = wharf_arena_alloc(e->arena, cap * sizeof(*d));
        if (d == NULL)
            return NULL;
        if (e->n_dyn)
            memcpy(d, e->dyn, e->n_dyn * sizeof(*d));
        e->dyn = d;
        e->cap_dyn = cap;
    }
    wharf_dyn_field_t *slot = &e->dyn[e->n_dyn++];
    slot->path = (wharf_str_t){path, len};
    return &slot->value;
}

/* 1 when p is no well-formed dynamic path: empty components, invalid
 * UTF-8, or nesting with a static field. The dynamic fields are checked
 * by event_dyn_slot. */
static int path_conflicts(wharf_str_t p)
{
    /* Invalid UTF-8 would be repaired to U+FFFD on output, so two different
     * byte strings could become one key. */
    if (p.len == 0 || p.ptr[0] == '.' || p.ptr[p.len - 1] == '.' || memmem(p.ptr, p.len, "..", 2) ||
        !wharf_utf8_valid(p.ptr, p.len))
        return 1;
    for (int f = 0; f < WHARF_F__COUNT; f++)
        if (path_nests(field_path_strs[f], p))
            return 1;
    return 0;
}

int wharf_event_path_ok(const char *path, size_t len)
{
    int f = wharf_field_lookup(path, len);
    if (f >= 0)
        return f != WHARF_F_TAGS;
    return !path_conflicts((wharf_str_t){path, len});
}

/* The dynamic slot for path, typed and empty. */
wharf_value_t *wharf_event_set_dyn(wharf_event_t *e, const char *path, size_t len, uint32_t type)
{
    wharf_value_t *v = event_dyn_slot(e, path, len);
    if (v != NULL) {
        v->type = type;
        v->count = 0;
    }
    return v;
}

wharf_value_t *wharf_event_set_path(wharf_event_t *e, const char *path, size_t len, uint32_t type)
{
    int f = wharf_field_lookup(path, len);
    if (f == WHARF_F_TAGS)
        return NULL; /* tags are set with wharf_event_tag() */
    if (f >= 0)
        return wharf_event_slot(e, (wharf_field_id)f, type);
    if (path_conflicts((wharf_str_t){path, len}))
        return NULL;
    return wharf_event_set_dyn(e, path, len, type);
}
