/* agent_int.h - the agent's state, shared by agent.c (wiring, life cycle)
 * and reload.c (SIGHUP). Not a public interface. */
#ifndef WHARF_AGENT_INT_H
#define WHARF_AGENT_INT_H

#include "wharf/agent.h"
#include "wharf/api.h"
#include "wharf/audit.h"
#include "wharf/buffer.h"
#include "wharf/compressor.h"
#include "wharf/delivery.h"
#include "wharf/input.h"
#include "wharf/output.h"
#include "wharf/pipeline.h"
#include "wharf/positions.h"

#include <uv.h>

struct wharf_agent {
    const wharf_config_t *cfg;
    int oneshot;
    uv_loop_t loop;
    int loop_ready;
    wharf_positions_t positions; /* as restored at start */
    wharf_buffer_t *buffer;
    wharf_output_t **outputs;
    size_t n_outputs;
    wharf_delivery_t *delivery;
    wharf_pipeline_t *pipeline;
    wharf_compressor_t *compressor;
    uv_async_t compressed; /* the compressor finished a job */
    int compressed_ready;
    wharf_input_t **inputs;
    size_t n_inputs;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t tick;
    wharf_api_t *api;           /* api.listen; NULL when off or oneshot */
    wharf_audit_watch_t *audit; /* `audit: true`; else NULL */
    int64_t start_ns;
    /* reload (reload.c): cfg when a reload loaded it (the first one is the
     * caller's); inputs stopped and configs replaced by a reload are freed
     * with the agent, once no handle refers to them */
    wharf_config_t *own_cfg;
    wharf_input_t **retired_inputs;
    size_t n_retired_inputs;
    wharf_config_t **retired_cfgs;
    size_t n_retired_cfgs;
    wharf_positions_t **reload_positions; /* where changed inputs took over */
    size_t n_reload_positions;
};

/* A life-cycle event, when `audit: true` (wharf/audit.h). */
void agent_audit(wharf_agent_t *a, wharf_audit_action action, const char *reason);
/* What GET /metrics reads (inputs and outputs change at a reload). */
void agent_metrics_sources(const wharf_agent_t *a, wharf_metrics_sources_t *src);
/* SIGHUP: loads the config file again and applies what changed (reload.c). */
void agent_reload(wharf_agent_t *a);

#endif
