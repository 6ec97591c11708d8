/* container.h - what wharf knows about a container, and how it goes into events.
 *
 * Metadata is read from the runtime's own files (Docker's config.v2.json and
 * hostconfig.json, the kubelet's log layout), never from the Docker socket,
 * and once per container rather than per line. Config.Env is never read into
 * it: it holds secrets. Everything an event needs is pre-computed here,
 * including the labels object as ready JSON, so enriching an event is a
 * handful of pointer stores. */
#ifndef WHARF_CONTAINER_H
#define WHARF_CONTAINER_H

#include "wharf/arena.h"
#include "wharf/buf.h"
#include "wharf/event.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct wharf_label {
    char *key; /* dedotted unless configured otherwise */
    char *value;
} wharf_label_t;

/* Top-level keys container metadata sets: container, orchestrator, kubernetes. */
#define WHARF_CONTAINER_GROUPS 4

typedef struct wharf_container_meta {
    char *id;
    char *name; /* without Docker's leading '/' */
    const char *runtime;
    char *image_name;
    char *image_tag_text, *image_id, *image_digest; /* storage for the slices below */
    wharf_str_t image_tag[1];
    uint32_t n_image_tag;
    wharf_str_t image_hash[2]; /* Docker's image id, and a repo digest */
    uint32_t n_image_hash;
    wharf_label_t *labels;
    size_t n_labels;
    char *labels_json; /* the labels as one JSON object, or NULL when none */
    size_t labels_json_len;
    int labels_dedot;
    /* security posture; has_security is 0 where the runtime files do not say */
    int has_security;
    char *user;
    int privileged, run_as_root, read_only_rootfs, host_network, host_pid;
    wharf_str_t *cap_add; /* slices of cap_add_text */
    char **cap_add_text;
    uint32_t n_cap_add;
    /* Kubernetes */
    char *k8s_namespace, *k8s_pod, *k8s_pod_uid;
    /* Every field above rendered once as its JSON value, indexed by field
     * id (len 0: not set), so enriching an event copies no text twice. */
    wharf_str_t json[WHARF_F__COUNT];
    uint8_t json_ids[WHARF_F__COUNT]; /* the ids json[] sets, in order (ids fit a byte) */
    uint32_t n_json_ids;
    char *json_text;
    /* json[]'s fields per top-level key, rendered whole for the writer */
    wharf_event_group_t groups[WHARF_CONTAINER_GROUPS];
    uint32_t n_groups;
    /* change detection for Docker's files */
    struct timespec config_mtime, hostconfig_mtime;
} wharf_container_meta_t;

_Static_assert(WHARF_F__COUNT <= 256, "wharf_container_meta_t.json_ids holds field ids in bytes");

/* Loads DIR/config.v2.json and DIR/hostconfig.json (the latter optional).
 * Returns 0, -errno when unreadable, WHARF_EPARSE when not the expected JSON. */
int docker_meta_load(const char *container_dir, int labels_dedot, wharf_container_meta_t **out);
/* 1 when either file changed since the meta was loaded. */
int docker_meta_changed(const wharf_container_meta_t *m, const char *container_dir);
/* Parses "repo[:tag][@digest]" into the image fields; image_id (Docker's
 * "sha256:..." id, may be NULL) goes first into container.image.hash.all. */
int wharf_container_set_image(wharf_container_meta_t *m, const char *ref, const char *image_id);
/* Adds a label (key dedotted if m->labels_dedot), replacing an existing key,
 * and refreshes labels_json. */
int wharf_container_add_label(wharf_container_meta_t *m, const char *key, const char *value);
int wharf_container_render_labels(wharf_container_meta_t *m);
/* Renders the json[] values; call after the fields are filled. */
int wharf_container_finish(wharf_container_meta_t *m);
void wharf_container_meta_free(wharf_container_meta_t *m);

/* Sets the container, orchestrator and kubernetes fields of an event. */
void wharf_container_enrich(wharf_event_t *e, const wharf_container_meta_t *m);
/* The labels object merged with extra key/values (json-file `attrs`; their
 * keys dedotted like the labels', a later repeat of a key wins), appended to
 * out. Returns 0 or -ENOMEM. */
int wharf_container_labels_render(const wharf_container_meta_t *m, const wharf_label_t *extra,
                                  size_t n_extra, wharf_buf_t *out);
/* The same, rendered into the event's arena and set as container.labels. */
int wharf_container_labels_merged(wharf_event_t *e, const wharf_container_meta_t *m,
                                  const wharf_label_t *extra, size_t n_extra);

#endif
