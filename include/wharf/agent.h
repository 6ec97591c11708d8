/* agent.h - one running wharf: config -> buffer, outputs, pipeline, inputs,
 * loop.
 *
 * The agent owns every stage's instance and the libuv loop that drives them,
 * restores input positions from the buffer's last checkpoint, handles
 * signals (TERM/INT stop, HUP reopens outputs) and, every 250 ms, makes what
 * the outputs took durable and saves their cursors. */
#ifndef WHARF_AGENT_H
#define WHARF_AGENT_H

#include "wharf/config.h"

#include <signal.h>

typedef struct wharf_agent wharf_agent_t;

int wharf_agent_new(const wharf_config_t *cfg, int oneshot, wharf_agent_t **out);
/* Live: runs until SIGTERM/SIGINT. Oneshot: reads every input to its end.
 * Either way commits what was read, delivers what the outputs take and
 * saves their cursors before returning: 0 when every output got every
 * event, else the first error (the rest waits in the buffer).
 * Live, it unblocks SIGTERM, SIGINT and SIGHUP in the calling thread once it
 * watches them: a caller that blocks them while it sets up (wharf run) has
 * those that arrive meanwhile handled then, instead of killing it. */
int wharf_agent_run(wharf_agent_t *a);
/* The signals a live agent watches (SIGTERM, SIGINT, SIGHUP), into set. */
void wharf_agent_signals(sigset_t *set);
void wharf_agent_free(wharf_agent_t *a);

/* data_dir/buffer into out (PATH_MAX bytes). */
int wharf_agent_buffer_dir(const wharf_config_t *cfg, char *out);

#endif
