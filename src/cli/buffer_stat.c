/* buffer_stat.c - `wharf buffer stat`: what the disk buffer holds and how far
 * behind each output is, for a running or a stopped wharf.
 *
 * The buffer is opened read-only: nothing is cut or rewritten, so it is safe
 * beside a running wharf (cursors are as of its last save, at most 250 ms
 * old). */
#include "cli.h"
#include "wharf/agent.h"
#include "wharf/buf.h"
#include "wharf/buffer.h"
#include "wharf/config.h"
#include "wharf/json.h"
#include "wharf/timefmt.h"
#include "wharf/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct stat_opts {
    int json;
    int records;
} stat_opts_t;

static void stat_u64(wharf_buf_t *out, const char *key, uint64_t v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), "\"%s\":%" PRIu64, key, v);
    wharf_buf_append(out, tmp, (size_t)n);
}

static void stat_key_str(wharf_buf_t *out, const char *key, const char *v)
{
    wharf_buf_putc(out, '"');
    wharf_buf_puts(out, key);
    wharf_buf_lit(out, "\":");
    wharf_json_write_string(out, v, strlen(v));
}

static double stat_ratio(const wharf_buffer_stats_t *st)
{
    return st->stored_bytes ? (double)st->raw_bytes / (double)st->stored_bytes : 0.0;
}

static const char *stat_segment_name(uint64_t seq, char *buf, size_t n)
{
    snprintf(buf, n, "%016" PRIu64 WHARF_WAL_SUFFIX, seq);
    return buf;
}

/* ---- --records --------------------------------------------------------------- */

typedef struct stat_walk {
    wharf_buf_t *out;
    int json;
    uint64_t seq;
    int any;
} stat_walk_t;

static void stat_walk_record(void *arg, uint64_t off, const wharf_wal_record_t *r,
                             const wharf_buf_t *payload)
{
    stat_walk_t *w = arg;
    const char *type = r->type == WHARF_WAL_EVENTS ? "events" : "checkpoint";
    uint64_t bytes = WHARF_WAL_RECORD_HEADER + (uint64_t)r->length;
    uint64_t first = r->type == WHARF_WAL_EVENTS ? r->first : 0;
    (void)payload;
    if (!w->json) {
        printf("  %-8" PRIu64 " %-12" PRIu64 " %-11s %-10" PRIu64 " %-12" PRIu64 " %" PRIu32 "\n",
               w->seq, off, type, bytes, first, r->events);
        return;
    }
    if (w->any)
        wharf_buf_putc(w->out, ',');
    w->any = 1;
    wharf_buf_putc(w->out, '{');
    stat_u64(w->out, "segment", w->seq);
    wharf_buf_putc(w->out, ',');
    stat_u64(w->out, "offset", off);
    wharf_buf_putc(w->out, ',');
    stat_key_str(w->out, "type", type);
    wharf_buf_putc(w->out, ',');
    stat_u64(w->out, "bytes", bytes);
    wharf_buf_putc(w->out, ',');
    stat_u64(w->out, "first_event", first);
    wharf_buf_putc(w->out, ',');
    stat_u64(w->out, "events", r->events);
    wharf_buf_putc(w->out, '}');
}

static void stat_walk_damage(void *arg, uint64_t off, uint64_t len, int torn)
{
    stat_walk_t *w = arg;
    if (!w->json)
        printf("  %-8" PRIu64 " %-12" PRIu64 " %-11s %" PRIu64 "\n", w->seq, off,
               torn ? "torn" : "corrupt", len);
}

static int stat_walk_segment(const wharf_buffer_t *b, stat_walk_t *w, uint64_t seq)
{
    char path[PATH_MAX];
    int rc = wharf_wal_segment_path(wharf_buffer_dir(b), seq, path, sizeof(path));
    int fd = rc < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = rc < 0 ? rc : -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    wharf_buf_t payload, scratch;
    wharf_buf_init(&payload);
    wharf_buf_init(&scratch);
    wharf_wal_visitor_t v = {w, stat_walk_record, stat_walk_damage};
    w->seq = seq;
    rc = wharf_wal_scan(fd, (uint64_t)st.st_size, &v, &payload, &scratch);
    wharf_buf_free(&payload);
    wharf_buf_free(&scratch);
    close(fd);
    return rc;
}

static int stat_records(const wharf_buffer_t *b, wharf_buf_t *out, int json)
{
    stat_walk_t w = {out, json, 0, 0};
    if (!json)
        printf("\nrecords:\n  %-8s %-12s %-11s %-10s %-12s %s\n", "segment", "offset", "type",
               "bytes", "first_event", "events");
    for (size_t i = 0; i < wharf_buffer_n_segments(b); i++) {
        wharf_buffer_segment_info_t s;
        wharf_buffer_segment(b, i, &s);
        int rc = stat_walk_segment(b, &w, s.seq);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- text --------------------------------------------------------------------- */

static int stat_configured(const wharf_config_t *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_outputs; i++)
        if (strcmp(cfg->outputs[i].id, id) == 0)
            return 1;
    return 0;
}

static int stat_saved(const wharf_buffer_t *b, const char *id)
{
    for (size_t i = 0; i < wharf_buffer_n_saved_cursors(b); i++) {
        wharf_buffer_cursor_info_t c;
        wharf_buffer_saved_cursor(b, i, &c);
        if (strcmp(c.id, id) == 0)
            return 1;
    }
    return 0;
}

/* Under an output's row: down since when and why, what it had to skip. */
static void stat_print_health(const wharf_buffer_health_t *h)
{
    if (h->down_since_ms > 0) {
        char when[WHARF_TIME_TEXT_LEN + 1];
        wharf_time_format((int64_t)h->down_since_ms * 1000000, when);
        when[WHARF_TIME_TEXT_LEN] = '\0';
        printf("  %-20s down since %s: %s\n", "", when, h->error);
    }
    if (h->undeliverable > 0)
        printf("  %-20s %" PRIu64 " events could not be delivered and were skipped\n", "",
               h->undeliverable);
}

static void stat_print_text(const wharf_config_t *cfg, const wharf_buffer_t *b)
{
    wharf_buffer_stats_t st;
    wharf_buffer_stats(b, &st);
    char name[64];
    printf("buffer %s\n\n  %-22s %-12s %-9s %-10s %-12s %s\n", wharf_buffer_dir(b), "segment",
           "bytes", "records", "events", "first_event", "corrupt");
    for (size_t i = 0; i < wharf_buffer_n_segments(b); i++) {
        wharf_buffer_segment_info_t s;
        wharf_buffer_segment(b, i, &s);
        printf("  %-22s %-12" PRIu64 " %-9" PRIu64 " %-10" PRIu64 " %-12" PRIu64 " %" PRIu64 "\n",
               stat_segment_name(s.seq, name, sizeof(name)), s.bytes, s.records, s.events,
               s.first_event, s.corrupt_records);
    }
    printf("\ntotal: %" PRIu64 " segments, %" PRIu64 " bytes, %" PRIu64
           " events, compression %.2fx (%" PRIu64 " bytes of JSON in %" PRIu64
           "), next event %" PRIu64 "\n",
           st.segments, st.bytes, st.events, stat_ratio(&st), st.raw_bytes, st.stored_bytes,
           st.next_event);
    printf("\n  %-20s %-8s %-12s %-12s %-12s %-12s %s\n", "output", "segment", "offset", "event",
           "lag_events", "lag_bytes", "dropped");
    for (size_t i = 0; i < wharf_buffer_n_saved_cursors(b); i++) {
        wharf_buffer_cursor_info_t c;
        wharf_buffer_saved_cursor(b, i, &c);
        printf("  %-20s %-8" PRIu64 " %-12" PRIu64 " %-12" PRIu64 " %-12" PRIu64 " %-12" PRIu64
               " %" PRIu64 "%s\n",
               c.id, c.pos.segment, c.pos.offset, c.pos.event, c.lag_events, c.lag_bytes,
               c.dropped_events,
               stat_configured(cfg, c.id) ? "" : "  (not configured: released at next start)");
        stat_print_health(&c.health);
    }
    for (size_t i = 0; i < cfg->n_outputs; i++)
        if (!stat_saved(b, cfg->outputs[i].id))
            printf("  %-20s new: starts at the buffer's end at the next start\n",
                   cfg->outputs[i].id);
}

/* ---- JSON --------------------------------------------------------------------- */

static void stat_json_segments(const wharf_buffer_t *b, wharf_buf_t *out)
{
    char name[64];
    wharf_buf_lit(out, "\"segments\":[");
    for (size_t i = 0; i < wharf_buffer_n_segments(b); i++) {
        wharf_buffer_segment_info_t s;
        wharf_buffer_segment(b, i, &s);
        if (i)
            wharf_buf_putc(out, ',');
        wharf_buf_putc(out, '{');
        stat_key_str(out, "file", stat_segment_name(s.seq, name, sizeof(name)));
        const char *keys[] = {"seq",    "bytes",       "records",
                              "events", "first_event", "corrupt_records"};
        uint64_t vals[] = {s.seq, s.bytes, s.records, s.events, s.first_event, s.corrupt_records};
        for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
            wharf_buf_putc(out, ',');
            stat_u64(out, keys[k], vals[k]);
        }
        wharf_buf_putc(out, '}');
    }
    wharf_buf_putc(out, ']');
}

static void stat_json_cursor(wharf_buf_t *out, const wharf_buffer_cursor_info_t *c, int configured)
{
    wharf_buf_putc(out, '{');
    stat_key_str(out, "id", c->id);
    const char *keys[] = {"segment",    "offset",    "event",
                          "lag_events", "lag_bytes", "dropped_events"};
    uint64_t vals[] = {c->pos.segment, c->pos.offset, c->pos.event,
                       c->lag_events,  c->lag_bytes,  c->dropped_events};
    for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        wharf_buf_putc(out, ',');
        stat_u64(out, keys[k], vals[k]);
    }
    wharf_buf_putc(out, ',');
    stat_u64(out, "down_since_ms", c->health.down_since_ms);
    wharf_buf_putc(out, ',');
    stat_u64(out, "undeliverable", c->health.undeliverable);
    wharf_buf_putc(out, ',');
    stat_key_str(out, "error", c->health.error);
    if (configured)
        wharf_buf_lit(out, ",\"configured\":true}");
    else
        wharf_buf_lit(out, ",\"configured\":false}");
}

static void stat_json_outputs(const wharf_config_t *cfg, const wharf_buffer_t *b, wharf_buf_t *out)
{
    int any = 0;
    wharf_buf_lit(out, "\"outputs\":[");
    for (size_t i = 0; i < wharf_buffer_n_saved_cursors(b); i++) {
        wharf_buffer_cursor_info_t c;
        wharf_buffer_saved_cursor(b, i, &c);
        if (any++)
            wharf_buf_putc(out, ',');
        stat_json_cursor(out, &c, stat_configured(cfg, c.id));
    }
    for (size_t i = 0; i < cfg->n_outputs; i++) {
        if (stat_saved(b, cfg->outputs[i].id))
            continue;
        if (any++)
            wharf_buf_putc(out, ',');
        wharf_buf_putc(out, '{');
        stat_key_str(out, "id", cfg->outputs[i].id);
        wharf_buf_lit(out, ",\"new\":true,\"configured\":true}");
    }
    wharf_buf_putc(out, ']');
}

static int stat_print_json(const wharf_config_t *cfg, const wharf_buffer_t *b, int records)
{
    wharf_buffer_stats_t st;
    wharf_buffer_stats(b, &st);
    wharf_buf_t out;
    wharf_buf_init(&out);
    wharf_buf_putc(&out, '{');
    stat_key_str(&out, "dir", wharf_buffer_dir(b));
    wharf_buf_putc(&out, ',');
    stat_json_segments(b, &out);
    const char *keys[] = {"total_bytes", "events",          "raw_bytes",     "stored_bytes",
                          "next_event",  "corrupt_records", "corrupt_bytes", "torn_bytes"};
    uint64_t vals[] = {st.bytes,      st.events,          st.raw_bytes,     st.stored_bytes,
                       st.next_event, st.corrupt_records, st.corrupt_bytes, st.torn_bytes};
    for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        wharf_buf_putc(&out, ',');
        stat_u64(&out, keys[k], vals[k]);
    }
    char ratio[64];
    int n = snprintf(ratio, sizeof(ratio), ",\"compression_ratio\":%.3f,", stat_ratio(&st));
    wharf_buf_append(&out, ratio, (size_t)n);
    stat_json_outputs(cfg, b, &out);
    int rc = 0;
    if (records) {
        wharf_buf_lit(&out, ",\"records\":[");
        rc = stat_records(b, &out, 1);
        wharf_buf_putc(&out, ']');
    }
    wharf_buf_lit(&out, "}\n");
    if (rc == 0)
        fwrite(out.data, 1, out.len, stdout);
    wharf_buf_free(&out);
    return rc;
}

/* ---- command ------------------------------------------------------------------ */

static int stat_parse_args(int argc, char **argv, stat_opts_t *o)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            o->json = 1;
        else if (strcmp(argv[i], "--records") == 0)
            o->records = 1;
        else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            i++;
        else
            return -1;
    }
    return 0;
}

int wharf_cmd_buffer(int argc, char **argv)
{
    stat_opts_t o = {0, 0};
    if (argc < 2 || strcmp(argv[1], "stat") != 0 || stat_parse_args(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: wharf buffer stat -c FILE [--json] [--records]\n");
        return 2;
    }
    wharf_config_t *cfg = wharf_cli_load_config(argc, argv, "buffer stat");
    if (cfg == NULL)
        return 2;
    char dir[PATH_MAX];
    wharf_buffer_t *b = NULL;
    int rc = wharf_agent_buffer_dir(cfg, dir);
    struct stat st;
    if (rc == 0 && stat(dir, &st) < 0) {
        fprintf(stderr, "wharf buffer stat: no buffer at %s (has wharf run with this data_dir?)\n",
                dir);
        rc = -ENOENT;
    } else if (rc == 0) {
        rc = wharf_buffer_open(dir, &cfg->buffer, WHARF_BUFFER_READ_ONLY, &b);
    }
    if (rc == 0 && o.json) {
        rc = stat_print_json(cfg, b, o.records);
    } else if (rc == 0) {
        stat_print_text(cfg, b);
        if (o.records)
            rc = stat_records(b, NULL, 0);
    }
    if (rc < 0 && rc != -ENOENT)
        fprintf(stderr, "wharf buffer stat: cannot read %s: %s\n", dir, wharf_strerror(rc));
    wharf_buffer_close(b);
    wharf_config_free(cfg);
    return rc < 0 ? 1 : 0;
}
