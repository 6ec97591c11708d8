/* grok.h - grok expressions to PCRE2 patterns.
 *
 * `%{NAME}` stands for a named pattern, `%{NAME:field.path}` captures what it
 * matched into an event field and `%{NAME:field.path:type}` also says how to
 * convert it. Expansion replaces each reference with the pattern's regex
 * (recursively: patterns use other patterns), captures become PCRE2 named
 * groups `g1`, `g2` ... in order, and the list of captures says which group
 * goes to which field. The base library (IP, HOSTNAME, SYSLOGTIMESTAMP ...)
 * is built in and documented in the README; a parser file can add its own. */
#ifndef WHARF_GROK_H
#define WHARF_GROK_H

#include "wharf/buf.h"

#include <stddef.h>

typedef struct wharf_grok_capture {
    char *field; /* dotted path */
    char *type;  /* as written, NULL when absent */
} wharf_grok_capture_t;

/* Extra patterns (a parser file's `patterns:`), looked up before the base
 * library. */
typedef struct wharf_grok_defs {
    const char *const *names;
    const char *const *regexes;
    size_t n;
} wharf_grok_defs_t;

/* Where a reference's expansion went, so that an offset PCRE2 reports in
 * the expanded regex can be told back in the author's terms: the pattern
 * it falls in, or the place in the expression. */
typedef struct wharf_grok_ref {
    const char *name; /* not terminated; points into expr or a pattern's regex */
    size_t name_len;
    size_t start, end;         /* the expansion's bytes in regex, its group included */
    int depth;                 /* 0: written in expr itself, 1: in a pattern it names ... */
    size_t src_start, src_len; /* depth 0: the reference's bytes in expr */
} wharf_grok_ref_t;

typedef struct wharf_grok {
    wharf_buf_t regex; /* NUL-terminated */
    wharf_grok_capture_t *caps;
    size_t n_caps;
    wharf_grok_ref_t *refs; /* every reference expanded, in order of its start */
    size_t n_refs;
} wharf_grok_t;

/* Expands expr. Returns 0, or WHARF_EPARSE with a message in err (an unknown
 * pattern, a malformed reference, patterns nested too deep, e.g. a pattern
 * that refers to itself). */
int wharf_grok_expand(const char *expr, const wharf_grok_defs_t *defs, wharf_grok_t *out, char *err,
                      size_t err_len);
void wharf_grok_free(wharf_grok_t *g);
/* The offset in expr that offset off of g's regex comes from, when off is
 * outside every pattern's expansion: 0 and *expr_off, or -1 with *ref the
 * innermost reference whose expansion holds off. */
int wharf_grok_where(const wharf_grok_t *g, size_t off, size_t *expr_off,
                     const wharf_grok_ref_t **ref);
/* The base library's regex for a pattern name, or NULL. */
const char *wharf_grok_base(const char *name, size_t len);
/* Every base pattern name, in order, NULL-terminated (for documentation). */
const char *const *wharf_grok_base_names(void);

#endif
