/* tail.c - follow log files through rotation and split them into lines.
 *
 * See wharf/tail.h for the contract. Invariants per file:
 *   line_off == read_off - carry_len       (carry is the open line)
 *   pending <= line_off                     (set after each read pass)
 * pending is what checkpoints record: the pipeline asks for positions when
 * it commits, and everything before pending was emitted by then.
 * A single read buffer of max_line_bytes + TAIL_READ_CHUNK serves all files
 * of an input, so memory does not grow with the number of containers beyond
 * their open lines. */
#include "wharf/tail.h"

#include "wharf/log.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAIL_READ_CHUNK ((size_t)256 * 1024)
/* Bytes one live pass reads over all files: a pass is one turn of the
 * loop, and timers (cursor saves), signals and the API wait for it, however
 * many files have a backlog. The next pass starts at the file where this one
 * stopped, so every file gets its turn. */
#define TAIL_PASS_BUDGET (8u << 20)
#define TAIL_POLL_MS     250
#define TAIL_KICK_MS     10

typedef struct tail_watch {
    uv_fs_event_t handle;
    char *dir;
    int used;
    wharf_tail_t *tail;
    struct tail_watch *next;
} tail_watch_t;

struct wharf_tail {
    uv_loop_t *loop;
    wharf_pipeline_t *pipeline;
    const wharf_positions_t *positions;
    wharf_tail_opts_t opts;
    wharf_tail_decoder_t dec;
    wharf_tail_file_t *files;
    char **rotated_globs; /* each glob + ".*", filtered by tail_rotated_suffix_ok */
    char *rbuf;
    size_t rbuf_cap;
    int first_start;
    int scanned; /* files known: before, positions are the restored ones */
    int scanned_once;
    int rescan_requested;
    int more_to_read;
    int64_t last_scan_ns;
    uint64_t bytes_read;
    uv_timer_t poll_timer;
    uv_timer_t kick_timer;
    uv_idle_t again; /* a backlog: the next pass at the next turn of the loop */
    int timers_started;
    tail_watch_t *watches;
};

/* ---- files ------------------------------------------------------------ */

static uint64_t tail_file_resume_point(const wharf_tail_file_t *f)
{
    return f->skipping ? f->skip_off : f->line_off;
}

static void tail_file_update_pending(wharf_tail_t *t, wharf_tail_file_t *f)
{
    uint64_t safe = t->dec.safe_offset(t->dec.arg, f);
    uint64_t open_line = tail_file_resume_point(f);
    f->pending = safe < open_line ? safe : open_line;
}

/* Reads up to WHARF_TAIL_FP_MAX head bytes; returns the count or -errno. */
static ssize_t tail_read_head(int fd, unsigned char *head)
{
    ssize_t n;
    do
        n = pread(fd, head, WHARF_TAIL_FP_MAX, 0);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

static void tail_file_free(wharf_tail_t *t, wharf_tail_file_t *f)
{
    if (!f->ignored && f->user != NULL)
        t->dec.close(t->dec.arg, f);
    if (f->fd >= 0)
        close(f->fd);
    free(f->carry);
    free(f->path);
    free(f);
}

/* Same directory: logrotate puts the copy beside the original. */
static int tail_same_dir(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    size_t na = sa ? (size_t)(sa - a) : 0, nb = sb ? (size_t)(sb - b) : 0;
    return na == nb && strncmp(a, b, na) == 0;
}

/* Where a copy of a file we read (head `ohead`, read up to `off`) starts.
 * Returns 1 and sets *start when `head` is such a copy; *defer when it is
 * still being written (shorter than what we read and modified just now). */
static int tail_copy_match(const unsigned char *head, uint32_t head_len, uint64_t size, int recent,
                           const unsigned char *ohead, uint32_t ohead_len, uint64_t off,
                           uint64_t *start, int *defer)
{
    uint32_t n = head_len < ohead_len ? head_len : ohead_len;
    if (n == 0 || memcmp(head, ohead, n) != 0)
        return 0;
    if ((head_len < ohead_len || size < off) && recent)
        *defer = 1;
    *start = size < off ? size : off;
    return 1;
}

/* A new rotated-name file whose head is that of a file we follow (or followed
 * until it was truncated) is a copy made by copytruncate: what we already
 * read of the original is not read again. An empty one just created may be
 * a copy not yet written (a scan on its inotify event comes that early):
 * it waits for its first bytes. */
static uint64_t tail_copy_offset(wharf_tail_t *t, const wharf_tail_file_t *f, uint64_t size,
                                 int recent, int *defer)
{
    if (f->fp_len == 0 && recent) {
        *defer = 1;
        return 0;
    }
    uint64_t start = 0;
    for (const wharf_tail_file_t *o = t->files; o != NULL; o = o->next) {
        if (o->ignored || !tail_same_dir(o->path, f->path))
            continue;
        if (tail_copy_match(f->head, f->fp_len, size, recent, o->head, o->fp_len, o->line_off,
                            &start, defer))
            return start;
        for (unsigned i = 0; i < WHARF_TAIL_COPIES; i++) {
            const struct wharf_tail_copied *c = &o->copied[i];
            if (tail_copy_match(f->head, f->fp_len, size, recent, c->head, c->fp_len, c->off,
                                &start, defer))
                return start;
        }
    }
    return 0;
}

static uint64_t tail_start_offset(wharf_tail_t *t, wharf_tail_file_t *f, uint64_t size, int initial,
                                  int live, int recent, int *defer)
{
    const wharf_position_t *pos =
        wharf_positions_find(t->positions, t->opts.input_id, f->dev, f->ino);
    if (pos != NULL) {
        if (pos->fp_len <= f->fp_len && pos->offset <= size &&
            wharf_fingerprint(f->head, pos->fp_len) == pos->fp_hash)
            return pos->offset;
        wharf_log_warn("file has a saved position but different content (inode reused or "
                       "file replaced); reading it from the start",
                       "input=%s path=%s", t->opts.input_id, f->path);
        return 0;
    }
    if (initial && t->first_start && t->opts.read_from_end)
        return size;
    return live ? 0 : tail_copy_offset(t, f, size, recent, defer);
}

static void tail_watch_dir(wharf_tail_t *t, const char *dir);

static void tail_watch_parent(wharf_tail_t *t, const char *path)
{
    char *dir = strdup(path);
    if (dir == NULL)
        return;
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        tail_watch_dir(t, dir);
    }
    free(dir);
}

static int tail_file_open(wharf_tail_t *t, const char *path, int initial, int live)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno; /* vanished between glob and open: the next scan decides */
    struct stat st;
    wharf_tail_file_t *f = calloc(1, sizeof(*f));
    ssize_t head_len = f == NULL            ? -ENOMEM
                       : fstat(fd, &st) < 0 ? -errno
                                            : tail_read_head(fd, f->head);
    if (head_len < 0 || (f->path = strdup(path)) == NULL) {
        free(f);
        close(fd);
        return head_len < 0 ? (int)head_len : -ENOMEM;
    }
    f->fd = fd;
    f->dev = (uint64_t)st.st_dev;
    f->ino = (uint64_t)st.st_ino;
    f->fp_len = (uint32_t)head_len;
    f->fp_hash = wharf_fingerprint(f->head, f->fp_len);
    int recent = wharf_time_now() - ((int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec) <
                 INT64_C(1000000000);
    int defer = 0;
    f->read_off = tail_start_offset(t, f, (uint64_t)st.st_size, initial, live, recent, &defer);
    if (defer) {
        /* A copy still being written: look again at the next scan. */
        t->rescan_requested = 1;
        free(f->path);
        free(f);
        close(fd);
        return 0;
    }
    f->line_off = f->pending = f->read_off;
    f->seen = 1;
    f->seen_live = live;
    f->rotated = !live;
    f->idle_since_ns = wharf_time_now();
    if (t->dec.open(t->dec.arg, f) != 0) {
        f->ignored = 1;
        close(f->fd);
        f->fd = -1;
    } else {
        wharf_log_info("tailing file", "input=%s path=%s offset=%llu", t->opts.input_id, path,
                       (unsigned long long)f->read_off);
    }
    f->next = t->files;
    t->files = f;
    if (t->loop != NULL && !f->ignored)
        tail_watch_parent(t, path);
    return 0;
}

/* The file is back at size 0 or its head changed: copytruncate. */
static void tail_file_restart(wharf_tail_t *t, wharf_tail_file_t *f, const unsigned char *head,
                              size_t head_len, uint64_t size)
{
    wharf_log_warn("file was truncated or replaced in place (copytruncate); reading it from "
                   "the start, lines written just before the truncation may be lost",
                   "input=%s path=%s old_offset=%llu new_size=%llu", t->opts.input_id, f->path,
                   (unsigned long long)f->read_off, (unsigned long long)size);
    t->dec.flush(t->dec.arg, f);
    struct wharf_tail_copied *c = &f->copied[f->n_truncations++ % WHARF_TAIL_COPIES];
    memcpy(c->head, f->head, f->fp_len);
    c->fp_len = f->fp_len;
    c->off = f->line_off;
    f->read_off = f->line_off = 0;
    f->carry_len = 0;
    f->skipping = 0;
    f->fp_len = (uint32_t)head_len;
    memcpy(f->head, head, head_len);
    f->fp_hash = wharf_fingerprint(head, head_len);
}

/* Checks that the file is still the one we were reading; returns its size
 * or -errno. */
static int64_t tail_file_check(wharf_tail_t *t, wharf_tail_file_t *f)
{
    struct stat st;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    uint64_t size = (uint64_t)st.st_size;
    /* The head is compared even when the size did not change: a file
     * truncated and rewritten to the same length is still a new content. */
    unsigned char head[WHARF_TAIL_FP_MAX];
    ssize_t head_len = tail_read_head(f->fd, head);
    if (head_len < 0)
        return head_len;
    int replaced =
        size < f->read_off || (size_t)head_len < f->fp_len || memcmp(head, f->head, f->fp_len) != 0;
    if (replaced) {
        tail_file_restart(t, f, head, (size_t)head_len, size);
    } else if ((size_t)head_len > f->fp_len) {
        f->fp_len = (uint32_t)head_len;
        memcpy(f->head, head, f->fp_len);
        f->fp_hash = wharf_fingerprint(head, f->fp_len);
    }
    return (int64_t)size;
}

/* Hands a line over, cut at max_line_bytes when longer. */
static void tail_deliver(wharf_tail_t *t, wharf_tail_file_t *f, const char *line, size_t len)
{
    if (len <= t->opts.max_line_bytes) {
        t->dec.line(t->dec.arg, f, line, len, f->line_off, 0);
        return;
    }
    wharf_log_warn("line longer than max_line_bytes; cut there and tagged truncated",
                   "input=%s path=%s offset=%llu max_line_bytes=%llu", t->opts.input_id, f->path,
                   (unsigned long long)f->line_off, (unsigned long long)t->opts.max_line_bytes);
    t->dec.line(t->dec.arg, f, line, t->opts.max_line_bytes, f->line_off, 1);
}

/* Splits buf into lines; returns the bytes consumed. */
static size_t tail_split_lines(wharf_tail_t *t, wharf_tail_file_t *f, const char *buf, size_t have)
{
    size_t start = 0;
    const char *nl;
    while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
        size_t len = (size_t)(nl - (buf + start));
        if (f->skipping)
            f->skipping = 0;
        else
            tail_deliver(t, f, buf + start, len);
        f->line_off += len + 1;
        start += len + 1;
        if (wharf_pipeline_full(t->pipeline) && !wharf_pipeline_blocked(t->pipeline)) {
            tail_file_update_pending(t, f);
            wharf_pipeline_commit(t->pipeline);
        }
    }
    size_t rest = have - start;
    if (f->skipping) {
        f->line_off += rest;
        return have;
    }
    if (rest > t->opts.max_line_bytes) {
        /* No newline in sight: deliver the cut line now, drop the rest. */
        tail_deliver(t, f, buf + start, rest);
        f->skipping = 1;
        f->skip_off = f->line_off;
        f->line_off += rest;
        return have;
    }
    return start;
}

static int tail_keep_carry(wharf_tail_file_t *f, const char *data, size_t n)
{
    f->carry_len = 0;
    if (n == 0)
        return 0;
    if (n > f->carry_cap) {
        char *c = realloc(f->carry, n);
        if (c == NULL)
            return -ENOMEM;
        f->carry = c;
        f->carry_cap = n;
    }
    memcpy(f->carry, data, n);
    f->carry_len = n;
    return 0;
}

/* Reads what is new, up to budget bytes. Returns bytes read or -errno. */
static int64_t tail_file_read(wharf_tail_t *t, wharf_tail_file_t *f, uint64_t budget)
{
    int64_t size = tail_file_check(t, f);
    if (size < 0)
        return size;
    if ((uint64_t)size == f->read_off)
        return 0;
    size_t have = f->carry_len;
    if (have > 0)
        memcpy(t->rbuf, f->carry, have);
    uint64_t got = 0;
    /* A full block that cannot be committed: read no further. */
    while (got < budget &&
           !(wharf_pipeline_blocked(t->pipeline) && wharf_pipeline_full(t->pipeline))) {
        ssize_t n = pread(f->fd, t->rbuf + have, t->rbuf_cap - have, (off_t)f->read_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        f->read_off += (uint64_t)n;
        have += (size_t)n;
        got += (uint64_t)n;
        t->bytes_read += (uint64_t)n;
        size_t used = tail_split_lines(t, f, t->rbuf, have);
        memmove(t->rbuf, t->rbuf + used, have - used);
        have -= used;
    }
    if (tail_keep_carry(f, t->rbuf, have) < 0)
        return -ENOMEM;
    if (got)
        f->idle_since_ns = wharf_time_now();
    if (got >= budget)
        t->more_to_read = 1;
    return (int64_t)got;
}

/* A rotated-away file that stopped growing: deliver its last line, if it had
 * no newline, close it, and keep its identity so it is not read again. */
static void tail_file_finish(wharf_tail_t *t, wharf_tail_file_t *f)
{
    if (f->carry_len > 0 && !f->skipping)
        t->dec.line(t->dec.arg, f, f->carry, f->carry_len, f->line_off, 0);
    f->line_off = f->read_off;
    f->carry_len = 0;
    f->skipping = 0;
    t->dec.flush(t->dec.arg, f);
    t->dec.close(t->dec.arg, f);
    f->user = NULL;
    close(f->fd);
    f->fd = -1;
    f->finished = 1;
    f->pending = f->read_off;
    free(f->carry);
    f->carry = NULL;
    f->carry_cap = 0;
    wharf_log_info("finished rotated file", "input=%s path=%s offset=%llu", t->opts.input_id,
                   f->path, (unsigned long long)f->read_off);
}

/* ---- discovery -------------------------------------------------------- */

static wharf_tail_file_t *tail_find(wharf_tail_t *t, uint64_t dev, uint64_t ino)
{
    for (wharf_tail_file_t *f = t->files; f != NULL; f = f->next)
        if (f->dev == dev && f->ino == ino)
            return f;
    return NULL;
}

static void tail_consider(wharf_tail_t *t, const char *path, int initial, int live)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return;
    wharf_tail_file_t *f = tail_find(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (f == NULL) {
        int rc = tail_file_open(t, path, initial, live);
        if (rc < 0 && rc != -ENOENT)
            wharf_log_warn("cannot open log file; will retry at the next scan",
                           "input=%s path=%s error=\"%s\"", t->opts.input_id, path,
                           wharf_strerror(rc));
        return;
    }
    f->seen = 1;
    if (live && !f->finished) {
        f->seen_live = 1;
        f->rotated = 0;
    }
    if ((live || !f->seen_live) && strcmp(f->path, path) != 0) {
        char *p = strdup(path);
        if (p != NULL) {
            free(f->path);
            f->path = p;
        }
    }
}

/* Records of files that no glob matches any more (deleted) are dropped. */
static void tail_drop_unseen_records(wharf_tail_t *t)
{
    wharf_tail_file_t **pp = &t->files;
    while (*pp != NULL) {
        wharf_tail_file_t *f = *pp;
        if ((f->ignored || f->finished) && !f->seen) {
            *pp = f->next;
            tail_file_free(t, f);
        } else {
            pp = &f->next;
        }
    }
}

/* Docker's ".3", the kubelet's ".20240101-120000"; not ".gz" and the like. */
static int tail_rotated_suffix_ok(const char *suffix)
{
    if (*suffix == '\0')
        return 0;
    for (const char *c = suffix; *c; c++)
        if (!((*c >= '0' && *c <= '9') || *c == '-'))
            return 0;
    return 1;
}

static void tail_glob(wharf_tail_t *t, const char *pattern, int initial, int live)
{
    glob_t g;
    if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t k = 0; k < g.gl_pathc; k++) {
            const char *path = g.gl_pathv[k];
            const char *dot = strrchr(path, '.');
            if (live || (dot != NULL && tail_rotated_suffix_ok(dot + 1)))
                tail_consider(t, path, initial, live);
        }
    }
    globfree(&g);
}

static void tail_scan(wharf_tail_t *t)
{
    t->scanned = 1;
    int initial = !t->scanned_once;
    for (wharf_tail_file_t *f = t->files; f != NULL; f = f->next)
        f->seen = f->seen_live = 0;
    for (size_t i = 0; i < t->opts.globs->n; i++) {
        tail_glob(t, t->opts.globs->v[i], initial, 1);
        tail_glob(t, t->rotated_globs[i], initial, 0);
    }
    int64_t now = wharf_time_now();
    for (wharf_tail_file_t *f = t->files; f != NULL; f = f->next) {
        if (f->seen_live || f->rotated || f->ignored || f->finished)
            continue;
        f->rotated = 1;
        f->idle_since_ns = now;
        wharf_log_info("file rotated or removed; reading it to its end", "input=%s path=%s",
                       t->opts.input_id, f->path);
    }
    tail_drop_unseen_records(t);
    t->scanned_once = 1;
    t->last_scan_ns = now;
    t->rescan_requested = 0;
}

/* ---- one read pass ------------------------------------------------------ */

static int tail_file_done(wharf_tail_t *t, const wharf_tail_file_t *f, int64_t got, int64_t now)
{
    return t->loop != NULL && f->rotated && got == 0 &&
           now - f->idle_since_ns >= t->opts.rotate_wait_ms * INT64_C(1000000);
}

/* Makes *pp, a file of the list, its first: the list turns around. */
static void tail_files_start_at(wharf_tail_t *t, wharf_tail_file_t **pp)
{
    wharf_tail_file_t *first = *pp, **end = &first->next;
    if (first == t->files)
        return;
    *pp = NULL;
    while (*end != NULL)
        end = &(*end)->next;
    *end = t->files;
    t->files = first;
}

/* Reads each file in turn, budget bytes in all (a file's last read may go
 * one chunk past it); where the budget ran out, the next pass begins. */
static void tail_read_files(wharf_tail_t *t, uint64_t budget)
{
    int64_t now = wharf_time_now();
    wharf_tail_file_t **pp = &t->files;
    while (*pp != NULL) {
        wharf_tail_file_t *f = *pp;
        if (f->ignored || f->finished) {
            pp = &f->next;
            continue;
        }
        if (wharf_pipeline_blocked(t->pipeline))
            break; /* the buffer is full: what is not read stays in the files */
        if (budget == 0) {
            tail_files_start_at(t, pp);
            t->more_to_read = 1;
            break;
        }
        int64_t got = tail_file_read(t, f, budget);
        if (got < 0) {
            wharf_log_error("cannot read log file; letting it go", "input=%s path=%s error=\"%s\"",
                            t->opts.input_id, f->path, wharf_strerror((int)got));
            *pp = f->next;
            tail_file_free(t, f);
            continue;
        }
        if (t->dec.expire != NULL)
            t->dec.expire(t->dec.arg, f,
                          t->loop != NULL ? wharf_pipeline_pass_ns(t->pipeline) : INT64_MAX);
        if (tail_file_done(t, f, got, now))
            tail_file_finish(t, f);
        else
            tail_file_update_pending(t, f);
        budget -= (uint64_t)got < budget ? (uint64_t)got : budget;
        pp = &f->next;
    }
}

static void tail_on_again(uv_idle_t *h);

/* While inputs are paused: a deleted file held open past max_hold_deleted
 * is let go, and what was not read of it is reported lost. */
static void tail_release_deleted(wharf_tail_t *t)
{
    int64_t now = wharf_time_now();
    wharf_tail_file_t **pp = &t->files;
    while (*pp != NULL) {
        wharf_tail_file_t *f = *pp;
        struct stat st;
        if (f->fd < 0 || fstat(f->fd, &st) < 0 || st.st_nlink > 0) {
            pp = &f->next;
            continue;
        }
        if (f->deleted_since_ns == 0)
            f->deleted_since_ns = now;
        if (now - f->deleted_since_ns < t->opts.max_hold_deleted_ms * INT64_C(1000000)) {
            pp = &f->next;
            continue;
        }
        uint64_t size = (uint64_t)st.st_size;
        wharf_log_error("let go of a deleted log file held open while outputs were stuck "
                        "(max_hold_deleted); its unread lines are lost",
                        "input=%s path=%s lost_bytes=%llu", t->opts.input_id, f->path,
                        (unsigned long long)(size > f->pending ? size - f->pending : 0));
        *pp = f->next;
        tail_file_free(t, f);
    }
}

static void tail_pass(wharf_tail_t *t)
{
    if (wharf_pipeline_blocked(t->pipeline) && wharf_pipeline_commit(t->pipeline) < 0) {
        tail_release_deleted(t);
        return;
    }
    wharf_pipeline_begin_pass(t->pipeline);
    int64_t now = wharf_time_now();
    if (t->rescan_requested || now - t->last_scan_ns >= t->opts.rescan_ms * INT64_C(1000000))
        tail_scan(t);
    t->more_to_read = 0;
    tail_read_files(t, TAIL_PASS_BUDGET);
    wharf_pipeline_commit(t->pipeline);
    if (t->more_to_read)
        uv_idle_start(&t->again, tail_on_again);
}

/* ---- libuv plumbing ----------------------------------------------------- */

static void tail_on_timer(uv_timer_t *h)
{
    tail_pass(h->data);
}

/* The pass after one that left a backlog, once the loop has polled for
 * I/O: an idle handle, since a zero timer started from a timer callback
 * runs again at once (libuv before 1.48), and passes in a row would keep
 * signals, the API and the cursor saves waiting until the backlog is read. */
static void tail_on_again(uv_idle_t *h)
{
    uv_idle_stop(h);
    tail_pass(h->data);
}

/* A pass TAIL_KICK_MS after a change; the changes of a burst share it. */
static void tail_on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    wharf_tail_t *t = ((tail_watch_t *)h->data)->tail;
    if (status < 0)
        return;
    if (events & UV_RENAME)
        t->rescan_requested = 1;
    if (!uv_is_active((uv_handle_t *)&t->kick_timer))
        uv_timer_start(&t->kick_timer, tail_on_timer, TAIL_KICK_MS, 0);
}

static void tail_watch_free(uv_handle_t *h)
{
    tail_watch_t *w = h->data;
    free(w->dir);
    free(w);
}

static void tail_watch_dir(wharf_tail_t *t, const char *dir)
{
    for (tail_watch_t *w = t->watches; w != NULL; w = w->next)
        if (strcmp(w->dir, dir) == 0)
            return;
    tail_watch_t *w = calloc(1, sizeof(*w));
    if (w == NULL || (w->dir = strdup(dir)) == NULL) {
        free(w);
        return;
    }
    w->tail = t;
    w->handle.data = w;
    uv_fs_event_init(t->loop, &w->handle);
    if (uv_fs_event_start(&w->handle, tail_on_fs_event, dir, 0) < 0) {
        /* No inotify here (limits reached, odd file system): the periodic
         * rescan and poll still find everything, only later. */
        uv_close((uv_handle_t *)&w->handle, tail_watch_free);
        return;
    }
    w->next = t->watches;
    t->watches = w;
}

/* The directory part of a glob before its first wildcard. */
static void tail_watch_glob_base(wharf_tail_t *t, const char *pattern)
{
    char *base = strdup(pattern);
    if (base == NULL)
        return;
    size_t wild = strcspn(base, "*?[");
    base[wild] = '\0';
    char *slash = strrchr(base, '/');
    if (slash != NULL) {
        *slash = '\0';
        struct stat st;
        if (*base && stat(base, &st) == 0 && S_ISDIR(st.st_mode))
            tail_watch_dir(t, base);
    }
    free(base);
}

int wharf_tail_new(uv_loop_t *loop, wharf_pipeline_t *pipeline, const wharf_positions_t *positions,
                   const wharf_tail_opts_t *opts, const wharf_tail_decoder_t *decoder,
                   wharf_tail_t **out)
{
    wharf_tail_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->loop = loop;
    t->pipeline = pipeline;
    t->positions = positions;
    t->opts = *opts;
    t->dec = *decoder;
    t->rotated_globs = calloc(opts->globs->n ? opts->globs->n : 1, sizeof(char *));
    for (size_t i = 0; t->rotated_globs != NULL && i < opts->globs->n; i++) {
        size_t n = strlen(opts->globs->v[i]) + 3;
        if ((t->rotated_globs[i] = malloc(n)) == NULL) {
            wharf_tail_free(t);
            return -ENOMEM;
        }
        snprintf(t->rotated_globs[i], n, "%s.*", opts->globs->v[i]);
    }
    t->rbuf_cap = opts->max_line_bytes + TAIL_READ_CHUNK;
    t->rbuf = malloc(t->rbuf_cap);
    t->first_start = !wharf_positions_has_input(positions, opts->input_id);
    if (t->rotated_globs == NULL || t->rbuf == NULL) {
        wharf_tail_free(t);
        return -ENOMEM;
    }
    *out = t;
    return 0;
}

int wharf_tail_start(wharf_tail_t *t)
{
    uv_timer_init(t->loop, &t->poll_timer);
    uv_timer_init(t->loop, &t->kick_timer);
    uv_idle_init(t->loop, &t->again);
    t->poll_timer.data = t->kick_timer.data = t->again.data = t;
    t->timers_started = 1;
    for (size_t i = 0; i < t->opts.globs->n; i++)
        tail_watch_glob_base(t, t->opts.globs->v[i]);
    tail_pass(t);
    return uv_timer_start(&t->poll_timer, tail_on_timer, TAIL_POLL_MS, TAIL_POLL_MS);
}

int wharf_tail_read_all(wharf_tail_t *t)
{
    wharf_pipeline_begin_pass(t->pipeline);
    tail_scan(t);
    tail_read_files(t, UINT64_MAX);
    return wharf_pipeline_commit(t->pipeline);
}

void wharf_tail_stop(wharf_tail_t *t)
{
    if (t->timers_started) {
        uv_close((uv_handle_t *)&t->poll_timer, NULL);
        uv_close((uv_handle_t *)&t->kick_timer, NULL);
        uv_close((uv_handle_t *)&t->again, NULL);
        t->timers_started = 0;
    }
    while (t->watches != NULL) {
        tail_watch_t *w = t->watches;
        t->watches = w->next;
        uv_close((uv_handle_t *)&w->handle, tail_watch_free);
    }
}

/* Another input's commit can come before this one's first scan: keep what
 * was restored, or a crash then would forget this input's files. */
static int tail_restored_positions(wharf_tail_t *t, wharf_positions_t *out)
{
    int rc = 0;
    for (size_t i = 0; i < t->positions->n && rc == 0; i++)
        if (strcmp(t->positions->v[i].input_id, t->opts.input_id) == 0)
            rc = wharf_positions_add(out, &t->positions->v[i]);
    return rc;
}

int wharf_tail_positions(wharf_tail_t *t, wharf_positions_t *out)
{
    if (!t->scanned && t->first_start)
        return 0;
    if (!t->scanned) {
        int rc = wharf_positions_add_input(out, t->opts.input_id);
        return rc < 0 ? rc : tail_restored_positions(t, out);
    }
    int rc = wharf_positions_add_input(out, t->opts.input_id);
    for (wharf_tail_file_t *f = t->files; f != NULL && rc == 0; f = f->next) {
        if (f->ignored)
            continue;
        wharf_position_t pos = {
            (char *)t->opts.input_id, f->path, f->dev, f->ino, f->fp_hash, f->fp_len, f->pending};
        rc = wharf_positions_add(out, &pos);
    }
    return rc;
}

void wharf_tail_stats(const wharf_tail_t *t, wharf_tail_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->bytes_read = t->bytes_read;
    for (const wharf_tail_file_t *f = t->files; f != NULL; f = f->next) {
        struct stat st;
        if (f->fd < 0 || fstat(f->fd, &st) < 0)
            continue;
        out->open_files++;
        if ((uint64_t)st.st_size > f->line_off)
            out->lag_bytes += (uint64_t)st.st_size - f->line_off;
    }
}

void wharf_tail_free(wharf_tail_t *t)
{
    if (t == NULL)
        return;
    while (t->files != NULL) {
        wharf_tail_file_t *f = t->files;
        t->files = f->next;
        tail_file_free(t, f);
    }
    for (size_t i = 0; t->rotated_globs != NULL && i < t->opts.globs->n; i++)
        free(t->rotated_globs[i]);
    free(t->rotated_globs);
    free(t->rbuf);
    free(t);
}
