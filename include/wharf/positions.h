/* positions.h - where each input stopped reading, saved under data_dir.
 *
 * A file is identified by (device, inode) plus a hash of its first bytes, so
 * a reused inode is not taken for the file it replaced. The store is written
 * atomically (write, fsync, rename, fsync dir), and only ever holds offsets
 * whose events the outputs already accepted. */
#ifndef WHARF_POSITIONS_H
#define WHARF_POSITIONS_H

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

typedef struct wharf_positions {
    wharf_position_t *v;
    size_t n, cap;
    char **inputs; /* ids of inputs that have started before */
    size_t n_inputs;
} wharf_positions_t;

void wharf_positions_init(wharf_positions_t *p);
void wharf_positions_free(wharf_positions_t *p);
/* Loads DATA_DIR/positions.json; a missing file is an empty store. A corrupt
 * file is reported and treated as empty (returns WHARF_EPARSE). */
int wharf_positions_load(wharf_positions_t *p, const char *data_dir);
int wharf_positions_save(const wharf_positions_t *p, const char *data_dir);
int wharf_positions_add(wharf_positions_t *p, const wharf_position_t *pos);
int wharf_positions_add_input(wharf_positions_t *p, const char *input_id);
int wharf_positions_has_input(const wharf_positions_t *p, const char *input_id);
/* The saved position of a file with this identity, or NULL. */
const wharf_position_t *wharf_positions_find(const wharf_positions_t *p, const char *input_id,
                                             uint64_t dev, uint64_t ino);

/* FNV-1a over a file's first bytes: the fingerprint part of its identity. */
uint64_t wharf_fingerprint(const void *data, size_t n);

#endif
