/* kafka.c - the `kafka` output: one Kafka message per event, with librdkafka.
 *
 * The topic and the key are templates over the event's fields (wharf/
 * template.h), so one output can spread a host's events over per-namespace
 * topics and keep each container's events in order (same key, same
 * partition). The producer is idempotent with acks=all by default and keeps
 * retrying for ever (message.timeout.ms=0): while the brokers are away the
 * events wait in librdkafka's queue and, once that is full, in wharf's disk
 * buffer, which is what bounds memory.
 *
 * Delivery is asynchronous (wharf/output.h, async ops). Every message gets a
 * sequence number; delivery reports arrive in any order across partitions,
 * and a ring of in-flight messages turns them into "confirmed so far, in
 * order" bytes for the delivery layer. A message that can never be delivered
 * (too large, unknown topic, not authorized) is counted, logged and
 * confirmed, so it does not hold back the rest. When the producer fails for
 * good (the idempotent producer's fatal errors), nothing it had not
 * confirmed is: the output says it lost them (output.h), and the delivery
 * layer restarts it, with a new producer, from the last confirmation. */
#include "wharf/alloc.h"
#include "wharf/common.h"
#include "wharf/log.h"
#include "wharf/output.h"
#include "wharf/template.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KAFKA_QUEUE_KBYTES "16384" /* librdkafka's default is 1 GiB */

typedef struct kafka_opts {
    char *brokers;
    char *topic;
    char *key;
    int compression;
    wharf_kvv_t librdkafka;
} kafka_opts_t;

static const char *const kafka_compressions[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};

static const wharf_conf_key_t kafka_keys[] = {
    {.name = "brokers",
     .kind = WHARF_CK_STR,
     .offset = offsetof(kafka_opts_t, brokers),
     .required = 1},
    {.name = "topic", .kind = WHARF_CK_STR, .offset = offsetof(kafka_opts_t, topic), .required = 1},
    {.name = "key", .kind = WHARF_CK_STR, .offset = offsetof(kafka_opts_t, key)},
    {.name = "compression",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(kafka_opts_t, compression),
     .choices = kafka_compressions},
    {.name = "librdkafka", .kind = WHARF_CK_MAP, .offset = offsetof(kafka_opts_t, librdkafka)},
    {.name = NULL},
};

/* One message in flight: its bytes in the buffer's block (line + '\n'). */
typedef struct kafka_inflight {
    uint32_t len;
    uint32_t done;
} kafka_inflight_t;

typedef struct kafka_output {
    wharf_output_t base;
    const wharf_conf_section_t *sec; /* owned by the config, which outlives the output */
    rd_kafka_t *rk;                  /* NULL after a restart that failed */
    wharf_template_t *topic;
    wharf_template_t *key;
    wharf_buf_t topic_text, key_text;
    rd_kafka_topic_t *known_topic; /* a constant topic, known from the start */
    /* ring of in-flight messages, by sequence number */
    kafka_inflight_t *ring;
    uint64_t ring_cap, head_seq, next_seq;
    uint64_t confirmed; /* bytes, in order */
    uint64_t delivered;
    int outage;
    int64_t outage_since_ns;
    /* set from the loop thread, called from librdkafka's */
    pthread_mutex_t wake_lock;
    void (*wake)(void *arg);
    void *wake_arg;
} kafka_output_t;

/* ---- configuration ------------------------------------------------------------ */

static int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                          size_t err_len)
{
    return rd_kafka_conf_set(conf, name, value, err, err_len) == RD_KAFKA_CONF_OK ? 0 : -EINVAL;
}

/* wharf's defaults, then the keys of the section, then `librdkafka:` as
 * given. On an error, *bad_line is the line of the offending entry (0: the
 * section's). */
static int kafka_conf_build(const wharf_conf_section_t *sec, rd_kafka_conf_t **out, int *bad_line,
                            char *err, size_t err_len)
{
    const kafka_opts_t *o = sec->opts;
    const char *defaults[][2] = {
        {"client.id", "wharf"},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"message.timeout.ms", "0"},
        {"queue.buffering.max.kbytes", KAFKA_QUEUE_KBYTES},
        {"log.queue", "true"},
        {"bootstrap.servers", o->brokers},
        {"compression.codec", kafka_compressions[o->compression]},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    *bad_line = sec->line;
    int rc = 0;
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && rc == 0; i++)
        rc = kafka_conf_set(conf, defaults[i][0], defaults[i][1], err, err_len);
    for (size_t i = 0; i < o->librdkafka.n && rc == 0; i++) {
        const wharf_kv_t *kv = &o->librdkafka.v[i];
        rc = kafka_conf_set(conf, kv->key, kv->value, err, err_len);
        if (rc < 0)
            *bad_line = kv->line;
    }
    if (rc < 0) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    *out = conf;
    return 0;
}

static void kafka_check_template(const char *what, const char *text, int line,
                                 const wharf_conf_section_t *sec, wharf_conf_report_fn report,
                                 void *ctx)
{
    char err[160], msg[320];
    wharf_template_t *t = NULL;
    if (text == NULL || wharf_template_compile(text, &t, err, sizeof(err)) == 0) {
        wharf_template_free(t);
        return;
    }
    snprintf(msg, sizeof(msg), "output '%s': %s: %s", sec->id, what, err);
    report(ctx, line, msg);
}

/* `wharf check`: the templates, and every librdkafka property as librdkafka
 * itself judges it. */
static void kafka_check(const wharf_conf_section_t *sec, wharf_conf_report_fn report, void *ctx)
{
    const kafka_opts_t *o = sec->opts;
    kafka_check_template("topic", o->topic, sec->line, sec, report, ctx);
    kafka_check_template("key", o->key, sec->line, sec, report, ctx);
    if (o->brokers == NULL)
        return;
    rd_kafka_conf_t *conf = NULL;
    int line = 0;
    char err[512], msg[640];
    if (kafka_conf_build(sec, &conf, &line, err, sizeof(err)) < 0) {
        snprintf(msg, sizeof(msg), "output '%s': librdkafka: %s", sec->id, err);
        report(ctx, line, msg);
        return;
    }
    rd_kafka_conf_destroy(conf);
}

/* ---- confirmations ------------------------------------------------------------ */

static void kafka_ring_grow(kafka_output_t *k)
{
    uint64_t cap = k->ring_cap ? k->ring_cap * 2 : 4096;
    kafka_inflight_t *ring = wharf_xmalloc(cap * sizeof(*ring));
    for (uint64_t s = k->head_seq; s < k->next_seq; s++)
        ring[s & (cap - 1)] = k->ring[s & (k->ring_cap - 1)];
    free(k->ring);
    k->ring = ring;
    k->ring_cap = cap;
}

static uint64_t kafka_ring_push(kafka_output_t *k, uint32_t len, int done)
{
    if (k->next_seq - k->head_seq == k->ring_cap)
        kafka_ring_grow(k);
    k->ring[k->next_seq & (k->ring_cap - 1)] = (kafka_inflight_t){len, (uint32_t)done};
    return k->next_seq++;
}

/* Moves `confirmed` over every finished message at the ring's head. */
static void kafka_ring_advance(kafka_output_t *k)
{
    while (k->head_seq < k->next_seq) {
        const kafka_inflight_t *m = &k->ring[k->head_seq & (k->ring_cap - 1)];
        if (!m->done)
            break;
        k->confirmed += m->len;
        k->head_seq++;
    }
}

static void kafka_undeliverable(kafka_output_t *k, const char *topic, rd_kafka_resp_err_t err)
{
    k->base.undeliverable++;
    /* the first of each kind, then one line per 10,000: a topic that does
     * not exist must not turn wharf's log into a copy of the events */
    if (k->base.undeliverable == 1 || k->base.undeliverable % 10000 == 0)
        wharf_log_error("kafka: message cannot be delivered; skipped",
                        "output=%s topic=%s "
                        "error=\"%s\" undeliverable_total=%llu",
                        k->base.id, topic, rd_kafka_err2str(err),
                        (unsigned long long)k->base.undeliverable);
}

static void kafka_outage_begin(kafka_output_t *k, const char *reason)
{
    k->outage = 1;
    k->outage_since_ns = wharf_time_now();
    k->base.down_since_ns = k->outage_since_ns;
    snprintf(k->base.error, sizeof(k->base.error), "%.*s", (int)sizeof(k->base.error) - 1, reason);
}

/* The producer failed for good: what it did not confirm is not confirmed
 * ever, and goes again through a new producer (kafka_restart). */
static void kafka_lost(kafka_output_t *k, const char *reason)
{
    k->base.lost = 1;
    if (!k->outage)
        kafka_outage_begin(k, reason);
}

/* A failed delivery report whose message can still be delivered: by a
 * producer in fatal state (its failed messages carry the broker's error,
 * not _FATAL), or one that timed out (a message.timeout.ms the
 * librdkafka: section set). */
static int kafka_report_lost(rd_kafka_t *rk, rd_kafka_resp_err_t err)
{
    char why[8];
    return err == RD_KAFKA_RESP_ERR__FATAL || err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ||
           rd_kafka_fatal_error(rk, why, sizeof(why)) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

static void kafka_outage_over(kafka_output_t *k)
{
    if (!k->outage)
        return;
    wharf_log_info("kafka: delivering again; catching up from the buffer", "output=%s down_s=%.1f",
                   k->base.id, (double)(wharf_time_now() - k->outage_since_ns) / 1e9);
    k->outage = 0;
    k->base.down_since_ns = 0;
    k->base.error[0] = '\0';
}

/* Delivery report (on the loop thread, from kafka_poll). */
static void kafka_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_output_t *k = opaque;
    uint64_t seq = (uint64_t)(uintptr_t)m->_private;
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        return; /* kafka_producer_destroy's purge: not a failure, it waits in the buffer */
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && kafka_report_lost(rk, m->err)) {
        kafka_lost(k, rd_kafka_err2str(m->err)); /* unconfirmed: the cursor stays before it */
        return;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        kafka_undeliverable(k, rd_kafka_topic_name(m->rkt), m->err);
    } else {
        k->delivered++;
        kafka_outage_over(k);
    }
    k->ring[seq & (k->ring_cap - 1)].done = 1;
}

static void kafka_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_output_t *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof(why));
        wharf_log_error("kafka: producer failed for good; a new one sends again what it had not "
                        "confirmed",
                        "output=%s error=\"%s\"", k->base.id, why);
        kafka_lost(k, why);
        return;
    }
    k->base.retries++;
    if (k->outage)
        return;
    /* Once per outage, not per retry. librdkafka reconnects by itself. */
    wharf_log_error("kafka: cannot reach the brokers; events stay in the buffer, retrying",
                    "output=%s error=\"%s\"", k->base.id, reason);
    kafka_outage_begin(k, reason);
}

static void kafka_on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* Connection errors come through kafka_on_error, once per outage;
     * librdkafka's own log repeats them per attempt. */
    wharf_log(level <= 2 ? WHARF_LOG_ERROR : WHARF_LOG_DEBUG, "librdkafka",
              "facility=%s text=\"%s\"", fac, buf);
}

/* librdkafka's thread: the main queue got something (reports, errors, logs). */
static void kafka_on_queue_event(rd_kafka_t *rk, void *opaque)
{
    kafka_output_t *k = opaque;
    pthread_mutex_lock(&k->wake_lock);
    if (k->wake != NULL)
        k->wake(k->wake_arg);
    pthread_mutex_unlock(&k->wake_lock);
}

static void kafka_set_wake(wharf_output_t *o, void (*wake)(void *arg), void *arg)
{
    kafka_output_t *k = (kafka_output_t *)o;
    pthread_mutex_lock(&k->wake_lock);
    k->wake = wake;
    k->wake_arg = arg;
    pthread_mutex_unlock(&k->wake_lock);
}

static uint64_t kafka_poll(wharf_output_t *o)
{
    kafka_output_t *k = (kafka_output_t *)o;
    if (k->rk != NULL)
        rd_kafka_poll(k->rk, 0);
    kafka_ring_advance(k);
    return k->confirmed;
}

static uint64_t kafka_flush(wharf_output_t *o, int timeout_ms)
{
    kafka_output_t *k = (kafka_output_t *)o;
    if (k->rk != NULL && !o->lost)
        rd_kafka_flush(k->rk, timeout_ms);
    return kafka_poll(o);
}

/* ---- producing ------------------------------------------------------------------ */

/* The template rendered for the event, NUL-terminated. */
static const char *kafka_render(const wharf_template_t *t, wharf_buf_t *b, const char *line,
                                size_t len)
{
    const char *constant = wharf_template_constant(t);
    if (constant != NULL)
        return constant;
    b->len = 0;
    wharf_template_render(t, line, len, b);
    wharf_buf_putc(b, '\0');
    return b->data;
}

/* One event: 0 when queued (or undeliverable and confirmed), -EAGAIN when
 * librdkafka's queue is full or the producer failed for good (it raises
 * the fatal error on its own thread: a produce may see it before the
 * error callback runs). */
static int kafka_produce(kafka_output_t *k, const char *line, size_t len, uint32_t used)
{
    const char *topic = kafka_render(k->topic, &k->topic_text, line, len);
    const char *key = k->key != NULL ? kafka_render(k->key, &k->key_text, line, len) : "";
    size_t key_len = strlen(key);
    const void *key_ptr = key_len > 0 ? key : NULL;
    if (*topic == '\0') {
        kafka_undeliverable(k, "(empty)", RD_KAFKA_RESP_ERR__INVALID_ARG);
        kafka_ring_push(k, used, 1);
        return 0;
    }
    if (k->next_seq - k->head_seq == k->ring_cap)
        kafka_ring_grow(k);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE((void *)line, len),
        RD_KAFKA_V_KEY(key_ptr, key_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)k->next_seq), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return -EAGAIN;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && kafka_report_lost(k->rk, err)) {
        kafka_lost(k, rd_kafka_err2str(err));
        return -EAGAIN;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        kafka_undeliverable(k, topic, err);
    kafka_ring_push(k, used, err != RD_KAFKA_RESP_ERR_NO_ERROR);
    return 0;
}

static long kafka_write(wharf_output_t *o, const char *data, size_t len)
{
    kafka_output_t *k = (kafka_output_t *)o;
    if (o->lost)
        return 0; /* full until kafka_restart */
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t line_len = nl != NULL ? (size_t)(nl - (data + off)) : len - off;
        size_t used = line_len + (nl != NULL);
        if (kafka_produce(k, data + off, line_len, (uint32_t)used) < 0)
            break;
        off += used;
    }
    if (off == 0)
        rd_kafka_poll(k->rk, 0); /* full: reports free room; serve them */
    return (long)off;
}

/* ---- life cycle ------------------------------------------------------------------- */

/* What is still queued is not confirmed: it stays in the buffer and is
 * sent again, after a restart or at the next start. */
static void kafka_producer_destroy(kafka_output_t *k)
{
    if (k->rk == NULL)
        return;
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(k->rk, 0);
    if (k->known_topic != NULL)
        rd_kafka_topic_destroy(k->known_topic);
    k->known_topic = NULL;
    rd_kafka_destroy(k->rk);
    k->rk = NULL;
}

static void kafka_destroy(wharf_output_t *o)
{
    kafka_output_t *k = (kafka_output_t *)o;
    kafka_producer_destroy(k);
    wharf_template_free(k->topic);
    wharf_template_free(k->key);
    wharf_buf_free(&k->topic_text);
    wharf_buf_free(&k->key_text);
    pthread_mutex_destroy(&k->wake_lock);
    free(k->ring);
    free(k);
}

static int kafka_create_producer(kafka_output_t *k, const wharf_conf_section_t *sec);

/* A new producer, with a new producer id: sequence numbers start again, so
 * the brokers take what the old one could not deliver. */
static int kafka_restart(wharf_output_t *o)
{
    kafka_output_t *k = (kafka_output_t *)o;
    kafka_producer_destroy(k);
    k->head_seq = k->next_seq = 0;
    k->confirmed = 0;
    int rc = kafka_create_producer(k, k->sec);
    if (rc == 0)
        o->lost = 0;
    return rc;
}

static const wharf_output_async_ops_t kafka_async_ops = {
    kafka_set_wake,
    kafka_poll,
    kafka_flush,
    kafka_restart,
};

static const wharf_output_ops_t kafka_ops = {
    kafka_write, NULL, NULL, kafka_destroy, &kafka_async_ops,
};

static int kafka_create_producer(kafka_output_t *k, const wharf_conf_section_t *sec)
{
    char err[512];
    int line = 0;
    rd_kafka_conf_t *conf = NULL;
    if (kafka_conf_build(sec, &conf, &line, err, sizeof(err)) < 0) {
        wharf_log_error("kafka: invalid librdkafka setting", "output=%s error=\"%s\"", sec->id,
                        err);
        return -EINVAL;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, kafka_on_delivery);
    rd_kafka_conf_set_error_cb(conf, kafka_on_error);
    rd_kafka_conf_set_log_cb(conf, kafka_on_log);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (k->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        wharf_log_error("kafka: cannot create the producer", "output=%s error=\"%s\"", sec->id,
                        err);
        return -EINVAL;
    }
    /* librdkafka asks for a topic's partitions with the metadata it fetches
     * on connecting, for the topics it knows by then; one it meets only in
     * the first produce waits for its scan of unknown topics, once a
     * second, before anything is sent to it. */
    if (wharf_template_is_constant(k->topic))
        k->known_topic = rd_kafka_topic_new(k->rk, wharf_template_constant(k->topic), NULL);
    rd_kafka_set_log_queue(k->rk, NULL);
    rd_kafka_queue_t *main_q = rd_kafka_queue_get_main(k->rk);
    rd_kafka_queue_cb_event_enable(main_q, kafka_on_queue_event, k);
    rd_kafka_queue_destroy(main_q);
    return 0;
}

static int kafka_create(const wharf_conf_section_t *sec, wharf_output_t **out)
{
    const kafka_opts_t *o = sec->opts;
    kafka_output_t *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return -ENOMEM;
    k->base.ops = &kafka_ops;
    k->base.id = sec->id;
    k->sec = sec;
    pthread_mutex_init(&k->wake_lock, NULL);
    wharf_buf_init(&k->topic_text);
    wharf_buf_init(&k->key_text);
    kafka_ring_grow(k);
    int rc = wharf_template_compile(o->topic, &k->topic, NULL, 0);
    if (rc == 0 && o->key != NULL)
        rc = wharf_template_compile(o->key, &k->key, NULL, 0);
    if (rc == 0)
        rc = kafka_create_producer(k, sec);
    if (rc < 0) {
        kafka_destroy(&k->base);
        return rc;
    }
    *out = &k->base;
    return 0;
}

const wharf_output_type_t wharf_output_kafka = {
    {"kafka", kafka_keys, sizeof(kafka_opts_t), NULL, kafka_check},
    kafka_create,
};
