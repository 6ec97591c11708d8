/* log.h - wharf's own log: one line per message on stderr.
 *
 * Operators grep and ship this log too, so every line has the same shape,
 * logfmt by default:
 *   ts=2026-11-22T10:00:00.123Z level=warn msg="file vanished" path=/x
 * or, with `log_format: json`, one ECS-logging object per line:
 *   {"@timestamp":"2026-11-22T10:00:00.123Z","log.level":"warn",
 *    "message":"file vanished","ecs.version":"9.4.0","path":"/x"}
 * Callers pass the message and then key=value pairs already formatted; the
 * JSON format takes those pairs apart, so call sites are the same for both.
 *
 * Repeated warn and error lines are rate-limited: a line identical to one
 * printed less than WHARF_LOG_REPEAT_MS ago (same level, message and
 * key=value text) is counted instead of printed, and the next copy printed
 * after that carries repeated=N. A retry loop that fails every second thus
 * logs once a minute. Any info line ends every such window: info lines are
 * state changes ("output takes events again"), and an error that follows one
 * is news, so an output that goes down twice is seen going down twice. */
#ifndef WHARF_LOG_H
#define WHARF_LOG_H

#include <stdint.h>

typedef enum wharf_log_level {
    WHARF_LOG_DEBUG,
    WHARF_LOG_INFO,
    WHARF_LOG_WARN,
    WHARF_LOG_ERROR,
} wharf_log_level;

typedef enum wharf_log_format {
    WHARF_LOG_LOGFMT,
    WHARF_LOG_JSON,
} wharf_log_format;

#define WHARF_LOG_REPEAT_MS 60000

void wharf_log_set_level(wharf_log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int wharf_log_level_parse(const char *name);
void wharf_log_set_format(wharf_log_format format);

/* msg is quoted for logfmt; kv_fmt (may be NULL) is printf-formatted text of
 * key=value pairs appended after it. A value with spaces is quoted ("...",
 * with \" and \\ inside); a key without '=' is a flag (true in JSON). */
void wharf_log(wharf_log_level level, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define wharf_log_info(msg, ...)  wharf_log(WHARF_LOG_INFO, msg, __VA_ARGS__)
#define wharf_log_warn(msg, ...)  wharf_log(WHARF_LOG_WARN, msg, __VA_ARGS__)
#define wharf_log_error(msg, ...) wharf_log(WHARF_LOG_ERROR, msg, __VA_ARGS__)
#define wharf_log_debug(msg, ...) wharf_log(WHARF_LOG_DEBUG, msg, __VA_ARGS__)

/* For tests: replace the wall clock of the timestamps and the monotonic
 * clock of the repeat window (both in nanoseconds); NULL restores the
 * system's. */
typedef int64_t (*wharf_log_clock_fn)(void);
void wharf_log_set_clocks(wharf_log_clock_fn wall_ns, wharf_log_clock_fn mono_ns);

#endif
