/* archive.c - `wharf archive verify|cat`: the compliance team's commands.
 *
 *   wharf archive verify PATH [--pubkey FILE] [--from T] [--to T] [--json]
 *   wharf archive cat PATH [--from T] [--to T] [--where field=value]...
 *
 * cat streams the events of a time range as NDJSON. It reads the manifest,
 * opens only the segments whose span meets the range, reads their frame
 * index, and decompresses only the frames whose span meets it; a segment
 * of a year-old archive costs a few reads, not a decompression. */
#include "archive_cli.h"
#include "cli.h"
#include "wharf/common.h"
#include "wharf/json_find.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int archive_cli_overlaps(const archive_cli_args_t *a, const char *first, const char *last)
{
    if (first[0] == '\0')
        return 1;
    return (a->to[0] == '\0' || strcmp(first, a->to) < 0) &&
           (a->from[0] == '\0' || strcmp(last, a->from) >= 0);
}

/* "2026-11-23" (midnight UTC), RFC 3339, or ISO 8601 without a zone (UTC). */
static int archive_cli_time(const char *s, wharf_archive_ts_t out)
{
    char text[64];
    int64_t ns;
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-')
        snprintf(text, sizeof(text), "%sT00:00:00Z", s);
    else
        snprintf(text, sizeof(text), "%s", s);
    if (wharf_time_parse_log(text, strlen(text), NULL, NULL, wharf_time_now(), &ns) < 0)
        return -1;
    wharf_time_format(ns, out);
    out[WHARF_TIME_TEXT_LEN] = '\0';
    return 0;
}

static int archive_cli_parse(int argc, char **argv, const char *cmd, archive_cli_args_t *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < argc && argv[i] != NULL; i++) {
        const char *s = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (strcmp(s, "--from") == 0 && value != NULL)
            ok = archive_cli_time(argv[++i], a->from) == 0;
        else if (strcmp(s, "--to") == 0 && value != NULL)
            ok = archive_cli_time(argv[++i], a->to) == 0;
        else if (strcmp(s, "--pubkey") == 0 && value != NULL && strcmp(cmd, "verify") == 0)
            a->pubkey = argv[++i];
        else if (strcmp(s, "--json") == 0 && strcmp(cmd, "verify") == 0)
            a->json = 1;
        else if (strcmp(s, "--where") == 0 && value != NULL && strcmp(cmd, "cat") == 0 &&
                 strchr(value, '=') != NULL && a->n_where < ARCHIVE_CLI_WHERE_MAX)
            a->where[a->n_where++] = argv[++i];
        else if (s[0] != '-' && a->path == NULL)
            a->path = s;
        else {
            fprintf(stderr, "wharf archive %s: unexpected argument '%s' (see wharf help archive)\n",
                    cmd, s);
            return -1;
        }
        if (!ok) {
            fprintf(stderr,
                    "wharf archive %s: '%s' is not a time (use 2026-11-23, "
                    "2026-11-23T10:00:00Z or 2026-11-23T10:00:00+01:00)\n",
                    cmd, argv[i]);
            return -1;
        }
    }
    if (a->path == NULL) {
        fprintf(stderr, "wharf archive %s: the archive directory is required\n", cmd);
        return -1;
    }
    return 0;
}

/* A --where condition holds: the field exists and its text (a string
 * unescaped, a number or true/false/null as written) equals the value. */
static int archive_cat_where_holds(const char *line, size_t len, const char *cond,
                                   wharf_buf_t *scratch)
{
    const char *eq = strchr(cond, '=');
    wharf_json_value_t v;
    if (wharf_json_find(line, len, cond, (size_t)(eq - cond), &v) != 1)
        return 0;
    wharf_str_t text = v.raw;
    if (v.type == WHARF_JSON_STRING && v.escaped) {
        scratch->len = 0;
        if (wharf_json_string_unescape(v.raw, scratch) < 0)
            return 0;
        text = (wharf_str_t){scratch->data, scratch->len};
    }
    size_t want = strlen(eq + 1);
    return text.len == want && memcmp(text.ptr, eq + 1, want) == 0;
}

static int archive_cat_line_matches(const archive_cli_args_t *a, const char *line, size_t len,
                                    wharf_buf_t *scratch)
{
    wharf_archive_ts_t ts;
    if ((a->from[0] != '\0' || a->to[0] != '\0') &&
        (!wharf_archive_event_time(line, len, ts) || !archive_cli_overlaps(a, ts, ts)))
        return 0;
    for (size_t i = 0; i < a->n_where; i++)
        if (!archive_cat_where_holds(line, len, a->where[i], scratch))
            return 0;
    return 1;
}

/* Prints the matching lines of one decompressed frame. */
static void archive_cat_text(const archive_cli_args_t *a, const char *text, size_t len,
                             wharf_buf_t *scratch)
{
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) + 1 : len;
        if (archive_cat_line_matches(a, text + pos, end - pos, scratch))
            fwrite(text + pos, 1, end - pos, stdout);
        pos = end;
    }
}

static int archive_cat_segment(const archive_cli_args_t *a, const wharf_archive_line_t *l)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", a->path, l->file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    wharf_archive_frame_t *frames = NULL;
    size_t n = 0;
    int rc = wharf_archive_index_read(fd, &frames, &n);
    wharf_buf_t z, text, scratch;
    wharf_buf_init(&z);
    wharf_buf_init(&text);
    wharf_buf_init(&scratch);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!archive_cli_overlaps(a, frames[i].first, frames[i].last))
            continue;
        wharf_buf_reserve(&z, frames[i].size);
        ssize_t got = pread(fd, z.data, frames[i].size, (off_t)frames[i].offset);
        text.len = 0;
        if (got != (ssize_t)frames[i].size ||
            wharf_archive_frame_decompress(z.data, frames[i].size, &text) < 0)
            rc = WHARF_EPARSE;
        else
            archive_cat_text(a, text.data, text.len, &scratch);
    }
    wharf_buf_free(&z);
    wharf_buf_free(&text);
    wharf_buf_free(&scratch);
    free(frames);
    close(fd);
    return rc;
}

/* Whether seq was deleted by a prune line. */
static int archive_cli_pruned(const wharf_archive_manifest_t *m, uint64_t seq)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->lines[i].type == WHARF_ARCHIVE_PRUNE && seq >= m->lines[i].from &&
            seq <= m->lines[i].to)
            return 1;
    return 0;
}

static int archive_cat(const archive_cli_args_t *a)
{
    wharf_archive_manifest_t m;
    int rc = wharf_archive_manifest_read(a->path, &m);
    if (rc < 0) {
        fprintf(stderr, "wharf archive cat: cannot read %s/%s: %s\n", a->path,
                WHARF_ARCHIVE_MANIFEST, wharf_strerror(rc));
        return 1;
    }
    int status = 0;
    for (size_t i = 0; i < m.n; i++) {
        const wharf_archive_line_t *l = &m.lines[i];
        if (l->type != WHARF_ARCHIVE_SEGMENT || !archive_cli_overlaps(a, l->first, l->last) ||
            archive_cli_pruned(&m, l->seq))
            continue;
        rc = archive_cat_segment(a, l);
        if (rc < 0) {
            fprintf(stderr,
                    "wharf archive cat: cannot read segment %s (seq %llu): %s; run wharf "
                    "archive verify\n",
                    l->file, (unsigned long long)l->seq, wharf_strerror(rc));
            status = 1;
        }
    }
    wharf_archive_manifest_free(&m);
    if (fflush(stdout) != 0)
        status = 1;
    return status;
}

int wharf_cmd_archive(int argc, char **argv)
{
    archive_cli_args_t a;
    if (argc < 1 || (strcmp(argv[0], "verify") != 0 && strcmp(argv[0], "cat") != 0)) {
        wharf_cli_help("archive");
        return 2;
    }
    if (archive_cli_parse(argc - 1, argv + 1, argv[0], &a) < 0)
        return 2;
    return strcmp(argv[0], "cat") == 0 ? archive_cat(&a) : archive_cli_verify(&a);
}
