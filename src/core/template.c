/* template.c - event field templates (wharf/template.h).
 *
 * A template compiles to a flat list of ops so that rendering, which runs
 * per event, is a loop without recursion or allocation: LIT appends a slice
 * of the template's text, FIELD looks the field up with wharf_json_find and,
 * when it is present, appends it and jumps past the ops of its default;
 * when it is missing, execution falls through into those ops. Nested
 * defaults are ops nested in that range, so ${a:-${b:-c}} is
 * [FIELD a ->3, FIELD b ->3, LIT c]. The compiler is a recursive-descent
 * parser whose depth is bounded by WHARF_TEMPLATE_MAX_NESTING. */
#include "wharf/template.h"

#include "wharf/array.h"
#include "wharf/common.h"
#include "wharf/json_find.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_LIT, OP_FIELD };

typedef struct tpl_op {
    int kind;
    size_t off, len; /* LIT: the text; FIELD: the path; both in t->text */
    size_t next;     /* FIELD: the op after its default */
} tpl_op_t;

struct wharf_template {
    tpl_op_t *ops;
    size_t n_ops, cap_ops;
    wharf_buf_t text; /* literals ($$ collapsed) and field paths; NUL-terminated */
    int constant;
};

typedef struct tparse {
    const char *src;
    size_t len, i;
    wharf_template_t *t;
    int lit_open; /* the last op is a LIT that the next literal may extend */
    char *err;
    size_t err_len;
} tparse_t;

static int tp_error(tparse_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the message into the caller's err and returns -EINVAL. */
static int tp_error(tparse_t *ps, const char *fmt, ...)
{
    if (ps->err == NULL || ps->err_len == 0)
        return -EINVAL;
    va_list ap;
    va_start(ap, fmt);
    /* clang-analyzer reports this va_list as uninitialized: a false positive */
    vsnprintf(ps->err, ps->err_len, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    va_end(ap);
    return -EINVAL;
}

static int tp_op(tparse_t *ps, int kind, size_t off, size_t len)
{
    wharf_template_t *t = ps->t;
    if (wharf_array_reserve(&t->ops, &t->cap_ops, t->n_ops + 1, sizeof(*t->ops), 8) < 0)
        return -ENOMEM;
    size_t i = t->n_ops++;
    t->ops[i] = (tpl_op_t){kind, off, len, i + 1};
    return 0;
}

static int tp_lit(tparse_t *ps, const char *p, size_t n)
{
    wharf_template_t *t = ps->t;
    size_t off = t->text.len;
    wharf_buf_append(&t->text, p, n);
    if (ps->lit_open) {
        t->ops[t->n_ops - 1].len += n;
        return 0;
    }
    ps->lit_open = 1;
    return tp_op(ps, OP_LIT, off, n);
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '@' || c == '.' || c == '-' || c == '/';
}

static int tp_seq(tparse_t *ps, int nesting);

/* ps->i is at "${"; nesting counts the ${ open with this one. */
static int tp_field(tparse_t *ps, int nesting)
{
    const char *src = ps->src;
    size_t col = ps->i + 1;
    if (nesting > WHARF_TEMPLATE_MAX_NESTING)
        return tp_error(ps, "more than %d nested ${ at column %zu", WHARF_TEMPLATE_MAX_NESTING,
                        col);
    ps->i += 2;
    size_t name = ps->i;
    while (ps->i < ps->len && name_char(src[ps->i]))
        ps->i++;
    size_t name_len = ps->i - name;
    if (ps->i == ps->len || (src[ps->i] == ':' && ps->i + 1 == ps->len))
        return tp_error(ps, "unclosed ${ at column %zu", col);
    unsigned char c = (unsigned char)src[ps->i];
    if (c != '}' && c != ':') {
        if (c >= 0x20 && c < 0x7f)
            return tp_error(ps, "invalid character '%c' in field name at column %zu", c, ps->i + 1);
        return tp_error(ps, "invalid byte 0x%02x in field name at column %zu", c, ps->i + 1);
    }
    if (c == ':' && src[ps->i + 1] != '-')
        return tp_error(ps, "expected ':-' or '}' after field name at column %zu", ps->i + 1);
    if (name_len == 0)
        return tp_error(ps, "empty field name at column %zu", col);
    const char *nm = src + name;
    if (nm[0] == '.' || nm[name_len - 1] == '.' || memmem(nm, name_len, "..", 2) != NULL)
        return tp_error(ps, "empty segment in field name \"%.*s\" at column %zu", (int)name_len, nm,
                        col);

    wharf_template_t *t = ps->t;
    size_t f = t->n_ops;
    int rc = tp_op(ps, OP_FIELD, t->text.len, name_len);
    if (rc < 0)
        return rc;
    wharf_buf_append(&t->text, nm, name_len);
    ps->lit_open = 0;
    t->constant = 0;
    if (c == '}') {
        ps->i++;
        return 0;
    }
    ps->i += 2; /* ":-" */
    if ((rc = tp_seq(ps, nesting)) < 0)
        return rc;
    if (ps->i == ps->len)
        return tp_error(ps, "unclosed ${ at column %zu", col);
    ps->i++; /* the '}' that ends the default */
    t->ops[f].next = t->n_ops;
    ps->lit_open = 0;
    return 0;
}

/* Literals, $$ and fields up to the end of the text or, inside a default
 * (nesting > 0: the number of ${ open), up to the '}' that ends it (left
 * for the caller). */
static int tp_seq(tparse_t *ps, int nesting)
{
    const char *src = ps->src;
    while (ps->i < ps->len) {
        char c = src[ps->i];
        if (c == '}' && nesting > 0)
            return 0;
        int rc;
        if (c == '$' && ps->i + 1 < ps->len && src[ps->i + 1] == '$') {
            rc = tp_lit(ps, "$", 1);
            ps->i += 2;
        } else if (c == '$' && ps->i + 1 < ps->len && src[ps->i + 1] == '{') {
            rc = tp_field(ps, nesting + 1);
        } else {
            size_t j = ps->i + 1;
            while (j < ps->len && src[j] != '$' && !(src[j] == '}' && nesting > 0))
                j++;
            rc = tp_lit(ps, src + ps->i, j - ps->i);
            ps->i = j;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int wharf_template_compile(const char *text, wharf_template_t **out, char *err, size_t err_len)
{
    *out = NULL;
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (text == NULL)
        return -EINVAL;
    wharf_template_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    wharf_buf_init(&t->text);
    t->constant = 1;
    tparse_t ps = {.src = text, .len = strlen(text), .t = t, .err = err, .err_len = err_len};
    int rc = tp_seq(&ps, 0);
    if (rc < 0) {
        wharf_template_free(t);
        return rc;
    }
    wharf_buf_putc(&t->text, '\0');
    t->text.len--;
    *out = t;
    return 0;
}

/* Appends the field's text and returns 1, or returns 0 when it is missing
 * (nothing appended), or WHARF_EPARSE when json is malformed. */
static int render_field(const wharf_template_t *t, const tpl_op_t *op, const char *json, size_t len,
                        wharf_buf_t *out)
{
    wharf_json_value_t v;
    int rc = wharf_json_find(json, len, t->text.data + op->off, op->len, &v);
    if (rc <= 0)
        return rc < 0 ? WHARF_EPARSE : 0;
    switch (v.type) {
    case WHARF_JSON_STRING:
        if (v.raw.len == 0)
            return 0;
        if (!v.escaped) {
            wharf_buf_append(out, v.raw.ptr, v.raw.len);
            return 1;
        }
        return wharf_json_string_unescape(v.raw, out) < 0 ? WHARF_EPARSE : 1;
    case WHARF_JSON_NUMBER:
    case WHARF_JSON_TRUE:
    case WHARF_JSON_FALSE:
        wharf_buf_append(out, v.raw.ptr, v.raw.len);
        return 1;
    default:
        return 0;
    }
}

int wharf_template_render(const wharf_template_t *t, const char *json, size_t len, wharf_buf_t *out)
{
    int status = 0;
    size_t i = 0;
    while (i < t->n_ops) {
        const tpl_op_t *op = &t->ops[i];
        if (op->kind == OP_LIT) {
            wharf_buf_append(out, t->text.data + op->off, op->len);
            i++;
            continue;
        }
        int rc = render_field(t, op, json, len, out);
        if (rc < 0)
            status = rc;
        i = rc > 0 ? op->next : i + 1;
    }
    return status;
}

int wharf_template_is_constant(const wharf_template_t *t)
{
    return t->constant;
}

const char *wharf_template_constant(const wharf_template_t *t)
{
    return t->constant ? t->text.data : NULL;
}

void wharf_template_free(wharf_template_t *t)
{
    if (t == NULL)
        return;
    free(t->ops);
    wharf_buf_free(&t->text);
    free(t);
}
