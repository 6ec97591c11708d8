/* multiline.c - the compiled `multiline` rule of an input (see
 * wharf/multiline.h).
 *
 * The pattern runs on every line of the containers it applies to, so it is
 * compiled and run as the parsers' regexes are (parser_regex.h): PCRE2's
 * JIT, the first-byte check, and the default match and time limits. A
 * pattern that backtracks badly on some line costs a bounded amount and
 * counts as "no match" there (the line then begins an event in `continue`
 * mode, continues one in `start` mode), never a stalled input. */
#include "wharf/multiline.h"

#include "parser_regex.h"
#include "wharf/parser.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct wharf_multiline {
    parser_re_t re;
    parser_re_limits_t limits;
    const wharf_conf_multiline_t *conf;
};

static int multiline_pattern_check(const char *pattern, char *why, size_t why_size)
{
    parser_re_t re;
    char err[256];
    size_t off;
    if (parser_re_compile(&re, pattern, err, sizeof err, &off) < 0) {
        snprintf(why, why_size, "the regex does not compile: %s at offset %zu", err, off);
        return -1;
    }
    parser_re_free(&re);
    return 0;
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
    char err[256];
    size_t off;
    *out = NULL;
    if (conf->pattern == NULL)
        return 0;
    wharf_multiline_t *ml = calloc(1, sizeof(*ml));
    if (ml == NULL)
        return -ENOMEM;
    ml->conf = conf;
    if (parser_re_compile(&ml->re, conf->pattern, err, sizeof err, &off) < 0 ||
        parser_re_limits_init(&ml->limits) < 0) {
        wharf_multiline_free(ml);
        return -ENOMEM;
    }
    ml->limits.base = WHARF_PARSER_MATCH_LIMIT_DEFAULT;
    ml->limits.time_limit_ns = WHARF_PARSER_TIME_LIMIT_DEFAULT_MS * INT64_C(1000000);
    *out = ml;
    return 0;
}

void wharf_multiline_free(wharf_multiline_t *ml)
{
    if (ml == NULL)
        return;
    pcre2_match_context_free(ml->limits.mc);
    parser_re_free(&ml->re);
    free(ml);
}

int wharf_multiline_applies(const wharf_multiline_t *ml, const char *name, const char *image)
{
    const wharf_conf_multiline_t *c = ml->conf;
    if (c->containers.n == 0 && c->images.n == 0)
        return 1;
    return wharf_strv_glob_any(&c->containers, name) || wharf_strv_glob_any(&c->images, image);
}

int wharf_multiline_continues(wharf_multiline_t *ml, const char *line, size_t len)
{
    int matched = parser_re_match(&ml->re, &ml->limits, line, len) > 0;
    return ml->conf->match == WHARF_MULTILINE_START ? !matched : matched;
}

uint32_t wharf_multiline_max_lines(const wharf_multiline_t *ml)
{
    return (uint32_t)ml->conf->max_lines;
}

int64_t wharf_multiline_timeout_ns(const wharf_multiline_t *ml)
{
    return ml->conf->timeout_ms * INT64_C(1000000);
}
