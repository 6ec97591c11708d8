/* check.c - `wharf check`: validate a configuration and say what is wrong. */
#include "cli.h"
#include "wharf/config.h"

#include <stdio.h>
#include <string.h>

static const char *cli_config_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            return argv[i + 1];
    return NULL;
}

wharf_config_t *wharf_cli_load_config(int argc, char **argv, const char *cmd)
{
    const char *path = cli_config_path(argc, argv);
    if (path == NULL) {
        fprintf(stderr, "wharf %s: missing -c FILE (see 'wharf help %s')\n", cmd, cmd);
        return NULL;
    }
    wharf_config_t *cfg = NULL;
    wharf_conf_errors_t errs = {NULL, 0};
    if (wharf_config_load(path, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        fprintf(stderr, "wharf %s: %zu error%s in %s\n", cmd, errs.n, errs.n == 1 ? "" : "s", path);
        wharf_conf_errors_free(&errs);
        return NULL;
    }
    return cfg;
}

int wharf_cmd_check(int argc, char **argv)
{
    wharf_config_t *cfg = wharf_cli_load_config(argc, argv, "check");
    if (cfg == NULL)
        return 2;
    printf("%s: ok (%zu input%s, %zu output%s)\n", cfg->path, cfg->n_inputs,
           cfg->n_inputs == 1 ? "" : "s", cfg->n_outputs, cfg->n_outputs == 1 ? "" : "s");
    wharf_config_free(cfg);
    return 0;
}
