/* test_config.c - the configuration loader: values bound through the real
 * input and output types, every class of error with its exact FILE:LINE
 * message, and the size, duration and glob helpers at their edges.
 *
 * Plugin options are read through the plugin's own key table (name ->
 * offset), so these tests do not depend on the layout of private structs. */
#include "wharf/common.h"
#include "wharf/config.h"
#include "wharf/parser.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

static const char example_yaml[] =
    "data_dir: ./data                # positions (and later the buffer) live here\n"
    "host: {name: auto}              # auto = gethostname()\n"
    "inputs:\n"
    "  - type: docker                # Docker json-file logging driver\n"
    "    id: docker\n"
    "    root: /var/lib/docker/containers\n"
    "    read_from: end\n"
    "    exclude_names: [\"wharf*\"]   # glob on container name\n"
    "  - type: cri                   # containerd / CRI-O / kubelet layout\n"
    "    id: pods\n"
    "    paths: [\"/var/log/pods/*/*/*.log\"]\n"
    "    containers_dir: /var/log/containers\n"
    "    read_from: end\n"
    "outputs:\n"
    "  - type: file\n"
    "    id: local\n"
    "    path: ./out/events.ndjson\n"
    "  - type: stdout\n"
    "    id: console\n";

/* A valid tail for configs that only exercise inputs. */
#define OUTPUTS "outputs: [{type: stdout, id: console}]\n"

static wharf_config_t *load_ok(const char *yaml)
{
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = NULL;
    int rc = wharf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs);

    for (size_t i = 0; i < errs.n; i++)
        print_error("unexpected: %s\n", errs.msgs[i]);
    assert_int_equal(rc, 0);
    assert_int_equal(errs.n, 0);
    assert_non_null(cfg);
    wharf_conf_errors_free(&errs);
    return cfg;
}

/* Loads yaml as "t.yaml" and checks it fails with exactly these messages. */
static void expect_errors(const char *yaml, const char *const *expected)
{
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = (wharf_config_t *)1;
    size_t n = 0;
    int rc = wharf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs);

    while (expected[n])
        n++;
    for (size_t i = 0; i < errs.n; i++)
        print_message("got: %s\n", errs.msgs[i]);
    assert_int_equal(rc, WHARF_EINVAL_CONFIG);
    assert_null(cfg);
    assert_int_equal(errs.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(errs.msgs[i], expected[i]);
    wharf_conf_errors_free(&errs);
}

#define EXPECT_ERRORS(yaml, ...) expect_errors(yaml, (const char *const[]){__VA_ARGS__, NULL})

static const wharf_conf_key_t *key_of(const wharf_conf_section_t *sec, const char *name)
{
    for (const wharf_conf_key_t *k = sec->plugin->keys; k && k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    fail_msg("type %s has no key %s", sec->type, name);
    return NULL;
}

static void *opt(const wharf_conf_section_t *sec, const char *name)
{
    return (char *)sec->opts + key_of(sec, name)->offset;
}

static const char *opt_str(const wharf_conf_section_t *sec, const char *name)
{
    return *(char **)opt(sec, name);
}

static const wharf_strv_t *opt_strv(const wharf_conf_section_t *sec, const char *name)
{
    return opt(sec, name);
}

static int choice(const wharf_conf_section_t *sec, const char *name, const char *value)
{
    const char *const *c = key_of(sec, name)->choices;

    for (int i = 0; c[i]; i++)
        if (strcmp(c[i], value) == 0)
            return i;
    fail_msg("%s has no choice %s", name, value);
    return -1;
}

static void test_example_config(void **state)
{
    wharf_config_t *cfg = load_ok(example_yaml);
    char host[256] = {0};

    (void)state;
    gethostname(host, sizeof host - 1);
    assert_string_equal(cfg->path, "t.yaml");
    assert_string_equal(cfg->data_dir, "./data");
    assert_string_equal(cfg->host.name, host);
    assert_int_equal(cfg->n_inputs, 2);
    assert_int_equal(cfg->n_outputs, 2);

    const wharf_conf_section_t *d = &cfg->inputs[0], *c = &cfg->inputs[1];
    assert_string_equal(d->type, "docker");
    assert_string_equal(d->id, "docker");
    assert_int_equal(d->line, 4);
    assert_string_equal(opt_str(d, "root"), "/var/lib/docker/containers");
    assert_int_equal(*(int *)opt(d, "read_from"), choice(d, "read_from", "end"));
    assert_int_equal(opt_strv(d, "exclude_names")->n, 1);
    assert_string_equal(opt_strv(d, "exclude_names")->v[0], "wharf*");

    assert_string_equal(c->type, "cri");
    assert_string_equal(c->id, "pods");
    assert_int_equal(c->line, 9);
    assert_int_equal(opt_strv(c, "paths")->n, 1);
    assert_string_equal(opt_strv(c, "paths")->v[0], "/var/log/pods/*/*/*.log");
    assert_string_equal(opt_str(c, "containers_dir"), "/var/log/containers");
    assert_int_equal(*(int *)opt(c, "read_from"), choice(c, "read_from", "end"));

    assert_string_equal(cfg->outputs[0].type, "file");
    assert_string_equal(cfg->outputs[0].id, "local");
    assert_int_equal(cfg->outputs[0].line, 15);
    assert_string_equal(opt_str(&cfg->outputs[0], "path"), "./out/events.ndjson");
    assert_string_equal(cfg->outputs[1].type, "stdout");
    assert_string_equal(cfg->outputs[1].id, "console");
    assert_int_equal(cfg->outputs[1].line, 18);
    wharf_config_free(cfg);
}

static void test_defaults(void **state)
{
    wharf_config_t *cfg = load_ok("inputs: [{type: docker, id: d}]\n" OUTPUTS);
    char host[256] = {0};

    (void)state;
    gethostname(host, sizeof host - 1);
    assert_string_equal(cfg->data_dir, "./data");
    assert_string_equal(cfg->host.name, host);
    assert_int_equal(*(uint64_t *)opt(&cfg->inputs[0], "max_line_bytes"), 1024 * 1024);
    wharf_config_free(cfg);
}

static void test_buffer_section(void **state)
{
    wharf_config_t *cfg = load_ok("inputs: [{type: docker, id: d}]\n" OUTPUTS);

    (void)state;
    assert_int_equal(cfg->buffer.max_size, UINT64_C(1) << 30);
    assert_int_equal(cfg->buffer.when_full, WHARF_WHEN_FULL_BLOCK);
    assert_int_equal(cfg->buffer.fsync, WHARF_FSYNC_BATCH);
    assert_int_equal(cfg->buffer.fsync_interval_ms, 1000);
    assert_int_equal(cfg->buffer.segment_size, UINT64_C(64) << 20);
    assert_int_equal(cfg->buffer.compression_level, 1);
    assert_int_equal(cfg->buffer.max_hold_deleted_ms, 600000);
    wharf_config_free(cfg);

    cfg = load_ok("buffer:\n"
                  "  max_size: 2MiB\n"
                  "  when_full: drop_oldest\n"
                  "  fsync: interval\n"
                  "  fsync_interval: 200ms\n"
                  "  segment_size: 256KiB\n"
                  "  compression_level: 3\n"
                  "  max_hold_deleted: 1m\n"
                  "inputs: [{type: docker, id: d}]\n" OUTPUTS);
    assert_int_equal(cfg->buffer.max_size, 2u << 20);
    assert_int_equal(cfg->buffer.when_full, WHARF_WHEN_FULL_DROP_OLDEST);
    assert_int_equal(cfg->buffer.fsync, WHARF_FSYNC_INTERVAL);
    assert_int_equal(cfg->buffer.fsync_interval_ms, 200);
    assert_int_equal(cfg->buffer.segment_size, 256u << 10);
    assert_int_equal(cfg->buffer.compression_level, 3);
    assert_int_equal(cfg->buffer.max_hold_deleted_ms, 60000);
    wharf_config_free(cfg);
}

static void test_buffer_errors(void **state)
{
    (void)state;
    EXPECT_ERRORS("buffer:\n"
                  "  segment_size: 1KiB\n"
                  "  when_full: wait\n"
                  "  compression_level: 40\n"
                  "  fsnyc: never\n"
                  "inputs: [{type: docker, id: d}]\n" OUTPUTS,
                  "t.yaml:2: 'segment_size' must be between 65536 and 4294967296 bytes",
                  "t.yaml:3: 'when_full' must be one of: block, drop_oldest",
                  "t.yaml:4: 'compression_level' must be between -7 and 19",
                  "t.yaml:5: unknown key 'fsnyc' in 'buffer' (did you mean 'fsync'?)");
    EXPECT_ERRORS("buffer: {max_size: 1MiB, segment_size: 1MiB}\n"
                  "inputs: [{type: docker, id: d}]\n" OUTPUTS,
                  "t.yaml:1: buffer: max_size (1048576 bytes) must be at least twice "
                  "segment_size (1048576 bytes): lower segment_size or raise max_size");
}

static void test_pipeline_match_limit(void **state)
{
    (void)state;
    wharf_config_t *cfg = load_ok("inputs: [{type: docker, id: d}]\n" OUTPUTS);
    assert_int_equal(cfg->pipeline.parser_match_limit, WHARF_PARSER_MATCH_LIMIT_DEFAULT);
    assert_int_equal(cfg->pipeline.parser_time_limit_ms, WHARF_PARSER_TIME_LIMIT_DEFAULT_MS);
    wharf_config_free(cfg);
    cfg = load_ok("pipeline: {parser_match_limit: 50000, parser_time_limit: 250ms}\n"
                  "inputs: [{type: docker, id: d}]\n" OUTPUTS);
    assert_int_equal(cfg->pipeline.parser_match_limit, 50000);
    assert_int_equal(cfg->pipeline.parser_time_limit_ms, 250);
    wharf_config_free(cfg);
    EXPECT_ERRORS("pipeline:\n"
                  "  parser_match_limit: 10\n"
                  "  parser_match_limt: 2000\n"
                  "  parser_time_limit: 2m\n"
                  "inputs: [{type: docker, id: d}]\n" OUTPUTS,
                  "t.yaml:2: 'parser_match_limit' must be between 1000 and 1000000000",
                  "t.yaml:3: unknown key 'parser_match_limt' in 'pipeline' (did you mean "
                  "'parser_match_limit'?)",
                  "t.yaml:4: 'parser_time_limit' must be between 1 and 60000 ms");
}

/* pipeline.parser_timezone: none by default (UTC); a zone name or an
 * offset is kept as written; an unknown name or one that is no zone name
 * is an error at its line. */
static void test_pipeline_timezone(void **state)
{
    (void)state;
    wharf_config_t *cfg = load_ok("inputs: [{type: docker, id: d}]\n" OUTPUTS);
    assert_null(cfg->pipeline.parser_timezone);
    wharf_config_free(cfg);
    cfg = load_ok("pipeline: {parser_timezone: Europe/Berlin}\n"
                  "inputs: [{type: docker, id: d}]\n" OUTPUTS);
    assert_string_equal(cfg->pipeline.parser_timezone, "Europe/Berlin");
    wharf_config_free(cfg);
    cfg = load_ok("pipeline: {parser_timezone: \"-05:30\"}\n"
                  "inputs: [{type: docker, id: d}]\n" OUTPUTS);
    assert_string_equal(cfg->pipeline.parser_timezone, "-05:30");
    wharf_config_free(cfg);
    EXPECT_ERRORS("pipeline:\n"
                  "  parser_timezone: Europe/Berlni\n"
                  "inputs: [{type: docker, id: d}]\n" OUTPUTS,
                  "t.yaml:2: 'parser_timezone': unknown time zone 'Europe/Berlni': not in "
                  "/usr/share/zoneinfo (an IANA name as Europe/Berlin, or an offset as +01:00)");
    EXPECT_ERRORS("pipeline: {parser_timezone: ../etc/passwd}\n"
                  "inputs: [{type: docker, id: d}]\n" OUTPUTS,
                  "t.yaml:1: 'parser_timezone': unknown time zone '../etc/passwd': not in "
                  "/usr/share/zoneinfo (an IANA name as Europe/Berlin, or an offset as +01:00)");
}

static void test_values_of_every_kind(void **state)
{
    wharf_config_t *cfg = load_ok("data_dir: /var/lib/wharf\n"
                                  "host:\n"
                                  "  name: node-1\n"
                                  "inputs:\n"
                                  "  - type: docker\n"
                                  "    id: d\n"
                                  "    read_from: beginning\n"
                                  "    exclude_names: 'one*'\n"
                                  "    max_line_bytes: 512KiB\n"
                                  "    labels_dedot: No\n"
                                  "    rotate_wait: 250ms\n"
                                  "    rescan_interval: 10m\n"
                                  "  - type: cri\n"
                                  "    id: c\n"
                                  "    paths:\n"
                                  "      - /a/*.log\n"
                                  "      - '/b/[0-9]*.log'\n"
                                  "    max_line_bytes: 2MB\n" OUTPUTS);
    const wharf_conf_section_t *d, *c;

    (void)state;
    d = &cfg->inputs[0];
    c = &cfg->inputs[1];
    assert_string_equal(cfg->data_dir, "/var/lib/wharf");
    assert_string_equal(cfg->host.name, "node-1");
    assert_int_equal(*(int *)opt(d, "read_from"), choice(d, "read_from", "beginning"));
    assert_int_equal(opt_strv(d, "exclude_names")->n, 1);
    assert_string_equal(opt_strv(d, "exclude_names")->v[0], "one*");
    assert_int_equal(*(uint64_t *)opt(d, "max_line_bytes"), 512 * 1024);
    assert_int_equal(*(int *)opt(d, "labels_dedot"), 0);
    assert_int_equal(*(int64_t *)opt(d, "rotate_wait"), 250);
    assert_int_equal(*(int64_t *)opt(d, "rescan_interval"), 600000);
    assert_int_equal(opt_strv(c, "paths")->n, 2);
    assert_string_equal(opt_strv(c, "paths")->v[1], "/b/[0-9]*.log");
    assert_int_equal(*(uint64_t *)opt(c, "max_line_bytes"), 2000000);
    wharf_config_free(cfg);
}

static void test_aliases_are_followed(void **state)
{
    wharf_config_t *cfg = load_ok("inputs:\n"
                                  "  - {type: docker, id: a, exclude_names: &ex [\"x*\", \"y*\"]}\n"
                                  "  - {type: docker, id: b, exclude_names: *ex}\n" OUTPUTS);

    (void)state;
    assert_int_equal(opt_strv(&cfg->inputs[1], "exclude_names")->n, 2);
    assert_string_equal(opt_strv(&cfg->inputs[1], "exclude_names")->v[1], "y*");
    /* Each section owns its copy. */
    assert_ptr_not_equal(opt_strv(&cfg->inputs[0], "exclude_names")->v[0],
                         opt_strv(&cfg->inputs[1], "exclude_names")->v[0]);
    wharf_config_free(cfg);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    EXPECT_ERRORS(
        "inputs:\n"
        "  - type: docker\n"
        "    id: docker\n"
        "    raed_from: end\n" OUTPUTS,
        "t.yaml:4: unknown key 'raed_from' in input 'docker' (did you mean 'read_from'?)");
    EXPECT_ERRORS("inputs: [{type: docker, id: d}]\n"
                  "outputs:\n"
                  "  - {type: file, id: f, path: /x, compress: zstd}\n",
                  "t.yaml:3: unknown key 'compress' in output 'f' (valid keys: type, id, path)");
    EXPECT_ERRORS("input: []\n", "t.yaml:1: unknown key 'input' (did you mean 'inputs'?)",
                  "t.yaml:1: missing required key 'inputs'",
                  "t.yaml:1: missing required key 'outputs'");
    EXPECT_ERRORS("host: {nmae: x}\ninputs: [{type: docker, id: d}]\n" OUTPUTS,
                  "t.yaml:1: unknown key 'nmae' in 'host' (did you mean 'name'?)");
    EXPECT_ERRORS("verbose: 1\ninputs: [{type: docker, id: d}]\n" OUTPUTS,
                  "t.yaml:1: unknown key 'verbose' (valid keys: inputs, outputs, data_dir, "
                  "log_format, audit, shutdown_timeout, host, buffer, pipeline, api, health)");
}

static void test_wrong_types(void **state)
{
    (void)state;
    EXPECT_ERRORS("inputs:\n"
                  "  - type: docker\n"
                  "    id: d\n"
                  "    read_from: middle\n"
                  "    max_line_bytes: lots\n"
                  "    labels_dedot: maybe\n"
                  "    rotate_wait: 5 minutes\n"
                  "    root: [a, b]\n"
                  "    exclude_names: {a: b}\n" OUTPUTS,
                  "t.yaml:4: 'read_from' must be one of: beginning, end",
                  "t.yaml:5: 'max_line_bytes' must be a size like 1MiB",
                  "t.yaml:6: 'labels_dedot' must be true or false",
                  "t.yaml:7: 'rotate_wait' must be a duration like 250ms, 10s, 5m or 1h",
                  "t.yaml:8: 'root' must be a string",
                  "t.yaml:9: 'exclude_names' must be a list of strings");
    EXPECT_ERRORS("inputs:\n"
                  "  - type: cri\n"
                  "    id: c\n"
                  "    paths:\n"
                  "      - /ok/*.log\n"
                  "      - [nested]\n"
                  "      -\n" OUTPUTS,
                  "t.yaml:6: 'paths' must be a list of strings",
                  "t.yaml:7: 'paths' must be a list of strings");
    EXPECT_ERRORS("host: node-1\ndata_dir: {a: b}\ninputs: [{type: docker, id: d}]\n" OUTPUTS,
                  "t.yaml:1: 'host' must be a map", "t.yaml:2: 'data_dir' must be a string");
    EXPECT_ERRORS(
        "inputs: [{type: docker, id: d, max_line_bytes: 99999999999999999999GiB}]\n" OUTPUTS,
        "t.yaml:1: 'max_line_bytes' is out of range");
}

static void test_empty_values(void **state)
{
    (void)state;
    EXPECT_ERRORS("data_dir:\n"
                  "inputs:\n"
                  "  - type: docker\n"
                  "    id: ~\n"
                  "    root: null\n"
                  "outputs:\n",
                  "t.yaml:1: 'data_dir' has no value", "t.yaml:4: 'id' has no value",
                  "t.yaml:5: 'root' has no value", "t.yaml:6: 'outputs' has no value");
    EXPECT_ERRORS("inputs: [{type: docker, id: ''}]\n" OUTPUTS,
                  "t.yaml:1: 'id' must be a non-empty string");
}

static void test_missing_required(void **state)
{
    (void)state;
    EXPECT_ERRORS("inputs:\n"
                  "  - type: cri\n"
                  "    id: pods\n"
                  "    read_from: end\n" OUTPUTS,
                  "t.yaml:2: missing required key 'paths' in input 'pods'");
    EXPECT_ERRORS("inputs:\n"
                  "  - id: x\n"
                  "  - type: docker\n" OUTPUTS,
                  "t.yaml:2: missing required key 'type' in input 'x'",
                  "t.yaml:3: missing required key 'id' in input #2");
    EXPECT_ERRORS("outputs:\n  - type: file\n    id: f\n",
                  "t.yaml:1: missing required key 'inputs'",
                  "t.yaml:2: missing required key 'path' in output 'f'");
}

static void test_unknown_type(void **state)
{
    char expected[256];

    (void)state;
    snprintf(expected, sizeof expected, "t.yaml:3: unknown input type 'dockr' (known types: %s)",
             wharf_input_type_names());
    EXPECT_ERRORS("inputs:\n  - id: a\n    type: dockr\n    whatever: 1\n" OUTPUTS, expected);
    snprintf(expected, sizeof expected, "t.yaml:2: unknown output type 'splunk' (known types: %s)",
             wharf_output_type_names());
    EXPECT_ERRORS("inputs: [{type: docker, id: d}]\noutputs: [{type: splunk, id: k}]\n", expected);
}

static void test_duplicates(void **state)
{
    (void)state;
    EXPECT_ERRORS("inputs:\n"
                  "  - type: docker\n"
                  "    id: d\n"
                  "    root: /a\n"
                  "    root: /b\n"
                  "    id: e\n" OUTPUTS,
                  "t.yaml:5: duplicate key 'root' in input 'd' (first at line 4)",
                  "t.yaml:6: duplicate key 'id' in input 'd' (first at line 3)");
    EXPECT_ERRORS("inputs: [{type: docker, id: d}]\n" OUTPUTS "inputs: []\n",
                  "t.yaml:3: duplicate key 'inputs' (first at line 1)");
    EXPECT_ERRORS("inputs:\n"
                  "  - {type: docker, id: same}\n"
                  "  - {type: cri, id: same, paths: /x}\n"
                  "outputs:\n"
                  "  - {type: stdout, id: same}\n"
                  "  - {type: stdout, id: other}\n",
                  "t.yaml:3: duplicate id 'same' (first used at line 2)",
                  "t.yaml:5: duplicate id 'same' (first used at line 2)");
    /* Outputs written before inputs: the later line is the duplicate. */
    EXPECT_ERRORS("outputs: [{type: stdout, id: x}]\ninputs: [{type: docker, id: x}]\n",
                  "t.yaml:2: duplicate id 'x' (first used at line 1)");
}

static void test_bad_globs(void **state)
{
    (void)state;
    EXPECT_ERRORS("inputs:\n"
                  "  - type: cri\n"
                  "    id: c\n"
                  "    paths: ['/var/log/[a-z/*.log', '', 'x\\', '/ok/[!]]*']\n" OUTPUTS,
                  "t.yaml:4: 'paths' has a bad glob '/var/log/[a-z/*.log': unbalanced '['",
                  "t.yaml:4: 'paths' has a bad glob '': the pattern is empty",
                  "t.yaml:4: 'paths' has a bad glob 'x\\': it ends with a lone '\\'");
    EXPECT_ERRORS("inputs: [{type: cri, id: c, paths: \"/a\\0b\"}]\n" OUTPUTS,
                  "t.yaml:1: 'paths' must not contain a NUL byte");
}

static void test_yaml_errors(void **state)
{
    (void)state;
    EXPECT_ERRORS("inputs:\n"
                  "  - type: docker\n"
                  "   id: d\n" OUTPUTS,
                  "t.yaml:3: invalid YAML: did not find expected '-' indicator "
                  "(while parsing a block collection at line 2)");
    EXPECT_ERRORS("inputs: [{type: docker, id: d}]\n" OUTPUTS "---\ninputs: []\n",
                  "t.yaml:3: only one YAML document is allowed");
    EXPECT_ERRORS("inputs: [{type: docker, id: d}]\n" OUTPUTS "---\n[\n",
                  "t.yaml:5: invalid YAML: did not find expected node content "
                  "(while parsing a flow node at line 5)");
    EXPECT_ERRORS("inputs: *nowhere\n", "t.yaml:1: invalid YAML: found undefined alias");
    EXPECT_ERRORS("# only a comment\n",
                  "t.yaml:1: the configuration is empty: it needs 'inputs' and 'outputs'");
    EXPECT_ERRORS("", "t.yaml:1: the configuration is empty: it needs 'inputs' and 'outputs'");
    EXPECT_ERRORS(
        "- a\n- b\n",
        "t.yaml:1: the top level must be a map with the keys: inputs, outputs, "
        "data_dir, log_format, audit, shutdown_timeout, host, buffer, pipeline, api, health");
    EXPECT_ERRORS("[inputs]: 1\n", "t.yaml:1: a key must be a plain name, not a list or map",
                  "t.yaml:1: missing required key 'inputs'",
                  "t.yaml:1: missing required key 'outputs'");
}

static void test_bad_bytes(void **state)
{
    static const char bad_utf8[] = "inputs: [{type: docker, id: d}]\n"
                                   "data_dir: \xff\n" OUTPUTS;
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = NULL;
    int rc;

    (void)state;
    rc = wharf_config_load_string("t.yaml", bad_utf8, sizeof bad_utf8 - 1, &cfg, &errs);
    assert_int_equal(rc, WHARF_EINVAL_CONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], "t.yaml:2: invalid YAML: invalid leading UTF-8 octet");
    wharf_conf_errors_free(&errs);
    /* A NUL byte in the middle of the input. */
    rc = wharf_config_load_string("t.yaml", "a: 1\n\0b: 2\n", 11, &cfg, &errs);
    assert_int_equal(rc, WHARF_EINVAL_CONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], "t.yaml:2: invalid YAML: control characters are not allowed");
    wharf_conf_errors_free(&errs);
}

static void test_sections_shape(void **state)
{
    (void)state;
    EXPECT_ERRORS("inputs: {type: docker}\n" OUTPUTS,
                  "t.yaml:1: 'inputs' must be a list of inputs");
    EXPECT_ERRORS("inputs: []\n" OUTPUTS, "t.yaml:1: 'inputs' must list at least one input");
    EXPECT_ERRORS("inputs:\n  - docker\n" OUTPUTS,
                  "t.yaml:2: each entry of 'inputs' must be a map with 'type' and 'id'");
    EXPECT_ERRORS("inputs: [{type: [docker], id: d}]\n" OUTPUTS,
                  "t.yaml:1: 'type' must be a non-empty string");
    /* An alias to its own list: the entry is a list, not a map. */
    EXPECT_ERRORS("inputs: &a [*a]\n" OUTPUTS,
                  "t.yaml:1: each entry of 'inputs' must be a map with 'type' and 'id'");
    EXPECT_ERRORS("inputs: [{type: docker, id: d}]\nhost: &h {name: *h}\n" OUTPUTS,
                  "t.yaml:2: 'name' must be a string");
}

static void test_errors_collected_in_line_order(void **state)
{
    (void)state;
    EXPECT_ERRORS("outputs:\n"
                  "  - {type: file, id: f}\n"
                  "  - {type: stdout, id: f}\n"
                  "inputs:\n"
                  "  - type: docker\n"
                  "    id: d\n"
                  "    read_from: start\n"
                  "    rotate_wait: -1s\n"
                  "  - type: cri\n"
                  "    id: c\n"
                  "    paths: '['\n",
                  "t.yaml:2: missing required key 'path' in output 'f'",
                  "t.yaml:3: duplicate id 'f' (first used at line 2)",
                  "t.yaml:7: 'read_from' must be one of: beginning, end",
                  "t.yaml:8: 'rotate_wait' must be a duration like 250ms, 10s, 5m or 1h",
                  "t.yaml:11: 'paths' has a bad glob '[': unbalanced '['");
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1), *p = s;

    assert_non_null(s);
    memcpy(p, head, hl);
    p += hl;
    for (size_t i = 0; i < n; i++, p += ul)
        memcpy(p, unit, ul);
    memcpy(p, tail, tl + 1);
    return s;
}

static void test_too_many_errors(void **state)
{
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = NULL;
    char *yaml = repeat("inputs: [", "{type: docker, id: d, bad: 1},", 300, "]\n" OUTPUTS);

    (void)state;
    assert_int_equal(wharf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs),
                     WHARF_EINVAL_CONFIG);
    assert_int_equal(errs.n, 101);
    assert_string_equal(errs.msgs[0],
                        "t.yaml:1: unknown key 'bad' in input 'd' "
                        "(valid keys: type, id, root, read_from, exclude_names, "
                        "max_line_bytes, labels_dedot, rotate_wait, rescan_interval, multiline)");
    assert_string_equal(errs.msgs[100], "t.yaml: too many errors, only the first 100 are shown");
    wharf_conf_errors_free(&errs);
    free(yaml);
}

/* Aliases can make a small file expand into a huge tree: the loader stops. */
static void test_alias_expansion_is_bounded(void **state)
{
    char *list =
        repeat("inputs:\n  - &s {type: docker, id: d, exclude_names: [", "x,", 1000, "]}\n");
    char *yaml = repeat(list, "  - *s\n", 200, OUTPUTS);

    (void)state;
    EXPECT_ERRORS(yaml, "t.yaml: the configuration is too large (over 100000 values once aliases "
                        "are expanded)");
    free(yaml);
    free(list);
}

/* libyaml is quadratic in flow nesting: deep nesting is refused up front. */
static void test_deep_nesting_is_refused(void **state)
{
    char *deep = repeat("inputs:\n  ", "[", 100000, "\n");
    char *opening = repeat("inputs: ", "[", 60, "x");
    char *ok = repeat(opening, "]", 60, "\n");

    (void)state;
    EXPECT_ERRORS(deep, "t.yaml:2: invalid YAML: nested deeper than 64 levels");
    EXPECT_ERRORS("inputs:\n" OUTPUTS "data_dir:\n  "
                  "- - - - - - - - - - - - - - - - - - - - "
                  "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - "
                  "- - - - - - - - x\n",
                  "t.yaml:4: invalid YAML: nested deeper than 64 levels");
    EXPECT_ERRORS(ok, "t.yaml:1: each entry of 'inputs' must be a map with 'type' and 'id'",
                  "t.yaml:1: missing required key 'outputs'");
    free(ok);
    free(opening);
    free(deep);
}

static void test_size_limit(void **state)
{
    char path[] = "/tmp/wharf-test-config-XXXXXX";
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = NULL;
    size_t max = 1 << 20, pad = max - (sizeof example_yaml - 1);
    char *big = malloc(max + 2);
    int fd = mkstemp(path);

    (void)state;
    assert_non_null(big);
    assert_true(fd >= 0);
    /* Exactly 1 MiB (comment padding, then the example) loads... */
    memset(big, '#', pad);
    memset(big + pad - 1, '\n', 1);
    memcpy(big + pad, example_yaml, sizeof example_yaml - 1);
    assert_int_equal(write(fd, big, max), (ssize_t)max);
    assert_int_equal(wharf_config_load(path, &cfg, &errs), 0);
    assert_int_equal(cfg->n_inputs, 2);
    assert_int_equal(cfg->inputs[0].line, 5);
    wharf_config_free(cfg);
    /* ... one byte more does not. */
    assert_int_equal(write(fd, "\n", 1), 1);
    close(fd);
    assert_int_equal(wharf_config_load(path, &cfg, &errs), WHARF_EINVAL_CONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0] + strlen(path),
                        ": cannot read: the file is larger than 1 MiB");
    wharf_conf_errors_free(&errs);
    big[max] = '\n';
    assert_int_equal(wharf_config_load_string("t.yaml", big, max + 1, &cfg, &errs),
                     WHARF_EINVAL_CONFIG);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], "t.yaml: the configuration is larger than 1 MiB");
    wharf_conf_errors_free(&errs);
    unlink(path);
    free(big);
}

static void test_long_and_odd_text_in_messages(void **state)
{
    char *yaml = repeat("inputs: [{type: docker, id: d, \"", "k\\t", 40, "\": 1}]\n" OUTPUTS);
    char expected[512];

    (void)state;
    snprintf(
        expected, sizeof expected,
        "t.yaml:1: unknown key '%s...' in input 'd' (valid keys: type, id, root, read_from, "
        "exclude_names, max_line_bytes, labels_dedot, rotate_wait, rescan_interval, multiline)",
        "k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09"
        "k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09k\\x09"
        "k\\x09k\\x09k\\x09k\\x09");
    EXPECT_ERRORS(yaml, expected);
    free(yaml);
}

/* A key's own check (here: the multiline pattern compiles) reports at the
 * value's line; a nested section's required key is required only when the
 * section is given, and its values take part in comparing sections (reload). */
static void test_key_check_and_nested_defaults(void **state)
{
    (void)state;
    EXPECT_ERRORS("inputs:\n"
                  "  - type: cri\n"
                  "    id: p\n"
                  "    paths: [/x/*.log]\n"
                  "    multiline:\n"
                  "      match: continue\n"
                  "      pattern: 'a(?<n>b'\n" OUTPUTS,
                  "t.yaml:7: 'pattern': the regex does not compile: missing closing "
                  "parenthesis at offset 7");
    EXPECT_ERRORS("inputs: [{type: docker, id: d, multiline: {max_lines: 3}}]\n" OUTPUTS,
                  "t.yaml:1: missing required key 'pattern' in 'multiline' of input 'd'");
    wharf_config_t *cfg = load_ok("inputs: [{type: docker, id: d, multiline: {pattern: '^x'}}, "
                                  "{type: docker, id: e, root: /r}]\n" OUTPUTS);
    assert_int_equal(cfg->n_inputs, 2);
    assert_int_equal(wharf_conf_section_equal(&cfg->inputs[0], &cfg->inputs[1]), 0);
    wharf_config_free(cfg);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/wharf-test-config-XXXXXX";
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = NULL;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, example_yaml, sizeof example_yaml - 1),
                     (ssize_t)(sizeof example_yaml - 1));
    close(fd);
    assert_int_equal(wharf_config_load(path, &cfg, &errs), 0);
    assert_string_equal(cfg->path, path);
    assert_int_equal(cfg->n_inputs, 2);
    wharf_config_free(cfg);

    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "inputs: 3\n", 10), 10);
    close(fd);
    assert_int_equal(wharf_config_load(path, &cfg, &errs), WHARF_EINVAL_CONFIG);
    assert_int_equal(errs.n, 2);
    assert_true(strncmp(errs.msgs[0], path, strlen(path)) == 0);
    assert_string_equal(errs.msgs[0] + strlen(path), ":1: 'inputs' must be a list of inputs");
    wharf_conf_errors_free(&errs);
    unlink(path);
}

static void test_unreadable_file(void **state)
{
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = (wharf_config_t *)1;

    (void)state;
    assert_int_equal(wharf_config_load("/nonexistent/wharf.yaml", &cfg, &errs),
                     WHARF_EINVAL_CONFIG);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0],
                        "/nonexistent/wharf.yaml: cannot read: No such file or directory");
    wharf_conf_errors_free(&errs);
    assert_int_equal(wharf_config_load("/", &cfg, &errs), WHARF_EINVAL_CONFIG);
    assert_string_equal(errs.msgs[0], "/: cannot read: Is a directory");
    wharf_conf_errors_free(&errs);
}

static void test_optional_out_and_errs(void **state)
{
    static const char bad[] = "inputs: 1\n";

    (void)state;
    assert_int_equal(
        wharf_config_load_string("t", example_yaml, sizeof example_yaml - 1, NULL, NULL), 0);
    assert_int_equal(wharf_config_load_string("t", bad, sizeof bad - 1, NULL, NULL),
                     WHARF_EINVAL_CONFIG);
    assert_int_equal(wharf_config_load_string(NULL, NULL, 0, NULL, NULL), WHARF_EINVAL_CONFIG);
    wharf_config_free(NULL);
}

static void test_conf_error_format(void **state)
{
    wharf_conf_errors_t errs = {0};

    (void)state;
    wharf_conf_error(&errs, "a.yaml", 7, "'%s' is %d", "x", 3);
    wharf_conf_error(&errs, "a.yaml", 0, "whole file");
    assert_int_equal(errs.n, 2);
    assert_string_equal(errs.msgs[0], "a.yaml:7: 'x' is 3");
    assert_string_equal(errs.msgs[1], "a.yaml: whole file");
    wharf_conf_errors_free(&errs);
    assert_int_equal(errs.n, 0);
    assert_null(errs.msgs);
}

static void expect_size(const char *s, int rc, uint64_t want)
{
    uint64_t v = 12345;

    print_message("size '%s'\n", s ? s : "(null)");
    assert_int_equal(wharf_conf_parse_size(s, &v), rc);
    assert_true(v == (rc == 0 ? want : 12345));
}

static void test_parse_size(void **state)
{
    (void)state;
    expect_size("0", 0, 0);
    expect_size("1000", 0, 1000);
    expect_size("17B", 0, 17);
    expect_size("512KiB", 0, 512 * 1024);
    expect_size("64MiB", 0, 64ULL << 20);
    expect_size("1GiB", 0, 1ULL << 30);
    expect_size("10MB", 0, 10000000);
    expect_size("3kb", 0, 3000);
    expect_size("2K", 0, 2048);
    expect_size("2M", 0, 2ULL << 20);
    expect_size("1G", 0, 1ULL << 30);
    expect_size("2TiB", 0, 2ULL << 40);
    expect_size("64 MiB", 0, 64ULL << 20);
    expect_size("18446744073709551615", 0, UINT64_MAX);
    expect_size("18446744073709551616", -ERANGE, 0);
    expect_size("16777216TiB", -ERANGE, 0);
    expect_size("16777215TiB", 0, 16777215ULL << 40);
    expect_size("", -EINVAL, 0);
    expect_size("-1", -EINVAL, 0);
    expect_size("+1", -EINVAL, 0);
    expect_size(" 1", -EINVAL, 0);
    expect_size("1.5GiB", -EINVAL, 0);
    expect_size("MiB", -EINVAL, 0);
    expect_size("1MiBs", -EINVAL, 0);
    expect_size("1 M B", -EINVAL, 0);
    expect_size("0x10", -EINVAL, 0);
    expect_size(NULL, -EINVAL, 0);
}

static void expect_duration(const char *s, int rc, int64_t want)
{
    int64_t v = -7;

    print_message("duration '%s'\n", s ? s : "(null)");
    assert_int_equal(wharf_conf_parse_duration(s, &v), rc);
    assert_true(v == (rc == 0 ? want : -7));
}

static void test_parse_duration(void **state)
{
    (void)state;
    expect_duration("250ms", 0, 250);
    expect_duration("1s", 0, 1000);
    expect_duration("10m", 0, 600000);
    expect_duration("2h", 0, 7200000);
    expect_duration("400d", 0, 400LL * 86400000);
    expect_duration("30", 0, 30000);
    expect_duration("0", 0, 0);
    expect_duration("0ms", 0, 0);
    expect_duration("9223372036854775807ms", 0, INT64_MAX);
    expect_duration("9223372036854775808ms", -ERANGE, 0);
    expect_duration("9223372036854776s", -ERANGE, 0);
    expect_duration("-1s", -EINVAL, 0);
    expect_duration("1.5s", -EINVAL, 0);
    expect_duration("1S", -EINVAL, 0);
    expect_duration("1h30m", -EINVAL, 0);
    expect_duration("1us", -EINVAL, 0);
    expect_duration("s", -EINVAL, 0);
    expect_duration("", -EINVAL, 0);
    expect_duration(NULL, -EINVAL, 0);
}

static void expect_glob(const char *glob, const char *why)
{
    const char *got = "unset";

    print_message("glob '%s'\n", glob ? glob : "(null)");
    assert_int_equal(wharf_conf_glob_check(glob, &got), why ? -EINVAL : 0);
    if (why)
        assert_string_equal(got, why);
    else
        assert_null(got);
}

static void test_glob_check(void **state)
{
    (void)state;
    expect_glob("/var/log/pods/*/*/*.log", NULL);
    expect_glob("/a/[abc]/?", NULL);
    expect_glob("/a/[!abc]", NULL);
    expect_glob("/a/[^abc]", NULL);
    expect_glob("/a/[]]", NULL);
    expect_glob("/a/[!]x]", NULL);
    expect_glob("/a/[[:alpha:]]*", NULL);
    expect_glob("/a/\\[literal", NULL);
    expect_glob("/a/[\\]]", NULL);
    expect_glob("/a/]", NULL);
    expect_glob("", "the pattern is empty");
    expect_glob(NULL, "the pattern is empty");
    expect_glob("/a/[", "unbalanced '['");
    expect_glob("/a/[abc", "unbalanced '['");
    expect_glob("/a/[]", "unbalanced '['");
    expect_glob("/a/[!]", "unbalanced '['");
    expect_glob("/a/[\\]", "unbalanced '['");
    expect_glob("/a/[[:alpha:]", "unbalanced '['");
    expect_glob("/a/[[:alpha]", "unbalanced '['");
    expect_glob("/a/x\\", "it ends with a lone '\\'");
    assert_int_equal(wharf_conf_glob_check("*", NULL), 0);
    assert_int_equal(wharf_conf_glob_check("[", NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_buffer_section),
        cmocka_unit_test(test_buffer_errors),
        cmocka_unit_test(test_pipeline_match_limit),
        cmocka_unit_test(test_pipeline_timezone),
        cmocka_unit_test(test_values_of_every_kind),
        cmocka_unit_test(test_aliases_are_followed),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_bad_globs),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_sections_shape),
        cmocka_unit_test(test_errors_collected_in_line_order),
        cmocka_unit_test(test_too_many_errors),
        cmocka_unit_test(test_alias_expansion_is_bounded),
        cmocka_unit_test(test_deep_nesting_is_refused),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_long_and_odd_text_in_messages),
        cmocka_unit_test(test_key_check_and_nested_defaults),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_optional_out_and_errs),
        cmocka_unit_test(test_conf_error_format),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_glob_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
