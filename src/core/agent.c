/* agent.c - wiring and life cycle of a running wharf (see wharf/agent.h). */
#include "wharf/agent.h"

#include "wharf/fsutil.h"
#include "wharf/input.h"
#include "wharf/log.h"
#include "wharf/output.h"
#include "wharf/pipeline.h"
#include "wharf/positions.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <uv.h>

/* Positions are saved this often when something was delivered since the last
 * save: it bounds what a kill -9 makes wharf read again. */
#define AGENT_SAVE_MS 250
/* ...and at least every AGENT_SAVE_MS * AGENT_SAVE_IDLE_TICKS, for changes
 * that carry no events (a file found, a rotated file finished). */
#define AGENT_SAVE_IDLE_TICKS 16

struct wharf_agent {
    const wharf_config_t *cfg;
    int oneshot;
    uv_loop_t loop;
    int loop_ready;
    wharf_positions_t positions; /* as loaded at start */
    wharf_output_t **outputs;
    size_t n_outputs;
    wharf_pipeline_t *pipeline;
    wharf_input_t **inputs;
    size_t n_inputs;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t save_timer;
    uint64_t saved_at_events; /* pipeline event count at the last save */
    unsigned ticks_since_save;
};

static int agent_create_outputs(wharf_agent_t *a)
{
    a->outputs = calloc(a->cfg->n_outputs ? a->cfg->n_outputs : 1, sizeof(wharf_output_t *));
    if (a->outputs == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < a->cfg->n_outputs; i++) {
        const wharf_conf_section_t *sec = &a->cfg->outputs[i];
        int rc = wharf_output_type_find(sec->type)->create(sec, &a->outputs[i]);
        if (rc < 0)
            return rc;
        a->n_outputs++;
    }
    return 0;
}

static int agent_create_inputs(wharf_agent_t *a)
{
    a->inputs = calloc(a->cfg->n_inputs ? a->cfg->n_inputs : 1, sizeof(wharf_input_t *));
    if (a->inputs == NULL)
        return -ENOMEM;
    wharf_input_env_t env = {a->oneshot ? NULL : &a->loop, a->pipeline, &a->positions};
    for (size_t i = 0; i < a->cfg->n_inputs; i++) {
        const wharf_conf_section_t *sec = &a->cfg->inputs[i];
        int rc = wharf_input_type_find(sec->type)->create(&env, sec, &a->inputs[i]);
        if (rc < 0) {
            wharf_log_error("cannot create input", "input=%s error=\"%s\"", sec->id,
                            wharf_strerror(rc));
            return rc;
        }
        a->n_inputs++;
    }
    return 0;
}

int wharf_agent_new(const wharf_config_t *cfg, int oneshot, wharf_agent_t **out)
{
    wharf_agent_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->cfg = cfg;
    a->oneshot = oneshot;
    wharf_positions_init(&a->positions);
    int rc = wharf_mkdir_p(cfg->data_dir, 0750);
    if (rc < 0) {
        wharf_log_error("cannot create data_dir; check its parent's permissions",
                        "data_dir=%s error=\"%s\"", cfg->data_dir, wharf_strerror(rc));
        free(a);
        return rc;
    }
    wharf_positions_load(&a->positions, cfg->data_dir);
    rc = uv_loop_init(&a->loop);
    a->loop_ready = rc == 0;
    if (rc == 0)
        rc = agent_create_outputs(a);
    if (rc == 0)
        rc = wharf_pipeline_new(cfg->host.name, a->outputs, a->n_outputs, &a->pipeline);
    if (rc == 0)
        rc = agent_create_inputs(a);
    if (rc < 0) {
        wharf_agent_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

/* Durable outputs first, then the positions that point past their data. */
static int agent_save_positions(wharf_agent_t *a)
{
    int rc = wharf_pipeline_sync(a->pipeline);
    if (rc < 0) {
        wharf_log_error("cannot sync outputs; positions not saved", "error=\"%s\"",
                        wharf_strerror(rc));
        return rc;
    }
    wharf_positions_t now;
    wharf_positions_init(&now);
    for (size_t i = 0; i < a->n_inputs && rc == 0; i++)
        rc = a->inputs[i]->ops->positions(a->inputs[i], &now);
    if (rc == 0)
        rc = wharf_positions_save(&now, a->cfg->data_dir);
    if (rc < 0)
        wharf_log_error("cannot save positions; a restart may re-read lines",
                        "data_dir=%s error=\"%s\"", a->cfg->data_dir, wharf_strerror(rc));
    wharf_positions_free(&now);
    return rc;
}

static void agent_on_save_timer(uv_timer_t *h)
{
    wharf_agent_t *a = h->data;
    uint64_t events = wharf_pipeline_events_total(a->pipeline);
    if (events == a->saved_at_events && ++a->ticks_since_save < AGENT_SAVE_IDLE_TICKS)
        return;
    if (agent_save_positions(a) == 0) {
        a->saved_at_events = events;
        a->ticks_since_save = 0;
    }
}

static void agent_stop(wharf_agent_t *a, const char *why)
{
    wharf_log_info("stopping", "signal=%s", why);
    for (size_t i = 0; i < a->n_inputs; i++)
        a->inputs[i]->ops->stop(a->inputs[i]);
    uv_close((uv_handle_t *)&a->sig_term, NULL);
    uv_close((uv_handle_t *)&a->sig_int, NULL);
    uv_close((uv_handle_t *)&a->sig_hup, NULL);
    uv_close((uv_handle_t *)&a->save_timer, NULL);
}

static void agent_on_signal(uv_signal_t *h, int signum)
{
    wharf_agent_t *a = h->data;
    if (signum == SIGHUP) {
        wharf_log_info("SIGHUP: reopening outputs", NULL);
        wharf_pipeline_reopen(a->pipeline);
        return;
    }
    agent_stop(a, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void agent_watch_signal(wharf_agent_t *a, uv_signal_t *h, int signum)
{
    uv_signal_init(&a->loop, h);
    h->data = a;
    uv_signal_start(h, agent_on_signal, signum);
}

static int agent_run_live(wharf_agent_t *a)
{
    agent_watch_signal(a, &a->sig_term, SIGTERM);
    agent_watch_signal(a, &a->sig_int, SIGINT);
    agent_watch_signal(a, &a->sig_hup, SIGHUP);
    uv_timer_init(&a->loop, &a->save_timer);
    a->save_timer.data = a;
    a->saved_at_events = UINT64_MAX; /* the first tick saves: records a first start */
    uv_timer_start(&a->save_timer, agent_on_save_timer, AGENT_SAVE_MS, AGENT_SAVE_MS);
    for (size_t i = 0; i < a->n_inputs; i++) {
        int rc = a->inputs[i]->ops->start(a->inputs[i]);
        if (rc < 0)
            wharf_log_error("cannot start input", "input=%s error=\"%s\"", a->inputs[i]->id,
                            wharf_strerror(rc));
    }
    wharf_log_info("running", "inputs=%zu outputs=%zu", a->n_inputs, a->n_outputs);
    return uv_run(&a->loop, UV_RUN_DEFAULT);
}

static int agent_run_oneshot(wharf_agent_t *a)
{
    for (size_t i = 0; i < a->n_inputs; i++) {
        int rc = a->inputs[i]->ops->read_all(a->inputs[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int wharf_agent_run(wharf_agent_t *a)
{
    signal(SIGPIPE, SIG_IGN);
    int rc = a->oneshot ? agent_run_oneshot(a) : agent_run_live(a);
    int crc = wharf_pipeline_commit(a->pipeline);
    if (crc < 0) {
        wharf_log_error("could not deliver the last events; they will be read again at the "
                        "next start",
                        "error=\"%s\"", wharf_strerror(crc));
        rc = crc;
    }
    int src = agent_save_positions(a);
    wharf_log_info("stopped", "events=%llu",
                   (unsigned long long)wharf_pipeline_events_total(a->pipeline));
    return rc < 0 ? rc : src;
}

void wharf_agent_free(wharf_agent_t *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_inputs; i++)
        a->inputs[i]->ops->destroy(a->inputs[i]);
    if (a->loop_ready) {
        uv_run(&a->loop, UV_RUN_NOWAIT);
        uv_loop_close(&a->loop);
    }
    wharf_pipeline_free(a->pipeline);
    for (size_t i = 0; i < a->n_outputs; i++)
        a->outputs[i]->ops->destroy(a->outputs[i]);
    free(a->inputs);
    free(a->outputs);
    wharf_positions_free(&a->positions);
    free(a);
}
