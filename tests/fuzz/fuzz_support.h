/* fuzz_support.h - what the fuzz targets share: an independent JSON check.
 *
 * The writer's promise is "whatever bytes go in, the output parses as JSON,
 * and no object in it names a member twice" (Elasticsearch rejects such a
 * document); yajl's tree parser, which wharf does not use to write, is the
 * judge. */
#ifndef WHARF_FUZZ_SUPPORT_H
#define WHARF_FUZZ_SUPPORT_H

#include "wharf/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

/* The member names of the objects open during a yajl_parse, innermost
 * last: each name copied with its length (yajl's tree API ends names at
 * a NUL, so "a\u0000b" and "a\u0000c" would look the same there). */
typedef struct fuzz_names {
    struct fuzz_object {
        char **names;
        size_t *lens;
        size_t n, cap;
    } open[128];
    size_t depth;
    int repeated;
} fuzz_names_t;

static inline int fuzz_names_start(void *ctx)
{
    fuzz_names_t *f = ctx;
    if (f->depth == sizeof(f->open) / sizeof(f->open[0]))
        abort();
    memset(&f->open[f->depth++], 0, sizeof(f->open[0]));
    return 1;
}

static inline int fuzz_names_key(void *ctx, const unsigned char *key, size_t len)
{
    fuzz_names_t *f = ctx;
    struct fuzz_object *o = &f->open[f->depth - 1];
    for (size_t i = 0; i < o->n; i++)
        if (o->lens[i] == len && memcmp(o->names[i], key, len) == 0)
            f->repeated = 1;
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 16;
        o->names = realloc(o->names, o->cap * sizeof(*o->names));
        o->lens = realloc(o->lens, o->cap * sizeof(*o->lens));
        if (o->names == NULL || o->lens == NULL)
            abort();
    }
    if ((o->names[o->n] = malloc(len + 1)) == NULL)
        abort();
    memcpy(o->names[o->n], key, len);
    o->lens[o->n++] = len;
    return !f->repeated;
}

static inline void fuzz_names_close(fuzz_names_t *f)
{
    struct fuzz_object *o = &f->open[--f->depth];
    for (size_t i = 0; i < o->n; i++)
        free(o->names[i]);
    free(o->names);
    free(o->lens);
}

static inline int fuzz_names_end(void *ctx)
{
    fuzz_names_close(ctx);
    return 1;
}

/* Aborts when an object in text, at any depth, has two members of one name
 * (compared byte for byte; the outputs checked are a few KB, so a scan of
 * the names before each is enough). */
static inline void fuzz_require_unique_names(const char *text, size_t len)
{
    static const yajl_callbacks cb = {.yajl_start_map = fuzz_names_start,
                                      .yajl_map_key = fuzz_names_key,
                                      .yajl_end_map = fuzz_names_end};
    fuzz_names_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        abort();
    yajl_handle h = yajl_alloc(&cb, NULL, f);
    if (h == NULL)
        abort();
    yajl_parse(h, (const unsigned char *)text, len);
    yajl_complete_parse(h);
    yajl_free(h);
    int repeated = f->repeated;
    while (f->depth > 0)
        fuzz_names_close(f);
    free(f);
    if (repeated) {
        fprintf(stderr, "output repeats a member name in an object\n%.*s", (int)len, text);
        abort();
    }
}

/* Aborts unless buf holds exactly one JSON object followed by "\n" in which
 * no object repeats a name, and returns its parsed tree (the caller frees
 * it). */
static inline yajl_val fuzz_require_json_line(const wharf_buf_t *b)
{
    if (b->len == 0 || b->data[b->len - 1] != '\n' || memchr(b->data, '\n', b->len - 1) != NULL) {
        fprintf(stderr, "output is not one line\n");
        abort();
    }
    char *text = malloc(b->len + 1);
    if (text == NULL)
        abort();
    memcpy(text, b->data, b->len);
    text[b->len] = '\0';
    char err[256];
    yajl_val v = yajl_tree_parse(text, err, sizeof(err));
    if (v == NULL || !YAJL_IS_OBJECT(v)) {
        fprintf(stderr, "output is not a JSON object: %s\n%s", err, text);
        abort();
    }
    fuzz_require_unique_names(text, b->len);
    free(text);
    return v;
}

#endif
