/* fuzz_support.h - what the fuzz targets share: an independent JSON check.
 *
 * The writer's promise is "whatever bytes go in, the output parses as JSON";
 * yajl's tree parser, which wharf does not use to write, is the judge. */
#ifndef WHARF_FUZZ_SUPPORT_H
#define WHARF_FUZZ_SUPPORT_H

#include "wharf/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

/* Aborts unless buf holds exactly one JSON object followed by "\n", and
 * returns its parsed tree (the caller frees it). */
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
    free(text);
    return v;
}

#endif
