/* parser_regex.c - a rule's or a when condition's compiled regex, and the
 * check made before PCRE2 is called.
 *
 * Most rules a message is tried against fail: an sshd line goes through a
 * score of rules anchored at different words, a PAM line through those of
 * sshd and pam. A call into PCRE2 costs some hundreds of instructions before
 * the subject's first byte is read. What PCRE2 learns of a pattern when it
 * compiles it - the bytes an anchored match can start with, the shortest
 * subject that can match - rules most of those calls out for a few
 * instructions. The check only ever says "cannot match": when PCRE2 knows
 * nothing of the pattern, every subject goes to pcre2_match.
 *
 * PCRE2's match limit counts backtracking, not bytes read: a pattern that
 * is not anchored and scans inside, such as (?=.*?key=(\w+) end), is tried
 * again from every position of a message it fails on, each try reading to
 * its end, and takes time in the square of the message's length within any
 * limit. So a pattern that is not anchored is compiled behind a callout,
 * which PCRE2 calls at each start position it tries (its start
 * optimizations, the first bytes, stay as they were): once the tries could
 * have read PARSER_RE_CLOCK_BYTES the clock is read, and a match that
 * outlasts the time limit gives up like one that hits the match limit. An
 * anchored pattern is tried at one position and goes without. */
#include "parser_regex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The callout number put at the head of every pattern. */
#define RE_START_CALLOUT 255

/* The first code unit PCRE2 reports may be caseless, which pattern_info
 * does not say: a letter admits both ASCII cases, and bytes past ASCII in
 * case the pattern asked for (*UTF) with its wider case folding. */
static void re_first_unit(parser_re_t *re, uint32_t c)
{
    if (c > 0xFF)
        return;
    parser_byteset_add(re->first, (unsigned char)c);
    if (c > 0x7F || !((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        return;
    uint32_t other = c ^ 0x20;
    parser_byteset_add(re->first, (unsigned char)other);
    memset(re->first + 16, 0xFF, 16);
}

/* Fills first[] when the pattern is anchored and PCRE2 knows its first
 * byte, or the set of them. */
static void re_study(parser_re_t *re)
{
    uint32_t options = 0, first_type = 0, first = 0;
    const uint8_t *bitmap = NULL;
    if (pcre2_pattern_info(re->code, PCRE2_INFO_MINLENGTH, &re->min_len) != 0)
        re->min_len = 0;
    if (pcre2_pattern_info(re->code, PCRE2_INFO_ALLOPTIONS, &options) != 0 ||
        !(options & PCRE2_ANCHORED) ||
        pcre2_pattern_info(re->code, PCRE2_INFO_FIRSTCODETYPE, &first_type) != 0)
        return;
    if (first_type == 1 && pcre2_pattern_info(re->code, PCRE2_INFO_FIRSTCODEUNIT, &first) == 0) {
        re_first_unit(re, first);
        re->first_known = 1;
    } else if (first_type == 0 &&
               pcre2_pattern_info(re->code, PCRE2_INFO_FIRSTBITMAP, &bitmap) == 0 &&
               bitmap != NULL) {
        memcpy(re->first, bitmap, sizeof(re->first));
        re->first_known = 1;
    }
}

/* The length of the pattern's leading option settings ((*UTF), (*CRLF),
 * (*LIMIT_MATCH=10) ...), which PCRE2 accepts only at its very start; a
 * backtracking verb there ((*COMMIT), (*F) ...) belongs to the pattern. */
static size_t re_leading_options(const char *p)
{
    static const char verbs[] = " ACCEPT COMMIT F FAIL PRUNE SKIP THEN ";
    size_t at = 0;
    while (p[at] == '(' && p[at + 1] == '*') {
        const char *item = p + at + 2;
        size_t name = strspn(item, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
        size_t len = name + strspn(item + name, "=0123456789");
        char word[16];
        snprintf(word, sizeof(word), " %.*s ", (int)name, item);
        if (name == 0 || item[len] != ')' || (name < 8 && strstr(verbs, word) != NULL))
            return at;
        at += len + 3;
    }
    return at;
}

/* pattern behind the start callout: (?C255)(?:pattern), with a newline
 * before the closing parenthesis if a trailing (?x) comment needs one;
 * (?C255)pattern if neither compiles (an unterminated \Q). NULL when none
 * does, or without memory. */
static pcre2_code *re_compile_clocked(const char *pattern)
{
    static const char *const forms[][2] = {
        {"(?C255)(?:", ")"}, {"(?C255)(?:", "\n)"}, {"(?C255)", ""}};
    size_t lead = re_leading_options(pattern), n = strlen(pattern);
    char *text = malloc(n + 16);
    pcre2_code *code = NULL;
    for (size_t i = 0; text != NULL && code == NULL && i < sizeof(forms) / sizeof(forms[0]); i++) {
        int len = snprintf(text, n + 16, "%.*s%s%s%s", (int)lead, pattern, forms[i][0],
                           pattern + lead, forms[i][1]);
        int rc;
        PCRE2_SIZE off;
        code = pcre2_compile((PCRE2_SPTR)text, (PCRE2_SIZE)len, 0, &rc, &off, NULL);
    }
    free(text);
    return code;
}

int parser_re_compile(parser_re_t *re, const char *pattern, char *err, size_t err_len,
                      size_t *err_offset)
{
    int code;
    PCRE2_SIZE off;
    memset(re, 0, sizeof(*re));
    re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    uint32_t options = 0;
    if (re->code != NULL && (pcre2_pattern_info(re->code, PCRE2_INFO_ALLOPTIONS, &options) != 0 ||
                             !(options & PCRE2_ANCHORED))) {
        pcre2_code *clocked = re_compile_clocked(pattern);
        if (clocked != NULL) {
            pcre2_code_free(re->code);
            re->code = clocked;
        }
    }
    if (re->code == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        snprintf(err, err_len, "%s", (char *)msg);
        *err_offset = (size_t)off;
        return -1;
    }
    /* Without JIT (a platform PCRE2 has none for) pcre2_match interprets;
     * with it, pcre2_jit_match skips pcre2_match's checks, among them the
     * UTF-8 check a (*UTF) pattern needs on arbitrary bytes. */
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0 &&
              pcre2_pattern_info(re->code, PCRE2_INFO_ALLOPTIONS, &options) == 0 &&
              !(options & PCRE2_UTF);
    re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
    if (re->md == NULL) {
        snprintf(err, err_len, "out of memory");
        *err_offset = 0;
        parser_re_free(re);
        return -1;
    }
    re_study(re);
    return 0;
}

static int64_t re_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* PCRE2 calls it at each start position a match tries (and at a callout
 * the pattern has of its own, which changes nothing). */
static int re_start_callout(pcre2_callout_block *cb, void *data)
{
    parser_re_limits_t *lim = data;
    if (cb->callout_number != RE_START_CALLOUT || cb->callout_string != NULL)
        return 0;
    lim->reach += cb->subject_length - cb->start_match;
    if (lim->reach < PARSER_RE_CLOCK_BYTES)
        return 0;
    lim->reach = 0;
    int64_t now = re_clock_ns();
    if (lim->clock_from == 0)
        lim->clock_from = now;
    else if (now - lim->clock_from > lim->time_limit_ns)
        return PCRE2_ERROR_CALLOUT;
    return 0;
}

int parser_re_limits_init(parser_re_limits_t *lim)
{
    lim->mc = pcre2_match_context_create(NULL);
    if (lim->mc == NULL)
        return -ENOMEM;
    pcre2_set_callout(lim->mc, re_start_callout, lim);
    lim->len = SIZE_MAX;
    return 0;
}

/* The rules of a parser run on one message: the limit is set once for them. */
static pcre2_match_context *re_limits_for(parser_re_limits_t *lim, size_t n)
{
    if (lim->len != n) {
        uint64_t steps = lim->base + (uint64_t)PARSER_RE_STEPS_PER_BYTE * n;
        pcre2_set_match_limit(lim->mc, steps < UINT32_MAX ? (uint32_t)steps : UINT32_MAX);
        lim->len = n;
    }
    return lim->mc;
}

int parser_re_match(parser_re_t *re, parser_re_limits_t *lim, const char *s, size_t n)
{
    if (re->code == NULL || n < re->min_len ||
        (re->first_known && (n == 0 || !parser_re_may_start(re, (unsigned char)s[0]))))
        return 0;
    pcre2_match_context *mc = re_limits_for(lim, n);
    lim->reach = 0;
    lim->clock_from = 0;
    int rc = re->jit ? pcre2_jit_match(re->code, (PCRE2_SPTR)s, n, 0, 0, re->md, mc)
                     : pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, re->md, mc);
    if (rc > 0)
        return rc;
    lim->timed_out = rc == PCRE2_ERROR_CALLOUT;
    /* the limits: the JIT honours the match limit only, the interpreter all
     * three; a JIT stack too small for the subject is the same verdict, and
     * so is the time limit (the start callout's error) */
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
                   rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
                   rc == PCRE2_ERROR_CALLOUT
               ? PARSER_RE_GAVE_UP
               : 0;
}

void parser_re_free(parser_re_t *re)
{
    pcre2_match_data_free(re->md);
    pcre2_code_free(re->code);
    re->md = NULL;
    re->code = NULL;
}
