/* enrich.c - container metadata: building it and stamping it on events.
 *
 * Everything here runs once per container except wharf_container_enrich(),
 * which runs per event and only stores pointers. */
#include "wharf/buf.h"
#include "wharf/container.h"
#include "wharf/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *strndup_or_null(const char *s, size_t n)
{
    return s ? strndup(s, n) : NULL;
}

int wharf_container_set_image(wharf_container_meta_t *m, const char *ref, const char *image_id)
{
    const char *at = strchr(ref, '@');
    size_t name_end = at ? (size_t)(at - ref) : strlen(ref);
    const char *slash = memrchr(ref, '/', name_end);
    const char *colon = memrchr(ref, ':', name_end);
    if (colon != NULL && slash != NULL && colon < slash)
        colon = NULL; /* a registry port, not a tag */
    size_t repo_end = colon ? (size_t)(colon - ref) : name_end;
    m->image_name = strndup_or_null(ref, repo_end);
    if (colon != NULL)
        m->image_tag_text = strndup_or_null(colon + 1, name_end - repo_end - 1);
    if (image_id != NULL && *image_id)
        m->image_id = strdup(image_id);
    if (at != NULL)
        m->image_digest = strdup(at + 1);
    if (m->image_name == NULL || (colon && !m->image_tag_text) ||
        (image_id && *image_id && !m->image_id) || (at && !m->image_digest))
        return -ENOMEM;
    if (m->image_tag_text)
        m->image_tag[m->n_image_tag++] =
            (wharf_str_t){m->image_tag_text, strlen(m->image_tag_text)};
    if (m->image_id)
        m->image_hash[m->n_image_hash++] = (wharf_str_t){m->image_id, strlen(m->image_id)};
    if (m->image_digest)
        m->image_hash[m->n_image_hash++] = (wharf_str_t){m->image_digest, strlen(m->image_digest)};
    return 0;
}

/* Beats' convention: "app.kubernetes.io/name" -> "app_kubernetes_io/name",
 * so that "app" and "app.kubernetes.io/name" cannot collide in a mapping. */
static void label_dedot(char *key)
{
    for (; *key; key++)
        if (*key == '.')
            *key = '_';
}

int wharf_container_add_label(wharf_container_meta_t *m, const char *key, const char *value)
{
    char *k = wharf_utf8_repair_dup(key, strlen(key)), *v = strdup(value);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    if (m->labels_dedot)
        label_dedot(k);
    for (size_t i = 0; i < m->n_labels; i++) {
        if (strcmp(m->labels[i].key, k) == 0) {
            free(k);
            free(m->labels[i].value);
            m->labels[i].value = v;
            return wharf_container_render_labels(m);
        }
    }
    wharf_label_t *l = realloc(m->labels, (m->n_labels + 1) * sizeof(*l));
    if (l == NULL) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    m->labels = l;
    l[m->n_labels++] = (wharf_label_t){k, v};
    return wharf_container_render_labels(m);
}

static void labels_write(wharf_buf_t *b, const wharf_label_t *v, size_t n, int *first)
{
    for (size_t i = 0; i < n; i++) {
        if (!*first)
            wharf_buf_putc(b, ',');
        *first = 0;
        wharf_json_write_string(b, v[i].key, strlen(v[i].key));
        wharf_buf_putc(b, ':');
        wharf_json_write_string(b, v[i].value, strlen(v[i].value));
    }
}

int wharf_container_render_labels(wharf_container_meta_t *m)
{
    free(m->labels_json);
    m->labels_json = NULL;
    m->labels_json_len = 0;
    if (m->n_labels == 0)
        return 0;
    wharf_buf_t b;
    wharf_buf_init(&b);
    int first = 1;
    wharf_buf_putc(&b, '{');
    labels_write(&b, m->labels, m->n_labels, &first);
    wharf_buf_putc(&b, '}');
    m->labels_json = b.data;
    m->labels_json_len = b.len;
    return 0;
}

/* 1 when keys[i] is given again later in keys (the later one wins). */
static int label_repeated(char *const *keys, size_t n, size_t i)
{
    for (size_t j = i + 1; j < n; j++)
        if (strcmp(keys[j], keys[i]) == 0)
            return 1;
    return 0;
}

static int label_in(char *const *keys, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    return 0;
}

int wharf_container_labels_render(const wharf_container_meta_t *m, const wharf_label_t *extra,
                                  size_t n_extra, wharf_buf_t *out)
{
    char **keys = calloc(n_extra ? n_extra : 1, sizeof(char *));
    int rc = keys ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n_extra; i++) {
        if ((keys[i] = wharf_utf8_repair_dup(extra[i].key, strlen(extra[i].key))) == NULL)
            rc = -ENOMEM;
        else if (m == NULL || m->labels_dedot)
            label_dedot(keys[i]);
    }
    if (rc == 0) {
        int first = 1;
        wharf_buf_putc(out, '{');
        for (size_t i = 0; i < n_extra; i++) {
            if (label_repeated(keys, n_extra, i))
                continue;
            wharf_label_t l = {keys[i], extra[i].value};
            labels_write(out, &l, 1, &first);
        }
        for (size_t i = 0; m != NULL && i < m->n_labels; i++)
            if (!label_in(keys, n_extra, m->labels[i].key))
                labels_write(out, &m->labels[i], 1, &first);
        wharf_buf_putc(out, '}');
    }
    for (size_t i = 0; keys != NULL && i < n_extra; i++)
        free(keys[i]);
    free(keys);
    return rc;
}

int wharf_container_labels_merged(wharf_event_t *e, const wharf_container_meta_t *m,
                                  const wharf_label_t *extra, size_t n_extra)
{
    wharf_buf_t b;
    wharf_buf_init(&b);
    int rc = wharf_container_labels_render(m, extra, n_extra, &b);
    char *json = rc == 0 ? wharf_arena_strndup(e->arena, b.data, b.len) : NULL;
    size_t len = b.len;
    wharf_buf_free(&b);
    if (json == NULL)
        return rc < 0 ? rc : -ENOMEM;
    wharf_event_set_raw(e, WHARF_F_CONTAINER_LABELS, json, len);
    return 0;
}

/* Where each field's JSON value starts in the render buffer; offsets, because
 * the buffer may move while it grows. */
typedef struct render_slot {
    size_t off, len;
} render_slot_t;

static void render_begin(wharf_buf_t *b, render_slot_t *slots, wharf_field_id f)
{
    slots[f].off = b->len;
}

static void render_end(wharf_buf_t *b, render_slot_t *slots, wharf_field_id f)
{
    slots[f].len = b->len - slots[f].off;
}

static void render_str(wharf_buf_t *b, render_slot_t *slots, wharf_field_id f, const char *s)
{
    if (s == NULL || *s == '\0')
        return;
    render_begin(b, slots, f);
    wharf_json_write_string(b, s, strlen(s));
    render_end(b, slots, f);
}

static void render_bool(wharf_buf_t *b, render_slot_t *slots, wharf_field_id f, int v)
{
    render_begin(b, slots, f);
    if (v)
        wharf_buf_lit(b, "true");
    else
        wharf_buf_lit(b, "false");
    render_end(b, slots, f);
}

static void render_strs(wharf_buf_t *b, render_slot_t *slots, wharf_field_id f,
                        const wharf_str_t *v, uint32_t n)
{
    if (n == 0)
        return;
    render_begin(b, slots, f);
    wharf_buf_putc(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            wharf_buf_putc(b, ',');
        wharf_json_write_string(b, v[i].ptr, v[i].len);
    }
    wharf_buf_putc(b, ']');
    render_end(b, slots, f);
}

static void render_security(wharf_buf_t *b, render_slot_t *slots, const wharf_container_meta_t *m)
{
    render_begin(b, slots, WHARF_F_CONTAINER_SC_USER);
    wharf_json_write_string(b, m->user ? m->user : "", m->user ? strlen(m->user) : 0);
    render_end(b, slots, WHARF_F_CONTAINER_SC_USER);
    render_bool(b, slots, WHARF_F_CONTAINER_SC_RUN_AS_ROOT, m->run_as_root);
    render_bool(b, slots, WHARF_F_CONTAINER_SC_PRIVILEGED, m->privileged);
    render_bool(b, slots, WHARF_F_CONTAINER_SC_READ_ONLY_ROOTFS, m->read_only_rootfs);
    render_bool(b, slots, WHARF_F_CONTAINER_SC_HOST_NETWORK, m->host_network);
    render_bool(b, slots, WHARF_F_CONTAINER_SC_HOST_PID, m->host_pid);
    render_strs(b, slots, WHARF_F_CONTAINER_SC_CAP_ADD, m->cap_add, m->n_cap_add);
}

static void render_kubernetes(wharf_buf_t *b, render_slot_t *slots, const wharf_container_meta_t *m)
{
    render_str(b, slots, WHARF_F_ORCHESTRATOR_TYPE, "kubernetes");
    render_str(b, slots, WHARF_F_ORCHESTRATOR_RESOURCE_TYPE, "pod");
    render_str(b, slots, WHARF_F_ORCHESTRATOR_RESOURCE_NAME, m->k8s_pod);
    render_str(b, slots, WHARF_F_ORCHESTRATOR_NAMESPACE, m->k8s_namespace);
    render_str(b, slots, WHARF_F_KUBERNETES_POD_UID, m->k8s_pod_uid);
}

static void container_groups_free(wharf_container_meta_t *m)
{
    for (uint32_t i = 0; i < m->n_groups; i++)
        free(m->groups[i].text);
    m->n_groups = 0;
}

/* One group per top-level key of json[]'s fields (json_ids ascend, so a
 * key's fields are consecutive). */
static int container_groups_render(wharf_container_meta_t *m)
{
    container_groups_free(m);
    for (uint32_t i = 0; i < m->n_json_ids; i++) {
        wharf_field_id f = (wharf_field_id)m->json_ids[i];
        if (m->n_groups > 0 && f <= m->groups[m->n_groups - 1].last)
            continue;
        if (m->n_groups == WHARF_CONTAINER_GROUPS)
            return 0; /* the rest are written field by field */
        if (wharf_json_group_render(&m->groups[m->n_groups], f, m->json) < 0)
            return -ENOMEM;
        m->n_groups++;
    }
    return 0;
}

int wharf_container_finish(wharf_container_meta_t *m)
{
    render_slot_t slots[WHARF_F__COUNT] = {{0, 0}};
    wharf_buf_t b;
    wharf_buf_init(&b);
    render_str(&b, slots, WHARF_F_CONTAINER_ID, m->id);
    render_str(&b, slots, WHARF_F_CONTAINER_NAME, m->name);
    render_str(&b, slots, WHARF_F_CONTAINER_RUNTIME, m->runtime);
    render_str(&b, slots, WHARF_F_CONTAINER_IMAGE_NAME, m->image_name);
    render_strs(&b, slots, WHARF_F_CONTAINER_IMAGE_TAG, m->image_tag, m->n_image_tag);
    render_strs(&b, slots, WHARF_F_CONTAINER_IMAGE_HASH_ALL, m->image_hash, m->n_image_hash);
    if (m->labels_json != NULL) {
        render_begin(&b, slots, WHARF_F_CONTAINER_LABELS);
        wharf_buf_append(&b, m->labels_json, m->labels_json_len);
        render_end(&b, slots, WHARF_F_CONTAINER_LABELS);
    }
    if (m->has_security)
        render_security(&b, slots, m);
    if (m->k8s_pod != NULL)
        render_kubernetes(&b, slots, m);
    free(m->json_text);
    m->json_text = b.data;
    m->n_json_ids = 0;
    for (int f = 0; f < WHARF_F__COUNT; f++) {
        m->json[f] = (wharf_str_t){slots[f].len ? b.data + slots[f].off : NULL, slots[f].len};
        if (slots[f].len)
            m->json_ids[m->n_json_ids++] = (uint8_t)f;
    }
    return container_groups_render(m);
}

void wharf_container_enrich(wharf_event_t *e, const wharf_container_meta_t *m)
{
    for (uint32_t i = 0; i < m->n_json_ids; i++) {
        wharf_field_id f = (wharf_field_id)m->json_ids[i];
        wharf_event_set_raw(e, f, m->json[f].ptr, m->json[f].len);
    }
    e->groups = m->groups;
    e->n_groups = m->n_groups;
}

void wharf_container_meta_free(wharf_container_meta_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_labels; i++) {
        free(m->labels[i].key);
        free(m->labels[i].value);
    }
    for (uint32_t i = 0; i < m->n_cap_add; i++)
        free(m->cap_add_text[i]);
    free(m->cap_add_text);
    free(m->cap_add);
    free(m->labels);
    free(m->labels_json);
    free(m->json_text);
    container_groups_free(m);
    free(m->id);
    free(m->name);
    free(m->image_name);
    free(m->image_tag_text);
    free(m->image_id);
    free(m->image_digest);
    free(m->user);
    free(m->k8s_namespace);
    free(m->k8s_pod);
    free(m->k8s_pod_uid);
    free(m);
}
