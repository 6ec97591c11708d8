/* reload.c - SIGHUP: the configuration file is read again and what changed
 * is applied while wharf runs.
 *
 * A config that does not validate is rejected with its FILE:LINE errors and
 * the running one stays. Otherwise inputs and outputs are matched by id:
 * an unchanged one keeps running with its state (open files, connections,
 * cursor); a changed one is replaced, the new instance taking over the old
 * one's positions (input) or cursor (output: what the old one did not
 * confirm is sent again); a removed output releases its cursor, so the
 * buffer stops keeping events for it; a new output starts at the buffer's
 * end. Parsers and log_format are applied; data_dir, buffer, host and api
 * take a restart, which the log says.
 *
 * Components keep pointers into their config section (id, options), so a
 * kept one's section moves into the new config (the sections are swapped),
 * and a replaced config is freed only with the agent. */
#include "agent_int.h"
#include "wharf/log.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RELOAD_SETTLE_MS 2000 /* an output being replaced confirms what it can */

typedef struct reload_counts {
    size_t kept, added, changed, removed;
} reload_counts_t;

static wharf_conf_section_t *reload_find(wharf_conf_section_t *v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            return &v[i];
    return NULL;
}

static void reload_swap(wharf_conf_section_t *a, wharf_conf_section_t *b)
{
    wharf_conf_section_t tmp = *a;
    *a = *b;
    *b = tmp;
}

static int reload_push(void ***v, size_t *n, void *item)
{
    void **nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL)
        return -ENOMEM;
    nv[(*n)++] = item;
    *v = nv;
    return 0;
}

/* ---- outputs ----------------------------------------------------------------- */

static wharf_output_t *reload_output_create(const wharf_conf_section_t *sec)
{
    wharf_output_t *o = NULL;
    int rc = wharf_output_type_find(sec->type)->create(sec, &o);
    if (rc < 0)
        wharf_log_error("reload: cannot create output; the previous one (if any) keeps running",
                        "output=%s error=\"%s\"", sec->id, wharf_strerror(rc));
    return rc < 0 ? NULL : o;
}

/* One running output against the new config; returns the output that runs
 * from now on, or NULL when it was removed. */
static wharf_output_t *reload_output(wharf_agent_t *a, wharf_config_t *next, wharf_output_t *o,
                                     reload_counts_t *n)
{
    wharf_conf_section_t *old = reload_find(a->cfg->outputs, a->cfg->n_outputs, o->id);
    wharf_conf_section_t *sec = reload_find(next->outputs, next->n_outputs, o->id);
    if (sec == NULL) {
        wharf_delivery_remove(a->delivery, o->id, RELOAD_SETTLE_MS);
        wharf_log_info("reload: output removed; its cursor is released", "output=%s", o->id);
        o->ops->destroy(o);
        n->removed++;
        return NULL;
    }
    wharf_output_t *fresh = wharf_conf_section_equal(old, sec) ? NULL : reload_output_create(sec);
    if (fresh == NULL) {
        reload_swap(old, sec); /* it runs on with its section */
        n->kept++;
        return o;
    }
    wharf_delivery_replace(a->delivery, fresh, RELOAD_SETTLE_MS);
    wharf_log_info("reload: output changed; the new settings take over its cursor", "output=%s",
                   o->id);
    o->ops->destroy(o);
    n->changed++;
    return fresh;
}

static int reload_outputs(wharf_agent_t *a, wharf_config_t *next, reload_counts_t *n)
{
    wharf_output_t **outs = calloc(next->n_outputs + a->n_outputs + 1, sizeof(wharf_output_t *));
    if (outs == NULL)
        return -ENOMEM;
    size_t count = 0;
    for (size_t i = 0; i < a->n_outputs; i++) {
        wharf_output_t *o = reload_output(a, next, a->outputs[i], n);
        if (o != NULL)
            outs[count++] = o;
    }
    for (size_t i = 0; i < next->n_outputs; i++) {
        const wharf_conf_section_t *sec = &next->outputs[i];
        if (reload_find(a->cfg->outputs, a->cfg->n_outputs, sec->id) != NULL)
            continue;
        wharf_output_t *o = reload_output_create(sec);
        if (o == NULL || wharf_delivery_add(a->delivery, o) < 0) {
            if (o != NULL)
                o->ops->destroy(o);
            continue;
        }
        wharf_log_info("reload: output added; it starts at the buffer's end", "output=%s", sec->id);
        outs[count++] = o;
        n->added++;
    }
    free(a->outputs);
    a->outputs = outs;
    a->n_outputs = count;
    return 0;
}

/* ---- inputs ------------------------------------------------------------------ */

/* A new input, reading from positions. */
static wharf_input_t *reload_input_create(wharf_agent_t *a, const wharf_config_t *next,
                                          const wharf_conf_section_t *sec,
                                          const wharf_positions_t *positions)
{
    wharf_input_env_t env = {&a->loop, a->pipeline, positions, next->buffer.max_hold_deleted_ms};
    wharf_input_t *in = NULL;
    int rc = wharf_input_type_find(sec->type)->create(&env, sec, &in);
    if (rc < 0) {
        wharf_log_error("reload: cannot create input; the previous one (if any) keeps running",
                        "input=%s error=\"%s\"", sec->id, wharf_strerror(rc));
        return NULL;
    }
    return in;
}

static void reload_input_retire(wharf_agent_t *a, wharf_input_t *in)
{
    in->ops->stop(in);
    if (reload_push((void ***)&a->retired_inputs, &a->n_retired_inputs, in) < 0)
        wharf_log_error("reload: out of memory; a stopped input is not freed", "input=%s", in->id);
}

/* A changed input: the new one starts where the old one stands. Inputs
 * consult their positions after create (at each scan), so these live as
 * long as the agent. */
static wharf_input_t *reload_input_replace(wharf_agent_t *a, const wharf_config_t *next,
                                           const wharf_conf_section_t *sec, wharf_input_t *old)
{
    wharf_positions_t *here = malloc(sizeof(*here));
    if (here == NULL)
        return NULL;
    wharf_positions_init(here);
    if (old->ops->positions(old, here) < 0 ||
        reload_push((void ***)&a->reload_positions, &a->n_reload_positions, here) < 0) {
        wharf_positions_free(here);
        free(here);
        return NULL;
    }
    return reload_input_create(a, next, sec, here);
}

static wharf_input_t *reload_input(wharf_agent_t *a, wharf_config_t *next, wharf_input_t *in,
                                   reload_counts_t *n)
{
    wharf_conf_section_t *old = reload_find(a->cfg->inputs, a->cfg->n_inputs, in->id);
    wharf_conf_section_t *sec = reload_find(next->inputs, next->n_inputs, in->id);
    if (sec == NULL) {
        wharf_log_info("reload: input removed", "input=%s", in->id);
        reload_input_retire(a, in);
        n->removed++;
        return NULL;
    }
    wharf_input_t *fresh =
        wharf_conf_section_equal(old, sec) ? NULL : reload_input_replace(a, next, sec, in);
    if (fresh == NULL) {
        reload_swap(old, sec);
        n->kept++;
        return in;
    }
    reload_input_retire(a, in);
    int rc = fresh->ops->start(fresh);
    if (rc < 0)
        wharf_log_error("reload: cannot start input", "input=%s error=\"%s\"", fresh->id,
                        wharf_strerror(rc));
    wharf_log_info("reload: input changed; it goes on from the old one's positions", "input=%s",
                   fresh->id);
    n->changed++;
    return fresh;
}

static int reload_inputs(wharf_agent_t *a, wharf_config_t *next, reload_counts_t *n)
{
    wharf_input_t **ins = calloc(next->n_inputs + a->n_inputs + 1, sizeof(wharf_input_t *));
    if (ins == NULL)
        return -ENOMEM;
    size_t count = 0;
    for (size_t i = 0; i < a->n_inputs; i++) {
        wharf_input_t *in = reload_input(a, next, a->inputs[i], n);
        if (in != NULL)
            ins[count++] = in;
    }
    for (size_t i = 0; i < next->n_inputs; i++) {
        const wharf_conf_section_t *sec = &next->inputs[i];
        if (reload_find(a->cfg->inputs, a->cfg->n_inputs, sec->id) != NULL)
            continue;
        wharf_input_t *in = reload_input_create(a, next, sec, &a->positions);
        if (in == NULL)
            continue;
        int rc = in->ops->start(in);
        if (rc < 0)
            wharf_log_error("reload: cannot start input", "input=%s error=\"%s\"", in->id,
                            wharf_strerror(rc));
        wharf_log_info("reload: input added", "input=%s", sec->id);
        ins[count++] = in;
        n->added++;
    }
    free(a->inputs);
    a->inputs = ins;
    a->n_inputs = count;
    return 0;
}

/* ---- the rest ------------------------------------------------------------------ */

static void reload_warn_restart(const wharf_config_t *cur, const wharf_config_t *next)
{
    const char *what = NULL;
    if (strcmp(cur->data_dir, next->data_dir) != 0)
        what = "data_dir";
    else if (memcmp(&cur->buffer, &next->buffer, sizeof(cur->buffer)) != 0)
        what = "buffer";
    else if (strcmp(cur->host.name, next->host.name) != 0)
        what = "host.name";
    else if ((cur->api.listen == NULL) != (next->api.listen == NULL) ||
             (cur->api.listen != NULL && strcmp(cur->api.listen, next->api.listen) != 0))
        what = "api.listen";
    if (what != NULL)
        wharf_log_warn("reload: a changed setting takes a restart; it keeps its old value "
                       "until then",
                       "setting=%s", what);
}

static void reload_reject(wharf_agent_t *a, const wharf_conf_errors_t *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        wharf_log_error("configuration rejected; the running one stays", "error=\"%s\"",
                        errs->msgs[i]);
    char reason[512];
    snprintf(reason, sizeof(reason), "%s%s", errs->n > 0 ? errs->msgs[0] : "cannot load",
             errs->n > 1 ? " (and more, see wharf's log)" : "");
    agent_audit(a, WHARF_AUDIT_CONFIG_REJECTED, reason);
}

/* The audit watch follows the outputs by index: start it again. */
static void reload_audit(wharf_agent_t *a, const wharf_config_t *next)
{
    wharf_audit_watch_free(a->audit);
    a->audit = NULL;
    if (next->audit && wharf_audit_watch_new(a->pipeline, a->delivery, &a->audit) < 0)
        wharf_log_error("reload: out of memory; audit events are off", NULL);
}

void agent_reload(wharf_agent_t *a)
{
    wharf_log_info("SIGHUP: reloading the configuration", "path=%s", a->cfg->path);
    wharf_conf_errors_t errs = {0};
    wharf_config_t *next = NULL;
    if (wharf_config_load(a->cfg->path, &next, &errs) < 0) {
        reload_reject(a, &errs);
        wharf_conf_errors_free(&errs);
        return;
    }
    reload_warn_restart(a->cfg, next);
    /* what the inputs emitted so far goes in with the old positions */
    if (!wharf_pipeline_blocked(a->pipeline) && wharf_pipeline_commit(a->pipeline) == 0)
        wharf_pipeline_finish(a->pipeline);
    reload_counts_t outs = {0}, ins = {0};
    int rc = reload_outputs(a, next, &outs);
    if (rc == 0)
        rc = reload_inputs(a, next, &ins);
    wharf_pipeline_set_parsers(a->pipeline, next->parsers);
    wharf_log_set_format((wharf_log_format)next->log_format);
    if (a->own_cfg != NULL &&
        reload_push((void ***)&a->retired_cfgs, &a->n_retired_cfgs, a->own_cfg) < 0)
        wharf_log_error("reload: out of memory; the previous config is not freed", NULL);
    a->own_cfg = next;
    a->cfg = next;
    wharf_metrics_sources_t src;
    agent_metrics_sources(a, &src);
    wharf_api_set_sources(a->api, &src);
    reload_audit(a, next);
    wharf_delivery_reopen(a->delivery);
    wharf_delivery_kick(a->delivery);
    if (rc < 0)
        wharf_log_error("reload: out of memory part-way; restart wharf", NULL);
    wharf_log_info("configuration reloaded",
                   "inputs_kept=%zu inputs_added=%zu inputs_changed=%zu inputs_removed=%zu "
                   "outputs_kept=%zu outputs_added=%zu outputs_changed=%zu outputs_removed=%zu",
                   ins.kept, ins.added, ins.changed, ins.removed, outs.kept, outs.added,
                   outs.changed, outs.removed);
    agent_audit(a, WHARF_AUDIT_CONFIG_RELOADED, NULL);
}
