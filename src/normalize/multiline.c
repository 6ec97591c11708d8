/* multiline.c - the compiled `multiline` rule of an input (see
 * wharf/multiline.h).
 *
 * The pattern runs on every line of the containers it applies to, so it
 * gets PCRE2's JIT and a match limit: a pattern that backtracks badly on
 * some line costs a bounded amount and counts as "no match" there (the
 * line then begins an event in `continue` mode, continues one in `start`
 * mode), never a stalled input. */
#include "wharf/multiline.h"

#include "wharf/alloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <fnmatch.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

/* Backtracking steps a line may take: base plus per byte (as the parsers). */
#define MULTILINE_STEPS_BASE     100000u
#define MULTILINE_STEPS_PER_BYTE 32u

struct wharf_multiline {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mc;
    int jit;
    int match; /* wharf_multiline_match */
    const wharf_conf_multiline_t *conf;
};

static int multiline_pattern_check(const char *pattern, char *why, size_t why_size)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (re != NULL) {
        pcre2_code_free(re);
        return 0;
    }
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof(msg));
    snprintf(why, why_size, "the regex does not compile: %s at offset %zu", (char *)msg,
             (size_t)off);
    return -1;
}

static const char *const multiline_match_choices[] = {"start", "continue", NULL};

const wharf_conf_key_t wharf_multiline_conf_keys[] = {
    {.name = "pattern",
     .kind = WHARF_CK_STR,
     .offset = offsetof(wharf_conf_multiline_t, pattern),
     .required = 1,
     .check = multiline_pattern_check},
    {.name = "match",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(wharf_conf_multiline_t, match),
     .choices = multiline_match_choices},
    {.name = "containers",
     .kind = WHARF_CK_STR_LIST,
     .offset = offsetof(wharf_conf_multiline_t, containers)},
    {.name = "images",
     .kind = WHARF_CK_STR_LIST,
     .offset = offsetof(wharf_conf_multiline_t, images)},
    {.name = "max_lines",
     .kind = WHARF_CK_INT,
     .offset = offsetof(wharf_conf_multiline_t, max_lines),
     .min = 2,
     .max = 100000},
    {.name = "timeout",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(wharf_conf_multiline_t, timeout_ms),
     .min = 1,
     .max = INT64_C(3600000)},
    {.name = NULL},
};

void wharf_multiline_conf_init(void *p)
{
    wharf_conf_multiline_t *c = p;
    c->match = WHARF_MULTILINE_START;
    c->max_lines = 500;
    c->timeout_ms = 2000;
}

int wharf_multiline_new(const wharf_conf_multiline_t *conf, wharf_multiline_t **out)
{
    *out = NULL;
    if (conf->pattern == NULL)
        return 0;
    wharf_multiline_t *ml = calloc(1, sizeof(*ml));
    if (ml == NULL)
        return -ENOMEM;
    int code;
    PCRE2_SIZE off;
    ml->conf = conf;
    ml->match = conf->match;
    ml->code =
        pcre2_compile((PCRE2_SPTR)conf->pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (ml->code != NULL) {
        ml->jit = pcre2_jit_compile(ml->code, PCRE2_JIT_COMPLETE) == 0;
        ml->md = pcre2_match_data_create(1, NULL);
        ml->mc = pcre2_match_context_create(NULL);
    }
    if (ml->code == NULL || ml->md == NULL || ml->mc == NULL) {
        wharf_multiline_free(ml);
        return -ENOMEM;
    }
    *out = ml;
    return 0;
}

void wharf_multiline_free(wharf_multiline_t *ml)
{
    if (ml == NULL)
        return;
    pcre2_match_context_free(ml->mc);
    pcre2_match_data_free(ml->md);
    pcre2_code_free(ml->code);
    free(ml);
}

static int multiline_glob_any(const wharf_strv_t *globs, const char *s)
{
    for (size_t i = 0; s != NULL && i < globs->n; i++)
        if (fnmatch(globs->v[i], s, 0) == 0)
            return 1;
    return 0;
}

int wharf_multiline_applies(const wharf_multiline_t *ml, const char *name, const char *image)
{
    const wharf_conf_multiline_t *c = ml->conf;
    if (c->containers.n == 0 && c->images.n == 0)
        return 1;
    return multiline_glob_any(&c->containers, name) || multiline_glob_any(&c->images, image);
}

int wharf_multiline_continues(wharf_multiline_t *ml, const char *line, size_t len)
{
    uint64_t steps = MULTILINE_STEPS_BASE + (uint64_t)MULTILINE_STEPS_PER_BYTE * len;
    pcre2_set_match_limit(ml->mc, steps < UINT32_MAX ? (uint32_t)steps : UINT32_MAX);
    int rc = ml->jit ? pcre2_jit_match(ml->code, (PCRE2_SPTR)line, len, 0, 0, ml->md, ml->mc)
                     : pcre2_match(ml->code, (PCRE2_SPTR)line, len, 0, 0, ml->md, ml->mc);
    int matched = rc > 0;
    return ml->match == WHARF_MULTILINE_START ? !matched : matched;
}

uint32_t wharf_multiline_max_lines(const wharf_multiline_t *ml)
{
    return (uint32_t)ml->conf->max_lines;
}

int64_t wharf_multiline_timeout_ns(const wharf_multiline_t *ml)
{
    return ml->conf->timeout_ms * INT64_C(1000000);
}
