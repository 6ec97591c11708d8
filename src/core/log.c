/* log.c - logfmt lines on stderr (see wharf/log.h).
 *
 * The level threshold is the one piece of process-wide state: every module
 * logs, and threading a logger handle through each call would buy nothing. */
#include "wharf/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static wharf_log_level log_threshold = WHARF_LOG_INFO;

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

static void log_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if (*s == '\n') {
            fputs("\\n", out);
            continue;
        }
        fputc(*s, out);
    }
    fputc('"', out);
}

void wharf_log(wharf_log_level level, const char *msg, const char *kv_fmt, ...)
{
    if (level < log_threshold)
        return;
    struct timespec ts;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

    flockfile(stderr);
    fprintf(stderr, "ts=%s.%03ldZ level=%s msg=", when, ts.tv_nsec / 1000000,
            log_level_names[level]);
    log_quoted(stderr, msg);
    va_list ap;
    va_start(ap, kv_fmt);
    if (kv_fmt != NULL && *kv_fmt) {
        fputc(' ', stderr);
        /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is above */
        vfprintf(stderr, kv_fmt, ap);
    }
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}
