/* fuzz_config.c - libFuzzer target for the configuration loader.
 *
 * `wharf check` runs on whatever file it is given, so the loader must take any
 * bytes: it returns either a config and no errors, or errors and no config,
 * each error one "fuzz.yaml..." line, and it frees everything (LeakSanitizer
 * watches). Seeds: tests/fuzz/corpus/config/. */
#include "wharf/common.h"
#include "wharf/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_errors(const wharf_conf_errors_t *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        if (strncmp(errs->msgs[i], "fuzz.yaml", 9) != 0 || strchr(errs->msgs[i], '\n'))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = NULL;
    int rc = wharf_config_load_string("fuzz.yaml", (const char *)data, size, &cfg, &errs);

    if ((rc == 0) != (cfg != NULL) || (rc == 0) != (errs.n == 0))
        abort();
    if (rc != 0 && rc != WHARF_EINVAL_CONFIG)
        abort();
    check_errors(&errs);
    wharf_config_free(cfg);
    wharf_conf_errors_free(&errs);
    return 0;
}
