/* registry.c - the input types wharf knows. A new input is one line here. */
#include "wharf/input.h"

#include <string.h>

extern const wharf_input_type_t wharf_input_docker;
extern const wharf_input_type_t wharf_input_cri;
extern const wharf_input_type_t wharf_input_journald;

static const wharf_input_type_t *const input_types[] = {
    &wharf_input_docker,
    &wharf_input_cri,
    &wharf_input_journald,
};

#define N_INPUT_TYPES (sizeof(input_types) / sizeof(input_types[0]))

const wharf_input_type_t *wharf_input_type_find(const char *type)
{
    for (size_t i = 0; i < N_INPUT_TYPES; i++)
        if (strcmp(input_types[i]->conf.type, type) == 0)
            return input_types[i];
    return NULL;
}

const wharf_plugin_conf_t *wharf_input_conf_find(const char *type)
{
    const wharf_input_type_t *t = wharf_input_type_find(type);
    return t ? &t->conf : NULL;
}

const char *wharf_input_type_names(void)
{
    return "docker, cri, journald";
}
