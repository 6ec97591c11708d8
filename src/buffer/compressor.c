/* compressor.c - the compression worker thread (see wharf/compressor.h). */
#include "wharf/compressor.h"

#include "wharf/buf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <zstd.h>

typedef enum { JOB_IDLE, JOB_QUEUED, JOB_DONE } job_state;

struct wharf_compressor {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a job was queued, or stop */
    pthread_cond_t done; /* the job is done */
    job_state state;
    int stop;
    void (*notify)(void *arg);
    void *notify_arg;
    /* The job: set by start, read by the worker. */
    int sync_fd;
    const char *raw;
    size_t raw_len;
    /* The result: written by the worker, read after wait. */
    int level;
    ZSTD_CCtx *cctx;
    wharf_buf_t frame;
    int err;
    int sync_err;
};

static int compressor_run_job(wharf_compressor_t *z)
{
    z->sync_err = z->sync_fd >= 0 && fdatasync(z->sync_fd) < 0 ? -errno : 0;
    z->frame.len = 0;
    if (z->raw_len == 0)
        return 0;
    wharf_buf_reserve(&z->frame, ZSTD_compressBound(z->raw_len));
    size_t n =
        ZSTD_compressCCtx(z->cctx, z->frame.data, z->frame.cap, z->raw, z->raw_len, z->level);
    if (ZSTD_isError(n))
        return -EIO;
    z->frame.len = n;
    return 0;
}

static void *compressor_main(void *arg)
{
    wharf_compressor_t *z = arg;
    pthread_mutex_lock(&z->lock);
    for (;;) {
        while (z->state != JOB_QUEUED && !z->stop)
            pthread_cond_wait(&z->wake, &z->lock);
        if (z->state != JOB_QUEUED)
            break;
        pthread_mutex_unlock(&z->lock);
        int err = compressor_run_job(z);
        pthread_mutex_lock(&z->lock);
        z->err = err;
        z->state = JOB_DONE;
        pthread_cond_signal(&z->done);
        if (z->notify != NULL)
            z->notify(z->notify_arg);
    }
    pthread_mutex_unlock(&z->lock);
    return NULL;
}

int wharf_compressor_new(int level, void (*notify)(void *arg), void *arg, wharf_compressor_t **out)
{
    wharf_compressor_t *z = calloc(1, sizeof(*z));
    if (z == NULL)
        return -ENOMEM;
    z->level = level;
    z->notify = notify;
    z->notify_arg = arg;
    wharf_buf_init(&z->frame);
    if ((z->cctx = ZSTD_createCCtx()) == NULL) {
        free(z);
        return -ENOMEM;
    }
    pthread_mutex_init(&z->lock, NULL);
    pthread_cond_init(&z->wake, NULL);
    pthread_cond_init(&z->done, NULL);
    int rc = pthread_create(&z->thread, NULL, compressor_main, z);
    if (rc != 0) {
        ZSTD_freeCCtx(z->cctx);
        free(z);
        return -rc;
    }
    *out = z;
    return 0;
}

void wharf_compressor_set_notify(wharf_compressor_t *z, void (*notify)(void *arg), void *arg)
{
    /* The worker calls notify holding the lock. */
    pthread_mutex_lock(&z->lock);
    z->notify = notify;
    z->notify_arg = arg;
    pthread_mutex_unlock(&z->lock);
}

void wharf_compressor_start(wharf_compressor_t *z, int sync_fd, const char *raw, size_t len)
{
    pthread_mutex_lock(&z->lock);
    z->sync_fd = sync_fd;
    z->raw = raw;
    z->raw_len = len;
    z->state = JOB_QUEUED;
    pthread_cond_signal(&z->wake);
    pthread_mutex_unlock(&z->lock);
}

int wharf_compressor_wait(wharf_compressor_t *z, wharf_str_t *frame, int *sync_err)
{
    pthread_mutex_lock(&z->lock);
    while (z->state == JOB_QUEUED)
        pthread_cond_wait(&z->done, &z->lock);
    z->state = JOB_IDLE;
    int err = z->err;
    *sync_err = z->sync_err;
    pthread_mutex_unlock(&z->lock);
    frame->ptr = z->frame.data;
    frame->len = z->frame.len;
    return err;
}

void wharf_compressor_free(wharf_compressor_t *z)
{
    if (z == NULL)
        return;
    pthread_mutex_lock(&z->lock);
    z->stop = 1;
    pthread_cond_signal(&z->wake);
    pthread_mutex_unlock(&z->lock);
    pthread_join(z->thread, NULL);
    pthread_cond_destroy(&z->wake);
    pthread_cond_destroy(&z->done);
    pthread_mutex_destroy(&z->lock);
    ZSTD_freeCCtx(z->cctx);
    wharf_buf_free(&z->frame);
    free(z);
}
