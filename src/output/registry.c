/* registry.c - the output types wharf knows. A new output is one line here. */
#include "wharf/output.h"

#include <string.h>

extern const wharf_output_type_t wharf_output_archive;
extern const wharf_output_type_t wharf_output_file;
extern const wharf_output_type_t wharf_output_kafka;
extern const wharf_output_type_t wharf_output_stdout;
extern const wharf_output_type_t wharf_output_syslog;

static const wharf_output_type_t *const output_types[] = {
    &wharf_output_archive, &wharf_output_file,   &wharf_output_kafka,
    &wharf_output_stdout,  &wharf_output_syslog,
};

#define N_OUTPUT_TYPES (sizeof(output_types) / sizeof(output_types[0]))

const wharf_output_type_t *wharf_output_type_find(const char *type)
{
    for (size_t i = 0; i < N_OUTPUT_TYPES; i++)
        if (strcmp(output_types[i]->conf.type, type) == 0)
            return output_types[i];
    return NULL;
}

const wharf_plugin_conf_t *wharf_output_conf_find(const char *type)
{
    const wharf_output_type_t *t = wharf_output_type_find(type);
    return t ? &t->conf : NULL;
}

const char *wharf_output_type_names(void)
{
    return "archive, file, kafka, stdout, syslog";
}
