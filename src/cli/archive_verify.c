/* archive_verify.c - `wharf archive verify`: is this archive what wharf
 * wrote, all of it, unaltered?
 *
 * Everything is recomputed from the bytes on disk: each manifest line's
 * chain value from its fields and the line before it, each segment's
 * SHA-256, each signature with the auditor's public key. Every problem is
 * reported with its kind and where it is (line, seq, file), not just the
 * first, because an auditor needs the whole picture; the exit status is 0
 * only when there is none. --json writes the result as one ECS event
 * (event.dataset wharf.audit) for the SIEM that keeps the audit trail. */
#include "archive_cli.h"
#include "wharf/common.h"
#include "wharf/json.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct verify_ctx {
    const archive_cli_args_t *a;
    wharf_archive_manifest_t m;
    wharf_archive_key_t *key;
    wharf_buf_t problems, notes; /* JSON array members */
    size_t n_problems, n_notes;
    uint64_t segments, events, bytes, pruned;
    uint64_t sigs_seen, sigs_ok, sigs_unchecked, after_last_sig;
    wharf_archive_hex_t head;
} verify_ctx_t;

static void verify_add(wharf_buf_t *list, size_t *n, const char *kind, const char *text)
{
    if ((*n)++ > 0)
        wharf_buf_putc(list, ',');
    wharf_buf_append(list, "{\"kind\":", 8);
    wharf_json_write_string(list, kind, strlen(kind));
    wharf_buf_append(list, ",\"message\":", 11);
    wharf_json_write_string(list, text, strlen(text));
    wharf_buf_putc(list, '}');
}

__attribute__((format(printf, 3, 4))) static void verify_problem(verify_ctx_t *v, const char *kind,
                                                                 const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is on the line above */
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    verify_add(&v->problems, &v->n_problems, kind, text);
    if (!v->a->json)
        printf("FAIL %s: %s\n", kind, text);
}

__attribute__((format(printf, 2, 3))) static void verify_note(verify_ctx_t *v, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is on the line above */
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    verify_add(&v->notes, &v->n_notes, "note", text);
    if (!v->a->json)
        printf("note: %s\n", text);
}

/* ---- the manifest ---------------------------------------------------------- */

static void verify_signature(verify_ctx_t *v, size_t lineno, const wharf_archive_line_t *l)
{
    if (l->sig[0] == '\0') {
        v->after_last_sig++;
        return;
    }
    v->after_last_sig = 0;
    v->sigs_seen++;
    if (v->key == NULL) {
        v->sigs_unchecked++;
        return;
    }
    if (wharf_archive_sig_ok(v->key, l->chain, l->sig)) {
        v->sigs_ok++;
        return;
    }
    if (strcmp(l->key, wharf_archive_key_id(v->key)) != 0)
        verify_problem(v, "bad_signature",
                       "manifest line %zu: signed by key %s, not by the --pubkey key %s", lineno,
                       l->key, wharf_archive_key_id(v->key));
    else
        verify_problem(v, "bad_signature",
                       "manifest line %zu: the signature does not verify with key %s", lineno,
                       l->key);
}

/* The chain value of a line that should follow prev. */
static void verify_chain(verify_ctx_t *v, size_t lineno, const char *prev,
                         const wharf_archive_line_t *l)
{
    wharf_archive_hex_t want;
    wharf_archive_chain_next(prev, l, want);
    if (strcmp(want, l->chain) != 0)
        verify_problem(v, "edited_line",
                       "manifest line %zu (%s seq %" PRIu64
                       "): its chain value does not follow from its fields and the line "
                       "before it; the line (or the one before) was edited",
                       lineno, l->type == WHARF_ARCHIVE_PRUNE ? "prune to" : "segment",
                       l->type == WHARF_ARCHIVE_PRUNE ? l->to : l->seq);
}

static const wharf_archive_line_t *verify_find_seq(const verify_ctx_t *v, uint64_t seq)
{
    for (size_t i = 0; i < v->m.n; i++)
        if (v->m.lines[i].type == WHARF_ARCHIVE_SEGMENT && v->m.lines[i].seq == seq)
            return &v->m.lines[i];
    return NULL;
}

static void verify_segment_order(verify_ctx_t *v, size_t lineno, const wharf_archive_line_t *l,
                                 uint64_t *next_seq)
{
    if (l->seq < *next_seq)
        verify_problem(v, "reordered_lines",
                       "manifest line %zu has seq %" PRIu64 " after seq %" PRIu64
                       "; lines were moved or repeated",
                       lineno, l->seq, *next_seq - 1);
    else if (l->seq > *next_seq)
        verify_problem(v, "missing_lines",
                       "manifest lines for seq %" PRIu64 "..%" PRIu64
                       " are missing before line %zu; lines were removed",
                       *next_seq, l->seq - 1, lineno);
    if (l->seq >= *next_seq)
        *next_seq = l->seq + 1;
}

static void verify_prune_line(verify_ctx_t *v, size_t lineno, const wharf_archive_line_t *l)
{
    const wharf_archive_line_t *to = verify_find_seq(v, l->to);
    if (to == NULL || strcmp(to->chain, l->pruned_chain) != 0)
        verify_problem(v, "edited_line",
                       "manifest line %zu: the prune of seq %" PRIu64 "..%" PRIu64
                       " names a chain value that is not the one of seq %" PRIu64,
                       lineno, l->from, l->to, l->to);
}

static int verify_header(verify_ctx_t *v)
{
    const wharf_archive_line_t *h = v->m.n > 0 ? &v->m.lines[0] : NULL;
    if (h == NULL || h->type != WHARF_ARCHIVE_HEADER) {
        verify_problem(v, "invalid_line",
                       "manifest line 1 is not the archive's header line; nothing can be "
                       "checked against the archive id");
        return -1;
    }
    wharf_archive_hex_t start;
    wharf_archive_chain_start(h->archive_id, start);
    if (strcmp(start, h->chain) != 0)
        verify_problem(v, "edited_line",
                       "manifest line 1: its chain value does not follow from archive id %s",
                       h->archive_id);
    memcpy(v->head, h->chain, sizeof(v->head));
    return 0;
}

static void verify_manifest(verify_ctx_t *v)
{
    if (v->m.torn)
        verify_problem(v, "truncated_manifest",
                       "the manifest ends in an incomplete line after byte %zu; it was cut "
                       "short",
                       v->m.complete_len);
    if (verify_header(v) < 0)
        return;
    uint64_t next_seq = 1;
    for (size_t i = 1; i < v->m.n; i++) {
        const wharf_archive_line_t *l = &v->m.lines[i];
        size_t lineno = i + 1;
        switch (l->type) {
        case WHARF_ARCHIVE_SEGMENT:
            verify_segment_order(v, lineno, l, &next_seq);
            verify_chain(v, lineno, v->head, l);
            break;
        case WHARF_ARCHIVE_PRUNE:
            verify_prune_line(v, lineno, l);
            verify_chain(v, lineno, v->head, l);
            break;
        case WHARF_ARCHIVE_SEAL:
            if (strcmp(l->chain, v->head) != 0)
                verify_problem(v, "edited_line",
                               "manifest line %zu: the seal signs a chain value that is not "
                               "the head before it",
                               lineno);
            break;
        default:
            verify_problem(v, "invalid_line",
                           "manifest line %zu is not a valid manifest line (edited, or not "
                           "written by wharf)",
                           lineno);
            continue;
        }
        memcpy(v->head, l->chain, sizeof(v->head));
        verify_signature(v, lineno, l);
    }
}

/* ---- the segments ------------------------------------------------------------ */

static int verify_pruned(const verify_ctx_t *v, uint64_t seq)
{
    for (size_t i = 0; i < v->m.n; i++)
        if (v->m.lines[i].type == WHARF_ARCHIVE_PRUNE && seq >= v->m.lines[i].from &&
            seq <= v->m.lines[i].to)
            return 1;
    return 0;
}

/* The name wharf gives seq's segment ends in "-<seq>.ndjson.zst". */
static int verify_name_fits(const wharf_archive_line_t *l)
{
    char tail[64];
    int n = snprintf(tail, sizeof(tail), "-%08" PRIu64 "%s", l->seq, WHARF_ARCHIVE_SUFFIX);
    size_t len = strlen(l->file);
    return len > (size_t)n && strcmp(l->file + len - (size_t)n, tail) == 0 &&
           strstr(l->file, "..") == NULL && l->file[0] != '/';
}

static void verify_mismatch(verify_ctx_t *v, const wharf_archive_line_t *l, const char *sha,
                            uint64_t size)
{
    for (size_t i = 0; i < v->m.n; i++) {
        const wharf_archive_line_t *o = &v->m.lines[i];
        if (o->type == WHARF_ARCHIVE_SEGMENT && o != l && strcmp(o->sha256, sha) == 0) {
            verify_problem(v, "swapped_segment",
                           "%s (seq %" PRIu64 ") holds the content of seq %" PRIu64
                           " (%s); segments were swapped or copied",
                           l->file, l->seq, o->seq, o->file);
            return;
        }
    }
    verify_problem(v, "modified_segment",
                   "%s (seq %" PRIu64 "): SHA-256 is %s (%" PRIu64
                   " bytes), the manifest says %s (%" PRIu64 " bytes); the segment was altered",
                   l->file, l->seq, sha, size, l->sha256, l->bytes);
}

static void verify_segment(verify_ctx_t *v, const wharf_archive_line_t *l)
{
    if (!verify_name_fits(l)) {
        verify_problem(v, "invalid_line",
                       "manifest seq %" PRIu64 " names file %s, which is not seq %" PRIu64
                       "'s name",
                       l->seq, l->file, l->seq);
        return;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", v->a->path, l->file);
    wharf_archive_hex_t sha;
    uint64_t size = 0;
    int rc = wharf_archive_sha256_file(path, sha, &size);
    if (rc == -ENOENT) {
        verify_problem(v, "missing_segment",
                       "%s (seq %" PRIu64 ") is in the manifest but not on disk; it was deleted",
                       l->file, l->seq);
        return;
    }
    if (rc < 0) {
        verify_problem(v, "unreadable_segment", "%s (seq %" PRIu64 "): %s", l->file, l->seq,
                       wharf_strerror(rc));
        return;
    }
    if (strcmp(sha, l->sha256) != 0) {
        verify_mismatch(v, l, sha, size);
        return;
    }
    v->segments++;
    v->events += l->count;
    v->bytes += l->bytes;
}

static void verify_segments(verify_ctx_t *v)
{
    for (size_t i = 0; i < v->m.n; i++) {
        const wharf_archive_line_t *l = &v->m.lines[i];
        if (l->type != WHARF_ARCHIVE_SEGMENT)
            continue;
        if (verify_pruned(v, l->seq))
            v->pruned++;
        else if (archive_cli_overlaps(v->a, l->first, l->last))
            verify_segment(v, l);
    }
}

/* ---- files the manifest does not list ------------------------------------------ */

static int verify_listed(const verify_ctx_t *v, const char *rel)
{
    for (size_t i = 0; i < v->m.n; i++)
        if (v->m.lines[i].type == WHARF_ARCHIVE_SEGMENT && strcmp(v->m.lines[i].file, rel) == 0)
            return 1;
    return 0;
}

/* The seq in "...-<seq>.ndjson.zst", or 0. */
static uint64_t verify_file_seq(const char *rel)
{
    const char *dash = strrchr(rel, '-');
    return dash != NULL ? strtoull(dash + 1, NULL, 10) : 0;
}

static void verify_file(verify_ctx_t *v, const char *rel)
{
    size_t n = strlen(rel), sl = strlen(WHARF_ARCHIVE_SUFFIX), ol = strlen(WHARF_ARCHIVE_OPEN);
    if (n > sl + ol && strcmp(rel + n - ol, WHARF_ARCHIVE_OPEN) == 0) {
        verify_note(v,
                    "%s is a segment being written (or left open by a crash); it is not "
                    "in the manifest yet and was not checked",
                    rel);
        return;
    }
    size_t ul = strlen(WHARF_ARCHIVE_UNLISTED);
    if (n > sl + ul && strcmp(rel + n - ul, WHARF_ARCHIVE_UNLISTED) == 0) {
        verify_problem(v, "unlisted_segment",
                       "%s is not in the manifest and was not written by wharf, which set it "
                       "aside when it found it at start",
                       rel);
        return;
    }
    if (n <= sl || strcmp(rel + n - sl, WHARF_ARCHIVE_SUFFIX) != 0 || verify_listed(v, rel))
        return;
    if (verify_pruned(v, verify_file_seq(rel)))
        verify_note(v, "%s was pruned by retention but is still on disk", rel);
    else
        verify_problem(v, "unlisted_segment",
                       "%s is on disk but not in the manifest; it was added, or its manifest "
                       "line was removed",
                       rel);
}

static void verify_walk(verify_ctx_t *v, const char *rel, int depth)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", v->a->path, rel);
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char sub[WHARF_ARCHIVE_FILE_MAX];
        if (e->d_name[0] == '.' || snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "",
                                            e->d_name) >= (int)sizeof(sub))
            continue;
        if (depth < 3 && e->d_type != DT_REG)
            verify_walk(v, sub, depth + 1);
        else if (depth == 3)
            verify_file(v, sub);
    }
    closedir(d);
}

/* ---- the result -------------------------------------------------------------- */

static void verify_print_json(verify_ctx_t *v)
{
    wharf_buf_t b;
    char ts[WHARF_TIME_TEXT_LEN + 1], num[256];
    wharf_buf_init(&b);
    wharf_time_format(wharf_time_now(), ts);
    ts[WHARF_TIME_TEXT_LEN] = '\0';
    int ok = v->n_problems == 0;
    snprintf(num, sizeof(num),
             "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"event\",\"category\":[\"file\"],"
             "\"type\":[\"info\"],\"action\":\"archive-verify\",\"outcome\":\"%s\",",
             ts, ok ? "success" : "failure");
    wharf_buf_puts(&b, num);
    wharf_buf_append(&b, "\"dataset\":\"wharf.audit\"},\"message\":", 35);
    snprintf(num, sizeof(num), "archive %s: %zu problems", ok ? "verified" : "failed",
             v->n_problems);
    wharf_json_write_string(&b, num, strlen(num));
    wharf_buf_append(&b, ",\"file\":{\"path\":", 16);
    wharf_json_write_string(&b, v->a->path, strlen(v->a->path));
    wharf_buf_append(&b, "},\"wharf\":{\"archive\":{\"id\":", 27);
    const char *id = v->m.n > 0 ? v->m.lines[0].archive_id : "";
    wharf_json_write_string(&b, id, strlen(id));
    snprintf(num, sizeof(num),
             ",\"segments\":%" PRIu64 ",\"events\":%" PRIu64 ",\"bytes\":%" PRIu64
             ",\"pruned\":%" PRIu64 ",\"chain_head\":\"%s\",\"signatures\":{\"verified\":%" PRIu64
             ",\"unchecked\":%" PRIu64 "},\"problems\":[",
             v->segments, v->events, v->bytes, v->pruned, v->head, v->sigs_ok, v->sigs_unchecked);
    wharf_buf_puts(&b, num);
    wharf_buf_append(&b, v->problems.data, v->problems.len);
    wharf_buf_append(&b, "],\"notes\":[", 11);
    wharf_buf_append(&b, v->notes.data, v->notes.len);
    wharf_buf_append(&b, "]}}}\n", 5);
    fwrite(b.data, 1, b.len, stdout);
    wharf_buf_free(&b);
}

static void verify_print_summary(verify_ctx_t *v)
{
    if (v->a->json) {
        verify_print_json(v);
        return;
    }
    printf("%s: %" PRIu64 " segments verified (%" PRIu64 " events, %" PRIu64 " bytes), %" PRIu64
           " pruned by retention, chain head %s, %" PRIu64 " signatures verified",
           v->a->path, v->segments, v->events, v->bytes, v->pruned, v->head, v->sigs_ok);
    if (v->sigs_unchecked > 0)
        printf(", %" PRIu64 " not checked (no --pubkey)", v->sigs_unchecked);
    if (v->n_problems == 0)
        printf(": OK\n");
    else
        printf(": %zu problems\n", v->n_problems);
}

static void verify_signature_coverage(verify_ctx_t *v)
{
    if (v->key != NULL && v->sigs_seen == 0)
        verify_problem(v, "unsigned", "--pubkey was given but no manifest line is signed");
    else if (v->key != NULL && v->after_last_sig > 0)
        verify_note(v,
                    "the last %" PRIu64 " manifest lines are not signed; the hash chain "
                    "alone protects them",
                    v->after_last_sig);
}

int archive_cli_verify(const archive_cli_args_t *a)
{
    verify_ctx_t v;
    memset(&v, 0, sizeof(v));
    v.a = a;
    char err[512];
    if (a->pubkey != NULL && wharf_archive_key_load(a->pubkey, 0, &v.key, err, sizeof(err)) < 0) {
        fprintf(stderr, "wharf archive verify: %s\n", err);
        return 2;
    }
    int rc = wharf_archive_manifest_read(a->path, &v.m);
    if (rc < 0) {
        fprintf(stderr, "wharf archive verify: cannot read %s/%s: %s\n", a->path,
                WHARF_ARCHIVE_MANIFEST, wharf_strerror(rc));
        wharf_archive_key_free(v.key);
        return 2;
    }
    wharf_buf_init(&v.problems);
    wharf_buf_init(&v.notes);
    verify_manifest(&v);
    verify_segments(&v);
    verify_walk(&v, "", 0);
    verify_signature_coverage(&v);
    verify_print_summary(&v);
    int status = v.n_problems == 0 ? 0 : 1;
    wharf_buf_free(&v.problems);
    wharf_buf_free(&v.notes);
    wharf_archive_manifest_free(&v.m);
    wharf_archive_key_free(v.key);
    return status;
}
