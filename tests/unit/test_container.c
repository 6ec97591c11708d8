/* test_container.c - container metadata: image references, labels, Docker's
 * config.v2.json / hostconfig.json, and what enrichment writes into events. */
#include "wharf/common.h"
#include "wharf/container.h"
#include "wharf/json.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define CID   "a1b2c3d4e5f60718a1b2c3d4e5f60718a1b2c3d4e5f60718a1b2c3d4e5f60718"
#define IMGID "sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6"

/* Secrets in Config.Env: none may end up anywhere in the metadata. */
#define SECRET1 "hunter2-s3cr3t"
#define SECRET2 "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"

/* ---- helpers ------------------------------------------------------------ */

/* What a test allocates is released at teardown, so that a failing assertion
 * (which leaves the test at once) leaks nothing valgrind would blame on src/. */
typedef struct deferred {
    void (*fn)(void *);
    void *p;
} deferred_t;

static deferred_t deferred[256];
static size_t n_deferred;

static void *defer(void (*fn)(void *), void *p)
{
    assert_true(n_deferred < sizeof(deferred) / sizeof(deferred[0]));
    deferred[n_deferred++] = (deferred_t){fn, p};
    return p;
}

static int run_deferred(void **state)
{
    while (n_deferred > 0) {
        deferred_t *d = &deferred[--n_deferred];
        d->fn(d->p);
    }
    return 0;
}

static void meta_free_cb(void *p)
{
    wharf_container_meta_free(p);
}

static void arena_free_cb(void *p)
{
    wharf_arena_free(p);
    free(p);
}

static void defer_meta(wharf_container_meta_t *m)
{
    defer(meta_free_cb, m);
}

static wharf_arena_t *new_arena(void)
{
    wharf_arena_t *a = malloc(sizeof(*a));
    assert_non_null(a);
    wharf_arena_init(a, 1024);
    return defer(arena_free_cb, a);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void remove_dir_cb(void *dir)
{
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/wharf-test-container-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return defer(remove_dir_cb, strdup(d));
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void set_mtime(const char *dir, const char *name, time_t sec)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct timespec ts[2] = {{sec, 0}, {sec, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* A config.v2.json as dockerd 24 writes it (trimmed of nothing that matters:
 * State, NetworkSettings, mounts are there). USER is the JSON text of
 * Config.User, or empty to leave the key out. */
static char *config_json(const char *user_json, const char *name_json, const char *labels_json)
{
    char *user = NULL, *out = NULL;
    assert_true(asprintf(&user, "%s%s%s", user_json[0] ? "\"User\":" : "", user_json,
                         user_json[0] ? "," : "") >= 0);
    int n = asprintf(
        &out,
        "{\"StreamConfig\":{},\"State\":{\"Running\":true,\"Paused\":false,\"Restarting\":false,"
        "\"OOMKilled\":false,\"RemovalInProgress\":false,\"Dead\":false,\"Pid\":41234,"
        "\"ExitCode\":0,\"Error\":\"\",\"StartedAt\":\"2024-05-01T10:00:00.123456789Z\","
        "\"FinishedAt\":\"0001-01-01T00:00:00Z\",\"Health\":null},"
        "\"ID\":\"" CID "\",\"Created\":\"2024-05-01T09:59:59.5Z\",\"Managed\":false,"
        "\"Path\":\"/docker-entrypoint.sh\",\"Args\":[\"nginx\",\"-g\",\"daemon off;\"],"
        "\"Config\":{\"Hostname\":\"a1b2c3d4e5f6\",\"Domainname\":\"\",%s"
        "\"AttachStdin\":false,\"AttachStdout\":true,\"AttachStderr\":true,"
        "\"ExposedPorts\":{\"80/tcp\":{}},\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,"
        "\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
        "\"NGINX_VERSION=1.25.3\",\"DB_PASSWORD=" SECRET1 "\","
        "\"AWS_SECRET_ACCESS_KEY=" SECRET2 "\"],"
        "\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],\"Image\":\"nginx:1.25\",\"Volumes\":null,"
        "\"WorkingDir\":\"\",\"Entrypoint\":[\"/docker-entrypoint.sh\"],\"OnBuild\":null,"
        "\"Labels\":%s,\"StopSignal\":\"SIGQUIT\"},"
        "\"Image\":\"" IMGID "\","
        "\"NetworkSettings\":{\"Bridge\":\"\",\"SandboxID\":\"5c1f\",\"Ports\":{\"80/tcp\":null},"
        "\"Networks\":{\"bridge\":{\"IPAddress\":\"172.17.0.2\",\"Gateway\":\"172.17.0.1\"}}},"
        "\"LogPath\":\"/var/lib/docker/containers/" CID "/" CID "-json.log\","
        "%s\"Driver\":\"overlay2\",\"OS\":\"linux\",\"RestartCount\":0,"
        "\"HasBeenStartedBefore\":true,\"HasBeenManuallyStopped\":false,\"MountPoints\":{},"
        "\"SecretReferences\":null,\"AppArmorProfile\":\"docker-default\","
        "\"HostnamePath\":\"/var/lib/docker/containers/" CID "/hostname\"}",
        user, labels_json, name_json);
    assert_true(n > 0);
    free(user);
    return out;
}

#define DEFAULT_LABELS                                                                             \
    "{\"maintainer\":\"NGINX Docker Maintainers <docker-maint@nginx.com>\","                       \
    "\"com.example.team\":\"web\",\"io.kubernetes.pod.name\":\"web-0\","                           \
    "\"io.kubernetes.pod.namespace\":\"prod\",\"io.kubernetes.pod.uid\":\"0b1c-uid\","             \
    "\"io.kubernetes.container.name\":\"nginx\",\"quote\\\"d\":\"v\\\\al\",\"num\":5}"

#define DEFAULT_LABELS_JSON_DEDOT                                                                  \
    "{\"maintainer\":\"NGINX Docker Maintainers <docker-maint@nginx.com>\","                       \
    "\"com_example_team\":\"web\",\"io_kubernetes_pod_name\":\"web-0\","                           \
    "\"io_kubernetes_pod_namespace\":\"prod\",\"io_kubernetes_pod_uid\":\"0b1c-uid\","             \
    "\"io_kubernetes_container_name\":\"nginx\",\"quote\\\"d\":\"v\\\\al\"}"

#define HOSTCONFIG_PRIVILEGED                                                                      \
    "{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"json-file\","              \
    "\"Config\":{\"max-size\":\"10m\"}},\"NetworkMode\":\"host\",\"PortBindings\":{},"             \
    "\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":false,"            \
    "\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"CapAdd\":[\"NET_ADMIN\",\"SYS_PTRACE\"],"        \
    "\"CapDrop\":null,\"CgroupnsMode\":\"private\",\"Dns\":[],\"DnsOptions\":[],"                  \
    "\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"private\","              \
    "\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"host\",\"Privileged\":true,"   \
    "\"PublishAllPorts\":false,\"ReadonlyRootfs\":true,\"SecurityOpt\":[\"label=disable\"],"       \
    "\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":67108864,\"Runtime\":\"runc\","              \
    "\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,\"MaskedPaths\":null,\"ReadonlyPaths\":null}"

#define HOSTCONFIG_DEFAULT                                                                         \
    "{\"Binds\":null,\"NetworkMode\":\"bridge\",\"CapAdd\":null,\"CapDrop\":null,"                 \
    "\"PidMode\":\"\",\"Privileged\":false,\"ReadonlyRootfs\":false,\"IpcMode\":\"private\","      \
    "\"MaskedPaths\":[\"/proc/asound\"],\"ReadonlyPaths\":[\"/proc/bus\"]}"

static char *make_container(const char *user_json, const char *name_json, const char *labels,
                            const char *hostconfig)
{
    char *dir = make_dir();
    char *cfg = config_json(user_json, name_json, labels);
    write_file(dir, "config.v2.json", cfg);
    free(cfg);
    if (hostconfig != NULL)
        write_file(dir, "hostconfig.json", hostconfig);
    return dir;
}

static void check_json_field(const wharf_container_meta_t *m, wharf_field_id f, const char *want)
{
    if (want == NULL) {
        if (m->json[f].len != 0)
            fail_msg("%s: rendered as %.*s, want unset", wharf_field_path(f), (int)m->json[f].len,
                     m->json[f].ptr);
        return;
    }
    if (m->json[f].len != strlen(want) || memcmp(m->json[f].ptr, want, m->json[f].len) != 0)
        fail_msg("%s: rendered as %.*s, want %s", wharf_field_path(f), (int)m->json[f].len,
                 m->json[f].ptr ? m->json[f].ptr : "", want);
}

static void assert_no_secret(const char *s, size_t n)
{
    if (s == NULL)
        return;
    static const char *const secrets[] = {SECRET1, SECRET2, "DB_PASSWORD", "NGINX_VERSION",
                                          "AWS_SECRET"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (memmem(s, n, secrets[i], strlen(secrets[i])) != NULL)
            fail_msg("Config.Env leaked: \"%s\" found in \"%.*s\"", secrets[i], (int)n, s);
}

static void assert_no_secret_cstr(const char *s)
{
    if (s != NULL)
        assert_no_secret(s, strlen(s));
}

static void assert_meta_has_no_env(const wharf_container_meta_t *m)
{
    assert_no_secret_cstr(m->id);
    assert_no_secret_cstr(m->name);
    assert_no_secret_cstr(m->runtime);
    assert_no_secret_cstr(m->image_name);
    assert_no_secret_cstr(m->image_tag_text);
    assert_no_secret_cstr(m->image_id);
    assert_no_secret_cstr(m->image_digest);
    assert_no_secret_cstr(m->user);
    assert_no_secret_cstr(m->k8s_namespace);
    assert_no_secret_cstr(m->k8s_pod);
    assert_no_secret_cstr(m->k8s_pod_uid);
    for (size_t i = 0; i < m->n_labels; i++) {
        assert_no_secret_cstr(m->labels[i].key);
        assert_no_secret_cstr(m->labels[i].value);
    }
    for (uint32_t i = 0; i < m->n_cap_add; i++)
        assert_no_secret_cstr(m->cap_add_text[i]);
    assert_no_secret(m->labels_json, m->labels_json_len);
    for (int f = 0; f < WHARF_F__COUNT; f++)
        assert_no_secret(m->json[f].ptr, m->json[f].len);
}

static wharf_container_meta_t *new_meta(int dedot)
{
    wharf_container_meta_t *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->labels_dedot = dedot;
    defer_meta(m);
    return m;
}

static char *write_event(const wharf_event_t *e)
{
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    wharf_buf_t b;
    wharf_buf_init(&b);
    assert_int_equal(wharf_json_write_event(&w, e, &b), 0);
    wharf_buf_putc(&b, '\0');
    return defer(free, b.data);
}

/* ---- wharf_container_set_image ------------------------------------------ */

static void check_image(const char *ref, const char *image_id, const char *name, const char *tag,
                        const char *hash0, const char *hash1)
{
    wharf_container_meta_t *m = new_meta(1);
    assert_int_equal(wharf_container_set_image(m, ref, image_id), 0);
    assert_string_equal(m->image_name, name);
    if (tag == NULL) {
        assert_int_equal(m->n_image_tag, 0);
    } else {
        assert_int_equal(m->n_image_tag, 1);
        assert_int_equal(m->image_tag[0].len, strlen(tag));
        assert_memory_equal(m->image_tag[0].ptr, tag, strlen(tag));
    }
    uint32_t nh = (hash0 != NULL) + (hash1 != NULL);
    assert_int_equal(m->n_image_hash, nh);
    const char *hashes[2] = {hash0, hash1};
    for (uint32_t i = 0; i < nh; i++) {
        assert_int_equal(m->image_hash[i].len, strlen(hashes[i]));
        assert_memory_equal(m->image_hash[i].ptr, hashes[i], strlen(hashes[i]));
    }
    /* and as rendered JSON */
    assert_int_equal(wharf_container_finish(m), 0);
    char want[512];
    snprintf(want, sizeof(want), "\"%s\"", name);
    check_json_field(m, WHARF_F_CONTAINER_IMAGE_NAME, want);
    if (tag != NULL) {
        snprintf(want, sizeof(want), "[\"%s\"]", tag);
        check_json_field(m, WHARF_F_CONTAINER_IMAGE_TAG, want);
    } else {
        check_json_field(m, WHARF_F_CONTAINER_IMAGE_TAG, NULL);
    }
    if (nh == 0)
        check_json_field(m, WHARF_F_CONTAINER_IMAGE_HASH_ALL, NULL);
    else if (nh == 1)
        snprintf(want, sizeof(want), "[\"%s\"]", hash0);
    else
        snprintf(want, sizeof(want), "[\"%s\",\"%s\"]", hash0, hash1);
    if (nh)
        check_json_field(m, WHARF_F_CONTAINER_IMAGE_HASH_ALL, want);
}

static void test_set_image(void **state)
{
    check_image("nginx", NULL, "nginx", NULL, NULL, NULL);
    check_image("nginx", IMGID, "nginx", NULL, IMGID, NULL);
    check_image("nginx", "", "nginx", NULL, NULL, NULL);
    check_image("nginx:1.25", IMGID, "nginx", "1.25", IMGID, NULL);
    check_image("library/nginx:1.25-alpine", NULL, "library/nginx", "1.25-alpine", NULL, NULL);
    check_image("registry:5000/team/app:v1", IMGID, "registry:5000/team/app", "v1", IMGID, NULL);
    check_image("registry:5000/team/app", IMGID, "registry:5000/team/app", NULL, IMGID, NULL);
    check_image("localhost:5000/app", NULL, "localhost:5000/app", NULL, NULL, NULL);
    check_image("app@sha256:abc", NULL, "app", NULL, "sha256:abc", NULL);
    check_image("app@sha256:abc", IMGID, "app", NULL, IMGID, "sha256:abc");
    check_image("repo:tag@sha256:abc", IMGID, "repo", "tag", IMGID, "sha256:abc");
    check_image("repo:tag@sha256:abc", NULL, "repo", "tag", "sha256:abc", NULL);
    check_image("registry:5000/team/app@sha256:abc", IMGID, "registry:5000/team/app", NULL, IMGID,
                "sha256:abc");
    check_image("registry:5000/team/app:v1@sha256:abc", NULL, "registry:5000/team/app", "v1",
                "sha256:abc", NULL);
    check_image("ghcr.io/org/tool:2024.05.01", NULL, "ghcr.io/org/tool", "2024.05.01", NULL, NULL);
}

/* ---- labels ------------------------------------------------------------- */

static void check_labels_json(const wharf_container_meta_t *m, const char *want)
{
    if (want == NULL) {
        assert_null(m->labels_json);
        assert_int_equal(m->labels_json_len, 0);
        return;
    }
    if (m->labels_json == NULL)
        fail_msg("labels_json is NULL, want %s", want);
    if (m->labels_json_len != strlen(want) || memcmp(m->labels_json, want, strlen(want)) != 0)
        fail_msg("labels_json is %.*s, want %s", (int)m->labels_json_len, m->labels_json, want);
}

static void test_add_label_dedot(void **state)
{
    wharf_container_meta_t *m = new_meta(1);
    assert_int_equal(wharf_container_add_label(m, "app", "web"), 0);
    assert_int_equal(wharf_container_add_label(m, "app.kubernetes.io/name", "shop"), 0);
    assert_int_equal(wharf_container_add_label(m, "a.b.c", "1"), 0);
    assert_int_equal(m->n_labels, 3);
    assert_string_equal(m->labels[0].key, "app");
    assert_string_equal(m->labels[0].value, "web");
    assert_string_equal(m->labels[1].key, "app_kubernetes_io/name");
    assert_string_equal(m->labels[1].value, "shop");
    assert_string_equal(m->labels[2].key, "a_b_c");
    /* an existing key is replaced in place, also when only dedotting makes it
     * the same key */
    assert_int_equal(wharf_container_add_label(m, "app", "web2"), 0);
    assert_int_equal(wharf_container_add_label(m, "a_b.c", "2"), 0);
    assert_int_equal(m->n_labels, 3);
    assert_string_equal(m->labels[0].value, "web2");
    assert_string_equal(m->labels[2].key, "a_b_c");
    assert_string_equal(m->labels[2].value, "2");
    assert_int_equal(wharf_container_render_labels(m), 0);
    check_labels_json(m, "{\"app\":\"web2\",\"app_kubernetes_io/name\":\"shop\",\"a_b_c\":\"2\"}");
}

static void test_add_label_no_dedot(void **state)
{
    wharf_container_meta_t *m = new_meta(0);
    assert_int_equal(wharf_container_add_label(m, "app.kubernetes.io/name", "shop"), 0);
    assert_int_equal(wharf_container_add_label(m, "app_kubernetes_io/name", "other"), 0);
    assert_int_equal(wharf_container_add_label(m, "app.kubernetes.io/name", "shop2"), 0);
    assert_int_equal(m->n_labels, 2);
    assert_string_equal(m->labels[0].key, "app.kubernetes.io/name");
    assert_string_equal(m->labels[0].value, "shop2");
    assert_string_equal(m->labels[1].key, "app_kubernetes_io/name");
    assert_int_equal(wharf_container_render_labels(m), 0);
    check_labels_json(m, "{\"app.kubernetes.io/name\":\"shop2\",\"app_kubernetes_io/name\":"
                         "\"other\"}");
}

static void test_render_labels_escaping(void **state)
{
    wharf_container_meta_t *m = new_meta(1);
    assert_int_equal(wharf_container_render_labels(m), 0);
    check_labels_json(m, NULL);
    assert_int_equal(wharf_container_add_label(m, "q\"k", "v\\\n\t"), 0);
    assert_int_equal(wharf_container_add_label(m, "caf\xc3\xa9", "bad \xff utf8"), 0);
    assert_int_equal(wharf_container_add_label(m, "empty", ""), 0);
    assert_int_equal(wharf_container_render_labels(m), 0);
    check_labels_json(m, "{\"q\\\"k\":\"v\\\\\\n\\t\",\"caf\xc3\xa9\":\"bad \xef\xbf\xbd utf8\","
                         "\"empty\":\"\"}");
    /* rendering again gives the same, without leaking the old text */
    assert_int_equal(wharf_container_render_labels(m), 0);
    check_labels_json(m, "{\"q\\\"k\":\"v\\\\\\n\\t\",\"caf\xc3\xa9\":\"bad \xef\xbf\xbd utf8\","
                         "\"empty\":\"\"}");
    /* finish puts the labels object into container.labels */
    assert_int_equal(wharf_container_finish(m), 0);
    check_json_field(m, WHARF_F_CONTAINER_LABELS,
                     "{\"q\\\"k\":\"v\\\\\\n\\t\",\"caf\xc3\xa9\":\"bad \xef\xbf\xbd utf8\","
                     "\"empty\":\"\"}");
}

/* container.h: add_label "refreshes labels_json". */
static void test_add_label_refreshes_labels_json(void **state)
{
    wharf_container_meta_t *m = new_meta(1);
    assert_int_equal(wharf_container_add_label(m, "a.b", "1"), 0);
    check_labels_json(m, "{\"a_b\":\"1\"}");
    assert_int_equal(wharf_container_add_label(m, "a.b", "2"), 0);
    check_labels_json(m, "{\"a_b\":\"2\"}");
}

static void check_merged(const wharf_container_meta_t *m, const wharf_label_t *extra, size_t n,
                         const char *want)
{
    wharf_event_t e;
    memset(&e, 0, sizeof(e));
    e.arena = new_arena();
    wharf_event_clear(&e);
    if (m != NULL)
        wharf_container_enrich(&e, m);
    assert_int_equal(wharf_container_labels_merged(&e, m, extra, n), 0);
    assert_true(wharf_event_has(&e, WHARF_F_CONTAINER_LABELS));
    const wharf_value_t *v = &e.v[WHARF_F_CONTAINER_LABELS];
    assert_int_equal(v->type, WHARF_V_RAW);
    if (v->u.str.len != strlen(want) || memcmp(v->u.str.ptr, want, v->u.str.len) != 0)
        fail_msg("merged labels %.*s, want %s", (int)v->u.str.len, v->u.str.ptr, want);
}

static void test_labels_merged(void **state)
{
    wharf_container_meta_t *m = new_meta(1);
    assert_int_equal(wharf_container_add_label(m, "app", "web"), 0);
    assert_int_equal(wharf_container_add_label(m, "tier", "front"), 0);
    assert_int_equal(wharf_container_render_labels(m), 0);
    assert_int_equal(wharf_container_finish(m), 0);
    const wharf_label_t extra[] = {{"tag", "api\"1"}, {"app", "override"}};
    check_merged(m, extra, 2, "{\"tag\":\"api\\\"1\",\"app\":\"override\",\"tier\":\"front\"}");
    check_merged(m, extra, 0, "{\"app\":\"web\",\"tier\":\"front\"}");
    check_merged(NULL, extra, 1, "{\"tag\":\"api\\\"1\"}");
}

/* Issue 2: attrs "are added to container.labels the same way" as runtime
 * labels, i.e. dedotted when labels_dedot is on, and then override the
 * label with the same (dedotted) key instead of sitting next to it. */
static void test_labels_merged_dedots_attrs(void **state)
{
    wharf_container_meta_t *m = new_meta(1);
    assert_int_equal(wharf_container_add_label(m, "com.example.team", "web"), 0);
    assert_int_equal(wharf_container_add_label(m, "app", "web"), 0);
    assert_int_equal(wharf_container_render_labels(m), 0);
    assert_int_equal(wharf_container_finish(m), 0);
    const wharf_label_t extra[] = {{"com.example.team", "attr"}};
    check_merged(m, extra, 1, "{\"com_example_team\":\"attr\",\"app\":\"web\"}");
}

/* ---- docker_meta_load ----------------------------------------------------- */

static void test_docker_meta_full(void **state)
{
    char *dir =
        make_container("\"\"", "\"Name\":\"/web-1\",", DEFAULT_LABELS, HOSTCONFIG_PRIVILEGED);
    wharf_container_meta_t *m = NULL;
    assert_int_equal(docker_meta_load(dir, 1, &m), 0);
    defer_meta(m);
    assert_non_null(m);
    assert_string_equal(m->id, CID);
    assert_string_equal(m->name, "web-1");
    assert_string_equal(m->runtime, "docker");
    assert_string_equal(m->image_name, "nginx");
    assert_int_equal(m->n_image_tag, 1);
    assert_memory_equal(m->image_tag[0].ptr, "1.25", 4);
    assert_int_equal(m->n_image_hash, 1);
    assert_int_equal(m->image_hash[0].len, strlen(IMGID));
    assert_memory_equal(m->image_hash[0].ptr, IMGID, strlen(IMGID));
    assert_int_equal(m->n_labels, 7); /* "num":5 is not a string */
    check_labels_json(m, DEFAULT_LABELS_JSON_DEDOT);
    assert_string_equal(m->k8s_pod, "web-0");
    assert_string_equal(m->k8s_namespace, "prod");
    assert_string_equal(m->k8s_pod_uid, "0b1c-uid");
    assert_int_equal(m->has_security, 1);
    assert_string_equal(m->user, "");
    assert_int_equal(m->run_as_root, 1);
    assert_int_equal(m->privileged, 1);
    assert_int_equal(m->read_only_rootfs, 1);
    assert_int_equal(m->host_network, 1);
    assert_int_equal(m->host_pid, 1);
    assert_int_equal(m->n_cap_add, 2);
    assert_memory_equal(m->cap_add[0].ptr, "NET_ADMIN", 9);
    assert_memory_equal(m->cap_add[1].ptr, "SYS_PTRACE", 10);

    check_json_field(m, WHARF_F_CONTAINER_ID, "\"" CID "\"");
    check_json_field(m, WHARF_F_CONTAINER_NAME, "\"web-1\"");
    check_json_field(m, WHARF_F_CONTAINER_RUNTIME, "\"docker\"");
    check_json_field(m, WHARF_F_CONTAINER_IMAGE_NAME, "\"nginx\"");
    check_json_field(m, WHARF_F_CONTAINER_IMAGE_TAG, "[\"1.25\"]");
    check_json_field(m, WHARF_F_CONTAINER_IMAGE_HASH_ALL, "[\"" IMGID "\"]");
    check_json_field(m, WHARF_F_CONTAINER_LABELS, DEFAULT_LABELS_JSON_DEDOT);
    check_json_field(m, WHARF_F_CONTAINER_SC_USER, "\"\"");
    check_json_field(m, WHARF_F_CONTAINER_SC_RUN_AS_ROOT, "true");
    check_json_field(m, WHARF_F_CONTAINER_SC_PRIVILEGED, "true");
    check_json_field(m, WHARF_F_CONTAINER_SC_READ_ONLY_ROOTFS, "true");
    check_json_field(m, WHARF_F_CONTAINER_SC_HOST_NETWORK, "true");
    check_json_field(m, WHARF_F_CONTAINER_SC_HOST_PID, "true");
    check_json_field(m, WHARF_F_CONTAINER_SC_CAP_ADD, "[\"NET_ADMIN\",\"SYS_PTRACE\"]");
    check_json_field(m, WHARF_F_ORCHESTRATOR_TYPE, "\"kubernetes\"");
    check_json_field(m, WHARF_F_ORCHESTRATOR_RESOURCE_TYPE, "\"pod\"");
    check_json_field(m, WHARF_F_ORCHESTRATOR_RESOURCE_NAME, "\"web-0\"");
    check_json_field(m, WHARF_F_ORCHESTRATOR_NAMESPACE, "\"prod\"");
    check_json_field(m, WHARF_F_KUBERNETES_POD_UID, "\"0b1c-uid\"");
    /* nothing a container does not give */
    check_json_field(m, WHARF_F_MESSAGE, NULL);
    check_json_field(m, WHARF_F_HOST_NAME, NULL);
    check_json_field(m, WHARF_F_TIMESTAMP, NULL);

    assert_meta_has_no_env(m);
    assert_int_equal(docker_meta_changed(m, dir), 0);
}

static void test_docker_meta_no_dedot(void **state)
{
    char *dir = make_container("\"\"", "\"Name\":\"/web-1\",",
                               "{\"com.example.team\":\"web\",\"io.kubernetes.pod.name\":\"p\"}",
                               HOSTCONFIG_DEFAULT);
    wharf_container_meta_t *m = NULL;
    assert_int_equal(docker_meta_load(dir, 0, &m), 0);
    defer_meta(m);
    check_labels_json(m, "{\"com.example.team\":\"web\",\"io.kubernetes.pod.name\":\"p\"}");
    assert_string_equal(m->k8s_pod, "p");
    assert_null(m->k8s_namespace);
    check_json_field(m, WHARF_F_ORCHESTRATOR_RESOURCE_NAME, "\"p\"");
    check_json_field(m, WHARF_F_ORCHESTRATOR_NAMESPACE, NULL);
    check_json_field(m, WHARF_F_KUBERNETES_POD_UID, NULL);
}

static void check_user(const char *user_json, const char *want_user, int want_root)
{
    char *dir = make_container(user_json, "\"Name\":\"/u\",", "{}", HOSTCONFIG_DEFAULT);
    wharf_container_meta_t *m = NULL;
    int rc = docker_meta_load(dir, 1, &m);
    if (rc != 0)
        fail_msg("User %s: rc=%d", user_json, rc);
    defer_meta(m);
    assert_string_equal(m->user, want_user);
    if (m->run_as_root != want_root)
        fail_msg("User %s: run_as_root=%d, want %d", user_json, m->run_as_root, want_root);
    char want[128];
    snprintf(want, sizeof(want), "\"%s\"", want_user);
    check_json_field(m, WHARF_F_CONTAINER_SC_USER, want);
    check_json_field(m, WHARF_F_CONTAINER_SC_RUN_AS_ROOT, want_root ? "true" : "false");
    /* no labels: no labels field */
    check_labels_json(m, NULL);
    check_json_field(m, WHARF_F_CONTAINER_LABELS, NULL);
}

static void test_docker_meta_users(void **state)
{
    check_user("", "", 1); /* no Config.User at all */
    check_user("\"\"", "", 1);
    check_user("\"root\"", "root", 1);
    check_user("\"0\"", "0", 1);
    check_user("\"0:0\"", "0:0", 1);
    check_user("\"root:root\"", "root:root", 1);
    check_user("\"root:1000\"", "root:1000", 1);
    check_user("\"1000\"", "1000", 0);
    check_user("\"1000:0\"", "1000:0", 0);
    check_user("\"10\"", "10", 0);
    check_user("\"nobody:nogroup\"", "nobody:nogroup", 0);
    check_user("\"rootless\"", "rootless", 0);
    check_user("\"nginx\"", "nginx", 0);
}

static void test_docker_meta_default_security(void **state)
{
    char *dir = make_container("\"1000\"", "\"Name\":\"/plain\",", "{}", HOSTCONFIG_DEFAULT);
    wharf_container_meta_t *m = NULL;
    assert_int_equal(docker_meta_load(dir, 1, &m), 0);
    defer_meta(m);
    assert_int_equal(m->has_security, 1);
    assert_int_equal(m->privileged, 0);
    assert_int_equal(m->read_only_rootfs, 0);
    assert_int_equal(m->host_network, 0);
    assert_int_equal(m->host_pid, 0);
    assert_int_equal(m->n_cap_add, 0);
    check_json_field(m, WHARF_F_CONTAINER_SC_PRIVILEGED, "false");
    check_json_field(m, WHARF_F_CONTAINER_SC_READ_ONLY_ROOTFS, "false");
    check_json_field(m, WHARF_F_CONTAINER_SC_HOST_NETWORK, "false");
    check_json_field(m, WHARF_F_CONTAINER_SC_HOST_PID, "false");
    check_json_field(m, WHARF_F_CONTAINER_SC_RUN_AS_ROOT, "false");
    check_json_field(m, WHARF_F_CONTAINER_SC_CAP_ADD, NULL);
    /* not started by Kubernetes: no orchestrator fields */
    check_json_field(m, WHARF_F_ORCHESTRATOR_TYPE, NULL);
    check_json_field(m, WHARF_F_ORCHESTRATOR_RESOURCE_TYPE, NULL);
    assert_null(m->k8s_pod);

    /* other network and pid modes are not "host" */
    dir = make_container("\"1000\"", "\"Name\":\"/c\",", "{}",
                         "{\"NetworkMode\":\"container:abc\",\"PidMode\":\"container:abc\","
                         "\"Privileged\":false,\"CapAdd\":[]}");
    m = NULL;
    assert_int_equal(docker_meta_load(dir, 1, &m), 0);
    defer_meta(m);
    assert_int_equal(m->host_network, 0);
    assert_int_equal(m->host_pid, 0);
    check_json_field(m, WHARF_F_CONTAINER_SC_CAP_ADD, NULL);
}

static void test_docker_meta_no_hostconfig(void **state)
{
    char *dir = make_container("\"\"", "\"Name\":\"/web-1\",", "{\"a\":\"b\"}", NULL);
    wharf_container_meta_t *m = NULL;
    assert_int_equal(docker_meta_load(dir, 1, &m), 0);
    defer_meta(m);
    assert_int_equal(m->has_security, 0);
    for (int f = WHARF_F_CONTAINER_SC_CAP_ADD; f <= WHARF_F_CONTAINER_SC_USER; f++)
        check_json_field(m, (wharf_field_id)f, NULL);
    check_json_field(m, WHARF_F_CONTAINER_ID, "\"" CID "\"");
    check_json_field(m, WHARF_F_CONTAINER_LABELS, "{\"a\":\"b\"}");
    /* hostconfig.json appearing later is a change */
    assert_int_equal(docker_meta_changed(m, dir), 0);
    write_file(dir, "hostconfig.json", HOSTCONFIG_DEFAULT);
    assert_int_equal(docker_meta_changed(m, dir), 1);
}

static void test_docker_meta_name(void **state)
{
    /* no Name: no container.name */
    char *dir = make_container("\"\"", "", "{}", NULL);
    wharf_container_meta_t *m = NULL;
    assert_int_equal(docker_meta_load(dir, 1, &m), 0);
    defer_meta(m);
    assert_null(m->name);
    check_json_field(m, WHARF_F_CONTAINER_NAME, NULL);
    /* only one leading '/' is Docker's */
    dir = make_container("\"\"", "\"Name\":\"web/x\",", "{}", NULL);
    m = NULL;
    assert_int_equal(docker_meta_load(dir, 1, &m), 0);
    defer_meta(m);
    assert_string_equal(m->name, "web/x");
}

static void test_docker_meta_changed(void **state)
{
    char *dir = make_container("\"\"", "\"Name\":\"/web-1\",", "{}", HOSTCONFIG_DEFAULT);
    set_mtime(dir, "config.v2.json", 1700000000);
    set_mtime(dir, "hostconfig.json", 1700000000);
    wharf_container_meta_t *m = NULL;
    assert_int_equal(docker_meta_load(dir, 1, &m), 0);
    defer_meta(m);
    assert_int_equal(docker_meta_changed(m, dir), 0);
    set_mtime(dir, "config.v2.json", 1700000001);
    assert_int_equal(docker_meta_changed(m, dir), 1);
    set_mtime(dir, "config.v2.json", 1700000000);
    assert_int_equal(docker_meta_changed(m, dir), 0);
    set_mtime(dir, "hostconfig.json", 1700000005);
    assert_int_equal(docker_meta_changed(m, dir), 1);
}

static void check_load_fails(const char *config, const char *hostconfig, int want_rc)
{
    char *dir = make_dir();
    if (config != NULL)
        write_file(dir, "config.v2.json", config);
    if (hostconfig != NULL)
        write_file(dir, "hostconfig.json", hostconfig);
    wharf_container_meta_t *m = (wharf_container_meta_t *)(uintptr_t)0x1;
    int rc = docker_meta_load(dir, 1, &m);
    if (rc == 0)
        defer_meta(m);
    if (rc != want_rc)
        fail_msg("config %.40s / hostconfig %.40s: rc=%d, want %d", config ? config : "(none)",
                 hostconfig ? hostconfig : "(none)", rc, want_rc);
    /* *out is not touched on failure */
    assert_ptr_equal(m, (wharf_container_meta_t *)(uintptr_t)0x1);
}

static void test_docker_meta_malformed(void **state)
{
    char *good = defer(free, config_json("\"\"", "\"Name\":\"/x\",", DEFAULT_LABELS));
    /* a torn write: the file ends in the middle */
    char *torn = defer(free, strndup(good, strlen(good) / 2));
    check_load_fails(torn, NULL, WHARF_EPARSE);
    check_load_fails("", NULL, WHARF_EPARSE);
    check_load_fails("{not json", NULL, WHARF_EPARSE);
    check_load_fails("[]", NULL, WHARF_EPARSE);
    check_load_fails("\"x\"", NULL, WHARF_EPARSE);
    check_load_fails("{\"Name\":\"/x\",\"Config\":{\"Image\":\"nginx\"}}", NULL, WHARF_EPARSE);
    check_load_fails("{\"ID\":5}", NULL, WHARF_EPARSE);
    /* a good config with a broken hostconfig */
    check_load_fails(good, "{\"Privileged\":tru", WHARF_EPARSE);
    check_load_fails(good, "[\"Privileged\"]", WHARF_EPARSE);
    /* no config.v2.json at all */
    check_load_fails(NULL, HOSTCONFIG_DEFAULT, -ENOENT);
    check_load_fails(NULL, NULL, -ENOENT);
    wharf_container_meta_t *m = NULL;
    assert_int_equal(docker_meta_load("/nonexistent/wharf/container", 1, &m), -ENOENT);
    assert_null(m);
}

/* ---- enrichment into an event --------------------------------------------- */

static void test_enrich_and_write(void **state)
{
    char *dir =
        make_container("\"\"", "\"Name\":\"/web-1\",", DEFAULT_LABELS, HOSTCONFIG_PRIVILEGED);
    wharf_container_meta_t *m = NULL;
    assert_int_equal(docker_meta_load(dir, 1, &m), 0);
    defer_meta(m);

    wharf_event_t e;
    memset(&e, 0, sizeof(e));
    e.arena = new_arena();
    wharf_event_clear(&e);
    wharf_event_set_time(&e, WHARF_F_TIMESTAMP, INT64_C(1456959531338462311));
    wharf_event_set_cstr(&e, WHARF_F_MESSAGE, "hello");
    wharf_event_set_long(&e, WHARF_F_LOG_OFFSET, 42);
    wharf_event_set_cstr(&e, WHARF_F_STREAM, "stdout");
    wharf_container_enrich(&e, m);
    char *got = write_event(&e);
    const char *want =
        "{\"@timestamp\":\"2016-03-02T22:58:51.338462311Z\","
        "\"container\":{\"id\":\"" CID "\","
        "\"image\":{\"hash\":{\"all\":[\"" IMGID "\"]},\"name\":\"nginx\",\"tag\":[\"1.25\"]},"
        "\"labels\":" DEFAULT_LABELS_JSON_DEDOT ","
        "\"name\":\"web-1\",\"runtime\":\"docker\","
        "\"security_context\":{\"capabilities\":{\"add\":[\"NET_ADMIN\",\"SYS_PTRACE\"]},"
        "\"host_network\":true,\"host_pid\":true,\"privileged\":true,"
        "\"read_only_root_filesystem\":true,\"run_as_root\":true,\"user\":\"\"}},"
        "\"kubernetes\":{\"pod\":{\"uid\":\"0b1c-uid\"}},"
        "\"log\":{\"offset\":42},\"message\":\"hello\","
        "\"orchestrator\":{\"namespace\":\"prod\",\"resource\":{\"name\":\"web-0\","
        "\"type\":\"pod\"},\"type\":\"kubernetes\"},"
        "\"stream\":\"stdout\"}\n";
    assert_string_equal(got, want);
    assert_no_secret(got, strlen(got));
    /* the writer had each top-level key's fields as one text */
    assert_int_equal(e.n_groups, 3);
    const char *keys[] = {"\"container\":{", "\"kubernetes\":{", "\"orchestrator\":{"};
    for (int i = 0; i < 3; i++) {
        const wharf_event_group_t *g = &e.groups[i];
        if (g->text_len < strlen(keys[i]) || memcmp(g->text, keys[i], strlen(keys[i])) != 0 ||
            memmem(want, strlen(want), g->text, g->text_len) == NULL)
            fail_msg("group %d: %.*s", i, (int)g->text_len, g->text);
    }

    /* json-file attrs merged over the container's labels */
    const wharf_label_t attrs[] = {{"tag", "web"}, {"maintainer", "me"}};
    assert_int_equal(wharf_container_labels_merged(&e, m, attrs, 2), 0);
    got = write_event(&e);
    assert_non_null(strstr(got, "\"labels\":{\"tag\":\"web\",\"maintainer\":\"me\","
                                "\"com_example_team\":\"web\",\"io_kubernetes_pod_name\":"
                                "\"web-0\","));
}

/* A meta with only some fields (a CRI pod without Docker files). */
static void test_enrich_sparse(void **state)
{
    wharf_container_meta_t *m = new_meta(1);
    m->runtime = "containerd";
    m->k8s_namespace = strdup("kube-system");
    m->k8s_pod = strdup("coredns-5d78c9869d-abcde");
    m->k8s_pod_uid = strdup("f7c2e0aa-1111-2222-3333-444455556666");
    m->name = strdup("coredns");
    assert_int_equal(wharf_container_finish(m), 0);
    wharf_event_t e;
    memset(&e, 0, sizeof(e));
    e.arena = new_arena();
    wharf_event_clear(&e);
    wharf_event_set_cstr(&e, WHARF_F_MESSAGE, "m");
    wharf_container_enrich(&e, m);
    char *got = write_event(&e);
    assert_string_equal(got, "{\"container\":{\"name\":\"coredns\",\"runtime\":\"containerd\"},"
                             "\"kubernetes\":{\"pod\":{\"uid\":"
                             "\"f7c2e0aa-1111-2222-3333-444455556666\"}},\"message\":\"m\","
                             "\"orchestrator\":{\"namespace\":\"kube-system\",\"resource\":{"
                             "\"name\":\"coredns-5d78c9869d-abcde\",\"type\":\"pod\"},"
                             "\"type\":\"kubernetes\"}}\n");
    /* an empty meta adds nothing */
    wharf_container_meta_t *empty = new_meta(1);
    assert_int_equal(wharf_container_finish(empty), 0);
    wharf_event_clear(&e);
    wharf_container_enrich(&e, empty);
    got = write_event(&e);
    assert_string_equal(got, "{}\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_set_image, run_deferred),
        cmocka_unit_test_teardown(test_add_label_dedot, run_deferred),
        cmocka_unit_test_teardown(test_add_label_no_dedot, run_deferred),
        cmocka_unit_test_teardown(test_render_labels_escaping, run_deferred),
        cmocka_unit_test_teardown(test_add_label_refreshes_labels_json, run_deferred),
        cmocka_unit_test_teardown(test_labels_merged, run_deferred),
        cmocka_unit_test_teardown(test_labels_merged_dedots_attrs, run_deferred),
        cmocka_unit_test_teardown(test_docker_meta_full, run_deferred),
        cmocka_unit_test_teardown(test_docker_meta_no_dedot, run_deferred),
        cmocka_unit_test_teardown(test_docker_meta_users, run_deferred),
        cmocka_unit_test_teardown(test_docker_meta_default_security, run_deferred),
        cmocka_unit_test_teardown(test_docker_meta_no_hostconfig, run_deferred),
        cmocka_unit_test_teardown(test_docker_meta_name, run_deferred),
        cmocka_unit_test_teardown(test_docker_meta_changed, run_deferred),
        cmocka_unit_test_teardown(test_docker_meta_malformed, run_deferred),
        cmocka_unit_test_teardown(test_enrich_and_write, run_deferred),
        cmocka_unit_test_teardown(test_enrich_sparse, run_deferred),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
