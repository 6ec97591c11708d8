/* docker.h - decoding Docker json-file lines, exposed for tests and fuzzing.
 *
 * One line is one JSON object {"log":..., "stream":..., "time":..., "attrs":
 * {...}}; other keys are skipped, whatever their value. */
#ifndef WHARF_DOCKER_H
#define WHARF_DOCKER_H

#include "wharf/arena.h"
#include "wharf/container.h"
#include "wharf/container_log.h"

#define DOCKER_MAX_ATTRS 64

/* One decoded line. Strings point into the line itself when they had no
 * escapes, else into the decoder's arena; valid until the next decode. */
typedef struct docker_line {
    const char *log; /* as written, including a trailing "\n" */
    size_t log_len;
    wharf_stream stream; /* WHARF_STREAM_NONE when missing or unknown */
    int64_t ns;          /* 0 when "time" is missing or malformed */
    wharf_label_t attrs[DOCKER_MAX_ATTRS];
    size_t n_attrs;
} docker_line_t;

typedef struct docker_line_decoder {
    docker_line_t line;
    wharf_arena_t arena;
} docker_line_decoder_t;

void docker_line_decoder_init(docker_line_decoder_t *dec);
/* Returns 0 when the line is a JSON object with a string "log", filling
 * dec->line; WHARF_EPARSE otherwise (not JSON, not an object, trailing
 * bytes, "log" missing or not a string); -ENOMEM. */
int docker_line_decode(docker_line_decoder_t *dec, const char *text, size_t len);
void docker_line_decoder_free(docker_line_decoder_t *dec);

#endif
