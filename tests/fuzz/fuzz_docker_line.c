/* fuzz_docker_line.c - Docker json-file lines through the decoder and the
 * writer, one decoder across all lines as in production. Whatever the bytes,
 * nothing crashes, a decoded line's slices stay inside the line or the arena,
 * and the event written from it is valid JSON. */
#include "fuzz_support.h"
#include "wharf/docker.h"
#include "wharf/json.h"

#include <stdint.h>

static void fuzz_one_line(docker_line_decoder_t *dec, wharf_arena_t *arena, const char *line,
                          size_t len)
{
    wharf_event_t e = {0};
    e.arena = arena;
    wharf_event_clear(&e);
    if (docker_line_decode(dec, line, len) == 0) {
        const docker_line_t *l = &dec->line;
        wharf_event_set_str(&e, WHARF_F_MESSAGE, l->log, l->log_len);
        if (l->ns)
            wharf_event_set_time(&e, WHARF_F_TIMESTAMP, l->ns);
        for (size_t i = 0; i < l->n_attrs; i++)
            if (strlen(l->attrs[i].key) + strlen(l->attrs[i].value) > 2 * len + 2)
                abort();
    } else {
        wharf_event_set_str(&e, WHARF_F_MESSAGE, line, len);
        wharf_event_tag(&e, WHARF_TAG_INVALID_JSON);
    }
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_json_write_event(&w, &e, &b);
    yajl_tree_free(fuzz_require_json_line(&b));
    wharf_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    docker_line_decoder_t dec;
    wharf_arena_t arena;
    docker_line_decoder_init(&dec);
    wharf_arena_init(&arena, 4096);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        fuzz_one_line(&dec, &arena, p, len);
        wharf_arena_reset(&arena);
        p += len + 1;
    }
    docker_line_decoder_free(&dec);
    wharf_arena_free(&arena);
    return 0;
}
