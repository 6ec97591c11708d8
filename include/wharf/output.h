/* output.h - the output interface: where NDJSON blocks go.
 *
 * An output type is one file in src/output/ exporting a wharf_output_type_t
 * and one line in src/output/registry.c. */
#ifndef WHARF_OUTPUT_H
#define WHARF_OUTPUT_H

#include "wharf/config.h"

#include <stddef.h>

typedef struct wharf_output wharf_output_t;

typedef struct wharf_output_ops {
    /* Writes len bytes of complete NDJSON lines; returns bytes accepted
     * (possibly fewer, then retried with the rest) or a negative error. */
    long (*write)(wharf_output_t *o, const char *data, size_t len);
    int (*sync)(wharf_output_t *o);   /* durable up to here; may be NULL */
    int (*reopen)(wharf_output_t *o); /* SIGHUP; may be NULL */
    void (*destroy)(wharf_output_t *o);
} wharf_output_ops_t;

struct wharf_output {
    const wharf_output_ops_t *ops;
    const char *id; /* the section's id, owned by the config */
};

typedef struct wharf_output_type {
    wharf_plugin_conf_t conf;
    int (*create)(const wharf_conf_section_t *sec, wharf_output_t **out);
} wharf_output_type_t;

const wharf_output_type_t *wharf_output_type_find(const char *type);

#endif
