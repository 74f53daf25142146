/* rg-pdf: the render worker (docs/flow.md).  Internal interface of src/pdf/. */
#ifndef PDF_H
#define PDF_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "rg/buf.h"
#include "rg/cfg.h"
#include "rg/err.h"
#include "rg/httpd.h"
#include "rg/render.h"
#include "rg/storage.h"

struct pdf_config {
    char *listen_addr;
    int64_t port;
    int64_t slots;       /* render processes = prefetch of this rg-pdf in total */
    char *amqp_url;      /* RG_AMQP_URL when not set */
    char *storage;       /* RG_STORAGE when not set */
    char *data_dir;      /* RG_DATA_DIR when not set */
    int64_t max_pdf;     /* a PDF larger than this fails the task (not retryable) */
    int64_t amqp_timeout;
    int64_t heartbeat;   /* consumer heartbeat, ms */
    int64_t stop_grace;  /* how long SIGTERM waits for in-flight renders, ms */
    char *log_level;
};

extern const struct rg_cfg_opt pdf_cfg_opts[];
int pdf_config_load(struct pdf_config *cfg, const char *path, const char *const *sets, size_t nsets,
                    struct rg_errinfo *ei);
void pdf_config_done(struct pdf_config *cfg);

#define PDF_MAX_SLOTS 256
#define PDF_MSGID_MAX 160 /* as struct rg_amqp_delivery.message_id */
#define PDF_CRASH_SLOTS 64 /* remembered poison candidates (oldest forgotten first) */
#define PDF_MAX_CRASHES 2

/* Counters shared by the supervisor and its render children (MAP_SHARED, atomics). */
struct pdf_stats {
    uint64_t tasks_ok, tasks_failed, tasks_malformed, stored, store_skipped, publish_errors;
    uint64_t amqp_reconnects, children_restarted, busy;
    /* Wall time of each step of a task: render (load + layout + PDF), task (render and
     * store), store (exists + put), publish (result publish, its confirm and the ack),
     * idle (from one task's ack to the next delivery, when that came within one poll:
     * the broker's hand-over time under load, not time without work). */
    struct rg_hist render, task, store, publish, idle;
    /* 1 while render process i is connected; the supervisor clears it when i dies (a
     * killed process cannot). */
    uint32_t slot_ready[PDF_MAX_SLOTS];
    /* Poison tasks: the message id each child is rendering (written by that child only),
     * and how often a child died holding a given message (written by the supervisor).
     * A task that kills its renderer PDF_MAX_CRASHES times is failed instead of being
     * redelivered for ever (classic queues have no delivery limit). */
    char inflight[PDF_MAX_SLOTS][PDF_MSGID_MAX];
    struct {
        char message_id[PDF_MSGID_MAX];
        uint32_t crashes;
    } crashed[PDF_CRASH_SLOTS];
    uint32_t crashed_next;
    uint64_t tasks_poison;
};

/* Records that a child died holding message_id (supervisor only). */
void pdf_crash_note(struct pdf_stats *st, const char *message_id);
/* How many children died holding message_id. */
uint32_t pdf_crash_count(const struct pdf_stats *st, const char *message_id);

static inline int64_t pdf_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define PDF_STAT_ADD(st, field, n) __atomic_add_fetch(&(st)->field, (n), __ATOMIC_RELAXED)

/* What one task came to. */
enum pdf_outcome { PDF_OK, PDF_FAILED, PDF_MALFORMED };

/* Everything a render child owns. */
struct pdf_ctx {
    const struct pdf_config *cfg;
    struct rg_renderer *renderer;
    struct rg_storage *storage;
    struct pdf_stats *stats;
};

/* Runs one task body: parses it, renders, stores the PDF under pdf/<sha256>.pdf, and
 * builds the result message into *ret_result (a new reference) and its run id / attempt.
 * PDF_MALFORMED when the body is not a task at all (then nothing is returned: the caller
 * dead-letters it); PDF_FAILED when the task failed (the result says why and whether a
 * retry may help).  Logs the outcome with the run id. */
enum pdf_outcome pdf_task_run(struct pdf_ctx *ctx, const char *body, size_t len,
                              json_t **ret_result, char **ret_run_id, int64_t *ret_attempt);

/* A failed result message {"run_id","attempt","ok":false,"error":{...}} (a new reference). */
json_t *pdf_error_result(const char *run_id, int64_t attempt, const char *code,
                         const char *message, int retryable);

/* The life of one render child: connects, consumes rg.render with prefetch 1, runs tasks,
 * publishes results with confirms, acks.  Returns when *stop is set (after finishing the
 * task in hand).  Exit status for the child. */
int pdf_worker_main(const struct pdf_config *cfg, struct pdf_stats *stats, int slot,
                    volatile int *stop);

#endif
