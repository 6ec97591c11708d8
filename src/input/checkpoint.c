/* checkpoint.c - input positions and their checkpoint form
 * (wharf/positions.h).
 *
 * A checkpoint is JSON, small and human-readable so an operator can see
 * where wharf stands with a hex dump of the buffer:
 *   {"version":1,"inputs":["docker"],
 *    "files":[{"input":"docker","path":"...","dev":1,"ino":2,
 *              "fp":"8c3f...","fp_len":64,"offset":1234}],
 *    "cursors":[{"input":"journal","cursor":"s=...;i=...","replay":false}]}
 * One "files" entry per open or remembered file, one "cursors" entry per
 * journal input that has read something ("cursors" is left out when empty,
 * so checkpoints of file-only configurations read as they always did). */
#include "wharf/array.h"
#include "wharf/buf.h"
#include "wharf/common.h"
#include "wharf/json.h"
#include "wharf/json_tree.h"
#include "wharf/log.h"
#include "wharf/positions.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t wharf_fingerprint(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a 64 offset basis */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

void wharf_positions_init(wharf_positions_t *p)
{
    memset(p, 0, sizeof(*p));
}

void wharf_positions_free(wharf_positions_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].input_id);
        free(p->v[i].path);
    }
    for (size_t i = 0; i < p->n_inputs; i++)
        free(p->inputs[i]);
    for (size_t i = 0; i < p->n_cursors; i++) {
        free(p->cursors[i].input_id);
        free(p->cursors[i].cursor);
    }
    free(p->cursors);
    free(p->v);
    free(p->inputs);
    wharf_positions_init(p);
}

int wharf_positions_add(wharf_positions_t *p, const wharf_position_t *pos)
{
    if (wharf_array_reserve(&p->v, &p->cap, p->n + 1, sizeof(*p->v), 16) < 0)
        return -ENOMEM;
    wharf_position_t *d = &p->v[p->n];
    *d = *pos;
    d->input_id = strdup(pos->input_id);
    d->path = strdup(pos->path ? pos->path : "");
    if (d->input_id == NULL || d->path == NULL) {
        free(d->input_id);
        free(d->path);
        return -ENOMEM;
    }
    p->n++;
    return 0;
}

int wharf_positions_add_input(wharf_positions_t *p, const char *input_id)
{
    if (wharf_positions_has_input(p, input_id))
        return 0;
    char **v = realloc(p->inputs, (p->n_inputs + 1) * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    p->inputs = v;
    if ((v[p->n_inputs] = strdup(input_id)) == NULL)
        return -ENOMEM;
    p->n_inputs++;
    return 0;
}

int wharf_positions_has_input(const wharf_positions_t *p, const char *input_id)
{
    for (size_t i = 0; i < p->n_inputs; i++)
        if (strcmp(p->inputs[i], input_id) == 0)
            return 1;
    return 0;
}

const wharf_position_t *wharf_positions_find(const wharf_positions_t *p, const char *input_id,
                                             uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].dev == dev && p->v[i].ino == ino && strcmp(p->v[i].input_id, input_id) == 0)
            return &p->v[i];
    return NULL;
}

int wharf_positions_add_cursor(wharf_positions_t *p, const char *input_id, const char *cursor,
                               int replay)
{
    wharf_cursor_position_t *v = realloc(p->cursors, (p->n_cursors + 1) * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    p->cursors = v;
    wharf_cursor_position_t *c = &v[p->n_cursors];
    c->input_id = strdup(input_id);
    c->cursor = strdup(cursor);
    c->replay = replay != 0;
    if (c->input_id == NULL || c->cursor == NULL) {
        free(c->input_id);
        free(c->cursor);
        return -ENOMEM;
    }
    p->n_cursors++;
    return 0;
}

const wharf_cursor_position_t *wharf_positions_find_cursor(const wharf_positions_t *p,
                                                           const char *input_id)
{
    for (size_t i = 0; i < p->n_cursors; i++)
        if (strcmp(p->cursors[i].input_id, input_id) == 0)
            return &p->cursors[i];
    return NULL;
}

static void positions_write_u64(wharf_buf_t *b, const char *key, uint64_t v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), ",\"%s\":%" PRIu64, key, v);
    wharf_buf_append(b, tmp, (size_t)n);
}

static void positions_serialize_cursors(const wharf_positions_t *p, wharf_buf_t *b)
{
    wharf_buf_lit(b, ",\"cursors\":[");
    for (size_t i = 0; i < p->n_cursors; i++) {
        const wharf_cursor_position_t *c = &p->cursors[i];
        if (i)
            wharf_buf_putc(b, ',');
        wharf_buf_lit(b, "\n{\"input\":");
        wharf_json_write_string(b, c->input_id, strlen(c->input_id));
        wharf_buf_lit(b, ",\"cursor\":");
        wharf_json_write_string(b, c->cursor, strlen(c->cursor));
        if (c->replay)
            wharf_buf_lit(b, ",\"replay\":true}");
        else
            wharf_buf_lit(b, ",\"replay\":false}");
    }
    wharf_buf_putc(b, ']');
}

void wharf_positions_serialize(const wharf_positions_t *p, wharf_buf_t *b)
{
    wharf_buf_lit(b, "{\"version\":1,\"inputs\":[");
    for (size_t i = 0; i < p->n_inputs; i++) {
        if (i)
            wharf_buf_putc(b, ',');
        wharf_json_write_string(b, p->inputs[i], strlen(p->inputs[i]));
    }
    wharf_buf_lit(b, "],\"files\":[");
    for (size_t i = 0; i < p->n; i++) {
        const wharf_position_t *e = &p->v[i];
        char fp[17];
        snprintf(fp, sizeof(fp), "%016" PRIx64, e->fp_hash);
        if (i)
            wharf_buf_putc(b, ',');
        wharf_buf_lit(b, "\n{\"input\":");
        wharf_json_write_string(b, e->input_id, strlen(e->input_id));
        wharf_buf_lit(b, ",\"path\":");
        wharf_json_write_string(b, e->path, strlen(e->path));
        positions_write_u64(b, "dev", e->dev);
        positions_write_u64(b, "ino", e->ino);
        wharf_buf_lit(b, ",\"fp\":\"");
        wharf_buf_append(b, fp, 16);
        wharf_buf_putc(b, '"');
        positions_write_u64(b, "fp_len", e->fp_len);
        positions_write_u64(b, "offset", e->offset);
        wharf_buf_putc(b, '}');
    }
    wharf_buf_putc(b, ']');
    if (p->n_cursors > 0)
        positions_serialize_cursors(p, b);
    wharf_buf_lit(b, "}\n");
}

static int positions_load_file(wharf_positions_t *p, yajl_val f)
{
    const char *k_input[] = {"input", NULL}, *k_path[] = {"path", NULL}, *k_fp[] = {"fp", NULL};
    yajl_val input = yajl_tree_get(f, k_input, yajl_t_string);
    yajl_val path = yajl_tree_get(f, k_path, yajl_t_string);
    yajl_val fp = yajl_tree_get(f, k_fp, yajl_t_string);
    wharf_position_t pos = {0};
    uint64_t fp_len = 0;
    if (input == NULL || path == NULL || fp == NULL || wharf_json_tree_u64(f, "dev", &pos.dev) ||
        wharf_json_tree_u64(f, "ino", &pos.ino) || wharf_json_tree_u64(f, "fp_len", &fp_len) ||
        wharf_json_tree_u64(f, "offset", &pos.offset) || fp_len > 4096)
        return WHARF_EPARSE;
    const char *fp_text = YAJL_GET_STRING(fp);
    char *end = NULL;
    if (fp_text == NULL)
        return WHARF_EPARSE;
    pos.fp_hash = strtoull(fp_text, &end, 16);
    if (end == fp_text || *end != '\0')
        return WHARF_EPARSE;
    pos.fp_len = (uint32_t)fp_len;
    pos.input_id = YAJL_GET_STRING(input);
    pos.path = YAJL_GET_STRING(path);
    return wharf_positions_add(p, &pos);
}

static int positions_load_cursor(wharf_positions_t *p, yajl_val c)
{
    const char *k_input[] = {"input", NULL}, *k_cursor[] = {"cursor", NULL},
               *k_replay[] = {"replay", NULL};
    const char *input = YAJL_GET_STRING(yajl_tree_get(c, k_input, yajl_t_string));
    const char *cursor = YAJL_GET_STRING(yajl_tree_get(c, k_cursor, yajl_t_string));
    yajl_val replay = yajl_tree_get(c, k_replay, yajl_t_any);
    if (input == NULL || cursor == NULL || *cursor == '\0' || replay == NULL ||
        !(YAJL_IS_TRUE(replay) || YAJL_IS_FALSE(replay)))
        return WHARF_EPARSE;
    return wharf_positions_add_cursor(p, input, cursor, YAJL_IS_TRUE(replay));
}

static int positions_load_cursors(wharf_positions_t *p, yajl_val root)
{
    const char *k_cursors[] = {"cursors", NULL};
    yajl_val cursors = yajl_tree_get(root, k_cursors, yajl_t_any);
    if (cursors == NULL)
        return 0;
    if (!YAJL_IS_ARRAY(cursors))
        return WHARF_EPARSE;
    for (size_t i = 0; i < cursors->u.array.len; i++) {
        int rc = positions_load_cursor(p, cursors->u.array.values[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int positions_load_tree(wharf_positions_t *p, yajl_val root)
{
    const char *k_inputs[] = {"inputs", NULL}, *k_files[] = {"files", NULL};
    yajl_val inputs = yajl_tree_get(root, k_inputs, yajl_t_array);
    yajl_val files = yajl_tree_get(root, k_files, yajl_t_array);
    if (inputs == NULL || files == NULL)
        return WHARF_EPARSE;
    for (size_t i = 0; i < inputs->u.array.len; i++) {
        const char *id = YAJL_GET_STRING(inputs->u.array.values[i]);
        if (id == NULL)
            return WHARF_EPARSE;
        int rc = wharf_positions_add_input(p, id);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < files->u.array.len; i++) {
        int rc = positions_load_file(p, files->u.array.values[i]);
        if (rc < 0)
            return rc;
    }
    return positions_load_cursors(p, root);
}

int wharf_positions_parse(wharf_positions_t *p, const char *text, size_t len)
{
    char err[256];
    char *copy = strndup(text, len); /* yajl wants a NUL-terminated string */
    if (copy == NULL)
        return -ENOMEM;
    yajl_val root = yajl_tree_parse(copy, err, sizeof(err));
    free(copy);
    int rc = root ? positions_load_tree(p, root) : WHARF_EPARSE;
    yajl_tree_free(root);
    if (rc < 0)
        wharf_positions_free(p);
    return rc;
}
