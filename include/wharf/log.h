/* log.h - wharf's own log: one logfmt line per message on stderr.
 *
 * Operators grep and ship this log too, so every line has the same shape:
 *   ts=2026-11-22T10:00:00.123Z level=warn msg="file vanished" path=/x
 * Callers pass the message and then key=value pairs already formatted. */
#ifndef WHARF_LOG_H
#define WHARF_LOG_H

typedef enum wharf_log_level {
    WHARF_LOG_DEBUG,
    WHARF_LOG_INFO,
    WHARF_LOG_WARN,
    WHARF_LOG_ERROR,
} wharf_log_level;

void wharf_log_set_level(wharf_log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int wharf_log_level_parse(const char *name);
/* msg is quoted for logfmt; kv_fmt (may be NULL) is printf-formatted text of
 * key=value pairs appended after it. */
void wharf_log(wharf_log_level level, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define wharf_log_info(msg, ...)  wharf_log(WHARF_LOG_INFO, msg, __VA_ARGS__)
#define wharf_log_warn(msg, ...)  wharf_log(WHARF_LOG_WARN, msg, __VA_ARGS__)
#define wharf_log_error(msg, ...) wharf_log(WHARF_LOG_ERROR, msg, __VA_ARGS__)
#define wharf_log_debug(msg, ...) wharf_log(WHARF_LOG_DEBUG, msg, __VA_ARGS__)

#endif
