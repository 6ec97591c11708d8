/* parser.h - parser files: message text to ECS fields, written by SIEM
 * engineers in YAML (README "Parsers" has the format).
 *
 * A parser says which events it is tried on (`when`), and has rules tried
 * in order on `message` (grok, regex, json, kv); the first rule that matches
 * adds its fields and its `set` fields. Events are routed to the few parsers
 * whose `when` matches through an index of exact values, so an event never
 * tries every parser. A rule that rewrites `message` (a syslog line whose
 * header it took apart) sends the event on to the parsers that now match;
 * every parser runs at most once per event, so chains end.
 *
 * Parsers run in the pipeline, single-threaded: apply() is not reentrant
 * (the PCRE2 match data is reused). */
#ifndef WHARF_PARSER_H
#define WHARF_PARSER_H

#include "wharf/config.h"
#include "wharf/event.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct wharf_parsers wharf_parsers_t;

/* Loads every parser file under paths (a directory's *.yaml and *.yml files
 * in name order, or a file). Returns 0, or WHARF_EINVAL_CONFIG with every
 * problem in errs as "FILE:LINE: message". */
int wharf_parsers_load(const char *const *paths, size_t n_paths, wharf_parsers_t **out,
                       wharf_conf_errors_t *errs);
void wharf_parsers_free(wharf_parsers_t *ps);
size_t wharf_parsers_count(const wharf_parsers_t *ps);
/* The backtracking a regex may do on one message before its rule gives up
 * on it: limit steps (PCRE2's match limit) plus 32 per byte of the message.
 * A regex with nested quantifiers may otherwise spend time exponential in
 * the length of a line made to defeat it (PCRE2's own default limit, 10
 * million steps, is some 20 ms of a core per line). A rule that gives up
 * counts as not matching: the next rules are tried, the event is tagged
 * parser_match_limit, the rule's gave_up count grows and a warning names
 * it. 0, or -ENOMEM. */
#define WHARF_PARSER_MATCH_LIMIT_DEFAULT 100000
int wharf_parsers_set_match_limit(wharf_parsers_t *ps, uint32_t limit);
/* The time a regex may take on one message, from when its tries could have
 * read a MiB of it (the clock is not read before). The match limit does not
 * bound a regex that is not anchored and scans: it reads to the message's
 * end from each position it is tried at, time in the square of the length.
 * One that runs out of time gives up as one that hits the match limit. */
#define WHARF_PARSER_TIME_LIMIT_DEFAULT_MS 100
void wharf_parsers_set_time_limit(wharf_parsers_t *ps, int64_t ms);
/* The zone (wharf/tz.h) of times without an offset that no field's or
 * file's `timezone` names, instead of UTC: the hosts' local zone where
 * their syslog writes local time. A time read in it also gives the event
 * event.timezone. Call once, after load. 0, or wharf_tz_load()'s error. */
int wharf_parsers_set_timezone(wharf_parsers_t *ps, const char *name);
/* Restricts routing to the parser named name (and what it chains to);
 * returns -ENOENT when there is none. */
int wharf_parsers_only(wharf_parsers_t *ps, const char *name);

/* Runs the matching parsers on e; strings they make live in e->arena.
 * Returns how many rules matched. */
int wharf_parsers_apply(wharf_parsers_t *ps, wharf_event_t *e);
/* 1 when the last wharf_parsers_apply() ended in a round whose parsers all
 * matched no rule: a chain that stopped short (syslog's header taken, the
 * sshd line behind it not), or a line no parser tried took. */
int wharf_parsers_last_missed(const wharf_parsers_t *ps);

/* What wharf_parsers_apply() does, step by step, for parser authors
 * (wharf parse --trace): the parsers each round tries, every rule each
 * one tries and how it ended, and for a round that tries no parser the
 * fields the `when` conditions read, with the values the event has. */
typedef enum wharf_parser_trace_kind {
    WHARF_TRACE_PARSER,   /* parser is tried */
    WHARF_TRACE_RULE,     /* rule of parser was tried: result */
    WHARF_TRACE_UNROUTED, /* no parser's when matched; one step per field read (path, value) */
    WHARF_TRACE_FIELD,    /* a matched rule's field whose text does not convert: not set
                             (path, value, why) */
} wharf_parser_trace_kind;
typedef enum wharf_parser_trace_result {
    WHARF_TRACE_MATCHED,
    WHARF_TRACE_NO_MATCH,
    WHARF_TRACE_NOT_STARTING, /* its regex cannot start with the message's first byte */
    WHARF_TRACE_GAVE_UP,      /* parser_match_limit or parser_time_limit */
} wharf_parser_trace_result;
typedef struct wharf_parser_trace {
    wharf_parser_trace_kind kind;
    int round; /* 1 for the event as it came, then one per rewrite of message */
    const char *parser, *file;
    const char *rule; /* and its line in file */
    int line;
    const char *message; /* PARSER: the message its rules read */
    size_t message_len;
    wharf_parser_trace_result result;
    int rewrote;       /* matched and set message: a next round follows */
    const char *path;  /* UNROUTED: a field when conditions read; FIELD: the field */
    const char *value; /* its value as text, or NULL when the event has none */
    size_t value_len;
    const char *why; /* FIELD: what the text is not ("is no IP address") */
} wharf_parser_trace_t;
typedef void (*wharf_parser_trace_fn)(void *arg, const wharf_parser_trace_t *t);
/* Calls fn for each step of every wharf_parsers_apply() from now on; NULL
 * stops. */
void wharf_parsers_trace(wharf_parsers_t *ps, wharf_parser_trace_fn fn, void *arg);

/* Empties e (and its arena) for a line to parse (wharf parse, coverage,
 * samples): its message a copy of text in the arena, where the inputs put
 * theirs (see arena.c on PCRE2's JIT and memcheck). 0, or -ENOMEM. */
int wharf_parsers_input_message(wharf_event_t *e, const char *text, size_t len);
/* Sets a field of an event to parse (wharf parse --field, samples): text,
 * and for container.labels.KEY a label (key dedotted). The strings must
 * outlive the event. 0, or -EINVAL for a path an event cannot take. */
int wharf_parsers_input_field(wharf_event_t *e, const char *path, size_t path_len,
                              const char *value, size_t len);

/* Runs every sample of every parser through the whole set; prints each
 * failure to out ("FILE:LINE: parser P, sample N: FIELD: expected X, got
 * Y") and each rule no sample matched, and counts them. */
typedef struct wharf_parsers_test_result {
    size_t passed;
    size_t failed;
    size_t untested; /* rules no sample matched */
} wharf_parsers_test_result_t;
void wharf_parsers_test(wharf_parsers_t *ps, FILE *out, wharf_parsers_test_result_t *r);

/* Per-rule and per-parser counts since load. */
typedef struct wharf_parser_stat {
    const char *parser;
    const char *rule; /* NULL: the parser's "no rule matched" count */
    uint64_t count;
    uint64_t gave_up; /* a rule's: messages its regex hit the match limit on */
} wharf_parser_stat_t;
typedef void (*wharf_parser_stat_fn)(void *arg, const wharf_parser_stat_t *s);
void wharf_parsers_stats(const wharf_parsers_t *ps, wharf_parser_stat_fn fn, void *arg);

#endif
