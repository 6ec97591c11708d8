/* archive.c - the `archive` output: retention segments an auditor can check
 * (format in wharf/archive.h).
 *
 * Events are compressed as they come into one standard zstd frame per
 * frame_size of NDJSON, appended to the open segment, PATH/.../NAME.open.
 * The output is asynchronous (wharf/output.h): it confirms bytes only once
 * the frames holding them are fsync'ed, so the buffer cursor never passes an
 * event a crash could still take away. A frame also ends when it is older
 * than flush_interval, so a quiet host's events are confirmed too.
 *
 * A segment closes at roll.max_size or roll.max_age: its frame index is
 * appended, it is fsync'ed and renamed to its final name, and then its line
 * (SHA-256, count, span, chain value, signature) is appended to the
 * manifest. A segment killed mid-write is finished at the next start from
 * its valid frames; the events of a torn frame were never confirmed and come
 * again from the buffer. Retention deletes whole segments, oldest first,
 * after appending a chained prune line, so that deletion by policy is told
 * apart from deletion by hand. */
#include "wharf/archive.h"

#include "wharf/array.h"
#include "wharf/common.h"
#include "wharf/fsutil.h"
#include "wharf/log.h"
#include "wharf/output.h"
#include "wharf/timefmt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define NS_PER_MS        1000000LL
#define ARCHIVE_PRUNE_MS 60000 /* how often retention is looked at */
#define ARCHIVE_PATH_MAX 4096

typedef struct archive_roll {
    uint64_t max_size;
    int64_t max_age_ms;
} archive_roll_t;

typedef struct archive_opts {
    char *path;
    archive_roll_t roll;
    int64_t compression_level;
    int64_t retention_ms; /* 0: keep for ever */
    char *signing_key;
    int64_t sign_every;
    uint64_t frame_size;
    int64_t flush_interval_ms;
} archive_opts_t;

static const wharf_conf_key_t archive_roll_keys[] = {
    {.name = "max_size",
     .kind = WHARF_CK_SIZE,
     .offset = offsetof(archive_roll_t, max_size),
     .min = 4096,
     .max = INT64_MAX},
    {.name = "max_age",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(archive_roll_t, max_age_ms),
     .min = 1000,
     .max = INT64_MAX},
    {.name = NULL},
};

static void archive_roll_init(void *p)
{
    archive_roll_t *r = p;
    r->max_size = 256ull << 20;
    r->max_age_ms = 3600LL * 1000;
}

static const wharf_conf_key_t archive_keys[] = {
    {.name = "path", .kind = WHARF_CK_STR, .offset = offsetof(archive_opts_t, path), .required = 1},
    {.name = "roll",
     .kind = WHARF_CK_OBJECT,
     .offset = offsetof(archive_opts_t, roll),
     .sub = archive_roll_keys,
     .sub_init = archive_roll_init},
    {.name = "compression_level",
     .kind = WHARF_CK_INT,
     .offset = offsetof(archive_opts_t, compression_level),
     .min = 1,
     .max = 19},
    {.name = "retention",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(archive_opts_t, retention_ms),
     .min = 1000,
     .max = INT64_MAX},
    {.name = "signing_key", .kind = WHARF_CK_STR, .offset = offsetof(archive_opts_t, signing_key)},
    {.name = "sign_every",
     .kind = WHARF_CK_INT,
     .offset = offsetof(archive_opts_t, sign_every),
     .min = 1,
     .max = 1000000},
    {.name = "frame_size",
     .kind = WHARF_CK_SIZE,
     .offset = offsetof(archive_opts_t, frame_size),
     .min = 4096,
     .max = 64ll << 20},
    {.name = "flush_interval",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(archive_opts_t, flush_interval_ms),
     .min = 1,
     .max = 3600LL * 1000},
    {.name = NULL},
};

static void archive_opts_init(void *p)
{
    archive_opts_t *o = p;
    o->compression_level = 1;
    o->sign_every = 1;
    o->frame_size = 1u << 20;
    o->flush_interval_ms = 1000;
}

/* A closed segment still on disk, for retention. */
typedef struct archive_kept {
    uint64_t seq;
    int64_t closed_ns;
    char file[WHARF_ARCHIVE_FILE_MAX];
    wharf_archive_hex_t chain;
} archive_kept_t;

/* The segment being written. */
typedef struct archive_segment {
    int fd; /* -1: none open */
    uint64_t seq;
    char file[WHARF_ARCHIVE_FILE_MAX]; /* final name, relative to the archive */
    int64_t opened_ns;
    uint64_t bytes, count;
    wharf_archive_ts_t first, last;
    EVP_MD_CTX *sha;
    wharf_archive_frame_t *frames;
    size_t n_frames, cap_frames;
} archive_segment_t;

typedef struct archive_output {
    wharf_output_t base;
    const archive_opts_t *opts;
    char host[64];
    int manifest_fd;
    /* the manifest's head */
    uint64_t last_seq;
    wharf_archive_hex_t chain;
    uint64_t unsigned_lines; /* chained lines since the last signature */
    archive_kept_t *kept;
    size_t n_kept, cap_kept;
    archive_segment_t seg;
    /* the frame being filled */
    uint64_t frame_in; /* NDJSON bytes fed to the compressor for this frame */
    int frame_done;    /* z holds the whole frame; it waits to be written */
    wharf_archive_frame_t frame;
    int64_t frame_started_ns;
    ZSTD_CCtx *cctx;
    wharf_buf_t z;
    /* bytes write() took, that are in written frames, that are fsync'ed */
    uint64_t accepted, written, confirmed;
    int failing; /* the last frame or close failed (logged once) */
    /* a closed segment whose manifest line could not be appended yet */
    wharf_archive_line_t pending;
    int has_pending, pending_seal;
    wharf_archive_key_t *key;
    int64_t next_prune_ns;
} archive_output_t;

static void archive_path(const archive_output_t *a, const char *rel, const char *suffix,
                         char out[ARCHIVE_PATH_MAX])
{
    snprintf(out, ARCHIVE_PATH_MAX, "%s/%s%s", a->opts->path, rel, suffix);
}

static int archive_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* The directory part of path, fsync'ed: a rename or create is durable. */
static int archive_fsync_parent(const char *path)
{
    char dir[ARCHIVE_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    return archive_fsync_dir(slash != NULL ? dir : ".");
}

/* ---- the manifest --------------------------------------------------------- */

static void archive_now_text(wharf_archive_ts_t out)
{
    wharf_time_format(wharf_time_now(), out);
    out[WHARF_TIME_TEXT_LEN] = '\0';
}

/* Appends one line, durably; on a failed or short write the manifest is cut
 * back so that it never holds part of a line. */
static int archive_manifest_append(archive_output_t *a, const wharf_archive_line_t *l)
{
    wharf_buf_t text;
    wharf_buf_init(&text);
    wharf_archive_line_format(l, &text);
    off_t end = lseek(a->manifest_fd, 0, SEEK_END);
    int rc = end < 0 ? -errno : wharf_write_all(a->manifest_fd, text.data, text.len);
    if (rc == 0 && fdatasync(a->manifest_fd) < 0)
        rc = -errno;
    if (rc < 0 && end >= 0 && ftruncate(a->manifest_fd, end) < 0)
        wharf_log_error("cannot cut a partial line off the archive manifest",
                        "output=%s error=\"%s\"", a->base.id, wharf_strerror(-errno));
    wharf_buf_free(&text);
    return rc;
}

/* Chains l onto the head, signs it when due (or when `seal`), appends it. */
static int archive_manifest_add(archive_output_t *a, wharf_archive_line_t *l, int seal)
{
    archive_now_text(l->at);
    wharf_archive_chain_next(a->chain, l, l->chain);
    if (a->key != NULL && (seal || a->unsigned_lines + 1 >= (uint64_t)a->opts->sign_every)) {
        int rc = wharf_archive_sign(a->key, l->chain, l->sig);
        if (rc < 0)
            return rc;
        snprintf(l->key, sizeof(l->key), "%s", wharf_archive_key_id(a->key));
    }
    int rc = archive_manifest_append(a, l);
    if (rc < 0)
        return rc;
    memcpy(a->chain, l->chain, sizeof(a->chain));
    a->unsigned_lines = l->sig[0] != '\0' ? 0 : a->unsigned_lines + 1;
    return 0;
}

static int archive_kept_push(archive_output_t *a, const wharf_archive_line_t *l)
{
    if (wharf_array_reserve(&a->kept, &a->cap_kept, a->n_kept + 1, sizeof(*a->kept), 64) < 0)
        return -ENOMEM;
    archive_kept_t *k = &a->kept[a->n_kept++];
    k->seq = l->seq;
    if (wharf_time_parse(l->at, strlen(l->at), &k->closed_ns) < 0)
        k->closed_ns = 0;
    snprintf(k->file, sizeof(k->file), "%s", l->file);
    memcpy(k->chain, l->chain, sizeof(k->chain));
    return 0;
}

/* Takes the head (chain, last seq, signature debt) and the segments still
 * kept from the manifest's lines. Lines are trusted here: checking them is
 * `wharf archive verify`'s job, and the writer only appends. */
static int archive_manifest_load(archive_output_t *a, const wharf_archive_manifest_t *m)
{
    if (m->n == 0 || m->lines[0].type != WHARF_ARCHIVE_HEADER) {
        wharf_log_error("the archive manifest does not begin with a wharf header line; this is "
                        "not a wharf archive or it was damaged: check it with `wharf archive "
                        "verify`, or point the output at a new directory",
                        "output=%s path=%s", a->base.id, a->opts->path);
        return WHARF_EPARSE;
    }
    for (size_t i = 0; i < m->n; i++) {
        const wharf_archive_line_t *l = &m->lines[i];
        if (l->type == WHARF_ARCHIVE_INVALID) {
            wharf_log_warn("archive manifest line is not valid; appending after it anyway, "
                           "run `wharf archive verify`",
                           "output=%s line=%zu", a->base.id, i + 1);
            continue;
        }
        if (l->type != WHARF_ARCHIVE_SEAL) {
            memcpy(a->chain, l->chain, sizeof(a->chain));
            a->unsigned_lines++;
        }
        if (l->sig[0] != '\0')
            a->unsigned_lines = 0;
        if (l->type == WHARF_ARCHIVE_SEGMENT) {
            if (l->seq > a->last_seq)
                a->last_seq = l->seq;
            int rc = archive_kept_push(a, l);
            if (rc < 0)
                return rc;
        }
        if (l->type == WHARF_ARCHIVE_PRUNE) {
            size_t keep = 0;
            for (size_t k = 0; k < a->n_kept; k++)
                if (a->kept[k].seq < l->from || a->kept[k].seq > l->to)
                    a->kept[keep++] = a->kept[k];
            a->n_kept = keep;
        }
    }
    return 0;
}

static int archive_manifest_create(archive_output_t *a, const char *path)
{
    unsigned char id[WHARF_ARCHIVE_ID_LEN / 2];
    if (RAND_bytes(id, sizeof(id)) != 1)
        return -EIO;
    wharf_archive_line_t h;
    memset(&h, 0, sizeof(h));
    h.type = WHARF_ARCHIVE_HEADER;
    for (size_t i = 0; i < sizeof(id); i++)
        snprintf(h.archive_id + 2 * i, 3, "%02x", id[i]);
    snprintf(h.host, sizeof(h.host), "%s", a->host);
    archive_now_text(h.at);
    wharf_archive_chain_start(h.archive_id, h.chain);
    wharf_buf_t text;
    wharf_buf_init(&text);
    wharf_archive_line_format(&h, &text);
    int rc = wharf_write_file_atomic(path, text.data, text.len);
    wharf_buf_free(&text);
    if (rc == 0)
        wharf_log_info("created a new archive", "output=%s path=%s archive_id=%s", a->base.id,
                       a->opts->path, h.archive_id);
    return rc;
}

static int archive_manifest_open(archive_output_t *a)
{
    char path[ARCHIVE_PATH_MAX];
    archive_path(a, WHARF_ARCHIVE_MANIFEST, "", path);
    wharf_archive_manifest_t m;
    int rc = wharf_archive_manifest_read(a->opts->path, &m);
    if (rc == -ENOENT) {
        rc = archive_manifest_create(a, path);
        if (rc == 0)
            rc = wharf_archive_manifest_read(a->opts->path, &m);
    }
    if (rc < 0)
        return rc;
    a->manifest_fd = open(path, O_WRONLY | O_CLOEXEC);
    if (a->manifest_fd < 0)
        rc = -errno;
    if (rc == 0 && m.torn) {
        wharf_log_warn("the archive manifest ended in a partial line (wharf stopped while "
                       "appending it); removed it, the segment is recorded again",
                       "output=%s", a->base.id);
        if (ftruncate(a->manifest_fd, (off_t)m.complete_len) < 0)
            rc = -errno;
    }
    if (rc == 0)
        rc = archive_manifest_load(a, &m);
    wharf_archive_manifest_free(&m);
    return rc;
}

/* ---- segments ------------------------------------------------------------ */

static void archive_host_name(archive_output_t *a)
{
    char name[64] = "";
    if (gethostname(name, sizeof(name) - 1) < 0 || name[0] == '\0')
        snprintf(name, sizeof(name), "localhost");
    /* a file name part: anything unusual becomes '_' */
    for (char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '.' || *c == '_'))
            *c = '_';
    snprintf(a->host, sizeof(a->host), "%s", name);
}

/* Appends the line of the segment closed last. Until it went through no
 * segment opens, so the manifest gets every seq in order. */
static int archive_pending_commit(archive_output_t *a)
{
    if (!a->has_pending)
        return 0;
    int rc = archive_manifest_add(a, &a->pending, a->pending_seal);
    if (rc == 0)
        rc = archive_kept_push(a, &a->pending);
    if (rc < 0)
        return rc;
    a->has_pending = 0;
    a->last_seq = a->pending.seq;
    wharf_log_debug("archive segment closed", "output=%s file=%s events=%" PRIu64 " bytes=%" PRIu64,
                    a->base.id, a->pending.file, a->pending.count, a->pending.bytes);
    return 0;
}

static int archive_segment_open(archive_output_t *a)
{
    archive_segment_t *s = &a->seg;
    int rc = archive_pending_commit(a);
    if (rc < 0)
        return rc;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    s->seq = a->last_seq + 1;
    snprintf(s->file, sizeof(s->file), "%04d/%02d/%02d/%s-%08" PRIu64 "%s", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, a->host, s->seq, WHARF_ARCHIVE_SUFFIX);
    char path[ARCHIVE_PATH_MAX];
    archive_path(a, s->file, WHARF_ARCHIVE_OPEN, path);
    rc = wharf_mkdir_parent(path, 0750);
    if (rc < 0)
        return rc;
    s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (s->fd < 0)
        return -errno;
    s->sha = EVP_MD_CTX_new();
    if (s->sha == NULL || EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1) {
        close(s->fd);
        s->fd = -1;
        return -ENOMEM;
    }
    s->opened_ns = wharf_time_now();
    s->bytes = s->count = 0;
    s->first[0] = s->last[0] = '\0';
    s->n_frames = 0;
    return archive_fsync_parent(path);
}

/* Appends bytes to the open segment; a failed or short write is cut off. */
static int archive_segment_append(archive_output_t *a, const char *data, size_t len)
{
    archive_segment_t *s = &a->seg;
    int rc = wharf_write_all(s->fd, data, len);
    if (rc == 0) {
        EVP_DigestUpdate(s->sha, data, len);
        s->bytes += len;
        return 0;
    }
    if (ftruncate(s->fd, (off_t)s->bytes) < 0 || lseek(s->fd, (off_t)s->bytes, SEEK_SET) < 0)
        rc = -errno;
    return rc;
}

static int archive_segment_add_frame(archive_segment_t *s, const wharf_archive_frame_t *f)
{
    if (wharf_array_reserve(&s->frames, &s->cap_frames, s->n_frames + 1, sizeof(*s->frames), 64) <
        0)
        return -ENOMEM;
    s->frames[s->n_frames++] = *f;
    s->count += f->count;
    if (f->first[0] != '\0') {
        wharf_archive_span_add(s->first, s->last, f->first);
        wharf_archive_span_add(s->first, s->last, f->last);
    }
    return 0;
}

static void archive_segment_reset(archive_segment_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    EVP_MD_CTX_free(s->sha);
    s->sha = NULL;
}

/* Index, fsync, rename to the final name, manifest line. The segment's
 * events are durable before its line exists, so the manifest never lists a
 * segment that does not verify. */
static int archive_segment_close(archive_output_t *a, int seal)
{
    archive_segment_t *s = &a->seg;
    char open_path[ARCHIVE_PATH_MAX], path[ARCHIVE_PATH_MAX];
    archive_path(a, s->file, WHARF_ARCHIVE_OPEN, open_path);
    archive_path(a, s->file, "", path);
    if (s->n_frames == 0) {
        archive_segment_reset(s);
        return unlink(open_path) < 0 && errno != ENOENT ? -errno : 0;
    }
    wharf_buf_t index;
    wharf_buf_init(&index);
    wharf_archive_index_format(s->frames, s->n_frames, &index);
    int rc = archive_segment_append(a, index.data, index.len);
    wharf_buf_free(&index);
    if (rc == 0 && fdatasync(s->fd) < 0)
        rc = -errno;
    if (rc == 0 && rename(open_path, path) < 0)
        rc = -errno;
    if (rc == 0)
        rc = archive_fsync_parent(path);
    if (rc < 0)
        return rc;
    a->confirmed = a->written;
    wharf_archive_line_t l;
    memset(&l, 0, sizeof(l));
    l.type = WHARF_ARCHIVE_SEGMENT;
    l.seq = s->seq;
    snprintf(l.file, sizeof(l.file), "%s", s->file);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_DigestFinal_ex(s->sha, md, &md_len);
    if (md_len != 32)
        return -EIO;
    wharf_archive_hex32(md, l.sha256);
    l.bytes = s->bytes;
    l.count = s->count;
    memcpy(l.first, s->first, sizeof(l.first));
    memcpy(l.last, s->last, sizeof(l.last));
    archive_segment_reset(s);
    a->pending = l;
    a->pending_seal = seal;
    a->has_pending = 1;
    return archive_pending_commit(a);
}

/* ---- frames --------------------------------------------------------------- */

/* Feeds NDJSON to the frame's compressor (ZSTD_e_continue) or ends the
 * frame (ZSTD_e_end); compressed bytes gather in z. Streaming keeps only
 * the compressed frame in memory, never a copy of the events. */
static int archive_compress(archive_output_t *a, const char *data, size_t len, ZSTD_EndDirective op)
{
    ZSTD_inBuffer in = {data, len, 0};
    size_t left;
    do {
        wharf_buf_reserve(&a->z, ZSTD_compressBound(len - in.pos) + ZSTD_CStreamOutSize());
        ZSTD_outBuffer out = {a->z.data + a->z.len, a->z.cap - a->z.len, 0};
        left = ZSTD_compressStream2(a->cctx, &out, &in, op);
        if (ZSTD_isError(left))
            return -EIO;
        a->z.len += out.pos;
    } while (op == ZSTD_e_end ? left != 0 : in.pos < in.size);
    return 0;
}

/* Ends the frame being filled and appends it to the open segment (opening
 * one if needed), then closes the segment when it reached roll.max_size. On
 * failure the compressed frame stays, to be written again. */
static int archive_frame_end(archive_output_t *a)
{
    if (a->frame_in == 0)
        return 0;
    int rc = a->frame_done ? 0 : archive_compress(a, NULL, 0, ZSTD_e_end);
    if (rc < 0)
        return rc;
    a->frame_done = 1;
    rc = a->seg.fd < 0 ? archive_segment_open(a) : 0;
    if (rc < 0)
        return rc;
    a->frame.offset = a->seg.bytes;
    a->frame.size = a->z.len;
    rc = archive_segment_append(a, a->z.data, a->z.len);
    if (rc == 0)
        rc = archive_segment_add_frame(&a->seg, &a->frame);
    if (rc < 0)
        return rc;
    a->z.len = 0;
    a->frame_in = 0;
    a->frame_done = 0;
    memset(&a->frame, 0, sizeof(a->frame));
    a->frame_started_ns = 0;
    a->written = a->accepted;
    if (a->seg.bytes >= a->opts->roll.max_size)
        return archive_segment_close(a, 0);
    return 0;
}

/* Makes the written frames durable; what they hold is confirmed. */
static int archive_sync(archive_output_t *a)
{
    if (a->written == a->confirmed)
        return 0;
    if (a->seg.fd >= 0 && fdatasync(a->seg.fd) < 0)
        return -errno;
    a->confirmed = a->written;
    return 0;
}

/* ---- retention ------------------------------------------------------------ */

/* Removes now-empty day, month and year directories above a deleted file. */
static void archive_remove_empty_dirs(archive_output_t *a, const char *file)
{
    char rel[WHARF_ARCHIVE_FILE_MAX];
    snprintf(rel, sizeof(rel), "%s", file);
    for (int depth = 0; depth < 3; depth++) {
        char *slash = strrchr(rel, '/');
        if (slash == NULL)
            return;
        *slash = '\0';
        char path[ARCHIVE_PATH_MAX];
        archive_path(a, rel, "", path);
        if (rmdir(path) < 0)
            return;
    }
}

/* Deletes the segments closed longer than `retention` ago, oldest first,
 * after their prune line is in the manifest: a crash in between leaves
 * files the manifest calls pruned, never a gap it cannot explain. */
static int archive_prune(archive_output_t *a)
{
    int64_t now = wharf_time_now();
    a->next_prune_ns = now + ARCHIVE_PRUNE_MS * NS_PER_MS;
    if (a->opts->retention_ms <= 0)
        return 0;
    int64_t cutoff = now - a->opts->retention_ms * NS_PER_MS;
    size_t n = 0;
    while (n < a->n_kept && a->kept[n].closed_ns < cutoff)
        n++;
    if (n == 0)
        return 0;
    wharf_archive_line_t l;
    memset(&l, 0, sizeof(l));
    l.type = WHARF_ARCHIVE_PRUNE;
    l.seq = a->last_seq;
    l.from = a->kept[0].seq;
    l.to = a->kept[n - 1].seq;
    memcpy(l.pruned_chain, a->kept[n - 1].chain, sizeof(l.pruned_chain));
    int rc = archive_manifest_add(a, &l, 0);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char path[ARCHIVE_PATH_MAX];
        archive_path(a, a->kept[i].file, "", path);
        if (unlink(path) < 0 && errno != ENOENT)
            wharf_log_warn("cannot delete a pruned archive segment; delete it by hand",
                           "output=%s file=%s error=\"%s\"", a->base.id, path,
                           wharf_strerror(-errno));
        archive_remove_empty_dirs(a, a->kept[i].file);
    }
    memmove(a->kept, a->kept + n, (a->n_kept - n) * sizeof(*a->kept));
    a->n_kept -= n;
    wharf_log_info("archive retention deleted segments", "output=%s from=%" PRIu64 " to=%" PRIu64,
                   a->base.id, l.from, l.to);
    return 0;
}

/* ---- recovery ------------------------------------------------------------- */

/* A segment file found on disk that the manifest does not list yet. */
typedef struct archive_found {
    uint64_t seq;
    char file[WHARF_ARCHIVE_FILE_MAX]; /* relative, without .open */
    int open;
} archive_found_t;

/* The seq of "<host>-<seq>.ndjson.zst[.open]", or 0. */
static uint64_t archive_name_seq(const char *name, int *open)
{
    size_t n = strlen(name), sl = strlen(WHARF_ARCHIVE_SUFFIX), ol = strlen(WHARF_ARCHIVE_OPEN);
    *open = n > ol && strcmp(name + n - ol, WHARF_ARCHIVE_OPEN) == 0;
    if (*open)
        n -= ol;
    if (n <= sl || strncmp(name + n - sl, WHARF_ARCHIVE_SUFFIX, sl) != 0)
        return 0;
    n -= sl;
    size_t d = n;
    while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9')
        d--;
    if (d == 0 || d == n || name[d - 1] != '-' || n - d > 19)
        return 0;
    return strtoull(name + d, NULL, 10);
}

/* Looks through the YYYY/MM/DD directories for the segment after last_seq.
 * Only that one can be wharf's own unfinished segment; any other file the
 * manifest does not list is left for `wharf archive verify` to report. */
static void archive_find_unlisted(archive_output_t *a, const char *rel, int depth,
                                  archive_found_t *found)
{
    char path[ARCHIVE_PATH_MAX];
    archive_path(a, rel, "", path);
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[WHARF_ARCHIVE_FILE_MAX];
        int n = snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (n < 0 || (size_t)n >= sizeof(sub))
            continue;
        if (depth < 3) {
            archive_find_unlisted(a, sub, depth + 1, found);
            continue;
        }
        int open = 0;
        uint64_t seq = archive_name_seq(e->d_name, &open);
        if (seq != a->last_seq + 1)
            continue;
        found->seq = seq;
        found->open = open;
        if (open)
            sub[n - strlen(WHARF_ARCHIVE_OPEN)] = '\0';
        snprintf(found->file, sizeof(found->file), "%s", sub);
    }
    closedir(d);
}

/* Whether a closed file ends in the frame index wharf appends when it
 * closes a segment, right after frames that match it: what a crash between
 * the rename and the manifest line leaves. Anything else is not wharf's. */
static int archive_index_matches(const char *path, const wharf_archive_frame_t *frames, size_t n,
                                 size_t valid_end, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    wharf_archive_frame_t *index = NULL;
    size_t n_index = 0;
    int ok = wharf_archive_index_read(fd, &index, &n_index) == 0 && n_index == n && n > 0;
    close(fd);
    for (size_t i = 0; ok && i < n; i++)
        ok = index[i].offset == frames[i].offset && index[i].size == frames[i].size &&
             index[i].count == frames[i].count;
    ok = ok && frames[n - 1].offset + frames[n - 1].size == valid_end && valid_end < len;
    free(index);
    return ok;
}

/* Moves a file wharf did not write out of the way of the segment it would
 * name, keeping it (as NAME.unlisted) for `wharf archive verify` to report. */
static int archive_set_aside(archive_output_t *a, const char *file, const char *path)
{
    char aside[ARCHIVE_PATH_MAX];
    archive_path(a, file, WHARF_ARCHIVE_UNLISTED, aside);
    if (rename(path, aside) < 0)
        return -errno;
    wharf_log_error("an archive file the manifest does not list was not written by wharf; it "
                    "was set aside and `wharf archive verify` reports it until it is removed",
                    "output=%s file=%s%s", a->base.id, file, WHARF_ARCHIVE_UNLISTED);
    return archive_fsync_parent(aside);
}

/* Rebuilds the open segment's state from its valid frames and closes it. */
static int archive_recover_segment(archive_output_t *a, const archive_found_t *f)
{
    char path[ARCHIVE_PATH_MAX];
    archive_path(a, f->file, f->open ? WHARF_ARCHIVE_OPEN : "", path);
    char *data = NULL;
    size_t len = 0;
    int rc = wharf_read_file(path, SIZE_MAX / 2, &data, &len);
    wharf_archive_frame_t *frames = NULL;
    size_t n = 0, valid_end = 0;
    if (rc == 0)
        rc = wharf_archive_frames_scan(data, len, &frames, &n, &valid_end);
    if (rc == 0 && !f->open && !archive_index_matches(path, frames, n, valid_end, len)) {
        free(frames);
        free(data);
        return archive_set_aside(a, f->file, path);
    }
    if (rc == 0 && !f->open) {
        char open_path[ARCHIVE_PATH_MAX];
        archive_path(a, f->file, WHARF_ARCHIVE_OPEN, open_path);
        rc = rename(path, open_path) < 0 ? -errno : 0;
        snprintf(path, sizeof(path), "%s", open_path);
    }
    archive_segment_t *s = &a->seg;
    if (rc == 0) {
        s->seq = f->seq;
        snprintf(s->file, sizeof(s->file), "%s", f->file);
        s->fd = open(path, O_WRONLY | O_CLOEXEC);
        rc = s->fd < 0 ? -errno : ftruncate(s->fd, (off_t)valid_end) < 0 ? -errno : 0;
    }
    if (rc == 0) {
        s->sha = EVP_MD_CTX_new();
        if (s->sha == NULL || EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1)
            rc = -ENOMEM;
    }
    if (rc == 0) {
        EVP_DigestUpdate(s->sha, data, valid_end);
        s->bytes = valid_end;
        s->count = s->n_frames = 0;
        s->first[0] = s->last[0] = '\0';
        lseek(s->fd, (off_t)valid_end, SEEK_SET);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = archive_segment_add_frame(s, &frames[i]);
    }
    if (rc == 0) {
        wharf_log_warn("finishing an archive segment left open when wharf stopped; events of "
                       "an unfinished frame come again from the buffer",
                       "output=%s file=%s frames=%zu events=%" PRIu64 " removed_bytes=%zu",
                       a->base.id, f->file, n, s->count, len - valid_end);
        rc = archive_segment_close(a, 0);
    }
    if (rc < 0)
        archive_segment_reset(s);
    free(frames);
    free(data);
    return rc;
}

static int archive_recover(archive_output_t *a)
{
    for (;;) {
        archive_found_t f = {0};
        archive_find_unlisted(a, "", 0, &f);
        if (f.seq == 0)
            return 0;
        int rc = archive_recover_segment(a, &f);
        if (rc < 0) {
            wharf_log_error("cannot finish an archive segment left open when wharf stopped",
                            "output=%s file=%s error=\"%s\"", a->base.id, f.file,
                            wharf_strerror(rc));
            return rc;
        }
    }
}

/* ---- the output ------------------------------------------------------------ */

static void archive_report(archive_output_t *a, int rc, const char *what)
{
    if (rc < 0 && !a->failing)
        wharf_log_error("archive cannot write; events stay in the buffer until it can",
                        "output=%s during=\"%s\" error=\"%s\"", a->base.id, what,
                        wharf_strerror(rc));
    else if (rc == 0 && a->failing)
        wharf_log_info("archive writes again", "output=%s", a->base.id);
    a->failing = rc < 0;
    if (rc < 0)
        snprintf(a->base.error, sizeof(a->base.error), "%s: %s", what, wharf_strerror(rc));
}

/* How much of data the frame being filled takes: all of it while it fits
 * in frame_size, else up to the end of the line that reaches frame_size, so
 * frames stay near frame_size whatever the size of the buffer's blocks (the
 * delivery layer hands the rest to the next write). */
static size_t archive_frame_take(const archive_output_t *a, const char *data, size_t len)
{
    uint64_t room = a->opts->frame_size > a->frame_in ? a->opts->frame_size - a->frame_in : 0;
    if (len <= room)
        return len;
    size_t from = room > 0 ? (size_t)room - 1 : 0;
    const char *nl = memchr(data + from, '\n', len - from);
    return nl != NULL ? (size_t)(nl - data) + 1 : len;
}

static long archive_write(wharf_output_t *o, const char *data, size_t len)
{
    archive_output_t *a = (archive_output_t *)o;
    if (a->frame_done) {
        int rc = archive_frame_end(a); /* a frame that failed before */
        archive_report(a, rc, "writing a frame");
        if (rc < 0)
            return rc;
    }
    if (a->frame_in == 0)
        a->frame_started_ns = wharf_time_now();
    len = archive_frame_take(a, data, len);
    int rc = archive_compress(a, data, len, ZSTD_e_continue);
    if (rc < 0)
        return rc;
    a->frame_in += len;
    wharf_archive_frame_account(data, len, &a->frame);
    a->accepted += len;
    if (a->frame_in >= a->opts->frame_size)
        archive_report(a, archive_frame_end(a), "writing a frame");
    return (long)len;
}

static uint64_t archive_poll(wharf_output_t *o)
{
    archive_output_t *a = (archive_output_t *)o;
    int64_t now = wharf_time_now();
    int rc = 0;
    if (a->frame_in > 0 && now - a->frame_started_ns >= a->opts->flush_interval_ms * NS_PER_MS)
        rc = archive_frame_end(a);
    if (rc == 0)
        rc = archive_sync(a);
    if (rc == 0 && a->seg.fd >= 0 && a->frame_in == 0 &&
        now - a->seg.opened_ns >= a->opts->roll.max_age_ms * NS_PER_MS)
        rc = archive_segment_close(a, 0);
    if (rc == 0 && now >= a->next_prune_ns)
        rc = archive_prune(a);
    archive_report(a, rc, "flushing");
    return a->confirmed;
}

static uint64_t archive_flush(wharf_output_t *o, int timeout_ms)
{
    archive_output_t *a = (archive_output_t *)o;
    (void)timeout_ms;
    int rc = archive_frame_end(a);
    if (rc == 0)
        rc = archive_sync(a);
    archive_report(a, rc, "flushing");
    return a->confirmed;
}

static void archive_set_wake(wharf_output_t *o, void (*wake)(void *arg), void *arg)
{
    /* never full: write() compresses in place, poll() confirms */
    (void)o;
    (void)wake;
    (void)arg;
}

/* On shutdown the open segment is closed and its line signed; with nothing
 * to close, a seal line signs the head if the last line is unsigned. */
static void archive_seal(archive_output_t *a)
{
    int rc = archive_frame_end(a);
    if (rc == 0 && a->seg.fd >= 0)
        rc = archive_segment_close(a, 1);
    else if (rc == 0 && a->key != NULL && a->unsigned_lines > 0) {
        wharf_archive_line_t l;
        memset(&l, 0, sizeof(l));
        l.type = WHARF_ARCHIVE_SEAL;
        l.seq = a->last_seq;
        rc = archive_manifest_add(a, &l, 1);
    }
    if (rc < 0)
        wharf_log_error("cannot close the archive segment at shutdown; it is finished at the "
                        "next start",
                        "output=%s error=\"%s\"", a->base.id, wharf_strerror(rc));
}

static void archive_destroy(wharf_output_t *o)
{
    archive_output_t *a = (archive_output_t *)o;
    if (a->manifest_fd >= 0) {
        archive_seal(a);
        close(a->manifest_fd);
    }
    archive_segment_reset(&a->seg);
    free(a->seg.frames);
    free(a->kept);
    wharf_buf_free(&a->z);
    ZSTD_freeCCtx(a->cctx);
    wharf_archive_key_free(a->key);
    free(a);
}

static const wharf_output_async_ops_t archive_async_ops = {
    archive_set_wake, archive_poll, archive_flush,
    NULL, /* it never sets lost: a failed write is retried from the same place */
};

static const wharf_output_ops_t archive_ops = {
    archive_write, NULL, NULL, archive_destroy, &archive_async_ops,
};

static int archive_key_open(archive_output_t *a)
{
    if (a->opts->signing_key == NULL)
        return 0;
    char err[512];
    int rc = wharf_archive_key_load(a->opts->signing_key, 1, &a->key, err, sizeof(err));
    if (rc < 0)
        wharf_log_error("cannot load the archive signing key", "output=%s error=\"%s\"", a->base.id,
                        err);
    return rc;
}

static int archive_compressor_new(archive_output_t *a)
{
    a->cctx = ZSTD_createCCtx();
    if (a->cctx == NULL)
        return -ENOMEM;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(a->cctx, ZSTD_c_compressionLevel,
                                            (int)a->opts->compression_level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(a->cctx, ZSTD_c_checksumFlag, 1)))
        return -EINVAL;
    return 0;
}

static int archive_create(const wharf_conf_section_t *sec, wharf_output_t **out)
{
    archive_output_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->base.ops = &archive_ops;
    a->base.id = sec->id;
    a->opts = sec->opts;
    a->manifest_fd = -1;
    a->seg.fd = -1;
    wharf_buf_init(&a->z);
    archive_host_name(a);
    int rc = archive_compressor_new(a);
    if (rc == 0)
        rc = archive_key_open(a);
    if (rc == 0)
        rc = wharf_mkdir_p(a->opts->path, 0750);
    if (rc == 0)
        rc = archive_manifest_open(a);
    if (rc == 0)
        rc = archive_recover(a);
    if (rc == 0)
        rc = archive_prune(a);
    if (rc < 0) {
        wharf_log_error("cannot open the archive", "output=%s path=%s error=\"%s\"", sec->id,
                        a->opts->path, wharf_strerror(rc));
        if (a->manifest_fd >= 0)
            close(a->manifest_fd);
        a->manifest_fd = -1;
        archive_destroy(&a->base);
        return rc;
    }
    *out = &a->base;
    return 0;
}

/* `wharf check`: a signing key that cannot be used fails now, not at start. */
static void archive_check(const wharf_conf_section_t *sec, wharf_conf_report_fn report, void *ctx)
{
    const archive_opts_t *o = sec->opts;
    if (o->signing_key == NULL)
        return;
    char err[512];
    wharf_archive_key_t *k = NULL;
    if (wharf_archive_key_load(o->signing_key, 1, &k, err, sizeof(err)) < 0)
        report(ctx, sec->line, err);
    wharf_archive_key_free(k);
}

const wharf_output_type_t wharf_output_archive = {
    {"archive", archive_keys, sizeof(archive_opts_t), archive_opts_init, archive_check},
    archive_create,
};
