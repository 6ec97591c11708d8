/* parser_regex.h - a compiled PCRE2 regex with the checks and limits every
 * regex wharf runs on log lines needs: the first-byte check that rules out
 * most failing calls before PCRE2 is entered, the match limit (backtracking
 * per byte of the subject) and the time limit for patterns that are not
 * anchored (see parser_regex.c). Used by the parser engine and by the
 * inputs' multiline rule (multiline.c). Not a public interface. */
#ifndef WHARF_PARSER_REGEX_H
#define WHARF_PARSER_REGEX_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

/* A set of bytes, one bit each: the first bytes a regex or a kv option
 * list admits, the characters a `split` separates at. Tested per byte on
 * the hot path. */
typedef uint8_t parser_byteset_t[32];

static inline void parser_byteset_add(parser_byteset_t set, unsigned char c)
{
    set[c / 8] |= (uint8_t)(1u << (c % 8));
}

static inline int parser_byteset_has(const parser_byteset_t set, unsigned char c)
{
    return set[c / 8] >> (c % 8) & 1;
}

/* A compiled regex (parser_regex.c): code is NULL when there is none. When
 * first_known, a subject whose first byte is not in first[] cannot match. */
typedef struct parser_re {
    pcre2_code *code;
    pcre2_match_data *md;
    uint32_t min_len; /* no shorter subject can match */
    int jit;          /* JIT-compiled, without (*UTF): pcre2_jit_match may run it */
    int first_known;
    parser_byteset_t first;
} parser_re_t;

/* 0, or -1 with PCRE2's message in err and the offset in the pattern it
 * refers to in *err_offset. */
int parser_re_compile(parser_re_t *re, const char *pattern, char *err, size_t err_len,
                      size_t *err_offset);
/* 0 when no subject starting with byte c can match re. */
static inline int parser_re_may_start(const parser_re_t *re, unsigned char c)
{
    return re->code != NULL && (!re->first_known || parser_byteset_has(re->first, c));
}
/* The backtracking a match may do: base steps plus PARSER_RE_STEPS_PER_BYTE
 * per byte of the subject. Rules that scan a line do a few steps per byte
 * (a lazy group tried before each "from" of an sshd line); a nested
 * quantifier on a line made to defeat it does exponentially many, and is
 * stopped after time linear in the line's length. */
#define PARSER_RE_STEPS_PER_BYTE 32
/* The clock is read each time the tries of a match could have read
 * another PARSER_RE_CLOCK_BYTES of the subject (each try reads at most
 * from its start to the end): a match on a short line that tries a few
 * positions never reads it, one on a long line about at every try. */
#define PARSER_RE_CLOCK_BYTES (1u << 20)

typedef struct parser_re_limits {
    pcre2_match_context *mc; /* made by parser_re_limits_init */
    uint32_t base;
    size_t len;            /* the subject length mc's limit is set for; SIZE_MAX: none */
    int64_t time_limit_ns; /* of a match, from its first clock reading */
    size_t reach;          /* the bytes its tries could have read since the last reading */
    int64_t clock_from;    /* the first reading, or 0 */
    int timed_out;         /* the last PARSER_RE_GAVE_UP was the time limit's */
} parser_re_limits_t;

/* mc with the callout that keeps the time limit; 0 or -ENOMEM. */
int parser_re_limits_init(parser_re_limits_t *lim);
/* PCRE2's count of groups set (> 0) on a match, 0 when there is none,
 * PARSER_RE_GAVE_UP when the match took more backtracking or time than lim
 * allows. */
#define PARSER_RE_GAVE_UP (-1)
int parser_re_match(parser_re_t *re, parser_re_limits_t *lim, const char *s, size_t n);
void parser_re_free(parser_re_t *re);

#endif
