/* fuzz_parsers.c - libFuzzer target for the parser engine with the shipped
 * pack (parsers/) and tests/fuzz/parsers/ (options the pack does not use):
 * routing, rule matching (the first-byte dispatch and PCRE2's JIT),
 * key=value, logfmt and JSON rules, chains, and the JSON writer.
 *
 * The input's first byte picks the fields the event starts with (a
 * container label naming a parser, a process name, a dataset, an image:
 * SELECTORS below, bit 7 adds a second one); the rest is the message.
 * Checked for every input:
 *  - nothing crashes, leaks or reads outside its memory (ASan, UBSan, LSan);
 *  - the event is one JSON object line (yajl's judgement) with a message;
 *  - a message a parser rewrote is kept whole in event.original;
 *  - routing remembers per-container state between events (the first
 *    round's memo, regex answers, label lookups): the same event after an
 *    unrelated one gives the same bytes as it did before;
 *  - with a trace (wharf parse --trace) the event is the same bytes, and
 *    the trace reports as many matched rules as apply() returns. */
#include "fuzz_support.h"
#include "wharf/arena.h"
#include "wharf/event.h"
#include "wharf/json.h"
#include "wharf/parser.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const SELECTORS[][2] = {
    {"container.labels.wharf.parser", "syslog"},
    {"container.labels.wharf.parser", "nginx"},
    {"container.labels.wharf.parser", "auditd"},
    {"container.labels.wharf.parser", "json"},
    {"container.labels.wharf.parser", "k8s_audit"},
    {"container.labels.wharf.parser", "klog"},
    {"container.labels.wharf.parser", "apache"},
    {"container.labels.wharf.parser", "dockerd"},
    {"container.labels.wharf.parser", "iptables"},
    {"container.labels.wharf.parser", "pam"},
    {"process.name", "sshd"},
    {"process.name", "sudo"},
    {"process.name", "su"},
    {"process.name", "kernel"},
    {"process.name", "useradd"},
    {"event.dataset", "auditd"},
    {"event.dataset", "kubernetes.audit"},
    {"container.image.name", "nginx"},
    {"container.image.name", "registry.k8s.io/kube-apiserver"},
    {"container.id", "0123456789ab"},
    {"container.labels.wharf.parser", "fuzz_logfmt"},
};
#define N_SELECTORS (sizeof(SELECTORS) / sizeof(SELECTORS[0]))

static wharf_parsers_t *parsers;

static void fail(const char *what, const char *msg, size_t len, const wharf_buf_t *out)
{
    fprintf(stderr, "fuzz_parsers: %s\nmessage: %.*s\nevent: %.*s", what, (int)len, msg,
            (int)out->len, out->data);
    abort();
}

static void load_pack(void)
{
    const char *paths[] = {WHARF_SOURCE_DIR "/parsers", WHARF_SOURCE_DIR "/tests/fuzz/parsers"};
    wharf_conf_errors_t errs = {0};
    if (wharf_parsers_load(paths, 2, &parsers, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        abort();
    }
}

static void select_fields(wharf_event_t *e, uint8_t sel)
{
    const char *const *f = SELECTORS[(sel & 0x7f) % N_SELECTORS];
    wharf_parsers_input_field(e, f[0], strlen(f[0]), f[1], strlen(f[1]));
    if (sel & 0x80) {
        f = SELECTORS[(sel * 7u + 3u) % N_SELECTORS];
        wharf_parsers_input_field(e, f[0], strlen(f[0]), f[1], strlen(f[1]));
    }
}

static volatile size_t trace_sink; /* keeps trace_step's reads */

/* Reads every text a step hands out (ASan checks the bytes); counts the
 * rules that matched. */
static void trace_step(void *arg, const wharf_parser_trace_t *t)
{
    size_t *matched = arg, sum = strlen(t->parser ? t->parser : t->path);
    if (t->kind == WHARF_TRACE_RULE)
        sum += strlen(t->rule) + strlen(t->file);
    for (size_t i = 0; t->kind == WHARF_TRACE_UNROUTED && t->value && i < t->value_len; i++)
        sum += (unsigned char)t->value[i];
    for (size_t i = 0; t->kind == WHARF_TRACE_PARSER && t->message && i < t->message_len; i++)
        sum += (unsigned char)t->message[i];
    trace_sink += sum;
    *matched += t->kind == WHARF_TRACE_RULE && t->result == WHARF_TRACE_MATCHED;
}

/* Parses msg with the fields sel picks; the event's JSON into out.
 * Returns how many rules matched. */
static int parse_event(wharf_arena_t *arena, uint8_t sel, const char *msg, size_t len,
                       wharf_buf_t *out)
{
    wharf_event_t e;
    wharf_arena_reset(arena);
    wharf_event_clear(&e);
    e.arena = arena;
    select_fields(&e, sel);
    wharf_event_set_str(&e, WHARF_F_MESSAGE, msg, len);
    int matched = wharf_parsers_apply(parsers, &e);
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    out->len = 0;
    if (wharf_json_write_event(&w, &e, out) != 0)
        fail("the writer failed", msg, len, out);
    return matched;
}

static void check_event(const char *msg, size_t len, const wharf_buf_t *out)
{
    yajl_val v = fuzz_require_json_line(out);
    const char *message_path[] = {"message", NULL};
    const char *original_path[] = {"event", "original", NULL};
    yajl_val message = yajl_tree_get(v, message_path, yajl_t_any);
    yajl_val original = yajl_tree_get(v, original_path, yajl_t_string);
    if (message == NULL)
        fail("no message", msg, len, out);
    /* the original is the input repaired as the writer repairs text, so
     * only its presence is required of a rewritten, valid UTF-8 message */
    if (YAJL_IS_STRING(message) && original == NULL && wharf_utf8_valid(msg, len) &&
        memchr(msg, '\0', len) == NULL &&
        (strlen(YAJL_GET_STRING(message)) != len || memcmp(YAJL_GET_STRING(message), msg, len)))
        fail("message rewritten without event.original", msg, len, out);
    yajl_tree_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (parsers == NULL)
        load_pack();
    const char *msg = (const char *)data + 1;
    size_t len = size - 1;
    wharf_arena_t arena;
    wharf_arena_init(&arena, 4096);
    wharf_buf_t first, other, again;
    wharf_buf_init(&first);
    wharf_buf_init(&other);
    wharf_buf_init(&again);
    parse_event(&arena, data[0], msg, len, &first);
    check_event(msg, len, &first);
    /* another container's event in between, then the same one again */
    parse_event(&arena, (uint8_t)(data[0] + 1), msg, len / 2, &other);
    parse_event(&arena, data[0], msg, len, &again);
    if (again.len != first.len || memcmp(again.data, first.data, first.len) != 0)
        fail("the same event parsed twice differs", msg, len, &again);
    size_t traced = 0;
    wharf_parsers_trace(parsers, trace_step, &traced);
    int matched = parse_event(&arena, data[0], msg, len, &again);
    wharf_parsers_trace(parsers, NULL, NULL);
    if (again.len != first.len || memcmp(again.data, first.data, first.len) != 0)
        fail("the event parsed with a trace differs", msg, len, &again);
    if (traced != (size_t)matched)
        fail("the trace's matched rules are not apply()'s count", msg, len, &again);
    wharf_buf_free(&first);
    wharf_buf_free(&other);
    wharf_buf_free(&again);
    wharf_arena_free(&arena);
    return 0;
}
