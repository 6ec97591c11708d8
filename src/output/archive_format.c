/* archive_format.c - the retention archive's bytes (see wharf/archive.h):
 * chain values, manifest lines, the frame index, frame scanning, Ed25519.
 *
 * Writer and readers share this file so that what `wharf archive verify`
 * recomputes is by construction what the output wrote. Manifest lines are
 * parsed strictly (every field present, hashes 64 lowercase hex digits): a
 * line that an editor changed in shape is reported as such, not guessed at. */
#include "wharf/archive.h"
#include "wharf/array.h"
#include "wharf/common.h"
#include "wharf/fsutil.h"
#include "wharf/json.h"
#include "wharf/json_find.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define INDEX_MAGIC     "WHIX"
#define INDEX_VERSION   1u
#define INDEX_RECORD    (3 * 8 + 2 * WHARF_TIME_TEXT_LEN)
#define SKIPPABLE_MAGIC 0x184D2A5Eu
#define MANIFEST_MAX    (1u << 30)

static const char *const line_type_names[] = {"", "header", "segment", "prune", "seal"};

void wharf_archive_hex32(const unsigned char md[32], wharf_archive_hex_t out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[WHARF_ARCHIVE_HEX_LEN] = '\0';
}

void wharf_archive_sha256_hex(const void *data, size_t len, wharf_archive_hex_t out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL);
    wharf_archive_hex32(md, out);
}

void wharf_archive_chain_start(const char *archive_id, wharf_archive_hex_t out)
{
    char text[64];
    int n = snprintf(text, sizeof(text), "wharf-archive|%s", archive_id);
    wharf_archive_sha256_hex(text, (size_t)n, out);
}

void wharf_archive_chain_next(const char *prev, const wharf_archive_line_t *l,
                              wharf_archive_hex_t out)
{
    char text[512];
    int n;
    if (l->type == WHARF_ARCHIVE_SEGMENT)
        n = snprintf(text, sizeof(text), "%s|%" PRIu64 "|%s|%" PRIu64 "|%s|%s", prev, l->seq,
                     l->sha256, l->count, l->first, l->last);
    else if (l->type == WHARF_ARCHIVE_PRUNE)
        n = snprintf(text, sizeof(text), "%s|prune|%" PRIu64 "|%" PRIu64 "|%s", prev, l->from,
                     l->to, l->pruned_chain);
    else if (l->type == WHARF_ARCHIVE_HEADER) {
        wharf_archive_chain_start(l->archive_id, out);
        return;
    } else {
        memmove(out, prev, WHARF_ARCHIVE_HEX_LEN + 1);
        return;
    }
    wharf_archive_sha256_hex(text, (size_t)n, out);
}

/* ---- manifest lines ---------------------------------------------------- */

/* Every member after "type" is written as ,"key":value. */
static void line_put_str(wharf_buf_t *b, const char *key, const char *value)
{
    wharf_buf_putc(b, ',');
    wharf_json_write_string(b, key, strlen(key));
    wharf_buf_putc(b, ':');
    wharf_json_write_string(b, value, strlen(value));
}

static void line_put_u64(wharf_buf_t *b, const char *key, uint64_t value)
{
    char num[24];
    int n = snprintf(num, sizeof(num), ",\"%s\":", key);
    wharf_buf_append(b, num, (size_t)n);
    n = snprintf(num, sizeof(num), "%" PRIu64, value);
    wharf_buf_append(b, num, (size_t)n);
}

void wharf_archive_line_format(const wharf_archive_line_t *l, wharf_buf_t *out)
{
    wharf_buf_append(out, "{\"type\":", 8);
    wharf_json_write_string(out, line_type_names[l->type], strlen(line_type_names[l->type]));
    switch (l->type) {
    case WHARF_ARCHIVE_HEADER:
        line_put_u64(out, "version", 1);
        line_put_str(out, "archive_id", l->archive_id);
        line_put_str(out, "host", l->host);
        break;
    case WHARF_ARCHIVE_SEGMENT:
        line_put_u64(out, "seq", l->seq);
        line_put_str(out, "file", l->file);
        line_put_str(out, "sha256", l->sha256);
        line_put_u64(out, "bytes", l->bytes);
        line_put_u64(out, "count", l->count);
        line_put_str(out, "first", l->first);
        line_put_str(out, "last", l->last);
        break;
    case WHARF_ARCHIVE_PRUNE:
        line_put_u64(out, "from", l->from);
        line_put_u64(out, "to", l->to);
        line_put_str(out, "pruned_chain", l->pruned_chain);
        break;
    default:
        line_put_u64(out, "seq", l->seq);
        break;
    }
    line_put_str(out, "at", l->at);
    line_put_str(out, "chain", l->chain);
    if (l->sig[0] != '\0') {
        line_put_str(out, "sig", l->sig);
        line_put_str(out, "key", l->key);
    }
    wharf_buf_putc(out, '}');
    wharf_buf_putc(out, '\n');
}

/* A string member copied into out (cap bytes with the NUL); escapes are not
 * expected in anything wharf writes here, so one is a malformed line. */
static int line_get_str(const char *s, size_t n, const char *key, char *out, size_t cap,
                        int optional)
{
    wharf_json_value_t v;
    int rc = wharf_json_find(s, n, key, strlen(key), &v);
    if (rc == 0 && optional) {
        out[0] = '\0';
        return 0;
    }
    if (rc != 1 || v.type != WHARF_JSON_STRING || v.escaped || v.raw.len >= cap)
        return WHARF_EPARSE;
    memcpy(out, v.raw.ptr, v.raw.len);
    out[v.raw.len] = '\0';
    return 0;
}

static int line_get_u64(const char *s, size_t n, const char *key, uint64_t *out)
{
    wharf_json_value_t v;
    if (wharf_json_find(s, n, key, strlen(key), &v) != 1 || v.type != WHARF_JSON_NUMBER ||
        v.raw.len == 0 || v.raw.len > 20)
        return WHARF_EPARSE;
    uint64_t x = 0;
    for (size_t i = 0; i < v.raw.len; i++) {
        unsigned d = (unsigned)(v.raw.ptr[i] - '0');
        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return WHARF_EPARSE;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

static int is_hex(const char *s, size_t want)
{
    size_t i = 0;
    for (; s[i] != '\0'; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == want;
}

static int line_get_hex(const char *s, size_t n, const char *key, char *out, size_t len)
{
    int rc = line_get_str(s, n, key, out, len + 1, 0);
    return rc == 0 && is_hex(out, len) ? 0 : WHARF_EPARSE;
}

static int line_parse_fields(const char *s, size_t n, wharf_archive_line_t *l)
{
    int rc = 0;
    switch (l->type) {
    case WHARF_ARCHIVE_HEADER:
        rc |= line_get_hex(s, n, "archive_id", l->archive_id, WHARF_ARCHIVE_ID_LEN);
        rc |= line_get_str(s, n, "host", l->host, sizeof(l->host), 0);
        break;
    case WHARF_ARCHIVE_SEGMENT:
        rc |= line_get_u64(s, n, "seq", &l->seq);
        rc |= line_get_str(s, n, "file", l->file, sizeof(l->file), 0);
        rc |= line_get_hex(s, n, "sha256", l->sha256, WHARF_ARCHIVE_HEX_LEN);
        rc |= line_get_u64(s, n, "bytes", &l->bytes);
        rc |= line_get_u64(s, n, "count", &l->count);
        rc |= line_get_str(s, n, "first", l->first, sizeof(l->first), 0);
        rc |= line_get_str(s, n, "last", l->last, sizeof(l->last), 0);
        break;
    case WHARF_ARCHIVE_PRUNE:
        rc |= line_get_u64(s, n, "from", &l->from);
        rc |= line_get_u64(s, n, "to", &l->to);
        rc |= line_get_hex(s, n, "pruned_chain", l->pruned_chain, WHARF_ARCHIVE_HEX_LEN);
        break;
    default:
        rc |= line_get_u64(s, n, "seq", &l->seq);
        break;
    }
    rc |= line_get_str(s, n, "at", l->at, sizeof(l->at), 0);
    rc |= line_get_hex(s, n, "chain", l->chain, WHARF_ARCHIVE_HEX_LEN);
    rc |= line_get_str(s, n, "sig", l->sig, sizeof(l->sig), 1);
    rc |= line_get_str(s, n, "key", l->key, sizeof(l->key), l->sig[0] == '\0');
    return rc != 0 ? WHARF_EPARSE : 0;
}

int wharf_archive_line_parse(const char *s, size_t n, wharf_archive_line_t *l)
{
    char type[16];
    memset(l, 0, sizeof(*l));
    if (line_get_str(s, n, "type", type, sizeof(type), 0) == 0)
        for (int t = WHARF_ARCHIVE_HEADER; t <= WHARF_ARCHIVE_SEAL; t++)
            if (strcmp(type, line_type_names[t]) == 0)
                l->type = (wharf_archive_line_type)t;
    if (l->type == WHARF_ARCHIVE_INVALID || line_parse_fields(s, n, l) < 0) {
        l->type = WHARF_ARCHIVE_INVALID;
        return WHARF_EPARSE;
    }
    return 0;
}

int wharf_archive_manifest_read(const char *archive, wharf_archive_manifest_t *m)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    memset(m, 0, sizeof(*m));
    snprintf(path, sizeof(path), "%s/%s", archive, WHARF_ARCHIVE_MANIFEST);
    int rc = wharf_read_file(path, MANIFEST_MAX, &text, &len);
    if (rc < 0)
        return rc;
    size_t cap = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        if (nl == NULL) {
            m->torn = 1;
            break;
        }
        if (wharf_array_reserve(&m->lines, &cap, m->n + 1, sizeof(*m->lines), 64) < 0) {
            free(text);
            wharf_archive_manifest_free(m);
            return -ENOMEM;
        }
        wharf_archive_line_parse(text + pos, (size_t)(nl - (text + pos)), &m->lines[m->n++]);
        pos = (size_t)(nl - text) + 1;
        m->complete_len = pos;
    }
    free(text);
    return 0;
}

void wharf_archive_manifest_free(wharf_archive_manifest_t *m)
{
    free(m->lines);
    memset(m, 0, sizeof(*m));
}

/* ---- the frame index --------------------------------------------------- */

static void put_le32(wharf_buf_t *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    wharf_buf_append(b, x, 4);
}

static void put_le64(wharf_buf_t *b, uint64_t v)
{
    put_le32(b, (uint32_t)v);
    put_le32(b, (uint32_t)(v >> 32));
}

static uint32_t get_le32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static uint64_t get_le64(const char *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* Layout: skippable frame header (magic, size), "WHIX", version, n, n
 * records (offset, size, count, first, last), then the payload size and
 * "WHIX" again, so a reader finds the index from the end of the file. */
void wharf_archive_index_format(const wharf_archive_frame_t *frames, size_t n, wharf_buf_t *out)
{
    uint32_t payload = (uint32_t)(4 + 4 + 4 + n * INDEX_RECORD + 4 + 4);
    put_le32(out, SKIPPABLE_MAGIC);
    put_le32(out, payload);
    wharf_buf_append(out, INDEX_MAGIC, 4);
    put_le32(out, INDEX_VERSION);
    put_le32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        char ts[2 * WHARF_TIME_TEXT_LEN] = {0};
        put_le64(out, frames[i].offset);
        put_le64(out, frames[i].size);
        put_le64(out, frames[i].count);
        memcpy(ts, frames[i].first, strlen(frames[i].first));
        memcpy(ts + WHARF_TIME_TEXT_LEN, frames[i].last, strlen(frames[i].last));
        wharf_buf_append(out, ts, sizeof(ts));
    }
    put_le32(out, payload);
    wharf_buf_append(out, INDEX_MAGIC, 4);
}

static void index_copy_ts(const char *p, wharf_archive_ts_t out)
{
    memcpy(out, p, WHARF_TIME_TEXT_LEN);
    out[WHARF_TIME_TEXT_LEN] = '\0';
}

/* Reads exactly len bytes at off. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return WHARF_EPARSE;
        done += (size_t)n;
    }
    return 0;
}

static int index_parse(const char *p, uint32_t payload, uint64_t index_off,
                       wharf_archive_frame_t **frames, size_t *n)
{
    uint32_t count = get_le32(p + 16);
    if (get_le32(p) != SKIPPABLE_MAGIC || get_le32(p + 4) != payload ||
        memcmp(p + 8, INDEX_MAGIC, 4) != 0 || get_le32(p + 12) != INDEX_VERSION ||
        (uint64_t)count * INDEX_RECORD + 20 != payload)
        return WHARF_EPARSE;
    wharf_archive_frame_t *f = calloc(count ? count : 1, sizeof(*f));
    if (f == NULL)
        return -ENOMEM;
    const char *r = p + 20;
    for (uint32_t i = 0; i < count; i++, r += INDEX_RECORD) {
        f[i].offset = get_le64(r);
        f[i].size = get_le64(r + 8);
        f[i].count = get_le64(r + 16);
        index_copy_ts(r + 24, f[i].first);
        index_copy_ts(r + 24 + WHARF_TIME_TEXT_LEN, f[i].last);
        if (f[i].size > index_off || f[i].offset > index_off - f[i].size) {
            free(f);
            return WHARF_EPARSE;
        }
    }
    *frames = f;
    *n = count;
    return 0;
}

int wharf_archive_index_read(int fd, wharf_archive_frame_t **frames, size_t *n)
{
    struct stat st;
    char tail[8];
    if (fstat(fd, &st) < 0)
        return -errno;
    uint64_t size = (uint64_t)st.st_size;
    int rc = size < 28 ? WHARF_EPARSE : read_at(fd, tail, sizeof(tail), size - 8);
    if (rc < 0)
        return rc;
    uint32_t payload = get_le32(tail);
    if (memcmp(tail + 4, INDEX_MAGIC, 4) != 0 || payload < 20 || (uint64_t)payload + 8 > size)
        return WHARF_EPARSE;
    char *p = malloc((size_t)payload + 8);
    if (p == NULL)
        return -ENOMEM;
    uint64_t index_off = size - payload - 8;
    rc = read_at(fd, p, (size_t)payload + 8, index_off);
    if (rc == 0)
        rc = index_parse(p, payload, index_off, frames, n);
    free(p);
    return rc;
}

int wharf_archive_sha256_file(const char *path, wharf_archive_hex_t out, uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    char *buf = malloc(1 << 20);
    int rc =
        ctx == NULL || buf == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ? -ENOMEM : 0;
    *size = 0;
    while (rc == 0) {
        ssize_t n = read(fd, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -errno;
        if (n <= 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        *size += (uint64_t)n;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 32)
        wharf_archive_hex32(md, out);
    else if (rc == 0)
        rc = -EIO;
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return rc;
}

/* ---- frames ------------------------------------------------------------- */

int wharf_archive_frame_decompress(const char *data, size_t len, wharf_buf_t *out)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (dctx == NULL)
        return -ENOMEM;
    ZSTD_inBuffer in = {data, len, 0};
    size_t rc = 1;
    while (in.pos < in.size || rc != 0) {
        wharf_buf_reserve(out, 1 << 17);
        ZSTD_outBuffer o = {out->data + out->len, out->cap - out->len, 0};
        rc = ZSTD_decompressStream(dctx, &o, &in);
        out->len += o.pos;
        if (ZSTD_isError(rc) || (in.pos == in.size && rc != 0 && o.pos < o.size))
            break;
    }
    ZSTD_freeDCtx(dctx);
    return ZSTD_isError(rc) || rc != 0 ? WHARF_EPARSE : 0;
}

void wharf_archive_span_add(wharf_archive_ts_t first, wharf_archive_ts_t last,
                            const wharf_archive_ts_t ts)
{
    if (first[0] == '\0' || strcmp(ts, first) < 0)
        memcpy(first, ts, WHARF_TIME_TEXT_LEN + 1);
    if (last[0] == '\0' || strcmp(ts, last) > 0)
        memcpy(last, ts, WHARF_TIME_TEXT_LEN + 1);
}

void wharf_archive_frame_account(const char *text, size_t len, wharf_archive_frame_t *f)
{
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        wharf_archive_ts_t ts;
        if (wharf_archive_event_time(text + pos, end - pos, ts))
            wharf_archive_span_add(f->first, f->last, ts);
        f->count++;
        pos = end + 1;
    }
}

static int frame_is_skippable(const char *p, size_t len)
{
    return len >= 4 && (get_le32(p) & 0xFFFFFFF0u) == 0x184D2A50u;
}

int wharf_archive_frames_scan(const char *data, size_t len, wharf_archive_frame_t **frames,
                              size_t *n, size_t *valid_end)
{
    wharf_archive_frame_t *v = NULL;
    size_t count = 0, cap = 0, off = 0;
    wharf_buf_t text;
    wharf_buf_init(&text);
    while (off < len && !frame_is_skippable(data + off, len - off)) {
        size_t size = ZSTD_findFrameCompressedSize(data + off, len - off);
        if (ZSTD_isError(size))
            break;
        text.len = 0;
        if (wharf_archive_frame_decompress(data + off, size, &text) < 0)
            break;
        if (wharf_array_reserve(&v, &cap, count + 1, sizeof(*v), 16) < 0) {
            free(v);
            wharf_buf_free(&text);
            return -ENOMEM;
        }
        wharf_archive_frame_t *f = &v[count++];
        memset(f, 0, sizeof(*f));
        f->offset = off;
        f->size = size;
        wharf_archive_frame_account(text.data, text.len, f);
        off += size;
    }
    wharf_buf_free(&text);
    *frames = v;
    *n = count;
    *valid_end = count > 0 ? (size_t)(v[count - 1].offset + v[count - 1].size) : 0;
    return 0;
}

int wharf_archive_event_time(const char *line, size_t len, wharf_archive_ts_t out)
{
    static const char prefix[] = "{\"@timestamp\":\"";
    size_t plen = sizeof(prefix) - 1;
    if (len > plen + WHARF_TIME_TEXT_LEN && memcmp(line, prefix, plen) == 0 &&
        line[plen + WHARF_TIME_TEXT_LEN] == '"' && line[plen + WHARF_TIME_TEXT_LEN - 1] == 'Z') {
        memcpy(out, line + plen, WHARF_TIME_TEXT_LEN);
        out[WHARF_TIME_TEXT_LEN] = '\0';
        return 1;
    }
    wharf_json_value_t v;
    int64_t ns;
    if (wharf_json_find(line, len, "@timestamp", 10, &v) != 1 || v.type != WHARF_JSON_STRING ||
        wharf_time_parse(v.raw.ptr, v.raw.len, &ns) < 0)
        return 0;
    wharf_time_format(ns, out);
    out[WHARF_TIME_TEXT_LEN] = '\0';
    return 1;
}

/* ---- Ed25519 ------------------------------------------------------------ */

struct wharf_archive_key {
    EVP_PKEY *pkey;
    char id[WHARF_ARCHIVE_KEY_LEN + 1];
};

static EVP_PKEY *key_read_pem(const char *path, int private_key)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    EVP_PKEY *k = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
                              : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (k == NULL && !private_key) {
        rewind(f); /* a private key file also tells its public key */
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    }
    fclose(f);
    return k;
}

int wharf_archive_key_load(const char *path, int private_key, wharf_archive_key_t **out, char *err,
                           size_t err_len)
{
    EVP_PKEY *pkey = key_read_pem(path, private_key);
    if (pkey == NULL) {
        snprintf(err, err_len,
                 "cannot read an %s key in PEM from %s (make one with: openssl genpkey "
                 "-algorithm ed25519 -out FILE)",
                 private_key ? "Ed25519 private" : "Ed25519 public", path);
        return -EINVAL;
    }
    unsigned char raw[32];
    size_t raw_len = sizeof(raw);
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len) != 1) {
        snprintf(err, err_len, "%s is not an Ed25519 key", path);
        EVP_PKEY_free(pkey);
        return -EINVAL;
    }
    wharf_archive_key_t *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return -ENOMEM;
    }
    wharf_archive_hex_t fp;
    wharf_archive_sha256_hex(raw, raw_len, fp);
    memcpy(k->id, fp, WHARF_ARCHIVE_KEY_LEN);
    k->pkey = pkey;
    *out = k;
    return 0;
}

void wharf_archive_key_free(wharf_archive_key_t *k)
{
    if (k == NULL)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *wharf_archive_key_id(const wharf_archive_key_t *k)
{
    return k->id;
}

int wharf_archive_sign(wharf_archive_key_t *k, const char *chain,
                       char sig[WHARF_ARCHIVE_SIG_LEN + 1])
{
    unsigned char raw[64];
    size_t raw_len = sizeof(raw);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
             EVP_DigestSign(ctx, raw, &raw_len, (const unsigned char *)chain,
                            WHARF_ARCHIVE_HEX_LEN) == 1 &&
             raw_len == sizeof(raw);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)sig, raw, (int)sizeof(raw));
    return 0;
}

int wharf_archive_sig_ok(wharf_archive_key_t *k, const char *chain, const char *sig)
{
    unsigned char raw[66];
    if (strlen(sig) != WHARF_ARCHIVE_SIG_LEN ||
        EVP_DecodeBlock(raw, (const unsigned char *)sig, WHARF_ARCHIVE_SIG_LEN) != 66)
        return 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok =
        ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
        EVP_DigestVerify(ctx, raw, 64, (const unsigned char *)chain, WHARF_ARCHIVE_HEX_LEN) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}
