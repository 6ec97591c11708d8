/* run.c - `wharf run`: load the config, set up wharf's own log and hand the
 * config to an agent. */
#include "cli.h"
#include "wharf/agent.h"
#include "wharf/config.h"
#include "wharf/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Root is never needed: reading other users' log files takes
 * CAP_DAC_READ_SEARCH or group membership, and root would also let a
 * compromised wharf write anywhere. Said once, at start. */
static void run_warn_if_root(void)
{
    if (geteuid() != 0)
        return;
    wharf_log_warn("running as root, which wharf does not need: run it as its own user with "
                   "CAP_DAC_READ_SEARCH (or in the groups that may read the logs: adm, "
                   "systemd-journal, and the owner group of the container log directories) and "
                   "write access to data_dir; see README, Privileges",
                   NULL);
}

int wharf_cmd_run(int argc, char **argv)
{
    int oneshot = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--oneshot") == 0) {
            oneshot = 1;
        } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            int level = wharf_log_level_parse(argv[++i]);
            if (level < 0) {
                fprintf(stderr, "wharf run: unknown log level '%s'\n", argv[i]);
                return 2;
            }
            wharf_log_set_level((wharf_log_level)level);
        } else if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            i++;
        } else {
            fprintf(stderr, "wharf run: unknown option '%s' (see 'wharf help run')\n", argv[i]);
            return 2;
        }
    }
    wharf_config_t *cfg = wharf_cli_load_config(argc, argv, "run");
    if (cfg == NULL)
        return 2;
    wharf_log_set_format((wharf_log_format)cfg->log_format);
    run_warn_if_root();
    wharf_agent_t *agent = NULL;
    int rc = wharf_agent_new(cfg, oneshot, &agent);
    if (rc == 0) {
        rc = wharf_agent_run(agent);
        wharf_agent_free(agent);
    }
    wharf_config_free(cfg);
    return rc < 0 ? 1 : 0;
}
