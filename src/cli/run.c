/* run.c - `wharf run`: load the config, set up wharf's own log and hand the
 * config to an agent. */
#include "cli.h"
#include "wharf/agent.h"
#include "wharf/config.h"
#include "wharf/log.h"

#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Capabilities in effect beyond CAP_DAC_READ_SEARCH, the one wharf uses. */
static int run_has_more_than_read_search(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    /* zeroed: valgrind takes capget to write one of the two words */
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    if (syscall(SYS_capget, &hdr, data) < 0)
        return 1;
    data[CAP_TO_INDEX(CAP_DAC_READ_SEARCH)].effective &= ~CAP_TO_MASK(CAP_DAC_READ_SEARCH);
    for (size_t i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        if (data[i].effective != 0)
            return 1;
    return 0;
}

/* Root is never needed: reading other users' log files takes
 * CAP_DAC_READ_SEARCH or group membership, and root's other powers would let
 * a compromised wharf do anything. uid 0 holding only CAP_DAC_READ_SEARCH (a
 * Kubernetes DaemonSet: Kubernetes gives capabilities to non-root containers
 * only as ambient ones, which it does not set) is as little as it gets there.
 * Said once, at start. */
static void run_warn_if_root(void)
{
    if (geteuid() != 0 || !run_has_more_than_read_search())
        return;
    wharf_log_warn("running as root, which wharf does not need: run it as its own user with "
                   "CAP_DAC_READ_SEARCH (or in the groups that may read the logs: adm, "
                   "systemd-journal, and the owner group of the container log directories) and "
                   "write access to data_dir; see README, Privileges",
                   NULL);
}

/* A SIGHUP (logrotate, a reload) or SIGTERM that comes while wharf loads
 * its configuration and recovers its buffer would otherwise kill it: held
 * until the agent watches them, they are handled then (a reload, a clean
 * stop). */
static void run_hold_signals(void)
{
    sigset_t held;
    wharf_agent_signals(&held);
    pthread_sigmask(SIG_BLOCK, &held, NULL);
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
    if (!oneshot)
        run_hold_signals();
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
