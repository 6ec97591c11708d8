/* stdout.c - the `stdout` output: NDJSON on standard output, for sidecars
 * whose logs the platform collects and for trying wharf out. */
#include "wharf/fsutil.h"
#include "wharf/output.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static const wharf_conf_key_t stdout_keys[] = {
    {.name = NULL},
};

static long stdout_output_write(wharf_output_t *o, const char *data, size_t len)
{
    return wharf_write_full(STDOUT_FILENO, data, len);
}

static void stdout_output_destroy(wharf_output_t *o)
{
    free(o);
}

static const wharf_output_ops_t stdout_output_ops = {
    stdout_output_write, NULL, NULL, stdout_output_destroy, NULL,
};

static int stdout_output_create(const wharf_conf_section_t *sec, wharf_output_t **out)
{
    wharf_output_t *o = calloc(1, sizeof(*o));
    if (o == NULL)
        return -ENOMEM;
    o->ops = &stdout_output_ops;
    o->id = sec->id;
    *out = o;
    return 0;
}

const wharf_output_type_t wharf_output_stdout = {
    {"stdout", stdout_keys, 0, NULL, NULL},
    stdout_output_create,
};
