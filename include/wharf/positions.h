/* positions.h - where each input stopped reading.
 *
 * A file is identified by (device, inode) plus a hash of its first bytes, so
 * a reused inode is not taken for the file it replaced. A journal input's
 * position is a journal cursor instead (sd_journal_get_cursor); `replay`
 * says the entry it names was not delivered yet (the first part of a message
 * still being joined), so reading resumes with it. Positions are saved
 * as checkpoint records in the disk buffer, in the same commit as the events
 * read up to them (wharf/buffer.h), so they never run ahead of what was
 * saved. */
#ifndef WHARF_POSITIONS_H
#define WHARF_POSITIONS_H

#include "wharf/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wharf_position {
    char *input_id;
    char *path;
    uint64_t dev;
    uint64_t ino;
    uint64_t fp_hash;
    uint32_t fp_len;
    uint64_t offset;
} wharf_position_t;

typedef struct wharf_cursor_position {
    char *input_id;
    char *cursor;
    int replay;
} wharf_cursor_position_t;

typedef struct wharf_positions {
    wharf_position_t *v;
    size_t n, cap;
    wharf_cursor_position_t *cursors;
    size_t n_cursors;
    char **inputs; /* ids of inputs that have started before */
    size_t n_inputs;
} wharf_positions_t;

void wharf_positions_init(wharf_positions_t *p);
void wharf_positions_free(wharf_positions_t *p);
/* The checkpoint form (JSON) of p, appended to out. */
void wharf_positions_serialize(const wharf_positions_t *p, wharf_buf_t *out);
/* Parses a checkpoint into an empty p; on error (WHARF_EPARSE) p stays empty. */
int wharf_positions_parse(wharf_positions_t *p, const char *text, size_t len);
int wharf_positions_add(wharf_positions_t *p, const wharf_position_t *pos);
int wharf_positions_add_input(wharf_positions_t *p, const char *input_id);
int wharf_positions_has_input(const wharf_positions_t *p, const char *input_id);
/* The saved position of a file with this identity, or NULL. */
const wharf_position_t *wharf_positions_find(const wharf_positions_t *p, const char *input_id,
                                             uint64_t dev, uint64_t ino);
/* Adds an input's journal cursor (one per input). */
int wharf_positions_add_cursor(wharf_positions_t *p, const char *input_id, const char *cursor,
                               int replay);
/* The saved journal cursor of an input, or NULL. */
const wharf_cursor_position_t *wharf_positions_find_cursor(const wharf_positions_t *p,
                                                           const char *input_id);

/* FNV-1a over a file's first bytes: the fingerprint part of its identity. */
uint64_t wharf_fingerprint(const void *data, size_t n);

#endif
