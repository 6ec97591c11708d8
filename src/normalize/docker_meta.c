/* docker_meta.c - container metadata from Docker's own files.
 *
 * dockerd keeps each container's configuration in ROOT/<id>/config.v2.json
 * and ROOT/<id>/hostconfig.json. Reading them needs only read access to the
 * directory, unlike the Docker socket, which is root-equivalent. These files
 * are small and read once per container (again only when their mtime
 * changes), so a tree parse is fine here. Config.Env is never looked at. */
#include "wharf/common.h"
#include "wharf/container.h"
#include "wharf/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yajl/yajl_tree.h>

#define DOCKER_META_MAX_BYTES (16u << 20)

static yajl_val meta_get(yajl_val root, const char *a, const char *b, yajl_type type)
{
    const char *path[] = {a, b, NULL};
    return yajl_tree_get(root, path, type);
}

static const char *meta_str(yajl_val root, const char *a, const char *b)
{
    yajl_val v = meta_get(root, a, b, yajl_t_string);
    return v ? YAJL_GET_STRING(v) : NULL;
}

static int meta_bool(yajl_val root, const char *key)
{
    return meta_get(root, key, NULL, yajl_t_true) != NULL;
}

static int meta_parse_file(const char *dir, const char *name, yajl_val *out, struct timespec *mtime)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    *mtime = st.st_mtim;
    char *text = NULL;
    size_t len = 0;
    int rc = wharf_read_file(path, DOCKER_META_MAX_BYTES, &text, &len);
    if (rc < 0)
        return rc;
    *out = yajl_tree_parse(text, NULL, 0);
    free(text);
    return *out && YAJL_IS_OBJECT(*out) ? 0 : WHARF_EPARSE;
}

static int user_is_root(const char *user)
{
    if (user == NULL || *user == '\0')
        return 1;
    size_t n = strcspn(user, ":");
    return (n == 4 && strncmp(user, "root", 4) == 0) || (n == 1 && user[0] == '0');
}

static int meta_load_labels(wharf_container_meta_t *m, yajl_val config)
{
    yajl_val labels = meta_get(config, "Config", "Labels", yajl_t_object);
    if (labels == NULL)
        return 0;
    for (size_t i = 0; i < labels->u.object.len; i++) {
        const char *k = labels->u.object.keys[i];
        const char *v = YAJL_GET_STRING(labels->u.object.values[i]);
        if (v == NULL)
            continue;
        char **dst = strcmp(k, "io.kubernetes.pod.name") == 0        ? &m->k8s_pod
                     : strcmp(k, "io.kubernetes.pod.namespace") == 0 ? &m->k8s_namespace
                     : strcmp(k, "io.kubernetes.pod.uid") == 0       ? &m->k8s_pod_uid
                                                                     : NULL;
        if (dst != NULL && *dst == NULL && (*dst = strdup(v)) == NULL)
            return -ENOMEM;
        int rc = wharf_container_add_label(m, k, v);
        if (rc < 0)
            return rc;
    }
    return wharf_container_render_labels(m);
}

static int meta_load_config(wharf_container_meta_t *m, yajl_val config)
{
    const char *id = meta_str(config, "ID", NULL);
    const char *name = meta_str(config, "Name", NULL);
    const char *image = meta_str(config, "Config", "Image");
    const char *user = meta_str(config, "Config", "User");
    if (id == NULL)
        return WHARF_EPARSE;
    if (name != NULL && *name == '/')
        name++;
    m->id = strdup(id);
    m->name = name ? strdup(name) : NULL;
    m->user = strdup(user ? user : "");
    if (m->id == NULL || (name && !m->name) || m->user == NULL)
        return -ENOMEM;
    m->run_as_root = user_is_root(m->user);
    if (image != NULL) {
        int rc = wharf_container_set_image(m, image, meta_str(config, "Image", NULL));
        if (rc < 0)
            return rc;
    }
    return meta_load_labels(m, config);
}

static int meta_load_caps(wharf_container_meta_t *m, yajl_val caps)
{
    size_t n = caps ? caps->u.array.len : 0;
    if (n == 0)
        return 0;
    m->cap_add = calloc(n, sizeof(*m->cap_add));
    m->cap_add_text = calloc(n, sizeof(*m->cap_add_text));
    if (m->cap_add == NULL || m->cap_add_text == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *c = YAJL_GET_STRING(caps->u.array.values[i]);
        if (c == NULL)
            continue;
        char *copy = strdup(c);
        if (copy == NULL)
            return -ENOMEM;
        m->cap_add_text[m->n_cap_add] = copy;
        m->cap_add[m->n_cap_add++] = (wharf_str_t){copy, strlen(copy)};
    }
    return 0;
}

static int meta_load_hostconfig(wharf_container_meta_t *m, yajl_val host)
{
    const char *net = meta_str(host, "NetworkMode", NULL);
    const char *pid = meta_str(host, "PidMode", NULL);
    m->has_security = 1;
    m->privileged = meta_bool(host, "Privileged");
    m->read_only_rootfs = meta_bool(host, "ReadonlyRootfs");
    m->host_network = net != NULL && strcmp(net, "host") == 0;
    m->host_pid = pid != NULL && strcmp(pid, "host") == 0;
    return meta_load_caps(m, meta_get(host, "CapAdd", NULL, yajl_t_array));
}

int docker_meta_load(const char *container_dir, int labels_dedot, wharf_container_meta_t **out)
{
    wharf_container_meta_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return -ENOMEM;
    m->runtime = "docker";
    m->labels_dedot = labels_dedot;
    yajl_val config = NULL, host = NULL;
    int rc = meta_parse_file(container_dir, "config.v2.json", &config, &m->config_mtime);
    if (rc == 0)
        rc = meta_load_config(m, config);
    if (rc == 0) {
        int hrc = meta_parse_file(container_dir, "hostconfig.json", &host, &m->hostconfig_mtime);
        if (hrc == 0)
            rc = meta_load_hostconfig(m, host);
        else if (hrc != -ENOENT)
            rc = hrc;
    }
    yajl_tree_free(config);
    yajl_tree_free(host);
    if (rc == 0)
        rc = wharf_container_finish(m);
    if (rc < 0) {
        wharf_container_meta_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static int mtime_differs(const char *dir, const char *name, struct timespec seen)
{
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        stat(path, &st) < 0)
        return 0;
    return st.st_mtim.tv_sec != seen.tv_sec || st.st_mtim.tv_nsec != seen.tv_nsec;
}

int docker_meta_changed(const wharf_container_meta_t *m, const char *container_dir)
{
    return mtime_differs(container_dir, "config.v2.json", m->config_mtime) ||
           mtime_differs(container_dir, "hostconfig.json", m->hostconfig_mtime);
}
