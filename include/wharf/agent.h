/* agent.h - one running wharf: config -> outputs, pipeline, inputs, loop.
 *
 * The agent owns every stage's instance and the libuv loop that drives them,
 * handles signals (TERM/INT stop, HUP reopens outputs) and saves positions
 * once a second, after making what the outputs took durable. */
#ifndef WHARF_AGENT_H
#define WHARF_AGENT_H

#include "wharf/config.h"

typedef struct wharf_agent wharf_agent_t;

int wharf_agent_new(const wharf_config_t *cfg, int oneshot, wharf_agent_t **out);
/* Live: runs until SIGTERM/SIGINT. Oneshot: reads every input to its end.
 * Either way delivers, syncs and saves positions before returning 0. */
int wharf_agent_run(wharf_agent_t *a);
void wharf_agent_free(wharf_agent_t *a);

#endif
