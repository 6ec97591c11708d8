/* cursor.c - each output's place in the disk buffer (see wharf/buffer.h).
 *
 * A cursor hands its output one decompressed block at a time and moves only
 * when told the block was delivered (advance) and later when the output made
 * it durable (ack); only acked positions are saved to DIR/cursors.json and
 * hold segments. After a crash an output therefore re-sends at most what it
 * delivered since the last save: that is wharf's duplicate bound.
 *
 * cursors.json is small and human-readable:
 *   {"version":1,"outputs":[{"id":"siem","segment":3,"offset":4096,
 *                            "event":120000,"dropped":0,"down_since_ms":0,
 *                            "undeliverable":0,"error":""}]}
 * (the last three are optional: files from before they existed load.) */
#include "buffer_int.h"
#include "wharf/fsutil.h"
#include "wharf/json.h"
#include "wharf/json_tree.h"
#include "wharf/log.h"
#include "wharf/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CURSORS_FILE      "cursors.json"
#define CURSORS_MAX_BYTES (16u << 20)

/* ---- cursors.json ------------------------------------------------------------ */

static int cursors_path(const wharf_buffer_t *b, char *out)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", b->dir, CURSORS_FILE);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static void cursors_parse_health(yajl_val o, wharf_buffer_health_t *h)
{
    const char *k_error[] = {"error", NULL};
    const char *error = YAJL_GET_STRING(yajl_tree_get(o, k_error, yajl_t_string));
    if (wharf_json_tree_u64(o, "down_since_ms", &h->down_since_ms) < 0)
        h->down_since_ms = 0;
    if (wharf_json_tree_u64(o, "undeliverable", &h->undeliverable) < 0)
        h->undeliverable = 0;
    snprintf(h->error, sizeof(h->error), "%s", error != NULL ? error : "");
}

static int cursors_parse_one(wharf_buffer_t *b, yajl_val o)
{
    const char *k_id[] = {"id", NULL};
    const char *id = YAJL_GET_STRING(yajl_tree_get(o, k_id, yajl_t_string));
    buffer_saved_cursor_t c = {0};
    if (id == NULL || wharf_json_tree_u64(o, "segment", &c.pos.segment) ||
        wharf_json_tree_u64(o, "offset", &c.pos.offset) ||
        wharf_json_tree_u64(o, "event", &c.pos.event) ||
        wharf_json_tree_u64(o, "dropped", &c.dropped))
        return WHARF_EPARSE;
    cursors_parse_health(o, &c.health);
    buffer_saved_cursor_t *v = realloc(b->saved, (b->n_saved + 1) * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    b->saved = v;
    if ((c.id = strdup(id)) == NULL)
        return -ENOMEM;
    b->saved[b->n_saved++] = c;
    return 0;
}

static int cursors_parse(wharf_buffer_t *b, const char *text)
{
    char err[256];
    yajl_val root = yajl_tree_parse(text, err, sizeof(err));
    const char *k_outputs[] = {"outputs", NULL};
    yajl_val outputs = root ? yajl_tree_get(root, k_outputs, yajl_t_array) : NULL;
    int rc = outputs ? 0 : WHARF_EPARSE;
    for (size_t i = 0; rc == 0 && i < outputs->u.array.len; i++)
        rc = cursors_parse_one(b, outputs->u.array.values[i]);
    yajl_tree_free(root);
    return rc;
}

static void cursors_forget_saved(wharf_buffer_t *b)
{
    for (size_t i = 0; i < b->n_saved; i++)
        free(b->saved[i].id);
    free(b->saved);
    b->saved = NULL;
    b->n_saved = 0;
}

int buffer_cursors_load(wharf_buffer_t *b)
{
    char path[PATH_MAX];
    int rc = cursors_path(b, path);
    if (rc < 0)
        return rc;
    char *text = NULL;
    size_t len = 0;
    rc = wharf_read_file(path, CURSORS_MAX_BYTES, &text, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0)
        rc = cursors_parse(b, text);
    free(text);
    b->n_persisted = b->n_saved;
    if (rc == WHARF_EPARSE || rc == -EISDIR) {
        /* Losing cursors means re-sending, never losing: start them over. */
        wharf_log_error("buffer: cursors file is unreadable; every output re-sends the whole "
                        "buffer",
                        "path=%s", path);
        cursors_forget_saved(b);
        b->n_persisted = 0;
        b->cursors_lost = 1;
        return 0;
    }
    return rc;
}

static void cursors_serialize(const wharf_buffer_t *b, wharf_buf_t *out)
{
    wharf_buf_lit(out, "{\"version\":1,\"outputs\":[");
    for (size_t i = 0; i < b->n_cursors; i++) {
        const wharf_buffer_cursor_t *c = b->cursors[i];
        char tmp[256];
        if (i)
            wharf_buf_putc(out, ',');
        wharf_buf_lit(out, "\n{\"id\":");
        wharf_json_write_string(out, c->id, strlen(c->id));
        int n = snprintf(tmp, sizeof(tmp),
                         ",\"segment\":%" PRIu64 ",\"offset\":%" PRIu64 ",\"event\":%" PRIu64
                         ",\"dropped\":%" PRIu64 ",\"down_since_ms\":%" PRIu64
                         ",\"undeliverable\":%" PRIu64 ",\"error\":",
                         c->acked.segment, c->acked.offset, c->acked.event, c->dropped,
                         c->health.down_since_ms, c->health.undeliverable);
        wharf_buf_append(out, tmp, (size_t)n);
        wharf_json_write_string(out, c->health.error, strlen(c->health.error));
        wharf_buf_putc(out, '}');
    }
    wharf_buf_lit(out, "]}\n");
}

static int cursors_changed(const wharf_buffer_t *b)
{
    if (b->n_persisted != b->n_cursors)
        return 1;
    for (size_t i = 0; i < b->n_cursors; i++) {
        const wharf_buffer_cursor_t *c = b->cursors[i];
        if (memcmp(&c->acked, &c->saved, sizeof(c->acked)) != 0 ||
            memcmp(&c->health, &c->saved_health, sizeof(c->health)) != 0)
            return 1;
    }
    return 0;
}

/* Outputs no longer configured release their hold on the first save. */
static void cursors_report_released(const wharf_buffer_t *b)
{
    for (size_t i = 0; i < b->n_saved; i++) {
        int claimed = 0;
        for (size_t j = 0; j < b->n_cursors && !claimed; j++)
            claimed = strcmp(b->saved[i].id, b->cursors[j]->id) == 0;
        if (!claimed)
            wharf_log_info("buffer: output is no longer configured; released its cursor",
                           "output=%s lag_events=%llu", b->saved[i].id,
                           (unsigned long long)(b->next_event > b->saved[i].pos.event
                                                    ? b->next_event - b->saved[i].pos.event
                                                    : 0));
    }
}

int wharf_buffer_save_cursors(wharf_buffer_t *b)
{
    if (b->read_only || !cursors_changed(b))
        return 0;
    /* fsync: batch promises that no cursor ever passes an event a power
     * loss could take back: the commits they read are made durable first. */
    int rc = b->conf.fsync == WHARF_FSYNC_BATCH ? buffer_fsync(b) : 0;
    if (rc < 0) {
        wharf_log_error("buffer: cannot fdatasync; cursors stay where they were", "error=\"%s\"",
                        wharf_strerror(rc));
        return rc;
    }
    char path[PATH_MAX];
    rc = cursors_path(b, path);
    if (rc < 0)
        return rc;
    wharf_buf_t text;
    wharf_buf_init(&text);
    cursors_serialize(b, &text);
    rc = wharf_write_file_atomic(path, text.data, text.len);
    wharf_buf_free(&text);
    if (rc < 0) {
        wharf_log_error("buffer: cannot save cursors; a restart re-sends more",
                        "path=%s error=\"%s\"", path, wharf_strerror(rc));
        return rc;
    }
    if (b->saved != NULL) {
        cursors_report_released(b);
        cursors_forget_saved(b);
    }
    b->n_persisted = b->n_cursors;
    for (size_t i = 0; i < b->n_cursors; i++) {
        b->cursors[i]->saved = b->cursors[i]->acked;
        b->cursors[i]->saved_health = b->cursors[i]->health;
    }
    return 0;
}

/* ---- positions ----------------------------------------------------------------- */

void buffer_cursor_clamp(wharf_buffer_t *b, wharf_buffer_pos_t *pos)
{
    if (b->n_segs == 0)
        return;
    wharf_buffer_pos_t end = buffer_end(b);
    const buffer_segment_t *s = buffer_segment_find(b, pos->segment);
    if (pos->segment < b->segs[0].info.seq) {
        *pos = buffer_segment_start(b, 0);
    } else if (pos->segment > end.segment || pos->event > end.event ||
               (s != NULL && pos->offset > s->info.bytes)) {
        *pos = end; /* the tail it pointed into was cut at recovery */
    } else if (s == NULL) {
        /* Its segment vanished: continue with the next one there is. */
        for (size_t i = 0; i < b->n_segs; i++)
            if (b->segs[i].info.seq > pos->segment) {
                *pos = buffer_segment_start(b, i);
                break;
            }
    }
}

uint64_t buffer_cursors_min_segment(const wharf_buffer_t *b)
{
    uint64_t min = b->segs[b->n_segs - 1].info.seq;
    for (size_t i = 0; i < b->n_cursors; i++)
        if (b->cursors[i]->acked.segment < min)
            min = b->cursors[i]->acked.segment;
    return min;
}

static void cursor_close_fd(wharf_buffer_cursor_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void buffer_cursors_drop_segment(wharf_buffer_t *b, size_t i)
{
    wharf_buffer_pos_t next = buffer_segment_start(b, i + 1);
    uint64_t seq = b->segs[i].info.seq;
    for (size_t k = 0; k < b->n_cursors; k++) {
        wharf_buffer_cursor_t *c = b->cursors[k];
        if (c->read.segment <= seq) {
            uint64_t lost = next.event > c->read.event ? next.event - c->read.event : 0;
            c->dropped += lost;
            b->stats.dropped_events += lost;
            if (lost > 0)
                wharf_log_warn("buffer full: dropped the oldest events an output had not "
                               "delivered (when_full: drop_oldest)",
                               "output=%s events=%llu dropped_total=%llu", c->id,
                               (unsigned long long)lost, (unsigned long long)c->dropped);
            c->read = next;
            c->have_block = 0;
            c->on_last = 0;
            cursor_close_fd(c);
        }
        if (c->acked.segment <= seq)
            c->acked = next;
    }
}

/* ---- reading -------------------------------------------------------------------- */

int wharf_buffer_cursor_open(wharf_buffer_t *b, const char *output_id, wharf_buffer_cursor_t **out)
{
    wharf_buffer_cursor_t *c = calloc(1, sizeof(*c));
    wharf_buffer_cursor_t **v =
        realloc(b->cursors, (b->n_cursors + 1) * sizeof(wharf_buffer_cursor_t *));
    if (c == NULL || v == NULL || (c->id = strdup(output_id)) == NULL ||
        (c->dctx = ZSTD_createDCtx()) == NULL) {
        if (c != NULL)
            free(c->id);
        free(c);
        if (v != NULL)
            b->cursors = v;
        return -ENOMEM;
    }
    b->cursors = v;
    c->buffer = b;
    c->fd = -1;
    c->read = buffer_end(b);
    const buffer_saved_cursor_t *saved = NULL;
    for (size_t i = 0; i < b->n_saved && saved == NULL; i++)
        if (strcmp(b->saved[i].id, output_id) == 0)
            saved = &b->saved[i];
    if (saved != NULL) {
        c->read = saved->pos;
        c->dropped = saved->dropped;
        c->health = c->saved_health = saved->health;
        buffer_cursor_clamp(b, &c->read);
    } else if (b->cursors_lost && b->n_segs > 0) {
        c->read = buffer_segment_start(b, 0);
    } else if (b->next_event > 0) {
        wharf_log_info("buffer: new output starts at the buffer's end", "output=%s event=%llu",
                       output_id, (unsigned long long)b->next_event);
    }
    c->acked = c->read;
    c->saved = saved != NULL ? saved->pos : (wharf_buffer_pos_t){0, 0, UINT64_MAX};
    wharf_buf_init(&c->payload);
    wharf_buf_init(&c->block);
    b->cursors[b->n_cursors++] = c;
    *out = c;
    return 0;
}

static int cursor_open_segment(wharf_buffer_cursor_t *c)
{
    if (c->fd >= 0 && c->fd_seq == c->read.segment)
        return 0;
    cursor_close_fd(c);
    char path[PATH_MAX];
    int rc = wharf_wal_segment_path(c->buffer->dir, c->read.segment, path, sizeof(path));
    if (rc < 0)
        return rc;
    c->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (c->fd < 0)
        return -errno;
    c->fd_seq = c->read.segment;
    return 0;
}

/* The cursor is at the end of its segment: on to the next, if any. */
static int cursor_next_segment(wharf_buffer_cursor_t *c)
{
    wharf_buffer_t *b = c->buffer;
    for (size_t i = 0; i < b->n_segs; i++)
        if (b->segs[i].info.seq > c->read.segment) {
            c->read = buffer_segment_start(b, i);
            return 1;
        }
    return 0;
}

static void cursor_skip_damage(wharf_buffer_cursor_t *c, const buffer_segment_t *s)
{
    int64_t next = wharf_wal_resync(c->fd, s->info.bytes, c->read.offset + 1, &c->payload);
    uint64_t to = next < 0 ? s->info.bytes : (uint64_t)next;
    if (!buffer_damage_count(c->buffer, s->info.seq, c->read.offset, to - c->read.offset)) {
        c->read.offset = to; /* reported when the buffer was opened */
        return;
    }
    wharf_log_warn("buffer: skipping a damaged record while reading; its events are lost",
                   "output=%s segment=%016llu" WHARF_WAL_SUFFIX " offset=%llu bytes=%llu", c->id,
                   (unsigned long long)s->info.seq, (unsigned long long)c->read.offset,
                   (unsigned long long)(to - c->read.offset));
    c->read.offset = to;
}

static int cursor_decompress(wharf_buffer_cursor_t *c, const wharf_wal_record_t *r)
{
    c->block.len = 0;
    wharf_buf_reserve(&c->block, r->raw_length);
    size_t n =
        ZSTD_decompressDCtx(c->dctx, c->block.data, r->raw_length, c->payload.data, c->payload.len);
    if (ZSTD_isError(n) || n != r->raw_length)
        return -EIO;
    c->block.len = n;
    c->view = (wharf_str_t){c->block.data, n};
    return 0;
}

/* The cursor is at the last commit: its events are still in memory. */
static int cursor_take_last(wharf_buffer_cursor_t *c)
{
    const wharf_buffer_t *b = c->buffer;
    if (b->last_at.segment == 0 || c->read.segment != b->last_at.segment ||
        c->read.offset != b->last_at.offset)
        return 0;
    c->view = (wharf_str_t){b->last_events.data, b->last_events.len};
    c->on_last = 1;
    c->after_block = b->last_after;
    c->taken = 0;
    c->have_block = 1;
    return 1;
}

int wharf_buffer_cursor_peek(wharf_buffer_cursor_t *c, wharf_str_t *block)
{
    if (!c->have_block)
        cursor_take_last(c);
    while (!c->have_block) {
        const buffer_segment_t *s = buffer_segment_find(c->buffer, c->read.segment);
        if (s == NULL || c->read.offset >= s->info.bytes) {
            if (cursor_next_segment(c))
                continue;
            if (s == NULL)
                c->read = buffer_end(c->buffer);
            return 0;
        }
        int rc = cursor_open_segment(c);
        if (rc < 0)
            return rc;
        wharf_wal_record_t r;
        int st = wharf_wal_read(c->fd, s->info.bytes, c->read.offset, &r, &c->payload);
        if (st < 0)
            return st;
        if (st != WHARF_WAL_OK) {
            cursor_skip_damage(c, s);
            continue;
        }
        wharf_buffer_pos_t after = {c->read.segment,
                                    c->read.offset + WHARF_WAL_RECORD_HEADER + r.length,
                                    r.first + r.events};
        if (r.type != WHARF_WAL_EVENTS || r.events == 0) {
            c->read = after;
            continue;
        }
        if (cursor_decompress(c, &r) < 0) {
            cursor_skip_damage(c, s);
            continue;
        }
        c->read.event = r.first;
        c->after_block = after;
        c->taken = 0;
        c->have_block = 1;
    }
    block->ptr = c->view.ptr + c->taken;
    block->len = c->view.len - c->taken;
    return 1;
}

void wharf_buffer_cursor_consume(wharf_buffer_cursor_t *c, size_t n)
{
    if (!c->have_block)
        return;
    c->taken += n;
    if (c->taken < c->view.len)
        return;
    c->read = c->after_block;
    c->have_block = 0;
    c->on_last = 0;
}

void buffer_cursors_detach_last(wharf_buffer_t *b)
{
    for (size_t i = 0; i < b->n_cursors; i++) {
        wharf_buffer_cursor_t *c = b->cursors[i];
        if (!c->have_block || !c->on_last)
            continue;
        c->block.len = 0;
        wharf_buf_append(&c->block, c->view.ptr + c->taken, c->view.len - c->taken);
        c->view = (wharf_str_t){c->block.data, c->block.len};
        c->taken = 0;
        c->on_last = 0;
    }
}

void wharf_buffer_cursor_ack(wharf_buffer_cursor_t *c)
{
    c->acked = c->read;
}

void wharf_buffer_cursor_set_health(wharf_buffer_cursor_t *c, const wharf_buffer_health_t *h)
{
    c->health = *h;
}

wharf_buffer_pos_t wharf_buffer_cursor_tell(const wharf_buffer_cursor_t *c)
{
    return c->read;
}

void wharf_buffer_cursor_ack_at(wharf_buffer_cursor_t *c, wharf_buffer_pos_t pos)
{
    if (pos.segment > c->acked.segment ||
        (pos.segment == c->acked.segment && pos.offset > c->acked.offset))
        c->acked = pos;
}

static void cursor_fill_info(const wharf_buffer_t *b, const char *id, const wharf_buffer_pos_t *pos,
                             uint64_t dropped, const wharf_buffer_health_t *health,
                             wharf_buffer_cursor_info_t *out)
{
    out->id = id;
    out->health = *health;
    out->pos = *pos;
    out->dropped_events = dropped;
    out->lag_events = b->next_event > pos->event ? b->next_event - pos->event : 0;
    out->lag_bytes = buffer_bytes_after(b, pos);
}

void wharf_buffer_cursor_info(const wharf_buffer_cursor_t *c, wharf_buffer_cursor_info_t *out)
{
    cursor_fill_info(c->buffer, c->id, &c->acked, c->dropped, &c->health, out);
}

size_t wharf_buffer_n_saved_cursors(const wharf_buffer_t *b)
{
    return b->n_saved;
}

void wharf_buffer_saved_cursor(const wharf_buffer_t *b, size_t i, wharf_buffer_cursor_info_t *out)
{
    cursor_fill_info(b, b->saved[i].id, &b->saved[i].pos, b->saved[i].dropped, &b->saved[i].health,
                     out);
}

static void cursor_free(wharf_buffer_cursor_t *c)
{
    cursor_close_fd(c);
    ZSTD_freeDCtx(c->dctx);
    wharf_buf_free(&c->payload);
    wharf_buf_free(&c->block);
    free(c->id);
    free(c);
}

void buffer_cursors_free(wharf_buffer_t *b)
{
    for (size_t i = 0; i < b->n_cursors; i++)
        cursor_free(b->cursors[i]);
    free(b->cursors);
    cursors_forget_saved(b);
}

void wharf_buffer_cursor_rewind(wharf_buffer_cursor_t *c)
{
    c->read = c->acked;
    c->have_block = 0;
    c->on_last = 0;
    c->taken = 0;
}

void wharf_buffer_cursor_close(wharf_buffer_cursor_t *c)
{
    wharf_buffer_t *b = c->buffer;
    for (size_t i = 0; i < b->n_cursors; i++)
        if (b->cursors[i] == c) {
            memmove(b->cursors + i, b->cursors + i + 1,
                    (b->n_cursors - i - 1) * sizeof(wharf_buffer_cursor_t *));
            b->n_cursors--;
            break;
        }
    cursor_free(c); /* one cursor fewer: the next save rewrites the file */
}
