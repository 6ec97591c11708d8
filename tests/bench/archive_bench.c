/* archive_bench.c - the archive output alone: how many events per CPU
 * second it compresses, hashes and writes, and how small they get.
 *
 *   wharf-archive-bench NDJSON ARCHIVE_DIR [LEVEL]
 *
 * NDJSON is what wharf's pipeline produced for the benchmark load (a file
 * output's content, tests/bench/archive.sh makes it). It is read into memory
 * first and handed to the output in 1 MiB blocks at line boundaries, as the
 * disk buffer hands blocks to every output, with a poll per 64 blocks as the
 * agent's tick would; then the output is flushed and closed (segment index,
 * manifest line). Only that part is timed, so the figures are the output's
 * own: no input, no parsing, no buffer. Prints one line:
 *
 *   archive level=1 events=500000 input_MiB=... stored_MiB=... ratio=...
 *           bytes_per_event=... cpu_s=... events_per_cpu_s=... wall_s=... */
#include "wharf/archive.h"
#include "wharf/config.h"
#include "wharf/fsutil.h"
#include "wharf/output.h"
#include "wharf/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define BENCH_BLOCK (1u << 20)

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int bench_create(const char *dir, const char *level, wharf_config_t **cfg,
                        wharf_output_t **out)
{
    char yaml[4096];
    wharf_conf_errors_t errs = {0};
    snprintf(yaml, sizeof(yaml),
             "data_dir: %s/data\ninputs:\n  - {type: docker, id: unused, root: %s/none}\n"
             "outputs:\n  - {type: archive, id: bench, path: %s, compression_level: %s}\n",
             dir, dir, dir, level);
    if (wharf_config_load_string("bench.yaml", yaml, strlen(yaml), cfg, &errs) < 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        wharf_conf_errors_free(&errs);
        return -1;
    }
    const wharf_conf_section_t *sec = &(*cfg)->outputs[0];
    return wharf_output_type_find("archive")->create(sec, out);
}

/* Hands data to the output in blocks ending at line boundaries. */
static int bench_feed(wharf_output_t *o, const char *data, size_t len)
{
    size_t blocks = 0;
    for (size_t pos = 0; pos < len; blocks++) {
        size_t end = pos + BENCH_BLOCK < len ? pos + BENCH_BLOCK : len;
        while (end < len && data[end - 1] != '\n')
            end++;
        long n = o->ops->write(o, data + pos, end - pos);
        if (n != (long)(end - pos))
            return -1;
        pos = end;
        if (blocks % 64 == 63)
            o->ops->async->poll(o);
    }
    return o->ops->async->flush(o, 1000) > 0 ? 0 : -1;
}

static uint64_t bench_stored_bytes(const char *dir, uint64_t *segments)
{
    wharf_archive_manifest_t m;
    uint64_t bytes = 0;
    *segments = 0;
    if (wharf_archive_manifest_read(dir, &m) < 0)
        return 0;
    for (size_t i = 0; i < m.n; i++)
        if (m.lines[i].type == WHARF_ARCHIVE_SEGMENT) {
            bytes += m.lines[i].bytes;
            (*segments)++;
        }
    wharf_archive_manifest_free(&m);
    return bytes;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: wharf-archive-bench NDJSON ARCHIVE_DIR [LEVEL]\n");
        return 2;
    }
    const char *level = argc > 3 ? argv[3] : "1";
    char *data = NULL;
    size_t len = 0;
    if (wharf_read_file(argv[1], SIZE_MAX / 2, &data, &len) < 0) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    size_t events = 0;
    for (const char *p = data; (p = memchr(p, '\n', (size_t)(data + len - p))) != NULL; p++)
        events++;
    wharf_config_t *cfg = NULL;
    wharf_output_t *o = NULL;
    double cpu0 = cpu_seconds();
    int64_t t0 = wharf_time_now();
    int rc = bench_create(argv[2], level, &cfg, &o);
    if (rc == 0)
        rc = bench_feed(o, data, len);
    if (o != NULL)
        o->ops->destroy(o);
    double cpu = cpu_seconds() - cpu0, wall = (double)(wharf_time_now() - t0) / 1e9;
    uint64_t segments = 0, stored = bench_stored_bytes(argv[2], &segments);
    if (rc == 0 && stored > 0)
        printf("archive level=%s events=%zu input_MiB=%.1f stored_MiB=%.2f segments=%llu "
               "ratio=%.1f bytes_per_event=%.1f cpu_s=%.2f events_per_cpu_s=%.0f wall_s=%.2f\n",
               level, events, (double)len / 1048576.0, (double)stored / 1048576.0,
               (unsigned long long)segments, (double)len / (double)stored,
               (double)stored / (double)events, cpu, (double)events / cpu, wall);
    else
        fprintf(stderr, "archive bench failed\n");
    wharf_config_free(cfg);
    free(data);
    return rc == 0 && stored > 0 ? 0 : 1;
}
