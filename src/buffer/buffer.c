/* buffer.c - segments, commits and recovery of the disk buffer (see
 * wharf/buffer.h; the record format is in wharf/wal.h, cursors in cursor.c).
 *
 * A commit is one write(2) of an events record and the checkpoint that goes
 * with it, so after a crash a commit is either whole or a torn tail: recovery
 * keeps the last segment up to the end of its last valid checkpoint and cuts
 * the rest. The events of a cut commit are read again from the inputs,
 * because the positions that covered them were cut with them.
 *
 * Every segment starts with a copy of the latest checkpoint, so deleting old
 * segments never deletes the input positions. */
#include "buffer_int.h"
#include "wharf/array.h"
#include "wharf/fsutil.h"
#include "wharf/log.h"
#include "wharf/timefmt.h"
#include "wharf/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- segment list ---------------------------------------------------------- */

buffer_segment_t *buffer_segment_find(wharf_buffer_t *b, uint64_t seq)
{
    size_t lo = 0, hi = b->n_segs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->segs[mid].info.seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->n_segs && b->segs[lo].info.seq == seq ? &b->segs[lo] : NULL;
}

wharf_buffer_pos_t buffer_segment_start(const wharf_buffer_t *b, size_t i)
{
    const wharf_buffer_segment_info_t *s = &b->segs[i].info;
    return (wharf_buffer_pos_t){s->seq, WHARF_WAL_SEGMENT_HEADER, s->first_event};
}

wharf_buffer_pos_t buffer_end(const wharf_buffer_t *b)
{
    if (b->n_segs == 0)
        return (wharf_buffer_pos_t){0, 0, b->next_event};
    const wharf_buffer_segment_info_t *s = &b->segs[b->n_segs - 1].info;
    return (wharf_buffer_pos_t){s->seq, s->bytes, b->next_event};
}

uint64_t buffer_bytes_after(const wharf_buffer_t *b, const wharf_buffer_pos_t *pos)
{
    uint64_t n = 0;
    for (size_t i = 0; i < b->n_segs; i++) {
        const wharf_buffer_segment_info_t *s = &b->segs[i].info;
        if (s->seq > pos->segment)
            n += s->bytes;
        else if (s->seq == pos->segment && pos->offset < s->bytes)
            n += s->bytes - pos->offset;
    }
    return n;
}

static buffer_segment_t *buffer_segment_push(wharf_buffer_t *b, uint64_t seq)
{
    if (wharf_array_reserve(&b->segs, &b->cap_segs, b->n_segs + 1, sizeof(*b->segs), 16) < 0)
        return NULL;
    buffer_segment_t *s = &b->segs[b->n_segs++];
    memset(s, 0, sizeof(*s));
    s->info.seq = seq;
    s->info.first_event = b->next_event;
    return s;
}

static int buffer_segment_path(const wharf_buffer_t *b, uint64_t seq, char *out)
{
    return wharf_wal_segment_path(b->dir, seq, out, PATH_MAX);
}

static int buffer_sync_dir(const wharf_buffer_t *b)
{
    if (b->conf.fsync == WHARF_FSYNC_NEVER)
        return 0;
    int fd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int buffer_damage_count(wharf_buffer_t *b, uint64_t seq, uint64_t off, uint64_t len)
{
    for (size_t i = 0; i < b->n_damage; i++)
        if (b->damage[i].segment == seq && b->damage[i].offset == off)
            return 0;
    wharf_buffer_pos_t *v = realloc(b->damage, (b->n_damage + 1) * sizeof(*v));
    if (v != NULL) {
        b->damage = v;
        b->damage[b->n_damage++] = (wharf_buffer_pos_t){seq, off, 0};
    }
    b->stats.corrupt_records++;
    b->stats.corrupt_bytes += len;
    return 1;
}

/* ---- recovery ---------------------------------------------------------------- */

typedef struct buffer_recovery {
    wharf_buffer_t *b;
    buffer_segment_t *seg;
    const char *name;
    int first;                             /* no record seen yet in this segment */
    uint64_t commit_end;                   /* end of the last valid checkpoint */
    wharf_buffer_segment_info_t at_commit; /* the segment's figures at that point */
    uint64_t next_event_at_commit;
    uint64_t torn_at;     /* start of trailing damage, or 0 */
    uint64_t start_event; /* next_event when the segment began */
} buffer_recovery_t;

static void buffer_recover_record(void *arg, uint64_t off, const wharf_wal_record_t *r,
                                  const wharf_buf_t *payload)
{
    buffer_recovery_t *rs = arg;
    wharf_buffer_t *b = rs->b;
    wharf_buffer_segment_info_t *s = &rs->seg->info;
    if (rs->first)
        s->first_event = r->first;
    rs->first = 0;
    s->records++;
    if (r->type == WHARF_WAL_EVENTS) {
        s->events += r->events;
        s->raw_bytes += r->raw_length;
        s->stored_bytes += r->length;
        if (r->first + r->events > b->next_event)
            b->next_event = r->first + r->events;
        return;
    }
    if (r->first > b->next_event)
        b->next_event = r->first;
    b->checkpoint.len = 0;
    wharf_buf_append(&b->checkpoint, payload->data, payload->len);
    rs->commit_end = off + WHARF_WAL_RECORD_HEADER + r->length;
    rs->at_commit = *s;
    rs->next_event_at_commit = b->next_event;
}

static void buffer_recover_damage(void *arg, uint64_t off, uint64_t len, int torn)
{
    buffer_recovery_t *rs = arg;
    if (torn && rs->seg == &rs->b->segs[rs->b->n_segs - 1]) {
        rs->torn_at = off; /* the last segment: cut below */
        return;
    }
    rs->seg->info.corrupt_records++;
    buffer_damage_count(rs->b, rs->seg->info.seq, off, len);
    wharf_log_warn("buffer: skipping a corrupt record; its events are lost, the rest is delivered",
                   "segment=%s offset=%llu bytes=%llu", rs->name, (unsigned long long)off,
                   (unsigned long long)len);
}

static void buffer_write_header(int fd, const char *name)
{
    unsigned char hdr[WHARF_WAL_SEGMENT_HEADER];
    wharf_wal_segment_header(hdr);
    if (pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
        wharf_log_error("buffer: cannot rewrite a segment header", "segment=%s error=\"%s\"", name,
                        strerror(errno));
}

/* The last segment keeps whole commits only. */
static int buffer_cut_tail(wharf_buffer_t *b, buffer_recovery_t *rs, int fd, const char *name)
{
    wharf_buffer_segment_info_t *s = &rs->seg->info;
    uint64_t keep = rs->commit_end ? rs->commit_end : WHARF_WAL_SEGMENT_HEADER;
    if (keep >= s->bytes)
        return 0;
    uint64_t cut = s->bytes - keep;
    wharf_log_warn("buffer: cut a torn commit from the end (wharf or the machine stopped "
                   "mid-write); its events are read again from the inputs",
                   "segment=%s offset=%llu bytes=%llu", name, (unsigned long long)keep,
                   (unsigned long long)cut);
    b->stats.torn_bytes += cut;
    uint64_t corrupt = s->corrupt_records;
    *s = rs->commit_end
             ? rs->at_commit
             : (wharf_buffer_segment_info_t){.seq = s->seq, .first_event = rs->start_event};
    s->corrupt_records = corrupt;
    s->bytes = keep;
    b->next_event = rs->commit_end ? rs->next_event_at_commit : rs->start_event;
    if (!b->read_only && ftruncate(fd, (off_t)keep) < 0)
        return -errno;
    return 0;
}

static int buffer_recover_segment(wharf_buffer_t *b, buffer_segment_t *seg, int is_last)
{
    char path[PATH_MAX];
    int rc = buffer_segment_path(b, seg->info.seq, path);
    if (rc < 0)
        return rc;
    const char *name = strrchr(path, '/') + 1;
    int fd = open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    seg->info.bytes = (uint64_t)st.st_size;
    seg->info.first_event = b->next_event;
    unsigned char hdr[WHARF_WAL_SEGMENT_HEADER];
    ssize_t got = pread(fd, hdr, sizeof(hdr), 0);
    if (got < 0 || !wharf_wal_segment_header_ok(hdr, (size_t)got)) {
        wharf_log_warn("buffer: segment header is damaged; reading its records anyway",
                       "segment=%s", name);
        if (!b->read_only && (is_last || got == (ssize_t)sizeof(hdr)))
            buffer_write_header(fd, name);
        if (seg->info.bytes < WHARF_WAL_SEGMENT_HEADER)
            seg->info.bytes = b->read_only ? 0 : WHARF_WAL_SEGMENT_HEADER;
    }
    buffer_recovery_t rs = {b, seg, name, 1, 0, {0}, 0, 0, b->next_event};
    wharf_wal_visitor_t v = {&rs, buffer_recover_record, buffer_recover_damage};
    rc = wharf_wal_scan(fd, seg->info.bytes, &v, &b->scratch, &b->zbuf);
    if (rc == 0 && is_last)
        rc = buffer_cut_tail(b, &rs, fd, name);
    close(fd);
    if (rc == 0 && is_last && !b->read_only) {
        /* Appends need O_APPEND; the repairs above needed plain offsets. */
        b->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (b->fd < 0)
            rc = -errno;
    }
    return rc;
}

static int buffer_seq_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The segment numbers in the directory, sorted. */
static int buffer_list(wharf_buffer_t *b, uint64_t **out, size_t *n_out)
{
    DIR *d = opendir(b->dir);
    if (d == NULL)
        return -errno;
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t seq = wharf_wal_segment_seq(de->d_name);
        if (seq == 0)
            continue;
        if (wharf_array_reserve(&v, &cap, n + 1, sizeof(*v), 16) < 0) {
            free(v);
            closedir(d);
            return -ENOMEM;
        }
        v[n++] = seq;
    }
    closedir(d);
    if (n > 0)
        qsort(v, n, sizeof(*v), buffer_seq_cmp);
    *out = v;
    *n_out = n;
    return 0;
}

static int buffer_recover(wharf_buffer_t *b)
{
    uint64_t *seqs = NULL;
    size_t n = 0;
    int rc = buffer_list(b, &seqs, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        buffer_segment_t *seg = buffer_segment_push(b, seqs[i]);
        if (seg == NULL)
            rc = -ENOMEM;
        else
            rc = buffer_recover_segment(b, seg, i + 1 == n);
        if (rc == -ENOENT && b->read_only) {
            /* `wharf buffer stat` beside a running wharf: it deleted the
             * segment, which every output had sent, after the listing */
            b->n_segs--;
            rc = 0;
            continue;
        }
        if (rc < 0)
            wharf_log_error("buffer: cannot read a segment", "dir=%s seq=%llu error=\"%s\"", b->dir,
                            (unsigned long long)seqs[i], wharf_strerror(rc));
    }
    for (size_t i = 0; i < b->n_segs; i++) {
        b->bytes += b->segs[i].info.bytes;
        b->stats.events += b->segs[i].info.events;
    }
    free(seqs);
    return rc;
}

/* ---- writing ------------------------------------------------------------------ */

static void buffer_encode_checkpoint(wharf_buffer_t *b, const char *data, size_t len,
                                     uint64_t next_event)
{
    wharf_wal_record_t r = {WHARF_WAL_CHECKPOINT, (uint32_t)len, 0, (uint32_t)len, next_event};
    wharf_wal_encode(&b->rec, &r, data);
}

static int buffer_append(wharf_buffer_t *b, const void *data, size_t len)
{
    buffer_segment_t *last = &b->segs[b->n_segs - 1];
    int rc = wharf_write_all(b->fd, data, len);
    if (rc == 0) {
        last->info.bytes += len;
        b->bytes += len;
        b->dirty = 1;
        return 0;
    }
    /* Leave no fragment behind: the next commit must start on a record. */
    if (ftruncate(b->fd, (off_t)last->info.bytes) < 0)
        wharf_log_error("buffer: cannot cut a failed write; recovery will at the next start",
                        "error=\"%s\"", strerror(errno));
    return rc;
}

int buffer_fsync(wharf_buffer_t *b)
{
    if (!b->dirty)
        return 0;
    if (fdatasync(b->fd) < 0)
        return -errno;
    b->dirty = 0;
    b->synced_ms = wharf_time_now() / 1000000;
    return 0;
}

/* Starts segment `seq` with its header and the latest checkpoint. */
static int buffer_segment_create(wharf_buffer_t *b, uint64_t seq)
{
    char path[PATH_MAX];
    int rc = buffer_segment_path(b, seq, path);
    if (rc < 0)
        return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    buffer_segment_t *seg = buffer_segment_push(b, seq);
    if (seg == NULL) {
        close(fd);
        unlink(path);
        return -ENOMEM;
    }
    b->rec.len = 0;
    unsigned char hdr[WHARF_WAL_SEGMENT_HEADER];
    wharf_wal_segment_header(hdr);
    wharf_buf_append(&b->rec, hdr, sizeof(hdr));
    buffer_encode_checkpoint(b, b->checkpoint.data, b->checkpoint.len, b->next_event);
    int old_fd = b->fd;
    b->fd = fd;
    rc = buffer_append(b, b->rec.data, b->rec.len);
    if (rc == 0)
        rc = buffer_sync_dir(b);
    if (rc < 0) {
        close(fd);
        unlink(path);
        b->fd = old_fd;
        b->n_segs--;
        return rc;
    }
    seg->info.records = 1;
    if (old_fd >= 0)
        close(old_fd);
    return 0;
}

static int buffer_roll(wharf_buffer_t *b)
{
    if (b->conf.fsync != WHARF_FSYNC_NEVER) {
        int rc = buffer_fsync(b);
        if (rc < 0)
            return rc;
    }
    return buffer_segment_create(b, b->segs[b->n_segs - 1].info.seq + 1);
}

static int buffer_delete_oldest(wharf_buffer_t *b)
{
    char path[PATH_MAX];
    int rc = buffer_segment_path(b, b->segs[0].info.seq, path);
    if (rc < 0)
        return rc;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    b->bytes -= b->segs[0].info.bytes;
    b->stats.events -= b->segs[0].info.events;
    memmove(&b->segs[0], &b->segs[1], (b->n_segs - 1) * sizeof(b->segs[0]));
    b->n_segs--;
    return 0;
}

int wharf_buffer_trim(wharf_buffer_t *b)
{
    if (b->read_only)
        return 0;
    uint64_t keep_from = buffer_cursors_min_segment(b);
    while (b->n_segs > 1 && b->segs[0].info.seq < keep_from) {
        int rc = buffer_delete_oldest(b);
        if (rc < 0) {
            wharf_log_error("buffer: cannot delete a delivered segment", "dir=%s error=\"%s\"",
                            b->dir, wharf_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static int buffer_drop_oldest(wharf_buffer_t *b, uint64_t need)
{
    while (b->n_segs > 1 && b->bytes + need > b->conf.max_size) {
        buffer_cursors_drop_segment(b, 0);
        int rc = buffer_delete_oldest(b);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Room for `need` more bytes, by policy. */
static int buffer_make_room(wharf_buffer_t *b, uint64_t need)
{
    if (b->bytes + need <= b->conf.max_size)
        return 0;
    if (b->conf.when_full == WHARF_WHEN_FULL_DROP_OLDEST)
        return buffer_drop_oldest(b, need);
    /* Only the segment being appended to is left: waiting frees nothing
     * more, so take the commit (the overshoot is bounded by segment_size)
     * rather than stall for ever. */
    if (b->n_segs == 1)
        return 0;
    if (!b->full_logged)
        wharf_log_warn("buffer full: inputs pause until outputs catch up (when_full: block)",
                       "bytes=%llu max_size=%llu", (unsigned long long)b->bytes,
                       (unsigned long long)b->conf.max_size);
    b->full_logged = 1;
    return WHARF_EFULL;
}

/* The events record of a commit, from its compressed frame. */
static int buffer_encode_events(wharf_buffer_t *b, const wharf_commit_t *c)
{
    if (c->frame_len > WHARF_WAL_MAX_PAYLOAD)
        return WHARF_ETOOBIG; /* a reader would refuse the record */
    wharf_wal_record_t r = {WHARF_WAL_EVENTS, (uint32_t)c->frame_len, c->n_events, (uint32_t)c->len,
                            b->next_event};
    wharf_wal_encode(&b->rec, &r, c->frame);
    return 0;
}

/* The commit's records into rec. */
static int buffer_encode_commit(wharf_buffer_t *b, const wharf_commit_t *c)
{
    b->rec.len = 0;
    int rc = c->n_events > 0 ? buffer_encode_events(b, c) : 0;
    if (rc == 0)
        buffer_encode_checkpoint(b, c->checkpoint, c->checkpoint_len, b->next_event + c->n_events);
    return rc;
}

/* Keeps the commit's events for cursors that are caught up. */
static void buffer_keep_last(wharf_buffer_t *b, const wharf_commit_t *c)
{
    const wharf_buffer_segment_info_t *s = &b->segs[b->n_segs - 1].info;
    buffer_cursors_detach_last(b);
    b->last_at = (wharf_buffer_pos_t){0, 0, 0};
    if (c->n_events == 0)
        return;
    if (c->events_buf != NULL) {
        wharf_buf_t spare = b->last_events;
        b->last_events = *c->events_buf;
        *c->events_buf = spare;
    } else {
        b->last_events.len = 0;
        wharf_buf_append(&b->last_events, c->events, c->len);
    }
    b->last_at = (wharf_buffer_pos_t){s->seq, s->bytes - b->rec.len, b->next_event};
    b->last_after = (wharf_buffer_pos_t){s->seq, s->bytes, b->next_event + c->n_events};
}

static void buffer_account_commit(wharf_buffer_t *b, size_t len, uint32_t n_events,
                                  const char *checkpoint, size_t checkpoint_len)
{
    wharf_buffer_segment_info_t *s = &b->segs[b->n_segs - 1].info;
    s->records += n_events > 0 ? 2 : 1;
    s->events += n_events;
    s->raw_bytes += n_events > 0 ? len : 0;
    s->stored_bytes +=
        n_events > 0 ? b->rec.len - (size_t)2 * WHARF_WAL_RECORD_HEADER - checkpoint_len : 0;
    b->stats.events += n_events;
    b->next_event += n_events;
    b->checkpoint.len = 0;
    wharf_buf_append(&b->checkpoint, checkpoint, checkpoint_len);
    if (b->full_logged)
        wharf_log_info("buffer has room again: inputs resume", "bytes=%llu",
                       (unsigned long long)b->bytes);
    b->full_logged = 0;
}

int wharf_buffer_commit_frame(wharf_buffer_t *b, const wharf_commit_t *c)
{
    if (b->read_only || c->len > WHARF_WAL_MAX_PAYLOAD || c->checkpoint_len > WHARF_WAL_MAX_PAYLOAD)
        return -EINVAL;
    int rc = buffer_encode_commit(b, c);
    if (rc < 0)
        return rc;
    uint64_t need = b->rec.len;
    const wharf_buffer_segment_info_t *last = &b->segs[b->n_segs - 1].info;
    int roll = last->bytes + need > b->conf.segment_size && last->records > 1;
    uint64_t roll_cost = WHARF_WAL_SEGMENT_HEADER + WHARF_WAL_RECORD_HEADER + b->checkpoint.len;
    rc = buffer_make_room(b, need + (roll ? roll_cost : 0));
    if (rc == 0 && roll) {
        rc = buffer_roll(b);
        /* buffer_segment_create used rec: encode the commit again. */
        if (rc == 0)
            rc = buffer_encode_commit(b, c);
    }
    if (rc == 0)
        rc = buffer_append(b, b->rec.data, b->rec.len);
    if (rc < 0)
        return rc;
    buffer_keep_last(b, c);
    buffer_account_commit(b, c->len, c->n_events, c->checkpoint, c->checkpoint_len);
    return 0;
}

int wharf_buffer_sync_owed(wharf_buffer_t *b)
{
    if (b->conf.fsync != WHARF_FSYNC_BATCH || !b->dirty)
        return -1;
    b->dirty = 0;
    b->synced_ms = wharf_time_now() / 1000000;
    return b->fd;
}

int wharf_buffer_commit(wharf_buffer_t *b, const char *events, size_t len, uint32_t n_events,
                        const char *checkpoint, size_t checkpoint_len)
{
    wharf_commit_t c = {events, len, n_events, NULL, 0, checkpoint, checkpoint_len, NULL};
    if (b->read_only)
        return -EINVAL;
    if (n_events > 0) {
        wharf_buf_reserve(&b->zbuf, ZSTD_compressBound(len));
        size_t z = ZSTD_compressCCtx(b->cctx, b->zbuf.data, b->zbuf.cap, events, len,
                                     (int)b->conf.compression_level);
        if (ZSTD_isError(z)) {
            wharf_log_error("buffer: zstd compression failed", "error=\"%s\"",
                            ZSTD_getErrorName(z));
            return -EIO;
        }
        c.frame = b->zbuf.data;
        c.frame_len = z;
    }
    int rc = wharf_buffer_commit_frame(b, &c);
    if (rc == 0 && b->conf.fsync == WHARF_FSYNC_BATCH)
        rc = buffer_fsync(b);
    return rc;
}

int wharf_buffer_tick(wharf_buffer_t *b)
{
    if (b->read_only || b->conf.fsync != WHARF_FSYNC_INTERVAL)
        return 0;
    if (wharf_time_now() / 1000000 - b->synced_ms < b->conf.fsync_interval_ms)
        return 0;
    return buffer_fsync(b);
}

/* ---- open / close --------------------------------------------------------------- */

/* The last segment must hold a checkpoint, or deleting older ones would lose
 * the positions. */
static int buffer_ensure_checkpoint(wharf_buffer_t *b)
{
    if (b->n_segs == 0)
        return buffer_segment_create(b, 1);
    if (b->segs[b->n_segs - 1].info.records > 0)
        return 0;
    b->rec.len = 0;
    buffer_encode_checkpoint(b, b->checkpoint.data, b->checkpoint.len, b->next_event);
    int rc = buffer_append(b, b->rec.data, b->rec.len);
    if (rc == 0) {
        b->segs[b->n_segs - 1].info.records = 1;
        b->segs[b->n_segs - 1].info.first_event = b->next_event;
    }
    return rc;
}

static int buffer_init(wharf_buffer_t *b, const char *dir, const wharf_conf_buffer_t *conf,
                       int flags)
{
    b->fd = -1;
    b->conf = *conf;
    b->read_only = (flags & WHARF_BUFFER_READ_ONLY) != 0;
    b->synced_ms = wharf_time_now() / 1000000;
    wharf_buf_init(&b->zbuf);
    wharf_buf_init(&b->rec);
    wharf_buf_init(&b->checkpoint);
    wharf_buf_init(&b->scratch);
    wharf_buf_init(&b->last_events);
    b->dir = strdup(dir);
    if (b->dir == NULL)
        return -ENOMEM;
    if (!b->read_only) {
        int rc = wharf_mkdir_p(dir, 0750);
        if (rc < 0)
            return rc;
        if ((b->cctx = ZSTD_createCCtx()) == NULL)
            return -ENOMEM;
    }
    return 0;
}

int wharf_buffer_open(const char *dir, const wharf_conf_buffer_t *conf, int flags,
                      wharf_buffer_t **out)
{
    wharf_buffer_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    int rc = buffer_init(b, dir, conf, flags);
    if (rc == 0)
        rc = buffer_recover(b);
    if (rc == 0 && !b->read_only)
        rc = buffer_ensure_checkpoint(b);
    if (rc == 0)
        rc = buffer_cursors_load(b);
    if (rc < 0) {
        wharf_buffer_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

void wharf_buffer_close(wharf_buffer_t *b)
{
    if (b == NULL)
        return;
    if (b->fd >= 0) {
        if (b->conf.fsync != WHARF_FSYNC_NEVER)
            buffer_fsync(b);
        close(b->fd);
    }
    buffer_cursors_free(b);
    ZSTD_freeCCtx(b->cctx);
    wharf_buf_free(&b->zbuf);
    wharf_buf_free(&b->rec);
    wharf_buf_free(&b->checkpoint);
    wharf_buf_free(&b->scratch);
    wharf_buf_free(&b->last_events);
    free(b->segs);
    free(b->damage);
    free(b->dir);
    free(b);
}

/* ---- inspection ------------------------------------------------------------------ */

const wharf_buf_t *wharf_buffer_checkpoint(const wharf_buffer_t *b)
{
    return &b->checkpoint;
}

void wharf_buffer_stats(const wharf_buffer_t *b, wharf_buffer_stats_t *out)
{
    *out = b->stats;
    out->segments = b->n_segs;
    out->bytes = b->bytes;
    out->next_event = b->next_event;
    out->raw_bytes = out->stored_bytes = 0;
    for (size_t i = 0; i < b->n_segs; i++) {
        out->raw_bytes += b->segs[i].info.raw_bytes;
        out->stored_bytes += b->segs[i].info.stored_bytes;
    }
}

size_t wharf_buffer_n_segments(const wharf_buffer_t *b)
{
    return b->n_segs;
}

void wharf_buffer_segment(const wharf_buffer_t *b, size_t i, wharf_buffer_segment_info_t *out)
{
    *out = b->segs[i].info;
}

const char *wharf_buffer_dir(const wharf_buffer_t *b)
{
    return b->dir;
}
