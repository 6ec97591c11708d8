/* multiline.h - which lines of a container's stream belong to one event.
 *
 * Applications write one event over several lines: a Java or Python stack
 * trace, a message with a list under it. Shipped line by line, a trace
 * becomes dozens of events a SIEM cannot tie together. An input's
 * `multiline` section names the lines that begin an event (`match: start`,
 * the pattern matches them) or the lines that continue one (`match:
 * continue`); a continuation line joins the event before it (with "\n"),
 * or stands alone when there is none. The joining itself, its bounds and
 * its timeout are the container inputs' (wharf/container_log.h): this
 * module holds the compiled rule and says which containers it applies to. */
#ifndef WHARF_MULTILINE_H
#define WHARF_MULTILINE_H

#include "wharf/config.h"

#include <stddef.h>
#include <stdint.h>

typedef enum wharf_multiline_match {
    WHARF_MULTILINE_START,    /* the pattern matches the first line of an event */
    WHARF_MULTILINE_CONTINUE, /* the pattern matches the lines after the first */
} wharf_multiline_match;

/* An input's `multiline:` section. */
typedef struct wharf_conf_multiline {
    char *pattern;           /* PCRE2; NULL: no multiline section */
    int match;               /* wharf_multiline_match */
    wharf_strv_t containers; /* globs on container.name; with images empty: every container */
    wharf_strv_t images;     /* globs on container.image.name */
    int64_t max_lines;       /* an event holds at most this many lines */
    int64_t timeout_ms;      /* an event whose next line did not come is emitted after this */
} wharf_conf_multiline_t;

/* The keys of `multiline:` and their defaults, for an input's key table. */
extern const wharf_conf_key_t wharf_multiline_conf_keys[];
void wharf_multiline_conf_init(void *conf);

typedef struct wharf_multiline wharf_multiline_t;

/* Compiles conf; *out is NULL when conf has no pattern. Returns 0 or -ENOMEM
 * (the pattern was checked when the config loaded). */
int wharf_multiline_new(const wharf_conf_multiline_t *conf, wharf_multiline_t **out);
void wharf_multiline_free(wharf_multiline_t *ml);
/* 1 when the rule applies to a container of this name and image (either
 * may be NULL: not known). */
int wharf_multiline_applies(const wharf_multiline_t *ml, const char *name, const char *image);
/* 1 when the line continues the event before it. */
int wharf_multiline_continues(wharf_multiline_t *ml, const char *line, size_t len);
uint32_t wharf_multiline_max_lines(const wharf_multiline_t *ml);
int64_t wharf_multiline_timeout_ns(const wharf_multiline_t *ml);

#endif
