/* fuzz_json_writer.c - arbitrary bytes into every kind of field: the output
 * always parses, and "message" reads back as the input with each invalid
 * UTF-8 byte replaced by U+FFFD (checked against a reference decoder written
 * here, independent of the writer's). */
#include "fuzz_support.h"
#include "wharf/json.h"

#include <stdint.h>

/* Reference: the expected UTF-8 text for bytes s, one U+FFFD per bad byte. */
static size_t ref_sanitize(const unsigned char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = 0;
        unsigned cp = 0;
        if (c < 0x80) {
            k = 1;
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            k = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 4;
            cp = c & 0x07;
        }
        int ok = k > 0 && i + k <= n;
        for (size_t j = 1; ok && j < k; j++) {
            ok = (s[i + j] & 0xc0) == 0x80;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (ok && (cp < min_cp[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))
            ok = 0;
        if (!ok) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, s + i, k);
        o += k;
        i += k;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wharf_arena_t arena;
    wharf_arena_init(&arena, 4096);
    wharf_event_t e = {0};
    e.arena = &arena;
    wharf_event_clear(&e);
    const char *s = (const char *)data;
    size_t half = size / 2;
    wharf_event_set_str(&e, WHARF_F_MESSAGE, s, size);
    wharf_str_t strs[2] = {{s, half}, {s + half, size - half}};
    wharf_event_set_strs(&e, WHARF_F_CONTAINER_IMAGE_TAG, strs, 2);
    wharf_event_set_long(&e, WHARF_F_LOG_OFFSET,
                         size ? (int64_t)((uint64_t)data[0] << 56) : INT64_MIN);
    wharf_event_set_time(&e, WHARF_F_TIMESTAMP,
                         size >= 8 ? (int64_t)data[1] * INT64_C(10000000000000000) : 0);
    static const char *const paths[] = {"source.ip", "zz.a.b", "container.x", "a-b", "user.name"};
    for (size_t i = 0; i < 5 && i < size; i++) {
        wharf_value_t *v = wharf_event_set_path(&e, paths[(data[i] + i) % 5],
                                                strlen(paths[(data[i] + i) % 5]), WHARF_V_STR);
        if (v != NULL)
            v->u.str = (wharf_str_t){s, half};
    }
    if (size > 3 && data[2] & 1)
        wharf_event_tag(&e, WHARF_TAG_TRUNCATED);
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_json_write_event(&w, &e, &b);
    yajl_val root = fuzz_require_json_line(&b);
    const char *msg_path[] = {"message", NULL};
    yajl_val msg = yajl_tree_get(root, msg_path, yajl_t_string);
    char *want = malloc(size * 3 + 1);
    size_t want_len = ref_sanitize(data, size, want);
    /* yajl's string stops at an embedded NUL; compare what it can hold. */
    const char *got = msg ? YAJL_GET_STRING(msg) : NULL;
    if (got == NULL || strncmp(got, want, want_len) != 0 ||
        (memchr(want, '\0', want_len) == NULL && strlen(got) != want_len)) {
        fprintf(stderr, "message does not read back\n");
        abort();
    }
    free(want);
    yajl_tree_free(root);
    wharf_buf_free(&b);
    wharf_arena_free(&arena);
    return 0;
}
