/* fuzz_json_writer.c - libFuzzer target for the JSON writer (src/core/json.c)
 * and the JSON that src/normalize/enrich.c renders for it (labels, image and
 * container fields, json-file attrs merged into labels).
 *
 * The promise under test (DESIGN.md, guarantee 3): whatever bytes go into an
 * event, it comes out as one line of valid UTF-8 JSON, and a string reads back
 * as what went in with each invalid UTF-8 byte replaced by U+FFFD.
 *
 * Input layout, chosen so that any byte string is an input and plain text is
 * a good seed: the last byte is the number of operations (mod 32); the
 * operations are taken from the end, backwards, each an opcode byte and its
 * arguments (a string is a length byte then that many bytes, a number 8
 * bytes); whatever is left at the front is the message. Operations set fields
 * of every value type under arbitrary dotted paths (wharf_event_set_path,
 * including paths of the ECS table and paths that collide with it), set table
 * fields with any type, add tags, container labels (deduplicated or not),
 * json-file attrs, an image reference and the other container fields.
 *
 * Checks, against references written here rather than wharf's own code:
 *  - yajl_tree_parse accepts the line (fuzz_support.h), and so does yajl's
 *    event parser, which also yields strings with their exact length;
 *  - the whole line is well-formed UTF-8 (Unicode 3-7; yajl itself accepts
 *    overlong forms and surrogates, so it cannot be the judge of that);
 *  - "message" reads back as the input with each invalid byte replaced, and
 *    wharf_json_write_string() counts the same number of replacements;
 *  - no object repeats a key (RFC 8259 only says SHOULD, but Elasticsearch
 *    rejects such documents);
 *  - wharf_event_set_path() refuses exactly what event.h says it refuses:
 *    "tags", empty or malformed paths ("a..b", ".a", "a."), and paths that
 *    would make one key both a value and an object ("message.x" beside
 *    "message", "container" beside "container.id"). */
#include "fuzz_support.h"
#include "wharf/container.h"
#include "wharf/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- reference UTF-8 decoder ------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s[i], or 0: decodes the code
 * point and rejects overlong forms, surrogates and values past U+10FFFF. */
static size_t ref_seq_len(const unsigned char *s, size_t i, size_t n)
{
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned c = s[i], cp;
    size_t k;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        k = 2;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        k = 3;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        k = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + k > n)
        return 0;
    for (size_t j = 1; j < k; j++) {
        if ((s[i + j] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if (cp < min_cp[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

/* The text the writer must produce for s (before escaping): one U+FFFD per
 * byte that does not start a well-formed sequence. out holds 3 * n bytes. */
static size_t ref_sanitize(const unsigned char *s, size_t n, char *out, size_t *replaced)
{
    size_t o = 0;
    *replaced = 0;
    for (size_t i = 0; i < n;) {
        size_t k = ref_seq_len(s, i, n);
        if (k == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            (*replaced)++;
            i++;
        } else {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
    }
    return o;
}

static int ref_utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if ((k = ref_seq_len(s, i, n)) == 0)
            return 0;
    return 1;
}

/* ---- reading the output back with yajl's event parser ------------------ */

typedef struct jframe {
    int is_map;
    size_t n, cap;
    wharf_str_t *keys; /* malloc'd copies, for the duplicate check */
} jframe_t;

typedef struct jcheck {
    jframe_t *frames;
    size_t depth, cap;
    int next_is_message; /* the next value belongs to the top-level "message" */
    int have_message;
    char *message; /* the first top-level "message" string */
    size_t message_len;
    char *dup_key; /* a copy of the first repeated key found, or NULL */
    size_t dup_len;
} jcheck_t;

static void jc_value(jcheck_t *c)
{
    c->next_is_message = 0;
}

static int jc_push(jcheck_t *c, int is_map)
{
    jc_value(c);
    if (c->depth == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->frames = realloc(c->frames, c->cap * sizeof(*c->frames));
        if (c->frames == NULL)
            abort();
    }
    c->frames[c->depth++] = (jframe_t){is_map, 0, 0, NULL};
    return 1;
}

static int jc_pop(jcheck_t *c)
{
    jframe_t *f = &c->frames[--c->depth];
    for (size_t i = 0; i < f->n; i++)
        free((void *)f->keys[i].ptr);
    free(f->keys);
    return 1;
}

static int jc_null(void *ctx)
{
    jc_value(ctx);
    return 1;
}

static int jc_bool(void *ctx, int v)
{
    jc_value(ctx);
    return 1;
}

static int jc_number(void *ctx, const char *s, size_t n)
{
    jc_value(ctx);
    return 1;
}

static int jc_string(void *ctx, const unsigned char *s, size_t n)
{
    jcheck_t *c = ctx;
    if (c->next_is_message && !c->have_message) {
        c->have_message = 1;
        c->message = malloc(n + 1);
        if (c->message == NULL)
            abort();
        memcpy(c->message, s, n);
        c->message_len = n;
    }
    jc_value(c);
    return 1;
}

static int jc_start_map(void *ctx)
{
    return jc_push(ctx, 1);
}

static int jc_start_array(void *ctx)
{
    return jc_push(ctx, 0);
}

static int jc_end(void *ctx)
{
    return jc_pop(ctx);
}

static int jc_key(void *ctx, const unsigned char *s, size_t n)
{
    jcheck_t *c = ctx;
    jframe_t *f = &c->frames[c->depth - 1];
    for (size_t i = 0; i < f->n && c->dup_key == NULL; i++)
        if (f->keys[i].len == n && memcmp(f->keys[i].ptr, s, n) == 0) {
            if ((c->dup_key = malloc(n + 1)) == NULL)
                abort();
            memcpy(c->dup_key, s, n);
            c->dup_len = n;
        }
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->keys = realloc(f->keys, f->cap * sizeof(*f->keys));
        if (f->keys == NULL)
            abort();
    }
    char *k = malloc(n + 1);
    if (k == NULL)
        abort();
    memcpy(k, s, n);
    f->keys[f->n++] = (wharf_str_t){k, n};
    c->next_is_message = c->depth == 1 && n == 7 && memcmp(s, "message", 7) == 0;
    return 1;
}

static const yajl_callbacks jc_callbacks = {
    .yajl_null = jc_null,
    .yajl_boolean = jc_bool,
    .yajl_number = jc_number,
    .yajl_string = jc_string,
    .yajl_start_map = jc_start_map,
    .yajl_map_key = jc_key,
    .yajl_end_map = jc_end,
    .yajl_start_array = jc_start_array,
    .yajl_end_array = jc_end,
};

static void dump_and_abort(const char *what, const wharf_buf_t *b)
{
    fprintf(stderr, "fuzz_json_writer: %s\n%.*s", what, (int)b->len, b->data);
    abort();
}

/* Parses the written line; aborts unless yajl accepts it. */
static void jc_parse(jcheck_t *c, const wharf_buf_t *b)
{
    yajl_handle h = yajl_alloc(&jc_callbacks, NULL, c);
    if (h == NULL)
        abort();
    yajl_status st = yajl_parse(h, (const unsigned char *)b->data, b->len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    if (st != yajl_status_ok) {
        unsigned char *err = yajl_get_error(h, 1, (const unsigned char *)b->data, b->len);
        fprintf(stderr, "%s\n", err);
        yajl_free_error(h, err);
        dump_and_abort("yajl's event parser rejects the output", b);
    }
    yajl_free(h);
    while (c->depth > 0)
        jc_pop(c);
    free(c->frames);
}

/* ---- building the event from the input --------------------------------- */

/* What is left of the input; operations take bytes from the end. */
typedef struct fz {
    const uint8_t *p;
    size_t n;
} fz_t;

static uint8_t fz_u8(fz_t *f)
{
    return f->n ? f->p[--f->n] : 0;
}

static uint64_t fz_u64(fz_t *f)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | fz_u8(f);
    return v;
}

/* A slice of the input: it outlives the event, as paths must. */
static wharf_str_t fz_str(fz_t *f)
{
    size_t len = fz_u8(f);
    if (len > f->n)
        len = f->n;
    f->n -= len;
    return (wharf_str_t){(const char *)f->p + f->n, len};
}

/* The same as a C string (labels and container fields are C strings). */
static char *fz_cstr(fz_t *f, wharf_arena_t *a)
{
    wharf_str_t s = fz_str(f);
    char *c = wharf_arena_strndup(a, s.ptr, s.len);
    if (c == NULL)
        abort();
    return c;
}

static char *fz_strdup(fz_t *f)
{
    wharf_str_t s = fz_str(f);
    char *c = strndup(s.ptr, s.len);
    if (c == NULL)
        abort();
    return c;
}

/* Values WHARF_V_RAW may carry: the caller promises valid JSON. */
static const char *const raw_values[] = {
    "\"stdout\"", "{}", "[]", "{\"a\":{\"b\":[1,2.5,null,true]}}", "\"\\u00e9\"", "-0", "\"\"",
};
#define N_RAW (sizeof(raw_values) / sizeof(raw_values[0]))

#define MAX_ATTRS 16
#define MAX_CAPS  8

typedef struct build {
    wharf_event_t e;
    wharf_arena_t arena;
    wharf_container_meta_t *meta; /* NULL until an operation needs it */
    wharf_label_t attrs[MAX_ATTRS];
    size_t n_attrs;
    int image_set;
    wharf_str_t dyn[32]; /* dynamic paths accepted so far (at most one per operation) */
    size_t n_dyn;
} build_t;

static wharf_container_meta_t *build_meta(build_t *b)
{
    if (b->meta == NULL && (b->meta = calloc(1, sizeof(*b->meta))) == NULL)
        abort();
    return b->meta;
}

/* Fills v with a value of its type taken from the input. */
static void fz_value(fz_t *f, build_t *b, wharf_value_t *v)
{
    switch (v->type) {
    case WHARF_V_STR:
        v->u.str = fz_str(f);
        break;
    case WHARF_V_LONG:
    case WHARF_V_TIME:
        v->u.i64 = (int64_t)fz_u64(f);
        break;
    case WHARF_V_BOOL:
        v->u.i64 = fz_u8(f) & 1;
        break;
    case WHARF_V_DOUBLE: { /* any bit pattern: NaN, infinities, denormals */
        uint64_t bits = fz_u64(f);
        memcpy(&v->u.f64, &bits, sizeof(bits));
        break;
    }
    case WHARF_V_STRS: {
        uint32_t n = fz_u8(f) % 5;
        wharf_str_t *strs = wharf_arena_alloc(b->e.arena, (n ? n : 1) * sizeof(*strs));
        if (strs == NULL)
            abort();
        for (uint32_t i = 0; i < n; i++)
            strs[i] = fz_str(f);
        v->u.strs = strs;
        v->count = n;
        break;
    }
    default: /* WHARF_V_RAW */
        v->type = WHARF_V_RAW;
        v->u.str.ptr = raw_values[fz_u8(f) % N_RAW];
        v->u.str.len = strlen(v->u.str.ptr);
    }
}

static void replace(char **dst, char *s)
{
    free(*dst);
    *dst = s;
}

static void op_meta(fz_t *f, build_t *b)
{
    wharf_container_meta_t *m = build_meta(b);
    uint8_t which = fz_u8(f);
    switch (which % 8) {
    case 0:
        replace(&m->id, fz_strdup(f));
        break;
    case 1:
        replace(&m->name, fz_strdup(f));
        break;
    case 2:
        replace(&m->user, fz_strdup(f));
        m->has_security = 1;
        break;
    case 3:
        replace(&m->k8s_pod, fz_strdup(f));
        break;
    case 4:
        replace(&m->k8s_namespace, fz_strdup(f));
        break;
    case 5:
        replace(&m->k8s_pod_uid, fz_strdup(f));
        break;
    case 6: { /* security flags, one bit each */
        uint8_t bits = fz_u8(f);
        m->has_security = 1;
        m->privileged = bits & 1;
        m->run_as_root = (bits >> 1) & 1;
        m->read_only_rootfs = (bits >> 2) & 1;
        m->host_network = (bits >> 3) & 1;
        m->host_pid = (bits >> 4) & 1;
        break;
    }
    default: /* capabilities.add, laid out as docker_meta.c does */
        if (m->n_cap_add < MAX_CAPS) {
            if (m->cap_add == NULL) {
                m->cap_add = calloc(MAX_CAPS, sizeof(*m->cap_add));
                m->cap_add_text = calloc(MAX_CAPS, sizeof(*m->cap_add_text));
                if (m->cap_add == NULL || m->cap_add_text == NULL)
                    abort();
            }
            char *cap = fz_strdup(f);
            m->cap_add_text[m->n_cap_add] = cap;
            m->cap_add[m->n_cap_add++] = (wharf_str_t){cap, strlen(cap)};
            m->has_security = 1;
        }
    }
}

/* One path is the other plus more components: "a" and "a.b". */
static int ref_path_nests(wharf_str_t a, wharf_str_t b)
{
    if (a.len == b.len)
        return 0;
    const wharf_str_t *shorter = a.len < b.len ? &a : &b, *longer = a.len < b.len ? &b : &a;
    return longer->ptr[shorter->len] == '.' && memcmp(shorter->ptr, longer->ptr, shorter->len) == 0;
}

static int ref_path_known(const build_t *b, wharf_str_t p)
{
    for (size_t i = 0; i < b->n_dyn; i++)
        if (b->dyn[i].len == p.len && memcmp(b->dyn[i].ptr, p.ptr, p.len) == 0)
            return 1;
    return 0;
}

/* What event.h says wharf_event_set_path() refuses. */
static int ref_path_refused(const build_t *b, wharf_str_t p)
{
    for (int f = 0; f < WHARF_F__COUNT; f++) {
        wharf_str_t known = {wharf_field_path((wharf_field_id)f), 0};
        known.len = strlen(known.ptr);
        if (known.len == p.len && memcmp(known.ptr, p.ptr, p.len) == 0)
            return f == WHARF_F_TAGS; /* an ECS field: set in the table */
    }
    if (p.len == 0 || p.ptr[0] == '.' || p.ptr[p.len - 1] == '.')
        return 1;
    for (size_t i = 0; i + 1 < p.len; i++)
        if (p.ptr[i] == '.' && p.ptr[i + 1] == '.')
            return 1;
    if (!ref_utf8_valid((const unsigned char *)p.ptr, p.len))
        return 1; /* two invalid byte strings could repair to one key */
    for (int f = 0; f < WHARF_F__COUNT; f++) {
        wharf_str_t known = {wharf_field_path((wharf_field_id)f), 0};
        known.len = strlen(known.ptr);
        if (ref_path_nests(known, p))
            return 1;
    }
    for (size_t i = 0; i < b->n_dyn; i++)
        if (ref_path_nests(b->dyn[i], p))
            return 1;
    return 0;
}

enum {
    OP_DYN, /* a field by path, any value type */
    OP_FIELD,
    OP_TAGS,
    OP_LABEL,
    OP_ATTR,
    OP_IMAGE,
    OP_META,
    OP__COUNT
};

static void apply_op(fz_t *f, build_t *b)
{
    wharf_event_t *e = &b->e;
    uint8_t op = fz_u8(f);
    switch (op % OP__COUNT) {
    case OP_DYN: {
        uint32_t type = (uint32_t)(op / OP__COUNT) % WHARF_V_RAW + 1;
        wharf_str_t path = fz_str(f);
        int refused = ref_path_refused(b, path);
        wharf_value_t *v = wharf_event_set_path(e, path.ptr, path.len, type);
        if ((v == NULL) != refused) { /* the arena does not run out here */
            fprintf(stderr, "fuzz_json_writer: path \"%.*s\" %s\n", (int)path.len, path.ptr,
                    refused ? "should be refused" : "refused");
            abort();
        }
        if (v == NULL)
            break;
        if (wharf_field_lookup(path.ptr, path.len) < 0 && !ref_path_known(b, path))
            b->dyn[b->n_dyn++] = path;
        fz_value(f, b, v);
        break;
    }
    case OP_FIELD: {
        uint32_t type = (uint32_t)(op / OP__COUNT) % WHARF_V_RAW + 1;
        wharf_field_id id = (wharf_field_id)(fz_u8(f) % WHARF_F__COUNT);
        fz_value(f, b, wharf_event_slot(e, id, type));
        break;
    }
    case OP_TAGS: {
        uint8_t bits = fz_u8(f);
        for (int t = 0; t < WHARF_TAG__COUNT; t++)
            if (bits & (1u << t))
                wharf_event_tag(e, (wharf_tag)t);
        break;
    }
    case OP_LABEL: {
        wharf_container_meta_t *m = build_meta(b);
        m->labels_dedot = (op / OP__COUNT) & 1;
        char *k = fz_cstr(f, &b->arena), *v = fz_cstr(f, &b->arena);
        if (wharf_container_add_label(m, k, v) < 0)
            abort();
        break;
    }
    case OP_ATTR:
        if (b->n_attrs < MAX_ATTRS) {
            char *k = fz_cstr(f, &b->arena), *v = fz_cstr(f, &b->arena);
            b->attrs[b->n_attrs++] = (wharf_label_t){k, v};
        }
        break;
    case OP_IMAGE:
        if (!b->image_set) { /* once: the meta owns what it sets */
            char *ref = fz_cstr(f, &b->arena), *id = fz_cstr(f, &b->arena);
            b->image_set = 1;
            if (wharf_container_set_image(build_meta(b), ref, *id ? id : NULL) < 0)
                abort();
        }
        break;
    default:
        op_meta(f, b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    build_t b;
    memset(&b, 0, sizeof(b));
    wharf_arena_init(&b.arena, 4096);
    b.e.arena = &b.arena;
    wharf_event_clear(&b.e);

    fz_t f = {data, size};
    unsigned n_ops = fz_u8(&f) % 32;
    for (unsigned i = 0; i < n_ops && f.n > 0; i++)
        apply_op(&f, &b);
    if (b.meta != NULL) {
        if (wharf_container_render_labels(b.meta) < 0 || wharf_container_finish(b.meta) < 0)
            abort();
        wharf_container_enrich(&b.e, b.meta);
    }
    if (b.n_attrs > 0 && wharf_container_labels_merged(&b.e, b.meta, b.attrs, b.n_attrs) < 0)
        abort();
    /* Last, so that no operation replaced it. */
    const unsigned char *msg = f.p;
    size_t msg_len = f.n;
    wharf_event_set_str(&b.e, WHARF_F_MESSAGE, (const char *)msg, msg_len);

    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    wharf_buf_t out;
    wharf_buf_init(&out);
    if (wharf_json_write_event(&w, &b.e, &out) != 0)
        abort();
    yajl_tree_free(fuzz_require_json_line(&out));
    if (!ref_utf8_valid((const unsigned char *)out.data, out.len))
        dump_and_abort("output is not well-formed UTF-8", &out);

    jcheck_t c;
    memset(&c, 0, sizeof(c));
    jc_parse(&c, &out);
    char *want = malloc(msg_len * 3 + 1);
    if (want == NULL)
        abort();
    size_t want_replaced;
    size_t want_len = ref_sanitize(msg, msg_len, want, &want_replaced);
    if (!c.have_message || c.message_len != want_len || memcmp(c.message, want, want_len) != 0)
        dump_and_abort("\"message\" does not read back as the input", &out);
    if (c.dup_key != NULL) {
        fprintf(stderr, "repeated key \"%.*s\"\n", (int)c.dup_len, c.dup_key);
        dump_and_abort("an object repeats a key", &out);
    }

    wharf_buf_t s;
    wharf_buf_init(&s);
    if (wharf_json_write_string(&s, (const char *)msg, msg_len) != want_replaced)
        dump_and_abort("wharf_json_write_string miscounts replacements", &s);

    wharf_buf_free(&s);
    free(want);
    free(c.message);
    free(c.dup_key);
    wharf_buf_free(&out);
    wharf_container_meta_free(b.meta);
    wharf_arena_free(&b.arena);
    return 0;
}
