/* log.c - wharf's own log lines on stderr, logfmt or JSON (see wharf/log.h).
 *
 * The level, the format and the table of recently repeated lines are
 * process-wide state: every module logs, and threading a logger handle
 * through each call would buy nothing. Each line is built whole and written
 * with one fwrite, so lines from librdkafka's and the compressor's threads
 * never interleave; the repeat table is behind a mutex for the same reason. */
#include "wharf/log.h"

#include "wharf/buf.h"
#include "wharf/common.h"
#include "wharf/json.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Distinct warn/error lines repeating at the same time; a few dozen is a
 * bad day already. A slot is found among LOG_PROBE neighbours. */
#define LOG_SLOTS    64
#define LOG_PROBE    4
#define LOG_KV_STACK 1024

typedef struct log_repeat {
    uint64_t hash; /* 0: free */
    int64_t since_ns;
    uint64_t suppressed;
    uint64_t epoch;
} log_repeat_t;

static wharf_log_level log_threshold = WHARF_LOG_INFO;
static wharf_log_format log_format = WHARF_LOG_LOGFMT;
static wharf_log_clock_fn log_wall_clock;
static wharf_log_clock_fn log_mono_clock;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static log_repeat_t log_repeats[LOG_SLOTS];
/* Bumped by every info line: a state change ends every repeat window. */
static uint64_t log_epoch;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void wharf_log_set_level(wharf_log_level level)
{
    log_threshold = level;
}

int wharf_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, log_level_names[i]) == 0)
            return i;
    return -1;
}

void wharf_log_set_format(wharf_log_format format)
{
    log_format = format;
}

void wharf_log_set_clocks(wharf_log_clock_fn wall_ns, wharf_log_clock_fn mono_ns)
{
    log_wall_clock = wall_ns;
    log_mono_clock = mono_ns;
}

static int64_t log_clock(clockid_t id, wharf_log_clock_fn override)
{
    if (override != NULL)
        return override();
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- repeated lines ---- */

static uint64_t log_hash(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
    return h;
}

static uint64_t log_line_hash(wharf_log_level level, const char *msg, const char *kv)
{
    uint64_t h = (UINT64_C(0xcbf29ce484222325) ^ (uint64_t)level) * UINT64_C(0x100000001b3);
    h = log_hash(h, msg);
    h = log_hash((h ^ '\n') * UINT64_C(0x100000001b3), kv);
    return h | 1; /* never 0, the mark of a free slot */
}

/* The slot of hash, or the one to reuse for it: a free one, else the one
 * whose window began first (its count is lost; the line just prints sooner). */
static log_repeat_t *log_slot(uint64_t hash)
{
    log_repeat_t *victim = NULL;
    for (size_t i = 0; i < LOG_PROBE; i++) {
        log_repeat_t *s = &log_repeats[(hash + i) % LOG_SLOTS];
        if (s->hash == hash)
            return s;
        if (victim == NULL || s->hash == 0 || (victim->hash != 0 && s->since_ns < victim->since_ns))
            victim = s;
    }
    victim->hash = 0;
    return victim;
}

/* 1 when this line is a repeat to count, not print; otherwise the line opens
 * a new window and *repeated is how many copies the last one held back. */
static int log_suppress(uint64_t hash, uint64_t *repeated)
{
    int64_t now = log_clock(CLOCK_MONOTONIC, log_mono_clock);
    pthread_mutex_lock(&log_lock);
    log_repeat_t *s = log_slot(hash);
    int quiet = s->hash == hash && s->epoch == log_epoch &&
                now - s->since_ns < (int64_t)WHARF_LOG_REPEAT_MS * 1000000;
    if (quiet) {
        s->suppressed++;
    } else {
        *repeated = s->hash == hash ? s->suppressed : 0;
        *s = (log_repeat_t){.hash = hash, .since_ns = now, .epoch = log_epoch};
    }
    pthread_mutex_unlock(&log_lock);
    return quiet;
}

static void log_state_changed(void)
{
    pthread_mutex_lock(&log_lock);
    log_epoch++;
    pthread_mutex_unlock(&log_lock);
}

/* ---- the key=value text, taken apart for JSON ---- */

typedef struct log_field {
    const char *key;
    size_t key_len;
    const char *val; /* NULL for a bare key (a flag) */
    size_t val_len;
    int quoted;
} log_field_t;

/* 1 when p starts a key: a word ended by '=', a space or the end. */
static int log_key_at(const char *p)
{
    const char *start = p;
    while (*p && *p != ' ' && *p != '=' && *p != '"')
        p++;
    return p > start && *p != '"';
}

/* A quoted value ends at a '"' followed by the end or by a space and the
 * next key, so a stray quote inside (a library's error text, quoted by the
 * caller as "%s") does not cut it short. */
static const char *log_quoted_end(const char *p)
{
    for (; *p; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '"' && (p[1] == '\0' || (p[1] == ' ' && log_key_at(p + 2))))
            return p;
    }
    return p;
}

/* The field starting at or after p; returns where the next one may start,
 * or NULL when there is none. */
static const char *log_next_field(const char *p, log_field_t *f)
{
    while (*p == ' ')
        p++;
    if (*p == '\0')
        return NULL;
    f->key = p;
    while (*p && *p != ' ' && *p != '=')
        p++;
    f->key_len = (size_t)(p - f->key);
    f->val = NULL;
    f->val_len = 0;
    f->quoted = 0;
    if (*p != '=')
        return p;
    p++;
    if (*p == '"') {
        f->quoted = 1;
        f->val = p + 1;
        p = log_quoted_end(f->val);
        f->val_len = (size_t)(p - f->val);
        return *p ? p + 1 : p;
    }
    f->val = p;
    while (*p && *p != ' ')
        p++;
    f->val_len = (size_t)(p - f->val);
    return p;
}

/* A JSON number exactly as JSON spells one: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int log_is_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i == n || s[i] < '0' || s[i] > '9')
        return 0;
    if (s[i++] != '0')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    if (i < n && s[i] == '.') {
        size_t digits = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == digits)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t digits = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == digits)
            return 0;
    }
    return i == n;
}

/* A quoted value with \" \\ \n undone; other backslashes are the caller's. */
static void log_unescape(wharf_buf_t *out, const char *s, size_t n)
{
    out->len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == 'n')) {
            c = s[++i] == 'n' ? '\n' : s[i];
        }
        wharf_buf_putc(out, c);
    }
}

static void log_json_value(wharf_buf_t *b, wharf_buf_t *scratch, const log_field_t *f)
{
    if (f->val == NULL) {
        wharf_buf_lit(b, "true");
    } else if (f->quoted) {
        log_unescape(scratch, f->val, f->val_len);
        wharf_json_write_string(b, scratch->data, scratch->len);
    } else if (log_is_number(f->val, f->val_len)) {
        wharf_buf_append(b, f->val, f->val_len);
    } else {
        wharf_json_write_string(b, f->val, f->val_len);
    }
}

static void log_json_fields(wharf_buf_t *b, const char *kv)
{
    wharf_buf_t scratch;
    log_field_t f;
    wharf_buf_init(&scratch);
    for (const char *p = log_next_field(kv, &f); p != NULL; p = log_next_field(p, &f)) {
        wharf_buf_putc(b, ',');
        wharf_json_write_string(b, f.key, f.key_len);
        wharf_buf_putc(b, ':');
        log_json_value(b, &scratch, &f);
    }
    wharf_buf_free(&scratch);
}

/* ---- lines ---- */

typedef struct log_line {
    wharf_log_level level;
    const char *msg;
    const char *kv; /* "" when none */
    uint64_t repeated;
    char when[32]; /* 2026-11-22T10:00:00.123Z */
} log_line_t;

static void log_format_time(char *when, size_t size)
{
    int64_t ns = log_clock(CLOCK_REALTIME, log_wall_clock);
    time_t sec = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(when, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, size - n, ".%03dZ", (int)(ns % 1000000000 / 1000000));
}

static void log_append_u64(wharf_buf_t *b, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
    wharf_buf_append(b, digits, (size_t)n);
}

static void log_logfmt_quoted(wharf_buf_t *b, const char *s)
{
    wharf_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '\n') {
            wharf_buf_lit(b, "\\n");
            continue;
        }
        if (*s == '"' || *s == '\\')
            wharf_buf_putc(b, '\\');
        wharf_buf_putc(b, *s);
    }
    wharf_buf_putc(b, '"');
}

static void log_build_logfmt(wharf_buf_t *b, const log_line_t *l)
{
    wharf_buf_lit(b, "ts=");
    wharf_buf_puts(b, l->when);
    wharf_buf_lit(b, " level=");
    wharf_buf_puts(b, log_level_names[l->level]);
    wharf_buf_lit(b, " msg=");
    log_logfmt_quoted(b, l->msg);
    if (*l->kv) {
        wharf_buf_putc(b, ' ');
        wharf_buf_puts(b, l->kv);
    }
    if (l->repeated > 0) {
        wharf_buf_lit(b, " repeated=");
        log_append_u64(b, l->repeated);
    }
    wharf_buf_putc(b, '\n');
}

static void log_build_json(wharf_buf_t *b, const log_line_t *l)
{
    wharf_buf_lit(b, "{\"@timestamp\":\"");
    wharf_buf_puts(b, l->when);
    wharf_buf_lit(b, "\",\"log.level\":\"");
    wharf_buf_puts(b, log_level_names[l->level]);
    wharf_buf_lit(b, "\",\"message\":");
    wharf_json_write_string(b, l->msg, strlen(l->msg));
    wharf_buf_lit(b, ",\"ecs.version\":\"" WHARF_ECS_VERSION "\"");
    log_json_fields(b, l->kv);
    if (l->repeated > 0) {
        wharf_buf_lit(b, ",\"repeated\":");
        log_append_u64(b, l->repeated);
    }
    wharf_buf_lit(b, "}\n");
}

static void log_write(const log_line_t *l)
{
    wharf_buf_t b;
    wharf_buf_init(&b);
    if (log_format == WHARF_LOG_JSON)
        log_build_json(&b, l);
    else
        log_build_logfmt(&b, l);
    fwrite(b.data, 1, b.len, stderr);
    wharf_buf_free(&b);
}

/* The key=value text in stack, or in heap (*heap, to free) when longer. */
static const char *log_format_kv(char *stack, char **heap, const char *kv_fmt, va_list ap)
{
    *heap = NULL;
    if (kv_fmt == NULL || *kv_fmt == '\0')
        return "";
    va_list again;
    va_copy(again, ap);
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): wharf_log va_starts ap */
    int n = vsnprintf(stack, LOG_KV_STACK, kv_fmt, ap);
    if (n >= LOG_KV_STACK && (*heap = malloc((size_t)n + 1)) != NULL)
        vsnprintf(*heap, (size_t)n + 1, kv_fmt, again);
    va_end(again);
    if (n < 0)
        return "";
    return *heap != NULL ? *heap : stack;
}

void wharf_log(wharf_log_level level, const char *msg, const char *kv_fmt, ...)
{
    if (level == WHARF_LOG_INFO)
        log_state_changed();
    if (level < log_threshold)
        return;
    char stack[LOG_KV_STACK];
    char *heap;
    log_line_t l = {.level = level, .msg = msg};
    va_list ap;
    va_start(ap, kv_fmt);
    l.kv = log_format_kv(stack, &heap, kv_fmt, ap);
    va_end(ap);
    if (level < WHARF_LOG_WARN || !log_suppress(log_line_hash(level, msg, l.kv), &l.repeated)) {
        log_format_time(l.when, sizeof(l.when));
        log_write(&l);
    }
    free(heap);
}
