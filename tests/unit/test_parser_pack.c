/* test_parser_pack.c - the shipped parser pack (parsers/) on real lines
 * and on lines an attacker pads: within a small regex match limit, and in
 * time that grows with the line's length, not with its square.
 *
 * A log line is written by whoever the log is about. Every parser of the
 * pack is made the first round (as `wharf parse --parser NAME` does, its
 * chain following) for every line of the shared corpus, and for some of
 * those lines with random bytes added after them or in their middle, up to
 * 100 KB and 1 MB:
 * - under a match limit of 1,000 steps (wharf's default is 100,000, plus
 *   32 per byte) no rule may give up: the event would be tagged
 *   parser_match_limit. That bounds backtracking that grows exponentially.
 * - PCRE2's match limit counts backtracking points, not bytes scanned, so
 *   an unanchored rule with a scan inside (`(?=.*?key=)`, retried at every
 *   start position) takes time in the square of the length without hitting
 *   it. CPU time per byte on the 1 MB lines must stay within a few times
 *   that on the 100 KB lines (a square would make it ten times). */
#include "wharf/arena.h"
#include "wharf/buf.h"
#include "wharf/common.h"
#include "wharf/event.h"
#include "wharf/parser.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define PACK_DIR       WHARF_PARSERS
#define MATCH_LIMIT    1000
#define LINES_PER_FILE 2000
#define PAD_EVERY      97 /* of a file's lines, one in PAD_EVERY is also tried padded */
#define PAD_SMALL      (100 * 1024)
#define PAD_LARGE      (1024 * 1024)
/* A cost per byte this many times higher on lines ten times longer is a
 * cost in the square of the length (it would be ten), not noise. */
#define COST_RATIO_MAX 4.0

typedef struct pack {
    wharf_parsers_t *ps;
    char *names[64];
    size_t n_names;
    wharf_arena_t arena;
    wharf_event_t e;
    uint64_t rng;
    double cpu_ns[2]; /* spent on lines padded to PAD_SMALL, PAD_LARGE */
    double bytes[2];
} pack_t;

static void pack_collect_name(void *arg, const wharf_parser_stat_t *s)
{
    pack_t *p = arg;
    if (s->rule == NULL && p->n_names < sizeof(p->names) / sizeof(p->names[0]))
        p->names[p->n_names++] = strdup(s->parser);
}

static void pack_count_gave_up(void *arg, const wharf_parser_stat_t *s)
{
    *(uint64_t *)arg += s->rule != NULL ? s->gave_up : 0;
}

static uint64_t pack_gave_up(const pack_t *p)
{
    uint64_t n = 0;
    wharf_parsers_stats(p->ps, pack_count_gave_up, &n);
    return n;
}

static void pack_open(pack_t *p)
{
    memset(p, 0, sizeof(*p));
    const char *paths[] = {PACK_DIR};
    wharf_conf_errors_t errs = {0};
    if (wharf_parsers_load(paths, 1, &p->ps, &errs) != 0)
        fail_msg("loading %s: %s", PACK_DIR, errs.n ? errs.msgs[0] : "out of memory");
    wharf_conf_errors_free(&errs);
    assert_int_equal(wharf_parsers_set_match_limit(p->ps, MATCH_LIMIT), 0);
    wharf_parsers_stats(p->ps, pack_collect_name, p);
    assert_true(p->n_names >= 10);
    wharf_arena_init(&p->arena, 64 * 1024);
    p->rng = UINT64_C(0x9e3779b97f4a7c15);
}

static void pack_close(pack_t *p)
{
    for (size_t i = 0; i < p->n_names; i++)
        free(p->names[i]);
    wharf_parsers_free(p->ps);
    wharf_arena_free(&p->arena);
}

static double cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Runs every parser of the pack, each as the first round, on line; fails
 * naming the parser, file and line when a rule gave up. Returns the CPU
 * time it took, in ns. */
static double pack_try(pack_t *p, const char *line, size_t len, const char *file, size_t lineno,
                       const char *how)
{
    double start = cpu_now_ns();
    for (size_t i = 0; i < p->n_names; i++) {
        assert_int_equal(wharf_parsers_only(p->ps, p->names[i]), 0);
        wharf_arena_reset(&p->arena);
        wharf_event_clear(&p->e);
        p->e.arena = &p->arena;
        wharf_event_set_str(&p->e, WHARF_F_MESSAGE, line, len);
        wharf_parsers_apply(p->ps, &p->e);
        if (p->e.tags & WHARF_TAG_BIT(WHARF_TAG_PARSER_MATCH_LIMIT))
            fail_msg("parser %s gave up (match limit %d) on %s line %zu%s: %.120s", p->names[i],
                     MATCH_LIMIT, file, lineno, how, line);
    }
    return cpu_now_ns() - start;
}

/* Characters log text is made of, the ones rules look for among them. */
static char pack_random_char(pack_t *p)
{
    static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                              "       ==\"\"''[[]]::,,..--__//(){}<>@#%&*+?!;|\\\t";
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return set[p->rng % (sizeof(set) - 1)];
}

/* line padded with random text to size bytes: after it, or in its middle. */
static void pack_pad(pack_t *p, wharf_buf_t *out, const char *line, size_t len, size_t size,
                     int inside)
{
    size_t head = inside ? len / 2 : len;
    out->len = 0;
    wharf_buf_append(out, line, head);
    while (out->len < size - (len - head))
        wharf_buf_putc(out, pack_random_char(p));
    wharf_buf_append(out, line + head, len - head);
}

static int pack_is_log_file(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && strcmp(name + n - 4, ".log") == 0) ||
           (n > 6 && strcmp(name + n - 6, ".jsonl") == 0);
}

/* Every line (up to LINES_PER_FILE) of one corpus file, and some padded. */
static size_t pack_try_file(pack_t *p, const char *path, const char *name, size_t *padded)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    wharf_buf_t pad;
    wharf_buf_init(&pad);
    while (lineno < LINES_PER_FILE && (n = getline(&line, &cap, fp)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        lineno++;
        pack_try(p, line, (size_t)n, name, lineno, "");
        if (lineno % PAD_EVERY != 1)
            continue;
        int large = *padded % 8 == 0, inside = (int)(*padded % 2);
        pack_pad(p, &pad, line, (size_t)n, large ? PAD_LARGE : PAD_SMALL, inside);
        p->cpu_ns[large] +=
            pack_try(p, pad.data, pad.len, name, lineno,
                     inside ? " (random bytes inside it)" : " (random bytes after it)");
        p->bytes[large] += (double)pad.len;
        (*padded)++;
    }
    free(line);
    wharf_buf_free(&pad);
    fclose(fp);
    return lineno;
}

static void test_pack_within_match_limit(void **state)
{
    (void)state;
    pack_t p;
    pack_open(&p);
    static const char *const dirs[] = {"apache",       "auditd",   "docker-json",
                                       "cri",          "json-app", "k8s-audit",
                                       "linux-syslog", "nginx",    "sshd"};
    size_t files = 0, lines = 0, padded = 0;
    for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/%s", WHARF_CORPUS, dirs[d]);
        DIR *dp = opendir(dir);
        if (dp == NULL)
            fail_msg("%s: cannot open (the shared corpus)", dir);
        struct dirent *de;
        while ((de = readdir(dp)) != NULL) {
            if (!pack_is_log_file(de->d_name))
                continue;
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            lines += pack_try_file(&p, path, de->d_name, &padded);
            files++;
        }
        closedir(dp);
    }
    double small = p.cpu_ns[0] / p.bytes[0], large = p.cpu_ns[1] / p.bytes[1];
    printf("pack: %zu parsers, %zu files, %zu lines, %zu of them padded, none gave up; "
           "%.2f ns per byte at 100 KB, %.2f at 1 MB\n",
           p.n_names, files, lines, padded, small, large);
    assert_true(files >= 20);
    assert_true(lines >= 15000);
    assert_true(padded >= 150);
    assert_int_equal(pack_gave_up(&p), 0);
    if (large > COST_RATIO_MAX * small)
        fail_msg("a rule takes time in the square of a line's length: %.2f ns per byte on 1 MB "
                 "lines, %.2f on 100 KB lines",
                 large, small);
    pack_close(&p);
}

/* The cost check above can fail: an unanchored rule that scans from every
 * start position costs ten times as much per byte on a line ten times as
 * long, and stays under the match limit while doing so. (Lines of 4 KB and
 * 40 KB: the square of 1 MB would take minutes.) `wharf parsers test` fails
 * the rule's sample for the same reason, though the sample itself matches. */
static void test_cost_check_catches_square(void **state)
{
    (void)state;
    char dir[] = "/tmp/wharf-test-pack-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/scan.yaml", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("name: scan\n"
          "rules:\n"
          "  - id: scan\n"
          "    regex: '(?=.*?key=(?<v>\\w+) end)'\n"
          "    fields: {x.v: \"{v}\"}\n"
          "samples:\n"
          "  - {message: \"a key=b end\", expect: {x.v: b}}\n",
          fp);
    fclose(fp);
    pack_t p = {.rng = 1, .n_names = 1};
    p.names[0] = strdup("scan");
    const char *paths[] = {dir};
    wharf_conf_errors_t errs = {0};
    assert_int_equal(wharf_parsers_load(paths, 1, &p.ps, &errs), 0);
    wharf_conf_errors_free(&errs);
    assert_int_equal(wharf_parsers_set_match_limit(p.ps, MATCH_LIMIT), 0);
    /* the time limit would cut the square short; here it is to be seen */
    wharf_parsers_set_time_limit(p.ps, 60000);
    wharf_arena_init(&p.arena, 4096);
    wharf_buf_t pad;
    wharf_buf_init(&pad);
    double per_byte[2];
    static const size_t sizes[2] = {4 * 1024, 40 * 1024};
    for (int i = 0; i < 2; i++) {
        pack_pad(&p, &pad, "key=b", 5, sizes[i], 0);
        per_byte[i] = pack_try(&p, pad.data, pad.len, "scan", 1, "") / (double)pad.len;
    }
    printf("scan: %.2f ns per byte at 4 KB, %.2f at 40 KB\n", per_byte[0], per_byte[1]);
    if (per_byte[1] <= COST_RATIO_MAX * per_byte[0])
        fail_msg("%.2f ns per byte at 40 KB, %.2f at 4 KB: the square went unseen", per_byte[1],
                 per_byte[0]);
    assert_int_equal(pack_gave_up(&p), 0);
    char out[1024] = "";
    FILE *mem = fmemopen(out, sizeof(out), "w");
    assert_non_null(mem);
    wharf_parsers_test_result_t r;
    wharf_parsers_test(p.ps, mem, &r);
    fclose(mem);
    assert_int_equal(r.passed, 0);
    assert_int_equal(r.failed, 1);
    char want[128];
    snprintf(want, sizeof(want), "%s:7: parser scan, sample 1: parsing takes time in the square",
             path);
    if (strncmp(out, want, strlen(want)) != 0 || strstr(out, "anchor the rule\n") == NULL)
        fail_msg("wharf parsers test said: %s", out);
    wharf_buf_free(&pad);
    pack_close(&p);
    assert_int_equal(remove(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_within_match_limit),
        cmocka_unit_test(test_cost_check_catches_square),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
