/* fuzz_cri_line.c - CRI lines through the parser: the text it returns lies
 * inside the line, and the event written from it is valid JSON. */
#include "fuzz_support.h"
#include "wharf/cri.h"
#include "wharf/json.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    wharf_container_record_t r = {0};
    wharf_arena_t arena;
    wharf_arena_init(&arena, 4096);
    wharf_event_t e = {0};
    e.arena = &arena;
    wharf_event_clear(&e);
    if (cri_line_parse(line, size, &r) == 0) {
        if (r.text < line || r.text + r.len > line + size)
            abort();
        if (r.stream != WHARF_STREAM_STDOUT && r.stream != WHARF_STREAM_STDERR)
            abort();
        wharf_event_set_str(&e, WHARF_F_MESSAGE, r.text, r.len);
        wharf_event_set_time(&e, WHARF_F_TIMESTAMP, r.ns);
    } else {
        wharf_event_set_str(&e, WHARF_F_MESSAGE, line, size);
        wharf_event_tag(&e, WHARF_TAG_INVALID_CRI);
    }
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_json_write_event(&w, &e, &b);
    yajl_tree_free(fuzz_require_json_line(&b));
    wharf_buf_free(&b);
    wharf_arena_free(&arena);
    return 0;
}
