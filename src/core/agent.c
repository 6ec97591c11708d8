/* agent.c - wiring and life cycle of a running wharf (see wharf/agent.h). */
#include "wharf/agent.h"

#include "agent_int.h"
#include "wharf/api.h"
#include "wharf/audit.h"
#include "wharf/buffer.h"
#include "wharf/compressor.h"
#include "wharf/delivery.h"
#include "wharf/fsutil.h"
#include "wharf/input.h"
#include "wharf/log.h"
#include "wharf/output.h"
#include "wharf/pipeline.h"
#include "wharf/positions.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <uv.h>

/* Outputs are synced and cursors saved this often: it bounds what a kill -9
 * makes an output send again. Positions that changed without events (a file
 * found, a rotated file finished) are committed on the same tick. */
#define AGENT_TICK_MS 250

int wharf_agent_buffer_dir(const wharf_config_t *cfg, char *out)
{
    int n = snprintf(out, PATH_MAX, "%s/buffer", cfg->data_dir);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int agent_open_buffer(wharf_agent_t *a)
{
    char dir[PATH_MAX];
    int rc = wharf_agent_buffer_dir(a->cfg, dir);
    if (rc == 0)
        rc = wharf_buffer_open(dir, &a->cfg->buffer, 0, &a->buffer);
    if (rc < 0) {
        wharf_log_error("cannot open the disk buffer; check that data_dir is writable",
                        "dir=%s error=\"%s\"", dir, wharf_strerror(rc));
        return rc;
    }
    const wharf_buf_t *ckpt = wharf_buffer_checkpoint(a->buffer);
    if (ckpt->len > 0 && wharf_positions_parse(&a->positions, ckpt->data, ckpt->len) < 0)
        wharf_log_error("buffer: last checkpoint is unreadable; inputs start as on a first start",
                        "dir=%s", dir);
    return 0;
}

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
    wharf_input_env_t env = {a->oneshot ? NULL : &a->loop, a->pipeline, &a->positions,
                             a->cfg->buffer.max_hold_deleted_ms};
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

/* The pipeline's checkpoint source: every input's positions. */
static int agent_checkpoint(void *arg, wharf_buf_t *out)
{
    wharf_agent_t *a = arg;
    wharf_positions_t now;
    wharf_positions_init(&now);
    int rc = 0;
    for (size_t i = 0; i < a->n_inputs && rc == 0; i++)
        rc = a->inputs[i]->ops->positions(a->inputs[i], &now);
    if (rc == 0)
        wharf_positions_serialize(&now, out);
    wharf_positions_free(&now);
    return rc;
}

static void agent_on_commit(void *arg)
{
    wharf_agent_t *a = arg;
    wharf_delivery_kick(a->delivery);
}

static void agent_on_compressed(uv_async_t *h)
{
    wharf_agent_t *a = h->data;
    wharf_pipeline_finish(a->pipeline);
}

static void agent_notify_compressed(void *arg)
{
    uv_async_send(arg);
}

/* Live: the compressor wakes the loop when a job is done. */
static int agent_create_compressor(wharf_agent_t *a)
{
    void (*notify)(void *) = NULL;
    if (!a->oneshot) {
        int rc = uv_async_init(&a->loop, &a->compressed, agent_on_compressed);
        if (rc < 0)
            return rc;
        a->compressed.data = a;
        a->compressed_ready = 1;
        notify = agent_notify_compressed;
    }
    int rc = wharf_compressor_new((int)a->cfg->buffer.compression_level, notify, &a->compressed,
                                  &a->compressor);
    if (rc == 0)
        wharf_pipeline_set_compressor(a->pipeline, a->compressor);
    return rc;
}

/* Live only: a bind failure stops wharf from starting (wharf/api.h). */
void agent_metrics_sources(const wharf_agent_t *a, wharf_metrics_sources_t *src)
{
    *src =
        (wharf_metrics_sources_t){a->inputs,   a->n_inputs, a->cfg->parsers,         a->pipeline,
                                  a->delivery, a->buffer,   a->cfg->buffer.max_size, a->start_ns};
}

static int agent_start_api(wharf_agent_t *a)
{
    wharf_metrics_sources_t src;
    agent_metrics_sources(a, &src);
    return wharf_api_new(&a->loop, a->cfg->api.listen, &src, a->cfg->health.output_down_after_ms,
                         &a->api);
}

static int agent_wire(wharf_agent_t *a)
{
    int rc = agent_open_buffer(a);
    if (rc == 0)
        rc = agent_create_outputs(a);
    if (rc == 0)
        rc = wharf_delivery_new(a->oneshot ? NULL : &a->loop, a->buffer, a->outputs, a->n_outputs,
                                &a->delivery);
    /* A new output's cursor (the buffer's end) is saved before anything more
     * is committed: if it were not, a crash before the first save would make
     * the output new again at the next start, and skip what came between. */
    if (rc == 0)
        rc = wharf_buffer_save_cursors(a->buffer);
    if (rc == 0)
        rc = wharf_pipeline_new(a->cfg->host.name, a->buffer, &a->pipeline);
    if (rc == 0)
        wharf_pipeline_set_parsers(a->pipeline, a->cfg->parsers);
    if (rc == 0)
        rc = wharf_pipeline_on_commit(a->pipeline, agent_on_commit, a);
    if (rc == 0)
        rc = agent_create_compressor(a);
    if (rc == 0)
        rc = agent_create_inputs(a);
    if (rc == 0)
        wharf_pipeline_set_checkpoint(a->pipeline, agent_checkpoint, a,
                                      wharf_buffer_checkpoint(a->buffer));
    if (rc == 0 && !a->oneshot && a->cfg->api.listen != NULL)
        rc = agent_start_api(a);
    if (rc == 0 && a->cfg->audit)
        rc = wharf_audit_watch_new(a->pipeline, a->delivery, &a->audit);
    return rc;
}

void agent_audit(wharf_agent_t *a, wharf_audit_action action, const char *reason)
{
    if (a->audit == NULL)
        return;
    wharf_audit_record_t r = {action, NULL, reason, 0};
    wharf_audit_emit(a->pipeline, &r);
}

int wharf_agent_new(const wharf_config_t *cfg, int oneshot, wharf_agent_t **out)
{
    wharf_agent_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->cfg = cfg;
    a->oneshot = oneshot;
    a->start_ns = wharf_time_now();
    wharf_positions_init(&a->positions);
    int rc = wharf_mkdir_p(cfg->data_dir, 0750);
    if (rc < 0) {
        wharf_log_error("cannot create data_dir; check its parent's permissions",
                        "data_dir=%s error=\"%s\"", cfg->data_dir, wharf_strerror(rc));
        free(a);
        return rc;
    }
    rc = uv_loop_init(&a->loop);
    a->loop_ready = rc == 0;
    if (rc == 0)
        rc = agent_wire(a);
    if (rc < 0) {
        wharf_agent_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static void agent_on_tick(uv_timer_t *h)
{
    wharf_agent_t *a = h->data;
    if (a->audit != NULL)
        wharf_audit_watch_tick(a->audit);
    /* The commit is written before the cursors are saved: under fsync:
     * batch that save syncs it, so no cursor passes an unsynced event. */
    if (!wharf_pipeline_blocked(a->pipeline) && wharf_pipeline_commit(a->pipeline) == 0)
        wharf_pipeline_finish(a->pipeline);
    wharf_delivery_sync(a->delivery);
}

/* Tells systemd (Type=notify units) that wharf is ready or stopping; a
 * no-op when not started by systemd. */
static void agent_notify_systemd(const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0)
        wharf_log_warn("cannot notify systemd; a Type=notify unit may time out",
                       "state=%s error=\"%s\"", state, wharf_strerror(rc));
}

static void agent_stop(wharf_agent_t *a, const char *why)
{
    wharf_log_info("stopping", "signal=%s", why);
    wharf_api_close(a->api);
    agent_notify_systemd("STOPPING=1");
    for (size_t i = 0; i < a->n_inputs; i++)
        a->inputs[i]->ops->stop(a->inputs[i]);
    wharf_delivery_stop(a->delivery);
    uv_close((uv_handle_t *)&a->sig_term, NULL);
    uv_close((uv_handle_t *)&a->sig_int, NULL);
    uv_close((uv_handle_t *)&a->sig_hup, NULL);
    uv_close((uv_handle_t *)&a->tick, NULL);
    /* agent_finish still commits: its job must not wake a closed handle. */
    wharf_compressor_set_notify(a->compressor, NULL, NULL);
    uv_close((uv_handle_t *)&a->compressed, NULL);
    a->compressed_ready = 0;
}

static void agent_on_signal(uv_signal_t *h, int signum)
{
    wharf_agent_t *a = h->data;
    if (signum == SIGHUP) {
        agent_reload(a);
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

void wharf_agent_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

static int agent_run_live(wharf_agent_t *a)
{
    sigset_t watched;
    agent_watch_signal(a, &a->sig_term, SIGTERM);
    agent_watch_signal(a, &a->sig_int, SIGINT);
    agent_watch_signal(a, &a->sig_hup, SIGHUP);
    wharf_agent_signals(&watched);
    pthread_sigmask(SIG_UNBLOCK, &watched, NULL);
    uv_timer_init(&a->loop, &a->tick);
    a->tick.data = a;
    uv_timer_start(&a->tick, agent_on_tick, AGENT_TICK_MS, AGENT_TICK_MS);
    for (size_t i = 0; i < a->n_inputs; i++) {
        int rc = a->inputs[i]->ops->start(a->inputs[i]);
        if (rc < 0)
            wharf_log_error("cannot start input", "input=%s error=\"%s\"", a->inputs[i]->id,
                            wharf_strerror(rc));
    }
    /* The first pass is in the buffer before "running", and whatever the
     * buffer holds from before is sent now, not at the next commit. */
    wharf_pipeline_finish(a->pipeline);
    wharf_delivery_kick(a->delivery);
    wharf_log_info("running", "inputs=%zu outputs=%zu", a->n_inputs, a->n_outputs);
    wharf_api_set_ready(a->api, 1);
    agent_notify_systemd("READY=1");
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

/* After the inputs stopped: commit, deliver, make durable. */
static int agent_finish(wharf_agent_t *a)
{
    if (a->audit != NULL)
        wharf_audit_watch_tick(a->audit);
    agent_audit(a, WHARF_AUDIT_STOPPED, NULL);
    int rc = wharf_pipeline_commit(a->pipeline);
    if (rc == 0)
        rc = wharf_pipeline_finish(a->pipeline);
    if (rc < 0)
        wharf_log_error("could not commit the last events to the buffer; they will be read "
                        "again at the next start",
                        "error=\"%s\"", wharf_strerror(rc));
    int drc = wharf_delivery_drain(a->delivery, a->oneshot ? -1 : a->cfg->shutdown_timeout_ms);
    int src = wharf_delivery_sync(a->delivery);
    /* Live, what an output did not take or make durable waits in the
     * buffer behind its saved cursor (each case logged): a stop that kept
     * everything is a clean stop. Oneshot callers want to know that
     * something is left. */
    if (!a->oneshot)
        return rc;
    return rc < 0 ? rc : drc < 0 ? drc : src;
}

int wharf_agent_run(wharf_agent_t *a)
{
    signal(SIGPIPE, SIG_IGN);
    agent_audit(a, WHARF_AUDIT_STARTED, NULL);
    int rc = a->oneshot ? agent_run_oneshot(a) : agent_run_live(a);
    int frc = agent_finish(a);
    wharf_log_info("stopped", "events=%llu",
                   (unsigned long long)wharf_pipeline_events_total(a->pipeline));
    return rc < 0 ? rc : frc;
}

void wharf_agent_free(wharf_agent_t *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_inputs; i++)
        a->inputs[i]->ops->destroy(a->inputs[i]);
    for (size_t i = 0; i < a->n_retired_inputs; i++)
        a->retired_inputs[i]->ops->destroy(a->retired_inputs[i]);
    if (a->delivery != NULL)
        wharf_delivery_stop(a->delivery);
    wharf_api_close(a->api);
    if (a->compressed_ready)
        uv_close((uv_handle_t *)&a->compressed, NULL);
    /* Before the pipeline: a running job reads the pipeline's block. */
    wharf_compressor_free(a->compressor);
    if (a->loop_ready) {
        uv_run(&a->loop, UV_RUN_NOWAIT);
        uv_loop_close(&a->loop);
    }
    wharf_api_free(a->api);
    wharf_pipeline_free(a->pipeline);
    wharf_delivery_free(a->delivery);
    wharf_audit_watch_free(a->audit);
    for (size_t i = 0; i < a->n_outputs; i++)
        a->outputs[i]->ops->destroy(a->outputs[i]);
    wharf_buffer_close(a->buffer);
    free(a->inputs);
    free(a->outputs);
    free(a->retired_inputs);
    for (size_t i = 0; i < a->n_retired_cfgs; i++)
        wharf_config_free(a->retired_cfgs[i]);
    free(a->retired_cfgs);
    wharf_config_free(a->own_cfg);
    for (size_t i = 0; i < a->n_reload_positions; i++) {
        wharf_positions_free(a->reload_positions[i]);
        free(a->reload_positions[i]);
    }
    free(a->reload_positions);
    wharf_positions_free(&a->positions);
    free(a);
}
