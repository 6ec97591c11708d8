/* journald.c - the `journald` input: the systemd journal through sd-journal.
 *
 * The journal wakes wharf up through sd_journal_get_fd() (inotify on the
 * journal directories) watched by a uv_poll, and sd_journal_process() tells
 * whether entries were appended or files came and went (rotation, vacuuming:
 * sd-journal then re-reads its file list and reading goes on from the same
 * place). A read pass reads a bounded number of entries so other inputs and
 * the outputs get the loop in between.
 *
 * The position is the journal cursor of the last entry emitted, committed
 * with the events (wharf/positions.h), so a restart neither skips nor
 * repeats entries. While Docker's split messages are being joined the
 * position stays at the entry holding the oldest first part, marked
 * `replay`: a restart reads that entry again rather than lose the parts
 * already read; entries after it that were emitted meanwhile are then sent
 * again (the documented bound). A saved cursor the journal no longer has
 * (vacuumed) resumes at the oldest entry, with a warning that entries in
 * between are lost. */
#include "wharf/journald.h"

#include "wharf/alloc.h"
#include "wharf/input.h"
#include "wharf/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#define JOURNALD_PASS_ENTRIES    20000
#define JOURNALD_RETRY_MS        100
#define JOURNALD_MAX_FIELD_LEN   64 /* journal field names are at most 64 bytes */
#define JOURNALD_PARTIAL_WAIT_NS INT64_C(5000000000)

typedef struct journald_opts {
    char *directory;
    wharf_strv_t units;
    wharf_strv_t match;
    int read_from; /* 0 beginning, 1 end */
    uint64_t max_line_bytes;
    char *docker_root;
} journald_opts_t;

static const char *const read_from_choices[] = {"beginning", "end", NULL};

static const wharf_conf_key_t journald_keys[] = {
    {.name = "directory", .kind = WHARF_CK_STR, .offset = offsetof(journald_opts_t, directory)},
    {.name = "units", .kind = WHARF_CK_STR_LIST, .offset = offsetof(journald_opts_t, units)},
    {.name = "match", .kind = WHARF_CK_STR_LIST, .offset = offsetof(journald_opts_t, match)},
    {.name = "read_from",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(journald_opts_t, read_from),
     .choices = read_from_choices},
    {.name = "max_line_bytes",
     .kind = WHARF_CK_SIZE,
     .offset = offsetof(journald_opts_t, max_line_bytes),
     .min = 1,
     .max = INT32_MAX},
    {.name = "docker_root", .kind = WHARF_CK_STR, .offset = offsetof(journald_opts_t, docker_root)},
    {.name = NULL},
};

static void journald_opts_init(void *p)
{
    journald_opts_t *o = p;
    o->read_from = 1;
    o->max_line_bytes = 1u << 20;
    o->docker_root = wharf_xstrdup("/var/lib/docker/containers");
}

/* A match term is FIELD=value, FIELD in the journal's own alphabet. */
static int journald_match_valid(const char *term)
{
    const char *eq = strchr(term, '=');
    if (eq == NULL || eq == term || eq - term > JOURNALD_MAX_FIELD_LEN ||
        (term[0] >= '0' && term[0] <= '9'))
        return 0;
    for (const char *c = term; c < eq; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return 0;
    return 1;
}

static void journald_check(const wharf_conf_section_t *sec, wharf_conf_report_fn report, void *ctx)
{
    const journald_opts_t *o = sec->opts;
    char msg[512];
    for (size_t i = 0; i < o->match.n; i++)
        if (!journald_match_valid(o->match.v[i])) {
            snprintf(msg, sizeof(msg),
                     "input '%s': match: \"%.200s\" is not FIELD=value (FIELD in upper-case "
                     "letters, digits and '_', e.g. SYSLOG_IDENTIFIER=sudo)",
                     sec->id, o->match.v[i]);
            report(ctx, sec->line, msg);
        }
    for (size_t i = 0; i < o->units.n; i++)
        if (o->units.v[i][0] == '\0' || strchr(o->units.v[i], '=') != NULL) {
            snprintf(msg, sizeof(msg), "input '%s': units: \"%.200s\" is not a unit name", sec->id,
                     o->units.v[i]);
            report(ctx, sec->line, msg);
        }
}

typedef struct journald_input {
    wharf_input_t base;
    const journald_opts_t *opts;
    uv_loop_t *loop;
    wharf_pipeline_t *pipeline;
    sd_journal *sd;
    journald_mapper_t *mapper;
    journald_entry_t entry;
    wharf_buf_t values;  /* the entry's values, copied out of the journal */
    char *cursor;        /* of the last entry read */
    char *hold_cursor;   /* of the entry with the oldest part being joined */
    int replay_current;  /* read the current entry again before moving on */
    int read_error;      /* a read error was logged (once per episode) */
    uint64_t bytes;      /* of every field of the entries read */
    uint64_t unreadable; /* entries skipped because they could not be read */
    uv_poll_t poll;
    uv_timer_t timer;
    uv_idle_t again; /* entries left: the next pass at the next turn of the loop */
    int handles_started;
} journald_input_t;

/* ---- reading ---------------------------------------------------------- */

static void journald_save_cursor(journald_input_t *j, char **slot)
{
    char *c = NULL;
    int rc = sd_journal_get_cursor(j->sd, &c);
    if (rc < 0) {
        wharf_log_warn("cannot get the journal cursor; a restart may send entries again",
                       "input=%s error=\"%s\"", j->base.id, wharf_strerror(rc));
        return;
    }
    free(*slot);
    *slot = c;
}

/* Copies the mapped fields of the current entry into j->entry. */
static int journald_entry_load(journald_input_t *j)
{
    journald_entry_t *e = &j->entry;
    size_t off[JOURNALD_F__COUNT] = {0};
    memset(e, 0, sizeof(*e));
    j->values.len = 0;
    uint64_t usec = 0;
    int rc = sd_journal_get_realtime_usec(j->sd, &usec);
    if (rc < 0)
        return rc;
    e->realtime_us = (int64_t)usec;
    const void *data;
    size_t len;
    SD_JOURNAL_FOREACH_DATA(j->sd, data, len)
    {
        j->bytes += len;
        const char *d = data, *eq = memchr(d, '=', len < 65 ? len : 65);
        int f = eq != NULL && eq > d ? journald_field_lookup(d, (size_t)(eq - d)) : -1;
        if (f < 0 || e->f[f].ptr != NULL)
            continue;
        size_t vlen = len - (size_t)(eq + 1 - d);
        if (vlen > j->opts->max_line_bytes) {
            vlen = j->opts->max_line_bytes;
            e->truncated = 1;
        }
        off[f] = j->values.len;
        e->f[f] = (wharf_str_t){"", vlen}; /* resolved below: appends may move the buffer */
        wharf_buf_append(&j->values, eq + 1, vlen);
    }
    for (int f = 0; f < JOURNALD_F__COUNT; f++)
        if (e->f[f].ptr != NULL)
            e->f[f].ptr = j->values.data + off[f];
    return 0;
}

static void journald_entry_read(journald_input_t *j)
{
    int rc = journald_entry_load(j);
    if (rc < 0) {
        wharf_log_warn("skipping a journal entry that cannot be read", "input=%s error=\"%s\"",
                       j->base.id, wharf_strerror(rc));
        j->unreadable++;
        return;
    }
    size_t joining = journald_mapper_joining(j->mapper);
    rc = journald_mapper_entry(j->mapper, &j->entry);
    if (rc < 0)
        wharf_log_error("cannot emit a journal entry", "input=%s error=\"%s\"", j->base.id,
                        wharf_strerror(rc));
    size_t now_joining = journald_mapper_joining(j->mapper);
    if (joining == 0 && now_joining > 0)
        journald_save_cursor(j, &j->hold_cursor);
    else if (now_joining == 0 && j->hold_cursor != NULL) {
        free(j->hold_cursor);
        j->hold_cursor = NULL;
    }
}

static int journald_next(journald_input_t *j)
{
    if (j->replay_current) {
        j->replay_current = 0;
        return 1;
    }
    int rc = sd_journal_next(j->sd);
    if (rc < 0 && !j->read_error) {
        wharf_log_error("cannot read the journal; will retry", "input=%s error=\"%s\"", j->base.id,
                        wharf_strerror(rc));
        j->read_error = 1;
    } else if (rc >= 0) {
        j->read_error = 0;
    }
    return rc;
}

/* Reads up to max entries. Returns 1 when it stopped with entries left. */
static int journald_read(journald_input_t *j, uint64_t max)
{
    uint64_t n = 0;
    int more = 0, unsaved = 0;
    for (;;) {
        if (wharf_pipeline_blocked(j->pipeline) && wharf_pipeline_full(j->pipeline))
            break; /* the buffer is full: what is not read stays in the journal */
        if (n >= max) {
            more = 1;
            break;
        }
        if (journald_next(j) <= 0)
            break;
        journald_entry_read(j);
        n++;
        unsaved = 1;
        if (wharf_pipeline_full(j->pipeline) && !wharf_pipeline_blocked(j->pipeline)) {
            journald_save_cursor(j, &j->cursor);
            unsaved = 0;
            wharf_pipeline_commit(j->pipeline);
        }
    }
    /* sd_journal_next() at the end leaves the current entry where it was. */
    if (unsaved)
        journald_save_cursor(j, &j->cursor);
    return more;
}

/* ---- where to start ------------------------------------------------------- */

static void journald_seek_start(journald_input_t *j, int read_from_end)
{
    if (!read_from_end) {
        sd_journal_seek_head(j->sd);
        return;
    }
    /* The tail itself is no entry: step back onto the last one, so that
     * reading goes on after it and the cursor names it. */
    sd_journal_seek_tail(j->sd);
    if (sd_journal_previous(j->sd) > 0)
        journald_save_cursor(j, &j->cursor);
    else
        sd_journal_seek_head(j->sd); /* empty: everything that comes is new */
}

/* Back to the saved cursor. When its entry is gone (vacuumed, or its file
 * deleted), sd-journal still seeks to where it stood, so reading goes on
 * with the first entry after that place: the oldest one after a plain
 * vacuum, and no re-read of entries in other files that were already sent. */
static void journald_seek_cursor(journald_input_t *j, const wharf_cursor_position_t *pos)
{
    int rc = sd_journal_seek_cursor(j->sd, pos->cursor);
    if (rc < 0) {
        wharf_log_warn("the saved journal cursor is not valid; reading the journal from its "
                       "oldest entry",
                       "input=%s cursor=\"%s\" error=\"%s\"", j->base.id, pos->cursor,
                       wharf_strerror(rc));
        sd_journal_seek_head(j->sd);
        return;
    }
    j->cursor = strdup(pos->cursor);
    rc = sd_journal_next(j->sd);
    if (rc > 0 && sd_journal_test_cursor(j->sd, pos->cursor) > 0) {
        j->replay_current = pos->replay;
        return;
    }
    wharf_log_warn("the saved journal cursor's entry is no longer in the journal (vacuumed "
                   "or its file deleted while wharf was stopped); continuing with the first "
                   "entry after it: entries removed with it that were not read yet are lost",
                   "input=%s cursor=\"%s\"", j->base.id, pos->cursor);
    /* On an entry after the cursor's place: read it next. At the end
     * (nothing after that place yet), new entries will come after it. */
    j->replay_current = rc > 0;
}

static void journald_position(journald_input_t *j, const wharf_positions_t *positions)
{
    const wharf_cursor_position_t *pos = wharf_positions_find_cursor(positions, j->base.id);
    if (pos != NULL)
        journald_seek_cursor(j, pos);
    else /* read_from applies on the first start only */
        journald_seek_start(j, !wharf_positions_has_input(positions, j->base.id) &&
                                   j->opts->read_from == 1);
}

/* ---- opening ---------------------------------------------------------- */

static int journald_add_match(journald_input_t *j, const char *term)
{
    int rc = sd_journal_add_match(j->sd, term, 0);
    if (rc < 0) {
        wharf_log_error("the journal refused a match term", "input=%s match=\"%s\" error=\"%s\"",
                        j->base.id, term, wharf_strerror(rc));
        return rc;
    }
    return sd_journal_add_disjunction(j->sd);
}

/* units and match terms, all OR-ed. */
static int journald_add_matches(journald_input_t *j)
{
    char term[512];
    for (size_t i = 0; i < j->opts->units.n; i++) {
        const char *u = j->opts->units.v[i];
        int n = snprintf(term, sizeof(term), "_SYSTEMD_UNIT=%s%s", u,
                         strchr(u, '.') != NULL ? "" : ".service");
        if (n < 0 || (size_t)n >= sizeof(term))
            return -ENAMETOOLONG;
        int rc = journald_add_match(j, term);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < j->opts->match.n; i++) {
        int rc = journald_add_match(j, j->opts->match.v[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int journald_open(journald_input_t *j)
{
    const char *dir = j->opts->directory;
    int rc = dir != NULL ? sd_journal_open_directory(&j->sd, dir, 0)
                         : sd_journal_open(&j->sd, SD_JOURNAL_LOCAL_ONLY);
    if (rc < 0) {
        wharf_log_error("cannot open the journal; check the directory and that wharf may read "
                        "it (group systemd-journal or adm)",
                        "input=%s directory=%s error=\"%s\"", j->base.id,
                        dir != NULL ? dir : "(system journal)", wharf_strerror(rc));
        return rc;
    }
    /* Fields over max_line_bytes are cut anyway: decompress no more. */
    sd_journal_set_data_threshold(j->sd,
                                  (size_t)j->opts->max_line_bytes + JOURNALD_MAX_FIELD_LEN + 1);
    return journald_add_matches(j);
}

/* ---- live mode -------------------------------------------------------- */

static void journald_pass(journald_input_t *j);

/* sd_journal_process first: sd-journal times its next look at journals on
 * a network file system from the last call, so without it the timeout
 * below would stay in the past and the timer would fire in a loop. */
static void journald_on_timer(uv_timer_t *h)
{
    journald_input_t *j = h->data;
    sd_journal_process(j->sd);
    journald_pass(j);
}

/* The pass after one that stopped with entries left, once the loop has
 * polled for I/O (a zero timer would run again at once: see tail.c). */
static void journald_on_again(uv_idle_t *h)
{
    uv_idle_stop(h);
    journald_pass(h->data);
}

static void journald_schedule(journald_input_t *j, uint64_t ms)
{
    uv_timer_start(&j->timer, journald_on_timer, ms, 0);
}

/* sd-journal may ask to be called back after a while (journals on file
 * systems without inotify); otherwise the poll handle is enough. */
static void journald_schedule_timeout(journald_input_t *j)
{
    uint64_t deadline_us = 0;
    if (sd_journal_get_timeout(j->sd, &deadline_us) <= 0 || deadline_us == UINT64_MAX)
        return;
    uint64_t now_us = uv_hrtime() / 1000;
    /* at least 1 ms: a zero timer started here would run again before the
     * loop polls (see tail.c) */
    journald_schedule(j, deadline_us > now_us ? (deadline_us - now_us + 999) / 1000 : 1);
}

static void journald_flush_stale(journald_input_t *j)
{
    journald_mapper_flush_stale(j->mapper, wharf_pipeline_pass_ns(j->pipeline),
                                JOURNALD_PARTIAL_WAIT_NS);
    if (journald_mapper_joining(j->mapper) == 0 && j->hold_cursor != NULL) {
        free(j->hold_cursor);
        j->hold_cursor = NULL;
    }
}

static void journald_pass(journald_input_t *j)
{
    if (wharf_pipeline_blocked(j->pipeline) && wharf_pipeline_commit(j->pipeline) < 0) {
        journald_schedule(j, JOURNALD_RETRY_MS);
        return;
    }
    wharf_pipeline_begin_pass(j->pipeline);
    int more = journald_read(j, JOURNALD_PASS_ENTRIES);
    if (journald_mapper_joining(j->mapper) > 0)
        journald_flush_stale(j);
    wharf_pipeline_commit(j->pipeline);
    if (more)
        uv_idle_start(&j->again, journald_on_again);
    else if (wharf_pipeline_blocked(j->pipeline))
        journald_schedule(j, JOURNALD_RETRY_MS);
    else if (journald_mapper_joining(j->mapper) > 0)
        journald_schedule(j, JOURNALD_PARTIAL_WAIT_NS / 1000000);
    else
        journald_schedule_timeout(j);
}

static void journald_on_poll(uv_poll_t *h, int status, int events)
{
    journald_input_t *j = h->data;
    (void)events;
    if (status < 0) {
        wharf_log_error("journal wake-ups failed; reading every second instead",
                        "input=%s error=\"%s\"", j->base.id, uv_strerror(status));
        uv_poll_stop(h);
        uv_timer_start(&j->timer, journald_on_timer, 1000, 1000);
        return;
    }
    if (sd_journal_process(j->sd) != SD_JOURNAL_NOP)
        journald_pass(j);
}

static int journald_start(wharf_input_t *in)
{
    journald_input_t *j = (journald_input_t *)in;
    int fd = sd_journal_get_fd(j->sd);
    if (fd < 0) {
        wharf_log_error("cannot watch the journal for new entries", "input=%s error=\"%s\"", in->id,
                        wharf_strerror(fd));
        return fd;
    }
    uv_timer_init(j->loop, &j->timer);
    uv_idle_init(j->loop, &j->again);
    j->timer.data = j->again.data = j;
    int rc = uv_poll_init(j->loop, &j->poll, fd);
    if (rc < 0) {
        uv_close((uv_handle_t *)&j->timer, NULL);
        uv_close((uv_handle_t *)&j->again, NULL);
        return rc;
    }
    j->poll.data = j;
    j->handles_started = 1;
    rc = uv_poll_start(&j->poll, UV_READABLE, journald_on_poll);
    if (rc < 0)
        return rc;
    journald_pass(j);
    return 0;
}

static int journald_read_all(wharf_input_t *in)
{
    journald_input_t *j = (journald_input_t *)in;
    wharf_pipeline_begin_pass(j->pipeline);
    journald_read(j, UINT64_MAX);
    return wharf_pipeline_commit(j->pipeline);
}

static void journald_stop(wharf_input_t *in)
{
    journald_input_t *j = (journald_input_t *)in;
    if (!j->handles_started)
        return;
    uv_close((uv_handle_t *)&j->poll, NULL);
    uv_close((uv_handle_t *)&j->timer, NULL);
    uv_close((uv_handle_t *)&j->again, NULL);
    j->handles_started = 0;
}

static int journald_positions(wharf_input_t *in, wharf_positions_t *out)
{
    journald_input_t *j = (journald_input_t *)in;
    int rc = wharf_positions_add_input(out, in->id);
    if (rc == 0 && j->hold_cursor != NULL)
        return wharf_positions_add_cursor(out, in->id, j->hold_cursor, 1);
    if (rc == 0 && j->cursor != NULL)
        return wharf_positions_add_cursor(out, in->id, j->cursor, j->replay_current);
    return rc;
}

static void journald_destroy(wharf_input_t *in)
{
    journald_input_t *j = (journald_input_t *)in;
    if (j->sd != NULL)
        sd_journal_close(j->sd);
    journald_mapper_free(j->mapper);
    wharf_buf_free(&j->values);
    free(j->cursor);
    free(j->hold_cursor);
    free(j);
}

/* No file metrics: sd-journal does not say which files it holds open. */
static void journald_stats(wharf_input_t *in, wharf_input_stats_t *out)
{
    const journald_input_t *j = (const journald_input_t *)in;
    memset(out, 0, sizeof(*out));
    out->events = journald_mapper_events(j->mapper);
    out->bytes = j->bytes;
    out->parse_errors = j->unreadable;
}

static const wharf_input_ops_t journald_ops = {
    journald_start,     journald_read_all, journald_stop,
    journald_positions, journald_destroy,  journald_stats,
};

static int journald_create(const wharf_input_env_t *env, const wharf_conf_section_t *sec,
                           wharf_input_t **out)
{
    const journald_opts_t *o = sec->opts;
    journald_input_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -ENOMEM;
    j->base.ops = &journald_ops;
    j->base.id = sec->id;
    j->opts = o;
    j->loop = env->loop;
    j->pipeline = env->pipeline;
    wharf_buf_init(&j->values);
    const char *docker_root = o->docker_root != NULL && *o->docker_root ? o->docker_root : NULL;
    int rc = journald_mapper_new(env->pipeline, docker_root, o->max_line_bytes, &j->mapper);
    if (rc == 0)
        rc = journald_open(j);
    if (rc < 0) {
        journald_destroy(&j->base);
        return rc;
    }
    journald_position(j, env->positions);
    *out = &j->base;
    return 0;
}

const wharf_input_type_t wharf_input_journald = {
    {"journald", journald_keys, sizeof(journald_opts_t), journald_opts_init, journald_check},
    journald_create,
};
