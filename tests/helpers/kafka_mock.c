/* kafka_mock.c - wharf-kafka-mock: a librdkafka mock Kafka cluster on
 * 127.0.0.1 for the integration tests, so the Kafka output can be tested
 * against the real Kafka wire protocol without a JVM broker.
 *
 * Usage: wharf-kafka-mock [BROKERS]   (BROKERS 1..64, default 3)
 *
 * Prints one line `bootstrap=127.0.0.1:PORT,...` (broker ids 1..BROKERS in
 * that order) on stdout, then reads one command per line on stdin and answers
 * every line with exactly one line, `ok` or `error <message>`, flushed at
 * once, so a test drives the cluster synchronously
 * (tests/integration/kafkalib.py):
 *
 *   topic <name> <partitions> <replication>   create a topic (librdkafka 2.0.2
 *                                             ignores replication: every
 *                                             broker is a replica; leaders
 *                                             are random)
 *   down <broker_id> / up <broker_id>         close / reopen the broker's
 *                                             listener and connections (-1 =
 *                                             all); leaders do not move
 *   leader <topic> <partition> <broker_id>    move a partition's leader (-1 =
 *                                             leaderless); creates a missing
 *                                             topic with 4 partitions
 *   errors <api_key> <count> <err>...         the next <count> requests of
 *                                             <api_key> (0 = Produce, 3 =
 *                                             Metadata) fail with these errors
 *                                             in order, cluster-wide; an error
 *                                             is a Kafka error code (6, 7,
 *                                             -195) or its librdkafka name
 *                                             (NOT_LEADER_FOR_PARTITION,
 *                                             _TRANSPORT = drop the connection)
 *   rtt <broker_id> <ms>                      delay every response of a broker
 *                                             (-1 = all)
 *   quit                                      destroy the cluster, answer `ok`,
 *                                             exit 0
 *
 * EOF on stdin is `quit` without the answer. librdkafka's own log goes to
 * stderr; stdout carries only the protocol. */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE   4096
#define MAX_ARGS   64
#define MAX_ERRORS (MAX_ARGS - 3)

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

/* A whole decimal integer in [min, max], or -1 with an error reply. */
static int parse_long(const char *s, long min, long max, const char *what, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        reply("error %s: expected an integer in [%ld, %ld], got '%s'", what, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* An error code as an integer or a librdkafka name (with or without the
 * RD_KAFKA_RESP_ERR_ prefix). */
static int parse_err(const char *s, rd_kafka_resp_err_t *out)
{
    const char *prefix = "RD_KAFKA_RESP_ERR_";
    if (strncmp(s, prefix, strlen(prefix)) == 0)
        s += strlen(prefix);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno == 0 && end != s && *end == '\0' && v >= INT_MIN && v <= INT_MAX) {
        *out = (rd_kafka_resp_err_t)v;
        return 0;
    }
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && strcmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return 0;
        }
    }
    reply("error unknown error code '%s'", s);
    return -1;
}

/* librdkafka's log, minus the warning that the owning handle has no
 * bootstrap.servers (it is not meant to connect anywhere). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (strcmp(fac, "CONFWARN") == 0 && strstr(buf, "bootstrap.servers"))
        return;
    fprintf(stderr, "%%%d|%s|%s| %s\n", level, fac, rd_kafka_name(rk), buf);
}

static void reply_err(const char *what, rd_kafka_resp_err_t err)
{
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        reply("ok");
    else
        reply("error %s: %s (%s)", what, rd_kafka_err2name(err), rd_kafka_err2str(err));
}

/* Splits line in place at spaces and tabs. */
static int split(char *line, char **argv)
{
    int argc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        if (argc == MAX_ARGS)
            return -1;
        argv[argc++] = tok;
    }
    return argc;
}

static int want_args(int argc, int want, const char *usage)
{
    if (argc != want) {
        reply("error usage: %s", usage);
        return -1;
    }
    return 0;
}

/* Runs one command; returns 1 after `quit`. */
static int command(rd_kafka_mock_cluster_t *mc, int brokers, char *line)
{
    char *argv[MAX_ARGS];
    int argc = split(line, argv);
    long a, b;
    if (argc < 0) {
        reply("error too many arguments (at most %d)", MAX_ARGS);
        return 0;
    }
    if (argc == 0) {
        reply("error empty command");
        return 0;
    }
    const char *cmd = argv[0];

    if (strcmp(cmd, "quit") == 0) {
        if (want_args(argc, 1, "quit") == 0)
            return 1;
        return 0;
    }
    if (strcmp(cmd, "topic") == 0) {
        if (want_args(argc, 4, "topic <name> <partitions> <replication>") < 0 ||
            parse_long(argv[2], 1, 100000, "partitions", &a) < 0 ||
            parse_long(argv[3], 1, brokers, "replication", &b) < 0)
            return 0;
        reply_err("topic", rd_kafka_mock_topic_create(mc, argv[1], (int)a, (int)b));
        return 0;
    }
    if (strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) {
        if (want_args(argc, 2, "down|up <broker_id>") < 0 ||
            parse_long(argv[1], -1, brokers, "broker_id", &a) < 0)
            return 0;
        if (a == 0) {
            reply("error broker_id: brokers are 1..%d (or -1 for all)", brokers);
            return 0;
        }
        rd_kafka_resp_err_t err = cmd[0] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                                                : rd_kafka_mock_broker_set_up(mc, (int32_t)a);
        reply_err(cmd, err);
        return 0;
    }
    if (strcmp(cmd, "leader") == 0) {
        long c;
        if (want_args(argc, 4, "leader <topic> <partition> <broker_id>") < 0 ||
            parse_long(argv[2], 0, INT32_MAX, "partition", &b) < 0 ||
            parse_long(argv[3], -1, brokers, "broker_id", &c) < 0)
            return 0;
        if (c == 0) {
            reply("error broker_id: brokers are 1..%d (or -1 for leaderless)", brokers);
            return 0;
        }
        reply_err("leader",
                  rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)b, (int32_t)c));
        return 0;
    }
    if (strcmp(cmd, "errors") == 0) {
        if (argc < 4) {
            reply("error usage: errors <api_key> <count> <errcode>...");
            return 0;
        }
        if (parse_long(argv[1], 0, INT16_MAX, "api_key", &a) < 0 ||
            parse_long(argv[2], 1, MAX_ERRORS, "count", &b) < 0)
            return 0;
        if (b != argc - 3) {
            reply("error count is %ld but %d error codes follow", b, argc - 3);
            return 0;
        }
        rd_kafka_resp_err_t errs[MAX_ERRORS];
        for (int i = 0; i < (int)b; i++)
            if (parse_err(argv[3 + i], &errs[i]) < 0)
                return 0;
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, errs);
        reply("ok");
        return 0;
    }
    if (strcmp(cmd, "rtt") == 0) {
        if (want_args(argc, 3, "rtt <broker_id> <ms>") < 0 ||
            parse_long(argv[1], -1, brokers, "broker_id", &a) < 0 ||
            parse_long(argv[2], 0, 3600000, "ms", &b) < 0)
            return 0;
        if (a == 0) {
            reply("error broker_id: brokers are 1..%d (or -1 for all)", brokers);
            return 0;
        }
        reply_err("rtt", rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b));
        return 0;
    }
    reply("error unknown command '%s'", cmd);
    return 0;
}

int main(int argc, char **argv)
{
    long brokers = 3;
    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
        fprintf(stderr, "usage: %s [BROKERS]   (1..64, default 3)\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        char *end;
        errno = 0;
        brokers = strtol(argv[1], &end, 10);
        if (errno != 0 || end == argv[1] || *end != '\0' || brokers < 1 || brokers > 64) {
            fprintf(stderr, "wharf-kafka-mock: BROKERS must be 1..64, got '%s'\n", argv[1]);
            return 2;
        }
    }

    /* The handle only owns the cluster (librdkafka needs one for its
     * bookkeeping); it has no bootstrap.servers and never connects. */
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "client.id", "wharf-kafka-mock", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        fprintf(stderr, "wharf-kafka-mock: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "wharf-kafka-mock: rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
    if (!mc) {
        fprintf(stderr, "wharf-kafka-mock: could not create a mock cluster of %ld brokers\n",
                brokers);
        rd_kafka_destroy(rk);
        return 1;
    }
    reply("bootstrap=%s", rd_kafka_mock_cluster_bootstraps(mc));

    /* A test that stops reading must not kill us mid-destroy. */
    signal(SIGPIPE, SIG_IGN);
    char line[MAX_LINE];
    int quit = 0;
    while (!quit && fgets(line, sizeof(line), stdin)) {
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
            int c;
            while ((c = getchar()) != EOF && c != '\n')
                ;
            reply("error line longer than %d bytes", MAX_LINE - 2);
            continue;
        }
        if (len > 0 && line[len - 1] == '\n')
            line[len - 1] = '\0';
        quit = command(mc, (int)brokers, line);
    }

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    if (quit)
        reply("ok"); /* `quit` is answered once everything is torn down */
    return 0;
}
